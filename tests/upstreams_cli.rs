//! `switchyard upstreams …` with the real binary, and API keys kept out of
//! every output: the gateway's log at `RUST_LOG=debug`, `upstreams list
//! --json`, `/metrics`, `config show`, account exports and the request log
//! with bodies on.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::Binary;
use support::keyed::{Kind, MockKeyed};
use switchyard::config::Config;

const KEY: &str = "sk-cli-secret-key-0123456789abcdef";

#[tokio::test]
async fn upstreams_are_added_checked_listed_switched_and_removed() {
    let mock = MockKeyed::start(Kind::OpenAi, KEY, &["gpt-4o", "gpt-4o-mini", "o3"]).await;
    let binary = Binary::with_config(&Config::default());
    let base = mock.base_url();
    // A key the endpoint refuses is not stored.
    let (ok, out, err) = binary
        .run_with_input(
            &[
                "upstreams",
                "add",
                "router",
                "--kind",
                "openai",
                "--base-url",
                &base,
                "--api-key",
                "-",
            ],
            "sk-wrong-key-000000000000\n",
        )
        .await;
    assert!(!ok, "{out}");
    assert!(err.contains("refused the key"), "{err}");
    assert!(
        !err.contains("sk-wrong-key-000000000000"),
        "the refused key echoed: {err}"
    );
    let (_, list, _) = binary.run(&["upstreams", "list", "--json"]).await;
    assert_eq!(serde_json::from_str::<Value>(&list).unwrap(), json!([]));
    // The right one, read from standard input, narrowed by a glob.
    let (ok, out, err) = binary
        .run_with_input(
            &[
                "upstreams",
                "add",
                "router",
                "--kind",
                "openai",
                "--base-url",
                &base,
                "--api-key",
                "-",
                "--models",
                "gpt-4o*",
                "--priority",
                "2",
            ],
            &format!("{KEY}\n"),
        )
        .await;
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("serves 2 models: gpt-4o, gpt-4o-mini"),
        "{out}"
    );
    let (ok, list, _) = binary.run(&["upstreams", "list", "--json"]).await;
    assert!(ok);
    assert!(!list.contains(KEY), "the key in the list: {list}");
    let listed: Value = serde_json::from_str(&list).unwrap();
    assert_eq!(listed[0]["name"], "router");
    assert_eq!(listed[0]["kind"], "openai");
    assert_eq!(listed[0]["priority"], 2);
    assert_eq!(listed[0]["models"], json!(["gpt-4o", "gpt-4o-mini"]));
    assert_eq!(listed[0]["status"], "active");
    // A second upstream of the same name is refused.
    let (ok, _, err) = binary
        .run_with_input(
            &[
                "upstreams",
                "add",
                "router",
                "--kind",
                "openai",
                "--base-url",
                &base,
                "--api-key",
                "-",
            ],
            &format!("{KEY}\n"),
        )
        .await;
    assert!(!ok && err.contains("already used"), "{err}");
    // The Google commands leave it alone, and nothing prints the key.
    let (_, accounts, _) = binary.run(&["accounts", "list", "--json"]).await;
    assert_eq!(serde_json::from_str::<Value>(&accounts).unwrap(), json!([]));
    let (_, export, _) = binary.run(&["accounts", "export", "-"]).await;
    assert!(!export.contains(KEY), "{export}");
    let (ok, _, err) = binary.run(&["accounts", "remove", "router"]).await;
    assert!(!ok && err.contains("upstreams"), "{err}");
    let (_, shown, _) = binary.run(&["config", "show"]).await;
    assert!(!shown.contains(KEY));
    // A live test says what the endpoint answered.
    let (ok, out, err) = binary.run(&["upstreams", "test", "router"]).await;
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("models: 2")
            && out.contains("gpt-4o: answered \"echo: Reply with the word OK.\""),
        "{out}"
    );
    let (ok, out, _) = binary.run(&["upstreams", "disable", "router"]).await;
    assert!(ok && out.contains("disabled by user"), "{out}");
    let (_, list, _) = binary.run(&["upstreams", "list"]).await;
    assert!(
        list.contains("router") && list.contains("disabled by user"),
        "{list}"
    );
    let (ok, out, _) = binary.run(&["upstreams", "enable", "router"]).await;
    assert!(ok && out.contains("active"), "{out}");
    let (ok, out, _) = binary.run(&["upstreams", "remove", "router"]).await;
    assert!(ok && out.contains("Removed upstream router"), "{out}");
    let (_, list, _) = binary.run(&["upstreams", "list", "--json"]).await;
    assert_eq!(serde_json::from_str::<Value>(&list).unwrap(), json!([]));
    // Bad input gets a clear error.
    let (ok, _, err) = binary
        .run(&["upstreams", "add", "x", "--kind", "mistral"])
        .await;
    assert!(!ok && err.contains("unknown kind `mistral`"), "{err}");
    let (ok, _, err) = binary
        .run_with_input(
            &[
                "upstreams",
                "add",
                "google",
                "--kind",
                "anthropic",
                "--api-key",
                "-",
            ],
            "k\n",
        )
        .await;
    assert!(
        !ok && err.contains("stands for the Google accounts"),
        "{err}"
    );
}

