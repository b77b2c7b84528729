//! The desktop shell: a resident process (gateway, tray icon, notifications)
//! and a window process started on demand.
//!
//! Why two processes: the app stays resident all day, and a window's renderer
//! (GL context, driver) costs far more memory than everything else together
//! even while hidden; winit also allows one event loop per process, so a
//! closed window cannot be reopened in the same process. The resident never
//! loads a renderer; "Open Switchyard" starts `switchyard window`, which reads
//! the store and the config itself and asks the resident (over a local
//! control socket) for what only it knows: the gateway's state and the live
//! requests.
//!
//! Nothing here reaches into gateway internals: the resident drives a
//! [`crate::gateway::Gateway`] handle, the window reads snapshots and sends
//! [`model::Command`]s.

pub mod autostart;
pub mod backend;
pub mod control;
pub mod icons;
pub mod login_host;
pub mod model;
pub mod notify;
pub mod resident;
pub mod tray;
#[cfg(windows)]
pub mod win32;
pub mod window;

use anyhow::Context;

use crate::config::{Config, Paths};

/// Whether a window can be shown here at all.
pub fn has_display() -> bool {
    if cfg!(target_os = "linux") {
        ["DISPLAY", "WAYLAND_DISPLAY"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|v| !v.is_empty()))
    } else {
        true
    }
}

/// `switchyard`: the resident app (gateway, tray, notifications).
pub fn run_app(paths: &Paths, hidden: bool) -> anyhow::Result<()> {
    resident::run(paths, hidden)
}

/// `switchyard window`: the window process, started by the resident.
pub fn run_window(paths: &Paths) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let store = crate::store::Store::open(&paths.db_file)?;
    let google = crate::upstream::google::GoogleClient::new()?;
    let (snapshot_tx, snapshot_rx) = tokio::sync::watch::channel(model::Snapshot::default());
    let (command_tx, command_rx) = tokio::sync::mpsc::unbounded_channel();
    let backend = backend::Backend::new(paths.clone(), store, google, snapshot_tx);
    let (ctx_tx, ctx_rx) = tokio::sync::oneshot::channel::<egui::Context>();
    let handle = runtime.handle().clone();
    let runner = backend.clone();
    // SIGTERM (a logout, the resident quitting) closes the window the way
    // its close button does, so its state is saved.
    let terminated = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let signal_terminated = terminated.clone();
    handle.spawn(async move {
        if let Ok(ctx) = ctx_rx.await {
            let signal = crate::cli::ShutdownSignal::install();
            let signal_ctx = ctx.clone();
            tokio::spawn(async move {
                signal.wait().await;
                signal_terminated.store(true, std::sync::atomic::Ordering::SeqCst);
                signal_ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                signal_ctx.request_repaint();
            });
            runner.publish(&ctx).await;
            runner.run(command_rx, ctx).await;
        }
    });
    // The page and filters the user left the window on, and where it was,
    // kept between launches.
    let window_state_file = paths.db_file.with_file_name("window-state.json");
    let saved = window::WindowUi::load(&window_state_file);
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("Switchyard")
        .with_app_id("switchyard")
        .with_inner_size(saved.open_size())
        .with_min_inner_size(window::MIN_WINDOW_SIZE);
    if let Some(position) = saved.open_position() {
        viewport = viewport.with_position(position);
    }
    if let Ok((rgba, width, height)) = icons::app_icon_rgba() {
        viewport = viewport.with_icon(egui::IconData {
            rgba,
            width,
            height,
        });
    }
    let options = eframe::NativeOptions {
        viewport,
        ..Default::default()
    };
    eframe::run_native(
        "Switchyard",
        options,
        Box::new(move |cc| {
            let _ = ctx_tx.send(cc.egui_ctx.clone());
            let mut app =
                window::SwitchyardApp::new(snapshot_rx, command_tx, window::WindowUi::default())
                    .with_state_file(window_state_file.clone());
            if let Some(page) = start_page() {
                app = app.open_on(page);
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))?;
    // Closing the window hides Switchyard to the tray, unless the user chose
    // that closing quits.
    let close_to_tray = Config::load_or_init(&paths.config_file)
        .map(|c| c.desktop.close_to_tray)
        .unwrap_or(true);
    if !close_to_tray && !terminated.load(std::sync::atomic::Ordering::SeqCst) {
        let socket = control::socket_path(&paths.db_file);
        let _ = runtime.block_on(control::send(&socket, &control::ControlRequest::Quit));
    }
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    Ok(())
}

/// Environment variable: the page the window opens on (`accounts`,
/// `api_proxy`, …); used by the desktop smoke test for its screenshots.
pub const ENV_WINDOW_PAGE: &str = "SWITCHYARD_WINDOW_PAGE";

fn start_page() -> Option<window::Page> {
    let wanted = std::env::var(ENV_WINDOW_PAGE).ok()?;
    window::Page::ALL
        .into_iter()
        .find(|page| page.label().to_lowercase().replace(' ', "_") == wanted.to_lowercase())
}

/// Turns launch-at-login on or off: the autostart entry and the setting.
pub fn set_launch_at_login(paths: &Paths, enable: bool) -> anyhow::Result<()> {
    let autostart = autostart::Autostart::for_current_exe()?;
    if enable {
        autostart.enable()?;
    } else {
        autostart.disable()?;
    }
    let config = Config::load_or_init(&paths.config_file)?;
    config
        .with_key_set(
            "desktop.launch_at_login",
            if enable { "true" } else { "false" },
        )?
        .save(&paths.config_file)?;
    Ok(())
}
