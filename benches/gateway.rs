//! `cargo bench --bench gateway`: what the gateway costs on top of its
//! upstream, measured against a mock of Code Assist in this process.
//!
//! The same HTTP client sends the same requests once through the gateway and
//! once straight to the mock (with the body the gateway itself sent upstream),
//! in the same run; the difference is what the gateway adds. Figures:
//! added latency (sequential, three protocols, streams with time to first
//! byte), added latency at a fixed rate, throughput at a fixed concurrency,
//! the request log's cost, event spacing on streams, resident memory of a
//! separate `switchyard serve` process (idle and with 256 open streams), and
//! its cold start. Ends with a table: figure | measured | target | met?.
//!
//! Environment:
//! - `BENCH_SCALE` (default 1): multiplies every request count (0.1 for a quick run).
//! - `BENCH_ONLY`: comma-separated sections to run: `latency`, `rate`,
//!   `serverate`, `throughput`, `log`, `spacing`, `memory`,
//!   `coldstart`, and `profile` (not in the default set: a fixed workload
//!   through a separate `serve` process, for a profiler wrapped around it).
//! - `BENCH_SWITCHYARD_BIN`: the `switchyard` binary for the separate-process
//!   sections (default: the one this bench was built with).
//! - `BENCH_SERVE_WRAPPER`: a command put before that binary (for example
//!   `valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out`).
//! - `BENCH_MEMORY_STORE` (diagnostic): the in-process gateways keep their
//!   database in memory instead of a file.
//!
//! The gateway under test runs on its own tokio runtime (two workers, as
//! `switchyard serve` has on this machine), the mock and the load generator on
//! theirs, so the three share the machine's cores as separate processes would.
#![expect(
    clippy::expect_used,
    reason = "a benchmark harness: a set-up that fails is a failed run"
)]

use std::collections::HashMap;
use std::io::{BufRead, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use hdrhistogram::Histogram;
use parking_lot::Mutex;
use serde_json::json;
use switchyard::config::Config;
use switchyard::gateway::{AppState, Gateway};
use switchyard::secret::Secret;
use switchyard::store::{NewAccount, Store};
use switchyard::upstream::google::GoogleClient;

// The allocator `switchyard` itself uses (src/main.rs), so the in-process
// gateway allocates as the shipped binary does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ACCESS_TOKEN: &str = "ya29.bench-access-token-0123456789";
const REFRESH_TOKEN: &str = "1//bench-refresh-token-0123456789";
const EMAIL: &str = "bench@example.com";
const PROJECT: &str = "bench-project";
const API_KEY: &str = "sk-bench-0123456789abcdef";
/// The most events one mock stream can send.
const MAX_EVENTS: usize = 256;
/// Upstream event spacing for the spacing check.
const SPACING_MS: u64 = 20;

// ---------------------------------------------------------------------------
// Settings

struct Settings {
    scale: f64,
    only: Option<Vec<String>>,
}

impl Settings {
    fn from_env() -> Self {
        let scale = std::env::var("BENCH_SCALE")
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|s| *s > 0.0)
            .unwrap_or(1.0);
        let only = std::env::var("BENCH_ONLY")
            .ok()
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.split(',').map(|p| p.trim().to_owned()).collect());
        Self { scale, only }
    }

    /// `base` requests at scale 1, never fewer than `floor`.
    fn count(&self, base: usize, floor: usize) -> usize {
        ((base as f64 * self.scale).round() as usize).max(floor)
    }

    fn wants(&self, section: &str) -> bool {
        match &self.only {
            Some(list) => list.iter().any(|s| s == section),
            None => section != "profile",
        }
    }
}

// ---------------------------------------------------------------------------
// The mock upstream: OAuth token, userinfo, Code Assist set-up and generation.

#[derive(Clone)]
struct Mock {
    inner: Arc<MockInner>,
}

struct MockInner {
    /// The wrapped `generateContent` answer, serialised once.
    answer: Bytes,
    /// `data:` events: `middle[i]` without a finish reason, `last[i]` with it.
    middle: Vec<Bytes>,
    last: Vec<Bytes>,
    /// The latest body received per method, replayed by the direct baseline.
    bodies: Mutex<HashMap<&'static str, Bytes>>,
}

impl Mock {
    fn new() -> Self {
        let answer = json!({
            "response": {
                "candidates": [{
                    "content": {"role": "model", "parts": [{"text": "Hello from the mock upstream."}]},
                    "finishReason": "STOP",
                    "index": 0
                }],
                "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 7, "totalTokenCount": 16},
                "modelVersion": "gemini-2.5-flash",
                "responseId": "bench-response"
            },
            "traceId": "bench-trace"
        });
        let event = |i: usize, last: bool| {
            let mut response = json!({
                "candidates": [{"content": {"role": "model", "parts": [{"text": format!("bench-word-{i} ")}]}}],
                "modelVersion": "gemini-2.5-flash"
            });
            if last {
                response["candidates"][0]["finishReason"] = json!("STOP");
                response["usageMetadata"] = json!({"promptTokenCount": 9, "candidatesTokenCount": i + 1, "totalTokenCount": i + 10});
            }
            Bytes::from(format!(
                "data: {}\r\n\r\n",
                json!({"response": response, "traceId": "bench-trace"})
            ))
        };
        Self {
            inner: Arc::new(MockInner {
                answer: Bytes::from(answer.to_string()),
                middle: (0..MAX_EVENTS).map(|i| event(i, false)).collect(),
                last: (0..MAX_EVENTS).map(|i| event(i, true)).collect(),
                bodies: Mutex::new(HashMap::new()),
            }),
        }
    }

    fn keep(&self, method: &'static str, body: &Bytes) {
        self.inner.bodies.lock().insert(method, body.clone());
    }

    fn body(&self, method: &str) -> Bytes {
        self.inner
            .bodies
            .lock()
            .get(method)
            .cloned()
            .expect("the gateway sent this method to the mock during warm-up")
    }

    fn router(&self) -> Router {
        Router::new()
            .route("/token", post(mock_token))
            .route("/oauth2/v2/userinfo", get(mock_userinfo))
            .route("/v1internal:loadCodeAssist", post(mock_load_code_assist))
            .route("/v1internal:retrieveUserQuota", post(mock_quota))
            .route("/v1internal:generateContent", post(mock_generate))
            .route("/v1internal:streamGenerateContent", post(mock_stream))
            .with_state(self.clone())
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The number after `key` in `body`, if any.
fn number_after(body: &[u8], key: &[u8]) -> Option<u64> {
    let at = body.windows(key.len()).position(|w| w == key)? + key.len();
    let digits: Vec<u8> = body[at..]
        .iter()
        .copied()
        .take_while(u8::is_ascii_digit)
        .collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

fn authorized(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        == Some(ACCESS_TOKEN)
}

fn unauthenticated() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(
            json!({"error": {"code": 401, "message": "bad token", "status": "UNAUTHENTICATED"}}),
        ),
    )
        .into_response()
}

fn json_bytes(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn mock_token(body: Bytes) -> Response {
    if !contains(&body, b"grant_type=refresh_token") {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "unsupported_grant_type"})),
        )
            .into_response();
    }
    axum::Json(json!({"access_token": ACCESS_TOKEN, "expires_in": 3600, "token_type": "Bearer"}))
        .into_response()
}

async fn mock_userinfo(headers: HeaderMap) -> Response {
    if !authorized(&headers) {
        return unauthenticated();
    }
    axum::Json(json!({"email": EMAIL, "verified_email": true})).into_response()
}

async fn mock_load_code_assist(headers: HeaderMap) -> Response {
    if !authorized(&headers) {
        return unauthenticated();
    }
    axum::Json(json!({"currentTier": {"id": "free-tier"}, "cloudaicompanionProject": PROJECT}))
        .into_response()
}

