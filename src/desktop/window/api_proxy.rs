//! API Proxy: start/stop, port, LAN access, auth mode, the API key,
//! scheduling, model mapping, and ready-to-paste set-up for the clients.

use super::widgets::{
    config_number, copy_button, labelled_combo, labelled_text_field, option_text, set_config,
};
use super::{Confirmation, WindowUi};
use crate::config::{AuthMode, Scheduling};
use crate::desktop::model::{Command, Snapshot};

const AUTH_MODES: [(AuthMode, &str); 4] = [
    (AuthMode::Off, "off"),
    (AuthMode::Strict, "strict"),
    (AuthMode::AllExceptHealth, "all_except_health"),
    (AuthMode::Auto, "auto"),
];

const SCHEDULING_MODES: [(Scheduling, &str); 3] = [
    (Scheduling::Sticky, "sticky"),
    (Scheduling::Balance, "balance"),
    (Scheduling::RoundRobin, "round_robin"),
];

pub fn api_proxy_ui(
    ui: &mut egui::Ui,
    snapshot: &Snapshot,
    state: &mut WindowUi,
    commands: &mut Vec<Command>,
) {
    ui.heading("Gateway");
    gateway_settings_ui(ui, snapshot, commands);

    ui.add_space(12.0);
    ui.heading("API key");
    api_key_ui(ui, snapshot, state);

    ui.add_space(12.0);
    ui.heading("Model mapping");
    model_mapping_ui(ui, snapshot, state, commands);

    ui.add_space(12.0);
    ui.heading("Set up your clients");
    snippets_ui(ui, snapshot, state);
}

fn gateway_settings_ui(ui: &mut egui::Ui, snapshot: &Snapshot, commands: &mut Vec<Command>) {
    let gateway = &snapshot.config.gateway;
    let running = format!("Running on {}", snapshot.gateway.base_url);
    super::widgets::gateway_state_row(ui, &snapshot.gateway.state, &running, commands);
    ui.horizontal(|ui| {
        ui.label("Base URL");
        ui.monospace(&snapshot.gateway.base_url);
        copy_button(ui, "base URL", &snapshot.gateway.base_url);
    });

    egui::Grid::new("gateway_settings")
        .num_columns(2)
        .spacing([16.0, 6.0])
        .show(ui, |ui| {
            config_number(
                ui,
                commands,
                "Port",
                "gateway.port",
                gateway.port,
                0..=u16::MAX,
            );
            ui.end_row();
            if let Some(mode) = labelled_combo(ui, "Auth mode", gateway.auth_mode, &AUTH_MODES) {
                set_config(
                    commands,
                    "gateway.auth_mode",
                    option_text(&AUTH_MODES, mode),
                );
            }
            ui.end_row();
            if let Some(mode) =
                labelled_combo(ui, "Scheduling", gateway.scheduling, &SCHEDULING_MODES)
            {
                set_config(
                    commands,
                    "gateway.scheduling",
                    option_text(&SCHEDULING_MODES, mode),
                );
            }
            ui.end_row();
        });
    ui.weak(auth_mode_explanation(
        gateway.auth_mode,
        gateway.allow_lan_access,
    ));

    let mut allow_lan_access = gateway.allow_lan_access;
    if ui
        .checkbox(&mut allow_lan_access, "Allow LAN access")
        .changed()
    {
        set_config(commands, "gateway.allow_lan_access", allow_lan_access);
    }
    if gateway.auth_mode == AuthMode::Off {
        ui.colored_label(
            ui.visuals().warn_fg_color,
            "LAN access needs an API key: with auth mode \"off\" the gateway refuses to \
             listen on the network. Choose strict, all_except_health or auto first.",
        );
    }
    if gateway.allow_lan_access {
        let address = snapshot
            .gateway
            .lan_url
            .as_deref()
            .map_or_else(String::new, |url| format!(" at {url}"));
        ui.colored_label(
            ui.visuals().warn_fg_color,
            format!(
                "Other devices on your network can reach the gateway{address}. \
                 Keep the API key to yourself."
            ),
        );
    }

    let mut start_with_app = gateway.start_with_app;
    if ui
        .checkbox(&mut start_with_app, "Start the gateway with the app")
        .changed()
    {
        set_config(commands, "gateway.start_with_app", start_with_app);
    }
}

