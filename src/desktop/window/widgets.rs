//! Small pieces the pages share: labelled inputs, copy buttons, config
//! commands and the way times are written.

use egui::emath::Numeric;

use crate::desktop::model::Command;

/// Asks the backend to set one config key (the same as `config set KEY VALUE`).
pub(super) fn set_config(commands: &mut Vec<Command>, key: &str, value: impl ToString) {
    commands.push(Command::SetConfig {
        key: key.to_owned(),
        value: value.to_string(),
    });
}

/// A "Copy" button whose accessible name says what it copies; a toast
/// confirms the copy.
pub(super) fn copy_button(ui: &mut egui::Ui, what: &str, text: &str) {
    if ui
        .button("Copy")
        .on_hover_text(format!("Copy {what}"))
        .accessible_name(format!("Copy {what}"))
        .clicked()
    {
        ui.ctx().copy_text(text.to_owned());
        super::feedback::toast(ui.ctx(), false, format!("Copied {what}"));
    }
}

/// A label and a single-line text field named by it.
pub(super) fn labelled_text_field(
    ui: &mut egui::Ui,
    label: &str,
    text: &mut String,
    width: f32,
) -> egui::Response {
    let label_response = ui.label(label);
    ui.add(egui::TextEdit::singleline(text).desired_width(width))
        .labelled_by(label_response.id)
}

/// A label and a masked single-line text field named by it.
pub(super) fn labelled_secret_field(
    ui: &mut egui::Ui,
    label: &str,
    text: &mut String,
    width: f32,
) -> egui::Response {
    let label_response = ui.label(label);
    ui.add(
        egui::TextEdit::singleline(text)
            .password(true)
            .desired_width(width),
    )
    .labelled_by(label_response.id)
}

/// A label and a number field for the config value `key`. The new value is
/// set once, when the user is done with it (drag released or field left), so
/// a drag does not send a command per pixel.
pub(super) fn config_number<T>(
    ui: &mut egui::Ui,
    commands: &mut Vec<Command>,
    label: &str,
    key: &str,
    current: T,
    range: std::ops::RangeInclusive<T>,
) where
    T: Numeric + Send + Sync + ToString + 'static,
{
    let draft_id = ui.make_persistent_id(("number draft", label));
    let label_response = ui.label(label);
    let mut value = ui
        .data(|data| data.get_temp::<T>(draft_id))
        .unwrap_or(current);
    let response = ui
        .add(egui::DragValue::new(&mut value).range(range))
        .labelled_by(label_response.id);
    // A refused value (the port taken, …) says why, beside the field.
    super::feedback::setting_error_ui(ui, key);
    if response.dragged() || response.has_focus() {
        ui.data_mut(|data| data.insert_temp(draft_id, value));
        return;
    }
    ui.data_mut(|data| data.remove::<T>(draft_id));
    if value != current {
        set_config(commands, key, value);
    }
}

