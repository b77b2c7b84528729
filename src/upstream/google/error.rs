//! Google's error body: `{"error":{"code","message","status","details":[…]}}`,
//! sometimes wrapped in a one-element array.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::upstream::UpstreamError;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct GoogleApiError {
    #[serde(default)]
    pub code: Option<u16>,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub details: Vec<Value>,
}

#[derive(Deserialize)]
struct Envelope {
    error: GoogleApiError,
}

impl GoogleApiError {
    /// Reads an error body; `None` when it is not Google's shape.
    pub fn parse(body: &str) -> Option<Self> {
        let value: Value = serde_json::from_str(body.trim()).ok()?;
        let value = match value {
            Value::Array(mut items) if !items.is_empty() => items.swap_remove(0),
            other => other,
        };
        serde_json::from_value::<Envelope>(value)
            .ok()
            .map(|e| e.error)
    }
}

/// Builds the error for a non-success answer.
pub(crate) fn status_error(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &str,
) -> UpstreamError {
    let retry_after = headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let parsed = GoogleApiError::parse(body);
    let message = match &parsed {
        Some(e) if !e.message.is_empty() => e.message.clone(),
        _ => crate::upstream::body_excerpt(status, body),
    };
    let (google_status, details) = parsed.map(|e| (e.status, e.details)).unwrap_or_default();
    UpstreamError::Status {
        status: status.as_u16(),
        message,
        retry_after,
        code: google_status,
        details,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_wrapped_errors() {
        let body = r#"{"error":{"code":429,"message":"Quota","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"QUOTA_EXHAUSTED"}]}}"#;
        let e = GoogleApiError::parse(body).unwrap();
        assert_eq!(e.code, Some(429));
        assert_eq!(e.status.as_deref(), Some("RESOURCE_EXHAUSTED"));
        assert_eq!(e.details.len(), 1);
        let wrapped = format!("[{body}]");
        assert_eq!(GoogleApiError::parse(&wrapped).unwrap().message, "Quota");
        assert!(GoogleApiError::parse("<html>").is_none());
    }

    #[test]
    fn status_error_falls_back_to_the_body_text() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::RETRY_AFTER, "7".parse().unwrap());
        let e = status_error(reqwest::StatusCode::BAD_GATEWAY, &headers, "  proxy down ");
        match e {
            UpstreamError::Status {
                status,
                message,
                retry_after,
                ..
            } => {
                assert_eq!(status, 502);
                assert_eq!(message, "proxy down");
                assert_eq!(retry_after, Some(Duration::from_secs(7)));
            }
            other => panic!("{other:?}"),
        }
    }
}
