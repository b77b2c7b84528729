//! Token Stats: totals, charts and a per-model or per-account table for the
//! last 24 hours, 7 days or 30 days, all from the hourly usage roll-ups in the
//! snapshot. The arithmetic is in plain functions ([`totals`], [`by_group`],
//! [`series`]); the page only draws their results.

use std::collections::HashMap;
use std::sync::Arc;

use egui_plot::{Bar, BarChart, GridInput, GridMark, Plot, PlotItem};

use super::palette::Severity;
use serde::{Deserialize, Serialize};

use super::WindowUi;
use super::widgets::thousands;
use crate::desktop::model::{Command, Snapshot, UsageBucket};

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

/// How far back the page looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum StatsRange {
    #[default]
    Day,
    Week,
    Month,
}

const RANGES: [StatsRange; 3] = [StatsRange::Day, StatsRange::Week, StatsRange::Month];

impl StatsRange {
    /// The selector's text, also used in sentences ("the last 7 days").
    pub fn label(self) -> &'static str {
        match self {
            StatsRange::Day => "24 hours",
            StatsRange::Week => "7 days",
            StatsRange::Month => "30 days",
        }
    }

    pub fn seconds(self) -> i64 {
        match self {
            StatsRange::Day => DAY,
            StatsRange::Week => 7 * DAY,
            StatsRange::Month => 30 * DAY,
        }
    }

    /// Hourly bars for a day, daily bars beyond.
    pub fn bucket(self) -> BucketSize {
        match self {
            StatsRange::Day => BucketSize::Hour,
            StatsRange::Week | StatsRange::Month => BucketSize::Day,
        }
    }

    /// The first hour counted when the snapshot was taken at `now`.
    pub fn since(self, now: i64) -> i64 {
        now - self.seconds()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketSize {
    Hour,
    /// A local calendar day.
    Day,
}

impl BucketSize {
    fn seconds(self) -> i64 {
        match self {
            BucketSize::Hour => HOUR,
            BucketSize::Day => DAY,
        }
    }

    fn per(self) -> &'static str {
        match self {
            BucketSize::Hour => "per hour",
            BucketSize::Day => "per day",
        }
    }

    /// The start of the bucket holding `time`, for a zone `utc_offset`
    /// seconds east of UTC.
    pub fn start(self, time: i64, utc_offset: i64) -> i64 {
        match self {
            BucketSize::Hour => time.div_euclid(HOUR) * HOUR,
            BucketSize::Day => (time + utc_offset).div_euclid(DAY) * DAY - utc_offset,
        }
    }
}

/// What the table and the chart's colours are split by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum StatsGrouping {
    #[default]
    Model,
    Account,
}

const GROUPINGS: [(StatsGrouping, &str); 2] = [
    (StatsGrouping::Model, "By model"),
    (StatsGrouping::Account, "By account"),
];

impl StatsGrouping {
    /// The bucket's group; blank names (a request refused before an account
    /// or a model was chosen: bad JSON, no key) say so.
    pub fn key(self, bucket: &UsageBucket) -> &str {
        match self {
            StatsGrouping::Model if bucket.model.is_empty() => "(refused: no model)",
            StatsGrouping::Account if bucket.account.is_empty() => "(refused: no account)",
            StatsGrouping::Model => &bucket.model,
            StatsGrouping::Account => &bucket.account,
        }
    }

    fn title(self) -> &'static str {
        match self {
            StatsGrouping::Model => "Model",
            StatsGrouping::Account => "Account",
        }
    }
}

/// Sums over some buckets.
pub use crate::store::UsageTotals as Totals;

/// The buckets from `since` on.
pub fn in_range(usage: &[UsageBucket], since: i64) -> impl Iterator<Item = &UsageBucket> {
    usage.iter().filter(move |bucket| bucket.hour >= since)
}

/// Everything from `since` on.
pub fn totals(usage: &[UsageBucket], since: i64) -> Totals {
    let mut totals = Totals::default();
    in_range(usage, since).for_each(|bucket| totals += bucket.totals());
    totals
}

