//! OpenAI routes: `POST /v1/chat/completions` and `GET /v1/models`.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};

use super::error::{Failed, Protocol};
use super::extract::ClientJson;
use super::{AppState, models, relay, sse};
use crate::protocol::gemini_request_from_openai::gemini_request_from_openai;
use crate::protocol::openai::{ChatCompletionRequest, ModelEntry, ModelList};
use crate::protocol::openai_from_gemini::{OpenAiChunkEncoder, openai_response_from_gemini};
use crate::store::now_unix;

/// Response header naming the upstream model that answered.
pub const MODEL_HEADER: &str = "x-switchyard-model";

pub async fn chat_completions(
    State(state): State<AppState>,
    ClientJson(request): ClientJson<ChatCompletionRequest>,
) -> Result<Response, Failed> {
    let fail = |e: super::error::GatewayError| e.in_protocol(Protocol::OpenAi);
    let config = state.config.load_full();
    let upstream_model = models::upstream_model(&config.models, &request.model);
    let gemini_request = gemini_request_from_openai(&request).map_err(|e| fail(e.into()))?;
    let id = format!("chatcmpl-{}", super::request_id());
    let created = now_unix();

    let mut response = if request.stream {
        let (chunks, served) = relay::stream(&state, &config, &upstream_model, &gemini_request)
            .await
            .map_err(fail)?;
        served.log("chat.completions stream");
        let include_usage = request
            .stream_options
            .as_ref()
            .is_some_and(|o| o.include_usage);
        let encoder = OpenAiChunkEncoder::new(id, created, request.model.clone(), include_usage);
        sse::response(chunks, encoder, state.shutdown.clone())
    } else {
        let (answer, served) = relay::generate(&state, &config, &upstream_model, &gemini_request)
            .await
            .map_err(fail)?;
        served.log("chat.completions");
        Json(openai_response_from_gemini(
            &answer,
            id,
            created,
            &request.model,
        ))
        .into_response()
    };
    if let Ok(value) = HeaderValue::from_str(&upstream_model) {
        response.headers_mut().insert(MODEL_HEADER, value);
    }
    Ok(response)
}

/// The models the accounts can use, in a shape both the OpenAI and the
/// Anthropic SDKs accept.
pub async fn list_models(State(state): State<AppState>) -> Json<ModelList> {
    let ids = model_ids(&state);
    let data: Vec<ModelEntry> = ids
        .into_iter()
        .map(|id| ModelEntry {
            display_name: id.clone(),
            id,
            object: "model",
            created: 0,
            owned_by: "switchyard",
            kind: "model",
            created_at: "1970-01-01T00:00:00Z",
        })
        .collect();
    Json(ModelList {
        object: "list",
        first_id: data.first().map(|m| m.id.clone()),
        last_id: data.last().map(|m| m.id.clone()),
        has_more: false,
        data,
    })
}

/// The model names the gateway offers: what the accounts reported (or a
/// built-in list before any did), plus the exact names mapped in `[models]`.
pub fn model_ids(state: &AppState) -> Vec<String> {
    let config = state.config.load();
    let mut ids = state.pool.models();
    if ids.is_empty() {
        ids = models::KNOWN_MODELS
            .iter()
            .map(|m| (*m).to_owned())
            .collect();
    }
    ids.extend(
        config
            .models
            .keys()
            .filter(|k| !k.contains(['*', '?']))
            .cloned(),
    );
    ids.sort();
    ids.dedup();
    ids
}
