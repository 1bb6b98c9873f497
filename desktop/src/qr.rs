//! A QR code drawn in the terminal with half-block characters, dark on light
//! whatever the terminal's colours, with the quiet zone scanners need.

use qrcode::{Color, QrCode};
use zeroize::Zeroizing;

const QUIET: usize = 2;

/// Draws `text` as a QR code: two module rows per text line.
pub fn render(text: &str) -> Result<Zeroizing<String>, String> {
    let code = QrCode::new(text.as_bytes())
        .map_err(|e| format!("cannot draw this URI as a QR code: {e}"))?;
    let width = code.width();
    let colors = code.to_colors();
    let dark = |x: usize, y: usize| -> bool {
        x >= QUIET
            && y >= QUIET
            && x - QUIET < width
            && y - QUIET < width
            && colors.get((y - QUIET) * width + (x - QUIET)) == Some(&Color::Dark)
    };
    let size = width + 2 * QUIET;
    let mut out = Zeroizing::new(String::new());
    for y in (0..size).step_by(2) {
        // Black characters on a white background.
        out.push_str("\x1b[30;107m");
        for x in 0..size {
            out.push(match (dark(x, y), dark(x, y + 1)) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        out.push_str("\x1b[0m\n");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_a_square_with_finder_patterns() {
        let art = render("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP").unwrap();
        let lines: Vec<&str> = art.lines().collect();
        let code = QrCode::new(b"otpauth://totp/x?secret=JBSWY3DPEHPK3PXP").unwrap();
        let size = code.width() + 2 * QUIET;
        assert_eq!(lines.len(), size.div_ceil(2));
        for line in &lines {
            let body = line
                .trim_start_matches("\x1b[30;107m")
                .trim_end_matches("\x1b[0m");
            assert_eq!(body.chars().count(), size);
        }
        // The top-left finder pattern starts on the third module row (the top half of text line 1): 7 dark modules.
        let second: Vec<char> = lines[1]
            .trim_start_matches("\x1b[30;107m")
            .chars()
            .collect();
        assert!(second[QUIET..QUIET + 7]
            .iter()
            .all(|c| *c == '▀' || *c == '█'));
        assert_eq!(second[QUIET - 1], ' ');
    }
}
