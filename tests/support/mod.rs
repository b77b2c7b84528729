//! Test support: a mock of Google's OAuth and Code Assist endpoints on
//! 127.0.0.1:0, and helpers to run the gateway (in process or as the real
//! binary) against it.
//!
//! The mock keeps a small world: refresh tokens it knows (each an account with
//! an email and a project), the access tokens it issued, and a script of
//! answers for the generate endpoints. It records every generate request it
//! received, so tests can assert on what the gateway sent upstream.
//!
//! It behaves as Google does in late 2026 (`shared/reference/google-2026.md`):
//! - a refresh token belongs to the OAuth client that issued it; any other
//!   client gets `unauthorized_client`;
//! - personal accounts (free, AI Pro, Ultra) get `UNSUPPORTED_CLIENT` from
//!   `loadCodeAssist` on the Gemini CLI client and are served on the
//!   Antigravity client; Standard accounts (their own project) on Gemini CLI;
//! - a suspended account gets the Terms-of-Service 403 on every generate call;
//! - on the Antigravity client, newer models (Gemini 3, Claude) answer 404 to a
//!   user agent below `antigravity/2.9.0`;
//! - two hosts, `prod` (the main address, also `code_assist_url`) and `daily`,
//!   share the world; either can be made to fail, and each request records
//!   which host it reached.
// Each test binary uses a different part of this module, and test support
// may panic: a failed set-up is a failed test.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::result_large_err
)]

pub mod keyed;

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::sync::Notify;

use switchyard::config::Config;
use switchyard::gateway::{AppState, Gateway};
use switchyard::store::{NewAccount, Store};
use switchyard::upstream::google::GoogleClient;

/// The Gemini CLI's OAuth client id (Code Assist Standard/Enterprise).
pub const GEMINI_CLI_ID: &str =
    "681255809395-oo8ft2oprdrnp9e3aqf6av3hmdib135j.apps.googleusercontent.com";

/// An account the mock knows by its refresh token.
#[derive(Clone, Debug)]
pub struct MockAccount {
    pub email: String,
    pub project: String,
    /// Whether `loadCodeAssist` reports a current tier (else the gateway must onboard).
    pub onboarded: bool,
    /// The OAuth client id that issued the refresh token.
    pub client_id: String,
    /// A personal account (free, AI Pro, Ultra): refused on the Gemini CLI
    /// client, served on Antigravity's free tier. Else a Standard account
    /// with its own project.
    pub personal: bool,
    /// Google suspended the account for its Terms of Service.
    pub suspended: bool,
    /// `retrieveUserQuota` buckets by model: remaining fraction and reset
    /// (Unix seconds); empty: the defaults (pro 75 %, flash 100 %).
    pub quotas: std::collections::BTreeMap<String, (f64, i64)>,
    /// Quota windows by bucket id (`gemini-5h`, `gemini-weekly`, `3p-5h`,
    /// `3p-weekly`): remaining fraction and reset (Unix seconds). Personal
    /// accounts only.
    pub windows: HashMap<String, (f64, i64)>,
}

/// The models Google offers personal accounts on Antigravity (Aug 2026),
/// and Standard accounts on Code Assist.
pub const ANTIGRAVITY_MODELS: &[&str] = &[
    "claude-opus-4-6-thinking",
    "claude-sonnet-4-6",
    "gemini-2.5-flash",
    "gemini-2.5-pro",
    "gemini-3-flash",
    "gemini-3.1-flash-image",
    "gemini-3.1-pro-low",
    "gpt-oss-120b-medium",
];
pub const CODE_ASSIST_MODELS: &[&str] = &[
    "gemini-2.5-flash",
    "gemini-2.5-flash-lite",
    "gemini-2.5-pro",
    "gemini-3-flash-preview",
    "gemini-3-pro-preview",
];

fn default_windows() -> HashMap<String, (f64, i64)> {
    let now = switchyard::store::now_unix();
    [
        ("gemini-5h", 0.8, now + 3 * 3600),
        ("gemini-weekly", 0.6, now + 4 * 86_400),
        ("3p-5h", 1.0, now + 5 * 3600),
        ("3p-weekly", 0.9, now + 6 * 86_400),
    ]
    .into_iter()
    .map(|(id, left, reset)| (id.to_owned(), (left, reset)))
    .collect()
}

/// Which of the two Code Assist hosts a request reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Host {
    Prod,
    Daily,
}

/// A scripted answer for the next generate call.
pub enum Scripted {
    /// An error status with a Google-style body.
    Error(u16, Value),
    /// A whole (unwrapped) `GenerateContentResponse`; for stream calls, sent as one event.
    Answer(Value),
    /// Stream events (unwrapped responses). `then_drop` breaks the connection
    /// after them instead of ending cleanly.
    Stream { chunks: Vec<Value>, then_drop: bool },
    /// Stream events sent as they are (`data: {text}`), not wrapped.
    RawStream(Vec<String>),
    /// Answers (the default answer) only after this long.
    Slow(Duration),
    /// Sends `first`, waits until the gate is opened, then sends `rest`.
    Gated {
        first: Vec<Value>,
        gate: Arc<Notify>,
        rest: Vec<Value>,
    },
}

/// One generate request as the mock received it.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub access_token: String,
    pub email: String,
    pub body: Value,
    pub user_agent: String,
    pub host: Host,
    /// The `Client-Metadata` header, when sent.
    pub client_metadata: Option<String>,
}

#[derive(Default)]
struct World {
    /// Hosts that answer every Code Assist call with this status.
    failing_hosts: HashMap<Host, u16>,
    /// Refresh tokens whose refresh never answers.
    stalled_tokens: HashSet<String>,
    accounts: HashMap<String, MockAccount>,
    /// access token → (email, expires at in Unix seconds)
    issued: HashMap<String, (String, i64)>,
    revoked: HashSet<String>,
    next_token: u64,
    token_lifetime_secs: i64,
    refreshes: usize,
    script: VecDeque<Scripted>,
    /// Answers for one account (by email), used before the shared script.
    account_scripts: HashMap<String, VecDeque<Scripted>>,
    received: Vec<Received>,
    operations: HashMap<String, String>,
    /// The refresh token the next browser sign-in grants.
    login_account: Option<String>,
    /// code → (refresh token, redirect_uri, PKCE challenge)
    codes: HashMap<String, (String, String, Option<String>)>,
}

#[derive(Clone, Default)]
pub struct MockGoogle {
    world: Arc<Mutex<World>>,
}

