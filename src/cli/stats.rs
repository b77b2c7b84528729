//! `switchyard stats` and `switchyard log tail`: the request log from the
//! command line.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::bail;

use crate::config::Paths;
use crate::store::{LoggedRequest, Store, UsageRow, now_unix};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GroupBy {
    Model,
    Account,
    Protocol,
}

#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    /// How far back: 24h, 7d, 30d, 90m, …
    #[arg(long, default_value = "24h")]
    since: String,
    /// Group the totals.
    #[arg(long, value_enum, default_value = "model")]
    by: GroupBy,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Subcommand)]
pub enum LogCommand {
    /// Print the latest requests, and with --follow the new ones as they come.
    Tail {
        /// How many of the latest requests to print first.
        #[arg(short = 'n', long, default_value_t = 20)]
        lines: usize,
        /// Keep printing new requests until interrupted.
        #[arg(short, long)]
        follow: bool,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
}

/// `24h`, `7d`, `90m`, `3600s` → seconds.
pub fn parse_since(text: &str) -> anyhow::Result<i64> {
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let number: i64 = number
        .parse()
        .map_err(|_| anyhow::anyhow!("`{text}` is not a duration like 24h, 7d or 90m"))?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" | "" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => bail!("`{text}`: use s, m, h, d or w (24h, 7d, 90m)"),
    };
    Ok(number.saturating_mul(scale))
}

pub use crate::store::UsageTotals as Totals;

/// Mean latency in whole milliseconds (0 without requests).
fn mean_latency_ms(totals: &Totals) -> u64 {
    totals
        .latency_ms_sum
        .checked_div(totals.requests)
        .unwrap_or(0)
}

/// Totals per group, and over everything.
pub fn group(rows: &[UsageRow], by: GroupBy) -> (BTreeMap<String, Totals>, Totals) {
    let mut groups: BTreeMap<String, Totals> = BTreeMap::new();
    let mut all = Totals::default();
    for row in rows {
        let key = match by {
            GroupBy::Model => &row.model,
            GroupBy::Account => &row.account,
            GroupBy::Protocol => &row.protocol,
        };
        let key = if key.is_empty() {
            "(none)".to_owned()
        } else {
            key.clone()
        };
        *groups.entry(key).or_default() += row.totals();
        all += row.totals();
    }
    (groups, all)
}

pub fn stats(paths: &Paths, args: StatsArgs) -> anyhow::Result<()> {
    let seconds = parse_since(&args.since)?;
    let store = Store::open(&paths.db_file)?;
    let since_hour = (now_unix() - seconds).div_euclid(3600) * 3600;
    let rows = store.usage_since(since_hour)?;
    let (groups, all) = group(&rows, args.by);
    if args.json {
        let value = serde_json::json!({ "since": args.since, "groups": groups, "total": all });
        return super::print_out(&format!("{}\n", serde_json::to_string_pretty(&value)?));
    }
    if all.requests == 0 {
        return super::print_out(&format!("no requests in the last {}\n", args.since));
    }
    let header = [
        "",
        "REQUESTS",
        "ERRORS",
        "INPUT",
        "OUTPUT",
        "CACHED",
        "REASONING",
        "AVG LATENCY",
    ];
    let row = |name: &str, t: &Totals| {
        [
            name.to_owned(),
            t.requests.to_string(),
            t.errors.to_string(),
            t.input_tokens.to_string(),
            t.output_tokens.to_string(),
            t.cached_tokens.to_string(),
            t.reasoning_tokens.to_string(),
            format!("{} ms", mean_latency_ms(t)),
        ]
    };
    let mut table: Vec<[String; 8]> = groups.iter().map(|(name, t)| row(name, t)).collect();
    table.push(row("TOTAL", &all));
    let mut widths = header.map(str::len);
    for line in &table {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut emit = |cells: Vec<&str>| {
        let line: Vec<String> = cells
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (cell, width))| {
                if i == 0 {
                    format!("{cell:<width$}")
                } else {
                    format!("{cell:>width$}")
                }
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    };
    emit(header.to_vec());
    for line in &table {
        emit(line.iter().map(String::as_str).collect());
    }
    super::print_out(&out)
}

fn describe(row: &LoggedRequest) -> String {
    let r = &row.record;
    let time = chrono::DateTime::from_timestamp_millis(r.at_ms)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default();
    let model = if r.upstream_model.is_empty() || r.upstream_model == r.model {
        r.model.clone()
    } else {
        format!("{} -> {}", r.model, r.upstream_model)
    };
    let mut line = format!(
        "{time}  {} {:<17} {:<40} {:<24} {:>3} {:>6} ms  {}/{} tokens",
        r.protocol,
        r.route,
        model,
        if r.account.is_empty() {
            "-"
        } else {
            &r.account
        },
        r.status,
        r.latency_ms,
        r.input_tokens,
        r.output_tokens
    );
    if let Some(error) = r.error_message.as_deref().or(r.error_kind.as_deref()) {
        line.push_str("  ");
        line.push_str(error);
    }
    line
}

pub fn log(paths: &Paths, command: LogCommand) -> anyhow::Result<()> {
    let LogCommand::Tail {
        lines,
        follow,
        json,
    } = command;
    let store = Store::open(&paths.db_file)?;
    let print = |rows: &[LoggedRequest]| -> anyhow::Result<()> {
        let mut out = String::new();
        for row in rows {
            if json {
                out.push_str(&serde_json::to_string(row)?);
            } else {
                out.push_str(&describe(row));
            }
            out.push('\n');
        }
        super::print_out(&out)
    };
    let last = store.last_log_id()?;
    let first = store.log_after(last.saturating_sub(lines as i64), lines)?;
    print(&first)?;
    if !follow {
        return Ok(());
    }
    let mut seen = first.last().map_or(last, |r| r.id);
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let rows = store.log_after(seen, 500)?;
        if let Some(newest) = rows.last() {
            seen = newest.id;
            print(&rows)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_since("24h").unwrap(), 86_400);
        assert_eq!(parse_since("7d").unwrap(), 604_800);
        assert_eq!(parse_since("90m").unwrap(), 5_400);
        assert!(parse_since("soon").is_err());
        assert!(parse_since("3y").is_err());
    }

    #[test]
    fn grouping_sums_match() {
        let row = |model: &str, account: &str, requests| UsageRow {
            model: model.into(),
            account: account.into(),
            requests,
            input_tokens: requests * 10,
            latency_ms_sum: requests * 100,
            ..UsageRow::default()
        };
        let rows = [row("a", "x", 2), row("b", "x", 3), row("a", "y", 5)];
        let (groups, all) = group(&rows, GroupBy::Model);
        assert_eq!(groups["a"].requests, 7);
        assert_eq!(groups["b"].input_tokens, 30);
        assert_eq!(all.requests, 10);
        assert_eq!(mean_latency_ms(&all), 100);
        let (groups, _) = group(&rows, GroupBy::Account);
        assert_eq!(groups["y"].requests, 5);
    }
}
