//! The HTTP gateway: routes per protocol, access control, per-protocol errors,
//! and the relay that runs each request against the pool.
//!
//! `router(state)` builds the app and `Gateway::start` serves it on a listener
//! with its background jobs; `switchyard serve`, the desktop app and the tests
//! all go through these two. Handlers stay thin: translation lives in
//! `protocol`, account choice in `pool`, upstream calls in `upstream`.

mod access;
mod anthropic;
mod error;
mod extract;
mod gemini;
mod log_sink;
pub mod metrics;
mod models;
mod openai;
mod passthrough;
pub mod port_holder;
pub mod recent;
pub mod record;
pub(crate) mod relay;
mod respond;
pub mod signatures;
mod sse;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use access::is_loopback_host;
pub use error::{ErrorKind, Failed, GatewayError, Protocol};
pub use models::{glob_matches, upstream_model};
pub use openai::MODEL_HEADER;

use crate::config::Config;
use crate::pool::Pool;
use crate::store::{Store, StoreError};
use crate::upstream::UpstreamError;
use crate::upstream::google::GoogleClient;

/// Everything a request handler can reach. Cheap to clone: one shared
/// allocation (each request clones the state several times — middleware,
/// extractor, stream end — so one atomic increment instead of one per field).
#[derive(Clone)]
pub struct AppState(Arc<AppStateInner>);

impl std::ops::Deref for AppState {
    type Target = AppStateInner;
    fn deref(&self) -> &AppStateInner {
        &self.0
    }
}

/// The fields of [`AppState`], reached through it.
#[derive(Clone)]
pub struct AppStateInner {
    /// Live settings: loaded once per request, swapped whole on change.
    pub config: Arc<ArcSwap<Config>>,
    pub pool: Arc<Pool>,
    pub store: Store,
    pub google: GoogleClient,
    /// API-key upstreams (same connection pool as `google`).
    pub keyed: crate::upstream::keyed::KeyedClient,
    /// Cancelled when the gateway stops; open streams end with an error event.
    pub shutdown: CancellationToken,
    /// Asks the quota job to read an account's quota now (after a quota error).
    pub quota_refresh: tokio::sync::mpsc::UnboundedSender<i64>,
    /// The latest requests, for the window's live list.
    pub recent: Arc<recent::RecentRequests>,
    pub metrics: Arc<metrics::Metrics>,
    /// Which model family issued each thought signature relayed.
    pub signatures: Arc<signatures::SignatureBook>,
    /// Finished requests, on their way to the database.
    pub log: log_sink::LogSink,
    /// The other end, taken by the log writer when the gateway starts.
    pub log_entries:
        Arc<parking_lot::Mutex<Option<tokio::sync::mpsc::Receiver<crate::store::LogEntry>>>>,
    /// The other end, taken by the quota job when the gateway starts.
    pub quota_refresh_requests:
        Arc<parking_lot::Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<i64>>>>,
    /// The pool's changes on their way to the database, in order: taken by
    /// the writer job when the gateway starts.
    pub write_queue: Arc<
        parking_lot::Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<crate::store::StoreWrite>>>,
    >,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error(
        "cannot listen on {addr}: the port is already in use{}; choose another port \
         (`--port N`, `switchyard config set gateway.port N`, or Port on the window's \
         API Proxy page)",
        holder_text(holder.as_ref())
    )]
    PortBusy {
        addr: SocketAddr,
        /// Who holds it, when that can be found.
        holder: Option<port_holder::PortHolder>,
    },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

impl AppState {
    /// State over `store`, with the pool loaded from it.
    pub async fn new(config: Config, store: Store) -> Result<Self, StartError> {
        let google = GoogleClient::new()?;
        Self::with_client(config, store, google).await
    }

