//! The desktop shell without a display: the window's backend really applies
//! the commands the pages emit, the resident rebinds on a port change (and
//! keeps serving when it cannot), and launch-at-login writes the autostart entry.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

mod support;

use std::sync::Arc;

use support::{Binary, MockGoogle};
use switchyard::config::{Config, Paths, Theme};
use switchyard::desktop::backend::Backend;
use switchyard::desktop::model::{Command, Field};
use switchyard::gateway::AppState;
use switchyard::store::{AccountStatus, Store};
use switchyard::upstream::google::GoogleClient;

async fn backend_with_accounts() -> (tempfile::TempDir, Paths, Store, Arc<Backend>, MockGoogle) {
    let mock = MockGoogle::start().await;
    mock.mock.add_account("1//one", "one@example.com", true);
    let home = tempfile::tempdir().unwrap();
    let paths = Paths::in_folder(home.path().to_path_buf());
    mock.config().save(&paths.config_file).unwrap();
    let store = Store::open(&paths.db_file).unwrap();
    let config = Config::load_or_init(&paths.config_file).unwrap();
    switchyard::accounts::add_with_refresh_token(
        &GoogleClient::new().unwrap(),
        &config,
        &store,
        switchyard::secret::Secret::new("1//one"),
        None,
        None,
    )
    .await
    .unwrap();
    let (snapshots, _) = tokio::sync::watch::channel(Default::default());
    let backend = Backend::new(
        paths.clone(),
        store.clone(),
        GoogleClient::new().unwrap(),
        snapshots,
    );
    (home, paths, store, backend, mock.mock)
}

#[tokio::test]
async fn commands_from_the_window_change_the_config_and_the_store() {
    let (_home, paths, store, backend, _mock) = backend_with_accounts().await;
    let ctx = egui::Context::default();
    let before = Config::load_or_init(&paths.config_file).unwrap();

    backend
        .clone()
        .execute(
            Command::SetConfig {
                key: "desktop.theme".into(),
                value: "dark".into(),
            },
            ctx.clone(),
        )
        .await;
    backend
        .clone()
        .execute(Command::RegenerateApiKey, ctx.clone())
        .await;
    let after = Config::load_or_init(&paths.config_file).unwrap();
    assert_eq!(after.desktop.theme, Theme::Dark);
    assert_ne!(after.gateway.api_key, before.gateway.api_key);
    assert!(after.gateway.api_key.starts_with("sk-") && after.gateway.api_key.len() == 35);

    // A bad value is refused with the key named, and the file stays as it was.
    let text = std::fs::read_to_string(&paths.config_file).unwrap();
    backend
        .clone()
        .execute(
            Command::SetConfig {
                key: "gateway.port".into(),
                value: "lots".into(),
            },
            ctx.clone(),
        )
        .await;
    assert_eq!(std::fs::read_to_string(&paths.config_file).unwrap(), text);
    let (snapshot, _) = backend.snapshot().await;
    let notice = snapshot.notice.unwrap();
    assert!(
        notice.error && notice.text.contains("gateway.port"),
        "{notice:?}"
    );
    assert_eq!(
        notice.field,
        Some(Field::Config("gateway.port".into())),
        "the error names the setting it is about"
    );

    let id = store.accounts().unwrap()[0].id;
    backend
        .clone()
        .execute(Command::DisableAccount(id), ctx.clone())
        .await;
    assert_eq!(store.accounts().unwrap()[0].status, AccountStatus::Disabled);
    let (snapshot, _) = backend.snapshot().await;
    assert_eq!(snapshot.accounts[0].status_line, "disabled by user");
    assert_eq!(snapshot.accounts[0].quotas.len(), 2);
    backend
        .clone()
        .execute(Command::EnableAccount(id), ctx.clone())
        .await;
    assert_eq!(store.accounts().unwrap()[0].status, AccountStatus::Active);

    // An exhausted quota shows as empty until its reset, whatever the last read said.
    let until = switchyard::store::now_unix() + 3600;
    store
        .set_limit(&switchyard::store::LimitRecord {
            account_id: id,
            model: Some("gemini-2.5-pro".into()),
            kind: switchyard::store::LimitKind::QuotaExhausted,
            until,
            reason: "quota".into(),
        })
        .unwrap();
    let (snapshot, _) = backend.snapshot().await;
    let pro = snapshot.accounts[0]
        .quotas
        .iter()
        .find(|q| q.model == "gemini-2.5-pro")
        .unwrap();
    assert_eq!((pro.remaining, pro.resets_at), (Some(0.0), Some(until)));
    let flash = snapshot.accounts[0]
        .quotas
        .iter()
        .find(|q| q.model == "gemini-2.5-flash")
        .unwrap();
    assert_eq!(flash.remaining, Some(1.0));

    let export = paths.db_file.with_file_name("export.json");
    backend
        .clone()
        .execute(Command::ExportFile(export.clone()), ctx.clone())
        .await;
    assert!(
        std::fs::read_to_string(&export)
            .unwrap()
            .contains("one@example.com")
    );
    backend
        .clone()
        .execute(Command::RemoveAccount(id), ctx.clone())
        .await;
    assert!(store.accounts().unwrap().is_empty());

    // Without a running app, gateway commands say so instead of failing silently.
    backend.clone().execute(Command::StartGateway, ctx).await;
    let (snapshot, _) = backend.snapshot().await;
    let notice = snapshot.notice.unwrap();
    assert!(notice.text.contains("not running"), "{notice:?}");
    assert_eq!(notice.field, None);
}

