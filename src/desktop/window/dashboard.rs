//! Dashboard: the gateway's state and addresses, pool health, today's
//! traffic and the best account per model family.

use super::WindowUi;
use super::widgets::{copy_button, thousands};
use crate::desktop::model::{AccountView, Command, QuotaView, Snapshot};
use crate::store::AccountStatus;

/// Model families shown under "Best account": (title, text in the model name).
const MODEL_FAMILIES: [(&str, &str); 2] = [("Gemini Pro", "pro"), ("Gemini Flash", "flash")];

pub fn dashboard_ui(
    ui: &mut egui::Ui,
    snapshot: &Snapshot,
    _state: &mut WindowUi,
    commands: &mut Vec<Command>,
) {
    ui.heading("Gateway");
    gateway_ui(ui, snapshot, commands);

    ui.add_space(12.0);
    ui.heading("Pool");
    pool_ui(ui, &snapshot.accounts);

    ui.add_space(12.0);
    ui.heading("Today");
    egui::Grid::new("today")
        .num_columns(2)
        .spacing([24.0, 4.0])
        .show(ui, |ui| {
            ui.label("Requests");
            ui.label(thousands(snapshot.today.requests));
            ui.end_row();
            ui.label("Tokens");
            ui.label(thousands(snapshot.today.tokens));
            ui.end_row();
            ui.label("Errors");
            if snapshot.today.errors > 0 {
                ui.colored_label(ui.visuals().warn_fg_color, thousands(snapshot.today.errors));
            } else {
                ui.label("0");
            }
            ui.end_row();
        });

    ui.add_space(12.0);
    ui.heading("Best account per model family");
    egui::Grid::new("best_accounts")
        .num_columns(2)
        .spacing([24.0, 4.0])
        .show(ui, |ui| {
            for (title, family) in MODEL_FAMILIES {
                ui.label(title);
                match best_account(&snapshot.accounts, family) {
                    Some((account, quota)) => ui.label(format!(
                        "{} · {} {}% left",
                        account.email,
                        quota.model,
                        percent(quota.remaining.unwrap_or(0.0))
                    )),
                    None => ui.weak("no active account with quota left"),
                };
                ui.end_row();
            }
        });
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
        ui.colored_label(
            ui.visuals().warn_fg_color,
            format!("{}: {}", account.email, account.status_line),
        );
    }
}

/// Active, and no cool-down or exhausted quota on any model.
pub fn is_ready(account: &AccountView) -> bool {
    account.status == AccountStatus::Active && account.status_line == "active"
}

/// The active account with the most quota left for a model whose name
/// contains `family` (`"pro"`, `"flash"`), with that quota.
pub fn best_account<'a>(
    accounts: &'a [AccountView],
    family: &str,
) -> Option<(&'a AccountView, &'a QuotaView)> {
    accounts
        .iter()
        .filter(|account| account.status == AccountStatus::Active)
        .flat_map(|account| {
            account
                .quotas
                .iter()
                .filter(|quota| quota.model.contains(family))
                .filter(|quota| quota.remaining.is_some_and(|r| r > 0.0))
                .map(move |quota| (account, quota))
        })
        .max_by(|(_, a), (_, b)| {
            a.remaining
                .unwrap_or(0.0)
                .total_cmp(&b.remaining.unwrap_or(0.0))
        })
}

fn percent(remaining: f64) -> i64 {
    (remaining.clamp(0.0, 1.0) * 100.0).round() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(email: &str, status: AccountStatus, quotas: &[(&str, f64)]) -> AccountView {
        AccountView {
            id: 1,
            email: email.to_owned(),
            tier: None,
            status,
            status_line: status.label().to_owned(),
            link: None,
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
        let (best, quota) = best_account(&accounts, "pro").unwrap();
        assert_eq!((best.email.as_str(), quota.remaining), ("b@x", Some(0.7)));
        assert_eq!(best_account(&accounts, "flash").unwrap().0.email, "a@x");
        assert!(best_account(&accounts, "ultra").is_none());
    }

    #[test]
    fn a_limited_account_is_not_ready() {
        let mut limited = account("a@x", AccountStatus::Active, &[]);
        assert!(is_ready(&limited));
        limited.status_line = "cooling down (gemini-2.5-pro, until 10:00, rate limit)".to_owned();
        assert!(!is_ready(&limited));
    }
}
