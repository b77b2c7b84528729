//! The request log end to end: every request becomes one row with the right
//! fields, roll-ups sum to the rows, retention trims by age and size without
//! touching the roll-ups, and the metrics and CLI read them.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

mod support;

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};
use support::{Binary, MockGoogle, Scripted, TestGateway};
use switchyard::store::{LogEntry, Store, now_unix};

async fn wait_for_rows(store: &Store, count: u64) {
    for _ in 0..200 {
        if store.log_count().unwrap() >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the log has {} rows, expected {count}",
        store.log_count().unwrap()
    );
}

fn internal_error() -> Scripted {
    Scripted::Error(
        500,
        json!({"error": {"code": 500, "message": "boom", "status": "INTERNAL"}}),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_mixed_requests_give_a_thousand_rows_and_matching_roll_ups() {
    let mock = MockGoogle::start().await;
    let gateway = TestGateway::with_one_account(&mock).await;
    let mut expected_errors = 0;
    for i in 0..1000 {
        let (path, body, stream): (&str, Value, bool) = match i % 4 {
            0 => (
                "/v1/chat/completions",
                json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "stream": i % 8 == 0}),
                i % 8 == 0,
            ),
            1 => (
                "/v1/messages",
                json!({"model": "claude-sonnet-4-5", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}], "stream": i % 5 == 0}),
                i % 5 == 0,
            ),
            2 => (
                "/v1beta/models/gemini-2.5-flash:generateContent",
                json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
                false,
            ),
            _ => (
                "/v1/responses",
                json!({"model": "gpt-5", "input": "hi", "stream": i % 3 == 0}),
                i % 3 == 0,
            ),
        };
        let request = gateway.client.post(gateway.url(path));
        let response = if i % 20 == 7 {
            // The client's fault: bad JSON.
            expected_errors += 1;
            request
                .header("content-type", "application/json")
                .body("{nope")
                .send()
                .await
                .unwrap()
        } else {
            if i % 50 == 11 && !stream {
                // The upstream's: a model it does not know (not retried) …
                mock.mock.script(Scripted::Error(
                    404,
                    json!({"error": {"code": 404, "message": "boom: no such model", "status": "NOT_FOUND"}}),
                ));
                expected_errors += 1;
            } else if i % 250 == 62 && !stream {
                // … or two 500s in a row (one retry, then the client is told).
                mock.mock.script(internal_error());
                mock.mock.script(internal_error());
                expected_errors += 1;
            }
            request.json(&body).send().await.unwrap()
        };
        let _ = response.bytes().await.unwrap();
    }
    wait_for_rows(&gateway.store, 1000).await;
    let rows = gateway.store.log_after(0, 2000).unwrap();
    assert_eq!(rows.len(), 1000);
    let ids: HashSet<&str> = rows.iter().map(|r| r.record.request_id.as_str()).collect();
    assert_eq!(ids.len(), 1000, "every request has its own id");
    let errors = rows.iter().filter(|r| r.record.status >= 400).count();
    assert_eq!(errors, expected_errors);
    for row in &rows {
        let r = &row.record;
        assert!(r.request_id.starts_with("req_"));
        assert!(
            ["openai", "anthropic", "gemini"].contains(&r.protocol.as_str()),
            "{r:?}"
        );
        if r.status == 200 {
            assert_eq!(r.account, "a@example.com", "{r:?}");
            assert_eq!((r.input_tokens, r.output_tokens), (11, 5), "{r:?}");
            assert!(!r.upstream_model.is_empty());
            if r.stream {
                assert!(r.ttfb_ms.is_some(), "{r:?}");
            }
        } else {
            assert!(r.error_kind.is_some(), "{r:?}");
        }
    }
    let anthropic = rows
        .iter()
        .find(|r| r.record.protocol == "anthropic" && r.record.status == 200)
        .unwrap();
    assert_eq!(
        (
            anthropic.record.model.as_str(),
            anthropic.record.upstream_model.as_str()
        ),
        ("claude-sonnet-4-5", "gemini-2.5-pro")
    );
    let failed = rows.iter().find(|r| r.record.status == 502).unwrap();
    assert!(
        failed
            .record
            .error_message
            .as_deref()
            .unwrap()
            .contains("boom")
    );
    assert!(
        rows.iter().all(|r| r.request_body.is_none()),
        "bodies are off by default"
    );

    let usage = gateway.store.usage_since(0).unwrap();
    let sum = |f: fn(&switchyard::store::UsageRow) -> u64| usage.iter().map(f).sum::<u64>();
    assert_eq!(sum(|u| u.requests), 1000);
    assert_eq!(sum(|u| u.errors), expected_errors as u64);
    assert_eq!(
        sum(|u| u.input_tokens),
        rows.iter().map(|r| r.record.input_tokens).sum::<u64>()
    );
    assert_eq!(
        sum(|u| u.output_tokens),
        rows.iter().map(|r| r.record.output_tokens).sum::<u64>()
    );
    assert_eq!(
        sum(|u| u.latency_ms_sum),
        rows.iter().map(|r| r.record.latency_ms).sum::<u64>()
    );

    let metrics = gateway
        .client
        .get(gateway.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("switchyard_requests_total{protocol=\"anthropic\",model=\"gemini-2.5-pro\",status=\"2xx\"}"), "{metrics}");
    assert!(
        metrics.contains("switchyard_account_ready{account=\"a@example.com\",status=\"active\"} 1")
    );
    assert!(metrics.contains("switchyard_request_duration_seconds_count{protocol=\"gemini\"}"));
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_are_kept_only_when_asked_and_without_secrets() {
    let mock = MockGoogle::start().await;
    let mut config = mock.config();
    config.log.store_bodies = true;
    mock.mock.add_account("refresh-a", "a@example.com", true);
    let gateway = TestGateway::start(config).await;
    gateway
        .add_account("refresh-a", "a@example.com", "project-a")
        .await;
    let body = json!({"model": "gemini-2.5-flash", "user": "sk-abcdefghijklmnop0123456789",
        "messages": [{"role": "user", "content": "my token is ya29.a0abcdefghijklmnopqrstuv"}]});
    gateway.chat(body).await.bytes().await.unwrap();
    wait_for_rows(&gateway.store, 1).await;
    let row = &gateway.store.log_after(0, 1).unwrap()[0];
    let request = row.request_body.as_deref().unwrap();
    assert!(request.contains("my token is [redacted]"), "{request}");
    assert!(
        !request.contains("ya29.a0abcdefghijklmnopqrstuv")
            && !request.contains("sk-abcdefghijklmnop0123456789")
    );
    assert!(row.response_body.as_deref().unwrap().contains("echo:"));
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_trims_by_age_and_size_and_keeps_the_roll_ups() {
    let mock = MockGoogle::start().await;
    let mut config = mock.config();
    config.log.retention_days = 1;
    config.log.max_mb = 1;
    let gateway = TestGateway::start(config).await;
    let store = gateway.store.clone();
    let now_ms = chrono::Utc::now().timestamp_millis();
    let entry = |at_ms: i64, i: usize| LogEntry {
        record: switchyard::gateway::recent::RequestRecord {
            at_ms,
            request_id: format!("req_{i}"),
            protocol: "openai".into(),
            route: "chat.completions".into(),
            model: "m".into(),
            upstream_model: "m".into(),
            account: "a@example.com".into(),
            status: 200,
            latency_ms: 5,
            input_tokens: 3,
            output_tokens: 4,
            ..Default::default()
        }
        .into(),
        // About 2 KB per row: 4,000 rows are far over the 1 MB cap.
        request_body: Some("x".repeat(2000)),
        response_body: None,
    };
    let old: Vec<LogEntry> = (0..500)
        .map(|i| entry(now_ms - 3 * 86_400_000, i))
        .collect();
    let recent: Vec<LogEntry> = (500..4500).map(|i| entry(now_ms - 60_000, i)).collect();
    store.write_log(&old).unwrap();
    for chunk in recent.chunks(500) {
        store.write_log(chunk).unwrap();
    }
    let usage_before = store.usage_since(0).unwrap();
    assert!(
        std::fs::metadata(gateway.home.path().join("switchyard.db"))
            .unwrap()
            .len()
            > 2 * 1024 * 1024
    );

    let removed = switchyard::jobs::trim_log(gateway.gateway.state())
        .await
        .unwrap();
    assert!(removed >= 500, "{removed}");
    let rows = store.log_after(0, 10_000).unwrap();
    assert!(
        rows.iter().all(|r| r.record.at_ms > now_ms - 86_400_000),
        "old rows are gone"
    );
    assert!(
        !rows.is_empty(),
        "recent rows are kept as far as the cap allows"
    );
    assert_eq!(
        rows.last().unwrap().record.request_id,
        "req_4499",
        "the newest survive"
    );
    store.reclaim_space().unwrap();
    let size = std::fs::metadata(gateway.home.path().join("switchyard.db"))
        .unwrap()
        .len();
    assert!(
        size <= 1024 * 1024,
        "database file is {size} bytes, over the 1 MB cap"
    );
    assert_eq!(
        store.usage_since(0).unwrap(),
        usage_before,
        "roll-ups survive trimming"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stats_and_log_tail_from_the_cli() {
    let mock = MockGoogle::start().await;
    let binary = Binary::with_config(&mock.config());
    let store = Store::open(&binary.home.path().join("switchyard.db")).unwrap();
    let now_ms = chrono::Utc::now().timestamp_millis();
    let entries: Vec<LogEntry> = (0..6)
        .map(|i| LogEntry {
            record: switchyard::gateway::recent::RequestRecord {
                at_ms: now_ms - i * 1000,
                request_id: format!("req_{i}"),
                protocol: "anthropic".into(),
                route: "messages".into(),
                model: "claude-sonnet-4-5".into(),
                upstream_model: if i % 2 == 0 {
                    "gemini-2.5-pro".into()
                } else {
                    "gemini-2.5-flash".into()
                },
                account: "a@example.com".into(),
                status: if i == 5 { 429 } else { 200 },
                latency_ms: 100,
                input_tokens: 10,
                output_tokens: 20,
                error_message: (i == 5).then(|| "every account is rate-limited".to_owned()),
                ..Default::default()
            }
            .into(),
            ..Default::default()
        })
        .collect();
    store.write_log(&entries).unwrap();
    drop(store);

    let (ok, stdout, stderr) = binary.run(&["stats", "--since", "24h", "--json"]).await;
    assert!(ok, "{stderr}");
    let stats: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(stats["total"]["requests"], 6);
    assert_eq!(stats["total"]["errors"], 1);
    assert_eq!(stats["groups"]["gemini-2.5-pro"]["input_tokens"], 30);
    let (ok, stdout, _) = binary.run(&["stats", "--by", "account"]).await;
    assert!(ok);
    assert!(
        stdout.contains("a@example.com") && stdout.contains("TOTAL"),
        "{stdout}"
    );

    let (ok, stdout, _) = binary.run(&["log", "tail", "-n", "3"]).await;
    assert!(ok);
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    assert!(stdout.contains("every account is rate-limited"), "{stdout}");
    let (ok, stdout, _) = binary.run(&["log", "tail", "-n", "2", "--json"]).await;
    assert!(ok);
    let last: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["request_id"], "req_5");
    let _ = now_unix();
}

#[tokio::test(flavor = "multi_thread")]
async fn with_logging_off_nothing_reaches_the_database() {
    let mock = MockGoogle::start().await;
    let mut config = mock.config();
    config.log.enabled = false;
    mock.mock.add_account("refresh-a", "a@example.com", true);
    let gateway = TestGateway::start(config).await;
    gateway
        .add_account("refresh-a", "a@example.com", "project-a")
        .await;
    for _ in 0..5 {
        gateway
            .chat(support::chat_body("gemini-2.5-flash", "x", false))
            .await
            .bytes()
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(gateway.store.log_count().unwrap(), 0);
    assert_eq!(
        gateway.gateway.state().recent.newest(10).len(),
        5,
        "the live list still fills"
    );
}
