//! The OpenAI chat path end to end, in process: gateway → mock Google upstream.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

mod support;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};
use support::{MockGoogle, Scripted, TestGateway, chat_body, sse_data};
use switchyard::store::AccountStatus;

async fn gateway_with_account() -> (support::RunningMock, TestGateway) {
    let mock = MockGoogle::start().await;
    let gateway = TestGateway::with_one_account(&mock).await;
    (mock, gateway)
}

#[tokio::test]
async fn non_stream_chat_returns_the_upstream_answer_with_usage() {
    let (mock, gateway) = gateway_with_account().await;
    let response = gateway
        .chat(json!({
            "model": "gemini-2.5-flash",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello"},
                {"role": "user", "content": "How are you?"}
            ],
            "temperature": 0.3, "top_p": 0.8, "max_tokens": 64, "stop": ["X"]
        }))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-switchyard-model"], "gemini-2.5-flash");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], "gemini-2.5-flash");
    assert_eq!(body["choices"][0]["message"]["role"], "assistant");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "echo: How are you?"
    );
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(body["usage"]["prompt_tokens"], 11);
    assert_eq!(body["usage"]["completion_tokens"], 5);
    assert_eq!(body["usage"]["total_tokens"], 16);

    let received = mock.mock.received();
    assert_eq!(received.len(), 1);
    let sent = &received[0].body;
    assert_eq!(sent["model"], "gemini-2.5-flash");
    assert_eq!(sent["project"], "project-a");
    assert!(
        sent["user_prompt_id"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
    assert_eq!(
        sent["request"]["systemInstruction"]["parts"][0]["text"],
        "Be brief."
    );
    assert_eq!(sent["request"]["contents"].as_array().unwrap().len(), 3);
    assert_eq!(sent["request"]["contents"][1]["role"], "model");
    assert_eq!(sent["request"]["generationConfig"]["maxOutputTokens"], 64);
    assert_eq!(
        sent["request"]["generationConfig"]["stopSequences"],
        json!(["X"])
    );
    assert!(
        received[0].user_agent.contains("gemini-2.5-flash"),
        "{}",
        received[0].user_agent
    );
}

#[tokio::test]
async fn client_model_names_are_mapped_and_reported() {
    let (mock, gateway) = gateway_with_account().await;
    let response = gateway.chat(chat_body("gpt-4o", "Hi", false)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-switchyard-model"], "gemini-2.5-pro");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["model"], "gpt-4o",
        "the client sees the name it asked for"
    );
    assert_eq!(mock.mock.received()[0].body["model"], "gemini-2.5-pro");
}

#[tokio::test]
async fn stream_chat_sends_chunks_then_usage_then_done() {
    let (_mock, gateway) = gateway_with_account().await;
    let mut body = chat_body("gemini-2.5-flash", "stream me", true);
    body["stream_options"] = json!({"include_usage": true});
    let response = gateway.chat(body).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let events = sse_data(response).await;
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk")
    );
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "echo: stream me");
    let finish: Vec<&Value> = chunks
        .iter()
        .map(|c| &c["choices"][0]["finish_reason"])
        .filter(|f| !f.is_null())
        .collect();
    assert_eq!(finish, vec![&json!("stop")]);
    let usage = &chunks.last().unwrap()["usage"];
    assert_eq!(usage["prompt_tokens"], 11);
    assert_eq!(usage["total_tokens"], 16);
    assert_eq!(chunks.last().unwrap()["choices"], json!([]));
}

