//! Accounts: the table (client, status, quota bars with reset countdowns,
//! last use, per-account actions), the three ways to add an account (with
//! the choice of OAuth client), and export.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::dashboard::is_ready;
use super::feedback::{FieldErrors, field_error_ui, watch_input};
use super::palette::{Severity, chip, quota_severity};
use super::widgets::{
    ago_text, copy_button, duration_text, labelled_secret_field, labelled_text_field,
};
use super::{Confirmation, Drafts, WindowUi};
use crate::config::{ANTIGRAVITY_CLIENT, Config, DEFAULT_OAUTH_CLIENT, GoogleConfig};
use crate::desktop::model::{
    AccountView, Command, Field, LoginView, QuotaView, QuotaWindow, Snapshot, UpstreamView,
    window_name,
};
use crate::store::{AccountStatus, UpstreamKind};

/// Which Google client a new account signs in with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ClientChoice {
    /// A Google Cloud project with Code Assist Standard/Enterprise (the
    /// `gemini-cli` client): within Google's terms.
    #[default]
    CodeAssist,
    /// A personal Google account through the Antigravity client: only with
    /// the user's consent (Google suspends some accounts used this way).
    Antigravity,
}

impl ClientChoice {
    /// The OAuth client profile it stands for.
    pub fn profile_name(self) -> &'static str {
        match self {
            ClientChoice::CodeAssist => DEFAULT_OAUTH_CLIENT,
            ClientChoice::Antigravity => ANTIGRAVITY_CLIENT,
        }
    }

    /// What the user picks from.
    pub fn label(self) -> &'static str {
        match self {
            ClientChoice::CodeAssist => "Google Cloud project (Code Assist Standard/Enterprise)",
            ClientChoice::Antigravity => "Google account (Antigravity)",
        }
    }
}

/// `Antigravity`, `Code Assist`, or the name of a profile of the user's own.
pub fn client_label(google: &GoogleConfig, name: &str) -> String {
    if google
        .oauth_profile(name)
        .is_some_and(|profile| profile.is_antigravity())
    {
        "Antigravity".to_owned()
    } else if name == DEFAULT_OAUTH_CLIENT {
        "Code Assist".to_owned()
    } else {
        name.to_owned()
    }
}

/// Sends `command`, which uses the client profile `client`, or, when that
/// client needs a consent not given yet, asks for it first.
fn push_with_consent(
    config: &Config,
    drafts: &mut Drafts,
    commands: &mut Vec<Command>,
    client: &str,
    command: Command,
) {
    let needs_consent = config
        .google
        .oauth_profile(client)
        .is_some_and(|profile| !config.google.profile_allowed(profile));
    if needs_consent {
        drafts.confirmation = Some(Confirmation::AntigravityRisk { then: command });
    } else {
        commands.push(command);
    }
}

/// The command that forwards a sign-in port from the user's own machine.
pub fn ssh_forward_line(port: u16) -> String {
    format!("ssh -L {port}:127.0.0.1:{port} you@this-computer")
}

pub fn accounts_ui(
    ui: &mut egui::Ui,
    snapshot: &Snapshot,
    state: &mut WindowUi,
    commands: &mut Vec<Command>,
) {
    if snapshot.accounts.is_empty() {
        // The first run: the ways to add one, right here.
        ui.add(
            egui::Label::new(
                "No accounts yet. Add one: sign in with Google in your browser, \
                 paste a refresh token (for example from ~/.gemini/oauth_creds.json), \
                 or import a file exported by Switchyard.",
            )
            .wrap(),
        );
        ui.add_space(8.0);
        add_account_ui(ui, snapshot, state, commands);
    } else {
        ui.horizontal(|ui| {
            if ui.button("Add account…").clicked() {
                state.drafts.add_account_open = true;
            }
            if ui.button("Refresh all quotas").clicked() {
                commands.push(Command::RefreshQuota(None));
            }
        });
        ui.add_space(4.0);
        accounts_table_ui(ui, snapshot, state, commands);
        // A sign-in in progress keeps its dialog open.
        if state.drafts.add_account_open || snapshot.login.is_some() {
            add_account_dialog(ui, snapshot, state, commands);
        }
    }

    ui.add_space(12.0);
    ui.separator();
    ui.heading("API keys");
    api_keys_ui(ui, snapshot, state, commands);

    ui.add_space(12.0);
    ui.separator();
    ui.heading("Export");
    ui.add(
        egui::Label::new(
            "Writes every account as [{\"email\", \"refresh_token\", \"client\"}] \
             (mode 0600: it holds refresh tokens).",
        )
        .wrap(),
    );
    let drafts = &mut state.drafts;
    let file = FileRow {
        label: "Export to",
        width: 280.0,
        field: Field::ExportPath,
        choose: "Choose where to export",
        save: true,
        action: "Export",
    };
    if let Some(path) = file.ui(ui, &mut drafts.export_path, &mut drafts.feedback, commands) {
        commands.push(Command::ExportFile(path));
    }
}

