#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

//! The window's pages driven through egui_kittest: real snapshots in, clicks
//! and typing by accessible label, the commands that come out checked.

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use switchyard::config::Config;
use switchyard::desktop::model::{
    AccountView, Command, GatewayState, GatewayView, LoginView, PathsView, QuotaView, RequestView,
    Snapshot, TodayView,
};
use switchyard::desktop::window::{Confirmation, Page, WindowUi, window_ui};
use switchyard::store::AccountStatus;

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
        at_ms: (NOW - seconds_ago) * 1000,
        protocol: protocol.to_owned(),
        model: model.to_owned(),
        upstream_model: upstream.to_owned(),
        account: "alice@example.com".to_owned(),
        status,
        latency_ms: 1234,
        input_tokens: 1500,
        output_tokens: 42,
    }
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
                link: None,
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
                link: None,
                quotas: Vec::new(),
                last_used_at: None,
            },
        ],
        config,
        recent: vec![
            request(1, "openai", "gpt-4o", "gemini-2.5-pro", 200),
            request(5, "anthropic", "claude-sonnet-4-5", "gemini-2.5-pro", 429),
            request(9, "gemini", "gemini-2.5-flash", "gemini-2.5-flash", 500),
        ],
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
        now: NOW,
    }
}

fn window_with(snapshot: Snapshot, page: Page) -> Harness<'static, Window> {
    let window = Window {
        snapshot,
        ui: WindowUi {
            page,
            ..WindowUi::default()
        },
        commands: Vec::new(),
    };
    Harness::builder()
        .with_size([1400.0, 2400.0])
        .build_ui_state(
            |ui, window: &mut Window| {
                window_ui(ui, &window.snapshot, &mut window.ui, &mut window.commands);
            },
            window,
        )
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
    assert!(harness.query_by_label("Add account").is_none());

    let visits = [
        ("Accounts", Page::Accounts, "Add account"),
        ("API Proxy", Page::ApiProxy, "Set up your clients"),
        ("Monitor", Page::Monitor, "Tokens in / out"),
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
    assert!(harness.query_by_label("Add account").is_none());
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
fn accounts_lists_both_accounts_with_quota_bars() {
    let harness = window(Page::Accounts);
    harness.get_by_label("alice@example.com");
    harness.get_by_label("standard-tier");
    harness.get_by_label("bob@example.com");
    harness.get_by_label("needs re-login (invalid_grant)");
    harness.get_by_label("gemini-2.5-pro 75% · resets in 2h 05m");
    harness.get_by_label("gemini-2.5-flash 40% · resets in 30m");
    harness.get_by_label("5m ago");
    harness.get_by_label("Sign in again as bob@example.com");
    assert!(
        harness
            .query_by_label("Sign in again as alice@example.com")
            .is_none()
    );
}

#[test]
fn remove_asks_first_and_cancel_emits_nothing() {
    let mut harness = window(Page::Accounts);
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
    harness.get_by_label("Disable alice@example.com").click();
    harness.run();
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
    harness.get_by_label("Sign in with Google").click();
    harness.run();
    assert_eq!(harness.state().commands, [Command::StartLogin]);

    let url = "https://accounts.google.com/o/oauth2/v2/auth?client_id=x";
    harness.state_mut().snapshot.login = Some(LoginView {
        url: url.to_owned(),
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
        [Command::AddRefreshToken("1//refresh".to_owned())]
    );
    assert!(harness.state().ui.drafts.refresh_token.is_empty());
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
    assert_eq!(
        harness.state().ui.monitor_status,
        switchyard::desktop::window::StatusClass::ServerError
    );
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

#[test]
fn status_line_shows_the_notice() {
    let mut noticed = snapshot();
    noticed.notice = Some((true, "gateway.port: port 18045 is in use".to_owned()));
    let harness = window_with(noticed, Page::Settings);
    harness.get_by_label("gateway.port: port 18045 is in use");
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
