//! The tray and window icons, embedded in the binary and decoded to RGBA8.
//!
//! The PNGs are rendered from the SVGs in `icons/` by `icons/render.sh` and
//! committed, so building needs no SVG renderer. This module only decodes; it
//! does not decide which state the tray shows.

use std::io::Cursor;

/// What the tray icon shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrayState {
    /// The gateway serves and every account is fine.
    Running,
    /// The gateway is stopped.
    Stopped,
    /// The gateway serves, but some accounts are failing or exhausted.
    Degraded,
    /// The gateway could not start (port busy, …).
    Error,
}

impl TrayState {
    /// Every state, for menus and tests.
    pub const ALL: [TrayState; 4] = [Self::Running, Self::Stopped, Self::Degraded, Self::Error];

    fn png(self) -> &'static [u8] {
        match self {
            Self::Running => include_bytes!("../../icons/png/tray-running-32.png"),
            Self::Stopped => include_bytes!("../../icons/png/tray-stopped-32.png"),
            Self::Degraded => include_bytes!("../../icons/png/tray-degraded-32.png"),
            Self::Error => include_bytes!("../../icons/png/tray-error-32.png"),
        }
    }
}

const APP_ICON_64: &[u8] = include_bytes!("../../icons/png/app-64.png");

/// The app icon, 64×64, as PNG bytes (for notifications).
pub fn app_icon_png() -> &'static [u8] {
    APP_ICON_64
}

/// The tray icon for `state`, 32×32, as (RGBA8 pixels, width, height).
pub fn tray_icon_rgba(state: TrayState) -> Result<(Vec<u8>, u32, u32), String> {
    decode_rgba(state.png())
}

/// The app icon for the window, 64×64, as (RGBA8 pixels, width, height).
pub fn app_icon_rgba() -> Result<(Vec<u8>, u32, u32), String> {
    decode_rgba(APP_ICON_64)
}

/// Decodes a PNG of any colour type and bit depth to 8-bit RGBA.
fn decode_rgba(bytes: &[u8]) -> Result<(Vec<u8>, u32, u32), String> {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    // Palette → RGB(A), gray below 8 bits → 8 bits, tRNS → alpha, 16 bits → 8.
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder
        .read_info()
        .map_err(|e| format!("cannot read the icon: {e}"))?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| "the icon is too large to decode".to_owned())?;
    let mut buffer = vec![0; size];
    let frame = reader
        .next_frame(&mut buffer)
        .map_err(|e| format!("cannot decode the icon: {e}"))?;
    buffer.truncate(frame.buffer_size());
    if frame.bit_depth != png::BitDepth::Eight {
        return Err(format!(
            "the icon has {:?} samples after decoding, expected 8 bits",
            frame.bit_depth
        ));
    }
    let rgba = match frame.color_type {
        png::ColorType::Rgba => buffer,
        png::ColorType::Rgb => buffer
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], u8::MAX])
            .collect(),
        png::ColorType::GrayscaleAlpha => buffer
            .chunks_exact(2)
            .flat_map(|p| [p[0], p[0], p[0], p[1]])
            .collect(),
        png::ColorType::Grayscale => buffer.iter().flat_map(|&g| [g, g, g, u8::MAX]).collect(),
        png::ColorType::Indexed => {
            return Err("the icon's palette was not expanded".to_owned());
        }
    };
    let expected = u64::from(frame.width) * u64::from(frame.height) * 4;
    if rgba.len() as u64 != expected {
        return Err(format!(
            "the icon decoded to {} bytes, expected {expected} for {}×{}",
            rgba.len(),
            frame.width,
            frame.height
        ));
    }
    Ok((rgba, frame.width, frame.height))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tray_state_decodes_to_32_by_32_rgba() {
        for state in TrayState::ALL {
            let (pixels, width, height) = tray_icon_rgba(state).unwrap();
            assert_eq!((width, height), (32, 32), "{state:?}");
            assert_eq!(pixels.len(), 32 * 32 * 4, "{state:?}");
            // Not blank: the corners are transparent, the middle is drawn.
            assert_eq!(pixels[3], 0, "{state:?}: top-left corner is transparent");
            let centre = (16 * 32 + 16) * 4;
            assert_eq!(pixels[centre + 3], u8::MAX, "{state:?}: centre is opaque");
        }
    }

    #[test]
    fn tray_states_look_different() {
        let icons: Vec<_> = TrayState::ALL
            .iter()
            .map(|&s| tray_icon_rgba(s).unwrap().0)
            .collect();
        for (i, a) in icons.iter().enumerate() {
            for b in &icons[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn app_icon_decodes_to_64_by_64_rgba() {
        let (pixels, width, height) = app_icon_rgba().unwrap();
        assert_eq!((width, height), (64, 64));
        assert_eq!(pixels.len(), 64 * 64 * 4);
    }

    #[test]
    fn gray_and_palette_pngs_are_expanded() {
        // A 2×1 grayscale PNG and a 2×1 paletted one with a transparent entry.
        let mut gray = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut gray, 2, 1);
            encoder.set_color(png::ColorType::Grayscale);
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder.write_header().unwrap();
            writer.write_image_data(&[10, 200]).unwrap();
        }
        let (pixels, w, h) = decode_rgba(&gray).unwrap();
        assert_eq!((w, h), (2, 1));
        assert_eq!(pixels, [10, 10, 10, 255, 200, 200, 200, 255]);

        let mut indexed = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut indexed, 2, 1);
            encoder.set_color(png::ColorType::Indexed);
            encoder.set_depth(png::BitDepth::Eight);
            encoder.set_palette(vec![255, 0, 0, 0, 0, 255]);
            encoder.set_trns(vec![0, 255]);
            let mut writer = encoder.write_header().unwrap();
            writer.write_image_data(&[0, 1]).unwrap();
        }
        let (pixels, _, _) = decode_rgba(&indexed).unwrap();
        assert_eq!(pixels, [255, 0, 0, 0, 0, 0, 255, 255]);
    }
}