/// A path field with its "Choose…" (the system's file dialog) and action
/// buttons, its error under it; Enter acts like the action button.
struct FileRow {
    label: &'static str,
    width: f32,
    field: Field,
    /// The accessible name of the "Choose…" button.
    choose: &'static str,
    /// A file to write (a save dialog) rather than one to read.
    save: bool,
    action: &'static str,
}

impl FileRow {
    /// Draws the row; returns the path when the action was asked for.
    fn ui(
        &self,
        ui: &mut egui::Ui,
        path: &mut String,
        feedback: &mut FieldErrors,
        commands: &mut Vec<Command>,
    ) -> Option<PathBuf> {
        let acted = ui
            .horizontal_wrapped(|ui| {
                let input = labelled_text_field(ui, self.label, path, self.width);
                let entered = watch_input(ui, &input, feedback, &self.field);
                if ui.button("Choose…").accessible_name(self.choose).clicked() {
                    commands.push(Command::PickFile {
                        field: self.field.clone(),
                        save: self.save,
                    });
                }
                let chosen = path.trim();
                let clicked = ui
                    .add_enabled(!chosen.is_empty(), egui::Button::new(self.action))
                    .clicked();
                ((clicked || entered) && !chosen.is_empty()).then(|| PathBuf::from(chosen))
            })
            .inner;
        field_error_ui(ui, feedback, &self.field);
        acted
    }
}

/// The ways to add an account, in a dialog over the list.
fn add_account_dialog(
    ui: &mut egui::Ui,
    snapshot: &Snapshot,
    state: &mut WindowUi,
    commands: &mut Vec<Command>,
) {
    let ctx = ui.ctx().clone();
    let modal = egui::Modal::new(egui::Id::unique("add account")).show(&ctx, |ui| {
        ui.set_max_width(560.0);
        ui.heading("Add account");
        egui::ScrollArea::vertical()
            .max_height(ctx.content_rect().height() - 140.0)
            .show(ui, |ui| add_account_ui(ui, snapshot, state, commands));
        ui.add_space(8.0);
        ui.button("Close").clicked()
    });
    if modal.inner || modal.should_close() {
        state.drafts.add_account_open = false;
        if snapshot.login.is_some() {
            commands.push(Command::CancelLogin);
        }
    }
}

fn accounts_table_ui(
    ui: &mut egui::Ui,
    snapshot: &Snapshot,
    state: &mut WindowUi,
    commands: &mut Vec<Command>,
) {
    egui::Grid::new("accounts")
        .num_columns(4)
        .striped(true)
        .spacing([14.0, 8.0])
        .show(ui, |ui| {
            for title in ["Account", "State", "Quota that binds", ""] {
                ui.strong(title);
            }
            ui.end_row();
            for account in &snapshot.accounts {
                account_row_ui(ui, snapshot, account, state, commands);
                ui.end_row();
            }
        });
}

/// Whether Google no longer serves the account, so its quota does not matter.
fn is_out_of_service(account: &AccountView) -> bool {
    matches!(
        account.status,
        AccountStatus::ClientRetired | AccountStatus::Suspended
    )
}

