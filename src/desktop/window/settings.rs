//! Settings: start-up behaviour, notifications, theme, the data folder, log
//! retention, and what version this is.

use super::WindowUi;
use super::widgets::{config_number, labelled_combo, option_text, set_config};
use crate::config::Theme;
use crate::desktop::model::{Command, Snapshot};

const THEMES: [(Theme, &str); 3] = [
    (Theme::Light, "light"),
    (Theme::Dark, "dark"),
    (Theme::System, "system"),
];

pub fn settings_ui(
    ui: &mut egui::Ui,
    snapshot: &Snapshot,
    _state: &mut WindowUi,
    commands: &mut Vec<Command>,
) {
    let config = &snapshot.config;

    ui.heading("Start-up");
    let mut launch_at_login = snapshot.launch_at_login;
    if ui
        .checkbox(&mut launch_at_login, "Launch at login")
        .changed()
    {
        commands.push(Command::SetLaunchAtLogin(launch_at_login));
    }
    config_checkbox(
        ui,
        commands,
        "Start hidden",
        "desktop.start_hidden",
        config.desktop.start_hidden,
    );
    config_checkbox(
        ui,
        commands,
        "Close to tray",
        "desktop.close_to_tray",
        config.desktop.close_to_tray,
    );

    ui.add_space(12.0);
    ui.heading("Notifications");
    config_checkbox(
        ui,
        commands,
        "Show notifications",
        "notifications.enabled",
        config.notifications.enabled,
    );
    // Which kinds, each with its own switch (greyed while all are off).
    let notifications = &config.notifications;
    ui.add_enabled_ui(notifications.enabled, |ui| {
        ui.indent("notification kinds", |ui| {
            for (label, key, current) in [
                (
                    "An account's quota runs low",
                    "notifications.quota_low",
                    notifications.quota_low,
                ),
                (
                    "An account's quota is used up",
                    "notifications.quota_exhausted",
                    notifications.quota_exhausted,
                ),
                (
                    "An account needs you (sign-in, verification, a rejected key)",
                    "notifications.account_failed",
                    notifications.account_failed,
                ),
                (
                    "No account can serve a model for a while",
                    "notifications.pool_exhausted",
                    notifications.pool_exhausted,
                ),
                (
                    "The gateway could not start",
                    "notifications.gateway_failed",
                    notifications.gateway_failed,
                ),
            ] {
                config_checkbox(ui, commands, label, key, current);
            }
        });
    });
    egui::Grid::new("notification_settings")
        .num_columns(2)
        .show(ui, |ui| {
            config_number(
                ui,
                commands,
                "Warn when a quota falls below (%)",
                "notifications.quota_warning_percent",
                config.notifications.quota_warning_percent,
                0..=100,
            );
            ui.end_row();
        });

    ui.add_space(12.0);
    ui.heading("Appearance");
    ui.horizontal(|ui| {
        if let Some(theme) = labelled_combo(ui, "Theme", config.desktop.theme, &THEMES) {
            set_config(commands, "desktop.theme", option_text(&THEMES, theme));
        }
    });

    ui.add_space(12.0);
    ui.heading("Data");
    egui::Grid::new("data_paths")
        .num_columns(2)
        .spacing([16.0, 4.0])
        .show(ui, |ui| {
            ui.label("Settings file");
            ui.monospace(snapshot.paths.config_file.display().to_string());
            ui.end_row();
            ui.label("Database");
            ui.monospace(snapshot.paths.data_file.display().to_string());
            ui.end_row();
        });
    if ui.button("Open data folder").clicked() {
        commands.push(Command::OpenDataFolder);
    }
    config_checkbox(
        ui,
        commands,
        "Keep a request log",
        "log.enabled",
        config.log.enabled,
    );
    ui.add_enabled_ui(config.log.enabled, |ui| {
        config_checkbox(
            ui,
            commands,
            "Also keep request and response bodies (secrets redacted)",
            "log.store_bodies",
            config.log.store_bodies,
        );
    });
    if config.log.enabled && config.log.store_bodies {
        ui.add(
            egui::Label::new(
                egui::RichText::new(format!(
                    "Bodies hold your conversations: they are kept {} hours, each cut at {} KB.",
                    config.log.body_retention_hours, config.log.body_max_kb
                ))
                .small()
                .weak(),
            )
            .wrap(),
        );
    }
    egui::Grid::new("log_retention")
        .num_columns(2)
        .spacing([16.0, 4.0])
        .show(ui, |ui| {
            config_number(
                ui,
                commands,
                "Keep the request log (days)",
                "log.retention_days",
                config.log.retention_days,
                1..=3650,
            );
            ui.end_row();
            config_number(
                ui,
                commands,
                "Largest request log (MB)",
                "log.max_mb",
                config.log.max_mb,
                1..=1_000_000,
            );
            ui.end_row();
        });

    ui.add_space(12.0);
    ui.heading("About");
    ui.label(format!("Switchyard {}", crate::VERSION));
    ui.label(
        "A local AI gateway: OpenAI, Anthropic and Gemini protocols in front of your accounts.",
    );
    ui.weak("Every setting can also be changed with `switchyard config set KEY VALUE`.");
}

fn config_checkbox(
    ui: &mut egui::Ui,
    commands: &mut Vec<Command>,
    label: &str,
    key: &str,
    current: bool,
) {
    let mut value = current;
    if ui.checkbox(&mut value, label).changed() {
        set_config(commands, key, value);
    }
    super::feedback::setting_error_ui(ui, key);
}