#[tokio::test]
async fn snapshots_carry_client_windows_catalog_and_googles_words() {
    let (_home, _paths, store, backend, _mock) = backend_with_accounts().await;
    let id = store.accounts().unwrap()[0].id;
    let windows = vec![switchyard::store::QuotaWindow {
        group: "gemini".into(),
        window: "weekly".into(),
        remaining_fraction: Some(0.6),
        reset_at: Some(2_000_000_000),
    }];
    store.set_windows(id, &windows).unwrap();
    let catalog = switchyard::store::ModelCatalog {
        models: ["gemini-3-flash", "claude-sonnet-4-6"]
            .map(|id| switchyard::store::ModelInfo {
                id: id.into(),
                display_name: None,
                max_input_tokens: None,
                max_output_tokens: None,
                thinking: false,
                image_output: false,
            })
            .to_vec(),
        ..Default::default()
    };
    store.set_catalog(id, &catalog).unwrap();
    store
        .set_status_with_link(
            id,
            AccountStatus::Suspended,
            Some("This service has been disabled"),
            Some("https://appeal.example/form"),
        )
        .unwrap();
    let (snapshot, _) = backend.snapshot().await;
    let account = &snapshot.accounts[0];
    assert_eq!(account.oauth_client, "gemini-cli");
    assert_eq!(account.windows, windows);
    assert_eq!(account.models_offered, Some(2));
    assert_eq!(
        account.reason.as_deref(),
        Some("This service has been disabled")
    );
    assert_eq!(account.link.as_deref(), Some("https://appeal.example/form"));
}

#[tokio::test]
async fn a_sign_in_uses_the_chosen_client() {
    let (_home, paths, _store, backend, _mock) = backend_with_accounts().await;
    let ctx = egui::Context::default();
    let antigravity = || Command::StartLogin {
        client: "antigravity".into(),
        project: None,
    };

    // Without the risk accepted, no sign-in starts.
    backend.clone().execute(antigravity(), ctx.clone()).await;
    let (snapshot, _) = backend.snapshot().await;
    assert!(snapshot.login.is_none());
    let notice = snapshot.notice.unwrap();
    assert!(
        notice.error && notice.text.contains("antigravity_risk_accepted"),
        "{notice:?}"
    );

    backend
        .clone()
        .execute(
            Command::StartLogin {
                client: "gemini-cli".into(),
                project: Some("my-project".into()),
            },
            ctx.clone(),
        )
        .await;
    let login = backend.snapshot().await.0.login.unwrap();
    assert!(login.accepts_paste && login.port > 0, "{login:?}");
    assert!(
        !login
            .url
            .contains(switchyard::config::ANTIGRAVITY_CLIENT_ID)
    );
    backend
        .clone()
        .execute(Command::CancelLogin, ctx.clone())
        .await;
    assert!(backend.snapshot().await.0.login.is_none());

    let mut config = Config::load_or_init(&paths.config_file).unwrap();
    config.google.antigravity_risk_accepted = true;
    config.save(&paths.config_file).unwrap();
    backend.clone().execute(antigravity(), ctx.clone()).await;
    let login = backend.snapshot().await.0.login.unwrap();
    assert!(!login.accepts_paste, "{login:?}");
    assert!(
        login
            .url
            .contains(switchyard::config::ANTIGRAVITY_CLIENT_ID)
    );
    assert!(login.url.contains(&format!("127.0.0.1%3A{}", login.port)));
    backend.clone().execute(Command::CancelLogin, ctx).await;
}

