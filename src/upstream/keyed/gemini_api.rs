//! The Gemini API (`generativelanguage.googleapis.com/v1beta`, a key from AI
//! Studio) and Vertex AI with an express-mode key
//! (`aiplatform.googleapis.com/v1/publishers/google/models`, or with a project
//! and location `{location}-aiplatform…/v1/projects/{p}/locations/{l}/…`).
//! Both take Gemini's own request, unwrapped, and the key in
//! `x-goog-api-key` (never in the URL, so no log line can hold it).

use serde_json::{Value, json};

use super::{Call, Endpoint, exchange, send, translated, url, with_headers};
use crate::protocol::gemini::{Content, GenerateContentResponse};
use crate::secret::Secret;
use crate::store::{ModelInfo, UpstreamKind};
use crate::upstream::UpstreamError;
use crate::upstream::google::StreamChunks;

/// The path of a model's method.
fn method_path(endpoint: Endpoint<'_>, model: &str, method: &str) -> String {
    let settings = endpoint.settings;
    match (settings.kind, &settings.project) {
        (UpstreamKind::Vertex, Some(project)) => format!(
            "v1/projects/{project}/locations/{}/publishers/google/models/{model}:{method}",
            settings.location.as_deref().unwrap_or("global")
        ),
        (UpstreamKind::Vertex, None) => format!("v1/publishers/google/models/{model}:{method}"),
        _ => format!("v1beta/models/{model}:{method}"),
    }
}

pub(super) fn post(
    http: &reqwest::Client,
    endpoint: Endpoint<'_>,
    model: &str,
    method: &str,
) -> reqwest::RequestBuilder {
    let request = http.post(url(
        endpoint.settings,
        &method_path(endpoint, model, method),
    ));
    // A service account's access token, or an API key.
    let request = if endpoint.settings.service_account {
        request.bearer_auth(endpoint.key.expose())
    } else {
        request.header("x-goog-api-key", endpoint.key.expose())
    };
    with_headers(request, endpoint.settings)
}

pub(super) fn read_error(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &str,
    key: &Secret,
) -> UpstreamError {
    match crate::upstream::google::status_error(status, headers, body) {
        UpstreamError::Status {
            status,
            message,
            retry_after,
            code,
            details,
        } => UpstreamError::Status {
            status,
            message: super::scrub(&message, key),
            retry_after,
            code,
            details,
        },
        other => other,
    }
}

pub async fn generate(
    http: &reqwest::Client,
    endpoint: Endpoint<'_>,
    call: &Call<'_>,
) -> Result<GenerateContentResponse, UpstreamError> {
    let request = post(http, endpoint, call.model, "generateContent").json(call.request);
    let value = exchange(
        request,
        "generateContent",
        call.timeout,
        endpoint.key,
        read_error,
    )
    .await?;
    serde_json::from_value(value)
        .map_err(|e| UpstreamError::Decode(format!("generateContent: {e}")))
}

pub async fn stream(
    http: &reqwest::Client,
    endpoint: Endpoint<'_>,
    call: &Call<'_>,
) -> Result<StreamChunks, UpstreamError> {
    let request = post(http, endpoint, call.model, "streamGenerateContent?alt=sse")
        .header(reqwest::header::ACCEPT, "text/event-stream")
        .json(call.request);
    let response = send(
        request,
        "streamGenerateContent",
        call.timeout,
        endpoint.key,
        read_error,
    )
    .await?;
    Ok(translated(response, (), |(), event| {
        let Some(value) = event else {
            return Vec::new();
        };
        // An event with an error and no answer is that error.
        if value.get("error").is_some()
            && let Some(error) = crate::upstream::google::GoogleApiError::parse(&value.to_string())
        {
            return vec![Err(UpstreamError::Status {
                status: error.code.unwrap_or(500),
                message: error.message,
                retry_after: None,
                code: error.status,
                details: error.details,
            })];
        }
        vec![
            serde_json::from_value::<GenerateContentResponse>(value)
                .map_err(|e| UpstreamError::Decode(format!("streamGenerateContent: {e}"))),
        ]
    }))
}

pub async fn count_tokens(
    http: &reqwest::Client,
    endpoint: Endpoint<'_>,
    call: &Call<'_>,
) -> Result<u64, UpstreamError> {
    // `countTokens` takes contents; the system prompt counts as a turn.
    let mut contents: Vec<Content> = Vec::with_capacity(call.request.contents.len() + 1);
    if let Some(system) = &call.request.system_instruction {
        contents.push(Content::new("user", system.parts.clone()));
    }
    contents.extend(call.request.contents.iter().cloned());
    let request =
        post(http, endpoint, call.model, "countTokens").json(&json!({"contents": contents}));
    let value = exchange(
        request,
        "countTokens",
        call.timeout,
        endpoint.key,
        read_error,
    )
    .await?;
    Ok(value
        .get("totalTokens")
        .and_then(Value::as_u64)
        .unwrap_or(0))
}

/// `GET v1beta/models`, every page; only models that generate content.
pub async fn models(
    http: &reqwest::Client,
    endpoint: Endpoint<'_>,
) -> Result<Vec<ModelInfo>, UpstreamError> {
    let mut models = Vec::new();
    let mut page: Option<String> = None;
    for _ in 0..20 {
        let mut request = http
            .get(url(endpoint.settings, "v1beta/models"))
            .query(&[("pageSize", "1000")])
            .header("x-goog-api-key", endpoint.key.expose());
        if let Some(token) = &page {
            request = request.query(&[("pageToken", token.as_str())]);
        }
        let request = with_headers(request, endpoint.settings);
        let value = exchange(
            request,
            "models",
            super::CONTROL_TIMEOUT,
            endpoint.key,
            read_error,
        )
        .await?;
        for model in value
            .get("models")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let generates = model
                .get("supportedGenerationMethods")
                .and_then(Value::as_array)
                .is_none_or(|m| m.iter().any(|m| m == "generateContent"));
            let Some(name) = model.get("name").and_then(Value::as_str) else {
                continue;
            };
            if !generates {
                continue;
            }
            models.push(ModelInfo {
                id: name.strip_prefix("models/").unwrap_or(name).to_owned(),
                display_name: model
                    .get("displayName")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                max_input_tokens: model.get("inputTokenLimit").and_then(Value::as_u64),
                max_output_tokens: model.get("outputTokenLimit").and_then(Value::as_u64),
                thinking: model
                    .get("thinking")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                image_output: false,
            });
        }
        page = value
            .get("nextPageToken")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        if page.is_none() {
            break;
        }
    }
    Ok(models)
}