/// The state at a glance: a word or two and how much it needs the user.
pub fn state_chip(account: &AccountView) -> (Severity, &'static str) {
    let ready = is_ready(account);
    let severity = Severity::of_account(account.status, ready);
    let text = match account.status {
        AccountStatus::Active if ready => "ready",
        AccountStatus::Active if account.status_line.contains("quota exhausted") => "quota used up",
        AccountStatus::Active if account.status_line.contains("cooling") => "cooling down",
        AccountStatus::Active if account.status_line == "active" => "no quota left",
        AccountStatus::Active => "limited",
        AccountStatus::Disabled => "disabled",
        AccountStatus::NeedsRelogin => "needs sign-in",
        AccountStatus::Forbidden => "needs verification",
        AccountStatus::ClientRetired => "client retired",
        AccountStatus::Suspended => "suspended",
        AccountStatus::KeyRejected => "key rejected",
    };
    (severity, text)
}

fn account_row_ui(
    ui: &mut egui::Ui,
    snapshot: &Snapshot,
    account: &AccountView,
    state: &mut WindowUi,
    commands: &mut Vec<Command>,
) {
    let now = snapshot.now;
    let email = &account.email;
    let (severity, chip_text) = state_chip(account);
    let narrow = ui.ctx().content_rect().width() < 900.0;

    ui.vertical(|ui| {
        ui.set_max_width(if narrow { 170.0 } else { 230.0 });
        ui.add(egui::Label::new(email).truncate());
        ui.horizontal_wrapped(|ui| {
            ui.weak(client_label(&snapshot.config.google, &account.oauth_client));
            if let Some(tier) = &account.tier {
                ui.weak(tier);
            }
            if let Some(models) = account.models_offered {
                ui.weak(format!("{models} models"));
            }
        });
        ui.horizontal(|ui| {
            ui.weak("used");
            ui.weak(ago_text(account.last_used_at, now));
        });
    });

    ui.vertical(|ui| {
        ui.set_max_width(if narrow { 150.0 } else { 210.0 });
        chip(ui, severity, chip_text);
        // What exactly, where it says more than the chip.
        let detail = if is_out_of_service(account) {
            None
        } else {
            Some(account.status_line.as_str()).filter(|l| *l != "active")
        };
        if let Some(detail) = detail {
            ui.add(
                egui::Label::new(
                    egui::RichText::new(detail)
                        .small()
                        .color(severity.color(ui.visuals())),
                )
                .wrap(),
            );
        }
        if account.status == AccountStatus::NeedsRelogin
            && ui
                .button("Sign in again")
                .accessible_name(format!("Sign in again as {email}"))
                .clicked()
        {
            push_with_consent(
                &snapshot.config,
                &mut state.drafts,
                commands,
                &account.oauth_client,
                Command::StartLogin {
                    client: account.oauth_client.clone(),
                    project: account.project.clone(),
                },
            );
            state.drafts.add_account_open = true;
        }
        if account.status == AccountStatus::Forbidden
            && let Some(link) = &account.link
            && ui
                .button("Verify…")
                .accessible_name(format!("Open verification page for {email}"))
                .clicked()
        {
            commands.push(Command::OpenUrl(link.clone()));
        }
    });

    let width = quota_column_width(ui);
    ui.vertical(|ui| {
        ui.set_max_width(width);
        if is_out_of_service(account) {
            out_of_service_ui(ui, account, width, commands);
        } else if matches!(
            account.status,
            AccountStatus::NeedsRelogin | AccountStatus::Forbidden
        ) {
            // It serves nothing until the user acts: no bars that look full.
            ui.weak("not serving until you act");
        } else {
            quotas_ui(ui, account, state, now, width);
        }
    });

    let menu = ui.menu_button("…", |ui| {
        if account.status == AccountStatus::Disabled {
            if ui
                .button("Enable")
                .accessible_name(format!("Enable {email}"))
                .clicked()
            {
                commands.push(Command::EnableAccount(account.id));
            }
        } else if ui
            .button("Disable")
            .accessible_name(format!("Disable {email}"))
            .clicked()
        {
            commands.push(Command::DisableAccount(account.id));
        }
        if ui
            .button("Refresh quota")
            .accessible_name(format!("Refresh quota of {email}"))
            .clicked()
        {
            commands.push(Command::RefreshQuota(Some(account.id)));
        }
        if ui
            .button("Remove…")
            .accessible_name(format!("Remove {email}"))
            .clicked()
        {
            state.drafts.confirmation = Some(Confirmation::RemoveAccount {
                id: account.id,
                email: email.clone(),
            });
        }
    });
    menu.response
        .accessible_name(format!("Actions for {email}"))
        .on_hover_text("Enable or disable, refresh quota, remove");
}

