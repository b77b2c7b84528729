//! The window: a navigation on the left, one page at a time, and a status
//! line at the bottom. Every page draws a [`Snapshot`] and answers with
//! [`Command`]s collected while drawing; nothing here touches the gateway,
//! the pool, the store or the config file. [`SwitchyardApp`] is the eframe
//! shell around [`window_ui`]: it reads the latest snapshot from a `watch`
//! channel and sends the commands after the frame is drawn.

pub mod accounts;
pub mod api_proxy;
pub mod dashboard;
pub mod feedback;
pub mod monitor;
pub mod palette;
pub mod settings;
pub mod token_stats;
mod widgets;

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};

use crate::config::Theme;
use crate::desktop::model::{Command, RequestView, Snapshot};

pub use accounts::ClientChoice;
pub use monitor::StatusClass;
pub use token_stats::{StatsGrouping, StatsRange};

/// The window's pages, in navigation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Page {
    #[default]
    Dashboard,
    Accounts,
    ApiProxy,
    Monitor,
    TokenStats,
    Settings,
}

impl Page {
    pub const ALL: [Page; 6] = [
        Page::Dashboard,
        Page::Accounts,
        Page::ApiProxy,
        Page::Monitor,
        Page::TokenStats,
        Page::Settings,
    ];

    /// The name in the navigation.
    pub fn label(self) -> &'static str {
        match self {
            Page::Dashboard => "Dashboard",
            Page::Accounts => "Accounts",
            Page::ApiProxy => "API Proxy",
            Page::Monitor => "Monitor",
            Page::TokenStats => "Token Stats",
            Page::Settings => "Settings",
        }
    }
}

/// The window's own state. The fields outside `drafts` are kept between
/// launches; `drafts` (text being typed, an open confirmation, a paused
/// list) lives only as long as the window.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WindowUi {
    pub page: Page,
    /// The Monitor's filters (`None`: all).
    pub monitor_status: StatusClass,
    pub monitor_protocol: Option<String>,
    /// A client or upstream model name.
    pub monitor_model: Option<String>,
    pub monitor_account: Option<String>,
    /// The free-text filter.
    pub monitor_text: String,
    /// Token Stats: how far back, and split by what.
    pub stats_range: StatsRange,
    pub stats_grouping: StatsGrouping,
    /// The window's inner size and outer position when it was last drawn
    /// (logical points), to open where the user left it.
    pub window_size: Option<[f32; 2]>,
    pub window_position: Option<[f32; 2]>,
    #[serde(skip)]
    pub drafts: Drafts,
}

/// The smallest window the pages are laid out for.
pub const MIN_WINDOW_SIZE: [f32; 2] = [760.0, 480.0];
/// The window's size on first open.
pub const DEFAULT_WINDOW_SIZE: [f32; 2] = [1000.0, 680.0];

impl WindowUi {
    /// Reads the saved state (defaults when missing or unreadable).
    pub fn load(path: &std::path::Path) -> Self {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).unwrap_or_else(|error| {
                tracing::warn!("ignoring {}: {error}", path.display());
                WindowUi::default()
            }),
            Err(_) => WindowUi::default(),
        }
    }

    /// The size to open at: the saved one, never below the minimum.
    pub fn open_size(&self) -> [f32; 2] {
        let [width, height] = self.window_size.unwrap_or(DEFAULT_WINDOW_SIZE);
        let finite = |v: f32, default: f32| if v.is_finite() { v } else { default };
        [
            finite(width, DEFAULT_WINDOW_SIZE[0]).clamp(MIN_WINDOW_SIZE[0], 10_000.0),
            finite(height, DEFAULT_WINDOW_SIZE[1]).clamp(MIN_WINDOW_SIZE[1], 10_000.0),
        ]
    }

    /// The position to open at, if one was saved and is plausible.
    pub fn open_position(&self) -> Option<[f32; 2]> {
        self.window_position
            .filter(|[x, y]| x.is_finite() && y.is_finite() && *x > -100.0 && *y > -100.0)
    }
}

