//! The real desktop app under Xvfb, against the mock upstream: the tray
//! registers and its Quit item quits; a notification arrives when an account
//! runs out of quota, with the app's icon and a button; `--hidden` starts
//! without a window and a second launch brings it forward; a closed window
//! is reaped; a screenshot of each page is taken at 1000×680 and at 800×560
//! with six accounts in mixed states; the window opens where it was left;
//! the window is driven over AT-SPI (AccessKit) to copy through the real X
//! clipboard and to paste a token from it; the resident's memory is printed.
//!
//! It needs a display, a D-Bus session, a notification daemon and a tray
//! host, so it is ignored by plain `cargo test`; `scripts/desktop-smoke.sh`
//! sets all that up and runs it (CI does, through `scripts/test.sh`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use support::{Binary, MockGoogle, Scripted};

const PAGES: [&str; 6] = [
    "dashboard",
    "accounts",
    "api_proxy",
    "monitor",
    "token_stats",
    "settings",
];

fn probe(args: &[&str]) -> Result<String, String> {
    python_probe("sni_probe.py", args)
}

/// The window as a screen reader sees it (AT-SPI): `names PID`,
/// `click PID NAME`, `focus PID NAME`.
fn atspi(args: &[&str]) -> Result<String, String> {
    python_probe("atspi_probe.py", args)
}

