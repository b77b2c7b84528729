//! Shared set-up for the SDK compatibility tests (`tests/sdk_*.rs`): the real
//! binary with one account in front of the mock upstream, a runner for the
//! Python scripts in `tests/sdk/`, and the check that every thought signature
//! the mock issued came back with the next request of its conversation.
//!
//! The test files include it with `#[path = "support/sdk.rs"] mod sdk;`, so
//! it only names `crate::support` items and works as `support::sdk` too.
// Each SDK test uses a part of this file; a failed set-up is a failed test.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures::StreamExt;
use serde_json::Value;
use switchyard::config::AuthMode;

use crate::support::{Binary, MockGoogle, Received, RunningMock, ServeProcess};

/// The Python that has the pinned SDKs.
pub fn sdk_python() -> PathBuf {
    if let Some(python) = std::env::var_os("SWITCHYARD_SDK_PYTHON") {
        return python.into();
    }
    let venv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-sdk/bin/python");
    assert!(
        venv.exists(),
        "the SDK tests need the pinned SDKs: run `bash scripts/test.sh` (it creates .venv-sdk), \
         or set SWITCHYARD_SDK_PYTHON to a Python that has tests/sdk/requirements.txt installed"
    );
    venv
}

/// Variables that would point an SDK elsewhere or give it other credentials.
const SDK_ENV: &[&str] = &[
    "OPENAI_BASE_URL",
    "OPENAI_API_KEY",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_PROFILE",
    "GOOGLE_GEMINI_BASE_URL",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GOOGLE_GENAI_API_VERSION",
    "GOOGLE_GENAI_USE_VERTEXAI",
];

/// How long one script may run before the test gives up on it.
const SCRIPT_LIMIT: Duration = Duration::from_secs(120);

/// `switchyard serve` (the real binary, `auth_mode = strict`) with one
/// account added by `accounts add`, in front of the mock upstream.
pub struct SdkGateway {
    // Fields drop in order: the server stops before its home is removed.
    pub serve: ServeProcess,
    pub binary: Binary,
    pub mock: RunningMock,
    pub api_key: String,
}

impl SdkGateway {
    pub async fn start() -> Self {
        Self::start_inner(false).await
    }

    /// The same, with [`start_signature_relay`] between the gateway and the
    /// mock's Code Assist endpoints, for SDKs that decode signatures as base64.
    pub async fn start_with_base64_signatures() -> Self {
        Self::start_inner(true).await
    }

    /// The same with a personal account on the Antigravity client (the risk
    /// accepted), which offers Google's Claude models.
    pub async fn start_antigravity() -> Self {
        let mock = MockGoogle::start().await;
        mock.mock.add_personal("1//sdk-account", "sdk@example.com");
        let mut config = mock.config();
        config.google.antigravity_risk_accepted = true;
        Self::start_with(mock, config, false).await
    }

    async fn start_inner(base64_signatures: bool) -> Self {
        let mock = MockGoogle::start().await;
        mock.mock
            .add_account("1//sdk-account", "sdk@example.com", true);
        let config = mock.config();
        Self::start_with(mock, config, base64_signatures).await
    }

    async fn start_with(
        mock: RunningMock,
        mut config: switchyard::config::Config,
        base64_signatures: bool,
    ) -> Self {
        config.gateway.auth_mode = AuthMode::Strict;
        if base64_signatures {
            config.google.code_assist_url = start_signature_relay(mock.url()).await;
        }
        let api_key = config.gateway.api_key.clone();
        let binary = Binary::with_config(&config);
        let (ok, stdout, stderr) = binary
            .run(&["accounts", "add", "--refresh-token", "1//sdk-account"])
            .await;
        assert!(ok, "{stderr}");
        assert!(stdout.contains("added sdk@example.com"), "{stdout}");
        let serve = binary.serve(&[]).await;
        Self {
            serve,
            binary,
            mock,
            api_key,
        }
    }

