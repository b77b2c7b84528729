//! Account operations shared by the CLI and the window: adding an account
//! from a refresh token or a browser sign-in (checked live against Google),
//! importing and exporting them.

pub mod login;
pub mod transfer;
pub mod upstreams;

use crate::config::{ANTIGRAVITY_CLIENT, Config, DEFAULT_OAUTH_CLIENT, OAuthClientProfile};
use crate::secret::Secret;
use crate::store::{NewAccount, Store, StoreError, Upserted};
use crate::upstream::UpstreamError;
use crate::upstream::google::{GoogleClient, TokenGrant};

#[derive(Debug, thiserror::Error)]
pub enum AddAccountError {
    #[error(
        "no OAuth client profile named `{0}` (see google.oauth_client and [[google.oauth_clients]])"
    )]
    UnknownProfile(String),
    #[error("Google refused the refresh token: {0}")]
    Refresh(UpstreamError),
    #[error("cannot read the account's email: {0}")]
    Email(UpstreamError),
    #[error("Google refused the sign-in: {0}")]
    Exchange(UpstreamError),
    #[error("sign-in failed: {0}")]
    Login(String),
    /// The token (or sign-in) needs the Antigravity client, and the user has
    /// not accepted its risk. Nothing was stored.
    #[error("{}", antigravity_refusal(.0))]
    RiskNotAccepted(String),
    /// A stored account was kept as it is instead of being replaced.
    #[error("{0}")]
    Kept(String),
    #[error("cannot set up Code Assist for {email}: {error}{}", error_link(.error))]
    Setup { email: String, error: UpstreamError },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the user reads when the Antigravity client is needed and not
/// accepted: what it is, what can happen, the alternatives, how to accept.
pub fn antigravity_refusal(why: &str) -> String {
    format!(
        "{why}\n\n\
         Switchyard uses the Antigravity client only once you accept its risk: Google \
         suspends accounts whose Antigravity credentials third-party programs use \
         (\"This service has been disabled in this account for violation of Terms of \
         Service\"); an appeal may or may not restore the account.\n\
         Within Google's terms instead: a Gemini Code Assist Standard/Enterprise account \
         with its own Cloud project (--client gemini-cli --project PROJECT_ID), or an AI \
         Studio / Vertex AI API key.\n\
         To accept the risk: add --accept-antigravity-risk, or run \
         `switchyard config set google.antigravity_risk_accepted true`. Nothing was stored."
    )
}

/// The options of an account whose client Google retired, after Google's message.
pub fn client_retired_reason(google_message: &str) -> String {
    format!(
        "{google_message} Options: a Code Assist Standard/Enterprise project \
         (accounts add --client gemini-cli --project PROJECT_ID), an API key, or, \
         accepting the suspension risk, the Antigravity client (accounts login --client \
         antigravity --accept-antigravity-risk)"
    )
}

fn error_link(error: &UpstreamError) -> String {
    match error {
        UpstreamError::Setup {
            link: Some(link), ..
        } => format!(" (see {link})"),
        _ => String::new(),
    }
}

/// What adding an account did.
#[derive(Debug, Clone)]
pub struct AddedAccount {
    pub id: i64,
    pub email: String,
    pub created: bool,
    pub project_id: String,
    pub tier: String,
    pub models: usize,
    /// The OAuth client profile the account was stored with.
    pub client: String,
    /// Set when the account was stored but Google does not serve it through
    /// this client (`client retired`): Google's message and the options.
    pub retired: Option<String>,
    /// Quota could not be read (the account works; quotas come later).
    pub quota_warning: Option<String>,
}

