//! The account pool through the gateway: limits, statuses, the blast-radius
//! guard, scheduling modes, events, and what survives a restart.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{MockGoogle, RunningMock, Scripted, TestGateway, chat_body};
use switchyard::config::Scheduling;
use switchyard::pool::PoolEvent;
use switchyard::store::{AccountStatus, LimitKind, now_unix};

const EMAILS: [&str; 4] = [
    "a@example.com",
    "b@example.com",
    "c@example.com",
    "d@example.com",
];

/// A gateway with `n` accounts (a@, b@, …) and the given scheduling mode.
async fn pool_gateway(n: usize, mode: Scheduling) -> (RunningMock, TestGateway) {
    let mock = MockGoogle::start().await;
    let mut config = mock.config();
    config.gateway.scheduling = mode;
    let gateway = TestGateway::start(config).await;
    for email in &EMAILS[..n] {
        let name = email.split('@').next().unwrap();
        let refresh = format!("refresh-{name}");
        mock.mock.add_account(&refresh, email, true);
        gateway
            .add_account(&refresh, email, &format!("project-{name}"))
            .await;
    }
    (mock, gateway)
}

fn quota_exhausted(model: &str, reset_in_secs: i64) -> Scripted {
    let reset = chrono::DateTime::from_timestamp(now_unix() + reset_in_secs, 0)
        .unwrap()
        .to_rfc3339();
    Scripted::Error(
        429,
        json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
            "message": "You have exhausted your capacity on this model. Your quota will reset after 3h0m0s.",
            "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "QUOTA_EXHAUSTED",
                         "domain": "cloudcode-pa.googleapis.com",
                         "metadata": {"model": model, "quotaResetTimeStamp": reset, "quotaResetDelay": "3h0m0s"}}]}}),
    )
}

fn rate_limited(delay: &str) -> Scripted {
    Scripted::Error(
        429,
        json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "Resource has been exhausted (e.g. check quota).",
            "details": [
                {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE_LIMIT_EXCEEDED", "domain": "cloudcode-pa.googleapis.com"},
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}]}}),
    )
}

/// Which account the mock saw each generate request from, in order.
fn served_by(mock: &RunningMock) -> Vec<String> {
    mock.mock
        .received()
        .iter()
        .map(|r| r.email.clone())
        .collect()
}

async fn wait_for<F: Fn() -> bool>(what: &str, check: F) {
    for _ in 0..100 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn quota_exhausted_moves_on_and_keeps_the_account_off_that_model_only() {
    let (mock, gateway) = pool_gateway(2, Scheduling::RoundRobin).await;
    mock.mock
        .script_for("a@example.com", quota_exhausted("gemini-2.5-pro", 3 * 3600));
    // Whichever account goes first, every request succeeds.
    for _ in 0..6 {
        let response = gateway.chat(chat_body("gemini-2.5-pro", "x", false)).await;
        assert_eq!(response.status(), 200);
    }
    let emails = served_by(&mock);
    let first_failure = emails.iter().position(|e| e == "a@example.com").unwrap();
    // After its 429, A gets no more requests for this model.
    assert!(
        emails[first_failure + 1..]
            .iter()
            .all(|e| e == "b@example.com"),
        "{emails:?}"
    );

    let a = gateway.gateway.state().pool.snapshot()[0].clone();
    let limit = a
        .limit_for("gemini-2.5-pro", now_unix())
        .expect("A is limited");
    assert_eq!(limit.kind, LimitKind::QuotaExhausted);
    assert!(
        (limit.until - (now_unix() + 3 * 3600)).abs() <= 2,
        "until the upstream's reset time"
    );
    wait_for("the limit to be saved", || {
        !gateway.store.limits(now_unix()).unwrap().is_empty()
    })
    .await;
    let stored = gateway.store.limits(now_unix()).unwrap();
    assert_eq!(stored[0].model.as_deref(), Some("gemini-2.5-pro"));

    // A still serves another model.
    let before = mock.mock.received().len();
    for _ in 0..4 {
        assert_eq!(
            gateway
                .chat(chat_body("gemini-2.5-flash", "y", false))
                .await
                .status(),
            200
        );
    }
    let flash: Vec<String> = served_by(&mock)[before..].to_vec();
    assert!(flash.iter().any(|e| e == "a@example.com"), "{flash:?}");
}

#[tokio::test]
async fn a_rate_limit_under_three_seconds_is_waited_out_on_the_same_account() {
    let (mock, gateway) = pool_gateway(2, Scheduling::Sticky).await;
    let mut events = gateway.gateway.state().pool.subscribe();
    let before = served_by(&mock).len();
    mock.mock.script_for("a@example.com", rate_limited("1.5s"));
    mock.mock.script_for("b@example.com", rate_limited("1.5s"));
    let started = std::time::Instant::now();
    let response = gateway
        .chat(chat_body("gemini-2.5-flash", "x", false))
        .await;
    assert_eq!(response.status(), 200);
    assert!(
        started.elapsed() >= Duration::from_millis(1400),
        "the delay was waited out"
    );
    let served = served_by(&mock)[before..].to_vec();
    assert_eq!(served.len(), 2, "{served:?}");
    assert_eq!(served[0], served[1], "the same account, twice: {served:?}");
    let limited = std::iter::from_fn(|| events.try_recv().ok())
        .filter(|e| matches!(e, PoolEvent::Limited { .. }))
        .count();
    assert_eq!(limited, 0, "nobody cooled down");
}

#[tokio::test]
async fn a_short_rate_limit_cools_down_for_the_given_delay_then_recovers() {
    let (mock, gateway) = pool_gateway(2, Scheduling::RoundRobin).await;
    let mut events = gateway.gateway.state().pool.subscribe();
    // 3 s and more is not waited out on the same account (google-2026.md §5).
    mock.mock.script_for("a@example.com", rate_limited("3s"));
    mock.mock.script_for("b@example.com", rate_limited("3s"));
    // Both accounts hit the limit: the client is told when to come back.
    let response = gateway
        .chat(chat_body("gemini-2.5-flash", "x", false))
        .await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=4).contains(&retry_after), "{retry_after}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "pool_exhausted");
    let limited = std::iter::from_fn(|| events.try_recv().ok())
        .filter(|e| {
            matches!(
                e,
                PoolEvent::Limited {
                    quota_exhausted: false,
                    ..
                }
            )
        })
        .count();
    assert_eq!(limited, 2);
    // After the delay, both serve again (and a recovery is announced).
    tokio::time::sleep(Duration::from_millis(4100)).await;
    assert_eq!(
        gateway
            .chat(chat_body("gemini-2.5-flash", "x", false))
            .await
            .status(),
        200
    );
    let recovered = std::iter::from_fn(|| events.try_recv().ok())
        .filter(|e| matches!(e, PoolEvent::Recovered { .. }))
        .count();
    assert!(recovered >= 1, "recovery announced");
}

