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
        signal.wait().await;
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
