//! Dashboard: the gateway's state and addresses, pool health, today's
//! traffic and the best account per model family.

use super::WindowUi;
use super::palette::Severity;
use super::widgets::{copy_button, name_card, stat_card, thousands};
use crate::desktop::model::{AccountView, Command, Snapshot, binding_window, window_name};
use crate::store::{AccountStatus, model_group};

/// Model families shown under "Best account": (title, text in the model
/// name, the quota group its models count against).
const MODEL_FAMILIES: [(&str, &str, &str); 3] = [
    ("Gemini Pro", "pro", "gemini"),
    ("Gemini Flash", "flash", "gemini"),
    ("Claude/GPT", "", "3p"),
];

pub fn dashboard_ui(
    ui: &mut egui::Ui,
    snapshot: &Snapshot,
    _state: &mut WindowUi,
    commands: &mut Vec<Command>,
) {
    ui.heading("Gateway");
    gateway_ui(ui, snapshot, commands);

    ui.add_space(12.0);
    cards_ui(ui, snapshot);

    ui.add_space(12.0);
    ui.heading("Pool");
    pool_ui(ui, &snapshot.accounts);

    ui.add_space(12.0);
    ui.heading("Best account per model family");
    egui::Grid::new("best_accounts")
        .num_columns(2)
        .spacing([24.0, 4.0])
        .show(ui, |ui| {
            for (title, family, group) in MODEL_FAMILIES {
                ui.label(title);
                match best_account(&snapshot.accounts, family, group) {
                    Some(best) => ui.label(format!(
                        "{} · {} {}% left",
                        best.account.email,
                        best.quota,
                        percent(best.remaining)
                    )),
                    None => ui.weak("no active account with quota left"),
                };
                ui.end_row();
            }
        });
}

/// The numbers at a glance: accounts, the lowest window of each quota
/// group, today's requests, tokens and errors.
fn cards_ui(ui: &mut egui::Ui, snapshot: &Snapshot) {
    // As many cards a row as fit (a wrapping row cannot wrap frames, whose
    // width it learns only after placing them).
    let visible = ui.clip_rect().right() - ui.cursor().left() - 12.0;
    let per_row = ((visible + CARD_GAP) / (CARD_WIDTH + CARD_GAP))
        .floor()
        .max(1.0) as usize;
    let mut placed = 0;
    egui::Grid::new("dashboard_cards")
        .spacing([CARD_GAP, CARD_GAP])
        .show(ui, |ui| {
            cards(ui, snapshot, &mut |ui| {
                placed += 1;
                if placed % per_row == 0 {
                    ui.end_row();
                }
            });
        });
}

/// A card's outer width (its content, margins and stroke) and the gap.
const CARD_WIDTH: f32 = 176.0;
const CARD_GAP: f32 = 10.0;

