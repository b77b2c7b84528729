//! Typed settings (`config.toml`): defaults, loading, validation, `config set`
//! by dotted key, and atomic saves. The key names are the contract in SPEC §8.
//!
//! This module owns the file format and the data folder layout; it knows nothing
//! about HTTP or the database.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Environment variable: one folder holding both `config.toml` and `switchyard.db`.
pub const ENV_HOME: &str = "SWITCHYARD_HOME";
pub const CONFIG_FILE_NAME: &str = "config.toml";
pub const DB_FILE_NAME: &str = "switchyard.db";

/// The built-in OAuth client profile: Google's public installed-app client,
/// published in the open-source Gemini CLI.
pub const DEFAULT_OAUTH_CLIENT: &str = "gemini-cli";

/// The built-in profile for personal Google accounts: the Antigravity IDE's
/// client. Using it from a third-party program risks a suspension
/// (`google.antigravity_risk_accepted`).
pub const ANTIGRAVITY_CLIENT: &str = "antigravity";

/// The Antigravity IDE's OAuth client id (an installed-app client, published in
/// many open-source tools). Any profile with this id needs the user's consent.
pub const ANTIGRAVITY_CLIENT_ID: &str =
    "1071006060591-tmhssin2h21lcre235vtolojh4g403ep.apps.googleusercontent.com";

/// `ideType` of the Antigravity client; requests from such a profile carry its
/// envelope fields and `Client-Metadata` header.
pub const ANTIGRAVITY_IDE_TYPE: &str = "ANTIGRAVITY";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid value for `{key}`: {message}")]
    Invalid { key: String, message: String },
    #[error("unknown config key `{key}`{hint}")]
    UnknownKey { key: String, hint: String },
    #[error("cannot find a folder for Switchyard's files: set {ENV_HOME}")]
    NoHome,
}

/// Where the config file and the database live.
#[derive(Debug, Clone)]
pub struct Paths {
    pub config_file: PathBuf,
    pub db_file: PathBuf,
}

impl Paths {
    /// `$SWITCHYARD_HOME` when set, else the platform's config and data folders.
    pub fn from_env() -> Result<Self, ConfigError> {
        if let Some(home) = std::env::var_os(ENV_HOME).filter(|h| !h.is_empty()) {
            return Ok(Self::in_folder(PathBuf::from(home)));
        }
        let dirs =
            directories::ProjectDirs::from("", "", "switchyard").ok_or(ConfigError::NoHome)?;
        Ok(Self {
            config_file: dirs.config_dir().join(CONFIG_FILE_NAME),
            db_file: dirs.data_dir().join(DB_FILE_NAME),
        })
    }

    pub fn in_folder(folder: PathBuf) -> Self {
        Self {
            config_file: folder.join(CONFIG_FILE_NAME),
            db_file: folder.join(DB_FILE_NAME),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub gateway: GatewayConfig,
    pub google: GoogleConfig,
    pub pool: PoolConfig,
    /// Client model name (glob) → upstream model.
    pub models: BTreeMap<String, String>,
    /// Model glob → the members that may serve it, in order (`google`: every
    /// Google account; any other name: an API-key upstream).
    pub routing: BTreeMap<String, Vec<String>>,
    pub desktop: DesktopConfig,
    pub notifications: NotificationsConfig,
    pub log: LogConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    Off,
    Strict,
    AllExceptHealth,
    Auto,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scheduling {
    Sticky,
    Balance,
    RoundRobin,
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    pub port: u16,
    pub allow_lan_access: bool,
    pub auth_mode: AuthMode,
    pub api_key: String,
    pub start_with_app: bool,
    pub scheduling: Scheduling,
    pub request_timeout_secs: u64,
    pub max_body_mb: u64,
    /// Browser origins (`scheme://host[:port]`) allowed to call the gateway
    /// from a web page; any other page is refused.
    pub allowed_origins: Vec<String>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            port: 8045,
            allow_lan_access: false,
            auth_mode: AuthMode::Auto,
            api_key: String::new(),
            start_with_app: true,
            scheduling: Scheduling::Balance,
            request_timeout_secs: 600,
            max_body_mb: 100,
            allowed_origins: Vec::new(),
        }
    }
}

/// Written by hand so the client API key never reaches a log: `{:?}` of a
/// config says only whether a key is set.
impl fmt::Debug for GatewayConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            port,
            allow_lan_access,
            auth_mode,
            api_key,
            start_with_app,
            scheduling,
            request_timeout_secs,
            max_body_mb,
            allowed_origins,
        } = self;
        f.debug_struct("GatewayConfig")
            .field("port", port)
            .field("allow_lan_access", allow_lan_access)
            .field("auth_mode", auth_mode)
            .field(
                "api_key",
                &if api_key.is_empty() {
                    "(none)"
                } else {
                    "(set, not shown)"
                },
            )
            .field("start_with_app", start_with_app)
            .field("scheduling", scheduling)
            .field("request_timeout_secs", request_timeout_secs)
            .field("max_body_mb", max_body_mb)
            .field("allowed_origins", allowed_origins)
            .finish()
    }
}