fn auth_mode_explanation(mode: AuthMode, allow_lan_access: bool) -> &'static str {
    match mode {
        AuthMode::Off => "No key is asked for.",
        AuthMode::Strict => "Every route needs the key.",
        AuthMode::AllExceptHealth => "Every route but /healthz needs the key.",
        AuthMode::Auto if allow_lan_access => {
            "auto: with LAN access, every route but /healthz needs the key."
        }
        AuthMode::Auto => "auto: on loopback no key is needed (any key is accepted).",
    }
}

fn api_key_ui(ui: &mut egui::Ui, snapshot: &Snapshot, state: &mut WindowUi) {
    let api_key = &snapshot.config.gateway.api_key;
    let visible = &mut state.drafts.api_key_visible;
    ui.horizontal(|ui| {
        if api_key.is_empty() {
            ui.weak("none yet");
        } else if *visible {
            ui.monospace(api_key);
        } else {
            ui.monospace(masked_key(api_key));
        }
        if ui.button(if *visible { "Hide" } else { "Show" }).clicked() {
            *visible = !*visible;
        }
        copy_button(ui, "API key", api_key);
        if ui.button("Regenerate…").clicked() {
            state.drafts.confirmation = Some(Confirmation::RegenerateApiKey);
        }
    });
    ui.weak("Clients send it as Authorization: Bearer KEY, x-api-key, x-goog-api-key or ?key=KEY.");
}

/// `sk-••••••••1a2b`: enough to tell keys apart, not enough to use one.
pub fn masked_key(api_key: &str) -> String {
    let characters: Vec<char> = api_key.chars().collect();
    if characters.len() < 12 {
        return "•".repeat(characters.len().max(8));
    }
    let head: String = characters[..3].iter().collect();
    let tail: String = characters[characters.len() - 4..].iter().collect();
    format!("{head}••••••••{tail}")
}

fn model_mapping_ui(
    ui: &mut egui::Ui,
    snapshot: &Snapshot,
    state: &mut WindowUi,
    commands: &mut Vec<Command>,
) {
    ui.label("Client model names (globs, * and ?) sent to another upstream model.");
    let models = &snapshot.config.models;
    if models.is_empty() {
        ui.weak("No mappings of your own.");
    } else {
        egui::Grid::new("model_mapping")
            .num_columns(4)
            .striped(true)
            .spacing([12.0, 4.0])
            .show(ui, |ui| {
                for (pattern, target) in models {
                    ui.monospace(pattern);
                    ui.monospace("→");
                    ui.monospace(target);
                    if ui
                        .button("Remove")
                        .accessible_name(format!("Remove mapping {pattern}"))
                        .clicked()
                    {
                        set_config(commands, &format!("models.\"{pattern}\""), "");
                    }
                    ui.end_row();
                }
            });
    }
    let drafts = &mut state.drafts;
    ui.horizontal(|ui| {
        labelled_text_field(ui, "Client model", &mut drafts.model_pattern, 160.0);
        labelled_text_field(ui, "Upstream model", &mut drafts.model_target, 160.0);
        let pattern = drafts.model_pattern.trim();
        let target = drafts.model_target.trim();
        let valid = !pattern.is_empty() && !target.is_empty() && !pattern.contains('"');
        if ui
            .add_enabled(valid, egui::Button::new("Add mapping"))
            .clicked()
        {
            set_config(commands, &format!("models.\"{pattern}\""), target);
            drafts.model_pattern.clear();
            drafts.model_target.clear();
        }
    });
    ui.weak(
        "Built in: claude-*haiku*, gpt-*mini* and gpt-*nano* go to gemini-2.5-flash; other \
         claude-*, gpt-*, o1*, o3* and o4* go to gemini-2.5-pro; anything else passes through.",
    );
}

/// One client's set-up, ready to paste.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSnippet {
    pub client: &'static str,
    /// Where it goes, and what to watch out for.
    pub note: &'static str,
    pub text: String,
}

