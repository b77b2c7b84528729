//! The direction of dependencies in `../shared/CONVENTIONS.md`, checked on
//! the source: adapters (`upstream/`) and storage (`store/`) know neither
//! the pool nor the gateway, and the pool knows neither axum nor egui nor the
//! gateway. A `use` that breaks it fails here, not in a review.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use std::path::{Path, PathBuf};

fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// Lines of the files under `src/<folder>` that name one of `forbidden`.
fn offenders(folder: &str, forbidden: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join(folder);
    let files = sources(&root);
    assert!(!files.is_empty(), "no sources under {}", root.display());
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if forbidden.iter().any(|f| code.contains(f)) {
                found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn adapters_and_storage_know_neither_pool_nor_gateway() {
    for folder in ["upstream", "store"] {
        let found = offenders(
            folder,
            &[
                "crate::pool",
                "crate::gateway",
                "crate::desktop",
                "crate::jobs",
            ],
        );
        assert!(
            found.is_empty(),
            "{folder} imports upward:\n{}",
            found.join("\n")
        );
    }
}

#[test]
fn the_pool_knows_no_http_server_gui_or_gateway() {
    let found = offenders(
        "pool",
        &[
            "axum",
            "egui",
            "crate::gateway",
            "crate::desktop",
            "reqwest",
        ],
    );
    assert!(found.is_empty(), "pool imports:\n{}", found.join("\n"));
}

#[test]
fn the_relay_leaves_account_state_to_the_pool() {
    let relay = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/gateway/relay.rs");
    let text = std::fs::read_to_string(relay).unwrap();
    for call in [
        "set_status(",
        "add_limit(",
        "set_token(",
        "persist(",
        "set_limit(",
        "save_access_token(",
    ] {
        assert!(!text.contains(call), "relay.rs calls `{call}`");
    }
}
