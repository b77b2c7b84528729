//! Monitor: the live list of recent requests, newest first, with filters
//! (status class, protocol, model, account, free text), a pause switch, Clear,
//! a detail window for the selected row and export of the rows shown.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::WindowUi;
use super::widgets::{copy_button, labelled_combo, labelled_name_combo, thousands};
use crate::desktop::model::{Command, ExportFormat, RequestView, Snapshot};

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

/// The protocols the protocol filter always offers (others seen in the list
/// are added after them).
pub const PROTOCOLS: [&str; 3] = ["openai", "anthropic", "gemini"];

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

/// The Monitor's filters; `None` means "All".
#[derive(Debug, Clone, Copy, Default)]
pub struct RowFilter<'a> {
    pub status: StatusClass,
    pub protocol: Option<&'a str>,
    /// Matches the client's model name or the upstream model.
    pub model: Option<&'a str>,
    pub account: Option<&'a str>,
    /// Case-insensitive; matches the request id, models, account, protocol,
    /// route, status and error text.
    pub text: &'a str,
}

impl RowFilter<'_> {
    pub fn matches(&self, request: &RequestView) -> bool {
        let needle = self.text.trim().to_lowercase();
        self.status.matches(request.status)
            && self.protocol.is_none_or(|p| request.protocol == p)
            && self
                .model
                .is_none_or(|m| request.model == m || request.upstream_model == m)
            && self.account.is_none_or(|a| request.account == a)
            && (needle.is_empty() || mentions(request, &needle))
    }
}

/// The rows that pass the filters, newest first.
pub fn visible_rows<'a>(rows: &'a [RequestView], filter: &RowFilter<'_>) -> Vec<&'a RequestView> {
    let mut visible: Vec<&RequestView> = rows.iter().filter(|r| filter.matches(r)).collect();
    visible.sort_by_key(|request| std::cmp::Reverse(request.at_ms));
    visible
}

/// `needle` is already lower case.
fn mentions(request: &RequestView, needle: &str) -> bool {
    [
        request.request_id.as_str(),
        request.protocol.as_str(),
        request.route.as_str(),
        request.model.as_str(),
        request.upstream_model.as_str(),
        request.account.as_str(),
        request.error_message.as_deref().unwrap_or(""),
    ]
    .iter()
    .any(|field| field.to_lowercase().contains(needle))
        || request.status.to_string().contains(needle)
}

/// The model names in `rows` (client and upstream), sorted, without blanks.
pub fn models_present(rows: &[RequestView]) -> Vec<String> {
    names(rows.iter().flat_map(|r| [&r.model, &r.upstream_model]))
}

/// The accounts in `rows`, sorted, without blanks.
pub fn accounts_present(rows: &[RequestView]) -> Vec<String> {
    names(rows.iter().map(|r| &r.account))
}

/// [`PROTOCOLS`], then any other protocol in `rows`.
pub fn protocols_offered(rows: &[RequestView]) -> Vec<String> {
    let mut offered: Vec<String> = PROTOCOLS.iter().map(|p| (*p).to_owned()).collect();
    for protocol in names(rows.iter().map(|r| &r.protocol)) {
        if !offered.contains(&protocol) {
            offered.push(protocol);
        }
    }
    offered
}