impl GatewayConfig {
    /// `auto` resolved: no key on loopback, every route but `/healthz` with LAN access.
    pub fn effective_auth_mode(&self) -> AuthMode {
        match self.auth_mode {
            AuthMode::Auto if self.allow_lan_access => AuthMode::AllExceptHealth,
            AuthMode::Auto => AuthMode::Off,
            other => other,
        }
    }

    pub fn listen_ip(&self) -> std::net::IpAddr {
        if self.allow_lan_access {
            std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
        } else {
            std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GoogleConfig {
    pub oauth_client: String,
    /// The host of the `gemini-cli` profile (Code Assist Standard/Enterprise).
    pub code_assist_url: String,
    /// The user accepted that Google may suspend accounts used through the
    /// Antigravity client by a third-party program. Without it Switchyard
    /// never adds or uses an account on that client.
    pub antigravity_risk_accepted: bool,
    /// Hosts of the `antigravity` profile, tried in order (daily, then prod).
    pub antigravity_urls: Vec<String>,
    /// `<version>` in the Antigravity User-Agent (`antigravity/<version> <os>/<arch>`);
    /// Google refuses newer models to versions below 2.9.0.
    pub antigravity_version: String,
    pub oauth_auth_url: String,
    pub oauth_token_url: String,
    pub userinfo_url: String,
    pub oauth_clients: Vec<OAuthClientProfile>,
}

impl Default for GoogleConfig {
    fn default() -> Self {
        Self {
            oauth_client: DEFAULT_OAUTH_CLIENT.to_owned(),
            code_assist_url: "https://cloudcode-pa.googleapis.com".to_owned(),
            antigravity_risk_accepted: false,
            antigravity_urls: vec![
                "https://daily-cloudcode-pa.googleapis.com".to_owned(),
                "https://cloudcode-pa.googleapis.com".to_owned(),
            ],
            antigravity_version: "2.9.1".to_owned(),
            oauth_auth_url: "https://accounts.google.com/o/oauth2/v2/auth".to_owned(),
            oauth_token_url: "https://oauth2.googleapis.com/token".to_owned(),
            userinfo_url: "https://www.googleapis.com/oauth2/v2/userinfo".to_owned(),
            oauth_clients: Vec::new(),
        }
    }
}

impl GoogleConfig {
    /// The profile named `name`: one from `[[google.oauth_clients]]`, or a
    /// built-in one (`gemini-cli`, `antigravity`).
    pub fn oauth_profile(&self, name: &str) -> Option<&OAuthClientProfile> {
        // Looked up on every upstream attempt: borrowed, and the built-in
        // profiles are built once.
        static GEMINI_CLI: std::sync::LazyLock<OAuthClientProfile> =
            std::sync::LazyLock::new(OAuthClientProfile::gemini_cli);
        static ANTIGRAVITY: std::sync::LazyLock<OAuthClientProfile> =
            std::sync::LazyLock::new(OAuthClientProfile::antigravity);
        self.oauth_clients
            .iter()
            .find(|p| p.name == name)
            .or_else(|| match name {
                DEFAULT_OAUTH_CLIENT => Some(&*GEMINI_CLI),
                ANTIGRAVITY_CLIENT => Some(&*ANTIGRAVITY),
                _ => None,
            })
    }

    /// The hosts a profile's Code Assist calls go to, in the order to try
    /// them: the profile's own `urls`, else `antigravity_urls` for an
    /// Antigravity profile, else `code_assist_url`.
    pub fn hosts<'a>(&'a self, profile: &'a OAuthClientProfile) -> Vec<&'a str> {
        let urls: &[String] = if !profile.urls.is_empty() {
            &profile.urls
        } else if profile.is_antigravity() {
            &self.antigravity_urls
        } else {
            std::slice::from_ref(&self.code_assist_url)
        };
        urls.iter().map(|u| u.trim_end_matches('/')).collect()
    }

    /// The `User-Agent` a profile sends for `model`.
    pub fn user_agent(&self, profile: &OAuthClientProfile, model: &str) -> String {
        profile
            .user_agent
            .replace("{model}", model)
            .replace("{version}", &self.antigravity_version)
    }

    /// Whether accounts on `profile` may be added and used: a profile with the
    /// Antigravity client id only once the user accepted the risk.
    pub fn profile_allowed(&self, profile: &OAuthClientProfile) -> bool {
        !profile.needs_consent() || self.antigravity_risk_accepted
    }
}

/// An OAuth client: who Switchyard says it is when it talks to Google.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthClientProfile {
    pub name: String,
    pub client_id: String,
    pub client_secret: String,
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// `User-Agent` sent to Code Assist; `{model}` is replaced by the model
    /// id, `{version}` by `google.antigravity_version`.
    #[serde(default = "default_user_agent")]
    pub user_agent: String,
    /// `metadata.ideType` sent to `loadCodeAssist` / `onboardUser`.
    #[serde(default = "default_ide_type")]
    pub ide_type: String,
    /// Whether the browser sign-in may use PKCE with this client.
    #[serde(default)]
    pub pkce: bool,
    /// Code Assist hosts for this profile, in order; empty: the built-in
    /// choice (`antigravity_urls` for an Antigravity profile, else
    /// `code_assist_url`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
}

impl fmt::Debug for OAuthClientProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthClientProfile")
            .field("name", &self.name)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

fn default_scopes() -> Vec<String> {
    [
        "https://www.googleapis.com/auth/cloud-platform",
        "https://www.googleapis.com/auth/userinfo.email",
        "https://www.googleapis.com/auth/userinfo.profile",
    ]
    .map(str::to_owned)
    .to_vec()
}

fn default_user_agent() -> String {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        "windows" => "win32",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "x64",
        "aarch64" => "arm64",
        other => other,
    };
    format!("GeminiCLI/0.56.0/{{model}} ({os}; {arch}; terminal)")
}

fn default_ide_type() -> String {
    "IDE_UNSPECIFIED".to_owned()
}

/// `antigravity/{version} <os>/<arch>`, as the Antigravity IDE names itself.
fn antigravity_user_agent() -> String {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    format!("antigravity/{{version}} {os}/{arch}")
}

impl OAuthClientProfile {
    /// The public installed-app client of Google's open-source Gemini CLI.
    /// Google documents that an installed app's client secret is not secret.
    pub fn gemini_cli() -> Self {
        Self {
            name: DEFAULT_OAUTH_CLIENT.to_owned(),
            client_id: "681255809395-oo8ft2oprdrnp9e3aqf6av3hmdib135j.apps.googleusercontent.com"
                .to_owned(),
            client_secret: "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".to_owned(),
            scopes: default_scopes(),
            user_agent: default_user_agent(),
            ide_type: default_ide_type(),
            pkce: false,
            urls: Vec::new(),
        }
    }