/// One row of the per-model or per-account table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupTotals {
    pub name: String,
    pub totals: Totals,
}

/// Totals per model or account from `since` on, most tokens first (then
/// most requests, then by name).
pub fn by_group(usage: &[UsageBucket], since: i64, grouping: StatsGrouping) -> Vec<GroupTotals> {
    let mut groups: HashMap<&str, Totals> = HashMap::new();
    for bucket in in_range(usage, since) {
        *groups.entry(grouping.key(bucket)).or_default() += bucket.totals();
    }
    let mut groups: Vec<GroupTotals> = groups
        .into_iter()
        .map(|(name, totals)| GroupTotals {
            name: name.to_owned(),
            totals,
        })
        .collect();
    groups.sort_by(|a, b| {
        b.totals
            .tokens()
            .cmp(&a.totals.tokens())
            .then(b.totals.requests.cmp(&a.totals.requests))
            .then(a.name.cmp(&b.name))
    });
    groups
}

/// The charts' data: consecutive buckets with no gaps, oldest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    /// Unix seconds at the start of each bucket.
    pub starts: Vec<i64>,
    /// All traffic per bucket.
    pub totals: Vec<Totals>,
    /// Tokens per bucket for each group (the biggest first; past
    /// `max_groups`, the rest are summed as "others").
    pub groups: Vec<(String, Vec<u64>)>,
}

/// Name of the group that sums the groups past `max_groups`.
pub const OTHERS: &str = "others";

/// Buckets of `bucket` size from `since` to `now` (and to the newest bucket,
/// should one be ahead of `now`), in a zone `utc_offset` seconds east of UTC.
pub fn series(
    usage: &[UsageBucket],
    since: i64,
    now: i64,
    bucket: BucketSize,
    utc_offset: i64,
    grouping: StatsGrouping,
    max_groups: usize,
) -> Series {
    let width = bucket.seconds();
    // The first whole hour in range, and its bucket.
    let first_hour = since.div_euclid(HOUR) * HOUR + HOUR * i64::from(since.rem_euclid(HOUR) != 0);
    let first = bucket.start(first_hour, utc_offset);
    let newest = in_range(usage, since).map(|b| b.hour).max().unwrap_or(now);
    let last = bucket.start(now.max(newest), utc_offset);
    if last < first {
        return Series::default();
    }
    let count = usize::try_from((last - first) / width + 1).unwrap_or(0);
    let index = |hour: i64| usize::try_from((bucket.start(hour, utc_offset) - first) / width).ok();

    let ranked = by_group(usage, since, grouping);
    let shown: Vec<&str> = ranked
        .iter()
        .take(if ranked.len() > max_groups {
            max_groups.saturating_sub(1)
        } else {
            max_groups
        })
        .map(|group| group.name.as_str())
        .collect();
    let mut groups: Vec<(String, Vec<u64>)> = shown
        .iter()
        .map(|name| ((*name).to_owned(), vec![0; count]))
        .collect();
    if shown.len() < ranked.len() {
        groups.push((OTHERS.to_owned(), vec![0; count]));
    }

    let mut totals = vec![Totals::default(); count];
    for usage_bucket in in_range(usage, since) {
        let Some(i) = index(usage_bucket.hour).filter(|i| *i < count) else {
            continue;
        };
        totals[i] += usage_bucket.totals();
        let key = grouping.key(usage_bucket);
        let group = shown
            .iter()
            .position(|name| *name == key)
            .unwrap_or(groups.len() - 1);
        groups[group].1[i] += usage_bucket.totals().tokens();
    }
    Series {
        starts: (0..count).map(|i| first + i as i64 * width).collect(),
        totals,
        groups,
    }
}

/// How many groups the tokens chart colours apart.
const CHART_GROUPS: usize = 8;