/// Transient state: never saved. Its `Debug` never shows the pasted
/// refresh token or sign-in address (see below).
#[derive(Clone, Default)]
pub struct Drafts {
    /// A destructive action waiting for "yes".
    pub confirmation: Option<Confirmation>,
    pub login_code: String,
    /// The client a new account signs in with, and the Cloud project for
    /// Code Assist.
    pub client: ClientChoice,
    pub project: String,
    pub refresh_token: String,
    pub import_path: String,
    pub export_path: String,
    pub api_key_visible: bool,
    pub model_pattern: String,
    pub model_target: String,
    /// While the Monitor is paused: the rows it shows.
    pub monitor_frozen: Option<Vec<RequestView>>,
    /// The Monitor row whose details are open.
    pub monitor_selected: Option<monitor::RowKey>,
    pub monitor_export_path: String,
    /// The add form of the "API keys" section.
    pub upstream: crate::desktop::model::UpstreamDraft,
    /// Errors kept next to their inputs, and the last notice shown.
    pub feedback: feedback::FieldErrors,
    /// The Add account dialog is open.
    pub add_account_open: bool,
    /// Accounts whose every model (or window) is shown.
    pub expanded_accounts: Vec<i64>,
}

impl std::fmt::Debug for Drafts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secret = |text: &str| if text.is_empty() { "(empty)" } else { "(set)" };
        f.debug_struct("Drafts")
            .field("confirmation", &self.confirmation)
            .field("login_code", &secret(&self.login_code))
            .field("client", &self.client)
            .field("project", &self.project)
            .field("refresh_token", &secret(&self.refresh_token))
            .field("import_path", &self.import_path)
            .field("export_path", &self.export_path)
            .field("api_key_visible", &self.api_key_visible)
            .field("model_pattern", &self.model_pattern)
            .field("model_target", &self.model_target)
            .field(
                "monitor_frozen",
                &self.monitor_frozen.as_ref().map(Vec::len),
            )
            .field("monitor_selected", &self.monitor_selected)
            .field("monitor_export_path", &self.monitor_export_path)
            .field("upstream", &self.upstream)
            .field("feedback", &self.feedback)
            .field("add_account_open", &self.add_account_open)
            .field("expanded_accounts", &self.expanded_accounts)
            .finish()
    }
}

/// A destructive or risky action the user must confirm in a dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    RemoveAccount {
        id: i64,
        email: String,
    },
    RegenerateApiKey,
    /// Using the Antigravity client before its risk was accepted: confirming
    /// accepts it (`google.antigravity_risk_accepted`), then runs `then`.
    AntigravityRisk {
        then: Command,
    },
}

/// What the Antigravity confirmation says.
pub const ANTIGRAVITY_RISK_TEXT: &str = "Use the Antigravity client?\n\n\
     Google may suspend accounts whose Antigravity credentials a third-party \
     program such as Switchyard uses. A suspended account answers every request \
     with \"This service has been disabled in this account for violation of Terms \
     of Service\". An appeal may or may not restore it.\n\n\
     Within Google's terms instead: a Google Cloud project with Code Assist \
     Standard/Enterprise, or an AI Studio or Vertex AI API key.\n\n\
     Accepting sets google.antigravity_risk_accepted = true.";

/// Draws the whole window for one frame: navigation, the selected page, the
/// status line and any confirmation dialog. Commands are pushed to `commands`
/// for the caller to run after the frame.
pub fn window_ui(
    ui: &mut egui::Ui,
    snapshot: &Snapshot,
    state: &mut WindowUi,
    commands: &mut Vec<Command>,
) {
    let ctx = ui.ctx().clone();
    feedback::take_notice(&ctx, snapshot, state);
    feedback::take_picked(snapshot, state);
    feedback::share_setting_errors(&ctx, &state.drafts.feedback);
    // The navigation gives up width first when the window is narrow.
    let narrow = ctx.content_rect().width() < 900.0;
    egui::Panel::left("navigation")
        .resizable(false)
        .exact_size(if narrow { 104.0 } else { 150.0 })
        .show(ui, |ui| navigation_ui(ui, &mut state.page));
    egui::CentralPanel::default().show(ui, |ui| {
        egui::ScrollArea::both()
            .auto_shrink(false)
            .id_salt(state.page)
            .show(ui, |ui| match state.page {
                Page::Dashboard => dashboard::dashboard_ui(ui, snapshot, state, commands),
                Page::Accounts => accounts::accounts_ui(ui, snapshot, state, commands),
                Page::ApiProxy => api_proxy::api_proxy_ui(ui, snapshot, state, commands),
                Page::Monitor => monitor::monitor_ui(ui, snapshot, state, commands),
                Page::TokenStats => token_stats::token_stats_ui(ui, snapshot, state, commands),
                Page::Settings => settings::settings_ui(ui, snapshot, state, commands),
            });
    });
    confirmation_ui(&ctx, state, commands);
    feedback::toasts_ui(&ctx);
}

