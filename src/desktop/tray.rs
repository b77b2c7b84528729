//! The tray icon and its menu (SPEC §5): a live status line, Start/Stop,
//! Copy base URL, Copy API key, one line per account with its state and best
//! quota, Open Switchyard, Launch at login, Quit. On Linux it is a
//! StatusNotifierItem over D-Bus (tray-icon's pure-Rust ksni backend); on
//! macOS a status item (a template icon, so it follows light and dark menu
//! bars, with a "!" beside it when something needs a look); on Windows a
//! notification-area icon whose left click opens the window and right click
//! the menu. On macOS and Windows the resident's main thread runs the
//! platform's event loop that drives it (`resident.rs`).

use tray_icon::menu::{CheckMenuItem, Menu, MenuEvent, MenuItem, PredefinedMenuItem};
use tray_icon::{Icon, TrayIcon, TrayIconBuilder};

use super::icons::{TrayState, tray_icon_rgba};

/// What the tray shows; rebuilt by the resident and applied when it changes.
#[derive(Debug, Clone, PartialEq)]
pub struct TrayView {
    pub state: TrayState,
    pub status_line: String,
    pub running: bool,
    pub accounts: Vec<String>,
    pub launch_at_login: bool,
}

/// A menu click, for the resident's main loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayAction {
    ToggleGateway,
    CopyBaseUrl,
    CopyApiKey,
    OpenWindow,
    ToggleLaunchAtLogin,
    Quit,
}

impl TrayAction {
    fn id(self) -> &'static str {
        match self {
            Self::ToggleGateway => "toggle-gateway",
            Self::CopyBaseUrl => "copy-base-url",
            Self::CopyApiKey => "copy-api-key",
            Self::OpenWindow => "open",
            Self::ToggleLaunchAtLogin => "launch-at-login",
            Self::Quit => "quit",
        }
    }

    fn from_id(id: &str) -> Option<Self> {
        [
            Self::ToggleGateway,
            Self::CopyBaseUrl,
            Self::CopyApiKey,
            Self::OpenWindow,
            Self::ToggleLaunchAtLogin,
            Self::Quit,
        ]
        .into_iter()
        .find(|a| a.id() == id)
    }
}

pub struct Tray {
    icon: TrayIcon,
    accounts: Vec<String>,
    status: MenuItem,
    toggle: MenuItem,
    launch_at_login: CheckMenuItem,
    state: TrayState,
}

fn icon_for(state: TrayState) -> Result<Icon, String> {
    let (rgba, width, height) = tray_icon_rgba(state)?;
    Icon::from_rgba(rgba, width, height).map_err(|e| e.to_string())
}

/// Whether a click on the icon itself opens the window: the left button
/// released, on Windows (elsewhere a click opens the menu).
fn opens_window(event: &tray_icon::TrayIconEvent) -> bool {
    cfg!(target_os = "windows")
        && matches!(
            event,
            tray_icon::TrayIconEvent::Click {
                button: tray_icon::MouseButton::Left,
                button_state: tray_icon::MouseButtonState::Up,
                ..
            }
        )
}

/// The text beside the macOS template icon (which cannot show colour): a
/// "!" when the gateway is stopped for an error or degraded.
#[cfg(target_os = "macos")]
fn mac_title(state: TrayState) -> &'static str {
    match state {
        TrayState::Error | TrayState::Degraded => "!",
        _ => "",
    }
}

fn toggle_text(running: bool) -> &'static str {
    if running {
        "Stop gateway"
    } else {
        "Start gateway"
    }
}

struct Built {
    menu: Menu,
    status: MenuItem,
    toggle: MenuItem,
    launch_at_login: CheckMenuItem,
}