#[tokio::test]
async fn invalid_grant_marks_the_account_once_without_a_retry_storm() {
    let (mock, gateway) = pool_gateway(2, Scheduling::RoundRobin).await;
    let mut events = gateway.gateway.state().pool.subscribe();
    mock.mock.revoke_refresh_token("refresh-a");
    for _ in 0..6 {
        assert_eq!(
            gateway
                .chat(chat_body("gemini-2.5-flash", "x", false))
                .await
                .status(),
            200
        );
    }
    let a = gateway.gateway.state().pool.snapshot()[0].clone();
    assert_eq!(a.status(), AccountStatus::NeedsRelogin);
    let changes: Vec<PoolEvent> = std::iter::from_fn(|| events.try_recv().ok())
        .filter(|e| matches!(e, PoolEvent::StatusChanged { .. }))
        .collect();
    assert_eq!(changes.len(), 1, "{changes:?}");
    // One refresh for B, one failed try for A: A is not tried again.
    assert_eq!(mock.mock.refreshes(), 1);
    assert!(served_by(&mock).iter().all(|e| e == "b@example.com"));
    wait_for("the status to be saved", || {
        gateway.store.find_account("a@example.com").unwrap().status == AccountStatus::NeedsRelogin
    })
    .await;
}

#[tokio::test]
async fn a_verification_403_marks_the_account_with_its_link() {
    let (mock, gateway) = pool_gateway(2, Scheduling::RoundRobin).await;
    mock.mock.script_for(
        "a@example.com",
        Scripted::Error(
            403,
            json!({"error": {"code": 403, "status": "PERMISSION_DENIED", "message": "Verify your account to continue.",
                "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "VALIDATION_REQUIRED",
                             "domain": "cloudcode-pa.googleapis.com"},
                            {"@type": "type.googleapis.com/google.rpc.Help",
                             "links": [{"description": "Verify", "url": "https://accounts.google.com/verify?x=1"}]}]}}),
        ),
    );
    for _ in 0..2 {
        assert_eq!(
            gateway
                .chat(chat_body("gemini-2.5-flash", "x", false))
                .await
                .status(),
            200
        );
    }
    let a = gateway.gateway.state().pool.snapshot()[0].clone();
    assert_eq!(a.status(), AccountStatus::Forbidden);
    assert_eq!(
        a.status_link().as_deref(),
        Some("https://accounts.google.com/verify?x=1")
    );
    wait_for("the link to be saved", || {
        gateway
            .store
            .find_account("a@example.com")
            .unwrap()
            .status_link
            .is_some()
    })
    .await;
}