fn navigation_ui(ui: &mut egui::Ui, page: &mut Page) {
    ui.add_space(8.0);
    ui.strong("Switchyard");
    ui.add_space(8.0);
    for candidate in Page::ALL {
        ui.selectable_value(page, candidate, candidate.label());
    }
}

fn confirmation_ui(ctx: &egui::Context, state: &mut WindowUi, commands: &mut Vec<Command>) {
    let Some(confirmation) = &state.drafts.confirmation else {
        return;
    };
    let (question, action, confirmed_commands) = match confirmation {
        Confirmation::RemoveAccount { id, email } => (
            format!(
                "Remove {email}? Its tokens are deleted from this computer; \
                 add it again to use it."
            ),
            "Remove",
            vec![Command::RemoveAccount(*id)],
        ),
        Confirmation::RegenerateApiKey => (
            "Regenerate the API key? Clients using the current key are refused \
             until they get the new one."
                .to_owned(),
            "Regenerate",
            vec![Command::RegenerateApiKey],
        ),
        Confirmation::AntigravityRisk { then } => (
            ANTIGRAVITY_RISK_TEXT.to_owned(),
            "Accept the risk",
            vec![
                Command::SetConfig {
                    key: "google.antigravity_risk_accepted".to_owned(),
                    value: "true".to_owned(),
                },
                then.clone(),
            ],
        ),
    };
    let modal = egui::Modal::new(egui::Id::unique("confirmation")).show(ctx, |ui| {
        ui.set_max_width(420.0);
        ui.label(question);
        ui.add_space(8.0);
        ui.horizontal(|ui| {
            let confirmed = ui.button(action).clicked();
            let cancelled = ui.button("Cancel").clicked();
            (confirmed, cancelled)
        })
        .inner
    });
    let (confirmed, cancelled) = modal.inner;
    if confirmed {
        commands.extend(confirmed_commands);
    }
    if confirmed || cancelled || modal.should_close() {
        state.drafts.confirmation = None;
    }
}

/// The eframe app of the window process.
///
/// Commands go out over a tokio unbounded channel: sending never blocks the
/// UI thread, and the backend may receive with `recv().await` on its runtime
/// or `blocking_recv()` on a plain thread.
pub struct SwitchyardApp {
    snapshots: watch::Receiver<Snapshot>,
    commands: mpsc::UnboundedSender<Command>,
    snapshot: Snapshot,
    state: WindowUi,
    applied_theme: Option<Theme>,
    state_file: Option<PathBuf>,
    contact_lost: bool,
}

impl SwitchyardApp {
    pub fn new(
        snapshots: watch::Receiver<Snapshot>,
        commands: mpsc::UnboundedSender<Command>,
        state: WindowUi,
    ) -> Self {
        let snapshot = snapshots.borrow().clone();
        Self {
            snapshots,
            commands,
            snapshot,
            state,
            applied_theme: None,
            state_file: None,
            contact_lost: false,
        }
    }

    /// Restores the persisted UI state from `path` (defaults if it is missing
    /// or unreadable) and writes it back there when the app is dropped.
    pub fn with_state_file(mut self, path: PathBuf) -> Self {
        if path.exists() {
            self.state = WindowUi::load(&path);
        }
        self.state_file = Some(path);
        self
    }

    /// Remembers where the window is and how big.
    fn note_geometry(&mut self, ctx: &egui::Context) {
        let (inner, outer, minimized) = ctx.input(|i| {
            let viewport = i.viewport();
            (viewport.inner_rect, viewport.outer_rect, viewport.minimized)
        });
        if minimized == Some(true) {
            return;
        }
        if let Some(inner) = inner {
            self.state.window_size = Some([inner.width(), inner.height()]);
        }
        if let Some(outer) = outer {
            self.state.window_position = Some([outer.min.x, outer.min.y]);
        }
    }