#[tokio::test]
async fn a_port_change_rebinds_and_a_busy_port_keeps_the_old_listener() {
    let home = tempfile::tempdir().unwrap();
    let paths = Paths::in_folder(home.path().to_path_buf());
    let mut config = Config::default();
    config.gateway.port = 0;
    config.save(&paths.config_file).unwrap();
    let config = Config::load_or_init(&paths.config_file).unwrap();
    let store = Store::open(&paths.db_file).unwrap();
    let state = AppState::new(config.clone(), store).await.unwrap();
    let resident = switchyard::desktop::resident::Resident::new(paths.clone(), state);
    resident.start_gateway().await.unwrap();
    let (first, _) = resident.listening().await;
    let first = first.unwrap();

    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    config
        .with_key_set("gateway.port", &free.to_string())
        .unwrap()
        .save(&paths.config_file)
        .unwrap();
    resident.reload_config().await;
    let (moved, problem) = resident.listening().await;
    assert_eq!(moved.unwrap().port(), free);
    assert_eq!(problem, None);
    std::net::TcpListener::bind(first).expect("the old port was freed");
    let health = format!("http://127.0.0.1:{free}/healthz");
    assert_eq!(reqwest::get(&health).await.unwrap().status(), 200);

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = taken.local_addr().unwrap().port();
    config
        .with_key_set("gateway.port", &busy.to_string())
        .unwrap()
        .save(&paths.config_file)
        .unwrap();
    resident.reload_config().await;
    let (still, problem) = resident.listening().await;
    assert_eq!(
        still.unwrap().port(),
        free,
        "the previous listener keeps serving"
    );
    assert!(problem.unwrap().contains("already in use"));
    assert_eq!(reqwest::get(&health).await.unwrap().status(), 200);
    resident.stop_gateway().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn launch_at_login_writes_and_removes_the_autostart_entry() {
    let binary = Binary::new();
    let fake_home = tempfile::tempdir().unwrap();
    let run = |value: &'static str| {
        let mut command = binary.command();
        command
            .args(["config", "set", "desktop.launch_at_login", value])
            .env("HOME", fake_home.path())
            .env("XDG_CONFIG_HOME", fake_home.path().join("config"));
        command.output().unwrap()
    };
    let output = run("true");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let entry = fake_home.path().join("config/autostart/switchyard.desktop");
    let text = std::fs::read_to_string(&entry).unwrap();
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_switchyard"));
    assert!(
        text.contains(&format!("Exec=\"{}\" --hidden", exe.display())),
        "{text}"
    );
    let config = Config::load_or_init(&binary.home.path().join("config.toml")).unwrap();
    assert!(config.desktop.launch_at_login);
    let output = run("false");
    assert!(output.status.success());
    assert!(!entry.exists());
    let config = Config::load_or_init(&binary.home.path().join("config.toml")).unwrap();
    assert!(!config.desktop.launch_at_login);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pasted_address_finishes_a_sign_in_and_cancel_stops_the_waiting_one() {
    let (_home, _paths, store, backend, mock) = backend_with_accounts().await;
    mock.add_account("1//two", "two@example.com", true);
    mock.set_login_account("1//two");
    let ctx = egui::Context::default();
    let start = || Command::StartLogin {
        client: "gemini-cli".into(),
        project: None,
    };
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // The browser signs in elsewhere; the user pastes where it ended up.
    backend.clone().execute(start(), ctx.clone()).await;
    let login = backend.snapshot().await.0.login.unwrap();
    let answer = no_redirects.get(&login.url).send().await.unwrap();
    let ended_on = answer.headers()["location"].to_str().unwrap().to_owned();
    // A wrong paste is said, and the sign-in keeps waiting.
    backend
        .clone()
        .execute(Command::SubmitLoginCode("not a code".into()), ctx.clone())
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let notice = backend.snapshot().await.0.notice.unwrap();
    assert!(notice.error, "{notice:?}");
    assert_eq!(
        notice.field,
        Some(Field::LoginCode),
        "shown next to the field"
    );
    backend
        .clone()
        .execute(Command::SubmitLoginCode(ended_on), ctx.clone())
        .await;
    let mut added = false;
    for _ in 0..100 {
        if store.find_account("two@example.com").is_ok() {
            added = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(added, "the pasted address finished the sign-in");

    // Cancel stops a sign-in that is waiting for the browser: its local
    // callback no longer answers.
    backend.clone().execute(start(), ctx.clone()).await;
    let login = backend.snapshot().await.0.login.unwrap();
    let callback = format!(
        "http://127.0.0.1:{}/oauth2callback?code=x&state=y",
        login.port
    );
    assert!(
        no_redirects.get(&callback).send().await.is_ok(),
        "listening before"
    );
    backend.clone().execute(Command::CancelLogin, ctx).await;
    let mut stopped = false;
    for _ in 0..100 {
        if no_redirects.get(&callback).send().await.is_err() {
            stopped = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(stopped, "the sign-in's server stopped");
    assert!(backend.snapshot().await.0.login.is_none());
}

#[tokio::test]
async fn a_refused_token_is_said_once_next_to_its_field() {
    let (_home, _paths, store, backend, _mock) = backend_with_accounts().await;
    let ctx = egui::Context::default();
    let add = |token: &str| Command::AddRefreshToken {
        token: token.into(),
        client: "gemini-cli".into(),
        project: None,
    };
    backend
        .clone()
        .execute(add("1//nobody-knows-this"), ctx.clone())
        .await;
    let first = backend.snapshot().await.0.notice.unwrap();
    assert!(first.error, "{first:?}");
    assert_eq!(first.field, Some(Field::RefreshToken));
    assert!(!first.text.contains("1//nobody-knows-this"), "{first:?}");
    // Republishing does not make it a new notice (the window shows it once)…
    let again = backend.snapshot().await.0.notice.unwrap();
    assert_eq!(again.seq, first.seq);
    // …but the same refusal a second time is one.
    backend
        .clone()
        .execute(add("1//nobody-knows-this"), ctx.clone())
        .await;
    let second = backend.snapshot().await.0.notice.unwrap();
    assert!(second.seq > first.seq, "{second:?}");
    assert_eq!(store.accounts().unwrap().len(), 1, "nothing was added");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_resident_hosts_a_sign_in_that_outlives_the_window() {
    let (_home, paths, store, backend, mock) = backend_with_accounts().await;
    mock.add_account("1//two", "two@example.com", true);
    mock.set_login_account("1//two");
    // The resident, on its control socket.
    let config = Config::load_or_init(&paths.config_file).unwrap();
    let state = AppState::new(config, store.clone()).await.unwrap();
    let resident = Arc::new(switchyard::desktop::resident::Resident::new(
        paths.clone(),
        state,
    ));
    let socket = switchyard::desktop::control::socket_path(&paths.db_file);
    tokio::spawn(switchyard::desktop::control::serve(
        socket.clone(),
        resident.clone(),
        resident.quit.clone(),
    ));
    for _ in 0..100 {
        if switchyard::desktop::control::send(
            &socket,
            &switchyard::desktop::control::ControlRequest::Status,
        )
        .await
        .is_ok()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let ctx = egui::Context::default();
    backend
        .clone()
        .execute(
            Command::StartLogin {
                client: "gemini-cli".into(),
                project: None,
            },
            ctx,
        )
        .await;
    let login = backend
        .snapshot()
        .await
        .0
        .login
        .expect("the resident's sign-in");
    // It is the resident's, not one the window process hosts itself.
    match switchyard::desktop::control::send(
        &socket,
        &switchyard::desktop::control::ControlRequest::Status,
    )
    .await
    .unwrap()
    {
        switchyard::desktop::control::ControlResponse::Status(status) => {
            assert_eq!(status.login.as_ref(), Some(&login));
        }
        other => panic!("{other:?}"),
    }
    // The window closes mid-sign-in.
    drop(backend);
    // The browser comes back to the resident's listener, which finishes it.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = no_redirects.get(&login.url).send().await.unwrap();
    let ended_on = answer.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        ended_on.contains(&format!("127.0.0.1:{}", login.port)),
        "{ended_on}"
    );
    reqwest::get(&ended_on).await.unwrap();
    let mut added = false;
    for _ in 0..100 {
        if store
            .accounts()
            .unwrap()
            .iter()
            .any(|a| a.email == "two@example.com")
        {
            added = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(added, "the sign-in finished with the window gone");
    // A window opened later says how it ended.
    let (snapshots, _) = tokio::sync::watch::channel(Default::default());
    let later = Backend::new(
        paths.clone(),
        store,
        GoogleClient::new().unwrap(),
        snapshots,
    );
    let notice = later.snapshot().await.0.notice.unwrap();
    assert_eq!(notice.text, "added two@example.com", "{notice:?}");
    resident.quit.cancel();
}
