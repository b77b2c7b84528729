//! The request log and its hourly roll-ups. Rows arrive in batches from the
//! gateway's log writer; each batch is one transaction that also adds to the
//! roll-ups, so the sums always match the rows that were written. Trimming
//! removes raw rows (oldest first, in small chunks so no lock is held long)
//! and never touches the roll-ups.

use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::{Store, StoreError};

/// One finished (or failed) request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RequestRecord {
    pub request_id: String,
    /// Unix milliseconds when it arrived.
    pub at_ms: i64,
    /// `openai`, `anthropic` or `gemini`.
    pub protocol: String,
    /// The route: `chat.completions`, `messages`, …
    pub route: String,
    pub model: String,
    pub upstream_model: String,
    /// The account's email; empty when no account was reached.
    pub account: String,
    pub status: u16,
    /// Until the whole answer was sent.
    pub latency_ms: u64,
    /// Until the first byte of a stream.
    pub ttfb_ms: Option<u64>,
    pub stream: bool,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cached_tokens: u64,
    pub reasoning_tokens: u64,
    /// A short machine name for what went wrong (`rate_limit_error`, `connection_lost`).
    pub error_kind: Option<String>,
    pub error_message: Option<String>,
    /// The client's address, when it was not loopback.
    pub client: Option<String>,
}

/// A request as the log keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoggedRequest {
    pub id: i64,
    #[serde(flatten)]
    pub record: RequestRecord,
    pub request_body: Option<String>,
    pub response_body: Option<String>,
}

/// One hour of one (account, model, protocol)'s traffic.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UsageRow {
    /// Unix seconds at the start of the hour.
    pub hour: i64,
    pub account: String,
    pub model: String,
    pub protocol: String,
    pub requests: u64,
    pub errors: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cached_tokens: u64,
    pub reasoning_tokens: u64,
    pub latency_ms_sum: u64,
}

impl UsageRow {
    /// The row's counters.
    pub fn totals(&self) -> UsageTotals {
        UsageTotals {
            requests: self.requests,
            errors: self.errors,
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            cached_tokens: self.cached_tokens,
            reasoning_tokens: self.reasoning_tokens,
            latency_ms_sum: self.latency_ms_sum,
        }
    }
}

/// Sums over requests or roll-up rows: what `switchyard stats`, the Token
/// Stats page and the log writer's per-batch roll-ups add up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct UsageTotals {
    pub requests: u64,
    pub errors: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cached_tokens: u64,
    pub reasoning_tokens: u64,
    pub latency_ms_sum: u64,
}

impl std::ops::AddAssign for UsageTotals {
    fn add_assign(&mut self, other: Self) {
        self.requests = self.requests.saturating_add(other.requests);
        self.errors = self.errors.saturating_add(other.errors);
        self.input_tokens = self.input_tokens.saturating_add(other.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(other.output_tokens);
        self.cached_tokens = self.cached_tokens.saturating_add(other.cached_tokens);
        self.reasoning_tokens = self.reasoning_tokens.saturating_add(other.reasoning_tokens);
        self.latency_ms_sum = self.latency_ms_sum.saturating_add(other.latency_ms_sum);
    }
}

impl UsageTotals {
    /// One request's share.
    pub fn of(record: &RequestRecord) -> Self {
        Self {
            requests: 1,
            errors: u64::from(record.status >= 400),
            input_tokens: record.input_tokens,
            output_tokens: record.output_tokens,
            cached_tokens: record.cached_tokens,
            reasoning_tokens: record.reasoning_tokens,
            latency_ms_sum: record.latency_ms,
        }
    }

    /// Input plus output (cached tokens are part of the input, reasoning
    /// tokens part of the output).
    pub fn tokens(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }

    /// Failed requests as a percentage; `None` without requests.
    pub fn error_rate(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.errors as f64 * 100.0 / self.requests as f64)
    }