pub struct RunningMock {
    /// The prod host (and the OAuth endpoints).
    pub addr: SocketAddr,
    /// The daily host (the Antigravity client's first).
    pub daily_addr: SocketAddr,
    pub mock: MockGoogle,
}

impl RunningMock {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn daily_url(&self) -> String {
        format!("http://{}", self.daily_addr)
    }

    /// A config whose `[google]` URLs all point at this mock (the
    /// Antigravity risk not accepted, as by default).
    pub fn config(&self) -> Config {
        let mut config = Config::default();
        config.google.code_assist_url = self.url();
        config.google.antigravity_urls = vec![self.daily_url(), self.url()];
        config.google.oauth_auth_url = format!("{}/o/oauth2/v2/auth", self.url());
        config.google.oauth_token_url = format!("{}/token", self.url());
        config.google.userinfo_url = format!("{}/oauth2/v2/userinfo", self.url());
        config.gateway.api_key = "sk-test-key-0123456789".to_owned();
        config
    }

    /// The same as TOML, for the real binary's `SWITCHYARD_HOME`.
    pub fn config_toml(&self) -> String {
        self.config().to_toml().unwrap()
    }
}

impl MockGoogle {
    pub async fn start() -> RunningMock {
        let mock = MockGoogle::default();
        mock.world.lock().token_lifetime_secs = 3600;
        let addr = mock.listen(Host::Prod).await;
        let daily_addr = mock.listen(Host::Daily).await;
        RunningMock {
            addr,
            daily_addr,
            mock,
        }
    }

    async fn listen(&self, host: Host) -> SocketAddr {
        let app = Router::new()
            .route("/token", post(token))
            .route("/o/oauth2/v2/auth", get(authorize))
            .route("/oauth2/v2/userinfo", get(userinfo))
            .route("/v1internal:loadCodeAssist", post(load_code_assist))
            .route("/v1internal:onboardUser", post(onboard_user))
            .route("/v1internal/operations/{id}", get(operation))
            .route("/v1internal:retrieveUserQuota", post(quota))
            .route("/v1internal:fetchAvailableModels", post(available_models))
            .route("/v1internal:retrieveUserQuotaSummary", post(quota_summary))
            .route("/v1internal:generateContent", post(generate))
            .route("/v1internal:streamGenerateContent", post(stream_generate))
            .route("/v1internal:countTokens", post(count_tokens))
            .layer(axum::middleware::from_fn_with_state(
                (self.clone(), host),
                host_gate,
            ))
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        addr
    }

    /// A Standard (paid) Code Assist account with its own project, on the
    /// Gemini CLI client. `onboarded: false` makes the gateway onboard it onto
    /// the standard tier with its project.
    pub fn add_account(&self, refresh_token: &str, email: &str, onboarded: bool) {
        self.insert_account(refresh_token, email, onboarded, GEMINI_CLI_ID, false);
    }

    /// A personal Google account whose refresh token the Antigravity client
    /// issued, already on the free tier.
    pub fn add_personal(&self, refresh_token: &str, email: &str) {
        self.insert_account(
            refresh_token,
            email,
            true,
            switchyard::config::ANTIGRAVITY_CLIENT_ID,
            true,
        );
    }

    /// The same, not onboarded yet: adding it goes through `onboardUser`
    /// onto the free tier.
    pub fn add_new_personal(&self, refresh_token: &str, email: &str) {
        self.insert_account(
            refresh_token,
            email,
            false,
            switchyard::config::ANTIGRAVITY_CLIENT_ID,
            true,
        );
    }

    /// A personal Google account whose refresh token the Gemini CLI client
    /// issued (before June 2026): refreshes, then `UNSUPPORTED_CLIENT`.
    pub fn add_personal_on_gemini_cli(&self, refresh_token: &str, email: &str) {
        self.insert_account(refresh_token, email, true, GEMINI_CLI_ID, true);
    }

    fn insert_account(
        &self,
        refresh_token: &str,
        email: &str,
        onboarded: bool,
        client_id: &str,
        personal: bool,
    ) {
        self.world.lock().accounts.insert(
            refresh_token.to_owned(),
            MockAccount {
                email: email.to_owned(),
                project: format!("project-{}", email.split('@').next().unwrap_or("x")),
                onboarded,
                client_id: client_id.to_owned(),
                personal,
                suspended: false,
                windows: default_windows(),
                quotas: Default::default(),
            },
        );
    }

    /// Sets what `retrieveUserQuota` says of one model of an account.
    pub fn set_quota(&self, email: &str, model: &str, remaining: f64, reset_at: i64) {
        for account in self.world.lock().accounts.values_mut() {
            if account.email == email {
                account
                    .quotas
                    .insert(model.to_owned(), (remaining, reset_at));
            }
        }
    }

    /// Sets one quota window of an account (`bucket` as `gemini-weekly`).
    pub fn set_window(&self, email: &str, bucket: &str, remaining: f64, reset_at: i64) {
        for account in self.world.lock().accounts.values_mut() {
            if account.email == email {
                account
                    .windows
                    .insert(bucket.to_owned(), (remaining, reset_at));
            }
        }
    }

    /// The token endpoint stops answering refreshes of `refresh_token`.
    pub fn stall_refresh(&self, refresh_token: &str) {
        self.world
            .lock()
            .stalled_tokens
            .insert(refresh_token.to_owned());
    }

    /// Google suspends the account: every generate call gets the ToS 403.
    pub fn suspend(&self, email: &str) {
        for account in self.world.lock().accounts.values_mut() {
            if account.email == email {
                account.suspended = true;
            }
        }
    }

    /// Makes one host answer every Code Assist call with `status` (`None`: heal it).
    pub fn fail_host(&self, host: Host, status: Option<u16>) {
        let mut world = self.world.lock();
        match status {
            Some(status) => world.failing_hosts.insert(host, status),
            None => world.failing_hosts.remove(&host),
        };
    }

    /// The account (by refresh token) that the next browser sign-in signs in.
    pub fn set_login_account(&self, refresh_token: &str) {
        self.world.lock().login_account = Some(refresh_token.to_owned());
    }

    pub fn set_token_lifetime(&self, secs: i64) {
        self.world.lock().token_lifetime_secs = secs;
    }

    /// Makes every access token issued so far answer 401.
    pub fn revoke_access_tokens(&self) {
        let mut world = self.world.lock();
        let issued: Vec<String> = world.issued.keys().cloned().collect();
        world.revoked.extend(issued);
    }

