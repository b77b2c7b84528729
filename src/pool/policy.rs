//! The upstream failure policy: what the relay does after a call failed.
//!
//! One pure function, [`classify`], turns a failure — HTTP status, Google's
//! `error.status` and `error.details`, the message, or the OAuth token
//! endpoint's error code — into a [`Verdict`]: try the same account again,
//! move on to another account, cool an account (or one of its models) down
//! until a time, mark the account, or hand the error to the client.
//!
//! It reads no clock and does no I/O (the caller passes `now` in Unix seconds),
//! so every rule is pinned by the table test at the bottom of this file.
//! Persisting a verdict, counting retries and refreshing tokens are the
//! caller's business.
//!
//! Why the rules look the way they do:
//! - Cool-downs last until the upstream's *own* reset time, never an invented
//!   cap: a quota that resets in ten days keeps the account off that model for
//!   ten days, and one that resets in 900 ms costs one second. Sources, best
//!   first: `ErrorInfo.metadata.quotaResetTimeStamp`, `quotaResetDelay`,
//!   `RetryInfo.retryDelay`, the `Retry-After` header, and last a delay written
//!   in the message ("Please retry in 34.07s", "reset after 2h3m").
//! - A limit is kept per (account, model) unless the upstream says the whole
//!   account is limited (see [`LimitScope`]). Blaming the whole account on a
//!   guess would take it out for models it could still serve.
//! - Google-side capacity (`MODEL_CAPACITY_EXHAUSTED`) and plain unavailability
//!   (503) are nobody's account's fault: the relay moves on and marks nothing.
//! - Client faults (400, 404, 413, …) go back to the client untouched: the same
//!   request would fail on every account, and must not cool down the pool.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::upstream::UpstreamError;

/// How long to wait before retrying the same account after a transient
/// server error (500, 502, 504) when the upstream gives no delay. Short because
/// these are usually one-off; the caller bounds the number of retries.
pub const TRANSIENT_RETRY_DELAY: Duration = Duration::from_secs(1);

/// A `RATE_LIMIT_EXCEEDED` whose delay is shorter than this is waited out on
/// the same account (once).
pub const SAME_ACCOUNT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(3);

/// A `RATE_LIMIT_EXCEEDED` this long or longer is treated as an exhausted
/// quota until its end (it raises the notification and shows as exhausted).
pub const LONG_RATE_LIMIT_SECS: i64 = 300;

/// Cool-down for a rate limit (`RATE_LIMIT_EXCEEDED`, or a bare 429) that names
/// no delay. Google's per-minute windows refill within a minute; half of that
/// lets the account come back soon without hammering it on every request.
pub const DEFAULT_RATE_LIMIT_COOLDOWN_SECS: i64 = 30;

/// Cool-down for a violated quota whose id says `PerMinute` and that names no
/// delay: one full window.
pub const PER_MINUTE_COOLDOWN_SECS: i64 = 60;

/// How long an exhausted quota (`QUOTA_EXHAUSTED`, a daily quota id,
/// `limit: 0`) is assumed to last when the upstream names no reset time. The
/// real reset is unknown then; the quota poll reads the actual `resetTime` and
/// may free the account earlier.
pub const QUOTA_RESET_FALLBACK_SECS: i64 = 3600;

/// Who answered: the error shapes and what a refusal means differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Source {
    /// A Google account on Code Assist (OAuth; a 401 means: refresh the token).
    #[default]
    GoogleAccount,
    /// A Gemini API or Vertex key: Google's error shape, but a refusal is the key's.
    GeminiKey,
    /// An OpenAI-compatible endpoint (`error.type` / `error.code`).
    OpenAi,
    /// An Anthropic Messages endpoint (`error.type`, 529 overloaded).
    Anthropic,
}

impl Source {
    /// Errors in Google's shape (`error.status`, `error.details`).
    pub fn is_google_shaped(self) -> bool {
        matches!(self, Self::GoogleAccount | Self::GeminiKey)
    }
}

/// One failed upstream call, as [`classify`] needs to see it. Borrowed from
/// the caller's error so classifying copies nothing.
#[derive(Debug, Clone, Copy)]
pub struct Failure<'a> {
    pub source: Source,
    /// OpenAI's `error.code` (else `error.type`), Anthropic's `error.type`.
    pub error_type: Option<&'a str>,
    /// HTTP status of the answer.
    pub status: u16,
    /// The `Retry-After` header, in seconds, when the upstream sent one.
    pub retry_after_secs: Option<u64>,
    /// Google's `error.status`, e.g. `RESOURCE_EXHAUSTED`, `UNAVAILABLE`.
    pub google_status: Option<&'a str>,
    /// Google's `error.details` (objects tagged by `@type`).
    pub details: &'a [Value],
    /// Google's `error.message`, or the body text.
    pub message: &'a str,
    /// The OAuth token endpoint's `error` code (e.g. `invalid_grant`) when the
    /// failure came from refreshing the access token.
    pub oauth_error: Option<&'a str>,
}

/// What a limit applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitScope {
    /// Only this model on this account; the account may still serve others.
    /// The model is the one the upstream named (`ErrorInfo.metadata.model`, or a
    /// quota violation's `model` dimension), else the one requested.
    Model(String),
    /// Every model on this account. Chosen only when the upstream says so: a
    /// violated quota whose id is per project or per user
    /// (`…PerProject…`, `…PerUser…`) while nothing in the error names a model
    /// (no `metadata.model`, no `model` dimension, no "model" in the quota id or
    /// metric), or an account-wide reason (`INSUFFICIENT_G1_CREDITS_BALANCE`).
    Account,
}

/// What the relay should do about one failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A transient upstream fault (500, 502, 504, 408, an unexplained 499):
    /// try the same account again after `after`. The caller bounds how often,
    /// and may move on instead when `after` is longer than it is willing to wait.
    RetrySameAccount { after: Duration },
    /// Not this account's fault, but this account cannot serve right now
    /// (503 `UNAVAILABLE`, Google-side model capacity): try another account and
    /// mark nothing. `retry_after` is the upstream's hint, for telling the
    /// client when to come back if no account is left.
    Rotate {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// The access token was refused (401): refresh it once and try again. If
    /// the call still fails with 401 after a refresh, the caller decides the
    /// account needs a new sign-in.
    RefreshToken,
    /// A rate limit: keep the account (or its model) out of rotation until
    /// `until` (Unix seconds), then try it again.
    CoolDown {
        scope: LimitScope,
        until: i64,
        reason: String,
    },
    /// A quota is used up until it resets at `resets_at` (Unix seconds).
    /// `reset_reported` is false when the upstream named no time and
    /// `resets_at` is [`QUOTA_RESET_FALLBACK_SECS`] from now.
    QuotaExhausted {
        scope: LimitScope,
        resets_at: i64,
        reset_reported: bool,
        reason: String,
    },
    /// The refresh token is dead (`invalid_grant`): the user must sign in again.
    NeedsRelogin { reason: String },
    /// Google wants the user to verify the account (403 `VALIDATION_REQUIRED`);
    /// `link` is the page where they can.
    NeedsVerification {
        link: Option<String>,
        message: String,
    },
    /// Google suspended the account for its Terms of Service (403 "This
    /// service has been disabled in this account for violation of Terms of
    /// Service"); `link` is the appeal form when the error names one. Never
    /// retried: every call would get the same answer.
    Suspended {
        link: Option<String>,
        message: String,
    },
    /// Google no longer serves the account through this OAuth client
    /// (`UNSUPPORTED_CLIENT`): the user must move it to another client or path.
    ClientRetired { message: String },
    /// An API-key upstream refused its key (401/403, `API_KEY_INVALID`,
    /// `invalid_api_key`): the upstream is not tried again until the user acts.
    KeyRejected { reason: String },
    /// The account is refused: an OAuth client the token endpoint does not
    /// accept. (A 403 without a known reason is [`Verdict::ReturnToClient`]:
    /// a second account tells whether the request is at fault.)
    Forbidden { reason: String },
    /// The request itself is at fault (400 `INVALID_ARGUMENT`, 404 model not
    /// found, 413, other 4xx, 501): it would fail on every account, so the
    /// client gets the error and no account is marked.
    ReturnToClient { status: u16 },
}

