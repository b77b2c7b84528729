//! The official `openai` Python SDK against the real binary and the mock
//! upstream: `accounts add` then `serve`, as a user would set it up.
//!
//! The SDK lives in `.venv-sdk` (made by `scripts/test.sh` from
//! `tests/sdk/requirements.txt`); `SWITCHYARD_SDK_PYTHON` may name another
//! interpreter that has it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

mod support;

use support::{Binary, MockGoogle};
use switchyard::config::AuthMode;

/// The Python that has the pinned SDKs.
pub fn sdk_python() -> std::path::PathBuf {
    if let Some(python) = std::env::var_os("SWITCHYARD_SDK_PYTHON") {
        return python.into();
    }
    let venv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-sdk/bin/python");
    assert!(
        venv.exists(),
        "the SDK tests need the pinned SDKs: run `bash scripts/test.sh` (it creates .venv-sdk), \
         or set SWITCHYARD_SDK_PYTHON to a Python that has tests/sdk/requirements.txt installed"
    );
    venv
}

#[tokio::test(flavor = "multi_thread")]
async fn openai_python_sdk_chat_stream_and_errors() {
    let mock = MockGoogle::start().await;
    mock.mock
        .add_account("1//sdk-account", "sdk@example.com", true);
    let mut config = mock.config();
    config.gateway.auth_mode = AuthMode::Strict;
    let api_key = config.gateway.api_key.clone();
    let binary = Binary::with_config(&config);
    let (ok, stdout, stderr) = binary
        .run(&["accounts", "add", "--refresh-token", "1//sdk-account"])
        .await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("added sdk@example.com"));
    let serve = binary.serve(&[]).await;

    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/openai_sdk.py");
    let mut command = std::process::Command::new(sdk_python());
    command
        .arg(script)
        .env("BASE_URL", serve.url("/v1"))
        .env("API_KEY", api_key)
        .env_remove("OPENAI_BASE_URL")
        .env_remove("OPENAI_API_KEY");
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "SDK checks failed:\n{out}\n{err}\ngateway log:\n{}",
        serve.stderr()
    );
    assert!(out.contains("6 checks passed"), "{out}");
}
