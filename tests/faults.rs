//! Fault runs against the gateway (issue 13): a stalled token endpoint, a
//! storm of 401s. Nothing here waits on wall-clock speed except the
//! deadlines under test, with generous bounds.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::{MockGoogle, TestGateway, chat_body};
use switchyard::config::Scheduling;

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_token_endpoint_holds_up_only_its_account_and_only_until_the_deadline() {
    let mock = MockGoogle::start().await;
    let mut config = mock.config();
    config.gateway.request_timeout_secs = 3;
    config.gateway.scheduling = Scheduling::RoundRobin;
    let gateway = TestGateway::start(config).await;
    for name in ["a", "b"] {
        let email = format!("{name}@example.com");
        mock.mock
            .add_account(&format!("refresh-{name}"), &email, true);
        gateway
            .add_account(
                &format!("refresh-{name}"),
                &email,
                &format!("project-{name}"),
            )
            .await;
    }
    mock.mock.stall_refresh("refresh-a");
    let started = Instant::now();
    // Round robin: the first request goes to a (its refresh hangs), the
    // next ones alternate.
    let stalled = tokio::spawn({
        let client = gateway.client.clone();
        let url = gateway.url("/v1/chat/completions");
        async move {
            let response = client
                .post(url)
                .json(&chat_body("gemini-2.5-flash", "one", false))
                .send()
                .await
                .unwrap();
            (
                response.status(),
                response.text().await.unwrap(),
                started.elapsed(),
            )
        }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let other = gateway
        .chat(chat_body("gemini-2.5-flash", "two", false))
        .await;
    assert_eq!(other.status(), 200, "b still answers");
    assert!(
        !stalled.is_finished(),
        "a's request is still waiting on its refresh"
    );
    let (status, body, took) = stalled.await.unwrap();
    assert_eq!(status, 504, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("time limit"), "a clear error: {message}");
    assert!(
        took < Duration::from_secs(6),
        "within the deadline: {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_concurrent_401s_refresh_the_token_once() {
    let mock = MockGoogle::start().await;
    let gateway = TestGateway::with_one_account(&mock).await;
    assert_eq!(
        gateway
            .chat(chat_body("gemini-2.5-flash", "warm", false))
            .await
            .status(),
        200
    );
    let refreshes = mock.mock.refreshes();
    mock.mock.revoke_access_tokens();
    let requests: Vec<_> = (0..50)
        .map(|i| {
            let client = gateway.client.clone();
            let url = gateway.url("/v1/chat/completions");
            tokio::spawn(async move {
                client
                    .post(url)
                    .json(&chat_body("gemini-2.5-flash", &format!("n{i}"), false))
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    for request in requests {
        assert_eq!(request.await.unwrap(), 200);
    }
    assert_eq!(mock.mock.refreshes() - refreshes, 1, "exactly one refresh");
}