    /// Forgets a refresh token: refreshing it answers `invalid_grant`.
    pub fn revoke_refresh_token(&self, refresh_token: &str) {
        self.world.lock().accounts.remove(refresh_token);
    }

    pub fn script(&self, answer: Scripted) {
        self.world.lock().script.push_back(answer);
    }

    /// Scripts the next answer for one account only.
    pub fn script_for(&self, email: &str, answer: Scripted) {
        self.world
            .lock()
            .account_scripts
            .entry(email.to_owned())
            .or_default()
            .push_back(answer);
    }

    pub fn refreshes(&self) -> usize {
        self.world.lock().refreshes
    }

    pub fn received(&self) -> Vec<Received> {
        self.world.lock().received.clone()
    }

    /// The account an access token belongs to, with the OAuth client id the
    /// token was issued to (the account's own).
    fn account_for(&self, headers: &HeaderMap) -> Result<(String, MockAccount), Response> {
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default()
            .to_owned();
        let world = self.world.lock();
        let now = switchyard::store::now_unix();
        let valid = world
            .issued
            .get(&token)
            .filter(|(_, expires)| *expires > now)
            .filter(|_| !world.revoked.contains(&token));
        let Some((email, _)) = valid else {
            return Err(google_error(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials.",
            ));
        };
        let account = world
            .accounts
            .values()
            .find(|a| &a.email == email)
            .cloned()
            .ok_or_else(|| google_error(401, "UNAUTHENTICATED", "unknown account"))?;
        Ok((token, account))
    }
}

/// Fails every Code Assist call on a host made to fail; tags the request
/// with its host for the handlers.
async fn host_gate(
    State((mock, host)): State<(MockGoogle, Host)>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let failing = mock.world.lock().failing_hosts.get(&host).copied();
    if let Some(status) = failing
        && request.uri().path().starts_with("/v1internal")
    {
        return google_error(
            status,
            "UNAVAILABLE",
            "The service is currently unavailable.",
        );
    }
    request.extensions_mut().insert(host);
    next.run(request).await
}

pub fn google_error(code: u16, status: &str, message: &str) -> Response {
    (
        StatusCode::from_u16(code).unwrap(),
        Json(json!({"error": {"code": code, "message": message, "status": status}})),
    )
        .into_response()
}

async fn token(
    State(mock): State<MockGoogle>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let stalled = form
        .get("refresh_token")
        .is_some_and(|r| mock.world.lock().stalled_tokens.contains(r));
    if stalled {
        // A token endpoint that never answers (a captive portal, a laptop
        // waking up): longer than any deadline of the gateway.
        tokio::time::sleep(Duration::from_secs(300)).await;
    }
    let mut world = mock.world.lock();
    if form.get("grant_type").map(String::as_str) == Some("authorization_code") {
        let code = form.get("code").cloned().unwrap_or_default();
        let Some((refresh, redirect_uri, challenge)) = world.codes.remove(&code) else {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": "invalid_grant", "error_description": "Bad code."})),
            )
                .into_response();
        };
        if form.get("redirect_uri") != Some(&redirect_uri) {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": "redirect_uri_mismatch"})),
            )
                .into_response();
        }
        if let Some(challenge) = challenge {
            use base64::Engine;
            use sha2::Digest;
            let verifier = form.get("code_verifier").cloned().unwrap_or_default();
            let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(sha2::Sha256::digest(verifier.as_bytes()));
            if computed != challenge {
                return (StatusCode::BAD_REQUEST, Json(json!({"error": "invalid_grant", "error_description": "PKCE check failed."}))).into_response();
            }
        }
        // The sign-in's client issued this refresh token.
        let client_id = form.get("client_id").cloned().unwrap_or_default();
        let account = world.accounts.get_mut(&refresh).unwrap();
        account.client_id = client_id;
        let email = account.email.clone();
        world.next_token += 1;
        let access = format!("ya29.mock-{}", world.next_token);
        let lifetime = world.token_lifetime_secs;
        world.issued.insert(
            access.clone(),
            (email, switchyard::store::now_unix() + lifetime),
        );
        return Json(json!({"access_token": access, "refresh_token": refresh, "expires_in": lifetime, "token_type": "Bearer"})).into_response();
    }
    if form.get("grant_type").map(String::as_str) != Some("refresh_token") {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "unsupported_grant_type"})),
        )
            .into_response();
    }
    if form.get("client_id").is_none_or(|c| c.is_empty()) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let refresh = form.get("refresh_token").cloned().unwrap_or_default();
    let Some(account) = world.accounts.get(&refresh).cloned() else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant", "error_description": "Token has been expired or revoked."})),
        )
            .into_response();
    };
    if form.get("client_id") != Some(&account.client_id) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "unauthorized_client", "error_description": "Unauthorized"})),
        )
            .into_response();
    }
    world.next_token += 1;
    world.refreshes += 1;
    let access = format!("ya29.mock-{}", world.next_token);
    let lifetime = world.token_lifetime_secs;
    world.issued.insert(
        access.clone(),
        (account.email, switchyard::store::now_unix() + lifetime),
    );
    Json(json!({"access_token": access, "expires_in": lifetime, "token_type": "Bearer", "scope": "x"})).into_response()
}

/// Google's consent page, skipped: it sends the browser straight back to the
/// redirect URI with a code (as if the user clicked Allow).
async fn authorize(
    State(mock): State<MockGoogle>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut world = mock.world.lock();
    for required in ["client_id", "redirect_uri", "state", "scope"] {
        if query.get(required).is_none_or(|v| v.is_empty()) {
            return (StatusCode::BAD_REQUEST, format!("missing {required}")).into_response();
        }
    }
    if query.get("response_type").map(String::as_str) != Some("code")
        || query.get("access_type").map(String::as_str) != Some("offline")
    {
        return (StatusCode::BAD_REQUEST, "bad response_type or access_type").into_response();
    }
    let Some(refresh) = world.login_account.clone() else {
        return (StatusCode::BAD_REQUEST, "no login account set in the mock").into_response();
    };
    let code = format!("4/code-{}", world.codes.len() + 1);
    world.codes.insert(
        code.clone(),
        (
            refresh,
            query["redirect_uri"].clone(),
            query.get("code_challenge").cloned(),
        ),
    );
    let location = format!(
        "{}?state={}&code={}&scope=email",
        query["redirect_uri"], query["state"], code
    );
    (StatusCode::FOUND, [("location", location)]).into_response()
}

