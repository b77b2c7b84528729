//! Mocks of the API-key upstreams on 127.0.0.1:0: an OpenAI-compatible
//! server, an Anthropic Messages server and the Gemini API (also answering
//! Vertex's express-mode paths). Each knows the keys it accepts, lists its
//! models, answers in its own shapes (whole and streamed, tool calls
//! included), can be scripted with errors and rate-limit headers or exact
//! stream bytes, and records exactly what it received.
//!
//! What they check, as the real services do:
//! - OpenAI: `Authorization: Bearer`; a `tool` message must answer a
//!   `tool_calls` id of an earlier assistant message; 401 `invalid_api_key`
//!   for an unknown key (the message echoes the key, as OpenAI's does in part,
//!   so a test can tell the gateway keeps it out of logs).
//! - Anthropic: `x-api-key` and `anthropic-version`; `max_tokens` required; a
//!   `tool_result` must answer a `tool_use` id of the previous assistant
//!   turn; 401 `authentication_error`.
//! - Gemini API: `x-goog-api-key` (or `?key=`); 400 `INVALID_ARGUMENT` with
//!   `API_KEY_INVALID` for an unknown key; the request unwrapped (no
//!   Code Assist envelope).

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use parking_lot::Mutex;
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    OpenAi,
    Anthropic,
    GeminiApi,
    /// Vertex AI with an express-mode key: Gemini's shapes under
    /// `/v1/publishers/google/models/{m}:…` (or a project's path); no model list.
    Vertex,
}

/// A scripted answer for the next generate call.
#[derive(Clone, Debug)]
pub enum Script {
    /// This status, these headers, this JSON body.
    Error {
        status: u16,
        headers: Vec<(String, String)>,
        body: Value,
    },
    /// A whole answer in the kind's shape.
    Answer(Value),
    /// A stream sent byte for byte as given (`text/event-stream`).
    RawStream(String),
}

/// One request as the mock received it.
#[derive(Clone, Debug)]
pub struct Got {
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    /// The body exactly as sent.
    pub raw: Bytes,
    pub body: Value,
}

#[derive(Default)]
struct World {
    keys: HashSet<String>,
    models: Vec<String>,
    script: VecDeque<Script>,
    got: Vec<Got>,
    answers: usize,
    /// Whether `POST /v1/responses` exists (many compatible servers lack it).
    responses_api: bool,
    /// Vertex with a service account: the key's public half (PKCS#1 DER),
    /// and the access tokens `/token` issued for its signed assertions.
    service_account: Option<Vec<u8>>,
    tokens: HashSet<String>,
    token_requests: usize,
}

#[derive(Clone)]
pub struct MockKeyed {
    pub kind: Kind,
    pub addr: SocketAddr,
    world: Arc<Mutex<World>>,
}

