//! Upstream adapters: one per kind of account (Google Code Assist first). Each
//! owns its authentication, request envelope and error parsing; none knows
//! about the client protocols or HTTP server.

pub mod google;

use std::time::Duration;

/// A failed upstream call, as the relay needs to judge it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    /// The upstream answered with an error status.
    #[error("upstream answered HTTP {status}: {message}")]
    Status {
        status: u16,
        message: String,
        /// `Retry-After`, when the upstream sent one.
        retry_after: Option<Duration>,
        /// Google's `error.status` (`RESOURCE_EXHAUSTED`) and `error.details`, when present.
        google_status: Option<String>,
        details: Vec<serde_json::Value>,
    },
    /// The OAuth token endpoint refused (`invalid_grant` means: sign in again).
    #[error("Google's token endpoint answered HTTP {status}: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    OAuth {
        status: u16,
        error: String,
        description: Option<String>,
    },
    /// No answer: connection refused, reset, timed out.
    #[error("{message}")]
    Transport { message: String, timeout: bool },
    /// An answer we could not read.
    #[error("unexpected answer from the upstream: {0}")]
    Decode(String),
    /// The account cannot be used as it is (no project, not eligible, needs verification).
    #[error("{message}")]
    Setup {
        message: String,
        /// A page where the user can fix it.
        link: Option<String>,
    },
    /// Google no longer serves this account through this OAuth client
    /// (`UNSUPPORTED_CLIENT`): the credentials are fine, the client is refused.
    #[error("{message}")]
    ClientRetired { message: String },
}

impl UpstreamError {
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } | Self::OAuth { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// A fault of the host rather than of the account or the request: the
    /// same call may succeed on the profile's next host. No answer, a 5xx, or
    /// Google's own capacity (`MODEL_CAPACITY_EXHAUSTED`).
    pub fn is_host_fault(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Status {
                status, details, ..
            } => {
                *status >= 500
                    || (*status == 429 && has_reason(details, "MODEL_CAPACITY_EXHAUSTED"))
            }
            _ => false,
        }
    }

    /// The refresh token is dead: the account needs a new sign-in.
    pub fn is_invalid_grant(&self) -> bool {
        matches!(self, Self::OAuth { error, .. } if error == "invalid_grant")
    }

    /// Google refused the client itself (`unauthorized_client`): the refresh
    /// token was issued to another OAuth client.
    pub fn is_unauthorized_client(&self) -> bool {
        matches!(self, Self::OAuth { error, .. } if error == "unauthorized_client")
    }

    pub(crate) fn from_reqwest(error: reqwest::Error, what: &str) -> Self {
        let timeout = error.is_timeout();
        // Our upstream URLs hold no secrets, but the message is kept to the
        // host anyway so a proxy's query string never reaches a log.
        let host = error
            .url()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "the upstream".to_owned());
        let kind = if timeout {
            "timed out".to_owned()
        } else if error.is_connect() {
            "could not connect".to_owned()
        } else if error.is_decode() {
            "sent a body that could not be read".to_owned()
        } else {
            let error = error.without_url();
            let mut cause = error.to_string();
            let mut source = std::error::Error::source(&error);
            while let Some(s) = source {
                cause = s.to_string();
                source = s.source();
            }
            cause
        };
        Self::Transport {
            message: format!("{what} ({host}): {kind}"),
            timeout,
        }
    }
}

/// Whether Google's `error.details` hold an `ErrorInfo` with `reason`.
pub fn has_reason(details: &[serde_json::Value], reason: &str) -> bool {
    details
        .iter()
        .any(|d| d.get("reason").and_then(serde_json::Value::as_str) == Some(reason))
}
