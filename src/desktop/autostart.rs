//! Launch at login: starts `switchyard --hidden` when the user logs in.
//!
//! On Linux this module writes the freedesktop autostart entry itself; on
//! macOS and Windows it uses the `auto-launch` crate (a LaunchAgent plist, a
//! `Run` registry value). It owns that one file or entry and nothing else: it
//! does not read or write the app's config (the `launch_at_login` setting is
//! the caller's to keep in step).
//!
//! Linux quirks of auto-launch 0.6.0 (why it is not used there): it writes
//! `$HOME/.config/autostart/<name>.desktop` and ignores `XDG_CONFIG_HOME`; its
//! `Exec=` line is neither quoted nor escaped, so an executable path with a
//! space (or `$`, `"`, `%`, …) breaks the entry; the file has no trailing
//! newline; `is_enabled()` only checks that the file exists, so an entry left
//! behind by an older install at another path counts as enabled. Here the
//! entry goes to `$XDG_CONFIG_HOME/autostart` (else `$HOME/.config/autostart`),
//! `Exec=` is quoted per the Desktop Entry spec, the file is written
//! atomically, and [`Autostart::is_enabled`] also checks that `Exec=` runs
//! this executable and that the desktop has not switched the entry off
//! (`Hidden=true`, `X-GNOME-Autostart-enabled=false`).

use std::path::{Path, PathBuf};

/// The argument that starts the app in the tray, without its window.
pub const HIDDEN_ARG: &str = "--hidden";

/// The name of the login item, and of the `.desktop` file (`switchyard.desktop`).
const APP_NAME: &str = "Switchyard";
#[cfg(target_os = "linux")]
const ENTRY_FILE_NAME: &str = "switchyard.desktop";

/// Why launch at login could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum AutostartError {
    #[error("cannot find Switchyard's own executable: {0}")]
    NoExecutable(#[source] std::io::Error),
    #[error(
        "cannot find the folder for login items: neither XDG_CONFIG_HOME nor HOME is set to an absolute path"
    )]
    NoConfigHome,
    #[error("the executable's path {0:?} is not valid UTF-8, so no login item can name it")]
    PathNotUtf8(PathBuf),
    #[error("cannot write the autostart entry {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot remove the autostart entry {path}: {source}")]
    Remove {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the autostart entry {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot change launch at login: {0}")]
    Platform(#[from] auto_launch::Error),
}

/// The login item for one executable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Autostart {
    exe: PathBuf,
    /// The XDG config folder; the entry lives in its `autostart/` (Linux only).
    config_home: PathBuf,
}

impl Autostart {
    /// The login item for the running executable, in the user's config folder.
    pub fn for_current_exe() -> Result<Self, AutostartError> {
        let exe = current_exe()?;
        let config_home = config_home_from(
            std::env::var_os("XDG_CONFIG_HOME"),
            std::env::var_os("HOME"),
        );
        #[cfg(target_os = "linux")]
        let config_home = config_home.ok_or(AutostartError::NoConfigHome)?;
        // auto-launch finds its own places on macOS and Windows.
        #[cfg(not(target_os = "linux"))]
        let config_home = config_home.unwrap_or_default();
        Ok(Self::new(exe, config_home))
    }

    /// The login item for `exe`, with `config_home` in place of
    /// `$XDG_CONFIG_HOME` (tests point it at a temporary folder).
    pub fn new(exe: impl Into<PathBuf>, config_home: impl Into<PathBuf>) -> Self {
        Self {
            exe: exe.into(),
            config_home: config_home.into(),
        }
    }

    /// The executable the login item starts.
    pub fn exe(&self) -> &Path {
        &self.exe
    }

    /// The XDG config folder the Linux entry goes under (unused elsewhere).
    pub fn config_home(&self) -> &Path {
        &self.config_home
    }
}

#[cfg(target_os = "linux")]
impl Autostart {
    /// Where the freedesktop autostart entry lives:
    /// `<config home>/autostart/switchyard.desktop`.
    pub fn entry_path(&self) -> PathBuf {
        self.config_home.join("autostart").join(ENTRY_FILE_NAME)
    }

    /// Writes the autostart entry (replacing any older one), atomically.
    pub fn enable(&self) -> Result<(), AutostartError> {
        let entry = desktop_entry(&self.exe)?;
        let path = self.entry_path();
        crate::config::write_atomically(&path, entry.as_bytes())
            .map_err(|source| AutostartError::Write { path, source })
    }

    /// Removes the autostart entry; nothing to do when there is none.
    pub fn disable(&self) -> Result<(), AutostartError> {
        let path = self.entry_path();
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(AutostartError::Remove { path, source }),
        }
    }

    /// Whether the entry exists, starts this executable, and has not been
    /// switched off by the desktop's own settings.
    pub fn is_enabled(&self) -> Result<bool, AutostartError> {
        let path = self.entry_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(source) => return Err(AutostartError::Read { path, source }),
        };
        let entry = parse_entry(&text);
        let runs_this_exe = entry
            .exec
            .as_deref()
            .and_then(exec_program)
            .is_some_and(|program| Path::new(&program) == self.exe);
        Ok(runs_this_exe && !entry.hidden && entry.autostart_enabled)
    }
}

