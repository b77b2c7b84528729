//! Protocol edges found by a fuzz run (issue 13 item 18): each answer is in
//! the caller's own protocol, and the client's mistakes are the client's.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

mod support;

use serde_json::{Value, json};
use support::{MockGoogle, Scripted, TestGateway, chat_body};

#[tokio::test]
async fn wrong_methods_get_a_405_in_the_routes_protocol() {
    let mock = MockGoogle::start().await;
    let gateway = TestGateway::with_one_account(&mock).await;
    for (method, path, shape) in [
        (reqwest::Method::GET, "/v1/chat/completions", "openai"),
        (reqwest::Method::OPTIONS, "/v1/chat/completions", "openai"),
        (reqwest::Method::PUT, "/v1/messages", "anthropic"),
        (
            reqwest::Method::DELETE,
            "/v1beta/models/gemini-2.5-flash:generateContent",
            "gemini",
        ),
    ] {
        let response = gateway
            .client
            .request(method.clone(), gateway.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405, "{method} {path}");
        assert!(response.headers().get("allow").is_some(), "{method} {path}");
        let body: Value = response.json().await.unwrap();
        match shape {
            "anthropic" => assert_eq!(body["type"], "error", "{body}"),
            "gemini" => assert_eq!(body["error"]["code"], 405, "{body}"),
            _ => assert!(body["error"]["message"].is_string(), "{body}"),
        }
    }
}

#[tokio::test]
async fn a_model_name_with_control_characters_is_the_clients_error() {
    let mock = MockGoogle::start().await;
    let gateway = TestGateway::with_one_account(&mock).await;
    for model in ["gemini\r\nX-Evil: 1", "gem\u{0}ini", ""] {
        let response = gateway.chat(chat_body(model, "x", false)).await;
        assert_eq!(response.status(), 400, "{model:?}");
    }
    assert!(mock.mock.received().is_empty(), "nothing went upstream");
}

#[tokio::test]
async fn n_is_bounded_before_it_goes_upstream() {
    let mock = MockGoogle::start().await;
    let gateway = TestGateway::with_one_account(&mock).await;
    let mut body = chat_body("gemini-2.5-flash", "x", false);
    body["n"] = json!(500);
    let response = gateway.chat(body).await;
    assert_eq!(response.status(), 200);
    let sent = &mock.mock.received()[0].body;
    assert_eq!(
        sent["request"]["generationConfig"]["candidateCount"], 8,
        "{sent}"
    );
}

#[tokio::test]
async fn with_one_account_a_503_is_retried_once() {
    let mock = MockGoogle::start().await;
    let gateway = TestGateway::with_one_account(&mock).await;
    mock.mock.script(Scripted::Error(
        503,
        json!({"error": {"code": 503, "status": "UNAVAILABLE", "message": "The service is currently unavailable."}}),
    ));
    let response = gateway
        .chat(chat_body("gemini-2.5-flash", "x", false))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(mock.mock.received().len(), 2);
}

#[tokio::test]
async fn googles_capacity_429_tells_the_client_when_to_come_back() {
    let mock = MockGoogle::start().await;
    let gateway = TestGateway::with_one_account(&mock).await;
    for _ in 0..2 {
        mock.mock.script(Scripted::Error(
            429,
            json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
                "message": "No capacity available for model gemini-2.5-pro on the server",
                "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "MODEL_CAPACITY_EXHAUSTED", "domain": "cloudcode-pa.googleapis.com"}]}}),
        ));
    }
    let response = gateway.chat(chat_body("gemini-2.5-pro", "x", false)).await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1, "{retry_after}");
}

#[tokio::test]
async fn a_bad_gemini_path_or_query_gets_a_gemini_error() {
    let mock = MockGoogle::start().await;
    let gateway = TestGateway::with_one_account(&mock).await;
    for path in [
        "/v1beta/models/gemini-%FF:generateContent",
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&alt=sse",
    ] {
        let response = gateway
            .client
            .post(gateway.url(path))
            .json(&json!({"contents": [{"role": "user", "parts": [{"text": "x"}]}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body["error"]["status"], "INVALID_ARGUMENT",
            "{path}: {body}"
        );
    }
    let response = gateway
        .client
        .get(gateway.url("/v1beta/models/gemini-%FF"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.json::<Value>().await.unwrap()["error"].is_object());
}
