//! OpenAI Responses API (`/v1/responses`) end to end, in process.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

mod support;

use serde_json::{Value, json};
use support::{MockGoogle, Scripted, TestGateway};

async fn gateway_with_account() -> (support::RunningMock, TestGateway) {
    let mock = MockGoogle::start().await;
    let gateway = TestGateway::with_one_account(&mock).await;
    (mock, gateway)
}

async fn post(gateway: &TestGateway, body: Value) -> reqwest::Response {
    gateway
        .client
        .post(gateway.url("/v1/responses"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn events(response: reqwest::Response) -> Vec<Value> {
    support::sse_data(response)
        .await
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

#[tokio::test]
async fn whole_and_streamed_answers() {
    let (_mock, gateway) = gateway_with_account().await;
    let response = post(
        &gateway,
        json!({"model": "gpt-5", "input": "Hello Codex", "store": false}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["object"], "response");
    assert_eq!(body["status"], "completed");
    let message = body["output"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "message")
        .unwrap();
    assert_eq!(message["content"][0]["text"], "echo: Hello Codex");
    assert_eq!(body["usage"]["total_tokens"], 16);

    let events = events(
        post(
            &gateway,
            json!({"model": "gpt-5", "input": "Stream it", "stream": true}),
        )
        .await,
    )
    .await;
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types.first(), Some(&"response.created"));
    assert_eq!(types.last(), Some(&"response.completed"));
    let text: String = events
        .iter()
        .filter(|e| e["type"] == "response.output_text.delta")
        .map(|e| e["delta"].as_str().unwrap())
        .collect();
    assert_eq!(text, "echo: Stream it");
    let sequence: Vec<i64> = events
        .iter()
        .map(|e| e["sequence_number"].as_i64().unwrap())
        .collect();
    assert!(sequence.windows(2).all(|w| w[1] > w[0]));
}

#[tokio::test]
async fn a_tool_round_trip_keeps_the_call_signature() {
    let (mock, gateway) = gateway_with_account().await;
    let tools = json!([{"type": "function", "name": "shell", "description": "Run a command",
        "parameters": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}}]);
    let first: Value = post(&gateway, json!({"model": "gpt-5", "tools": tools, "reasoning": {"effort": "low", "summary": "auto"},
        "include": ["reasoning.encrypted_content"], "input": [{"role": "user", "content": "List files"}]}))
    .await
    .json()
    .await
    .unwrap();
    let output = first["output"].as_array().unwrap().clone();
    let call = output
        .iter()
        .find(|i| i["type"] == "function_call")
        .unwrap()
        .clone();
    assert_eq!(call["name"], "shell");
    assert_eq!(
        serde_json::from_str::<Value>(call["arguments"].as_str().unwrap()).unwrap(),
        json!({"command": "x"})
    );
    let mut input = vec![json!({"role": "user", "content": "List files"})];
    input.extend(output);
    input.push(json!({"type": "function_call_output", "call_id": call["call_id"], "output": "a.txt b.txt"}));
    let second: Value = post(
        &gateway,
        json!({"model": "gpt-5", "tools": tools, "input": input}),
    )
    .await
    .json()
    .await
    .unwrap();
    let message = second["output"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "message")
        .unwrap();
    assert!(
        message["content"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("tool shell said")
    );
    let sent = &mock.mock.received()[1].body["request"]["contents"];
    let model_turn = sent
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["role"] == "model")
        .unwrap();
    let parts = model_turn["parts"].as_array().unwrap();
    assert!(
        parts
            .iter()
            .any(|p| p["thoughtSignature"] == "sig-1-thought"),
        "{model_turn}"
    );
    assert!(
        parts
            .iter()
            .any(|p| p.get("functionCall").is_some() && p["thoughtSignature"] == "sig-1-call"),
        "{model_turn}"
    );
}

#[tokio::test]
async fn a_broken_stream_ends_with_response_failed() {
    let (mock, gateway) = gateway_with_account().await;
    mock.mock.script(Scripted::Stream {
        chunks: vec![json!({"candidates": [{"content": {"parts": [{"text": "partial"}]}}]})],
        then_drop: true,
    });
    let events = events(
        post(
            &gateway,
            json!({"model": "gpt-5", "input": "x", "stream": true}),
        )
        .await,
    )
    .await;
    assert_eq!(events.first().unwrap()["type"], "response.created");
    let last = events.last().unwrap();
    assert_eq!(last["type"], "response.failed");
    assert_eq!(last["response"]["status"], "failed");
}

#[tokio::test]
async fn previous_response_id_is_refused_clearly() {
    let (_mock, gateway) = gateway_with_account().await;
    let response = post(
        &gateway,
        json!({"model": "gpt-5", "input": "x", "previous_response_id": "resp_1"}),
    )
    .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["param"], "previous_response_id");
}
