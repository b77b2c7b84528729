//! Anthropic routes: `POST /v1/messages` (whole or streamed, with `ping`
//! keep-alives) and `POST /v1/messages/count_tokens`. Any `anthropic-version`,
//! `anthropic-beta` and `?beta=true` are accepted; the key may come as
//! `x-api-key` or Bearer (the access guard reads both).

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::error::{Failed, GatewayError, Protocol};
use super::extract::{ClientJson, ClientJsonRaw};
use super::passthrough::{Passthrough, Wire};
use super::respond::{Reply, name_model, respond, session_header, session_key};
use super::{AppState, models, relay};
use crate::protocol::anthropic::{CountTokensRequest, CountTokensResponse, MessagesRequest};
use crate::protocol::anthropic_from_gemini::{
    AnthropicEventEncoder, anthropic_response_from_gemini,
};
use crate::protocol::gemini_request_from_anthropic::{
    gemini_request_from_anthropic, gemini_request_from_anthropic_count_tokens,
};

fn fail(error: GatewayError) -> Failed {
    error.in_protocol(Protocol::Anthropic)
}

pub async fn messages(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientJsonRaw(request, body): ClientJsonRaw<MessagesRequest>,
) -> Result<Response, Failed> {
    let raw = Passthrough::new(&state.pool, Wire::Messages, body, &headers, request.stream);
    let gemini_request =
        gemini_request_from_anthropic(&request).map_err(|e| fail(GatewayError::from(e)))?;
    let id = format!("msg_{}", crate::ids::random_hex_id());
    let reply = if request.stream {
        Reply::Stream(AnthropicEventEncoder::new(id, request.model.clone()))
    } else {
        let model = request.model.clone();
        Reply::Whole(move |answer| {
            Json(anthropic_response_from_gemini(&answer, id, &model)).into_response()
        })
    };
    // Claude Code names its session in a header, and its user id carries the
    // session id too: one conversation, one key.
    let session = session_header(&headers)
        .or_else(|| request.metadata.as_ref().and_then(|m| m.user_id.clone()));
    respond(
        &state,
        "messages",
        Protocol::Anthropic,
        &request.model,
        session.as_deref(),
        gemini_request,
        reply,
        raw,
    )
    .await
}

/// Counted by the upstream's own tokenizer, not estimated.
pub async fn count_tokens(
    State(state): State<AppState>,
    ClientJson(request): ClientJson<CountTokensRequest>,
) -> Result<Response, Failed> {
    let gemini_request = gemini_request_from_anthropic_count_tokens(&request)
        .map_err(|e| fail(GatewayError::from(e)))?;
    let config = state.config.load_full();
    let upstream_model = models::upstream_model(&config.models, &request.model, &*state.pool);
    models::check_offered(&state.pool, &request.model, &upstream_model).map_err(fail)?;
    let session = session_key(None, &gemini_request);
    let input_tokens =
        relay::count_tokens(&state, &config, &upstream_model, session, &gemini_request)
            .await
            .map_err(fail)?;
    let mut response = Json(CountTokensResponse { input_tokens }).into_response();
    name_model(&mut response, &upstream_model);
    Ok(response)
}