fn build_menu(view: &TrayView) -> Result<Built, String> {
    let menu = Menu::new();
    let status = MenuItem::new(&view.status_line, false, None);
    let toggle = MenuItem::with_id(
        TrayAction::ToggleGateway.id(),
        toggle_text(view.running),
        true,
        None,
    );
    let launch_at_login = CheckMenuItem::with_id(
        TrayAction::ToggleLaunchAtLogin.id(),
        "Launch at login",
        true,
        view.launch_at_login,
        None,
    );
    let item = |action: TrayAction, text: &str| MenuItem::with_id(action.id(), text, true, None);
    let append = |result: Result<(), tray_icon::menu::Error>| result.map_err(|e| e.to_string());
    append(menu.append(&status))?;
    append(menu.append(&PredefinedMenuItem::separator()))?;
    append(menu.append(&toggle))?;
    append(menu.append(&item(TrayAction::CopyBaseUrl, "Copy base URL")))?;
    append(menu.append(&item(TrayAction::CopyApiKey, "Copy API key")))?;
    append(menu.append(&PredefinedMenuItem::separator()))?;
    if view.accounts.is_empty() {
        append(menu.append(&MenuItem::new("No accounts yet", false, None)))?;
    }
    for line in &view.accounts {
        append(menu.append(&MenuItem::new(line, false, None)))?;
    }
    append(menu.append(&PredefinedMenuItem::separator()))?;
    append(menu.append(&item(TrayAction::OpenWindow, "Open Switchyard")))?;
    append(menu.append(&launch_at_login))?;
    append(menu.append(&PredefinedMenuItem::separator()))?;
    append(menu.append(&item(TrayAction::Quit, "Quit")))?;
    Ok(Built {
        menu,
        status,
        toggle,
        launch_at_login,
    })
}

impl Tray {
    /// Registers the tray icon; menu clicks (and on Windows a left click on
    /// the icon) arrive on `actions`, and `wake` is called after each so the
    /// main loop handles it at once.
    pub fn new(
        view: &TrayView,
        actions: std::sync::mpsc::Sender<TrayAction>,
        wake: impl Fn() + Send + Sync + 'static,
    ) -> Result<Self, String> {
        let built = build_menu(view)?;
        let wake = std::sync::Arc::new(wake);
        let menu_actions = actions.clone();
        let menu_wake = wake.clone();
        MenuEvent::set_event_handler(Some(move |event: MenuEvent| {
            if let Some(action) = TrayAction::from_id(event.id().as_ref()) {
                let _ = menu_actions.send(action);
                menu_wake();
            }
        }));
        tray_icon::TrayIconEvent::set_event_handler(Some(move |event| {
            if opens_window(&event) {
                let _ = actions.send(TrayAction::OpenWindow);
                wake();
            }
        }));
        let builder = TrayIconBuilder::new()
            .with_id("switchyard")
            .with_tooltip(&view.status_line)
            .with_menu(Box::new(built.menu));
        #[cfg(not(target_os = "macos"))]
        let builder = builder.with_icon(icon_for(view.state)?);
        // Windows: the left click opens the window, the right one the menu.
        #[cfg(target_os = "windows")]
        let builder = builder.with_menu_on_left_click(false);
        #[cfg(target_os = "macos")]
        let builder = builder
            .with_icon_templated(icon_for(view.state)?)
            .with_title(mac_title(view.state));
        #[cfg(not(target_os = "macos"))]
        let builder = builder.with_title("Switchyard");
        let icon = builder.build().map_err(|e| e.to_string())?;
        Ok(Self {
            icon,
            accounts: view.accounts.clone(),
            status: built.status,
            toggle: built.toggle,
            launch_at_login: built.launch_at_login,
            state: view.state,
        })
    }

    /// Shows `view`: texts in place, the menu rebuilt when the account lines changed.
    pub fn update(&mut self, view: &TrayView) {
        if view.accounts != self.accounts {
            match build_menu(view) {
                Ok(built) => {
                    self.icon.set_menu(Some(Box::new(built.menu)));
                    self.status = built.status;
                    self.toggle = built.toggle;
                    self.launch_at_login = built.launch_at_login;
                    self.accounts = view.accounts.clone();
                }
                Err(error) => tracing::warn!(%error, "cannot rebuild the tray menu"),
            }
        }
        self.status.set_text(&view.status_line);
        self.toggle.set_text(toggle_text(view.running));
        self.launch_at_login.set_checked(view.launch_at_login);
        let _ = self.icon.set_tooltip(Some(&view.status_line));
        if view.state != self.state {
            #[cfg(target_os = "macos")]
            self.icon.set_title(Some(mac_title(view.state)));
            match icon_for(view.state) {
                Ok(icon) => {
                    #[cfg(target_os = "macos")]
                    let _ = self.icon.set_icon_templated(Some(icon));
                    #[cfg(not(target_os = "macos"))]
                    let _ = self.icon.set_icon(Some(icon));
                    self.state = view.state;
                }
                Err(error) => tracing::warn!(%error, "cannot change the tray icon"),
            }
        }
    }
}
