//! What the window shows and what it can ask for. The window draws a
//! [`Snapshot`] and collects [`Command`]s while drawing; a backend thread runs
//! the commands and publishes new snapshots. Pages never reach into the
//! gateway, the pool or the store themselves.

use std::path::PathBuf;
use std::sync::Arc;

use crate::config::Config;
use crate::store::AccountStatus;
pub use crate::store::QuotaWindow;

/// Everything one frame needs, cheap to clone (the window keeps the latest).
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub gateway: GatewayView,
    /// Google accounts.
    pub accounts: Vec<AccountView>,
    /// API-key upstreams.
    pub upstreams: Vec<UpstreamView>,
    pub config: Config,
    /// Newest first, at most a few hundred.
    pub recent: Vec<RequestView>,
    /// Hourly usage of the last 30 days, oldest first (refreshed about once a
    /// minute; shared, not copied, between snapshots).
    pub usage: Arc<Vec<UsageBucket>>,
    pub today: TodayView,
    pub paths: PathsView,
    /// A browser sign-in in progress.
    pub login: Option<LoginView>,
    /// Whether the app is registered to start at login.
    pub launch_at_login: bool,
    /// The last file chosen in a file dialog (by `seq`, like a notice).
    pub picked: Option<(u64, Field, PathBuf)>,
    /// The result of the last action: the window shows each new one once
    /// (by `seq`), next to its field when it has one, else as a toast.
    pub notice: Option<Notice>,
    /// Unix seconds when this snapshot was taken (for countdowns).
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum GatewayState {
    Running,
    #[default]
    Stopped,
    /// It could not start (port busy, …).
    Failed(String),
}

