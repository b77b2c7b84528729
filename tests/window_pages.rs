#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

//! The window's pages driven through egui_kittest: real snapshots in, clicks
//! and typing by accessible label, the commands that come out checked.

use std::path::PathBuf;
use std::sync::Arc;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use switchyard::config::Config;
use switchyard::desktop::model::{
    AccountView, Command, ExportFormat, Field, GatewayState, GatewayView, LoginView, Notice,
    PathsView, QuotaView, QuotaWindow, RequestView, Snapshot, TodayView, UpstreamView, UsageBucket,
};
use switchyard::desktop::window::accounts::kind_label;
use switchyard::desktop::window::{
    Confirmation, Page, StatsGrouping, StatsRange, StatusClass, WindowUi, window_ui,
};
use switchyard::store::{AccountStatus, UpstreamKind};

const NOW: i64 = 1_800_000_000;
const API_KEY: &str = "sk-0123456789abcdef0123456789abcdef";
const BASE_URL: &str = "http://127.0.0.1:18045";

struct Window {
    snapshot: Snapshot,
    ui: WindowUi,
    commands: Vec<Command>,
}

fn request(
    seconds_ago: i64,
    protocol: &str,
    model: &str,
    upstream: &str,
    status: u16,
) -> RequestView {
    RequestView {
        request_id: format!("req-{seconds_ago}"),
        at_ms: (NOW - seconds_ago) * 1000,
        protocol: protocol.to_owned(),
        route: "chat.completions".to_owned(),
        model: model.to_owned(),
        upstream_model: upstream.to_owned(),
        account: "alice@example.com".to_owned(),
        status,
        latency_ms: 1234,
        input_tokens: 1500,
        output_tokens: 42,
        ..Default::default()
    }
}

const QUOTA_ERROR: &str = "quota exhausted for gemini-2.5-pro (resets at 14:00)";
const SERVER_ERROR: &str = "upstream answered 500: backend unavailable";

/// Three requests, newest first: an OK OpenAI one, an Anthropic one refused
/// for quota on bob's account, and a failed Gemini stream from another machine.
fn recent() -> Vec<RequestView> {
    vec![
        request(1, "openai", "gpt-4o", "gemini-2.5-pro", 200),
        RequestView {
            route: "messages".to_owned(),
            account: "bob@example.com".to_owned(),
            error_message: Some(QUOTA_ERROR.to_owned()),
            ..request(5, "anthropic", "claude-sonnet-4-5", "gemini-2.5-pro", 429)
        },
        RequestView {
            route: "streamGenerateContent".to_owned(),
            stream: true,
            ttfb_ms: Some(210),
            cached_tokens: 300,
            reasoning_tokens: 17,
            error_message: Some(SERVER_ERROR.to_owned()),
            client: Some("192.168.1.7".to_owned()),
            ..request(9, "gemini", "gemini-2.5-flash", "gemini-2.5-flash", 500)
        },
    ]
}

const HOUR: i64 = 3600;

#[allow(clippy::too_many_arguments)]
fn usage_bucket(
    hours_ago: i64,
    model: &str,
    account: &str,
    requests: u64,
    errors: u64,
    input_tokens: u64,
    output_tokens: u64,
    latency_ms_sum: u64,
) -> UsageBucket {
    UsageBucket {
        hour: (NOW - hours_ago * HOUR).div_euclid(HOUR) * HOUR,
        model: model.to_owned(),
        account: account.to_owned(),
        protocol: "openai".to_owned(),
        requests,
        errors,
        input_tokens,
        output_tokens,
        cached_tokens: input_tokens / 10,
        reasoning_tokens: output_tokens / 4,
        latency_ms_sum,
    }
}

/// In the last 24 hours: gpt-4o (alice) 10 requests, 1,200 tokens, and
/// claude-sonnet-4-5 (bob) 5 requests, 3,400 tokens. Three days ago 100 more
/// gpt-4o requests; ten days ago 7 gemini-2.5-flash ones.
fn usage() -> Vec<UsageBucket> {
    vec![
        usage_bucket(40 * 24, "gpt-4o", "alice@example.com", 9999, 0, 1, 1, 1),
        usage_bucket(
            10 * 24,
            "gemini-2.5-flash",
            "alice@example.com",
            7,
            7,
            700,
            70,
            700,
        ),
        usage_bucket(
            3 * 24,
            "gpt-4o",
            "alice@example.com",
            100,
            0,
            50_000,
            5_000,
            100_000,
        ),
        usage_bucket(
            5,
            "claude-sonnet-4-5",
            "bob@example.com",
            5,
            0,
            3_000,
            400,
            20_000,
        ),
        usage_bucket(2, "gpt-4o", "alice@example.com", 6, 1, 600, 120, 6_000),
        usage_bucket(0, "gpt-4o", "alice@example.com", 4, 0, 400, 80, 4_000),
    ]
}

fn snapshot() -> Snapshot {
    let mut config = Config::default();
    config.gateway.port = 18045;
    config.gateway.api_key = API_KEY.to_owned();
    config
        .models
        .insert("gpt-4*".to_owned(), "gemini-2.5-pro".to_owned());
    Snapshot {
        gateway: GatewayView {
            state: GatewayState::Running,
            base_url: BASE_URL.to_owned(),
            lan_url: None,
        },
        accounts: vec![
            AccountView {
                id: 1,
                email: "alice@example.com".to_owned(),
                tier: Some("standard-tier".to_owned()),
                status: AccountStatus::Active,
                status_line: "active".to_owned(),
                reason: None,
                link: None,
                oauth_client: "gemini-cli".to_owned(),
                project: Some("alice-project".to_owned()),
                windows: Vec::new(),
                models_offered: None,
                quotas: vec![
                    QuotaView {
                        model: "gemini-2.5-pro".to_owned(),
                        remaining: Some(0.75),
                        resets_at: Some(NOW + 2 * 3600 + 5 * 60),
                    },
                    QuotaView {
                        model: "gemini-2.5-flash".to_owned(),
                        remaining: Some(0.4),
                        resets_at: Some(NOW + 30 * 60),
                    },
                ],
                last_used_at: Some(NOW - 300),
            },
            AccountView {
                id: 2,
                email: "bob@example.com".to_owned(),
                tier: None,
                status: AccountStatus::NeedsRelogin,
                status_line: "needs re-login (invalid_grant)".to_owned(),
                reason: None,
                link: None,
                oauth_client: "gemini-cli".to_owned(),
                project: Some("bob-project".to_owned()),
                windows: Vec::new(),
                models_offered: None,
                quotas: Vec::new(),
                last_used_at: None,
            },
        ],
        config,
        upstreams: Vec::new(),
        recent: recent(),
        usage: Arc::new(usage()),
        today: TodayView {
            requests: 42,
            errors: 2,
            tokens: 12_345,
        },
        paths: PathsView {
            config_file: "/home/me/.config/switchyard/config.toml".into(),
            data_file: "/home/me/.local/share/switchyard/switchyard.db".into(),
        },
        login: None,
        launch_at_login: false,
        notice: None,
        picked: None,
        now: NOW,
    }
}

fn window_with(snapshot: Snapshot, page: Page) -> Harness<'static, Window> {
    window_sized(snapshot, page, [1400.0, 2400.0])
}

fn window(page: Page) -> Harness<'static, Window> {
    window_with(snapshot(), page)
}

fn set_config(key: &str, value: &str) -> Command {
    Command::SetConfig {
        key: key.to_owned(),
        value: value.to_owned(),
    }
}

#[test]
fn navigation_switches_pages() {
    let mut harness = window(Page::Dashboard);
    assert!(harness.query_by_label("1/2 accounts ready").is_some());
    assert!(harness.query_by_label("Add account…").is_none());

    let visits = [
        ("Accounts", Page::Accounts, "Add account…"),
        ("API Proxy", Page::ApiProxy, "Set up your clients"),
        ("Monitor", Page::Monitor, "Tokens in / out"),
        ("Token Stats", Page::TokenStats, "Tokens per hour"),
        ("Settings", Page::Settings, "Open data folder"),
        ("Dashboard", Page::Dashboard, "1/2 accounts ready"),
    ];
    for (label, page, only_there) in visits {
        harness.get_by_label(label).click();
        harness.run();
        assert_eq!(harness.state().ui.page, page);
        assert!(
            harness.query_by_label(only_there).is_some(),
            "{only_there:?} on {label}"
        );
    }
    assert!(harness.query_by_label("Add account…").is_none());
    assert!(harness.state().commands.is_empty());
}

#[test]
fn dashboard_shows_pool_health_today_and_best_accounts() {
    let harness = window(Page::Dashboard);
    harness.get_by_label("1/2 accounts ready");
    harness.get_by_label("bob@example.com: needs re-login (invalid_grant)");
    harness.get_by_label("alice@example.com · gemini-2.5-pro 75% left");
    harness.get_by_label("alice@example.com · gemini-2.5-flash 40% left");
    harness.get_by_label("12,345");
    harness.get_by_label(BASE_URL);
    harness.get_by_label("Copy base URL");
}

