//! What the token shows: a pure function of the tokens, their codes at one
//! moment, and the terminal width. The live loop around it only redraws.

use softtoken_core::otp::Mode;
use softtoken_core::{Code, Origin, TokenInfo};

/// One token and, for TOTP, its code at the moment drawn.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The token.
    pub info: TokenInfo,
    /// Its code now; `None` for HOTP, whose codes are drawn on demand only.
    pub code: Option<Code>,
}

/// Groups a code for reading aloud or typing: `123 456`, `1234 567`, `1234 5678`.
pub fn group_code(code: &str) -> String {
    let split = code.len().div_ceil(2).max(3).min(code.len());
    match (code.get(..split), code.get(split..)) {
        (Some(a), Some(b)) if !b.is_empty() => format!("{a} {b}"),
        _ => code.to_string(),
    }
}

/// A countdown bar `width` cells wide for `left` of `period` seconds.
pub fn bar(left: u64, period: u64, width: usize) -> String {
    let filled = if period == 0 {
        0
    } else {
        ((u128::from(left) * width as u128 + u128::from(period) / 2) / u128::from(period)) as usize
    };
    let filled = filled.min(width);
    format!("{}{}", "█".repeat(filled), "░".repeat(width - filled))
}

fn fit(line: String, width: usize) -> String {
    if line.chars().count() <= width {
        line
    } else {
        line.chars().take(width).collect()
    }
}

fn title(info: &TokenInfo) -> String {
    match (&info.issuer, info.origin) {
        (_, Origin::Issued | Origin::Service) => "softtoken".to_string(),
        (Some(issuer), _) if *issuer != info.label => format!("{issuer} · {}", info.label),
        _ => info.label.clone(),
    }
}

/// The screen: every token (the seed's first), each with serial, code, countdown and next code.
pub fn render(entries: &[Entry], width: u16) -> Vec<String> {
    let width = usize::from(width.max(20));
    let bar_width = width.saturating_sub(24).clamp(10, 30);
    let mut lines = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        if i > 0 {
            lines.push(String::new());
        }
        lines.push(title(&entry.info));
        lines.push(format!("  Serial number   {}", entry.info.serial.grouped()));
        match (&entry.code, entry.info.params.mode) {
            (Some(code), Mode::Totp { period }) => {
                lines.push(format!(
                    "  Security code   {}",
                    group_code(code.value.as_str())
                ));
                let left = code.window.map_or(0, |w| w.seconds_left);
                lines.push(format!(
                    "                  {} {left:>2} s",
                    bar(left, period, bar_width)
                ));
                lines.push(format!(
                    "  Next code       {}",
                    group_code(code.next.as_str())
                ));
            }
            _ => lines.push(format!(
                "  Counter-based: run `softtoken code --serial {}` for the next code",
                entry.info.serial.as_str()
            )),
        }
    }
    if entries.is_empty() {
        lines.push(
            "No tokens: run `softtoken` again to issue one, or `softtoken import URI`.".into(),
        );
    }
    lines.push(String::new());
    lines.push("q: quit".into());
    lines.into_iter().map(|l| fit(l, width)).collect()
}

/// One line per token for output that is not a terminal: serial, code and seconds left.
pub fn plain(entries: &[Entry]) -> Vec<String> {
    entries
        .iter()
        .map(|e| {
            let name = match e.info.origin {
                Origin::Issued | Origin::Service => String::new(),
                Origin::Imported => format!("  {}", title(&e.info)),
            };
            match &e.code {
                Some(code) => format!(
                    "{}  {}  {} s left{name}",
                    e.info.serial.grouped(),
                    code.value,
                    code.window.map_or(0, |w| w.seconds_left)
                ),
                None => format!(
                    "{}  (counter-based: use `softtoken code --serial`){name}",
                    e.info.serial.grouped()
                ),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use softtoken_core::otp::{self, OtpParams};
    use softtoken_core::{Prefix, Secret, Serial};

    fn entry(origin: Origin, time: u64) -> Entry {
        let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
        let params = OtpParams::default();
        Entry {
            info: TokenInfo {
                serial: Serial::from_parts(Prefix::DESKTOP, 1234567),
                label: "alice".into(),
                issuer: Some("Example".into()),
                params,
                origin,
                created: 0,
            },
            code: Some(otp::generate(&secret, &params, time).unwrap()),
        }
    }

    #[test]
    fn grouping() {
        assert_eq!(group_code("123456"), "123 456");
        assert_eq!(group_code("1234567"), "1234 567");
        assert_eq!(group_code("12345678"), "1234 5678");
        assert_eq!(bar(30, 30, 10), "██████████");
        assert_eq!(bar(15, 30, 10), "█████░░░░░");
        assert_eq!(bar(1, 30, 10), "░░░░░░░░░░");
    }

    #[test]
    fn the_screen_at_a_known_time() {
        // RFC 6238: at t=59 the SHA1 code is 287082 (6 digits), 1 s left; next (t=60) 359152.
        let lines = render(
            &[entry(Origin::Issued, 59), entry(Origin::Imported, 45)],
            60,
        );
        let check = Serial::from_parts(Prefix::DESKTOP, 1234567).grouped();
        assert_eq!(lines[0], "softtoken");
        assert_eq!(lines[1], format!("  Serial number   {check}"));
        assert_eq!(lines[2], "  Security code   287 082");
        assert_eq!(
            lines[3],
            format!("                  {}  1 s", bar(1, 30, 30))
        );
        assert_eq!(lines[4], "  Next code       359 152");
        assert_eq!(lines[6], "Example · alice");
        assert_eq!(
            lines[9],
            format!("                  {} 15 s", bar(15, 30, 30))
        );
        assert_eq!(lines.last().unwrap(), "q: quit");
    }

    #[test]
    fn narrow_terminals_are_cut_not_wrapped() {
        for width in [0, 20, 25, 40] {
            for line in render(&[entry(Origin::Issued, 59)], width) {
                assert!(line.chars().count() <= usize::from(width.max(20)), "{line}");
            }
        }
    }

    #[test]
    fn plain_lines() {
        let lines = plain(&[entry(Origin::Issued, 59), entry(Origin::Imported, 59)]);
        let serial = Serial::from_parts(Prefix::DESKTOP, 1234567).grouped();
        assert_eq!(lines[0], format!("{serial}  287082  1 s left"));
        assert_eq!(
            lines[1],
            format!("{serial}  287082  1 s left  Example · alice")
        );
    }
}
