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

/// A mock with one personal account (`me@gmail.com`), added on Antigravity
/// to a home with the risk accepted and `version` as the Antigravity version.
async fn personal_home(version: &str) -> (RunningMock, Binary) {
    let mock = MockGoogle::start().await;
    mock.mock.add_personal("1//personal", "me@gmail.com");
    let binary = accepted_home(&mock, version);
    let (ok, _, stderr) = add(&binary, &["--refresh-token", "1//personal"]).await;
    assert!(ok, "{stderr}");
    (mock, binary)
}

async fn add(binary: &Binary, args: &[&str]) -> (bool, String, String) {
    let mut all = vec!["accounts", "add"];
    all.extend_from_slice(args);
    binary.run(&all).await
}

/// `POST path` with a JSON body to a running `serve`.
async fn post(serve: &support::ServeProcess, path: &str, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(serve.url(path))
        .json(body)
        .send()
        .await
        .unwrap()
}

/// An OpenAI chat request with one user message.
async fn chat(
    serve: &support::ServeProcess,
    model: &str,
    text: &str,
    stream: bool,
) -> reqwest::Response {
    post(
        serve,
        "/v1/chat/completions",
        &chat_body(model, text, stream),
    )
    .await
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
    // OpenAI, Anthropic and Gemini routes, on a Gemini 3 model and on
    // Google's Claude Opus (both refused to agents below 2.9.0).
    for model in ["gemini-3-flash", "claude-opus-4-6-thinking"] {
        let openai = chat(&serve, model, "hello", false).await;
        assert_eq!(openai.status(), 200, "{model}");
        let body: Value = openai.json().await.unwrap();
        assert_eq!(body["choices"][0]["message"]["content"], "echo: hello");
        let anthropic = post(
            &serve,
            "/v1/messages",
            &json!({"model": model, "max_tokens": 64,
                "messages": [{"role": "user", "content": "hi there"}]}),
        )
        .await;
        assert_eq!(anthropic.status(), 200, "{model}");
        let body: Value = anthropic.json().await.unwrap();
        assert_eq!(body["content"][0]["text"], "echo: hi there");
        let gemini = post(
            &serve,
            &format!("/v1beta/models/{model}:generateContent"),
            &json!({"contents": [{"role": "user", "parts": [{"text": "gem"}]}]}),
        )
        .await;
        assert_eq!(gemini.status(), 200, "{model}");
        let body: Value = gemini.json().await.unwrap();
        assert_eq!(
            body["candidates"][0]["content"]["parts"][0]["text"],
            "echo: gem"
        );
    }

    let calls = generate_calls(&mock);
    assert_eq!(calls.len(), 6, "{calls:?}");
    assert_eq!(calls[3].body["model"], "claude-opus-4-6-thinking");
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
    let (mock, binary) = personal_home("2.9.1").await;
    let serve = binary.serve(&[]).await;
    mock.mock.fail_host(Host::Daily, Some(503));
    for stream in [false, true] {
        let response = chat(&serve, "gemini-3-flash", "still here", stream).await;
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
    let (_mock, binary) = personal_home("2.8.4").await;
    let serve = binary.serve(&[]).await;
    let response = chat(&serve, "gemini-3-flash", "x", false).await;
    assert_eq!(response.status(), 404);
    // Older models still answer, so the setting is what decides.
    let response = chat(&serve, "gemini-2.5-flash", "x", false).await;
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
    let response = chat(&serve, "gemini-2.5-flash", "x", false).await;
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
    for _ in 0..3 {
        let response = chat(&serve, "gemini-2.5-flash", "x", false).await;
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
    let response = chat(&serve, "gemini-2.5-pro", "work", false).await;
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
    let (mock, binary) = personal_home("2.9.1").await;
    let (ok, _, stderr) = binary
        .run(&["config", "set", "google.antigravity_risk_accepted", "false"])
        .await;
    assert!(ok, "{stderr}");
    let serve = binary.serve(&[]).await;
    let response = chat(&serve, "gemini-2.5-flash", "x", false).await;
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

#[tokio::test(flavor = "multi_thread")]
async fn accounts_list_shows_client_tier_windows_and_models_and_v1_models_the_claude_ones() {
    let mock = MockGoogle::start().await;
    mock.mock.add_personal("1//personal", "me@gmail.com");
    mock.mock.add_account("1//work", "dev@company.com", true);
    let binary = accepted_home(&mock, "2.9.1");
    assert!(add(&binary, &["--refresh-token", "1//personal"]).await.0);
    assert!(add(&binary, &["--refresh-token", "1//work"]).await.0);
    let (ok, stdout, _) = binary.run(&["accounts", "list", "--json"]).await;
    assert!(ok);
    let list: Value = serde_json::from_str(&stdout).unwrap();
    let personal = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == "me@gmail.com")
        .unwrap();
    assert_eq!(personal["client"], "antigravity");
    assert_eq!(personal["tier"], "free-tier");
    for (group, window, left) in [
        ("gemini", "5h", 0.8),
        ("gemini", "weekly", 0.6),
        ("3p", "5h", 1.0),
        ("3p", "weekly", 0.9),
    ] {
        let shown = &personal["windows"][group][window];
        assert_eq!(shown["remaining_fraction"], left, "{group} {window}");
        assert!(shown["reset_at"].as_i64().unwrap() > 0);
        assert!(shown["resets"].as_str().unwrap().contains('T'));
    }
    let models: Vec<&str> = personal["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert!(models.contains(&"claude-opus-4-6-thinking"), "{models:?}");
    assert_eq!(
        personal["deprecated_models"]["gemini-3-pro-preview"],
        "gemini-3.1-pro-low"
    );
    let work = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == "dev@company.com")
        .unwrap();
    assert_eq!(work["client"], "gemini-cli");
    assert_eq!(work["tier"], "standard-tier");
    assert!(work["models"].as_array().unwrap().len() >= 3);

    let (_, table, _) = binary.run(&["accounts", "list"]).await;
    assert!(
        table.contains("Gemini 5h 80%") && table.contains("Claude/GPT 5h 100%"),
        "{table}"
    );

    let serve = binary.serve(&[]).await;
    let client = reqwest::Client::new();
    let openai: Value = client
        .get(serve.url("/v1/models"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = openai["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    for expected in [
        "claude-opus-4-6-thinking",
        "claude-sonnet-4-6",
        "gemini-2.5-flash-lite",
    ] {
        assert!(ids.contains(&expected), "{expected} in {ids:?}");
    }
    let gemini: Value = client
        .get(serve.url("/v1beta/models"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sonnet = gemini["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "models/claude-sonnet-4-6")
        .unwrap_or_else(|| panic!("{gemini}"));
    assert_eq!(
        sonnet["displayName"], "claude sonnet 4 6",
        "Google's display name"
    );
    assert_eq!(sonnet["outputTokenLimit"], 64_000, "Google's limit");
}

#[tokio::test(flavor = "multi_thread")]
async fn claude_names_reach_the_claude_model_and_unknown_models_get_a_404_naming_real_ones() {
    let (mock, binary) = personal_home("2.9.1").await;
    let serve = binary.serve(&[]).await;
    let response = post(
        &serve,
        "/v1/messages",
        &json!({"model": "claude-opus-4-6", "max_tokens": 64,
            "messages": [{"role": "user", "content": "opus?"}]}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let calls = generate_calls(&mock);
    assert_eq!(
        calls.last().unwrap().body["model"],
        "claude-opus-4-6-thinking"
    );
    // Google's forwarding rule for a retired id.
    let response = chat(&serve, "gemini-3-pro-preview", "fwd", false).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        generate_calls(&mock).last().unwrap().body["model"],
        "gemini-3.1-pro-low"
    );
    // A model nobody offers: 404 in each caller's own protocol.
    let before = generate_calls(&mock).len();
    let openai = chat(&serve, "gemini-9-ultra", "x", false).await;
    assert_eq!(openai.status(), 404);
    let body: Value = openai.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("gemini-9-ultra") && message.contains("claude-sonnet-4-6"),
        "{message}"
    );
    let anthropic = post(
        &serve,
        "/v1/messages",
        &json!({"model": "gemini-9-ultra", "max_tokens": 8,
            "messages": [{"role": "user", "content": "x"}]}),
    )
    .await;
    assert_eq!(anthropic.status(), 404);
    let body: Value = anthropic.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "not_found_error");
    let gemini = post(
        &serve,
        "/v1beta/models/gemini-9-ultra:generateContent",
        &json!({"contents": [{"role": "user", "parts": [{"text": "x"}]}]}),
    )
    .await;
    assert_eq!(gemini.status(), 404);
    let body: Value = gemini.json().await.unwrap();
    assert_eq!(body["error"]["status"], "NOT_FOUND");
    assert_eq!(generate_calls(&mock).len(), before, "nothing sent upstream");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_gemini_weekly_window_keeps_gemini_away_until_its_reset_but_claude_serves() {
    let mock = MockGoogle::start().await;
    mock.mock.add_personal("1//empty", "empty@gmail.com");
    mock.mock.add_personal("1//full", "full@gmail.com");
    let reset = switchyard::store::now_unix() + 2 * 86_400;
    mock.mock
        .set_window("empty@gmail.com", "gemini-weekly", 0.0, reset);
    let binary = accepted_home(&mock, "2.9.1");
    assert!(add(&binary, &["--refresh-token", "1//empty"]).await.0);
    assert!(add(&binary, &["--refresh-token", "1//full"]).await.0);
    // Read at 0 is the status `quota exhausted`, as if a 429 had said so.
    let (_, table, _) = binary.run(&["accounts", "list"]).await;
    let line = table
        .lines()
        .find(|l| l.contains("empty@gmail.com"))
        .unwrap();
    assert!(
        line.contains("quota exhausted (Gemini models, resets at"),
        "{table}"
    );
    let serve = binary.serve(&[]).await;
    for i in 0..4 {
        let response = chat(&serve, "gemini-3-flash", &format!("g{i}"), false).await;
        assert_eq!(response.status(), 200);
    }
    for i in 0..4 {
        let response = chat(&serve, "claude-sonnet-4-6", &format!("c{i}"), false).await;
        assert_eq!(response.status(), 200);
    }
    let calls = generate_calls(&mock);
    let gemini_from_empty = calls
        .iter()
        .filter(|c| c.email == "empty@gmail.com" && c.body["model"] == "gemini-3-flash")
        .count();
    assert_eq!(
        gemini_from_empty, 0,
        "no Gemini requests to the empty account"
    );
    assert!(
        calls
            .iter()
            .any(|c| c.email == "empty@gmail.com" && c.body["model"] == "claude-sonnet-4-6"),
        "it still serves Claude models: {:?}",
        calls
            .iter()
            .map(|c| (c.email.clone(), c.body["model"].clone()))
            .collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_five_hour_window_is_read_on_daily_and_dropped_when_only_prod_answers() {
    let mock = MockGoogle::start().await;
    mock.mock.add_personal("1//personal", "me@gmail.com");
    mock.mock.set_window(
        "me@gmail.com",
        "gemini-5h",
        0.3,
        switchyard::store::now_unix() + 3600,
    );
    let binary = accepted_home(&mock, "2.9.1");
    mock.mock.fail_host(Host::Daily, Some(503));
    assert!(add(&binary, &["--refresh-token", "1//personal"]).await.0);
    let account = store(&binary).find_account("me@gmail.com").unwrap();
    assert!(
        account.windows.iter().all(|w| w.window == "weekly"),
        "prod's frozen 5-hour figure is not kept: {:?}",
        account.windows
    );
    mock.mock.fail_host(Host::Daily, None);
    let (ok, _, stderr) = binary.run(&["accounts", "refresh"]).await;
    assert!(ok, "{stderr}");
    let account = store(&binary).find_account("me@gmail.com").unwrap();
    let five_hour = account
        .windows
        .iter()
        .find(|w| w.group == "gemini" && w.window == "5h")
        .expect("daily's 5-hour window");
    assert_eq!(five_hour.remaining_fraction, Some(0.3));
}

/// One Anthropic turn with thinking and a tool; returns the assistant's
/// content blocks (to send back as history).
async fn anthropic_turn(
    client: &reqwest::Client,
    url: &str,
    model: &str,
    messages: &[Value],
) -> Vec<Value> {
    let response = client
        .post(url)
        .json(&json!({
            "model": model, "max_tokens": 2048,
            "thinking": {"type": "enabled", "budget_tokens": 1024},
            "tools": [
                {"name": "get_weather", "input_schema": {"type": "object",
                    "properties": {"city": {"type": "string"}}, "required": ["city"]}},
                {"name": "get_time", "input_schema": {"type": "object",
                    "properties": {"zone": {"type": "string"}}, "required": ["zone"]}}
            ],
            "messages": messages,
        }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{model}: {body}");
    body["content"].as_array().unwrap().clone()
}

fn continued(messages: &mut Vec<Value>, content: Vec<Value>) {
    let call = content
        .iter()
        .find(|b| b["type"] == "tool_use")
        .expect("a tool call")
        .clone();
    messages.push(json!({"role": "assistant", "content": content}));
    messages.push(json!({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": call["id"], "content": "ok"}]}));
}

#[tokio::test(flavor = "multi_thread")]
async fn claude_signatures_stay_with_claude_and_gemini_ones_with_gemini() {
    let (mock, binary) = personal_home("2.9.1").await;
    let serve = binary.serve(&[]).await;
    let client = reqwest::Client::new();
    let url = serve.url("/v1/messages");

    // Three turns on Claude Opus with thinking and tools: every Claude
    // signature goes back.
    let mut messages = vec![json!({"role": "user", "content": "Weather and time in Oslo?"})];
    let first = anthropic_turn(&client, &url, "claude-opus-4-6", &messages).await;
    continued(&mut messages, first);
    let second = anthropic_turn(&client, &url, "claude-opus-4-6", &messages).await;
    continued(&mut messages, second);
    let third = anthropic_turn(&client, &url, "claude-opus-4-6", &messages).await;
    assert!(third.iter().any(|b| b["type"] == "text"), "{third:?}");
    let calls = generate_calls(&mock);
    let last = calls.last().unwrap();
    assert_eq!(last.body["model"], "claude-opus-4-6-thinking");
    let history = last.body["request"]["contents"].to_string();
    let first_number = calls.len() - 2;
    for signature in [
        format!("claude-sig-{first_number}-thought"),
        format!("claude-sig-{first_number}-call"),
        format!("claude-sig-{}-thought", first_number + 1),
        format!("claude-sig-{}-call", first_number + 1),
    ] {
        assert!(
            history.contains(&signature),
            "{signature} missing: {history}"
        );
    }

    // The same conversation moves to Gemini: Claude's signatures are dropped
    // (Gemini would refuse them) and its calls get Google's placeholder.
    let mut on_gemini = messages.clone();
    on_gemini.push(json!({"role": "assistant", "content": third}));
    on_gemini.push(json!({"role": "user", "content": "And in Bergen?"}));
    let gemini = anthropic_turn(&client, &url, "gemini-3-flash", &on_gemini).await;
    let sent = generate_calls(&mock).last().unwrap().body["request"]["contents"].to_string();
    assert!(!sent.contains("claude-sig-"), "{sent}");
    assert!(sent.contains("skip_thought_signature_validator"), "{sent}");

    // And back to Claude: the Gemini signatures go, Claude's stay.
    assert!(
        gemini.iter().any(|b| b["type"] == "thinking"),
        "a Gemini thought to carry: {gemini:?}"
    );
    let mut back = on_gemini.clone();
    back.push(json!({"role": "assistant", "content": gemini}));
    back.push(json!({"role": "user", "content": "Thanks. Summarise."}));
    anthropic_turn(&client, &url, "claude-sonnet-4-6", &back).await;
    let sent = generate_calls(&mock).last().unwrap().body["request"]["contents"].to_string();
    assert!(!sent.contains("\"sig-"), "{sent}");
    assert!(sent.contains("claude-sig-"), "{sent}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_added_elsewhere_with_an_empty_window_raises_the_quota_event() {
    let mock = MockGoogle::start().await;
    mock.mock.add_personal("1//empty", "empty@gmail.com");
    let reset = switchyard::store::now_unix() + 86_400;
    mock.mock
        .set_window("empty@gmail.com", "gemini-weekly", 0.0, reset);
    let mut config = mock.config();
    config.google.antigravity_risk_accepted = true;
    let gateway = support::TestGateway::start(config.clone()).await;
    let mut events = gateway.gateway.state().pool.subscribe();
    // Another process (the CLI) adds it to the same database.
    let other = Store::open(&gateway.home.path().join("switchyard.db")).unwrap();
    let client = switchyard::upstream::google::GoogleClient::new().unwrap();
    switchyard::accounts::add_with_refresh_token(
        &client,
        &config,
        &other,
        switchyard::secret::Secret::new("1//empty"),
        None,
        None,
    )
    .await
    .unwrap();
    let event = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        loop {
            if let Ok(switchyard::pool::PoolEvent::Limited {
                quota_exhausted: true,
                model,
                until,
                ..
            }) = events.recv().await
            {
                return (model, until);
            }
        }
    })
    .await
    .expect("a quota-exhausted event for the new account");
    assert_eq!(event, (Some("group:gemini".to_owned()), reset));
}