#[test]
fn dashboard_shows_why_the_gateway_failed_and_starts_it() {
    let mut failed = snapshot();
    failed.gateway.state = GatewayState::Failed("port 18045 is in use".to_owned());
    let mut harness = window_with(failed, Page::Dashboard);
    harness.get_by_label("Could not start: port 18045 is in use");
    harness.get_by_label("Start gateway").click();
    harness.run();
    assert_eq!(harness.state().commands, [Command::StartGateway]);
}

#[test]
fn accounts_are_compact_rows_with_the_quota_that_binds() {
    let mut harness = window(Page::Accounts);
    harness.get_by_label("alice@example.com");
    harness.get_by_label("standard-tier");
    harness.get_by_label("bob@example.com");
    harness.get_by_label("ready");
    harness.get_by_label("needs sign-in");
    harness.get_by_label("needs re-login (invalid_grant)");
    harness.get_by_label("5m ago");
    // Alice's lowest model only, the rest on demand; bob serves nothing
    // until he signs in again, so he has no bars that look full.
    assert_eq!(bars(&harness), ["gemini-2.5-flash 40% · resets in 30m"]);
    harness.get_by_label("Sign in again as bob@example.com");
    assert!(
        harness
            .query_by_label("Sign in again as alice@example.com")
            .is_none()
    );
    harness
        .get_by_label("Show all models of alice@example.com")
        .click();
    harness.run();
    assert_eq!(
        bars(&harness),
        [
            "gemini-2.5-pro 75% · resets in 2h 05m",
            "gemini-2.5-flash 40% · resets in 30m"
        ]
    );
    harness
        .get_by_label("Show less of alice@example.com")
        .click();
    harness.run();
    assert_eq!(bars(&harness).len(), 1);
    // The actions are in a menu.
    assert!(
        harness
            .query_by_label("Disable alice@example.com")
            .is_none()
    );
    open_actions(&mut harness, "alice@example.com");
    harness.get_by_label("Disable alice@example.com");
    harness.get_by_label("Refresh quota of alice@example.com");
    harness.get_by_label("Remove alice@example.com");
}

#[test]
fn each_state_has_its_chip_and_severity() {
    use switchyard::desktop::window::accounts::state_chip;
    use switchyard::desktop::window::palette::Severity;
    let cases = [
        (AccountStatus::Active, "active", "ready", Severity::Ok),
        (
            AccountStatus::Active,
            "quota exhausted (gemini-2.5-pro, resets at 2027-01-01 14:00 UTC)",
            "quota used up",
            Severity::Heals,
        ),
        (
            AccountStatus::Active,
            "cooling down (all models, until 14:00)",
            "cooling down",
            Severity::Heals,
        ),
        (
            AccountStatus::Disabled,
            "disabled by user",
            "disabled",
            Severity::Off,
        ),
        (
            AccountStatus::NeedsRelogin,
            "needs re-login (invalid_grant)",
            "needs sign-in",
            Severity::NeedsUser,
        ),
        (
            AccountStatus::Forbidden,
            "forbidden / needs verification (verify)",
            "needs verification",
            Severity::NeedsUser,
        ),
        (
            AccountStatus::Suspended,
            "suspended by Google",
            "suspended",
            Severity::NeedsUser,
        ),
        (
            AccountStatus::ClientRetired,
            "client retired",
            "client retired",
            Severity::NeedsUser,
        ),
    ];
    for (status, line, chip, severity) in cases {
        let mut one = snapshot();
        one.accounts.truncate(1);
        one.accounts[0].status = status;
        one.accounts[0].status_line = line.to_owned();
        assert_eq!(state_chip(&one.accounts[0]), (severity, chip), "{line}");
        let harness = window_with(one, Page::Accounts);
        harness.get_by_label(chip);
    }
    // At 0 % everywhere it is not ready: it heals, it is not "ready".
    let mut empty = snapshot();
    for quota in &mut empty.accounts[0].quotas {
        quota.remaining = Some(0.0);
    }
    assert_eq!(
        state_chip(&empty.accounts[0]),
        (Severity::Heals, "no quota left")
    );
    let harness = window_with(empty, Page::Accounts);
    harness.get_by_label("no quota left");
    assert!(harness.query_by_label("ready").is_none());
}

const APPEAL: &str = "https://support.google.com/accounts/appeal?service=antigravity";
const SUSPENSION: &str =
    "This service has been disabled in this account for violation of Terms of Service.";
const RETIRED: &str = "Gemini CLI no longer serves personal accounts: add it again with Antigravity or a Cloud project.";

fn quota_window(group: &str, window: &str, left: f64, resets_in: i64) -> QuotaWindow {
    QuotaWindow {
        group: group.to_owned(),
        window: window.to_owned(),
        remaining_fraction: Some(left),
        reset_at: Some(NOW + resets_in),
    }
}

fn windows() -> Vec<QuotaWindow> {
    vec![
        quota_window("gemini", "5h", 0.8, 3 * HOUR + 12 * 60),
        quota_window("gemini", "weekly", 0.6, 4 * 24 * HOUR + 2 * HOUR),
        quota_window("3p", "5h", 0.3, 45 * 60),
        quota_window("3p", "weekly", 0.9, 6 * 24 * HOUR),
    ]
}

fn google_account(id: i64, email: &str, status: AccountStatus) -> AccountView {
    AccountView {
        id,
        email: email.to_owned(),
        tier: Some("free-tier".to_owned()),
        status,
        status_line: status.label().to_owned(),
        reason: None,
        link: None,
        oauth_client: "antigravity".to_owned(),
        project: None,
        quotas: vec![QuotaView {
            model: "gemini-3-pro-high".to_owned(),
            remaining: Some(1.0),
            resets_at: None,
        }],
        windows: windows(),
        models_offered: Some(13),
        last_used_at: None,
    }
}

/// Alice and bob, then carol on Antigravity with quota windows, dave
/// suspended by Google and erin whose client was retired.
fn google_2026_snapshot() -> Snapshot {
    let mut snapshot = snapshot();
    let mut dave = google_account(4, "dave@example.com", AccountStatus::Suspended);
    dave.reason = Some(SUSPENSION.to_owned());
    dave.link = Some(APPEAL.to_owned());
    dave.status_line = format!("suspended by Google ({SUSPENSION}); appeal: {APPEAL}");
    let mut erin = google_account(5, "erin@example.com", AccountStatus::ClientRetired);
    erin.oauth_client = "gemini-cli".to_owned();
    erin.reason = Some(RETIRED.to_owned());
    erin.status_line = format!("client retired ({RETIRED})");
    snapshot.accounts.extend([
        google_account(3, "carol@example.com", AccountStatus::Active),
        dave,
        erin,
    ]);
    snapshot
}

fn bars(harness: &Harness<'static, Window>) -> Vec<String> {
    harness
        .query_all_by_role(Role::ProgressIndicator)
        .map(|bar| bar.accesskit_node().label().unwrap_or_default())
        .collect()
}

#[test]
fn accounts_with_windows_show_the_binding_window_per_group() {
    let mut harness = window_with(google_2026_snapshot(), Page::Accounts);
    // Carol: the lower window of each group; alice: her lowest model.
    assert_eq!(
        bars(&harness),
        [
            "gemini-2.5-flash 40% · resets in 30m",
            "Gemini weekly 60% · resets in 4d 2h",
            "Claude/GPT 5h 30% · resets in 45m",
        ]
    );
    harness
        .get_by_label("Show all windows of carol@example.com")
        .click();
    harness.run();
    let bars = bars(&harness);
    for expected in [
        "Gemini 5h 80% · resets in 3h 12m",
        "Gemini weekly 60% · resets in 4d 2h",
        "Claude/GPT 5h 30% · resets in 45m",
        "Claude/GPT weekly 90% · resets in 6d 0h",
    ] {
        assert_eq!(
            bars.iter().filter(|b| *b == expected).count(),
            1,
            "{expected:?} once in {bars:?}"
        );
    }
    assert!(
        !bars.iter().any(|b| b.contains("gemini-3-pro-high")),
        "{bars:?}"
    );
    assert_eq!(bars.len(), 5, "{bars:?}");
    assert_eq!(harness.query_all_by_label("Antigravity").count(), 2);
    assert_eq!(harness.query_all_by_label("Code Assist").count(), 3);
    harness.get_by_label("carol@example.com");
    assert_eq!(harness.query_all_by_label("13 models").count(), 3);
}