    /// Runs `tests/sdk/{script}` with `BASE_URL` (the gateway's origin plus
    /// `base_path`), `API_KEY` and `env`; panics with the script's output and
    /// the gateway's log unless it succeeds. Returns its stdout.
    pub async fn run_script(&self, script: &str, base_path: &str, env: &[(&str, &str)]) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/sdk")
            .join(script);
        let out_path = self.binary.home.path().join(format!("{script}.stdout"));
        let err_path = self.binary.home.path().join(format!("{script}.stderr"));
        let mut command = std::process::Command::new(sdk_python());
        command
            .arg(&path)
            .env("BASE_URL", self.serve.url(base_path))
            .env("API_KEY", &self.api_key)
            .env("PYTHONUNBUFFERED", "1")
            .env("NO_PROXY", "127.0.0.1,localhost")
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(&out_path).unwrap())
            .stderr(std::fs::File::create(&err_path).unwrap());
        for name in SDK_ENV {
            command.env_remove(name);
        }
        for (name, value) in env {
            command.env(name, value);
        }
        let status = tokio::task::spawn_blocking(move || {
            let mut child = command.spawn().unwrap();
            let started = Instant::now();
            loop {
                if let Some(status) = child.try_wait().unwrap() {
                    return Some(status);
                }
                if started.elapsed() > SCRIPT_LIMIT {
                    let _ = child.kill();
                    let _ = child.wait();
                    return None;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
        .await
        .unwrap();
        let out = std::fs::read_to_string(&out_path).unwrap_or_default();
        let err = std::fs::read_to_string(&err_path).unwrap_or_default();
        assert!(
            status.is_some_and(|s| s.success()),
            "{script} {env:?} failed ({}):\n{out}\n{err}\ngateway log:\n{}",
            status.map_or("timed out".to_owned(), |s| s.to_string()),
            self.serve.stderr()
        );
        out
    }

    /// Every generate request the mock received so far.
    pub fn received(&self) -> Vec<Received> {
        self.mock.mock.received()
    }
}

/// The signatures the mock's default answer to `request` (number `number`)
/// carried: (thought, function call).
fn issued(request: &Received, number: usize) -> (Option<String>, Option<String>) {
    if request.method == "countTokens" {
        return (None, None);
    }
    let body = &request.body["request"];
    let thinking =
        body["generationConfig"]["thinkingConfig"]["includeThoughts"] == Value::Bool(true);
    let tools = body["tools"].as_array().is_some_and(|tools| {
        tools.iter().any(|t| {
            t["functionDeclarations"]
                .as_array()
                .is_some_and(|d| !d.is_empty())
        })
    });
    let after_tool_result = last_turn_has(&request.body, "functionResponse");
    let prefix = crate::support::signature_prefix(request.body["model"].as_str().unwrap_or(""));
    (
        thinking.then(|| format!("{prefix}{number}-thought")),
        (tools && !after_tool_result).then(|| format!("{prefix}{number}-call")),
    )
}

fn contents(body: &Value) -> &[Value] {
    body["request"]["contents"]
        .as_array()
        .map_or(&[], Vec::as_slice)
}

fn last_turn_has(body: &Value, key: &str) -> bool {
    contents(body).last().is_some_and(|c| {
        c["parts"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p.get(key).is_some()))
    })
}

/// Parts of model turns, with the index of their turn.
fn model_parts(body: &Value) -> impl Iterator<Item = (usize, &Value)> {
    contents(body)
        .iter()
        .enumerate()
        .filter(|(_, c)| c["role"] == "model")
        .flat_map(|(i, c)| {
            c["parts"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |p| (i, p))
        })
}

/// How many signatures came back, of each kind.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SignaturesBack {
    pub calls: usize,
    pub thoughts: usize,
}