async fn mock_quota(headers: HeaderMap) -> Response {
    if !authorized(&headers) {
        return unauthenticated();
    }
    axum::Json(json!({"buckets": []})).into_response()
}

async fn mock_generate(State(mock): State<Mock>, headers: HeaderMap, body: Bytes) -> Response {
    if !authorized(&headers) {
        return unauthenticated();
    }
    mock.keep("generateContent", &body);
    json_bytes(mock.inner.answer.clone())
}

/// `bench-stream n=N delay=MS` in the prompt: N events (the last with a finish
/// reason and usage), the first at once, then one every MS milliseconds.
async fn mock_stream(State(mock): State<Mock>, headers: HeaderMap, body: Bytes) -> Response {
    if !authorized(&headers) {
        return unauthenticated();
    }
    mock.keep("streamGenerateContent", &body);
    let count = number_after(&body, b"bench-stream n=")
        .map_or(5, |n| n as usize)
        .clamp(1, MAX_EVENTS);
    let delay = Duration::from_millis(number_after(&body, b" delay=").unwrap_or(0));
    let events: Vec<Bytes> = (0..count)
        .map(|i| {
            if i + 1 == count {
                mock.inner.last[i].clone()
            } else {
                mock.inner.middle[i].clone()
            }
        })
        .collect();
    // Event i is due at start + i × delay (no drift from timer lateness).
    let start = tokio::time::Instant::now();
    let stream = futures::stream::unfold(
        (events.into_iter().enumerate(), start),
        move |(mut events, start)| async move {
            let (i, event) = events.next()?;
            if i > 0 && !delay.is_zero() {
                tokio::time::sleep_until(start + delay * i as u32).await;
            }
            Some((Ok::<_, std::io::Error>(event), (events, start)))
        },
    );
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(Body::from_stream(stream))
        .expect("a static response")
}

/// A proxy that only forwards: the same server (axum, TCP_NODELAY) and client
/// (reqwest) as the gateway, but no parsing, translation, pool or log. What
/// it reaches in the throughput section is the ceiling for any gateway built
/// on this stack, on this machine, with the mock and the client beside it.
async fn start_bare_proxy(upstream: String) -> SocketAddr {
    let client = reqwest::Client::builder()
        .tcp_nodelay(true)
        .build()
        .expect("the proxy's client");
    let forward = move |request: axum::extract::Request| {
        let (client, upstream) = (client.clone(), upstream.clone());
        async move {
            let path = request
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default();
            let authorization = request.headers().get(header::AUTHORIZATION).cloned();
            let Ok(body) = axum::body::to_bytes(request.into_body(), usize::MAX).await else {
                return StatusCode::BAD_REQUEST.into_response();
            };
            let mut outgoing = client
                .post(format!("{upstream}{path}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(body);
            if let Some(authorization) = authorization {
                outgoing = outgoing.header(header::AUTHORIZATION, authorization);
            }
            let Ok(answer) = outgoing.send().await else {
                return StatusCode::BAD_GATEWAY.into_response();
            };
            let status = answer.status();
            match answer.bytes().await {
                Ok(bytes) => {
                    (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response()
                }
                Err(_) => StatusCode::BAD_GATEWAY.into_response(),
            }
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the bare proxy");
    let addr = listener.local_addr().expect("the bare proxy's address");
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, Router::new().fallback(forward)).await;
    });
    addr
}

async fn start_mock() -> (SocketAddr, Mock) {
    let mock = Mock::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the mock");
    let addr = listener.local_addr().expect("the mock's address");
    let app = mock.router();
    // Like a real upstream, the mock sends each event when it is written.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("the mock serves");
    });
    (addr, mock)
}

// ---------------------------------------------------------------------------
// The gateway: in this process, or as `switchyard serve`.

fn bench_config(mock_url: &str) -> Config {
    let mut config = Config::default();
    config.google.code_assist_url = mock_url.to_owned();
    config.google.oauth_auth_url = format!("{mock_url}/o/oauth2/v2/auth");
    config.google.oauth_token_url = format!("{mock_url}/token");
    config.google.userinfo_url = format!("{mock_url}/oauth2/v2/userinfo");
    config.gateway.api_key = API_KEY.to_owned();
    config
}

/// The same config with `log.enabled = false`.
fn with_log_disabled(config: &Config) -> Arc<Config> {
    let mut off = config.clone();
    off.log.enabled = false;
    Arc::new(off)
}

struct InProcess {
    addr: SocketAddr,
    state: AppState,
    gateway: Gateway,
    _home: tempfile::TempDir,
}

impl InProcess {
    /// A gateway over a fresh store with one account.
    async fn start(config: Config) -> Self {
        let home = tempfile::tempdir().expect("a temp dir");
        let store = if std::env::var_os("BENCH_MEMORY_STORE").is_some() {
            Store::open_in_memory().expect("open the store")
        } else {
            Store::open(&home.path().join("switchyard.db")).expect("open the store")
        };
        store
            .upsert_account(&NewAccount {
                email: EMAIL.to_owned(),
                upstream: "google".to_owned(),
                oauth_client: "gemini-cli".to_owned(),
                refresh_token: Secret::new(REFRESH_TOKEN),
                access_token: None,
                access_expires_at: None,
                project_id: Some(PROJECT.to_owned()),
                tier: Some("free-tier".to_owned()),
            })
            .expect("insert the account");
        let google = GoogleClient::new().expect("the upstream client");
        let state = AppState::with_client(config, store, google)
            .await
            .expect("the gateway state");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the gateway");
        let addr = listener.local_addr().expect("the gateway's address");
        let gateway = Gateway::start(state.clone(), listener).expect("start");
        Self {
            addr,
            state,
            gateway,
            _home: home,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn stop(self) {
        self.gateway.stop().await;
    }
}

fn switchyard_bin() -> PathBuf {
    std::env::var_os("BENCH_SWITCHYARD_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_switchyard")))
}

/// A `SWITCHYARD_HOME` whose config points at the mock, with the bench
/// account added by `switchyard accounts add --refresh-token`.
fn prepare_home(mock_url: &str) -> tempfile::TempDir {
    let home = tempfile::tempdir().expect("a temp dir");
    let config = bench_config(mock_url);
    std::fs::write(
        home.path().join("config.toml"),
        config.to_toml().expect("config as TOML"),
    )
    .expect("write config.toml");
    let output = Command::new(switchyard_bin())
        .args(["accounts", "add", "--refresh-token", REFRESH_TOKEN])
        .env("SWITCHYARD_HOME", home.path())
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("run switchyard accounts add");
    assert!(
        output.status.success(),
        "accounts add failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    home
}

fn serve_command(home: &Path, port: u16) -> Command {
    let wrapper: Vec<String> = std::env::var("BENCH_SERVE_WRAPPER")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let mut command = match wrapper.split_first() {
        Some((program, args)) => {
            let mut command = Command::new(program);
            command.args(args).arg(switchyard_bin());
            command
        }
        None => Command::new(switchyard_bin()),
    };
    command
        .args(["serve", "--port", &port.to_string()])
        .env("SWITCHYARD_HOME", home)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    command
}

/// A running `switchyard serve`; stopped with SIGTERM when dropped.
struct ServeProcess {
    child: Child,
    addr: SocketAddr,
}

impl ServeProcess {
    /// Starts `serve --port 0` and waits for its "listening on" line.
    fn start(home: &Path) -> Self {
        let mut child = serve_command(home, 0)
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn switchyard serve");
        let stderr = child.stderr.take().expect("piped stderr");
        let (found, address) = std::sync::mpsc::channel::<SocketAddr>();
        // Reads stderr to the end, so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("listening on http://").nth(1)
                    && let Some(addr) = rest.split_whitespace().next().and_then(|a| a.parse().ok())
                {
                    let _ = found.send(addr);
                }
            }
        });
        let addr = address
            .recv_timeout(Duration::from_secs(120))
            .expect("switchyard serve said where it listens");
        Self { child, addr }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        terminate(&mut self.child);
    }
}

