//! `ClientJson<T>`: a JSON body whose failures (too large, not JSON, wrong
//! shape) come back as errors in the route's own protocol. The size limit is
//! `gateway.max_body_mb`, read per request, so a change applies at once.

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::{ErrorKind, Failed, GatewayError, Protocol};

pub struct ClientJson<T>(pub T);

/// [`ClientJson`] that also keeps the body's bytes, for a passthrough.
pub struct ClientJsonRaw<T>(pub T, pub axum::body::Bytes);

impl<T> FromRequest<AppState> for ClientJson<T>
where
    T: DeserializeOwned,
{
    type Rejection = Failed;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        read_json(request, state)
            .await
            .map(|(value, _)| ClientJson(value))
    }
}

impl<T> FromRequest<AppState> for ClientJsonRaw<T>
where
    T: DeserializeOwned,
{
    type Rejection = Failed;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        read_json(request, state)
            .await
            .map(|(value, bytes)| ClientJsonRaw(value, bytes))
    }
}

async fn read_json<T: DeserializeOwned>(
    request: Request,
    state: &AppState,
) -> Result<(T, axum::body::Bytes), Failed> {
    let protocol = Protocol::for_path(request.uri().path());
    // A JSON body must say so: a browser page can send `text/plain` or a
    // form anywhere without asking, but not `application/json`.
    let content_type = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !is_json_type(content_type) {
        return Err(GatewayError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorKind::InvalidRequest,
            format!(
                "send the body as JSON with `Content-Type: application/json` (got {})",
                if content_type.is_empty() {
                    "no Content-Type".to_owned()
                } else {
                    format!("`{content_type}`")
                }
            ),
        )
        .with_code("unsupported_media_type")
        .in_protocol(protocol));
    }
    let limit = usize::try_from(
        state
            .config
            .load()
            .gateway
            .max_body_mb
            .saturating_mul(1024 * 1024),
    )
    .unwrap_or(usize::MAX);
    let bytes = axum::body::to_bytes(request.into_body(), limit)
        .await
        .map_err(|error| {
            let too_large = std::error::Error::source(&error)
                .is_some_and(|e| e.is::<http_body_util::LengthLimitError>());
            let error = if too_large {
                GatewayError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    ErrorKind::PayloadTooLarge,
                    "request body is larger than gateway.max_body_mb allows",
                )
                .with_code("payload_too_large")
            } else {
                GatewayError::bad_request(format!("cannot read the request body: {error}"))
            };
            error.in_protocol(protocol)
        })?;
    let value = serde_json::from_slice(&bytes).map_err(|e| {
        let what = if e.is_syntax() || e.is_eof() {
            "request body is not valid JSON"
        } else {
            "request body does not have the expected fields"
        };
        GatewayError::bad_request(format!("{what}: {e}"))
            .with_code("invalid_json")
            .in_protocol(protocol)
    })?;
    Ok((value, bytes))
}

/// `application/json`, or any `…/…+json`, with or without parameters.
fn is_json_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence
            .split_once('/')
            .is_some_and(|(_, subtype)| subtype.ends_with("+json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_types() {
        for ok in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/vnd.api+json",
        ] {
            assert!(is_json_type(ok), "{ok}");
        }
        for bad in [
            "",
            "text/plain",
            "text/plain;charset=UTF-8",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/jsonp",
        ] {
            assert!(!is_json_type(bad), "{bad}");
        }
    }
}