pub fn token_stats_ui(
    ui: &mut egui::Ui,
    snapshot: &Snapshot,
    state: &mut WindowUi,
    _commands: &mut Vec<Command>,
) {
    ui.horizontal_wrapped(|ui| {
        ui.label("Range");
        for range in RANGES {
            ui.selectable_value(&mut state.stats_range, range, range.label());
        }
        ui.separator();
        for (grouping, text) in GROUPINGS {
            ui.selectable_value(&mut state.stats_grouping, grouping, text);
        }
    });
    ui.add_space(8.0);

    let range = state.stats_range;
    let grouping = state.stats_grouping;
    let since = range.since(snapshot.now);
    let total = totals(&snapshot.usage, since);
    if total.requests == 0 {
        ui.label(format!("No requests in the last {} yet.", range.label()));
        return;
    }

    totals_ui(ui, &total);
    ui.weak("Updated about once a minute.");

    ui.add_space(12.0);
    let bucket = range.bucket();
    let series = series(
        &snapshot.usage,
        since,
        snapshot.now,
        bucket,
        utc_offset(snapshot.now),
        grouping,
        CHART_GROUPS,
    );
    charts_ui(ui, &series, bucket);

    ui.add_space(12.0);
    ui.heading(match grouping {
        StatsGrouping::Model => "Models",
        StatsGrouping::Account => "Accounts",
    });
    groups_table_ui(
        ui,
        &by_group(&snapshot.usage, since, grouping),
        &total,
        grouping,
    );
}

/// The zone's offset from UTC at `now`, in seconds.
fn utc_offset(now: i64) -> i64 {
    use chrono::{Offset, TimeZone};
    chrono::Local
        .timestamp_opt(now, 0)
        .single()
        .map_or(0, |t| i64::from(t.offset().fix().local_minus_utc()))
}

fn totals_ui(ui: &mut egui::Ui, total: &Totals) {
    let stats = [
        ("Requests", thousands(total.requests)),
        ("Total tokens", thousands(total.tokens())),
        ("Error rate", percent_text(total.error_rate())),
        ("Mean latency", latency_text(total.mean_latency_ms())),
        ("Input tokens", thousands(total.input_tokens)),
        ("Output tokens", thousands(total.output_tokens)),
        ("Cached tokens", thousands(total.cached_tokens)),
        ("Reasoning tokens", thousands(total.reasoning_tokens)),
    ];
    // Two rows of four: fits the narrowest window (a wrapping row cannot
    // wrap framed groups, whose width it learns only after placing them).
    egui::Grid::new("stats_totals")
        .num_columns(4)
        .spacing([8.0, 8.0])
        .show(ui, |ui| {
            for (index, (title, value)) in stats.into_iter().enumerate() {
                stat_ui(ui, title, value);
                if index % 4 == 3 {
                    ui.end_row();
                }
            }
        });
}

/// A title over a number; the number is named by its title.
fn stat_ui(ui: &mut egui::Ui, title: &str, value: String) {
    ui.group(|ui| {
        ui.vertical(|ui| {
            ui.set_min_width(120.0);
            let title = ui.label(egui::RichText::new(title).small().weak());
            ui.label(egui::RichText::new(value).size(22.0).strong())
                .labelled_by(title.id);
        });
    });
}

/// `2.5%`, `0%`, `—` without requests.
pub fn percent_text(rate: Option<f64>) -> String {
    match rate {
        None => "—".to_owned(),
        Some(rate) if rate == rate.round() => format!("{rate:.0}%"),
        Some(rate) => format!("{rate:.1}%"),
    }
}

/// `1,234 ms`, `—` without requests.
pub fn latency_text(mean_ms: Option<f64>) -> String {
    mean_ms.map_or_else(
        || "—".to_owned(),
        |ms| format!("{} ms", thousands(ms.round() as u64)),
    )
}