/// The README's set-up snippets, filled with the gateway's address and key.
pub fn client_snippets(base_url: &str, api_key: &str) -> Vec<ClientSnippet> {
    vec![
        ClientSnippet {
            client: "Claude Code",
            note: "No /v1 in the URL.",
            text: format!(
                "ANTHROPIC_BASE_URL={base_url} ANTHROPIC_API_KEY={api_key} \\\n\
                 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 claude"
            ),
        },
        ClientSnippet {
            client: "Codex",
            note: "In ~/.codex/config.toml; Codex only speaks the Responses API.",
            text: format!(
                "model = \"gpt-5\"\n\
                 model_provider = \"switchyard\"\n\
                 [model_providers.switchyard]\n\
                 name = \"Switchyard\"\n\
                 base_url = \"{base_url}/v1\"\n\
                 env_key = \"SWITCHYARD_API_KEY\"   # export SWITCHYARD_API_KEY={api_key}\n\
                 wire_api = \"responses\""
            ),
        },
        ClientSnippet {
            client: "Gemini CLI",
            note: "With ~/.gemini/settings.json holding \
                   {\"security\": {\"auth\": {\"selectedType\": \"gemini-api-key\"}}}.",
            text: format!("GOOGLE_GEMINI_BASE_URL={base_url} GEMINI_API_KEY={api_key} gemini"),
        },
        ClientSnippet {
            client: "OpenAI SDK (Python)",
            note: "base_url must end in /v1.",
            text: format!(
                "from openai import OpenAI\n\
                 client = OpenAI(base_url=\"{base_url}/v1\", api_key=\"{api_key}\")\n\
                 reply = client.chat.completions.create(\n    \
                     model=\"gemini-2.5-pro\",                \
                 # or gpt-4o, claude-sonnet-4-5: mapped, see [models]\n    \
                     messages=[{{\"role\": \"user\", \"content\": \"Hello\"}}],\n\
                 )"
            ),
        },
        ClientSnippet {
            client: "Anthropic SDK",
            note: "No /v1 in the URL.",
            text: format!(
                "from anthropic import Anthropic\n\
                 client = Anthropic(base_url=\"{base_url}\", api_key=\"{api_key}\")"
            ),
        },
        ClientSnippet {
            client: "Google GenAI SDK",
            note: "api_version v1beta or the default v1 both work.",
            text: format!(
                "from google import genai\n\
                 client = genai.Client(api_key=\"{api_key}\", \
                 http_options={{\"base_url\": \"{base_url}\"}})"
            ),
        },
    ]
}

fn snippets_ui(ui: &mut egui::Ui, snapshot: &Snapshot, state: &WindowUi) {
    let base_url = if snapshot.gateway.base_url.is_empty() {
        format!("http://127.0.0.1:{}", snapshot.config.gateway.port)
    } else {
        snapshot.gateway.base_url.clone()
    };
    let api_key = &snapshot.config.gateway.api_key;
    let shown_key = if state.drafts.api_key_visible {
        api_key.clone()
    } else {
        masked_key(api_key)
    };
    let shown = client_snippets(&base_url, &shown_key);
    let copied = client_snippets(&base_url, api_key);
    for (shown, copied) in shown.iter().zip(&copied) {
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            ui.strong(shown.client);
            copy_button(ui, &format!("{} set-up", shown.client), &copied.text);
        });
        ui.weak(shown.note);
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.add(egui::Label::new(egui::RichText::new(&shown.text).monospace()).extend());
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_key_keeps_only_the_ends() {
        assert_eq!(
            masked_key("sk-0123456789abcdef0123456789abcdef"),
            "sk-••••••••cdef"
        );
        assert_eq!(masked_key("short"), "••••••••");
    }

    #[test]
    fn snippets_carry_the_address_and_key() {
        let snippets = client_snippets("http://127.0.0.1:9000", "sk-test");
        assert_eq!(snippets.len(), 6);
        for snippet in &snippets {
            assert!(
                snippet.text.contains("http://127.0.0.1:9000"),
                "{snippet:?}"
            );
            assert!(snippet.text.contains("sk-test"), "{snippet:?}");
        }
    }

    #[test]
    fn snippets_are_the_readme_ones() {
        let readme = include_str!("../../../README.md");
        let snippets = client_snippets("http://127.0.0.1:8045", "sk-…");
        for snippet in &snippets[..4] {
            assert!(readme.contains(&snippet.text), "{}", snippet.text);
        }
        for snippet in &snippets[4..] {
            let call = snippet.text.lines().last().unwrap();
            let call = call.trim_start_matches("client = ");
            assert!(readme.contains(call), "{call}");
        }
    }
}
