//! Google accounts through the Code Assist API (`v1internal`), the upstream
//! Gemini CLI uses: OAuth refresh and sign-in, account set-up (project and
//! tier), quotas, and `generateContent` / `streamGenerateContent`.
//!
//! Every URL comes from `[google]` in the config, so tests point them at a mock.

mod code_assist;
mod error;
mod oauth;

use std::time::Duration;

pub use code_assist::{AccountSetup, AccountState, StreamChunks, Target};
pub use error::GoogleApiError;
pub(crate) use error::status_error;
pub use oauth::{AuthorizationRequest, TokenGrant, authorization_url};

use super::UpstreamError;

/// An HTTP client for Google's endpoints. Cheap to clone: connections are pooled.
#[derive(Clone)]
pub struct GoogleClient {
    http: reqwest::Client,
    /// How long to wait between polls of an `onboardUser` operation.
    pub onboard_poll_interval: Duration,
    /// How long onboarding may take in all.
    pub onboard_deadline: Duration,
}

/// The longest a call that is not a generation may take, start to end:
/// token refresh and code exchange, userinfo, set-up, models and quota. One
/// stalled endpoint must not hold an account (or the poll) forever.
pub const CONTROL_CALL_TIMEOUT: Duration = Duration::from_secs(30);

impl GoogleClient {
    /// The HTTP client (a cheap handle on the same connection pool).
    pub fn http(&self) -> reqwest::Client {
        self.http.clone()
    }

    pub fn new() -> Result<Self, UpstreamError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(90))
            // A connection to a host that vanished (a laptop waking from
            // sleep) is noticed instead of waited on forever.
            .tcp_keepalive(Duration::from_secs(30))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| UpstreamError::from_reqwest(e, "cannot start the HTTP client"))?;
        Ok(Self {
            http,
            onboard_poll_interval: Duration::from_secs(5),
            onboard_deadline: Duration::from_secs(180),
        })
    }
}