fn clipboard() -> Option<String> {
    let output = Command::new("xclip")
        .args(["-selection", "clipboard", "-o"])
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

fn set_clipboard(text: &str) {
    use std::io::Write;
    let mut xclip = Command::new("xclip")
        .args(["-selection", "clipboard", "-i"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    xclip
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    // xclip forks to serve the selection; the parent ends here.
    assert!(xclip.wait().unwrap().success());
}

fn xdotool(args: &[&str]) {
    let status = Command::new("xdotool").args(args).status().unwrap();
    assert!(status.success(), "xdotool {args:?}");
}

fn python_probe(script: &str, args: &[&str]) -> Result<String, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/desktop")
        .join(script);
    let output = Command::new("/usr/bin/python3")
        .arg(script)
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

async fn wait_until<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            started.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn windows_of(pid: u32) -> Vec<String> {
    let output = Command::new("xdotool")
        .args(["search", "--pid", &pid.to_string(), "--name", "Switchyard"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Starts `switchyard window`, on `page` (`accounts`, …) if given.
fn spawn_window(binary: &Binary, page: Option<&str>) -> Child {
    let mut command = binary.command();
    command
        .arg("window")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(page) = page {
        command.env(switchyard::desktop::ENV_WINDOW_PAGE, page);
    }
    command.spawn().unwrap()
}

/// The X window of process `pid`, once it is mapped.
async fn mapped_window(pid: u32, what: &str) -> String {
    wait_until(what, Duration::from_secs(30), || {
        windows_of(pid).into_iter().next()
    })
    .await
}

fn any_switchyard_window() -> bool {
    Command::new("xdotool")
        .args(["search", "--name", "^Switchyard$"])
        .output()
        .map(|o| !o.stdout.is_empty())
        .unwrap_or(false)
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

struct App {
    child: Child,
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn launch(binary: &Binary, args: &[&str], log: &Path) -> App {
    let file = std::fs::File::create(log).unwrap();
    let child = binary
        .command()
        .args(args)
        .env("RUST_LOG", "switchyard=info")
        .stdout(Stdio::from(file.try_clone().unwrap()))
        .stderr(Stdio::from(file))
        .spawn()
        .unwrap();
    App { child }
}

fn screenshot(window: &str, path: &Path) {
    // The pointer out of the way: no hover tooltip in the picture.
    let _ = Command::new("xdotool")
        .args(["mousemove", "1279", "799"])
        .status();
    std::thread::sleep(Duration::from_millis(300));
    let status = Command::new("import")
        .args(["-window", window, path.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success(), "screenshot {}", path.display());
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Xvfb, a D-Bus session, dunst and a tray host: run scripts/desktop-smoke.sh"]
async fn the_desktop_app_end_to_end() {
    assert!(
        std::env::var_os("DISPLAY").is_some(),
        "DISPLAY is not set: run scripts/desktop-smoke.sh"
    );
    let out = PathBuf::from(
        std::env::var("SMOKE_OUT").unwrap_or_else(|_| "target/desktop-smoke".to_owned()),
    );
    std::fs::create_dir_all(&out).unwrap();

    let mock = MockGoogle::start().await;
    mock.mock.add_account("1//one", "ada@example.com", true);
    mock.mock.add_account("1//two", "grace@example.com", true);
    // Pasted into the window through the X clipboard (step 6).
    mock.mock
        .add_account("1//pasted", "katherine@example.com", true);
    // More accounts for the screenshots (step 4), in mixed states.
    for (token, email) in [
        ("1//three", "linus@example.com"),
        ("1//four", "margaret@example.com"),
        ("1//five", "barbara@example.com"),
        ("1//six", "frances@example.com"),
    ] {
        mock.mock.add_account(token, email, true);
    }
    let mut config = mock.config();
    let port = free_port();
    config.gateway.port = port;
    let binary = Binary::with_config(&config);
    for token in ["1//one", "1//two"] {
        let (ok, _, stderr) = binary
            .run(&["accounts", "add", "--refresh-token", token])
            .await;
        assert!(ok, "{stderr}");
    }
    let logs = binary.home.path().to_path_buf();

    // 1. --hidden: the tray and the gateway, no window.
    let app = launch(&binary, &["--hidden"], &logs.join("app.log"));
    let pid = app.child.id();
    let item = wait_until("the tray to register", Duration::from_secs(30), || {
        probe(&["items"])
            .ok()
            .and_then(|items| items.lines().next().map(str::to_owned))
    })
    .await;
    let menu = probe(&["menu", &item]).unwrap();
    for label in [
        "Stop gateway",
        "Copy base URL",
        "Copy API key",
        "Open Switchyard",
        "Launch at login",
        "Quit",
    ] {
        assert!(
            menu.lines().any(|l| l == label),
            "menu lacks {label}: {menu}"
        );
    }
    let client = reqwest::Client::new();
    let health = format!("http://127.0.0.1:{port}/healthz");
    wait_until("the gateway", Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    })
    .await;
    assert_eq!(client.get(&health).send().await.unwrap().status(), 200);
    let status_line = wait_until("the status line", Duration::from_secs(10), || {
        let menu = probe(&["menu", &item]).ok()?;
        menu.lines()
            .find(|l| l.contains("2/2 accounts ready"))
            .map(str::to_owned)
    })
    .await;
    assert!(
        status_line.contains(&format!("127.0.0.1:{port}")),
        "{status_line}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!any_switchyard_window(), "--hidden opened a window");
    if let Some(rss) = rss_kib(pid) {
        println!(
            "MEASURE resident RSS, hidden, gateway idle, two accounts: {:.1} MiB",
            rss as f64 / 1024.0
        );
    }

    // Some traffic in each protocol, for the Monitor and Token Stats pages.
    for (path, body) in [
        (
            "/v1/chat/completions",
            json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hello"}]}),
        ),
        (
            "/v1/messages",
            json!({"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": "hello"}]}),
        ),
        (
            "/v1beta/models/gemini-2.5-flash:generateContent",
            json!({"contents": [{"role": "user", "parts": [{"text": "hello"}]}]}),
        ),
        ("/v1/responses", json!({"model": "gpt-5", "input": "hello"})),
    ] {
        for _ in 0..3 {
            let response = client
                .post(format!("http://127.0.0.1:{port}{path}"))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{path}");
        }
    }

    // 2. A notification when an account runs out of quota.
    let monitor_log = logs.join("notifications.log");
    let mut monitor = Command::new("dbus-monitor")
        .args([
            "--session",
            "interface='org.freedesktop.Notifications',member='Notify'",
        ])
        .stdout(Stdio::from(std::fs::File::create(&monitor_log).unwrap()))
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let reset = chrono::DateTime::from_timestamp(switchyard::store::now_unix() + 3 * 3600, 0)
        .unwrap()
        .to_rfc3339();
    for email in ["ada@example.com", "grace@example.com"] {
        mock.mock.script_for(
            email,
            Scripted::Error(429, json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "Quota exhausted",
                "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "QUOTA_EXHAUSTED",
                             "metadata": {"model": "gemini-2.5-pro", "quotaResetTimeStamp": reset}}]}})),
        );
    }
    let response = client
        .post(format!("http://127.0.0.1:{port}/v1/chat/completions"))
        .json(&json!({"model": "gemini-2.5-pro", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let notified = wait_until("a quota notification", Duration::from_secs(15), || {
        let log = std::fs::read_to_string(&monitor_log).ok()?;
        (log.contains("ada@example.com") && log.to_lowercase().contains("quota")).then_some(log)
    })
    .await;
    assert!(notified.contains("Switchyard"), "{notified}");
    // With the app's icon and a button (dunst shows buttons).
    assert!(notified.contains("switchyard-64.png"), "{notified}");
    assert!(notified.contains("Open Switchyard"), "{notified}");
    let _ = monitor.kill();
    let _ = monitor.wait();

    // Six accounts in mixed states, and some failed requests, for the pages.
    for token in ["1//three", "1//four", "1//five", "1//six"] {
        let (ok, _, stderr) = binary
            .run(&["accounts", "add", "--refresh-token", token])
            .await;
        assert!(ok, "{stderr}");
    }
    {
        let store = switchyard::store::Store::open(&logs.join("switchyard.db")).unwrap();
        let id = |email: &str| {
            store
                .accounts()
                .unwrap()
                .into_iter()
                .find(|a| a.email == email)
                .unwrap()
                .id
        };
        use switchyard::store::AccountStatus;
        store
            .set_status(
                id("margaret@example.com"),
                AccountStatus::NeedsRelogin,
                Some("invalid_grant"),
            )
            .unwrap();
        store
            .set_status_with_link(
                id("barbara@example.com"),
                AccountStatus::Suspended,
                Some("This service has been disabled in this account for violation of Terms of Service."),
                Some("https://support.google.com/accounts/appeal"),
            )
            .unwrap();
        store
            .set_status(id("frances@example.com"), AccountStatus::Disabled, None)
            .unwrap();
    }
    for _ in 0..4 {
        let response = client
            .post(format!("http://127.0.0.1:{port}/v1/chat/completions"))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
    }

    // 3. A second launch brings the window forward (the first one shows it).
    let (ok, stdout, _) = binary.run(&[]).await;
    assert!(ok);
    assert!(stdout.contains("already running"), "{stdout}");
    let window_pid = wait_until("the window to open", Duration::from_secs(30), || {
        let output = Command::new("pgrep")
            .args(["-f", "switchyard window"])
            .output()
            .ok()?;
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .next()
            .and_then(|p| p.trim().parse::<u32>().ok())
    })
    .await;
    let window = mapped_window(window_pid, "the window to map").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    screenshot(&window, &out.join("dashboard.png"));
    xdotool(&["windowsize", &window, "800", "560"]);
    tokio::time::sleep(Duration::from_secs(2)).await;
    screenshot(&window, &out.join("dashboard-800x560.png"));
    // Without a window manager, a window left open would cover the next ones.
    // SIGTERM closes it as its close button does; the resident reaps it.
    let _ = Command::new("kill").arg(window_pid.to_string()).status();
    wait_until("the first window to close", Duration::from_secs(10), || {
        windows_of(window_pid).is_empty().then_some(())
    })
    .await;
    wait_until(
        "the closed window to be reaped",
        Duration::from_secs(5),
        || (!Path::new(&format!("/proc/{window_pid}")).exists()).then_some(()),
    )
    .await;

    // 4. Every page, each from a window opened on it, at 1000×680 and at
    // 800×560.
    for page in &PAGES[1..] {
        let mut child = spawn_window(&binary, Some(page));
        let window = mapped_window(child.id(), "a page window").await;
        xdotool(&["windowsize", &window, "1000", "680"]);
        tokio::time::sleep(Duration::from_secs(3)).await;
        screenshot(&window, &out.join(format!("{page}.png")));
        xdotool(&["windowsize", &window, "800", "560"]);
        tokio::time::sleep(Duration::from_secs(2)).await;
        screenshot(&window, &out.join(format!("{page}-800x560.png")));
        let _ = child.kill();
        let _ = child.wait();
    }

    // 5. The window opens where it was left, at the size it was left.
    let mut child = spawn_window(&binary, None);
    let id = child.id();
    let window = mapped_window(id, "a window").await;
    xdotool(&["windowsize", &window, "900", "620"]);
    xdotool(&["windowmove", &window, "40", "30"]);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let _ = Command::new("kill").arg(id.to_string()).status();
    let closed = wait_until("the window to close", Duration::from_secs(10), || {
        child.try_wait().ok().flatten()
    })
    .await;
    assert!(
        closed.success(),
        "SIGTERM closes the window cleanly: {closed:?}"
    );
    let saved = std::fs::read_to_string(logs.join("window-state.json")).unwrap();
    let saved: serde_json::Value = serde_json::from_str(&saved).unwrap();
    assert_eq!(saved["window_size"], json!([900.0, 620.0]), "{saved}");
    let mut child = spawn_window(&binary, None);
    let window = mapped_window(child.id(), "the window again").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let geometry = Command::new("xdotool")
        .args(["getwindowgeometry", &window])
        .output()
        .unwrap();
    let geometry = String::from_utf8_lossy(&geometry.stdout).into_owned();
    assert!(geometry.contains("Geometry: 900x620"), "{geometry}");
    assert!(geometry.contains("Position: 40,30"), "{geometry}");
    let _ = child.kill();
    let _ = child.wait();

    // 6. Copy and paste through the real X clipboard, the window driven as a
    // screen reader would drive it (AccessKit over AT-SPI).
    let mut child = spawn_window(&binary, Some("api_proxy"));
    let id = child.id().to_string();
    let names = wait_until(
        "the window on the accessibility bus",
        Duration::from_secs(30),
        || {
            atspi(&["names", &id])
                .ok()
                .filter(|names| names.contains("Copy base URL"))
        },
    )
    .await;
    for expected in [
        "push button\tCopy base URL",
        "push button\tCopy API key",
        "check box\tAllow LAN access",
        "spin button\tPort",
        "toggle button\tAccounts",
    ] {
        assert!(
            names.lines().any(|l| l == expected),
            "AT-SPI lacks {expected:?}:\n{names}"
        );
    }
    set_clipboard("something else");
    atspi(&["click", &id, "Copy base URL"]).unwrap();
    let base_url = format!("http://127.0.0.1:{port}");
    wait_until(
        "the base URL on the X clipboard",
        Duration::from_secs(10),
        || clipboard().filter(|text| *text == base_url),
    )
    .await;
    wait_until("the Copied toast", Duration::from_secs(5), || {
        atspi(&["names", &id])
            .ok()
            .filter(|names| names.contains("Copied base URL"))
    })
    .await;
    // Another program's text pasted into the token field; Enter adds it.
    set_clipboard("1//pasted");
    atspi(&["click", &id, "Accounts", "toggle button"]).unwrap();
    wait_until("the Accounts page", Duration::from_secs(10), || {
        atspi(&["names", &id])
            .ok()
            .filter(|names| names.contains("Add account…"))
    })
    .await;
    atspi(&["click", &id, "Add account…", "push button"]).unwrap();
    wait_until("the Add account dialog", Duration::from_secs(10), || {
        atspi(&["names", &id])
            .ok()
            .filter(|names| names.contains("Refresh token"))
    })
    .await;
    let window = wait_until("the window", Duration::from_secs(10), || {
        windows_of(child.id()).into_iter().next()
    })
    .await;
    xdotool(&["windowfocus", "--sync", &window]);
    atspi(&["focus", &id, "Refresh token", "password text"]).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    xdotool(&["key", "--window", &window, "ctrl+v"]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    xdotool(&["key", "--window", &window, "Return"]);
    wait_until("the pasted account", Duration::from_secs(20), || {
        let output = binary.command().args(["accounts", "list"]).output().ok()?;
        let listed = String::from_utf8_lossy(&output.stdout).into_owned();
        listed.contains("katherine@example.com").then_some(())
    })
    .await;
    let _ = child.kill();
    let _ = child.wait();

    // 7. The tray's Quit stops everything and frees the port.
    probe(&["click", &item, "Quit"]).unwrap();
    let mut app = app;
    let status = wait_until("the app to quit", Duration::from_secs(20), || {
        app.child.try_wait().ok().flatten()
    })
    .await;
    assert!(
        status.success(),
        "{status:?}: {}",
        std::fs::read_to_string(logs.join("app.log")).unwrap_or_default()
    );
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("the port is free after Quit");
    for page in PAGES {
        for name in [format!("{page}.png"), format!("{page}-800x560.png")] {
            assert!(out.join(&name).exists(), "{name}");
        }
    }
}