    /// `latency_ms_sum / requests`; `None` without requests.
    pub fn mean_latency_ms(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.latency_ms_sum as f64 / self.requests as f64)
    }
}

/// A request to write, with its bodies when `log.store_bodies` is on.
#[derive(Debug, Clone, Default)]
pub struct LogEntry {
    /// Shared with the in-memory list of recent requests.
    pub record: std::sync::Arc<RequestRecord>,
    pub request_body: Option<String>,
    pub response_body: Option<String>,
}

/// Rows removed at a time while trimming.
const TRIM_CHUNK: i64 = 2_000;

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl Store {
    /// Writes a batch of requests and adds them to the hourly roll-ups, in one
    /// transaction.
    pub fn write_log(&self, entries: &[LogEntry]) -> Result<(), StoreError> {
        self.with_conn(|conn| {
            let tx = conn.transaction()?;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO request_log (at_ms, request_id, protocol, route, model, upstream_model,
                       account, status, latency_ms, ttfb_ms, stream, input_tokens, output_tokens,
                       cached_tokens, reasoning_tokens, error_kind, error_message, client,
                       request_body, response_body)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
                )?;
                let mut roll_up = tx.prepare_cached(
                    "INSERT INTO usage_hourly (hour, account, model, protocol, requests, errors,
                       input_tokens, output_tokens, cached_tokens, reasoning_tokens, latency_ms_sum)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                     ON CONFLICT (hour, account, model, protocol) DO UPDATE SET
                       requests = requests + ?5, errors = errors + ?6,
                       input_tokens = input_tokens + ?7, output_tokens = output_tokens + ?8,
                       cached_tokens = cached_tokens + ?9, reasoning_tokens = reasoning_tokens + ?10,
                       latency_ms_sum = latency_ms_sum + ?11",
                )?;
                let mut groups: std::collections::HashMap<(i64, &str, &str, &str), UsageTotals> =
                    std::collections::HashMap::new();
                for entry in entries {
                    let r = &entry.record;
                    insert.execute(params![
                        r.at_ms,
                        r.request_id,
                        r.protocol,
                        r.route,
                        r.model,
                        r.upstream_model,
                        r.account,
                        r.status,
                        to_i64(r.latency_ms),
                        r.ttfb_ms.map(to_i64),
                        r.stream,
                        to_i64(r.input_tokens),
                        to_i64(r.output_tokens),
                        to_i64(r.cached_tokens),
                        to_i64(r.reasoning_tokens),
                        r.error_kind,
                        r.error_message,
                        r.client,
                        entry.request_body,
                        entry.response_body,
                    ])?;
                    let hour = r.at_ms.div_euclid(1000).div_euclid(3600) * 3600;
                    let key = (
                        hour,
                        r.account.as_str(),
                        r.upstream_model.as_str(),
                        r.protocol.as_str(),
                    );
                    *groups.entry(key).or_default() += UsageTotals::of(r);
                }
                // One upsert per (hour, account, model, protocol) in the
                // batch, not one per row: a busy batch is mostly one group.
                for ((hour, account, model, protocol), sums) in groups {
                    roll_up.execute(params![
                        hour,
                        account,
                        model,
                        protocol,
                        to_i64(sums.requests),
                        to_i64(sums.errors),
                        to_i64(sums.input_tokens),
                        to_i64(sums.output_tokens),
                        to_i64(sums.cached_tokens),
                        to_i64(sums.reasoning_tokens),
                        to_i64(sums.latency_ms_sum),
                    ])?;
                }
            }
            tx.commit()
        })
    }

    /// Logged requests with an id above `after_id`, oldest first, at most `limit`.
    pub fn log_after(&self, after_id: i64, limit: usize) -> Result<Vec<LoggedRequest>, StoreError> {
        self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, at_ms, request_id, protocol, route, model, upstream_model, account, status,
                   latency_ms, ttfb_ms, stream, input_tokens, output_tokens, cached_tokens,
                   reasoning_tokens, error_kind, error_message, client, request_body, response_body
                 FROM request_log WHERE id > ?1 ORDER BY id LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![after_id, i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                Ok(LoggedRequest {
                    id: r.get(0)?,
                    record: RequestRecord {
                        at_ms: r.get(1)?,
                        request_id: r.get(2)?,
                        protocol: r.get(3)?,
                        route: r.get(4)?,
                        model: r.get(5)?,
                        upstream_model: r.get(6)?,
                        account: r.get(7)?,
                        status: r.get(8)?,
                        latency_ms: r.get::<_, i64>(9)?.max(0) as u64,
                        ttfb_ms: r.get::<_, Option<i64>>(10)?.map(|t| t.max(0) as u64),
                        stream: r.get(11)?,
                        input_tokens: r.get::<_, i64>(12)?.max(0) as u64,
                        output_tokens: r.get::<_, i64>(13)?.max(0) as u64,
                        cached_tokens: r.get::<_, i64>(14)?.max(0) as u64,
                        reasoning_tokens: r.get::<_, i64>(15)?.max(0) as u64,
                        error_kind: r.get(16)?,
                        error_message: r.get(17)?,
                        client: r.get(18)?,
                    },
                    request_body: r.get(19)?,
                    response_body: r.get(20)?,
                })
            })?;
            rows.collect()
        })
    }

    /// The id of the newest logged request (0 when there is none).
    pub fn last_log_id(&self) -> Result<i64, StoreError> {
        self.with_conn(|conn| {
            conn.query_row("SELECT COALESCE(MAX(id), 0) FROM request_log", [], |r| {
                r.get(0)
            })
        })
    }

    pub fn log_count(&self) -> Result<u64, StoreError> {
        self.with_conn(|conn| {
            conn.query_row("SELECT COUNT(*) FROM request_log", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n.max(0) as u64)
        })
    }

    /// Hourly roll-ups from `since_hour` (Unix seconds) on, oldest first.
    pub fn usage_since(&self, since_hour: i64) -> Result<Vec<UsageRow>, StoreError> {
        self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT hour, account, model, protocol, requests, errors, input_tokens, output_tokens,
                   cached_tokens, reasoning_tokens, latency_ms_sum
                 FROM usage_hourly WHERE hour >= ?1 ORDER BY hour, model, account, protocol",
            )?;
            let rows = stmt.query_map([since_hour], |r| {
                let n = |i: usize| r.get::<_, i64>(i).map(|v| v.max(0) as u64);
                Ok(UsageRow {
                    hour: r.get(0)?,
                    account: r.get(1)?,
                    model: r.get(2)?,
                    protocol: r.get(3)?,
                    requests: n(4)?,
                    errors: n(5)?,
                    input_tokens: n(6)?,
                    output_tokens: n(7)?,
                    cached_tokens: n(8)?,
                    reasoning_tokens: n(9)?,
                    latency_ms_sum: n(10)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Enforces the log's limits: rows older than `oldest_ms`; bodies older
    /// than `bodies_before_ms`; then the oldest rows until the database is
    /// under `max_bytes`. Works in small transactions; returns rows removed.
    pub fn trim_log(
        &self,
        oldest_ms: i64,
        bodies_before_ms: i64,
        max_bytes: u64,
    ) -> Result<u64, StoreError> {
        let mut removed = 0u64;
        loop {
            let n = self.with_conn(|conn| {
                conn.execute(
                    "DELETE FROM request_log WHERE id IN
                       (SELECT id FROM request_log WHERE at_ms < ?1 ORDER BY id LIMIT ?2)",
                    params![oldest_ms, TRIM_CHUNK],
                )
            })?;
            removed += n as u64;
            if (n as i64) < TRIM_CHUNK {
                break;
            }
        }
        self.with_conn(|conn| {
            conn.execute(
                "UPDATE request_log SET request_body = NULL, response_body = NULL
                 WHERE at_ms < ?1 AND (request_body IS NOT NULL OR response_body IS NOT NULL)",
                [bodies_before_ms],
            )
        })?;
        self.reclaim_space()?;
        loop {
            let size = self.size_bytes()?;
            if size <= max_bytes {
                break;
            }
            // Remove about as many of the oldest rows as the excess holds.
            let rows = self.log_count()?;
            if rows == 0 {
                break;
            }
            let per_row = (size / rows).max(1);
            let excess_rows = (size - max_bytes).div_ceil(per_row) + rows / 50 + 1;
            let chunk = i64::try_from(excess_rows)
                .unwrap_or(TRIM_CHUNK)
                .min(TRIM_CHUNK);
            let n = self.with_conn(|conn| {
                conn.execute(
                    "DELETE FROM request_log WHERE id IN (SELECT id FROM request_log ORDER BY id LIMIT ?1)",
                    [chunk],
                )
            })?;
            removed += n as u64;
            self.reclaim_space()?;
            if n == 0 {
                break;
            }
        }
        Ok(removed)
    }

    /// Hands freed pages back to the file system and folds the WAL into the
    /// database, so the file shrinks after trimming.
    pub fn reclaim_space(&self) -> Result<(), StoreError> {
        self.with_conn(|conn| {
            // Each step frees one page: step it to the end.
            let mut vacuum = conn.prepare("PRAGMA incremental_vacuum")?;
            let mut steps = vacuum.query([])?;
            while steps.next()?.is_some() {}
            drop(steps);
            drop(vacuum);
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        })
    }

    /// The database's size on disk (pages in use and free), without the WAL.
    pub fn size_bytes(&self) -> Result<u64, StoreError> {
        self.with_conn(|conn| {
            let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
            let size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
            Ok((pages.max(0) as u64) * (size.max(0) as u64))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(at_ms: i64, status: u16, tokens: u64) -> LogEntry {
        LogEntry {
            record: RequestRecord {
                at_ms,
                request_id: format!("r{at_ms}"),
                protocol: "openai".into(),
                route: "chat.completions".into(),
                model: "gpt-4o".into(),
                upstream_model: "gemini-2.5-pro".into(),
                account: "a@example.com".into(),
                status,
                latency_ms: 10,
                input_tokens: tokens,
                output_tokens: 1,
                ..RequestRecord::default()
            }
            .into(),
            request_body: Some("{}".into()),
            response_body: None,
        }
    }

    #[test]
    fn batches_roll_up_and_trimming_keeps_the_roll_ups() {
        let store = Store::open_in_memory().unwrap();
        let hour_ms = 3_600_000;
        store
            .write_log(&[
                entry(hour_ms, 200, 5),
                entry(hour_ms + 10, 500, 7),
                entry(2 * hour_ms, 200, 1),
            ])
            .unwrap();
        let usage = store.usage_since(0).unwrap();
        assert_eq!(usage.len(), 2);
        assert_eq!(
            (
                usage[0].hour,
                usage[0].requests,
                usage[0].errors,
                usage[0].input_tokens
            ),
            (3600, 2, 1, 12)
        );
        assert_eq!(usage[0].latency_ms_sum, 20);
        assert_eq!(store.log_after(0, 10).unwrap().len(), 3);
        assert_eq!(
            store.log_after(2, 10).unwrap()[0].record.request_id,
            format!("r{}", 2 * hour_ms)
        );

        let removed = store.trim_log(2 * hour_ms, 0, u64::MAX).unwrap();
        assert_eq!(removed, 2);
        assert_eq!(store.log_count().unwrap(), 1);
        assert_eq!(
            store.usage_since(0).unwrap(),
            usage,
            "roll-ups survive trimming"
        );
        store.trim_log(0, i64::MAX, u64::MAX).unwrap();
        assert_eq!(
            store.log_after(0, 10).unwrap()[0].request_body,
            None,
            "old bodies go first"
        );
    }
}
