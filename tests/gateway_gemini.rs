//! Gemini routes end to end, in process: `/v1beta/models/{m}:{action}` and
//! `/v1/models/{m}:{action}` against the mock Google upstream.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

mod support;

use serde_json::{Value, json};
use support::{MockGoogle, Scripted, TestGateway, sse_data};

async fn gateway_with_account() -> (support::RunningMock, TestGateway) {
    let mock = MockGoogle::start().await;
    let gateway = TestGateway::with_one_account(&mock).await;
    (mock, gateway)
}

fn contents(text: &str) -> Value {
    json!({"contents": [{"role": "user", "parts": [{"text": text}]}]})
}

async fn post(gateway: &TestGateway, path: &str, body: Value) -> reqwest::Response {
    gateway
        .client
        .post(gateway.url(path))
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn generate_content_under_v1beta_and_v1() {
    let (mock, gateway) = gateway_with_account().await;
    for prefix in ["/v1beta", "/v1"] {
        let response = post(
            &gateway,
            &format!("{prefix}/models/gemini-2.5-flash:generateContent"),
            contents("Hello Gemini"),
        )
        .await;
        assert_eq!(response.status(), 200, "{prefix}");
        assert_eq!(response.headers()["x-switchyard-model"], "gemini-2.5-flash");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body["candidates"][0]["content"]["parts"][0]["text"],
            "echo: Hello Gemini"
        );
        assert_eq!(body["candidates"][0]["finishReason"], "STOP");
        assert_eq!(body["usageMetadata"]["totalTokenCount"], 16);
    }
    assert_eq!(mock.mock.received().len(), 2);
    assert_eq!(mock.mock.received()[0].body["model"], "gemini-2.5-flash");
}

#[tokio::test]
async fn thought_signatures_and_call_ids_reach_the_upstream_untouched() {
    let (mock, gateway) = gateway_with_account().await;
    let history = json!({
        "systemInstruction": {"parts": [{"text": "You are terse."}]},
        "contents": [
            {"role": "user", "parts": [{"text": "Weather in Oslo?"}]},
            {"role": "model", "parts": [
                {"text": "thinking about it", "thought": true, "thoughtSignature": "sig-thought"},
                {"functionCall": {"id": "call-7", "name": "weather", "args": {"city": "Oslo"}}, "thoughtSignature": "sig-call"}
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"id": "call-7", "name": "weather", "response": {"result": "rain"}}}
            ]}
        ],
        "tools": [{"functionDeclarations": [{"name": "weather", "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}}}]}],
        "generationConfig": {"thinkingConfig": {"includeThoughts": true, "thinkingBudget": 1024}}
    });
    let response = post(
        &gateway,
        "/v1beta/models/gemini-2.5-pro:generateContent",
        history.clone(),
    )
    .await;
    assert_eq!(response.status(), 200);
    let sent = &mock.mock.received()[0].body["request"];
    assert_eq!(sent["contents"], history["contents"]);
    assert_eq!(sent["tools"], history["tools"]);
    assert_eq!(sent["systemInstruction"], history["systemInstruction"]);
    assert_eq!(sent["generationConfig"], history["generationConfig"]);
}

#[tokio::test]
async fn stream_with_alt_sse_forwards_each_event() {
    let (mock, gateway) = gateway_with_account().await;
    mock.mock.script(Scripted::Stream {
        chunks: vec![
            json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "Hmm", "thought": true, "thoughtSignature": "sig-1"}]}}]}),
            json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "Hi"}]}, "finishReason": "STOP"}],
                   "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 1, "totalTokenCount": 4}}),
        ],
        then_drop: false,
    });
    let response = gateway
        .client
        .post(gateway.url("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"))
        .json(&contents("x"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let events: Vec<Value> = sse_data(response)
        .await
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    assert_eq!(events.len(), 2);
    assert_eq!(
        events[0]["candidates"][0]["content"]["parts"][0]["thoughtSignature"],
        "sig-1"
    );
    assert_eq!(events[1]["candidates"][0]["finishReason"], "STOP");
    assert_eq!(events[1]["usageMetadata"]["totalTokenCount"], 4);
}

#[tokio::test]
async fn stream_without_alt_is_a_json_array() {
    let (_mock, gateway) = gateway_with_account().await;
    let response = post(
        &gateway,
        "/v1/models/gemini-2.5-flash:streamGenerateContent",
        contents("array please"),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let text: String = body
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["candidates"][0]["content"]["parts"][0]["text"].as_str())
        .collect();
    assert_eq!(text, "echo: array please");
}

#[tokio::test]
async fn a_broken_stream_ends_with_a_gemini_error_object() {
    let (mock, gateway) = gateway_with_account().await;
    mock.mock.script(Scripted::Stream {
        chunks: vec![json!({"candidates": [{"content": {"parts": [{"text": "part"}]}}]})],
        then_drop: true,
    });
    let response = gateway
        .client
        .post(gateway.url("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"))
        .json(&contents("x"))
        .send()
        .await
        .unwrap();
    let events = sse_data(response).await;
    let last: Value = serde_json::from_str(events.last().unwrap()).unwrap();
    assert_eq!(last["error"]["status"], "INTERNAL");
    assert!(
        last["error"]["message"]
            .as_str()
            .unwrap()
            .contains("upstream")
    );
}

#[tokio::test]
async fn count_tokens_plain_and_wrapped() {
    let (mock, gateway) = gateway_with_account().await;
    let response = post(
        &gateway,
        "/v1beta/models/gemini-2.5-flash:countTokens",
        contents("one two three"),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"totalTokens": 3})
    );
    let wrapped = json!({"generateContentRequest": {
        "model": "models/gemini-2.5-flash",
        "systemInstruction": {"parts": [{"text": "be kind"}]},
        "contents": [{"role": "user", "parts": [{"text": "four five six seven"}]}]
    }});
    let response = post(
        &gateway,
        "/v1beta/models/gemini-2.5-flash:countTokens",
        wrapped,
    )
    .await;
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"totalTokens": 6})
    );
    let counted = mock
        .mock
        .received()
        .into_iter()
        .find(|r| r.method == "countTokens")
        .unwrap();
    assert_eq!(counted.body["request"]["model"], "models/gemini-2.5-flash");
}

