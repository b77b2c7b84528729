//! Gemini routes, under both `/v1beta/models/…` and `/v1/models/…`:
//! `{model}:generateContent`, `{model}:streamGenerateContent` (SSE with
//! `alt=sse`, a JSON array without), `{model}:countTokens`, and the model list.
//! Requests pass through nearly untouched: thought signatures and function
//! call ids reach the upstream as the client sent them.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ErrorKind, Failed, GatewayError, Protocol};
use super::extract::ClientJsonRaw;
use super::passthrough::{Passthrough, Wire};
use super::respond::{Reply, name_model, respond, session_header};
use super::{AppState, models, relay};
use crate::protocol::gemini::{Content, GenerateContentRequest, GenerateContentResponse};
use crate::protocol::gemini_stream::GeminiEventEncoder;

#[derive(Debug, Default, Deserialize)]
pub struct ActionQuery {
    #[serde(default)]
    alt: Option<String>,
}

/// `countTokens` takes either `contents` or a whole `generateContentRequest`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CountTokensRequest {
    #[serde(default)]
    contents: Option<Vec<Content>>,
    #[serde(default, alias = "generate_content_request")]
    generate_content_request: Option<GenerateContentRequest>,
}

fn fail(error: GatewayError) -> Failed {
    error.in_protocol(Protocol::Gemini)
}

fn parse<T: serde::de::DeserializeOwned>(body: Value) -> Result<T, Failed> {
    serde_json::from_value(body).map_err(|e| {
        fail(
            GatewayError::bad_request(format!(
                "request body does not have the expected fields: {e}"
            ))
            .with_code("invalid_json"),
        )
    })
}

/// `POST /v1beta/models/{model}:{action}`.
pub async fn model_action(
    State(state): State<AppState>,
    model_action: Result<Path<String>, axum::extract::rejection::PathRejection>,
    query: Result<Query<ActionQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    ClientJsonRaw(body, raw_body): ClientJsonRaw<Value>,
) -> Result<Response, Failed> {
    // A path that is not UTF-8 (`%FF`) or a query that does not parse (a
    // doubled `alt`) is the client's error, said in Gemini's shape.
    let Path(model_action) = model_action
        .map_err(|e| fail(GatewayError::bad_request(format!("bad model path: {e}"))))?;
    let Query(query) =
        query.map_err(|e| fail(GatewayError::bad_request(format!("bad query: {e}"))))?;
    let Some((model, action)) = model_action.rsplit_once(':') else {
        return Err(fail(not_found(format!(
            "`{model_action}` names no action: use {{model}}:generateContent, :streamGenerateContent or :countTokens"
        ))));
    };
    let session = session_header(&headers);
    match action {
        "generateContent" => {
            let request: GenerateContentRequest = parse(body)?;
            check_contents(&request)?;
            let wire = Wire::Gemini {
                method: "generateContent",
                query: String::new(),
            };
            let raw = Passthrough::new(&state.pool, wire, raw_body, &headers, false);
            let reply = Reply::<GeminiEventEncoder, _>::Whole(|answer: GenerateContentResponse| {
                Json(answer).into_response()
            });
            respond(
                &state,
                "gemini generateContent",
                Protocol::Gemini,
                model,
                session.as_deref(),
                request,
                reply,
                raw,
            )
            .await
        }
        "streamGenerateContent" => {
            let request: GenerateContentRequest = parse(body)?;
            check_contents(&request)?;
            if query.alt.as_deref() == Some("sse") {
                let wire = Wire::Gemini {
                    method: "streamGenerateContent",
                    query: "alt=sse".to_owned(),
                };
                let raw = Passthrough::new(&state.pool, wire, raw_body, &headers, true);
                let reply = Reply::Stream::<_, fn(GenerateContentResponse) -> Response>(
                    GeminiEventEncoder::new(),
                );
                respond(
                    &state,
                    "gemini streamGenerateContent",
                    Protocol::Gemini,
                    model,
                    session.as_deref(),
                    request,
                    reply,
                    raw,
                )
                .await
            } else {
                json_array(&state, model, &request).await
            }
        }
        "countTokens" => {
            let request: CountTokensRequest = parse(body)?;
            let request = match (request.generate_content_request, request.contents) {
                (Some(wrapped), _) => wrapped,
                (None, Some(contents)) => GenerateContentRequest {
                    contents,
                    ..GenerateContentRequest::default()
                },
                (None, None) => {
                    return Err(fail(GatewayError::bad_request(
                        "countTokens needs `contents` or `generateContentRequest`",
                    )));
                }
            };
            let config = state.config.load_full();
            let upstream_model = models::upstream_model(&config.models, model, &*state.pool);
            models::check_offered(&state.pool, model, &upstream_model).map_err(fail)?;
            let total = relay::count_tokens(&state, &config, &upstream_model, None, &request)
                .await
                .map_err(fail)?;
            let mut response = Json(json!({ "totalTokens": total })).into_response();
            name_model(&mut response, &upstream_model);
            Ok(response)
        }
        other => Err(fail(not_found(format!(
            "unknown action `{other}`: this gateway serves generateContent, streamGenerateContent and countTokens"
        )))),
    }
}