    /// The Antigravity IDE's client, the one Google serves personal accounts
    /// through since 2026-06-18. Its use by third-party programs can get an
    /// account suspended: only with `google.antigravity_risk_accepted`.
    pub fn antigravity() -> Self {
        let mut scopes = default_scopes();
        scopes.extend(
            [
                "https://www.googleapis.com/auth/cclog",
                "https://www.googleapis.com/auth/experimentsandconfigs",
            ]
            .map(str::to_owned),
        );
        Self {
            name: ANTIGRAVITY_CLIENT.to_owned(),
            client_id: ANTIGRAVITY_CLIENT_ID.to_owned(),
            client_secret: "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".to_owned(),
            scopes,
            user_agent: antigravity_user_agent(),
            ide_type: ANTIGRAVITY_IDE_TYPE.to_owned(),
            pkce: false,
            urls: Vec::new(),
        }
    }

    /// Whether requests carry the Antigravity envelope and headers.
    pub fn is_antigravity(&self) -> bool {
        self.ide_type == ANTIGRAVITY_IDE_TYPE || self.client_id == ANTIGRAVITY_CLIENT_ID
    }

    /// Whether this profile may be used only with the user's consent.
    pub fn needs_consent(&self) -> bool {
        self.client_id == ANTIGRAVITY_CLIENT_ID
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoolConfig {
    pub reserve_percent: u8,
    pub quota_poll_minutes: u32,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            reserve_percent: 0,
            quota_poll_minutes: 10,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    Light,
    Dark,
    System,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DesktopConfig {
    pub launch_at_login: bool,
    pub start_hidden: bool,
    pub close_to_tray: bool,
    pub theme: Theme,
}

impl Default for DesktopConfig {
    fn default() -> Self {
        Self {
            launch_at_login: false,
            start_hidden: false,
            close_to_tray: true,
            theme: Theme::System,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotificationsConfig {
    /// All desktop notifications; each kind below can also be switched off.
    pub enabled: bool,
    pub quota_warning_percent: u8,
    /// A model's quota fell below `quota_warning_percent`.
    pub quota_low: bool,
    /// An account used up a model's quota (with the reset time).
    pub quota_exhausted: bool,
    /// An account needs a new sign-in or a verification.
    pub account_failed: bool,
    /// No account can serve a model.
    pub pool_exhausted: bool,
    /// The gateway could not start (port busy, …).
    pub gateway_failed: bool,
}

impl Default for NotificationsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            quota_warning_percent: 10,
            quota_low: true,
            quota_exhausted: true,
            account_failed: true,
            pool_exhausted: true,
            gateway_failed: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// Write requests to the database (the live list and metrics work either way).
    pub enabled: bool,
    /// Also keep request and response bodies (secrets redacted).
    pub store_bodies: bool,
    pub retention_days: u32,
    pub max_mb: u64,
    /// Bodies are dropped from the log after this long.
    pub body_retention_hours: u32,
    /// Each stored body is cut at this size.
    pub body_max_kb: u64,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            store_bodies: false,
            retention_days: 30,
            max_mb: 512,
            body_retention_hours: 24,
            body_max_kb: 64,
        }
    }
}

/// A fresh client key: `sk-` and 32 hex digits from the OS's CSPRNG.
pub fn generate_api_key() -> String {
    use rand::Rng;
    // ThreadRng is a CSPRNG (ChaCha) seeded from the operating system.
    let bytes: [u8; 16] = rand::rng().random();
    let mut key = String::with_capacity(35);
    key.push_str("sk-");
    for byte in bytes {
        key.push_str(&format!("{byte:02x}"));
    }
    key
}

impl Config {
    /// Parses and validates a config file's text.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: describe_toml_error(&e),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Reads the config file without writing anything: the defaults (and no
    /// API key yet) when there is none. For commands that only look.
    pub fn load_existing(path: &Path) -> Result<Self, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_toml(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(source) => Err(ConfigError::Read {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Loads the config file, creating it on first run (with a new API key).
    /// A file without an API key gets one, and is saved again.
    pub fn load_or_init(path: &Path) -> Result<Self, ConfigError> {
        let mut config = match std::fs::read_to_string(path) {
            Ok(text) => Self::from_toml(&text, path)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Config::default(),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        if config.gateway.api_key.is_empty() || !path.exists() {
            if config.gateway.api_key.is_empty() {
                config.gateway.api_key = generate_api_key();
            }
            config.save(path)?;
        }
        Ok(config)
    }

    /// Every check that a hand-edited file or `config set` must pass.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            key: key.to_owned(),
            message,
        };
        let g = &self.gateway;
        if g.allow_lan_access && g.auth_mode == AuthMode::Off {
            return Err(invalid(
                "gateway.auth_mode",
                "LAN access with auth_mode = \"off\" would let anyone on the network use your \
                 accounts; choose \"all_except_health\", \"strict\" or \"auto\", or set \
                 gateway.allow_lan_access = false"
                    .to_owned(),
            ));
        }
        if !g.api_key.is_empty() && g.api_key.len() < 8 {
            return Err(invalid(
                "gateway.api_key",
                "must be at least 8 characters".to_owned(),
            ));
        }
        if g.api_key
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(invalid(
                "gateway.api_key",
                "must not contain spaces or control characters".to_owned(),
            ));
        }
        if g.request_timeout_secs == 0 {
            return Err(invalid(
                "gateway.request_timeout_secs",
                "must be at least 1".to_owned(),
            ));
        }
        for origin in &g.allowed_origins {
            let parsed = url::Url::parse(origin).ok().filter(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host().is_some()
                    && u.path() == "/"
                    && u.query().is_none()
                    && !origin.trim_end_matches('/').ends_with('/')
            });
            if parsed.is_none() {
                return Err(invalid(
                    "gateway.allowed_origins",
                    format!(
                        "`{origin}` is not an origin: write scheme://host[:port], e.g. \
                         http://localhost:3000"
                    ),
                ));
            }
        }
        if !(1..=4096).contains(&g.max_body_mb) {
            return Err(invalid(
                "gateway.max_body_mb",
                "must be between 1 and 4096".to_owned(),
            ));
        }
        for (key, value) in [
            ("google.code_assist_url", &self.google.code_assist_url),
            ("google.oauth_auth_url", &self.google.oauth_auth_url),
            ("google.oauth_token_url", &self.google.oauth_token_url),
            ("google.userinfo_url", &self.google.userinfo_url),
        ] {
            match url::Url::parse(value) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                Ok(_) => return Err(invalid(key, format!("`{value}` is not an http(s) URL"))),
                Err(e) => return Err(invalid(key, format!("`{value}` is not a URL: {e}"))),
            }
        }
        if self.google.antigravity_urls.is_empty() {
            return Err(invalid(
                "google.antigravity_urls",
                "needs at least one URL".to_owned(),
            ));
        }
        let profile_urls = self
            .google
            .oauth_clients
            .iter()
            .flat_map(|p| p.urls.iter().map(|u| ("google.oauth_clients.urls", u)));
        for (key, value) in self
            .google
            .antigravity_urls
            .iter()
            .map(|u| ("google.antigravity_urls", u))
            .chain(profile_urls)
        {
            match url::Url::parse(value) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                Ok(_) => return Err(invalid(key, format!("`{value}` is not an http(s) URL"))),
                Err(e) => return Err(invalid(key, format!("`{value}` is not a URL: {e}"))),
            }
        }
        let version = &self.google.antigravity_version;
        if version.is_empty() || version.chars().any(|c| c.is_whitespace() || c == '/') {
            return Err(invalid(
                "google.antigravity_version",
                "must be a version like 2.9.1".to_owned(),
            ));
        }
        let mut names = std::collections::HashSet::new();
        for profile in &self.google.oauth_clients {
            if profile.name.is_empty() || profile.client_id.is_empty() {
                return Err(invalid(
                    "google.oauth_clients",
                    "each profile needs a name and a client_id".to_owned(),
                ));
            }
            if !names.insert(profile.name.as_str()) {
                return Err(invalid(
                    "google.oauth_clients",
                    format!("profile `{}` is defined twice", profile.name),
                ));
            }
        }
        if self
            .google
            .oauth_profile(&self.google.oauth_client)
            .is_none()
        {
            return Err(invalid(
                "google.oauth_client",
                format!(
                    "no OAuth client profile named `{}` (built-in: `{DEFAULT_OAUTH_CLIENT}`, `{ANTIGRAVITY_CLIENT}`, or add one under [[google.oauth_clients]])",
                    self.google.oauth_client
                ),
            ));
        }
        if self.pool.reserve_percent > 100 {
            return Err(invalid(
                "pool.reserve_percent",
                "must be between 0 and 100".to_owned(),
            ));
        }
        if self.pool.quota_poll_minutes == 0 {
            return Err(invalid(
                "pool.quota_poll_minutes",
                "must be at least 1".to_owned(),
            ));
        }
        if self.notifications.quota_warning_percent > 100 {
            return Err(invalid(
                "notifications.quota_warning_percent",
                "must be between 0 and 100".to_owned(),
            ));
        }
        for (pattern, target) in &self.models {
            if pattern.is_empty() || target.trim().is_empty() {
                return Err(invalid(
                    &format!("models.\"{pattern}\""),
                    "model mappings need a pattern and a target model".to_owned(),
                ));
            }
        }
        for (pattern, names) in &self.routing {
            if pattern.is_empty() || names.is_empty() || names.iter().any(|n| n.trim().is_empty()) {
                return Err(invalid(
                    &format!("routing.\"{pattern}\""),
                    "a routing rule needs a pattern and a list of names (`google` or an upstream)"
                        .to_owned(),
                ));
            }
        }
        if self.log.retention_days == 0 {
            return Err(invalid(
                "log.retention_days",
                "must be at least 1".to_owned(),
            ));
        }
        if self.log.max_mb == 0 {
            return Err(invalid("log.max_mb", "must be at least 1".to_owned()));
        }
        Ok(())
    }

    pub fn to_toml(&self) -> Result<String, ConfigError> {
        toml::to_string_pretty(self).map_err(|e| ConfigError::Invalid {
            key: "(config)".to_owned(),
            message: e.to_string(),
        })
    }

    /// Writes the file atomically (temporary file in the same folder, fsync,
    /// rename), with mode 0600 because it holds the client API key.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        let text = self.to_toml()?;
        write_atomically(path, text.as_bytes()).map_err(|source| ConfigError::Write {
            path: path.to_owned(),
            source,
        })
    }