#[cfg(not(target_os = "linux"))]
impl Autostart {
    /// Adds the login item (a LaunchAgent on macOS, a `Run` value on Windows).
    pub fn enable(&self) -> Result<(), AutostartError> {
        Ok(self.auto_launch()?.enable()?)
    }

    /// Removes the login item; nothing to do when there is none.
    pub fn disable(&self) -> Result<(), AutostartError> {
        let login_item = self.auto_launch()?;
        if login_item.is_enabled()? {
            login_item.disable()?;
        }
        Ok(())
    }

    /// Whether the login item exists.
    pub fn is_enabled(&self) -> Result<bool, AutostartError> {
        Ok(self.auto_launch()?.is_enabled()?)
    }

    fn auto_launch(&self) -> Result<auto_launch::AutoLaunch, AutostartError> {
        let path = self
            .exe
            .to_str()
            .ok_or_else(|| AutostartError::PathNotUtf8(self.exe.clone()))?;
        // auto-launch 0.6 writes the path as it is given: unquoted into the
        // Run value (a path with a space, as under "Program Files", would
        // run "C:\Program"), and unescaped into the plist's XML.
        #[cfg(target_os = "windows")]
        let path = run_value_path(path);
        #[cfg(target_os = "macos")]
        let path = plist_string(path);
        #[cfg(not(any(target_os = "windows", target_os = "macos")))]
        let path = path.to_owned();
        Ok(auto_launch::AutoLaunchBuilder::new()
            .set_app_name(APP_NAME)
            .set_app_path(&path)
            .set_args(&[HIDDEN_ARG])
            .build()?)
    }
}

/// The program of a `Run` registry value: in double quotes (Windows paths
/// cannot hold a `"`), so the arguments after it stay arguments.
#[cfg(any(target_os = "windows", test))]
fn run_value_path(path: &str) -> String {
    format!("\"{path}\"")
}

/// A string for a plist's `<string>` element: `&`, `<` and `>` escaped.
#[cfg(any(target_os = "macos", test))]
fn plist_string(path: &str) -> String {
    path.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn current_exe() -> Result<PathBuf, AutostartError> {
    // An AppImage runs from a temporary mount that is gone at the next login;
    // its runtime puts the image's own path in APPIMAGE.
    #[cfg(target_os = "linux")]
    if let Some(image) = std::env::var_os("APPIMAGE").map(PathBuf::from)
        && image.is_absolute()
    {
        return Ok(image);
    }
    std::env::current_exe().map_err(AutostartError::NoExecutable)
}

/// `$XDG_CONFIG_HOME` if it is set to an absolute path (the XDG Base
/// Directory spec says to ignore a relative one), else `$HOME/.config`.
fn config_home_from(
    xdg_config_home: Option<std::ffi::OsString>,
    home: Option<std::ffi::OsString>,
) -> Option<PathBuf> {
    let absolute = |value: Option<std::ffi::OsString>| {
        value.map(PathBuf::from).filter(|path| path.is_absolute())
    };
    absolute(xdg_config_home).or_else(|| absolute(home).map(|home| home.join(".config")))
}

/// The whole `.desktop` file for `exe`, ending in a newline.
#[cfg(target_os = "linux")]
fn desktop_entry(exe: &Path) -> Result<String, AutostartError> {
    let program = exe
        .to_str()
        .ok_or_else(|| AutostartError::PathNotUtf8(exe.to_path_buf()))?;
    Ok(format!(
        "[Desktop Entry]\n\
         Type=Application\n\
         Name={APP_NAME}\n\
         Comment=Local AI gateway in the menu bar\n\
         Exec={exec} {HIDDEN_ARG}\n\
         Icon=switchyard\n\
         Terminal=false\n\
         X-GNOME-Autostart-enabled=true\n",
        exec = quote_exec_arg(program),
    ))
}

/// One argument of an `Exec=` value, as the Desktop Entry spec wants it in
/// the file.
///
/// Two layers, innermost first: the Exec quoting rule (double quotes around
/// the argument, and `"`, `` ` ``, `$`, `\` inside it preceded by a
/// backslash), `%` doubled so it is not read as a field code, and then the
/// general escaping of string values (a backslash doubled, control
/// characters as `\n`, `\t`, `\r`). So a literal `$` ends up as `\\$` and a
/// literal `\` as `\\\\`, which is what the spec calls the unambiguous form
/// and what GLib's key-file parser accepts (it rejects a lone `\$`).
#[cfg(any(target_os = "linux", test))]
fn quote_exec_arg(argument: &str) -> String {
    let mut quoted = String::with_capacity(argument.len() + 2);
    quoted.push('"');
    for c in argument.chars() {
        match c {
            '"' | '`' | '$' | '\\' => {
                quoted.push('\\');
                quoted.push(c);
            }
            '%' => quoted.push_str("%%"),
            _ => quoted.push(c),
        }
    }
    quoted.push('"');
    escape_string_value(&quoted)
}

/// The general escaping of a `.desktop` string value.
#[cfg(any(target_os = "linux", test))]
fn escape_string_value(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '\n' => escaped.push_str("\\n"),
            '\t' => escaped.push_str("\\t"),
            '\r' => escaped.push_str("\\r"),
            _ => escaped.push(c),
        }
    }
    escaped
}