/// The quota windows that bind (the lower of each group's 5-hour and weekly
/// windows), or the model with the least left; every one on demand.
fn quotas_ui(ui: &mut egui::Ui, account: &AccountView, state: &mut WindowUi, now: i64, width: f32) {
    let expanded = state.drafts.expanded_accounts.contains(&account.id);
    let mut meters: Vec<(Option<f64>, String)> = if !account.windows.is_empty() {
        let mut groups: Vec<&str> = Vec::new();
        for window in &account.windows {
            if !groups.contains(&window.group.as_str()) {
                groups.push(&window.group);
            }
        }
        let mut meters = Vec::new();
        for group in groups {
            let mut windows: Vec<&QuotaWindow> = account
                .windows
                .iter()
                .filter(|w| w.group == group)
                .collect();
            // The 5-hour window first, then the weekly one.
            windows.sort_by_key(|w| w.window != "5h");
            if expanded {
                meters.extend(
                    windows
                        .iter()
                        .map(|w| (w.remaining_fraction, window_text(w, now))),
                );
            } else if let Some(binding) = windows.iter().min_by(|a, b| {
                let left = |w: &&&QuotaWindow| w.remaining_fraction.unwrap_or(1.0);
                left(a).total_cmp(&left(b))
            }) {
                meters.push((binding.remaining_fraction, window_text(binding, now)));
            }
        }
        meters
    } else {
        let mut quotas: Vec<&QuotaView> = account.quotas.iter().collect();
        if !expanded {
            quotas.sort_by(|a, b| {
                a.remaining
                    .unwrap_or(1.0)
                    .total_cmp(&b.remaining.unwrap_or(1.0))
            });
            quotas.truncate(1);
        }
        quotas
            .into_iter()
            .map(|q| (q.remaining, quota_text(q, now)))
            .collect()
    };
    if meters.is_empty() {
        ui.weak("not read yet");
    }
    for (remaining, text) in meters.drain(..) {
        quota_meter(ui, remaining, text, width);
    }
    let total = if account.windows.is_empty() {
        account.quotas.len()
    } else {
        account.windows.len()
    };
    let shown = if expanded {
        total
    } else if account.windows.is_empty() {
        total.min(1)
    } else {
        let mut groups: Vec<&str> = account.windows.iter().map(|w| w.group.as_str()).collect();
        groups.sort_unstable();
        groups.dedup();
        groups.len()
    };
    if total > shown || expanded && total > 1 {
        let what = if account.windows.is_empty() {
            "models"
        } else {
            "windows"
        };
        let label = if expanded {
            "Show less".to_owned()
        } else {
            format!("Show all {what} ({total})")
        };
        if ui
            .small_button(label)
            .accessible_name(if expanded {
                format!("Show less of {}", account.email)
            } else {
                format!("Show all {what} of {}", account.email)
            })
            .clicked()
        {
            if expanded {
                state
                    .drafts
                    .expanded_accounts
                    .retain(|id| *id != account.id);
            } else {
                state.drafts.expanded_accounts.push(account.id);
            }
        }
    }
}

/// What each kind is, in the add form.
pub fn kind_label(kind: UpstreamKind) -> &'static str {
    match kind {
        UpstreamKind::GeminiApi => "Gemini API key (AI Studio)",
        UpstreamKind::Vertex => "Vertex AI (express-mode key)",
        UpstreamKind::OpenAi => "OpenAI-compatible (OpenAI, OpenRouter, DeepSeek, Ollama, vLLM…)",
        UpstreamKind::Anthropic => "Anthropic (Messages API)",
    }
}

