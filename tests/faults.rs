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

/// Reads from `stream` until the server closes it; returns how long that took
/// (or `None` if it stayed open for `limit`).
async fn closed_within(stream: &mut tokio::net::TcpStream, limit: Duration) -> Option<Duration> {
    use tokio::io::AsyncReadExt;
    let started = Instant::now();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(
            tokio::time::Instant::from_std(started + limit),
            stream.read(&mut buffer),
        )
        .await
        {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => continue,
            Err(_) => return None,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_and_idle_connections_are_closed_and_cannot_crowd_out_a_request() {
    use tokio::io::AsyncWriteExt;
    let mock = MockGoogle::start().await;
    let gateway = TestGateway::with_one_account(&mock).await;
    let addr = gateway.gateway.addr;
    let limit = switchyard::gateway::HEADER_TIMEOUT + Duration::from_secs(5);

    // 1,100 idle connections (more than the usual soft limit of 1,024 files).
    let mut idle = Vec::new();
    for _ in 0..1_100 {
        idle.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    // A request is still answered.
    assert_eq!(
        gateway
            .chat(chat_body("gemini-2.5-flash", "still here", false))
            .await
            .status(),
        200
    );
    // Half the headers, then nothing.
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    // A kept-alive connection after one request.
    let mut kept = tokio::net::TcpStream::connect(addr).await.unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let (slow_closed, kept_closed, idle_closed) = tokio::join!(
        closed_within(&mut slow, limit),
        closed_within(&mut kept, limit),
        closed_within(&mut idle[0], limit),
    );
    assert!(slow_closed.is_some(), "a slow-header connection is closed");
    assert!(
        kept_closed.is_some(),
        "an idle kept-alive connection is closed"
    );
    assert!(idle_closed.is_some(), "a silent connection is closed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_declared_body_over_the_limit_gets_413_before_it_is_sent() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mock = MockGoogle::start().await;
    let gateway = TestGateway::with_one_account(&mock).await;
    let mut stream = tokio::net::TcpStream::connect(gateway.gateway.addr)
        .await
        .unwrap();
    stream
        .write_all(
            b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
              Content-Length: 209715200\r\n\r\n{",
        )
        .await
        .unwrap();
    let mut answer = vec![0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("an answer without the body")
        .unwrap();
    let text = String::from_utf8_lossy(&answer[..read]);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(
        text.contains("\"type\":\"error\""),
        "in Anthropic's shape: {text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn what_clients_send_is_kept_only_in_bounded_pieces() {
    let mock = MockGoogle::start().await;
    let gateway = TestGateway::with_one_account(&mock).await;
    for i in 0..50 {
        let model = format!("{i}-{}", "m".repeat(100_000));
        let response = gateway.chat(chat_body(&model, "x", false)).await;
        assert_eq!(response.status(), 400);
    }
    let recent = gateway.gateway.state().recent.newest(100);
    assert_eq!(recent.len(), 50);
    for record in recent.iter() {
        assert!(
            record.model.chars().count() <= 129,
            "{}",
            record.model.len()
        );
        assert!(
            record
                .error_message
                .as_deref()
                .is_none_or(|m| m.chars().count() <= 2_001)
        );
    }
    let metrics = gateway
        .client
        .get(gateway.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert!(
        metrics.text().await.unwrap().len() < 20_000,
        "metrics stay small"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn account_writes_land_in_order_and_none_is_lost_on_stop() {
    let mock = MockGoogle::start().await;
    let gateway = TestGateway::with_one_account(&mock).await;
    let id = gateway.store.find_account("a@example.com").unwrap().id;
    let state = gateway.gateway.state().clone();
    let account = state.pool.account(id).unwrap();
    // Many refreshes of the same account's token, newest last, as requests
    // make them; each new token goes to the store through the pool's writer.
    // (Each expires long ago, so every call refreshes again.)
    for expires in 1..=500 {
        let token = state
            .pool
            .access_token(&account, |_refresh_token| async move {
                Ok(switchyard::pool::AccessToken {
                    value: switchyard::secret::Secret::new(format!("ya29.token-{expires}")),
                    expires_at: expires,
                })
            })
            .await
            .unwrap();
        assert_eq!(token.expose(), format!("ya29.token-{expires}"));
    }
    let TestGateway { gateway, home, .. } = gateway;
    gateway.stop().await;
    let store = switchyard::store::Store::open(&home.path().join("switchyard.db")).unwrap();
    let account = store.find_account("a@example.com").unwrap();
    assert_eq!(
        account.access_expires_at,
        Some(500),
        "the newest write landed last"
    );
    assert_eq!(
        account.access_token.as_ref().map(|t| t.expose().to_owned()),
        Some("ya29.token-500".to_owned())
    );
}
