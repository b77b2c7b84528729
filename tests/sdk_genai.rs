//! The official `google-genai` Python SDK (`tests/sdk/genai_sdk.py`) against
//! the real binary and the mock upstream, under `/v1beta` and `/v1`; then the
//! mock's log must show every thought signature it issued coming back with
//! the next turn.
//!
//! google-genai decodes thought signatures as base64 (as Google sends them),
//! so a relay in front of the mock sends its `sig-{n}-…` signatures
//! base64-encoded and decodes them on the way back.
//!
//! The SDK lives in `.venv-sdk` (made by `scripts/test.sh` from
//! `tests/sdk/requirements.txt`); `SWITCHYARD_SDK_PYTHON` may name another
//! interpreter that has it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

#[path = "support/sdk.rs"]
mod sdk;
mod support;

use sdk::{SdkGateway, SignaturesBack, assert_signatures_came_back};

async fn genai_sdk(api_version: &str, summary: &str) {
    let gateway = SdkGateway::start_with_base64_signatures().await;
    let out = gateway
        .run_script("genai_sdk.py", "", &[("API_VERSION", api_version)])
        .await;
    assert!(
        out.contains(&format!("genai SDK ({api_version}): {summary}")),
        "{out}"
    );
    // Five tool round trips (plain, streamed, chat, thinking, streamed
    // thinking), two of them on a thinking model.
    assert_eq!(
        assert_signatures_came_back(&gateway.received(), true),
        SignaturesBack {
            calls: 5,
            thoughts: 2
        }
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn genai_python_sdk_v1beta() {
    genai_sdk("v1beta", "14 checks passed").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn genai_python_sdk_v1() {
    genai_sdk("v1", "14 checks passed").await;
}
