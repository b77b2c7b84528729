//! The official SDKs (openai chat and Responses, anthropic, google-genai)
//! against the real binary whose only member is an API-key upstream of each
//! kind (`upstreams add` then `serve`, as a user would set it up): text,
//! streams and tool round trips, passthrough and translated alike.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

#[path = "support/sdk.rs"]
mod sdk;
mod support;

use sdk::SdkGateway;
use support::keyed::{Kind, MockKeyed};
use support::{Binary, MockGoogle};
use switchyard::config::{AuthMode, Config};

const KEY: &str = "sk-sdk-upstream-key-0123456789";
const MODEL: &str = "gemini-up-model";

async fn every_sdk_on(kind: Kind) {
    let mock = MockKeyed::start(kind, KEY, &[MODEL]).await;
    let mut config = Config::default();
    config.gateway.auth_mode = AuthMode::Strict;
    config.gateway.api_key = "sk-gateway-for-sdks-42".into();
    let api_key = config.gateway.api_key.clone();
    let binary = Binary::with_config(&config);
    let base = mock.base_url();
    let mut args = vec![
        "upstreams",
        "add",
        "up",
        "--kind",
        mock.kind_name(),
        "--base-url",
        &base,
        "--api-key",
        "-",
    ];
    if kind == Kind::Vertex {
        args.extend(["--models", MODEL]);
    }
    let (ok, out, err) = binary.run_with_input(&args, &format!("{KEY}\n")).await;
    assert!(ok, "{out}{err}");
    let serve = binary.serve(&[]).await;
    let gateway = SdkGateway {
        serve,
        binary,
        mock: MockGoogle::start().await,
        api_key,
    };
    for sdk in ["chat", "responses", "anthropic", "genai"] {
        let out = gateway
            .run_script(
                "upstreams_sdk.py",
                "",
                &[("SDK", sdk), ("MODEL", MODEL), ("KIND", mock.kind_name())],
            )
            .await;
        assert!(out.contains("4 checks passed"), "{sdk} on {kind:?}: {out}");
    }
    // Every call reached the upstream (the SDKs did not stop at the gateway).
    assert!(
        mock.generations().len() >= 4 * 5,
        "{kind:?}: {}",
        mock.generations().len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_sdk_on_an_openai_compatible_upstream() {
    every_sdk_on(Kind::OpenAi).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_sdk_on_an_anthropic_upstream() {
    every_sdk_on(Kind::Anthropic).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_sdk_on_a_gemini_api_key() {
    every_sdk_on(Kind::GeminiApi).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_sdk_on_a_vertex_key() {
    every_sdk_on(Kind::Vertex).await;
}
