//! Accounts: the table (status, quota bars with reset countdowns, last use,
//! per-account actions), the three ways to add an account, and export.

use std::path::PathBuf;

use super::dashboard::is_ready;
use super::widgets::{
    ago_text, copy_button, duration_text, labelled_secret_field, labelled_text_field, quota_color,
};
use super::{Confirmation, WindowUi};
use crate::desktop::model::{AccountView, Command, LoginView, QuotaView, Snapshot};
use crate::store::AccountStatus;

pub fn accounts_ui(
    ui: &mut egui::Ui,
    snapshot: &Snapshot,
    state: &mut WindowUi,
    commands: &mut Vec<Command>,
) {
    if snapshot.accounts.is_empty() {
        ui.label(
            "No accounts yet. Add one below: sign in with Google in your browser, \
             paste a refresh token (for example from ~/.gemini/oauth_creds.json), \
             or import a file exported by Switchyard.",
        );
    } else {
        if ui.button("Refresh all quotas").clicked() {
            commands.push(Command::RefreshQuota(None));
        }
        ui.add_space(4.0);
        accounts_table_ui(ui, snapshot, state, commands);
    }

    ui.add_space(12.0);
    ui.separator();
    ui.heading("Add account");
    add_account_ui(ui, snapshot, state, commands);

    ui.add_space(12.0);
    ui.separator();
    ui.heading("Export");
    ui.label("Writes every account as [{\"email\", \"refresh_token\"}] (mode 0600: it holds refresh tokens).");
    ui.horizontal(|ui| {
        labelled_text_field(ui, "Export to", &mut state.drafts.export_path, 320.0);
        let path = state.drafts.export_path.trim();
        if ui
            .add_enabled(!path.is_empty(), egui::Button::new("Export"))
            .clicked()
        {
            commands.push(Command::ExportFile(PathBuf::from(path)));
        }
    });
}

fn accounts_table_ui(
    ui: &mut egui::Ui,
    snapshot: &Snapshot,
    state: &mut WindowUi,
    commands: &mut Vec<Command>,
) {
    egui::Grid::new("accounts")
        .num_columns(4)
        .striped(true)
        .spacing([16.0, 8.0])
        .show(ui, |ui| {
            for title in ["Account", "Quota", "Last used", ""] {
                ui.strong(title);
            }
            ui.end_row();
            for account in &snapshot.accounts {
                account_row_ui(ui, account, snapshot.now, state, commands);
                ui.end_row();
            }
        });
}

fn account_row_ui(
    ui: &mut egui::Ui,
    account: &AccountView,
    now: i64,
    state: &mut WindowUi,
    commands: &mut Vec<Command>,
) {
    let email = &account.email;
    ui.vertical(|ui| {
        ui.set_max_width(250.0);
        ui.label(email);
        if let Some(tier) = &account.tier {
            ui.weak(tier);
        }
        let status_color = if is_ready(account) {
            ui.visuals().text_color()
        } else if account.status == AccountStatus::Active {
            ui.visuals().warn_fg_color
        } else {
            ui.visuals().error_fg_color
        };
        ui.add(
            egui::Label::new(egui::RichText::new(&account.status_line).color(status_color)).wrap(),
        );
        if let Some(link) = &account.link
            && ui
                .button("Open verification page")
                .accessible_name(format!("Open verification page for {email}"))
                .clicked()
        {
            commands.push(Command::OpenUrl(link.clone()));
        }
    });

    ui.vertical(|ui| {
        if account.quotas.is_empty() {
            ui.weak("not read yet");
        }
        for quota in &account.quotas {
            let remaining = quota.remaining.unwrap_or(0.0).clamp(0.0, 1.0);
            let mut bar = egui::ProgressBar::new(remaining as f32)
                .desired_width(280.0)
                .text(quota_text(quota, now));
            if quota.remaining.is_some() {
                bar = bar.fill(quota_color(ui, remaining));
            }
            ui.add(bar);
        }
    });

    ui.label(ago_text(account.last_used_at, now));

    ui.vertical(|ui| {
        if account.status == AccountStatus::Disabled {
            if ui
                .button("Enable")
                .accessible_name(format!("Enable {email}"))
                .clicked()
            {
                commands.push(Command::EnableAccount(account.id));
            }
        } else if ui
            .button("Disable")
            .accessible_name(format!("Disable {email}"))
            .clicked()
        {
            commands.push(Command::DisableAccount(account.id));
        }
        if account.status == AccountStatus::NeedsRelogin
            && ui
                .button("Sign in again")
                .accessible_name(format!("Sign in again as {email}"))
                .clicked()
        {
            commands.push(Command::StartLogin);
        }
        if ui
            .button("Refresh quota")
            .accessible_name(format!("Refresh quota of {email}"))
            .clicked()
        {
            commands.push(Command::RefreshQuota(Some(account.id)));
        }
        if ui
            .button("Remove")
            .accessible_name(format!("Remove {email}"))
            .clicked()
        {
            state.drafts.confirmation = Some(Confirmation::RemoveAccount {
                id: account.id,
                email: email.clone(),
            });
        }
    });
}

