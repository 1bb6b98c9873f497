//! What the token shows: a pure function of the tokens, their codes at one
//! moment, and the terminal width. Titles, grouping and the countdown come
//! from the core's presentation model (`softtoken_core::view`); this file only lays them out.
//! The live loop around it only redraws.

use softtoken_core::otp::Mode;
use softtoken_core::view::Card;
use softtoken_core::{Code, Origin, TokenInfo};

/// One token and, for TOTP, its code at the moment drawn.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The token.
    pub info: TokenInfo,
    /// Its code now; `None` for HOTP, whose codes are drawn on demand only.
    pub code: Option<Code>,
}

impl Entry {
    /// The token and its code as the presentation model shows them.
    pub fn card(&self) -> Card {
        Card::new(self.info.clone(), self.code.as_ref())
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

/// The screen: every token (the seed's first), each with serial, code, countdown and next code.
pub fn render(entries: &[Entry], width: u16) -> Vec<String> {
    let width = usize::from(width.max(20));
    let bar_width = width.saturating_sub(24).clamp(10, 30);
    let mut lines = Vec::new();
    for (i, card) in entries.iter().map(Entry::card).enumerate() {
        if i > 0 {
            lines.push(String::new());
        }
        lines.push(card.token.title.clone());
        lines.push(format!("  Serial number   {}", card.token.display_serial));
        match (&card.code, card.code.as_ref().and_then(|c| c.countdown)) {
            (Some(code), Some(countdown)) => {
                lines.push(format!("  Security code   {}", code.grouped));
                lines.push(format!(
                    "                  {} {:>2} s",
                    bar(countdown.seconds_left, countdown.period, bar_width),
                    countdown.seconds_left
                ));
                lines.push(format!("  Next code       {}", code.next_grouped));
            }
            _ => lines.push(format!(
                "  Counter-based: run `softtoken code --serial {}` for the next code",
                card.token.serial
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

/// One line per token for output that is not a terminal: serial, code and seconds left,
/// then the title of an imported account (the token issued here is the one without).
pub fn plain(entries: &[Entry]) -> Vec<String> {
    entries
        .iter()
        .map(Entry::card)
        .map(|card| {
            let name = match card.token.origin {
                Origin::Issued | Origin::Service => String::new(),
                Origin::Imported => format!("  {}", card.token.title),
            };
            match &card.code {
                Some(code) => format!(
                    "{}  {}  {} s left{name}",
                    card.token.display_serial,
                    code.value,
                    code.countdown.map_or(0, |c| c.seconds_left)
                ),
                None => format!(
                    "{}  (counter-based: use `softtoken code --serial`){name}",
                    card.token.display_serial
                ),
            }
        })
        .collect()
}

/// A token for `show --json` and `list --json`: its stored fields and, when drawn, its code, from the presentation model.
pub fn json(entry: &Entry) -> serde_json::Value {
    let card = entry.card();
    let info = &entry.info;
    let (kind, period, counter) = match info.params.mode {
        Mode::Totp { period } => ("totp", Some(period), None),
        Mode::Hotp { counter } => ("hotp", None, Some(counter)),
    };
    let code = card.code.as_ref();
    let countdown = code.and_then(|c| c.countdown);
    serde_json::json!({
        "serial": card.token.serial,
        "display_serial": card.token.display_serial,
        "title": card.token.title,
        "code": code.map(|c| c.value.as_str()),
        "next_code": code.map(|c| c.next_value.as_str()),
        "valid_from": countdown.map(|c| c.valid_from),
        "valid_until": countdown.map(|c| c.valid_until),
        "seconds_left": countdown.map(|c| c.seconds_left),
        "label": info.label,
        "issuer": info.issuer,
        "kind": kind,
        "algorithm": info.params.algorithm.name(),
        "digits": info.params.digits.get(),
        "period": period,
        "counter": counter,
        "origin": match info.origin { Origin::Issued => "issued", Origin::Service => "service", Origin::Imported => "imported" },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use softtoken_core::otp::{self, OtpParams};
    use softtoken_core::{Prefix, Secret, Serial};

    fn entry(origin: Origin, time: u64) -> Entry {
        let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
        let params = OtpParams::default();
        let serial = Serial::from_parts(Prefix::DESKTOP, 1234567);
        Entry {
            info: TokenInfo {
                serial: serial.clone(),
                // As the vault stores them: the token issued here is named by its serial, under softtoken.
                label: match origin {
                    Origin::Issued | Origin::Service => serial.as_str().into(),
                    Origin::Imported => "alice".into(),
                },
                issuer: Some(match origin {
                    Origin::Issued | Origin::Service => "softtoken".into(),
                    Origin::Imported => "Example".into(),
                }),
                params,
                origin,
                created: 0,
            },
            code: Some(otp::generate(&secret, &params, time).unwrap()),
        }
    }

    #[test]
    fn bars() {
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