async fn userinfo(State(mock): State<MockGoogle>, headers: HeaderMap) -> Response {
    match mock.account_for(&headers) {
        Ok((_, account)) => {
            Json(json!({"email": account.email, "verified_email": true})).into_response()
        }
        Err(response) => response,
    }
}

async fn load_code_assist(State(mock): State<MockGoogle>, headers: HeaderMap) -> Response {
    let (_, account) = match mock.account_for(&headers) {
        Ok(found) => found,
        Err(response) => return response,
    };
    let antigravity = account.client_id == switchyard::config::ANTIGRAVITY_CLIENT_ID;
    if account.personal && !antigravity {
        return Json(json!({
            "ineligibleTiers": [{
                "reasonCode": "UNSUPPORTED_CLIENT",
                "tierId": "free-tier",
                "tierName": "Gemini Code Assist for individuals",
                "reasonMessage": "This client is no longer supported for Gemini Code Assist for individuals. To continue using Gemini, please migrate to the Antigravity suite of products: https://antigravity.google"
            }]
        }))
        .into_response();
    }
    let tier = if account.personal {
        json!({"id": "free-tier", "name": "Gemini Code Assist for individuals"})
    } else {
        json!({"id": "standard-tier", "name": "Gemini Code Assist Standard", "userDefinedCloudaicompanionProject": true})
    };
    if account.onboarded {
        Json(json!({"currentTier": tier, "cloudaicompanionProject": account.project}))
            .into_response()
    } else if account.personal {
        Json(json!({"allowedTiers": [{"id": "free-tier", "isDefault": true}, {"id": "standard-tier"}]})).into_response()
    } else {
        Json(json!({"allowedTiers": [{"id": "standard-tier", "isDefault": true, "userDefinedCloudaicompanionProject": true}]})).into_response()
    }
}

async fn onboard_user(
    State(mock): State<MockGoogle>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let (_, account) = match mock.account_for(&headers) {
        Ok(found) => found,
        Err(response) => return response,
    };
    // The free tier runs on Google's project (sending one fails); the
    // standard tier needs the account's own.
    let sent_project = body.get("cloudaicompanionProject").and_then(Value::as_str);
    let allowed = match body.get("tierId").and_then(Value::as_str) {
        Some("free-tier") => account.personal && sent_project.is_none(),
        Some("standard-tier") => {
            !account.personal && sent_project == Some(account.project.as_str())
        }
        _ => false,
    };
    if !allowed {
        return google_error(400, "FAILED_PRECONDITION", "Precondition Failed");
    }
    let mut world = mock.world.lock();
    let name = format!("operations/onboard-{}", world.operations.len() + 1);
    world.operations.insert(name.clone(), account.email.clone());
    Json(json!({"name": name, "done": false})).into_response()
}

async fn operation(
    State(mock): State<MockGoogle>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(response) = mock.account_for(&headers) {
        return response;
    }
    let mut world = mock.world.lock();
    let Some(email) = world.operations.get(&format!("operations/{id}")).cloned() else {
        return google_error(404, "NOT_FOUND", "no such operation");
    };
    let account = world
        .accounts
        .values_mut()
        .find(|a| a.email == email)
        .unwrap();
    account.onboarded = true;
    Json(json!({"name": format!("operations/{id}"), "done": true,
                "response": {"cloudaicompanionProject": {"id": account.project, "name": account.project}}}))
    .into_response()
}

async fn quota(State(mock): State<MockGoogle>, headers: HeaderMap) -> Response {
    let account = match mock.account_for(&headers) {
        Ok((_, account)) => account,
        Err(response) => return response,
    };
    if account.quotas.is_empty() {
        return Json(json!({"buckets": [
            {"modelId": "gemini-2.5-pro", "remainingFraction": 0.75, "resetTime": "2030-01-01T00:00:00Z", "tokenType": "REQUESTS"},
            {"modelId": "gemini-2.5-flash", "remainingFraction": 1.0, "resetTime": "2030-01-01T00:00:00Z", "tokenType": "REQUESTS"}
        ]}))
        .into_response();
    }
    let buckets: Vec<Value> = account
        .quotas
        .iter()
        .map(|(model, (remaining, reset_at))| {
            json!({"modelId": model, "remainingFraction": remaining,
                   "resetTime": rfc3339(*reset_at), "tokenType": "REQUESTS"})
        })
        .collect();
    Json(json!({ "buckets": buckets })).into_response()
}

fn is_antigravity(account: &MockAccount) -> bool {
    account.client_id == switchyard::config::ANTIGRAVITY_CLIENT_ID
}

fn rfc3339(at: i64) -> String {
    chrono::DateTime::from_timestamp(at, 0)
        .unwrap()
        .to_rfc3339()
}

/// `fetchAvailableModels`: the account's models, Google's forwarding rules,
/// and per-model `quotaInfo` (always 100 % for Claude/GPT, as Google shows).
async fn available_models(State(mock): State<MockGoogle>, headers: HeaderMap) -> Response {
    let (_, account) = match mock.account_for(&headers) {
        Ok(found) => found,
        Err(response) => return response,
    };
    let models = if is_antigravity(&account) {
        ANTIGRAVITY_MODELS
    } else {
        CODE_ASSIST_MODELS
    };
    let reset = rfc3339(switchyard::store::now_unix() + 5 * 3600);
    let listed: serde_json::Map<String, Value> = models
        .iter()
        .map(|id| {
            let third_party = id.starts_with("claude") || id.starts_with("gpt");
            let fraction = if third_party { 1.0 } else { 0.8 };
            (
                (*id).to_owned(),
                json!({
                    "displayName": id.replace('-', " "),
                    "quotaInfo": {"remainingFraction": fraction, "resetTime": reset},
                    "maxTokens": 200_000,
                    "maxOutputTokens": 64_000,
                    "supportsThinking": id.contains("thinking") || id.starts_with("gemini-3"),
                    "supportsImages": true,
                }),
            )
        })
        .collect();
    let deprecated = if is_antigravity(&account) {
        json!({
            "claude-opus-4-5-thinking": {"newModelId": "claude-opus-4-6-thinking"},
            "gemini-3-pro-preview": {"newModelId": "gemini-3.1-pro-low"},
        })
    } else {
        json!({})
    };
    Json(json!({"models": listed, "deprecatedModelIds": deprecated})).into_response()
}