/// Checks `refresh_token` live (refresh, email, project, quota) and stores the
/// account; the same email again updates the stored one.
///
/// A refresh token belongs to the OAuth client that issued it. With
/// `profile_name` that profile is used; without, `google.oauth_client` and
/// then the other built-in profile are tried until one refreshes. The
/// Antigravity client is tried (or used) only once the user accepted its risk.
pub async fn add_with_refresh_token(
    client: &GoogleClient,
    config: &Config,
    store: &Store,
    refresh_token: Secret,
    profile_name: Option<&str>,
    project: Option<&str>,
) -> Result<AddedAccount, AddAccountError> {
    let candidates: Vec<&str> = match profile_name {
        Some(name) => vec![name],
        None => {
            let mut names = vec![config.google.oauth_client.as_str()];
            for builtin in [DEFAULT_OAUTH_CLIENT, ANTIGRAVITY_CLIENT] {
                if !names.contains(&builtin) {
                    names.push(builtin);
                }
            }
            names
        }
    };
    let mut refused_by: Vec<String> = Vec::new();
    let mut last_error = None;
    for name in candidates {
        let profile = profile(config, Some(name))?;
        if !config.google.profile_allowed(&profile) {
            let why = if refused_by.is_empty() {
                format!("the `{name}` client is the Antigravity client.")
            } else {
                format!(
                    "Google refused this refresh token for the {} client (it was issued to \
                     another client, most likely Antigravity's).",
                    refused_by.join(" and ")
                )
            };
            return Err(AddAccountError::RiskNotAccepted(why));
        }
        match client
            .refresh_access_token(&config.google, &profile, &refresh_token)
            .await
        {
            Ok(grant) => {
                return add_with_grant(
                    client,
                    config,
                    store,
                    &profile,
                    grant,
                    refresh_token,
                    project,
                )
                .await;
            }
            Err(error) if profile_name.is_none() && error.is_unauthorized_client() => {
                tracing::info!(client = name, "the refresh token is not this client's");
                refused_by.push(format!("`{name}`"));
                last_error = Some(error);
            }
            Err(error) => return Err(AddAccountError::Refresh(error)),
        }
    }
    Err(AddAccountError::Refresh(last_error.unwrap_or_else(|| {
        UpstreamError::Setup {
            message: "no OAuth client profile to try".to_owned(),
            link: None,
        }
    })))
}

pub(crate) fn profile(
    config: &Config,
    profile_name: Option<&str>,
) -> Result<OAuthClientProfile, AddAccountError> {
    let name = profile_name.unwrap_or(&config.google.oauth_client);
    config
        .google
        .oauth_profile(name)
        .cloned()
        .ok_or_else(|| AddAccountError::UnknownProfile(name.to_owned()))
}

/// Finishes adding an account once Google granted tokens: email, project,
/// quota, then the store.
pub(crate) async fn add_with_grant(
    client: &GoogleClient,
    config: &Config,
    store: &Store,
    profile: &OAuthClientProfile,
    grant: TokenGrant,
    refresh_token: Secret,
    project: Option<&str>,
) -> Result<AddedAccount, AddAccountError> {
    let google = &config.google;
    let email = client
        .user_email(google, &grant.access_token)
        .await
        .map_err(AddAccountError::Email)?;
    let setup = match client
        .setup_account(google, profile, &grant.access_token, project)
        .await
    {
        Ok(setup) => setup,
        Err(UpstreamError::ClientRetired { message }) => {
            return store_retired(store, profile, grant, refresh_token, email, &message).await;
        }
        Err(error) => {
            return Err(AddAccountError::Setup {
                email: email.clone(),
                error,
            });
        }
    };
    let (state, quota_warning) = match client
        .account_state(google, profile, &grant.access_token, &setup.project_id)
        .await
    {
        Ok(state) => (state, None),
        Err(error) => (Default::default(), Some(error.to_string())),
    };
    let account = new_account(
        profile,
        &email,
        &grant,
        refresh_token,
        Some(setup.project_id.clone()),
        Some(setup.tier.clone()),
    );
    let models = state
        .catalog
        .as_ref()
        .map_or(state.quotas.len(), |c| c.models.len());
    let Upserted { id, created } = store
        .run(move |store| {
            let upserted = store.upsert_account(&account)?;
            save_state(store, upserted.id, &state)?;
            Ok(upserted)
        })
        .await?;
    Ok(AddedAccount {
        id,
        email,
        created,
        project_id: setup.project_id,
        tier: setup.tier,
        models,
        client: profile.name.clone(),
        retired: None,
        quota_warning,
    })
}

/// The account to store once Google granted tokens for `profile`.
fn new_account(
    profile: &OAuthClientProfile,
    email: &str,
    grant: &TokenGrant,
    refresh_token: Secret,
    project_id: Option<String>,
    tier: Option<String>,
) -> NewAccount {
    NewAccount {
        email: email.to_owned(),
        upstream: "google".to_owned(),
        oauth_client: profile.name.clone(),
        // Google may rotate the refresh token on use; keep the newest.
        refresh_token: grant.refresh_token.clone().unwrap_or(refresh_token),
        access_token: Some(grant.access_token.clone()),
        access_expires_at: Some(grant.expires_at),
        project_id,
        tier,
    }
}

