//! The accounts the gateway may use right now, and the choice between them.
//!
//! The pool is an in-memory mirror of the store's accounts plus the state that
//! only matters while running (cached access tokens, the round-robin cursor),
//! and the one owner of account state: requests take a [`Lease`] and report
//! what came of their call on it; the pool applies the policy's verdict,
//! announces it and persists it in order (`changes`). Nobody else changes an
//! account: the mutators below are private to this module. No HTTP in here:
//! a token refresh is the caller's closure. The gateway reloads the pool
//! when another process (the CLI) changed the database.

pub mod policy;

pub mod events;

mod changes;
mod lease;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::{Mutex, RwLock};
use tokio::sync::broadcast;

pub use changes::{REFRESH_MARGIN_SECS, Sink};
pub use events::PoolEvent;
pub use lease::{Lease, Leased, Outcome};

use crate::config::Scheduling;
use crate::secret::Secret;
use crate::store::{
    AccountRecord, AccountStatus, LimitKind, LimitRecord, ModelCatalog, QuotaRecord, QuotaWindow,
    UpstreamSettings, model_group,
};

/// The limit key of a whole quota group (`group:gemini`, `group:3p`): a
/// limit stored under it keeps every model of the group away.
pub fn group_limit_key(group: &str) -> String {
    format!("group:{group}")
}

/// The limits that quota windows read at 0 mean, as if a 429 had said so:
/// the group is exhausted until that window resets (the latest reset when
/// several windows of a group are empty).
pub fn window_limits(windows: &[QuotaWindow], now: i64) -> Vec<Limit> {
    let mut limits: Vec<Limit> = Vec::new();
    for window in windows {
        let (Some(remaining), Some(reset_at)) = (window.remaining_fraction, window.reset_at) else {
            continue;
        };
        if remaining > 0.0 || reset_at <= now {
            continue;
        }
        let key = group_limit_key(&window.group);
        let reason = format!(
            "{} {} window used up",
            group_label(&window.group),
            window.window
        );
        match limits
            .iter_mut()
            .find(|l| l.model.as_deref() == Some(key.as_str()))
        {
            Some(limit) if limit.until >= reset_at => {}
            Some(limit) => {
                limit.until = reset_at;
                limit.reason = reason;
            }
            None => limits.push(Limit {
                model: Some(key),
                kind: LimitKind::QuotaExhausted,
                until: reset_at,
                reason,
            }),
        }
    }
    limits
}

/// How a quota group is named to the user.
pub fn group_label(group: &str) -> &str {
    match group {
        "gemini" => "Gemini",
        "3p" => "Claude/GPT",
        other => other,
    }
}

/// An OAuth access token and when it stops working (Unix seconds).
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub value: Secret,
    pub expires_at: i64,
}

/// The upstream's quota for one model of one account.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quota {
    /// 0.0 (none left) to 1.0.
    pub remaining: Option<f64>,
    /// Unix seconds.
    pub resets_at: Option<i64>,
}

/// A token refresh that failed: when, and what the token endpoint said
/// (`status` 0: no answer).
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshFailure {
    pub at: std::time::Instant,
    pub status: u16,
    pub error: String,
    pub description: Option<String>,
}

/// A limit that ends by itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Limit {
    /// `None`: the whole account.
    pub model: Option<String>,
    pub kind: LimitKind,
    pub until: i64,
    pub reason: String,
}

/// One account as the gateway uses it.
#[derive(Debug)]
pub struct PoolAccount {
    pub id: i64,
    pub email: String,
    pub oauth_client: String,
    pub project_id: Option<String>,
    pub tier: Option<String>,
    /// A Google account's refresh token, or an API-key upstream's key.
    pub refresh_token: Secret,
    /// What an API-key upstream is (`None`: a Google account). `email` is then
    /// the upstream's name.
    pub settings: Option<Arc<UpstreamSettings>>,
    token: Mutex<Option<AccessToken>>,
    status: Mutex<(AccountStatus, Option<String>, Option<String>)>,
    quotas: Mutex<HashMap<String, Quota>>,
    catalog: Mutex<Option<Arc<ModelCatalog>>>,
    windows: Mutex<Vec<QuotaWindow>>,
    limits: Mutex<Vec<Limit>>,
    /// Held while refreshing, so concurrent requests wait for one refresh
    /// instead of each sending their own (a refresh storm can get a token revoked).
    refresh_lock: tokio::sync::Mutex<()>,
    refresh_failure: Mutex<Option<RefreshFailure>>,
    /// When the last use was written to the store (Unix seconds): writing it
    /// on every request cost a database write per request.
    last_use_saved: std::sync::atomic::AtomicI64,
}

impl PoolAccount {
    pub fn from_record(
        record: &AccountRecord,
        quotas: &[(i64, QuotaRecord)],
        limits: &[LimitRecord],
    ) -> Self {
        let token = match (&record.access_token, record.access_expires_at) {
            (Some(value), Some(expires_at)) => Some(AccessToken {
                value: value.clone(),
                expires_at,
            }),
            _ => None,
        };
        Self {
            id: record.id,
            email: record.email.clone(),
            oauth_client: record.oauth_client.clone(),
            project_id: record.project_id.clone(),
            tier: record.tier.clone(),
            refresh_token: record.refresh_token.clone(),
            settings: record.settings.clone().map(Arc::new),
            token: Mutex::new(token),
            status: Mutex::new((
                record.status,
                record.status_reason.clone(),
                record.status_link.clone(),
            )),
            quotas: Mutex::new(
                quotas
                    .iter()
                    .filter(|(id, _)| *id == record.id)
                    .map(|(_, q)| {
                        (
                            q.model.clone(),
                            Quota {
                                remaining: q.remaining_fraction,
                                resets_at: q.reset_at,
                            },
                        )
                    })
                    .collect(),
            ),
            catalog: Mutex::new(record.catalog.clone().map(Arc::new)),
            windows: Mutex::new(record.windows.clone()),
            limits: Mutex::new(
                limits
                    .iter()
                    .filter(|l| l.account_id == record.id)
                    .map(|l| Limit {
                        model: l.model.clone(),
                        kind: l.kind,
                        until: l.until,
                        reason: l.reason.clone(),
                    })
                    .collect(),
            ),
            refresh_lock: tokio::sync::Mutex::new(()),
            refresh_failure: Mutex::new(None),
            last_use_saved: std::sync::atomic::AtomicI64::new(record.last_used_at.unwrap_or(0)),
        }
    }

