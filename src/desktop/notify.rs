//! Desktop notifications: which pool events deserve one, and showing them.
//!
//! [`NotificationPolicy::decide`] is pure (no clock, no D-Bus): given an event,
//! the settings and the time, it returns the [`Notice`] to show, or `None`. It
//! remembers what it has sent so that one problem gives one notification, not
//! one per request that runs into it. [`show`] hands a notice to the desktop
//! on a thread of its own. This module neither subscribes to the pool nor
//! reads the config; the resident process feeds it.

use std::collections::HashSet;

use chrono::{DateTime, Datelike, Local, TimeZone};

use crate::config::NotificationsConfig;
use crate::pool::events::PoolEvent;
use crate::store::AccountStatus;

/// The application name notifications carry (XDG; macOS ignores it).
const APP_NAME: &str = "Switchyard";

/// How long a notification stays up: long enough to be read on return to the desk.
const TIMEOUT_MS: u32 = 30_000;

/// A low-quota warning for the same account and model is not repeated within
/// this time. The event carries no reset time, and whoever publishes it may
/// publish again (a manual quota refresh, a restart); a [`PoolEvent::Recovered`]
/// for the pair lifts the quiet period early.
const QUOTA_LOW_QUIET_SECS: i64 = 4 * 60 * 60;

/// A pool that frees up sooner than this is a rate limit that the client's
/// retry (the 429 carries `Retry-After`) absorbs; a popup would only be noise.
const POOL_EXHAUSTED_MIN_SECS: i64 = 5 * 60;

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoticeKind {
    QuotaLow,
    QuotaExhausted,
    NeedsRelogin,
    NeedsVerification,
    ClientRetired,
    Suspended,
    KeyRejected,
    PoolExhausted,
    GatewayFailed,
}

impl NoticeKind {
    /// Kinds about a state with an end time: a repeat is the same notice only
    /// while that window lasts. The others last until an event clears them.
    fn is_windowed(self) -> bool {
        matches!(
            self,
            Self::QuotaLow | Self::QuotaExhausted | Self::PoolExhausted
        )
    }
}

/// What makes two notifications "the same one": kind, account, model and window.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NoticeKey {
    pub kind: NoticeKind,
    /// `None` for notices about the whole pool or the gateway.
    pub account_id: Option<i64>,
    /// `None` for the whole account, or when no model is involved.
    pub model: Option<String>,
    /// When the window this notice belongs to ends (Unix seconds): the reset
    /// time rounded up to the minute for exhaustion, the end of the quiet
    /// period for a low quota; 0 for kinds without a window.
    pub window: i64,
}

impl NoticeKey {
    fn same_subject(&self, other: &NoticeKey) -> bool {
        self.kind == other.kind && self.account_id == other.account_id && self.model == other.model
    }
}

/// One desktop notification to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub title: String,
    pub body: String,
    pub key: NoticeKey,
    /// Who it is about (the account's email or upstream's name), and what
    /// happened to it in a few words: what [`merge`] writes when one poll
    /// finds several things about the same account.
    pub subject: Option<String>,
    pub detail: String,
    /// The buttons it offers, where the notification server shows buttons.
    pub actions: Vec<NoticeAction>,
    /// Needs the user (a sign-in, a verification, a key): shown as critical.
    pub urgent: bool,
}

