//! The official `openai` Python SDK beyond `sdk_openai.rs`: chat completions
//! with tools, reasoning and images (`tests/sdk/openai_tools_sdk.py`) and the
//! Responses API (`tests/sdk/openai_responses_sdk.py`), against the real
//! binary and the mock upstream; then the mock's log must show every thought
//! signature it issued coming back with the next turn.
//!
//! The SDK lives in `.venv-sdk` (made by `scripts/test.sh` from
//! `tests/sdk/requirements.txt`); `SWITCHYARD_SDK_PYTHON` may name another
//! interpreter that has it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

#[path = "support/sdk.rs"]
mod sdk;
mod support;

use sdk::{SdkGateway, SignaturesBack, assert_signatures_came_back};

#[tokio::test(flavor = "multi_thread")]
async fn openai_python_sdk_chat_tools_reasoning_and_images() {
    let gateway = SdkGateway::start().await;
    let out = gateway.run_script("openai_tools_sdk.py", "/v1", &[]).await;
    assert!(
        out.contains("openai SDK chat tools: 6 checks passed\n"),
        "{out}"
    );
    // Five tool round trips. Chat completions has no place for thoughts, so
    // only the call signatures (riding in the tool call ids) come back.
    assert_eq!(
        assert_signatures_came_back(&gateway.received(), false),
        SignaturesBack {
            calls: 5,
            thoughts: 0
        }
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn openai_python_sdk_responses() {
    let gateway = SdkGateway::start().await;
    let out = gateway
        .run_script("openai_responses_sdk.py", "/v1", &[])
        .await;
    assert!(
        out.contains("openai SDK responses: 9 checks passed\n"),
        "{out}"
    );
    // Four tool round trips (plain, streamed, reasoning, streamed reasoning);
    // reasoning items carry the thought signatures back in the last two.
    assert_eq!(
        assert_signatures_came_back(&gateway.received(), true),
        SignaturesBack {
            calls: 4,
            thoughts: 2
        }
    );
}