/// `gemini-2.5-pro 75% · resets in 2h 05m`.
pub fn quota_text(quota: &QuotaView, now: i64) -> String {
    let amount = match quota.remaining {
        Some(remaining) => format!("{}%", (remaining.clamp(0.0, 1.0) * 100.0).round()),
        None => "unknown".to_owned(),
    };
    match quota.resets_at {
        Some(resets_at) if resets_at > now => format!(
            "{} {amount} · resets in {}",
            quota.model,
            duration_text(resets_at - now)
        ),
        Some(_) => format!("{} {amount} · reset due", quota.model),
        None => format!("{} {amount}", quota.model),
    }
}

fn add_account_ui(
    ui: &mut egui::Ui,
    snapshot: &Snapshot,
    state: &mut WindowUi,
    commands: &mut Vec<Command>,
) {
    let drafts = &mut state.drafts;

    ui.strong("Browser sign-in");
    match &snapshot.login {
        None => {
            if ui.button("Sign in with Google").clicked() {
                commands.push(Command::StartLogin);
            }
        }
        Some(login) => login_in_progress_ui(ui, login, &mut drafts.login_code, commands),
    }

    ui.add_space(8.0);
    ui.strong("Paste a refresh token");
    ui.horizontal(|ui| {
        labelled_secret_field(ui, "Refresh token", &mut drafts.refresh_token, 320.0);
        let token = drafts.refresh_token.trim();
        if ui
            .add_enabled(!token.is_empty(), egui::Button::new("Add"))
            .clicked()
        {
            commands.push(Command::AddRefreshToken(token.to_owned()));
            drafts.refresh_token.clear();
        }
    });

    ui.add_space(8.0);
    ui.strong("Import a file");
    ui.horizontal(|ui| {
        labelled_text_field(ui, "File to import", &mut drafts.import_path, 320.0);
        let path = drafts.import_path.trim();
        if ui
            .add_enabled(!path.is_empty(), egui::Button::new("Import"))
            .clicked()
        {
            commands.push(Command::ImportFile(PathBuf::from(path)));
        }
    });
    ui.weak("A JSON list of {\"email\", \"refresh_token\"}; each entry is checked and reported.");
}

fn login_in_progress_ui(
    ui: &mut egui::Ui,
    login: &LoginView,
    login_code: &mut String,
    commands: &mut Vec<Command>,
) {
    ui.label("Open this address in a browser and sign in:");
    ui.add(egui::Label::new(egui::RichText::new(&login.url).monospace()).wrap());
    ui.horizontal(|ui| {
        copy_button(ui, "sign-in address", &login.url);
        if ui.button("Open in browser").clicked() {
            commands.push(Command::OpenUrl(login.url.clone()));
        }
    });
    ui.label(
        "If the browser ends on a page that does not load, paste that page's address \
         (or the code it shows) here:",
    );
    ui.horizontal(|ui| {
        labelled_text_field(ui, "Code or address", login_code, 320.0);
        let code = login_code.trim();
        if ui
            .add_enabled(!code.is_empty(), egui::Button::new("Submit"))
            .clicked()
        {
            commands.push(Command::SubmitLoginCode(code.to_owned()));
            login_code.clear();
        }
        if ui.button("Cancel").clicked() {
            commands.push(Command::CancelLogin);
            login_code.clear();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_text_counts_down_to_the_reset() {
        let quota = QuotaView {
            model: "gemini-2.5-pro".to_owned(),
            remaining: Some(0.75),
            resets_at: Some(10_000 + 2 * 3600 + 5 * 60),
        };
        assert_eq!(
            quota_text(&quota, 10_000),
            "gemini-2.5-pro 75% · resets in 2h 05m"
        );
        assert_eq!(quota_text(&quota, 50_000), "gemini-2.5-pro 75% · reset due");
        let unknown = QuotaView {
            remaining: None,
            resets_at: None,
            ..quota
        };
        assert_eq!(quota_text(&unknown, 0), "gemini-2.5-pro unknown");
    }
}