/// SIGTERM (a clean exit, which a profiler wrapped around it needs), then wait.
fn terminate(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

/// `VmRSS`, `VmHWM`, … of a process, in KiB.
fn proc_status_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// One `GET /healthz` over a fresh connection: true on a 200.
fn healthz_ok(addr: SocketAddr) -> bool {
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(50))
    else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

// ---------------------------------------------------------------------------
// The load generator.

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(4096)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(120))
        .build()
        .expect("an HTTP client")
}

/// One request, ready to send again and again.
struct Call {
    url: String,
    bearer: &'static str,
    body: Bytes,
}

impl Call {
    fn new(url: String, bearer: &'static str, body: impl Into<Bytes>) -> Arc<Self> {
        Arc::new(Self {
            url,
            bearer,
            body: body.into(),
        })
    }

    fn send(&self, client: &reqwest::Client) -> reqwest::RequestBuilder {
        client
            .post(&self.url)
            .header(header::CONTENT_TYPE, "application/json")
            .bearer_auth(self.bearer)
            .body(self.body.clone())
    }
}

#[derive(Clone, Copy)]
struct Timing {
    first_byte: Duration,
    total: Duration,
    ok: bool,
}

/// Sends `call` and reads the whole answer: time to the first body byte and
/// to the end.
async fn timed(client: &reqwest::Client, call: &Call) -> Timing {
    let start = Instant::now();
    let failed = |start: Instant| Timing {
        first_byte: start.elapsed(),
        total: start.elapsed(),
        ok: false,
    };
    let Ok(mut response) = call.send(client).send().await else {
        return failed(start);
    };
    let mut ok = response.status().is_success();
    let mut first_byte = None;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if first_byte.is_none() && !chunk.is_empty() {
                    first_byte = Some(start.elapsed());
                }
            }
            Ok(None) => break,
            Err(_) => {
                ok = false;
                break;
            }
        }
    }
    let total = start.elapsed();
    Timing {
        first_byte: first_byte.unwrap_or(total),
        total,
        ok,
    }
}