/// Checks the signatures in what the mock received:
/// - every request whose answer was a signed function call is followed, as
///   the very next request, by the same conversation continued with a tool
///   result (two turns longer), whose functionCall part carries `sig-{n}-call`;
/// - when `thoughts_come_back` (the protocol returns thoughts to the client),
///   that continuation also has a thought part carrying `sig-{n}-thought`;
/// - anywhere, a mock signature sits only on the part kind it was issued on
///   (calls on functionCall parts, thoughts on thought parts), in a model
///   turn, and names an earlier request that issued it.
///
/// Returns how many call and thought signatures came back.
pub fn assert_signatures_came_back(
    received: &[Received],
    thoughts_come_back: bool,
) -> SignaturesBack {
    let dump = || {
        received
            .iter()
            .enumerate()
            .map(|(i, r)| format!("#{} {} {}", i + 1, r.method, r.body["request"]["contents"]))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let issued_all: Vec<(Option<String>, Option<String>)> = received
        .iter()
        .enumerate()
        .map(|(i, r)| issued(r, i + 1))
        .collect();
    let mut back = SignaturesBack::default();
    for (i, request) in received.iter().enumerate() {
        let number = i + 1;
        let (thought, call) = &issued_all[i];
        let Some(call) = call else { continue };
        let Some(next) = received.get(i + 1) else {
            panic!(
                "request #{number} got a call signed {call}, but no request followed:\n{}",
                dump()
            );
        };
        assert_ne!(
            next.method,
            "countTokens",
            "request #{number}'s call was not continued:\n{}",
            dump()
        );
        assert_eq!(
            contents(&next.body).len(),
            contents(&request.body).len() + 2,
            "request #{} does not continue #{number} with the model turn and a tool result:\n{}",
            number + 1,
            dump()
        );
        assert!(
            last_turn_has(&next.body, "functionResponse"),
            "request #{} does not end with the tool result for #{number}:\n{}",
            number + 1,
            dump()
        );
        let turn = contents(&request.body).len();
        let parts: Vec<&Value> = model_parts(&next.body)
            .filter(|(t, _)| *t == turn)
            .map(|(_, p)| p)
            .collect();
        assert!(
            parts
                .iter()
                .any(|p| p.get("functionCall").is_some()
                    && p["thoughtSignature"].as_str() == Some(call)),
            "request #{} sent request #{number}'s call back without its signature {call}: {parts:?}\n{}",
            number + 1,
            dump()
        );
        back.calls += 1;
        if thoughts_come_back && let Some(thought) = thought {
            assert!(
                parts.iter().any(|p| p["thought"] == Value::Bool(true)
                    && p["thoughtSignature"].as_str() == Some(thought)),
                "request #{} sent request #{number}'s thought back without its signature {thought}: {parts:?}\n{}",
                number + 1,
                dump()
            );
            back.thoughts += 1;
        }
    }
    // No signature in the wrong place, or made up.
    for (i, request) in received.iter().enumerate() {
        for content in contents(&request.body) {
            for part in content["parts"].as_array().into_iter().flatten() {
                let Some(signature) = part["thoughtSignature"].as_str() else {
                    continue;
                };
                let Some((number, kind)) = signature
                    .strip_prefix("claude-sig-")
                    .or_else(|| signature.strip_prefix("sig-"))
                    .and_then(|s| s.split_once('-'))
                    .and_then(|(n, kind)| Some((n.parse::<usize>().ok()?, kind)))
                else {
                    continue;
                };
                let context = || format!("request #{}: {part} in {content}\n{}", i + 1, dump());
                assert_eq!(
                    content["role"],
                    "model",
                    "a signature outside a model turn: {}",
                    context()
                );
                assert!(
                    number >= 1 && number <= i,
                    "a signature from no earlier request: {}",
                    context()
                );
                let (thought, call) = &issued_all[number - 1];
                match kind {
                    "call" => {
                        assert_eq!(call.as_deref(), Some(signature), "{}", context());
                        assert!(
                            part.get("functionCall").is_some(),
                            "a call signature off its call: {}",
                            context()
                        );
                    }
                    "thought" => {
                        assert_eq!(thought.as_deref(), Some(signature), "{}", context());
                        assert!(
                            part["thought"] == Value::Bool(true),
                            "a thought signature off its thought: {}",
                            context()
                        );
                    }
                    _ => panic!("an unknown signature: {}", context()),
                }
            }
        }
    }
    back
}

/// Starts a relay to `upstream` (the mock) and returns its URL. It passes every
/// request and answer through, except thought signatures: the mock's
/// `sig-{n}-{kind}` go to the gateway base64-encoded, as Google's signatures
/// are (google-genai decodes them as base64 and refuses anything else), and
/// come back decoded, so the mock records them as it issued them. A signature
/// the gateway altered is not valid base64 of `sig-…` and reaches the mock as it is.
pub async fn start_signature_relay(upstream: String) -> String {
    let relay = Relay {
        upstream,
        client: reqwest::Client::new(),
    };
    let app = axum::Router::new()
        .fallback(relay_request)
        .with_state(relay);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    format!("http://{addr}")
}

#[derive(Clone)]
struct Relay {
    upstream: String,
    client: reqwest::Client,
}

async fn relay_request(State(relay): State<Relay>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut outgoing = relay
        .client
        .request(parts.method.clone(), format!("{}{path}", relay.upstream))
        .body(rewrite_json(&body, decode_signature));
    for (name, value) in &parts.headers {
        if name != HOST && name != CONTENT_LENGTH {
            outgoing = outgoing.header(name, value);
        }
    }
    let answer = outgoing.send().await.unwrap();
    let mut response = Response::builder().status(answer.status());
    let content_type = answer.headers().get(CONTENT_TYPE).cloned();
    let is_sse = content_type
        .as_ref()
        .is_some_and(|c| c.as_bytes().starts_with(b"text/event-stream"));
    if let Some(content_type) = content_type {
        response = response.header(CONTENT_TYPE, content_type);
    }
    let body = if is_sse {
        // Whole lines only: an event may arrive in pieces.
        let lines = answer
            .bytes_stream()
            .scan(Vec::<u8>::new(), |pending, chunk| {
                let out = chunk.map_err(std::io::Error::other).map(|bytes| {
                    pending.extend_from_slice(&bytes);
                    let mut out = Vec::new();
                    while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                        let line: Vec<u8> = pending.drain(..=end).collect();
                        out.extend(rewrite_sse_line(&line));
                    }
                    Bytes::from(out)
                });
                futures::future::ready(Some(out))
            });
        Body::from_stream(lines)
    } else {
        Body::from(rewrite_json(
            &answer.bytes().await.unwrap(),
            encode_signature,
        ))
    };
    response.body(body).unwrap()
}