/// Draws the cards, calling `next` after each.
fn cards(ui: &mut egui::Ui, snapshot: &Snapshot, next: &mut dyn FnMut(&mut egui::Ui)) {
    let accounts = &snapshot.accounts;
    let ready = accounts.iter().filter(|a| is_ready(a)).count();
    let (heal, need_you) =
        accounts
            .iter()
            .filter(|a| !is_ready(a))
            .fold(
                (0, 0),
                |(heal, need), account| match super::accounts::state_chip(account).0 {
                    Severity::Heals => (heal + 1, need),
                    Severity::NeedsUser => (heal, need + 1),
                    Severity::Ok | Severity::Off => (heal, need),
                },
            );
    let caption = match (heal, need_you) {
        (0, 0) => String::new(),
        (heal, 0) => format!("{heal} heal by themselves"),
        (0, need) => format!("{need} need you"),
        (heal, need) => format!("{heal} heal by themselves · {need} need you"),
    };
    let severity = if accounts.is_empty() || ready == 0 {
        Severity::NeedsUser
    } else if need_you > 0 {
        Severity::Heals
    } else {
        Severity::Ok
    };
    stat_card(
        ui,
        "Accounts ready",
        &format!("{ready} / {}", accounts.len()),
        &caption,
        Some(severity),
    );
    next(ui);
    // The ready account with the most left of what binds it.
    let best = MODEL_FAMILIES
        .iter()
        .filter_map(|(_, family, group)| best_account(accounts, family, group))
        .filter(|best| is_ready(best.account))
        .max_by(|a, b| a.remaining.total_cmp(&b.remaining));
    match best {
        Some(best) => name_card(
            ui,
            "Best account now",
            &best.account.email,
            &format!("{} {}% left", best.quota, percent(best.remaining)),
            Some(Severity::Ok),
        ),
        None => name_card(
            ui,
            "Best account now",
            "none ready",
            "see Accounts",
            Some(Severity::NeedsUser),
        ),
    };
    next(ui);
    for (group, title) in [("gemini", "Gemini quota"), ("3p", "Claude/GPT quota")] {
        match lowest_in_group(accounts, group, snapshot.now) {
            Some((share, caption)) => stat_card(
                ui,
                &format!("Lowest {title}"),
                &format!("{}%", percent(share)),
                &caption,
                Some(super::palette::quota_severity(share)),
            ),
            None => stat_card(ui, &format!("Lowest {title}"), "–", "not read yet", None),
        };
        next(ui);
    }
    let today = &snapshot.today;
    stat_card(ui, "Requests today", &thousands(today.requests), "", None);
    next(ui);
    stat_card(
        ui,
        "Tokens today",
        &thousands(today.tokens),
        "in and out",
        None,
    );
    next(ui);
    stat_card(
        ui,
        "Errors today",
        &thousands(today.errors),
        &if today.requests > 0 {
            format!(
                "{}% of requests",
                (today.errors as f64 * 100.0 / today.requests as f64).round()
            )
        } else {
            String::new()
        },
        (today.errors > 0).then_some(Severity::Heals),
    );
    next(ui);
}

/// The least quota left in `group` over the accounts that serve, and whose
/// it is (counted as [`best_account`] counts them).
fn lowest_in_group(accounts: &[AccountView], group: &str, now: i64) -> Option<(f64, String)> {
    accounts
        .iter()
        .filter(|a| a.status == AccountStatus::Active)
        .flat_map(|account| candidates(account, "", group))
        .min_by(|a, b| a.remaining.total_cmp(&b.remaining))
        .map(|lowest| {
            let resets = match lowest.resets_at {
                Some(at) if at > now => {
                    format!(" · resets in {}", super::widgets::duration_text(at - now))
                }
                _ => String::new(),
            };
            (
                lowest.remaining,
                format!("{} · {}{resets}", lowest.account.email, lowest.quota),
            )
        })
}

fn gateway_ui(ui: &mut egui::Ui, snapshot: &Snapshot, commands: &mut Vec<Command>) {
    let gateway = &snapshot.gateway;
    super::widgets::gateway_state_row(ui, &gateway.state, "Running", commands);
    egui::Grid::new("addresses")
        .num_columns(3)
        .spacing([24.0, 4.0])
        .show(ui, |ui| {
            if !gateway.base_url.is_empty() {
                ui.label("Base URL");
                ui.monospace(&gateway.base_url);
                copy_button(ui, "base URL", &gateway.base_url);
                ui.end_row();
            }
            if let Some(lan_url) = &gateway.lan_url {
                ui.label("On your network");
                ui.monospace(lan_url);
                copy_button(ui, "network address", lan_url);
                ui.end_row();
            }
        });
}

fn pool_ui(ui: &mut egui::Ui, accounts: &[AccountView]) {
    if accounts.is_empty() {
        ui.label("No accounts yet: add one on the Accounts page.");
        return;
    }
    let ready = accounts.iter().filter(|a| is_ready(a)).count();
    ui.label(format!("{ready}/{} accounts ready", accounts.len()));
    for account in accounts.iter().filter(|a| !is_ready(a)) {
        // Google's message and the appeal link are on the Accounts page.
        let status = match account.status {
            AccountStatus::ClientRetired | AccountStatus::Suspended => {
                format!("{} (see Accounts)", account.status.label())
            }
            // Active and nothing limited, but every quota read 0.
            AccountStatus::Active if account.status_line == "active" => "no quota left".to_owned(),
            _ => account.status_line.clone(),
        };
        // Amber heals by itself, red needs the user: as on Accounts.
        let (severity, _) = super::accounts::state_chip(account);
        ui.colored_label(
            severity.color(ui.visuals()),
            format!("{}: {status}", account.email),
        );
    }
}

