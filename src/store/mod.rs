//! The SQLite database (`switchyard.db`): accounts with their tokens, quotas,
//! and the limits (cool-downs, exhausted quotas) that end by themselves.
//!
//! One connection behind a mutex, in WAL mode, with versioned migrations. All
//! calls are synchronous: async code runs them through [`Store::run`], which
//! moves the work to tokio's blocking pool so the request path never waits on
//! the disk. This module knows nothing of HTTP or of the pool's live state.

mod accounts;
mod catalog;
mod limits;
mod log;
mod migrations;
mod upstreams;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::Connection;

pub use accounts::{AccountRecord, AccountStatus, NewAccount, QuotaRecord, Upserted};
pub use catalog::{ModelCatalog, ModelInfo, QuotaWindow, model_group};
pub use limits::{LimitKind, LimitRecord};
pub use log::{LogEntry, LoggedRequest, RequestRecord, UsageRow, UsageTotals};
pub use upstreams::{GOOGLE, NewUpstream, UpstreamKind, UpstreamSettings};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("cannot create {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error(
        "database {path} has schema version {found}, newer than this Switchyard knows ({known}); update Switchyard"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("no account matches `{0}`")]
    NoSuchAccount(String),
    #[error("the name `{0}` is already used by an account or an upstream")]
    NameTaken(String),
    #[error("database task failed: {0}")]
    Task(String),
}

/// One write to the store, queued for a writer that runs writes in the
/// order they were made: what it is (for the log) and the work.
pub struct StoreWrite {
    pub what: &'static str,
    pub work: WriteWork,
}

/// The work of a [`StoreWrite`].
pub type WriteWork = Box<dyn FnOnce(&Store) -> Result<(), StoreError> + Send>;

/// A handle to the database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    // A plain mutex is the right tool: every call is short and synchronous, and
    // SQLite serialises writers anyway. It is never held across an `.await`.
    // The standard library's (a futex) rather than parking_lot's: callers are
    // blocking-pool threads, and parking_lot's spin-then-`sched_yield` under
    // contention stalled the runtime's workers for milliseconds at 1000 req/s
    // (BENCHMARKS.md, hot spot 2). Statements that run per request use
    // `prepare_cached`.
    conn: Arc<Mutex<Connection>>,
}

impl Store {
    /// Opens (or creates, mode 0600) the database and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(folder) = path.parent() {
            crate::config::create_private_dir(folder).map_err(|source| StoreError::Io {
                path: folder.to_owned(),
                source,
            })?;
        }
        create_private_file(path).map_err(|source| StoreError::Io {
            path: path.to_owned(),
            source,
        })?;
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.to_owned(),
            source,
        })?;
        Self::init(conn, path)
    }

    /// A private in-memory database, for tests.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let conn = Connection::open_in_memory()?;
        Self::init(conn, Path::new(":memory:"))
    }

    fn init(conn: Connection, path: &Path) -> Result<Self, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // Freed pages go back to the file system (the request log is trimmed
        // to a size cap). This only takes effect on a new database or after a
        // VACUUM, so an older file is converted once below.
        conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let mut conn = conn;
        migrations::apply(&mut conn, path)?;
        let auto_vacuum: i64 = conn.query_row("PRAGMA auto_vacuum", [], |r| r.get(0))?;
        if auto_vacuum != 2 {
            conn.execute_batch("VACUUM;")?;
        }
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `work` on a blocking thread.
    pub async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || work(&store))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }

    fn with_conn<T>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, rusqlite::Error>,
    ) -> Result<T, StoreError> {
        // A panic while holding the lock leaves the connection usable: every
        // write is a statement or a transaction SQLite rolls back by itself.
        let mut conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(work(&mut conn)?)
    }

    /// Changes whenever another connection (another process, say `switchyard
    /// accounts add`) commits to the database. Cheap: no disk read.
    pub fn data_version(&self) -> Result<i64, StoreError> {
        self.with_conn(|c| c.query_row("PRAGMA data_version", [], |r| r.get(0)))
    }
}

fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let file = options.open(path)?;
        // An older file may have been created with looser permissions.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    // Windows: the file inherits the access list of its folder, which under
    // %APPDATA% is the user's own (the user, SYSTEM, administrators).
    #[cfg(not(unix))]
    options.open(path)?;
    Ok(())
}

/// Seconds since the Unix epoch.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