/// Decides what to do about `failure`, a call for `model` that failed at
/// `now` (Unix seconds). See the module docs and the table test for the rules.
pub fn classify(failure: &Failure<'_>, model: &str, now: i64) -> Verdict {
    if let Some(code) = failure.oauth_error {
        return classify_oauth(code, failure.status);
    }
    let details = Details::parse(failure.details);
    if failure.source != Source::GoogleAccount
        && let Some(verdict) = classify_keyed(failure, &details, model, now)
    {
        return verdict;
    }
    match failure.status {
        401 => Verdict::RefreshToken,
        403 => classify_forbidden(failure, &details),
        429 | 499 | 503 => classify_limited(failure, &details, model, now),
        _ if failure.google_status == Some("RESOURCE_EXHAUSTED") => {
            classify_limited(failure, &details, model, now)
        }
        408 => retry_same_account(failure, &details),
        400..=499 | 501 => Verdict::ReturnToClient {
            status: failure.status,
        },
        500..=599 => retry_same_account(failure, &details),
        status => Verdict::Rotate {
            reason: format!("unexpected HTTP {status} from the upstream"),
            retry_after: None,
        },
    }
}

/// The rules of API-key upstreams, before Google's: a refused key marks the
/// upstream; OpenAI's `insufficient_quota` and Anthropic's low credit balance
/// are the whole key's quota; their 429s cool the model down until the reset
/// they name (`Retry-After`, `x-ratelimit-reset-*`,
/// `anthropic-ratelimit-*-reset`, read by the adapter); Anthropic's 529 is
/// its capacity, nobody's fault. Anything else falls through to the shared
/// rules (Gemini keys' `RESOURCE_EXHAUSTED` with `RetryInfo` among them).
fn classify_keyed(
    failure: &Failure<'_>,
    details: &Details<'_>,
    model: &str,
    now: i64,
) -> Option<Verdict> {
    let error_type = failure.error_type.unwrap_or("");
    let key_refused = matches!(failure.status, 401 | 403)
        || details.reason() == "API_KEY_INVALID"
        || matches!(
            error_type,
            "invalid_api_key" | "authentication_error" | "permission_error"
        );
    if key_refused {
        let reason = if failure.message.is_empty() {
            format!("HTTP {}", failure.status)
        } else {
            failure.message.to_owned()
        };
        return Some(Verdict::KeyRejected { reason });
    }
    let hinted = failure.retry_after_secs.map(|s| s.max(1) as i64);
    let whole_quota = |why: &str| Verdict::QuotaExhausted {
        scope: LimitScope::Account,
        resets_at: now.saturating_add(hinted.unwrap_or(QUOTA_RESET_FALLBACK_SECS)),
        reset_reported: hinted.is_some(),
        reason: why.to_owned(),
    };
    let cool_down = |why: String| Verdict::CoolDown {
        scope: LimitScope::Model(model.to_owned()),
        until: now.saturating_add(hinted.unwrap_or(DEFAULT_RATE_LIMIT_COOLDOWN_SECS)),
        reason: why,
    };
    let lower = failure.message.to_ascii_lowercase();
    match failure.source {
        Source::OpenAi if error_type == "insufficient_quota" => {
            Some(whole_quota("no quota left on the key (insufficient_quota)"))
        }
        Source::OpenAi if failure.status == 429 => Some(cool_down(format!(
            "rate-limited ({})",
            if error_type.is_empty() {
                "HTTP 429"
            } else {
                error_type
            }
        ))),
        Source::Anthropic if failure.status == 529 || error_type == "overloaded_error" => {
            Some(Verdict::Rotate {
                reason: "the upstream is overloaded (overloaded_error)".to_owned(),
                retry_after: failure.retry_after_secs.map(Duration::from_secs),
            })
        }
        Source::Anthropic if failure.status == 429 || error_type == "rate_limit_error" => {
            Some(cool_down("rate-limited (rate_limit_error)".to_owned()))
        }
        Source::Anthropic if lower.contains("credit balance") => {
            Some(whole_quota("no credit left on the key"))
        }
        _ => None,
    }
}

/// What a failed upstream call means: its HTTP answer by [`classify`];
/// failures without one (the network, a broken answer) are not the account's
/// doing.
pub fn judge(error: &UpstreamError, source: Source, model: &str, now: i64) -> Verdict {
    match error {
        UpstreamError::Status {
            status,
            message,
            retry_after,
            code,
            details,
        } => classify(
            &Failure {
                source,
                // Google's code word is its `error.status`; the others' their error type.
                error_type: code.as_deref().filter(|_| !source.is_google_shaped()),
                google_status: code.as_deref().filter(|_| source.is_google_shaped()),
                status: *status,
                retry_after_secs: retry_after.map(|d| d.as_secs()),
                details,
                message,
                oauth_error: None,
            },
            model,
            now,
        ),
        UpstreamError::OAuth {
            status,
            error,
            description,
        } => classify(
            &Failure {
                source,
                error_type: None,
                status: *status,
                retry_after_secs: None,
                google_status: None,
                details: &[],
                message: description.as_deref().unwrap_or(""),
                oauth_error: Some(error),
            },
            model,
            now,
        ),
        UpstreamError::Transport { timeout: false, .. } => Verdict::RetrySameAccount {
            after: Duration::from_secs(1),
        },
        UpstreamError::ClientRetired { message } => Verdict::ClientRetired {
            message: message.clone(),
        },
        UpstreamError::Setup { message, .. } => Verdict::Rotate {
            reason: message.clone(),
            retry_after: None,
        },
        UpstreamError::Transport { timeout: true, .. } | UpstreamError::Decode(_) => {
            Verdict::ReturnToClient { status: 502 }
        }
    }
}

pub use crate::upstream::parse_duration;

