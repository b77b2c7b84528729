//! `ClientJson<T>`: a JSON body whose failures (too large, not JSON, wrong
//! shape) come back as errors in the route's own protocol. The size limit is
//! `gateway.max_body_mb`, read per request, so a change applies at once.

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::{ErrorKind, Failed, GatewayError, Protocol};

pub struct ClientJson<T>(pub T);

impl<T> FromRequest<AppState> for ClientJson<T>
where
    T: DeserializeOwned,
{
    type Rejection = Failed;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let protocol = Protocol::for_path(request.uri().path());
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
        serde_json::from_slice(&bytes).map(ClientJson).map_err(|e| {
            let what = if e.is_syntax() || e.is_eof() {
                "request body is not valid JSON"
            } else {
                "request body does not have the expected fields"
            };
            GatewayError::bad_request(format!("{what}: {e}"))
                .with_code("invalid_json")
                .in_protocol(protocol)
        })
    }
}
