//! The one shape every generate handler has: map the model, run the request
//! against the pool, then answer whole or as a stream in the caller's protocol,
//! naming the upstream model in a response header.

use axum::http::HeaderValue;
use axum::response::Response;

use super::error::{Failed, Protocol};
use super::passthrough::{self, Passthrough};
use super::recent::RequestRecord;
use super::record::{self, RequestContext};
use super::relay::Relayed;
use super::{AppState, MODEL_HEADER, models, relay, sse};
use crate::protocol::gemini::{GenerateContentRequest, GenerateContentResponse, UsageMetadata};
use crate::protocol::{SseFrame, StreamEncoder};

/// How the client wants the answer.
pub enum Reply<E, W> {
    /// Server-sent events, made by this encoder.
    Stream(E),
    /// One body, made from the whole upstream answer.
    Whole(W),
}

/// Runs `request` for a client that asked for `client_model`. `session` names
/// the conversation when the client said which (a session header, a prompt
/// cache key); otherwise the conversation is recognised by its opening.
#[allow(clippy::too_many_arguments)]
pub async fn respond<E, W>(
    state: &AppState,
    route: &'static str,
    protocol: Protocol,
    client_model: &str,
    session: Option<&str>,
    mut request: GenerateContentRequest,
    reply: Reply<E, W>,
    raw: Option<Passthrough>,
) -> Result<Response, Failed>
where
    E: StreamEncoder + 'static,
    W: FnOnce(GenerateContentResponse) -> Response,
{
    let context = RequestContext::current();
    let config = state.config.load_full();
    let upstream_model = models::upstream_model(&config.models, client_model, &*state.pool);
    models::fit_limits(&mut request, &upstream_model);
    let session = session_key(session, &request);
    let request = &request;
    let streaming = matches!(reply, Reply::Stream(_));
    let base = RequestRecord {
        protocol: protocol.name().to_owned(),
        route: route.to_owned(),
        model: client_model.to_owned(),
        upstream_model: upstream_model.clone(),
        stream: streaming,
        ..context.record()
    };
    let fail = |error: super::GatewayError| {
        let record = RequestRecord {
            status: error.status.as_u16(),
            latency_ms: context.started.elapsed().as_millis() as u64,
            error_kind: Some(
                error
                    .code
                    .unwrap_or_else(|| record::error_kind_for(error.status.as_u16()))
                    .to_owned(),
            ),
            error_message: Some(error.message.clone()),
            ..base.clone()
        };
        record::finish(state, &context, record, None);
        error.in_protocol(protocol)
    };
    models::check_offered(&state.pool, client_model, &upstream_model).map_err(fail)?;
    // How a finished stream (or a passthrough) is written to the log.
    let finisher = |record: RequestRecord| -> sse::OnDone {
        let (done_state, done_context) = (state.clone(), context.clone());
        Box::new(move |outcome: sse::StreamOutcome| {
            let mut record = record;
            record.latency_ms = done_context.started.elapsed().as_millis() as u64;
            record.ttfb_ms = outcome
                .first_byte
                .map(|t| t.duration_since(done_context.started).as_millis() as u64);
            add_usage(&mut record, outcome.usage.as_ref());
            if let Some(failure) = outcome.failure {
                record.error_kind = Some(failure.kind.to_owned());
                record.error_message = Some(failure.message);
            }
            record::finish(&done_state, &done_context, record, None);
        })
    };
    let raw_wire = raw.as_ref().map(|r| r.wire.clone());
    let mut response = match reply {
        Reply::Stream(encoder) => {
            let (relayed, served) = relay::stream(
                state,
                &config,
                &upstream_model,
                session,
                request,
                raw.as_ref(),
            )
            .await
            .map_err(fail)?;
            served.log(route);
            let record = RequestRecord {
                status: 200,
                account: served.account.email.clone(),
                ..base
            };
            let on_done = finisher(record);
            context.claim();
            match relayed {
                Relayed::Translated(chunks) => {
                    // Anthropic clients expect Anthropic's own ping event; the
                    // others get SSE comments, which every parser skips.
                    let ping = (protocol == Protocol::Anthropic).then(|| SseFrame {
                        event: Some("ping"),
                        data: r#"{"type":"ping"}"#.to_owned(),
                    });
                    sse::response(chunks, encoder, ping, state.shutdown.clone(), on_done)
                }
                Relayed::Raw(answer) => passthrough::response(
                    answer,
                    raw_wire.unwrap_or(passthrough::Wire::Chat),
                    state.shutdown.clone(),
                    on_done,
                ),
            }
        }
        Reply::Whole(whole) => {
            let (relayed, served) = relay::generate(
                state,
                &config,
                &upstream_model,
                session,
                request,
                raw.as_ref(),
            )
            .await
            .map_err(fail)?;
            served.log(route);
            let mut record = RequestRecord {
                status: 200,
                account: served.account.email.clone(),
                latency_ms: context.started.elapsed().as_millis() as u64,
                ..base
            };
            match relayed {
                Relayed::Translated(answer) => {
                    add_usage(&mut record, answer.usage_metadata.as_ref());
                    let body = config
                        .log
                        .store_bodies
                        .then(|| crate::protocol::to_json(&answer));
                    record::finish(state, &context, record, body);
                    whole(answer)
                }
                Relayed::Raw(answer) => {
                    let wire = raw_wire.unwrap_or(passthrough::Wire::Chat);
                    if let crate::upstream::keyed::RawBody::Whole(bytes) = &answer.body {
                        add_usage(&mut record, passthrough::whole_usage(&wire, bytes).as_ref());
                        let body = config
                            .log
                            .store_bodies
                            .then(|| String::from_utf8_lossy(bytes).into_owned());
                        record::finish(state, &context, record, body);
                    }
                    passthrough::response(answer, wire, state.shutdown.clone(), Box::new(|_| {}))
                }
            }
        }
    };
    name_model(&mut response, &upstream_model);
    Ok(response)
}

