//! One palette, one meaning, everywhere: what a colour says about an account
//! (or a request, or a quota) is the same on every page, and every text
//! colour reads at 4.5:1 or better on the panel in both themes (WCAG AA;
//! the tests measure it).

use egui::Color32;

use crate::store::AccountStatus;

/// How much a state needs the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// Serving.
    Ok,
    /// Not serving now, but it heals by itself (quota used up, cooling down).
    Heals,
    /// Not serving until the user acts (sign in again, verify, a new key).
    NeedsUser,
    /// Switched off by the user.
    Off,
}

impl Severity {
    /// The severity of an account's state; `ready` is whether it can serve
    /// some model now.
    pub fn of_account(status: AccountStatus, ready: bool) -> Self {
        match status {
            AccountStatus::Active if ready => Severity::Ok,
            AccountStatus::Active => Severity::Heals,
            AccountStatus::Disabled => Severity::Off,
            AccountStatus::NeedsRelogin
            | AccountStatus::Forbidden
            | AccountStatus::ClientRetired
            | AccountStatus::Suspended
            | AccountStatus::KeyRejected => Severity::NeedsUser,
        }
    }

    /// Its colour for text on the panel.
    pub fn color(self, visuals: &egui::Visuals) -> Color32 {
        let dark = visuals.dark_mode;
        match (self, dark) {
            (Severity::Ok, true) => Color32::from_rgb(0x5f, 0xd0, 0x7a),
            (Severity::Ok, false) => Color32::from_rgb(0x1b, 0x7a, 0x35),
            (Severity::Heals, true) => Color32::from_rgb(0xf0, 0xb5, 0x41),
            (Severity::Heals, false) => Color32::from_rgb(0x8a, 0x5a, 0x00),
            (Severity::NeedsUser, true) => Color32::from_rgb(0xff, 0x7b, 0x72),
            (Severity::NeedsUser, false) => Color32::from_rgb(0xb4, 0x23, 0x18),
            (Severity::Off, true) => Color32::from_gray(0xa0),
            (Severity::Off, false) => Color32::from_gray(0x5f),
        }
    }

    /// Text drawn on a chip filled with [`Severity::color`].
    pub fn on_color(self, visuals: &egui::Visuals) -> Color32 {
        if visuals.dark_mode {
            Color32::from_gray(0x10)
        } else {
            Color32::WHITE
        }
    }
}

/// A quota's colour by what is left: used up heals by itself (amber, like
/// the account), low is amber too, the rest is fine.
pub fn quota_severity(remaining: f64) -> Severity {
    if remaining < 0.2 {
        Severity::Heals
    } else {
        Severity::Ok
    }
}

/// A small filled label: the state at a glance.
pub fn chip(ui: &mut egui::Ui, severity: Severity, text: &str) -> egui::Response {
    let visuals = ui.visuals().clone();
    egui::Frame::new()
        .fill(severity.color(&visuals))
        .corner_radius(8.0)
        .inner_margin(egui::Margin::symmetric(7, 1))
        .show(ui, |ui| {
            ui.add(
                egui::Label::new(
                    egui::RichText::new(text)
                        .color(severity.on_color(&visuals))
                        .small()
                        .strong(),
                )
                .wrap_mode(egui::TextWrapMode::Extend),
            )
        })
        .inner
}

/// The app's visuals for a theme: egui's, with text, weak text, warnings
/// and errors made readable (egui's faint grey is about 2.6:1 and its pure
/// red below 4.5:1 on both panels).
pub fn visuals(dark: bool) -> egui::Visuals {
    let mut visuals = if dark {
        egui::Visuals::dark()
    } else {
        egui::Visuals::light()
    };
    let (text, weak) = if dark {
        (Color32::from_gray(0xd2), Color32::from_gray(0x9a))
    } else {
        (Color32::from_gray(0x24), Color32::from_gray(0x5c))
    };
    visuals.widgets.noninteractive.fg_stroke.color = text;
    visuals.weak_text_color = Some(weak);
    visuals.warn_fg_color = Severity::Heals.color(&visuals);
    visuals.error_fg_color = Severity::NeedsUser.color(&visuals);
    visuals.hyperlink_color = if dark {
        Color32::from_rgb(0x7c, 0xb8, 0xff)
    } else {
        Color32::from_rgb(0x0b, 0x5c, 0xc4)
    };
    visuals
}

/// Installs [`visuals`] for both themes.
pub fn install(ctx: &egui::Context) {
    ctx.set_visuals_of(egui::Theme::Dark, visuals(true));
    ctx.set_visuals_of(egui::Theme::Light, visuals(false));
}

/// WCAG contrast ratio of two opaque colours (1 to 21).
pub fn contrast(a: Color32, b: Color32) -> f64 {
    fn luminance(c: Color32) -> f64 {
        let channel = |v: u8| {
            let v = f64::from(v) / 255.0;
            if v <= 0.039_28 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(c.r()) + 0.7152 * channel(c.g()) + 0.0722 * channel(c.b())
    }
    let (la, lb) = (luminance(a), luminance(b));
    let (light, dark) = if la > lb { (la, lb) } else { (lb, la) };
    (light + 0.05) / (dark + 0.05)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEVERITIES: [Severity; 4] = [
        Severity::Ok,
        Severity::Heals,
        Severity::NeedsUser,
        Severity::Off,
    ];

    #[test]
    fn every_text_colour_reads_at_4_5_to_1_in_both_themes() {
        for dark in [true, false] {
            let visuals = visuals(dark);
            for background in [visuals.panel_fill, visuals.window_fill] {
                let mut texts = vec![
                    ("text", visuals.text_color()),
                    ("weak", visuals.weak_text_color()),
                    ("warn", visuals.warn_fg_color),
                    ("error", visuals.error_fg_color),
                    ("link", visuals.hyperlink_color),
                ];
                for severity in SEVERITIES {
                    texts.push(("severity", severity.color(&visuals)));
                }
                for (what, color) in texts {
                    let ratio = contrast(color, background);
                    assert!(
                        ratio >= 4.5,
                        "{what} {color:?} on {background:?} (dark: {dark}): {ratio:.2}:1"
                    );
                }
            }
            for severity in SEVERITIES {
                let ratio = contrast(severity.on_color(&visuals), severity.color(&visuals));
                assert!(
                    ratio >= 4.5,
                    "chip {severity:?} (dark: {dark}): {ratio:.2}:1"
                );
            }
        }
    }

    #[test]
    fn egui_defaults_would_fail_the_same_check() {
        // The measurement can fail: egui's own weak grey and red do.
        let dark = egui::Visuals::dark();
        assert!(contrast(dark.weak_text_color(), dark.panel_fill) < 4.5);
        let light = egui::Visuals::light();
        assert!(contrast(light.error_fg_color, light.panel_fill) < 4.5);
    }

    #[test]
    fn healing_and_needing_the_user_never_share_a_colour() {
        assert_eq!(
            Severity::of_account(AccountStatus::Active, false),
            Severity::Heals
        );
        for status in [
            AccountStatus::NeedsRelogin,
            AccountStatus::Forbidden,
            AccountStatus::Suspended,
            AccountStatus::ClientRetired,
            AccountStatus::KeyRejected,
        ] {
            assert_eq!(Severity::of_account(status, false), Severity::NeedsUser);
        }
        for dark in [true, false] {
            let visuals = visuals(dark);
            assert_ne!(
                Severity::Heals.color(&visuals),
                Severity::NeedsUser.color(&visuals)
            );
        }
    }
}