fn names<'a>(values: impl Iterator<Item = &'a String>) -> Vec<String> {
    values
        .filter(|v| !v.is_empty())
        .map(String::as_str)
        .collect::<BTreeSet<&str>>()
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// What picks out one row: its request id and time (ids are unique, the time
/// keeps rows without one apart).
pub type RowKey = (String, i64);

fn row_key(request: &RequestView) -> RowKey {
    (request.request_id.clone(), request.at_ms)
}

fn is_key(request: &RequestView, key: &RowKey) -> bool {
    request.at_ms == key.1 && request.request_id == key.0
}

pub fn monitor_ui(
    ui: &mut egui::Ui,
    snapshot: &Snapshot,
    state: &mut WindowUi,
    commands: &mut Vec<Command>,
) {
    filters_ui(ui, snapshot, state, commands);

    let drafts = &mut state.drafts;
    let filter = RowFilter {
        status: state.monitor_status,
        protocol: state.monitor_protocol.as_deref(),
        model: state.monitor_model.as_deref(),
        account: state.monitor_account.as_deref(),
        text: &state.monitor_text,
    };
    let all_rows = drafts.monitor_frozen.as_ref().unwrap_or(&snapshot.recent);
    let rows = visible_rows(all_rows, &filter);

    ui.horizontal(|ui| {
        let label_response = ui.label("Export to");
        let field = ui
            .add(
                egui::TextEdit::singleline(&mut drafts.monitor_export_path)
                    .hint_text("/path/to/requests.csv")
                    .desired_width(280.0),
            )
            .labelled_by(label_response.id);
        super::feedback::watch_input(
            ui,
            &field,
            &mut drafts.feedback,
            &crate::desktop::model::Field::MonitorExportPath,
        );
        if ui
            .button("Choose…")
            .accessible_name("Choose where to export the requests")
            .clicked()
        {
            commands.push(Command::PickFile {
                field: crate::desktop::model::Field::MonitorExportPath,
                save: true,
            });
        }
        let path = drafts.monitor_export_path.trim();
        let can_export = !path.is_empty() && !rows.is_empty();
        let hint = format!(
            "Writes the {} request{} shown, newest first",
            rows.len(),
            if rows.len() == 1 { "" } else { "s" }
        );
        for (title, format) in [
            ("Export CSV", ExportFormat::Csv),
            ("Export JSON Lines", ExportFormat::JsonLines),
        ] {
            if ui
                .add_enabled(can_export, egui::Button::new(title))
                .on_hover_text(&hint)
                .clicked()
            {
                commands.push(Command::ExportRequests {
                    path: PathBuf::from(path),
                    format,
                    rows: rows.iter().map(|r| (*r).clone()).collect(),
                });
            }
        }
    });
    super::feedback::field_error_ui(
        ui,
        &drafts.feedback,
        &crate::desktop::model::Field::MonitorExportPath,
    );

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

    let selected = drafts
        .monitor_selected
        .as_ref()
        .and_then(|key| rows.iter().position(|r| is_key(r, key)));
    if let Some(clicked) = requests_table_ui(ui, &rows, selected) {
        drafts.monitor_selected = if selected == Some(clicked) {
            None
        } else {
            Some(row_key(rows[clicked]))
        };
    }
    let selected = drafts
        .monitor_selected
        .as_ref()
        .and_then(|key| rows.iter().find(|r| is_key(r, key)));
    if let Some(request) = selected
        && !request_detail_ui(ui, request)
    {
        drafts.monitor_selected = None;
    }
}

/// The filter bar and the Pause and Clear buttons.
fn filters_ui(
    ui: &mut egui::Ui,
    snapshot: &Snapshot,
    state: &mut WindowUi,
    commands: &mut Vec<Command>,
) {
    let all_rows = state
        .drafts
        .monitor_frozen
        .as_ref()
        .unwrap_or(&snapshot.recent);
    let protocols = with_current(protocols_offered(all_rows), &state.monitor_protocol);
    let models = with_current(models_present(all_rows), &state.monitor_model);
    let accounts = with_current(accounts_present(all_rows), &state.monitor_account);

    ui.horizontal(|ui| {
        let label_response = ui.label("Filter");
        ui.add(
            egui::TextEdit::singleline(&mut state.monitor_text)
                .hint_text("id, model, account, error…")
                .desired_width(260.0),
        )
        .labelled_by(label_response.id);
        let drafts = &mut state.drafts;
        let mut paused = drafts.monitor_frozen.is_some();
        if ui.toggle_value(&mut paused, "Pause").changed() {
            drafts.monitor_frozen = paused.then(|| snapshot.recent.clone());
        }
        if ui
            .button("Clear")
            .on_hover_text("Empties this list; the request log and the token statistics stay")
            .clicked()
        {
            commands.push(Command::ClearRecent);
            if let Some(frozen) = &mut drafts.monitor_frozen {
                frozen.clear();
            }
            drafts.monitor_selected = None;
        }
    });
    ui.horizontal_wrapped(|ui| {
        if let Some(class) = labelled_combo(ui, "Status", state.monitor_status, &STATUS_CLASSES) {
            state.monitor_status = class;
        }
        if let Some(protocol) = labelled_name_combo(
            ui,
            "Protocol",
            state.monitor_protocol.as_deref(),
            &protocols,
            90.0,
        ) {
            state.monitor_protocol = protocol;
        }
        if let Some(model) =
            labelled_name_combo(ui, "Model", state.monitor_model.as_deref(), &models, 150.0)
        {
            state.monitor_model = model;
        }
        if let Some(account) = labelled_name_combo(
            ui,
            "Account",
            state.monitor_account.as_deref(),
            &accounts,
            150.0,
        ) {
            state.monitor_account = account;
        }
    });
}

/// `names`, plus the current choice when the list no longer has it (so the
/// combo box still shows what is filtering).
fn with_current(mut names: Vec<String>, current: &Option<String>) -> Vec<String> {
    if let Some(current) = current
        && !names.contains(current)
    {
        names.push(current.clone());
    }
    names
}

/// The table's columns, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Time,
    Protocol,
    Route,
    Model,
    Account,
    Status,
    Latency,
    Tokens,
}

