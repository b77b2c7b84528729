//! OpenAI routes: `POST /v1/chat/completions`, `POST /v1/completions`,
//! `POST /v1/responses` and `GET /v1/models`.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::error::{Failed, GatewayError, Protocol};
use super::extract::{ClientJson, ClientJsonRaw};
use super::passthrough::{Passthrough, Wire};
use super::respond::{Reply, respond, session_header};
use super::{AppState, models};
use crate::protocol::completions::CompletionRequest;
use crate::protocol::completions_from_gemini::{CompletionChunkEncoder, completion_from_gemini};
use crate::protocol::gemini_request_from_completions::gemini_request_from_completions;
use crate::protocol::gemini_request_from_openai::gemini_request_from_openai;
use crate::protocol::gemini_request_from_responses::gemini_request_from_responses;
use crate::protocol::openai::{ChatCompletionRequest, ModelEntry, ModelList};
use crate::protocol::openai_from_gemini::{OpenAiChunkEncoder, openai_response_from_gemini};
use crate::protocol::responses::ResponsesRequest;
use crate::protocol::responses_from_gemini::{
    ResponsesEventEncoder, responses_response_from_gemini,
};
use crate::store::now_unix;

/// Response header naming the upstream model that answered.
pub const MODEL_HEADER: &str = "x-switchyard-model";

pub async fn chat_completions(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientJsonRaw(request, body): ClientJsonRaw<ChatCompletionRequest>,
) -> Result<Response, Failed> {
    let raw = Passthrough::new(&state.pool, Wire::Chat, body, &headers, request.stream);
    let gemini_request = gemini_request_from_openai(&request)
        .map_err(|e| GatewayError::from(e).in_protocol(Protocol::OpenAi))?;
    let id = format!("chatcmpl-{}", crate::ids::random_hex_id());
    let created = now_unix();
    let model = request.model.clone();
    let reply = if request.stream {
        let include_usage = request
            .stream_options
            .as_ref()
            .is_some_and(|o| o.include_usage);
        Reply::Stream(OpenAiChunkEncoder::new(
            id,
            created,
            model.clone(),
            include_usage,
        ))
    } else {
        let model = model.clone();
        Reply::Whole(move |answer| {
            Json(openai_response_from_gemini(&answer, id, created, &model)).into_response()
        })
    };
    let session = session_header(&headers)
        .or_else(|| request.prompt_cache_key.clone())
        .or_else(|| request.user.clone());
    respond(
        &state,
        "chat.completions",
        Protocol::OpenAi,
        &request.model,
        session.as_deref(),
        gemini_request,
        reply,
        raw,
    )
    .await
}

/// `POST /v1/completions`: the legacy prompt API.
pub async fn completions(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientJson(request): ClientJson<CompletionRequest>,
) -> Result<Response, Failed> {
    let gemini_request = gemini_request_from_completions(&request)
        .map_err(|e| GatewayError::from(e).in_protocol(Protocol::OpenAi))?;
    let id = format!("cmpl-{}", crate::ids::random_hex_id());
    let created = now_unix();
    let reply = if request.stream {
        let include_usage = request
            .stream_options
            .as_ref()
            .is_some_and(|o| o.include_usage);
        Reply::Stream(CompletionChunkEncoder::new(
            id,
            created,
            request.model.clone(),
            include_usage,
        ))
    } else {
        let model = request.model.clone();
        Reply::Whole(move |answer| {
            Json(completion_from_gemini(&answer, &id, created, &model)).into_response()
        })
    };
    respond(
        &state,
        "completions",
        Protocol::OpenAi,
        &request.model,
        session_header(&headers).as_deref(),
        gemini_request,
        reply,
        None,
    )
    .await
}

/// The models the accounts can use, in a shape both the OpenAI and the
/// Anthropic SDKs accept; Gemini's shape when a Gemini client asks (google-genai
/// 3.x lists under `/v1/models` too, and sends its key as `x-goog-api-key`).
pub async fn list_models(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let gemini_client = headers.contains_key("x-goog-api-key")
        || uri
            .query()
            .is_some_and(|q| q.split('&').any(|p| p.starts_with("key=")));
    if gemini_client {
        return super::gemini::list_models(State(state))
            .await
            .into_response();
    }
    openai_model_list(&state).into_response()
}

fn openai_model_list(state: &AppState) -> Json<ModelList> {
    let ids = model_ids(state);
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

/// `POST /v1/responses`: the Responses API (Codex, the openai SDK's
/// `responses`), whole or as the full event sequence from `response.created`
/// to `response.completed`.
pub async fn responses(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientJsonRaw(request, body): ClientJsonRaw<ResponsesRequest>,
) -> Result<Response, Failed> {
    let raw = Passthrough::new(&state.pool, Wire::Responses, body, &headers, request.stream);
    let gemini_request = gemini_request_from_responses(&request)
        .map_err(|e| GatewayError::from(e).in_protocol(Protocol::OpenAi))?;
    let id = format!("resp_{}", crate::ids::random_hex_id());
    let created = now_unix();
    let reply = if request.stream {
        Reply::Stream(
            ResponsesEventEncoder::new(id, created, request.model.clone())
                .with_request_echo(&request),
        )
    } else {
        let echo = request.clone();
        Reply::Whole(move |answer| {
            let mut response = responses_response_from_gemini(&answer, id, created, &echo.model);
            response.echo_request(&echo);
            Json(response).into_response()
        })
    };
    respond(
        &state,
        "responses",
        Protocol::OpenAi,
        &request.model,
        session_header(&headers)
            .or_else(|| request.prompt_cache_key.clone())
            .as_deref(),
        gemini_request,
        reply,
        raw,
    )
    .await
}
