//! The resident process behind `switchyard`: the gateway, the tray icon,
//! notifications, and the control socket; it starts the window process on
//! demand. The main thread owns the tray (and the clipboard); the gateway,
//! the jobs and the control socket run on a small tokio runtime.
//!
//! The main thread's loop is the platform's: on Linux a plain wait on the
//! tray's channel (the D-Bus tray runs on its own thread, and no X11 or GL
//! library is loaded into the resident); on macOS and Windows a winit event
//! loop with no window, because a status item lives only while AppKit's run
//! loop runs and a notification-area icon gets clicks only while its thread
//! pumps Win32 messages. Either way, each wake-up runs [`MainLoop::tick`].

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use super::control::{
    self, ControlHandler, ControlRequest, ControlResponse, GatewayStatus, ResidentStatus,
};
use super::icons::TrayState;
use super::notify::{Notice, NoticeAction, NotificationPolicy, merge as merge_notices};
use super::tray::{Tray, TrayAction, TrayView};
use crate::config::{Config, Paths};
use crate::desktop::model::{QuotaWindow, binding_window, window_share};
use crate::gateway::{AppState, Gateway, bind};
use crate::store::{AccountStatus, Store, now_unix};

/// How often the config file is checked for changes made by the window or
/// `switchyard config set`.
const CONFIG_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// The running app, shared by the control socket, the tray and the jobs.
pub struct Resident {
    paths: Paths,
    /// Accounts, settings and request history; each gateway run gets a
    /// [`AppState::fresh_run`] of it.
    state: AppState,
    gateway: tokio::sync::Mutex<Option<Gateway>>,
    status: Mutex<GatewayStatus>,
    /// A problem to show beside a running gateway (a rebind that failed).
    problem: Mutex<Option<String>>,
    focus_requests: AtomicU64,
    window: Mutex<Option<std::process::Child>>,
    notifications: Mutex<NotificationPolicy>,
    /// The buttons clicked on notifications (sent from their threads,
    /// handled by the main loop).
    notice_actions: (
        std::sync::mpsc::Sender<NoticeAction>,
        Mutex<std::sync::mpsc::Receiver<NoticeAction>>,
    ),
    /// The app's icon as a PNG file, for notifications (written at start).
    notice_icon: Option<PathBuf>,
    /// A browser sign-in started from the window, hosted here so that
    /// closing the window does not cancel it.
    login: Arc<super::login_host::LoginHost>,
    /// Quits the whole app.
    pub quit: CancellationToken,
}

impl Resident {
    pub fn new(paths: Paths, state: AppState) -> Self {
        let login = {
            let config = state.config.clone();
            super::login_host::LoginHost::new(
                state.store.clone(),
                state.google.clone(),
                move || Ok((**config.load()).clone()),
                || {},
            )
        };
        Self {
            state,
            gateway: tokio::sync::Mutex::new(None),
            status: Mutex::new(GatewayStatus::Stopped),
            problem: Mutex::new(None),
            focus_requests: AtomicU64::new(0),
            window: Mutex::new(None),
            notifications: Mutex::new(NotificationPolicy::default()),
            notice_actions: {
                let (tx, rx) = std::sync::mpsc::channel();
                (tx, Mutex::new(rx))
            },
            notice_icon: write_notice_icon(&paths),
            login,
            paths,
            quit: CancellationToken::new(),
        }
    }

    /// Shows a desktop notification whose buttons come back to the main loop.
    fn show_notice(&self, notice: &Notice) {
        let actions = self.notice_actions.0.clone();
        super::notify::show(notice, self.notice_icon.as_deref(), move |action| {
            let _ = actions.send(action.clone());
        });
    }

    /// Does what a notification's button says.
    fn handle_notice_actions(&self) {
        let clicked: Vec<NoticeAction> = self.notice_actions.1.lock().try_iter().collect();
        for action in clicked {
            match action {
                NoticeAction::OpenAccounts { .. } => self.show_window_on(Some("accounts")),
                NoticeAction::OpenDashboard => self.show_window_on(None),
                NoticeAction::OpenLink { url, .. } => {
                    if let Err(error) = open::that_detached(&url) {
                        tracing::warn!(%error, "cannot open a browser");
                    }
                }
            }
        }
    }