fn classify_oauth(code: &str, status: u16) -> Verdict {
    match code {
        "invalid_grant" => Verdict::NeedsRelogin {
            reason: code.to_owned(),
        },
        // The token endpoint does not accept the OAuth client this account was
        // added with; signing in again with the same client would not help.
        "invalid_client" | "unauthorized_client" => Verdict::Forbidden {
            reason: format!("the OAuth client was refused ({code})"),
        },
        _ if status >= 500 => Verdict::RetrySameAccount {
            after: TRANSIENT_RETRY_DELAY,
        },
        // Anything else says nothing about the account for sure: move on.
        _ => Verdict::Rotate {
            reason: format!("token refresh failed ({code})"),
            retry_after: None,
        },
    }
}

/// The phrase of Google's suspension 403 (an account whose Antigravity
/// credentials a third-party program used).
const SUSPENDED_PHRASE: &str = "disabled in this account for violation of terms of service";

fn classify_forbidden(failure: &Failure<'_>, details: &Details<'_>) -> Verdict {
    if failure
        .message
        .to_ascii_lowercase()
        .contains(SUSPENDED_PHRASE)
    {
        return Verdict::Suspended {
            link: details.help_links.first().map(|link| link.url.to_owned()),
            message: failure.message.to_owned(),
        };
    }
    if details.reason() == "UNSUPPORTED_CLIENT"
        || failure
            .message
            .to_ascii_lowercase()
            .contains("client is no longer supported")
    {
        return Verdict::ClientRetired {
            message: failure.message.to_owned(),
        };
    }
    if details.reason() == "VALIDATION_REQUIRED" {
        return Verdict::NeedsVerification {
            link: details.verification_link(),
            message: failure.message.to_owned(),
        };
    }
    // Any other 403 says nothing sure about the account (one odd request
    // must not take every account it touches offline): it is checked on a
    // second account like a 400, and marks nobody.
    Verdict::ReturnToClient {
        status: failure.status,
    }
}

/// 429, and 499/503 or any `RESOURCE_EXHAUSTED`: quota, rate limit, capacity,
/// or (for 499/503 without quota meaning) plain unavailability.
fn classify_limited(
    failure: &Failure<'_>,
    details: &Details<'_>,
    model: &str,
    now: i64,
) -> Verdict {
    let message = failure.message.to_ascii_lowercase();
    let reason = details.reason();
    let quota_exhausted = |scope: LimitScope, why: String| {
        let (resets_at, reset_reported) = match reported_until(failure, details, &message, now) {
            Some(until) => (until, true),
            None => (now.saturating_add(QUOTA_RESET_FALLBACK_SECS), false),
        };
        Verdict::QuotaExhausted {
            scope,
            resets_at,
            reset_reported,
            reason: why,
        }
    };

    // The account has no quota at all for this model (e.g. a free tier that
    // does not include it).
    if has_zero_limit(&message) {
        return quota_exhausted(details.scope(model), "quota limit is 0".to_owned());
    }
    // Google is out of capacity for the model; no account is to blame.
    if matches!(
        reason,
        "MODEL_CAPACITY_EXHAUSTED" | "MODEL_CAPACITY_EXCEEDED"
    ) || [
        "model_capacity_exhausted",
        "capacity exceeded",
        "no capacity available",
    ]
    .iter()
    .any(|phrase| message.contains(phrase))
    {
        let code = if reason.is_empty() {
            format!("HTTP {}", failure.status)
        } else {
            reason.to_owned()
        };
        return Verdict::Rotate {
            reason: format!("model capacity exhausted upstream ({code})"),
            retry_after: hinted_delay(failure, details, &message),
        };
    }
    // Paid credits are a balance of the whole account, not of one model.
    if reason == "INSUFFICIENT_G1_CREDITS_BALANCE" {
        return quota_exhausted(LimitScope::Account, format!("no credits left ({reason})"));
    }
    if let Some(quota_id) = details.daily_quota_id() {
        return quota_exhausted(
            details.scope(model),
            format!("daily quota exhausted ({quota_id})"),
        );
    }
    // Without details, Code Assist's "You have exhausted your capacity on this
    // model. Your quota will reset after …" is the account's quota, unlike the
    // capacity phrases above.
    if reason == "QUOTA_EXHAUSTED"
        || (details.error_info.is_none() && message.contains("exhausted your capacity"))
    {
        let code = if reason.is_empty() {
            format!("HTTP {}", failure.status)
        } else {
            reason.to_owned()
        };
        return quota_exhausted(details.scope(model), format!("quota exhausted ({code})"));
    }

    let speaks_of_quota = reason == "RATE_LIMIT_EXCEEDED"
        || !details.violations.is_empty()
        || details.metadata("quotaResetDelay").is_some()
        || details.metadata("quotaResetTimeStamp").is_some();
    if failure.status != 429 && !speaks_of_quota {
        if failure.status == 503 || failure.google_status == Some("UNAVAILABLE") {
            return Verdict::Rotate {
                reason: format!(
                    "upstream unavailable ({})",
                    failure.google_status.unwrap_or("HTTP 503")
                ),
                retry_after: hinted_delay(failure, details, &message),
            };
        }
        if failure.google_status != Some("RESOURCE_EXHAUSTED") {
            return retry_same_account(failure, details);
        }
    }

    // Google's rate limit with its delay (google-2026.md §5): under 3 s wait
    // and retry the same account once; 5 min or more is as good as exhausted.
    if reason == "RATE_LIMIT_EXCEEDED" && failure.google_status == Some("RESOURCE_EXHAUSTED") {
        let precise = details
            .metadata("quotaResetDelay")
            .and_then(parse_duration)
            .or(details.retry_delay)
            .or_else(|| failure.retry_after_secs.map(Duration::from_secs));
        if let Some(delay) = precise
            && delay < SAME_ACCOUNT_RATE_LIMIT_WAIT
        {
            return Verdict::RetrySameAccount { after: delay };
        }
        if let Some(until) = reported_until(failure, details, &message, now)
            && until.saturating_sub(now) >= LONG_RATE_LIMIT_SECS
        {
            return Verdict::QuotaExhausted {
                scope: details.scope(model),
                resets_at: until,
                reset_reported: true,
                reason: format!(
                    "rate limited for {} min (RATE_LIMIT_EXCEEDED)",
                    (until.saturating_sub(now) + 59) / 60
                ),
            };
        }
    }

    // A rate limit: wait out the upstream's delay on this account (or model)
    // and serve the request elsewhere meanwhile.
    let per_minute_id = details.per_minute_quota_id();
    let until = reported_until(failure, details, &message, now).unwrap_or_else(|| {
        let secs = if per_minute_id.is_some() {
            PER_MINUTE_COOLDOWN_SECS
        } else {
            DEFAULT_RATE_LIMIT_COOLDOWN_SECS
        };
        now.saturating_add(secs)
    });
    let code = match (reason, per_minute_id) {
        ("", Some(quota_id)) => quota_id.to_owned(),
        ("", None) => format!("HTTP {}", failure.status),
        (reason, _) => reason.to_owned(),
    };
    Verdict::CoolDown {
        scope: details.scope(model),
        until,
        reason: format!("rate limited ({code})"),
    }
}

fn retry_same_account(failure: &Failure<'_>, details: &Details<'_>) -> Verdict {
    let message = failure.message.to_ascii_lowercase();
    Verdict::RetrySameAccount {
        after: hinted_delay(failure, details, &message).unwrap_or(TRANSIENT_RETRY_DELAY),
    }
}