/// Stores an account Google does not serve through `profile` (its token is
/// fine, the client is refused) with the status `client retired`, so the user
/// sees it and its options, and the pool never sends it a request.
async fn store_retired(
    store: &Store,
    profile: &OAuthClientProfile,
    grant: TokenGrant,
    refresh_token: Secret,
    email: String,
    google_message: &str,
) -> Result<AddedAccount, AddAccountError> {
    let reason = client_retired_reason(google_message);
    // A working account of the same email on another client is not replaced
    // by one that cannot serve.
    let lookup = email.clone();
    let existing = store
        .run(move |store| {
            Ok(store
                .accounts()?
                .into_iter()
                .find(|a| a.upstream == "google" && a.email == lookup))
        })
        .await?;
    if let Some(existing) = existing
        && existing.oauth_client != profile.name
        && existing.status != crate::store::AccountStatus::ClientRetired
    {
        return Err(AddAccountError::Kept(format!(
            "{email} is already stored on the `{}` client, and Google does not serve it through \
             `{}` ({google_message}); the stored account was left as it is",
            existing.oauth_client, profile.name
        )));
    }
    let account = new_account(profile, &email, &grant, refresh_token, None, None);
    let stored_reason = reason.clone();
    let Upserted { id, created } = store
        .run(move |store| {
            let upserted = store.upsert_account(&account)?;
            store.set_status_with_link(
                upserted.id,
                crate::store::AccountStatus::ClientRetired,
                Some(&stored_reason),
                None,
            )?;
            Ok(upserted)
        })
        .await?;
    Ok(AddedAccount {
        id,
        email,
        created,
        project_id: String::new(),
        tier: String::new(),
        models: 0,
        client: profile.name.clone(),
        retired: Some(reason),
        quota_warning: None,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("OAuth client profile `{0}` is not in the config")]
    UnknownProfile(String),
    #[error("the account has no Code Assist project; add it again")]
    NoProject,
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads an account's quota from Google now and stores it (and the fresh
/// token). A refused refresh token marks the account as needing a new sign-in.
pub async fn refresh_quota(
    client: &GoogleClient,
    config: &Config,
    store: &Store,
    account: &crate::store::AccountRecord,
) -> Result<crate::upstream::google::AccountState, RefreshError> {
    let profile = config
        .google
        .oauth_profile(&account.oauth_client)
        .ok_or_else(|| RefreshError::UnknownProfile(account.oauth_client.clone()))?;
    let project = account
        .project_id
        .as_deref()
        .ok_or(RefreshError::NoProject)?;
    let grant = match client
        .refresh_access_token(&config.google, profile, &account.refresh_token)
        .await
    {
        Ok(grant) => grant,
        Err(error) => {
            if error.is_invalid_grant() {
                store.set_status(
                    account.id,
                    crate::store::AccountStatus::NeedsRelogin,
                    Some(&error.to_string()),
                )?;
            }
            return Err(error.into());
        }
    };
    store.save_access_token(account.id, &grant.access_token, grant.expires_at)?;
    if let Some(message) = client
        .retired_client(&config.google, profile, &grant.access_token, project)
        .await?
    {
        let reason = client_retired_reason(&message);
        store.set_status(
            account.id,
            crate::store::AccountStatus::ClientRetired,
            Some(&reason),
        )?;
        return Err(RefreshError::Upstream(UpstreamError::ClientRetired {
            message: reason,
        }));
    }
    let state = client
        .account_state(&config.google, profile, &grant.access_token, project)
        .await?;
    save_state(store, account.id, &state)?;
    Ok(state)
}

/// Stores what a poll learned (an unanswered part keeps what was stored),
/// and an empty quota window as the limit it means.
pub fn save_state(
    store: &Store,
    account_id: i64,
    state: &crate::upstream::google::AccountState,
) -> Result<(), StoreError> {
    if !state.quotas.is_empty() {
        store.replace_quotas(account_id, &state.quotas)?;
    }
    if let Some(catalog) = &state.catalog {
        store.set_catalog(account_id, catalog)?;
    }
    store.set_windows(account_id, &state.windows)?;
    let now = crate::store::now_unix();
    let existing = store.limits(now)?;
    for limit in crate::pool::window_limits(&state.windows, now) {
        let known = existing.iter().any(|l| {
            l.account_id == account_id && l.model == limit.model && l.until >= limit.until
        });
        if !known {
            store.set_limit(&crate::store::LimitRecord {
                account_id,
                model: limit.model,
                kind: limit.kind,
                until: limit.until,
                reason: limit.reason,
            })?;
        }
    }
    Ok(())
}

/// An account's quota in one line: both windows of each group when Google
/// reports windows (`Gemini 5h 80% (resets …), weekly 40% (resets …)`),
/// else each model's share.
pub fn describe_quota(
    windows: &[crate::store::QuotaWindow],
    quotas: &[crate::store::QuotaRecord],
) -> String {
    let percent = |f: Option<f64>| {
        f.map(|f| format!("{:.0}%", f * 100.0))
            .unwrap_or_else(|| "?".to_owned())
    };
    if windows.is_empty() {
        if quotas.is_empty() {
            return "no quota reported".to_owned();
        }
        return quotas
            .iter()
            .map(|q| format!("{} {}", q.model, percent(q.remaining_fraction)))
            .collect::<Vec<_>>()
            .join(", ");
    }
    let mut groups: Vec<&str> = windows.iter().map(|w| w.group.as_str()).collect();
    groups.dedup();
    groups
        .iter()
        .map(|group| {
            let parts: Vec<String> = windows
                .iter()
                .filter(|w| w.group == *group)
                .map(|w| {
                    let reset = w
                        .reset_at
                        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
                        .map(|t| format!(" (resets {})", t.format("%Y-%m-%d %H:%M UTC")))
                        .unwrap_or_default();
                    format!("{} {}{reset}", w.window, percent(w.remaining_fraction))
                })
                .collect();
            format!("{} {}", crate::pool::group_label(group), parts.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// An account's one status line, the same in the CLI, the tray and the window:
/// `active`, `cooling down (model, until T, why)`, `quota exhausted (model,
/// resets at T)`, `needs re-login (why)`, `forbidden / needs verification
/// (link)`, `disabled by user`.
pub fn describe_status(
    record: &crate::store::AccountRecord,
    limits: &[crate::store::LimitRecord],
    now: i64,
) -> String {
    use crate::store::{AccountStatus, LimitKind};
    let time = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_else(|| t.to_string())
    };
    match record.status {
        AccountStatus::Disabled => return "disabled by user".to_owned(),
        AccountStatus::NeedsRelogin => {
            return format!(
                "needs re-login ({})",
                record
                    .status_reason
                    .as_deref()
                    .unwrap_or("the refresh token was refused")
            );
        }
        AccountStatus::Forbidden => {
            let detail = record
                .status_link
                .as_deref()
                .or(record.status_reason.as_deref())
                .unwrap_or("Google refused the account");
            return format!("forbidden / needs verification ({detail})");
        }
        AccountStatus::ClientRetired => {
            return format!(
                "client retired ({})",
                record
                    .status_reason
                    .as_deref()
                    .unwrap_or("Google no longer serves this account through its client")
            );
        }
        AccountStatus::Suspended => {
            let mut line = "suspended by Google".to_owned();
            if let Some(reason) = record.status_reason.as_deref() {
                line.push_str(&format!(" ({reason})"));
            }
            if let Some(link) = record.status_link.as_deref() {
                line.push_str(&format!("; appeal: {link}"));
            }
            return line;
        }
        AccountStatus::KeyRejected => {
            return format!(
                "key rejected ({})",
                record
                    .status_reason
                    .as_deref()
                    .unwrap_or("the upstream refused the API key")
            );
        }
        AccountStatus::Active => {}
    }
    let lines: Vec<String> = limits
        .iter()
        .filter(|l| l.account_id == record.id && l.until > now)
        .map(|l| {
            let group = l
                .model
                .as_deref()
                .and_then(|m| m.strip_prefix("group:"))
                .map(|g| format!("{} models", crate::pool::group_label(g)));
            let model = group
                .as_deref()
                .or(l.model.as_deref())
                .unwrap_or("all models");
            match l.kind {
                LimitKind::QuotaExhausted => {
                    format!("quota exhausted ({model}, resets at {})", time(l.until))
                }
                LimitKind::CoolingDown => {
                    format!(
                        "cooling down ({model}, until {}, {})",
                        time(l.until),
                        l.reason
                    )
                }
            }
        })
        .collect();
    if lines.is_empty() {
        "active".to_owned()
    } else {
        lines.join("; ")
    }
}