/// `retrieveUserQuotaSummary`: both windows of both groups. On prod the
/// Gemini 5-hour bucket is the frozen sentinel (100 %, 5 h ahead).
async fn quota_summary(
    State(mock): State<MockGoogle>,
    axum::Extension(host): axum::Extension<Host>,
    headers: HeaderMap,
) -> Response {
    let (_, account) = match mock.account_for(&headers) {
        Ok(found) => found,
        Err(response) => return response,
    };
    if !is_antigravity(&account) {
        return google_error(404, "NOT_FOUND", "Requested entity was not found.");
    }
    let now = switchyard::store::now_unix();
    let bucket = |id: &str| {
        let (left, reset) = account
            .windows
            .get(id)
            .copied()
            .unwrap_or((1.0, now + 3600));
        let (left, reset) = if host == Host::Prod && id == "gemini-5h" {
            (1.0, now + 5 * 3600)
        } else {
            (left, reset)
        };
        let window = id.rsplit('-').next().unwrap();
        json!({"bucketId": id, "window": window, "remainingFraction": left,
               "resetTime": rfc3339(reset), "displayName": id})
    };
    Json(json!({"groups": [
        {"displayName": "Gemini Models", "buckets": [bucket("gemini-5h"), bucket("gemini-weekly")]},
        {"displayName": "Claude and GPT models", "buckets": [bucket("3p-5h"), bucket("3p-weekly")]},
    ]}))
    .into_response()
}

/// Records a generate request; returns the scripted answer (if any) and the
/// request's number (1 for the first).
fn record(
    mock: &MockGoogle,
    method: &str,
    host: Host,
    headers: &HeaderMap,
    body: &Value,
) -> Result<(Option<Scripted>, usize), Response> {
    let (token, account) = mock.account_for(headers)?;
    if body.get("project").and_then(Value::as_str) != Some(account.project.as_str()) {
        return Err(google_error(403, "PERMISSION_DENIED", "wrong project"));
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let user_agent = header("user-agent").unwrap_or_default();
    let mut world = mock.world.lock();
    world.received.push(Received {
        method: method.to_owned(),
        access_token: token,
        email: account.email.clone(),
        body: body.clone(),
        user_agent: user_agent.clone(),
        host,
        client_metadata: header("client-metadata"),
    });
    if account.suspended {
        return Err(suspension());
    }
    if let Some(refusal) = signature_refusal(body) {
        return Err(refusal);
    }
    if let Some(refusal) = schema_refusal(body) {
        return Err(refusal);
    }
    let model = body["model"].as_str().unwrap_or_default();
    if account.client_id == switchyard::config::ANTIGRAVITY_CLIENT_ID
        && (model.starts_with("gemini-3") || model.starts_with("claude-"))
        && !antigravity_version_at_least(&user_agent, (2, 9, 0))
    {
        return Err(google_error(
            404,
            "NOT_FOUND",
            "Requested entity was not found.",
        ));
    }
    let number = world.received.len();
    let email = world.received[number - 1].email.clone();
    let own = world
        .account_scripts
        .get_mut(&email)
        .and_then(VecDeque::pop_front);
    let scripted = own.or_else(|| world.script.pop_front());
    Ok((scripted, number))
}

/// The prefix of the signatures the mock issues for `model`: Claude models
/// behind Google sign with their own (`claude-sig-{n}-…`), Gemini with `sig-`.
pub fn signature_prefix(model: &str) -> &'static str {
    if model.starts_with("claude") {
        "claude-sig-"
    } else {
        "sig-"
    }
}

/// The fields Gemini's `Schema` (an OpenAPI 3.0 subset) has; any other key
/// in a function's `parameters` is refused.
const SCHEMA_FIELDS: &[&str] = &[
    "type",
    "format",
    "description",
    "nullable",
    "enum",
    "maxItems",
    "minItems",
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "example",
    "anyOf",
    "propertyOrdering",
    "default",
    "items",
    "minimum",
    "maximum",
    "title",
];
const SCHEMA_TYPES: &[&str] = &["STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT"];

/// Gemini's rules for `functionDeclarations[].parameters`, with its
/// messages: an OBJECT needs properties ("should be non-empty for OBJECT
/// type"), an ARRAY needs items, only known fields and types, `required`
/// names only properties there are, no `$ref`.
fn schema_refusal(body: &Value) -> Option<Response> {
    let tools = body["request"]["tools"].as_array()?;
    for (t, tool) in tools.iter().enumerate() {
        let declarations = tool["functionDeclarations"]
            .as_array()
            .into_iter()
            .flatten();
        for (d, declaration) in declarations.enumerate() {
            if let Some(parameters) = declaration.get("parameters") {
                let at = format!(
                    "GenerateContentRequest.tools[{t}].function_declarations[{d}].parameters"
                );
                if let Err(message) = schema_problem(parameters, &at) {
                    return Some(google_error(
                        400,
                        "INVALID_ARGUMENT",
                        &format!("* {message}"),
                    ));
                }
            }
        }
    }
    None
}

pub fn schema_problem(schema: &Value, at: &str) -> Result<(), String> {
    let object = schema
        .as_object()
        .ok_or_else(|| format!("{at}: a schema must be an object"))?;
    for key in object.keys() {
        if !SCHEMA_FIELDS.contains(&key.as_str()) {
            return Err(format!(
                "Invalid JSON payload received. Unknown name \"{key}\" at '{at}': Cannot find field."
            ));
        }
    }
    let kind = object.get("type").and_then(Value::as_str);
    if let Some(kind) = kind
        && !SCHEMA_TYPES.contains(&kind)
    {
        return Err(format!("Invalid value at '{at}.type', \"{kind}\""));
    }
    let properties = object.get("properties").and_then(Value::as_object);
    if kind == Some("OBJECT") && properties.is_none_or(serde_json::Map::is_empty) {
        return Err(format!(
            "{at}.properties: should be non-empty for OBJECT type"
        ));
    }
    if kind == Some("ARRAY") && object.get("items").is_none() {
        return Err(format!("{at}.items: missing field."));
    }
    for name in object
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = name.as_str().unwrap_or_default();
        if !properties.is_some_and(|p| p.contains_key(name)) {
            return Err(format!("{at}.required[{name}]: property is not defined"));
        }
    }
    if object.contains_key("enum") && kind != Some("STRING") {
        return Err(format!("{at}.enum: only allowed for STRING type"));
    }
    for (name, property) in properties.into_iter().flatten() {
        schema_problem(property, &format!("{at}.properties[{name}]"))?;
    }
    if let Some(items) = object.get("items") {
        schema_problem(items, &format!("{at}.items"))?;
    }
    for (i, variant) in object
        .get("anyOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        schema_problem(variant, &format!("{at}.any_of[{i}]"))?;
    }
    Ok(())
}

