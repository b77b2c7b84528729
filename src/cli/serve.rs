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
        shutdown_signal().await;
        tracing::info!("shutting down");
        gateway.stop().await;
        anyhow::Ok(())
    })
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