#[test]
fn a_suspended_account_shows_its_appeal_link_and_no_bars() {
    let mut harness = window_with(google_2026_snapshot(), Page::Accounts);
    assert_eq!(harness.query_all_by_label("suspended").count(), 1);
    harness.get_by_label(SUSPENSION);
    harness.get_by_label(APPEAL);
    harness.get_by_label("Copy appeal link for dave@example.com");
    harness
        .get_by_label("Open appeal page for dave@example.com")
        .click();
    harness.run();
    assert_eq!(
        harness.state().commands,
        [Command::OpenUrl(APPEAL.to_owned())]
    );
    // The retired one shows Google's message and options, and no bars either:
    // only carol's two binding windows and alice's lowest model are drawn.
    harness.get_by_label("client retired");
    harness.get_by_label(RETIRED);
    assert!(
        harness
            .query_by_label("Open appeal page for erin@example.com")
            .is_none()
    );
    assert_eq!(bars(&harness).len(), 3);
}

#[test]
fn a_suspended_account_drawn_alone_has_no_bars() {
    let mut snapshot = google_2026_snapshot();
    snapshot.accounts.retain(|a| a.id == 4);
    let harness = window_with(snapshot, Page::Accounts);
    harness.get_by_label("dave@example.com");
    assert_eq!(bars(&harness), Vec::<String>::new());
}

/// Opens the Add account dialog.
fn open_add_account(harness: &mut Harness<'static, Window>) {
    harness.get_by_label("Add account…").click();
    harness.run();
    harness.get_by_label("Add account");
}

/// Opens the actions menu of an account.
fn open_actions(harness: &mut Harness<'static, Window>, email: &str) {
    harness
        .get_by_label(&format!("Actions for {email}"))
        .click();
    harness.run();
}

fn choose_antigravity_and_sign_in(harness: &mut Harness<'static, Window>) {
    open_add_account(harness);
    harness.get_by_label("Google account (Antigravity)").click();
    harness.run();
    harness.get_by_label("Sign in with Google").click();
    harness.run();
}

#[test]
fn antigravity_without_consent_asks_and_cancel_starts_nothing() {
    let mut harness = window(Page::Accounts);
    choose_antigravity_and_sign_in(&mut harness);
    assert!(harness.state().commands.is_empty());
    harness.get_by_label_contains(
        "This service has been disabled in this account for violation of Terms of Service",
    );
    harness.get_by_label_contains("An appeal may or may not restore it");
    harness.get_by_label_contains(
        "Code Assist Standard/Enterprise, or an AI Studio or Vertex AI API key",
    );

    harness.get_by_label("Cancel").click();
    harness.run();
    assert!(harness.state().commands.is_empty());
    assert!(harness.state().ui.drafts.confirmation.is_none());
    assert!(
        harness
            .query_by_label_contains("This service has been disabled")
            .is_none()
    );
}

#[test]
fn antigravity_confirmed_accepts_the_risk_then_signs_in() {
    let mut harness = window(Page::Accounts);
    choose_antigravity_and_sign_in(&mut harness);
    assert!(harness.state().commands.is_empty());
    harness.get_by_label("Accept the risk").click();
    harness.run();
    assert_eq!(
        harness.state().commands,
        [
            set_config("google.antigravity_risk_accepted", "true"),
            Command::StartLogin {
                client: "antigravity".to_owned(),
                project: None
            }
        ]
    );
    assert!(harness.state().ui.drafts.confirmation.is_none());
}

#[test]
fn antigravity_with_the_risk_accepted_signs_in_at_once() {
    let mut accepted = snapshot();
    accepted.config.google.antigravity_risk_accepted = true;
    let mut harness = window_with(accepted, Page::Accounts);
    choose_antigravity_and_sign_in(&mut harness);
    assert!(harness.state().ui.drafts.confirmation.is_none());
    assert_eq!(
        harness.state().commands,
        [Command::StartLogin {
            client: "antigravity".to_owned(),
            project: None
        }]
    );
}

#[test]
fn antigravity_refresh_token_asks_first_too() {
    let mut harness = window(Page::Accounts);
    open_add_account(&mut harness);
    harness.get_by_label("Google account (Antigravity)").click();
    harness.run();
    type_secret(&mut harness, "Refresh token", "1//ag");
    harness.get_by_label("Add").click();
    harness.run();
    assert!(harness.state().commands.is_empty());
    harness.get_by_label("Accept the risk").click();
    harness.run();
    assert_eq!(
        harness.state().commands,
        [
            set_config("google.antigravity_risk_accepted", "true"),
            Command::AddRefreshToken {
                token: "1//ag".to_owned(),
                client: "antigravity".to_owned(),
                project: None
            }
        ]
    );
}

#[test]
fn code_assist_sends_the_project() {
    let mut harness = window(Page::Accounts);
    open_add_account(&mut harness);
    harness
        .get_by_label("Google Cloud project (Code Assist Standard/Enterprise)")
        .click();
    harness.run();
    type_into(&mut harness, "Cloud project id", " my-project-42 ");
    harness.get_by_label("Sign in with Google").click();
    harness.run();
    type_secret(&mut harness, "Refresh token", "1//ca");
    harness.get_by_label("Add").click();
    harness.run();
    assert!(harness.state().ui.drafts.confirmation.is_none());
    assert_eq!(
        harness.state().commands,
        [
            Command::StartLogin {
                client: "gemini-cli".to_owned(),
                project: Some("my-project-42".to_owned())
            },
            Command::AddRefreshToken {
                token: "1//ca".to_owned(),
                client: "gemini-cli".to_owned(),
                project: Some("my-project-42".to_owned())
            }
        ]
    );
}

#[test]
fn an_antigravity_sign_in_shows_the_port_forward_instead_of_the_paste_field() {
    let mut signing_in = snapshot();
    signing_in.login = Some(LoginView {
        url: "https://accounts.google.com/o/oauth2/v2/auth?client_id=ag".to_owned(),
        accepts_paste: false,
        port: 8123,
    });
    let mut harness = window_with(signing_in, Page::Accounts);
    harness.get_by_label_contains("must reach port 8123");
    harness.get_by_label("ssh -L 8123:127.0.0.1:8123 you@this-computer");
    harness.get_by_label("Copy ssh command");
    assert!(
        harness
            .query_by_role_and_label(Role::TextInput, "Code or address")
            .is_none()
    );
    assert!(harness.query_by_label("Submit").is_none());
    harness.get_by_label("Cancel").click();
    harness.run();
    assert_eq!(harness.state().commands, [Command::CancelLogin]);
}

#[test]
fn sign_in_again_keeps_the_accounts_client_and_project() {
    let mut harness = window(Page::Accounts);
    harness
        .get_by_label("Sign in again as bob@example.com")
        .click();
    harness.run();
    assert_eq!(
        harness.state().commands,
        [Command::StartLogin {
            client: "gemini-cli".to_owned(),
            project: Some("bob-project".to_owned())
        }]
    );
}

#[test]
fn dashboard_counts_an_account_with_windows_by_its_binding_window() {
    let harness = window_with(google_2026_snapshot(), Page::Dashboard);
    harness.get_by_label("carol@example.com · Claude/GPT 5h 30% left");
    // Alice's Pro model (75%) beats carol's binding Gemini window (60%).
    harness.get_by_label("alice@example.com · gemini-2.5-pro 75% left");
    harness.get_by_label("dave@example.com: suspended by Google (see Accounts)");
    harness.get_by_label("erin@example.com: client retired (see Accounts)");
    harness.get_by_label("2/5 accounts ready");
}

#[test]
fn remove_asks_first_and_cancel_emits_nothing() {
    let mut harness = window(Page::Accounts);
    open_actions(&mut harness, "bob@example.com");
    harness.get_by_label("Remove bob@example.com").click();
    harness.run();
    assert!(harness.state().commands.is_empty());
    assert_eq!(
        harness.state().ui.drafts.confirmation,
        Some(Confirmation::RemoveAccount {
            id: 2,
            email: "bob@example.com".to_owned()
        })
    );
    harness.get_by_label_contains("Remove bob@example.com?");

    harness.get_by_label("Cancel").click();
    harness.run();
    assert!(harness.state().commands.is_empty());
    assert!(harness.state().ui.drafts.confirmation.is_none());
    assert!(
        harness
            .query_by_label_contains("Remove bob@example.com?")
            .is_none()
    );
}

#[test]
fn remove_emits_remove_account_only_after_confirming() {
    let mut harness = window(Page::Accounts);
    open_actions(&mut harness, "bob@example.com");
    harness.get_by_label("Remove bob@example.com").click();
    harness.run();
    assert!(harness.state().commands.is_empty());
    harness.get_by_label("Remove").click();
    harness.run();
    assert_eq!(harness.state().commands, [Command::RemoveAccount(2)]);
    assert!(harness.state().ui.drafts.confirmation.is_none());
}

#[test]
fn disable_and_refresh_name_their_account() {
    let mut harness = window(Page::Accounts);
    open_actions(&mut harness, "alice@example.com");
    harness.get_by_label("Disable alice@example.com").click();
    harness.run();
    open_actions(&mut harness, "bob@example.com");
    harness
        .get_by_label("Refresh quota of bob@example.com")
        .click();
    harness.run();
    harness.get_by_label("Refresh all quotas").click();
    harness.run();
    assert_eq!(
        harness.state().commands,
        [
            Command::DisableAccount(1),
            Command::RefreshQuota(Some(2)),
            Command::RefreshQuota(None)
        ]
    );
}

