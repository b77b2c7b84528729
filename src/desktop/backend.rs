//! The window process's backend: builds [`Snapshot`]s from the store, the
//! config file and the resident (over the control socket), and runs the
//! [`Command`]s the pages collect. It runs on a tokio runtime beside the UI
//! thread and wakes the UI with `request_repaint` when a new snapshot is out.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{mpsc, watch};

use super::control::{self, ControlRequest, ControlResponse, GatewayStatus};
use super::model::{
    AccountView, Command, Field, GatewayState, GatewayView, LoginView, Notice, PathsView,
    QuotaView, RequestView, Snapshot, TodayView, UpstreamView,
};
use crate::accounts::{self, AddAccountError, AddedAccount, transfer};
use crate::config::{Config, Paths};
use crate::secret::Secret;
use crate::store::{Store, now_unix};
use crate::upstream::google::GoogleClient;

/// How often the window's data is refreshed when nothing happens.
const REFRESH_INTERVAL: Duration = Duration::from_secs(1);

pub struct Backend {
    paths: Paths,
    store: Store,
    google: GoogleClient,
    keyed: crate::upstream::keyed::KeyedClient,
    socket: PathBuf,
    /// A sign-in hosted here, when no resident runs to host it (the
    /// resident's outlives the window).
    local_login: Arc<super::login_host::LoginHost>,
    /// Whether the sign-in in progress is the resident's.
    remote_login: std::sync::atomic::AtomicBool,
    /// The last sign-in results said, the resident's and the local one's.
    login_results_seen: Mutex<(u64, u64)>,
    /// Wakes the run loop to publish (a local sign-in moved on).
    wake: Arc<tokio::sync::Notify>,
    notice: Mutex<Option<Notice>>,
    /// The last file chosen in a file dialog.
    picked: Mutex<Option<(u64, Field, PathBuf)>>,
    /// The last notice's number.
    notice_seq: std::sync::atomic::AtomicU64,
    snapshots: watch::Sender<Snapshot>,
    focus_seen: Mutex<Option<u64>>,
    /// Hourly usage for the Token Stats page, re-read from the store now and
    /// then (with when it was read).
    usage: Mutex<(
        Arc<Vec<super::model::UsageBucket>>,
        Option<std::time::Instant>,
    )>,
}

/// How often the Token Stats data is re-read.
const USAGE_REFRESH: Duration = Duration::from_secs(60);

impl Backend {
    pub fn new(
        paths: Paths,
        store: Store,
        google: GoogleClient,
        snapshots: watch::Sender<Snapshot>,
    ) -> Arc<Self> {
        let wake = Arc::new(tokio::sync::Notify::new());
        let local_login = {
            let config_file = paths.config_file.clone();
            let wake = wake.clone();
            super::login_host::LoginHost::new(
                store.clone(),
                google.clone(),
                move || Config::load_or_init(&config_file).map_err(|e| e.to_string()),
                move || wake.notify_one(),
            )
        };
        Arc::new(Self {
            socket: control::socket_path(&paths.db_file),
            paths,
            store,
            keyed: crate::upstream::keyed::KeyedClient::new(google.http()),
            google,
            local_login,
            remote_login: std::sync::atomic::AtomicBool::new(false),
            login_results_seen: Mutex::new((0, 0)),
            wake,
            notice: Mutex::new(None),
            picked: Mutex::new(None),
            notice_seq: std::sync::atomic::AtomicU64::new(0),
            snapshots,
            focus_seen: Mutex::new(None),
            usage: Mutex::new((Arc::new(Vec::new()), None)),
        })
    }