#[derive(Debug, Clone, Default)]
pub struct GatewayView {
    pub state: GatewayState,
    /// `http://127.0.0.1:8045`
    pub base_url: String,
    /// With LAN access: the address other machines use.
    pub lan_url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AccountView {
    pub id: i64,
    pub email: String,
    pub tier: Option<String>,
    pub status: AccountStatus,
    /// The one-line status (`cooling down (model, until T, why)`, …).
    pub status_line: String,
    /// Google's words for a "client retired" or "suspended by Google"
    /// status (and, for a retired client, the user's options).
    pub reason: Option<String>,
    /// Where to fix a "needs verification" status, or the appeal form of a
    /// suspended account.
    pub link: Option<String>,
    /// The OAuth client profile it signed in with (`antigravity`, `gemini-cli`, …).
    pub oauth_client: String,
    /// The Cloud project it runs in, when it has one.
    pub project: Option<String>,
    /// Per-model quotas, for accounts without quota windows.
    pub quotas: Vec<QuotaView>,
    /// A 5-hour and a weekly window per model group, when Google reports them.
    pub windows: Vec<QuotaWindow>,
    /// How many models Google offers it, when it said.
    pub models_offered: Option<usize>,
    pub last_used_at: Option<i64>,
}

/// An API-key upstream as the Accounts page lists it (never its key).
#[derive(Debug, Clone)]
pub struct UpstreamView {
    pub id: i64,
    pub name: String,
    pub kind: crate::store::UpstreamKind,
    pub base_url: String,
    pub priority: i32,
    pub status: AccountStatus,
    /// The one-line status, limits included (`key rejected (…)`, `cooling down …`).
    pub status_line: String,
    /// The models it serves now (its list narrowed by its globs).
    pub models: Vec<String>,
    pub last_used_at: Option<i64>,
}

/// The window that binds first: the one with the least left (the earlier
/// reset breaks a tie). Windows whose share is unknown are not counted.
pub fn binding_window(windows: &[QuotaWindow]) -> Option<&QuotaWindow> {
    windows
        .iter()
        .filter(|w| w.remaining_fraction.is_some())
        .min_by(|a, b| {
            let left = |w: &QuotaWindow| w.remaining_fraction.unwrap_or(1.0);
            left(a).total_cmp(&left(b)).then(
                a.reset_at
                    .unwrap_or(i64::MAX)
                    .cmp(&b.reset_at.unwrap_or(i64::MAX)),
            )
        })
}

/// `Gemini weekly`, `Claude/GPT 5h`.
pub fn window_name(window: &QuotaWindow) -> String {
    format!(
        "{} {}",
        crate::pool::group_label(&window.group),
        window.window
    )
}

/// `Gemini weekly 60%`, `Claude/GPT 5h ?`.
pub fn window_share(window: &QuotaWindow) -> String {
    match window.remaining_fraction {
        Some(left) => format!(
            "{} {:.0}%",
            window_name(window),
            left.clamp(0.0, 1.0) * 100.0
        ),
        None => format!("{} ?", window_name(window)),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct QuotaView {
    pub model: String,
    /// 0.0 to 1.0; `None` when the upstream did not say.
    pub remaining: Option<f64>,
    /// Unix seconds.
    pub resets_at: Option<i64>,
}

/// One request in the live list: the gateway's own record (its
/// `error_message` is what the Monitor shows as the error).
pub use crate::gateway::recent::RequestRecord as RequestView;

/// One hour of one (account, model, protocol)'s traffic: the store's roll-up row.
pub use crate::store::UsageRow as UsageBucket;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TodayView {
    pub requests: u64,
    pub errors: u64,
    pub tokens: u64,
}

#[derive(Debug, Clone, Default)]
pub struct PathsView {
    pub config_file: PathBuf,
    pub data_file: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LoginView {
    /// The address to open (shown with a copy button).
    pub url: String,
    /// Whether pasting the address the browser ended on can finish it (not
    /// with the Antigravity client: the browser must reach `port` itself).
    pub accepts_paste: bool,
    /// The loopback port the browser is sent back to.
    pub port: u16,
}

/// What an action did, said once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Grows with every notice: the window shows a notice whose `seq` it has
    /// not seen yet (the same text twice is two notices).
    pub seq: u64,
    pub error: bool,
    pub text: String,
    /// The input the action came from, if any: an error is shown next to it
    /// (and the input kept); a success clears it.
    pub field: Option<Field>,
}

impl Notice {
    pub fn new(seq: u64, error: bool, text: impl Into<String>) -> Self {
        Self {
            seq,
            error,
            text: text.into(),
            field: None,
        }
    }
}

/// The inputs an action's result can be about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Field {
    RefreshToken,
    LoginCode,
    ImportPath,
    ExportPath,
    MonitorExportPath,
    /// The "API keys" add form.
    Upstream,
    /// A setting, by config key.
    Config(String),
}

/// What the user asked for, run by the backend after the frame is drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    StartGateway,
    StopGateway,
    /// Any `config set KEY VALUE` (validated; an error comes back as a notice).
    SetConfig {
        key: String,
        value: String,
    },
    RegenerateApiKey,
    /// Starts a browser sign-in with the OAuth client profile `client`
    /// (`antigravity`, `gemini-cli`, …), for the Cloud `project` if given;
    /// the snapshot's `login` then holds the URL.
    StartLogin {
        client: String,
        project: Option<String>,
    },
    /// The address the browser ended on, or the code.
    SubmitLoginCode(String),
    CancelLogin,
    /// Adds the account of a refresh token issued to `client`.
    AddRefreshToken {
        token: String,
        client: String,
        project: Option<String>,
    },
    ImportFile(PathBuf),
    ExportFile(PathBuf),
    /// Enables, disables or removes an account or an upstream (by id).
    EnableAccount(i64),
    DisableAccount(i64),
    RemoveAccount(i64),
    /// Adds an API-key upstream (checked live first).
    AddUpstream(UpstreamDraft),
    /// Asks an upstream for its models and a few tokens.
    TestUpstream(i64),
    /// One account, or all.
    RefreshQuota(Option<i64>),
    SetLaunchAtLogin(bool),
    OpenDataFolder,
    OpenUrl(String),
    /// Forgets the live list (the stored log and the roll-ups stay).
    ClearRecent,
    /// Asks for a file in the system's file dialog (`save`: a new one); the
    /// path chosen comes back in the snapshot's `picked` for `field`.
    PickFile {
        field: Field,
        save: bool,
    },
    /// Writes the rows shown (newest first) to a file.
    ExportRequests {
        path: PathBuf,
        format: ExportFormat,
        rows: Vec<RequestView>,
    },
}

impl Command {
    /// The input this command came from, for placing its result.
    pub fn field(&self) -> Option<Field> {
        Some(match self {
            Command::AddRefreshToken { .. } => Field::RefreshToken,
            Command::SubmitLoginCode(_) => Field::LoginCode,
            Command::ImportFile(_) => Field::ImportPath,
            Command::ExportFile(_) => Field::ExportPath,
            Command::ExportRequests { .. } => Field::MonitorExportPath,
            Command::AddUpstream(_) => Field::Upstream,
            Command::SetConfig { key, .. } => Field::Config(key.clone()),
            _ => return None,
        })
    }
}

/// What the add form collected for a new upstream.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct UpstreamDraft {
    pub name: String,
    pub kind: Option<crate::store::UpstreamKind>,
    pub base_url: String,
    pub key: String,
    /// Comma-separated globs.
    pub models: String,
}

impl std::fmt::Debug for UpstreamDraft {
    /// Never the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamDraft")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("base_url", &self.base_url)
            .field(
                "key",
                &if self.key.is_empty() {
                    ""
                } else {
                    "[redacted]"
                },
            )
            .field("models", &self.models)
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    JsonLines,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(group: &str, window: &str, left: Option<f64>, reset_at: i64) -> QuotaWindow {
        QuotaWindow {
            group: group.to_owned(),
            window: window.to_owned(),
            remaining_fraction: left,
            reset_at: Some(reset_at),
        }
    }

    #[test]
    fn the_binding_window_has_the_least_left() {
        let windows = [
            window("gemini", "5h", Some(0.9), 100),
            window("gemini", "weekly", Some(0.6), 900),
            window("3p", "5h", None, 50),
            window("3p", "weekly", Some(0.6), 500),
        ];
        let binding = binding_window(&windows).unwrap();
        assert_eq!(window_share(binding), "Claude/GPT weekly 60%");
        assert_eq!(window_share(&windows[1]), "Gemini weekly 60%");
        assert_eq!(window_share(&windows[2]), "Claude/GPT 5h ?");
        assert!(binding_window(&windows[2..3]).is_none());
        assert!(binding_window(&[]).is_none());
    }
}