/// API-key upstreams: the list with their state and actions, and the form
/// that adds one (checked live before it is stored).
fn api_keys_ui(
    ui: &mut egui::Ui,
    snapshot: &Snapshot,
    state: &mut WindowUi,
    commands: &mut Vec<Command>,
) {
    ui.add(
        egui::Label::new(
            "Keys serve beside the Google accounts: after them by default, or in the order \
             [routing] gives per model. A Gemini API key from AI Studio is the way Google \
             names for programs like this one.",
        )
        .wrap(),
    );
    if snapshot.upstreams.is_empty() {
        ui.weak("No API keys yet.");
    } else {
        egui::Grid::new("upstreams")
            .num_columns(3)
            .striped(true)
            .spacing([16.0, 8.0])
            .show(ui, |ui| {
                for title in ["Name", "Serves", ""] {
                    ui.strong(title);
                }
                ui.end_row();
                for upstream in &snapshot.upstreams {
                    upstream_row_ui(ui, snapshot.now, upstream, state, commands);
                    ui.end_row();
                }
            });
    }
    ui.add_space(8.0);
    ui.strong("Add an API key");
    let draft = &mut state.drafts.upstream;
    let kind = draft.kind.unwrap_or(UpstreamKind::GeminiApi);
    egui::ComboBox::from_label("Kind")
        .selected_text(kind_label(kind))
        .show_ui(ui, |ui| {
            for choice in UpstreamKind::ALL {
                if ui
                    .selectable_label(kind == choice, kind_label(choice))
                    .clicked()
                {
                    draft.kind = Some(choice);
                }
            }
        });
    let kind = draft.kind.unwrap_or(UpstreamKind::GeminiApi);
    let feedback = &mut state.drafts.feedback;
    let field = &Field::Upstream;
    let mut entered = false;
    ui.horizontal(|ui| {
        let name = labelled_text_field(ui, "Name", &mut draft.name, 160.0);
        entered |= watch_input(ui, &name, feedback, field);
    });
    ui.horizontal(|ui| {
        let url = labelled_text_field(ui, "Base URL", &mut draft.base_url, 320.0);
        entered |= watch_input(ui, &url, feedback, field);
    });
    ui.weak(format!(
        "Empty: {}",
        kind.default_base_url().unwrap_or_default()
    ));
    ui.horizontal(|ui| {
        let key = labelled_secret_field(ui, "API key", &mut draft.key, 320.0);
        entered |= watch_input(ui, &key, feedback, field);
    });
    ui.horizontal(|ui| {
        let models = labelled_text_field(ui, "Models (globs, optional)", &mut draft.models, 220.0);
        entered |= watch_input(ui, &models, feedback, field);
    });
    let ready = !draft.name.trim().is_empty()
        && (!draft.key.trim().is_empty() || kind == UpstreamKind::OpenAi);
    let clicked = ui
        .add_enabled(ready, egui::Button::new("Check and add"))
        .clicked();
    if (clicked || entered) && ready {
        // The form keeps what was typed until the upstream is added (a
        // refused key can be corrected); success clears it but the kind.
        let mut added = draft.clone();
        added.kind = Some(kind);
        commands.push(Command::AddUpstream(added));
    }
    field_error_ui(ui, feedback, field);
}