/// Undoes [`escape_string_value`] (and reads `\s` as a space).
#[cfg(any(target_os = "linux", test))]
fn unescape_string_value(value: &str) -> String {
    let mut text = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            text.push(c);
            continue;
        }
        match chars.next() {
            Some('s') => text.push(' '),
            Some('n') => text.push('\n'),
            Some('t') => text.push('\t'),
            Some('r') => text.push('\r'),
            Some(other) => text.push(other),
            None => text.push('\\'),
        }
    }
    text
}

/// The program (first argument) of a raw `Exec=` value, unescaped and unquoted.
#[cfg(any(target_os = "linux", test))]
fn exec_program(raw_exec: &str) -> Option<String> {
    let exec = unescape_string_value(raw_exec).replace("%%", "%");
    let exec = exec.trim_start();
    let mut program = String::new();
    let mut chars = exec.chars();
    if exec.starts_with('"') {
        chars.next();
        loop {
            match chars.next()? {
                '"' => break,
                '\\' => program.push(chars.next()?),
                c => program.push(c),
            }
        }
    } else {
        program.extend(chars.take_while(|c| !c.is_whitespace()));
    }
    (!program.is_empty()).then_some(program)
}

/// The keys of the `[Desktop Entry]` group that decide whether it runs.
#[cfg(any(target_os = "linux", test))]
#[derive(Debug, PartialEq, Eq)]
struct EntrySummary {
    /// The raw `Exec=` value, still escaped.
    exec: Option<String>,
    hidden: bool,
    autostart_enabled: bool,
}

