//! Google accounts as they work since June 2026 (`google-2026.md`), on the
//! real binary against the mock: which client a token belongs to, consent for
//! the Antigravity client, `client retired` and `suspended by Google`, the
//! Antigravity envelope, user agent and hosts.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

mod support;

use serde_json::{Value, json};
use support::{Binary, Host, MockGoogle, RunningMock, chat_body};
use switchyard::store::{AccountStatus, Store};

/// A home on `mock` with the Antigravity risk accepted and `version` as the
/// Antigravity version.
fn accepted_home(mock: &RunningMock, version: &str) -> Binary {
    let mut config = mock.config();
    config.google.antigravity_risk_accepted = true;
    config.google.antigravity_version = version.to_owned();
    Binary::with_config(&config)
}

async fn add(binary: &Binary, args: &[&str]) -> (bool, String, String) {
    let mut all = vec!["accounts", "add"];
    all.extend_from_slice(args);
    binary.run(&all).await
}

fn store(binary: &Binary) -> Store {
    Store::open(&binary.home.path().join("switchyard.db")).unwrap()
}

fn generate_calls(mock: &RunningMock) -> Vec<support::Received> {
    mock.mock
        .received()
        .into_iter()
        .filter(|r| r.method != "countTokens")
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_personal_account_serves_on_antigravity_with_its_envelope_agent_and_daily_host() {
    let mock = MockGoogle::start().await;
    mock.mock.add_personal("1//personal", "me@gmail.com");
    let binary = accepted_home(&mock, "2.9.7");
    let (ok, stdout, stderr) = add(&binary, &["--refresh-token", "1//personal"]).await;
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("added me@gmail.com") && stdout.contains("client antigravity"),
        "{stdout}"
    );
    let account = store(&binary).find_account("me@gmail.com").unwrap();
    assert_eq!(account.oauth_client, "antigravity");
    assert_eq!(account.status, AccountStatus::Active);

    let serve = binary.serve(&[]).await;
    let client = reqwest::Client::new();
    // OpenAI, Anthropic and Gemini routes, on a Gemini 3 model (which Google
    // refuses to agents below 2.9.0).
    let openai = client
        .post(serve.url("/v1/chat/completions"))
        .json(&chat_body("gemini-3-flash", "hello", false))
        .send()
        .await
        .unwrap();
    assert_eq!(openai.status(), 200, "{}", openai.text().await.unwrap());
    let body: Value = openai.json().await.unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], "echo: hello");
    let anthropic = client
        .post(serve.url("/v1/messages"))
        .json(&json!({"model": "gemini-3-flash", "max_tokens": 64,
            "messages": [{"role": "user", "content": "hi there"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(anthropic.status(), 200);
    let body: Value = anthropic.json().await.unwrap();
    assert_eq!(body["content"][0]["text"], "echo: hi there");
    let gemini = client
        .post(serve.url("/v1beta/models/gemini-3-flash:generateContent"))
        .json(&json!({"contents": [{"role": "user", "parts": [{"text": "gem"}]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(gemini.status(), 200);
    let body: Value = gemini.json().await.unwrap();
    assert_eq!(
        body["candidates"][0]["content"]["parts"][0]["text"],
        "echo: gem"
    );

    let calls = generate_calls(&mock);
    assert_eq!(calls.len(), 3, "{calls:?}");
    for call in &calls {
        assert!(
            call.user_agent.starts_with("antigravity/2.9.7 "),
            "the configured version: {}",
            call.user_agent
        );
        assert_eq!(call.host, Host::Daily, "the daily host first");
        let metadata: Value =
            serde_json::from_str(call.client_metadata.as_deref().unwrap()).unwrap();
        assert_eq!(metadata["ideType"], "ANTIGRAVITY");
        assert_eq!(call.body["requestType"], "agent");
        assert_eq!(call.body["userAgent"], "antigravity");
        assert!(
            call.body["requestId"]
                .as_str()
                .is_some_and(|id| id.starts_with("agent-")),
            "{}",
            call.body
        );
        assert_eq!(call.body["project"], "project-me");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daily_host_failing_costs_the_client_nothing() {
    let mock = MockGoogle::start().await;
    mock.mock.add_personal("1//personal", "me@gmail.com");
    let binary = accepted_home(&mock, "2.9.1");
    assert!(add(&binary, &["--refresh-token", "1//personal"]).await.0);
    let serve = binary.serve(&[]).await;
    mock.mock.fail_host(Host::Daily, Some(503));
    let client = reqwest::Client::new();
    for stream in [false, true] {
        let response = client
            .post(serve.url("/v1/chat/completions"))
            .json(&chat_body("gemini-3-flash", "still here", stream))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let text = response.text().await.unwrap();
        assert!(
            text.contains("echo: ") && text.contains("stop"),
            "stream: {stream}: {text}"
        );
    }
    let calls = generate_calls(&mock);
    assert_eq!(calls.len(), 2, "each request reached prod once: {calls:?}");
    assert!(calls.iter().all(|c| c.host == Host::Prod));
    // No account was marked: the host was at fault.
    let account = store(&binary).find_account("me@gmail.com").unwrap();
    assert_eq!(account.status, AccountStatus::Active);
    assert!(store(&binary).limits(0).unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_antigravity_version_below_the_floor_gets_no_newer_models() {
    let mock = MockGoogle::start().await;
    mock.mock.add_personal("1//personal", "me@gmail.com");
    let binary = accepted_home(&mock, "2.8.4");
    assert!(add(&binary, &["--refresh-token", "1//personal"]).await.0);
    let serve = binary.serve(&[]).await;
    let client = reqwest::Client::new();
    let response = client
        .post(serve.url("/v1/chat/completions"))
        .json(&chat_body("gemini-3-flash", "x", false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    // Older models still answer, so the setting is what decides.
    let response = client
        .post(serve.url("/v1/chat/completions"))
        .json(&chat_body("gemini-2.5-flash", "x", false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_personal_account_on_gemini_cli_is_client_retired_and_gets_no_traffic() {
    let mock = MockGoogle::start().await;
    mock.mock
        .add_personal_on_gemini_cli("1//old-cli", "old@gmail.com");
    let binary = Binary::with_config(&mock.config());
    let (ok, stdout, stderr) = add(&binary, &["--refresh-token", "1//old-cli"]).await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("client retired"), "{stdout}");
    assert!(
        stderr.contains("no longer supported") && stderr.contains("Standard/Enterprise"),
        "Google's message and the options: {stderr}"
    );
    let account = store(&binary).find_account("old@gmail.com").unwrap();
    assert_eq!(account.status, AccountStatus::ClientRetired);
    assert_eq!(account.oauth_client, "gemini-cli");

    let (ok, stdout, _) = binary.run(&["accounts", "list"]).await;
    assert!(ok);
    assert!(
        stdout.contains("client retired (This client is no longer supported"),
        "{stdout}"
    );
    let (_, stdout, _) = binary.run(&["accounts", "list", "--json"]).await;
    let list: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(list[0]["status"], "client_retired");

    let serve = binary.serve(&[]).await;
    let response = reqwest::Client::new()
        .post(serve.url("/v1/chat/completions"))
        .json(&chat_body("gemini-2.5-flash", "x", false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert!(generate_calls(&mock).is_empty(), "no generate traffic");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_suspended_account_gets_one_call_then_its_status_and_appeal_link() {
    let mock = MockGoogle::start().await;
    mock.mock.add_personal("1//personal", "banned@gmail.com");
    let binary = accepted_home(&mock, "2.9.1");
    assert!(add(&binary, &["--refresh-token", "1//personal"]).await.0);
    mock.mock.suspend("banned@gmail.com");
    let serve = binary.serve(&[]).await;
    let client = reqwest::Client::new();
    for _ in 0..3 {
        let response = client
            .post(serve.url("/v1/chat/completions"))
            .json(&chat_body("gemini-2.5-flash", "x", false))
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_client_error() || response.status().is_server_error(),
            "{}",
            response.status()
        );
    }
    assert_eq!(generate_calls(&mock).len(), 1, "at most one generate call");
    let mut account = store(&binary).find_account("banned@gmail.com").unwrap();
    for _ in 0..50 {
        if account.status == AccountStatus::Suspended {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        account = store(&binary).find_account("banned@gmail.com").unwrap();
    }
    assert_eq!(account.status, AccountStatus::Suspended);
    assert_eq!(
        account.status_link.as_deref(),
        Some("https://support.google.com/gemini/contact/appeal")
    );
    let (_, stdout, _) = binary.run(&["accounts", "list"]).await;
    assert!(
        stdout.contains("suspended by Google")
            && stdout.contains("appeal: https://support.google.com/gemini/contact/appeal"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_standard_account_with_its_project_serves_on_gemini_cli() {
    let mock = MockGoogle::start().await;
    // Not onboarded: set-up onboards it on the standard tier with its project.
    mock.mock.add_account("1//work", "dev@company.com", false);
    let binary = Binary::with_config(&mock.config());
    let (ok, _, stderr) = add(&binary, &["--refresh-token", "1//work"]).await;
    assert!(!ok, "without its project it cannot be set up");
    assert!(stderr.contains("--project"), "{stderr}");
    let (ok, stdout, stderr) = add(
        &binary,
        &[
            "--refresh-token",
            "1//work",
            "--client",
            "gemini-cli",
            "--project",
            "project-dev",
        ],
    )
    .await;
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("client gemini-cli") && stdout.contains("standard-tier"),
        "{stdout}"
    );
    let serve = binary.serve(&[]).await;
    let response = reqwest::Client::new()
        .post(serve.url("/v1/chat/completions"))
        .json(&chat_body("gemini-2.5-pro", "work", false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let calls = generate_calls(&mock);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].host, Host::Prod);
    assert!(
        calls[0].user_agent.starts_with("GeminiCLI/"),
        "{}",
        calls[0].user_agent
    );
    assert!(calls[0].client_metadata.is_none());
    assert!(calls[0].body.get("requestType").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_client_is_named_or_found_and_antigravity_needs_consent_every_way() {
    let mock = MockGoogle::start().await;
    mock.mock.add_personal("1//personal", "me@gmail.com");
    mock.mock.add_account("1//work", "dev@company.com", true);
    let binary = Binary::with_config(&mock.config());
    // Naming the Antigravity client without consent: refused before any call.
    let refreshes = mock.mock.refreshes();
    let (ok, _, stderr) = add(
        &binary,
        &["--refresh-token", "1//personal", "--client", "antigravity"],
    )
    .await;
    assert!(!ok);
    assert!(stderr.contains("--accept-antigravity-risk"), "{stderr}");
    assert_eq!(
        mock.mock.refreshes(),
        refreshes,
        "no call with its credentials"
    );
    // Found by trying: the Gemini CLI token lands on gemini-cli.
    let (ok, stdout, stderr) = add(&binary, &["--refresh-token", "1//work"]).await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("client gemini-cli"), "{stdout}");
    // Export carries the client, import takes it back.
    let (ok, exported, _) = binary.run(&["accounts", "export", "-"]).await;
    assert!(ok);
    let entries: Value = serde_json::from_str(&exported).unwrap();
    assert_eq!(entries[0]["client"], "gemini-cli");
    // An import of the personal token without consent fails, and says why.
    let file = binary.home.path().join("in.json");
    std::fs::write(
        &file,
        json!([{"email": "me@gmail.com", "refresh_token": "1//personal", "client": "antigravity"}])
            .to_string(),
    )
    .unwrap();
    let (ok, stdout, _) = binary
        .run(&["accounts", "import", file.to_str().unwrap()])
        .await;
    assert!(!ok);
    assert!(stdout.contains("--accept-antigravity-risk"), "{stdout}");
    let (ok, stdout, stderr) = binary
        .run(&[
            "accounts",
            "import",
            file.to_str().unwrap(),
            "--accept-antigravity-risk",
        ])
        .await;
    assert!(ok, "{stdout}{stderr}");
    assert_eq!(
        store(&binary)
            .find_account("me@gmail.com")
            .unwrap()
            .oauth_client,
        "antigravity"
    );
    // A Gemini CLI token named as Antigravity's: Google's own refusal.
    let (ok, _, stderr) = add(
        &binary,
        &[
            "--refresh-token",
            "1//work",
            "--client",
            "antigravity",
            "--accept-antigravity-risk",
        ],
    )
    .await;
    assert!(!ok);
    assert!(stderr.contains("unauthorized_client"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn stored_antigravity_accounts_are_not_used_once_consent_is_withdrawn() {
    let mock = MockGoogle::start().await;
    mock.mock.add_personal("1//personal", "me@gmail.com");
    let binary = accepted_home(&mock, "2.9.1");
    assert!(add(&binary, &["--refresh-token", "1//personal"]).await.0);
    let (ok, _, stderr) = binary
        .run(&["config", "set", "google.antigravity_risk_accepted", "false"])
        .await;
    assert!(ok, "{stderr}");
    let serve = binary.serve(&[]).await;
    let response = reqwest::Client::new()
        .post(serve.url("/v1/chat/completions"))
        .json(&chat_body("gemini-2.5-flash", "x", false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("antigravity_risk_accepted"),
        "{body}"
    );
    assert!(generate_calls(&mock).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn antigravity_urls_take_a_comma_separated_list() {
    let binary = Binary::new();
    let (ok, _, stderr) = binary
        .run(&[
            "config",
            "set",
            "google.antigravity_urls",
            "http://127.0.0.1:1/a, http://127.0.0.1:2/b",
        ])
        .await;
    assert!(ok, "{stderr}");
    let config = std::fs::read_to_string(binary.home.path().join("config.toml")).unwrap();
    assert!(
        config.contains(
            "antigravity_urls = [\n    \"http://127.0.0.1:1/a\",\n    \"http://127.0.0.1:2/b\",\n]"
        ) || config
            .contains(r#"antigravity_urls = ["http://127.0.0.1:1/a", "http://127.0.0.1:2/b"]"#),
        "{config}"
    );
    let (ok, _, stderr) = binary
        .run(&["config", "set", "google.antigravity_urls", "not a url"])
        .await;
    assert!(!ok);
    assert!(stderr.contains("google.antigravity_urls"), "{stderr}");
}
