//! `switchyard accounts …`

use std::io::Read;

use anyhow::{Context, bail};
use serde::Serialize;

use crate::accounts::login;
use crate::accounts::transfer::{self, ImportOutcome};
use crate::config::Paths;
use crate::secret::Secret;
use crate::store::{AccountRecord, AccountStatus, LimitRecord, QuotaRecord, Store, now_unix};
use crate::upstream::google::GoogleClient;

#[derive(Debug, clap::Subcommand)]
pub enum AccountsCommand {
    /// Add a Google account from a refresh token (checked live with Google).
    Add {
        /// The refresh token, or `-` to read it from standard input (keeps it
        /// out of your shell history).
        #[arg(long, value_name = "TOKEN")]
        refresh_token: String,
        /// OAuth client that issued the token: `gemini-cli` (Code Assist
        /// Standard/Enterprise), `antigravity` (personal accounts; needs the
        /// risk accepted) or a custom profile. Default: each built-in one in turn.
        #[arg(long = "client", visible_alias = "oauth-client", value_name = "NAME")]
        oauth_client: Option<String>,
        /// Your own Google Cloud project, for accounts that need one (Standard/Enterprise).
        #[arg(long, value_name = "PROJECT_ID")]
        project: Option<String>,
        /// Accept that Google may suspend an account used through the
        /// Antigravity client (saves google.antigravity_risk_accepted = true).
        #[arg(long)]
        accept_antigravity_risk: bool,
    },
    /// Sign in with Google in the browser (or paste the address/code back).
    Login {
        /// Do not try to open a browser; just print the address.
        #[arg(long)]
        no_browser: bool,
        /// OAuth client to sign in with: `gemini-cli` (a Google Cloud project
        /// on Code Assist Standard/Enterprise) or `antigravity` (a personal
        /// Google account; needs the risk accepted). Default: google.oauth_client.
        #[arg(long = "client", visible_alias = "oauth-client", value_name = "NAME")]
        oauth_client: Option<String>,
        /// Your own Google Cloud project, for accounts that need one (Standard/Enterprise).
        #[arg(long, value_name = "PROJECT_ID")]
        project: Option<String>,
        /// Accept that Google may suspend an account used through the
        /// Antigravity client (saves google.antigravity_risk_accepted = true).
        #[arg(long)]
        accept_antigravity_risk: bool,
    },
    /// Add accounts from a JSON file `[{"email", "refresh_token", "client"}]` (`-` for stdin).
    Import {
        #[arg(value_name = "FILE")]
        file: std::path::PathBuf,
        /// Accept that Google may suspend an account used through the
        /// Antigravity client (saves google.antigravity_risk_accepted = true).
        #[arg(long)]
        accept_antigravity_risk: bool,
    },
    /// Write every account to a JSON file `[{"email", "refresh_token"}]` (`-` for stdout).
    /// The file holds refresh tokens: keep it private.
    Export {
        #[arg(value_name = "FILE")]
        file: std::path::PathBuf,
    },
    /// Let the gateway use an account again.
    Enable {
        #[arg(value_name = "ID|EMAIL")]
        account: String,
    },
    /// Stop the gateway from using an account (it stays stored).
    Disable {
        #[arg(value_name = "ID|EMAIL")]
        account: String,
    },
    /// Read the quota of one account, or of all, from Google now.
    Refresh {
        #[arg(value_name = "ID|EMAIL")]
        account: Option<String>,
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

    let mut config = super::load_config(paths)?;
    if let AccountsCommand::Add {
        accept_antigravity_risk: true,
        ..
    }
    | AccountsCommand::Login {
        accept_antigravity_risk: true,
        ..
    }
    | AccountsCommand::Import {
        accept_antigravity_risk: true,
        ..
    } = &command
        && !config.google.antigravity_risk_accepted
    {
        config.google.antigravity_risk_accepted = true;
        config.save(&paths.config_file)?;
        eprintln!(
            "Antigravity risk accepted (google.antigravity_risk_accepted = true in {}): \
             Google may suspend accounts used through the Antigravity client.",
            paths.config_file.display()
        );
    }
    let store = Store::open(&paths.db_file)?;
    match command {
        AccountsCommand::Add {
            refresh_token,
            oauth_client,
            project,
            ..
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
            print_added(&added);
            Ok(())
        }
        AccountsCommand::List { json } => {
            let accounts = google_accounts(&store)?;
            let quotas = store.quotas()?;
            let now = now_unix();
            let limits = store.limits(now)?;
            if json {
                let list: Vec<AccountView> = accounts
                    .iter()
                    .map(|a| AccountView::new(a, &quotas, &limits, now))
                    .collect();
                super::print_out(&format!("{}\n", serde_json::to_string_pretty(&list)?))?;
            } else {
                print_table(&accounts, &quotas, &limits, now)?;
            }
            Ok(())
        }
        AccountsCommand::Remove { account } => {
            let found = find_google(&store, &account)?;
            let removed = store.remove_account(&found.id.to_string())?;
            println!("removed {} (id {})", removed.email, removed.id);
            Ok(())
        }
        AccountsCommand::Login {
            no_browser,
            oauth_client,
            project,
            ..
        } => {
            let client = GoogleClient::new()?;
            super::runtime()?.block_on(login(
                &client,
                &config,
                &store,
                no_browser,
                oauth_client.as_deref(),
                project.as_deref(),
            ))
        }
        AccountsCommand::Import { file, .. } => {
            let text = if file.as_os_str() == "-" {
                let mut text = String::new();
                std::io::stdin().read_to_string(&mut text)?;
                text
            } else {
                std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?
            };
            let entries =
                transfer::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let total = entries.len();
            let client = GoogleClient::new()?;
            let outcomes = super::runtime()?.block_on(transfer::import(
                &client,
                &config,
                &store,
                entries,
                |index, outcome| match outcome {
                    ImportOutcome::Added(a) => {
                        println!("[{}/{total}] added {} (id {})", index + 1, a.email, a.id)
                    }
                    ImportOutcome::Updated(a) => {
                        println!("[{}/{total}] updated {} (id {})", index + 1, a.email, a.id)
                    }
                    ImportOutcome::Failed { email, error } => println!(
                        "[{}/{total}] failed {}: {error}",
                        index + 1,
                        email.as_deref().unwrap_or("(no email given)")
                    ),
                },
            ));
            let count = |f: fn(&ImportOutcome) -> bool| outcomes.iter().filter(|o| f(o)).count();
            let failed = count(|o| matches!(o, ImportOutcome::Failed { .. }));
            println!(
                "{} added, {} updated, {failed} failed",
                count(|o| matches!(o, ImportOutcome::Added(_))),
                count(|o| matches!(o, ImportOutcome::Updated(_))),
            );
            if failed > 0 {
                bail!("{failed} of {total} accounts could not be imported");
            }
            Ok(())
        }
        AccountsCommand::Export { file } => {
            let text = transfer::export(&store)?;
            let count = google_accounts(&store)?.len();
            if file.as_os_str() == "-" {
                super::print_out(&text)
            } else {
                crate::config::write_atomically(&file, text.as_bytes())
                    .with_context(|| format!("cannot write {}", file.display()))?;
                println!(
                    "exported {count} accounts to {} (it holds refresh tokens: keep it private)",
                    file.display()
                );
                Ok(())
            }
        }
        AccountsCommand::Enable { account } => set_status(&store, &account, AccountStatus::Active),
        AccountsCommand::Disable { account } => {
            set_status(&store, &account, AccountStatus::Disabled)
        }
        AccountsCommand::Refresh { account } => {
            let client = GoogleClient::new()?;
            super::runtime()?.block_on(refresh(&client, &config, &store, account.as_deref()))
        }
    }
}

/// The Google accounts (API-key upstreams have `switchyard upstreams`).
fn google_accounts(store: &Store) -> anyhow::Result<Vec<AccountRecord>> {
    Ok(store
        .accounts()?
        .into_iter()
        .filter(AccountRecord::is_google)
        .collect())
}

/// The Google account `reference` names.
fn find_google(store: &Store, reference: &str) -> anyhow::Result<AccountRecord> {
    let found = store.find_account(reference)?;
    if !found.is_google() {
        bail!("`{reference}` is an API-key upstream: see `switchyard upstreams --help`");
    }
    Ok(found)
}

/// The user's own switch. A running gateway picks the change up by itself.
fn set_status(store: &Store, reference: &str, status: AccountStatus) -> anyhow::Result<()> {
    let found = find_google(store, reference)?;
    store.set_status(found.id, status, None)?;
    println!("{} is now {}", found.email, status.label());
    Ok(())
}

async fn login(
    client: &GoogleClient,
    config: &crate::config::Config,
    store: &Store,
    no_browser: bool,
    oauth_client: Option<&str>,
    project: Option<&str>,
) -> anyhow::Result<()> {
    use std::io::Write;
    let mut flow = login::start(config, oauth_client).await?;
    println!(
        "Open this address to sign in with Google:\n\n  {}\n",
        flow.url
    );
    if flow.accepts_paste() {
        println!(
            "Waiting for the browser ({} min). On another machine? Sign in there, then paste \
             here the address the browser ended on (or just the code) and press Enter.",
            login::LOGIN_TIMEOUT.as_secs() / 60
        );
    } else {
        let port = flow.port();
        println!(
            "Waiting for the browser ({} min). With the Antigravity client Google's page must \
             reach port {port} on this machine itself, so pasting the address back does not \
             work. On a remote machine, forward the port first from the computer with the \
             browser:\n\n  ssh -L {port}:127.0.0.1:{port} USER@THIS-MACHINE\n",
            login::LOGIN_TIMEOUT.as_secs() / 60
        );
    }
    let _ = std::io::stdout().flush();
    if !no_browser && crate::desktop::has_display() && open::that_detached(&flow.url).is_err() {
        eprintln!("(could not open a browser; open the address yourself)");
    }
    let (paste_tx, mut pasted) = tokio::sync::mpsc::channel::<String>(1);
    let accepts_paste = flow.accepts_paste();
    std::thread::spawn(move || {
        if !accepts_paste {
            // Keep the channel open without reading: nothing pasted can finish.
            let _keep = paste_tx;
            std::thread::park();
            return;
        }
        let mut line = String::new();
        while std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {
            if !line.trim().is_empty() && paste_tx.blocking_send(line.clone()).is_err() {
                return;
            }
            line.clear();
        }
    });
    let code = tokio::select! {
        code = flow.wait() => code?,
        Some(line) = pasted.recv() => flow.code_from_paste(&line)?,
        _ = tokio::signal::ctrl_c() => bail!("sign-in cancelled"),
    };
    let added = flow.finish(client, config, store, &code, project).await?;
    print_added(&added);
    Ok(())
}

/// What `accounts add` and `accounts login` say about the stored account.
fn print_added(added: &crate::accounts::AddedAccount) {
    let verb = if added.created { "added" } else { "updated" };
    if let Some(reason) = &added.retired {
        println!(
            "{verb} {} (id {}, client {}) as client retired: Google does not serve it through \
             this client.",
            added.email, added.id, added.client
        );
        eprintln!("{reason}");
        return;
    }
    println!(
        "{verb} {} (id {}, client {}, project {}, tier {}, {} models)",
        added.email, added.id, added.client, added.project_id, added.tier, added.models
    );
    if let Some(warning) = &added.quota_warning {
        eprintln!("warning: could not read the quota yet: {warning}");
    }
}

async fn refresh(
    client: &GoogleClient,
    config: &crate::config::Config,
    store: &Store,
    only: Option<&str>,
) -> anyhow::Result<()> {
    let accounts = match only {
        Some(reference) => vec![find_google(store, reference)?],
        None => google_accounts(store)?,
    };
    let mut failures = 0;
    for account in accounts {
        match crate::accounts::refresh_quota(client, config, store, &account).await {
            Ok(state) => {
                println!(
                    "{}: {}",
                    account.email,
                    crate::accounts::describe_quota(&state.windows, &state.quotas)
                );
            }
            Err(error) => {
                failures += 1;
                println!("{}: failed: {error}", account.email);
            }
        }
    }
    if failures > 0 {
        bail!("{failures} accounts could not be refreshed");
    }
    Ok(())
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
    /// The OAuth client the account is on (`gemini-cli`, `antigravity`, …).
    client: &'a str,
    oauth_client: &'a str,
    status: &'static str,
    /// The one-line status, limits included.
    status_label: String,
    status_reason: Option<&'a str>,
    status_link: Option<&'a str>,
    project_id: Option<&'a str>,
    tier: Option<&'a str>,
    created_at: i64,
    last_used_at: Option<i64>,
    quotas: Vec<&'a QuotaRecord>,
    /// Quota windows per group: `{"gemini": {"5h": {…}, "weekly": {…}}, "3p": …}`.
    windows: std::collections::BTreeMap<&'a str, std::collections::BTreeMap<&'a str, WindowView>>,
    /// The models Google offers the account (empty: not reported).
    models: Vec<&'a str>,
    /// Google's forwarding rules for retired model ids.
    deprecated_models: Option<&'a std::collections::BTreeMap<String, String>>,
    limits: Vec<&'a LimitRecord>,
}

#[derive(Serialize)]
struct WindowView {
    remaining_fraction: Option<f64>,
    reset_at: Option<i64>,
    /// The reset time in RFC 3339, for people and scripts alike.
    resets: Option<String>,
}

impl<'a> AccountView<'a> {
    fn new(
        account: &'a AccountRecord,
        quotas: &'a [(i64, QuotaRecord)],
        limits: &'a [LimitRecord],
        now: i64,
    ) -> Self {
        Self {
            id: account.id,
            email: &account.email,
            upstream: &account.upstream,
            client: &account.oauth_client,
            oauth_client: &account.oauth_client,
            status: account.status.as_str(),
            status_label: crate::accounts::describe_status(account, limits, now),
            status_reason: account.status_reason.as_deref(),
            status_link: account.status_link.as_deref(),
            project_id: account.project_id.as_deref(),
            tier: account.tier.as_deref(),
            created_at: account.created_at,
            last_used_at: account.last_used_at,
            quotas: quotas
                .iter()
                .filter(|(id, _)| *id == account.id)
                .map(|(_, q)| q)
                .collect(),
            windows: {
                let mut groups: std::collections::BTreeMap<_, std::collections::BTreeMap<_, _>> =
                    std::collections::BTreeMap::new();
                for w in &account.windows {
                    groups.entry(w.group.as_str()).or_default().insert(
                        w.window.as_str(),
                        WindowView {
                            remaining_fraction: w.remaining_fraction,
                            reset_at: w.reset_at,
                            resets: w
                                .reset_at
                                .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
                                .map(|t| t.to_rfc3339()),
                        },
                    );
                }
                groups
            },
            models: account
                .catalog
                .iter()
                .flat_map(|c| c.models.iter().map(|m| m.id.as_str()))
                .collect(),
            deprecated_models: account.catalog.as_ref().map(|c| &c.deprecated),
            limits: limits
                .iter()
                .filter(|l| l.account_id == account.id)
                .collect(),
        }
    }
}

fn print_table(
    accounts: &[AccountRecord],
    quotas: &[(i64, QuotaRecord)],
    limits: &[LimitRecord],
    now: i64,
) -> anyhow::Result<()> {
    if accounts.is_empty() {
        return super::print_out(
            "no accounts yet: add one with `switchyard accounts add --refresh-token TOKEN`\n",
        );
    }
    let rows: Vec<[String; 7]> = accounts
        .iter()
        .map(|a| {
            let lowest = quotas
                .iter()
                .filter(|(id, _)| *id == a.id)
                .filter_map(|(_, q)| q.remaining_fraction)
                .fold(None, |low: Option<f64>, f| {
                    Some(low.map_or(f, |l| l.min(f)))
                });
            let quota = if a.windows.is_empty() {
                lowest
                    .map(|f| format!("lowest {:.0}%", f * 100.0))
                    .unwrap_or_else(|| "-".to_owned())
            } else {
                crate::accounts::describe_quota(&a.windows, &[])
            };
            [
                a.id.to_string(),
                a.email.clone(),
                a.oauth_client.clone(),
                crate::accounts::describe_status(a, limits, now),
                a.tier.clone().unwrap_or_else(|| "-".to_owned()),
                quota,
                a.last_used_at
                    .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
                    .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                    .unwrap_or_else(|| "never".to_owned()),
            ]
        })
        .collect();
    let header = [
        "ID",
        "EMAIL",
        "CLIENT",
        "STATUS",
        "TIER",
        "QUOTA",
        "LAST USED",
    ];
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