#[tokio::test]
async fn model_list_and_model_info() {
    let (_mock, gateway) = gateway_with_account().await;
    let body: Value = gateway.get_json("/v1beta/models").await;
    let names: Vec<&str> = body["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"models/gemini-2.5-pro"), "{names:?}");
    assert!(
        body["models"][0]["supportedGenerationMethods"]
            .as_array()
            .unwrap()
            .contains(&json!("generateContent"))
    );
    let one: Value = gateway.get_json("/v1beta/models/gemini-2.5-pro").await;
    assert_eq!(one["name"], "models/gemini-2.5-pro");
}

#[tokio::test]
async fn errors_come_back_in_gemini_shape() {
    let mock = MockGoogle::start().await;
    let gateway = TestGateway::start(mock.config()).await;
    let response = post(
        &gateway,
        "/v1beta/models/gemini-2.5-flash:generateContent",
        contents("x"),
    )
    .await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], 503);
    assert_eq!(body["error"]["status"], "UNAVAILABLE");

    let response = post(
        &gateway,
        "/v1beta/models/gemini-2.5-flash:embedContent",
        contents("x"),
    )
    .await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"]["status"],
        "NOT_FOUND"
    );

    let response = gateway
        .client
        .post(gateway.url("/v1beta/models/gemini-2.5-flash:generateContent"))
        .header("content-type", "application/json")
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"]["status"],
        "INVALID_ARGUMENT"
    );
    // A body that does not say it is JSON (a browser's text/plain).
    let response = gateway
        .client
        .post(gateway.url("/v1beta/models/gemini-2.5-flash:generateContent"))
        .body(r#"{"contents": [{"parts": [{"text": "x"}]}]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    let body = response.json::<Value>().await.unwrap();
    assert_eq!(body["error"]["code"], 415, "{body}");
    assert_eq!(body["error"]["status"], "INVALID_ARGUMENT", "{body}");

    let response = post(
        &gateway,
        "/v1beta/models/gemini-2.5-flash:generateContent",
        json!({"contents": []}),
    )
    .await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn a_three_turn_tool_conversation_keeps_every_signature() {
    let (mock, gateway) = gateway_with_account().await;
    let city =
        json!({"type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]});
    let tools = json!([{"functionDeclarations": [
        {"name": "weather", "parameters": city}, {"name": "forecast", "parameters": city}]}]);
    let config = json!({"thinkingConfig": {"includeThoughts": true, "thinkingBudget": 1024}});
    let mut contents = vec![json!({"role": "user", "parts": [{"text": "Weather in Oslo?"}]})];
    for turn in 0..3 {
        let path = if turn == 1 {
            "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
        } else {
            "/v1beta/models/gemini-2.5-pro:generateContent"
        };
        let response = gateway
            .client
            .post(gateway.url(path))
            .json(&json!({"contents": contents, "tools": tools, "generationConfig": config}))
            .send()
            .await
            .unwrap();
        // A client joins streamed parts into one model turn, as the SDKs do.
        let parts: Vec<Value> = if turn == 1 {
            sse_data(response)
                .await
                .iter()
                .map(|e| serde_json::from_str::<Value>(e).unwrap())
                .flat_map(|e| {
                    e["candidates"][0]["content"]["parts"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                })
                .collect()
        } else {
            let body: Value = response.json().await.unwrap();
            body["candidates"][0]["content"]["parts"]
                .as_array()
                .unwrap()
                .clone()
        };
        if turn == 2 {
            assert!(parts.iter().any(|p| {
                p["text"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("tool forecast said"))
            }));
            break;
        }
        contents.push(json!({"role": "model", "parts": parts}));
        contents.push(json!({"role": "user", "parts": [
            {"functionResponse": {"name": if turn == 0 { "weather" } else { "forecast" }, "response": {"result": format!("rain {turn}")}}}]}));
    }
    let last = &mock.mock.received()[2].body["request"]["contents"];
    let signatures: Vec<&str> = last
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["role"] == "model")
        .flat_map(|c| c["parts"].as_array().unwrap().iter())
        .filter_map(|p| p["thoughtSignature"].as_str())
        .collect();
    assert_eq!(
        signatures,
        vec!["sig-1-thought", "sig-1-call", "sig-2-thought", "sig-2-call"]
    );
}

#[tokio::test]
async fn v1_model_list_in_gemini_shape_for_gemini_clients_and_probes_answer() {
    let (_mock, gateway) = gateway_with_account().await;
    let gemini: Value = gateway
        .client
        .get(gateway.url("/v1/models"))
        .header("x-goog-api-key", "anything")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        gemini["models"][0]["name"]
            .as_str()
            .unwrap()
            .starts_with("models/")
    );
    let openai = gateway.get_json("/v1/models").await;
    assert_eq!(openai["object"], "list");
    for path in ["/", "/api/hello"] {
        let response = gateway.client.head(gateway.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
}
