//! `switchyard upstreams …`: API-key upstreams beside the Google accounts.

use std::io::{IsTerminal, Read};

use anyhow::{Context, bail};
use serde::Serialize;

use crate::accounts::upstreams::{self, UpstreamInput};
use crate::config::Paths;
use crate::secret::Secret;
use crate::store::{AccountRecord, AccountStatus, LimitRecord, Store, UpstreamKind, now_unix};
use crate::upstream::google::GoogleClient;
use crate::upstream::keyed::KeyedClient;

#[derive(Debug, clap::Subcommand)]
pub enum UpstreamsCommand {
    /// Add an API-key upstream: a Gemini API or Vertex key, any
    /// OpenAI-compatible endpoint, or Anthropic. Checked live first.
    Add {
        /// Its name, for [routing] rules, mappings (`NAME:model`) and these commands.
        #[arg(value_name = "NAME")]
        name: String,
        /// gemini-api, vertex, openai or anthropic.
        #[arg(long, value_parser = parse_kind)]
        kind: UpstreamKind,
        /// Where it is (default: the kind's public service; for openai include
        /// the version, e.g. https://openrouter.ai/api/v1).
        #[arg(long, value_name = "URL")]
        base_url: Option<String>,
        /// The key, or `-` to read it from standard input (keeps it out of
        /// your shell history). An openai endpoint may need none (Ollama).
        #[arg(long, value_name = "KEY|-")]
        api_key: Option<String>,
        /// Model globs it may serve, comma-separated (`gpt-4o*,o3*`); without
        /// them, whatever its /models lists.
        #[arg(long, value_name = "GLOBS", value_delimiter = ',')]
        models: Vec<String>,
        /// An extra request header, `Name: value` (repeatable).
        #[arg(long = "header", value_name = "NAME: VALUE")]
        headers: Vec<String>,
        /// Lower goes first among upstreams when no [routing] rule applies (default 0).
        #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
        priority: i32,
        /// Vertex: your Google Cloud project (with --location).
        #[arg(long, value_name = "PROJECT_ID")]
        project: Option<String>,
        /// Vertex: the region (default us-central1 with --project).
        #[arg(long, value_name = "REGION")]
        location: Option<String>,
        /// Vertex: a service account's JSON key file instead of an API key
        /// (its project_id is used unless --project is given).
        #[arg(long, value_name = "FILE", conflicts_with = "api_key")]
        service_account: Option<std::path::PathBuf>,
        /// Anthropic: send the key as `Authorization: Bearer` (some
        /// compatible endpoints want it) instead of `x-api-key`.
        #[arg(long)]
        bearer: bool,
        /// Store it without asking the endpoint first.
        #[arg(long)]
        no_check: bool,
    },
    /// List the upstreams with their status (never their keys).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove an upstream.
    Remove {
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// Let the gateway use an upstream again (also after `key rejected`).
    Enable {
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// Stop the gateway from using an upstream (it stays stored).
    Disable {
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// Ask the upstream for its models and a few tokens, and say what it answered.
    Test {
        #[arg(value_name = "NAME")]
        name: String,
        /// The model to try (default: the first it serves).
        #[arg(long)]
        model: Option<String>,
    },
}

fn parse_kind(text: &str) -> Result<UpstreamKind, String> {
    UpstreamKind::parse(text).ok_or_else(|| {
        format!(
            "unknown kind `{text}` (one of: {})",
            UpstreamKind::ALL.map(UpstreamKind::as_str).join(", ")
        )
    })
}

pub fn run(paths: &Paths, command: UpstreamsCommand) -> anyhow::Result<()> {
    super::init_logging("switchyard=warn");
    let store = Store::open(&paths.db_file)?;
    let client =
        || -> anyhow::Result<KeyedClient> { Ok(KeyedClient::new(GoogleClient::new()?.http())) };
    match command {
        UpstreamsCommand::Add {
            name,
            kind,
            base_url,
            api_key,
            models,
            headers,
            priority,
            project,
            location,
            service_account,
            bearer,
            no_check,
        } => {
            let key = match (&service_account, api_key.as_deref()) {
                (Some(file), _) => Secret::new(
                    std::fs::read_to_string(file)
                        .with_context(|| format!("cannot read {}", file.display()))?,
                ),
                (None, Some("-")) => read_key()?,
                (None, Some(key)) => Secret::new(key.trim()),
                (None, None) => Secret::default(),
            };
            let input = UpstreamInput {
                name,
                kind,
                base_url,
                key,
                models,
                headers,
                priority,
                project,
                location,
                skip_check: no_check,
                service_account: service_account.is_some(),
                bearer,
            };
            let client = client()?;
            let added = super::runtime()?.block_on(upstreams::add(&client, &store, input))?;
            println!(
                "Added upstream {} ({}, {}, id {})",
                added.name, added.kind, added.base_url, added.id
            );
            match &added.models {
                Some(models) if models.is_empty() => println!(
                    "  it lists no model its globs allow: check --models, then `switchyard upstreams test {}`",
                    added.name
                ),
                Some(models) => println!("  serves {} models: {}", models.len(), preview(models)),
                None => {}
            }
            if let Some(warning) = &added.warning {
                println!("  note: {warning}");
            }
            Ok(())
        }
        UpstreamsCommand::List { json } => {
            let now = now_unix();
            let records: Vec<AccountRecord> = store
                .accounts()?
                .into_iter()
                .filter(|a| !a.is_google())
                .collect();
            let limits = store.limits(now)?;
            let views: Vec<UpstreamView> = records
                .iter()
                .map(|r| UpstreamView::new(r, &limits, now))
                .collect();
            if json {
                super::print_out(&format!("{}\n", serde_json::to_string_pretty(&views)?))?;
            } else if views.is_empty() {
                println!(
                    "No upstreams. Add one: switchyard upstreams add NAME --kind KIND --api-key -"
                );
            } else {
                print_table(&views)?;
            }
            Ok(())
        }
        UpstreamsCommand::Remove { name } => {
            let found = upstreams::find(&store, &name)?;
            store.remove_account(&found.id.to_string())?;
            println!("Removed upstream {}", found.email);
            Ok(())
        }
        UpstreamsCommand::Enable { name } => set_status(&store, &name, AccountStatus::Active),
        UpstreamsCommand::Disable { name } => set_status(&store, &name, AccountStatus::Disabled),
        UpstreamsCommand::Test { name, model } => {
            let found = upstreams::find(&store, &name)?;
            let client = client()?;
            let report = super::runtime()?.block_on(upstreams::test(
                &client,
                &store,
                &found,
                model.as_deref(),
            ))?;
            match &report.models {
                Ok(models) => println!("models: {} ({})", models.len(), preview(models)),
                Err(error) => println!("models: failed: {error}"),
            }
            match &report.generation {
                Some((model, Ok(text), took)) => println!(
                    "{model}: answered {:?} in {} ms",
                    text.trim(),
                    took.as_millis()
                ),
                Some((model, Err(error), _)) => println!("{model}: failed: {error}"),
                None => println!("no model to try: name one with --model"),
            }
            if !report.passed() {
                bail!("{} did not pass the test", found.email);
            }
            if found.status == AccountStatus::KeyRejected {
                println!("{} is active again", found.email);
            }
            Ok(())
        }
    }
}

fn read_key() -> anyhow::Result<Secret> {
    let mut text = String::new();
    if std::io::stdin().is_terminal() {
        eprint!("API key: ");
    }
    std::io::stdin()
        .read_to_string(&mut text)
        .context("cannot read the API key from standard input")?;
    let key = text.trim();
    if key.is_empty() {
        bail!("the API key is empty");
    }
    Ok(Secret::new(key))
}

fn set_status(store: &Store, name: &str, status: AccountStatus) -> anyhow::Result<()> {
    let found = upstreams::find(store, name)?;
    store.set_status(found.id, status, None)?;
    println!("{} is now {}", found.email, status.label());
    Ok(())
}

fn preview(models: &[String]) -> String {
    const SHOWN: usize = 6;
    let mut text = models
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if models.len() > SHOWN {
        text.push_str(&format!(", … {} more", models.len() - SHOWN));
    }
    text
}

/// An upstream as `upstreams list` shows it: never the key, and header
/// names only (a proxy's header may hold a secret too).
#[derive(Serialize)]
struct UpstreamView<'a> {
    id: i64,
    name: &'a str,
    kind: &'static str,
    base_url: &'a str,
    priority: i32,
    status: &'static str,
    status_label: String,
    /// The `--models` globs (empty: whatever /models lists).
    model_globs: &'a [String],
    /// The models it serves now (its list, narrowed by the globs).
    models: Vec<&'a str>,
    header_names: Vec<&'a str>,
    project: Option<&'a str>,
    location: Option<&'a str>,
    created_at: i64,
    last_used_at: Option<i64>,
    limits: Vec<&'a LimitRecord>,
}

impl<'a> UpstreamView<'a> {
    fn new(record: &'a AccountRecord, limits: &'a [LimitRecord], now: i64) -> Self {
        let settings = record.settings.as_ref();
        let globs: &[String] = settings.map(|s| s.models.as_slice()).unwrap_or_default();
        let models = match &record.catalog {
            Some(catalog) => catalog
                .models
                .iter()
                .map(|m| m.id.as_str())
                .filter(|m| settings.is_some_and(|s| s.allows(m)))
                .collect(),
            None => globs.iter().map(String::as_str).collect(),
        };
        Self {
            id: record.id,
            name: &record.email,
            kind: settings.map(|s| s.kind.as_str()).unwrap_or("?"),
            base_url: settings.map(|s| s.base_url.as_str()).unwrap_or_default(),
            priority: settings.map(|s| s.priority).unwrap_or_default(),
            status: record.status.as_str(),
            status_label: crate::accounts::describe_status(record, limits, now),
            model_globs: globs,
            models,
            header_names: settings
                .map(|s| s.headers.iter().map(|(k, _)| k.as_str()).collect())
                .unwrap_or_default(),
            project: settings.and_then(|s| s.project.as_deref()),
            location: settings.and_then(|s| s.location.as_deref()),
            created_at: record.created_at,
            last_used_at: record.last_used_at,
            limits: limits
                .iter()
                .filter(|l| l.account_id == record.id)
                .collect(),
        }
    }
}

fn print_table(views: &[UpstreamView<'_>]) -> anyhow::Result<()> {
    let width = |f: &dyn Fn(&UpstreamView<'_>) -> usize, title: &str| {
        views.iter().map(f).max().unwrap_or(0).max(title.len())
    };
    let name = width(&|v| v.name.len(), "NAME");
    let url = width(&|v| v.base_url.len(), "BASE URL");
    let mut out = format!(
        "{:<name$}  {:<10}  {:>3}  {:>6}  {:<url$}  STATUS\n",
        "NAME", "KIND", "PRI", "MODELS", "BASE URL"
    );
    for view in views {
        out.push_str(&format!(
            "{:<name$}  {:<10}  {:>3}  {:>6}  {:<url$}  {}\n",
            view.name,
            view.kind,
            view.priority,
            view.models.len(),
            view.base_url,
            view.status_label
        ));
    }
    super::print_out(&out)
}
