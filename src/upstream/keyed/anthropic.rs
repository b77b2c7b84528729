//! Anthropic's Messages API or a compatible endpoint: `POST {base}/v1/messages`
//! with `x-api-key` and `anthropic-version`, `POST …/v1/messages/count_tokens`,
//! `GET …/v1/models`.

use serde_json::Value;

use super::{
    Call, Endpoint, exchange, listed_models, send, status_error, translated, url, with_headers,
};
use crate::protocol::anthropic_request_from_gemini::anthropic_request_from_gemini;
use crate::protocol::gemini::GenerateContentResponse;
use crate::protocol::gemini_from_anthropic::{
    AnthropicStreamToGemini, Event, gemini_from_anthropic,
};
use crate::store::ModelInfo;
use crate::upstream::UpstreamError;
use crate::upstream::google::StreamChunks;

/// The API version sent when the client's own is not passed on.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

fn request(
    http: &reqwest::Client,
    method: reqwest::Method,
    endpoint: Endpoint<'_>,
    path: &str,
) -> reqwest::RequestBuilder {
    request_with_version(http, method, endpoint, path, None)
}

/// A request with the key and `anthropic-version` (the client's, when it is
/// passed on, else [`ANTHROPIC_VERSION`]).
pub(super) fn request_with_version(
    http: &reqwest::Client,
    method: reqwest::Method,
    endpoint: Endpoint<'_>,
    path: &str,
    version: Option<&str>,
) -> reqwest::RequestBuilder {
    let request = http
        .request(method, url(endpoint.settings, path))
        .header("anthropic-version", version.unwrap_or(ANTHROPIC_VERSION));
    let request = if endpoint.settings.bearer {
        request.bearer_auth(endpoint.key.expose())
    } else {
        request.header("x-api-key", endpoint.key.expose())
    };
    with_headers(request, endpoint.settings)
}

pub async fn generate(
    http: &reqwest::Client,
    endpoint: Endpoint<'_>,
    call: &Call<'_>,
) -> Result<GenerateContentResponse, UpstreamError> {
    let body = anthropic_request_from_gemini(call.request, call.model, false);
    let request = request(http, reqwest::Method::POST, endpoint, "v1/messages").json(&body);
    let value = exchange(
        request,
        "messages",
        call.timeout,
        endpoint.key,
        status_error,
    )
    .await?;
    Ok(gemini_from_anthropic(&value))
}

/// The HTTP status an `error` event inside a stream stands for.
fn status_of(error_type: &str) -> u16 {
    match error_type {
        "overloaded_error" => 529,
        "rate_limit_error" => 429,
        "api_error" => 500,
        "authentication_error" => 401,
        "permission_error" => 403,
        _ => 400,
    }
}

pub async fn stream(
    http: &reqwest::Client,
    endpoint: Endpoint<'_>,
    call: &Call<'_>,
) -> Result<StreamChunks, UpstreamError> {
    let body = anthropic_request_from_gemini(call.request, call.model, true);
    let request = request(http, reqwest::Method::POST, endpoint, "v1/messages")
        .header(reqwest::header::ACCEPT, "text/event-stream")
        .json(&body);
    let response = send(
        request,
        "messages",
        call.timeout,
        endpoint.key,
        status_error,
    )
    .await?;
    let key = endpoint.key.clone();
    Ok(translated(
        response,
        AnthropicStreamToGemini::new(),
        move |state, event| {
            let Some(event) = event else {
                return Vec::new();
            };
            match state.push(&event) {
                Event::Chunks(chunks) => chunks.into_iter().map(Ok).collect(),
                Event::Error {
                    error_type,
                    message,
                } => vec![Err(super::stream_error(
                    status_of(&error_type),
                    &message,
                    Some(error_type),
                    &key,
                ))],
            }
        },
    ))
}

pub async fn count_tokens(
    http: &reqwest::Client,
    endpoint: Endpoint<'_>,
    call: &Call<'_>,
) -> Result<u64, UpstreamError> {
    let mut body = anthropic_request_from_gemini(call.request, call.model, false);
    if let Some(fields) = body.as_object_mut() {
        for unsupported in [
            "max_tokens",
            "temperature",
            "top_p",
            "top_k",
            "stop_sequences",
            "stream",
        ] {
            fields.remove(unsupported);
        }
    }
    let request = request(
        http,
        reqwest::Method::POST,
        endpoint,
        "v1/messages/count_tokens",
    )
    .json(&body);
    let value = exchange(
        request,
        "count_tokens",
        call.timeout,
        endpoint.key,
        status_error,
    )
    .await?;
    Ok(value
        .get("input_tokens")
        .and_then(Value::as_u64)
        .unwrap_or(0))
}

pub async fn models(
    http: &reqwest::Client,
    endpoint: Endpoint<'_>,
) -> Result<Vec<ModelInfo>, UpstreamError> {
    let request =
        request(http, reqwest::Method::GET, endpoint, "v1/models").query(&[("limit", "1000")]);
    let value = exchange(
        request,
        "models",
        super::CONTROL_TIMEOUT,
        endpoint.key,
        status_error,
    )
    .await?;
    Ok(listed_models(&value))
}