#[tokio::test]
async fn stream_events_are_forwarded_as_they_arrive() {
    let (mock, gateway) = gateway_with_account().await;
    let gate = Arc::new(tokio::sync::Notify::new());
    mock.mock.script(Scripted::Gated {
        first: vec![json!({"candidates": [{"content": {"parts": [{"text": "first"}]}}]})],
        gate: gate.clone(),
        rest: vec![json!({"candidates": [{"content": {"parts": [{"text": " second"}]}, "finishReason": "STOP"}]})],
    });
    let response = gateway.chat(chat_body("gemini-2.5-flash", "x", true)).await;
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    let mut seen = String::new();
    // The upstream holds its second event until we open the gate, so the first
    // must reach us on its own: a buffering gateway would block here.
    let first = tokio::time::timeout(Duration::from_secs(10), async {
        while !seen.contains("first") {
            let bytes = body.next().await.expect("stream ended early").unwrap();
            seen.push_str(&String::from_utf8_lossy(&bytes));
        }
    })
    .await;
    assert!(first.is_ok(), "the first event was held back: {seen}");
    assert!(!seen.contains("second"));
    gate.notify_one();
    while let Some(bytes) = body.next().await {
        seen.push_str(&String::from_utf8_lossy(&bytes.unwrap()));
    }
    assert!(seen.contains(" second"));
    assert!(seen.trim_end().ends_with("data: [DONE]"));
}

#[tokio::test]
async fn access_tokens_are_reused_while_fresh() {
    let (mock, gateway) = gateway_with_account().await;
    for _ in 0..3 {
        assert_eq!(
            gateway
                .chat(chat_body("gemini-2.5-flash", "x", false))
                .await
                .status(),
            200
        );
    }
    assert_eq!(mock.mock.refreshes(), 1);
    let stored = gateway.store.accounts().unwrap();
    // The refreshed token is written back off the request path.
    for _ in 0..50 {
        if gateway.store.accounts().unwrap()[0].access_token.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stored_after = gateway.store.accounts().unwrap();
    assert!(stored.len() == 1 && stored_after[0].access_token.is_some());
}

#[tokio::test]
async fn tokens_near_expiry_are_refreshed_before_use() {
    let (mock, gateway) = gateway_with_account().await;
    // Tokens that live 60 s are inside the refresh margin at once.
    mock.mock.set_token_lifetime(60);
    for _ in 0..2 {
        assert_eq!(
            gateway
                .chat(chat_body("gemini-2.5-flash", "x", false))
                .await
                .status(),
            200
        );
    }
    assert_eq!(mock.mock.refreshes(), 2);
    let tokens: Vec<String> = mock
        .mock
        .received()
        .iter()
        .map(|r| r.access_token.clone())
        .collect();
    assert_ne!(tokens[0], tokens[1]);
}

#[tokio::test]
async fn a_401_gets_one_refresh_and_one_retry() {
    let (mock, gateway) = gateway_with_account().await;
    assert_eq!(
        gateway
            .chat(chat_body("gemini-2.5-flash", "x", false))
            .await
            .status(),
        200
    );
    assert_eq!(mock.mock.refreshes(), 1);
    mock.mock.revoke_access_tokens();
    let response = gateway
        .chat(chat_body("gemini-2.5-flash", "again", false))
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], "echo: again");
    assert_eq!(mock.mock.refreshes(), 2);
}

#[tokio::test]
async fn a_dead_refresh_token_marks_the_account_and_answers_503() {
    let (mock, gateway) = gateway_with_account().await;
    mock.mock.revoke_refresh_token("refresh-a");
    let response = gateway
        .chat(chat_body("gemini-2.5-flash", "x", false))
        .await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("invalid_grant"),
        "{body}"
    );
    let account = &gateway.gateway.state().pool.snapshot()[0];
    assert_eq!(account.status(), AccountStatus::NeedsRelogin);
    // No retry storm: the next request does not try to refresh again.
    let refreshes = mock.mock.refreshes();
    let response = gateway
        .chat(chat_body("gemini-2.5-flash", "x", false))
        .await;
    assert_eq!(response.status(), 503);
    assert_eq!(mock.mock.refreshes(), refreshes);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("needs re-login"),
        "{body}"
    );
    for _ in 0..50 {
        if gateway.store.accounts().unwrap()[0].status == AccountStatus::NeedsRelogin {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the status was not saved");
}

#[tokio::test]
async fn no_accounts_gives_a_503_in_openai_shape() {
    let mock = MockGoogle::start().await;
    let gateway = TestGateway::start(mock.config()).await;
    for stream in [false, true] {
        let response = gateway
            .chat(chat_body("gemini-2.5-flash", "x", stream))
            .await;
        assert_eq!(response.status(), 503);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["type"], "service_unavailable_error");
        assert_eq!(body["error"]["code"], "no_account");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("no account is configured")
        );
    }
}