/// Sets the response header naming the upstream model.
pub fn name_model(response: &mut Response, upstream_model: &str) {
    if let Ok(value) = HeaderValue::from_str(upstream_model) {
        response.headers_mut().insert(MODEL_HEADER, value);
    }
}

/// A conversation's key for sticky scheduling: the client's own id when it
/// sent one, else a hash of the system prompt and the first user turn (the
/// part of a conversation that never changes between its requests).
pub fn session_key(explicit: Option<&str>, request: &GenerateContentRequest) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    if let Some(id) = explicit.filter(|id| !id.is_empty()) {
        id.hash(&mut hasher);
        return Some(hasher.finish());
    }
    let first_user = request
        .contents
        .iter()
        .find(|c| c.role.as_deref() == Some("user"))?;
    let text_of = |parts: &[crate::protocol::gemini::Part]| -> String {
        parts.iter().filter_map(|p| p.text.as_deref()).collect()
    };
    let opening = text_of(&first_user.parts);
    if opening.is_empty() {
        return None;
    }
    if let Some(system) = &request.system_instruction {
        text_of(&system.parts).hash(&mut hasher);
    }
    opening.hash(&mut hasher);
    Some(hasher.finish())
}

/// Headers clients use to name their conversation (Claude Code, Codex, others).
const SESSION_HEADERS: &[&str] = &[
    "x-claude-code-session-id",
    "session-id",
    "session_id",
    "x-session-id",
    "thread-id",
];

/// The conversation id a client sent in a header, if any.
pub fn session_header(headers: &axum::http::HeaderMap) -> Option<String> {
    SESSION_HEADERS.iter().find_map(|name| {
        headers
            .get(*name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    })
}

/// Copies the upstream's token counts into a record.
fn add_usage(record: &mut RequestRecord, usage: Option<&UsageMetadata>) {
    let Some(usage) = usage else { return };
    record.input_tokens = usage.prompt_token_count.unwrap_or(0);
    record.reasoning_tokens = usage.thoughts_token_count.unwrap_or(0);
    record.output_tokens = usage.candidates_token_count.unwrap_or(0) + record.reasoning_tokens;
    record.cached_tokens = usage.cached_content_token_count.unwrap_or(0);
}