#[test]
fn a_disabled_account_offers_enable() {
    let mut disabled = snapshot();
    disabled.accounts[0].status = AccountStatus::Disabled;
    disabled.accounts[0].status_line = "disabled by user".to_owned();
    let mut harness = window_with(disabled, Page::Accounts);
    open_actions(&mut harness, "alice@example.com");
    assert!(
        harness
            .query_by_label("Disable alice@example.com")
            .is_none()
    );
    harness.get_by_label("Enable alice@example.com").click();
    harness.run();
    assert_eq!(harness.state().commands, [Command::EnableAccount(1)]);
}

#[test]
fn no_accounts_says_how_to_add_one() {
    let mut empty = snapshot();
    empty.accounts.clear();
    let harness = window_with(empty, Page::Accounts);
    harness.get_by_label_contains("No accounts yet");
    assert!(harness.query_by_label("Refresh all quotas").is_none());
}

#[test]
fn browser_sign_in_shows_the_address_and_takes_the_code() {
    let mut harness = window(Page::Accounts);
    open_add_account(&mut harness);
    harness.get_by_label("Sign in with Google").click();
    harness.run();
    assert_eq!(
        harness.state().commands,
        [Command::StartLogin {
            client: "gemini-cli".to_owned(),
            project: None
        }]
    );

    let url = "https://accounts.google.com/o/oauth2/v2/auth?client_id=x";
    harness.state_mut().snapshot.login = Some(LoginView {
        url: url.to_owned(),
        accepts_paste: true,
        port: 8123,
    });
    harness.state_mut().commands.clear();
    harness.run();
    assert!(harness.query_by_label("Sign in with Google").is_none());
    harness.get_by_label(url);
    harness.get_by_label("Copy sign-in address");
    harness.get_by_label("Open in browser").click();
    harness.run();

    let code_field = harness.get_by_role_and_label(Role::TextInput, "Code or address");
    code_field.click();
    harness.run();
    harness
        .get_by_role_and_label(Role::TextInput, "Code or address")
        .type_text("4/0Acode");
    harness.run();
    harness.get_by_label("Submit").click();
    harness.run();
    harness.get_by_label("Cancel").click();
    harness.run();
    assert_eq!(
        harness.state().commands,
        [
            Command::OpenUrl(url.to_owned()),
            Command::SubmitLoginCode("4/0Acode".to_owned()),
            Command::CancelLogin
        ]
    );
}

#[test]
fn refresh_token_field_adds_the_token() {
    let mut harness = window(Page::Accounts);
    open_add_account(&mut harness);
    harness
        .get_by_role_and_label(Role::PasswordInput, "Refresh token")
        .click();
    harness.run();
    harness
        .get_by_role_and_label(Role::PasswordInput, "Refresh token")
        .type_text("1//refresh");
    harness.run();
    harness.get_by_label("Add").click();
    harness.run();
    assert_eq!(
        harness.state().commands,
        [Command::AddRefreshToken {
            token: "1//refresh".to_owned(),
            client: "gemini-cli".to_owned(),
            project: None
        }]
    );
    // Kept until the backend says it was added.
    assert_eq!(harness.state().ui.drafts.refresh_token, "1//refresh");
}

#[test]
fn regenerate_asks_first_then_emits_regenerate_api_key() {
    let mut harness = window(Page::ApiProxy);
    harness.get_by_label("Regenerate…").click();
    harness.run();
    assert!(harness.state().commands.is_empty());
    harness.get_by_label_contains("Regenerate the API key?");
    harness.get_by_label("Regenerate").click();
    harness.run();
    assert_eq!(harness.state().commands, [Command::RegenerateApiKey]);
}

#[test]
fn regenerate_cancelled_emits_nothing() {
    let mut harness = window(Page::ApiProxy);
    harness.get_by_label("Regenerate…").click();
    harness.run();
    harness.get_by_label("Cancel").click();
    harness.run();
    assert!(harness.state().commands.is_empty());
    assert!(
        harness
            .query_by_label_contains("Regenerate the API key?")
            .is_none()
    );
}

#[test]
fn changing_scheduling_sets_gateway_scheduling() {
    let mut harness = window(Page::ApiProxy);
    harness
        .get_by_role_and_label(Role::ComboBox, "Scheduling")
        .click();
    harness.run();
    harness.get_by_label("round_robin").click();
    harness.run();
    assert_eq!(
        harness.state().commands,
        [set_config("gateway.scheduling", "round_robin")]
    );
}

#[test]
fn changing_auth_mode_sets_gateway_auth_mode() {
    let mut harness = window(Page::ApiProxy);
    harness
        .get_by_role_and_label(Role::ComboBox, "Auth mode")
        .click();
    harness.run();
    harness.get_by_label("strict").click();
    harness.run();
    assert_eq!(
        harness.state().commands,
        [set_config("gateway.auth_mode", "strict")]
    );
}

#[test]
fn lan_access_warns_and_explains_it_needs_auth() {
    let mut harness = window(Page::ApiProxy);
    assert!(
        harness
            .query_by_label_contains("Other devices on your network")
            .is_none()
    );
    harness.get_by_label("Allow LAN access").click();
    harness.run();
    assert_eq!(
        harness.state().commands,
        [set_config("gateway.allow_lan_access", "true")]
    );

    let mut lan_without_auth = snapshot();
    lan_without_auth.config.gateway.allow_lan_access = true;
    lan_without_auth.config.gateway.auth_mode = switchyard::config::AuthMode::Off;
    lan_without_auth.gateway.lan_url = Some("http://192.168.1.20:18045".to_owned());
    let harness = window_with(lan_without_auth, Page::ApiProxy);
    harness.get_by_label_contains(
        "Other devices on your network can reach the gateway at http://192.168.1.20:18045",
    );
    harness.get_by_label_contains("LAN access needs an API key");
}

#[test]
fn claude_code_snippet_has_the_base_url_and_hides_the_key_until_shown() {
    let mut harness = window(Page::ApiProxy);
    let snippet = harness.get_by_label_contains("ANTHROPIC_BASE_URL=");
    // A label's text is its accesskit value.
    let text = snippet.value().unwrap();
    assert!(
        text.starts_with(&format!("ANTHROPIC_BASE_URL={BASE_URL} ANTHROPIC_API_KEY=")),
        "{text}"
    );
    assert!(text.contains("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 claude"));
    assert!(harness.query_by_label_contains(API_KEY).is_none());
    harness.get_by_label("Copy Claude Code set-up");
    harness.get_by_label_contains(&format!("base_url = \"{BASE_URL}/v1\""));

    harness.get_by_label("Show").click();
    harness.run();
    harness.get_by_label_contains(&format!("ANTHROPIC_API_KEY={API_KEY}"));
    harness.get_by_label("Hide");
}

#[test]
fn model_mapping_rows_can_be_removed_and_added() {
    let mut harness = window(Page::ApiProxy);
    harness.get_by_label("gpt-4*");
    harness.get_by_label("Remove mapping gpt-4*").click();
    harness.run();

    harness
        .get_by_role_and_label(Role::TextInput, "Client model")
        .click();
    harness.run();
    harness
        .get_by_role_and_label(Role::TextInput, "Client model")
        .type_text("o3*");
    harness
        .get_by_role_and_label(Role::TextInput, "Upstream model")
        .click();
    harness.run();
    harness
        .get_by_role_and_label(Role::TextInput, "Upstream model")
        .type_text("gemini-2.5-flash");
    harness.run();
    harness.get_by_label("Add mapping").click();
    harness.run();
    assert_eq!(
        harness.state().commands,
        [
            set_config("models.\"gpt-4*\"", ""),
            set_config("models.\"o3*\"", "gemini-2.5-flash"),
        ]
    );
}

#[test]
fn stop_gateway_when_running() {
    let mut harness = window(Page::ApiProxy);
    assert!(harness.query_by_label("Start gateway").is_none());
    harness.get_by_label("Stop gateway").click();
    harness.run();
    assert_eq!(harness.state().commands, [Command::StopGateway]);
}

#[test]
fn launch_at_login_checkbox_emits_set_launch_at_login() {
    let mut harness = window(Page::Settings);
    harness.get_by_label("Launch at login").click();
    harness.run();
    assert_eq!(harness.state().commands, [Command::SetLaunchAtLogin(true)]);
}

#[test]
fn settings_checkboxes_set_their_keys() {
    let mut harness = window(Page::Settings);
    harness.get_by_label("Start hidden").click();
    harness.run();
    harness.get_by_label("Close to tray").click();
    harness.run();
    harness.get_by_label("Show notifications").click();
    harness.run();
    harness.get_by_label("Open data folder").click();
    harness.run();
    assert_eq!(
        harness.state().commands,
        [
            set_config("desktop.start_hidden", "true"),
            set_config("desktop.close_to_tray", "false"),
            set_config("notifications.enabled", "false"),
            Command::OpenDataFolder,
        ]
    );
    harness.get_by_label(&format!("Switchyard {}", switchyard::VERSION));
}

