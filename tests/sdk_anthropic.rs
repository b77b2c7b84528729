//! The official `anthropic` Python SDK (`tests/sdk/anthropic_sdk.py`) against
//! the real binary and the mock upstream, once for each way it sends the key;
//! then the mock's log must show every thought signature it issued coming
//! back with the next turn.
//!
//! The SDK lives in `.venv-sdk` (made by `scripts/test.sh` from
//! `tests/sdk/requirements.txt`); `SWITCHYARD_SDK_PYTHON` may name another
//! interpreter that has it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

#[path = "support/sdk.rs"]
mod sdk;
mod support;

use sdk::{SdkGateway, SignaturesBack, assert_signatures_came_back};

async fn anthropic_sdk(auth_style: &str) {
    let gateway = SdkGateway::start().await;
    let out = gateway
        .run_script("anthropic_sdk.py", "", &[("AUTH_STYLE", auth_style)])
        .await;
    assert!(
        out.contains(&format!("anthropic SDK ({auth_style}): 12 checks passed\n")),
        "{out}"
    );
    // Four tool round trips (plain, streamed, thinking, streamed thinking);
    // thinking blocks carry the thought signatures back in the last two.
    assert_eq!(
        assert_signatures_came_back(&gateway.received(), true),
        SignaturesBack {
            calls: 4,
            thoughts: 2
        }
    );
}

/// `Anthropic(api_key=…)`: anthropic 2.x sends it as `Authorization: Bearer`.
#[tokio::test(flavor = "multi_thread")]
async fn anthropic_python_sdk_with_api_key() {
    anthropic_sdk("api_key").await;
}

/// `Anthropic(auth_token=…)`: `Authorization: Bearer`.
#[tokio::test(flavor = "multi_thread")]
async fn anthropic_python_sdk_with_auth_token() {
    anthropic_sdk("auth_token").await;
}

/// The key in `X-Api-Key` only, as anthropic 1.x, litellm and Claude Code send it.
#[tokio::test(flavor = "multi_thread")]
async fn anthropic_python_sdk_with_x_api_key() {
    anthropic_sdk("x-api-key").await;
}

/// The signature check fails when a signature is lost, moved to another part,
/// or its call is never continued (so a passing SDK test means something).
#[test]
fn signature_check_catches_lost_and_moved_signatures() {
    use serde_json::{Value, json};
    use support::Received;

    fn request(contents: Value) -> Received {
        Received {
            method: "generateContent".to_owned(),
            access_token: String::new(),
            email: String::new(),
            body: json!({"request": {
                "contents": contents,
                "tools": [{"functionDeclarations": [{"name": "get_weather"}]}],
                "generationConfig": {"thinkingConfig": {"includeThoughts": true}}}}),
            user_agent: String::new(),
            host: support::Host::Prod,
            client_metadata: None,
        }
    }
    fn conversation(thought: Value, call: Value) -> Vec<Received> {
        let question = json!({"role": "user", "parts": [{"text": "Weather?"}]});
        let result = json!({"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {}}}]});
        vec![
            request(json!([question])),
            request(json!([question, {"role": "model", "parts": [thought, call]}, result])),
        ]
    }
    let thought =
        |sig: &str| json!({"text": "Thinking it over.", "thought": true, "thoughtSignature": sig});
    let call = |sig: &str| json!({"functionCall": {"name": "get_weather", "args": {}}, "thoughtSignature": sig});
    let fails = |received: Vec<Received>, thoughts: bool| {
        std::panic::catch_unwind(|| assert_signatures_came_back(&received, thoughts)).is_err()
    };

    let good = conversation(thought("sig-1-thought"), call("sig-1-call"));
    assert_eq!(
        assert_signatures_came_back(&good, true),
        SignaturesBack {
            calls: 1,
            thoughts: 1
        }
    );
    let lost_call = conversation(
        thought("sig-1-thought"),
        call("skip_thought_signature_validator"),
    );
    assert!(fails(lost_call, false));
    let lost_thought = conversation(
        json!({"text": "Thinking it over.", "thought": true}),
        call("sig-1-call"),
    );
    assert!(fails(lost_thought.clone(), true));
    assert!(!fails(lost_thought, false));
    let swapped = conversation(thought("sig-1-call"), call("sig-1-thought"));
    assert!(fails(swapped, false));
    assert!(fails(good[..1].to_vec(), false));
}

/// The whole suite on Google's Claude Opus behind the Antigravity client:
/// `claude-opus-4-6` reaches `claude-opus-4-6-thinking`, and every Claude
/// signature comes back (the mock refuses Gemini-style thinking history on
/// Claude models).
#[tokio::test(flavor = "multi_thread")]
async fn anthropic_python_sdk_on_googles_claude_opus() {
    let gateway = SdkGateway::start_antigravity().await;
    let out = gateway
        .run_script(
            "anthropic_sdk.py",
            "",
            &[("AUTH_STYLE", "x-api-key"), ("MODEL", "claude-opus-4-6")],
        )
        .await;
    assert!(
        out.contains("anthropic SDK (x-api-key): 12 checks passed\n"),
        "{out}"
    );
    let received = gateway.received();
    assert!(
        received
            .iter()
            .filter(|r| r.method != "countTokens")
            .any(|r| r.body["model"] == "claude-opus-4-6-thinking"),
        "the Claude model served"
    );
    assert!(
        received.iter().any(|r| r.body["request"]["contents"]
            .to_string()
            .contains("claude-sig-")),
        "Claude signatures went back"
    );
    assert_eq!(
        assert_signatures_came_back(&received, true),
        SignaturesBack {
            calls: 4,
            thoughts: 2
        }
    );
}
