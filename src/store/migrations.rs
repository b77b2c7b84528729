//! Versioned schema migrations, tracked in `PRAGMA user_version`. Each step runs
//! in its own transaction; a database newer than this binary is refused rather
//! than touched.

use std::path::Path;

use rusqlite::Connection;

use super::StoreError;

/// Step N brings the schema from version N to N + 1. Append only; never edit a
/// step that has shipped.
const STEPS: &[&str] = &[
    // 0 → 1: accounts and their quotas.
    r#"
    CREATE TABLE accounts (
        id                INTEGER PRIMARY KEY,
        email             TEXT NOT NULL,
        upstream          TEXT NOT NULL DEFAULT 'google',
        oauth_client      TEXT NOT NULL,
        refresh_token     TEXT NOT NULL,
        access_token      TEXT,
        access_expires_at INTEGER,
        project_id        TEXT,
        tier              TEXT,
        status            TEXT NOT NULL DEFAULT 'active',
        status_reason     TEXT,
        created_at        INTEGER NOT NULL,
        last_used_at      INTEGER,
        UNIQUE (upstream, email)
    );
    CREATE TABLE quotas (
        account_id         INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        model              TEXT NOT NULL,
        remaining_fraction REAL,
        reset_at           INTEGER,
        updated_at         INTEGER NOT NULL,
        PRIMARY KEY (account_id, model)
    );
    "#,
    // 1 → 2: limits that expire by themselves (per model, or '' for the whole
    // account), kept so a restart neither forgets them nor hammers the account;
    // and the link that goes with a "needs verification" status.
    r#"
    CREATE TABLE limits (
        account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        model      TEXT NOT NULL,
        kind       TEXT NOT NULL,
        until      INTEGER NOT NULL,
        reason     TEXT NOT NULL,
        PRIMARY KEY (account_id, model)
    );
    ALTER TABLE accounts ADD COLUMN status_link TEXT;
    "#,
    // 2 → 3: the request log (one row per request, trimmed by age and size)
    // and hourly roll-ups (kept when raw rows are trimmed).
    r#"
    CREATE TABLE request_log (
        id               INTEGER PRIMARY KEY,
        at_ms            INTEGER NOT NULL,
        request_id       TEXT NOT NULL,
        protocol         TEXT NOT NULL,
        route            TEXT NOT NULL,
        model            TEXT NOT NULL,
        upstream_model   TEXT NOT NULL,
        account          TEXT NOT NULL,
        status           INTEGER NOT NULL,
        latency_ms       INTEGER NOT NULL,
        ttfb_ms          INTEGER,
        stream           INTEGER NOT NULL,
        input_tokens     INTEGER NOT NULL,
        output_tokens    INTEGER NOT NULL,
        cached_tokens    INTEGER NOT NULL,
        reasoning_tokens INTEGER NOT NULL,
        error_kind       TEXT,
        error_message    TEXT,
        client           TEXT,
        request_body     TEXT,
        response_body    TEXT
    );
    CREATE INDEX request_log_at ON request_log (at_ms);
    CREATE TABLE usage_hourly (
        hour             INTEGER NOT NULL,
        account          TEXT NOT NULL,
        model            TEXT NOT NULL,
        protocol         TEXT NOT NULL,
        requests         INTEGER NOT NULL,
        errors           INTEGER NOT NULL,
        input_tokens     INTEGER NOT NULL,
        output_tokens    INTEGER NOT NULL,
        cached_tokens    INTEGER NOT NULL,
        reasoning_tokens INTEGER NOT NULL,
        latency_ms_sum   INTEGER NOT NULL,
        PRIMARY KEY (hour, account, model, protocol)
    );
    "#,
    // 3 → 4: what Google says each account offers (`fetchAvailableModels`:
    // models and forwarding rules) and its quota windows
    // (`retrieveUserQuotaSummary`: 5-hour and weekly per group), as JSON.
    // Accounts stored before have neither until the next quota poll.
    r#"
    ALTER TABLE accounts ADD COLUMN catalog_json TEXT;
    ALTER TABLE accounts ADD COLUMN windows_json TEXT;
    "#,
    // 4 → 5: API-key upstreams live beside Google accounts (`upstream` is
    // their kind, `refresh_token` their key); the rest of what the user set
    // (base URL, model globs, headers, priority) is JSON.
    r#"
    ALTER TABLE accounts ADD COLUMN settings_json TEXT;
    "#,
];

pub fn apply(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let known = STEPS.len() as i64;
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > known {
        return Err(StoreError::TooNew {
            path: path.to_owned(),
            found,
            known,
        });
    }
    for (version, sql) in STEPS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_refuses_newer_schemas() {
        let mut conn = Connection::open_in_memory().unwrap();
        apply(&mut conn, Path::new(":memory:")).unwrap();
        apply(&mut conn, Path::new(":memory:")).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, STEPS.len() as i64);
        conn.pragma_update(None, "user_version", 99).unwrap();
        let err = apply(&mut conn, Path::new("x.db")).unwrap_err();
        assert!(matches!(err, StoreError::TooNew { found: 99, .. }), "{err}");
    }
}
