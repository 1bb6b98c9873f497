//! A QR code drawn in the terminal with half-block characters, dark on light
//! whatever the terminal's colours, with the quiet zone scanners need.
//!
//! The code's modules spell out the secret as surely as the URI does, so the
//! module matrix is wiped once drawn, and the drawing is made in one buffer of
//! its final size (a growing buffer would leave copies behind) that is wiped
//! when dropped. The `qrcode` crate's own working buffers, inside
//! `QrCode::new`, are freed by it unwiped: that copy is out of our reach.

use qrcode::{Color, QrCode};
use zeroize::Zeroizing;

const QUIET: usize = 2;
/// Each text line: black on white, the modules, then back to the terminal's colours.
const LINE_START: &str = "\x1b[30;107m";
const LINE_END: &str = "\x1b[0m\n";

/// The bytes a drawing of `size` modules square takes (a half block is 3 bytes in UTF-8).
fn drawing_len(size: usize) -> usize {
    size.div_ceil(2) * (LINE_START.len() + 3 * size + LINE_END.len())
}

/// Draws `text` as a QR code: two module rows per text line.
pub fn render(text: &str) -> Result<Zeroizing<String>, String> {
    let code = QrCode::new(text.as_bytes())
        .map_err(|e| format!("cannot draw this URI as a QR code: {e}"))?;
    let width = code.width();
    let mut colors = code.into_colors();
    let dark = |x: usize, y: usize| -> bool {
        x >= QUIET
            && y >= QUIET
            && x - QUIET < width
            && y - QUIET < width
            && colors.get((y - QUIET) * width + (x - QUIET)) == Some(&Color::Dark)
    };
    let size = width + 2 * QUIET;
    let mut out = Zeroizing::new(String::with_capacity(drawing_len(size)));
    for y in (0..size).step_by(2) {
        // Black characters on a white background.
        out.push_str(LINE_START);
        for x in 0..size {
            out.push(match (dark(x, y), dark(x, y + 1)) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        out.push_str(LINE_END);
    }
    wipe(&mut colors);
    Ok(out)
}

/// Sets every module light before the matrix is freed.
fn wipe(colors: &mut [Color]) {
    colors.fill(Color::Light);
    // Keeps the stores: the matrix is read (as far as the compiler knows) after them.
    std::hint::black_box(&*colors);
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
        // Drawn in the one buffer made for it: it never grew, so it left no copy behind.
        assert_eq!(art.capacity(), drawing_len(size));
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

    #[test]
    fn the_buffer_never_grows_whatever_the_size() {
        for n in [1, 40, 100, 300, 1000] {
            let text = format!("otpauth://totp/x?secret={}", "A".repeat(n));
            let art = render(&text).unwrap();
            let size = QrCode::new(text.as_bytes()).unwrap().width() + 2 * QUIET;
            assert!(art.len() <= drawing_len(size), "{n}");
            assert_eq!(art.capacity(), drawing_len(size), "{n}: the buffer grew");
        }
    }

    #[test]
    fn the_matrix_is_wiped() {
        let mut colors = QrCode::new(b"JBSWY3DPEHPK3PXP").unwrap().into_colors();
        assert!(colors.contains(&Color::Dark));
        wipe(&mut colors);
        assert!(colors.iter().all(|c| *c == Color::Light));
    }
}
