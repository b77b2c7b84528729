//! Switchyard: a local AI gateway that speaks the OpenAI, Anthropic and Gemini
//! protocols and forwards each request to an account from a local pool.
//!
//! Module map (dependencies point downwards only):
//! - [`accounts`]: account operations shared by the CLI and the window.
//! - [`cli`]: the commands behind `switchyard …` (`serve`, `accounts`, `config`).
//! - [`desktop`]: the tray-resident app and its window (egui), notifications, autostart.
//! - [`gateway`]: the axum app — routes, access control, per-protocol errors,
//!   and the relay that runs a request against the pool.
//! - [`upstream`]: one adapter per upstream kind (Google Code Assist first):
//!   OAuth, the request envelope, calls and streams.
//! - [`pool`]: the accounts the gateway may use, their status and the choice
//!   between them. No HTTP in here.
//! - [`protocol`]: wire types of each protocol and the translators between them.
//!   No HTTP framework in here.
//! - [`jobs`]: background work of a running gateway (account reload, …).
//! - [`store`]: the SQLite database (accounts, quotas), with versioned migrations.
//! - [`config`]: typed settings, defaults, validation and atomic saves.
//! - [`glob`]: model-name globs (`*`, `?`, case-insensitive).
//! - [`ids`]: random identifiers for responses and upstream prompts.
//! - [`secret`]: a string wrapper that never prints its content.

pub mod accounts;
pub mod cli;
pub mod config;
pub mod desktop;
pub mod gateway;
pub mod glob;
pub mod ids;
pub mod jobs;
pub mod pool;
pub mod protocol;
pub mod secret;
pub mod store;
pub mod upstream;

/// The version printed by `--version` and `/healthz`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