/// The upstream's delay before trying again: `RetryInfo`, then `Retry-After`,
/// then "Please retry in …" in the message.
fn hinted_delay(failure: &Failure<'_>, details: &Details<'_>, message: &str) -> Option<Duration> {
    details
        .retry_delay
        .or_else(|| failure.retry_after_secs.map(Duration::from_secs))
        .or_else(|| delay_after(message, "retry in "))
}

/// When the limit ends by the upstream's own word, in Unix seconds: the reset
/// timestamp, then the reset delay, `RetryInfo`, `Retry-After`, and a delay in
/// the message. A timestamp already past (clock skew, a stale answer) is
/// skipped in favour of the relative delays. At least one second from now.
fn reported_until(
    failure: &Failure<'_>,
    details: &Details<'_>,
    message: &str,
    now: i64,
) -> Option<i64> {
    let timestamp = details
        .metadata("quotaResetTimeStamp")
        .and_then(|text| chrono::DateTime::parse_from_rfc3339(text.trim()).ok())
        .map(|at| at.timestamp() + i64::from(at.timestamp_subsec_nanos() > 0))
        .filter(|&at| at > now);
    if timestamp.is_some() {
        return timestamp;
    }
    let delay = details
        .metadata("quotaResetDelay")
        .and_then(parse_duration)
        .or(details.retry_delay)
        .or_else(|| failure.retry_after_secs.map(Duration::from_secs))
        .or_else(|| delay_after(message, "reset after "))
        .or_else(|| delay_after(message, "retry in "))?;
    let secs = delay
        .as_secs()
        .saturating_add(u64::from(delay.subsec_nanos() > 0))
        .max(1);
    Some(now.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX)))
}

/// A duration written right after `marker` in a lower-cased message, e.g.
/// "please retry in 34.07s." or "your quota will reset after 2h3m.".
fn delay_after(message: &str, marker: &str) -> Option<Duration> {
    let start = message.find(marker)? + marker.len();
    let token: String = message[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == 'µ')
        .collect();
    parse_duration(token.trim_end_matches('.'))
}

/// Whether the message says the quota limit is zero ("…, limit: 0, model: …"),
/// without matching "limit: 05" or "limit: 0.5".
fn has_zero_limit(message: &str) -> bool {
    const MARKER: &str = "limit: 0";
    message.match_indices(MARKER).any(|(at, _)| {
        !message[at + MARKER.len()..].starts_with(|c: char| c.is_ascii_digit() || c == '.')
    })
}

fn contains_ignore_case(text: &str, needle: &str) -> bool {
    text.to_ascii_lowercase()
        .contains(&needle.to_ascii_lowercase())
}

/// The `google.rpc` details this policy reads, picked out by `@type` suffix.
#[derive(Debug, Default)]
struct Details<'a> {
    /// The first `ErrorInfo`.
    error_info: Option<ErrorInfo<'a>>,
    /// The first `RetryInfo.retryDelay`.
    retry_delay: Option<Duration>,
    /// Every `QuotaFailure` violation.
    violations: Vec<Violation<'a>>,
    /// Every `Help` link, in order.
    help_links: Vec<HelpLink<'a>>,
}

#[derive(Debug)]
struct ErrorInfo<'a> {
    reason: &'a str,
    metadata: Option<&'a Map<String, Value>>,
}

#[derive(Debug)]
struct Violation<'a> {
    quota_id: &'a str,
    quota_metric: &'a str,
    /// The `model` quota dimension, when the violation names one.
    model: Option<&'a str>,
}

#[derive(Debug)]
struct HelpLink<'a> {
    description: &'a str,
    url: &'a str,
}

impl<'a> Details<'a> {
    fn parse(details: &'a [Value]) -> Self {
        let mut parsed = Self::default();
        for detail in details {
            let Some(kind) = detail.get("@type").and_then(Value::as_str) else {
                continue;
            };
            let kind = kind.trim();
            let text = |key: &str| detail.get(key).and_then(Value::as_str).unwrap_or("");
            if kind.ends_with("google.rpc.ErrorInfo") {
                if parsed.error_info.is_none() {
                    parsed.error_info = Some(ErrorInfo {
                        reason: text("reason").trim(),
                        metadata: detail.get("metadata").and_then(Value::as_object),
                    });
                }
            } else if kind.ends_with("google.rpc.RetryInfo") {
                if parsed.retry_delay.is_none() {
                    parsed.retry_delay = detail.get("retryDelay").and_then(proto_duration);
                }
            } else if kind.ends_with("google.rpc.QuotaFailure") {
                let violations = detail.get("violations").and_then(Value::as_array);
                for violation in violations.into_iter().flatten() {
                    let field = |key: &str| violation.get(key).and_then(Value::as_str);
                    parsed.violations.push(Violation {
                        quota_id: field("quotaId").unwrap_or(""),
                        quota_metric: field("quotaMetric").unwrap_or(""),
                        model: violation
                            .get("quotaDimensions")
                            .and_then(|d| d.get("model"))
                            .and_then(Value::as_str)
                            .filter(|m| !m.trim().is_empty()),
                    });
                }
            } else if kind.ends_with("google.rpc.Help") {
                let links = detail.get("links").and_then(Value::as_array);
                for link in links.into_iter().flatten() {
                    let field = |key: &str| link.get(key).and_then(Value::as_str).unwrap_or("");
                    let url = field("url").trim();
                    if !url.is_empty() {
                        parsed.help_links.push(HelpLink {
                            description: field("description"),
                            url,
                        });
                    }
                }
            }
        }
        parsed
    }

    /// `ErrorInfo.reason`, or `""`.
    fn reason(&self) -> &'a str {
        self.error_info.as_ref().map_or("", |info| info.reason)
    }

    /// A string value of `ErrorInfo.metadata`, if present and not blank.
    fn metadata(&self, key: &str) -> Option<&'a str> {
        self.error_info
            .as_ref()?
            .metadata?
            .get(key)?
            .as_str()
            .filter(|value| !value.trim().is_empty())
    }

    /// The quota ids this error reports: each violation's, plus
    /// `ErrorInfo.metadata.quota_limit`.
    fn quota_ids(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.violations
            .iter()
            .map(|v| v.quota_id)
            .chain(self.metadata("quota_limit"))
            .filter(|id| !id.is_empty())
    }

    fn daily_quota_id(&self) -> Option<&'a str> {
        self.quota_ids()
            .find(|id| id.contains("PerDay") || id.contains("Daily"))
    }

    fn per_minute_quota_id(&self) -> Option<&'a str> {
        self.quota_ids().find(|id| id.contains("PerMinute"))
    }

    /// The model the upstream named: `ErrorInfo.metadata.model`, else a
    /// violation's `model` dimension.
    fn named_model(&self) -> Option<&'a str> {
        self.metadata("model")
            .or_else(|| self.violations.iter().find_map(|v| v.model))
            .map(str::trim)
    }

    /// What the limit covers; see [`LimitScope`] for the reading.
    fn scope(&self, requested_model: &str) -> LimitScope {
        if let Some(model) = self.named_model() {
            return LimitScope::Model(model.to_owned());
        }
        let names_a_model = self.violations.iter().any(|v| {
            contains_ignore_case(v.quota_id, "model")
                || contains_ignore_case(v.quota_metric, "model")
        }) || self
            .metadata("quota_limit")
            .is_some_and(|id| contains_ignore_case(id, "model"));
        let account_wide = self.quota_ids().any(|id| {
            contains_ignore_case(id, "PerProject") || contains_ignore_case(id, "PerUser")
        });
        if account_wide && !names_a_model {
            LimitScope::Account
        } else {
            LimitScope::Model(requested_model.to_owned())
        }
    }

    /// Where the user verifies the account: the first `Help` link that is not
    /// a "Learn more" page (nor on support.google.com), else
    /// `ErrorInfo.metadata.validation_link`, else the first `Help` link.
    fn verification_link(&self) -> Option<String> {
        let learn_more = |link: &HelpLink<'_>| {
            contains_ignore_case(link.description, "learn more")
                || url::Url::parse(link.url)
                    .ok()
                    .is_some_and(|url| url.host_str() == Some("support.google.com"))
        };
        self.help_links
            .iter()
            .find(|link| !learn_more(link))
            .map(|link| link.url)
            .or_else(|| self.metadata("validation_link").map(str::trim))
            .or_else(|| self.help_links.first().map(|link| link.url))
            .map(str::to_owned)
    }
}