#[tokio::test]
async fn one_deadline_covers_the_whole_request_and_a_timeout_is_not_retried_elsewhere() {
    let mock = MockGoogle::start().await;
    let mut config = mock.config();
    config.gateway.request_timeout_secs = 2;
    config.gateway.scheduling = Scheduling::RoundRobin;
    let gateway = TestGateway::start(config).await;
    for name in ["a", "b"] {
        let email = format!("{name}@example.com");
        mock.mock
            .add_account(&format!("refresh-{name}"), &email, true);
        gateway
            .add_account(
                &format!("refresh-{name}"),
                &email,
                &format!("project-{name}"),
            )
            .await;
    }
    for stream in [false, true] {
        let before = mock.mock.received().len();
        mock.mock.script(Scripted::Slow(Duration::from_secs(6)));
        let started = std::time::Instant::now();
        let response = gateway
            .chat(chat_body("gemini-2.5-flash", "slow", stream))
            .await;
        assert_eq!(response.status(), 504, "stream: {stream}");
        // The bound is generous (a loaded machine); before the fix a second
        // account was tried after the first timed out, with its own limit.
        assert!(
            started.elapsed() < Duration::from_millis(4500),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(
            mock.mock.received().len() - before,
            1,
            "no second account after a timeout"
        );
    }
}

#[tokio::test]
async fn an_unexplained_403_is_checked_on_a_second_account_and_marks_nobody() {
    let (mock, gateway) = pool_gateway(3, Scheduling::RoundRobin).await;
    let refused = || {
        Scripted::Error(
            403,
            json!({"error": {"code": 403, "status": "PERMISSION_DENIED", "message": "The caller does not have permission"}}),
        )
    };
    // One account refuses: another serves the request.
    mock.mock.script_for("a@example.com", refused());
    for _ in 0..3 {
        assert_eq!(
            gateway
                .chat(chat_body("gemini-2.5-flash", "x", false))
                .await
                .status(),
            200
        );
    }
    // Every account refuses this request: it goes back after two tries.
    let before = mock.mock.received().len();
    for _ in 0..3 {
        mock.mock.script(refused());
    }
    let response = gateway
        .chat(chat_body("gemini-2.5-flash", "odd", false))
        .await;
    // Google refused the accounts, not the client's key: 503, with its words.
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("The caller does not have permission"),
        "{body}"
    );
    assert_eq!(
        mock.mock.received().len() - before,
        2,
        "checked on a second account"
    );
    for account in gateway.gateway.state().pool.snapshot().iter() {
        assert_eq!(account.status(), AccountStatus::Active, "{}", account.email);
    }
}

