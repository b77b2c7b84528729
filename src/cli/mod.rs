//! The commands behind `switchyard …`: their arguments (clap) and what they do.
//! Each command opens the config and the database itself, runs on its own
//! tokio runtime, and returns an `anyhow` error that `main` prints.

mod accounts;
mod config_cmd;
mod serve;
mod stats;
mod upstreams;

pub use serve::ShutdownSignal;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::{Config, Paths};

/// Switchyard: a local AI gateway. OpenAI, Anthropic and Gemini clients talk to
/// it on 127.0.0.1:8045; it forwards each request to one of your accounts.
#[derive(Debug, Parser)]
#[command(name = "switchyard", version, about, long_about = None)]
pub struct Cli {
    /// Start in the tray, without opening the window (what launch at login uses).
    #[arg(long, global = false)]
    pub hidden: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway without a window (logs to stderr; RUST_LOG sets the level).
    Serve(serve::ServeArgs),
    /// Add, list and remove upstream accounts.
    #[command(subcommand)]
    Accounts(accounts::AccountsCommand),
    /// API-key upstreams (Gemini API, Vertex, OpenAI-compatible, Anthropic).
    #[command(subcommand)]
    Upstreams(upstreams::UpstreamsCommand),
    /// Show and change settings (config.toml).
    #[command(subcommand)]
    Config(config_cmd::ConfigCommand),
    /// Totals from the request log: requests, errors, tokens, latency.
    Stats(stats::StatsArgs),
    /// The request log.
    #[command(subcommand)]
    Log(stats::LogCommand),
    /// The window (started by the running app; not for direct use).
    #[command(hide = true)]
    Window,
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    let paths = Paths::from_env()?;
    match cli.command {
        Some(Command::Serve(args)) => serve::run(&paths, args),
        None if crate::desktop::has_display() => {
            init_logging("switchyard=info");
            crate::desktop::run_app(&paths, cli.hidden)
        }
        None => {
            eprintln!(
                "switchyard: no display here, so no tray or window: running the gateway headless (as `switchyard serve` does)"
            );
            serve::run(&paths, serve::ServeArgs::default())
        }
        Some(Command::Stats(args)) => stats::stats(&paths, args),
        Some(Command::Log(command)) => stats::log(&paths, command),
        Some(Command::Window) => {
            init_logging("switchyard=warn");
            crate::desktop::run_window(&paths)
        }
        Some(Command::Accounts(command)) => accounts::run(&paths, command),
        Some(Command::Config(command)) => config_cmd::run(&paths, command),
        Some(Command::Upstreams(command)) => upstreams::run(&paths, command),
    }
}

fn load_config(paths: &Paths) -> anyhow::Result<Config> {
    Ok(Config::load_or_init(&paths.config_file)?)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Prints to stdout; a closed pipe (`switchyard config show | head`) is not an error.
fn print_out(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// Logs to stderr; `RUST_LOG` overrides `default_level`.
fn init_logging(default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}
