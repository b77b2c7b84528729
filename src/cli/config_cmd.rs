//! `switchyard config …`

use crate::config::Paths;

#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {
    /// Print every setting with its value (and its default where they differ).
    Show {
        /// Print JSON instead of TOML.
        #[arg(long)]
        json: bool,
    },
    /// Change one setting, e.g. `config set gateway.port 9000` or
    /// `config set models."gpt-4*" gemini-2.5-pro` (an empty value removes a mapping).
    Set {
        #[arg(value_name = "KEY")]
        key: String,
        #[arg(value_name = "VALUE", allow_hyphen_values = true)]
        value: String,
    },
    /// Print where the config file and the database are.
    Path,
}

pub fn run(paths: &Paths, command: ConfigCommand) -> anyhow::Result<()> {
    match command {
        ConfigCommand::Show { json } => {
            // Showing writes nothing (the first run of the app or `serve`
            // creates the file and its API key).
            let config = crate::config::Config::load_existing(&paths.config_file)?;
            let entries = config.entries()?;
            if json {
                let map: serde_json::Map<String, serde_json::Value> = entries
                    .into_iter()
                    .map(|e| {
                        (
                            e.key,
                            serde_json::json!({ "value": e.value, "default": e.default }),
                        )
                    })
                    .collect();
                return super::print_out(&format!("{}\n", serde_json::to_string_pretty(&map)?));
            }
            let mut out = format!("# {}\n", paths.config_file.display());
            let mut section = "";
            for entry in &entries {
                let (entry_section, name) = entry.key.split_once('.').unwrap_or(("", &entry.key));
                if entry_section != section {
                    section = entry_section;
                    out.push_str(&format!("\n[{section}]\n"));
                }
                let value = entry.value.as_ref().map(toml_inline).unwrap_or_default();
                let line = match &entry.default {
                    _ if entry.key == "gateway.api_key" => {
                        format!("{name} = {value}  # generated on first run")
                    }
                    Some(default) if Some(default) != entry.value.as_ref() => {
                        format!("{name} = {value}  # default: {}", toml_inline(default))
                    }
                    None => format!("{name} = {value}"),
                    _ => format!("{name} = {value}"),
                };
                out.push_str(&line);
                out.push('\n');
            }
            super::print_out(&out)
        }
        ConfigCommand::Set { key, value } => {
            let config = super::load_config(paths)?;
            let updated = config.with_key_set(&key, &value)?;
            if key == "desktop.launch_at_login" {
                // The setting and the autostart entry change together.
                crate::desktop::set_launch_at_login(paths, updated.desktop.launch_at_login)?;
                println!(
                    "Switchyard will {}start at login",
                    if updated.desktop.launch_at_login {
                        ""
                    } else {
                        "not "
                    }
                );
                return Ok(());
            }
            updated.save(&paths.config_file)?;
            println!("{key} saved to {}", paths.config_file.display());
            Ok(())
        }
        ConfigCommand::Path => {
            println!("config:   {}", paths.config_file.display());
            println!("database: {}", paths.db_file.display());
            Ok(())
        }
    }
}

fn toml_inline(value: &toml::Value) -> String {
    value.to_string()
}