#[test]
fn settings_theme_change_sets_desktop_theme() {
    let mut harness = window(Page::Settings);
    harness
        .get_by_role_and_label(Role::ComboBox, "Theme")
        .click();
    harness.run();
    harness.get_by_label("dark").click();
    harness.run();
    assert_eq!(
        harness.state().commands,
        [set_config("desktop.theme", "dark")]
    );
}

#[test]
fn monitor_filter_narrows_the_rows() {
    let mut harness = window(Page::Monitor);
    harness.get_by_label("gpt-4o → gemini-2.5-pro");
    harness.get_by_label("claude-sonnet-4-5 → gemini-2.5-pro");
    harness.get_by_label("3 of 3 recent requests");

    harness
        .get_by_role_and_label(Role::TextInput, "Filter")
        .click();
    harness.run();
    harness
        .get_by_role_and_label(Role::TextInput, "Filter")
        .type_text("claude");
    harness.run();
    assert!(harness.query_by_label("gpt-4o → gemini-2.5-pro").is_none());
    harness.get_by_label("claude-sonnet-4-5 → gemini-2.5-pro");
    harness.get_by_label("1 of 3 recent requests");
}

#[test]
fn monitor_status_class_narrows_the_rows() {
    let mut harness = window(Page::Monitor);
    harness
        .get_by_role_and_label(Role::ComboBox, "Status")
        .click();
    harness.run();
    harness.get_by_label("5xx").click();
    harness.run();
    assert_eq!(harness.state().ui.monitor_status, StatusClass::ServerError);
    harness.get_by_label("gemini-2.5-flash");
    assert!(harness.query_by_label("gpt-4o → gemini-2.5-pro").is_none());
    assert!(
        harness
            .query_by_label("claude-sonnet-4-5 → gemini-2.5-pro")
            .is_none()
    );
}

#[test]
fn monitor_pause_freezes_the_list() {
    let mut harness = window(Page::Monitor);
    harness.get_by_label("Pause").click();
    harness.run();
    harness
        .state_mut()
        .snapshot
        .recent
        .insert(0, request(0, "openai", "o3-mini", "gemini-2.5-flash", 200));
    harness.run();
    assert!(
        harness
            .query_by_label("o3-mini → gemini-2.5-flash")
            .is_none()
    );
    harness.get_by_label("3 of 3 recent requests (paused)");

    harness.get_by_label("Pause").click();
    harness.run();
    harness.get_by_label("o3-mini → gemini-2.5-flash");
    harness.get_by_label("4 of 4 recent requests");
}

fn notice(seq: u64, error: bool, text: &str, field: Option<Field>) -> Option<Notice> {
    Some(Notice {
        seq,
        error,
        text: text.to_owned(),
        field,
    })
}

/// Steps the harness `seconds` of egui time (a step is 0.25 s).
fn wait(harness: &mut Harness<'static, Window>, seconds: f32) {
    harness.run_steps((seconds / 0.25).ceil() as usize);
}

#[test]
fn a_notice_is_a_toast_that_fades_and_is_not_shown_twice() {
    let mut noticed = snapshot();
    noticed.notice = notice(
        7,
        true,
        "gateway.port: port 18045 is in use",
        Some(Field::Config("gateway.port".to_owned())),
    );
    let mut harness = window_with(noticed, Page::Settings);
    harness.run();
    harness.get_by_label("gateway.port: port 18045 is in use");
    // Other pages show it too while it lasts: it is not tied to a page.
    harness.get_by_label("Dashboard").click();
    harness.run();
    harness.get_by_label("gateway.port: port 18045 is in use");
    wait(&mut harness, 9.0);
    assert!(
        harness
            .query_by_label("gateway.port: port 18045 is in use")
            .is_none(),
        "an error toast outlived its 8 s"
    );
    // The same snapshot again (the backend republishes every second): not
    // shown again.
    harness.run();
    assert!(
        harness
            .query_by_label("gateway.port: port 18045 is in use")
            .is_none()
    );
    // A new notice with the same text is shown.
    harness.state_mut().snapshot.notice =
        notice(8, false, "gateway.port: port 18045 is in use", None);
    harness.run();
    harness.get_by_label("gateway.port: port 18045 is in use");
    wait(&mut harness, 2.0);
    harness.get_by_label("gateway.port: port 18045 is in use");
    wait(&mut harness, 1.5);
    assert!(
        harness
            .query_by_label("gateway.port: port 18045 is in use")
            .is_none(),
        "an info toast outlived its 3 s"
    );
}

#[test]
fn copy_puts_the_text_on_the_clipboard_and_says_so() {
    let mut harness = window(Page::ApiProxy);
    harness.get_by_label("Copy base URL").click();
    harness.step();
    let copied: Vec<_> = harness
        .output()
        .platform_output
        .commands
        .iter()
        .filter_map(|c| match c {
            egui::OutputCommand::CopyText(text) => Some(text.clone()),
            _ => None,
        })
        .collect();
    assert!(copied.iter().any(|t| t.starts_with(BASE_URL)), "{copied:?}");
    harness.run();
    harness.get_by_label("Copied base URL");
    wait(&mut harness, 3.5);
    assert!(harness.query_by_label("Copied base URL").is_none());
}

#[test]
fn a_refused_token_stays_in_its_field_with_the_error_beside_it() {
    let mut harness = window(Page::Accounts);
    open_add_account(&mut harness);
    type_secret(&mut harness, "Refresh token", "1//typo");
    // Enter submits, like the Add button.
    harness.key_press(egui::Key::Enter);
    harness.run();
    assert_eq!(
        harness.state().commands,
        [Command::AddRefreshToken {
            token: "1//typo".to_owned(),
            client: "gemini-cli".to_owned(),
            project: None
        }]
    );
    let refused = "Google refused the refresh token: invalid_grant (Bad Request)";
    harness.state_mut().snapshot.notice = notice(3, true, refused, Some(Field::RefreshToken));
    harness.run();
    harness.get_by_label(refused);
    assert_eq!(harness.state().ui.drafts.refresh_token, "1//typo");
    // It stays next to the field (no fading) until the field is edited.
    wait(&mut harness, 10.0);
    harness.get_by_label(refused);
    type_secret(&mut harness, "Refresh token", "x");
    assert!(harness.query_by_label(refused).is_none());
    assert_eq!(harness.state().ui.drafts.refresh_token, "1//typox");
    // Success clears the field and says so in a toast.
    harness.state_mut().snapshot.notice =
        notice(4, false, "added ada@example.com", Some(Field::RefreshToken));
    harness.run();
    assert!(harness.state().ui.drafts.refresh_token.is_empty());
    harness.get_by_label("added ada@example.com");
}

#[test]
fn a_refused_api_key_keeps_the_form() {
    let mut harness = window(Page::Accounts);
    type_into(&mut harness, "Name", "openrouter");
    type_secret(&mut harness, "API key", "sk-or-wrong");
    harness.key_press(egui::Key::Enter);
    harness.run();
    assert_eq!(harness.state().commands.len(), 1, "Enter submits the form");
    let refused = "openrouter refused the key: 401 invalid api key";
    harness.state_mut().snapshot.notice = notice(1, true, refused, Some(Field::Upstream));
    harness.run();
    harness.get_by_label(refused);
    let draft = &harness.state().ui.drafts.upstream;
    assert_eq!(
        (draft.name.as_str(), draft.key.as_str()),
        ("openrouter", "sk-or-wrong")
    );
    harness.state_mut().snapshot.notice =
        notice(2, false, "added openrouter", Some(Field::Upstream));
    harness.run();
    assert!(harness.state().ui.drafts.upstream.name.is_empty());
    assert!(harness.state().ui.drafts.upstream.key.is_empty());
    assert!(harness.query_by_label(refused).is_none());
}

#[test]
fn window_state_keeps_the_page_but_not_the_drafts() {
    let mut state = WindowUi {
        page: Page::Monitor,
        ..WindowUi::default()
    };
    state.drafts.refresh_token = "1//secret".to_owned();
    state.drafts.api_key_visible = true;
    let saved = serde_json::to_string(&state).unwrap();
    assert!(!saved.contains("secret"), "{saved}");
    let restored: WindowUi = serde_json::from_str(&saved).unwrap();
    assert_eq!(restored.page, Page::Monitor);
    assert!(!restored.drafts.api_key_visible);
    let defaults: WindowUi = serde_json::from_str("{}").unwrap();
    assert_eq!(defaults.page, Page::Dashboard);
}