/// Sends `call` and returns the status and body, to check an answer.
async fn fetch(client: &reqwest::Client, call: &Call) -> (u16, String) {
    let response = call.send(client).send().await.expect("the request is sent");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

fn histogram() -> Histogram<u64> {
    // Nanoseconds, from 1 ns to 10 min, 3 significant digits.
    Histogram::new_with_bounds(1, 600_000_000_000, 3).expect("histogram bounds")
}

fn record(histogram: &mut Histogram<u64>, value: Duration) {
    histogram.saturating_record(value.as_nanos().max(1) as u64);
}

fn ms(nanos: u64) -> f64 {
    nanos as f64 / 1e6
}

/// Latencies of both paths, taken in the same run.
struct Paired {
    direct_total: Histogram<u64>,
    gateway_total: Histogram<u64>,
    direct_first: Histogram<u64>,
    gateway_first: Histogram<u64>,
    errors: usize,
}

impl Paired {
    fn pairs(&self) -> u64 {
        self.gateway_total.len()
    }
}

const QUANTILES: [(f64, &str); 3] = [(0.5, "p50"), (0.99, "p99"), (0.999, "p99.9")];

impl Paired {
    fn new() -> Self {
        Self {
            direct_total: histogram(),
            gateway_total: histogram(),
            direct_first: histogram(),
            gateway_first: histogram(),
            errors: 0,
        }
    }

    /// `gateway − direct` at quantile `q`, in ms.
    fn added(direct: &Histogram<u64>, gateway: &Histogram<u64>, q: f64) -> f64 {
        ms(gateway.value_at_quantile(q)) - ms(direct.value_at_quantile(q))
    }

    fn print_block(title: &str, direct: &Histogram<u64>, gateway: &Histogram<u64>) {
        println!("  {title} (ms)      p50       p99     p99.9      mean       max");
        for (name, h) in [("direct ", direct), ("gateway", gateway)] {
            println!(
                "    {name}     {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3}",
                ms(h.value_at_quantile(0.5)),
                ms(h.value_at_quantile(0.99)),
                ms(h.value_at_quantile(0.999)),
                h.mean() / 1e6,
                ms(h.max()),
            );
        }
        println!(
            "    added       {:>+9.3} {:>+9.3} {:>+9.3} {:>+9.3}",
            Self::added(direct, gateway, 0.5),
            Self::added(direct, gateway, 0.99),
            Self::added(direct, gateway, 0.999),
            (gateway.mean() - direct.mean()) / 1e6,
        );
    }
}

/// `count` pairs one after the other (no concurrency), alternating which
/// path goes first, after `warmup` pairs.
async fn sequential(
    client: &reqwest::Client,
    direct: &Call,
    gateway: &Call,
    count: usize,
    warmup: usize,
    budget: Duration,
) -> Paired {
    for _ in 0..warmup {
        timed(client, direct).await;
        timed(client, gateway).await;
    }
    let mut paired = Paired::new();
    let start = Instant::now();
    for i in 0..count {
        if start.elapsed() > budget {
            break;
        }
        let (d, g) = if i % 2 == 0 {
            let d = timed(client, direct).await;
            (d, timed(client, gateway).await)
        } else {
            let g = timed(client, gateway).await;
            (timed(client, direct).await, g)
        };
        paired.errors += usize::from(!d.ok) + usize::from(!g.ok);
        record(&mut paired.direct_total, d.total);
        record(&mut paired.gateway_total, g.total);
        record(&mut paired.direct_first, d.first_byte);
        record(&mut paired.gateway_first, g.first_byte);
    }
    paired
}

/// What a fixed-rate run measured.
struct RateRun {
    latency: Histogram<u64>,
    errors: usize,
    achieved: f64,
    /// (when it was sent, from the run's start; how long it took) of every
    /// request slower than [`SLOW`], to see whether slow ones come in bursts.
    slow: Vec<(Duration, Duration)>,
}

/// A request this slow at a fixed rate is a stall, not noise.
const SLOW: Duration = Duration::from_millis(2);

/// Open loop: one request every `1/rate` s whatever is still in flight.
/// Latency is taken from each request's own start.
async fn fixed_rate(
    client: &reqwest::Client,
    call: &Arc<Call>,
    rate: u32,
    count: usize,
) -> RateRun {
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut in_flight = tokio::task::JoinSet::new();
    let start = Instant::now();
    for _ in 0..count {
        ticker.tick().await;
        let (client, call) = (client.clone(), call.clone());
        let sent = start.elapsed();
        in_flight.spawn(async move { (sent, timed(&client, &call).await) });
    }
    let achieved = count as f64 / start.elapsed().as_secs_f64();
    let mut run = RateRun {
        latency: histogram(),
        errors: 0,
        achieved,
        slow: Vec::new(),
    };
    while let Some(result) = in_flight.join_next().await {
        let (sent, timing) = result.expect("a request task");
        run.errors += usize::from(!timing.ok);
        record(&mut run.latency, timing.total);
        if timing.total > SLOW {
            run.slow.push((sent, timing.total));
        }
    }
    run.slow.sort();
    run
}

/// Slow requests grouped into stalls (slow requests sent within 50 ms of
/// each other): "N slow in K stalls, at 0.41 s (12 × up to 9.1 ms), …".
fn stalls(slow: &[(Duration, Duration)]) -> String {
    let mut groups: Vec<(Duration, usize, Duration)> = Vec::new();
    for &(sent, took) in slow {
        match groups.last_mut() {
            Some((at, count, worst))
                if sent.saturating_sub(*at) < Duration::from_millis(50) + *worst =>
            {
                *count += 1;
                *worst = (*worst).max(took);
            }
            _ => groups.push((sent, 1, took)),
        }
    }
    let shown: Vec<String> = groups
        .iter()
        .take(12)
        .map(|(at, count, worst)| {
            format!(
                "{:.2} s ({count} × ≤ {:.1} ms)",
                at.as_secs_f64(),
                worst.as_secs_f64() * 1e3
            )
        })
        .collect();
    format!(
        "{} slower than {} ms in {} stalls{}{}",
        slow.len(),
        SLOW.as_millis(),
        groups.len(),
        if shown.is_empty() { "" } else { ": " },
        shown.join(", ")
    )
}

/// Closed loop: `concurrency` workers send `total` requests between them.
/// Returns requests per second and errors.
async fn closed_loop(
    client: &reqwest::Client,
    call: &Arc<Call>,
    concurrency: usize,
    total: usize,
) -> (f64, usize) {
    let next = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (client, call, next, errors) =
            (client.clone(), call.clone(), next.clone(), errors.clone());
        workers.spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < total {
                if !timed(&client, &call).await.ok {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    while let Some(result) = workers.join_next().await {
        result.expect("a worker");
    }
    (
        total as f64 / start.elapsed().as_secs_f64(),
        errors.load(Ordering::Relaxed),
    )
}

/// Closed-loop rounds against one path: rates, errors, and the CPU time
/// each part of this process (load generator, mock, gateway) spent.
#[derive(Default)]
struct Rounds {
    rates: Vec<f64>,
    errors: usize,
    requests: usize,
    cpu: HashMap<String, f64>,
}

impl Rounds {
    fn run(&mut self, bench: &Bench, call: &Arc<Call>, concurrency: usize, total: usize) {
        self.run_settled(bench, call, concurrency, total, Duration::ZERO);
    }

    /// A round whose CPU time also counts `settle` after its last answer
    /// (work the round left behind, such as the request log's last batch).
    fn run_settled(
        &mut self,
        bench: &Bench,
        call: &Arc<Call>,
        concurrency: usize,
        total: usize,
        settle: Duration,
    ) {
        let before = cpu_by_thread_name();
        let (rate, errors) =
            bench
                .client_rt
                .block_on(closed_loop(&bench.client, call, concurrency, total));
        std::thread::sleep(settle);
        let after = cpu_by_thread_name();
        for (name, seconds) in after {
            let spent = seconds - before.get(&name).copied().unwrap_or(0.0);
            *self.cpu.entry(name).or_insert(0.0) += spent.max(0.0);
        }
        self.rates.push(rate);
        self.errors += errors;
        self.requests += total;
    }

    fn rate(&self) -> f64 {
        self.rates.iter().sum::<f64>() / self.rates.len().max(1) as f64
    }

    /// "client 21 µs, mock 18 µs, gateway 0 µs".
    fn cpu_per_request(&self) -> String {
        ["client", "mock", "gateway"]
            .iter()
            .map(|role| {
                let seconds = self.cpu.get(&format!("rt-{role}")).copied().unwrap_or(0.0);
                format!(
                    "{role} {:.0} µs",
                    seconds / self.requests.max(1) as f64 * 1e6
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// CPU time (user + system, s) of this process's threads so far, summed by
/// thread name: the runtimes name theirs `rt-client`, `rt-mock` and
/// `rt-gateway` (blocking-pool threads included). Linux; USER_HZ = 100.
fn cpu_by_thread_name() -> HashMap<String, f64> {
    let mut cpu = HashMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return cpu;
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        // The thread's time on a CPU in nanoseconds (the first field of
        // schedstat); where that is missing, utime + stime in 10 ms ticks
        // (fields 14 and 15 of proc_pid_stat(5)), which over a round of a few
        // thousand requests is off by several µs per request.
        let nanoseconds = std::fs::read_to_string(task.path().join("schedstat"))
            .ok()
            .and_then(|text| text.split_whitespace().next()?.parse::<u64>().ok());
        let seconds = match nanoseconds {
            Some(ns) => ns as f64 / 1e9,
            None => {
                let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
                let ticks: u64 = [11, 12]
                    .iter()
                    .filter_map(|&i| fields.get(i)?.parse::<u64>().ok())
                    .sum();
                ticks as f64 / 100.0
            }
        };
        *cpu.entry(stat[open + 1..close].to_owned()).or_insert(0.0) += seconds;
    }
    cpu
}

/// When each content event (one per upstream event) of a stream reached the
/// client, from the request's start.
async fn event_arrivals(client: &reqwest::Client, call: &Call) -> Vec<Duration> {
    let start = Instant::now();
    let mut response = call.send(client).send().await.expect("the stream starts");
    assert!(response.status().is_success(), "stream status");
    let mut buffer = String::new();
    let mut arrivals = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let at = start.elapsed();
        buffer.push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            if event.contains("bench-word-") {
                arrivals.push(at);
            }
        }
    }
    arrivals
}

// ---------------------------------------------------------------------------
// The report.

struct Row {
    figure: String,
    measured: String,
    target: String,
    met: Option<bool>,
}

#[derive(Default)]
struct Report {
    rows: Vec<Row>,
}

impl Report {
    fn add(
        &mut self,
        figure: impl Into<String>,
        measured: String,
        target: &str,
        met: Option<bool>,
    ) {
        self.rows.push(Row {
            figure: figure.into(),
            measured,
            target: target.to_owned(),
            met,
        });
    }

    /// An added latency in ms against a "< X ms" target (None: report only).
    fn added_ms(&mut self, figure: impl Into<String>, value: f64, below: Option<f64>) {
        let (target, met) = match below {
            Some(limit) => (format!("< {limit} ms"), Some(value < limit)),
            None => ("—".to_owned(), None),
        };
        self.add(figure, format!("{value:+.3} ms"), &target, met);
    }

    fn print(rows: &[Row]) {
        let width = |f: fn(&Row) -> usize, title: &str| {
            rows.iter().map(f).max().unwrap_or(0).max(title.len())
        };
        let w_figure = width(|r| r.figure.chars().count(), "figure");
        let w_measured = width(|r| r.measured.chars().count(), "measured");
        let w_target = width(|r| r.target.chars().count(), "target");
        let pad = |text: &str, width: usize| {
            format!("{text}{}", " ".repeat(width - text.chars().count()))
        };
        println!(
            "| {} | {} | {} | met? |",
            pad("figure", w_figure),
            pad("measured", w_measured),
            pad("target", w_target)
        );
        println!(
            "|-{}-|-{}-|-{}-|------|",
            "-".repeat(w_figure),
            "-".repeat(w_measured),
            "-".repeat(w_target)
        );
        for row in rows {
            let met = match row.met {
                Some(true) => "yes ",
                Some(false) => "NO  ",
                None => "—   ",
            };
            println!(
                "| {} | {} | {} | {met} |",
                pad(&row.figure, w_figure),
                pad(&row.measured, w_measured),
                pad(&row.target, w_target)
            );
        }
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".to_owned())
}

fn runtime(name: &str) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(name)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn section(title: &str) {
    println!("\n== {title}");
}

// ---------------------------------------------------------------------------
// The sections.

struct Bench {
    settings: Settings,
    mock_url: String,
    mock: Mock,
    gateway: InProcess,
    gateway_rt: tokio::runtime::Runtime,
    client_rt: tokio::runtime::Runtime,
    client: reqwest::Client,
    report: Report,
}

fn openai_body() -> String {
    json!({
        "model": "gemini-2.5-flash",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Say hello in one short sentence."}
        ]
    })
    .to_string()
}

fn anthropic_stream_body(events: usize, delay_ms: u64) -> String {
    json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "stream": true,
        "messages": [{"role": "user", "content": format!("bench-stream n={events} delay={delay_ms}")}]
    })
    .to_string()
}

fn gemini_stream_body(events: usize, delay_ms: u64) -> String {
    json!({
        "contents": [{"role": "user", "parts": [{"text": format!("bench-stream n={events} delay={delay_ms}")}]}]
    })
    .to_string()
}

const GEMINI_STREAM_PATH: &str = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";

impl Bench {
    fn gateway_call(&self, path: &str, body: String) -> Arc<Call> {
        Call::new(self.gateway.url(path), API_KEY, body)
    }

    /// The direct twin of a gateway call: the body the gateway last sent for
    /// `method`, straight to the mock.
    fn direct_call(&self, method: &str) -> Arc<Call> {
        let path = if method == "streamGenerateContent" {
            "/v1internal:streamGenerateContent?alt=sse".to_owned()
        } else {
            format!("/v1internal:{method}")
        };
        Call::new(
            format!("{}{path}", self.mock_url),
            ACCESS_TOKEN,
            self.mock.body(method),
        )
    }

    /// Checks a gateway call answers 200 with `expected` in its body, then
    /// returns its direct twin.
    fn check_and_pair(&self, gateway: &Call, method: &str, expected: &str) -> Arc<Call> {
        let (status, body) = self.client_rt.block_on(fetch(&self.client, gateway));
        assert!(
            status == 200 && body.contains(expected),
            "gateway answer {status}: {body}"
        );
        let direct = self.direct_call(method);
        let (status, body) = self.client_rt.block_on(fetch(&self.client, &direct));
        assert!(status == 200, "direct answer {status}: {body}");
        direct
    }

    /// Time allowed to one sequential scenario (a slow path ends it early).
    fn budget(&self) -> Duration {
        Duration::from_secs_f64(20.0 * self.settings.scale.min(1.0)).max(Duration::from_secs(2))
    }

    fn latency(&mut self) {
        let count = self.settings.count(4000, 50);
        let stream_count = self.settings.count(2000, 50);
        let warmup = self.settings.count(200, 10);
        section(&format!(
            "Added latency, sequential (one request at a time, paths alternating), up to {count} pairs non-stream, {stream_count} per stream kind, {:.0} s at most each",
            self.budget().as_secs_f64()
        ));
        let openai = self.gateway_call("/v1/chat/completions", openai_body());
        let direct = self.check_and_pair(&openai, "generateContent", "Hello from the mock");
        let paired = self.client_rt.block_on(sequential(
            &self.client,
            &direct,
            &openai,
            count,
            warmup,
            self.budget(),
        ));
        println!(
            "(a) OpenAI chat → generateContent, non-stream: {} pairs; errors: {}",
            paired.pairs(),
            paired.errors
        );
        Paired::print_block("full answer", &paired.direct_total, &paired.gateway_total);
        for (q, name) in QUANTILES {
            self.report.added_ms(
                format!("(a) OpenAI non-stream, added {name}"),
                Paired::added(&paired.direct_total, &paired.gateway_total, q),
                overhead_target(name),
            );
        }
        let anthropic = self.gateway_call("/v1/messages", anthropic_stream_body(5, 0));
        self.stream_latency(
            "(b) Anthropic stream",
            &anthropic,
            "content_block_delta",
            stream_count,
        );
        let gemini = self.gateway_call(GEMINI_STREAM_PATH, gemini_stream_body(5, 0));
        self.stream_latency(
            "(c) Gemini SSE stream",
            &gemini,
            "bench-word-4",
            stream_count,
        );
    }

    /// Time to first byte and to the full answer of a 5-event stream, through
    /// `gateway` and straight to the mock.
    fn stream_latency(&mut self, name: &str, gateway: &Call, expected: &str, count: usize) {
        let warmup = self.settings.count(50, 5);
        let direct = self.check_and_pair(gateway, "streamGenerateContent", expected);
        let paired = self.client_rt.block_on(sequential(
            &self.client,
            &direct,
            gateway,
            count,
            warmup,
            self.budget(),
        ));
        println!(
            "{name} (5 events, no delay upstream): {} pairs; errors: {}",
            paired.pairs(),
            paired.errors
        );
        Paired::print_block("first byte ", &paired.direct_first, &paired.gateway_first);
        Paired::print_block("full answer", &paired.direct_total, &paired.gateway_total);
        for (q, qname) in QUANTILES {
            self.report.added_ms(
                format!("{name}, added time to first byte {qname}"),
                Paired::added(&paired.direct_first, &paired.gateway_first, q),
                (qname != "p99.9").then_some(1.0),
            );
        }
        for (q, qname) in QUANTILES {
            self.report.added_ms(
                format!("{name}, added time to full answer {qname}"),
                Paired::added(&paired.direct_total, &paired.gateway_total, q),
                overhead_target(qname),
            );
        }
    }

    fn rate(&mut self) {
        let rate = 1000;
        let count = self.settings.count(6000, 200);
        section(&format!(
            "Added latency at a fixed rate of {rate} req/s, OpenAI non-stream, {count} requests per path in two rounds (direct, gateway, the same gateway with log.enabled = false)"
        ));
        let gateway = self.gateway_call("/v1/chat/completions", openai_body());
        let direct = self.check_and_pair(&gateway, "generateContent", "Hello from the mock");
        // The third path is the same gateway with its log switched off in its
        // live config for those rounds.
        let paths = [&direct, &gateway, &gateway];
        let config = &self.gateway.state.config;
        let on_config = config.load_full();
        let off_config = with_log_disabled(&on_config);
        // Warm every path's connection pools at the same rate.
        let warm = self.settings.count(500, 50);
        for call in [&direct, &gateway] {
            let _ = self
                .client_rt
                .block_on(fixed_rate(&self.client, call, rate, warm));
        }
        let mut histograms = [histogram(), histogram(), histogram()];
        let mut achieved = [0.0; 3];
        let mut slow: [Vec<String>; 3] = Default::default();
        let mut errors = 0;
        for _ in 0..2 {
            for (i, call) in paths.iter().enumerate() {
                config.store(if i == 2 {
                    off_config.clone()
                } else {
                    on_config.clone()
                });
                let run = self
                    .client_rt
                    .block_on(fixed_rate(&self.client, call, rate, count / 2));
                histograms[i].add(&run.latency).expect("same bounds");
                errors += run.errors;
                achieved[i] += run.achieved / 2.0;
                slow[i].push(stalls(&run.slow));
            }
        }
        config.store(on_config);
        let [direct_h, gateway_h, off_h] = &histograms;
        println!(
            "  rate achieved: direct {:.0}, gateway {:.0}, gateway log off {:.0} req/s; errors: {errors}",
            achieved[0], achieved[1], achieved[2]
        );
        Paired::print_block("full answer", direct_h, gateway_h);
        println!("  with the request log off:");
        Paired::print_block("full answer", direct_h, off_h);
        for (name, rounds) in ["direct", "gateway", "gateway, log off"].iter().zip(&slow) {
            for (round, text) in rounds.iter().enumerate() {
                println!("  {name}, round {}: {text}", round + 1);
            }
        }
        for (q, name) in QUANTILES {
            self.report.added_ms(
                format!("{rate} req/s non-stream, added {name}"),
                Paired::added(direct_h, gateway_h, q),
                overhead_target(name),
            );
        }
        self.report.added_ms(
            format!("{rate} req/s non-stream, log off, added p99 (diagnostic)"),
            Paired::added(direct_h, off_h, 0.99),
            None,
        );
    }

    fn throughput(&mut self) {
        let concurrency = 64;
        let total = self.settings.count(12_000, 500);
        section(&format!(
            "Throughput at concurrency {concurrency}, OpenAI non-stream, {total} requests per round (rounds: direct, gateway, bare proxy, twice)"
        ));
        let gateway = self.gateway_call("/v1/chat/completions", openai_body());
        let direct = self.check_and_pair(&gateway, "generateContent", "Hello from the mock");
        let warm = self.settings.count(1000, 100);
        self.client_rt.block_on(async {
            closed_loop(&self.client, &direct, concurrency, warm).await;
            closed_loop(&self.client, &gateway, concurrency, warm).await;
        });
        let bare_addr = self
            .gateway_rt
            .block_on(start_bare_proxy(self.mock_url.clone()));
        let bare = Call::new(
            direct
                .url
                .replace(self.mock_url.as_str(), &format!("http://{bare_addr}")),
            ACCESS_TOKEN,
            direct.body.clone(),
        );
        let (status, body) = self.client_rt.block_on(fetch(&self.client, &bare));
        assert!(status == 200, "bare proxy answer {status}: {body}");
        self.client_rt.block_on(async {
            closed_loop(&self.client, &bare, concurrency, warm).await;
        });
        let mut direct_rounds = Rounds::default();
        let mut gateway_rounds = Rounds::default();
        let mut bare_rounds = Rounds::default();
        for _ in 0..2 {
            direct_rounds.run(self, &direct, concurrency, total);
            gateway_rounds.run(self, &gateway, concurrency, total);
            bare_rounds.run(self, &bare, concurrency, total);
        }
        let (direct_rate, gateway_rate) = (direct_rounds.rate(), gateway_rounds.rate());
        let bare_rate = bare_rounds.rate();
        println!(
            "  direct  {direct_rate:>8.0} req/s  (rounds: {}); CPU per request: {}",
            rounds(&direct_rounds.rates),
            direct_rounds.cpu_per_request()
        );
        println!(
            "  gateway {gateway_rate:>8.0} req/s  (rounds: {}); CPU per request: {}",
            rounds(&gateway_rounds.rates),
            gateway_rounds.cpu_per_request()
        );
        println!(
            "  bare    {bare_rate:>8.0} req/s  (rounds: {}); CPU per request: {}  [a proxy that only forwards, same server and client stack; its CPU shows as gateway]",
            rounds(&bare_rounds.rates),
            bare_rounds.cpu_per_request()
        );
        println!(
            "  errors: {}",
            direct_rounds.errors + gateway_rounds.errors + bare_rounds.errors
        );
        let share = gateway_rate / direct_rate * 100.0;
        let bare_share = bare_rate / direct_rate * 100.0;
        println!(
            "  gateway / direct: {share:.1} %; bare proxy / direct: {bare_share:.1} %; gateway / bare proxy: {:.1} %",
            gateway_rate / bare_rate * 100.0
        );
        self.report.add(
            format!("throughput at c={concurrency}, gateway / direct"),
            format!("{share:.1} % ({gateway_rate:.0} / {direct_rate:.0} req/s)"),
            "≥ 50 %",
            Some(share >= 50.0),
        );
        self.report.add(
            format!("throughput at c={concurrency}, bare forwarding proxy / direct (ceiling)"),
            format!(
                "{bare_share:.1} % ({bare_rate:.0} req/s; gateway reaches {:.0} % of it)",
                gateway_rate / bare_rate * 100.0
            ),
            "—",
            None,
        );
    }

    fn log(&mut self) {
        let concurrency = 64;
        // Many short rounds in adjacent on/off pairs: the machine's load drifts
        // by ±10 % over seconds, so each pair's ratio is taken (both halves
        // see the same drift) and the median pair is reported.
        //
        // Both sides are the same gateway (the same connections, the same
        // warmed-up state): the section switches `log.enabled` in its live
        // config between rounds, as `switchyard config set` would. (Two
        // gateway instances differed by up to 15 % with identical settings.)
        let total = self.settings.count(8000, 300);
        let pairs = 10;
        let config = &self.gateway.state.config;
        let on_config = config.load_full();
        let off_config = with_log_disabled(&on_config);
        section(&format!(
            "Request log on vs off: throughput at concurrency {concurrency}, {pairs} pairs of rounds of {total} requests, on/off then off/on alternating, one gateway with log.enabled switched between rounds"
        ));
        let call = self.gateway_call("/v1/chat/completions", openai_body());
        let warm = self.settings.count(1000, 100);
        self.client_rt.block_on(async {
            closed_loop(&self.client, &call, concurrency, warm).await;
        });
        // The log writer flushes at least every 250 ms: its last batch of an
        // "on" round is counted in that round's CPU, not the next one's.
        let settle = Duration::from_millis(400);
        let (mut on_rounds, mut off_rounds) = (Rounds::default(), Rounds::default());
        for round in 0..pairs {
            // on, off, off, on, …: each side gets early and late slots.
            let first_on = round % 2 == 0;
            for is_on in [first_on, !first_on] {
                if is_on {
                    config.store(on_config.clone());
                    on_rounds.run_settled(self, &call, concurrency, total, settle);
                } else {
                    config.store(off_config.clone());
                    off_rounds.run_settled(self, &call, concurrency, total, settle);
                }
            }
        }
        config.store(on_config);
        let (on_rate, off_rate) = (on_rounds.rate(), off_rounds.rate());
        let dropped = self.gateway.state.log.dropped();
        println!(
            "  log on  {on_rate:>8.0} req/s  (rounds: {}); CPU per request: {}",
            rounds(&on_rounds.rates),
            on_rounds.cpu_per_request()
        );
        println!(
            "  log off {off_rate:>8.0} req/s  (rounds: {}); CPU per request: {}",
            rounds(&off_rounds.rates),
            off_rounds.cpu_per_request()
        );
        println!(
            "  errors: {}; entries dropped by the log queue: {dropped}",
            on_rounds.errors + off_rounds.errors
        );
        let mut pair_costs: Vec<f64> = on_rounds
            .rates
            .iter()
            .zip(&off_rounds.rates)
            .map(|(on, off)| (off - on) / off * 100.0)
            .collect();
        pair_costs.sort_by(f64::total_cmp);
        let n = pair_costs.len();
        let cost = (pair_costs[(n - 1) / 2] + pair_costs[n / 2]) / 2.0;
        let (quartile_low, quartile_high) = (pair_costs[n / 4], pair_costs[(3 * n) / 4]);
        println!(
            "  cost of the log per pair, sorted: {}",
            pair_costs
                .iter()
                .map(|c| format!("{c:+.1} %"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let per_request = |r: &Rounds, name: Option<&str>| {
            let seconds: f64 = match name {
                Some(name) => r.cpu.get(name).copied().unwrap_or(0.0),
                None => r.cpu.values().sum(),
            };
            seconds / r.requests.max(1) as f64 * 1e6
        };
        let (on_cpu, off_cpu) = (
            per_request(&on_rounds, Some("rt-gateway")),
            per_request(&off_rounds, Some("rt-gateway")),
        );
        // Client, mock and gateway share two cores and keep them busy, so the
        // rate is the cores' time over the CPU one request takes in all three:
        // the throughput cost of the log is the rise of that total.
        let (on_total, off_total) = (
            per_request(&on_rounds, None),
            per_request(&off_rounds, None),
        );
        let cpu_cost = (1.0 - off_total / on_total) * 100.0;
        println!(
            "  log on costs {cost:.1} % of throughput by the median pair (middle half {quartile_low:+.1} … {quartile_high:+.1} %), {cpu_cost:.1} % by CPU per request (all threads {on_total:.0} µs on vs {off_total:.0} µs off; gateway {on_cpu:.0} vs {off_cpu:.0} µs)"
        );
        self.report.add(
            "throughput, log on vs off, from CPU per request",
            format!(
                "{:+.1} % ({on_total:.0} vs {off_total:.0} µs per request, all threads)",
                -cpu_cost
            ),
            "within 5 %",
            Some(cpu_cost.abs() <= 5.0),
        );
        self.report.add(
            "throughput, log on vs off, median of paired rounds",
            format!(
                "{:+.1} % (middle half {:+.1} … {:+.1} %; {on_rate:.0} vs {off_rate:.0} req/s)",
                -cost, -quartile_high, -quartile_low
            ),
            "(noisy)",
            None,
        );
        self.report.add(
            "gateway CPU per request, log on vs off",
            format!("{on_cpu:.0} vs {off_cpu:.0} µs"),
            "—",
            None,
        );
    }

    fn spacing(&mut self) {
        let events = 10;
        let streams = self.settings.count(8, 3);
        section(&format!(
            "Stream event spacing: {streams} streams per path, {events} events {SPACING_MS} ms apart upstream, one stream at a time"
        ));
        let gemini = self.gateway_call(GEMINI_STREAM_PATH, gemini_stream_body(events, SPACING_MS));
        let anthropic =
            self.gateway_call("/v1/messages", anthropic_stream_body(events, SPACING_MS));
        let direct = self.check_and_pair(&gemini, "streamGenerateContent", "bench-word-9");
        self.spacing_of(
            &[
                ("direct (mock)".to_owned(), direct),
                ("gateway, Gemini SSE".to_owned(), gemini),
                ("gateway, Anthropic".to_owned(), anthropic),
            ],
            events,
            streams,
        );
    }

    /// Sends `streams` streams down each path (the first is the direct
    /// baseline), one at a time, and reports how far the gaps between content
    /// events at the client are from the upstream's spacing.
    fn spacing_of(&mut self, paths: &[(String, Arc<Call>)], events: usize, streams: usize) {
        let mut arrivals: Vec<Vec<Vec<Duration>>> = vec![Vec::new(); paths.len()];
        for _ in 0..streams {
            for (i, (_, call)) in paths.iter().enumerate() {
                arrivals[i].push(self.client_rt.block_on(event_arrivals(&self.client, call)));
            }
        }
        let expected = Duration::from_millis(SPACING_MS);
        println!(
            "  path                    gaps   mean |dev|   max |dev|   gaps < {} ms   events/stream",
            SPACING_MS / 2
        );
        let mut results: Vec<(f64, f64, usize, usize)> = Vec::new();
        for (i, (name, _)) in paths.iter().enumerate() {
            let mut deviations = Vec::new();
            let (mut batched, mut short_streams) = (0, 0);
            for stream in &arrivals[i] {
                short_streams += usize::from(stream.len() != events);
                for pair in stream.windows(2) {
                    let gap = pair[1].saturating_sub(pair[0]);
                    batched += usize::from(gap < expected / 2);
                    deviations.push(gap.abs_diff(expected));
                }
            }
            let mean = deviations.iter().map(Duration::as_secs_f64).sum::<f64>()
                / deviations.len().max(1) as f64
                * 1e3;
            let max = deviations.iter().max().copied().unwrap_or_default();
            let max = max.as_secs_f64() * 1e3;
            let complete = if short_streams == 0 {
                format!("{events}")
            } else {
                format!("{short_streams} short!")
            };
            println!(
                "  {name:<22} {:>5} {mean:>10.3} ms {max:>8.3} ms {batched:>12} {complete:>14}",
                deviations.len(),
            );
            results.push((mean, max, batched, short_streams));
        }
        let (direct_mean, direct_max, _, _) = results[0];
        for (i, (name, _)) in paths.iter().enumerate().skip(1) {
            let (mean, max, batched, short) = results[i];
            self.report.add(
                format!("spacing {name}: mean |gap − {SPACING_MS} ms|"),
                format!("{mean:.3} ms (direct {direct_mean:.3})"),
                "< direct + 1 ms",
                Some(mean < direct_mean + 1.0),
            );
            self.report.add(
                format!("spacing {name}: max |gap − {SPACING_MS} ms|"),
                format!("{max:.3} ms (direct {direct_max:.3})"),
                "< direct + 5 ms",
                Some(max < direct_max + 5.0),
            );
            self.report.add(
                format!(
                    "spacing {name}: gaps < {} ms (batched events)",
                    SPACING_MS / 2
                ),
                format!("{batched} (streams cut short: {short})"),
                "0",
                Some(batched == 0 && short == 0),
            );
        }
    }

    /// The fixed-rate figure again, through a separate `switchyard serve`
    /// process (what a user runs) instead of the in-process gateway.
    fn serve_rate(&mut self) {
        let rate = 1000;
        let count = self.settings.count(6000, 200);
        section(&format!(
            "Added latency at {rate} req/s through `switchyard serve` (separate process), OpenAI non-stream, {count} requests per path in two rounds"
        ));
        let home = prepare_home(&self.mock_url);
        let serve = ServeProcess::start(home.path());
        let gateway = Call::new(serve.url("/v1/chat/completions"), API_KEY, openai_body());
        let direct = self.check_and_pair(&gateway, "generateContent", "Hello from the mock");
        let warm = self.settings.count(500, 50);
        for call in [&direct, &gateway] {
            let _ = self
                .client_rt
                .block_on(fixed_rate(&self.client, call, rate, warm));
        }
        let (mut direct_h, mut gateway_h) = (histogram(), histogram());
        let mut notes = Vec::new();
        for round in 1..=2 {
            for (name, call, h) in [
                ("direct", &direct, &mut direct_h),
                ("serve", &gateway, &mut gateway_h),
            ] {
                let run = self
                    .client_rt
                    .block_on(fixed_rate(&self.client, call, rate, count / 2));
                h.add(&run.latency).expect("same bounds");
                notes.push(format!(
                    "  {name}, round {round}: {:.0} req/s, errors {}; {}",
                    run.achieved,
                    run.errors,
                    stalls(&run.slow)
                ));
            }
        }
        Paired::print_block("full answer", &direct_h, &gateway_h);
        for note in notes {
            println!("{note}");
        }
        for (q, name) in QUANTILES {
            self.report.added_ms(
                format!("{rate} req/s through `serve` process, added {name}"),
                Paired::added(&direct_h, &gateway_h, q),
                overhead_target(name),
            );
        }
        drop(serve);
    }

    fn memory(&mut self) {
        let streams = 256;
        let events = 40;
        let delay = 50;
        section(&format!(
            "Memory of `switchyard serve` (separate process): idle, then {streams} concurrent streams ({events} events, {delay} ms apart)"
        ));
        let home = prepare_home(&self.mock_url);
        let serve = ServeProcess::start(home.path());
        let pid = serve.pid();
        std::thread::sleep(Duration::from_secs(2));
        let idle = proc_status_kib(pid, "VmRSS").unwrap_or(0);
        let idle_hwm = proc_status_kib(pid, "VmHWM").unwrap_or(0);
        println!(
            "  idle: VmRSS {} (VmHWM so far {})",
            mib(idle),
            mib(idle_hwm)
        );
        let call = Call::new(
            serve.url(GEMINI_STREAM_PATH),
            API_KEY,
            gemini_stream_body(events, delay),
        );
        // The first request refreshes the token; not part of the peak test.
        let warm = self.client_rt.block_on(timed(&self.client, &call));
        assert!(warm.ok, "a stream through switchyard serve");
        let done = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let sampler = {
            let (done, peak) = (done.clone(), peak.clone());
            std::thread::spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    if let Some(rss) = proc_status_kib(pid, "VmRSS") {
                        peak.fetch_max(rss, Ordering::Relaxed);
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            })
        };
        let client = self.client.clone();
        let (ok, events_seen, elapsed) = self.client_rt.block_on(async move {
            let start = Instant::now();
            let mut all = tokio::task::JoinSet::new();
            for _ in 0..streams {
                let (client, call) = (client.clone(), call.clone());
                all.spawn(async move { event_arrivals(&client, &call).await.len() });
            }
            let (mut ok, mut seen) = (0, 0);
            while let Some(result) = all.join_next().await {
                let count = result.expect("a stream task");
                seen += count;
                ok += usize::from(count == events);
            }
            (ok, seen, start.elapsed())
        });
        done.store(true, Ordering::Relaxed);
        sampler.join().expect("the sampler");
        let peak = peak.load(Ordering::Relaxed);
        let hwm = proc_status_kib(pid, "VmHWM").unwrap_or(0);
        std::thread::sleep(Duration::from_secs(1));
        let after = proc_status_kib(pid, "VmRSS").unwrap_or(0);
        println!(
            "  {streams} streams: {ok} complete ({events_seen} events) in {:.2} s; peak VmRSS sampled {} ; VmHWM {}; VmRSS 1 s after {}",
            elapsed.as_secs_f64(),
            mib(peak),
            mib(hwm),
            mib(after)
        );
        self.report.add(
            "serve RSS idle",
            mib(idle),
            "< 30 MB",
            Some(idle * 1024 < 30_000_000),
        );
        let peak = peak.max(hwm);
        self.report.add(
            format!("serve RSS peak, {streams} concurrent streams"),
            format!("{} ({ok}/{streams} complete)", mib(peak)),
            "< 100 MB",
            Some(peak * 1024 < 100_000_000 && ok == streams),
        );
        // What clients send is kept only in bounded pieces (issue 13 item
        // 5): 300 requests, each naming a new 100 KB model, must not grow
        // the resident (metrics labels, recent list, sessions, log).
        let names = 300;
        let before = proc_status_kib(pid, "VmRSS").unwrap_or(0);
        let url = serve.url("/v1/chat/completions");
        let client = self.client.clone();
        let answered = self.client_rt.block_on(async move {
            let mut answered = 0;
            for n in 0..names {
                let model = format!("{n:06}-{}", "m".repeat(100 * 1024));
                let body = serde_json::json!({
                    "model": model,
                    "messages": [{"role": "user", "content": "hi"}],
                })
                .to_string();
                let call = Call::new(url.clone(), API_KEY, body);
                if call.send(&client).send().await.is_ok() {
                    answered += 1;
                }
            }
            answered
        });
        std::thread::sleep(Duration::from_secs(1));
        let after_names = proc_status_kib(pid, "VmRSS").unwrap_or(0);
        let grown = after_names.saturating_sub(before);
        println!(
            "  {names} requests with unique 100 KB model names ({answered} answered): VmRSS {} → {} (+{})",
            mib(before),
            mib(after_names),
            mib(grown)
        );
        self.report.add(
            format!("serve RSS growth, {names} unique 100 KB model names"),
            format!("+{}", mib(grown)),
            "< +8 MiB",
            Some(grown < 8 * 1024 && answered == names),
        );
        drop(serve);
    }

    fn cold_start(&mut self) {
        let runs = self.settings.count(10, 5);
        section(&format!(
            "Cold start: spawn `switchyard serve` → first 200 from /healthz (polled every 1 ms), {runs} runs"
        ));
        let home = prepare_home(&self.mock_url);
        let mut times = Vec::new();
        for _ in 0..runs {
            let port = free_port();
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let start = Instant::now();
            let mut child = serve_command(home.path(), port)
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn switchyard serve");
            let ready = loop {
                if healthz_ok(addr) {
                    break Some(start.elapsed());
                }
                if start.elapsed() > Duration::from_secs(20) {
                    break None;
                }
                std::thread::sleep(Duration::from_millis(1));
            };
            terminate(&mut child);
            times.push(ready.expect("serve became ready within 20 s"));
        }
        let first = times[0];
        times.sort();
        let median = times[times.len() / 2];
        println!(
            "  first {:.1} ms; min {:.1} ms, median {:.1} ms, max {:.1} ms",
            first.as_secs_f64() * 1e3,
            times[0].as_secs_f64() * 1e3,
            median.as_secs_f64() * 1e3,
            times[times.len() - 1].as_secs_f64() * 1e3
        );
        self.report.add(
            "cold start to /healthz, min / median",
            format!(
                "{:.1} / {:.1} ms",
                times[0].as_secs_f64() * 1e3,
                median.as_secs_f64() * 1e3
            ),
            "< 100 ms",
            Some(median < Duration::from_millis(100)),
        );
    }

    /// A fixed workload against a separate `serve` (for a profiler wrapped
    /// around it with BENCH_SERVE_WRAPPER): sequential OpenAI non-stream
    /// requests, then Anthropic streams.
    fn profile(&mut self) {
        let count = self.settings.count(5000, 10);
        let concurrency = 16;
        section(&format!(
            "Profile workload: {count} OpenAI non-stream, then {count} Anthropic streams (5 events), {concurrency} at a time, through `switchyard serve`"
        ));
        let home = prepare_home(&self.mock_url);
        let serve = ServeProcess::start(home.path());
        let openai = Call::new(serve.url("/v1/chat/completions"), API_KEY, openai_body());
        let anthropic = Call::new(
            serve.url("/v1/messages"),
            API_KEY,
            anthropic_stream_body(5, 0),
        );
        // The first request refreshes the token.
        self.client_rt.block_on(timed(&self.client, &openai));
        for (name, call) in [
            ("OpenAI non-stream", &openai),
            ("Anthropic stream", &anthropic),
        ] {
            let cpu_before = process_cpu_seconds(serve.pid());
            let (rate, errors) =
                self.client_rt
                    .block_on(closed_loop(&self.client, call, concurrency, count));
            let cpu = process_cpu_seconds(serve.pid()) - cpu_before;
            println!(
                "  {name}: {rate:.0} req/s; errors: {errors}; serve CPU per request {:.0} µs",
                cpu / count as f64 * 1e6
            );
        }
        drop(serve);
    }
}

/// CPU time (user + system, s) a process has used so far. Linux; USER_HZ = 100.
fn process_cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    let Some(close) = stat.rfind(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<u64>().ok())
        .sum();
    ticks as f64 / 100.0
}

/// One part of the run, by name.
type Section = fn(&mut Bench);

/// The overhead budget: added p50 < 0.3 ms, p99 < 1 ms; p99.9 is reported only.
fn overhead_target(quantile: &str) -> Option<f64> {
    match quantile {
        "p50" => Some(0.3),
        "p99" => Some(1.0),
        _ => None,
    }
}

fn rounds(rates: &[f64]) -> String {
    rates
        .iter()
        .map(|r| format!("{r:.0}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn main() {
    let settings = Settings::from_env();
    let started = Instant::now();
    println!(
        "Switchyard gateway benchmark: {} cores, load average {} at start, BENCH_SCALE={}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average(),
        settings.scale
    );
    let mock_rt = runtime("rt-mock");
    let (mock_addr, mock) = mock_rt.block_on(start_mock());
    let mock_url = format!("http://{mock_addr}");
    let gateway_rt = runtime("rt-gateway");
    let gateway = gateway_rt.block_on(InProcess::start(bench_config(&mock_url)));
    let client_rt = runtime("rt-client");
    let mut bench = Bench {
        settings,
        mock_url,
        mock,
        gateway,
        gateway_rt,
        client_rt,
        client: http_client(),
        report: Report::default(),
    };
    let sections: [(&str, Section); 9] = [
        ("latency", Bench::latency),
        ("rate", Bench::rate),
        ("serverate", Bench::serve_rate),
        ("throughput", Bench::throughput),
        ("log", Bench::log),
        ("spacing", Bench::spacing),
        ("memory", Bench::memory),
        ("coldstart", Bench::cold_start),
        ("profile", Bench::profile),
    ];
    for (name, run) in sections {
        if bench.settings.wants(name) {
            let start = Instant::now();
            run(&mut bench);
            println!("  [{name}: {:.1} s]", start.elapsed().as_secs_f64());
        }
    }
    println!(
        "\n== Summary (load average {} at end, {:.0} s in all)\n",
        load_average(),
        started.elapsed().as_secs_f64()
    );
    Report::print(&bench.report.rows);
    let Bench {
        gateway,
        gateway_rt,
        ..
    } = bench;
    gateway_rt.block_on(gateway.stop());
    drop(mock_rt);
}
