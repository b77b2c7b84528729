//! One error type for the whole gateway, rendered in the caller's own protocol
//! (OpenAI, Anthropic or Gemini) with the right HTTP status.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::protocol::{InvalidRequest, StreamFailure};
use crate::upstream::UpstreamError;

/// Which protocol's shape an error takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    OpenAi,
    Anthropic,
    Gemini,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::Anthropic => "anthropic",
            Self::Gemini => "gemini",
        }
    }

    /// The protocol a route belongs to, for errors raised before a handler runs.
    pub fn for_path(path: &str) -> Self {
        if path.starts_with("/v1/messages") {
            Self::Anthropic
        } else if path.starts_with("/v1beta/")
            || (path.starts_with("/v1/models/") && path.contains(':'))
        {
            Self::Gemini
        } else {
            Self::OpenAi
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidRequest,
    Authentication,
    PermissionDenied,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    /// No account can serve right now.
    Unavailable,
    /// The upstream failed or answered something we could not use.
    Upstream,
    Timeout,
    Internal,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct GatewayError {
    pub status: StatusCode,
    pub kind: ErrorKind,
    pub message: String,
    /// OpenAI's `param`: the request field at fault.
    pub param: Option<String>,
    /// OpenAI's `code`: a short machine name.
    pub code: Option<&'static str>,
    /// Seconds, for `Retry-After`.
    pub retry_after: Option<u64>,
}

impl GatewayError {
    pub fn new(status: StatusCode, kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            message: message.into(),
            param: None,
            code: None,
            retry_after: None,
        }
    }

    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorKind::InvalidRequest, message)
    }

    pub fn no_accounts() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Unavailable,
            "no account is configured: add one with `switchyard accounts add --refresh-token TOKEN` \
             (or `switchyard accounts login`), then try again",
        )
        .with_code("no_account")
    }

    /// `Retry-After` for an upstream 429 that named no delay (Google's capacity,
    /// say): soon, but not at once.
    const DEFAULT_RETRY_AFTER_SECS: u64 = 5;

    /// The upstream's failure as the client should see it.
    pub fn from_upstream(error: &UpstreamError) -> Self {
        match error {
            UpstreamError::Status {
                status,
                message,
                retry_after,
                details,
                ..
            } => {
                let message = format!("upstream: {message}");
                let mut mapped = match status {
                    400 => Self::new(StatusCode::BAD_REQUEST, ErrorKind::InvalidRequest, message),
                    404 => Self::new(StatusCode::NOT_FOUND, ErrorKind::NotFound, message)
                        .with_code("model_not_found"),
                    413 => Self::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        ErrorKind::PayloadTooLarge,
                        message,
                    ),
                    429 => Self::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        ErrorKind::RateLimited,
                        message,
                    )
                    .with_code("rate_limit_exceeded"),
                    401 | 403 => Self::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        ErrorKind::Unavailable,
                        format!(
                            "{message} (the account or key was refused; see `switchyard accounts list` or `switchyard upstreams list`)"
                        ),
                    )
                    .with_code("account_refused"),
                    503 => Self::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        ErrorKind::Unavailable,
                        message,
                    )
                    .with_code("upstream_unavailable"),
                    _ => Self::new(StatusCode::BAD_GATEWAY, ErrorKind::Upstream, message)
                        .with_code("upstream_error"),
                };
                // A 429 always says when to come back: the upstream's
                // Retry-After, else its RetryInfo, else a short default.
                let retry_info = details
                    .iter()
                    .filter_map(|d| d.get("retryDelay").and_then(serde_json::Value::as_str))
                    .find_map(crate::pool::policy::parse_duration);
                mapped.retry_after = retry_after
                    .or(retry_info)
                    .map(|d| d.as_secs().max(1))
                    .or((*status == 429).then_some(Self::DEFAULT_RETRY_AFTER_SECS));
                mapped
            }
            UpstreamError::OAuth { .. }
            | UpstreamError::Setup { .. }
            | UpstreamError::ClientRetired { .. } => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorKind::Unavailable,
                format!("no account could be used: {error}"),
            )
            .with_code("account_unusable"),
            UpstreamError::Transport { timeout: true, .. } => Self::new(
                StatusCode::GATEWAY_TIMEOUT,
                ErrorKind::Timeout,
                format!("upstream: {error}"),
            )
            .with_code("upstream_timeout"),
            UpstreamError::Transport { .. } | UpstreamError::Decode(_) => Self::new(
                StatusCode::BAD_GATEWAY,
                ErrorKind::Upstream,
                format!("upstream: {error}"),
            )
            .with_code("upstream_error"),
        }
    }

    /// How a stream that already started reports this failure.
    pub fn stream_failure(error: &UpstreamError) -> StreamFailure {
        StreamFailure {
            kind: match error {
                UpstreamError::Transport { timeout: true, .. } => "timeout",
                UpstreamError::Transport { .. } => "connection_lost",
                _ => "upstream_error",
            },
            message: format!("upstream: {error}"),
        }
    }

    pub fn in_protocol(self, protocol: Protocol) -> Failed {
        Failed {
            protocol,
            error: self,
        }
    }

    /// The response body in `protocol`'s shape.
    pub fn body(&self, protocol: Protocol) -> serde_json::Value {
        match protocol {
            Protocol::OpenAi => json!({
                "error": {
                    "message": self.message,
                    "type": match self.kind {
                        ErrorKind::InvalidRequest | ErrorKind::PayloadTooLarge => "invalid_request_error",
                        ErrorKind::Authentication => "authentication_error",
                        ErrorKind::PermissionDenied => "permission_error",
                        ErrorKind::NotFound => "not_found_error",
                        ErrorKind::RateLimited => "rate_limit_error",
                        ErrorKind::Unavailable => "service_unavailable_error",
                        ErrorKind::Upstream | ErrorKind::Timeout => "upstream_error",
                        ErrorKind::Internal => "server_error",
                    },
                    "param": self.param,
                    "code": self.code,
                }
            }),
            Protocol::Anthropic => json!({
                "type": "error",
                "error": {
                    "type": match self.kind {
                        ErrorKind::InvalidRequest => "invalid_request_error",
                        ErrorKind::Authentication => "authentication_error",
                        ErrorKind::PermissionDenied => "permission_error",
                        ErrorKind::NotFound => "not_found_error",
                        ErrorKind::PayloadTooLarge => "request_too_large",
                        ErrorKind::RateLimited => "rate_limit_error",
                        ErrorKind::Unavailable => "overloaded_error",
                        ErrorKind::Upstream | ErrorKind::Timeout | ErrorKind::Internal => "api_error",
                    },
                    "message": self.message,
                }
            }),
            Protocol::Gemini => json!({
                "error": {
                    "code": self.status.as_u16(),
                    "message": self.message,
                    "status": match self.kind {
                        ErrorKind::InvalidRequest | ErrorKind::PayloadTooLarge => "INVALID_ARGUMENT",
                        ErrorKind::Authentication => "UNAUTHENTICATED",
                        ErrorKind::PermissionDenied => "PERMISSION_DENIED",
                        ErrorKind::NotFound => "NOT_FOUND",
                        ErrorKind::RateLimited => "RESOURCE_EXHAUSTED",
                        ErrorKind::Unavailable => "UNAVAILABLE",
                        ErrorKind::Timeout => "DEADLINE_EXCEEDED",
                        ErrorKind::Upstream | ErrorKind::Internal => "INTERNAL",
                    },
                }
            }),
        }
    }
}