/// `950`, `12.3k`, `4.5M`: for chart axes.
fn compact(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 1e9 {
        format!("{:.1}G", value / 1e9)
    } else if magnitude >= 1e6 {
        format!("{:.1}M", value / 1e6)
    } else if magnitude >= 1e5 {
        format!("{:.0}k", value / 1e3)
    } else if magnitude >= 1e3 {
        format!("{:.1}k", value / 1e3)
    } else if value == value.round() {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

/// Tick and hover text of each bucket: `14:00` for hours, `Mar 05` for days.
fn bucket_labels(starts: &[i64], bucket: BucketSize) -> Vec<String> {
    use chrono::TimeZone;
    let format = match bucket {
        BucketSize::Hour => "%H:%M",
        BucketSize::Day => "%b %d",
    };
    starts
        .iter()
        .map(|start| {
            chrono::Local
                .timestamp_opt(*start, 0)
                .single()
                .map_or_else(String::new, |t| t.format(format).to_string())
        })
        .collect()
}

fn charts_ui(ui: &mut egui::Ui, series: &Series, bucket: BucketSize) {
    let labels = Arc::new(bucket_labels(&series.starts, bucket));
    let per = bucket.per();

    ui.strong(format!("Tokens {per}"));
    // The legend above the chart, not over it.
    ui.horizontal_wrapped(|ui| {
        for (index, (name, _)) in series.groups.iter().enumerate() {
            let (rect, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
            ui.painter().rect_filled(rect, 2.0, series_color(index));
            ui.label(egui::RichText::new(name).small());
            ui.add_space(8.0);
        }
    });
    let mut stacked: Vec<BarChart> = Vec::new();
    for (index, (name, tokens)) in series.groups.iter().enumerate() {
        let color = series_color(index);
        let bars = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| {
                Bar::new(i as f64, *t as f64)
                    .width(0.8)
                    .fill(color)
                    .stroke(egui::Stroke::NONE)
            })
            .collect();
        let labels = Arc::clone(&labels);
        let chart = BarChart::new(name.as_str(), bars)
            .element_formatter(Box::new(move |bar, chart| {
                format!(
                    "{}\n{}: {} tokens",
                    PlotItem::name(chart),
                    bucket_label(&labels, bar.argument),
                    thousands(bar.value as u64)
                )
            }))
            .stack_on(&stacked.iter().collect::<Vec<_>>());
        stacked.push(chart);
    }
    chart(ui, "stats_tokens", &labels, 200.0).show(ui, |plot_ui| {
        for chart in stacked {
            plot_ui.bar_chart(chart);
        }
    });

    ui.add_space(8.0);
    let heals = Severity::Heals.color(ui.visuals());
    let neutral = series_color(0);
    ui.columns(3, |columns| {
        columns[0].strong(format!("Requests {per}"));
        let bars = series
            .totals
            .iter()
            .enumerate()
            .map(|(i, t)| {
                Bar::new(i as f64, t.requests as f64)
                    .width(0.8)
                    .fill(series_color(0))
                    .stroke(egui::Stroke::NONE)
            })
            .collect();
        let bar_labels = Arc::clone(&labels);
        let requests =
            BarChart::new("Requests", bars).element_formatter(Box::new(move |bar, _| {
                format!(
                    "{}: {} requests",
                    bucket_label(&bar_labels, bar.argument),
                    thousands(bar.value as u64)
                )
            }));
        chart(&columns[0], "stats_requests", &labels, 150.0)
            .show(&mut columns[0], |plot_ui| plot_ui.bar_chart(requests));

        columns[1].strong(format!("Error rate {per}"));
        let rates = per_bucket(series, Totals::error_rate);
        chart(&columns[1], "stats_error_rate", &labels, 150.0)
            .include_y(0.0)
            .y_axis_formatter(|mark, _| format!("{}%", compact(mark.value)))
            .label_formatter(hover(&labels, |y| format!("{y:.1}% failed")))
            .show(&mut columns[1], |plot_ui| {
                let labels = Arc::clone(&labels);
                plot_ui.bar_chart(value_bars("Error rate", &rates, heals, move |x, y| {
                    format!("{}: {y:.1}% failed", bucket_label(&labels, x))
                }));
            });

        columns[2].strong(format!("Mean latency {per}"));
        let latencies = per_bucket(series, Totals::mean_latency_ms);
        chart(&columns[2], "stats_latency", &labels, 150.0)
            .include_y(0.0)
            .y_axis_formatter(|mark, _| format!("{} ms", compact(mark.value)))
            .label_formatter(hover(&labels, |y| {
                format!("{} ms", thousands(y.round() as u64))
            }))
            .show(&mut columns[2], |plot_ui| {
                let labels = Arc::clone(&labels);
                plot_ui.bar_chart(value_bars(
                    "Mean latency",
                    &latencies,
                    neutral,
                    move |x, y| {
                        format!(
                            "{}: {} ms",
                            bucket_label(&labels, x),
                            thousands(y.round() as u64)
                        )
                    },
                ));
            });
    });
}

/// One bar per bucket that had requests: one hour of data is a bar, not a
/// dot in a corner.
fn value_bars(
    name: &str,
    values: &[[f64; 2]],
    color: egui::Color32,
    hover: impl Fn(f64, f64) -> String + 'static,
) -> BarChart {
    BarChart::new(
        name,
        values
            .iter()
            .map(|[x, y]| {
                Bar::new(*x, *y)
                    .width(0.8)
                    .fill(color)
                    .stroke(egui::Stroke::NONE)
            })
            .collect(),
    )
    .element_formatter(Box::new(move |bar, _| hover(bar.argument, bar.value)))
}

/// The colour of the chart's `index`th series (the rest share the last).
fn series_color(index: usize) -> egui::Color32 {
    const COLORS: [egui::Color32; 6] = [
        egui::Color32::from_rgb(0x4e, 0x9a, 0xf0),
        egui::Color32::from_rgb(0xe0, 0x8a, 0x3c),
        egui::Color32::from_rgb(0x5f, 0xb8, 0x6c),
        egui::Color32::from_rgb(0xb0, 0x7c, 0xe0),
        egui::Color32::from_rgb(0xd9, 0x5f, 0x76),
        egui::Color32::from_rgb(0x8a, 0x8f, 0x98),
    ];
    COLORS[index.min(COLORS.len() - 1)]
}

/// `(bucket index, value)` for the buckets that had requests.
fn per_bucket(series: &Series, value: impl Fn(&Totals) -> Option<f64>) -> Vec<[f64; 2]> {
    series
        .totals
        .iter()
        .enumerate()
        .filter_map(|(i, totals)| value(totals).map(|v| [i as f64, v]))
        .collect()
}

fn bucket_label(labels: &[String], x: f64) -> &str {
    let index = x.round();
    if index < 0.0 || (x - index).abs() > 1e-6 {
        return "";
    }
    labels.get(index as usize).map_or("", String::as_str)
}

/// Hover text over a line chart: the bucket and its value.
fn hover<'a>(
    labels: &'a [String],
    value: impl Fn(f64) -> String + 'a,
) -> impl Fn(&egui_plot::HoverPosition<'_>) -> Option<String> + 'a {
    move |position| match position {
        egui_plot::HoverPosition::NearDataPoint { position, .. } => Some(format!(
            "{}: {}",
            bucket_label(labels, position.x),
            value(position.y)
        )),
        egui_plot::HoverPosition::Elsewhere { .. } => None,
    }
}

/// A chart with the buckets along x: fixed (no zoom or drag, so the page
/// scrolls under the pointer), ticks at whole buckets.
fn chart<'a>(ui: &egui::Ui, id: &'a str, labels: &'a [String], height: f32) -> Plot<'a> {
    let count = labels.len().max(1);
    // About eight ticks, on round steps.
    let step = [1, 2, 3, 4, 6, 12, 24]
        .into_iter()
        .find(|step| count.div_ceil(*step) <= 8)
        .unwrap_or(24);
    Plot::new(id)
        .height(height)
        .width(ui.available_width())
        .allow_zoom(false)
        .allow_drag(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .allow_double_click_reset(false)
        .show_grid([false, true])
        .include_x(-0.6)
        .include_x(count as f64 - 0.4)
        .include_y(0.0)
        .x_grid_spacer(move |_input| {
            (0..count)
                .step_by(step)
                .map(|i| GridMark {
                    value: i as f64,
                    step_size: step as f64,
                })
                .collect()
        })
        .x_axis_formatter(move |mark, _range| bucket_label(labels, mark.value).to_owned())
        .y_grid_spacer(round_steps)
        .y_axis_formatter(|mark, _| compact(mark.value))
        .y_axis_min_width(48.0)
}

/// Grid marks on round values (1, 2, 2.5 or 5 times a power of ten), about
/// five over the range: the default's powers of ten leave a chart reaching
/// 900k with only 0 labelled.
fn round_steps(input: GridInput) -> Vec<GridMark> {
    let (min, max) = input.bounds;
    let Some(step) = round_step((max - min) / 5.0) else {
        return Vec::new();
    };
    let first = (min / step).ceil() as i64;
    let last = (max / step).floor() as i64;
    (first..=last)
        .map(|i| GridMark {
            value: i as f64 * step,
            step_size: step,
        })
        .collect()
}

/// The smallest round step at least `raw`.
fn round_step(raw: f64) -> Option<f64> {
    if !raw.is_finite() || raw <= 0.0 {
        return None;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|factor| factor * magnitude)
        .find(|step| *step >= raw * (1.0 - 1e-9))
}

fn groups_table_ui(
    ui: &mut egui::Ui,
    groups: &[GroupTotals],
    total: &Totals,
    grouping: StatsGrouping,
) {
    egui::Grid::new("stats_groups")
        .num_columns(10)
        .striped(true)
        .spacing([16.0, 4.0])
        .show(ui, |ui| {
            for title in [
                grouping.title(),
                "Requests",
                "Input",
                "Output",
                "Cached",
                "Reasoning",
                "Tokens",
                "Share",
                "Error rate",
                "Mean latency",
            ] {
                ui.strong(title);
            }
            ui.end_row();
            for group in groups {
                let totals = &group.totals;
                let name = ui.monospace(&group.name);
                number(ui, thousands(totals.requests));
                number(ui, thousands(totals.input_tokens));
                number(ui, thousands(totals.output_tokens));
                number(ui, thousands(totals.cached_tokens));
                number(ui, thousands(totals.reasoning_tokens));
                // Named by its group, so a screen reader says "gpt-4o, 1,234".
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    ui.strong(thousands(totals.tokens())).labelled_by(name.id);
                });
                number(ui, percent_text(share(totals.tokens(), total.tokens())));
                number(ui, percent_text(totals.error_rate()));
                number(ui, latency_text(totals.mean_latency_ms()));
                ui.end_row();
            }
        });
}

/// A number, right-aligned in its column.
fn number(ui: &mut egui::Ui, text: String) {
    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
        ui.label(text);
    });
}