    /// Refreshes the snapshot every second and after each command, until the
    /// command channel closes (the window is gone).
    pub async fn run(
        self: Arc<Self>,
        mut commands: mpsc::UnboundedReceiver<Command>,
        ctx: egui::Context,
    ) {
        let mut ticker = tokio::time::interval(REFRESH_INTERVAL);
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    Some(command) => self.clone().execute(command, ctx.clone()).await,
                    None => return,
                },
                _ = ticker.tick() => {}
                () = self.wake.notified() => {}
            }
            self.publish(&ctx).await;
        }
    }

    /// Says what adding or signing in an account did.
    fn say_added(&self, result: Result<AddedAccount, AddAccountError>) {
        let (error, text) = super::login_host::added_text(result);
        self.say(error, text);
    }

    /// A new notice (the window shows it once).
    fn say(&self, error: bool, text: impl Into<String>) {
        let seq = self
            .notice_seq
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        *self.notice.lock() = Some(Notice::new(seq, error, text));
    }

    /// A new notice about one input (shown next to it).
    fn say_about(&self, field: Field, error: bool, text: impl Into<String>) {
        self.say(error, text);
        if let Some(notice) = self.notice.lock().as_mut() {
            notice.field = Some(field);
        }
    }

    /// A notice that the periodic refresh may find again and again (a broken
    /// config file): said once while it stays the same.
    fn say_once(&self, error: bool, text: impl Into<String>) {
        let text = text.into();
        let same = self
            .notice
            .lock()
            .as_ref()
            .is_some_and(|n| n.error == error && n.text == text);
        if !same {
            self.say(error, text);
        }
    }

    fn config(&self) -> Result<Config, String> {
        Config::load_or_init(&self.paths.config_file).map_err(|e| e.to_string())
    }

    /// Builds a new snapshot and wakes the UI.
    pub async fn publish(&self, ctx: &egui::Context) {
        let (snapshot, focus) = self.snapshot().await;
        let _ = self.snapshots.send(snapshot);
        if let Some(focus) = focus {
            let mut seen = self.focus_seen.lock();
            if seen.is_some_and(|s| s < focus) {
                ctx.send_viewport_cmd(egui::ViewportCommand::Visible(true));
                ctx.send_viewport_cmd(egui::ViewportCommand::Minimized(false));
                ctx.send_viewport_cmd(egui::ViewportCommand::Focus);
            }
            *seen = Some(focus);
        }
        ctx.request_repaint();
    }

    /// The snapshot, and the resident's count of requests to bring the
    /// window forward.
    pub async fn snapshot(&self) -> (Snapshot, Option<u64>) {
        let now = now_unix();
        let config = match self.config() {
            Ok(config) => config,
            Err(error) => {
                self.say_once(true, error);
                Config::default()
            }
        };
        let store = self.store.clone();
        let data = store
            .run(move |s| Ok((s.accounts()?, s.quotas()?, s.limits(now)?)))
            .await;
        let upstreams = match &data {
            Ok((records, _, limits)) => records
                .iter()
                .filter_map(|record| {
                    let settings = record.settings.as_ref()?;
                    Some(UpstreamView {
                        id: record.id,
                        name: record.email.clone(),
                        kind: settings.kind,
                        base_url: settings.base_url.clone(),
                        priority: settings.priority,
                        status: record.status,
                        status_line: accounts::describe_status(record, limits, now),
                        models: match &record.catalog {
                            Some(catalog) => catalog
                                .models
                                .iter()
                                .map(|m| m.id.clone())
                                .filter(|m| settings.allows(m))
                                .collect(),
                            None => settings.models.clone(),
                        },
                        last_used_at: record.last_used_at,
                    })
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        let accounts = match data {
            Ok((records, quotas, limits)) => records
                .iter()
                .filter(|record| record.is_google())
                .map(|record| AccountView {
                    id: record.id,
                    email: record.email.clone(),
                    tier: record.tier.clone(),
                    status: record.status,
                    status_line: accounts::describe_status(record, &limits, now),
                    reason: record.status_reason.clone(),
                    link: record.status_link.clone(),
                    oauth_client: record.oauth_client.clone(),
                    project: record.project_id.clone(),
                    windows: record.windows.clone(),
                    models_offered: record.catalog.as_ref().map(|c| c.models.len()),
                    quotas: quotas
                        .iter()
                        .filter(|(id, _)| *id == record.id)
                        .map(|(_, q)| {
                            // A quota error is fresher than the last quota read.
                            let exhausted = limits.iter().find(|l| {
                                l.account_id == record.id
                                    && l.kind == crate::store::LimitKind::QuotaExhausted
                                    && l.model.as_deref().is_none_or(|m| m == q.model)
                            });
                            QuotaView {
                                model: q.model.clone(),
                                remaining: if exhausted.is_some() {
                                    Some(0.0)
                                } else {
                                    q.remaining_fraction
                                },
                                resets_at: exhausted.map(|l| l.until).or(q.reset_at),
                            }
                        })
                        .collect(),
                    last_used_at: record.last_used_at,
                })
                .collect(),
            Err(error) => {
                self.say_once(true, error.to_string());
                Vec::new()
            }
        };
        let (gateway_state, recent, focus, remote_login) =
            match control::send(&self.socket, &ControlRequest::Status).await {
                Ok(ControlResponse::Status(status)) => (
                    match status.gateway {
                        GatewayStatus::Running { .. } => GatewayState::Running,
                        GatewayStatus::Stopped => GatewayState::Stopped,
                        GatewayStatus::Failed { message } => GatewayState::Failed(message),
                    },
                    status.recent,
                    Some(status.focus_requests),
                    Some((status.login, status.login_result)),
                ),
                _ => (
                    GatewayState::Failed(
                        "Switchyard is not running: start it with `switchyard`".to_owned(),
                    ),
                    Vec::new(),
                    None,
                    None,
                ),
            };
        let login = self.login_state(remote_login);
        let midnight_ms = chrono::Local::now()
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(chrono::Local).single())
            .map(|t| t.timestamp_millis())
            .unwrap_or(0);
        let today = recent.iter().filter(|r| r.at_ms >= midnight_ms).fold(
            TodayView::default(),
            |mut t, r| {
                t.requests += 1;
                t.errors += u64::from(r.status >= 400);
                t.tokens += r.input_tokens + r.output_tokens;
                t
            },
        );
        let port = config.gateway.port;
        let usage = self.usage().await;
        let snapshot = Snapshot {
            gateway: GatewayView {
                state: gateway_state,
                base_url: format!("http://127.0.0.1:{port}"),
                lan_url: config
                    .gateway
                    .allow_lan_access
                    .then(|| format!("http://<this machine's address>:{port}")),
            },
            accounts,
            upstreams,
            recent,
            today,
            paths: PathsView {
                config_file: self.paths.config_file.clone(),
                data_file: self.paths.db_file.clone(),
            },
            login,
            launch_at_login: super::autostart::Autostart::for_current_exe()
                .and_then(|a| a.is_enabled())
                .unwrap_or(config.desktop.launch_at_login),
            usage,
            config,
            notice: self.notice.lock().clone(),
            picked: self.picked.lock().clone(),
            now,
        };
        (snapshot, focus)
    }

    /// The sign-in to show (the resident's, else the local one), saying
    /// each new result of either once.
    fn login_state(
        &self,
        remote: Option<(Option<LoginView>, Option<super::login_host::LoginResult>)>,
    ) -> Option<LoginView> {
        let (remote_view, remote_result) = remote.unwrap_or((None, None));
        let local_result = self.local_login.result();
        let mut seen = self.login_results_seen.lock();
        let mut said = Vec::new();
        if let Some(result) = remote_result.filter(|r| r.seq > seen.0) {
            seen.0 = result.seq;
            said.push(result);
        }
        if let Some(result) = local_result.filter(|r| r.seq > seen.1) {
            seen.1 = result.seq;
            said.push(result);
        }
        drop(seen);
        for result in said {
            if result.about_paste {
                self.say_about(Field::LoginCode, result.error, result.text);
            } else {
                self.say(result.error, result.text);
            }
        }
        remote_view.or_else(|| self.local_login.view())
    }

    fn fresh_usage(&self) -> Option<Arc<Vec<super::model::UsageBucket>>> {
        let cached = self.usage.lock();
        cached
            .1
            .is_some_and(|read| read.elapsed() < USAGE_REFRESH)
            .then(|| cached.0.clone())
    }

    fn cached_usage(&self) -> Arc<Vec<super::model::UsageBucket>> {
        self.usage.lock().0.clone()
    }

    /// The last 30 days of hourly roll-ups, read at most once a minute.
    async fn usage(&self) -> Arc<Vec<super::model::UsageBucket>> {
        if let Some(fresh) = self.fresh_usage() {
            return fresh;
        }
        let since = (now_unix() - 30 * 86_400).div_euclid(3600) * 3600;
        let store = self.store.clone();
        let rows = match store.run(move |s| s.usage_since(since)).await {
            Ok(rows) => rows,
            Err(error) => {
                self.say(true, error.to_string());
                return self.cached_usage();
            }
        };
        let buckets = Arc::new(rows);
        *self.usage.lock() = (buckets.clone(), Some(std::time::Instant::now()));
        buckets
    }

    async fn control(&self, request: ControlRequest) {
        if let Err(error) = control::send(&self.socket, &request).await {
            self.say(true, error.to_string());
        }
    }

    fn set_config(&self, key: &str, value: &str) {
        let result = self
            .config()
            .and_then(|config| config.with_key_set(key, value).map_err(|e| e.to_string()))
            .and_then(|config| {
                config
                    .save(&self.paths.config_file)
                    .map_err(|e| e.to_string())
            });
        match result {
            Ok(()) => self.say(false, format!("{key} saved")),
            Err(error) => self.say(true, error),
        }
    }

    /// Runs one command; what it says is tagged with the input it came from.
    pub async fn execute(self: Arc<Self>, command: Command, ctx: egui::Context) {
        let field = command.field();
        let before = self.notice_seq.load(std::sync::atomic::Ordering::Relaxed);
        self.clone().execute_untagged(command, ctx).await;
        if let Some(field) = field
            && let Some(notice) = self.notice.lock().as_mut()
            && notice.seq > before
        {
            notice.field = Some(field);
        }
    }

    async fn execute_untagged(self: Arc<Self>, command: Command, ctx: egui::Context) {
        match command {
            Command::StartGateway => self.control(ControlRequest::StartGateway).await,
            Command::StopGateway => self.control(ControlRequest::StopGateway).await,
            Command::SetConfig { key, value } => self.set_config(&key, &value),
            Command::RegenerateApiKey => {
                self.set_config("gateway.api_key", &crate::config::generate_api_key());
                self.say(false, "a new API key was made: update your clients");
            }
            Command::StartLogin { client, project } => {
                let hint = |view: &LoginView| {
                    if view.accepts_paste {
                        "sign in in the browser, or paste the code below"
                    } else {
                        "sign in in a browser that reaches this computer's sign-in port"
                    }
                };
                // The resident hosts it when it runs: closing the window
                // then does not cancel the sign-in.
                let request = ControlRequest::StartLogin {
                    client: client.clone(),
                    project: project.clone(),
                };
                match control::send(&self.socket, &request).await {
                    Ok(ControlResponse::Login(view)) => {
                        self.local_login.cancel();
                        self.remote_login.store(true, Ordering::SeqCst);
                        self.say(false, hint(&view));
                    }
                    Ok(ControlResponse::Error { error }) => self.say(true, error),
                    Ok(_) | Err(_) => match self.local_login.start(&client, project).await {
                        Ok(view) => {
                            self.remote_login.store(false, Ordering::SeqCst);
                            self.say(false, hint(&view));
                        }
                        Err(error) => self.say(true, error),
                    },
                }
            }
            Command::SubmitLoginCode(pasted) => {
                let sent = if self.remote_login.load(Ordering::SeqCst) {
                    match control::send(&self.socket, &ControlRequest::SubmitLoginCode(pasted))
                        .await
                    {
                        Ok(ControlResponse::Done { ok: true }) => Ok(()),
                        Ok(ControlResponse::Error { error }) => Err(error),
                        Ok(_) => Err("no sign-in is in progress".to_owned()),
                        Err(error) => Err(error.to_string()),
                    }
                } else {
                    self.local_login.paste(pasted).await
                };
                if let Err(error) = sent {
                    self.say(true, error);
                }
            }
            Command::CancelLogin => {
                if self.remote_login.swap(false, Ordering::SeqCst) {
                    let _ = control::send(&self.socket, &ControlRequest::CancelLogin).await;
                }
                self.local_login.cancel();
                self.say(false, "sign-in cancelled");
            }
            Command::AddRefreshToken {
                token,
                client,
                project,
            } => {
                let config = match self.config() {
                    Ok(config) => config,
                    Err(error) => return self.say(true, error),
                };
                let token = token.trim().to_owned();
                self.say_added(
                    accounts::add_with_refresh_token(
                        &self.google,
                        &config,
                        &self.store,
                        Secret::new(token),
                        Some(&client),
                        project.as_deref(),
                    )
                    .await,
                )
            }
            Command::ImportFile(path) => self.import(path).await,
            Command::ExportFile(path) => {
                let result = transfer::export(&self.store)
                    .map_err(|e| e.to_string())
                    .and_then(|text| {
                        crate::config::write_atomically(&path, text.as_bytes())
                            .map_err(|e| e.to_string())
                    });
                match result {
                    Ok(()) => self.say(
                        false,
                        format!(
                            "exported to {} (it holds refresh tokens: keep it private)",
                            path.display()
                        ),
                    ),
                    Err(error) => self.say(true, error),
                }
            }
            Command::EnableAccount(id) => self.set_status(id, crate::store::AccountStatus::Active),
            Command::DisableAccount(id) => {
                self.set_status(id, crate::store::AccountStatus::Disabled)
            }
            Command::RemoveAccount(id) => match self.store.remove_account(&id.to_string()) {
                Ok(removed) => self.say(false, format!("removed {}", removed.email)),
                Err(error) => self.say(true, error.to_string()),
            },
            Command::RefreshQuota(only) => self.refresh_quotas(only).await,
            Command::AddUpstream(draft) => self.add_upstream(draft).await,
            Command::TestUpstream(id) => self.test_upstream(id).await,
            Command::SetLaunchAtLogin(enable) => {
                match super::set_launch_at_login(&self.paths, enable) {
                    Ok(()) => self.say(
                        false,
                        if enable {
                            "Switchyard will start at login"
                        } else {
                            "Switchyard will not start at login"
                        },
                    ),
                    Err(error) => self.say(true, error.to_string()),
                }
            }
            Command::OpenDataFolder => {
                let folder = self
                    .paths
                    .db_file
                    .parent()
                    .map(PathBuf::from)
                    .unwrap_or_default();
                if let Err(error) = open::that_detached(&folder) {
                    self.say(true, format!("cannot open {}: {error}", folder.display()));
                }
            }
            Command::ClearRecent => self.control(ControlRequest::ClearRecent).await,
            Command::ExportRequests { path, format, rows } => {
                match export_requests(&path, format, &rows) {
                    Ok(()) => self.say(
                        false,
                        format!("{} requests written to {}", rows.len(), path.display()),
                    ),
                    Err(error) => {
                        self.say(true, format!("cannot write {}: {error}", path.display()))
                    }
                }
            }
            Command::PickFile { field, save } => {
                tokio::spawn(self.clone().pick_file(field, save, ctx));
            }
            Command::OpenUrl(url) => {
                if let Err(error) = open::that_detached(&url) {
                    self.say(true, format!("cannot open a browser: {error}"));
                }
            }
        }
    }

    /// Shows the system's file dialog; the path chosen goes to the window.
    async fn pick_file(self: Arc<Self>, field: Field, save: bool, ctx: egui::Context) {
        let folder = directories::UserDirs::new()
            .map(|dirs| dirs.home_dir().to_path_buf())
            .unwrap_or_else(|| PathBuf::from("."));
        let dialog = rfd::AsyncFileDialog::new().set_directory(&folder);
        let chosen = if save {
            let name = match field {
                Field::MonitorExportPath => "requests.csv",
                _ => "switchyard-accounts.json",
            };
            dialog.set_file_name(name).save_file().await
        } else {
            dialog
                .add_filter("JSON", &["json"])
                .add_filter("All files", &["*"])
                .pick_file()
                .await
        };
        if let Some(file) = chosen {
            let seq = self
                .notice_seq
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                + 1;
            *self.picked.lock() = Some((seq, field, file.path().to_path_buf()));
            self.publish(&ctx).await;
        }
    }

    async fn import(&self, path: PathBuf) {
        let config = match self.config() {
            Ok(config) => config,
            Err(error) => return self.say(true, error),
        };
        let entries = match std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))
            .and_then(|text| transfer::parse(&text))
        {
            Ok(entries) => entries,
            Err(error) => return self.say(true, error),
        };
        let outcomes =
            transfer::import(&self.google, &config, &self.store, entries, |_, _| {}).await;
        let failed: Vec<String> = outcomes
            .iter()
            .filter_map(|o| match o {
                transfer::ImportOutcome::Failed { email, error } => Some(format!(
                    "{}: {error}",
                    email.as_deref().unwrap_or("(no email)")
                )),
                _ => None,
            })
            .collect();
        if failed.is_empty() {
            self.say(false, format!("imported {} accounts", outcomes.len()));
        } else {
            self.say(
                true,
                format!(
                    "{} of {} failed: {}",
                    failed.len(),
                    outcomes.len(),
                    failed.join("; ")
                ),
            );
        }
    }

    fn set_status(&self, id: i64, status: crate::store::AccountStatus) {
        match self.store.set_status(id, status, None) {
            Ok(()) => self.say(false, format!("account {}", status.label())),
            Err(error) => self.say(true, error.to_string()),
        }
    }

    async fn add_upstream(&self, draft: crate::desktop::model::UpstreamDraft) {
        use crate::accounts::upstreams::{UpstreamInput, add};
        let Some(kind) = draft.kind else {
            return self.say(true, "choose what kind of upstream it is");
        };
        let input = UpstreamInput {
            name: draft.name.trim().to_owned(),
            kind,
            base_url: Some(draft.base_url.trim().to_owned()).filter(|u| !u.is_empty()),
            key: Secret::new(draft.key.trim()),
            models: draft.models.split(',').map(str::to_owned).collect(),
            headers: Vec::new(),
            priority: 0,
            project: None,
            location: None,
            skip_check: false,
            service_account: false,
            bearer: false,
        };
        match add(&self.keyed, &self.store, input).await {
            Ok(added) => {
                let served = added
                    .models
                    .map(|m| format!(", {} models", m.len()))
                    .unwrap_or_default();
                let note = added.warning.map(|w| format!(" ({w})")).unwrap_or_default();
                self.say(
                    false,
                    format!("added {} ({}{served}){note}", added.name, added.kind),
                );
            }
            Err(error) => self.say(true, error.to_string()),
        }
    }

    async fn test_upstream(&self, id: i64) {
        let record = match self.store.find_account(&id.to_string()) {
            Ok(record) => record,
            Err(error) => return self.say(true, error.to_string()),
        };
        match crate::accounts::upstreams::test(&self.keyed, &self.store, &record, None).await {
            Ok(report) => {
                let models = match &report.models {
                    Ok(models) => format!("{} models", models.len()),
                    Err(error) => format!("models: {error}"),
                };
                match &report.generation {
                    Some((model, Ok(text), took)) => self.say(
                        false,
                        format!(
                            "{}: {models}; {model} answered {:?} in {} ms",
                            record.email,
                            text.trim(),
                            took.as_millis()
                        ),
                    ),
                    Some((model, Err(error), _)) => self.say(
                        true,
                        format!("{}: {models}; {model} failed: {error}", record.email),
                    ),
                    None => self.say(true, format!("{}: {models}; no model to try", record.email)),
                }
            }
            Err(error) => self.say(true, error.to_string()),
        }
    }

    async fn refresh_quotas(&self, only: Option<i64>) {
        let config = match self.config() {
            Ok(config) => config,
            Err(error) => return self.say(true, error),
        };
        let records = match self.store.accounts() {
            Ok(records) => records,
            Err(error) => return self.say(true, error.to_string()),
        };
        let mut failures = Vec::new();
        for record in records
            .iter()
            .filter(|r| r.is_google() && only.is_none_or(|id| r.id == id))
        {
            if let Err(error) =
                accounts::refresh_quota(&self.google, &config, &self.store, record).await
            {
                failures.push(format!("{}: {error}", record.email));
            }
        }
        if failures.is_empty() {
            self.say(false, "quotas refreshed");
        } else {
            self.say(true, failures.join("; "));
        }
    }
}