    /// Whether a use at `now` should be written to the store: at most once per
    /// `every_secs` per account.
    fn should_save_use(&self, now: i64, every_secs: i64) -> bool {
        use std::sync::atomic::Ordering;
        let saved = self.last_use_saved.load(Ordering::Relaxed);
        now - saved >= every_secs
            && self
                .last_use_saved
                .compare_exchange(saved, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    /// The cached access token if it is still good for at least `margin_secs`.
    pub fn usable_token(&self, now: i64, margin_secs: i64) -> Option<Secret> {
        self.token
            .lock()
            .as_ref()
            .filter(|t| t.expires_at - margin_secs > now)
            .map(|t| t.value.clone())
    }

    pub fn token(&self) -> Option<AccessToken> {
        self.token.lock().clone()
    }

    fn set_token(&self, token: AccessToken) {
        *self.token.lock() = Some(token);
    }

    /// Forgets the cached token only if it is still `rejected`: a request
    /// that got a late 401 must not throw away the token another request has
    /// just fetched (concurrent 401s then refresh once, not N times).
    fn invalidate_token_if(&self, rejected: &Secret) {
        let mut token = self.token.lock();
        if token.as_ref().is_some_and(|t| &t.value == rejected) {
            *token = None;
        }
    }

    /// The last failed token refresh, so requests that waited for it fail
    /// with it instead of trying again one after another.
    pub fn refresh_failure(&self) -> Option<RefreshFailure> {
        self.refresh_failure.lock().clone()
    }

    fn set_refresh_failure(&self, failure: Option<RefreshFailure>) {
        *self.refresh_failure.lock() = failure;
    }

    pub fn status(&self) -> AccountStatus {
        self.status.lock().0
    }

    pub fn status_reason(&self) -> Option<String> {
        self.status.lock().1.clone()
    }

    pub fn status_link(&self) -> Option<String> {
        self.status.lock().2.clone()
    }

    /// Sets the status; returns the previous one.
    fn set_status(
        &self,
        status: AccountStatus,
        reason: Option<String>,
        link: Option<String>,
    ) -> AccountStatus {
        std::mem::replace(&mut *self.status.lock(), (status, reason, link)).0
    }

    pub fn is_usable(&self) -> bool {
        self.status() == AccountStatus::Active
    }

    pub fn quotas(&self) -> HashMap<String, Quota> {
        self.quotas.lock().clone()
    }

    pub fn quota(&self, model: &str) -> Option<Quota> {
        self.quotas.lock().get(model).copied()
    }

    fn set_quotas(&self, quotas: &[QuotaRecord]) {
        *self.quotas.lock() = quotas
            .iter()
            .map(|q| {
                (
                    q.model.clone(),
                    Quota {
                        remaining: q.remaining_fraction,
                        resets_at: q.reset_at,
                    },
                )
            })
            .collect();
    }

    /// The models Google offers this account, when known.
    pub fn catalog(&self) -> Option<Arc<ModelCatalog>> {
        self.catalog.lock().clone()
    }

    fn set_catalog(&self, catalog: ModelCatalog) {
        *self.catalog.lock() = Some(Arc::new(catalog));
    }

    pub fn windows(&self) -> Vec<QuotaWindow> {
        self.windows.lock().clone()
    }

    fn set_windows(&self, windows: Vec<QuotaWindow>) {
        *self.windows.lock() = windows;
    }

    /// Whether this account can be asked for `model`: it is in its catalog,
    /// or the account has none (Google did not say; the upstream decides).
    /// An API-key upstream serves what its `/models` listed, narrowed by its
    /// model globs; without a list, what the globs name (nothing without them).
    pub fn offers(&self, model: &str) -> bool {
        let catalog = self.catalog.lock();
        match &self.settings {
            None => catalog.as_ref().is_none_or(|catalog| catalog.offers(model)),
            Some(settings) => {
                settings.allows(model)
                    && match catalog.as_ref() {
                        Some(catalog) => catalog.offers(model),
                        None => !settings.models.is_empty(),
                    }
            }
        }
    }

    /// Ready: usable, no limit in force, and quota left somewhere — a quota
    /// group whose windows all have some, or a model with some (unknown
    /// quota counts as some: the upstream decides). What the tray counts.
    pub fn is_ready(&self, now: i64) -> bool {
        if !self.is_usable() || !self.limits(now).is_empty() {
            return false;
        }
        let left = |remaining: Option<f64>, resets_at: Option<i64>| {
            resets_at.is_some_and(|at| at <= now) || remaining.is_none_or(|r| r > 0.0)
        };
        let windows = self.windows.lock();
        if !windows.is_empty() {
            return windows.iter().any(|w| {
                windows
                    .iter()
                    .filter(|other| other.group == w.group)
                    .all(|other| left(other.remaining_fraction, other.reset_at))
            });
        }
        drop(windows);
        let quotas = self.quotas.lock();
        quotas.is_empty() || quotas.values().any(|q| left(q.remaining, q.resets_at))
    }

    /// Whose error shapes and rules apply to this member's failures.
    pub fn source(&self) -> policy::Source {
        use crate::store::UpstreamKind;
        match self.settings.as_deref().map(|s| s.kind) {
            None => policy::Source::GoogleAccount,
            Some(UpstreamKind::GeminiApi | UpstreamKind::Vertex) => policy::Source::GeminiKey,
            Some(UpstreamKind::OpenAi) => policy::Source::OpenAi,
            Some(UpstreamKind::Anthropic) => policy::Source::Anthropic,
        }
    }

    /// An API-key upstream (not a Google account).
    pub fn is_upstream(&self) -> bool {
        self.settings.is_some()
    }

    /// Where this member stands for a request: its place in the routing
    /// rule's list (`None`: the rule leaves it out), or without a rule Google
    /// accounts first and then upstreams by priority.
    fn rank(&self, routing: Option<&[String]>) -> Option<i64> {
        match routing {
            Some(names) => names
                .iter()
                .position(|name| match &self.settings {
                    None => name.eq_ignore_ascii_case(crate::store::GOOGLE),
                    Some(_) => name.eq_ignore_ascii_case(&self.email),
                })
                .map(|at| at as i64),
            None => Some(match &self.settings {
                None => i64::MIN,
                Some(settings) => i64::from(settings.priority),
            }),
        }
    }

    /// The quota that binds `model` now: the group's window with the least
    /// left when Google reports windows for the group, else the model's own
    /// quota.
    pub fn effective_quota(&self, model: &str) -> Option<Quota> {
        let group = model_group(model);
        let binding = self
            .windows
            .lock()
            .iter()
            .filter(|w| w.group == group)
            .map(|w| Quota {
                remaining: w.remaining_fraction,
                resets_at: w.reset_at,
            })
            .min_by(|a, b| {
                let left = |q: &Quota| q.remaining.unwrap_or(1.0);
                left(a).total_cmp(&left(b)).then(
                    a.resets_at
                        .unwrap_or(i64::MAX)
                        .cmp(&b.resets_at.unwrap_or(i64::MAX)),
                )
            });
        binding.or_else(|| self.quota(model))
    }

    /// Every limit still in force at `now`.
    pub fn limits(&self, now: i64) -> Vec<Limit> {
        self.limits
            .lock()
            .iter()
            .filter(|l| l.until > now)
            .cloned()
            .collect()
    }

    /// Adds a limit, unless one on the same model (or group) already ends
    /// later: a 30 s rate limit must not shorten a 3-hour exhausted quota.
    /// Returns whether it was applied.
    fn add_limit(&self, limit: Limit) -> bool {
        let mut limits = self.limits.lock();
        if limits
            .iter()
            .any(|l| l.model == limit.model && l.until >= limit.until)
        {
            return false;
        }
        limits.retain(|l| l.model != limit.model);
        limits.push(limit);
        true
    }

    /// Removes limits that ended by `now`, and returns them.
    fn take_expired_limits(&self, now: i64) -> Vec<Limit> {
        let mut limits = self.limits.lock();
        let (expired, kept): (Vec<Limit>, Vec<Limit>) =
            limits.drain(..).partition(|l| l.until <= now);
        *limits = kept;
        expired
    }

    /// The limit that keeps this account from `model` at `now`, if any: the
    /// whole-account one or the model's, whichever ends later.
    pub fn limit_for(&self, model: &str, now: i64) -> Option<Limit> {
        let group = group_limit_key(model_group(model));
        self.limits
            .lock()
            .iter()
            .filter(|l| {
                l.until > now && l.model.as_deref().is_none_or(|m| m == model || m == group)
            })
            .max_by_key(|l| l.until)
            .cloned()
    }

    /// Whether the account has quota left for `model` above `reserve` (0..1):
    /// every window of the model's group, or (without windows) the model's
    /// own quota. An unknown quota counts as available: the upstream will say
    /// otherwise.
    fn has_quota(&self, model: &str, reserve: f64, now: i64) -> bool {
        // A quota whose reset has passed is full again, whatever the last
        // reading said.
        let left = |remaining: Option<f64>, resets_at: Option<i64>| {
            resets_at.is_some_and(|at| at <= now) || remaining.is_none_or(|r| r > reserve)
        };
        let group = model_group(model);
        let windows = self.windows.lock();
        let mut of_group = windows.iter().filter(|w| w.group == group).peekable();
        if of_group.peek().is_some() {
            return of_group.all(|w| left(w.remaining_fraction, w.reset_at));
        }
        drop(windows);
        self.quota(model)
            .is_none_or(|q| left(q.remaining, q.resets_at))
    }
}

/// What a request needs from the pool.
#[derive(Debug, Clone)]
pub struct PickRequest<'a> {
    pub model: &'a str,
    /// The conversation this request belongs to, for sticky scheduling.
    pub session: Option<u64>,
    pub mode: Scheduling,
    /// Accounts already tried for this request.
    pub exclude: &'a [i64],
    /// Leave this fraction (0..1) of each quota unused.
    pub reserve: f64,
    pub now: i64,
    /// The `[routing]` rule for the model: the members that may serve it, in
    /// order (`google` stands for every Google account). `None`: Google
    /// accounts first, then upstreams by priority.
    pub routing: Option<&'a [String]>,
}

/// What [`Pool::pick`] found (an account), or [`Pool::lease`] (a lease on
/// one): the choice, or why there is none.
#[derive(Debug)]
pub enum Pick<A = Arc<PoolAccount>> {
    Account(A),
    /// The pool has no accounts at all.
    NoAccounts,
    /// Every account that could serve is limited; the first frees up at `until`.
    AllLimited {
        until: i64,
        total: usize,
    },
    /// Accounts exist, but none can serve (failed, disabled or already tried).
    NoneUsable {
        total: usize,
        unusable: Vec<(String, AccountStatus)>,
    },
}

/// Sessions remembered for sticky scheduling, at most; the oldest half is
/// forgotten when full.
const MAX_SESSIONS: usize = 10_000;

pub struct Pool {
    // Readers take a snapshot (an `Arc` clone) and let go at once; the lock is
    // only written when the account list is reloaded.
    accounts: RwLock<Arc<Vec<Arc<PoolAccount>>>>,
    cursor: AtomicUsize,
    /// session → (account id, last use). A short lock per pick.
    sessions: Mutex<HashMap<u64, (i64, i64)>>,
    events: broadcast::Sender<PoolEvent>,
    /// Where changes are persisted; set when a gateway starts.
    sink: RwLock<Option<Sink>>,
}

impl Default for Pool {
    fn default() -> Self {
        Self::new()
    }
}

impl Pool {
    pub fn new() -> Self {
        Self {
            accounts: RwLock::new(Arc::new(Vec::new())),
            cursor: AtomicUsize::new(0),
            sessions: Mutex::new(HashMap::new()),
            events: broadcast::channel(256).0,
            sink: RwLock::new(None),
        }
    }