fn upstream_row_ui(
    ui: &mut egui::Ui,
    now: i64,
    upstream: &UpstreamView,
    state: &mut WindowUi,
    commands: &mut Vec<Command>,
) {
    let name = &upstream.name;
    ui.vertical(|ui| {
        ui.set_max_width(220.0);
        ui.label(name);
        ui.weak(format!("{} · {}", upstream.kind, upstream.base_url));
        let color = match upstream.status {
            AccountStatus::Active if upstream.status_line == "active" => ui.visuals().text_color(),
            AccountStatus::Active => ui.visuals().warn_fg_color,
            _ => ui.visuals().error_fg_color,
        };
        ui.add(egui::Label::new(egui::RichText::new(&upstream.status_line).color(color)).wrap());
        ui.horizontal(|ui| {
            ui.weak("last used");
            ui.weak(ago_text(upstream.last_used_at, now));
        });
    });
    ui.vertical(|ui| {
        ui.set_min_width(200.0);
        ui.set_max_width(320.0);
        let shown: Vec<&str> = upstream.models.iter().take(4).map(String::as_str).collect();
        ui.label(match upstream.models.len() {
            1 => "1 model".to_owned(),
            n => format!("{n} models"),
        });
        if !shown.is_empty() {
            let more = upstream.models.len().saturating_sub(shown.len());
            let tail = if more > 0 {
                format!(", +{more}")
            } else {
                String::new()
            };
            ui.add(
                egui::Label::new(egui::RichText::new(format!("{}{tail}", shown.join(", "))).weak())
                    .wrap(),
            );
        }
    });
    ui.vertical(|ui| {
        if ui
            .button("Test")
            .accessible_name(format!("Test {name}"))
            .clicked()
        {
            commands.push(Command::TestUpstream(upstream.id));
        }
        if matches!(
            upstream.status,
            AccountStatus::Disabled | AccountStatus::KeyRejected
        ) {
            if ui
                .button("Enable")
                .accessible_name(format!("Enable {name}"))
                .clicked()
            {
                commands.push(Command::EnableAccount(upstream.id));
            }
        } else if ui
            .button("Disable")
            .accessible_name(format!("Disable {name}"))
            .clicked()
        {
            commands.push(Command::DisableAccount(upstream.id));
        }
        if ui
            .button("Remove")
            .accessible_name(format!("Remove {name}"))
            .clicked()
        {
            state.drafts.confirmation = Some(Confirmation::RemoveAccount {
                id: upstream.id,
                email: name.clone(),
            });
        }
    });
}

/// As wide as the window lets the quota column be: the row stays within
/// an 800-pixel window and still holds `Claude/GPT weekly 90% · resets in
/// 5d 23h`.
fn quota_column_width(ui: &egui::Ui) -> f32 {
    (ui.ctx().content_rect().width() - 600.0).clamp(200.0, 300.0)
}

/// A quota: its text above a thin bar coloured by what is left (text never
/// on the bar, so it reads whatever the share). The bar carries the text as
/// its accessible name.
fn quota_meter(ui: &mut egui::Ui, remaining: Option<f64>, text: String, width: f32) {
    let share = remaining.unwrap_or(0.0).clamp(0.0, 1.0);
    // Painted, not a label: the bar below is the one node a screen reader
    // reads, with this text as its name.
    let galley = egui::WidgetText::from(egui::RichText::new(&text).small()).into_galley(
        ui,
        Some(egui::TextWrapMode::Truncate),
        width,
        egui::TextStyle::Small,
    );
    let (rect, _) = ui.allocate_exact_size(galley.size(), egui::Sense::hover());
    ui.painter()
        .galley(rect.min, galley, ui.visuals().text_color());
    let mut bar = egui::ProgressBar::new(share as f32)
        .desired_width(width)
        .desired_height(5.0)
        .corner_radius(2.0);
    if remaining.is_some() {
        bar = bar.fill(quota_severity(share).color(ui.visuals()));
    }
    ui.add(bar).accessible_name(text);
}

/// Google's message (a retired client's options, a suspension's reason)
/// and the appeal link, instead of quota bars.
fn out_of_service_ui(
    ui: &mut egui::Ui,
    account: &AccountView,
    width: f32,
    commands: &mut Vec<Command>,
) {
    ui.set_max_width(width);
    if let Some(reason) = &account.reason {
        ui.add(egui::Label::new(reason).wrap());
    }
    if account.status == AccountStatus::Suspended {
        match &account.link {
            Some(link) => {
                let link_color = ui.visuals().hyperlink_color;
                ui.add(
                    egui::Label::new(egui::RichText::new(link).small().color(link_color)).wrap(),
                );
                ui.horizontal(|ui| {
                    if ui
                        .button("Open appeal page")
                        .accessible_name(format!("Open appeal page for {}", account.email))
                        .clicked()
                    {
                        commands.push(Command::OpenUrl(link.clone()));
                    }
                    copy_button(ui, &format!("appeal link for {}", account.email), link);
                });
            }
            None => {
                ui.weak("Appeal through the form Google links in the Antigravity app.");
            }
        }
    }
}

