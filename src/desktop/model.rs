//! What the window shows and what it can ask for. The window draws a
//! [`Snapshot`] and collects [`Command`]s while drawing; a backend thread runs
//! the commands and publishes new snapshots. Pages never reach into the
//! gateway, the pool or the store themselves.

use std::path::PathBuf;
use std::sync::Arc;

use crate::config::Config;
use crate::store::AccountStatus;

/// Everything one frame needs, cheap to clone (the window keeps the latest).
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub gateway: GatewayView,
    pub accounts: Vec<AccountView>,
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
    /// The result of the last action, for a status line: (is_error, text).
    pub notice: Option<(bool, String)>,
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
    /// Where to fix a "needs verification" status.
    pub link: Option<String>,
    pub quotas: Vec<QuotaView>,
    pub last_used_at: Option<i64>,
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginView {
    /// The address to open (shown with a copy button).
    pub url: String,
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
    /// Starts a browser sign-in; the snapshot's `login` then holds the URL.
    StartLogin,
    /// The address the browser ended on, or the code.
    SubmitLoginCode(String),
    CancelLogin,
    AddRefreshToken(String),
    ImportFile(PathBuf),
    ExportFile(PathBuf),
    EnableAccount(i64),
    DisableAccount(i64),
    RemoveAccount(i64),
    /// One account, or all.
    RefreshQuota(Option<i64>),
    SetLaunchAtLogin(bool),
    OpenDataFolder,
    OpenUrl(String),
    /// Forgets the live list (the stored log and the roll-ups stay).
    ClearRecent,
    /// Writes the rows shown (newest first) to a file.
    ExportRequests {
        path: PathBuf,
        format: ExportFormat,
        rows: Vec<RequestView>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    JsonLines,
}
