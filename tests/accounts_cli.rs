//! `switchyard accounts login | import | export | enable | disable | refresh`
//! on the real binary against the mock upstream.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

mod support;

use std::io::BufRead;

use serde_json::Value;
use support::{Binary, MockGoogle};
use switchyard::store::{AccountStatus, LimitKind, LimitRecord, Store, now_unix};

/// Runs `accounts login --no-browser ARGS…` and plays the browser with curl
/// (following Google's redirect to the local callback). Returns whether the
/// command succeeded, and its output.
async fn login_with_curl(binary: &Binary, args: &[&str]) -> (bool, String) {
    let mut command = binary.command();
    command
        .args(["accounts", "login", "--no-browser"])
        .args(args)
        .env_remove("DISPLAY")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (url_tx, url_rx) = tokio::sync::oneshot::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut url_tx = Some(url_tx);
        let mut lines = Vec::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(url) = line.trim().strip_prefix("http")
                && let Some(tx) = url_tx.take()
            {
                let _ = tx.send(format!("http{url}"));
            }
            lines.push(line);
        }
        lines
    });
    let url = tokio::time::timeout(std::time::Duration::from_secs(20), url_rx)
        .await
        .unwrap()
        .unwrap();
    assert!(
        url.contains("access_type=offline") && url.contains("state="),
        "{url}"
    );
    // What a user's browser would do: follow the redirects to the local callback.
    let curl = tokio::task::spawn_blocking(move || {
        std::process::Command::new("curl")
            .args(["-sSL", "--max-time", "20", &url])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        curl.status.success(),
        "{}",
        String::from_utf8_lossy(&curl.stderr)
    );
    assert!(String::from_utf8_lossy(&curl.stdout).contains("Signed in"));
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    (status.success(), reader.join().unwrap().join("\n"))
}

#[tokio::test(flavor = "multi_thread")]
async fn login_completes_headless_with_the_url_fetched_by_curl() {
    let mock = MockGoogle::start().await;
    // A Standard account, not onboarded yet: the sign-in onboards it onto
    // the standard tier with the project given.
    mock.mock
        .add_account("1//from-browser", "browser@example.com", false);
    mock.mock.set_login_account("1//from-browser");
    let binary = Binary::with_config(&mock.config());
    let (ok, lines) = login_with_curl(&binary, &["--project", "project-browser"]).await;
    assert!(ok, "{lines}");
    assert!(lines.contains("added browser@example.com"), "{lines}");
    assert!(
        lines.contains("paste"),
        "the paste-back fallback is offered: {lines}"
    );

    let store = Store::open(&binary.home.path().join("switchyard.db")).unwrap();
    let account = store.find_account("browser@example.com").unwrap();
    assert_eq!(account.refresh_token.expose(), "1//from-browser");
    assert_eq!(account.project_id.as_deref(), Some("project-browser"));
}

#[tokio::test(flavor = "multi_thread")]
async fn antigravity_login_asks_for_consent_offers_no_paste_and_says_how_to_forward_the_port() {
    let mock = MockGoogle::start().await;
    // The Antigravity sign-in issues the refresh token to that client.
    mock.mock
        .add_new_personal("1//from-browser", "me@gmail.com");
    mock.mock.set_login_account("1//from-browser");
    let binary = Binary::with_config(&mock.config());
    let (ok, _, stderr) = binary
        .run(&[
            "accounts",
            "login",
            "--no-browser",
            "--client",
            "antigravity",
        ])
        .await;
    assert!(!ok);
    assert!(stderr.contains("--accept-antigravity-risk"), "{stderr}");

    let (ok, lines) = login_with_curl(
        &binary,
        &["--client", "antigravity", "--accept-antigravity-risk"],
    )
    .await;
    assert!(ok, "{lines}");
    assert!(!lines.contains("paste here"), "no paste-back: {lines}");
    let ssh = lines
        .lines()
        .find(|l| l.trim().starts_with("ssh -L "))
        .unwrap_or_else(|| panic!("an ssh -L line: {lines}"));
    let forward: Vec<&str> = ssh.split_whitespace().nth(2).unwrap().split(':').collect();
    assert_eq!(forward.len(), 3, "{ssh}");
    assert_eq!(forward[1], "127.0.0.1", "{ssh}");
    assert_eq!(forward[0], forward[2], "{ssh}");
    assert!(forward[0].parse::<u16>().is_ok_and(|p| p > 0), "{ssh}");
    assert!(
        lines.contains("added me@gmail.com") && lines.contains("client antigravity"),
        "{lines}"
    );
    let store = Store::open(&binary.home.path().join("switchyard.db")).unwrap();
    let account = store.find_account("me@gmail.com").unwrap();
    assert_eq!(account.oauth_client, "antigravity");
    assert_eq!(account.tier.as_deref(), Some("free-tier"));
}