    /// Sets one key (`section.key`, or `models.PATTERN`) from its text form, and
    /// validates the result. The value is read as TOML (`8045`, `true`,
    /// `"text"`), or as a plain string for string keys.
    pub fn with_key_set(&self, key: &str, raw_value: &str) -> Result<Config, ConfigError> {
        let mut root = toml::Value::try_from(self).map_err(|e| ConfigError::Invalid {
            key: key.to_owned(),
            message: e.to_string(),
        })?;
        let defaults =
            toml::Value::try_from(Config::default()).map_err(|e| ConfigError::Invalid {
                key: key.to_owned(),
                message: e.to_string(),
            })?;
        let (section, field) = split_key(key)?;
        let Some(section_defaults) = defaults.get(section).and_then(toml::Value::as_table) else {
            return Err(unknown_key(key, &defaults));
        };
        let Some(table) = root.get_mut(section).and_then(toml::Value::as_table_mut) else {
            return Err(unknown_key(key, &defaults));
        };
        if section == "models" {
            let target = raw_value.trim();
            if target.is_empty() {
                table.remove(&field);
            } else {
                table.insert(field, toml::Value::String(target.to_owned()));
            }
        } else if section == "routing" {
            // `google,anthropic-work` or a TOML array; empty removes the rule.
            let names =
                parse_value(raw_value, &toml::Value::Array(Vec::new())).map_err(|message| {
                    ConfigError::Invalid {
                        key: key.to_owned(),
                        message,
                    }
                })?;
            if names.as_array().is_some_and(Vec::is_empty) {
                table.remove(&field);
            } else {
                table.insert(field, names);
            }
        } else {
            let Some(default_value) = section_defaults.get(&field) else {
                return Err(unknown_key(key, &defaults));
            };
            let value =
                parse_value(raw_value, default_value).map_err(|message| ConfigError::Invalid {
                    key: key.to_owned(),
                    message,
                })?;
            table.insert(field, value);
        }
        let config: Config =
            root.try_into()
                .map_err(|e: toml::de::Error| ConfigError::Invalid {
                    key: key.to_owned(),
                    message: e.message().to_owned(),
                })?;
        config.validate()?;
        Ok(config)
    }