/// Opens the combo box named `combo` and picks `option` in it (by role, as
/// the same text may also be a cell of the table behind it).
fn pick(harness: &mut Harness<'static, Window>, combo: &str, option: &str) {
    harness.get_by_role_and_label(Role::ComboBox, combo).click();
    harness.run();
    harness.get_by_role_and_label(Role::Button, option).click();
    harness.run();
}

fn type_into(harness: &mut Harness<'static, Window>, field: &str, text: &str) {
    harness
        .get_by_role_and_label(Role::TextInput, field)
        .click();
    harness.run();
    harness
        .get_by_role_and_label(Role::TextInput, field)
        .type_text(text);
    harness.run();
}

const GPT_ROW: &str = "gpt-4o → gemini-2.5-pro";
const CLAUDE_ROW: &str = "claude-sonnet-4-5 → gemini-2.5-pro";
const GEMINI_ROW: &str = "gemini-2.5-flash";

/// Which of the three rows are on the page.
fn rows_shown(harness: &Harness<'static, Window>) -> Vec<&'static str> {
    [GPT_ROW, CLAUDE_ROW, GEMINI_ROW]
        .into_iter()
        .filter(|row| harness.query_by_label(row).is_some())
        .collect()
}

#[test]
fn monitor_protocol_filter_narrows_the_rows() {
    let mut harness = window(Page::Monitor);
    assert_eq!(rows_shown(&harness), [GPT_ROW, CLAUDE_ROW, GEMINI_ROW]);
    pick(&mut harness, "Protocol", "anthropic");
    assert_eq!(
        harness.state().ui.monitor_protocol.as_deref(),
        Some("anthropic")
    );
    assert_eq!(rows_shown(&harness), [CLAUDE_ROW]);
    harness.get_by_label("1 of 3 recent requests");

    pick(&mut harness, "Protocol", "gemini");
    assert_eq!(rows_shown(&harness), [GEMINI_ROW]);
    pick(&mut harness, "Protocol", "All");
    assert_eq!(rows_shown(&harness), [GPT_ROW, CLAUDE_ROW, GEMINI_ROW]);
    assert!(harness.state().commands.is_empty());
}

#[test]
fn monitor_model_and_account_filters_narrow_the_rows() {
    let mut harness = window(Page::Monitor);
    pick(&mut harness, "Model", "gpt-4o");
    assert_eq!(rows_shown(&harness), [GPT_ROW]);
    // An upstream model picks every request mapped to it.
    pick(&mut harness, "Model", "gemini-2.5-pro");
    assert_eq!(rows_shown(&harness), [GPT_ROW, CLAUDE_ROW]);
    harness.get_by_label("2 of 3 recent requests");

    pick(&mut harness, "Account", "bob@example.com");
    assert_eq!(rows_shown(&harness), [CLAUDE_ROW]);
    pick(&mut harness, "Model", "All");
    assert_eq!(rows_shown(&harness), [CLAUDE_ROW]);
    pick(&mut harness, "Account", "alice@example.com");
    assert_eq!(rows_shown(&harness), [GPT_ROW, GEMINI_ROW]);
    assert_eq!(
        harness.state().ui.monitor_account.as_deref(),
        Some("alice@example.com")
    );
}

#[test]
fn monitor_text_filter_matches_errors_and_request_ids() {
    let mut harness = window(Page::Monitor);
    type_into(&mut harness, "Filter", "BACKEND unavailable");
    assert_eq!(rows_shown(&harness), [GEMINI_ROW]);
    harness.get_by_label("1 of 3 recent requests");

    harness.state_mut().ui.monitor_text = "req-5".to_owned();
    harness.run();
    assert_eq!(rows_shown(&harness), [CLAUDE_ROW]);

    harness.state_mut().ui.monitor_text = "no such thing".to_owned();
    harness.run();
    assert!(rows_shown(&harness).is_empty());
    harness.get_by_label("No request matches the filters.");
}

#[test]
fn monitor_clicking_a_row_shows_its_details() {
    let mut harness = window(Page::Monitor);
    assert!(harness.query_by_label(QUOTA_ERROR).is_none());
    assert!(harness.query_by_label("req-5").is_none());

    // Anywhere on the row: here its model cell.
    harness.get_by_label(CLAUDE_ROW).click();
    harness.run();
    assert_eq!(
        harness.state().ui.drafts.monitor_selected,
        Some(("req-5".to_owned(), (NOW - 5) * 1000))
    );
    harness.get_by_label("Request details");
    harness.get_by_label(QUOTA_ERROR);
    harness.get_by_label("req-5");
    harness.get_by_label("Copy request ID");
    harness.get_by_label("Reasoning tokens");
    harness.get_by_label("this computer");
    assert!(harness.query_by_label(SERVER_ERROR).is_none());

    // Another row: its details replace the first's.
    harness
        .get_by_role_and_label(Role::Button, "Request req-9")
        .click();
    harness.run();
    assert!(harness.query_by_label(QUOTA_ERROR).is_none());
    harness.get_by_label(SERVER_ERROR);
    harness.get_by_label("req-9");
    harness.get_by_label("192.168.1.7");
    harness.get_by_label("210 ms");
    harness.get_by_label("300");
    harness.get_by_label("17");
    harness.get_by_label("yes");

    harness.get_by_label("Close").click();
    harness.run();
    assert!(harness.query_by_label(SERVER_ERROR).is_none());
    assert!(harness.state().ui.drafts.monitor_selected.is_none());
    assert!(harness.state().commands.is_empty());
}

#[test]
fn monitor_clear_emits_clear_recent() {
    let mut harness = window(Page::Monitor);
    harness.get_by_label("Clear").click();
    harness.run();
    assert_eq!(harness.state().commands, [Command::ClearRecent]);
}

#[test]
fn monitor_clear_while_paused_empties_the_frozen_list() {
    let mut harness = window(Page::Monitor);
    harness.get_by_label("Pause").click();
    harness.run();
    harness.get_by_label("Clear").click();
    harness.run();
    assert_eq!(harness.state().commands, [Command::ClearRecent]);
    harness.get_by_label("0 of 0 recent requests (paused)");
    assert!(rows_shown(&harness).is_empty());
}

fn exported(command: &Command) -> (PathBuf, ExportFormat, Vec<String>) {
    let Command::ExportRequests { path, format, rows } = command else {
        panic!("not an export: {command:?}");
    };
    let ids = rows.iter().map(|r| r.request_id.clone()).collect();
    (path.clone(), *format, ids)
}

#[test]
fn monitor_export_writes_only_the_rows_shown() {
    let mut harness = window(Page::Monitor);
    // Nothing to write to yet.
    harness.get_by_label("Export CSV").click();
    harness.run();
    assert!(harness.state().commands.is_empty());

    pick(&mut harness, "Model", "gemini-2.5-pro");
    type_into(&mut harness, "Export to", "/tmp/my requests.csv");
    harness.get_by_label("Export CSV").click();
    harness.run();
    pick(&mut harness, "Status", "4xx");
    harness.get_by_label("Export JSON Lines").click();
    harness.run();

    let commands = &harness.state().commands;
    assert_eq!(commands.len(), 2, "{commands:?}");
    assert_eq!(
        exported(&commands[0]),
        (
            PathBuf::from("/tmp/my requests.csv"),
            ExportFormat::Csv,
            vec!["req-1".to_owned(), "req-5".to_owned()]
        )
    );
    assert_eq!(
        exported(&commands[1]),
        (
            PathBuf::from("/tmp/my requests.csv"),
            ExportFormat::JsonLines,
            vec!["req-5".to_owned()]
        )
    );
    // The rows go out whole, not just their ids.
    let Command::ExportRequests { rows, .. } = &commands[1] else {
        unreachable!()
    };
    assert_eq!(rows[0], recent()[1]);
}

/// The value of the node that `name` labels (a number is named by its title,
/// a group's token count by the group).
fn labelled_value(harness: &Harness<'static, Window>, name: &str) -> Option<String> {
    harness
        .query_by(|node| {
            node.labelled_by()
                .any(|label| label.value().as_deref() == Some(name))
        })
        .and_then(|node| node.value())
}

/// The number shown under a Token Stats title.
fn stat(harness: &Harness<'static, Window>, title: &str) -> String {
    labelled_value(harness, title).unwrap_or_else(|| panic!("no number named {title:?}"))
}

/// A group's token count in the Token Stats table.
fn group_tokens(harness: &Harness<'static, Window>, group: &str) -> Option<String> {
    labelled_value(harness, group)
}

#[test]
fn token_stats_totals_follow_the_range() {
    let mut harness = window(Page::TokenStats);
    assert_eq!(harness.state().ui.stats_range, StatsRange::Day);
    assert_eq!(stat(&harness, "Requests"), "15");
    assert_eq!(stat(&harness, "Total tokens"), "4,600");
    assert_eq!(stat(&harness, "Input tokens"), "4,000");
    assert_eq!(stat(&harness, "Output tokens"), "600");
    assert_eq!(stat(&harness, "Cached tokens"), "400");
    assert_eq!(stat(&harness, "Reasoning tokens"), "150");
    assert_eq!(stat(&harness, "Error rate"), "6.7%");
    assert_eq!(stat(&harness, "Mean latency"), "2,000 ms");
    harness.get_by_label("Tokens per hour");

    harness.get_by_label("7 days").click();
    harness.run();
    assert_eq!(harness.state().ui.stats_range, StatsRange::Week);
    assert_eq!(stat(&harness, "Requests"), "115");
    assert_eq!(stat(&harness, "Total tokens"), "59,600");
    assert_eq!(stat(&harness, "Error rate"), "0.9%");
    assert_eq!(stat(&harness, "Mean latency"), "1,130 ms");
    harness.get_by_label("Tokens per day");

    harness.get_by_label("30 days").click();
    harness.run();
    assert_eq!(stat(&harness, "Requests"), "122");
    assert_eq!(stat(&harness, "Total tokens"), "60,370");
    assert!(harness.state().commands.is_empty());
}

#[test]
fn token_stats_table_sums_each_model_and_account() {
    let mut harness = window(Page::TokenStats);
    assert_eq!(
        group_tokens(&harness, "claude-sonnet-4-5").as_deref(),
        Some("3,400")
    );
    assert_eq!(group_tokens(&harness, "gpt-4o").as_deref(), Some("1,200"));
    assert_eq!(group_tokens(&harness, "gemini-2.5-flash"), None);

    harness.get_by_label("7 days").click();
    harness.run();
    assert_eq!(group_tokens(&harness, "gpt-4o").as_deref(), Some("56,200"));
    assert_eq!(group_tokens(&harness, "gemini-2.5-flash"), None);

    harness.get_by_label("By account").click();
    harness.run();
    assert_eq!(harness.state().ui.stats_grouping, StatsGrouping::Account);
    assert_eq!(group_tokens(&harness, "gpt-4o"), None);
    assert_eq!(
        group_tokens(&harness, "alice@example.com").as_deref(),
        Some("56,200")
    );
    assert_eq!(
        group_tokens(&harness, "bob@example.com").as_deref(),
        Some("3,400")
    );
}

#[test]
fn token_stats_says_when_the_range_is_empty() {
    let mut quiet = snapshot();
    // Only the request of ten days ago (and one older than every range).
    quiet.usage = Arc::new(
        usage()
            .into_iter()
            .filter(|bucket| bucket.hour < NOW - 7 * 24 * HOUR)
            .collect(),
    );
    let mut harness = window_with(quiet, Page::TokenStats);
    harness.get_by_label("No requests in the last 24 hours yet.");
    assert!(harness.query_by_label("Tokens per hour").is_none());
    harness.get_by_label("7 days").click();
    harness.run();
    harness.get_by_label("No requests in the last 7 days yet.");
    harness.get_by_label("30 days").click();
    harness.run();
    assert!(
        harness
            .query_by_label_contains("No requests in the last")
            .is_none()
    );
    assert_eq!(stat(&harness, "Requests"), "7");
    assert_eq!(stat(&harness, "Error rate"), "100%");

    let mut empty = snapshot();
    empty.usage = Arc::default();
    let harness = window_with(empty, Page::TokenStats);
    harness.get_by_label("No requests in the last 24 hours yet.");
}

#[test]
fn window_state_keeps_filters_and_range_but_not_selection_or_export_path() {
    let mut state = WindowUi {
        page: Page::TokenStats,
        monitor_status: StatusClass::ClientError,
        monitor_protocol: Some("anthropic".to_owned()),
        monitor_model: Some("gpt-4o".to_owned()),
        monitor_account: Some("bob@example.com".to_owned()),
        monitor_text: "quota".to_owned(),
        stats_range: StatsRange::Month,
        stats_grouping: StatsGrouping::Account,
        ..WindowUi::default()
    };
    state.drafts.monitor_export_path = "/tmp/secret-place.csv".to_owned();
    state.drafts.monitor_selected = Some(("req-5".to_owned(), 1));
    let saved = serde_json::to_string(&state).unwrap();
    assert!(!saved.contains("secret-place"), "{saved}");
    let restored: WindowUi = serde_json::from_str(&saved).unwrap();
    assert_eq!(restored.page, Page::TokenStats);
    assert_eq!(restored.monitor_status, StatusClass::ClientError);
    assert_eq!(restored.monitor_protocol.as_deref(), Some("anthropic"));
    assert_eq!(restored.monitor_model.as_deref(), Some("gpt-4o"));
    assert_eq!(restored.monitor_account.as_deref(), Some("bob@example.com"));
    assert_eq!(restored.monitor_text, "quota");
    assert_eq!(restored.stats_range, StatsRange::Month);
    assert_eq!(restored.stats_grouping, StatsGrouping::Account);
    assert!(restored.drafts.monitor_selected.is_none());

    // A state file from before these fields still loads.
    let old: WindowUi =
        serde_json::from_str(r#"{"page":"Monitor","monitor_status":"ServerError"}"#).unwrap();
    assert_eq!(old.monitor_status, StatusClass::ServerError);
    assert_eq!(old.stats_range, StatsRange::Day);
    assert!(old.monitor_model.is_none());
}

/// The whole path: rows in the database → the backend's snapshot → the page.
#[test]
fn token_stats_shows_the_totals_of_a_seeded_database() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let home = tempfile::tempdir().unwrap();
    let paths = switchyard::config::Paths::in_folder(home.path().to_path_buf());
    let store = switchyard::store::Store::open(&paths.db_file).unwrap();
    let now_ms = chrono::Utc::now().timestamp_millis();
    let entries: Vec<switchyard::store::LogEntry> = (0..40)
        .map(|i| switchyard::store::LogEntry {
            record: switchyard::gateway::recent::RequestRecord {
                at_ms: now_ms - i * 60_000,
                request_id: format!("req_{i}"),
                protocol: "openai".into(),
                model: "gpt-4o".into(),
                upstream_model: if i % 2 == 0 {
                    "gemini-2.5-pro".into()
                } else {
                    "gemini-2.5-flash".into()
                },
                account: "a@example.com".into(),
                status: if i % 10 == 0 { 500 } else { 200 },
                latency_ms: 250,
                input_tokens: 100,
                output_tokens: 30,
                ..Default::default()
            }
            .into(),
            ..Default::default()
        })
        .collect();
    store.write_log(&entries).unwrap();
    let (snapshots, _) = tokio::sync::watch::channel(Snapshot::default());
    let backend = switchyard::desktop::backend::Backend::new(
        paths,
        store,
        switchyard::upstream::google::GoogleClient::new().unwrap(),
        snapshots,
    );
    let (snapshot, _) = runtime.block_on(backend.snapshot());
    let harness = window_with(snapshot, Page::TokenStats);
    assert_eq!(stat(&harness, "Requests"), "40");
    assert_eq!(stat(&harness, "Input tokens"), "4,000");
    assert_eq!(stat(&harness, "Output tokens"), "1,200");
    assert_eq!(stat(&harness, "Error rate"), "10%");
    assert_eq!(stat(&harness, "Mean latency"), "250 ms");
    assert_eq!(
        group_tokens(&harness, "gemini-2.5-pro").as_deref(),
        Some("2,600")
    );
}

fn type_secret(harness: &mut Harness<'static, Window>, field: &str, text: &str) {
    harness
        .get_by_role_and_label(Role::PasswordInput, field)
        .click();
    harness.run();
    harness
        .get_by_role_and_label(Role::PasswordInput, field)
        .type_text(text);
    harness.run();
}

fn upstream_view(
    id: i64,
    name: &str,
    kind: UpstreamKind,
    status: AccountStatus,
    line: &str,
) -> UpstreamView {
    UpstreamView {
        id,
        name: name.to_owned(),
        kind,
        base_url: kind.default_base_url().unwrap().to_owned(),
        priority: 0,
        status,
        status_line: line.to_owned(),
        models: vec!["gemini-2.5-pro".to_owned(), "gemini-2.5-flash".to_owned()],
        last_used_at: None,
    }
}

#[test]
fn api_keys_are_listed_with_their_state_and_actions() {
    let mut with_keys = snapshot();
    with_keys.upstreams = vec![
        upstream_view(
            7,
            "studio",
            UpstreamKind::GeminiApi,
            AccountStatus::Active,
            "active",
        ),
        upstream_view(
            8,
            "router",
            UpstreamKind::OpenAi,
            AccountStatus::KeyRejected,
            "key rejected (Incorrect API key provided.)",
        ),
    ];
    let mut harness = window_with(with_keys, Page::Accounts);
    assert!(harness.query_by_label("API keys").is_some());
    assert!(harness.query_by_label("studio").is_some());
    assert!(
        harness
            .query_by_label("key rejected (Incorrect API key provided.)")
            .is_some()
    );
    assert_eq!(harness.query_all_by_label("2 models").count(), 2);
    // A rejected key offers Enable (after the user fixed it), not Disable.
    assert!(harness.query_by_label("Disable router").is_none());
    harness.get_by_label("Enable router").click();
    harness.run();
    harness.get_by_label("Test studio").click();
    harness.run();
    harness.get_by_label("Disable studio").click();
    harness.run();
    harness.get_by_label("Remove studio").click();
    harness.run();
    harness.get_by_label("Remove").click();
    harness.run();
    assert_eq!(
        harness.state().commands,
        [
            Command::EnableAccount(8),
            Command::TestUpstream(7),
            Command::DisableAccount(7),
            Command::RemoveAccount(7)
        ]
    );
}

#[test]
fn the_api_key_form_adds_an_upstream_and_forgets_the_key() {
    let mut harness = window(Page::Accounts);
    assert!(harness.query_by_label("No API keys yet.").is_some());
    harness.get_by_label("Kind").click();
    harness.run();
    harness
        .get_by_label(kind_label(UpstreamKind::Anthropic))
        .click();
    harness.run();
    let fill = |harness: &mut Harness<'static, Window>, role: Role, label: &str, text: &str| {
        harness.get_by_role_and_label(role, label).click();
        harness.run();
        harness.get_by_role_and_label(role, label).type_text(text);
        harness.run();
    };
    // Nothing to add without a name and a key.
    assert!(
        harness
            .get_by_label("Check and add")
            .accesskit_node()
            .is_disabled()
    );
    fill(&mut harness, Role::TextInput, "Name", "anthropic-work");
    fill(
        &mut harness,
        Role::PasswordInput,
        "API key",
        "sk-ant-secret",
    );
    fill(
        &mut harness,
        Role::TextInput,
        "Models (globs, optional)",
        "claude-*",
    );
    harness.get_by_label("Check and add").click();
    harness.run();
    let [Command::AddUpstream(draft)] = harness.state().commands.as_slice() else {
        panic!("{:?}", harness.state().commands);
    };
    assert_eq!(draft.name, "anthropic-work");
    assert_eq!(draft.kind, Some(UpstreamKind::Anthropic));
    assert_eq!(draft.key, "sk-ant-secret");
    assert_eq!(draft.models, "claude-*");
    assert!(
        !format!("{draft:?}").contains("sk-ant-secret"),
        "Debug hides the key"
    );
    // The form is kept until the backend says it was added; then only the
    // kind stays.
    assert_eq!(harness.state().ui.drafts.upstream.key, "sk-ant-secret");
    harness.state_mut().snapshot.notice =
        notice(1, false, "added anthropic-work", Some(Field::Upstream));
    harness.run();
    let drafts = &harness.state().ui.drafts;
    assert!(drafts.upstream.key.is_empty() && drafts.upstream.name.is_empty());
    assert_eq!(drafts.upstream.kind, Some(UpstreamKind::Anthropic));
}