/// Google's signature rules across model families (google-2026.md §6): a
/// Claude model takes thinking in the history only as `{thought, text,
/// thoughtSignature}` with its own family's signatures; a Gemini model
/// refuses Claude's.
fn signature_refusal(body: &Value) -> Option<Response> {
    let model = body["model"].as_str().unwrap_or_default();
    let claude = model.starts_with("claude");
    let parts = body["request"]["contents"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["role"] == "model")
        .flat_map(|c| c["parts"].as_array().into_iter().flatten());
    for part in parts {
        let signature = part["thoughtSignature"].as_str();
        let thought = part["thought"] == json!(true);
        if claude {
            if signature.is_some_and(|s| !s.starts_with("claude-sig-")) {
                return Some(google_error(
                    400,
                    "INVALID_ARGUMENT",
                    "messages: Invalid `signature` in `thinking` block",
                ));
            }
            if thought && (signature.is_none() || part["text"].as_str().is_none_or(str::is_empty)) {
                return Some(google_error(
                    400,
                    "INVALID_ARGUMENT",
                    "messages: a thinking block needs both its thinking text and its signature",
                ));
            }
        } else if signature.is_some_and(|s| s.starts_with("claude-sig-")) {
            return Some(google_error(
                400,
                "INVALID_ARGUMENT",
                "Corrupted thought signature.",
            ));
        }
    }
    None
}

/// Google's suspension 403, with the appeal form in its details.
fn suspension() -> Response {
    (
        StatusCode::FORBIDDEN,
        Json(json!({"error": {
            "code": 403,
            "message": "This service has been disabled in this account for violation of Terms of Service. Please submit an appeal to continue using this product.",
            "status": "PERMISSION_DENIED",
            "details": [{
                "@type": "type.googleapis.com/google.rpc.Help",
                "links": [{"description": "Submit an appeal", "url": "https://support.google.com/gemini/contact/appeal"}]
            }]
        }})),
    )
        .into_response()
}

/// Whether `user_agent` is `antigravity/X.Y.Z …` with a version at least `floor`.
fn antigravity_version_at_least(user_agent: &str, floor: (u32, u32, u32)) -> bool {
    let Some(version) = user_agent
        .strip_prefix("antigravity/")
        .and_then(|rest| rest.split_whitespace().next())
    else {
        return false;
    };
    let mut numbers = version.split('.').map(|n| n.parse::<u32>().unwrap_or(0));
    let version = (
        numbers.next().unwrap_or(0),
        numbers.next().unwrap_or(0),
        numbers.next().unwrap_or(0),
    );
    version >= floor
}

/// The default answer, when nothing is scripted: the mock behaves like a
/// small thinking model that uses tools.
/// - asked to think (`thinkingConfig.includeThoughts`): a signed thought part first;
/// - offered tools: a signed call of the next tool not yet called in this
///   conversation (the first, then the second, …), with placeholder arguments
///   for its required parameters;
/// - once every tool was called: `tool NAME said: RESULT` of the last result;
/// - the last turn holds an image: `image: MIME, N base64 chars`;
/// - otherwise `echo: LAST TEXT`.
///
/// Signatures are `sig-{request number}-thought` / `-call`, so tests can check
/// each one comes back.
fn default_answer(body: &Value, number: usize) -> Value {
    let request = &body["request"];
    let last_parts: Vec<Value> = request["contents"]
        .as_array()
        .and_then(|c| c.last())
        .and_then(|c| c["parts"].as_array())
        .cloned()
        .unwrap_or_default();
    let mut parts = Vec::new();
    let thinking = request["generationConfig"]["thinkingConfig"]["includeThoughts"] == json!(true);
    let tool_result = last_parts.iter().find_map(|p| p.get("functionResponse"));
    let results_so_far = request["contents"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["parts"].as_array().into_iter().flatten())
        .filter(|p| p.get("functionResponse").is_some())
        .count();
    let tool = request["tools"]
        .as_array()
        .and_then(|t| t.iter().find_map(|t| t["functionDeclarations"].as_array()))
        .and_then(|d| d.get(results_so_far));
    let prefix = signature_prefix(body["model"].as_str().unwrap_or_default());
    if thinking {
        parts.push(json!({"text": "Thinking it over.", "thought": true, "thoughtSignature": format!("{prefix}{number}-thought")}));
    }
    if let Some(tool) = tool {
        let mut args = serde_json::Map::new();
        for name in tool["parameters"]["required"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let name = name.as_str().unwrap_or_default();
            let value = match tool["parameters"]["properties"][name]["type"].as_str() {
                Some("INTEGER" | "NUMBER" | "integer" | "number") => json!(1),
                Some("BOOLEAN" | "boolean") => json!(true),
                _ => json!("x"),
            };
            args.insert(name.to_owned(), value);
        }
        parts.push(json!({"functionCall": {"name": tool["name"], "args": args}, "thoughtSignature": format!("{prefix}{number}-call")}));
    } else if let Some(result) = tool_result {
        parts.push(json!({"text": format!("tool {} said: {}", result["name"].as_str().unwrap_or("?"), result["response"])}));
    } else if let Some(image) = last_parts.iter().find_map(|p| p.get("inlineData")) {
        parts.push(json!({"text": format!("image: {}, {} base64 chars",
            image["mimeType"].as_str().unwrap_or("?"), image["data"].as_str().unwrap_or("").len())}));
    } else {
        let last_text = last_parts
            .iter()
            .rev()
            .find_map(|p| p["text"].as_str())
            .unwrap_or("");
        parts.push(json!({"text": format!("echo: {last_text}")}));
    }
    json!({
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": 11, "candidatesTokenCount": 5, "totalTokenCount": 16},
        "modelVersion": body["model"].clone()
    })
}

