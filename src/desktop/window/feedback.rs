//! Feedback where it is needed: what an action did appears once — an error
//! next to the input it came from (the input kept, so a pasted token is not
//! lost), anything else as a toast in the corner that fades after a few
//! seconds. Copy buttons confirm with a toast too.
//!
//! Toasts live in egui's temporary memory, so any widget holding a `Ui` can
//! raise one; their clock is egui's input time (tests step it).

use std::collections::HashMap;

use crate::desktop::model::{Field, Snapshot};

use super::WindowUi;

/// How long a toast stays: long enough to read an error.
const INFO_SECONDS: f64 = 3.0;
const ERROR_SECONDS: f64 = 8.0;
/// The last part of its life, in which it fades out.
const FADE_SECONDS: f64 = 0.6;
/// At most this many at once (the oldest go first).
const MAX_TOASTS: usize = 4;

/// An error toast's background: white text on it reads at 7:1.
const ERROR_FILL: egui::Color32 = egui::Color32::from_rgb(0xa8, 0x1c, 0x1c);

#[derive(Debug, Clone, PartialEq)]
struct Toast {
    text: String,
    error: bool,
    /// egui time when it appeared.
    born: f64,
}

impl Toast {
    fn lifetime(&self) -> f64 {
        if self.error {
            ERROR_SECONDS
        } else {
            INFO_SECONDS
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Toasts(Vec<Toast>);

fn toasts_id() -> egui::Id {
    egui::Id::unique("switchyard toasts")
}

/// Shows `text` in a toast that fades.
pub fn toast(ctx: &egui::Context, error: bool, text: impl Into<String>) {
    let born = ctx.input(|i| i.time);
    let text = text.into();
    ctx.data_mut(|data| {
        let toasts = &mut data.get_temp_mut_or_default::<Toasts>(toasts_id()).0;
        toasts.retain(|t| t.text != text);
        toasts.push(Toast { text, error, born });
        let excess = toasts.len().saturating_sub(MAX_TOASTS);
        toasts.drain(..excess);
    });
    ctx.request_repaint();
}

/// The errors shown next to their inputs, and the last notice handled.
#[derive(Debug, Clone, Default)]
pub struct FieldErrors {
    pub seen: u64,
    /// The last file-dialog answer taken.
    pub picked_seen: u64,
    pub errors: HashMap<Field, String>,
}

impl FieldErrors {
    pub fn get(&self, field: &Field) -> Option<&str> {
        self.errors.get(field).map(String::as_str)
    }
}

/// Handles a notice the window has not shown yet: an error about an input
/// goes next to it; a success about an input clears the input; the rest
/// becomes a toast.
pub(super) fn take_notice(ctx: &egui::Context, snapshot: &Snapshot, state: &mut WindowUi) {
    let Some(notice) = &snapshot.notice else {
        return;
    };
    let drafts = &mut state.drafts;
    if notice.seq <= drafts.feedback.seen {
        return;
    }
    drafts.feedback.seen = notice.seq;
    match (&notice.field, notice.error) {
        (Some(field @ Field::Config(_)), true) => {
            // Beside the setting, and in a toast: the setting may be on
            // another page than the one that changed it.
            drafts
                .feedback
                .errors
                .insert(field.clone(), notice.text.clone());
            toast(ctx, true, notice.text.clone());
        }
        (Some(field), true) => {
            drafts
                .feedback
                .errors
                .insert(field.clone(), notice.text.clone());
        }
        (Some(field), false) => {
            drafts.feedback.errors.remove(field);
            match field {
                Field::RefreshToken => drafts.refresh_token.clear(),
                Field::LoginCode => drafts.login_code.clear(),
                Field::ImportPath => drafts.import_path.clear(),
                Field::Upstream => {
                    drafts.upstream = crate::desktop::model::UpstreamDraft {
                        kind: drafts.upstream.kind,
                        ..Default::default()
                    }
                }
                Field::ExportPath | Field::MonitorExportPath | Field::Config(_) => {}
            }
            toast(ctx, false, notice.text.clone());
        }
        _ => toast(ctx, notice.error, notice.text.clone()),
    }
}

/// Puts a path chosen in the file dialog into its field.
pub(super) fn take_picked(snapshot: &Snapshot, state: &mut WindowUi) {
    let Some((seq, field, path)) = &snapshot.picked else {
        return;
    };
    let drafts = &mut state.drafts;
    if *seq <= drafts.feedback.picked_seen {
        return;
    }
    drafts.feedback.picked_seen = *seq;
    let text = path.display().to_string();
    match field {
        Field::ImportPath => drafts.import_path = text,
        Field::ExportPath => drafts.export_path = text,
        Field::MonitorExportPath => drafts.monitor_export_path = text,
        _ => return,
    }
    drafts.feedback.errors.remove(field);
}

fn setting_errors_id() -> egui::Id {
    egui::Id::unique("switchyard setting errors")
}

/// Makes the settings' errors readable by the setting widgets, which see
/// only their `Ui` (call before the pages are drawn).
pub(super) fn share_setting_errors(ctx: &egui::Context, feedback: &FieldErrors) {
    let errors: HashMap<String, String> = feedback
        .errors
        .iter()
        .filter_map(|(field, error)| match field {
            Field::Config(key) => Some((key.clone(), error.clone())),
            _ => None,
        })
        .collect();
    ctx.data_mut(|data| data.insert_temp(setting_errors_id(), errors));
}

/// The error the last change of setting `key` got, if it still stands.
pub(super) fn setting_error(ui: &egui::Ui, key: &str) -> Option<String> {
    ui.data(|data| {
        data.get_temp::<HashMap<String, String>>(setting_errors_id())
            .and_then(|errors| errors.get(key).cloned())
    })
}

/// The error of setting `key`, in the error colour, where it is drawn.
pub(super) fn setting_error_ui(ui: &mut egui::Ui, key: &str) {
    if let Some(error) = setting_error(ui, key) {
        ui.add(
            egui::Label::new(
                egui::RichText::new(error)
                    .small()
                    .color(ui.visuals().error_fg_color),
            )
            .wrap(),
        );
    }
}

/// The error about `field`, if any, in the error colour under it.
pub(super) fn field_error_ui(ui: &mut egui::Ui, feedback: &FieldErrors, field: &Field) {
    if let Some(error) = feedback.get(field) {
        ui.add(
            egui::Label::new(egui::RichText::new(error).color(ui.visuals().error_fg_color)).wrap(),
        );
    }
}

/// Watches an input: editing it forgets its error; returns whether Enter
/// was pressed in it (the same as clicking its button).
pub(super) fn watch_input(
    ui: &egui::Ui,
    response: &egui::Response,
    feedback: &mut FieldErrors,
    field: &Field,
) -> bool {
    if response.changed() {
        feedback.errors.remove(field);
    }
    response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter))
}

/// Draws the toasts in the bottom-right corner, dropping the expired ones.
pub(super) fn toasts_ui(ctx: &egui::Context) {
    let now = ctx.input(|i| i.time);
    let toasts = ctx.data_mut(|data| {
        let toasts = &mut data.get_temp_mut_or_default::<Toasts>(toasts_id()).0;
        toasts.retain(|t| now - t.born < t.lifetime());
        toasts.clone()
    });
    if toasts.is_empty() {
        return;
    }
    egui::Area::new(egui::Id::unique("switchyard toast area"))
        .anchor(egui::Align2::RIGHT_BOTTOM, [-16.0, -16.0])
        .order(egui::Order::Foreground)
        .interactable(false)
        .show(ctx, |ui| {
            ui.set_max_width(360.0);
            for toast in &toasts {
                let left = toast.lifetime() - (now - toast.born);
                let opacity = (left / FADE_SECONDS).clamp(0.0, 1.0) as f32;
                ui.scope(|ui| {
                    ui.multiply_opacity(opacity);
                    let visuals = ui.visuals();
                    let (fill, text) = if toast.error {
                        (ERROR_FILL, egui::Color32::WHITE)
                    } else {
                        (
                            visuals.widgets.inactive.bg_fill,
                            visuals.strong_text_color(),
                        )
                    };
                    egui::Frame::popup(ui.style())
                        .fill(fill)
                        .inner_margin(egui::Margin::symmetric(12, 8))
                        .show(ui, |ui| {
                            ui.add(
                                egui::Label::new(egui::RichText::new(&toast.text).color(text))
                                    .wrap(),
                            );
                        });
                });
                ui.add_space(6.0);
            }
        });
    // Wake up to fade and to drop the next one.
    let next = toasts
        .iter()
        .map(|t| (t.lifetime() - (now - t.born)).min(FADE_SECONDS / 6.0))
        .fold(f64::INFINITY, f64::min)
        .max(0.02);
    ctx.request_repaint_after(std::time::Duration::from_secs_f64(next));
}
