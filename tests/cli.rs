//! The real binary: `serve`, `accounts` and `config`, as a user runs them.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

mod support;

use std::time::Duration;

use serde_json::Value;
use support::{Binary, MockGoogle, chat_body};

#[tokio::test(flavor = "multi_thread")]
async fn serve_on_an_empty_home_answers_health_and_says_no_account() {
    let binary = Binary::new();
    let serve = binary.serve(&[]).await;
    let client = reqwest::Client::new();
    let health: Value = client
        .get(serve.url("/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["version"], switchyard::VERSION);

    let response = client
        .post(serve.url("/v1/chat/completions"))
        .json(&chat_body("gpt-4o", "hi", false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no account is configured")
    );
    assert_eq!(body["error"]["type"], "service_unavailable_error");

    // First run created the config with a generated key, private to the user.
    let config = std::fs::read_to_string(binary.home.path().join("config.toml")).unwrap();
    let parsed: toml::Value = toml::from_str(&config).unwrap();
    let key = parsed["gateway"]["api_key"].as_str().unwrap();
    assert!(key.starts_with("sk-") && key.len() == 35, "{key}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for file in ["config.toml", "switchyard.db"] {
            let mode = std::fs::metadata(binary.home.path().join(file))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{file}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn lan_access_without_auth_refuses_to_start() {
    let binary = Binary::new();
    std::fs::write(
        binary.home.path().join("config.toml"),
        "[gateway]\nallow_lan_access = true\nauth_mode = \"off\"\n",
    )
    .unwrap();
    let (ok, _, stderr) = binary.run(&["serve", "--port", "0"]).await;
    assert!(!ok);
    assert!(stderr.contains("gateway.auth_mode"), "{stderr}");
    assert!(stderr.contains("LAN access"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn lan_access_with_auth_wants_the_key() {
    let binary = Binary::new();
    std::fs::write(
        binary.home.path().join("config.toml"),
        "[gateway]\nallow_lan_access = true\napi_key = \"sk-lan-test-key-123\"\n",
    )
    .unwrap();
    let serve = binary.serve(&[]).await;
    assert_eq!(serve.addr.ip().to_string(), "0.0.0.0");
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{}/v1/chat/completions", serve.addr.port());
    let response = client
        .post(&url)
        .json(&chat_body("m", "x", false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "authentication_error");
    let response = client
        .post(&url)
        .bearer_auth("sk-lan-test-key-123")
        .json(&chat_body("m", "x", false))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        503,
        "the key is accepted; there is just no account"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_busy_port_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let binary = Binary::new();
    let (ok, _, stderr) = binary.run(&["serve", "--port", &port]).await;
    assert!(!ok);
    assert!(stderr.contains("already in use"), "{stderr}");
    assert!(stderr.contains(&port), "{stderr}");
    // The holder is this test, not a Switchyard: the error says so.
    #[cfg(target_os = "linux")]
    assert!(
        stderr.contains("by another program, ")
            && stderr.contains(&format!("(pid {})", std::process::id())),
        "{stderr}"
    );
    drop(taken);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_port_held_by_another_switchyard_says_so() {
    let binary = Binary::new();
    let first = binary.serve(&[]).await;
    let port = first.addr.port().to_string();
    let (ok, _, stderr) = binary.run(&["serve", "--port", &port]).await;
    assert!(!ok);
    #[cfg(target_os = "linux")]
    assert!(stderr.contains("by another Switchyard (pid "), "{stderr}");
    assert!(stderr.contains("already in use"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_cleanly_and_frees_the_port() {
    let binary = Binary::new();
    let serve = binary.serve(&[]).await;
    let addr = serve.addr;
    let status = serve.terminate().await;
    assert!(status.success(), "{status:?}");
    std::net::TcpListener::bind(addr).expect("port freed");
}

#[tokio::test(flavor = "multi_thread")]
async fn accounts_add_list_update_remove() {
    let mock = MockGoogle::start().await;
    // A personal account, its token issued by the Antigravity client, not
    // onboarded yet: adding it goes through onboardUser and its operation.
    mock.mock
        .add_new_personal("1//refresh-new", "new@example.com");
    let binary = Binary::with_config(&mock.config());

    // Without the risk accepted: refused, explained, nothing stored.
    let (ok, stdout, stderr) = binary
        .run(&["accounts", "add", "--refresh-token", "1//refresh-new"])
        .await;
    assert!(!ok, "{stdout}");
    for needed in [
        "Antigravity",
        "suspends accounts",
        "Standard/Enterprise",
        "--accept-antigravity-risk",
        "google.antigravity_risk_accepted",
        "Nothing was stored",
    ] {
        assert!(stderr.contains(needed), "{needed} missing in: {stderr}");
    }
    let (_, stdout, _) = binary.run(&["accounts", "list", "--json"]).await;
    assert_eq!(stdout.trim(), "[]", "nothing stored");

    let (ok, stdout, stderr) = binary
        .run(&[
            "accounts",
            "add",
            "--refresh-token",
            "1//refresh-new",
            "--accept-antigravity-risk",
        ])
        .await;
    assert!(ok, "{stderr}");
    assert!(stdout.starts_with("added new@example.com"), "{stdout}");
    assert!(
        stdout.contains("client antigravity")
            && stdout.contains("project-new")
            && stdout.contains("free-tier"),
        "{stdout}"
    );
    let config = std::fs::read_to_string(binary.home.path().join("config.toml")).unwrap();
    assert!(
        config.contains("antigravity_risk_accepted = true"),
        "{config}"
    );

    let (ok, stdout, _) = binary
        .run(&["accounts", "add", "--refresh-token", "1//refresh-new"])
        .await;
    assert!(ok);
    assert!(stdout.starts_with("updated new@example.com"), "{stdout}");

    let (ok, stdout, _) = binary.run(&["accounts", "list", "--json"]).await;
    assert!(ok);
    assert!(
        !stdout.contains("1//refresh-new") && !stdout.contains("ya29."),
        "no tokens in the listing"
    );
    let list: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["email"], "new@example.com");
    assert_eq!(list[0]["status"], "active");
    assert_eq!(list[0]["project_id"], "project-new");
    assert_eq!(list[0]["client"], "antigravity");
    assert_eq!(
        list[0]["windows"]["gemini"]["weekly"]["remaining_fraction"],
        0.6
    );

    let (ok, stdout, _) = binary.run(&["accounts", "list"]).await;
    assert!(ok);
    assert!(
        stdout.contains("new@example.com") && stdout.contains("active"),
        "{stdout}"
    );

    let (ok, stdout, _) = binary.run(&["accounts", "remove", "new@example.com"]).await;
    assert!(ok);
    assert!(stdout.contains("removed new@example.com"));
    let (ok, _, stderr) = binary.run(&["accounts", "remove", "new@example.com"]).await;
    assert!(!ok);
    assert!(stderr.contains("no account matches"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_refresh_token_gets_one_line_saying_what_google_said() {
    let mock = MockGoogle::start().await;
    let binary = Binary::with_config(&mock.config());
    let (ok, stdout, stderr) = binary
        .run(&["accounts", "add", "--refresh-token", "1//revoked"])
        .await;
    assert!(!ok);
    assert!(stdout.is_empty());
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("invalid_grant"), "{stderr}");
    assert!(
        stderr.contains("Token has been expired or revoked"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("1//revoked"),
        "the token itself is not echoed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_refresh_token_can_come_from_stdin() {
    let mock = MockGoogle::start().await;
    mock.mock
        .add_account("1//from-stdin", "stdin@example.com", true);
    let binary = Binary::with_config(&mock.config());
    let mut command = binary.command();
    command
        .args(["accounts", "add", "--refresh-token", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let output = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = command.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"1//from-stdin\n")
            .unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("added stdin@example.com"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_gateway_picks_up_an_account_added_from_the_cli() {
    let mock = MockGoogle::start().await;
    mock.mock.add_account("1//late", "late@example.com", true);
    let binary = Binary::with_config(&mock.config());
    let serve = binary.serve(&[]).await;
    let client = reqwest::Client::new();
    let first = client
        .post(serve.url("/v1/chat/completions"))
        .json(&chat_body("gemini-2.5-flash", "hi", false))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 503);
    let (ok, _, stderr) = binary
        .run(&["accounts", "add", "--refresh-token", "1//late"])
        .await;
    assert!(ok, "{stderr}");
    for _ in 0..100 {
        let response = client
            .post(serve.url("/v1/chat/completions"))
            .json(&chat_body("gemini-2.5-flash", "hi", false))
            .send()
            .await
            .unwrap();
        if response.status() == 200 {
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["choices"][0]["message"]["content"], "echo: hi");
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the new account was not picked up: {}", serve.stderr());
}

#[tokio::test(flavor = "multi_thread")]
async fn config_set_validates_names_the_key_and_keeps_the_file() {
    let binary = Binary::new();
    let (ok, _, stderr) = binary.run(&["config", "set", "gateway.port", "9000"]).await;
    assert!(ok, "{stderr}");
    let (ok, stdout, _) = binary.run(&["config", "show"]).await;
    assert!(ok);
    assert!(stdout.contains("port = 9000  # default: 8045"), "{stdout}");
    assert!(stdout.contains("auth_mode = \"auto\""), "{stdout}");
    assert!(
        stdout.contains("[notifications]") && stdout.contains("retention_days = 30"),
        "{stdout}"
    );

    let before = std::fs::read_to_string(binary.home.path().join("config.toml")).unwrap();
    for (key, value, named) in [
        ("gateway.prot", "1", "gateway.prot"),
        ("gateway.port", "lots", "gateway.port"),
        ("gateway.auth_mode", "maybe", "gateway.auth_mode"),
        (
            "google.code_assist_url",
            "not a url",
            "google.code_assist_url",
        ),
    ] {
        let (ok, _, stderr) = binary.run(&["config", "set", key, value]).await;
        assert!(!ok, "{key}");
        assert!(stderr.contains(named), "{key}: {stderr}");
    }
    let after = std::fs::read_to_string(binary.home.path().join("config.toml")).unwrap();
    assert_eq!(before, after, "a refused change leaves the file as it was");

    let (ok, stdout, _) = binary.run(&["config", "show", "--json"]).await;
    assert!(ok);
    let shown: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(shown["gateway.port"]["value"], 9000);
    assert_eq!(shown["gateway.port"]["default"], 8045);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_config_file_is_named_not_overwritten() {
    let binary = Binary::new();
    let path = binary.home.path().join("config.toml");
    std::fs::write(&path, "[gateway]\nport = \"eighty\"\n").unwrap();
    let (ok, _, stderr) = binary.run(&["serve", "--port", "0"]).await;
    assert!(!ok);
    assert!(stderr.contains("config.toml"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "[gateway]\nport = \"eighty\"\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn help_and_version() {
    let binary = Binary::new();
    let (ok, stdout, _) = binary.run(&["--help"]).await;
    assert!(ok);
    for command in ["serve", "accounts", "config"] {
        assert!(stdout.contains(command), "{stdout}");
    }
    let (ok, stdout, _) = binary.run(&["--version"]).await;
    assert!(ok);
    assert_eq!(stdout.trim(), format!("switchyard {}", switchyard::VERSION));
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_applies_a_new_api_key_from_config_set_without_a_restart() {
    let mock = MockGoogle::start().await;
    let mut config = mock.config();
    config.gateway.auth_mode = switchyard::config::AuthMode::Strict;
    let old_key = config.gateway.api_key.clone();
    let binary = Binary::with_config(&config);
    let serve = binary.serve(&[]).await;
    let client = reqwest::Client::new();
    let status = |key: String| {
        let request = client.get(serve.url("/v1/models")).bearer_auth(key).send();
        async move { request.await.unwrap().status().as_u16() }
    };
    assert_eq!(status(old_key.clone()).await, 200);
    let new_key = "sk-rotated-0123456789abcdef";
    let (ok, _, stderr) = binary
        .run(&["config", "set", "gateway.api_key", new_key])
        .await;
    assert!(ok, "{stderr}");
    let mut applied = false;
    for _ in 0..100 {
        if status(new_key.to_owned()).await == 200 {
            applied = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(applied, "the new key works: {}", serve.stderr());
    assert_eq!(status(old_key).await, 401, "the old key no longer does");
    assert!(
        serve.stderr().contains("settings reloaded"),
        "{}",
        serve.stderr()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn config_show_writes_nothing() {
    let binary = Binary::new();
    let (ok, stdout, stderr) = binary.run(&["config", "show"]).await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("port = 8045"), "{stdout}");
    assert!(
        !binary.home.path().join("config.toml").exists(),
        "looking created the file"
    );
}
