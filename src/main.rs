//! `switchyard`: parses the command line and hands it to [`switchyard::cli`].

// On Windows the app is a GUI program (no console window opens with it);
// commands started from a terminal print to it (`attach_parent_console`).
#![cfg_attr(windows, windows_subsystem = "windows")]

use std::process::ExitCode;

use clap::Parser;

// The gateway allocates a little on every request (JSON, headers, records);
// with glibc's allocator that was about a fifth of its instructions
// (BENCHMARKS.md, hot spot 3). The bench uses the same allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    #[cfg(windows)]
    switchyard::desktop::win32::attach_parent_console();
    let cli = switchyard::cli::Cli::parse();
    match switchyard::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("switchyard: {error:#}");
            ExitCode::FAILURE
        }
    }
}