    /// Every key with its value and default, in file order (`models` last).
    pub fn entries(&self) -> Result<Vec<ConfigEntry>, ConfigError> {
        let to_value = |c: &Config| {
            toml::Value::try_from(c).map_err(|e| ConfigError::Invalid {
                key: "(config)".to_owned(),
                message: e.to_string(),
            })
        };
        let current = to_value(self)?;
        let defaults = to_value(&Config::default())?;
        let mut entries = Vec::new();
        for section in SECTIONS {
            let current_table = current.get(section).and_then(toml::Value::as_table);
            let default_table = defaults.get(section).and_then(toml::Value::as_table);
            let mut keys: Vec<&String> = default_table
                .map(|t| t.keys().collect())
                .unwrap_or_default();
            if let Some(t) = current_table {
                let extra: Vec<&String> = t.keys().filter(|k| !keys.contains(k)).collect();
                keys.extend(extra);
            }
            for key in keys {
                let value = current_table.and_then(|t| t.get(key)).cloned();
                let default = default_table.and_then(|t| t.get(key)).cloned();
                let shown_key = if section == "models" || section == "routing" {
                    format!("{section}.\"{key}\"")
                } else {
                    format!("{section}.{key}")
                };
                entries.push(ConfigEntry {
                    key: shown_key,
                    value,
                    default,
                });
            }
        }
        Ok(entries)
    }
}

/// The sections of `config.toml`, in the order `config show` prints them.
pub const SECTIONS: [&str; 8] = [
    "gateway",
    "google",
    "pool",
    "models",
    "routing",
    "desktop",
    "notifications",
    "log",
];

/// One line of `config show`.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigEntry {
    pub key: String,
    pub value: Option<toml::Value>,
    pub default: Option<toml::Value>,
}