/// Writes requests as CSV (with a header) or JSON Lines.
pub fn export_requests(
    path: &std::path::Path,
    format: super::model::ExportFormat,
    rows: &[RequestView],
) -> Result<(), String> {
    let mut out: Vec<u8> = Vec::new();
    let time = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_default()
    };
    match format {
        super::model::ExportFormat::Csv => {
            let mut writer = csv::Writer::from_writer(&mut out);
            writer
                .write_record([
                    "time",
                    "request_id",
                    "protocol",
                    "route",
                    "model",
                    "upstream_model",
                    "account",
                    "status",
                    "latency_ms",
                    "ttfb_ms",
                    "stream",
                    "input_tokens",
                    "output_tokens",
                    "cached_tokens",
                    "reasoning_tokens",
                    "error",
                    "client",
                ])
                .map_err(|e| e.to_string())?;
            for r in rows {
                writer
                    .write_record([
                        time(r.at_ms),
                        r.request_id.clone(),
                        r.protocol.clone(),
                        r.route.clone(),
                        r.model.clone(),
                        r.upstream_model.clone(),
                        r.account.clone(),
                        r.status.to_string(),
                        r.latency_ms.to_string(),
                        r.ttfb_ms.map(|t| t.to_string()).unwrap_or_default(),
                        r.stream.to_string(),
                        r.input_tokens.to_string(),
                        r.output_tokens.to_string(),
                        r.cached_tokens.to_string(),
                        r.reasoning_tokens.to_string(),
                        r.error_message.clone().unwrap_or_default(),
                        r.client.clone().unwrap_or_default(),
                    ])
                    .map_err(|e| e.to_string())?;
            }
            writer.flush().map_err(|e| e.to_string())?;
        }
        super::model::ExportFormat::JsonLines => {
            for r in rows {
                let line = serde_json::json!({
                    "time": time(r.at_ms), "request_id": r.request_id, "protocol": r.protocol,
                    "route": r.route, "model": r.model, "upstream_model": r.upstream_model,
                    "account": r.account, "status": r.status, "latency_ms": r.latency_ms,
                    "ttfb_ms": r.ttfb_ms, "stream": r.stream, "input_tokens": r.input_tokens,
                    "output_tokens": r.output_tokens, "cached_tokens": r.cached_tokens,
                    "reasoning_tokens": r.reasoning_tokens, "error": r.error_message, "client": r.client,
                });
                out.extend_from_slice(line.to_string().as_bytes());
                out.push(b'\n');
            }
        }
    }
    crate::config::write_atomically(path, &out).map_err(|e| e.to_string())
}