impl Column {
    const ALL: [Column; 8] = [
        Column::Time,
        Column::Protocol,
        Column::Route,
        Column::Model,
        Column::Account,
        Column::Status,
        Column::Latency,
        Column::Tokens,
    ];

    fn title(self) -> &'static str {
        match self {
            Column::Time => "Time",
            Column::Protocol => "Protocol",
            Column::Route => "Route",
            Column::Model => "Model",
            Column::Account => "Account",
            Column::Status => "Status",
            Column::Latency => "Latency",
            Column::Tokens => "Tokens in / out",
        }
    }

    /// Its fixed width (longer text is cut with "…"; the details show all).
    fn width(self) -> f32 {
        match self {
            Column::Time => 64.0,
            Column::Protocol => 66.0,
            Column::Route => 120.0,
            Column::Model => 210.0,
            Column::Account => 150.0,
            Column::Status => 44.0,
            Column::Latency => 118.0,
            Column::Tokens => 110.0,
        }
    }
}

/// The least important go first when the page is narrow.
const HIDDEN_FIRST: [Column; 4] = [
    Column::Route,
    Column::Protocol,
    Column::Tokens,
    Column::Latency,
];

/// The gap between columns.
const COLUMN_GAP: f32 = 14.0;

/// The columns that fit in `width` points.
pub fn visible_columns(width: f32) -> Vec<Column> {
    let mut columns = Column::ALL.to_vec();
    let needed = |columns: &[Column]| {
        columns.iter().map(|c| c.width()).sum::<f32>()
            + COLUMN_GAP * columns.len().saturating_sub(1) as f32
    };
    for hidden in HIDDEN_FIRST {
        if needed(&columns) <= width {
            break;
        }
        columns.retain(|c| *c != hidden);
    }
    columns
}

/// Draws the table; returns the index of the row clicked this frame.
fn requests_table_ui(
    ui: &mut egui::Ui,
    rows: &[&RequestView],
    selected: Option<usize>,
) -> Option<usize> {
    let mut clicked = None;
    let columns = visible_columns(ui.available_width() - 8.0);
    // Grid row 0 is the header.
    let selected_row = selected.map(|index| index + 1);
    egui::Grid::new("recent_requests")
        .num_columns(columns.len())
        .spacing([COLUMN_GAP, 4.0])
        .with_row_color(move |row, style| {
            if Some(row) == selected_row {
                Some(style.visuals.selection.bg_fill.gamma_multiply(0.35))
            } else if row % 2 == 1 {
                Some(style.visuals.faint_bg_color)
            } else {
                None
            }
        })
        .show(ui, |ui| {
            for column in &columns {
                cell(
                    ui,
                    column.width(),
                    egui::RichText::new(column.title()).strong(),
                );
            }
            ui.end_row();
            for (index, request) in rows.iter().enumerate() {
                if request_row_ui(ui, request, &columns, selected == Some(index)) {
                    clicked = Some(index);
                }
                ui.end_row();
            }
        });
    clicked
}