    /// Replaces the account list with the store's, keeping the live state
    /// (cached tokens) of accounts whose credentials did not change.
    pub fn load(
        &self,
        records: &[AccountRecord],
        quotas: &[(i64, QuotaRecord)],
        limits: &[LimitRecord],
    ) {
        let current = self.snapshot();
        let next: Vec<Arc<PoolAccount>> = records
            .iter()
            .map(|record| {
                let fresh = PoolAccount::from_record(record, quotas, limits);
                if let Some(old) = current
                    .iter()
                    .find(|a| a.id == record.id && a.refresh_token == record.refresh_token)
                {
                    let newer = match (old.token(), fresh.token()) {
                        (Some(o), Some(f)) if o.expires_at > f.expires_at => Some(o),
                        (Some(o), None) => Some(o),
                        _ => None,
                    };
                    if let Some(token) = newer {
                        fresh.set_token(token);
                    }
                }
                Arc::new(fresh)
            })
            .collect();
        *self.accounts.write() = Arc::new(next);
    }

    pub fn snapshot(&self) -> Arc<Vec<Arc<PoolAccount>>> {
        self.accounts.read().clone()
    }

    pub fn account(&self, id: i64) -> Option<Arc<PoolAccount>> {
        self.snapshot().iter().find(|a| a.id == id).cloned()
    }

