//! Monitor: the live list of recent requests, newest first, with a text
//! filter, a status-class filter and a pause switch.

use serde::{Deserialize, Serialize};

use super::WindowUi;
use super::widgets::{labelled_combo, labelled_text_field, thousands};
use crate::desktop::model::{Command, RequestView, Snapshot};

/// Which answers the Monitor shows, by the status's first digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum StatusClass {
    #[default]
    All,
    Success,
    ClientError,
    ServerError,
}

const STATUS_CLASSES: [(StatusClass, &str); 4] = [
    (StatusClass::All, "All"),
    (StatusClass::Success, "2xx"),
    (StatusClass::ClientError, "4xx"),
    (StatusClass::ServerError, "5xx"),
];

impl StatusClass {
    pub fn matches(self, status: u16) -> bool {
        match self {
            StatusClass::All => true,
            StatusClass::Success => (200..300).contains(&status),
            StatusClass::ClientError => (400..500).contains(&status),
            StatusClass::ServerError => (500..600).contains(&status),
        }
    }
}

pub fn monitor_ui(
    ui: &mut egui::Ui,
    snapshot: &Snapshot,
    state: &mut WindowUi,
    _commands: &mut Vec<Command>,
) {
    let drafts = &mut state.drafts;
    ui.horizontal(|ui| {
        labelled_text_field(ui, "Filter", &mut drafts.monitor_filter, 220.0);
        if let Some(class) = labelled_combo(ui, "Status", state.monitor_status, &STATUS_CLASSES) {
            state.monitor_status = class;
        }
        let mut paused = drafts.monitor_frozen.is_some();
        if ui.toggle_value(&mut paused, "Pause").changed() {
            drafts.monitor_frozen = paused.then(|| snapshot.recent.clone());
        }
    });

    let all_rows = drafts.monitor_frozen.as_ref().unwrap_or(&snapshot.recent);
    let rows = visible_rows(all_rows, &drafts.monitor_filter, state.monitor_status);
    ui.weak(format!(
        "{} of {} recent requests{}",
        rows.len(),
        all_rows.len(),
        if drafts.monitor_frozen.is_some() {
            " (paused)"
        } else {
            ""
        }
    ));
    if rows.is_empty() {
        ui.label(if all_rows.is_empty() {
            "No requests yet."
        } else {
            "No request matches the filters."
        });
        return;
    }

    egui::Grid::new("recent_requests")
        .num_columns(7)
        .striped(true)
        .spacing([16.0, 4.0])
        .show(ui, |ui| {
            for title in [
                "Time",
                "Protocol",
                "Model",
                "Account",
                "Status",
                "Latency",
                "Tokens in / out",
            ] {
                ui.strong(title);
            }
            ui.end_row();
            for request in rows {
                request_row_ui(ui, request);
                ui.end_row();
            }
        });
}

/// The rows that pass both filters, newest first.
pub fn visible_rows<'a>(
    rows: &'a [RequestView],
    filter: &str,
    status_class: StatusClass,
) -> Vec<&'a RequestView> {
    let needle = filter.trim().to_lowercase();
    let mut visible: Vec<&RequestView> = rows
        .iter()
        .filter(|request| status_class.matches(request.status))
        .filter(|request| needle.is_empty() || mentions(request, &needle))
        .collect();
    visible.sort_by_key(|request| std::cmp::Reverse(request.at_ms));
    visible
}

fn mentions(request: &RequestView, needle: &str) -> bool {
    [
        request.protocol.as_str(),
        request.model.as_str(),
        request.upstream_model.as_str(),
        request.account.as_str(),
    ]
    .iter()
    .any(|field| field.to_lowercase().contains(needle))
        || request.status.to_string().contains(needle)
}

fn request_row_ui(ui: &mut egui::Ui, request: &RequestView) {
    ui.monospace(local_time(request.at_ms));
    ui.label(&request.protocol);
    if request.model == request.upstream_model || request.upstream_model.is_empty() {
        ui.monospace(&request.model);
    } else {
        ui.monospace(format!("{} → {}", request.model, request.upstream_model));
    }
    ui.label(&request.account);
    let status_color = match request.status {
        200..=299 => egui::Color32::from_rgb(0x2e, 0x9e, 0x4f),
        400..=499 => ui.visuals().warn_fg_color,
        500..=599 => ui.visuals().error_fg_color,
        _ => ui.visuals().text_color(),
    };
    ui.colored_label(status_color, request.status.to_string());
    ui.label(latency_text(request.latency_ms));
    ui.label(format!(
        "{} / {}",
        thousands(request.input_tokens),
        thousands(request.output_tokens)
    ));
}

/// `HH:MM:SS` in the local time zone.
fn local_time(at_ms: i64) -> String {
    use chrono::TimeZone;
    chrono::Local
        .timestamp_millis_opt(at_ms)
        .single()
        .map_or_else(
            || "--:--:--".to_owned(),
            |t| t.format("%H:%M:%S").to_string(),
        )
}

fn latency_text(latency_ms: u64) -> String {
    if latency_ms < 10_000 {
        format!("{latency_ms} ms")
    } else {
        format!("{:.1} s", latency_ms as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(at_ms: i64, model: &str, status: u16) -> RequestView {
        RequestView {
            at_ms,
            protocol: "openai".to_owned(),
            model: model.to_owned(),
            upstream_model: "gemini-2.5-pro".to_owned(),
            account: "a@x".to_owned(),
            status,
            latency_ms: 10,
            input_tokens: 1,
            output_tokens: 1,
        }
    }

    #[test]
    fn filters_narrow_and_rows_come_newest_first() {
        let rows = [
            request(1, "gpt-4o", 200),
            request(3, "claude-sonnet-4-5", 429),
            request(2, "gpt-4o-mini", 500),
        ];
        let order: Vec<i64> = visible_rows(&rows, "", StatusClass::All)
            .iter()
            .map(|r| r.at_ms)
            .collect();
        assert_eq!(order, [3, 2, 1]);
        assert_eq!(visible_rows(&rows, "GPT", StatusClass::All).len(), 2);
        assert_eq!(
            visible_rows(&rows, "gpt", StatusClass::ServerError).len(),
            1
        );
        assert_eq!(
            visible_rows(&rows, "", StatusClass::ClientError)[0].at_ms,
            3
        );
        assert!(visible_rows(&rows, "nothing", StatusClass::All).is_empty());
    }
}