#[test]
fn an_account_at_zero_percent_everywhere_is_not_ready() {
    let mut empty = snapshot();
    for quota in &mut empty.accounts[0].quotas {
        quota.remaining = Some(0.0);
    }
    let harness = window_with(empty, Page::Dashboard);
    assert!(harness.query_by_label("0/2 accounts ready").is_some());
    assert!(
        harness
            .query_by_label("alice@example.com: no quota left")
            .is_some()
    );
    // One model with a little left is enough to serve.
    let mut some = snapshot();
    some.accounts[0].quotas[0].remaining = Some(0.0);
    some.accounts[0].quotas[1].remaining = Some(0.04);
    let harness = window_with(some, Page::Dashboard);
    assert!(harness.query_by_label("1/2 accounts ready").is_some());
}

fn window_sized(snapshot: Snapshot, page: Page, size: [f32; 2]) -> Harness<'static, Window> {
    let window = Window {
        snapshot,
        ui: WindowUi {
            page,
            ..WindowUi::default()
        },
        commands: Vec::new(),
    };
    Harness::builder().with_size(size).build_ui_state(
        |ui, window: &mut Window| {
            window_ui(ui, &window.snapshot, &mut window.ui, &mut window.commands);
        },
        window,
    )
}

#[test]
fn small_windows_keep_what_matters_on_screen() {
    for (size, kept, dropped) in [
        (
            [1000.0, 680.0],
            &["Time", "Account", "Latency", "Tokens in / out"][..],
            &["Route"][..],
        ),
        (
            [800.0, 560.0],
            &["Time", "Account", "Latency"][..],
            &["Route", "Tokens in / out"][..],
        ),
    ] {
        let harness = window_sized(snapshot(), Page::Monitor, size);
        for title in kept {
            let right = harness
                .query_all_by_label(title)
                .map(|node| node.rect().right())
                .fold(0.0_f32, f32::max);
            assert!(
                right > 0.0 && right <= size[0],
                "{title} ends at {right} in a {size:?} window"
            );
        }
        for title in dropped {
            assert!(
                harness.query_by_label(title).is_none(),
                "{title} shown in a {size:?} window"
            );
        }
        // Dashboard: the cards wrap instead of running off the side.
        let harness = window_sized(snapshot(), Page::Dashboard, size);
        for card in ["Accounts ready", "Requests today", "Errors today"] {
            let right = harness.get_by_label(card).rect().right();
            assert!(
                right <= size[0],
                "{card} ends at {right} in a {size:?} window"
            );
        }
        // Accounts: every row's actions within the window.
        let mut harness = window_sized(google_2026_snapshot(), Page::Accounts, size);
        harness.run();
        for email in ["alice@example.com", "carol@example.com", "erin@example.com"] {
            let menu = harness.get_by_label(&format!("Actions for {email}")).rect();
            assert!(
                menu.right() <= size[0],
                "the actions of {email} end at {} in a {size:?} window",
                menu.right()
            );
        }
    }
}