fn split_key(key: &str) -> Result<(&str, String), ConfigError> {
    let Some((section, field)) = key.split_once('.') else {
        return Err(ConfigError::UnknownKey {
            key: key.to_owned(),
            hint: " (keys look like `gateway.port` or `models.\"gpt-4*\"`)".to_owned(),
        });
    };
    let field = field.trim();
    let field = field
        .strip_prefix('"')
        .and_then(|f| f.strip_suffix('"'))
        .unwrap_or(field);
    if field.is_empty() {
        return Err(ConfigError::UnknownKey {
            key: key.to_owned(),
            hint: String::new(),
        });
    }
    Ok((section, field.to_owned()))
}

fn unknown_key(key: &str, defaults: &toml::Value) -> ConfigError {
    let mut known = Vec::new();
    if let Some(root) = defaults.as_table() {
        for (section, table) in root {
            if let Some(table) = table.as_table() {
                known.extend(table.keys().map(|k| format!("{section}.{k}")));
            }
        }
    }
    let best = known
        .iter()
        .map(|k| (edit_distance(k, key), k))
        .min_by_key(|(d, _)| *d)
        .filter(|(d, _)| *d <= 3);
    ConfigError::UnknownKey {
        key: key.to_owned(),
        hint: best
            .map(|(_, k)| format!(" (did you mean `{k}`?)"))
            .unwrap_or_default(),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

/// Reads `raw` as the same kind of value as `like`. A list of strings may be
/// given as a TOML array or comma-separated (`a,b`).
fn parse_value(raw: &str, like: &toml::Value) -> Result<toml::Value, String> {
    if let toml::Value::Array(items) = like
        && items.iter().all(toml::Value::is_str)
        && !raw.trim_start().starts_with('[')
    {
        let items = raw
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| toml::Value::String(item.to_owned()))
            .collect();
        return Ok(toml::Value::Array(items));
    }
    if let toml::Value::String(_) = like {
        let trimmed = raw.trim();
        let unquoted = trimmed
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .unwrap_or(trimmed);
        return Ok(toml::Value::String(unquoted.to_owned()));
    }
    #[derive(Deserialize)]
    struct Holder {
        v: toml::Value,
    }
    let holder: Holder = toml::from_str(&format!("v = {raw}")).map_err(|_| {
        format!(
            "`{raw}` is not a valid {}",
            match like {
                toml::Value::Integer(_) => "whole number",
                toml::Value::Boolean(_) => "boolean (true or false)",
                toml::Value::Array(_) => "TOML array",
                _ => "value",
            }
        )
    })?;
    Ok(holder.v)
}

fn describe_toml_error(error: &toml::de::Error) -> String {
    let message = error.message().trim().to_owned();
    match error.span() {
        Some(span) => format!("{message} (at byte {})", span.start),
        None => message,
    }
}

/// A write killed half-way leaves its `.{name}.tmp-{pid}` behind: those older
/// than a minute (no live write takes that long) are removed.
fn remove_stale_temp_files(folder: &Path, file_name: &str) {
    let prefix = format!(".{file_name}.tmp-");
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let stale = entry.file_name().to_string_lossy().starts_with(&prefix)
            && entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > std::time::Duration::from_secs(60));
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Writes `bytes` to `path` so that a crash leaves either the old file or the
/// new one, never half of each. The file is created with mode 0600.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let folder = path.parent().unwrap_or_else(|| Path::new("."));
    create_private_dir(folder)?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config".to_owned());
    let temp_path = folder.join(format!(".{file_name}.tmp-{}", std::process::id()));
    remove_stale_temp_files(folder, &file_name);
    let result = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&temp_path)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temp_path, path)?;
        #[cfg(unix)]
        if let Ok(dir) = std::fs::File::open(folder) {
            // Makes the rename itself durable; failure here only weakens that guarantee.
            let _ = dir.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp_path);
    }
    result
}

