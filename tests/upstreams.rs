//! API-key upstreams end to end over HTTP: every client protocol against
//! every upstream kind (text, streams, a tool round trip), the fallback from
//! exhausted Google accounts by a routing rule and back, per-upstream
//! cool-downs from `Retry-After`, rejected keys, and keys kept out of every
//! output.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::keyed::{Kind, MockKeyed, Script};
use support::{MockGoogle, Scripted, TestGateway, sse_data};
use switchyard::config::Config;

const KEY: &str = "sk-upstream-secret-0123456789abcdef";
const MODEL: &str = "up-model";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Client {
    Chat,
    Responses,
    Anthropic,
    Gemini,
}

const CLIENTS: [Client; 4] = [
    Client::Chat,
    Client::Responses,
    Client::Anthropic,
    Client::Gemini,
];
const KINDS: [Kind; 4] = [Kind::OpenAi, Kind::Anthropic, Kind::GeminiApi, Kind::Vertex];

fn weather_schema() -> Value {
    json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
}

/// The request a client of `client` sends: `text` from the user, optionally
/// with the weather tool and (the second turn) the tool call and its result.
fn request(
    client: Client,
    text: &str,
    tools: bool,
    call: Option<&(String, String)>,
) -> (String, Value) {
    match client {
        Client::Chat => {
            let mut messages = vec![json!({"role": "user", "content": text})];
            if let Some((id, args)) = call {
                messages.push(json!({"role": "assistant", "content": null, "tool_calls": [{"id": id, "type": "function", "function": {"name": "weather", "arguments": args}}]}));
                messages.push(json!({"role": "tool", "tool_call_id": id, "content": "22 C"}));
            }
            let mut body = json!({"model": MODEL, "messages": messages});
            if tools {
                body["tools"] = json!([{"type": "function", "function": {"name": "weather", "parameters": weather_schema()}}]);
            }
            ("/v1/chat/completions".into(), body)
        }
        Client::Responses => {
            let mut input = vec![json!({"role": "user", "content": text})];
            if let Some((id, args)) = call {
                input.push(json!({"type": "function_call", "call_id": id, "name": "weather", "arguments": args}));
                input
                    .push(json!({"type": "function_call_output", "call_id": id, "output": "22 C"}));
            }
            let mut body = json!({"model": MODEL, "input": input});
            if tools {
                body["tools"] = json!([{"type": "function", "name": "weather", "parameters": weather_schema()}]);
            }
            ("/v1/responses".into(), body)
        }
        Client::Anthropic => {
            let mut messages = vec![json!({"role": "user", "content": text})];
            if let Some((id, args)) = call {
                let input: Value = serde_json::from_str(args).unwrap();
                messages.push(json!({"role": "assistant", "content": [{"type": "tool_use", "id": id, "name": "weather", "input": input}]}));
                messages.push(json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "content": "22 C"}]}));
            }
            let mut body = json!({"model": MODEL, "max_tokens": 200, "messages": messages});
            if tools {
                body["tools"] = json!([{"name": "weather", "input_schema": weather_schema()}]);
            }
            ("/v1/messages".into(), body)
        }
        Client::Gemini => {
            let mut contents = vec![json!({"role": "user", "parts": [{"text": text}]})];
            if let Some((_, args)) = call {
                let args: Value = serde_json::from_str(args).unwrap();
                contents.push(json!({"role": "model", "parts": [{"functionCall": {"name": "weather", "args": args}}]}));
                contents.push(json!({"role": "user", "parts": [{"functionResponse": {"name": "weather", "response": {"output": "22 C"}}}]}));
            }
            let mut body = json!({"contents": contents});
            if tools {
                body["tools"] = json!([{"functionDeclarations": [{"name": "weather", "parameters": weather_schema()}]}]);
            }
            (format!("/v1beta/models/{MODEL}:generateContent"), body)
        }
    }
}

