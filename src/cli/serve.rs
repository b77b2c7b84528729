//! `switchyard serve`: the gateway without a window, until Ctrl-C or SIGTERM.

use anyhow::Context;

use crate::config::Paths;
use crate::gateway::{AppState, Gateway, bind};
use crate::store::Store;

#[derive(Debug, Default, clap::Args)]
pub struct ServeArgs {
    /// Listen on this port instead of gateway.port (0 picks a free one).
    #[arg(long)]
    pub port: Option<u16>,
}

/// How often `serve` looks at `config.toml` for changes.
const CONFIG_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Applies `config.toml` changes (`config set`, an editor) while serving:
/// everything read per request (keys, auth mode, mappings, limits) at once. A
/// new port or LAN setting needs a restart, and the log says so. A file that
/// does not parse is not applied.
async fn watch_config(path: std::path::PathBuf, state: AppState, port_override: Option<u16>) {
    let modified = |path: &std::path::Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let mut seen = modified(&path);
    let mut ticker = tokio::time::interval(CONFIG_CHECK_INTERVAL);
    loop {
        ticker.tick().await;
        let now = modified(&path);
        if now == seen {
            continue;
        }
        seen = now;
        let loaded = std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|text| {
                crate::config::Config::from_toml(&text, &path).map_err(|e| e.to_string())
            });
        match loaded {
            Ok(config) => {
                let previous = state.config.load_full();
                let moved = (port_override.is_none()
                    && previous.gateway.port != config.gateway.port)
                    || previous.gateway.allow_lan_access != config.gateway.allow_lan_access;
                state.config.store(std::sync::Arc::new(config));
                tracing::info!("settings reloaded from {}", path.display());
                if moved {
                    tracing::warn!(
                        "the listening address changed in the settings: restart `switchyard serve` to use it"
                    );
                }
            }
            Err(error) => tracing::warn!(%error, "settings not reloaded; the running ones stay"),
        }
    }
}

pub fn run(paths: &Paths, args: ServeArgs) -> anyhow::Result<()> {
    super::init_logging("switchyard=info");
    let config = super::load_config(paths)?;
    let store = Store::open(&paths.db_file)?;
    super::runtime()?.block_on(async move {
        let signal = ShutdownSignal::install();
        let port = args.port.unwrap_or(config.gateway.port);
        let addr = std::net::SocketAddr::new(config.gateway.listen_ip(), port);
        let auth = config.gateway.effective_auth_mode();
        let state = AppState::new(config, store).await?;
        let listener = bind(addr).await?;
        let gateway = Gateway::start(state, listener).context("cannot start the gateway")?;
        tracing::info!(
            version = crate::VERSION,
            accounts = gateway.state().pool.len(),
            auth = ?auth,
            "Switchyard gateway listening on http://{}",
            gateway.addr
        );
        let watcher = tokio::spawn(watch_config(
            paths.config_file.clone(),
            gateway.state().clone(),
            args.port,
        ));
        signal.wait().await;
        watcher.abort();
        tracing::info!("shutting down");
        gateway.stop().await;
        anyhow::Ok(())
    })
}

/// Ctrl-C / SIGTERM, listened for from the moment it is installed: install
/// it before announcing that the gateway listens, so a signal sent right after
/// start still gets a clean shutdown.
pub struct ShutdownSignal {
    #[cfg(unix)]
    signals: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl ShutdownSignal {
    /// Must be called inside the tokio runtime.
    pub fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let signals = signal(SignalKind::terminate())
                .and_then(|term| Ok((term, signal(SignalKind::interrupt())?)))
                .ok();
            Self { signals }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// Resolves when a signal arrives.
    pub async fn wait(self) {
        #[cfg(unix)]
        match self.signals {
            Some((mut term, mut interrupt)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = interrupt.recv() => {}
                }
            }
            None => std::future::pending::<()>().await,
        }
        #[cfg(not(unix))]
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
