//! `ClientJson<T>`: a JSON body whose failures (too large, not JSON, wrong
//! shape) come back as errors in the route's own protocol.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::error::{ErrorKind, Failed, GatewayError, Protocol};

pub struct ClientJson<T>(pub T);

impl<S, T> FromRequest<S> for ClientJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Failed;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let protocol = Protocol::for_path(request.uri().path());
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                let error = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    GatewayError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        ErrorKind::PayloadTooLarge,
                        "request body is larger than gateway.max_body_mb allows",
                    )
                    .with_code("payload_too_large")
                } else {
                    GatewayError::bad_request(format!("cannot read the request body: {rejection}"))
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