/// What came back: its text, and the tool call (id, JSON arguments) if any.
struct Answer {
    text: String,
    call: Option<(String, String)>,
}

async fn send(
    gateway: &TestGateway,
    client: Client,
    text: &str,
    tools: bool,
    call: Option<&(String, String)>,
    stream: bool,
) -> Answer {
    let (mut path, mut body) = request(client, text, tools, call);
    if stream {
        match client {
            Client::Gemini => {
                path = path.replace(":generateContent", ":streamGenerateContent?alt=sse")
            }
            _ => body["stream"] = json!(true),
        }
    }
    let response = gateway
        .client
        .post(gateway.url(&path))
        .header("anthropic-version", "2023-06-01")
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    if !status.is_success() {
        panic!(
            "{client:?} stream={stream}: HTTP {status}: {}",
            response.text().await.unwrap()
        );
    }
    if stream {
        let events: Vec<Value> = sse_data(response)
            .await
            .into_iter()
            .filter(|d| d != "[DONE]")
            .map(|d| serde_json::from_str(&d).unwrap())
            .collect();
        read_stream(client, &events)
    } else {
        read_whole(client, &response.json().await.unwrap())
    }
}

fn read_whole(client: Client, body: &Value) -> Answer {
    match client {
        Client::Chat => {
            let message = &body["choices"][0]["message"];
            Answer {
                text: message["content"].as_str().unwrap_or_default().to_owned(),
                call: message["tool_calls"][0].as_object().map(|c| {
                    (
                        c["id"].as_str().unwrap().to_owned(),
                        c["function"]["arguments"].as_str().unwrap().to_owned(),
                    )
                }),
            }
        }
        Client::Responses => {
            let output = body["output"].as_array().cloned().unwrap_or_default();
            Answer {
                text: output
                    .iter()
                    .flat_map(|o| o["content"].as_array().cloned().unwrap_or_default())
                    .filter_map(|c| c["text"].as_str().map(str::to_owned))
                    .collect(),
                call: output
                    .iter()
                    .find(|o| o["type"] == "function_call")
                    .map(|c| {
                        (
                            c["call_id"].as_str().unwrap().to_owned(),
                            c["arguments"].as_str().unwrap().to_owned(),
                        )
                    }),
            }
        }
        Client::Anthropic => {
            let content = body["content"].as_array().cloned().unwrap_or_default();
            Answer {
                text: content.iter().filter_map(|b| b["text"].as_str()).collect(),
                call: content
                    .iter()
                    .find(|b| b["type"] == "tool_use")
                    .map(|b| (b["id"].as_str().unwrap().to_owned(), b["input"].to_string())),
            }
        }
        Client::Gemini => {
            let parts = body["candidates"][0]["content"]["parts"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            Answer {
                text: parts.iter().filter_map(|p| p["text"].as_str()).collect(),
                call: parts.iter().find_map(|p| p.get("functionCall")).map(|c| {
                    (
                        c["id"].as_str().unwrap_or("no-id").to_owned(),
                        c["args"].to_string(),
                    )
                }),
            }
        }
    }
}

fn read_stream(client: Client, events: &[Value]) -> Answer {
    let mut text = String::new();
    let mut call: Option<(String, String)> = None;
    match client {
        Client::Chat => {
            for event in events {
                let delta = &event["choices"][0]["delta"];
                text.push_str(delta["content"].as_str().unwrap_or_default());
                for tool in delta["tool_calls"].as_array().into_iter().flatten() {
                    let entry = call.get_or_insert_with(|| (String::new(), String::new()));
                    if let Some(id) = tool["id"].as_str() {
                        entry.0 = id.to_owned();
                    }
                    entry
                        .1
                        .push_str(tool["function"]["arguments"].as_str().unwrap_or_default());
                }
            }
        }
        Client::Responses => {
            for event in events {
                if event["type"] == "response.output_text.delta" {
                    text.push_str(event["delta"].as_str().unwrap_or_default());
                }
                if event["type"] == "response.output_item.done"
                    && event["item"]["type"] == "function_call"
                {
                    call = Some((
                        event["item"]["call_id"].as_str().unwrap().to_owned(),
                        event["item"]["arguments"].as_str().unwrap().to_owned(),
                    ));
                }
            }
        }
        Client::Anthropic => {
            for event in events {
                match event["type"].as_str() {
                    Some("content_block_start") if event["content_block"]["type"] == "tool_use" => {
                        call = Some((
                            event["content_block"]["id"].as_str().unwrap().to_owned(),
                            String::new(),
                        ));
                    }
                    Some("content_block_delta") => {
                        text.push_str(event["delta"]["text"].as_str().unwrap_or_default());
                        if let (Some(c), Some(json)) =
                            (call.as_mut(), event["delta"]["partial_json"].as_str())
                        {
                            c.1.push_str(json);
                        }
                    }
                    _ => {}
                }
            }
        }
        Client::Gemini => {
            for event in events {
                for part in event["candidates"][0]["content"]["parts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    text.push_str(part["text"].as_str().unwrap_or_default());
                    if let Some(c) = part.get("functionCall") {
                        call = Some((
                            c["id"].as_str().unwrap_or("no-id").to_owned(),
                            c["args"].to_string(),
                        ));
                    }
                }
            }
        }
    }
    Answer { text, call }
}

/// A gateway with no Google account and one upstream of `kind` serving MODEL.
async fn gateway_with(kind: Kind) -> (TestGateway, MockKeyed) {
    let mock = MockKeyed::start(kind, KEY, &[MODEL, "other-model"]).await;
    let gateway = TestGateway::start(Config::default()).await;
    // Vertex lists no models per key: it serves what its globs say.
    let globs: &[&str] = if kind == Kind::Vertex { &[MODEL] } else { &[] };
    gateway.add_upstream("up", &mock, KEY, globs, 0).await;
    (gateway, mock)
}

#[tokio::test]
async fn every_client_protocol_reaches_every_upstream_kind() {
    for kind in KINDS {
        let (gateway, mock) = gateway_with(kind).await;
        for client in CLIENTS {
            for stream in [false, true] {
                let what = format!("{client:?} → {kind:?} (stream {stream})");
                let answer = send(&gateway, client, "hello there", false, None, stream).await;
                assert_eq!(answer.text, "echo: hello there", "{what}");
                // A tool round trip: the upstream calls the tool, the client
                // answers, the upstream reads the result.
                let first = send(&gateway, client, "weather?", true, None, stream).await;
                let call = first
                    .call
                    .unwrap_or_else(|| panic!("{what}: no tool call, text {:?}", first.text));
                let args: Value = serde_json::from_str(&call.1).unwrap();
                assert_eq!(args, json!({"city": "x"}), "{what}");
                let second = send(&gateway, client, "weather?", true, Some(&call), stream).await;
                assert!(
                    second.text.contains("tool said") && second.text.contains("22 C"),
                    "{what}: {:?}",
                    second.text
                );
            }
        }
        // The model list names what the upstream serves.
        let listed = gateway.get_json("/v1/models").await;
        let ids: Vec<&str> = listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["id"].as_str())
            .collect();
        // (Vertex serves what its globs name; the others what they list.)
        assert!(ids.contains(&MODEL), "{kind:?}: {ids:?}");
        assert_eq!(
            ids.contains(&"other-model"),
            kind != Kind::Vertex,
            "{kind:?}: {ids:?}"
        );
        // Every call reached the upstream under its own model name, with the key.
        let generations = mock.generations();
        assert_eq!(generations.len(), CLIENTS.len() * 2 * 3, "{kind:?}");
        for got in &generations {
            let named = got.body["model"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| got.path.clone());
            assert!(named.contains(MODEL), "{kind:?}: {named}");
        }
        gateway.gateway.stop().await;
    }
}

