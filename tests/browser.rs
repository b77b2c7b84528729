//! A real browser (headless Chromium) on a page from another origin tries to
//! use the gateway the three ways a web page can — a no-cors POST, a `fetch`
//! with JSON (which needs a preflight), and a form post — and the upstream
//! must see none of them. Then the same page from an allowed origin gets
//! through, so the harness is known to reach the gateway.
//!
//! Needs Chromium: `scripts/test.sh` installs Debian's `chromium` and sets
//! `SWITCHYARD_CHROMIUM`; without it the test fails and says so.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::Html;
use axum::routing::get;
use parking_lot::Mutex;
use serde_json::Value;
use support::{MockGoogle, TestGateway};

fn chromium() -> std::path::PathBuf {
    if let Some(path) = std::env::var_os("SWITCHYARD_CHROMIUM") {
        return path.into();
    }
    for candidate in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if std::path::Path::new(candidate).exists() {
            return candidate.into();
        }
    }
    panic!(
        "the browser test needs Chromium: run `bash scripts/test.sh` (it installs Debian's \
         chromium) or set SWITCHYARD_CHROMIUM"
    );
}

/// The attacking page: each attempt's outcome goes back to its own server
/// at `/done`.
fn page(target: &str) -> String {
    format!(
        r#"<!doctype html><html><body><iframe name="sink"></iframe><script>
const target = "{target}";
const body = JSON.stringify({{model: "gemini-2.5-flash", messages: [{{role: "user", content: "from a web page"}}]}});
async function run() {{
  const results = {{}};
  try {{ await fetch(target, {{method: "POST", mode: "no-cors", body}}); results.nocors = "sent"; }}
  catch (e) {{ results.nocors = "error " + e; }}
  try {{ const r = await fetch(target, {{method: "POST", headers: {{"Content-Type": "application/json"}}, body}}); results.json = "status " + r.status; }}
  catch (e) {{ results.json = "blocked"; }}
  const form = document.createElement("form");
  form.method = "POST"; form.action = target; form.enctype = "text/plain"; form.target = "sink";
  const input = document.createElement("input");
  input.name = '{{"model":"gemini-2.5-flash","messages":[{{"role":"user","content":"form"}}],"x":"';
  input.value = '"}}';
  form.appendChild(input); document.body.appendChild(form); form.submit();
  await new Promise(resolve => setTimeout(resolve, 1500));
  results.form = "submitted";
  await fetch("/done?r=" + encodeURIComponent(JSON.stringify(results)));
}}
run();
</script></body></html>"#
    )
}

#[derive(Clone)]
struct PageState {
    html: String,
    done: Arc<Mutex<Option<Value>>>,
}

/// Serves the page on 127.0.0.1 (another origin than the gateway's, by port)
/// and returns its address and where its report lands.
async fn page_server(target: String) -> (String, Arc<Mutex<Option<Value>>>) {
    let state = PageState {
        html: page(&target),
        done: Arc::new(Mutex::new(None)),
    };
    let done = state.done.clone();
    let app = axum::Router::new()
        .route(
            "/page",
            get(|State(s): State<PageState>| async move { Html(s.html) }),
        )
        .route(
            "/done",
            get(
                |State(s): State<PageState>,
                 Query(q): Query<std::collections::HashMap<String, String>>| async move {
                    *s.done.lock() = q.get("r").and_then(|r| serde_json::from_str(r).ok());
                    "ok"
                },
            ),
        )
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), done)
}

/// Opens `url` in headless Chromium and waits for the page's report.
async fn visit(url: &str, done: &Arc<Mutex<Option<Value>>>) -> Value {
    let profile = tempfile::tempdir().unwrap();
    let child = std::process::Command::new(chromium())
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let _browser = KillOnDrop(child);
    let started = std::time::Instant::now();
    loop {
        if let Some(report) = done.lock().take() {
            return report;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the page never reported back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The browser goes when the visit ends, passed or failed.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_from_another_origin_cannot_use_the_gateway_and_an_allowed_one_can() {
    let mock = MockGoogle::start().await;
    let gateway = TestGateway::with_one_account(&mock).await;
    let target = gateway.url("/v1/chat/completions");
    let (origin, done) = page_server(target).await;

    let report = visit(&format!("{origin}/page"), &done).await;
    assert_eq!(report["nocors"], "sent", "{report}");
    assert_eq!(
        report["json"], "blocked",
        "the preflight is refused: {report}"
    );
    assert_eq!(report["form"], "submitted", "{report}");
    // Give a late form post time to arrive, then: nothing reached Google.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        mock.mock.received().is_empty(),
        "the upstream saw a call from the page: {:?}",
        mock.mock.received()
    );

    // The same page, its origin allowed: the JSON fetch goes through (and
    // only it: the no-cors and form posts are still not JSON).
    let state = gateway.gateway.state();
    let mut config = (**state.config.load()).clone();
    config.gateway.allowed_origins = vec![origin.clone()];
    state.config.store(Arc::new(config));
    let report = visit(&format!("{origin}/page"), &done).await;
    assert_eq!(report["json"], "status 200", "{report}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(mock.mock.received().len(), 1, "{:?}", mock.mock.received());
}