#[tokio::test]
async fn bad_json_and_bad_fields_give_400_in_openai_shape() {
    let (_mock, gateway) = gateway_with_account().await;
    let response = gateway
        .client
        .post(gateway.url("/v1/chat/completions"))
        .header("content-type", "application/json")
        .body("{\"model\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );

    let response = gateway.chat(json!({"messages": []})).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"].as_str().unwrap().contains("model"),
        "{body}"
    );

    let response = gateway
        .chat(
            json!({"model": "m", "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}]}),
        )
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["error"]["param"],
        "messages[0].content[0].image_url.url"
    );
}

#[tokio::test]
async fn oversized_bodies_get_413_in_openai_shape() {
    let mock = MockGoogle::start().await;
    let mut config = mock.config();
    config.gateway.max_body_mb = 1;
    let gateway = TestGateway::start(config).await;
    let big = "x".repeat(2 * 1024 * 1024);
    let response = gateway
        .chat(chat_body("gemini-2.5-flash", &big, false))
        .await;
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large");
}

#[tokio::test]
async fn upstream_errors_become_openai_errors_not_hangs() {
    let (mock, gateway) = gateway_with_account().await;
    let internal = || {
        Scripted::Error(
            500,
            json!({"error": {"code": 500, "message": "Internal error encountered.", "status": "INTERNAL"}}),
        )
    };
    // One 500 is retried once, unseen by the client.
    mock.mock.script(internal());
    let response = gateway
        .chat(chat_body("gemini-2.5-flash", "x", false))
        .await;
    assert_eq!(response.status(), 200);
    // A second one in a row reaches the client as an OpenAI error.
    mock.mock.script(internal());
    mock.mock.script(internal());
    let response = gateway
        .chat(chat_body("gemini-2.5-flash", "x", false))
        .await;
    assert_eq!(response.status(), 502);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "upstream_error");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Internal error encountered")
    );

    // The same before a stream's first byte: a plain HTTP error.
    mock.mock.script(internal());
    mock.mock.script(internal());
    let response = gateway.chat(chat_body("gemini-2.5-flash", "x", true)).await;
    assert_eq!(response.status(), 502);

    mock.mock.script(Scripted::Error(
        404,
        json!({"error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"}}),
    ));
    let response = gateway.chat(chat_body("gemini-9", "x", false)).await;
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn a_stream_that_breaks_ends_with_an_error_event_and_done() {
    let (mock, gateway) = gateway_with_account().await;
    mock.mock.script(Scripted::Stream {
        chunks: vec![json!({"candidates": [{"content": {"parts": [{"text": "partial"}]}}]})],
        then_drop: true,
    });
    let response = gateway.chat(chat_body("gemini-2.5-flash", "x", true)).await;
    assert_eq!(response.status(), 200);
    let events = sse_data(response).await;
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let error: Value = serde_json::from_str(&events[events.len() - 2]).unwrap();
    assert_eq!(error["error"]["type"], "upstream_error");
    assert!(events.iter().any(|e| e.contains("partial")));

    // A clean end with no finish reason is a cut-off answer, and said so.
    mock.mock.script(Scripted::Stream {
        chunks: vec![json!({"candidates": [{"content": {"parts": [{"text": "cut"}]}}]})],
        then_drop: false,
    });
    let events = sse_data(gateway.chat(chat_body("gemini-2.5-flash", "x", true)).await).await;
    let error: Value = serde_json::from_str(&events[events.len() - 2]).unwrap();
    assert_eq!(error["error"]["code"], "incomplete_stream");
}