/// What a button on a notification does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NoticeAction {
    /// Opens the window on the Accounts page (to sign in again, see the account).
    OpenAccounts { label: &'static str },
    /// Opens the window on the Dashboard.
    OpenDashboard,
    /// Opens a page Google gave (verification, appeal) in the browser.
    OpenLink { label: &'static str, url: String },
}

impl NoticeAction {
    /// The action's id on the wire and its button text.
    pub fn id_and_label(&self) -> (String, &'static str) {
        match self {
            Self::OpenAccounts { label } => ("accounts".to_owned(), label),
            Self::OpenDashboard => ("dashboard".to_owned(), "Open Switchyard"),
            Self::OpenLink { label, url } => (format!("link:{url}"), label),
        }
    }
}

impl NoticeKind {
    /// The more it needs the user, the higher: a merged notification takes
    /// the title of its most severe part.
    fn severity(self) -> u8 {
        match self {
            Self::QuotaLow => 0,
            Self::PoolExhausted | Self::QuotaExhausted => 1,
            Self::GatewayFailed => 2,
            Self::NeedsRelogin
            | Self::NeedsVerification
            | Self::ClientRetired
            | Self::Suspended
            | Self::KeyRejected => 3,
        }
    }
}

/// Merges what one poll found: one notification per account (and one per
/// kind for notices about no account), its title from the most severe part,
/// its body listing every part, its buttons from all of them. Order is kept
/// (by first appearance); a lone notice is returned as it was.
pub fn merge(notices: Vec<Notice>) -> Vec<Notice> {
    let mut groups: Vec<Vec<Notice>> = Vec::new();
    for notice in notices {
        let same = |other: &Notice| match (notice.key.account_id, other.key.account_id) {
            (Some(a), Some(b)) => a == b,
            (None, None) => notice.key.kind == other.key.kind,
            _ => false,
        };
        match groups.iter_mut().find(|g| same(&g[0])) {
            Some(group) => group.push(notice),
            None => groups.push(vec![notice]),
        }
    }
    groups
        .into_iter()
        .map(|mut group| {
            if group.len() == 1 {
                return group.remove(0);
            }
            let lead = group
                .iter()
                .enumerate()
                .max_by_key(|(index, n)| (n.key.kind.severity(), std::cmp::Reverse(*index)))
                .map(|(index, _)| index)
                .unwrap_or(0);
            let details: Vec<&str> = group.iter().map(|n| n.detail.as_str()).collect();
            let mut merged = group[lead].clone();
            merged.body = match &merged.subject {
                Some(subject) => format!("{subject}: {}.", details.join("; ")),
                None => format!("{}.", details.join("; ")),
            };
            merged.detail = details.join("; ");
            merged.urgent = group.iter().any(|n| n.urgent);
            merged.actions = Vec::new();
            for action in group.iter().flat_map(|n| n.actions.iter()) {
                if !merged.actions.contains(action) {
                    merged.actions.push(action.clone());
                }
            }
            merged
        })
        .collect()
}

/// Decides which events become notifications, one per problem.
#[derive(Debug, Default)]
pub struct NotificationPolicy {
    /// What has been shown and still counts: windowed keys until their window
    /// ends, the others until an event clears them.
    sent: HashSet<NoticeKey>,
}

impl NotificationPolicy {
    pub fn new() -> Self {
        Self::default()
    }

    /// The notification `event` deserves at `now` (Unix seconds), if any.
    ///
    /// `None` when notifications or this kind are switched off, when the event
    /// is not worth one (a cool-down, a short pool-wide rate limit, an ended
    /// limit), or when the same problem was already notified in this window.
    /// A [`PoolEvent::Recovered`] or a status change back to usable forgets
    /// the account's notices, so the next problem notifies again.
    pub fn decide(
        &mut self,
        event: &PoolEvent,
        config: &NotificationsConfig,
        now: i64,
    ) -> Option<Notice> {
        self.sent
            .retain(|key| !key.kind.is_windowed() || key.window > now);
        let notice = match event {
            PoolEvent::Recovered {
                account_id, model, ..
            } => {
                self.forget_limits(*account_id, model.as_deref());
                return None;
            }
            PoolEvent::StatusChanged {
                account_id,
                email,
                to,
                why,
                link,
                ..
            } => {
                let notice = account_failed_notice(*account_id, email, *to, why, link.as_deref());
                // The account left its failed state (or failed another way):
                // the old notice no longer stands.
                let current = notice.as_ref().map(|n| n.key.kind);
                self.sent.retain(|key| {
                    key.account_id != Some(*account_id)
                        || !matches!(
                            key.kind,
                            NoticeKind::NeedsRelogin
                                | NoticeKind::NeedsVerification
                                | NoticeKind::ClientRetired
                                | NoticeKind::Suspended
                                | NoticeKind::KeyRejected
                        )
                        || Some(key.kind) == current
                });
                if !config.account_failed {
                    return None;
                }
                notice?
            }
            PoolEvent::QuotaLow {
                account_id,
                email,
                model,
                remaining_percent,
                resets_at,
            } => {
                if !config.quota_low
                    || *remaining_percent >= f64::from(config.quota_warning_percent)
                {
                    return None;
                }
                let detail = format!("{model} has {} left", percent(*remaining_percent));
                Notice {
                    title: "Quota running low".to_owned(),
                    body: format!("{email}: {detail}"),
                    subject: Some(email.clone()),
                    detail,
                    actions: vec![NoticeAction::OpenDashboard],
                    urgent: false,
                    key: NoticeKey {
                        kind: NoticeKind::QuotaLow,
                        account_id: Some(*account_id),
                        model: Some(model.clone()),
                        // Once per reset window; without a reset time, a quiet period.
                        window: resets_at
                            .filter(|t| *t > now)
                            .unwrap_or(now + QUOTA_LOW_QUIET_SECS),
                    },
                }
            }
            PoolEvent::Limited {
                account_id,
                email,
                model,
                quota_exhausted,
                until,
                ..
            } => {
                // Cool-downs come and go by the minute: too many to notify.
                if !*quota_exhausted || !config.quota_exhausted || *until <= now {
                    return None;
                }
                let resets = reset_time(*until, now, &Local);
                let (body, detail) = match model {
                    Some(model) => (
                        format!("{email} has used up its {model} quota; it resets at {resets}."),
                        format!("{model} used up until {resets}"),
                    ),
                    None => (
                        format!("{email} has used up its quota; it resets at {resets}."),
                        format!("quota used up until {resets}"),
                    ),
                };
                Notice {
                    title: "Quota used up".to_owned(),
                    body,
                    subject: Some(email.clone()),
                    detail,
                    actions: vec![NoticeAction::OpenDashboard],
                    urgent: false,
                    key: NoticeKey {
                        kind: NoticeKind::QuotaExhausted,
                        account_id: Some(*account_id),
                        model: model.clone(),
                        window: round_up_to_minute(*until),
                    },
                }
            }
            PoolEvent::PoolExhausted { model, until } => {
                if !config.pool_exhausted || *until - now < POOL_EXHAUSTED_MIN_SECS {
                    return None;
                }
                let detail = format!(
                    "no account can serve {model} until {}",
                    reset_time(*until, now, &Local)
                );
                Notice {
                    title: "No account available".to_owned(),
                    body: format!(
                        "No account can serve {model} until {}.",
                        reset_time(*until, now, &Local)
                    ),
                    subject: None,
                    detail,
                    actions: vec![NoticeAction::OpenDashboard],
                    urgent: false,
                    key: NoticeKey {
                        kind: NoticeKind::PoolExhausted,
                        account_id: None,
                        model: Some(model.clone()),
                        window: round_up_to_minute(*until),
                    },
                }
            }
        };
        if !config.enabled {
            return None;
        }
        self.remember(notice)
    }

    /// The notification for a gateway that could not start (port busy, …),
    /// once until [`NotificationPolicy::gateway_started`] is called.
    pub fn gateway_failed(
        &mut self,
        message: &str,
        config: &NotificationsConfig,
    ) -> Option<Notice> {
        if !config.enabled || !config.gateway_failed {
            return None;
        }
        self.remember(Notice {
            title: "Gateway could not start".to_owned(),
            body: message.to_owned(),
            subject: None,
            detail: message.to_owned(),
            actions: vec![NoticeAction::OpenDashboard],
            urgent: true,
            key: NoticeKey {
                kind: NoticeKind::GatewayFailed,
                account_id: None,
                model: None,
                window: 0,
            },
        })
    }

    /// The gateway is serving: a later failure to start notifies again.
    pub fn gateway_started(&mut self) {
        self.sent
            .retain(|key| key.kind != NoticeKind::GatewayFailed);
    }

    /// Records `notice` and returns it, unless the same one is still standing.
    /// A repeat with a later window extends the standing one: the problem
    /// never went away, so it is still one notification.
    fn remember(&mut self, notice: Notice) -> Option<Notice> {
        let standing = self
            .sent
            .iter()
            .find(|key| key.same_subject(&notice.key))
            .cloned();
        match standing {
            Some(standing) => {
                if standing.window < notice.key.window && notice.key.kind != NoticeKind::QuotaLow {
                    self.sent.remove(&standing);
                    self.sent.insert(notice.key);
                }
                None
            }
            None => {
                self.sent.insert(notice.key.clone());
                Some(notice)
            }
        }
    }

    /// A limit of `account_id` for `model` (`None`: the whole account) ended:
    /// its quota notices, and pool-wide ones for the model, may come again.
    fn forget_limits(&mut self, account_id: i64, model: Option<&str>) {
        self.sent.retain(|key| match key.kind {
            NoticeKind::QuotaLow | NoticeKind::QuotaExhausted => {
                key.account_id != Some(account_id) || key.model.as_deref() != model
            }
            NoticeKind::PoolExhausted => model.is_some() && key.model.as_deref() != model,
            NoticeKind::NeedsRelogin
            | NoticeKind::NeedsVerification
            | NoticeKind::ClientRetired
            | NoticeKind::Suspended
            | NoticeKind::KeyRejected
            | NoticeKind::GatewayFailed => true,
        });
    }
}

fn account_failed_notice(
    account_id: i64,
    email: &str,
    to: AccountStatus,
    why: &str,
    link: Option<&str>,
) -> Option<Notice> {
    let (kind, title, body) = match to {
        AccountStatus::NeedsRelogin => (
            NoticeKind::NeedsRelogin,
            "Account needs a new sign-in",
            format!(
                "{email}: Google no longer accepts its sign-in. \
                 Open Switchyard → Accounts → Sign in again."
            ),
        ),
        AccountStatus::Forbidden => (
            NoticeKind::NeedsVerification,
            "Account needs verification",
            match link {
                Some(link) => format!("{email}: Google asks you to verify the account: {link}"),
                None if why.is_empty() => {
                    format!("{email}: Google refused access; see the account in Switchyard.")
                }
                None => format!("{email}: Google refused access ({why})."),
            },
        ),
        AccountStatus::ClientRetired => (
            NoticeKind::ClientRetired,
            "Account's client retired by Google",
            format!(
                "{email}: Google no longer serves this account through its sign-in client. \
                 Options: a Code Assist Standard project, an API key, or the Antigravity \
                 client (see the account in Switchyard)."
            ),
        ),
        AccountStatus::Suspended => (
            NoticeKind::Suspended,
            "Account suspended by Google",
            match link {
                Some(link) => format!("{email}: Google suspended the account. Appeal: {link}"),
                None => format!(
                    "{email}: Google suspended the account for its Terms of Service; \
                     Switchyard no longer uses it."
                ),
            },
        ),
        AccountStatus::KeyRejected => (
            NoticeKind::KeyRejected,
            "API key rejected",
            if why.is_empty() {
                format!("{email}: the upstream refused the API key; Switchyard no longer uses it.")
            } else {
                format!(
                    "{email}: the upstream refused the API key ({why}); Switchyard no longer \
                     uses it. Add the upstream again with a working key."
                )
            },
        ),
        AccountStatus::Active | AccountStatus::Disabled => return None,
    };
    let accounts = |label| NoticeAction::OpenAccounts { label };
    let actions = match (kind, link) {
        (NoticeKind::NeedsRelogin, _) => vec![accounts("Sign in again")],
        (NoticeKind::NeedsVerification, Some(url)) => vec![
            NoticeAction::OpenLink {
                label: "Verify",
                url: url.to_owned(),
            },
            accounts("Open Accounts"),
        ],
        (NoticeKind::Suspended, Some(url)) => vec![
            NoticeAction::OpenLink {
                label: "Appeal",
                url: url.to_owned(),
            },
            accounts("Open Accounts"),
        ],
        _ => vec![accounts("Open Accounts")],
    };
    let detail = body
        .strip_prefix(&format!("{email}: "))
        .unwrap_or(&body)
        .trim_end_matches('.')
        .to_owned();
    Some(Notice {
        title: title.to_owned(),
        body,
        subject: Some(email.to_owned()),
        detail,
        actions,
        urgent: true,
        key: NoticeKey {
            kind,
            account_id: Some(account_id),
            model: None,
            window: 0,
        },
    })
}

/// "8%", or "less than 1%" rather than a misleading "0%".
fn percent(remaining_percent: f64) -> String {
    if remaining_percent < 1.0 {
        "less than 1%".to_owned()
    } else {
        format!("{}%", remaining_percent.round())
    }
}

/// Rounded up, so "resets at 14:05" is never earlier than the real reset.
fn round_up_to_minute(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(60) * 60
        + if unix_seconds.rem_euclid(60) > 0 {
            60
        } else {
            0
        }
}

/// `until` as the wall clock in `zone`: "14:05" today, "14:05 tomorrow",
/// "14:05 on 3 Dec" later this year, "14:05 on 3 Jan 2027" beyond.
fn reset_time<Tz: TimeZone>(until: i64, now: i64, zone: &Tz) -> String
where
    Tz::Offset: std::fmt::Display,
{
    let (Some(until), Some(now)) = (
        DateTime::from_timestamp(round_up_to_minute(until), 0),
        DateTime::from_timestamp(now, 0),
    ) else {
        return format!("{until} (Unix time)");
    };
    let until = until.with_timezone(zone);
    let today = now.with_timezone(zone).date_naive();
    let day = until.date_naive();
    let clock = until.format("%H:%M");
    if day == today {
        clock.to_string()
    } else if today.succ_opt() == Some(day) {
        format!("{clock} tomorrow")
    } else if day.year() == today.year() {
        format!("{clock} on {}", until.format("%-d %b"))
    } else {
        format!("{clock} on {}", until.format("%-d %b %Y"))
    }
}

/// `CFBundleIdentifier` of the macOS app (packaging/macos/Info.plist).
#[cfg(any(target_os = "macos", test))]
pub const MACOS_BUNDLE_ID: &str = "dev.switchyard.app";

/// Shows `notice` on the desktop, from a thread of its own (notify-rust
/// blocks on D-Bus). Without a notification service it logs a warning.
///
/// On Linux it carries the app's icon (`icon`, a PNG file), is critical when
/// it needs the user, and offers its buttons where the server shows
/// buttons; `on_action` runs on that thread with the one clicked (a click on
/// the notification itself counts as its first button). Elsewhere the
/// system shows the app's own icon and no buttons.
pub fn show(
    notice: &Notice,
    icon: Option<&std::path::Path>,
    on_action: impl FnOnce(&NoticeAction) + Send + 'static,
) {
    // macOS sends a notification in an app's name: Switchyard's bundle
    // (packaging/macos/Info.plist), not the terminal's or "Script Editor".
    #[cfg(target_os = "macos")]
    {
        static BUNDLE: std::sync::Once = std::sync::Once::new();
        BUNDLE.call_once(|| {
            if let Err(error) = notify_rust::set_application(MACOS_BUNDLE_ID) {
                tracing::warn!(%error, "cannot send notifications as {MACOS_BUNDLE_ID}");
            }
        });
    }
    let notice = notice.clone();
    let icon = icon.map(|p| p.display().to_string());
    let spawned = std::thread::Builder::new()
        .name("notify".to_owned())
        .spawn(move || {
            let mut notification = notify_rust::Notification::new();
            notification
                .appname(APP_NAME)
                .summary(&notice.title)
                .body(&notice.body)
                .timeout(notify_rust::Timeout::Milliseconds(TIMEOUT_MS));
            #[cfg(all(unix, not(target_os = "macos")))]
            {
                if let Some(icon) = &icon {
                    notification.icon(icon);
                }
                if notice.urgent {
                    notification.urgency(notify_rust::Urgency::Critical);
                }
                let buttons = notify_rust::get_capabilities()
                    .map(|c| c.iter().any(|c| c == "actions"))
                    .unwrap_or(false);
                if buttons {
                    if !notice.actions.is_empty() {
                        notification.action("default", "Open");
                    }
                    for action in &notice.actions {
                        let (id, label) = action.id_and_label();
                        notification.action(&id, label);
                    }
                }
            }
            #[cfg(not(all(unix, not(target_os = "macos"))))]
            let _ = (&icon, &on_action);
            match notification.show() {
                #[cfg(all(unix, not(target_os = "macos")))]
                Ok(handle) => {
                    if notice.actions.is_empty() {
                        return;
                    }
                    handle.wait_for_action(|clicked| {
                        let picked = if clicked == "default" {
                            notice.actions.first()
                        } else {
                            notice
                                .actions
                                .iter()
                                .find(|a| a.id_and_label().0 == clicked)
                        };
                        if let Some(action) = picked {
                            on_action(action);
                        }
                    });
                }
                #[cfg(not(all(unix, not(target_os = "macos"))))]
                Ok(_) => {}
                Err(error) => tracing::warn!(
                    %error,
                    title = %notice.title,
                    "cannot show a desktop notification (no notification service?)"
                ),
            }
        });
    if let Err(error) = spawned {
        tracing::warn!(%error, "cannot start a thread to show a desktop notification");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_use_the_bundle_identifier_of_the_app() {
        let plist = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/packaging/macos/Info.plist"
        ))
        .unwrap();
        let id = plist
            .split("<key>CFBundleIdentifier</key>")
            .nth(1)
            .and_then(|rest| rest.split("<string>").nth(1))
            .and_then(|rest| rest.split("</string>").next());
        assert_eq!(id, Some(MACOS_BUNDLE_ID));
    }

    const NOW: i64 = 1_780_000_000;
    const HOUR: i64 = 3600;

    fn on() -> NotificationsConfig {
        NotificationsConfig::default()
    }

    fn exhausted(account_id: i64, model: &str, until: i64) -> PoolEvent {
        PoolEvent::Limited {
            account_id,
            email: format!("a{account_id}@x.com"),
            model: Some(model.to_owned()),
            quota_exhausted: true,
            until,
            why: "RESOURCE_EXHAUSTED".to_owned(),
        }
    }

    fn cooling(until: i64) -> PoolEvent {
        PoolEvent::Limited {
            account_id: 1,
            email: "a1@x.com".to_owned(),
            model: Some("gemini-2.5-pro".to_owned()),
            quota_exhausted: false,
            until,
            why: "rate limited".to_owned(),
        }
    }

    fn low(account_id: i64, model: &str, remaining_percent: f64) -> PoolEvent {
        PoolEvent::QuotaLow {
            account_id,
            email: format!("a{account_id}@x.com"),
            model: model.to_owned(),
            remaining_percent,
            resets_at: None,
        }
    }

    #[test]
    fn a_low_quota_with_a_reset_time_notifies_once_per_reset_window() {
        let config = NotificationsConfig::default();
        let mut policy = NotificationPolicy::default();
        let event = |resets_at| PoolEvent::QuotaLow {
            account_id: 1,
            email: "a@x.com".into(),
            model: "gemini-2.5-pro".into(),
            remaining_percent: 5.0,
            resets_at: Some(resets_at),
        };
        assert!(policy.decide(&event(10_000), &config, 1_000).is_some());
        assert!(
            policy.decide(&event(10_000), &config, 9_000).is_none(),
            "same window"
        );
        // The quota reset and ran low again: a new window, a new notice.
        assert!(policy.decide(&event(20_000), &config, 10_500).is_some());
    }

    fn status(account_id: i64, to: AccountStatus, link: Option<&str>) -> PoolEvent {
        PoolEvent::StatusChanged {
            account_id,
            email: format!("a{account_id}@x.com"),
            from: AccountStatus::Active,
            to,
            why: "invalid_grant".to_owned(),
            link: link.map(str::to_owned),
        }
    }

    fn recovered(account_id: i64, model: Option<&str>) -> PoolEvent {
        PoolEvent::Recovered {
            account_id,
            email: format!("a{account_id}@x.com"),
            model: model.map(str::to_owned),
        }
    }

    fn pool_exhausted(model: &str, until: i64) -> PoolEvent {
        PoolEvent::PoolExhausted {
            model: model.to_owned(),
            until,
        }
    }

    fn local_clock(unix_seconds: i64) -> String {
        DateTime::from_timestamp(round_up_to_minute(unix_seconds), 0)
            .unwrap()
            .with_timezone(&Local)
            .format("%H:%M")
            .to_string()
    }

    /// Feeds `steps` of (event, seconds after NOW) to one policy; the titles
    /// of the notices shown, `None` where nothing was.
    fn run(config: &NotificationsConfig, steps: &[(PoolEvent, i64)]) -> Vec<Option<String>> {
        let mut policy = NotificationPolicy::new();
        steps
            .iter()
            .map(|(event, at)| policy.decide(event, config, NOW + at).map(|n| n.title))
            .collect()
    }

    fn shown(title: &str) -> Option<String> {
        Some(title.to_owned())
    }

    #[test]
    fn one_notice_per_problem_and_window() {
        let until = NOW + 3 * HOUR;
        let pro = "gemini-2.5-pro";
        // (what, steps of (event, seconds after NOW), titles shown)
        type Case = (&'static str, Vec<(PoolEvent, i64)>, Vec<Option<String>>);
        let cases: Vec<Case> = vec![
            (
                "the same exhaustion from many requests notifies once",
                vec![
                    (exhausted(1, pro, until), 0),
                    (exhausted(1, pro, until + 20), 5),
                    (exhausted(1, pro, until - 3), 60),
                    (exhausted(1, pro, until + HOUR), 120),
                ],
                vec![shown("Quota used up"), None, None, None],
            ),
            (
                "a new exhaustion after the reset notifies again",
                vec![
                    (exhausted(1, pro, until), 0),
                    (exhausted(1, pro, until + 24 * HOUR), 3 * HOUR + 60),
                ],
                vec![shown("Quota used up"), shown("Quota used up")],
            ),
            (
                "other accounts and models are other problems",
                vec![
                    (exhausted(1, pro, until), 0),
                    (exhausted(2, pro, until), 1),
                    (exhausted(1, "gemini-2.5-flash", until), 2),
                ],
                vec![
                    shown("Quota used up"),
                    shown("Quota used up"),
                    shown("Quota used up"),
                ],
            ),
            (
                "recovered clears the account and model",
                vec![
                    (exhausted(1, pro, until), 0),
                    (recovered(1, Some(pro)), 10),
                    (exhausted(1, pro, until), 20),
                    (recovered(2, Some(pro)), 30),
                    (recovered(1, Some("gemini-2.5-flash")), 40),
                    (exhausted(1, pro, until), 50),
                ],
                vec![
                    shown("Quota used up"),
                    None,
                    shown("Quota used up"),
                    None,
                    None,
                    None,
                ],
            ),
            (
                "cooling down never notifies",
                vec![(cooling(NOW + 30), 0), (cooling(NOW + HOUR), 1)],
                vec![None, None],
            ),
            (
                "a limit that already ended does not notify",
                vec![(exhausted(1, pro, NOW - 5), 0)],
                vec![None],
            ),
            (
                "low quota: once, again after recovery, quiet period ends",
                vec![
                    (low(1, pro, 8.0), 0),
                    (low(1, pro, 5.0), HOUR),
                    (recovered(1, Some(pro)), 2 * HOUR),
                    (low(1, pro, 9.0), 2 * HOUR + 1),
                    (low(1, pro, 9.0), 2 * HOUR + QUOTA_LOW_QUIET_SECS + 2),
                ],
                vec![
                    shown("Quota running low"),
                    None,
                    None,
                    shown("Quota running low"),
                    shown("Quota running low"),
                ],
            ),
            (
                "low quota above the configured threshold does not notify",
                vec![(low(1, pro, 10.0), 0), (low(1, pro, 42.0), 1)],
                vec![None, None],
            ),
            (
                "account failed: once until it is active again",
                vec![
                    (status(1, AccountStatus::NeedsRelogin, None), 0),
                    (status(1, AccountStatus::NeedsRelogin, None), 10),
                    (status(1, AccountStatus::Forbidden, Some("https://v")), 20),
                    (status(1, AccountStatus::Active, None), 30),
                    (status(1, AccountStatus::NeedsRelogin, None), 40),
                    (status(1, AccountStatus::Disabled, None), 50),
                    (
                        status(1, AccountStatus::Suspended, Some("https://appeal")),
                        60,
                    ),
                    (
                        status(1, AccountStatus::Suspended, Some("https://appeal")),
                        70,
                    ),
                    (status(1, AccountStatus::ClientRetired, None), 80),
                    (status(1, AccountStatus::ClientRetired, None), 90),
                    (status(2, AccountStatus::KeyRejected, None), 100),
                    (status(2, AccountStatus::KeyRejected, None), 110),
                    (status(2, AccountStatus::Active, None), 120),
                    (status(2, AccountStatus::KeyRejected, None), 130),
                ],
                vec![
                    shown("Account needs a new sign-in"),
                    None,
                    shown("Account needs verification"),
                    None,
                    shown("Account needs a new sign-in"),
                    None,
                    shown("Account suspended by Google"),
                    None,
                    shown("Account's client retired by Google"),
                    None,
                    shown("API key rejected"),
                    None,
                    None,
                    shown("API key rejected"),
                ],
            ),
            (
                "pool exhausted: once per window, not for a short rate limit",
                vec![
                    (pool_exhausted(pro, NOW + 30), 0),
                    (pool_exhausted(pro, NOW + 2 * HOUR), 1),
                    (pool_exhausted(pro, NOW + 2 * HOUR + 7), 2),
                    (recovered(3, Some(pro)), 3),
                    (pool_exhausted(pro, NOW + 2 * HOUR), 4),
                    (pool_exhausted(pro, NOW + 5 * HOUR), 2 * HOUR + 60),
                ],
                vec![
                    None,
                    shown("No account available"),
                    None,
                    None,
                    shown("No account available"),
                    shown("No account available"),
                ],
            ),
        ];
        for (name, steps, expected) in cases {
            assert_eq!(run(&on(), &steps), expected, "{name}");
        }
    }

    #[test]
    fn switches_turn_kinds_off() {
        let pro = "gemini-2.5-pro";
        let every_kind = vec![
            (low(1, pro, 5.0), 0),
            (exhausted(1, pro, NOW + HOUR), 0),
            (status(1, AccountStatus::NeedsRelogin, None), 0),
            (pool_exhausted(pro, NOW + HOUR), 0),
        ];
        let cases: Vec<(&str, NotificationsConfig, [bool; 4], bool)> = vec![
            ("all on", on(), [true; 4], true),
            (
                "disabled entirely",
                NotificationsConfig {
                    enabled: false,
                    ..on()
                },
                [false; 4],
                false,
            ),
            (
                "quota low off",
                NotificationsConfig {
                    quota_low: false,
                    ..on()
                },
                [false, true, true, true],
                true,
            ),
            (
                "quota exhausted off",
                NotificationsConfig {
                    quota_exhausted: false,
                    ..on()
                },
                [true, false, true, true],
                true,
            ),
            (
                "account failed off",
                NotificationsConfig {
                    account_failed: false,
                    ..on()
                },
                [true, true, false, true],
                true,
            ),
            (
                "pool exhausted off",
                NotificationsConfig {
                    pool_exhausted: false,
                    ..on()
                },
                [true, true, true, false],
                true,
            ),
            (
                "gateway failed off",
                NotificationsConfig {
                    gateway_failed: false,
                    ..on()
                },
                [true; 4],
                false,
            ),
        ];
        for (name, config, expected, gateway) in cases {
            let shown: Vec<bool> = run(&config, &every_kind)
                .iter()
                .map(Option::is_some)
                .collect();
            assert_eq!(shown, expected, "{name}");
            let mut policy = NotificationPolicy::new();
            assert_eq!(
                policy
                    .gateway_failed("port 8045 is busy", &config)
                    .is_some(),
                gateway,
                "{name}: gateway failed"
            );
        }
    }

    #[test]
    fn a_suppressed_notice_is_not_remembered() {
        let event = exhausted(1, "gemini-2.5-pro", NOW + HOUR);
        let mut policy = NotificationPolicy::new();
        let off = NotificationsConfig {
            enabled: false,
            ..on()
        };
        assert!(policy.decide(&event, &off, NOW).is_none());
        // Switched on while the problem lasts: the next report notifies.
        assert!(policy.decide(&event, &on(), NOW + 1).is_some());
    }

    #[test]
    fn gateway_failed_notifies_once_until_it_starts() {
        let mut policy = NotificationPolicy::new();
        let notice = policy
            .gateway_failed("cannot listen on 127.0.0.1:8045: address in use", &on())
            .unwrap();
        assert_eq!(notice.title, "Gateway could not start");
        assert_eq!(
            notice.body,
            "cannot listen on 127.0.0.1:8045: address in use"
        );
        assert!(policy.gateway_failed("again", &on()).is_none());
        policy.gateway_started();
        assert!(policy.gateway_failed("again", &on()).is_some());
    }

    #[test]
    fn bodies_say_who_what_and_when() {
        let mut policy = NotificationPolicy::new();
        let config = on();

        let notice = policy
            .decide(&low(1, "gemini-2.5-pro", 8.2), &config, NOW)
            .unwrap();
        assert_eq!(notice.body, "a1@x.com: gemini-2.5-pro has 8% left");
        let notice = policy
            .decide(&low(2, "gemini-2.5-pro", 0.3), &config, NOW)
            .unwrap();
        assert_eq!(
            notice.body,
            "a2@x.com: gemini-2.5-pro has less than 1% left"
        );

        let until = NOW + 90 * 60 + 30;
        let notice = policy
            .decide(&exhausted(1, "gemini-2.5-pro", until), &config, NOW)
            .unwrap();
        assert!(notice.body.contains("a1@x.com"), "{}", notice.body);
        assert!(notice.body.contains("gemini-2.5-pro"), "{}", notice.body);
        assert!(notice.body.contains(&local_clock(until)), "{}", notice.body);
        assert_eq!(notice.key.window, round_up_to_minute(until));

        let whole_account = PoolEvent::Limited {
            account_id: 3,
            email: "a3@x.com".to_owned(),
            model: None,
            quota_exhausted: true,
            until,
            why: String::new(),
        };
        let notice = policy.decide(&whole_account, &config, NOW).unwrap();
        assert!(notice.body.starts_with("a3@x.com has used up its quota"));

        let notice = policy
            .decide(&status(4, AccountStatus::NeedsRelogin, None), &config, NOW)
            .unwrap();
        assert!(notice.body.contains("a4@x.com"), "{}", notice.body);
        assert!(
            notice
                .body
                .contains("Open Switchyard → Accounts → Sign in again."),
            "{}",
            notice.body
        );
        let link = "https://accounts.google.com/signin/continue?x=1";
        let notice = policy
            .decide(
                &status(5, AccountStatus::Forbidden, Some(link)),
                &config,
                NOW,
            )
            .unwrap();
        assert!(notice.body.contains("a5@x.com"), "{}", notice.body);
        assert!(notice.body.contains(link), "{}", notice.body);

        let notice = policy
            .decide(&pool_exhausted("gemini-2.5-flash", until), &config, NOW)
            .unwrap();
        assert_eq!(
            notice.body,
            format!(
                "No account can serve gemini-2.5-flash until {}.",
                reset_time(until, NOW, &Local)
            )
        );
        assert!(notice.body.contains(&local_clock(until)));
    }

    #[test]
    fn reset_times_show_the_date_unless_today() {
        let zone = chrono::FixedOffset::east_opt(2 * HOUR as i32).unwrap();
        let at = |text: &str| {
            chrono::DateTime::parse_from_rfc3339(text)
                .unwrap()
                .timestamp()
        };
        let now = at("2026-11-26T10:00:00+02:00");
        let cases = [
            ("2026-11-26T14:05:00+02:00", "14:05"),
            ("2026-11-26T14:04:01+02:00", "14:05"),
            ("2026-11-26T23:59:30+02:00", "00:00 tomorrow"),
            ("2026-11-27T09:00:00+02:00", "09:00 tomorrow"),
            ("2026-12-03T09:00:00+02:00", "09:00 on 3 Dec"),
            ("2027-01-02T09:00:00+02:00", "09:00 on 2 Jan 2027"),
        ];
        for (until, expected) in cases {
            assert_eq!(reset_time(at(until), now, &zone), expected, "{until}");
        }
    }

    #[test]
    fn rounding_up_to_the_minute() {
        assert_eq!(round_up_to_minute(120), 120);
        assert_eq!(round_up_to_minute(121), 180);
        assert_eq!(round_up_to_minute(179), 180);
    }

    /// What one poll of two accounts finds, each event through the policy.
    fn one_poll() -> Vec<Notice> {
        let mut policy = NotificationPolicy::new();
        let config = on();
        [
            low(1, "gemini-2.5-pro", 2.0),
            low(1, "gemini-2.5-flash", 8.0),
            exhausted(1, "claude-sonnet-4-5", NOW + HOUR),
            low(2, "gemini-2.5-pro", 3.0),
            low(1, "gemini-3-pro", 5.0),
        ]
        .iter()
        .filter_map(|event| policy.decide(event, &config, NOW))
        .collect()
    }

    #[test]
    fn one_poll_gives_one_notification_per_account() {
        let notices = one_poll();
        assert_eq!(notices.len(), 5, "the policy alone lets each through");
        let merged = merge(notices);
        assert_eq!(merged.len(), 2, "{merged:#?}");
        let first = &merged[0];
        assert_eq!(first.key.account_id, Some(1));
        // The most severe part names it; every part is in the body.
        assert_eq!(first.title, "Quota used up");
        assert!(
            first
                .body
                .starts_with("a1@x.com: gemini-2.5-pro has 2% left; "),
            "{}",
            first.body
        );
        for part in [
            "gemini-2.5-flash has 8% left",
            "claude-sonnet-4-5 used up until",
            "gemini-3-pro has 5% left",
        ] {
            assert!(first.body.contains(part), "{part}: {}", first.body);
        }
        assert_eq!(first.actions, [NoticeAction::OpenDashboard]);
        // A lone notice is left as it was.
        assert_eq!(merged[1].body, "a2@x.com: gemini-2.5-pro has 3% left");
        assert_eq!(merged[1].title, "Quota running low");
    }

    #[test]
    fn pool_wide_notices_merge_by_kind() {
        let mut policy = NotificationPolicy::new();
        let config = on();
        let notices: Vec<Notice> = ["gemini-2.5-pro", "claude-sonnet-4-5"]
            .iter()
            .filter_map(|model| {
                policy.decide(
                    &PoolEvent::PoolExhausted {
                        model: (*model).to_owned(),
                        until: NOW + 3 * HOUR,
                    },
                    &config,
                    NOW,
                )
            })
            .collect();
        let merged = merge(notices);
        assert_eq!(merged.len(), 1, "{merged:#?}");
        assert!(
            merged[0].body.contains("gemini-2.5-pro"),
            "{}",
            merged[0].body
        );
        assert!(
            merged[0].body.contains("claude-sonnet-4-5"),
            "{}",
            merged[0].body
        );
    }

    #[test]
    fn a_failed_account_says_what_to_click_and_is_urgent() {
        let mut policy = NotificationPolicy::new();
        let config = on();
        let relogin = policy
            .decide(&status(1, AccountStatus::NeedsRelogin, None), &config, NOW)
            .unwrap();
        assert!(relogin.urgent);
        assert_eq!(
            relogin.actions,
            [NoticeAction::OpenAccounts {
                label: "Sign in again"
            }]
        );
        let verify = policy
            .decide(
                &status(
                    2,
                    AccountStatus::Forbidden,
                    Some("https://accounts.google.com/v"),
                ),
                &config,
                NOW,
            )
            .unwrap();
        assert_eq!(
            verify.actions[0],
            NoticeAction::OpenLink {
                label: "Verify",
                url: "https://accounts.google.com/v".to_owned()
            }
        );
        // A sign-in problem and a quota one in the same poll: one
        // notification, urgent, titled by the sign-in, with both buttons.
        let quota = policy
            .decide(&exhausted(1, "gemini-2.5-pro", NOW + HOUR), &config, NOW)
            .unwrap();
        let merged = merge(vec![quota, relogin]);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].title, "Account needs a new sign-in");
        assert!(merged[0].urgent);
        assert_eq!(merged[0].actions.len(), 2, "{:?}", merged[0].actions);
        assert_eq!(
            merged[0].actions[0].id_and_label(),
            ("dashboard".to_owned(), "Open Switchyard")
        );
    }
}
