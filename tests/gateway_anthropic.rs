//! Anthropic `/v1/messages` end to end, in process, against the mock upstream.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

mod support;

use serde_json::{Value, json};
use support::{MockGoogle, Scripted, TestGateway};
use switchyard::config::AuthMode;

async fn gateway_with_account() -> (support::RunningMock, TestGateway) {
    let mock = MockGoogle::start().await;
    let gateway = TestGateway::with_one_account(&mock).await;
    (mock, gateway)
}

async fn messages(gateway: &TestGateway, body: Value) -> reqwest::Response {
    gateway
        .client
        .post(gateway.url("/v1/messages?beta=true"))
        .header("anthropic-version", "2023-06-01")
        .header("anthropic-beta", "interleaved-thinking-2025-05-14")
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// (event name, data) pairs of an SSE body.
async fn events(response: reqwest::Response) -> Vec<(String, Value)> {
    let text = response.text().await.unwrap();
    text.split("\n\n")
        .filter_map(|block| {
            let name = block.lines().find_map(|l| l.strip_prefix("event: "))?;
            let data = block.lines().find_map(|l| l.strip_prefix("data: "))?;
            Some((name.to_owned(), serde_json::from_str(data).unwrap()))
        })
        .collect()
}

#[tokio::test]
async fn a_plain_message_whole_and_streamed() {
    let (_mock, gateway) = gateway_with_account().await;
    let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 100,
        "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        "metadata": {"user_id": "user_abc_account__session_123"},
        "messages": [{"role": "user", "content": "Hello Claude"}]});
    let response = messages(&gateway, body.clone()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-switchyard-model"], "gemini-2.5-pro");
    let message: Value = response.json().await.unwrap();
    assert_eq!(message["type"], "message");
    assert_eq!(message["role"], "assistant");
    assert_eq!(message["model"], "claude-sonnet-4-5");
    assert_eq!(
        message["content"][0],
        json!({"type": "text", "text": "echo: Hello Claude"})
    );
    assert_eq!(message["stop_reason"], "end_turn");
    assert_eq!(message["usage"]["input_tokens"], 11);
    assert_eq!(message["usage"]["output_tokens"], 5);

    let mut streamed = body;
    streamed["stream"] = json!(true);
    let events = events(messages(&gateway, streamed).await).await;
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.first(), Some(&"message_start"));
    assert_eq!(names.last(), Some(&"message_stop"));
    assert!(names.contains(&"content_block_start") && names.contains(&"content_block_stop"));
    let text: String = events
        .iter()
        .filter(|(n, _)| n == "content_block_delta")
        .filter_map(|(_, d)| d["delta"]["text"].as_str())
        .collect();
    assert_eq!(text, "echo: Hello Claude");
    let delta = &events.iter().find(|(n, _)| n == "message_delta").unwrap().1;
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    assert_eq!(delta["usage"]["output_tokens"], 5);
}

#[tokio::test]
async fn the_key_is_read_from_x_api_key_or_bearer() {
    let mock = MockGoogle::start().await;
    let mut config = mock.config();
    config.gateway.auth_mode = AuthMode::Strict;
    let key = config.gateway.api_key.clone();
    let gateway = TestGateway::start(config).await;
    let body =
        json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]});
    let url = gateway.url("/v1/messages");
    let with_x_api_key = gateway
        .client
        .post(&url)
        .header("x-api-key", &key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let with_bearer = gateway
        .client
        .post(&url)
        .bearer_auth(&key)
        .json(&body)
        .send()
        .await
        .unwrap();
    // Both pass the key check; there is just no account behind them.
    assert_eq!(with_x_api_key.status(), 503);
    assert_eq!(with_bearer.status(), 503);
    let body: Value = with_bearer.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "overloaded_error");
}