#[cfg(any(target_os = "linux", test))]
fn parse_entry(text: &str) -> EntrySummary {
    let mut summary = EntrySummary {
        exec: None,
        hidden: false,
        autostart_enabled: true,
    };
    let mut in_main_group = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_main_group = line == "[Desktop Entry]";
            continue;
        }
        if !in_main_group {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "Exec" => summary.exec = Some(value.to_owned()),
            "Hidden" => summary.hidden = value == "true",
            "X-GNOME-Autostart-enabled" => summary.autostart_enabled = value != "false",
            _ => {}
        }
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_home_prefers_an_absolute_xdg_config_home() {
        // Absolute on this platform (`C:\` on Windows, `/` elsewhere).
        let root = PathBuf::from(if cfg!(windows) { r"C:\" } else { "/" });
        let (conf, home) = (root.join("x").join("conf"), root.join("home").join("a"));
        let found = config_home_from(Some(conf.clone().into()), Some(home.clone().into()));
        assert_eq!(found, Some(conf));
        // A relative XDG_CONFIG_HOME is ignored, as the spec says.
        let found = config_home_from(Some("conf".into()), Some(home.clone().into()));
        assert_eq!(found, Some(home.join(".config")));
        let found = config_home_from(Some("".into()), Some(home.clone().into()));
        assert_eq!(found, Some(home.join(".config")));
        assert_eq!(config_home_from(None, None), None);
        assert_eq!(config_home_from(None, Some("".into())), None);
    }

    #[test]
    fn login_item_paths_are_quoted_for_windows_and_escaped_for_plists() {
        assert_eq!(
            run_value_path(r"C:\Program Files\Switchyard\switchyard.exe"),
            r#""C:\Program Files\Switchyard\switchyard.exe""#
        );
        assert_eq!(
            plist_string("/Applications/R&D <new>/Switchyard.app"),
            "/Applications/R&amp;D &lt;new&gt;/Switchyard.app"
        );
    }

    #[test]
    fn exec_arguments_are_quoted_and_escaped_per_the_spec() {
        let cases = [
            ("/usr/bin/switchyard", r#""/usr/bin/switchyard""#),
            ("/opt/My Apps/switchyard", r#""/opt/My Apps/switchyard""#),
            ("/opt/$HOME/s", r#""/opt/\\$HOME/s""#),
            (r#"/opt/say "hi"/s"#, r#""/opt/say \\"hi\\"/s""#),
            ("/opt/`x`/s", r#""/opt/\\`x\\`/s""#),
            (r"/opt/back\slash/s", r#""/opt/back\\\\slash/s""#),
            ("/opt/100%/s", r#""/opt/100%%/s""#),
        ];
        for (path, expected) in cases {
            let quoted = quote_exec_arg(path);
            assert_eq!(quoted, expected, "{path}");
            // And it reads back as the same path.
            assert_eq!(
                exec_program(&format!("{quoted} --hidden")).as_deref(),
                Some(path)
            );
        }
    }

    #[test]
    fn exec_program_reads_unquoted_values_too() {
        assert_eq!(
            exec_program("/usr/bin/switchyard --hidden").as_deref(),
            Some("/usr/bin/switchyard")
        );
        assert_eq!(exec_program(""), None);
        assert_eq!(exec_program(r#""/unterminated"#), None);
    }

    #[test]
    fn only_the_desktop_entry_group_counts() {
        let text = "[Desktop Entry]\nExec=/a\nHidden=true\n\
                    [Desktop Action x]\nExec=/b\nX-GNOME-Autostart-enabled=false\n";
        assert_eq!(
            parse_entry(text),
            EntrySummary {
                exec: Some("/a".to_owned()),
                hidden: true,
                autostart_enabled: true,
            }
        );
    }

    #[cfg(target_os = "linux")]
    mod linux {
        use super::super::*;

        const EXE: &str = "/opt/My Apps/$witch yard/switchyard";

        #[test]
        fn enable_writes_a_quoted_entry_and_disable_removes_it() {
            let config_home = tempfile::tempdir().unwrap();
            let autostart = Autostart::new(EXE, config_home.path());
            let path = config_home.path().join("autostart/switchyard.desktop");
            assert_eq!(autostart.entry_path(), path);
            assert!(!autostart.is_enabled().unwrap());

            autostart.enable().unwrap();
            let text = std::fs::read_to_string(&path).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines[0], "[Desktop Entry]");
            assert!(lines.contains(&r#"Exec="/opt/My Apps/\\$witch yard/switchyard" --hidden"#));
            for line in [
                "Type=Application",
                "Name=Switchyard",
                "Icon=switchyard",
                "Terminal=false",
                "X-GNOME-Autostart-enabled=true",
            ] {
                assert!(lines.contains(&line), "{line} in {text}");
            }
            assert!(lines.iter().any(|l| l.starts_with("Comment=")));
            assert!(text.ends_with('\n'));
            assert!(autostart.is_enabled().unwrap());

            // Enabling again replaces the entry; no temporary files are left.
            autostart.enable().unwrap();
            let names: Vec<_> = std::fs::read_dir(config_home.path().join("autostart"))
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(names, ["switchyard.desktop"]);

            autostart.disable().unwrap();
            assert!(!path.exists());
            assert!(!autostart.is_enabled().unwrap());
            autostart.disable().unwrap();
        }

        #[test]
        fn an_entry_for_another_executable_is_not_enabled() {
            let config_home = tempfile::tempdir().unwrap();
            Autostart::new("/old/place/switchyard", config_home.path())
                .enable()
                .unwrap();
            let autostart = Autostart::new(EXE, config_home.path());
            assert!(!autostart.is_enabled().unwrap());
            autostart.enable().unwrap();
            assert!(autostart.is_enabled().unwrap());
        }

        #[test]
        fn an_entry_switched_off_by_the_desktop_is_not_enabled() {
            let config_home = tempfile::tempdir().unwrap();
            let autostart = Autostart::new(EXE, config_home.path());
            autostart.enable().unwrap();
            let path = autostart.entry_path();
            let text = std::fs::read_to_string(&path).unwrap();
            std::fs::write(
                &path,
                text.replace(
                    "X-GNOME-Autostart-enabled=true",
                    "X-GNOME-Autostart-enabled=false",
                ),
            )
            .unwrap();
            assert!(!autostart.is_enabled().unwrap());
            std::fs::write(&path, format!("{text}Hidden=true\n")).unwrap();
            assert!(!autostart.is_enabled().unwrap());
        }

        #[test]
        fn a_non_utf8_path_is_a_clear_error() {
            use std::os::unix::ffi::OsStrExt;
            let config_home = tempfile::tempdir().unwrap();
            let exe = std::ffi::OsStr::from_bytes(b"/opt/\xff/switchyard");
            let error = Autostart::new(exe, config_home.path())
                .enable()
                .unwrap_err();
            assert!(matches!(error, AutostartError::PathNotUtf8(_)));
            assert!(error.to_string().contains("not valid UTF-8"));
        }
    }
}