#[tokio::test]
async fn the_same_400_from_two_accounts_goes_to_the_client_and_cools_nobody() {
    let (mock, gateway) = pool_gateway(3, Scheduling::RoundRobin).await;
    let bad = || {
        Scripted::Error(
            400,
            json!({"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "Invalid JSON payload received."}}),
        )
    };
    mock.mock.script(bad());
    mock.mock.script(bad());
    let response = gateway
        .chat(chat_body("gemini-2.5-flash", "x", false))
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Invalid JSON payload")
    );
    assert_eq!(
        mock.mock.received().len(),
        2,
        "checked on a second account, no further"
    );
    for account in gateway.gateway.state().pool.snapshot().iter() {
        assert_eq!(account.status(), AccountStatus::Active);
        assert!(account.limits(now_unix()).is_empty());
    }
    assert!(gateway.store.limits(0).unwrap().is_empty());
}

#[tokio::test]
async fn an_exhausted_pool_answers_429_with_retry_after_in_each_protocol() {
    let (mock, gateway) = pool_gateway(2, Scheduling::Balance).await;
    for email in &EMAILS[..2] {
        mock.mock
            .script_for(email, quota_exhausted("gemini-2.5-pro", 600));
    }
    let response = gateway.chat(chat_body("gemini-2.5-pro", "x", false)).await;
    assert_eq!(response.status(), 429);
    let openai: Value = response.json().await.unwrap();
    assert_eq!(openai["error"]["type"], "rate_limit_error");

    let anthropic = gateway
        .client
        .post(gateway.url("/v1/messages"))
        .json(&json!({"model": "gemini-2.5-pro", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(anthropic.status(), 429);
    let retry_after: i64 = anthropic.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((590..=601).contains(&retry_after), "{retry_after}");
    let body: Value = anthropic.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "rate_limit_error");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("frees up at")
    );

    let gemini = gateway
        .client
        .post(gateway.url("/v1beta/models/gemini-2.5-pro:generateContent"))
        .json(&json!({"contents": [{"role": "user", "parts": [{"text": "x"}]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(gemini.status(), 429);
    assert!(gemini.headers().contains_key("retry-after"));
    let body: Value = gemini.json().await.unwrap();
    assert_eq!(body["error"]["status"], "RESOURCE_EXHAUSTED");
    // Only the two first requests reached the upstream: no hammering.
    assert_eq!(mock.mock.received().len(), 2);
}

#[tokio::test]
async fn sticky_keeps_a_20_turn_conversation_on_one_account() {
    for mode in [Scheduling::Sticky, Scheduling::Balance] {
        let (mock, gateway) = pool_gateway(4, mode).await;
        let mut messages = vec![json!({"role": "user", "content": "Let us talk."})];
        for turn in 0..20 {
            let body: Value = gateway
                .chat(json!({"model": "gemini-2.5-flash", "messages": messages}))
                .await
                .json()
                .await
                .unwrap();
            messages.push(
                json!({"role": "assistant", "content": body["choices"][0]["message"]["content"]}),
            );
            messages.push(json!({"role": "user", "content": format!("Turn {turn}")}));
        }
        let emails = served_by(&mock);
        assert_eq!(emails.len(), 20);
        assert!(
            emails.iter().all(|e| e == &emails[0]),
            "{mode:?}: {emails:?}"
        );
    }
}

#[tokio::test]
async fn round_robin_spreads_requests_evenly() {
    let (mock, gateway) = pool_gateway(4, Scheduling::RoundRobin).await;
    for _ in 0..20 {
        assert_eq!(
            gateway
                .chat(chat_body("gemini-2.5-flash", "same", false))
                .await
                .status(),
            200
        );
    }
    let emails = served_by(&mock);
    for email in EMAILS {
        let count = emails.iter().filter(|e| *e == email).count();
        assert!((4..=6).contains(&count), "{email}: {count} of {emails:?}");
    }
}

#[tokio::test]
async fn statuses_and_limits_survive_a_restart() {
    let (mock, gateway) = pool_gateway(2, Scheduling::RoundRobin).await;
    mock.mock
        .script_for("a@example.com", quota_exhausted("gemini-2.5-pro", 3600));
    mock.mock.revoke_refresh_token("refresh-b");
    // A hits its quota, B needs a new sign-in.
    let _ = gateway.chat(chat_body("gemini-2.5-pro", "x", false)).await;
    let _ = gateway.chat(chat_body("gemini-2.5-pro", "x", false)).await;
    wait_for("both changes to be saved", || {
        !gateway.store.limits(now_unix()).unwrap().is_empty()
            && gateway.store.find_account("b@example.com").unwrap().status
                == AccountStatus::NeedsRelogin
    })
    .await;

    let gateway = gateway.restart().await;
    let pool = gateway.gateway.state().pool.snapshot();
    let a = pool.iter().find(|a| a.email == "a@example.com").unwrap();
    let b = pool.iter().find(|a| a.email == "b@example.com").unwrap();
    assert_eq!(
        a.limit_for("gemini-2.5-pro", now_unix()).unwrap().kind,
        LimitKind::QuotaExhausted
    );
    assert_eq!(b.status(), AccountStatus::NeedsRelogin);
    // After the restart the exhausted account is not asked again.
    let before = mock.mock.received().len();
    let response = gateway.chat(chat_body("gemini-2.5-pro", "x", false)).await;
    assert_eq!(response.status(), 429);
    assert_eq!(mock.mock.received().len(), before);
}

#[tokio::test]
async fn a_session_header_keeps_different_requests_together() {
    let (mock, gateway) = pool_gateway(4, Scheduling::Balance).await;
    for (i, header) in ["x-claude-code-session-id", "session-id"]
        .iter()
        .enumerate()
    {
        let before = mock.mock.received().len();
        for turn in 0..6 {
            let response = gateway
                .client
                .post(gateway.url("/v1/chat/completions"))
                .header(*header, format!("conversation-{i}"))
                .json(&chat_body(
                    "gemini-2.5-flash",
                    &format!("unrelated opening {turn}"),
                    false,
                ))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
        }
        let emails = served_by(&mock)[before..].to_vec();
        assert!(
            emails.iter().all(|e| e == &emails[0]),
            "{header}: {emails:?}"
        );
    }
}

fn quota_event() -> String {
    let reset = chrono::DateTime::from_timestamp(now_unix() + 3600, 0)
        .unwrap()
        .to_rfc3339();
    json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "You have exhausted your capacity on this model.",
        "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "QUOTA_EXHAUSTED",
            "domain": "cloudcode-pa.googleapis.com", "metadata": {"quotaResetTimeStamp": reset}}]}})
    .to_string()
}

#[tokio::test]
async fn an_error_in_the_first_stream_event_is_retried_elsewhere_and_learned_from() {
    let (mock, gateway) = pool_gateway(2, Scheduling::RoundRobin).await;
    // Round robin starts with a, whose stream opens with a quota error.
    mock.mock
        .script_for("a@example.com", Scripted::RawStream(vec![quota_event()]));
    let response = gateway.chat(chat_body("gemini-2.5-flash", "x", true)).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let served = served_by(&mock);
    assert_eq!(served, ["a@example.com", "b@example.com"], "{text}");
    assert!(text.contains("\"finish_reason\":\"stop\""), "{text}");
    let first = gateway
        .gateway
        .state()
        .pool
        .snapshot()
        .iter()
        .find(|a| a.email == served[0])
        .unwrap()
        .clone();
    let limit = first
        .limit_for("gemini-2.5-flash", now_unix())
        .expect("the account that sent the error is limited");
    assert_eq!(limit.kind, LimitKind::QuotaExhausted);
}

#[tokio::test]
async fn a_quota_error_later_in_a_stream_still_cools_the_account() {
    let (mock, gateway) = pool_gateway(1, Scheduling::RoundRobin).await;
    let text = json!({"response": {"candidates": [{"content": {"role": "model", "parts": [{"text": "partial"}]}}]}})
        .to_string();
    mock.mock
        .script(Scripted::RawStream(vec![text, quota_event()]));
    let response = gateway.chat(chat_body("gemini-2.5-flash", "x", true)).await;
    assert_eq!(response.status(), 200, "the stream had started");
    let body = response.text().await.unwrap();
    assert!(body.contains("partial"), "{body}");
    let account = gateway.gateway.state().pool.snapshot()[0].clone();
    let limit = account
        .limit_for("gemini-2.5-flash", now_unix())
        .expect("limited after the in-stream quota error");
    assert_eq!(limit.kind, LimitKind::QuotaExhausted);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_quota_read_as_used_up_is_announced_once_per_reset() {
    let mock = MockGoogle::start().await;
    let gateway = TestGateway::with_one_account(&mock).await;
    // Let the start-up poll finish before the quota changes.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let reset = switchyard::store::now_unix() + 3 * 3600;
    mock.mock
        .set_quota("a@example.com", "gemini-2.5-pro", 0.0, reset);
    mock.mock
        .set_quota("a@example.com", "gemini-2.5-flash", 0.5, reset);
    let state = gateway.gateway.state();
    let mut events = state.pool.subscribe();
    let account = state.pool.snapshot()[0].clone();
    let warned = Default::default();
    let exhausted = |events: &mut tokio::sync::broadcast::Receiver<PoolEvent>| {
        let mut found = Vec::new();
        while let Ok(event) = events.try_recv() {
            if let PoolEvent::Limited {
                model,
                quota_exhausted: true,
                until,
                ..
            } = event
            {
                found.push((model, until));
            }
        }
        found
    };
    switchyard::jobs::refresh_quota(state, &account, &warned)
        .await
        .unwrap();
    assert_eq!(
        exhausted(&mut events),
        [(Some("gemini-2.5-pro".to_owned()), reset)]
    );
    // The next poll finds the same: nothing new to say.
    switchyard::jobs::refresh_quota(state, &account, &warned)
        .await
        .unwrap();
    assert_eq!(exhausted(&mut events), []);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_status_another_process_finds_is_announced() {
    let mock = MockGoogle::start().await;
    let gateway = TestGateway::with_one_account(&mock).await;
    let state = gateway.gateway.state();
    let mut events = state.pool.subscribe();
    let id = state.pool.snapshot()[0].id;
    // The window's process, with its own connection, finds it revoked.
    let other = switchyard::store::Store::open(&gateway.home.path().join("switchyard.db")).unwrap();
    other
        .set_status(id, AccountStatus::NeedsRelogin, Some("invalid_grant"))
        .unwrap();
    let event = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Ok(PoolEvent::StatusChanged { to, why, from, .. }) = events.recv().await {
                return (from, to, why);
            }
        }
    })
    .await
    .expect("a status change event");
    assert_eq!(
        event,
        (
            AccountStatus::Active,
            AccountStatus::NeedsRelogin,
            "invalid_grant".to_owned()
        )
    );
}