    /// Opens on `page`, whatever page was saved.
    pub fn open_on(mut self, page: Page) -> Self {
        self.state.page = page;
        self
    }

    pub fn state(&self) -> &WindowUi {
        &self.state
    }

    /// Says once that the backend is gone.
    fn lost_contact(&mut self, ctx: &egui::Context) {
        if !self.contact_lost {
            self.contact_lost = true;
            feedback::toast(ctx, true, "Lost contact with Switchyard.");
        }
    }

    fn take_latest_snapshot(&mut self, ctx: &egui::Context) {
        match self.snapshots.has_changed() {
            Ok(true) => self.snapshot = self.snapshots.borrow_and_update().clone(),
            Ok(false) => {}
            Err(_closed) => self.lost_contact(ctx),
        }
    }

    fn apply_theme(&mut self, ctx: &egui::Context) {
        let theme = self.snapshot.config.desktop.theme;
        if self.applied_theme.is_none() {
            palette::install(ctx);
        }
        if self.applied_theme != Some(theme) {
            ctx.set_theme(match theme {
                Theme::Light => egui::ThemePreference::Light,
                Theme::Dark => egui::ThemePreference::Dark,
                Theme::System => egui::ThemePreference::System,
            });
            self.applied_theme = Some(theme);
        }
    }
}

impl eframe::App for SwitchyardApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.take_latest_snapshot(ui.ctx());
        self.apply_theme(ui.ctx());
        self.note_geometry(ui.ctx());
        let mut commands = Vec::new();
        window_ui(ui, &self.snapshot, &mut self.state, &mut commands);
        for command in commands {
            if self.commands.send(command).is_err() {
                self.lost_contact(ui.ctx());
            }
        }
        // A fallback for when nobody runs `repaint_on_snapshot`.
        ui.ctx().request_repaint_after(Duration::from_secs(1));
    }
}

impl Drop for SwitchyardApp {
    fn drop(&mut self) {
        let Some(path) = &self.state_file else {
            return;
        };
        let saved = serde_json::to_string_pretty(&self.state)
            .map_err(std::io::Error::other)
            .and_then(|text| std::fs::write(path, text));
        if let Err(error) = saved {
            tracing::warn!("cannot save {}: {error}", path.display());
        }
    }
}

/// Wakes the window whenever a new snapshot is published; spawn it on the
/// window process's runtime. Ends when the sender is gone.
pub async fn repaint_on_snapshot(ctx: egui::Context, mut snapshots: watch::Receiver<Snapshot>) {
    while snapshots.changed().await.is_ok() {
        ctx.request_repaint();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_a_pasted_token_or_sign_in_address() {
        let drafts = Drafts {
            refresh_token: "1//0g-secret-refresh".into(),
            login_code: "http://127.0.0.1:1/callback?code=4/secret-code".into(),
            project: "my-project".into(),
            ..Drafts::default()
        };
        let shown = format!("{drafts:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("my-project"), "{shown}");
    }

    #[test]
    fn the_window_opens_where_it_was_left_within_limits() {
        let fresh = WindowUi::default();
        assert_eq!(fresh.open_size(), DEFAULT_WINDOW_SIZE);
        assert_eq!(fresh.open_position(), None);
        let left = WindowUi {
            window_size: Some([820.0, 590.0]),
            window_position: Some([40.0, 30.0]),
            ..WindowUi::default()
        };
        let saved: WindowUi = serde_json::from_str(&serde_json::to_string(&left).unwrap()).unwrap();
        assert_eq!(saved.open_size(), [820.0, 590.0]);
        assert_eq!(saved.open_position(), Some([40.0, 30.0]));
        let odd = WindowUi {
            window_size: Some([100.0, f32::NAN]),
            window_position: Some([-5000.0, 10.0]),
            ..WindowUi::default()
        };
        assert_eq!(
            odd.open_size(),
            [MIN_WINDOW_SIZE[0], DEFAULT_WINDOW_SIZE[1]]
        );
        assert_eq!(odd.open_position(), None);
    }
}