/// Two Google accounts, both out of quota for gemini-2.5-pro until a few
/// seconds from now, and a routing rule naming an upstream next.
#[tokio::test]
async fn exhausted_google_accounts_fall_back_to_the_routed_upstream_and_come_back() {
    let google = MockGoogle::start().await;
    google.mock.add_account("refresh-a", "a@example.com", true);
    google.mock.add_account("refresh-b", "b@example.com", true);
    let keyed = MockKeyed::start(Kind::GeminiApi, KEY, &["gemini-2.5-pro"]).await;
    let mut config = google.config();
    config
        .routing
        .insert("gemini-*".into(), vec!["google".into(), "studio".into()]);
    let gateway = TestGateway::start(config).await;
    gateway
        .add_account("refresh-a", "a@example.com", "project-a")
        .await;
    gateway
        .add_account("refresh-b", "b@example.com", "project-b")
        .await;
    gateway.add_upstream("studio", &keyed, KEY, &[], 0).await;
    let exhausted = || {
        Scripted::Error(
            429,
            json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
            "message": "You have exhausted your capacity on this model. Your quota will reset after 3s.",
            "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "QUOTA_EXHAUSTED",
                "metadata": {"model": "gemini-2.5-pro", "quotaResetDelay": "3s"}}]}}),
        )
    };
    google.mock.script_for("a@example.com", exhausted());
    google.mock.script_for("b@example.com", exhausted());
    let body = json!({"model": "gemini-2.5-pro", "messages": [{"role": "user", "content": "hi"}]});
    let response = gateway.chat(body.clone()).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["choices"][0]["message"]["content"], "echo: hi");
    let tried_google = google.mock.received().len();
    assert_eq!(
        tried_google, 2,
        "each Google account tried once, no retry on the same one"
    );
    assert_eq!(keyed.generations().len(), 1);
    // While the accounts are out, the upstream serves at once.
    let response = gateway.chat(body.clone()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        google.mock.received().len(),
        tried_google,
        "Google not asked while exhausted"
    );
    assert_eq!(keyed.generations().len(), 2);
    // Once the quota reset passed, traffic goes back to the accounts.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let response = gateway.chat(body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        google.mock.received().len(),
        tried_google + 1,
        "back on a Google account"
    );
    assert_eq!(keyed.generations().len(), 2);
}