/// A whole answer as stream events, the way the upstream streams: one event
/// per part, answer text in two halves, finish reason and usage on the last.
fn stream_events(answer: &Value) -> Vec<Value> {
    let parts = answer["candidates"][0]["content"]["parts"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut events = Vec::new();
    for part in parts {
        match part["text"].as_str() {
            Some(text) if part.get("thought").is_none() && text.len() > 1 => {
                let middle = text
                    .char_indices()
                    .nth(text.chars().count() / 2)
                    .map_or(0, |(i, _)| i);
                let (a, b) = text.split_at(middle);
                let mut first = part.clone();
                first["text"] = json!(a);
                let mut second = part.clone();
                second["text"] = json!(b);
                if let Some(object) = second.as_object_mut() {
                    object.remove("thoughtSignature");
                }
                events.push(first);
                events.push(second);
            }
            _ => events.push(part),
        }
    }
    let count = events.len();
    events
        .into_iter()
        .enumerate()
        .map(|(i, part)| {
            let mut event =
                json!({"candidates": [{"content": {"role": "model", "parts": [part]}}]});
            if i + 1 == count {
                event["candidates"][0]["finishReason"] =
                    answer["candidates"][0]["finishReason"].clone();
                event["usageMetadata"] = answer["usageMetadata"].clone();
            }
            event
        })
        .collect()
}

fn wrap(response: &Value) -> Value {
    json!({"response": response, "traceId": "trace-1"})
}

async fn generate(
    State(mock): State<MockGoogle>,
    axum::Extension(host): axum::Extension<Host>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    match record(&mock, "generateContent", host, &headers, &body) {
        Err(response) => response,
        Ok((None, number)) => Json(wrap(&default_answer(&body, number))).into_response(),
        Ok((Some(Scripted::Error(code, error)), _)) => {
            (StatusCode::from_u16(code).unwrap(), Json(error)).into_response()
        }
        Ok((Some(Scripted::Answer(answer)), _)) => Json(wrap(&answer)).into_response(),
        Ok((Some(Scripted::Slow(delay)), number)) => {
            tokio::time::sleep(delay).await;
            Json(wrap(&default_answer(&body, number))).into_response()
        }
        Ok((Some(_), _)) => google_error(
            500,
            "INTERNAL",
            "a stream was scripted for a non-stream call",
        ),
    }
}

/// Counts one token per whitespace-separated word of every text part.
async fn count_tokens(
    State(mock): State<MockGoogle>,
    axum::Extension(host): axum::Extension<Host>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let (token, account) = match mock.account_for(&headers) {
        Ok(found) => found,
        Err(response) => return response,
    };
    if !body["request"]["model"]
        .as_str()
        .is_some_and(|m| m.starts_with("models/"))
    {
        return google_error(400, "INVALID_ARGUMENT", "model must be models/<id>");
    }
    let words: usize = body["request"]["contents"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["parts"].as_array().into_iter().flatten())
        .filter_map(|p| p["text"].as_str())
        .map(|t| t.split_whitespace().count())
        .sum();
    mock.world.lock().received.push(Received {
        method: "countTokens".to_owned(),
        access_token: token,
        email: account.email,
        body: body.clone(),
        user_agent: String::new(),
        host,
        client_metadata: None,
    });
    Json(json!({"totalTokens": words})).into_response()
}

fn sse_event(response: &Value) -> Bytes {
    Bytes::from(format!("data: {}\r\n\r\n", wrap(response)))
}

async fn stream_generate(
    State(mock): State<MockGoogle>,
    axum::Extension(host): axum::Extension<Host>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let scripted = match record(&mock, "streamGenerateContent", host, &headers, &body) {
        Err(response) => return response,
        Ok(scripted) => scripted,
    };
    let (scripted, number) = scripted;
    let (events, then_drop, gate, rest) = match scripted {
        None => (
            stream_events(&default_answer(&body, number)),
            false,
            None,
            Vec::new(),
        ),
        Some(Scripted::Error(code, error)) => {
            return (StatusCode::from_u16(code).unwrap(), Json(error)).into_response();
        }
        Some(Scripted::Answer(answer)) => (vec![answer], false, None, Vec::new()),
        Some(Scripted::Stream { chunks, then_drop }) => (chunks, then_drop, None, Vec::new()),
        Some(Scripted::Gated { first, gate, rest }) => (first, false, Some(gate), rest),
        Some(Scripted::RawStream(events)) => {
            let body: String = events
                .iter()
                .map(|e| format!("data: {e}\r\n\r\n"))
                .collect();
            return Response::builder()
                .header("content-type", "text/event-stream")
                .body(Body::from(body))
                .unwrap();
        }
        Some(Scripted::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            (
                stream_events(&default_answer(&body, number)),
                false,
                None,
                Vec::new(),
            )
        }
    };
    let body_stream = async_stream_body(events, then_drop, gate, rest);
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(body_stream))
        .unwrap()
}

fn async_stream_body(
    events: Vec<Value>,
    then_drop: bool,
    gate: Option<Arc<Notify>>,
    rest: Vec<Value>,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(16);
    tokio::spawn(async move {
        for event in &events {
            if sender.send(Ok(sse_event(event))).await.is_err() {
                return;
            }
        }
        if let Some(gate) = gate {
            gate.notified().await;
            for event in &rest {
                if sender.send(Ok(sse_event(event))).await.is_err() {
                    return;
                }
            }
        }
        if then_drop {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let _ = sender
                .send(Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "mock drops the connection",
                )))
                .await;
        }
    });
    tokio_stream_from(receiver)
}

fn tokio_stream_from(
    mut receiver: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    futures::stream::poll_fn(move |cx| receiver.poll_recv(cx))
}

/// A gateway served in this process, over a store in a temp folder.
pub struct TestGateway {
    pub gateway: Gateway,
    pub store: Store,
    pub home: tempfile::TempDir,
    pub client: reqwest::Client,
}

impl TestGateway {
    pub async fn start(config: Config) -> Self {
        let home = tempfile::tempdir().unwrap();
        let store = Store::open(&home.path().join("switchyard.db")).unwrap();
        Self::start_with_store(config, store, home).await
    }

    pub async fn start_with_store(config: Config, store: Store, home: tempfile::TempDir) -> Self {
        let mut google = GoogleClient::new().unwrap();
        google.onboard_poll_interval = Duration::from_millis(10);
        let state = AppState::with_client(config, store.clone(), google)
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let gateway = Gateway::start(state, listener).unwrap();
        Self {
            gateway,
            store,
            home,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.gateway.addr)
    }

    /// Stops this gateway and starts a new one over the same database, as a
    /// restart of the app would.
    pub async fn restart(self) -> Self {
        let config = (**self.gateway.state().config.load()).clone();
        let TestGateway { gateway, home, .. } = self;
        gateway.stop().await;
        let store = Store::open(&home.path().join("switchyard.db")).unwrap();
        Self::start_with_store(config, store, home).await
    }