/// One cell: `width` wide, its text cut with "…" beyond.
fn cell(ui: &mut egui::Ui, width: f32, text: impl Into<egui::WidgetText>) -> egui::Response {
    let height = ui.spacing().interact_size.y;
    ui.allocate_ui_with_layout(
        egui::vec2(width, height),
        egui::Layout::left_to_right(egui::Align::Center),
        |ui| {
            ui.set_min_width(width);
            ui.add(egui::Label::new(text).truncate())
        },
    )
    .inner
}

/// One row; the whole row is one click target. Returns whether it was clicked.
fn request_row_ui(
    ui: &mut egui::Ui,
    request: &RequestView,
    columns: &[Column],
    selected: bool,
) -> bool {
    let time = local_time(request.at_ms);
    let status_color = status_color(ui, request.status);
    let mut cells = Vec::with_capacity(columns.len());
    for column in columns {
        let text: egui::WidgetText = match column {
            Column::Time => egui::RichText::new(&time).monospace().into(),
            Column::Protocol => request.protocol.as_str().into(),
            Column::Route => request.route.as_str().into(),
            Column::Model => egui::RichText::new(model_text(request)).monospace().into(),
            Column::Account => request.account.as_str().into(),
            Column::Status => egui::RichText::new(request.status.to_string())
                .color(status_color)
                .into(),
            Column::Latency => match request.ttfb_ms.filter(|_| request.stream) {
                Some(ttfb) => format!(
                    "{} · first byte {}",
                    latency_text(request.latency_ms),
                    latency_text(ttfb)
                ),
                None => latency_text(request.latency_ms),
            }
            .into(),
            Column::Tokens => format!(
                "{} / {}",
                thousands(request.input_tokens),
                thousands(request.output_tokens)
            )
            .into(),
        };
        cells.push(cell(ui, column.width(), text));
    }

    let half_gap = ui.spacing().item_spacing * 0.5;
    let rect = cells
        .iter()
        .map(|cell| cell.rect)
        .reduce(|a, b| a.union(b))
        .unwrap_or(egui::Rect::NOTHING)
        .expand2(half_gap);
    // Registered after the cells, so it lies on top of them and gets the click.
    let row = ui
        .interact(
            rect,
            egui::Id::unique(("monitor row", &request.request_id, request.at_ms)),
            egui::Sense::click(),
        )
        .on_hover_cursor(egui::CursorIcon::PointingHand);
    let name = if request.request_id.is_empty() {
        format!("Request at {time}")
    } else {
        format!("Request {}", request.request_id)
    };
    row.widget_info(|| egui::WidgetInfo::selected(egui::Role::Button, true, selected, &name));
    if row.hovered() {
        ui.painter().rect_stroke(
            rect,
            2.0,
            ui.visuals().widgets.hovered.bg_stroke,
            egui::StrokeKind::Inside,
        );
    }
    row.clicked()
}

/// The detail window of one request; returns false once it is closed.
fn request_detail_ui(ui: &egui::Ui, request: &RequestView) -> bool {
    let mut open = true;
    let mut close = false;
    let ctx = ui.ctx().clone();
    let default_pos = ctx.content_rect().right_top() + egui::vec2(-400.0, 150.0);
    egui::Window::new("Request details")
        .id(egui::Id::unique("monitor_request_details"))
        .open(&mut open)
        .collapsible(false)
        .default_pos(default_pos)
        .default_width(360.0)
        .show(&ctx, |ui| {
            egui::Grid::new("request_details")
                .num_columns(2)
                .spacing([16.0, 4.0])
                .show(ui, |ui| detail_rows_ui(ui, request));
            ui.add_space(8.0);
            close = ui.button("Close").clicked();
        });
    open && !close
}