#[tokio::test]
async fn no_api_key_reaches_the_log_the_metrics_or_the_request_log() {
    let mock = MockKeyed::start(Kind::OpenAi, KEY, &["gpt-4o"]).await;
    let mut config = Config::default();
    config.log.store_bodies = true;
    config.gateway.api_key = "sk-gateway-client-key-42".into();
    let binary = Binary::with_config(&config);
    let (ok, out, err) = binary
        .run_with_input(
            &[
                "upstreams",
                "add",
                "router",
                "--kind",
                "openai",
                "--base-url",
                &mock.base_url(),
                "--api-key",
                "-",
            ],
            &format!("{KEY}\n"),
        )
        .await;
    assert!(ok, "{out}{err}");
    let serve = binary.serve_with_env(&[], &[("RUST_LOG", "debug")]).await;
    let client = reqwest::Client::new();
    let chat = |text: &str| {
        client
            .post(serve.url("/v1/chat/completions"))
            .bearer_auth("sk-gateway-client-key-42")
            .json(&json!({"model": "gpt-4o", "stream": text == "stream", "messages": [{"role": "user", "content": text}]}))
            .send()
    };
    assert_eq!(chat("hello").await.unwrap().status(), 200);
    assert_eq!(chat("stream").await.unwrap().status(), 200);
    // Now the endpoint refuses the key, and echoes it in its error.
    mock.forget_key(KEY);
    let refused = chat("again").await.unwrap();
    assert!(!refused.status().is_success());
    let answer = refused.text().await.unwrap();
    assert!(!answer.contains(KEY), "{answer}");
    let metrics = client
        .get(serve.url("/metrics"))
        .bearer_auth("sk-gateway-client-key-42")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("router"),
        "the upstream is named in the metrics:\n{metrics}"
    );
    // The request log is written in batches; give it a moment.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (_, list, _) = binary.run(&["upstreams", "list", "--json"]).await;
    assert!(list.contains("key_rejected"), "{list}");
    let (_, tail, _) = binary.run(&["log", "tail", "--json", "-n", "10"]).await;
    assert!(
        tail.contains("router"),
        "the request log names the upstream: {tail}"
    );
    let (ok, stats, err) = binary.run(&["stats", "--by", "account", "--json"]).await;
    assert!(ok, "{err}");
    assert!(
        stats.contains("\"router\""),
        "stats name the upstream beside accounts: {stats}"
    );
    let connection = rusqlite::Connection::open(binary.home.path().join("switchyard.db")).unwrap();
    let logged: Vec<String> = connection
        .prepare("SELECT coalesce(request_body, '') || coalesce(response_body, '') || coalesce(error_message, '') || account FROM request_log")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(logged.len(), 3, "{logged:?}");
    assert!(
        logged.iter().any(|l| l.contains("echo: hello")),
        "bodies are stored: {logged:?}"
    );
    let stderr = serve.stderr();
    assert!(stderr.contains("DEBUG"), "debug logging is on");
    for (what, text) in [
        ("the gateway's log", stderr.as_str()),
        ("/metrics", metrics.as_str()),
        ("upstreams list --json", list.as_str()),
        ("log tail", tail.as_str()),
        ("stats", stats.as_str()),
        ("the request log", &logged.join("\n")),
    ] {
        assert!(!text.contains(KEY), "the API key in {what}:\n{text}");
    }
}