/// `part` as a percentage of `whole`, to one decimal.
fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 1000.0 / whole as f64).round() / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000 + 1800; // half past an hour (UTC)

    fn bucket(hours_ago: i64, model: &str, account: &str, requests: u64) -> UsageBucket {
        UsageBucket {
            hour: (NOW - hours_ago * HOUR).div_euclid(HOUR) * HOUR,
            model: model.to_owned(),
            account: account.to_owned(),
            protocol: "openai".to_owned(),
            requests,
            errors: requests / 4,
            input_tokens: 100 * requests,
            output_tokens: 10 * requests,
            cached_tokens: 5 * requests,
            reasoning_tokens: 2 * requests,
            latency_ms_sum: 300 * requests,
        }
    }

    fn usage() -> Vec<UsageBucket> {
        vec![
            bucket(0, "gpt-4o", "a@x", 4),
            bucket(1, "claude", "b@x", 8),
            bucket(23, "gpt-4o", "b@x", 2),
            // Outside 24 hours, inside 7 days.
            bucket(24, "gpt-4o", "a@x", 100),
            bucket(6 * 24, "gemini", "a@x", 40),
            // Outside 7 days.
            bucket(8 * 24, "gpt-4o", "a@x", 1000),
        ]
    }

    #[test]
    fn totals_count_only_the_range() {
        let day = totals(&usage(), StatsRange::Day.since(NOW));
        assert_eq!(
            day,
            Totals {
                requests: 14,
                errors: 1 + 2,
                input_tokens: 1400,
                output_tokens: 140,
                cached_tokens: 70,
                reasoning_tokens: 28,
                latency_ms_sum: 4200,
            }
        );
        assert_eq!(day.tokens(), 1540);
        assert_eq!(day.mean_latency_ms(), Some(300.0));
        let rate = day.error_rate().unwrap_or_default();
        assert!((rate - 300.0 / 14.0).abs() < 1e-9, "{rate}");

        let week = totals(&usage(), StatsRange::Week.since(NOW));
        assert_eq!(week.requests, 154);
        assert_eq!(
            totals(&usage(), StatsRange::Month.since(NOW)).requests,
            1154
        );
        assert_eq!(totals(&[], 0), Totals::default());
        assert_eq!(Totals::default().error_rate(), None);
        assert_eq!(Totals::default().mean_latency_ms(), None);
    }

    #[test]
    fn the_range_starts_at_the_first_whole_hour() {
        // 24 hours before half past: the bucket of 24h ago began 30 minutes
        // before the range and is left out; the one of 23h ago is in.
        let since = StatsRange::Day.since(NOW);
        let counted: Vec<i64> = in_range(&usage(), since).map(|b| b.hour).collect();
        assert_eq!(counted.len(), 3);
        assert!(counted.iter().all(|hour| *hour >= since));
    }

    #[test]
    fn an_hour_starting_exactly_at_the_range_start_counts() {
        let since = 1_800_000_000;
        let at = |hour: i64| UsageBucket {
            hour,
            requests: 1,
            ..UsageBucket::default()
        };
        let usage = [at(since - HOUR), at(since), at(since + HOUR)];
        assert_eq!(totals(&usage, since).requests, 2);
        assert_eq!(StatsRange::Week.since(since + 7 * DAY), since);
    }

    #[test]
    fn groups_sum_per_model_and_account_biggest_first() {
        let since = StatsRange::Day.since(NOW);
        let models = by_group(&usage(), since, StatsGrouping::Model);
        let summary: Vec<(&str, u64, u64)> = models
            .iter()
            .map(|g| (g.name.as_str(), g.totals.requests, g.totals.tokens()))
            .collect();
        assert_eq!(summary, [("claude", 8, 880), ("gpt-4o", 6, 660)]);

        let accounts = by_group(&usage(), since, StatsGrouping::Account);
        let summary: Vec<(&str, u64)> = accounts
            .iter()
            .map(|g| (g.name.as_str(), g.totals.requests))
            .collect();
        assert_eq!(summary, [("b@x", 10), ("a@x", 4)]);

        let anonymous = bucket(0, "gpt-4o", "", 1);
        let groups = by_group(&[anonymous], 0, StatsGrouping::Account);
        assert_eq!(groups[0].name, "(refused: no account)");
    }

    #[test]
    fn hourly_series_has_every_hour_with_zeros_between() {
        let since = StatsRange::Day.since(NOW);
        let s = series(
            &usage(),
            since,
            NOW,
            BucketSize::Hour,
            0,
            StatsGrouping::Model,
            8,
        );
        assert_eq!(s.starts.len(), 24);
        assert_eq!(s.totals.len(), 24);
        assert!(s.starts.windows(2).all(|w| w[1] - w[0] == HOUR));
        assert_eq!(s.starts[23], NOW - 1800);
        let requests: Vec<u64> = s.totals.iter().map(|t| t.requests).collect();
        let mut expected = vec![0; 24];
        expected[0] = 2; // 23 hours ago
        expected[22] = 8;
        expected[23] = 4;
        assert_eq!(requests, expected);
        // The series adds up to the totals.
        let summed: u64 = s.totals.iter().map(|t| t.requests).sum();
        assert_eq!(summed, totals(&usage(), since).requests);
        assert_eq!(s.groups.len(), 2);
        assert_eq!(s.groups[0].0, "claude");
        assert_eq!(s.groups[0].1[22], 880);
        assert_eq!(s.groups[1].1[0], 220);
        assert_eq!(s.groups[1].1[23], 440);
    }

    #[test]
    fn daily_series_follows_local_midnight() {
        let since = StatsRange::Week.since(NOW);
        // NOW is 08:30 UTC; days begin at 21:00 UTC at +3h.
        let offset = 3 * HOUR;
        let s = series(
            &usage(),
            since,
            NOW,
            BucketSize::Day,
            offset,
            StatsGrouping::Account,
            8,
        );
        assert!(s.starts.iter().all(|start| (start + offset) % DAY == 0));
        assert!(s.starts.windows(2).all(|w| w[1] - w[0] == DAY));
        assert_eq!(s.starts.last(), Some(&BucketSize::Day.start(NOW, offset)));
        let summed: u64 = s.totals.iter().map(|t| t.requests).sum();
        assert_eq!(summed, 154);
        let tokens: u64 = s.groups.iter().flat_map(|(_, t)| t).sum();
        assert_eq!(tokens, totals(&usage(), since).tokens());
    }

    #[test]
    fn groups_past_the_limit_are_summed_as_others() {
        let usage: Vec<UsageBucket> = (1..=5)
            .map(|i| bucket(0, &format!("model-{i}"), "a@x", i))
            .collect();
        let s = series(
            &usage,
            NOW - DAY,
            NOW,
            BucketSize::Hour,
            0,
            StatsGrouping::Model,
            3,
        );
        let names: Vec<&str> = s.groups.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["model-5", "model-4", OTHERS]);
        let last = s.starts.len() - 1;
        assert_eq!(s.groups[2].1[last], (1 + 2 + 3) * 110);
    }

    #[test]
    fn bucket_starts_and_texts() {
        assert_eq!(BucketSize::Hour.start(7199, 0), 3600);
        assert_eq!(BucketSize::Day.start(DAY + 5, 0), DAY);
        // 23:00 UTC is the next day at +2h.
        assert_eq!(BucketSize::Day.start(DAY - HOUR, 2 * HOUR), DAY - 2 * HOUR);
        assert_eq!(BucketSize::Day.start(DAY + HOUR, -2 * HOUR), 2 * HOUR);
        assert_eq!(percent_text(Some(25.0)), "25%");
        assert_eq!(percent_text(Some(100.0 / 3.0)), "33.3%");
        assert_eq!(percent_text(None), "—");
        assert_eq!(latency_text(Some(1234.4)), "1,234 ms");
        assert_eq!(compact(12_345.0), "12.3k");
        assert_eq!(compact(812_345.0), "812k");
        assert_eq!(compact(2_500_000.0), "2.5M");
        assert_eq!(compact(950.0), "950");
        assert_eq!(share(1, 3), Some(33.3));
        assert_eq!(round_step(180_000.0), Some(200_000.0));
        assert_eq!(round_step(2.2), Some(2.5));
        assert_eq!(round_step(5.0), Some(5.0));
        assert_eq!(round_step(0.0), None);
        let marks: Vec<f64> = round_steps(GridInput {
            bounds: (-10.0, 900_000.0),
            base_step_size: 1.0,
        })
        .iter()
        .map(|mark| mark.value)
        .collect();
        assert_eq!(marks, [0.0, 200_000.0, 400_000.0, 600_000.0, 800_000.0]);
        assert_eq!(share(1, 0), None);
        let labels = ["a".to_owned(), "b".to_owned()];
        assert_eq!(bucket_label(&labels, 1.0), "b");
        assert_eq!(bucket_label(&labels, 0.5), "");
        assert_eq!(bucket_label(&labels, 2.0), "");
    }
}