    pub fn len(&self) -> usize {
        self.accounts.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn subscribe(&self) -> broadcast::Receiver<PoolEvent> {
        self.events.subscribe()
    }

    /// Publishes an event; having no subscriber is fine.
    pub fn publish(&self, event: PoolEvent) {
        let _ = self.events.send(event);
    }

    /// Chooses the account for a request.
    ///
    /// Candidates are active accounts, not yet tried, not limited for the
    /// model, with quota left above the reserve. Among them:
    /// - `round_robin`: the next in turn.
    /// - `balance`: the conversation's account if it is a candidate; otherwise
    ///   the best candidate, and the conversation moves there for good.
    /// - `sticky`: like balance, but the conversation keeps its home account
    ///   and goes back to it as soon as it can serve again (prompt caches stay warm).
    ///
    /// "Best" prefers a known quota whose reset comes soonest (quota that
    /// resets anyway is spent first), then the most quota left; ties take
    /// turns, so equal accounts share the load.
    pub fn pick(&self, request: &PickRequest<'_>) -> Pick {
        let accounts = self.snapshot();
        if accounts.is_empty() {
            return Pick::NoAccounts;
        }
        let active: Vec<&Arc<PoolAccount>> = accounts
            .iter()
            .filter(|a| {
                a.is_usable()
                    && !request.exclude.contains(&a.id)
                    && a.rank(request.routing).is_some()
            })
            .collect();
        let mut candidates: Vec<&Arc<PoolAccount>> = active
            .iter()
            .copied()
            .filter(|a| {
                a.offers(request.model)
                    && a.limit_for(request.model, request.now).is_none()
                    && a.has_quota(request.model, request.reserve, request.now)
            })
            .collect();
        // Only the first rank that can serve: a fallback is used while the
        // ones before it cannot, and traffic goes back as soon as they can.
        if let Some(first) = candidates
            .iter()
            .filter_map(|a| a.rank(request.routing))
            .min()
        {
            candidates.retain(|a| a.rank(request.routing) == Some(first));
        }
        if candidates.is_empty() {
            // Accounts that could serve the model once their limits end.
            let offering: Vec<&&Arc<PoolAccount>> =
                active.iter().filter(|a| a.offers(request.model)).collect();
            if offering.is_empty() {
                return Pick::NoneUsable {
                    total: accounts.len(),
                    unusable: accounts
                        .iter()
                        .filter(|a| !a.is_usable())
                        .map(|a| (a.email.clone(), a.status()))
                        .collect(),
                };
            }
            let until = offering
                .iter()
                .map(|a| {
                    let limited = a.limit_for(request.model, request.now).map(|l| l.until);
                    let quota_reset = a
                        .effective_quota(request.model)
                        .filter(|q| q.remaining.is_some_and(|r| r <= request.reserve))
                        .and_then(|q| q.resets_at)
                        .filter(|&at| at > request.now);
                    limited.max(quota_reset).unwrap_or(request.now + 60)
                })
                .min()
                .unwrap_or(request.now + 60)
                // Never a time already past: clients would be told to come
                // back at once, and hammer the gateway.
                .max(request.now + 1);
            return Pick::AllLimited {
                until,
                total: accounts.len(),
            };
        }
        let turn = self.cursor.fetch_add(1, Ordering::Relaxed);
        if request.mode == Scheduling::RoundRobin {
            return Pick::Account(candidates[turn % candidates.len()].clone());
        }
        if let Some(session) = request.session {
            let bound = self.sessions.lock().get(&session).map(|(id, _)| *id);
            if let Some(account) = bound.and_then(|id| candidates.iter().find(|a| a.id == id)) {
                self.bind(session, account.id, request.now);
                return Pick::Account((*account).clone());
            }
        }
        let best = best_candidate(&candidates, request, turn);
        if let Some(session) = request.session {
            let home_still_active = request.mode == Scheduling::Sticky
                && self
                    .sessions
                    .lock()
                    .get(&session)
                    .is_some_and(|(id, _)| active.iter().any(|a| a.id == *id));
            if !home_still_active {
                self.bind(session, best.id, request.now);
            }
        }
        Pick::Account(best.clone())
    }

    fn bind(&self, session: u64, account_id: i64, now: i64) {
        let mut sessions = self.sessions.lock();
        if sessions.len() >= MAX_SESSIONS && !sessions.contains_key(&session) {
            let mut ages: Vec<i64> = sessions.values().map(|(_, at)| *at).collect();
            ages.sort_unstable();
            let cutoff = ages[ages.len() / 2];
            sessions.retain(|_, (_, at)| *at > cutoff);
        }
        sessions.insert(session, (account_id, now));
    }

    /// Every model some usable account offers (its catalog, or without one
    /// the models it has a quota for), sorted.
    pub fn models(&self) -> Vec<String> {
        let mut models: Vec<String> = self
            .snapshot()
            .iter()
            .filter(|a| a.is_usable())
            .flat_map(|a| match (a.catalog(), &a.settings) {
                (Some(catalog), _) => catalog
                    .models
                    .iter()
                    .filter(|m| a.offers(&m.id))
                    .map(|m| m.id.clone())
                    .collect(),
                // An upstream without a list: the model names its globs spell out.
                (None, Some(settings)) => settings
                    .models
                    .iter()
                    .filter(|g| !g.contains(['*', '?']))
                    .cloned()
                    .collect(),
                (None, None) => a.quotas().into_keys().collect::<Vec<_>>(),
            })
            .collect();
        models.sort();
        models.dedup();
        models
    }

    /// Whether some usable account or upstream offers `model`: `None` when
    /// none is known to, and a usable Google account has no catalog (Google
    /// did not say, so nobody can tell) or nothing is usable.
    pub fn offered(&self, model: &str) -> Option<bool> {
        let accounts = self.snapshot();
        let mut unknown = false;
        let mut usable = 0;
        for account in accounts.iter().filter(|a| a.is_usable()) {
            usable += 1;
            match account.catalog() {
                // An upstream that lists it settles the question.
                _ if account.is_upstream() && account.offers(model) => return Some(true),
                None if !account.is_upstream() => unknown = true,
                Some(catalog) if !account.is_upstream() && catalog.offers(model) => {
                    return Some(true);
                }
                _ => {}
            }
        }
        (usable > 0 && !unknown).then_some(false)
    }

    /// What Google said about `model` (display name, token limits), from the
    /// first usable account whose catalog has it.
    pub fn model_info(&self, model: &str) -> Option<crate::store::ModelInfo> {
        self.snapshot()
            .iter()
            .filter(|a| a.is_usable())
            .find_map(|a| {
                a.catalog()
                    .and_then(|c| c.models.iter().find(|m| m.id == model).cloned())
            })
    }

    /// Google's replacement for a retired model id, by any usable account's
    /// forwarding rules.
    pub fn forwarded(&self, model: &str) -> Option<String> {
        self.snapshot()
            .iter()
            .filter(|a| a.is_usable())
            .find_map(|a| {
                a.catalog()
                    .and_then(|c| c.forwarded(model).map(str::to_owned))
            })
    }
}

fn best_candidate<'a>(
    candidates: &[&'a Arc<PoolAccount>],
    request: &PickRequest<'_>,
    turn: usize,
) -> &'a Arc<PoolAccount> {
    let rank = |a: &PoolAccount| {
        let quota = a.effective_quota(request.model);
        // Known reset first (sooner is better), then more quota left.
        let reset = quota.and_then(|q| q.resets_at).unwrap_or(i64::MAX);
        let remaining = quota.and_then(|q| q.remaining).unwrap_or(1.0);
        (reset, (-(remaining * 1000.0)) as i64)
    };
    let best_rank = candidates.iter().map(|a| rank(a)).min();
    let tied: Vec<&&'a Arc<PoolAccount>> = candidates
        .iter()
        .filter(|a| Some(rank(a)) == best_rank)
        .collect();
    tied[turn % tied.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::now_unix;

    fn record(id: i64, status: AccountStatus) -> AccountRecord {
        AccountRecord {
            id,
            email: format!("a{id}@example.com"),
            upstream: "google".into(),
            oauth_client: "gemini-cli".into(),
            refresh_token: Secret::new(format!("r{id}")),
            access_token: None,
            access_expires_at: None,
            project_id: Some("p".into()),
            tier: None,
            status,
            status_reason: None,
            status_link: None,
            created_at: 0,
            last_used_at: None,
            catalog: None,
            windows: Vec::new(),
            settings: None,
        }
    }

    fn request<'a>(mode: Scheduling, session: Option<u64>, exclude: &'a [i64]) -> PickRequest<'a> {
        PickRequest {
            model: "m",
            session,
            mode,
            exclude,
            reserve: 0.0,
            now: 1000,
            routing: None,
        }
    }

