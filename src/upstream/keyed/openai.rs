//! OpenAI-compatible endpoints (OpenAI, OpenRouter, DeepSeek, Ollama, vLLM,
//! …): `POST {base}/chat/completions` with `Authorization: Bearer KEY`,
//! `GET {base}/models`. The base URL includes the version (`…/v1`).

use serde_json::Value;

use super::{
    Call, Endpoint, exchange, listed_models, send, status_error, translated, url, with_headers,
};
use crate::protocol::gemini::GenerateContentResponse;
use crate::protocol::gemini_from_openai::{OpenAiStreamToGemini, gemini_from_openai};
use crate::protocol::openai_request_from_gemini::openai_request_from_gemini;
use crate::store::ModelInfo;
use crate::upstream::UpstreamError;
use crate::upstream::google::StreamChunks;

/// A request to `path` with the key (none for a keyless local server).
pub(super) fn request(
    http: &reqwest::Client,
    method: reqwest::Method,
    endpoint: Endpoint<'_>,
    path: &str,
) -> reqwest::RequestBuilder {
    let request = http.request(method, url(endpoint.settings, path));
    let request = if endpoint.key.is_empty() {
        request
    } else {
        request.bearer_auth(endpoint.key.expose())
    };
    with_headers(request, endpoint.settings)
}

pub async fn generate(
    http: &reqwest::Client,
    endpoint: Endpoint<'_>,
    call: &Call<'_>,
) -> Result<GenerateContentResponse, UpstreamError> {
    let body = openai_request_from_gemini(call.request, call.model, false);
    let request = request(http, reqwest::Method::POST, endpoint, "chat/completions").json(&body);
    let value = exchange(
        request,
        "chat/completions",
        call.timeout,
        endpoint.key,
        status_error,
    )
    .await?;
    Ok(gemini_from_openai(&value))
}

pub async fn stream(
    http: &reqwest::Client,
    endpoint: Endpoint<'_>,
    call: &Call<'_>,
) -> Result<StreamChunks, UpstreamError> {
    let body = openai_request_from_gemini(call.request, call.model, true);
    let request = request(http, reqwest::Method::POST, endpoint, "chat/completions")
        .header(reqwest::header::ACCEPT, "text/event-stream")
        .json(&body);
    let response = send(
        request,
        "chat/completions",
        call.timeout,
        endpoint.key,
        status_error,
    )
    .await?;
    let key = endpoint.key.clone();
    Ok(translated(
        response,
        OpenAiStreamToGemini::new(),
        move |state, event| {
            let Some(event) = event else {
                return state.finish().into_iter().map(Ok).collect();
            };
            match event.get("error") {
                // An error inside the stream (OpenRouter sends them this way).
                Some(error) => vec![Err(super::stream_error(
                    error.get("code").and_then(Value::as_u64).unwrap_or(500) as u16,
                    error
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("stream error"),
                    error.get("type").and_then(Value::as_str).map(str::to_owned),
                    &key,
                ))],
                None => state.push(&event).into_iter().map(Ok).collect(),
            }
        },
    ))
}

pub async fn models(
    http: &reqwest::Client,
    endpoint: Endpoint<'_>,
) -> Result<Vec<ModelInfo>, UpstreamError> {
    let request = request(http, reqwest::Method::GET, endpoint, "models");
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
