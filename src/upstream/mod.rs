//! Upstream adapters: one per kind of account (Google Code Assist first). Each
//! owns its authentication, request envelope and error parsing; none knows
//! about the client protocols or HTTP server.

pub mod google;
pub mod keyed;

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
        /// The error's code word: Google's `error.status` (`RESOURCE_EXHAUSTED`),
        /// OpenAI's `error.code` (else `error.type`), Anthropic's `error.type`.
        code: Option<String>,
        /// Google's `error.details`, when present.
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

/// An error answer's message when its body has none we can read: the
/// start of the body, or the status's name.
pub(crate) fn body_excerpt(status: reqwest::StatusCode, body: &str) -> String {
    let text: String = body.trim().chars().take(300).collect();
    if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("no error message")
            .to_owned()
    } else {
        text
    }
}

/// Whether Google's `error.details` hold an `ErrorInfo` with `reason`.
pub fn has_reason(details: &[serde_json::Value], reason: &str) -> bool {
    details
        .iter()
        .any(|d| d.get("reason").and_then(serde_json::Value::as_str) == Some(reason))
}

/// Parses a Go-style duration as Google writes them: `"34.07s"`, `"900ms"`,
/// `"539.477544ms"`, `"1.5s"`, `"2m"`, `"3h2m1.5s"` (units `h`, `m`, `s`,
/// `ms`, `us`/`µs`, `ns`; a bare `"0"`). `None` for anything else, including
/// negative durations.
pub fn parse_duration(text: &str) -> Option<Duration> {
    const NANOS_PER_SEC: u128 = 1_000_000_000;
    let text = text.trim();
    if text == "0" {
        return Some(Duration::ZERO);
    }
    if text.is_empty() {
        return None;
    }
    let is_number = |c: char| c.is_ascii_digit() || c == '.';
    let mut rest = text;
    let mut total_nanos: u128 = 0;
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !is_number(c)).unwrap_or(rest.len());
        let (number, after_number) = rest.split_at(number_len);
        let unit_len = after_number.find(is_number).unwrap_or(after_number.len());
        let (unit, next) = after_number.split_at(unit_len);
        let unit_nanos: u128 = match unit {
            "h" => 3600 * NANOS_PER_SEC,
            "m" => 60 * NANOS_PER_SEC,
            "s" => NANOS_PER_SEC,
            "ms" => 1_000_000,
            "us" | "µs" | "μs" => 1_000,
            "ns" => 1,
            _ => return None,
        };
        total_nanos = total_nanos.checked_add(scaled_nanos(number, unit_nanos)?)?;
        rest = next;
    }
    let secs = u64::try_from(total_nanos / NANOS_PER_SEC).ok()?;
    let nanos = u32::try_from(total_nanos % NANOS_PER_SEC).ok()?;
    Some(Duration::new(secs, nanos))
}

/// `number` (digits with at most one `.`) times `unit_nanos`, computed in
/// integers so `"539.477544ms"` loses nothing to floating point. Fraction
/// digits beyond 18 (far below a nanosecond) are dropped.
fn scaled_nanos(number: &str, unit_nanos: u128) -> Option<u128> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
        return None;
    }
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut nanos = whole.checked_mul(unit_nanos)?;
    // Only ASCII digits here, so slicing by bytes is slicing by characters.
    let fraction = &fraction[..fraction.len().min(18)];
    if !fraction.is_empty() {
        let digits: u128 = fraction.parse().ok()?;
        let scale = 10u128.checked_pow(u32::try_from(fraction.len()).ok()?)?;
        nanos = nanos.checked_add(digits * unit_nanos / scale)?;
    }
    Some(nanos)
}

/// Ends a stream with a timeout error when no item arrives for `idle`.
pub(crate) fn with_idle_timeout<S, T>(
    stream: S,
    idle: std::time::Duration,
) -> impl futures::Stream<Item = Result<T, UpstreamError>>
where
    S: futures::Stream<Item = Result<T, UpstreamError>> + Send,
{
    futures::stream::unfold(
        (Box::pin(stream), false),
        move |(mut stream, failed)| async move {
            if failed {
                return None;
            }
            match tokio::time::timeout(idle, futures::StreamExt::next(&mut stream)).await {
                Ok(Some(item)) => {
                    let failed = item.is_err();
                    Some((item, (stream, failed)))
                }
                Ok(None) => None,
                Err(_) => Some((
                    Err(UpstreamError::Transport {
                        message: format!("the upstream sent nothing for {} s", idle.as_secs()),
                        timeout: true,
                    }),
                    (stream, true),
                )),
            }
        },
    )
}