#[tokio::test]
async fn requests_rotate_between_accounts() {
    let mock = MockGoogle::start().await;
    mock.mock.add_account("refresh-a", "a@example.com", true);
    mock.mock.add_account("refresh-b", "b@example.com", true);
    let mut config = mock.config();
    config.gateway.scheduling = switchyard::config::Scheduling::RoundRobin;
    let gateway = TestGateway::start(config).await;
    gateway
        .add_account("refresh-a", "a@example.com", "project-a")
        .await;
    gateway
        .add_account("refresh-b", "b@example.com", "project-b")
        .await;
    for _ in 0..4 {
        assert_eq!(
            gateway
                .chat(chat_body("gemini-2.5-flash", "x", false))
                .await
                .status(),
            200
        );
    }
    let emails: Vec<String> = mock
        .mock
        .received()
        .iter()
        .map(|r| r.email.clone())
        .collect();
    assert_eq!(
        emails.iter().filter(|e| *e == "a@example.com").count(),
        2,
        "{emails:?}"
    );
    assert_eq!(
        emails.iter().filter(|e| *e == "b@example.com").count(),
        2,
        "{emails:?}"
    );
}

#[tokio::test]
async fn models_lists_what_the_accounts_can_use() {
    let (_mock, gateway) = gateway_with_account().await;
    let body: Value = gateway.get_json("/v1/models").await;
    assert_eq!(body["object"], "list");
    let ids: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"gemini-2.5-pro"), "{ids:?}");
    assert_eq!(body["data"][0]["object"], "model");
    assert_eq!(body["data"][0]["type"], "model");
}