/// Can serve some model now: active, no cool-down or exhausted quota, and
/// quota left somewhere (a quota group whose windows all have some, or a
/// model with some; unknown quota counts as some: the upstream decides).
pub fn is_ready(account: &AccountView) -> bool {
    if account.status != AccountStatus::Active || account.status_line != "active" {
        return false;
    }
    let left = |remaining: Option<f64>| remaining.is_none_or(|r| r > 0.0);
    if !account.windows.is_empty() {
        let mut groups: Vec<&str> = account.windows.iter().map(|w| w.group.as_str()).collect();
        groups.dedup();
        return groups.iter().any(|group| {
            account
                .windows
                .iter()
                .filter(|w| w.group == *group)
                .all(|w| left(w.remaining_fraction))
        });
    }
    account.quotas.is_empty() || account.quotas.iter().any(|q| left(q.remaining))
}

/// An account and the quota that decides how much it has left for a family.
#[derive(Debug)]
pub struct BestAccount<'a> {
    pub account: &'a AccountView,
    /// The model (`gemini-2.5-pro`) or the binding window (`Gemini weekly`).
    pub quota: String,
    pub remaining: f64,
    /// When that quota resets, if known.
    pub resets_at: Option<i64>,
}

/// What counts for `account` in quota group `group`, for models whose name
/// contains `family` (`""`: all): its binding window of the group when it
/// has windows, else each such model's quota.
fn candidates<'a>(account: &'a AccountView, family: &str, group: &str) -> Vec<BestAccount<'a>> {
    if account.windows.is_empty() {
        return account
            .quotas
            .iter()
            .filter(|quota| quota.model.contains(family))
            .filter(|quota| model_group(&quota.model) == group)
            .filter_map(|quota| {
                Some(BestAccount {
                    account,
                    quota: quota.model.clone(),
                    remaining: quota.remaining?,
                    resets_at: quota.resets_at,
                })
            })
            .collect();
    }
    let windows: Vec<_> = account
        .windows
        .iter()
        .filter(|w| w.group == group)
        .cloned()
        .collect();
    binding_window(&windows)
        .and_then(|window| {
            Some(BestAccount {
                account,
                quota: window_name(window),
                remaining: window.remaining_fraction?,
                resets_at: window.reset_at,
            })
        })
        .into_iter()
        .collect()
}

/// The active account with the most quota left for a model whose name
/// contains `family` (`"pro"`, `"flash"`) in quota group `group`. An account
/// with quota windows counts with the group's binding window, the others
/// with their per-model quotas.
pub fn best_account<'a>(
    accounts: &'a [AccountView],
    family: &str,
    group: &str,
) -> Option<BestAccount<'a>> {
    accounts
        .iter()
        .filter(|account| account.status == AccountStatus::Active)
        .flat_map(|account| candidates(account, family, group))
        .filter(|best| best.remaining > 0.0)
        .max_by(|a, b| a.remaining.total_cmp(&b.remaining))
}