fn encode_signature(signature: &str) -> String {
    if signature.starts_with("sig-") {
        STANDARD.encode(signature)
    } else {
        signature.to_owned()
    }
}

fn decode_signature(signature: &str) -> String {
    STANDARD
        .decode(signature)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|decoded| decoded.starts_with("sig-"))
        .unwrap_or_else(|| signature.to_owned())
}

/// `body` with every `thoughtSignature` string mapped by `map`; bodies that
/// are not JSON pass unchanged.
fn rewrite_json(body: &[u8], map: fn(&str) -> String) -> Vec<u8> {
    match serde_json::from_slice::<Value>(body) {
        Ok(mut value) => {
            map_signatures(&mut value, map);
            serde_json::to_vec(&value).unwrap()
        }
        Err(_) => body.to_vec(),
    }
}

fn map_signatures(value: &mut Value, map: fn(&str) -> String) {
    match value {
        Value::Object(object) => {
            for (key, value) in object.iter_mut() {
                match value {
                    Value::String(signature) if key == "thoughtSignature" => {
                        *signature = map(signature);
                    }
                    _ => map_signatures(value, map),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| map_signatures(v, map)),
        _ => {}
    }
}

fn rewrite_sse_line(line: &[u8]) -> Vec<u8> {
    let Some(data) = line.strip_prefix(b"data:") else {
        return line.to_vec();
    };
    let ending: &[u8] = if line.ends_with(b"\r\n") {
        b"\r\n"
    } else {
        b"\n"
    };
    let payload = data.trim_ascii();
    let mut out = b"data: ".to_vec();
    out.extend(rewrite_json(payload, encode_signature));
    out.extend_from_slice(ending);
    out
}