fn detail_rows_ui(ui: &mut egui::Ui, request: &RequestView) {
    fn row(ui: &mut egui::Ui, title: &str, value: impl Into<egui::WidgetText>) {
        ui.label(title);
        ui.label(value);
        ui.end_row();
    }
    let none = || egui::RichText::new("—").weak();

    ui.label("Request ID");
    ui.horizontal(|ui| {
        ui.monospace(&request.request_id);
        if !request.request_id.is_empty() {
            copy_button(ui, "request ID", &request.request_id);
        }
    });
    ui.end_row();
    row(ui, "Time", local_date_time(request.at_ms));
    row(ui, "Protocol", &request.protocol);
    row(ui, "Route", &request.route);
    row(ui, "Model", egui::RichText::new(&request.model).monospace());
    row(
        ui,
        "Upstream model",
        egui::RichText::new(&request.upstream_model).monospace(),
    );
    if request.account.is_empty() {
        row(ui, "Account", none());
    } else {
        row(ui, "Account", &request.account);
    }
    row(
        ui,
        "Status",
        egui::RichText::new(request.status.to_string()).color(status_color(ui, request.status)),
    );
    row(ui, "Latency", latency_text(request.latency_ms));
    match request.ttfb_ms {
        Some(ttfb) => row(ui, "First byte after", latency_text(ttfb)),
        None => row(ui, "First byte after", none()),
    }
    row(ui, "Stream", if request.stream { "yes" } else { "no" });
    row(ui, "Input tokens", thousands(request.input_tokens));
    row(ui, "Output tokens", thousands(request.output_tokens));
    row(ui, "Cached tokens", thousands(request.cached_tokens));
    row(ui, "Reasoning tokens", thousands(request.reasoning_tokens));
    row(
        ui,
        "Client",
        request.client.as_deref().unwrap_or("this computer"),
    );
    ui.label("Error");
    match &request.error_message {
        Some(error) => {
            ui.add(
                egui::Label::new(egui::RichText::new(error).color(ui.visuals().error_fg_color))
                    .wrap(),
            );
        }
        None => {
            ui.label(none());
        }
    }
    ui.end_row();
}

fn model_text(request: &RequestView) -> String {
    if request.model == request.upstream_model || request.upstream_model.is_empty() {
        request.model.clone()
    } else {
        format!("{} → {}", request.model, request.upstream_model)
    }
}

fn status_color(ui: &egui::Ui, status: u16) -> egui::Color32 {
    match status {
        200..=299 => super::palette::Severity::Ok.color(ui.visuals()),
        400..=499 => ui.visuals().warn_fg_color,
        500..=599 => ui.visuals().error_fg_color,
        _ => ui.visuals().text_color(),
    }
}

/// `HH:MM:SS` in the local time zone.
fn local_time(at_ms: i64) -> String {
    format_local(at_ms, "%H:%M:%S", "--:--:--")
}

/// `2026-01-15 14:03:07.123` in the local time zone.
fn local_date_time(at_ms: i64) -> String {
    format_local(at_ms, "%Y-%m-%d %H:%M:%S%.3f", "unknown")
}