impl From<InvalidRequest> for GatewayError {
    fn from(error: InvalidRequest) -> Self {
        let mut mapped = Self::bad_request(error.message);
        mapped.param = error.param;
        mapped
    }
}

/// A [`GatewayError`] bound to the protocol it must be rendered in.
#[derive(Debug)]
pub struct Failed {
    pub protocol: Protocol,
    pub error: GatewayError,
}

impl IntoResponse for Failed {
    fn into_response(self) -> Response {
        let body = crate::protocol::to_json(&self.error.body(self.protocol));
        let mut response = (
            self.error.status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response();
        if let Some(seconds) = self.error.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_pick_the_protocol() {
        assert_eq!(Protocol::for_path("/v1/chat/completions"), Protocol::OpenAi);
        assert_eq!(Protocol::for_path("/v1/models"), Protocol::OpenAi);
        assert_eq!(Protocol::for_path("/v1/messages"), Protocol::Anthropic);
        assert_eq!(
            Protocol::for_path("/v1/messages/count_tokens"),
            Protocol::Anthropic
        );
        assert_eq!(Protocol::for_path("/v1beta/models"), Protocol::Gemini);
        assert_eq!(
            Protocol::for_path("/v1/models/gemini-2.5-pro:generateContent"),
            Protocol::Gemini
        );
    }

    #[test]
    fn each_protocol_has_its_shape() {
        let e = GatewayError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::RateLimited,
            "slow down",
        );
        assert_eq!(
            e.body(Protocol::OpenAi)["error"]["type"],
            "rate_limit_error"
        );
        assert_eq!(e.body(Protocol::Anthropic)["type"], "error");
        assert_eq!(
            e.body(Protocol::Anthropic)["error"]["type"],
            "rate_limit_error"
        );
        assert_eq!(
            e.body(Protocol::Gemini)["error"]["status"],
            "RESOURCE_EXHAUSTED"
        );
        assert_eq!(e.body(Protocol::Gemini)["error"]["code"], 429);
    }

    #[test]
    fn upstream_statuses_map() {
        let status = |code: u16| UpstreamError::Status {
            status: code,
            message: "m".into(),
            retry_after: None,
            code: None,
            details: vec![],
        };
        assert_eq!(
            GatewayError::from_upstream(&status(400)).status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            GatewayError::from_upstream(&status(404)).status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            GatewayError::from_upstream(&status(429)).status,
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            GatewayError::from_upstream(&status(500)).status,
            StatusCode::BAD_GATEWAY
        );
        let timeout = UpstreamError::Transport {
            message: "t".into(),
            timeout: true,
        };
        assert_eq!(
            GatewayError::from_upstream(&timeout).status,
            StatusCode::GATEWAY_TIMEOUT
        );
    }
}