/// Creates a folder (and its parents) readable only by the user: mode 0700
/// on Unix; on Windows the folder inherits the user profile's access list
/// (%APPDATA% is the user's own).
pub fn create_private_dir(folder: &Path) -> std::io::Result<()> {
    if folder.as_os_str().is_empty() || folder.exists() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(folder)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_spec() {
        let c = Config::default();
        assert_eq!(c.gateway.port, 8045);
        assert!(!c.gateway.allow_lan_access);
        assert_eq!(c.gateway.auth_mode, AuthMode::Auto);
        assert_eq!(c.gateway.scheduling, Scheduling::Balance);
        assert_eq!(c.gateway.request_timeout_secs, 600);
        assert_eq!(c.gateway.max_body_mb, 100);
        assert_eq!(c.google.oauth_client, "gemini-cli");
        assert_eq!(c.pool.quota_poll_minutes, 10);
        assert!(c.notifications.enabled);
        assert_eq!(c.log.retention_days, 30);
        assert_eq!(c.gateway.effective_auth_mode(), AuthMode::Off);
    }

    #[test]
    fn auto_auth_requires_a_key_with_lan_access() {
        let mut g = GatewayConfig {
            allow_lan_access: true,
            ..GatewayConfig::default()
        };
        assert_eq!(g.effective_auth_mode(), AuthMode::AllExceptHealth);
        g.auth_mode = AuthMode::Strict;
        assert_eq!(g.effective_auth_mode(), AuthMode::Strict);
    }

    #[test]
    fn generated_keys_are_sk_and_32_hex() {
        let a = generate_api_key();
        let b = generate_api_key();
        assert_eq!(a.len(), 35);
        assert!(a.starts_with("sk-"));
        assert!(a[3..].chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn first_load_creates_the_file_with_a_key_and_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("config.toml");
        let first = Config::load_or_init(&path).unwrap();
        assert!(first.gateway.api_key.starts_with("sk-"));
        let second = Config::load_or_init(&path).unwrap();
        assert_eq!(first, second);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn unknown_keys_in_the_file_are_named() {
        let err = Config::from_toml("[gateway]\nprot = 1\n", Path::new("c.toml")).unwrap_err();
        assert!(err.to_string().contains("prot"), "{err}");
        let err = Config::from_toml("[gateway]\nport = \"x\"\n", Path::new("c.toml")).unwrap_err();
        assert!(err.to_string().contains("c.toml"), "{err}");
    }

    #[test]
    fn lan_access_without_auth_is_refused() {
        let err = Config::from_toml(
            "[gateway]\nallow_lan_access = true\nauth_mode = \"off\"\n",
            Path::new("c.toml"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("gateway.auth_mode"), "{err}");
        assert!(err.to_string().contains("LAN"), "{err}");
    }

    #[test]
    fn set_parses_values_by_the_key_type() {
        let c = Config::default();
        let c = c.with_key_set("gateway.port", "9000").unwrap();
        assert_eq!(c.gateway.port, 9000);
        let c = c.with_key_set("gateway.allow_lan_access", "true").unwrap();
        assert!(c.gateway.allow_lan_access);
        let c = c.with_key_set("gateway.scheduling", "round_robin").unwrap();
        assert_eq!(c.gateway.scheduling, Scheduling::RoundRobin);
        let c = c
            .with_key_set("models.\"gpt-4.1*\"", "gemini-2.5-pro")
            .unwrap();
        assert_eq!(c.models["gpt-4.1*"], "gemini-2.5-pro");
        let c = c.with_key_set("models.gpt-4.1*", "").unwrap();
        assert!(c.models.is_empty());
    }

    #[test]
    fn set_names_the_bad_key() {
        let c = Config::default();
        let err = c.with_key_set("gateway.prot", "1").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("gateway.prot") && text.contains("gateway.port"),
            "{text}"
        );
        let err = c.with_key_set("gateway.port", "many").unwrap_err();
        assert!(err.to_string().contains("gateway.port"), "{err}");
        let err = c.with_key_set("gateway.port", "70000").unwrap_err();
        assert!(err.to_string().contains("gateway.port"), "{err}");
        let err = c
            .with_key_set("gateway.auth_mode", "sometimes")
            .unwrap_err();
        assert!(err.to_string().contains("gateway.auth_mode"), "{err}");
        let err = c.with_key_set("nosuch.key", "1").unwrap_err();
        assert!(err.to_string().contains("nosuch.key"), "{err}");
        let err = c.with_key_set("google.oauth_client", "mine").unwrap_err();
        assert!(err.to_string().contains("google.oauth_client"), "{err}");
    }

    #[test]
    fn entries_list_every_key_with_its_default() {
        let c = Config::default()
            .with_key_set("gateway.port", "9000")
            .unwrap();
        let entries = c.entries().unwrap();
        let port = entries.iter().find(|e| e.key == "gateway.port").unwrap();
        assert_eq!(port.value, Some(toml::Value::Integer(9000)));
        assert_eq!(port.default, Some(toml::Value::Integer(8045)));
        for key in [
            "log.max_mb",
            "desktop.theme",
            "google.userinfo_url",
            "pool.reserve_percent",
        ] {
            assert!(entries.iter().any(|e| e.key == key), "{key} missing");
        }
    }

    #[test]
    fn extra_oauth_profiles_are_found_by_name() {
        let text = "[google]\noauth_client = \"corp\"\n[[google.oauth_clients]]\nname = \"corp\"\nclient_id = \"id\"\nclient_secret = \"s\"\n";
        let c = Config::from_toml(text, Path::new("c.toml")).unwrap();
        let p = c.google.oauth_profile("corp").unwrap();
        assert_eq!(p.client_id, "id");
        assert_eq!(p.scopes.len(), 3);
        assert!(c.google.oauth_profile("gemini-cli").is_some());
        assert!(!format!("{p:?}").contains("client_secret"));
    }

    #[test]
    fn the_antigravity_profile_has_its_hosts_agent_and_needs_consent() {
        let mut google = GoogleConfig::default();
        let antigravity = google.oauth_profile(ANTIGRAVITY_CLIENT).unwrap().clone();
        let cli = google.oauth_profile(DEFAULT_OAUTH_CLIENT).unwrap().clone();
        assert_eq!(antigravity.client_id, ANTIGRAVITY_CLIENT_ID);
        assert!(!antigravity.pkce);
        assert_eq!(antigravity.scopes.len(), 5);
        assert!(antigravity.is_antigravity() && !cli.is_antigravity());
        assert_eq!(
            google.hosts(&antigravity),
            [
                "https://daily-cloudcode-pa.googleapis.com",
                "https://cloudcode-pa.googleapis.com"
            ]
        );
        assert_eq!(google.hosts(&cli), ["https://cloudcode-pa.googleapis.com"]);
        google.antigravity_version = "3.0.2".to_owned();
        let agent = google.user_agent(&antigravity, "gemini-3-flash");
        assert!(agent.starts_with("antigravity/3.0.2 "), "{agent}");
        assert!(
            google
                .user_agent(&cli, "gemini-2.5-pro")
                .starts_with("GeminiCLI/0.56.0/gemini-2.5-pro ")
        );
        assert!(!google.profile_allowed(&antigravity));
        assert!(google.profile_allowed(&cli));
        google.antigravity_risk_accepted = true;
        assert!(google.profile_allowed(&antigravity));
    }

    #[test]
    fn a_custom_profile_with_the_antigravity_id_needs_consent_and_may_name_its_hosts() {
        let text = "[[google.oauth_clients]]\nname = \"mine\"\nclient_id = \"1071006060591-tmhssin2h21lcre235vtolojh4g403ep.apps.googleusercontent.com\"\nclient_secret = \"s\"\nurls = [\"http://127.0.0.1:9/x/\"]\n";
        let c = Config::from_toml(text, Path::new("c.toml")).unwrap();
        let p = c.google.oauth_profile("mine").unwrap();
        assert!(p.needs_consent());
        assert!(!c.google.profile_allowed(p));
        assert_eq!(c.google.hosts(p), ["http://127.0.0.1:9/x"]);
        let bad = "[[google.oauth_clients]]\nname = \"mine\"\nclient_id = \"x\"\nclient_secret = \"s\"\nurls = [\"ftp://x\"]\n";
        assert!(Config::from_toml(bad, Path::new("c.toml")).is_err());
    }

    #[test]
    fn antigravity_urls_are_set_from_a_list_or_an_array_and_checked() {
        let c = Config::default();
        let set = c
            .with_key_set("google.antigravity_urls", "http://a.test, http://b.test")
            .unwrap();
        assert_eq!(
            set.google.antigravity_urls,
            ["http://a.test", "http://b.test"]
        );
        let set = c
            .with_key_set("google.antigravity_urls", r#"["http://c.test"]"#)
            .unwrap();
        assert_eq!(set.google.antigravity_urls, ["http://c.test"]);
        for bad in ["", "nope", "http://a.test, file:///x"] {
            let error = c.with_key_set("google.antigravity_urls", bad).unwrap_err();
            assert!(
                error.to_string().contains("google.antigravity_urls"),
                "{bad}: {error}"
            );
        }
        assert!(
            c.with_key_set("google.antigravity_version", "2.9 beta")
                .is_err()
        );
        assert!(
            c.with_key_set("google.antigravity_risk_accepted", "true")
                .unwrap()
                .google
                .antigravity_risk_accepted
        );
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let mut config = Config::default();
        config.gateway.api_key = "sk-0123456789abcdef0123456789abcdef".to_owned();
        config.google.oauth_clients.push(OAuthClientProfile {
            client_secret: "GOCSPX-very-secret".to_owned(),
            ..OAuthClientProfile::gemini_cli()
        });
        let shown = format!("{config:?} {config:#?}");
        assert!(!shown.contains("sk-0123456789abcdef"), "{shown}");
        assert!(!shown.contains("GOCSPX"), "{shown}");
        assert!(shown.contains("(set, not shown)"), "{shown}");
    }

    #[test]
    fn a_save_removes_temp_files_a_killed_write_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let stale = dir.path().join(".config.toml.tmp-424242");
        std::fs::write(&stale, "half").unwrap();
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(600);
        std::fs::File::options()
            .write(true)
            .open(&stale)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let fresh = dir.path().join(".config.toml.tmp-434343");
        std::fs::write(&fresh, "a write in progress").unwrap();
        Config::default().save(&path).unwrap();
        assert!(!stale.exists(), "the stale temp file went");
        assert!(fresh.exists(), "a recent one may belong to a live write");
        assert!(path.exists());
    }
}