    fn picked(pool: &Pool, request: &PickRequest<'_>) -> Option<i64> {
        match pool.pick(request) {
            Pick::Account(a) => Some(a.id),
            _ => None,
        }
    }

    fn pool_of(n: i64) -> Pool {
        let pool = Pool::new();
        let records: Vec<_> = (1..=n)
            .map(|id| record(id, AccountStatus::Active))
            .collect();
        pool.load(&records, &[], &[]);
        pool
    }

    /// An API-key upstream serving model `m`.
    fn upstream(id: i64, name: &str, priority: i32) -> AccountRecord {
        AccountRecord {
            email: name.to_owned(),
            upstream: "openai".into(),
            oauth_client: String::new(),
            settings: Some(UpstreamSettings {
                kind: crate::store::UpstreamKind::OpenAi,
                base_url: "http://127.0.0.1:9".into(),
                models: vec!["m".into()],
                headers: Vec::new(),
                priority,
                project: None,
                location: None,
                service_account: false,
                bearer: false,
            }),
            ..record(id, AccountStatus::Active)
        }
    }

    #[test]
    fn ready_means_it_can_serve_some_model_now() {
        let quota = |model: &str, left: f64| QuotaRecord {
            model: model.to_owned(),
            remaining_fraction: Some(left),
            reset_at: Some(5_000),
            updated_at: 0,
        };
        let pool = Pool::new();
        pool.load(
            &[
                record(1, AccountStatus::Active),
                record(2, AccountStatus::Active),
                record(3, AccountStatus::Active),
            ],
            &[
                (1, quota("pro", 0.0)),
                (1, quota("flash", 0.0)),
                (2, quota("pro", 0.0)),
                (2, quota("flash", 0.04)),
            ],
            &[],
        );
        let at = |id: i64, now: i64| pool.account(id).unwrap().is_ready(now);
        assert!(!at(1, 1000), "0 % on every model");
        assert!(at(1, 5_000), "until the quotas reset");
        assert!(at(2, 1000), "some quota on one model");
        assert!(at(3, 1000), "nothing known: the upstream decides");
        let disabled = Pool::new();
        disabled.load(&[record(4, AccountStatus::Disabled)], &[], &[]);
        assert!(!disabled.account(4).unwrap().is_ready(1000));
    }