#[tokio::test]
async fn count_tokens_is_counted_upstream() {
    let (_mock, gateway) = gateway_with_account().await;
    let response = gateway
        .client
        .post(gateway.url("/v1/messages/count_tokens"))
        .json(&json!({"model": "claude-sonnet-4-5", "system": "one two",
            "messages": [{"role": "user", "content": "three four five"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"input_tokens": 5})
    );
}

#[tokio::test]
async fn a_three_turn_tool_conversation_on_a_thinking_model_keeps_every_signature() {
    let (mock, gateway) = gateway_with_account().await;
    let tools = json!([
        {"name": "weather", "description": "Weather now",
         "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
        {"name": "forecast", "description": "Weather tomorrow",
         "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]);
    let mut history = vec![json!({"role": "user", "content": "Weather in Oslo?"})];
    for turn in 0..2 {
        let body = json!({"model": "claude-opus-4-1", "max_tokens": 32000, "tools": tools, "stream": turn == 1,
                          "thinking": {"type": "enabled", "budget_tokens": 31999}, "messages": history});
        let response = messages(&gateway, body).await;
        // The second turn is streamed: the client rebuilds the message from its events.
        let content = if turn == 1 {
            collect_blocks(&events(response).await)
        } else {
            response.json::<Value>().await.unwrap()["content"].clone()
        };
        let tool_use = content
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["type"] == "tool_use")
            .unwrap_or_else(|| panic!("turn {turn}: no tool_use in {content}"))
            .clone();
        assert!(
            content[0]["type"] == "thinking"
                && !content[0]["signature"].as_str().unwrap().is_empty()
        );
        history.push(json!({"role": "assistant", "content": content}));
        history.push(json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": tool_use["id"], "content": format!("result {turn}")}]}));
    }
    let last: Value = messages(
        &gateway,
        json!({"model": "claude-opus-4-1", "max_tokens": 1000, "tools": tools,
               "thinking": {"type": "enabled", "budget_tokens": 1024}, "messages": history}),
    )
    .await
    .json()
    .await
    .unwrap();
    let answer = last["content"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "text")
        .unwrap();
    assert!(
        answer["text"]
            .as_str()
            .unwrap()
            .starts_with("tool forecast said"),
        "{answer}"
    );

    // Requests 1, 3 (the streamed second turn; 2 was its discarded twin) and 4.
    let received = mock.mock.received();
    let last_request = &received.last().unwrap().body["request"];
    let signatures: Vec<(bool, String)> = last_request["contents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["role"] == "model")
        .flat_map(|c| c["parts"].as_array().unwrap().iter())
        .filter_map(|p| {
            p["thoughtSignature"]
                .as_str()
                .map(|s| (p.get("functionCall").is_some(), s.to_owned()))
        })
        .collect();
    assert_eq!(
        signatures,
        vec![
            (false, "sig-1-thought".to_owned()),
            (true, "sig-1-call".to_owned()),
            (false, "sig-2-thought".to_owned()),
            (true, "sig-2-call".to_owned()),
        ]
    );
    // Claude Code's 31,999 thinking budget was fitted to the model.
    assert_eq!(
        received[0].body["request"]["generationConfig"]["thinkingConfig"]["thinkingBudget"],
        31999
    );
    assert_eq!(received[0].body["model"], "gemini-2.5-pro");
}

/// The content blocks a client builds from a stream.
fn collect_blocks(events: &[(String, Value)]) -> Value {
    let mut blocks: Vec<Value> = Vec::new();
    let mut json_input = String::new();
    for (name, data) in events {
        match name.as_str() {
            "content_block_start" => {
                blocks.push(data["content_block"].clone());
                json_input.clear();
            }
            "content_block_delta" => {
                let block = blocks.last_mut().unwrap();
                let delta = &data["delta"];
                match delta["type"].as_str().unwrap() {
                    "text_delta" => {
                        block["text"] = json!(format!(
                            "{}{}",
                            block["text"].as_str().unwrap(),
                            delta["text"].as_str().unwrap()
                        ))
                    }
                    "thinking_delta" => {
                        block["thinking"] = json!(format!(
                            "{}{}",
                            block["thinking"].as_str().unwrap(),
                            delta["thinking"].as_str().unwrap()
                        ))
                    }
                    "signature_delta" => block["signature"] = delta["signature"].clone(),
                    "input_json_delta" => {
                        json_input.push_str(delta["partial_json"].as_str().unwrap())
                    }
                    other => panic!("unexpected delta {other}"),
                }
            }
            "content_block_stop" => {
                let block = blocks.last_mut().unwrap();
                if block["type"] == "tool_use" && !json_input.is_empty() {
                    block["input"] = serde_json::from_str(&json_input).unwrap();
                }
            }
            _ => {}
        }
    }
    Value::Array(blocks)
}

#[tokio::test]
async fn a_stream_that_breaks_ends_with_an_error_event() {
    let (mock, gateway) = gateway_with_account().await;
    mock.mock.script(Scripted::Stream {
        chunks: vec![json!({"candidates": [{"content": {"parts": [{"text": "partial"}]}}]})],
        then_drop: true,
    });
    let events = events(
        messages(&gateway, json!({"model": "m", "max_tokens": 5, "stream": true, "messages": [{"role": "user", "content": "x"}]})).await,
    )
    .await;
    assert_eq!(
        events.first().map(|(n, _)| n.as_str()),
        Some("message_start")
    );
    let (name, data) = events.last().unwrap();
    assert_eq!(name, "error");
    assert_eq!(data["type"], "error");
    assert_eq!(data["error"]["type"], "api_error");
}

#[tokio::test]
async fn bad_requests_get_anthropic_errors() {
    let (_mock, gateway) = gateway_with_account().await;
    let response = messages(
        &gateway,
        json!({"model": "m", "messages": [{"role": "user", "content": "x"}]}),
    )
    .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_tokens"),
        "{body}"
    );
    let response = messages(
        &gateway,
        json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [
            {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}]}]}),
    )
    .await;
    assert_eq!(response.status(), 400);
}
