//! `switchyard accounts …`

use std::io::Read;

use anyhow::{Context, bail};
use serde::Serialize;

use crate::config::Paths;
use crate::secret::Secret;
use crate::store::{AccountRecord, QuotaRecord, Store};
use crate::upstream::google::GoogleClient;

#[derive(Debug, clap::Subcommand)]
pub enum AccountsCommand {
    /// Add a Google account from a refresh token (checked live with Google).
    Add {
        /// The refresh token, or `-` to read it from standard input (keeps it
        /// out of your shell history).
        #[arg(long, value_name = "TOKEN")]
        refresh_token: String,
        /// OAuth client profile that issued the token (default: google.oauth_client).
        #[arg(long, value_name = "NAME")]
        oauth_client: Option<String>,
        /// Your own Google Cloud project, for accounts that need one (Workspace).
        #[arg(long, value_name = "PROJECT_ID")]
        project: Option<String>,
    },
    /// List accounts with their status.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Remove an account (by id or email).
    Remove {
        #[arg(value_name = "ID|EMAIL")]
        account: String,
    },
}

pub fn run(paths: &Paths, command: AccountsCommand) -> anyhow::Result<()> {
    super::init_logging("switchyard=warn");
    let config = super::load_config(paths)?;
    let store = Store::open(&paths.db_file)?;
    match command {
        AccountsCommand::Add {
            refresh_token,
            oauth_client,
            project,
        } => {
            let refresh_token = read_token(&refresh_token)?;
            let client = GoogleClient::new()?;
            let added = super::runtime()?.block_on(crate::accounts::add_with_refresh_token(
                &client,
                &config,
                &store,
                refresh_token,
                oauth_client.as_deref(),
                project.as_deref(),
            ))?;
            println!(
                "{} {} (id {}, project {}, tier {}, {} models)",
                if added.created { "added" } else { "updated" },
                added.email,
                added.id,
                added.project_id,
                added.tier,
                added.models
            );
            if let Some(warning) = added.quota_warning {
                eprintln!("warning: could not read the quota yet: {warning}");
            }
            Ok(())
        }
        AccountsCommand::List { json } => {
            let accounts = store.accounts()?;
            let quotas = store.quotas()?;
            if json {
                let list: Vec<AccountView> = accounts
                    .iter()
                    .map(|a| AccountView::new(a, &quotas))
                    .collect();
                super::print_out(&format!("{}\n", serde_json::to_string_pretty(&list)?))?;
            } else {
                print_table(&accounts, &quotas)?;
            }
            Ok(())
        }
        AccountsCommand::Remove { account } => {
            let removed = store.remove_account(&account)?;
            println!("removed {} (id {})", removed.email, removed.id);
            Ok(())
        }
    }
}

fn read_token(argument: &str) -> anyhow::Result<Secret> {
    let token = if argument == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the refresh token from standard input")?;
        text
    } else {
        argument.to_owned()
    };
    let token = token.trim();
    if token.is_empty() {
        bail!("the refresh token is empty");
    }
    Ok(Secret::new(token))
}

/// An account as `accounts list --json` shows it: never the tokens.
#[derive(Serialize)]
struct AccountView<'a> {
    id: i64,
    email: &'a str,
    upstream: &'a str,
    oauth_client: &'a str,
    status: &'static str,
    status_label: &'static str,
    status_reason: Option<&'a str>,
    project_id: Option<&'a str>,
    tier: Option<&'a str>,
    created_at: i64,
    last_used_at: Option<i64>,
    quotas: Vec<&'a QuotaRecord>,
}

impl<'a> AccountView<'a> {
    fn new(account: &'a AccountRecord, quotas: &'a [(i64, QuotaRecord)]) -> Self {
        Self {
            id: account.id,
            email: &account.email,
            upstream: &account.upstream,
            oauth_client: &account.oauth_client,
            status: account.status.as_str(),
            status_label: account.status.label(),
            status_reason: account.status_reason.as_deref(),
            project_id: account.project_id.as_deref(),
            tier: account.tier.as_deref(),
            created_at: account.created_at,
            last_used_at: account.last_used_at,
            quotas: quotas
                .iter()
                .filter(|(id, _)| *id == account.id)
                .map(|(_, q)| q)
                .collect(),
        }
    }
}

fn print_table(accounts: &[AccountRecord], quotas: &[(i64, QuotaRecord)]) -> anyhow::Result<()> {
    if accounts.is_empty() {
        return super::print_out(
            "no accounts yet: add one with `switchyard accounts add --refresh-token TOKEN`\n",
        );
    }
    let rows: Vec<[String; 6]> = accounts
        .iter()
        .map(|a| {
            let lowest = quotas
                .iter()
                .filter(|(id, _)| *id == a.id)
                .filter_map(|(_, q)| q.remaining_fraction)
                .fold(None, |low: Option<f64>, f| {
                    Some(low.map_or(f, |l| l.min(f)))
                });
            [
                a.id.to_string(),
                a.email.clone(),
                match &a.status_reason {
                    Some(reason) if a.status != crate::store::AccountStatus::Active => {
                        format!("{} ({reason})", a.status.label())
                    }
                    _ => a.status.label().to_owned(),
                },
                a.tier.clone().unwrap_or_else(|| "-".to_owned()),
                lowest
                    .map(|f| format!("{:.0}%", f * 100.0))
                    .unwrap_or_else(|| "-".to_owned()),
                a.last_used_at
                    .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
                    .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                    .unwrap_or_else(|| "never".to_owned()),
            ]
        })
        .collect();
    let header = ["ID", "EMAIL", "STATUS", "TIER", "LOWEST QUOTA", "LAST USED"];
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    let mut out = line(header.to_vec());
    out.push('\n');
    for row in &rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    super::print_out(&out)
}