    /// Reaps the window process once it has closed (no zombie left behind
    /// until the next open).
    fn reap_window(&self) {
        let mut window = self.window.lock();
        if window
            .as_mut()
            .is_some_and(|child| !matches!(child.try_wait(), Ok(None)))
        {
            *window = None;
        }
    }

    pub fn config(&self) -> Arc<Config> {
        self.state.config.load_full()
    }

    pub fn gateway_status(&self) -> GatewayStatus {
        self.status.lock().clone()
    }

    /// Starts the gateway on the configured address. A failure (port busy)
    /// is shown in the tray and the window, and notified.
    pub async fn start_gateway(&self) -> Result<(), String> {
        let mut running = self.gateway.lock().await;
        if running.is_some() {
            return Ok(());
        }
        let config = self.config();
        let addr = std::net::SocketAddr::new(config.gateway.listen_ip(), config.gateway.port);
        let started = match bind(addr).await {
            Ok(listener) => {
                Gateway::start(self.state.fresh_run(), listener).map_err(|e| e.to_string())
            }
            Err(error) => Err(error.to_string()),
        };
        match started {
            Ok(gateway) => {
                tracing::info!("gateway listening on http://{}", gateway.addr);
                *self.status.lock() = GatewayStatus::Running {
                    addr: gateway.addr.to_string(),
                };
                *self.problem.lock() = None;
                *running = Some(gateway);
                self.notifications.lock().gateway_started();
                Ok(())
            }
            Err(message) => {
                tracing::error!("{message}");
                *self.status.lock() = GatewayStatus::Failed {
                    message: message.clone(),
                };
                let notice = self
                    .notifications
                    .lock()
                    .gateway_failed(&message, &config.notifications);
                if let Some(notice) = notice {
                    self.show_notice(&notice);
                }
                Err(message)
            }
        }
    }

    /// Stops the gateway and frees its port.
    pub async fn stop_gateway(&self) {
        if let Some(gateway) = self.gateway.lock().await.take() {
            gateway.stop().await;
        }
        *self.status.lock() = GatewayStatus::Stopped;
        *self.problem.lock() = None;
    }

    /// Moves a running gateway to a new address: the new listener first, so a
    /// failed bind leaves the old one serving (and says why).
    async fn rebind(&self, config: &Config) {
        let mut running = self.gateway.lock().await;
        let Some(current) = running.as_ref() else {
            return;
        };
        let addr = std::net::SocketAddr::new(config.gateway.listen_ip(), config.gateway.port);
        if current.addr == addr {
            return;
        }
        match bind(addr).await {
            Ok(listener) => match Gateway::start(self.state.fresh_run(), listener) {
                Ok(next) => {
                    if let Some(previous) = running.replace(next) {
                        previous.stop().await;
                    }
                    tracing::info!("gateway moved to http://{addr}");
                    *self.status.lock() = GatewayStatus::Running {
                        addr: addr.to_string(),
                    };
                    *self.problem.lock() = None;
                }
                Err(error) => *self.problem.lock() = Some(error.to_string()),
            },
            Err(error) => {
                let message = format!("{error}; still serving on {}", current.addr);
                tracing::warn!("{message}");
                *self.problem.lock() = Some(message);
            }
        }
    }

    /// Shows the window: starts the window process, or asks the running one
    /// to come forward.
    pub fn show_window(&self) {
        self.show_window_on(None);
    }