    /// A gateway over `mock` with one account (`a@example.com`) known to both.
    pub async fn with_one_account(mock: &RunningMock) -> Self {
        mock.mock.add_account("refresh-a", "a@example.com", true);
        let gateway = Self::start(mock.config()).await;
        gateway
            .add_account("refresh-a", "a@example.com", "project-a")
            .await;
        gateway
    }

    /// `GET path`, read as JSON.
    pub async fn get_json(&self, path: &str) -> Value {
        self.client
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Adds a Standard account on the Gemini CLI client straight into the
    /// store and the pool, as if signed in.
    pub async fn add_account(&self, refresh_token: &str, email: &str, project: &str) -> i64 {
        self.add_account_on(refresh_token, email, project, "gemini-cli")
            .await
    }

    /// Adds an account on the named OAuth client profile straight into the
    /// store and the pool.
    pub async fn add_account_on(
        &self,
        refresh_token: &str,
        email: &str,
        project: &str,
        client: &str,
    ) -> i64 {
        let tier = if client == "antigravity" {
            "free-tier"
        } else {
            "standard-tier"
        };
        let account = NewAccount {
            email: email.to_owned(),
            upstream: "google".to_owned(),
            oauth_client: client.to_owned(),
            refresh_token: switchyard::secret::Secret::new(refresh_token),
            access_token: None,
            access_expires_at: None,
            project_id: Some(project.to_owned()),
            tier: Some(tier.to_owned()),
        };
        let id = self.store.upsert_account(&account).unwrap().id;
        let state = self.gateway.state();
        state.pool.load(
            &self.store.accounts().unwrap(),
            &self.store.quotas().unwrap(),
            &self.store.limits(0).unwrap(),
        );
        id
    }

    pub async fn chat(&self, body: Value) -> reqwest::Response {
        self.client
            .post(self.url("/v1/chat/completions"))
            .json(&body)
            .send()
            .await
            .unwrap()
    }
}

/// Reads an SSE body into its `data:` payloads.
pub async fn sse_data(response: reqwest::Response) -> Vec<String> {
    // Google ends SSE lines with CRLF, the others with LF.
    let text = response.text().await.unwrap().replace("\r\n", "\n");
    text.split("\n\n")
        .filter_map(|event| {
            let data: Vec<&str> = event
                .lines()
                .filter_map(|l| l.strip_prefix("data: ").or_else(|| l.strip_prefix("data:")))
                .collect();
            (!data.is_empty()).then(|| data.join("\n"))
        })
        .collect()
}

/// A chat request body with one user message.
pub fn chat_body(model: &str, text: &str, stream: bool) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": text}], "stream": stream})
}

/// The real `switchyard` binary, with its own `SWITCHYARD_HOME`.
pub struct Binary {
    pub home: tempfile::TempDir,
}

impl Binary {
    /// A fresh, empty home.
    pub fn new() -> Self {
        Self {
            home: tempfile::tempdir().unwrap(),
        }
    }

    /// A home whose config points at `mock`.
    pub fn with_config(config: &Config) -> Self {
        let binary = Self::new();
        std::fs::write(
            binary.home.path().join("config.toml"),
            config.to_toml().unwrap(),
        )
        .unwrap();
        binary
    }

    pub fn command(&self) -> std::process::Command {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_switchyard"));
        command
            .env("SWITCHYARD_HOME", self.home.path())
            .env_remove("RUST_LOG")
            .stdin(std::process::Stdio::null());
        command
    }

    /// Runs a command to completion (on a blocking thread, so an in-process
    /// mock keeps serving) and returns (success, stdout, stderr).
    pub async fn run(&self, args: &[&str]) -> (bool, String, String) {
        let mut command = self.command();
        command.args(args);
        let output = tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// Runs a command with `input` on its standard input.
    pub async fn run_with_input(&self, args: &[&str], input: &str) -> (bool, String, String) {
        use std::io::Write;
        let mut command = self.command();
        command
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let input = input.to_owned();
        let output = tokio::task::spawn_blocking(move || {
            let mut child = command.spawn().unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
            child.wait_with_output().unwrap()
        })
        .await
        .unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// Starts `switchyard serve --port 0 …` and waits until it says where it listens.
    pub async fn serve(&self, extra: &[&str]) -> ServeProcess {
        self.serve_with_env(extra, &[]).await
    }

    /// [`Binary::serve`] with these environment variables set (`RUST_LOG`).
    pub async fn serve_with_env(&self, extra: &[&str], env: &[(&str, &str)]) -> ServeProcess {
        let mut command = self.command();
        command.envs(env.iter().copied());
        command
            .args(["serve", "--port", "0"])
            .args(extra)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        let mut child = command.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::<String>::new()));
        let (found_tx, found_rx) = tokio::sync::oneshot::channel::<Option<SocketAddr>>();
        let reader_lines = lines.clone();
        std::thread::spawn(move || {
            use std::io::BufRead;
            let mut found_tx = Some(found_tx);
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr = rest.split_whitespace().next().and_then(|a| a.parse().ok());
                    if let Some(tx) = found_tx.take() {
                        let _ = tx.send(addr);
                    }
                }
                reader_lines.lock().push(line);
            }
            if let Some(tx) = found_tx.take() {
                let _ = tx.send(None);
            }
        });
        let addr = tokio::time::timeout(Duration::from_secs(30), found_rx)
            .await
            .ok()
            .and_then(|r| r.ok())
            .flatten();
        let Some(addr) = addr else {
            let _ = child.kill();
            panic!("serve did not start: {:?}", lines.lock());
        };
        ServeProcess { child, addr, lines }
    }
}

/// A running `switchyard serve`; killed when dropped.
pub struct ServeProcess {
    pub child: std::process::Child,
    pub addr: SocketAddr,
    pub lines: Arc<Mutex<Vec<String>>>,
}

impl ServeProcess {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn stderr(&self) -> String {
        self.lines.lock().join("\n")
    }

    /// Asks `serve` to stop as a service manager would — SIGTERM on Unix;
    /// on Windows, where a console program has no such signal from outside,
    /// `TerminateProcess` — and waits for the exit status.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        #[cfg(unix)]
        {
            let pid = self.child.id().to_string();
            let status = std::process::Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap();
            assert!(status.success());
        }
        #[cfg(not(unix))]
        self.child.kill().unwrap();
        let id = self.child.id();
        tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                if let Some(status) = self.child.try_wait().unwrap() {
                    return status;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("serve (pid {id}) did not stop"))
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