#[test]
fn dashboard_cards_give_the_numbers_at_a_glance() {
    let harness = window(Page::Dashboard);
    harness.get_by_label("Accounts ready");
    harness.get_by_label("1 / 2");
    harness.get_by_label("1 need you");
    // Alice's flash (40%) is the lowest Gemini quota of the accounts that
    // serve; bob's does not count while he needs a sign-in.
    harness.get_by_label("Lowest Gemini quota");
    harness.get_by_label("40%");
    harness.get_by_label("alice@example.com · gemini-2.5-flash · resets in 30m");
    harness.get_by_label("Requests today");
    harness.get_by_label("Errors today");
    // The ready account with the most left of what binds it.
    harness.get_by_label("Best account now");
    harness.get_by_label("alice@example.com");
    harness.get_by_label("gemini-2.5-pro 75% left");
    // With windows, a group's card is its binding window.
    let harness = window_with(google_2026_snapshot(), Page::Dashboard);
    harness.get_by_label("Lowest Claude/GPT quota");
    harness.get_by_label("carol@example.com · Claude/GPT 5h · resets in 45m");
    harness.get_by_label("2 / 5");
    harness.get_by_label("3 need you");
}

#[test]
fn settings_switch_each_notification_kind_and_the_log_bodies() {
    let mut harness = window(Page::Settings);
    for label in [
        "An account's quota runs low",
        "An account's quota is used up",
        "An account needs you (sign-in, verification, a rejected key)",
        "No account can serve a model for a while",
        "The gateway could not start",
        "Also keep request and response bodies (secrets redacted)",
    ] {
        harness.get_by_label(label).click();
        harness.run();
    }
    assert_eq!(
        harness.state().commands,
        [
            set_config("notifications.quota_low", "false"),
            set_config("notifications.quota_exhausted", "false"),
            set_config("notifications.account_failed", "false"),
            set_config("notifications.pool_exhausted", "false"),
            set_config("notifications.gateway_failed", "false"),
            set_config("log.store_bodies", "true"),
        ]
    );
    // With notifications off, the kinds are greyed out and do nothing.
    let mut off = snapshot();
    off.config.notifications.enabled = false;
    let mut harness = window_with(off, Page::Settings);
    harness.get_by_label("An account's quota runs low").click();
    harness.run();
    assert!(harness.state().commands.is_empty());
}

#[test]
fn a_refused_setting_says_why_beside_it_until_it_is_saved() {
    let refused = "gateway.port: port 18046 is in use by another program, nginx (pid 40)";
    let mut noticed = snapshot();
    noticed.notice = notice(
        1,
        true,
        refused,
        Some(Field::Config("gateway.port".to_owned())),
    );
    let mut harness = window_with(noticed, Page::ApiProxy);
    harness.run();
    // Beside the Port field and in a toast; the toast fades, the other stays.
    assert_eq!(harness.query_all_by_label(refused).count(), 2);
    wait(&mut harness, 9.0);
    assert_eq!(harness.query_all_by_label(refused).count(), 1);
    // Saved later: it goes.
    harness.state_mut().snapshot.notice = notice(
        2,
        false,
        "gateway.port saved",
        Some(Field::Config("gateway.port".to_owned())),
    );
    harness.run();
    assert!(harness.query_by_label(refused).is_none());
}