/// `Gemini 5h 80% · resets in 3h 12m`.
pub fn window_text(window: &QuotaWindow, now: i64) -> String {
    let amount = match window.remaining_fraction {
        Some(remaining) => format!("{}%", (remaining.clamp(0.0, 1.0) * 100.0).round()),
        None => "unknown".to_owned(),
    };
    let name = window_name(window);
    match window.reset_at {
        Some(resets_at) if resets_at > now => {
            format!(
                "{name} {amount} · resets in {}",
                duration_text(resets_at - now)
            )
        }
        Some(_) => format!("{name} {amount} · reset due"),
        None => format!("{name} {amount}"),
    }
}

/// `gemini-2.5-pro 75% · resets in 2h 05m`.
pub fn quota_text(quota: &QuotaView, now: i64) -> String {
    let amount = match quota.remaining {
        Some(remaining) => format!("{}%", (remaining.clamp(0.0, 1.0) * 100.0).round()),
        None => "unknown".to_owned(),
    };
    match quota.resets_at {
        Some(resets_at) if resets_at > now => format!(
            "{} {amount} · resets in {}",
            quota.model,
            duration_text(resets_at - now)
        ),
        Some(_) => format!("{} {amount} · reset due", quota.model),
        None => format!("{} {amount}", quota.model),
    }
}

fn add_account_ui(
    ui: &mut egui::Ui,
    snapshot: &Snapshot,
    state: &mut WindowUi,
    commands: &mut Vec<Command>,
) {
    let drafts = &mut state.drafts;

    ui.strong("Sign in with");
    for choice in [ClientChoice::Antigravity, ClientChoice::CodeAssist] {
        ui.radio_value(&mut drafts.client, choice, choice.label());
    }
    match drafts.client {
        ClientChoice::CodeAssist => {
            ui.horizontal(|ui| {
                labelled_text_field(ui, "Cloud project id", &mut drafts.project, 220.0);
            });
            ui.weak("The project with Gemini Code Assist Standard or Enterprise.");
        }
        ClientChoice::Antigravity => {
            ui.add(
                egui::Label::new(
                    egui::RichText::new(
                        "Google may suspend accounts whose Antigravity credentials \
                         other programs use.",
                    )
                    .color(ui.visuals().warn_fg_color),
                )
                .wrap(),
            );
        }
    }
    let client = drafts.client.profile_name().to_owned();
    let project = match drafts.client {
        ClientChoice::CodeAssist => {
            Some(drafts.project.trim().to_owned()).filter(|p| !p.is_empty())
        }
        ClientChoice::Antigravity => None,
    };

    ui.add_space(8.0);
    ui.strong("Browser sign-in");
    match &snapshot.login {
        None => {
            if ui.button("Sign in with Google").clicked() {
                push_with_consent(
                    &snapshot.config,
                    drafts,
                    commands,
                    &client,
                    Command::StartLogin {
                        client: client.clone(),
                        project: project.clone(),
                    },
                );
            }
        }
        Some(login) => login_in_progress_ui(
            ui,
            login,
            &mut drafts.login_code,
            &mut drafts.feedback,
            commands,
        ),
    }

    ui.add_space(8.0);
    ui.strong("Paste a refresh token");
    ui.horizontal(|ui| {
        let field = labelled_secret_field(ui, "Refresh token", &mut drafts.refresh_token, 300.0);
        let entered = watch_input(ui, &field, &mut drafts.feedback, &Field::RefreshToken);
        let token = drafts.refresh_token.trim().to_owned();
        let clicked = ui
            .add_enabled(!token.is_empty(), egui::Button::new("Add"))
            .clicked();
        if (clicked || entered) && !token.is_empty() {
            // The field keeps the token until the account is added: a
            // refused one can be corrected, not pasted again.
            push_with_consent(
                &snapshot.config,
                drafts,
                commands,
                &client,
                Command::AddRefreshToken {
                    token,
                    client: client.clone(),
                    project: project.clone(),
                },
            );
        }
    });
    field_error_ui(ui, &drafts.feedback, &Field::RefreshToken);

    ui.add_space(8.0);
    ui.strong("Import a file");
    let file = FileRow {
        label: "File to import",
        width: 260.0,
        field: Field::ImportPath,
        choose: "Choose a file to import",
        save: false,
        action: "Import",
    };
    if let Some(path) = file.ui(ui, &mut drafts.import_path, &mut drafts.feedback, commands) {
        commands.push(Command::ImportFile(path));
    }
    ui.weak("A JSON list of {\"email\", \"refresh_token\", \"client\"}; each entry is checked and reported.");
}