#[tokio::test]
async fn a_retry_after_cools_only_that_upstream_for_that_long() {
    let first = MockKeyed::start(Kind::OpenAi, KEY, &[MODEL]).await;
    let second = MockKeyed::start(Kind::OpenAi, KEY, &[MODEL]).await;
    let gateway = TestGateway::start(Config::default()).await;
    let first_id = gateway.add_upstream("first", &first, KEY, &[], 0).await;
    let second_id = gateway.add_upstream("second", &second, KEY, &[], 1).await;
    first.script(Script::Error {
        status: 429,
        headers: vec![("retry-after".into(), "7".into())],
        body: json!({"error": {"message": "Rate limit reached for up-model on requests per min (RPM): Limit 3, Used 3.", "type": "requests", "code": "rate_limit_exceeded"}}),
    });
    let before = switchyard::store::now_unix();
    let body = json!({"model": MODEL, "messages": [{"role": "user", "content": "hi"}]});
    let response = gateway.chat(body.clone()).await;
    assert_eq!(response.status(), 200, "the next upstream answered");
    let pool = &gateway.gateway.state().pool;
    let now = switchyard::store::now_unix();
    let limit = pool
        .account(first_id)
        .unwrap()
        .limit_for(MODEL, now)
        .expect("first cooled down");
    assert!(
        (before + 7..=now + 7).contains(&limit.until),
        "cooled for 7 s: until {} (asked at {before})",
        limit.until
    );
    assert!(
        pool.account(second_id)
            .unwrap()
            .limit_for(MODEL, now)
            .is_none()
    );
    // The next request goes to the second without asking the first.
    let response = gateway.chat(body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(first.generations().len(), 1);
    assert_eq!(second.generations().len(), 2);
}

#[tokio::test]
async fn a_rejected_key_marks_the_upstream_and_it_is_not_tried_again() {
    for kind in KINDS {
        let (gateway, mock) = gateway_with(kind).await;
        mock.forget_key(KEY);
        let body = json!({"model": MODEL, "messages": [{"role": "user", "content": "hi"}]});
        let response = gateway.chat(body.clone()).await;
        assert!(response.status().is_client_error() || response.status().is_server_error());
        let text = response.text().await.unwrap();
        assert!(
            !text.contains(KEY),
            "{kind:?}: the key in the answer: {text}"
        );
        // The status is written by the pool's writer, just after the answer.
        let mut status = String::new();
        for _ in 0..100 {
            status = gateway
                .store
                .find_account("up")
                .unwrap()
                .status
                .as_str()
                .to_owned();
            if status == "key_rejected" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(status, "key_rejected", "{kind:?}");
        let tried = mock.generations().len();
        assert_eq!(tried, 1, "{kind:?}: one call, no retry loop");
        let response = gateway.chat(body).await;
        assert_eq!(response.status(), 503, "{kind:?}");
        assert_eq!(mock.generations().len(), tried, "{kind:?}: not tried again");
        gateway.gateway.stop().await;
    }
}

#[tokio::test]
async fn a_mapping_can_name_an_upstreams_own_model() {
    let mock = MockKeyed::start(Kind::OpenAi, KEY, &["openai/gpt-4o"]).await;
    let mut config = Config::default();
    config
        .models
        .insert("gpt-4o*".into(), "router:openai/gpt-4o".into());
    let gateway = TestGateway::start(config).await;
    gateway.add_upstream("router", &mock, KEY, &[], 0).await;
    let response = gateway
        .chat(json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    assert_eq!(mock.generations()[0].body["model"], "openai/gpt-4o");
}

/// One passthrough pair: the client route, the mock kind, and a body in
/// the client's protocol with fields the gateway does not know.
struct Pair {
    client: Client,
    kind: Kind,
}

fn odd_body(client: Client, stream: bool) -> String {
    // Spacing, key order and unknown fields are the client's own: they must
    // arrive as they are.
    match client {
        Client::Chat => format!(
            r#"{{ "messages":[{{"role":"user","content":"hi ☃"}}], "model" : "client-model","stream":{stream},"x_vendor": {{"keep": [1,2.50,"three"]}} }}"#
        ),
        Client::Responses => format!(
            r#"{{"model":"client-model", "input":"hi ☃","stream":{stream},"x_vendor":{{"keep":true}}}}"#
        ),
        Client::Anthropic => format!(
            r#"{{"model":"client-model","max_tokens":64,"stream":{stream},"messages":[{{"role":"user","content":[{{"type":"text","text":"hi ☃","cache_control":{{"type":"ephemeral"}}}}]}}],"x_vendor":1}}"#
        ),
        Client::Gemini => r#"{"contents":[{"role":"user","parts":[{"text":"hi ☃"}]}],"x_vendor":{"keep":"as is"},"generationConfig":{"temperature":0.25}}"#.to_owned(),
    }
}

fn path_for(client: Client, stream: bool) -> String {
    match (client, stream) {
        (Client::Chat, _) => "/v1/chat/completions".into(),
        (Client::Responses, _) => "/v1/responses".into(),
        (Client::Anthropic, _) => "/v1/messages".into(),
        (Client::Gemini, false) => "/v1beta/models/client-model:generateContent".into(),
        (Client::Gemini, true) => {
            "/v1beta/models/client-model:streamGenerateContent?alt=sse".into()
        }
    }
}

/// A stream in the upstream's own format, with details a translation
/// would not keep (comments, extra fields, odd spacing).
fn odd_stream(kind: Kind, client: Client) -> String {
    match (kind, client) {
        (Kind::OpenAi, Client::Responses) => concat!(
            ": keep-alive comment\n\n",
            "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_1\",\"status\":\"in_progress\",\"output\":[]}}\n\n",
            "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":1,\"delta\":\"raw ☃\",\"x\":1}\n\n",
            "event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":2,\"response\":{\"id\":\"resp_1\",\"status\":\"completed\",\"output\":[],\"usage\":{\"input_tokens\":3,\"output_tokens\":2,\"total_tokens\":5}}}\n\n"
        ).to_owned(),
        (Kind::OpenAi, _) => concat!(
            ": keep-alive comment\n\n",
            "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"raw ☃\"},\"logprobs\":null,\"x_extra\":7}]}\n\n",
            "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
            "data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}\n\n",
            "data: [DONE]\n\n"
        ).to_owned(),
        (Kind::Anthropic, _) => concat!(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n",
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"raw ☃\"}}\n\n",
            "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":2}}\n\n",
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
        ).to_owned(),
        _ => concat!(
            "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"raw ☃\"}],\"role\": \"model\"},\"index\": 0}],\"modelVersion\": \"up-model\"}\r\n\r\n",
            "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"\"}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 3,\"candidatesTokenCount\": 2,\"totalTokenCount\": 5},\"responseId\": \"r1\"}\r\n\r\n"
        ).to_owned(),
    }
}

#[tokio::test]
async fn passthrough_pairs_keep_the_body_and_the_answer_byte_for_byte() {
    let pairs = [
        Pair {
            client: Client::Chat,
            kind: Kind::OpenAi,
        },
        Pair {
            client: Client::Responses,
            kind: Kind::OpenAi,
        },
        Pair {
            client: Client::Anthropic,
            kind: Kind::Anthropic,
        },
        Pair {
            client: Client::Gemini,
            kind: Kind::GeminiApi,
        },
        Pair {
            client: Client::Gemini,
            kind: Kind::Vertex,
        },
    ];
    for Pair { client, kind } in pairs {
        let mock = MockKeyed::start(kind, KEY, &[MODEL]).await;
        let mut config = Config::default();
        config.models.insert("client-model".into(), MODEL.into());
        let gateway = TestGateway::start(config).await;
        let globs: &[&str] = if kind == Kind::Vertex { &[MODEL] } else { &[] };
        gateway.add_upstream("up", &mock, KEY, globs, 0).await;
        for stream in [false, true] {
            let what = format!("{client:?} → {kind:?} (stream {stream})");
            let sent = odd_body(client, stream);
            // The answer the upstream gives, in its own bytes.
            let (answer, content_type) = if stream {
                (odd_stream(kind, client), "text/event-stream")
            } else {
                let body = match kind {
                    Kind::OpenAi if matches!(client, Client::Responses) => {
                        json!({"id": "resp_9", "object": "response", "status": "completed", "output": [{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "raw ☃", "annotations": []}]}], "usage": {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}, "x_vendor": {"n": 1.50}})
                    }
                    Kind::OpenAi => {
                        json!({"id": "c9", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": "raw ☃", "refusal": null}, "finish_reason": "stop", "logprobs": null}], "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}, "system_fingerprint": "fp_x"})
                    }
                    Kind::Anthropic => {
                        json!({"id": "msg_9", "type": "message", "role": "assistant", "content": [{"type": "text", "text": "raw ☃", "citations": null}], "stop_reason": "end_turn", "usage": {"input_tokens": 3, "output_tokens": 2, "service_tier": "standard"}})
                    }
                    _ => {
                        json!({"candidates": [{"content": {"parts": [{"text": "raw ☃"}], "role": "model"}, "finishReason": "STOP", "avgLogprobs": -0.25}], "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2, "totalTokenCount": 5}, "responseId": "r9"})
                    }
                };
                (serde_json::to_string(&body).unwrap(), "application/json")
            };
            mock.script(if stream {
                Script::RawStream(answer.clone())
            } else {
                Script::Answer(serde_json::from_str(&answer).unwrap())
            });
            let response = gateway
                .client
                .post(gateway.url(&path_for(client, stream)))
                .header("content-type", "application/json")
                .header("anthropic-version", "2023-06-01")
                .header("anthropic-beta", "some-beta-2026")
                .body(sent.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{what}");
            assert!(
                response.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with(content_type),
                "{what}: {:?}",
                response.headers()["content-type"]
            );
            let received = response.text().await.unwrap();
            assert_eq!(
                received, answer,
                "{what}: the answer as the upstream sent it"
            );
            // What the upstream got: the client's bytes, only the model changed.
            let got = mock.generations().pop().unwrap();
            let expected = match client {
                Client::Gemini => {
                    assert!(
                        got.path.contains(&format!("models/{MODEL}:")),
                        "{what}: {}",
                        got.path
                    );
                    sent.clone()
                }
                _ => sent.replace("\"client-model\"", &format!("\"{MODEL}\"")),
            };
            assert_eq!(
                String::from_utf8(got.raw.to_vec()).unwrap(),
                expected,
                "{what}"
            );
            if client == Client::Anthropic {
                assert_eq!(got.headers["anthropic-beta"], "some-beta-2026", "{what}");
                assert_eq!(got.headers["anthropic-version"], "2023-06-01", "{what}");
            }
            // The client's key for the gateway never goes up; the upstream's does.
            let auth = format!("{:?}", got.headers);
            assert!(auth.contains(KEY), "{what}: {auth}");
        }
        // The request log still counts the tokens.
        tokio::time::sleep(Duration::from_millis(600)).await;
        let logged = gateway.store.log_after(0, 10).unwrap();
        assert_eq!(logged.len(), 2, "{client:?} → {kind:?}");
        for row in &logged {
            assert_eq!(row.record.account, "up");
            assert_eq!(
                (row.record.input_tokens, row.record.output_tokens),
                (3, 2),
                "{client:?} → {kind:?}: {row:?}"
            );
        }
        gateway.gateway.stop().await;
    }
}

#[tokio::test]
async fn responses_clients_get_chat_completions_where_the_endpoint_has_no_responses_api() {
    let mock = MockKeyed::start(Kind::OpenAi, KEY, &[MODEL]).await;
    mock.without_responses_api();
    let gateway = TestGateway::start(Config::default()).await;
    gateway.add_upstream("up", &mock, KEY, &[], 0).await;
    for stream in [false, true] {
        let answer = send(
            &gateway,
            Client::Responses,
            "hello there",
            false,
            None,
            stream,
        )
        .await;
        assert_eq!(answer.text, "echo: hello there");
    }
    let paths: Vec<String> = mock.generations().iter().map(|g| g.path.clone()).collect();
    assert_eq!(
        paths,
        [
            "/v1/responses",
            "/v1/chat/completions",
            "/v1/responses",
            "/v1/chat/completions"
        ]
    );
}

#[tokio::test]
async fn a_vertex_service_account_mints_one_token_and_calls_its_project() {
    let (mock, key_file) = MockKeyed::start_vertex_service_account().await;
    let gateway = TestGateway::start(Config::default()).await;
    let client = switchyard::upstream::keyed::KeyedClient::new(reqwest::Client::new());
    let added = switchyard::accounts::upstreams::add(
        &client,
        &gateway.store,
        switchyard::accounts::upstreams::UpstreamInput {
            name: "vertex-sa".into(),
            kind: switchyard::store::UpstreamKind::Vertex,
            base_url: Some(mock.base_url()),
            key: switchyard::secret::Secret::new(key_file.clone()),
            models: vec![MODEL.into()],
            headers: Vec::new(),
            priority: 0,
            project: None,
            location: Some("europe-west4".into()),
            skip_check: false,
            service_account: true,
            bearer: false,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        mock.token_requests(),
        1,
        "the key was checked by minting a token"
    );
    gateway.reload_pool();
    for text in ["one", "two"] {
        let answer = send(&gateway, Client::Chat, text, false, None, false).await;
        assert_eq!(answer.text, format!("echo: {text}"));
    }
    let generations = mock.generations();
    assert_eq!(generations.len(), 2);
    for got in &generations {
        assert!(
            got.path.starts_with("/v1/projects/switchyard-test/locations/europe-west4/publishers/google/models/up-model:"),
            "{}",
            got.path
        );
        assert!(
            got.headers["authorization"]
                .to_str()
                .unwrap()
                .starts_with("Bearer ya29.mock-")
        );
        assert!(got.headers.get("x-goog-api-key").is_none());
    }
    assert_eq!(
        mock.token_requests(),
        2,
        "one token for both requests (plus the check)"
    );
    // The key file is stored as the secret; the list shows the project.
    let record = gateway.store.find_account(&added.id.to_string()).unwrap();
    let settings = record.settings.unwrap();
    assert!(settings.service_account);
    assert_eq!(settings.project.as_deref(), Some("switchyard-test"));
    // A key the token endpoint refuses is not stored.
    let forged = key_file.replace("gateway@", "someone-else@");
    let (other, _) = MockKeyed::start_vertex_service_account().await;
    let mut tampered: Value = serde_json::from_str(&forged).unwrap();
    tampered["token_uri"] = json!(format!("http://{}/token", other.addr));
    tampered["private_key"] =
        json!("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n");
    let refused = switchyard::accounts::upstreams::add(
        &client,
        &gateway.store,
        switchyard::accounts::upstreams::UpstreamInput {
            name: "vertex-bad".into(),
            kind: switchyard::store::UpstreamKind::Vertex,
            base_url: Some(other.base_url()),
            key: switchyard::secret::Secret::new(tampered.to_string()),
            models: vec![MODEL.into()],
            headers: Vec::new(),
            priority: 0,
            project: None,
            location: None,
            skip_check: false,
            service_account: true,
            bearer: false,
        },
    )
    .await
    .unwrap_err();
    assert!(refused.to_string().contains("private_key"), "{refused}");
    assert!(gateway.store.find_account("vertex-bad").is_err());
}

#[tokio::test]
async fn an_anthropic_compatible_endpoint_can_take_the_key_as_bearer() {
    let mock = MockKeyed::start(Kind::Anthropic, KEY, &[MODEL]).await;
    let gateway = TestGateway::start(Config::default()).await;
    let client = switchyard::upstream::keyed::KeyedClient::new(reqwest::Client::new());
    switchyard::accounts::upstreams::add(
        &client,
        &gateway.store,
        switchyard::accounts::upstreams::UpstreamInput {
            name: "compatible".into(),
            kind: switchyard::store::UpstreamKind::Anthropic,
            base_url: Some(mock.base_url()),
            key: switchyard::secret::Secret::new(KEY),
            models: Vec::new(),
            headers: Vec::new(),
            priority: 0,
            project: None,
            location: None,
            skip_check: false,
            service_account: false,
            bearer: true,
        },
    )
    .await
    .unwrap();
    gateway.reload_pool();
    for client in [Client::Chat, Client::Anthropic] {
        let answer = send(&gateway, client, "hi", false, None, false).await;
        assert_eq!(answer.text, "echo: hi");
    }
    for got in mock.got() {
        assert_eq!(
            got.headers["authorization"],
            format!("Bearer {KEY}"),
            "{}",
            got.path
        );
        assert!(got.headers.get("x-api-key").is_none(), "{}", got.path);
    }
}
