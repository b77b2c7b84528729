//! Access control: auth modes with each of the four key forms, and the Host
//! check against DNS rebinding.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

mod support;

use serde_json::Value;
use support::{MockGoogle, TestGateway, chat_body};
use switchyard::config::AuthMode;

const KEY: &str = "sk-test-key-0123456789";

/// The four places a client may put its key.
fn with_key(request: reqwest::RequestBuilder, form: usize, key: &str) -> reqwest::RequestBuilder {
    match form {
        0 => request.header("authorization", format!("Bearer {key}")),
        1 => request.header("x-api-key", key),
        2 => request.header("x-goog-api-key", key),
        _ => request.query(&[("key", key)]),
    }
}

async fn gateway(
    auth_mode: AuthMode,
    allow_lan_access: bool,
) -> (support::RunningMock, TestGateway) {
    let mock = MockGoogle::start().await;
    mock.mock.add_account("refresh-a", "a@example.com", true);
    let mut config = mock.config();
    config.gateway.auth_mode = auth_mode;
    config.gateway.allow_lan_access = allow_lan_access;
    let gateway = TestGateway::start(config).await;
    gateway
        .add_account("refresh-a", "a@example.com", "project-a")
        .await;
    (mock, gateway)
}

async fn chat_status(gateway: &TestGateway, key: Option<(usize, &str)>) -> (u16, Value) {
    let mut request = gateway
        .client
        .post(gateway.url("/v1/chat/completions"))
        .json(&chat_body("gemini-2.5-flash", "x", false));
    if let Some((form, key)) = key {
        request = with_key(request, form, key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn health_status(gateway: &TestGateway, key: Option<(usize, &str)>) -> u16 {
    let mut request = gateway.client.get(gateway.url("/healthz"));
    if let Some((form, key)) = key {
        request = with_key(request, form, key);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn strict_mode_wants_the_key_everywhere_in_any_of_four_forms() {
    let (_mock, gateway) = gateway(AuthMode::Strict, false).await;
    let (status, body) = chat_status(&gateway, None).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["type"], "authentication_error");
    assert_eq!(body["error"]["code"], "invalid_api_key");
    assert_eq!(health_status(&gateway, None).await, 401);
    for form in 0..4 {
        assert_eq!(
            chat_status(&gateway, Some((form, KEY))).await.0,
            200,
            "form {form}"
        );
        assert_eq!(
            health_status(&gateway, Some((form, KEY))).await,
            200,
            "form {form}"
        );
        assert_eq!(
            chat_status(&gateway, Some((form, "sk-wrong-key-000000000")))
                .await
                .0,
            401,
            "form {form}"
        );
        assert_eq!(
            chat_status(&gateway, Some((form, &KEY[..KEY.len() - 1])))
                .await
                .0,
            401,
            "form {form}"
        );
    }
}

#[tokio::test]
async fn all_except_health_leaves_health_open() {
    let (_mock, gateway) = gateway(AuthMode::AllExceptHealth, false).await;
    assert_eq!(health_status(&gateway, None).await, 200);
    assert_eq!(chat_status(&gateway, None).await.0, 401);
    for form in 0..4 {
        assert_eq!(
            chat_status(&gateway, Some((form, KEY))).await.0,
            200,
            "form {form}"
        );
    }
    let models = gateway
        .client
        .get(gateway.url("/v1/models"))
        .send()
        .await
        .unwrap();
    assert_eq!(models.status(), 401);
}

#[tokio::test]
async fn off_and_auto_on_loopback_need_no_key() {
    for mode in [AuthMode::Off, AuthMode::Auto] {
        let (_mock, gateway) = gateway(mode, false).await;
        assert_eq!(chat_status(&gateway, None).await.0, 200, "{mode:?}");
        // A wrong key is ignored when no key is needed.
        assert_eq!(
            chat_status(&gateway, Some((0, "whatever"))).await.0,
            200,
            "{mode:?}"
        );
    }
}

#[tokio::test]
async fn auto_with_lan_access_wants_the_key_except_on_health() {
    let (_mock, gateway) = gateway(AuthMode::Auto, true).await;
    let (status, body) = chat_status(&gateway, None).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["type"], "authentication_error");
    assert_eq!(health_status(&gateway, None).await, 200);
    assert_eq!(chat_status(&gateway, Some((1, KEY))).await.0, 200);
}

#[tokio::test]
async fn errors_before_routing_take_the_route_protocol_shape() {
    let (_mock, gateway) = gateway(AuthMode::Strict, false).await;
    let anthropic: Value = gateway
        .client
        .post(gateway.url("/v1/messages"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(anthropic["type"], "error");
    assert_eq!(anthropic["error"]["type"], "authentication_error");
    let gemini: Value = gateway
        .client
        .post(gateway.url("/v1beta/models/gemini-2.5-pro:generateContent"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(gemini["error"]["status"], "UNAUTHENTICATED");
    assert_eq!(gemini["error"]["code"], 401);
}

#[tokio::test]
async fn foreign_host_names_are_refused_on_loopback() {
    let (_mock, gateway) = gateway(AuthMode::Off, false).await;
    let port = gateway.gateway.addr.port();
    for host in ["evil.example", "evil.example:8045", "192.168.1.20"] {
        let response = gateway
            .client
            .post(gateway.url("/v1/chat/completions"))
            .header("host", host)
            .json(&chat_body("gemini-2.5-flash", "x", false))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{host}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "host_not_allowed", "{host}");
    }
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
    ] {
        let response = gateway
            .client
            .get(gateway.url("/healthz"))
            .header("host", &host)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{host}");
    }
}

#[tokio::test]
async fn with_lan_access_other_host_names_are_fine() {
    let (_mock, gateway) = gateway(AuthMode::Strict, true).await;
    let response = gateway
        .client
        .get(gateway.url("/healthz"))
        .header("host", "my-desktop.lan:8045")
        .header("authorization", format!("Bearer {KEY}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn no_permissive_cors() {
    let (_mock, gateway) = gateway(AuthMode::Off, false).await;
    let response = gateway
        .client
        .request(
            reqwest::Method::OPTIONS,
            gateway.url("/v1/chat/completions"),
        )
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    let response = gateway
        .client
        .get(gateway.url("/healthz"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}