fn percent(remaining: f64) -> i64 {
    (remaining.clamp(0.0, 1.0) * 100.0).round() as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desktop::model::{QuotaView, QuotaWindow};

    fn account(email: &str, status: AccountStatus, quotas: &[(&str, f64)]) -> AccountView {
        AccountView {
            id: 1,
            email: email.to_owned(),
            tier: None,
            status,
            status_line: status.label().to_owned(),
            reason: None,
            link: None,
            oauth_client: "gemini-cli".to_owned(),
            project: None,
            windows: Vec::new(),
            models_offered: None,
            quotas: quotas
                .iter()
                .map(|(model, remaining)| QuotaView {
                    model: (*model).to_owned(),
                    remaining: Some(*remaining),
                    resets_at: None,
                })
                .collect(),
            last_used_at: None,
        }
    }

    #[test]
    fn best_account_is_the_active_one_with_most_quota_for_the_family() {
        let accounts = [
            account(
                "a@x",
                AccountStatus::Active,
                &[("gemini-2.5-pro", 0.4), ("gemini-2.5-flash", 0.9)],
            ),
            account("b@x", AccountStatus::Active, &[("gemini-2.5-pro", 0.7)]),
            account("c@x", AccountStatus::Disabled, &[("gemini-2.5-pro", 1.0)]),
        ];
        let best = best_account(&accounts, "pro", "gemini").unwrap();
        assert_eq!((best.account.email.as_str(), best.remaining), ("b@x", 0.7));
        assert_eq!(best.quota, "gemini-2.5-pro");
        assert_eq!(
            best_account(&accounts, "flash", "gemini")
                .unwrap()
                .account
                .email,
            "a@x"
        );
        assert!(best_account(&accounts, "ultra", "gemini").is_none());
        assert!(best_account(&accounts, "", "3p").is_none());
    }

    #[test]
    fn an_account_with_windows_counts_with_its_binding_window() {
        let window = |group: &str, window: &str, left: f64| crate::store::QuotaWindow {
            group: group.to_owned(),
            window: window.to_owned(),
            remaining_fraction: Some(left),
            reset_at: None,
        };
        let mut windowed = account("w@x", AccountStatus::Active, &[("gemini-3-pro", 1.0)]);
        windowed.windows = vec![
            window("gemini", "5h", 0.9),
            window("gemini", "weekly", 0.6),
            window("3p", "5h", 0.3),
            window("3p", "weekly", 0.8),
        ];
        let accounts = [
            windowed,
            account("b@x", AccountStatus::Active, &[("gemini-2.5-pro", 0.5)]),
        ];
        let best = best_account(&accounts, "pro", "gemini").unwrap();
        assert_eq!(
            (
                best.account.email.as_str(),
                best.quota.as_str(),
                best.remaining
            ),
            ("w@x", "Gemini weekly", 0.6)
        );
        let best = best_account(&accounts, "", "3p").unwrap();
        assert_eq!(best.quota, "Claude/GPT 5h");
    }

    #[test]
    fn a_limited_account_is_not_ready() {
        let mut limited = account("a@x", AccountStatus::Active, &[]);
        assert!(is_ready(&limited));
        limited.status_line = "cooling down (gemini-2.5-pro, until 10:00, rate limit)".to_owned();
        assert!(!is_ready(&limited));
    }

    #[test]
    fn an_account_at_zero_everywhere_is_not_ready() {
        let empty = account(
            "a@x",
            AccountStatus::Active,
            &[("gemini-2.5-pro", 0.0), ("gemini-2.5-flash", 0.0)],
        );
        assert!(!is_ready(&empty));
        let some = account(
            "a@x",
            AccountStatus::Active,
            &[("gemini-2.5-pro", 0.0), ("gemini-2.5-flash", 0.04)],
        );
        assert!(is_ready(&some));
        let mut windowed = account("w@x", AccountStatus::Active, &[]);
        let window = |group: &str, name: &str, left: f64| QuotaWindow {
            group: group.to_owned(),
            window: name.to_owned(),
            remaining_fraction: Some(left),
            reset_at: None,
        };
        // Gemini's weekly window is empty, Claude's 5-hour one too: nothing to serve.
        windowed.windows = vec![
            window("gemini", "5h", 0.5),
            window("gemini", "weekly", 0.0),
            window("3p", "5h", 0.0),
            window("3p", "weekly", 0.9),
        ];
        assert!(!is_ready(&windowed));
        windowed.windows[3] = window("3p", "5h", 0.2);
        windowed.windows[2] = window("3p", "weekly", 0.9);
        assert!(is_ready(&windowed));
    }
}