fn format_local(at_ms: i64, format: &str, unknown: &str) -> String {
    use chrono::TimeZone;
    chrono::Local
        .timestamp_millis_opt(at_ms)
        .single()
        .map_or_else(|| unknown.to_owned(), |t| t.format(format).to_string())
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
            request_id: format!("req-{at_ms}"),
            at_ms,
            protocol: "openai".to_owned(),
            model: model.to_owned(),
            upstream_model: "gemini-2.5-pro".to_owned(),
            account: "a@x".to_owned(),
            status,
            latency_ms: 10,
            input_tokens: 1,
            output_tokens: 1,
            ..Default::default()
        }
    }

    fn at_ms(rows: Vec<&RequestView>) -> Vec<i64> {
        rows.iter().map(|r| r.at_ms).collect()
    }

    fn text(text: &str) -> RowFilter<'_> {
        RowFilter {
            text,
            ..RowFilter::default()
        }
    }

    #[test]
    fn filters_narrow_and_rows_come_newest_first() {
        let rows = [
            request(1, "gpt-4o", 200),
            request(3, "claude-sonnet-4-5", 429),
            request(2, "gpt-4o-mini", 500),
        ];
        assert_eq!(at_ms(visible_rows(&rows, &RowFilter::default())), [3, 2, 1]);
        assert_eq!(visible_rows(&rows, &text("GPT")).len(), 2);
        let server_errors = RowFilter {
            status: StatusClass::ServerError,
            text: "gpt",
            ..RowFilter::default()
        };
        assert_eq!(at_ms(visible_rows(&rows, &server_errors)), [2]);
        let client_errors = RowFilter {
            status: StatusClass::ClientError,
            ..RowFilter::default()
        };
        assert_eq!(at_ms(visible_rows(&rows, &client_errors)), [3]);
        assert!(visible_rows(&rows, &text("nothing")).is_empty());
    }

    #[test]
    fn protocol_model_and_account_filters_match_exactly() {
        let mut rows = vec![
            request(1, "gpt-4o", 200),
            request(2, "gpt-4o-mini", 200),
            request(3, "claude-sonnet-4-5", 200),
        ];
        rows[1].upstream_model = "gemini-2.5-flash".to_owned();
        rows[2].protocol = "anthropic".to_owned();
        rows[2].account = "b@x".to_owned();

        let by = |filter: RowFilter<'_>| at_ms(visible_rows(&rows, &filter));
        let protocol = |p| RowFilter {
            protocol: Some(p),
            ..RowFilter::default()
        };
        assert_eq!(by(protocol("anthropic")), [3]);
        assert_eq!(by(protocol("openai")), [2, 1]);
        assert!(by(protocol("gemini")).is_empty());

        let model = |m| RowFilter {
            model: Some(m),
            ..RowFilter::default()
        };
        // Not a substring match: "gpt-4o" is not "gpt-4o-mini".
        assert_eq!(by(model("gpt-4o")), [1]);
        // The upstream model matches too.
        assert_eq!(by(model("gemini-2.5-pro")), [3, 1]);

        let account = RowFilter {
            account: Some("b@x"),
            ..RowFilter::default()
        };
        assert_eq!(by(account), [3]);
        let both = RowFilter {
            account: Some("a@x"),
            model: Some("gemini-2.5-flash"),
            ..RowFilter::default()
        };
        assert_eq!(by(both), [2]);
    }

    #[test]
    fn text_matches_request_id_and_error() {
        let mut rows = vec![request(1, "gpt-4o", 200), request(2, "gpt-4o", 503)];
        rows[1].error_message = Some("Upstream overloaded (RESOURCE_EXHAUSTED)".to_owned());
        assert_eq!(at_ms(visible_rows(&rows, &text("resource_exhausted"))), [2]);
        assert_eq!(at_ms(visible_rows(&rows, &text(" req-1 "))), [1]);
        assert_eq!(at_ms(visible_rows(&rows, &text("503"))), [2]);
    }

    #[test]
    fn filter_choices_come_from_the_rows() {
        let mut rows = vec![request(1, "gpt-4o", 200), request(2, "claude", 200)];
        rows[1].account = String::new();
        rows[1].protocol = "responses".to_owned();
        assert_eq!(
            models_present(&rows),
            ["claude", "gemini-2.5-pro", "gpt-4o"]
        );
        assert_eq!(accounts_present(&rows), ["a@x"]);
        assert_eq!(
            protocols_offered(&rows),
            ["openai", "anthropic", "gemini", "responses"]
        );
        assert_eq!(
            with_current(vec!["a".to_owned()], &Some("gone".to_owned())),
            ["a", "gone"]
        );
    }
}