    pub async fn with_client(
        config: Config,
        store: Store,
        google: GoogleClient,
    ) -> Result<Self, StartError> {
        let pool = Arc::new(Pool::new());
        let now = crate::store::now_unix();
        let (records, quotas, limits) = store
            .run(move |s| Ok((s.accounts()?, s.quotas()?, s.limits(now)?)))
            .await?;
        pool.load(&records, &quotas, &limits);
        let (quota_refresh, requests) = tokio::sync::mpsc::unbounded_channel();
        let (log, log_entries) = log_sink::LogSink::new();
        let (writes, write_queue) = tokio::sync::mpsc::unbounded_channel();
        pool.attach(crate::pool::Sink {
            store: store.clone(),
            writes,
            quota_refresh: quota_refresh.clone(),
        });
        Ok(Self(Arc::new(AppStateInner {
            write_queue: Arc::new(parking_lot::Mutex::new(Some(write_queue))),
            config: Arc::new(ArcSwap::from_pointee(config)),
            pool,
            store,
            keyed: crate::upstream::keyed::KeyedClient::new(google.http()),
            google,
            shutdown: CancellationToken::new(),
            quota_refresh,
            recent: Arc::new(recent::RecentRequests::default()),
            metrics: Arc::new(metrics::Metrics::default()),
            signatures: Arc::new(signatures::SignatureBook::default()),
            log,
            log_entries: Arc::new(parking_lot::Mutex::new(Some(log_entries))),
            quota_refresh_requests: Arc::new(parking_lot::Mutex::new(Some(requests))),
        })))
    }
}

impl AppState {
    /// The same accounts, settings and request history for a new run of the
    /// gateway (after a stop, or to rebind): a fresh shutdown token and quota
    /// channel, since the previous run consumed both.
    pub fn fresh_run(&self) -> Self {
        let (quota_refresh, requests) = tokio::sync::mpsc::unbounded_channel();
        let (log, log_entries) = log_sink::LogSink::new();
        let (writes, write_queue) = tokio::sync::mpsc::unbounded_channel();
        self.pool.attach(crate::pool::Sink {
            store: self.store.clone(),
            writes,
            quota_refresh: quota_refresh.clone(),
        });
        Self(Arc::new(AppStateInner {
            write_queue: Arc::new(parking_lot::Mutex::new(Some(write_queue))),
            shutdown: CancellationToken::new(),
            quota_refresh,
            quota_refresh_requests: Arc::new(parking_lot::Mutex::new(Some(requests))),
            log,
            log_entries: Arc::new(parking_lot::Mutex::new(Some(log_entries))),
            ..AppStateInner::clone(&self.0)
        }))
    }
}

/// The whole HTTP app.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health))
        .route("/metrics", get(metrics_text))
        // Claude Code probes these before its first request.
        .route("/", get(health))
        .route("/api/hello", get(health))
        .route("/v1/chat/completions", post(openai::chat_completions))
        .route("/v1/completions", post(openai::completions))
        .route("/v1/responses", post(openai::responses))
        .route("/v1/messages", post(anthropic::messages))
        .route("/v1/messages/count_tokens", post(anthropic::count_tokens))
        .route("/v1/models", get(openai::list_models))
        .route(
            "/v1/models/{model}",
            get(gemini::get_model).post(gemini::model_action),
        )
        .route("/v1beta/models", get(gemini::list_models))
        .route(
            "/v1beta/models/{model}",
            get(gemini::get_model).post(gemini::model_action),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            access::guard,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            record::track,
        ))
        // `ClientJson` applies gateway.max_body_mb itself, per request.
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

async fn health() -> Response {
    axum::Json(json!({ "status": "ok", "version": crate::VERSION })).into_response()
}

/// `GET /metrics`: Prometheus text format (behind the gateway's auth).
async fn metrics_text(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(&state.pool),
    )
        .into_response()
}

async fn not_found(request: Request) -> Response {
    let path = request.uri().path().to_owned();
    GatewayError::new(
        axum::http::StatusCode::NOT_FOUND,
        ErrorKind::NotFound,
        format!("no route for {} {path}", request.method()),
    )
    .with_code("unknown_route")
    .in_protocol(Protocol::for_path(&path))
    .into_response()
}

/// A known route asked with the wrong method (OPTIONS from a page whose
/// origin is not allowed included): 405 in the route's protocol.
async fn method_not_allowed(request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let allowed = if path.starts_with("/v1/models/") || path.starts_with("/v1beta/models/") {
        "GET, POST"
    } else if matches!(
        path.as_str(),
        "/healthz" | "/metrics" | "/" | "/api/hello" | "/v1/models" | "/v1beta/models"
    ) {
        "GET"
    } else {
        "POST"
    };
    let mut response = GatewayError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        ErrorKind::InvalidRequest,
        format!("{} {path}: use {allowed}", request.method()),
    )
    .with_code("method_not_allowed")
    .in_protocol(Protocol::for_path(&path))
    .into_response();
    if let Ok(value) = axum::http::HeaderValue::from_str(allowed) {
        response
            .headers_mut()
            .insert(axum::http::header::ALLOW, value);
    }
    response
}