fn check_contents(request: &GenerateContentRequest) -> Result<(), Failed> {
    if request.contents.is_empty() {
        return Err(fail(GatewayError::bad_request(
            "`contents` must not be empty",
        )));
    }
    Ok(())
}

fn not_found(message: String) -> GatewayError {
    GatewayError::new(StatusCode::NOT_FOUND, ErrorKind::NotFound, message)
}

/// `streamGenerateContent` without `alt=sse`: the whole stream as one JSON
/// array. Nothing has been sent before the end, so a failure is a plain error.
async fn json_array(
    state: &AppState,
    model: &str,
    request: &GenerateContentRequest,
) -> Result<Response, Failed> {
    let config = state.config.load_full();
    let upstream_model = models::upstream_model(&config.models, model, &*state.pool);
    models::check_offered(&state.pool, model, &upstream_model).map_err(fail)?;
    let session = super::respond::session_key(None, request);
    let (relayed, served) = relay::stream(state, &config, &upstream_model, session, request, None)
        .await
        .map_err(fail)?;
    let relay::Relayed::Translated(mut chunks) = relayed else {
        return Err(fail(GatewayError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::Internal,
            "internal error: a passthrough answer where none was asked",
        )));
    };
    served.log("gemini streamGenerateContent (array)");
    let mut all = Vec::new();
    while let Some(chunk) = chunks.next().await {
        all.push(chunk.map_err(|e| fail(GatewayError::from_upstream(&e)))?);
    }
    let mut response = Json(all).into_response();
    name_model(&mut response, &upstream_model);
    Ok(response)
}

/// A model as Gemini's and OpenAI's SDKs read it, with the display name and
/// token limits Google reported for it when an account's catalog has it.
fn model_info(id: &str, known: Option<&crate::store::ModelInfo>) -> Value {
    json!({
        "name": format!("models/{id}"),
        "baseModelId": id,
        "displayName": known.and_then(|m| m.display_name.as_deref()).unwrap_or(id),
        "supportedGenerationMethods": ["generateContent", "streamGenerateContent", "countTokens"],
        "inputTokenLimit": known.and_then(|m| m.max_input_tokens).unwrap_or(1_048_576),
        "outputTokenLimit": known.and_then(|m| m.max_output_tokens).unwrap_or(65_536),
        "thinking": known.is_some_and(|m| m.thinking),
        // OpenAI's fields too, for GET /v1/models/{id}.
        "id": id,
        "object": "model",
        "created": 0,
        "owned_by": "switchyard",
    })
}

/// `GET /v1beta/models`.
pub async fn list_models(State(state): State<AppState>) -> Json<Value> {
    let models: Vec<Value> = super::openai::model_ids(&state)
        .iter()
        .map(|id| model_info(id, state.pool.model_info(id).as_ref()))
        .collect();
    Json(json!({ "models": models }))
}

/// `GET /v1beta/models/{model}` (and `/v1/models/{model}`, which answers in a
/// shape both Gemini's and OpenAI's SDKs read).
pub async fn get_model(
    State(state): State<AppState>,
    model: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Json<Value>, Failed> {
    let Path(model) =
        model.map_err(|e| fail(GatewayError::bad_request(format!("bad model path: {e}"))))?;
    let id = model.strip_prefix("models/").unwrap_or(&model);
    Ok(Json(model_info(id, state.pool.model_info(id).as_ref())))
}