    #[test]
    fn upstreams_serve_after_google_accounts_in_priority_order_or_as_routed() {
        let pool = Pool::new();
        pool.load(
            &[
                upstream(10, "late", 5),
                record(1, AccountStatus::Active),
                upstream(11, "early", 1),
            ],
            &[],
            &[],
        );
        let mode = Scheduling::Balance;
        // No rule: the Google account, then upstreams by priority.
        assert_eq!(picked(&pool, &request(mode, None, &[])), Some(1));
        assert_eq!(picked(&pool, &request(mode, None, &[1])), Some(11));
        assert_eq!(picked(&pool, &request(mode, None, &[1, 11])), Some(10));
        // A rule names who may serve, in its order; `google` is every account.
        let rule = ["late".to_owned(), "google".to_owned()];
        let routed = |exclude: &'static [i64]| PickRequest {
            routing: Some(&rule),
            ..request(mode, None, exclude)
        };
        assert_eq!(picked(&pool, &routed(&[])), Some(10));
        assert_eq!(picked(&pool, &routed(&[10])), Some(1));
        assert_eq!(
            picked(&pool, &routed(&[10, 1])),
            None,
            "`early` is not in the rule"
        );
        // A conversation bound to a fallback goes back once the first can serve.
        let session = Some(7);
        assert_eq!(picked(&pool, &request(mode, session, &[1])), Some(11));
        assert_eq!(picked(&pool, &request(mode, session, &[])), Some(1));
        // An upstream offers only what its globs (or its list) say.
        let other = PickRequest {
            model: "other",
            ..request(mode, None, &[1])
        };
        assert_eq!(picked(&pool, &other), None);
    }

    #[test]
    fn round_robin_skips_unusable_and_excluded() {
        let pool = Pool::new();
        assert!(matches!(
            pool.pick(&request(Scheduling::RoundRobin, None, &[])),
            Pick::NoAccounts
        ));
        pool.load(
            &[
                record(1, AccountStatus::Active),
                record(2, AccountStatus::Disabled),
                record(3, AccountStatus::Active),
            ],
            &[],
            &[],
        );
        let picks: Vec<_> = (0..4)
            .map(|_| picked(&pool, &request(Scheduling::RoundRobin, None, &[])).unwrap())
            .collect();
        assert_eq!(picks.iter().filter(|&&id| id == 1).count(), 2);
        assert_eq!(picks.iter().filter(|&&id| id == 3).count(), 2);
        assert_eq!(
            picked(&pool, &request(Scheduling::RoundRobin, None, &[1])),
            Some(3)
        );
        match pool.pick(&request(Scheduling::RoundRobin, None, &[1, 3])) {
            Pick::NoneUsable { total, unusable } => {
                assert_eq!(total, 3);
                assert_eq!(
                    unusable,
                    vec![("a2@example.com".into(), AccountStatus::Disabled)]
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sessions_stay_on_their_account() {
        for mode in [Scheduling::Sticky, Scheduling::Balance] {
            let pool = pool_of(4);
            let first = picked(&pool, &request(mode, Some(7), &[])).unwrap();
            for _ in 0..20 {
                assert_eq!(
                    picked(&pool, &request(mode, Some(7), &[])),
                    Some(first),
                    "{mode:?}"
                );
            }
            // Another conversation is free to land elsewhere.
            let others: std::collections::HashSet<i64> = (100..110)
                .filter_map(|s| picked(&pool, &request(mode, Some(s), &[])))
                .collect();
            assert!(others.len() > 1, "{mode:?}: {others:?}");
        }
    }

    #[test]
    fn balance_moves_for_good_sticky_goes_home() {
        for (mode, returns_home) in [(Scheduling::Balance, false), (Scheduling::Sticky, true)] {
            let pool = pool_of(2);
            let home = picked(&pool, &request(mode, Some(1), &[])).unwrap();
            let home_account = pool.account(home).unwrap();
            home_account.add_limit(Limit {
                model: Some("m".into()),
                kind: LimitKind::CoolingDown,
                until: 1010,
                reason: "rate".into(),
            });
            let moved = picked(&pool, &request(mode, Some(1), &[])).unwrap();
            assert_ne!(moved, home);
            let later = PickRequest {
                now: 1020,
                ..request(mode, Some(1), &[])
            };
            let back = picked(&pool, &later).unwrap();
            assert_eq!(back == home, returns_home, "{mode:?}");
        }
    }

    #[test]
    fn limits_and_quotas_steer_the_choice() {
        let pool = pool_of(3);
        let accounts = pool.snapshot();
        accounts[0].add_limit(Limit {
            model: Some("m".into()),
            kind: LimitKind::QuotaExhausted,
            until: 5000,
            reason: "quota".into(),
        });
        accounts[1].set_quotas(&[QuotaRecord {
            model: "m".into(),
            remaining_fraction: Some(0.05),
            reset_at: Some(3000),
            updated_at: 0,
        }]);
        // Account 1 is limited for m, but serves another model.
        let other = PickRequest {
            model: "other",
            ..request(Scheduling::RoundRobin, None, &[2, 3])
        };
        assert_eq!(picked(&pool, &other), Some(1));
        // With a 10% reserve, account 2 (5% left) is out; account 3 remains.
        let reserved = PickRequest {
            reserve: 0.10,
            ..request(Scheduling::Balance, None, &[])
        };
        for _ in 0..5 {
            assert_eq!(picked(&pool, &reserved), Some(3));
        }
        // Without the reserve, account 2 wins: its quota resets soonest.
        for _ in 0..5 {
            assert_eq!(
                picked(&pool, &request(Scheduling::Balance, None, &[])),
                Some(2)
            );
        }
        // All limited: the earliest time one frees up.
        accounts[1].add_limit(Limit {
            model: None,
            kind: LimitKind::CoolingDown,
            until: 1500,
            reason: "r".into(),
        });
        accounts[2].add_limit(Limit {
            model: Some("m".into()),
            kind: LimitKind::CoolingDown,
            until: 2500,
            reason: "r".into(),
        });
        match pool.pick(&request(Scheduling::Balance, None, &[])) {
            Pick::AllLimited { until, total } => {
                assert_eq!((until, total), (1500, 3));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(accounts[1].take_expired_limits(1600).len(), 1);
        assert_eq!(
            picked(
                &pool,
                &PickRequest {
                    now: 1600,
                    ..request(Scheduling::Balance, None, &[])
                }
            ),
            Some(2)
        );
    }

    #[test]
    fn a_short_limit_never_shortens_a_longer_one() {
        let pool = pool_of(1);
        let account = &pool.snapshot()[0];
        let limit = |kind, until| Limit {
            model: Some("m".into()),
            kind,
            until,
            reason: "r".into(),
        };
        assert!(account.add_limit(limit(LimitKind::QuotaExhausted, 1000 + 3 * 3600)));
        assert!(!account.add_limit(limit(LimitKind::CoolingDown, 1030)));
        let kept = account.limit_for("m", 1000).unwrap();
        assert_eq!(
            (kept.kind, kept.until),
            (LimitKind::QuotaExhausted, 1000 + 3 * 3600)
        );
        // A longer one does replace it.
        assert!(account.add_limit(limit(LimitKind::CoolingDown, 1000 + 4 * 3600)));
        assert_eq!(account.limit_for("m", 1000).unwrap().until, 1000 + 4 * 3600);
    }

    #[test]
    fn a_quota_whose_reset_passed_frees_the_account_and_retry_after_is_never_past() {
        let pool = pool_of(1);
        let account = &pool.snapshot()[0];
        account.set_quotas(&[QuotaRecord {
            model: "m".into(),
            remaining_fraction: Some(0.0),
            reset_at: Some(995),
            updated_at: 0,
        }]);
        assert_eq!(
            picked(&pool, &request(Scheduling::Balance, None, &[])),
            Some(1),
            "the reset at 995 passed before 1000"
        );
        account.set_windows(vec![QuotaWindow {
            group: "gemini".into(),
            window: "weekly".into(),
            remaining_fraction: Some(0.0),
            reset_at: Some(999),
        }]);
        assert_eq!(
            picked(&pool, &request(Scheduling::Balance, None, &[])),
            Some(1),
            "a window whose reset passed is full again"
        );
        account.set_windows(vec![QuotaWindow {
            group: "gemini".into(),
            window: "weekly".into(),
            remaining_fraction: Some(0.0),
            reset_at: Some(4000),
        }]);
        match pool.pick(&request(Scheduling::Balance, None, &[])) {
            Pick::AllLimited { until, .. } => assert_eq!(until, 4000),
            other => panic!("{other:?}"),
        }
        // A limit ending right now: the client is told one second, not zero
        // or a time past.
        account.set_windows(Vec::new());
        account.set_quotas(&[]);
        account.add_limit(Limit {
            model: None,
            kind: LimitKind::CoolingDown,
            until: 1001,
            reason: "r".into(),
        });
        match pool.pick(&PickRequest {
            now: 1000,
            ..request(Scheduling::Balance, None, &[])
        }) {
            Pick::AllLimited { until, .. } => assert!(until > 1000, "{until}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn last_use_is_saved_at_most_once_per_interval() {
        let pool = pool_of(1);
        let account = pool.snapshot()[0].clone();
        assert!(account.should_save_use(1_000, 60));
        assert!(!account.should_save_use(1_030, 60));
        assert!(account.should_save_use(1_061, 60));
    }

    fn rate_limited(secs: u64) -> crate::upstream::UpstreamError {
        crate::upstream::UpstreamError::Status {
            status: 429,
            message: "Resource has been exhausted".into(),
            retry_after: Some(std::time::Duration::from_secs(secs)),
            code: Some("RESOURCE_EXHAUSTED".into()),
            details: Vec::new(),
        }
    }

    fn leased(pool: &Arc<Pool>, exclude: &[i64]) -> Lease {
        let request = PickRequest {
            now: now_unix(),
            ..request(Scheduling::Balance, None, exclude)
        };
        match pool.lease(&request) {
            Leased::Account(lease) => lease,
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_lease_reports_its_outcome_and_the_pool_applies_it() {
        let pool = Arc::new(pool_of(2));
        let mut events = pool.subscribe();
        // A lease dropped without a report changes nothing.
        drop(leased(&pool, &[]));
        assert!(
            pool.snapshot()
                .iter()
                .all(|a| a.limits(now_unix()).is_empty())
        );
        assert!(events.try_recv().is_err());
        // A reported rate limit cools that account down for the model, and
        // says so once.
        let lease = leased(&pool, &[]);
        let id = lease.account().id;
        let verdict = lease.report(Outcome::Failed(&rate_limited(30)));
        assert!(
            matches!(verdict, Some(policy::Verdict::CoolDown { .. })),
            "{verdict:?}"
        );
        let limit = pool
            .account(id)
            .unwrap()
            .limit_for("m", now_unix())
            .unwrap();
        assert_eq!(limit.kind, LimitKind::CoolingDown);
        assert!(matches!(
            events.try_recv(),
            Ok(PoolEvent::Limited { account_id, .. }) if account_id == id
        ));
        // A success is no verdict and leaves the limit alone; the next
        // lease goes to the other account.
        assert!(lease.report(Outcome::Served).is_none());
        assert_ne!(leased(&pool, &[]).account().id, id);
        // A status change is made (and announced) once, however many
        // requests report it.
        let suspended = crate::upstream::UpstreamError::Status {
            status: 403,
            message:
                "This service has been disabled in this account for violation of Terms of Service."
                    .into(),
            retry_after: None,
            code: Some("PERMISSION_DENIED".into()),
            details: Vec::new(),
        };
        let other = leased(&pool, &[id]);
        let again = leased(&pool, &[id]);
        other.report(Outcome::Failed(&suspended));
        again.report(Outcome::Failed(&suspended));
        assert_eq!(other.account().status(), AccountStatus::Suspended);
        let changes = std::iter::from_fn(|| events.try_recv().ok())
            .filter(|e| matches!(e, PoolEvent::StatusChanged { .. }))
            .count();
        assert_eq!(changes, 1);
    }

    #[tokio::test]
    async fn concurrent_token_requests_refresh_once() {
        let pool = Arc::new(pool_of(1));
        let account = pool.snapshot()[0].clone();
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let fetch = |_refresh: Secret| async {
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            Ok(AccessToken {
                value: Secret::new("ya29.new"),
                expires_at: now_unix() + 3600,
            })
        };
        let tokens =
            futures::future::join_all((0..20).map(|_| pool.access_token(&account, fetch))).await;
        assert!(
            tokens
                .iter()
                .all(|t| t.as_ref().unwrap().expose() == "ya29.new")
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // A failed refresh is shared by the requests that waited for it:
        // one call to the token endpoint, every waiter gets its answer.
        account.invalidate_token_if(&Secret::new("ya29.new"));
        let failing = |_refresh: Secret| async {
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            Err(crate::upstream::UpstreamError::OAuth {
                status: 400,
                error: "invalid_grant".into(),
                description: None,
            })
        };
        let failures =
            futures::future::join_all((0..20).map(|_| pool.access_token(&account, failing))).await;
        assert!(failures.iter().all(|f| matches!(
            f,
            Err(crate::upstream::UpstreamError::OAuth { error, .. }) if error == "invalid_grant"
        )));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn reload_keeps_a_newer_cached_token() {
        let pool = Pool::new();
        pool.load(&[record(1, AccountStatus::Active)], &[], &[]);
        pool.snapshot()[0].set_token(AccessToken {
            value: Secret::new("fresh"),
            expires_at: 1000,
        });
        pool.load(&[record(1, AccountStatus::Active)], &[], &[]);
        assert_eq!(
            pool.snapshot()[0].usable_token(0, 60).unwrap().expose(),
            "fresh"
        );
        assert!(pool.snapshot()[0].usable_token(950, 60).is_none());
        // A new refresh token (account re-added) drops the old access token.
        let mut changed = record(1, AccountStatus::Active);
        changed.refresh_token = Secret::new("other");
        pool.load(&[changed], &[], &[]);
        assert!(pool.snapshot()[0].token().is_none());
    }
}