/// " by another Switchyard (pid 12)", " by nginx (pid 40)", or nothing.
fn holder_text(holder: Option<&port_holder::PortHolder>) -> String {
    match holder {
        Some(holder) if holder.is_switchyard() => {
            format!(" by another Switchyard (pid {})", holder.pid)
        }
        Some(holder) => format!(
            " by another program, {} (pid {})",
            if holder.name.is_empty() {
                "unnamed"
            } else {
                &holder.name
            },
            holder.pid
        ),
        None => String::new(),
    }
}

/// Binds the gateway's listener, with an error that says what to do when the
/// port is taken.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr).await.map_err(|source| {
        if source.kind() == std::io::ErrorKind::AddrInUse {
            StartError::PortBusy {
                addr,
                holder: port_holder::port_holder(addr.port()),
            }
        } else {
            StartError::Bind { addr, source }
        }
    })
}

/// A client has this long to send a request's headers, and a kept-alive
/// connection this long to start its next request: slow or idle connections
/// cannot pile up (anyone on the network could, with LAN access).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Open connections at most; more are closed at once. Kept well below the
/// open-file limit so the gateway can still open files and reach Google.
fn connection_limit() -> usize {
    #[cfg(unix)]
    {
        // The soft limit is often 1,024; the hard one much higher.
        let _ = rlimit::increase_nofile_limit(u64::MAX);
        if let Ok((soft, _)) = rlimit::getrlimit(rlimit::Resource::NOFILE) {
            let soft = usize::try_from(soft).unwrap_or(usize::MAX);
            return soft.saturating_sub(256).clamp(64, 16_384);
        }
    }
    4_096
}

/// Accepts connections until `shutdown`, each served by hyper with the
/// header/idle timeout, within the connection limit; then lets the open ones
/// finish (the caller bounds how long).
async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: CancellationToken,
    tasks: TaskTracker,
) {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    let limit = Arc::new(tokio::sync::Semaphore::new(connection_limit()));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(30)));
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (tcp, remote) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors, say: wait a little instead of spinning.
                tracing::warn!(%error, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            tracing::warn!(%remote, "too many open connections: closing a new one");
            continue;
        };
        // Server-sent events go out as small writes; without TCP_NODELAY each
        // one after the first waits for the client's delayed ACK (~40 ms).
        let _ = tcp.set_nodelay(true);
        let service = tower::ServiceBuilder::new()
            .layer(axum::Extension(axum::extract::ConnectInfo(remote)))
            .service(app.clone());
        let service = hyper_util::service::TowerToHyperService::new(service);
        let builder = builder.clone();
        let watcher = graceful.watcher();
        tasks.spawn(async move {
            // hyper's header timeout starts with the first byte: a connection
            // that never sends one is closed here.
            let mut first = [0u8; 1];
            if !matches!(
                tokio::time::timeout(HEADER_TIMEOUT, tcp.peek(&mut first)).await,
                Ok(Ok(1..))
            ) {
                drop(permit);
                return;
            }
            let connection = builder
                .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                .into_owned();
            if let Err(error) = watcher.watch(connection).await {
                tracing::debug!(%error, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// A running gateway: the server and its background jobs.
pub struct Gateway {
    pub addr: SocketAddr,
    state: AppState,
    tasks: TaskTracker,
}

/// How long open connections get to finish after a stop.
const STOP_GRACE: Duration = Duration::from_secs(5);

impl Gateway {
    /// Serves `router(state)` on `listener` and starts the background jobs.
    pub fn start(state: AppState, listener: TcpListener) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let tasks = TaskTracker::new();
        let app = router(state.clone());
        let shutdown = state.shutdown.clone();
        tasks.spawn(serve(listener, app, shutdown, tasks.clone()));
        crate::jobs::spawn(&state, &tasks);
        tasks.close();
        Ok(Self { addr, state, tasks })
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops accepting, ends open streams with an error event, waits for the
    /// jobs, and frees the port.
    pub async fn stop(self) {
        self.state.shutdown.cancel();
        if tokio::time::timeout(STOP_GRACE, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("some connections did not close within {STOP_GRACE:?}");
        }
    }
}
