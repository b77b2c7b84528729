//! `switchyard`: parses the command line and hands it to [`switchyard::cli`].

use std::process::ExitCode;

use clap::Parser;

// The gateway allocates a little on every request (JSON, headers, records);
// with glibc's allocator that was about a fifth of its instructions
// (BENCHMARKS.md, hot spot 3). The bench uses the same allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = switchyard::cli::Cli::parse();
    match switchyard::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("switchyard: {error:#}");
            ExitCode::FAILURE
        }
    }
}