#[tokio::test(flavor = "multi_thread")]
async fn import_reports_each_entry_and_export_round_trips() {
    let mock = MockGoogle::start().await;
    mock.mock.add_account("1//one", "one@example.com", true);
    mock.mock.add_account("1//two", "two@example.com", true);
    let binary = Binary::with_config(&mock.config());
    let (ok, _, _) = binary
        .run(&["accounts", "add", "--refresh-token", "1//one"])
        .await;
    assert!(ok);
    let file = binary.home.path().join("in.json");
    std::fs::write(
        &file,
        r#"[{"email": "one@example.com", "refresh_token": "1//one"},
            {"refresh_token": "1//two"},
            {"email": "gone@example.com", "refresh_token": "1//revoked"}]"#,
    )
    .unwrap();
    let (ok, stdout, stderr) = binary
        .run(&["accounts", "import", file.to_str().unwrap()])
        .await;
    assert!(!ok, "one entry failed, so the import says so");
    assert!(stdout.contains("[1/3] updated one@example.com"), "{stdout}");
    assert!(stdout.contains("[2/3] added two@example.com"), "{stdout}");
    assert!(
        stdout.contains("[3/3] failed gone@example.com") && stdout.contains("invalid_grant"),
        "{stdout}"
    );
    assert!(stdout.contains("1 added, 1 updated, 1 failed"), "{stdout}");
    assert!(stderr.contains("1 of 3"), "{stderr}");

    let out = binary.home.path().join("out.json");
    let (ok, stdout, _) = binary
        .run(&["accounts", "export", out.to_str().unwrap()])
        .await;
    assert!(ok);
    assert!(stdout.contains("exported 2 accounts"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let exported: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(
        exported,
        serde_json::json!([
            {"email": "one@example.com", "refresh_token": "1//one", "client": "gemini-cli"},
            {"email": "two@example.com", "refresh_token": "1//two", "client": "gemini-cli"}
        ])
    );
    // Into an empty home: the same accounts come back.
    let other = Binary::with_config(&mock.config());
    let (ok, stdout, _) = other
        .run(&["accounts", "import", out.to_str().unwrap()])
        .await;
    assert!(ok, "{stdout}");
    assert!(stdout.contains("2 added, 0 updated, 0 failed"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn enable_disable_refresh_and_status_lines() {
    let mock = MockGoogle::start().await;
    mock.mock.add_account("1//one", "one@example.com", true);
    let binary = Binary::with_config(&mock.config());
    assert!(
        binary
            .run(&["accounts", "add", "--refresh-token", "1//one"])
            .await
            .0
    );

    let (ok, stdout, _) = binary
        .run(&["accounts", "disable", "one@example.com"])
        .await;
    assert!(ok);
    assert!(stdout.contains("disabled by user"));
    let (_, stdout, _) = binary.run(&["accounts", "list"]).await;
    assert!(stdout.contains("disabled by user"), "{stdout}");
    let (ok, _, _) = binary.run(&["accounts", "enable", "1"]).await;
    assert!(ok);

    let store = Store::open(&binary.home.path().join("switchyard.db")).unwrap();
    store
        .set_limit(&LimitRecord {
            account_id: 1,
            model: Some("gemini-2.5-pro".into()),
            kind: LimitKind::QuotaExhausted,
            until: now_unix() + 3600,
            reason: "quota".into(),
        })
        .unwrap();
    let (_, stdout, _) = binary.run(&["accounts", "list"]).await;
    assert!(
        stdout.contains("quota exhausted (gemini-2.5-pro, resets at"),
        "{stdout}"
    );
    let (_, stdout, _) = binary.run(&["accounts", "list", "--json"]).await;
    let list: Value = serde_json::from_str(&stdout).unwrap();
    assert!(
        list[0]["status_label"]
            .as_str()
            .unwrap()
            .starts_with("quota exhausted")
    );
    assert_eq!(list[0]["limits"][0]["kind"], "quota_exhausted");

    let (ok, stdout, _) = binary.run(&["accounts", "refresh"]).await;
    assert!(ok);
    assert!(
        stdout.contains("one@example.com: gemini-2.5-flash 100%, gemini-2.5-pro 75%"),
        "{stdout}"
    );

    mock.mock.revoke_refresh_token("1//one");
    let (ok, stdout, _) = binary
        .run(&["accounts", "refresh", "one@example.com"])
        .await;
    assert!(!ok);
    assert!(stdout.contains("invalid_grant"), "{stdout}");
    assert_eq!(
        store.find_account("1").unwrap().status,
        AccountStatus::NeedsRelogin
    );
    let (_, stdout, _) = binary.run(&["accounts", "list"]).await;
    assert!(stdout.contains("needs re-login"), "{stdout}");
}