    /// Shows the window; a new one opens on `page` (`accounts`, …).
    fn show_window_on(&self, page: Option<&str>) {
        let mut window = self.window.lock();
        let alive = window
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)));
        if alive {
            self.focus_requests.fetch_add(1, Ordering::SeqCst);
            return;
        }
        let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("switchyard"));
        let mut command = std::process::Command::new(exe);
        command
            .arg("window")
            .env(crate::config::ENV_HOME, self.home_for_child());
        if let Some(page) = page {
            command.env(super::ENV_WINDOW_PAGE, page);
        }
        match command.spawn() {
            Ok(child) => *window = Some(child),
            Err(error) => tracing::error!(%error, "cannot start the window"),
        }
    }

    /// The child must see the same files, whether or not SWITCHYARD_HOME is set.
    fn home_for_child(&self) -> PathBuf {
        match std::env::var_os(crate::config::ENV_HOME).filter(|h| !h.is_empty()) {
            Some(home) => PathBuf::from(home),
            None => self
                .paths
                .db_file
                .parent()
                .map(PathBuf::from)
                .unwrap_or_default(),
        }
    }

    /// Closes the window: asked first (it saves its state), killed if it
    /// has not gone within two seconds.
    fn close_window(&self) {
        let Some(mut child) = self.window.lock().take() else {
            return;
        };
        #[cfg(unix)]
        // A pid we started and have not reaped (the Child is still here), so
        // it cannot name another process.
        if let Some(pid) = i32::try_from(child.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw)
            && rustix::process::kill_process(pid, rustix::process::Signal::TERM).is_ok()
        {
            let deadline = std::time::Instant::now() + Duration::from_secs(2);
            while std::time::Instant::now() < deadline {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// What the tray shows now.
    pub fn tray_view(&self) -> TrayView {
        let config = self.config();
        let accounts = self.state.pool.snapshot();
        let now = now_unix();
        let ready = accounts.iter().filter(|a| a.is_ready(now)).count();
        let status = self.gateway_status();
        let problem = self.problem.lock().clone();
        let (state, line) = tray_headline(&status, ready, accounts.len(), problem.is_some());
        let account_lines = accounts
            .iter()
            .map(|a| {
                let state = match a.status() {
                    AccountStatus::Active => match a.limits(now).first() {
                        Some(limit) if limit.kind == crate::store::LimitKind::QuotaExhausted => {
                            "quota exhausted"
                        }
                        Some(_) => "cooling down",
                        None if a.is_ready(now) => "ready",
                        None => "no quota left",
                    },
                    other => other.label(),
                };
                // The share that matters is the lowest one (4 % on Pro is
                // not hidden by 100 % on Flash).
                let lowest_model = a
                    .quotas()
                    .values()
                    .filter_map(|q| q.remaining)
                    .fold(None, |low: Option<f64>, r| {
                        Some(low.map_or(r, |l| l.min(r)))
                    });
                let name = match a.settings.as_deref() {
                    Some(settings) => format!("{} ({} key)", a.email, settings.kind),
                    None => a.email.clone(),
                };
                match quota_share(a.status(), &a.windows(), lowest_model) {
                    Some(share) => format!("{name} — {state} · {share}"),
                    None => format!("{name} — {state}"),
                }
            })
            .collect();
        TrayView {
            state,
            status_line: match problem {
                Some(problem) => format!("{line} ({problem})"),
                None => line,
            },
            running: matches!(status, GatewayStatus::Running { .. }),
            accounts: account_lines,
            launch_at_login: config.desktop.launch_at_login,
        }
    }

    /// Applies config changes made elsewhere (the window, `config set`).
    async fn watch_config(self: Arc<Self>) {
        let modified =
            |path: &std::path::Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let mut seen: Option<SystemTime> = modified(&self.paths.config_file);
        let mut ticker = tokio::time::interval(CONFIG_CHECK_INTERVAL);
        loop {
            tokio::select! {
                () = self.quit.cancelled() => return,
                _ = ticker.tick() => {}
            }
            let now = modified(&self.paths.config_file);
            if now == seen {
                continue;
            }
            seen = now;
            self.reload_config().await;
        }
    }

    /// Reads the config file again and applies it: at once for everything read
    /// per request, with a rebind when the listening address changed.
    pub async fn reload_config(&self) {
        {
            match std::fs::read_to_string(&self.paths.config_file)
                .map_err(|e| e.to_string())
                .and_then(|text| {
                    Config::from_toml(&text, &self.paths.config_file).map_err(|e| e.to_string())
                }) {
                Ok(config) => {
                    let previous = self.config();
                    self.state.config.store(Arc::new(config.clone()));
                    tracing::info!("settings reloaded");
                    if previous.gateway.port != config.gateway.port
                        || previous.gateway.allow_lan_access != config.gateway.allow_lan_access
                    {
                        self.rebind(&config).await;
                    }
                }
                // A half-edited file is not applied; the running settings stay.
                Err(error) => tracing::warn!(%error, "settings not reloaded"),
            }
        }
    }

    /// Where a running gateway listens, and the last rebind problem.
    pub async fn listening(&self) -> (Option<std::net::SocketAddr>, Option<String>) {
        let addr = self.gateway.lock().await.as_ref().map(|g| g.addr);
        (addr, self.problem.lock().clone())
    }

    /// Turns pool events into desktop notifications.
    async fn notify_events(self: Arc<Self>) {
        use tokio::sync::broadcast::error::RecvError;
        let mut events = self.state.pool.subscribe();
        // What else this poll (or this burst of requests) finds comes
        // within moments: notices are gathered from the first one on, then
        // shown merged, one per account.
        let mut batch = Vec::new();
        let mut deadline: Option<tokio::time::Instant> = None;
        loop {
            let due = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            let event = tokio::select! {
                () = self.quit.cancelled() => return,
                () = due => None,
                event = events.recv() => match event {
                    Ok(event) => Some(event),
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => None,
                },
            };
            let Some(event) = event else {
                deadline = None;
                for notice in merge_notices(std::mem::take(&mut batch)) {
                    self.show_notice(&notice);
                }
                if events.is_closed() {
                    return;
                }
                continue;
            };
            let config = self.config();
            let notice =
                self.notifications
                    .lock()
                    .decide(&event, &config.notifications, now_unix());
            if let Some(notice) = notice {
                batch.push(notice);
                deadline.get_or_insert_with(|| tokio::time::Instant::now() + NOTICE_BATCH);
            }
        }
    }
}

/// How long notices are gathered before they are shown, merged.
const NOTICE_BATCH: Duration = Duration::from_millis(1500);

/// Writes the app's icon where notifications can name it; `None` if it
/// cannot be written (notifications then go without it).
fn write_notice_icon(paths: &Paths) -> Option<PathBuf> {
    let path = paths.db_file.with_file_name("switchyard-64.png");
    let png = super::icons::app_icon_png();
    if std::fs::read(&path).ok().as_deref() != Some(png)
        && let Err(error) = std::fs::write(&path, png)
    {
        tracing::warn!(%error, "cannot write the notification icon");
        return None;
    }
    Some(path)
}

impl ControlHandler for Resident {
    async fn handle(&self, request: ControlRequest) -> ControlResponse {
        match request {
            ControlRequest::Status => ControlResponse::Status(ResidentStatus {
                gateway: self.gateway_status(),
                recent: self.state.recent.newest(300),
                focus_requests: self.focus_requests.load(Ordering::SeqCst),
                login: self.login.view(),
                login_result: self.login.result(),
            }),
            ControlRequest::StartLogin { client, project } => {
                match self.login.start(&client, project).await {
                    Ok(view) => ControlResponse::Login(view),
                    Err(error) => ControlResponse::Error { error },
                }
            }
            ControlRequest::SubmitLoginCode(pasted) => match self.login.paste(pasted).await {
                Ok(()) => ControlResponse::Done { ok: true },
                Err(error) => ControlResponse::Error { error },
            },
            ControlRequest::CancelLogin => {
                self.login.cancel();
                ControlResponse::Done { ok: true }
            }
            ControlRequest::StartGateway => match self.start_gateway().await {
                Ok(()) => ControlResponse::Done { ok: true },
                Err(error) => ControlResponse::Error { error },
            },
            ControlRequest::StopGateway => {
                self.stop_gateway().await;
                ControlResponse::Done { ok: true }
            }
            ControlRequest::ClearRecent => {
                self.state.recent.clear();
                ControlResponse::Done { ok: true }
            }
            ControlRequest::ShowWindow => {
                self.show_window();
                ControlResponse::Done { ok: true }
            }
            ControlRequest::Quit => {
                self.quit.cancel();
                ControlResponse::Done { ok: true }
            }
        }
    }
}

/// Runs the desktop app until Quit. `hidden`: start without the window.
pub fn run(paths: &Paths, hidden: bool) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let socket = control::socket_path(&paths.db_file);
    if runtime
        .block_on(control::send(&socket, &ControlRequest::ShowWindow))
        .is_ok()
    {
        println!("Switchyard is already running: its window was brought forward.");
        return Ok(());
    }
    let config = Config::load_or_init(&paths.config_file)?;
    let store = Store::open(&paths.db_file)?;
    let start_hidden = hidden || config.desktop.start_hidden;
    let start_gateway = config.gateway.start_with_app;
    let state = runtime.block_on(AppState::new(config, store))?;
    let resident = Arc::new(Resident::new(paths.clone(), state));

    let control_resident = resident.clone();
    let control_quit = resident.quit.clone();
    runtime.spawn(async move {
        if let Err(error) = control::serve(socket, control_resident, control_quit.clone()).await {
            tracing::error!(%error, "control socket stopped");
        }
    });
    runtime.spawn(resident.clone().watch_config());
    runtime.spawn(resident.clone().notify_events());
    let signal_quit = resident.quit.clone();
    let signal = runtime.block_on(async { crate::cli::ShutdownSignal::install() });
    runtime.spawn(async move {
        signal.wait().await;
        signal_quit.cancel();
    });
    if start_gateway {
        let _ = runtime.block_on(resident.start_gateway());
    }
    if !start_hidden {
        resident.show_window();
    }

    let (actions_tx, actions) = std::sync::mpsc::channel::<TrayAction>();
    let main = MainLoop {
        clipboard: arboard::Clipboard::new().ok(),
        last_view: resident.tray_view(),
        resident: resident.clone(),
        runtime,
        actions,
        actions_tx,
        tray: None,
    };
    let main = drive(main)?;
    tracing::info!("quitting");
    resident.close_window();
    main.runtime.block_on(resident.stop_gateway());
    let MainLoop { runtime, tray, .. } = main;
    drop(tray);
    runtime.shutdown_timeout(Duration::from_secs(2));
    Ok(())
}

/// How long the main loop sleeps when nothing happens (tray view changes
/// made elsewhere show within this).
const TICK: Duration = Duration::from_millis(500);

/// The main thread's state between wake-ups.
struct MainLoop {
    runtime: tokio::runtime::Runtime,
    resident: Arc<Resident>,
    actions: std::sync::mpsc::Receiver<TrayAction>,
    actions_tx: std::sync::mpsc::Sender<TrayAction>,
    tray: Option<Tray>,
    clipboard: Option<arboard::Clipboard>,
    last_view: TrayView,
}

impl MainLoop {
    /// Registers the tray icon. It is optional: without a session bus or
    /// tray host the app runs on, reachable through the window and a second
    /// launch.
    fn start_tray(&mut self, wake: impl Fn() + Send + Sync + 'static) {
        match Tray::new(&self.last_view, self.actions_tx.clone(), wake) {
            Ok(tray) => self.tray = Some(tray),
            Err(error) => tracing::warn!("no tray icon ({error}); the app runs on without one"),
        }
    }

    /// Handles the tray clicks that arrived, then shows the tray's view if
    /// it changed.
    fn tick(&mut self) {
        self.resident.reap_window();
        self.resident.handle_notice_actions();
        while let Ok(action) = self.actions.try_recv() {
            handle_action(
                &self.runtime,
                &self.resident,
                action,
                self.clipboard.as_mut(),
            );
        }
        let view = self.resident.tray_view();
        if view != self.last_view {
            if let Some(tray) = self.tray.as_mut() {
                tray.update(&view);
            }
            self.last_view = view;
        }
    }

    fn quitting(&self) -> bool {
        self.resident.quit.is_cancelled()
    }
}

/// Linux: the tray's D-Bus service runs on its own thread; the main thread
/// waits on the tray's channel (a click wakes it at once) or the tick.
#[cfg(target_os = "linux")]
fn drive(mut main: MainLoop) -> anyhow::Result<MainLoop> {
    main.start_tray(|| {});
    while !main.quitting() {
        if let Ok(action) = main.actions.recv_timeout(TICK) {
            handle_action(
                &main.runtime,
                &main.resident,
                action,
                main.clipboard.as_mut(),
            );
        }
        main.tick();
    }
    Ok(main)
}

/// macOS and Windows: a winit event loop without windows runs on the main
/// thread (AppKit's run loop, the Win32 message pump); the tray is made once
/// it runs, tray clicks and a quit wake it, and every wake-up ticks.
#[cfg(not(target_os = "linux"))]
fn drive(main: MainLoop) -> anyhow::Result<MainLoop> {
    use winit::application::ApplicationHandler;
    use winit::event::{StartCause, WindowEvent};
    use winit::event_loop::{ActiveEventLoop, ControlFlow, EventLoop, EventLoopProxy};
    use winit::window::WindowId;

    struct App {
        main: MainLoop,
        proxy: EventLoopProxy<()>,
    }

    impl ApplicationHandler for App {
        fn new_events(&mut self, _: &ActiveEventLoop, cause: StartCause) {
            // macOS wants the status item made from inside the running loop.
            if cause == StartCause::Init {
                let proxy = self.proxy.clone();
                self.main.start_tray(move || {
                    let _ = proxy.send_event(());
                });
            }
        }

        fn resumed(&mut self, _: &ActiveEventLoop) {}

        fn window_event(&mut self, _: &ActiveEventLoop, _: WindowId, _: WindowEvent) {}

        fn about_to_wait(&mut self, event_loop: &ActiveEventLoop) {
            self.main.tick();
            if self.main.quitting() {
                event_loop.exit();
            } else {
                event_loop
                    .set_control_flow(ControlFlow::WaitUntil(std::time::Instant::now() + TICK));
            }
        }
    }

    let mut builder = EventLoop::builder();
    #[cfg(target_os = "macos")]
    {
        // An accessory: no Dock icon, as LSUIElement does for the bundle.
        use winit::platform::macos::{ActivationPolicy, EventLoopBuilderExtMacOS};
        builder.with_activation_policy(ActivationPolicy::Accessory);
    }
    let event_loop = builder
        .build()
        .context("cannot start the platform's event loop")?;
    let proxy = event_loop.create_proxy();
    // A quit from the control socket or a signal wakes the loop at once.
    let quit = main.resident.quit.clone();
    let waker = proxy.clone();
    main.runtime.spawn(async move {
        quit.cancelled().await;
        let _ = waker.send_event(());
    });
    let mut app = App { main, proxy };
    event_loop
        .run_app(&mut app)
        .context("the platform's event loop failed")?;
    Ok(app.main)
}

fn handle_action(
    runtime: &tokio::runtime::Runtime,
    resident: &Arc<Resident>,
    action: TrayAction,
    clipboard: Option<&mut arboard::Clipboard>,
) {
    match action {
        TrayAction::ToggleGateway => {
            if matches!(resident.gateway_status(), GatewayStatus::Running { .. }) {
                runtime.block_on(resident.stop_gateway());
            } else {
                let _ = runtime.block_on(resident.start_gateway());
            }
        }
        TrayAction::CopyBaseUrl | TrayAction::CopyApiKey => {
            let config = resident.config();
            let text = if action == TrayAction::CopyBaseUrl {
                format!("http://127.0.0.1:{}", config.gateway.port)
            } else {
                config.gateway.api_key.clone()
            };
            match clipboard {
                Some(clipboard) => {
                    if let Err(error) = clipboard.set_text(text) {
                        tracing::warn!(%error, "cannot copy");
                    }
                }
                None => tracing::warn!("no clipboard available"),
            }
        }
        TrayAction::OpenWindow => resident.show_window(),
        TrayAction::ToggleLaunchAtLogin => {
            let enable = !resident.config().desktop.launch_at_login;
            if let Err(error) = super::set_launch_at_login(&resident.paths, enable) {
                tracing::warn!(%error, "cannot change launch at login");
            }
        }
        TrayAction::Quit => resident.quit.cancel(),
    }
}

/// The share a tray line shows: the binding window of an account with quota
/// windows (`Gemini weekly 60%`), else its best model's share (`75%`); none
/// for an account Google no longer serves (its quota does not matter).
/// The icon and the first menu line: running only while every account is
/// ready; no account at all is degraded too, and says what to do.
fn tray_headline(
    status: &GatewayStatus,
    ready: usize,
    total: usize,
    problem: bool,
) -> (TrayState, String) {
    match status {
        GatewayStatus::Running { addr } => (
            if ready < total || total == 0 || problem {
                TrayState::Degraded
            } else {
                TrayState::Running
            },
            if total == 0 {
                format!("Gateway running on {addr} · add an account to serve requests")
            } else {
                format!("Gateway running on {addr} · {ready}/{total} accounts ready")
            },
        ),
        GatewayStatus::Stopped => (TrayState::Stopped, "Gateway stopped".to_owned()),
        GatewayStatus::Failed { message } => {
            (TrayState::Error, format!("Gateway failed: {message}"))
        }
    }
}

fn quota_share(
    status: AccountStatus,
    windows: &[QuotaWindow],
    lowest_model: Option<f64>,
) -> Option<String> {
    match status {
        AccountStatus::ClientRetired | AccountStatus::Suspended => None,
        _ if !windows.is_empty() => binding_window(windows).map(window_share),
        _ => lowest_model.map(|low| format!("{:.0}%", low * 100.0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_account_is_degraded_and_says_what_to_do() {
        let running = GatewayStatus::Running {
            addr: "127.0.0.1:8045".parse().unwrap(),
        };
        let (state, line) = tray_headline(&running, 0, 0, false);
        assert_eq!(state, TrayState::Degraded);
        assert!(line.ends_with("add an account to serve requests"), "{line}");
        assert_eq!(tray_headline(&running, 2, 2, false).0, TrayState::Running);
        assert_eq!(tray_headline(&running, 1, 2, false).0, TrayState::Degraded);
        assert_eq!(tray_headline(&running, 2, 2, true).0, TrayState::Degraded);
    }

    #[test]
    fn a_tray_line_shows_the_binding_window_or_the_lowest_model() {
        let windows = [
            QuotaWindow {
                group: "gemini".to_owned(),
                window: "5h".to_owned(),
                remaining_fraction: Some(0.9),
                reset_at: None,
            },
            QuotaWindow {
                group: "gemini".to_owned(),
                window: "weekly".to_owned(),
                remaining_fraction: Some(0.6),
                reset_at: None,
            },
        ];
        assert_eq!(
            quota_share(AccountStatus::Active, &windows, Some(1.0)).as_deref(),
            Some("Gemini weekly 60%")
        );
        assert_eq!(
            quota_share(AccountStatus::Active, &[], Some(0.75)).as_deref(),
            Some("75%")
        );
        assert_eq!(
            quota_share(AccountStatus::Suspended, &windows, Some(1.0)),
            None
        );
        assert_eq!(
            quota_share(AccountStatus::ClientRetired, &[], Some(1.0)),
            None
        );
    }
}
