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

#[tokio::test]
async fn web_pages_cannot_spend_the_quota_unless_their_origin_is_allowed() {
    let mock = MockGoogle::start().await;
    mock.mock.add_account("refresh-a", "a@example.com", true);
    let mut config = mock.config();
    config.gateway.allowed_origins = vec!["http://localhost:3000".to_owned()];
    let gateway = TestGateway::start(config).await;
    gateway
        .add_account("refresh-a", "a@example.com", "project-a")
        .await;
    let url = gateway.url("/v1/chat/completions");
    let body = serde_json::to_string(&chat_body("gemini-2.5-flash", "x", false)).unwrap();
    let post = |headers: &[(&str, &str)]| {
        let mut request = gateway.client.post(&url).body(body.clone());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };
    // What a page on another site can send without a preflight.
    for (headers, status) in [
        (
            vec![
                ("origin", "https://evil.example"),
                ("content-type", "text/plain"),
            ],
            403,
        ),
        (
            vec![
                ("origin", "https://evil.example"),
                ("content-type", "application/json"),
            ],
            403,
        ),
        (
            vec![
                ("sec-fetch-site", "cross-site"),
                ("content-type", "application/json"),
            ],
            403,
        ),
        (
            vec![("origin", "null"), ("content-type", "application/json")],
            403,
        ),
        // A page on another loopback port: its simple request is not JSON.
        (
            vec![
                ("origin", "http://127.0.0.1:9999"),
                ("content-type", "text/plain"),
            ],
            415,
        ),
        (
            vec![("content-type", "application/x-www-form-urlencoded")],
            415,
        ),
    ] {
        let response = post(&headers).await.unwrap();
        assert_eq!(response.status(), status, "{headers:?}");
        assert!(
            response
                .headers()
                .get("access-control-allow-origin")
                .is_none()
        );
        let error: Value = response.json().await.unwrap();
        assert!(
            error["error"]["message"].is_string(),
            "OpenAI shape: {error}"
        );
    }
    assert!(mock.mock.received().is_empty(), "no generate call");

    // A preflight: answered for the allowed origin only.
    let preflight = |origin: &'static str| {
        gateway
            .client
            .request(reqwest::Method::OPTIONS, &url)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type, authorization",
            )
            .send()
    };
    let allowed = preflight("http://localhost:3000").await.unwrap();
    assert_eq!(allowed.status(), 204);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "http://localhost:3000"
    );
    assert_eq!(
        allowed.headers()["access-control-allow-headers"],
        "content-type, authorization"
    );
    for origin in ["http://127.0.0.1:9999", "https://evil.example"] {
        let refused = preflight(origin).await.unwrap();
        assert!(
            refused
                .headers()
                .get("access-control-allow-origin")
                .is_none(),
            "{origin}"
        );
    }
    // The allowed origin's JSON request works, with its CORS header.
    let response = post(&[
        ("origin", "http://localhost:3000"),
        ("sec-fetch-site", "cross-site"),
        ("content-type", "application/json"),
    ])
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "http://localhost:3000"
    );
    // Clients that are not browsers send no Origin and are unaffected.
    assert_eq!(
        post(&[("content-type", "application/json")])
            .await
            .unwrap()
            .status(),
        200
    );
}