fn login_in_progress_ui(
    ui: &mut egui::Ui,
    login: &LoginView,
    login_code: &mut String,
    feedback: &mut FieldErrors,
    commands: &mut Vec<Command>,
) {
    ui.label("Open this address in a browser and sign in:");
    ui.add(egui::Label::new(egui::RichText::new(&login.url).monospace()).wrap());
    ui.horizontal(|ui| {
        copy_button(ui, "sign-in address", &login.url);
        if ui.button("Open in browser").clicked() {
            commands.push(Command::OpenUrl(login.url.clone()));
        }
    });
    if !login.accepts_paste {
        ui.add(
            egui::Label::new(format!(
                "The browser must reach port {} on this computer: Google's page waits \
                 for it, so pasting the address does not work here. From another \
                 machine, forward the port first:",
                login.port
            ))
            .wrap(),
        );
        let ssh = ssh_forward_line(login.port);
        ui.horizontal(|ui| {
            ui.monospace(&ssh);
            copy_button(ui, "ssh command", &ssh);
        });
        if ui.button("Cancel").clicked() {
            commands.push(Command::CancelLogin);
        }
        return;
    }
    ui.label(
        "If the browser ends on a page that does not load, paste that page's address \
         (or the code it shows) here:",
    );
    ui.horizontal(|ui| {
        let field = labelled_text_field(ui, "Code or address", login_code, 300.0);
        let entered = watch_input(ui, &field, feedback, &Field::LoginCode);
        let code = login_code.trim();
        let clicked = ui
            .add_enabled(!code.is_empty(), egui::Button::new("Submit"))
            .clicked();
        if (clicked || entered) && !code.is_empty() {
            commands.push(Command::SubmitLoginCode(code.to_owned()));
        }
        if ui.button("Cancel").clicked() {
            commands.push(Command::CancelLogin);
            login_code.clear();
        }
    });
    field_error_ui(ui, feedback, &Field::LoginCode);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_text_counts_down_to_the_reset() {
        let quota = QuotaView {
            model: "gemini-2.5-pro".to_owned(),
            remaining: Some(0.75),
            resets_at: Some(10_000 + 2 * 3600 + 5 * 60),
        };
        assert_eq!(
            quota_text(&quota, 10_000),
            "gemini-2.5-pro 75% · resets in 2h 05m"
        );
        assert_eq!(quota_text(&quota, 50_000), "gemini-2.5-pro 75% · reset due");
        let unknown = QuotaView {
            remaining: None,
            resets_at: None,
            ..quota
        };
        assert_eq!(quota_text(&unknown, 0), "gemini-2.5-pro unknown");
    }

    #[test]
    fn window_text_names_the_group_and_counts_down() {
        let window = QuotaWindow {
            group: "3p".to_owned(),
            window: "weekly".to_owned(),
            remaining_fraction: Some(0.6),
            reset_at: Some(10_000 + 3 * 3600 + 12 * 60),
        };
        assert_eq!(
            window_text(&window, 10_000),
            "Claude/GPT weekly 60% · resets in 3h 12m"
        );
        assert_eq!(
            window_text(&window, 90_000),
            "Claude/GPT weekly 60% · reset due"
        );
        let unknown = QuotaWindow {
            group: "gemini".to_owned(),
            window: "5h".to_owned(),
            remaining_fraction: None,
            reset_at: None,
        };
        assert_eq!(window_text(&unknown, 0), "Gemini 5h unknown");
    }

    #[test]
    fn clients_have_short_names() {
        let google = GoogleConfig::default();
        assert_eq!(client_label(&google, "antigravity"), "Antigravity");
        assert_eq!(client_label(&google, "gemini-cli"), "Code Assist");
        assert_eq!(client_label(&google, "my-own"), "my-own");
        assert_eq!(
            ssh_forward_line(8123),
            "ssh -L 8123:127.0.0.1:8123 you@this-computer"
        );
    }
}