/// A protobuf `Duration` in JSON: a string (`"34.07s"`, and Go forms too), or
/// the object form `{"seconds": …, "nanos": …}`.
fn proto_duration(value: &Value) -> Option<Duration> {
    if let Some(text) = value.as_str() {
        return parse_duration(text);
    }
    let number = |key: &str| -> Option<u64> {
        match value.get(key)? {
            Value::String(text) => text.trim().parse().ok(),
            other => other.as_u64(),
        }
    };
    let seconds = number("seconds");
    let nanos = number("nanos");
    if seconds.is_none() && nanos.is_none() {
        return None;
    }
    let nanos = u32::try_from(nanos.unwrap_or(0)).ok()?;
    Some(Duration::from_secs(seconds.unwrap_or(0)) + Duration::from_nanos(u64::from(nanos)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// 2025-10-20T19:14:08Z.
    const NOW: i64 = 1_760_987_648;
    const MODEL: &str = "gemini-2.5-pro";
    const CLOUD_CODE: &str = "cloudcode-pa.googleapis.com";

    fn error_info(reason: &str, metadata: Value) -> Value {
        json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": reason,
            "domain": CLOUD_CODE,
            "metadata": metadata,
        })
    }

    fn retry_info(delay: &str) -> Value {
        json!({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay})
    }

    fn model(name: &str) -> LimitScope {
        LimitScope::Model(name.to_owned())
    }

    /// One row of the table: an upstream failure and the verdict it must get.
    struct Case {
        name: &'static str,
        status: u16,
        retry_after_secs: Option<u64>,
        google_status: Option<&'static str>,
        details: Value,
        message: &'static str,
        oauth_error: Option<&'static str>,
        source: Source,
        error_type: Option<&'static str>,
        expected: Verdict,
    }

    fn case(
        name: &'static str,
        status: u16,
        google_status: &'static str,
        message: &'static str,
        details: Value,
        expected: Verdict,
    ) -> Case {
        Case {
            name,
            status,
            retry_after_secs: None,
            google_status: (!google_status.is_empty()).then_some(google_status),
            details,
            message,
            oauth_error: None,
            source: Source::GoogleAccount,
            error_type: None,
            expected,
        }
    }

    impl Case {
        fn retry_after(mut self, secs: u64) -> Self {
            self.retry_after_secs = Some(secs);
            self
        }

        fn oauth(mut self, code: &'static str) -> Self {
            self.oauth_error = Some(code);
            self
        }

        fn from(mut self, source: Source, error_type: &'static str) -> Self {
            self.source = source;
            self.error_type = (!error_type.is_empty()).then_some(error_type);
            self
        }
    }

    fn table() -> Vec<Case> {
        vec![
            case(
                "QUOTA_EXHAUSTED with a reset timestamp 3 h ahead",
                429,
                "RESOURCE_EXHAUSTED",
                "You have exhausted your capacity on this model. Your quota will reset after 2h59m59s.",
                json!([
                    error_info(
                        "QUOTA_EXHAUSTED",
                        json!({
                            "uiMessage": "true",
                            "model": "gemini-2.5-pro",
                            "quotaResetDelay": "2h59m59.5s",
                            "quotaResetTimeStamp": "2025-10-20T22:14:08Z",
                        })
                    ),
                    retry_info("10799.5s"),
                ]),
                Verdict::QuotaExhausted {
                    scope: model("gemini-2.5-pro"),
                    resets_at: NOW + 3 * 3600,
                    reset_reported: true,
                    reason: "quota exhausted (QUOTA_EXHAUSTED)".into(),
                },
            ),
            case(
                "QUOTA_EXHAUSTED 10 days ahead is not capped",
                429,
                "RESOURCE_EXHAUSTED",
                "You have exhausted your capacity on this model.",
                json!([error_info(
                    "QUOTA_EXHAUSTED",
                    json!({
                        "model": "gemini-2.5-pro",
                        "quotaResetTimeStamp": "2025-10-30T19:14:08Z",
                    })
                )]),
                Verdict::QuotaExhausted {
                    scope: model("gemini-2.5-pro"),
                    resets_at: NOW + 10 * 86_400,
                    reset_reported: true,
                    reason: "quota exhausted (QUOTA_EXHAUSTED)".into(),
                },
            ),
            case(
                "quotaResetDelay in fractional milliseconds rounds up to a second",
                429,
                "RESOURCE_EXHAUSTED",
                "You have exhausted your capacity on this model. Your quota will reset after 0s.",
                json!([error_info(
                    "QUOTA_EXHAUSTED",
                    json!({
                        "uiMessage": "true",
                        "model": "gemini-2.5-flash",
                        "quotaResetDelay": "539.477544ms",
                    })
                )]),
                Verdict::QuotaExhausted {
                    scope: model("gemini-2.5-flash"),
                    resets_at: NOW + 1,
                    reset_reported: true,
                    reason: "quota exhausted (QUOTA_EXHAUSTED)".into(),
                },
            ),
            case(
                "a reset timestamp in the past falls back to the reset delay",
                429,
                "RESOURCE_EXHAUSTED",
                "Quota exhausted.",
                json!([error_info(
                    "QUOTA_EXHAUSTED",
                    json!({
                        "quotaResetDelay": "3h2m1.5s",
                        "quotaResetTimeStamp": "2025-10-20T19:00:00Z",
                    })
                )]),
                Verdict::QuotaExhausted {
                    scope: model(MODEL),
                    resets_at: NOW + 3 * 3600 + 2 * 60 + 2,
                    reset_reported: true,
                    reason: "quota exhausted (QUOTA_EXHAUSTED)".into(),
                },
            ),
            case(
                "QUOTA_EXHAUSTED without any reset time uses the fallback",
                429,
                "RESOURCE_EXHAUSTED",
                "Quota exhausted.",
                json!([error_info("QUOTA_EXHAUSTED", json!({"uiMessage": "true"}))]),
                Verdict::QuotaExhausted {
                    scope: model(MODEL),
                    resets_at: NOW + QUOTA_RESET_FALLBACK_SECS,
                    reset_reported: false,
                    reason: "quota exhausted (QUOTA_EXHAUSTED)".into(),
                },
            ),
            case(
                "RATE_LIMIT_EXCEEDED with RetryInfo 2s waits and retries the same account",
                429,
                "RESOURCE_EXHAUSTED",
                "Resource has been exhausted (e.g. check quota).",
                json!([
                    error_info(
                        "RATE_LIMIT_EXCEEDED",
                        json!({
                            "uiMessage": "true",
                            "model": "gemini-2.5-flash",
                        })
                    ),
                    retry_info("2s"),
                ]),
                Verdict::RetrySameAccount {
                    after: Duration::from_secs(2),
                },
            ),
            case(
                "RATE_LIMIT_EXCEEDED with RetryInfo 900ms waits 900ms on the same account",
                429,
                "RESOURCE_EXHAUSTED",
                "Resource has been exhausted (e.g. check quota).",
                json!([
                    error_info("RATE_LIMIT_EXCEEDED", json!({})),
                    retry_info("900ms")
                ]),
                Verdict::RetrySameAccount {
                    after: Duration::from_millis(900),
                },
            ),
            case(
                "RATE_LIMIT_EXCEEDED with RetryInfo 3s cools the model down and moves",
                429,
                "RESOURCE_EXHAUSTED",
                "Resource has been exhausted (e.g. check quota).",
                json!([
                    error_info("RATE_LIMIT_EXCEEDED", json!({"model": "gemini-2.5-flash"})),
                    retry_info("3s")
                ]),
                Verdict::CoolDown {
                    scope: model("gemini-2.5-flash"),
                    until: NOW + 3,
                    reason: "rate limited (RATE_LIMIT_EXCEEDED)".into(),
                },
            ),
            case(
                "RATE_LIMIT_EXCEEDED with RetryInfo 4m59s still only cools down",
                429,
                "RESOURCE_EXHAUSTED",
                "Resource has been exhausted (e.g. check quota).",
                json!([
                    error_info("RATE_LIMIT_EXCEEDED", json!({})),
                    retry_info("299s")
                ]),
                Verdict::CoolDown {
                    scope: model(MODEL),
                    until: NOW + 299,
                    reason: "rate limited (RATE_LIMIT_EXCEEDED)".into(),
                },
            ),
            case(
                "RATE_LIMIT_EXCEEDED with RetryInfo 5m is exhausted until then",
                429,
                "RESOURCE_EXHAUSTED",
                "Resource has been exhausted (e.g. check quota).",
                json!([
                    error_info("RATE_LIMIT_EXCEEDED", json!({"model": "claude-opus-4-6-thinking"})),
                    retry_info("300s")
                ]),
                Verdict::QuotaExhausted {
                    scope: model("claude-opus-4-6-thinking"),
                    resets_at: NOW + 300,
                    reset_reported: true,
                    reason: "rate limited for 5 min (RATE_LIMIT_EXCEEDED)".into(),
                },
            ),
            case(
                "403 suspension for Terms of Service, with the appeal link",
                403,
                "PERMISSION_DENIED",
                "This service has been disabled in this account for violation of Terms of Service. Please submit an appeal to continue using this product.",
                json!([{
                    "@type": "type.googleapis.com/google.rpc.Help",
                    "links": [{"description": "Appeal", "url": "https://support.google.com/appeal-form"}],
                }]),
                Verdict::Suspended {
                    link: Some("https://support.google.com/appeal-form".into()),
                    message: "This service has been disabled in this account for violation of Terms of Service. Please submit an appeal to continue using this product.".into(),
                },
            ),
            case(
                "403 UNSUPPORTED_CLIENT: the client is retired, not the account",
                403,
                "PERMISSION_DENIED",
                "This client is no longer supported for Gemini Code Assist for individuals.",
                json!([error_info("UNSUPPORTED_CLIENT", json!({}))]),
                Verdict::ClientRetired {
                    message: "This client is no longer supported for Gemini Code Assist for individuals.".into(),
                },
            ),
            case(
                "403 suspension without details",
                403,
                "PERMISSION_DENIED",
                "This service has been disabled in this account for violation of Terms of Service.",
                json!([]),
                Verdict::Suspended {
                    link: None,
                    message: "This service has been disabled in this account for violation of Terms of Service.".into(),
                },
            ),
            case(
                "RATE_LIMIT_EXCEEDED without a delay gets the short default",
                429,
                "RESOURCE_EXHAUSTED",
                "Resource has been exhausted (e.g. check quota).",
                json!([error_info(
                    "RATE_LIMIT_EXCEEDED",
                    json!({"model": "gemini-2.5-pro"})
                )]),
                Verdict::CoolDown {
                    scope: model("gemini-2.5-pro"),
                    until: NOW + DEFAULT_RATE_LIMIT_COOLDOWN_SECS,
                    reason: "rate limited (RATE_LIMIT_EXCEEDED)".into(),
                },
            ),
            case(
                "a per-project quota naming no model cools the whole account",
                429,
                "RESOURCE_EXHAUSTED",
                "Quota exceeded for quota metric 'Generate requests' and limit 'Generate requests per minute per project per region'.",
                json!([
                    error_info("RATE_LIMIT_EXCEEDED", json!({
                        "quota_metric": "cloudcode-pa.googleapis.com/generate_requests",
                        "quota_limit": "GenerateRequestsPerMinutePerProjectPerRegion",
                    })),
                    {
                        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                        "violations": [{
                            "quotaMetric": "cloudcode-pa.googleapis.com/generate_requests",
                            "quotaId": "GenerateRequestsPerMinutePerProjectPerRegion",
                        }],
                    },
                    retry_info("20s"),
                ]),
                Verdict::CoolDown {
                    scope: LimitScope::Account,
                    until: NOW + 20,
                    reason: "rate limited (RATE_LIMIT_EXCEEDED)".into(),
                },
            ),
            case(
                "a per-minute quota id without a delay waits one window",
                429,
                "RESOURCE_EXHAUSTED",
                "Quota exceeded.",
                json!([{
                    "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                    "violations": [{
                        "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                        "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                    }],
                }]),
                Verdict::CoolDown {
                    scope: model(MODEL),
                    until: NOW + PER_MINUTE_COOLDOWN_SECS,
                    reason: "rate limited (GenerateRequestsPerMinutePerProjectPerModel-FreeTier)"
                        .into(),
                },
            ),
            case(
                "a daily quota id is exhausted until an unknown reset",
                429,
                "RESOURCE_EXHAUSTED",
                "You exceeded your current quota, please check your plan and billing details.",
                json!([
                    {
                        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                        "violations": [{
                            "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                            "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
                            "quotaDimensions": {"location": "global", "model": "gemini-2.5-flash"},
                            "quotaValue": "250",
                        }],
                    },
                    {
                        "@type": "type.googleapis.com/google.rpc.Help",
                        "links": [{
                            "description": "Learn more about Gemini API quotas",
                            "url": "https://ai.google.dev/gemini-api/docs/rate-limits",
                        }],
                    },
                ]),
                Verdict::QuotaExhausted {
                    scope: model("gemini-2.5-flash"),
                    resets_at: NOW + QUOTA_RESET_FALLBACK_SECS,
                    reset_reported: false,
                    reason:
                        "daily quota exhausted (GenerateRequestsPerDayPerProjectPerModel-FreeTier)"
                            .into(),
                },
            ),
            case(
                "limit: 0 in the message means no quota, reset from the message",
                429,
                "RESOURCE_EXHAUSTED",
                "Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 0, model: gemini-2.5-pro\nPlease retry in 43.5s.",
                json!([]),
                Verdict::QuotaExhausted {
                    scope: model(MODEL),
                    resets_at: NOW + 44,
                    reset_reported: true,
                    reason: "quota limit is 0".into(),
                },
            ),
            case(
                "MODEL_CAPACITY_EXHAUSTED rotates and marks nothing",
                429,
                "RESOURCE_EXHAUSTED",
                "Resource has been exhausted (e.g. check quota).",
                json!([
                    error_info(
                        "MODEL_CAPACITY_EXHAUSTED",
                        json!({"model": "gemini-2.5-pro"})
                    ),
                    retry_info("5s"),
                ]),
                Verdict::Rotate {
                    reason: "model capacity exhausted upstream (MODEL_CAPACITY_EXHAUSTED)".into(),
                    retry_after: Some(Duration::from_secs(5)),
                },
            ),
            case(
                "a capacity message without details rotates too",
                503,
                "UNAVAILABLE",
                "No capacity available for model gemini-2.5-pro on the server",
                json!([]),
                Verdict::Rotate {
                    reason: "model capacity exhausted upstream (HTTP 503)".into(),
                    retry_after: None,
                },
            ),
            case(
                "a Code Assist quota message without details is the account's quota",
                429,
                "RESOURCE_EXHAUSTED",
                "You have exhausted your capacity on this model. Your quota will reset after 2h3m.",
                json!([]),
                Verdict::QuotaExhausted {
                    scope: model(MODEL),
                    resets_at: NOW + 2 * 3600 + 3 * 60,
                    reset_reported: true,
                    reason: "quota exhausted (HTTP 429)".into(),
                },
            ),
            case(
                "a bare 429 with Retry-After cools the model for that long",
                429,
                "",
                "Too Many Requests",
                json!([]),
                Verdict::CoolDown {
                    scope: model(MODEL),
                    until: NOW + 7,
                    reason: "rate limited (HTTP 429)".into(),
                },
            )
            .retry_after(7),
            case(
                "a bare 429 without any delay cools the model briefly",
                429,
                "",
                "Too Many Requests",
                json!([]),
                Verdict::CoolDown {
                    scope: model(MODEL),
                    until: NOW + DEFAULT_RATE_LIMIT_COOLDOWN_SECS,
                    reason: "rate limited (HTTP 429)".into(),
                },
            ),
            case(
                "no credits is a limit of the whole account",
                429,
                "RESOURCE_EXHAUSTED",
                "Insufficient credits.",
                json!([error_info("INSUFFICIENT_G1_CREDITS_BALANCE", json!({}))]),
                Verdict::QuotaExhausted {
                    scope: LimitScope::Account,
                    resets_at: NOW + QUOTA_RESET_FALLBACK_SECS,
                    reset_reported: false,
                    reason: "no credits left (INSUFFICIENT_G1_CREDITS_BALANCE)".into(),
                },
            ),
            case(
                "403 VALIDATION_REQUIRED takes the Help link, not Learn more",
                403,
                "PERMISSION_DENIED",
                "Verify your account to continue.",
                json!([
                    error_info("VALIDATION_REQUIRED", json!({
                        "validation_link": "https://accounts.google.com/signin/continue?from=metadata",
                    })),
                    {
                        "@type": "type.googleapis.com/google.rpc.Help",
                        "links": [
                            {"description": "Learn more", "url": "https://support.google.com/accounts/answer/1"},
                            {"description": "Verify your account", "url": "https://accounts.google.com/signin/continue?sarp=1"},
                        ],
                    },
                ]),
                Verdict::NeedsVerification {
                    link: Some("https://accounts.google.com/signin/continue?sarp=1".into()),
                    message: "Verify your account to continue.".into(),
                },
            ),
            case(
                "403 VALIDATION_REQUIRED without Help uses metadata.validation_link",
                403,
                "PERMISSION_DENIED",
                "Verify your account to continue.",
                json!([error_info(
                    "VALIDATION_REQUIRED",
                    json!({
                        "validation_link": "https://accounts.google.com/signin/continue?from=metadata",
                    })
                )]),
                Verdict::NeedsVerification {
                    link: Some("https://accounts.google.com/signin/continue?from=metadata".into()),
                    message: "Verify your account to continue.".into(),
                },
            ),
            case(
                "a 403 without a known reason is checked on another account, marks nobody",
                403,
                "PERMISSION_DENIED",
                "The caller does not have permission",
                json!([]),
                Verdict::ReturnToClient { status: 403 },
            ),
            case(
                "400 INVALID_ARGUMENT goes back to the client",
                400,
                "INVALID_ARGUMENT",
                "Request contains an invalid argument.",
                json!([{
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [{"field": "request.contents[0].parts", "description": "must not be empty"}],
                }]),
                Verdict::ReturnToClient { status: 400 },
            ),
            case(
                "404 model not found goes back to the client",
                404,
                "NOT_FOUND",
                "Requested entity was not found.",
                json!([]),
                Verdict::ReturnToClient { status: 404 },
            ),
            case(
                "413 goes back to the client",
                413,
                "",
                "Request Entity Too Large",
                json!([]),
                Verdict::ReturnToClient { status: 413 },
            ),
            case(
                "401 asks for a token refresh",
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials.",
                json!([]),
                Verdict::RefreshToken,
            ),
            case(
                "invalid_grant from the token endpoint needs a new sign-in",
                400,
                "",
                "Token has been expired or revoked.",
                json!([]),
                Verdict::NeedsRelogin {
                    reason: "invalid_grant".into(),
                },
            )
            .oauth("invalid_grant"),
            case(
                "invalid_client forbids the account",
                401,
                "",
                "The OAuth client was not found.",
                json!([]),
                Verdict::Forbidden {
                    reason: "the OAuth client was refused (invalid_client)".into(),
                },
            )
            .oauth("invalid_client"),
            case(
                "500 retries the same account shortly",
                500,
                "INTERNAL",
                "Internal error encountered.",
                json!([]),
                Verdict::RetrySameAccount {
                    after: TRANSIENT_RETRY_DELAY,
                },
            ),
            case(
                "502 with Retry-After retries after that delay",
                502,
                "",
                "Bad Gateway",
                json!([]),
                Verdict::RetrySameAccount {
                    after: Duration::from_secs(3),
                },
            )
            .retry_after(3),
            case(
                "503 UNAVAILABLE rotates and marks nothing",
                503,
                "UNAVAILABLE",
                "The model is overloaded. Please try again later.",
                json!([]),
                Verdict::Rotate {
                    reason: "upstream unavailable (UNAVAILABLE)".into(),
                    retry_after: None,
                },
            ),
            case(
                "503 with QUOTA_EXHAUSTED details is still a quota",
                503,
                "UNAVAILABLE",
                "Quota exhausted.",
                json!([error_info(
                    "QUOTA_EXHAUSTED",
                    json!({"quotaResetDelay": "90s"})
                )]),
                Verdict::QuotaExhausted {
                    scope: model(MODEL),
                    resets_at: NOW + 90,
                    reset_reported: true,
                    reason: "quota exhausted (QUOTA_EXHAUSTED)".into(),
                },
            ),
            case(
                "OpenAI 429 with Retry-After 7 cools that model of that upstream for 7 s",
                429,
                "",
                "Rate limit reached for gpt-4o in organization org-x on requests per min.",
                json!([]),
                Verdict::CoolDown {
                    scope: model(MODEL),
                    until: NOW + 7,
                    reason: "rate-limited (rate_limit_exceeded)".into(),
                },
            )
            .retry_after(7)
            .from(Source::OpenAi, "rate_limit_exceeded"),
            case(
                "OpenAI insufficient_quota is the whole key's quota",
                429,
                "",
                "You exceeded your current quota, please check your plan and billing details.",
                json!([]),
                Verdict::QuotaExhausted {
                    scope: LimitScope::Account,
                    resets_at: NOW + QUOTA_RESET_FALLBACK_SECS,
                    reset_reported: false,
                    reason: "no quota left on the key (insufficient_quota)".into(),
                },
            )
            .from(Source::OpenAi, "insufficient_quota"),
            case(
                "OpenAI 401 invalid_api_key rejects the key, no token refresh",
                401,
                "",
                "Incorrect API key provided.",
                json!([]),
                Verdict::KeyRejected {
                    reason: "Incorrect API key provided.".into(),
                },
            )
            .from(Source::OpenAi, "invalid_api_key"),
            case(
                "Anthropic 429 rate_limit_error with retry-after",
                429,
                "",
                "Number of request tokens has exceeded your per-minute rate limit",
                json!([]),
                Verdict::CoolDown {
                    scope: model(MODEL),
                    until: NOW + 20,
                    reason: "rate-limited (rate_limit_error)".into(),
                },
            )
            .retry_after(20)
            .from(Source::Anthropic, "rate_limit_error"),
            case(
                "Anthropic 529 overloaded_error: next member, nobody cooled",
                529,
                "",
                "Overloaded",
                json!([]),
                Verdict::Rotate {
                    reason: "the upstream is overloaded (overloaded_error)".into(),
                    retry_after: None,
                },
            )
            .from(Source::Anthropic, "overloaded_error"),
            case(
                "Anthropic 403 permission_error rejects the key",
                403,
                "",
                "Your API key does not have permission to use the specified resource.",
                json!([]),
                Verdict::KeyRejected {
                    reason: "Your API key does not have permission to use the specified resource."
                        .into(),
                },
            )
            .from(Source::Anthropic, "permission_error"),
            case(
                "Anthropic 400 invalid_request_error is the request's fault",
                400,
                "",
                "messages: roles must alternate",
                json!([]),
                Verdict::ReturnToClient { status: 400 },
            )
            .from(Source::Anthropic, "invalid_request_error"),
            case(
                "Gemini API key 400 API_KEY_INVALID rejects the key",
                400,
                "INVALID_ARGUMENT",
                "API key not valid. Please pass a valid API key.",
                json!([error_info("API_KEY_INVALID", json!({"service": "generativelanguage.googleapis.com"}))]),
                Verdict::KeyRejected {
                    reason: "API key not valid. Please pass a valid API key.".into(),
                },
            )
            .from(Source::GeminiKey, ""),
            case(
                "Gemini API key RESOURCE_EXHAUSTED with RetryInfo cools the model",
                429,
                "RESOURCE_EXHAUSTED",
                "You exceeded your current quota, please check your plan and billing details.",
                json!([retry_info("12s")]),
                Verdict::CoolDown {
                    scope: model(MODEL),
                    until: NOW + 12,
                    reason: "rate limited (HTTP 429)".into(),
                },
            )
            .from(Source::GeminiKey, ""),
        ]
    }

    #[test]
    fn classifies_every_row_of_the_table() {
        let table = table();
        assert!(table.len() >= 15);
        let mut wrong = Vec::new();
        for row in &table {
            let details = row.details.as_array().cloned().unwrap_or_default();
            let failure = Failure {
                source: row.source,
                error_type: row.error_type,
                status: row.status,
                retry_after_secs: row.retry_after_secs,
                google_status: row.google_status,
                details: &details,
                message: row.message,
                oauth_error: row.oauth_error,
            };
            let verdict = classify(&failure, MODEL, NOW);
            if verdict != row.expected {
                wrong.push(format!(
                    "{}:\n  expected {:?}\n  got      {:?}",
                    row.name, row.expected, verdict
                ));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn parses_go_and_protobuf_durations() {
        let ms = Duration::from_millis;
        let cases: &[(&str, Option<Duration>)] = &[
            ("34.07s", Some(ms(34_070))),
            ("900ms", Some(ms(900))),
            ("1.5s", Some(ms(1_500))),
            ("2m", Some(Duration::from_secs(120))),
            ("3h2m1s", Some(Duration::from_secs(3 * 3600 + 2 * 60 + 1))),
            ("3h2m1.5s", Some(ms((3 * 3600 + 2 * 60 + 1) * 1000 + 500))),
            ("539.477544ms", Some(Duration::from_nanos(539_477_544))),
            ("10799.5s", Some(ms(10_799_500))),
            ("250us", Some(Duration::from_micros(250))),
            ("7ns", Some(Duration::from_nanos(7))),
            ("0", Some(Duration::ZERO)),
            (" 2s ", Some(Duration::from_secs(2))),
            ("", None),
            ("s", None),
            ("12", None),
            ("1.2.3s", None),
            ("5d", None),
            ("-3s", None),
            ("1h 2m", None),
            ("abc", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_duration(text), *expected, "parse_duration({text:?})");
        }
    }

    #[test]
    fn reads_retry_delay_in_object_form() {
        let details = [json!({
            "@type": "type.googleapis.com/google.rpc.RetryInfo",
            "retryDelay": {"seconds": "12", "nanos": 500_000_000},
        })];
        assert_eq!(
            Details::parse(&details).retry_delay,
            Some(Duration::from_millis(12_500))
        );
    }

    #[test]
    fn zero_limit_is_not_fooled_by_other_numbers() {
        assert!(has_zero_limit("quota exceeded, limit: 0, model: x"));
        assert!(has_zero_limit("limit: 0"));
        assert!(!has_zero_limit("limit: 05"));
        assert!(!has_zero_limit("limit: 0.5"));
        assert!(!has_zero_limit("limit: 50"));
    }
}