#[tokio::test]
async fn health_and_unknown_routes() {
    let mock = MockGoogle::start().await;
    let gateway = TestGateway::start(mock.config()).await;
    let body: Value = gateway.get_json("/healthz").await;
    assert_eq!(
        body,
        json!({"status": "ok", "version": switchyard::VERSION})
    );
    let response = gateway
        .client
        .get(gateway.url("/v1/nothing"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unknown_route");
}

#[tokio::test]
async fn stopping_ends_open_streams_and_frees_the_port() {
    let (mock, gateway) = gateway_with_account().await;
    let gate = Arc::new(tokio::sync::Notify::new());
    mock.mock.script(Scripted::Gated {
        first: vec![json!({"candidates": [{"content": {"parts": [{"text": "first"}]}}]})],
        gate,
        rest: vec![],
    });
    let response = gateway.chat(chat_body("gemini-2.5-flash", "x", true)).await;
    let addr = gateway.gateway.addr;
    let reader = tokio::spawn(async move { response.text().await.unwrap_or_default() });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let TestGateway {
        gateway: running, ..
    } = gateway;
    running.stop().await;
    let text = tokio::time::timeout(Duration::from_secs(10), reader)
        .await
        .unwrap()
        .unwrap();
    assert!(text.contains("gateway_shutdown"), "{text}");
    assert!(text.trim_end().ends_with("data: [DONE]"));
    tokio::net::TcpListener::bind(addr)
        .await
        .expect("the port is free again");
}

/// Gemini answers of a thinking model that calls a tool twice, then answers.
fn thinking_tool_script(mock: &MockGoogle) {
    mock.script(Scripted::Answer(json!({"candidates": [{"content": {"role": "model", "parts": [
        {"text": "I should look up Oslo.", "thought": true},
        {"functionCall": {"id": "fc-1", "name": "weather", "args": {"city": "Oslo"}}, "thoughtSignature": "sig-turn-1"}
    ]}, "finishReason": "STOP"}]})));
    mock.script(Scripted::Answer(json!({"candidates": [{"content": {"role": "model", "parts": [
        {"functionCall": {"name": "weather", "args": {"city": "Bergen"}}, "thoughtSignature": "sig-turn-2"}
    ]}, "finishReason": "STOP"}]})));
    mock.script(Scripted::Answer(
        json!({"candidates": [{"content": {"role": "model", "parts": [
        {"text": "Rain in Oslo, sun in Bergen."}
    ]}, "finishReason": "STOP"}]}),
    ));
}

/// The signatures of every functionCall part of the model turns the upstream received.
fn call_signatures(body: &Value) -> Vec<(String, Option<String>)> {
    body["request"]["contents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["role"] == "model")
        .flat_map(|c| c["parts"].as_array().unwrap().iter())
        .filter(|p| p.get("functionCall").is_some())
        .map(|p| {
            (
                p["functionCall"]["args"]["city"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                p["thoughtSignature"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_three_turn_tool_conversation_keeps_every_thought_signature() {
    let (mock, gateway) = gateway_with_account().await;
    thinking_tool_script(&mock.mock);
    let tools = json!([{"type": "function", "function": {"name": "weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]);
    let mut messages = vec![json!({"role": "user", "content": "Weather in Oslo, then Bergen?"})];
    for (turn, result) in ["rain", "sun"].iter().enumerate() {
        let body: Value = gateway
            .chat(json!({"model": "gemini-3-pro-preview", "reasoning_effort": "high", "tools": tools, "messages": messages}))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            body["choices"][0]["finish_reason"], "tool_calls",
            "turn {turn}: {body}"
        );
        let message = body["choices"][0]["message"].clone();
        let call = message["tool_calls"][0].clone();
        messages.push(json!({"role": "assistant", "content": message["content"], "tool_calls": message["tool_calls"]}));
        messages.push(json!({"role": "tool", "tool_call_id": call["id"], "content": result}));
    }
    let body: Value = gateway
        .chat(json!({"model": "gemini-3-pro-preview", "tools": tools, "messages": messages}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Rain in Oslo, sun in Bergen."
    );

    let received = mock.mock.received();
    assert_eq!(received.len(), 3);
    assert_eq!(
        call_signatures(&received[1].body),
        vec![("Oslo".to_owned(), Some("sig-turn-1".to_owned()))]
    );
    assert_eq!(
        call_signatures(&received[2].body),
        vec![
            ("Oslo".to_owned(), Some("sig-turn-1".to_owned())),
            ("Bergen".to_owned(), Some("sig-turn-2".to_owned()))
        ]
    );
    // The tool results reach the upstream as function responses, by name and id.
    let last_turn = received[2].body["request"]["contents"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last_turn["parts"][0]["functionResponse"]["name"], "weather");
    assert_eq!(
        last_turn["parts"][0]["functionResponse"]["response"]["result"],
        "sun"
    );
    assert_eq!(
        received[0].body["request"]["generationConfig"]["thinkingConfig"]["thinkingBudget"],
        24576
    );
}

#[tokio::test]
async fn legacy_completions_whole_and_streamed() {
    let (_mock, gateway) = gateway_with_account().await;
    let response = gateway
        .client
        .post(gateway.url("/v1/completions"))
        .json(&json!({"model": "gpt-3.5-turbo-instruct", "prompt": "Say hi", "max_tokens": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-switchyard-model"], "gemini-2.5-pro");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["object"], "text_completion");
    assert_eq!(body["model"], "gpt-3.5-turbo-instruct");
    assert_eq!(body["choices"][0]["text"], "echo: Say hi");
    assert_eq!(body["usage"]["total_tokens"], 16);

    let response = gateway
        .client
        .post(gateway.url("/v1/completions"))
        .json(&json!({"model": "gemini-2.5-flash", "prompt": "Stream hi", "stream": true}))
        .send()
        .await
        .unwrap();
    let events = sse_data(response).await;
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let text: String = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str::<Value>(e).unwrap())
        .filter_map(|c| c["choices"][0]["text"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(text, "echo: Stream hi");

    let response = gateway
        .client
        .post(gateway.url("/v1/completions"))
        .json(&json!({"model": "m", "prompt": [1, 2]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"]["param"],
        "prompt"
    );
}