/// A combo box named by the label before it; returns the option picked this frame.
pub(super) fn labelled_combo<V: Copy + PartialEq>(
    ui: &mut egui::Ui,
    label: &str,
    current: V,
    options: &[(V, &'static str)],
) -> Option<V> {
    let label_response = ui.label(label);
    let current_text = option_text(options, current);
    let mut picked = current;
    egui::ComboBox::from_id_salt(label)
        .selected_text(current_text)
        .show_ui(ui, |ui| {
            for (value, text) in options {
                ui.selectable_value(&mut picked, *value, *text);
            }
        })
        .response
        .labelled_by(label_response.id);
    (picked != current).then_some(picked)
}

/// A combo box of names, "All" (`None`) first, named by the label before it;
/// returns the choice made this frame.
pub(super) fn labelled_name_combo(
    ui: &mut egui::Ui,
    label: &str,
    current: Option<&str>,
    names: &[String],
    width: f32,
) -> Option<Option<String>> {
    let label_response = ui.label(label);
    let mut picked = current;
    egui::ComboBox::from_id_salt(label)
        .width(width)
        .truncate()
        .selected_text(current.unwrap_or("All"))
        .show_ui(ui, |ui| {
            ui.selectable_value(&mut picked, None, "All");
            for name in names {
                ui.selectable_value(&mut picked, Some(name.as_str()), name.as_str());
            }
        })
        .response
        .labelled_by(label_response.id);
    (picked != current).then(|| picked.map(str::to_owned))
}

/// The text of `value` among a combo box's options.
pub(super) fn option_text<V: PartialEq>(options: &[(V, &'static str)], value: V) -> &'static str {
    options
        .iter()
        .find(|(option, _)| *option == value)
        .map_or("", |(_, text)| text)
}

/// `45m`, `2h 05m`, `3d 4h`: how long from now until `seconds` have passed.
pub(super) fn duration_text(seconds: i64) -> String {
    let minutes = seconds.max(0).div_euclid(60);
    let (days, hours, minutes) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {minutes:02}m")
    } else {
        format!("{minutes}m")
    }
}

/// `5m ago`, `never`.
pub(super) fn ago_text(at: Option<i64>, now: i64) -> String {
    match at {
        None => "never".to_owned(),
        Some(at) if now - at < 60 => "just now".to_owned(),
        Some(at) => format!("{} ago", duration_text(now - at)),
    }
}

/// A card with a title, one big value and a caption under it: the
/// Dashboard's and Token Stats' numbers at a glance. The value may carry a
/// severity colour.
pub(super) fn stat_card(
    ui: &mut egui::Ui,
    title: &str,
    value: &str,
    caption: &str,
    severity: Option<super::palette::Severity>,
) -> egui::Response {
    card(ui, title, value, 22.0, caption, severity)
}

/// A card whose value is a name (an account), in text size.
pub(super) fn name_card(
    ui: &mut egui::Ui,
    title: &str,
    value: &str,
    caption: &str,
    severity: Option<super::palette::Severity>,
) -> egui::Response {
    card(ui, title, value, 15.0, caption, severity)
}

fn card(
    ui: &mut egui::Ui,
    title: &str,
    value: &str,
    value_size: f32,
    caption: &str,
    severity: Option<super::palette::Severity>,
) -> egui::Response {
    let visuals = ui.visuals().clone();
    egui::Frame::new()
        .fill(visuals.faint_bg_color.gamma_multiply(3.0))
        .stroke(visuals.widgets.noninteractive.bg_stroke)
        .corner_radius(6.0)
        .inner_margin(egui::Margin::symmetric(12, 8))
        .show(ui, |ui| {
            ui.set_width(150.0);
            ui.set_min_height(64.0);
            ui.vertical(|ui| {
                ui.label(
                    egui::RichText::new(title)
                        .small()
                        .color(visuals.weak_text_color()),
                );
                let color = severity.map_or(visuals.strong_text_color(), |s| s.color(&visuals));
                ui.add(
                    egui::Label::new(
                        egui::RichText::new(value)
                            .size(value_size)
                            .strong()
                            .color(color),
                    )
                    .truncate(),
                );
                if !caption.is_empty() {
                    ui.add(
                        egui::Label::new(
                            egui::RichText::new(caption)
                                .small()
                                .color(visuals.weak_text_color()),
                        )
                        .wrap(),
                    );
                }
            })
            .response
        })
        .response
}

/// `1,234,567`.
pub(super) fn thousands(number: u64) -> String {
    let digits = number.to_string();
    let mut text = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            text.push(',');
        }
        text.push(digit);
    }
    text
}

/// The gateway's state with the button that changes it (Start or Stop).
/// `running` is the text shown while it runs.
pub fn gateway_state_row(
    ui: &mut egui::Ui,
    state: &crate::desktop::model::GatewayState,
    running: &str,
    commands: &mut Vec<crate::desktop::model::Command>,
) {
    use crate::desktop::model::{Command, GatewayState};
    let (text, stop) = match state {
        GatewayState::Running => (running, true),
        GatewayState::Stopped => ("Stopped", false),
        GatewayState::Failed(message) => {
            // A long reason wraps above its button instead of pushing it away.
            ui.add(
                egui::Label::new(
                    egui::RichText::new(format!("Could not start: {message}"))
                        .color(ui.visuals().error_fg_color),
                )
                .wrap(),
            );
            if ui.button("Start gateway").clicked() {
                commands.push(Command::StartGateway);
            }
            return;
        }
    };
    ui.horizontal(|ui| {
        ui.label(text);
        let (button, command) = if stop {
            ("Stop gateway", Command::StopGateway)
        } else {
            ("Start gateway", Command::StartGateway)
        };
        if ui.button(button).clicked() {
            commands.push(command);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_countdown() {
        assert_eq!(duration_text(45 * 60 + 10), "45m");
        assert_eq!(duration_text(2 * 3600 + 5 * 60), "2h 05m");
        assert_eq!(duration_text(3 * 86400 + 4 * 3600 + 59), "3d 4h");
        assert_eq!(duration_text(-5), "0m");
    }

    #[test]
    fn large_numbers_get_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