impl MockKeyed {
    pub async fn start(kind: Kind, key: &str, models: &[&str]) -> Self {
        let world = Arc::new(Mutex::new(World {
            keys: [key.to_owned()].into(),
            models: models.iter().map(|m| (*m).to_owned()).collect(),
            responses_api: true,
            ..World::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mock = Self { kind, addr, world };
        let app = Router::new().fallback(handle).with_state(mock.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        mock
    }

    /// The base URL to configure (`…/v1` for OpenAI, the host for the others).
    pub fn base_url(&self) -> String {
        match self.kind {
            Kind::OpenAi => format!("http://{}/v1", self.addr),
            _ => format!("http://{}", self.addr),
        }
    }

    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            Kind::OpenAi => "openai",
            Kind::Anthropic => "anthropic",
            Kind::GeminiApi => "gemini-api",
            Kind::Vertex => "vertex",
        }
    }

    pub fn script(&self, script: Script) {
        self.world.lock().script.push_back(script);
    }

    /// Every request received so far (model lists included).
    pub fn got(&self) -> Vec<Got> {
        self.world.lock().got.clone()
    }

    /// The generate requests received so far.
    pub fn generations(&self) -> Vec<Got> {
        self.got()
            .into_iter()
            .filter(|g| {
                g.method == "POST"
                    && g.path != "/token"
                    && !g.path.ends_with("count_tokens")
                    && !g.path.ends_with(":countTokens")
            })
            .collect()
    }

    /// Answers `/v1/responses` with 404 from now on, as chat-only servers do.
    pub fn without_responses_api(&self) {
        self.world.lock().responses_api = false;
    }

    /// A Vertex mock that takes the fixture service account's tokens (minted
    /// at its `/token`, as Google's token endpoint does) instead of API keys.
    /// Returns it with the key file's text, whose `token_uri` points here.
    pub async fn start_vertex_service_account() -> (Self, String) {
        use base64::Engine;
        let mock = Self::start(Kind::Vertex, "no-api-key-here", &[]).await;
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let public = base64::engine::general_purpose::STANDARD
            .decode(
                std::fs::read_to_string(fixtures.join("vertex-service-account.pub.der.b64"))
                    .unwrap()
                    .trim(),
            )
            .unwrap();
        mock.world.lock().service_account = Some(public);
        let mut key: Value = serde_json::from_str(
            &std::fs::read_to_string(fixtures.join("vertex-service-account.json")).unwrap(),
        )
        .unwrap();
        key["token_uri"] = json!(format!("http://{}/token", mock.addr));
        (mock, key.to_string())
    }

    /// How many tokens `/token` was asked for.
    pub fn token_requests(&self) -> usize {
        self.world.lock().token_requests
    }

    pub fn forget_key(&self, key: &str) {
        self.world.lock().keys.remove(key);
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn handle(State(mock): State<MockKeyed>, request: Request) -> Response {
    let method = request.method().to_string();
    let uri = request.uri().clone();
    let path = uri.path().to_owned();
    let headers = request.headers().clone();
    let raw = axum::body::to_bytes(request.into_body(), usize::MAX)
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    mock.world.lock().got.push(Got {
        method: method.clone(),
        path: path.clone(),
        headers: headers.clone(),
        raw: raw.clone(),
        body: body.clone(),
    });
    let query_key = uri
        .query()
        .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("key=")))
        .map(str::to_owned);
    let key = match mock.kind {
        Kind::OpenAi => header(&headers, "authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_owned),
        // Anthropic-compatible endpoints take `x-api-key`; some take Bearer.
        Kind::Anthropic => header(&headers, "x-api-key")
            .or_else(|| header(&headers, "authorization").and_then(|v| v.strip_prefix("Bearer ")))
            .map(str::to_owned),
        Kind::GeminiApi | Kind::Vertex => header(&headers, "x-goog-api-key")
            .map(str::to_owned)
            .or(query_key),
    };
    if method == "POST" && path == "/token" {
        return service_account_token(&mock, &raw);
    }
    let bearer = header(&headers, "authorization").and_then(|v| v.strip_prefix("Bearer "));
    let known = key
        .as_ref()
        .is_some_and(|k| mock.world.lock().keys.contains(k))
        || (mock.kind == Kind::Vertex
            && bearer.is_some_and(|t| mock.world.lock().tokens.contains(t)));
    if !known {
        return refuse_key(mock.kind, key.as_deref().unwrap_or(""));
    }
    match (mock.kind, method.as_str(), path.as_str()) {
        (Kind::OpenAi, "GET", "/v1/models") | (Kind::Anthropic, "GET", "/v1/models") => {
            let data: Vec<Value> = mock
                .world
                .lock()
                .models
                .iter()
                .map(|m| json!({"id": m, "object": "model", "type": "model", "display_name": m}))
                .collect();
            Json(json!({"object": "list", "data": data, "has_more": false})).into_response()
        }
        (Kind::GeminiApi, "GET", "/v1beta/models") => {
            let models: Vec<Value> = mock
                .world
                .lock()
                .models
                .iter()
                .map(|m| json!({"name": format!("models/{m}"), "displayName": m,
                    "inputTokenLimit": 1_048_576, "outputTokenLimit": 65_536,
                    "supportedGenerationMethods": ["generateContent", "countTokens"]}))
                .collect();
            Json(json!({"models": models})).into_response()
        }
        (Kind::OpenAi, "POST", "/v1/chat/completions") => openai_chat(&mock, &body),
        (Kind::OpenAi, "POST", "/v1/responses") if mock.world.lock().responses_api => {
            openai_responses(&mock, &body)
        }
        (Kind::Anthropic, "POST", "/v1/messages") => anthropic_messages(&mock, &headers, &body),
        (Kind::Anthropic, "POST", "/v1/messages/count_tokens") => {
            Json(json!({"input_tokens": words(&body.to_string())})).into_response()
        }
        (Kind::Vertex, "POST", p)
            if (p.starts_with("/v1/publishers/google/models/") || p.starts_with("/v1/projects/"))
                && (p.contains(":generateContent") || p.contains(":streamGenerateContent")) =>
        {
            gemini(&mock, p, &body)
        }
        (Kind::GeminiApi | Kind::Vertex, "POST", p) if p.contains(":countTokens") => {
            Json(json!({"totalTokens": words(&body["contents"].to_string())})).into_response()
        }
        (Kind::GeminiApi, "POST", p)
            if p.starts_with("/v1beta/models/")
                && (p.contains(":generateContent") || p.contains(":streamGenerateContent")) =>
        {
            gemini(&mock, p, &body)
        }
        _ => (StatusCode::NOT_FOUND, Json(json!({"error": {"message": format!("no route {method} {path}"), "type": "not_found"}}))).into_response(),
    }
}

/// The JWT-bearer grant: the assertion must be signed by the service
/// account's key, for the cloud-platform scope, addressed to this endpoint.
fn service_account_token(mock: &MockKeyed, form: &[u8]) -> Response {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let refuse = |why: &str| {
        error_response(
            400,
            vec![],
            json!({"error": "invalid_grant", "error_description": why}),
        )
    };
    let form: Vec<(String, String)> = url::form_urlencoded::parse(form).into_owned().collect();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    if field("grant_type").as_deref() != Some("urn:ietf:params:oauth:grant-type:jwt-bearer") {
        return refuse("unsupported grant_type");
    }
    let Some(assertion) = field("assertion") else {
        return refuse("no assertion");
    };
    let parts: Vec<&str> = assertion.split('.').collect();
    let Some(public) = mock.world.lock().service_account.clone() else {
        return refuse("no service account here");
    };
    if parts.len() != 3 {
        return refuse("malformed assertion");
    }
    let verifier = aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
        public,
    );
    let signature = b64.decode(parts[2]).unwrap_or_default();
    if verifier
        .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
        .is_err()
    {
        return refuse("Invalid JWT Signature.");
    }
    let claims: Value =
        serde_json::from_slice(&b64.decode(parts[1]).unwrap_or_default()).unwrap_or_default();
    if claims["aud"] != json!(format!("http://{}/token", mock.addr))
        || claims["scope"] != "https://www.googleapis.com/auth/cloud-platform"
    {
        return refuse("wrong audience or scope");
    }
    let mut world = mock.world.lock();
    world.token_requests += 1;
    let token = format!("ya29.mock-{}", world.token_requests);
    world.tokens.insert(token.clone());
    Json(json!({"access_token": token, "expires_in": 3599, "token_type": "Bearer"})).into_response()
}

fn words(text: &str) -> usize {
    text.split_whitespace().count()
}

fn refuse_key(kind: Kind, key: &str) -> Response {
    let (status, body) = match kind {
        Kind::OpenAi => (
            401,
            json!({"error": {"message": format!("Incorrect API key provided: {key}. You can find your API key at https://platform.openai.com/account/api-keys."), "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}}),
        ),
        Kind::Anthropic => (
            401,
            json!({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}),
        ),
        Kind::GeminiApi | Kind::Vertex => (
            400,
            json!({"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT",
            "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}}]}}),
        ),
    };
    (StatusCode::from_u16(status).unwrap(), Json(body)).into_response()
}

fn scripted(mock: &MockKeyed) -> Option<Script> {
    mock.world.lock().script.pop_front()
}

fn error_response(status: u16, headers: Vec<(String, String)>, body: Value) -> Response {
    let mut response = (StatusCode::from_u16(status).unwrap(), Json(body)).into_response();
    for (name, value) in headers {
        response.headers_mut().insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    response
}

fn sse(text: String) -> Response {
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from(text))
        .unwrap()
}

/// What to answer: a tool call when tools are declared and none has been
/// answered yet, the tool's result when one came back, else an echo.
enum Reply {
    Text(String),
    Call { name: String, args: Value },
}

fn reply(last_text: &str, tool: Option<(&str, Value)>, result: Option<String>) -> Reply {
    if let Some(result) = result {
        return Reply::Text(format!("tool said: {result}"));
    }
    if let Some((name, schema)) = tool {
        let mut args = serde_json::Map::new();
        for required in schema["required"].as_array().into_iter().flatten() {
            let name = required.as_str().unwrap_or_default();
            let value = match schema["properties"][name]["type"].as_str() {
                Some("integer" | "number" | "INTEGER" | "NUMBER") => json!(1),
                Some("boolean" | "BOOLEAN") => json!(true),
                _ => json!("x"),
            };
            args.insert(name.to_owned(), value);
        }
        return Reply::Call {
            name: name.to_owned(),
            args: Value::Object(args),
        };
    }
    Reply::Text(format!("echo: {last_text}"))
}

fn next_number(mock: &MockKeyed) -> usize {
    let mut world = mock.world.lock();
    world.answers += 1;
    world.answers
}

// ---- OpenAI ----

fn openai_chat(mock: &MockKeyed, body: &Value) -> Response {
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    if messages.is_empty() {
        return error_response(
            400,
            vec![],
            json!({"error": {"message": "messages must not be empty", "type": "invalid_request_error", "code": null}}),
        );
    }
    // A tool message must answer a call made before it.
    let mut calls: HashSet<String> = HashSet::new();
    for message in &messages {
        for call in message["tool_calls"].as_array().into_iter().flatten() {
            calls.insert(call["id"].as_str().unwrap_or_default().to_owned());
        }
        if message["role"] == "tool"
            && !calls.contains(message["tool_call_id"].as_str().unwrap_or_default())
        {
            return error_response(
                400,
                vec![],
                json!({"error": {"message": "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.", "type": "invalid_request_error", "param": "messages", "code": null}}),
            );
        }
    }
    match scripted(mock) {
        Some(Script::Error {
            status,
            headers,
            body,
        }) => return error_response(status, headers, body),
        Some(Script::Answer(answer)) => return Json(answer).into_response(),
        Some(Script::RawStream(text)) => return sse(text),
        None => {}
    }
    let number = next_number(mock);
    let last = messages.last().unwrap();
    let last_text = match &last["content"] {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts.iter().filter_map(|p| p["text"].as_str()).collect(),
        _ => String::new(),
    };
    let result =
        (last["role"] == "tool").then(|| last["content"].as_str().unwrap_or_default().to_owned());
    let tool = body["tools"].as_array().and_then(|t| t.first()).map(|t| {
        (
            t["function"]["name"].as_str().unwrap_or_default(),
            t["function"]["parameters"].clone(),
        )
    });
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    let reply = reply(
        &last_text,
        tool.as_ref().map(|(n, s)| (*n, s.clone())),
        result,
    );
    let usage = json!({"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13});
    if body["stream"] == json!(true) {
        let id = format!("chatcmpl-mock{number}");
        let chunk = |delta: Value, finish: Value| {
            format!(
                "data: {}\n\n",
                json!({"id": id, "object": "chat.completion.chunk", "created": 1, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
            )
        };
        let mut text = chunk(json!({"role": "assistant", "content": ""}), Value::Null);
        let finish = match &reply {
            Reply::Text(answer) => {
                let middle = answer.len() / 2;
                let middle = (0..=middle)
                    .rev()
                    .find(|i| answer.is_char_boundary(*i))
                    .unwrap_or(0);
                text.push_str(&chunk(json!({"content": &answer[..middle]}), Value::Null));
                text.push_str(&chunk(json!({"content": &answer[middle..]}), Value::Null));
                "stop"
            }
            Reply::Call { name, args } => {
                let arguments = args.to_string();
                let middle = arguments.len() / 2;
                text.push_str(&chunk(json!({"tool_calls": [{"index": 0, "id": format!("call_mock{number}"), "type": "function", "function": {"name": name, "arguments": &arguments[..middle]}}]}), Value::Null));
                text.push_str(&chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": &arguments[middle..]}}]}), Value::Null));
                "tool_calls"
            }
        };
        text.push_str(&chunk(json!({}), json!(finish)));
        if body["stream_options"]["include_usage"] == json!(true) {
            text.push_str(&format!("data: {}\n\n", json!({"id": id, "object": "chat.completion.chunk", "created": 1, "model": model, "choices": [], "usage": usage})));
        }
        text.push_str("data: [DONE]\n\n");
        return sse(text);
    }
    let (message, finish) = match reply {
        Reply::Text(answer) => (json!({"role": "assistant", "content": answer}), "stop"),
        Reply::Call { name, args } => (
            json!({"role": "assistant", "content": null, "tool_calls": [{"id": format!("call_mock{number}"), "type": "function", "function": {"name": name, "arguments": args.to_string()}}]}),
            "tool_calls",
        ),
    };
    Json(json!({"id": format!("chatcmpl-mock{number}"), "object": "chat.completion", "created": 1, "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}], "usage": usage}))
    .into_response()
}

// ---- OpenAI Responses ----

fn openai_responses(mock: &MockKeyed, body: &Value) -> Response {
    let items: Vec<Value> = match &body["input"] {
        Value::String(text) => vec![json!({"role": "user", "content": text})],
        Value::Array(items) => items.clone(),
        _ => Vec::new(),
    };
    let mut calls: HashSet<String> = HashSet::new();
    for item in &items {
        if item["type"] == "function_call" {
            calls.insert(item["call_id"].as_str().unwrap_or_default().to_owned());
        }
        if item["type"] == "function_call_output"
            && !calls.contains(item["call_id"].as_str().unwrap_or_default())
        {
            return error_response(
                400,
                vec![],
                json!({"error": {"message": format!("No tool call found for function call output with call_id {}.", item["call_id"]), "type": "invalid_request_error", "param": "input", "code": null}}),
            );
        }
    }
    match scripted(mock) {
        Some(Script::Error {
            status,
            headers,
            body,
        }) => return error_response(status, headers, body),
        Some(Script::Answer(answer)) => return Json(answer).into_response(),
        Some(Script::RawStream(text)) => return sse(text),
        None => {}
    }
    let number = next_number(mock);
    let last = items.last().cloned().unwrap_or(Value::Null);
    let last_text = match &last["content"] {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts.iter().filter_map(|p| p["text"].as_str()).collect(),
        _ => String::new(),
    };
    let result = (last["type"] == "function_call_output")
        .then(|| last["output"].as_str().unwrap_or_default().to_owned());
    let tool = body["tools"].as_array().and_then(|t| t.first()).map(|t| {
        (
            t["name"].as_str().unwrap_or_default(),
            t["parameters"].clone(),
        )
    });
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    let reply = reply(
        &last_text,
        tool.as_ref().map(|(n, s)| (*n, s.clone())),
        result,
    );
    let id = format!("resp_mock{number}");
    let item = match &reply {
        Reply::Text(text) => {
            json!({"type": "message", "id": format!("msg_mock{number}"), "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}]})
        }
        Reply::Call { name, args } => {
            json!({"type": "function_call", "id": format!("fc_mock{number}"), "call_id": format!("call_mock{number}"),
            "name": name, "arguments": args.to_string(), "status": "completed"})
        }
    };
    let response = |status: &str, output: Value| {
        json!({"id": id, "object": "response", "created_at": 1, "status": status, "model": model,
        "output": output, "usage": if status == "completed" { json!({"input_tokens": 9, "output_tokens": 4, "total_tokens": 13}) } else { Value::Null }})
    };
    if body["stream"] != json!(true) {
        return Json(response("completed", json!([item]))).into_response();
    }
    let mut sequence = 0;
    let mut text = String::new();
    let mut event = |name: &str, mut data: Value| {
        data["type"] = json!(name);
        data["sequence_number"] = json!(sequence);
        sequence += 1;
        text.push_str(&format!("event: {name}\ndata: {data}\n\n"));
    };
    event(
        "response.created",
        json!({"response": response("in_progress", json!([]))}),
    );
    match &reply {
        Reply::Text(answer) => {
            let mut added = item.clone();
            added["content"] = json!([]);
            added["status"] = json!("in_progress");
            event(
                "response.output_item.added",
                json!({"output_index": 0, "item": added}),
            );
            let middle = answer.len() / 2;
            let middle = (0..=middle)
                .rev()
                .find(|i| answer.is_char_boundary(*i))
                .unwrap_or(0);
            for piece in [&answer[..middle], &answer[middle..]] {
                event(
                    "response.output_text.delta",
                    json!({"output_index": 0, "content_index": 0, "item_id": item["id"], "delta": piece}),
                );
            }
            event(
                "response.output_text.done",
                json!({"output_index": 0, "content_index": 0, "item_id": item["id"], "text": answer}),
            );
        }
        Reply::Call { .. } => {
            let mut added = item.clone();
            added["arguments"] = json!("");
            added["status"] = json!("in_progress");
            event(
                "response.output_item.added",
                json!({"output_index": 0, "item": added}),
            );
            event(
                "response.function_call_arguments.delta",
                json!({"output_index": 0, "item_id": item["id"], "delta": item["arguments"]}),
            );
            event(
                "response.function_call_arguments.done",
                json!({"output_index": 0, "item_id": item["id"], "arguments": item["arguments"]}),
            );
        }
    }
    event(
        "response.output_item.done",
        json!({"output_index": 0, "item": item}),
    );
    event(
        "response.completed",
        json!({"response": response("completed", json!([item]))}),
    );
    sse(text)
}

// ---- Anthropic ----

fn anthropic_error(status: u16, kind: &str, message: &str) -> Response {
    error_response(
        status,
        vec![],
        json!({"type": "error", "error": {"type": kind, "message": message}}),
    )
}

fn anthropic_messages(mock: &MockKeyed, headers: &HeaderMap, body: &Value) -> Response {
    if header(headers, "anthropic-version").is_none() {
        return anthropic_error(
            400,
            "invalid_request_error",
            "anthropic-version: header is required",
        );
    }
    if !body["max_tokens"].is_u64() {
        return anthropic_error(400, "invalid_request_error", "max_tokens: Field required");
    }
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let mut previous_uses: HashSet<String> = HashSet::new();
    for message in &messages {
        let blocks = message["content"].as_array().cloned().unwrap_or_default();
        if message["role"] == "user" {
            for block in blocks.iter().filter(|b| b["type"] == "tool_result") {
                let id = block["tool_use_id"].as_str().unwrap_or_default();
                if !previous_uses.contains(id) {
                    return anthropic_error(
                        400,
                        "invalid_request_error",
                        &format!(
                            "messages: unexpected `tool_use_id` found in `tool_result` blocks: {id}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
                        ),
                    );
                }
            }
            previous_uses.clear();
        } else {
            previous_uses = blocks
                .iter()
                .filter(|b| b["type"] == "tool_use")
                .map(|b| b["id"].as_str().unwrap_or_default().to_owned())
                .collect();
        }
    }
    match scripted(mock) {
        Some(Script::Error {
            status,
            headers,
            body,
        }) => return error_response(status, headers, body),
        Some(Script::Answer(answer)) => return Json(answer).into_response(),
        Some(Script::RawStream(text)) => return sse(text),
        None => {}
    }
    let number = next_number(mock);
    let last = messages.last().cloned().unwrap_or(Value::Null);
    let last_blocks: Vec<Value> = match &last["content"] {
        Value::String(text) => vec![json!({"type": "text", "text": text})],
        Value::Array(blocks) => blocks.clone(),
        _ => Vec::new(),
    };
    let last_text: String = last_blocks
        .iter()
        .filter_map(|b| b["text"].as_str())
        .collect();
    let result =
        last_blocks
            .iter()
            .find(|b| b["type"] == "tool_result")
            .map(|b| match &b["content"] {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            });
    let tool = body["tools"].as_array().and_then(|t| t.first()).map(|t| {
        (
            t["name"].as_str().unwrap_or_default(),
            t["input_schema"].clone(),
        )
    });
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    let reply = reply(
        &last_text,
        tool.as_ref().map(|(n, s)| (*n, s.clone())),
        result,
    );
    let id = format!("msg_mock{number}");
    let (block, stop) = match &reply {
        Reply::Text(text) => (json!({"type": "text", "text": text}), "end_turn"),
        Reply::Call { name, args } => (
            json!({"type": "tool_use", "id": format!("toolu_mock{number}"), "name": name, "input": args}),
            "tool_use",
        ),
    };
    if body["stream"] == json!(true) {
        let event = |name: &str, data: Value| format!("event: {name}\ndata: {data}\n\n");
        let mut text = event(
            "message_start",
            json!({"type": "message_start", "message": {"id": id, "type": "message", "role": "assistant", "model": model, "content": [], "stop_reason": null, "usage": {"input_tokens": 9, "output_tokens": 1}}}),
        );
        text.push_str(&event("ping", json!({"type": "ping"})));
        match &reply {
            Reply::Text(answer) => {
                text.push_str(&event("content_block_start", json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})));
                let middle = answer.len() / 2;
                let middle = (0..=middle)
                    .rev()
                    .find(|i| answer.is_char_boundary(*i))
                    .unwrap_or(0);
                for piece in [&answer[..middle], &answer[middle..]] {
                    text.push_str(&event("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}})));
                }
            }
            Reply::Call { name, args } => {
                text.push_str(&event("content_block_start", json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": block["id"], "name": name, "input": {}}})));
                let arguments = args.to_string();
                let middle = arguments.len() / 2;
                for piece in [&arguments[..middle], &arguments[middle..]] {
                    text.push_str(&event("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": piece}})));
                }
            }
        }
        text.push_str(&event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ));
        text.push_str(&event("message_delta", json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null}, "usage": {"output_tokens": 4}})));
        text.push_str(&event("message_stop", json!({"type": "message_stop"})));
        return sse(text);
    }
    Json(json!({"id": id, "type": "message", "role": "assistant", "model": model, "content": [block],
        "stop_reason": stop, "stop_sequence": null, "usage": {"input_tokens": 9, "output_tokens": 4}}))
    .into_response()
}

// ---- Gemini API ----

fn gemini(mock: &MockKeyed, path: &str, body: &Value) -> Response {
    if body.get("request").is_some() || body.get("project").is_some() {
        return error_response(
            400,
            vec![],
            json!({"error": {"code": 400, "message": "Invalid JSON payload received. Unknown name \"request\": Cannot find field.", "status": "INVALID_ARGUMENT"}}),
        );
    }
    let streaming = path.contains(":streamGenerateContent");
    match scripted(mock) {
        Some(Script::Error {
            status,
            headers,
            body,
        }) => return error_response(status, headers, body),
        Some(Script::Answer(answer)) => return Json(answer).into_response(),
        Some(Script::RawStream(text)) => return sse(text),
        None => {}
    }
    next_number(mock);
    let model = path
        .rsplit('/')
        .next()
        .and_then(|m| m.split(':').next())
        .unwrap_or_default()
        .to_owned();
    let contents = body["contents"].as_array().cloned().unwrap_or_default();
    let last_parts = contents
        .last()
        .and_then(|c| c["parts"].as_array())
        .cloned()
        .unwrap_or_default();
    let last_text: String = last_parts
        .iter()
        .filter_map(|p| p["text"].as_str())
        .collect();
    let result = last_parts
        .iter()
        .find_map(|p| p.get("functionResponse"))
        .map(|r| r["response"].to_string());
    let tool = body["tools"]
        .as_array()
        .and_then(|t| t.iter().find_map(|t| t["functionDeclarations"].as_array()))
        .and_then(|d| d.first())
        .map(|d| {
            (
                d["name"].as_str().unwrap_or_default(),
                d["parameters"].clone(),
            )
        });
    let reply = reply(
        &last_text,
        tool.as_ref().map(|(n, s)| (*n, s.clone())),
        result,
    );
    let part = match &reply {
        Reply::Text(text) => json!({"text": text}),
        Reply::Call { name, args } => json!({"functionCall": {"name": name, "args": args}}),
    };
    let usage = json!({"promptTokenCount": 9, "candidatesTokenCount": 4, "totalTokenCount": 13});
    if streaming {
        let mut text = String::new();
        if let Reply::Text(answer) = &reply {
            let middle = answer.len() / 2;
            let middle = (0..=middle)
                .rev()
                .find(|i| answer.is_char_boundary(*i))
                .unwrap_or(0);
            text.push_str(&format!("data: {}\r\n\r\n", json!({"candidates": [{"content": {"role": "model", "parts": [{"text": &answer[..middle]}]}, "index": 0}], "modelVersion": model})));
            text.push_str(&format!("data: {}\r\n\r\n", json!({"candidates": [{"content": {"role": "model", "parts": [{"text": &answer[middle..]}]}, "finishReason": "STOP", "index": 0}], "usageMetadata": usage, "modelVersion": model})));
        } else {
            text.push_str(&format!("data: {}\r\n\r\n", json!({"candidates": [{"content": {"role": "model", "parts": [part]}, "finishReason": "STOP", "index": 0}], "usageMetadata": usage, "modelVersion": model})));
        }
        return sse(text);
    }
    Json(json!({"candidates": [{"content": {"role": "model", "parts": [part]}, "finishReason": "STOP", "index": 0}], "usageMetadata": usage, "modelVersion": model})).into_response()
}

impl super::TestGateway {
    /// Adds `mock` as the upstream `name` (checked live, as `upstreams add`
    /// does) and reloads the pool.
    pub async fn add_upstream(
        &self,
        name: &str,
        mock: &MockKeyed,
        key: &str,
        models: &[&str],
        priority: i32,
    ) -> i64 {
        use switchyard::accounts::upstreams::{UpstreamInput, add};
        let kind = switchyard::store::UpstreamKind::parse(mock.kind_name()).unwrap();
        let client = switchyard::upstream::keyed::KeyedClient::new(reqwest::Client::new());
        let added = add(
            &client,
            &self.store,
            UpstreamInput {
                name: name.to_owned(),
                kind,
                base_url: Some(mock.base_url()),
                key: switchyard::secret::Secret::new(key),
                models: models.iter().map(|m| (*m).to_owned()).collect(),
                headers: Vec::new(),
                priority,
                project: None,
                location: None,
                skip_check: false,
                service_account: false,
                bearer: false,
            },
        )
        .await
        .unwrap();
        self.reload_pool();
        added.id
    }

    /// Loads the pool from the store again (as the reload job does).
    pub fn reload_pool(&self) {
        self.gateway.state().pool.load(
            &self.store.accounts().unwrap(),
            &self.store.quotas().unwrap(),
            &self.store.limits(0).unwrap(),
        );
    }
}
