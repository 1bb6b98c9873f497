//! What people type: full-width forms folded to ASCII, separators dropped.

/// Folds a full-width ASCII form (as typed with a Japanese input method) to ASCII, and the ideographic space to a space.
pub fn fold_width(c: char) -> char {
    match u32::from(c) {
        0xFF01..=0xFF5E => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        0x3000 => ' ',
        _ => c,
    }
}

/// True for the separators people put between groups: spaces, hyphens and their full-width forms.
pub fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '\t' | '\u{2010}'..='\u{2015}' | '\u{2212}')
}

/// Folds widths, drops separators and upper-cases ASCII letters.
pub fn normalize(text: &str) -> String {
    text.chars()
        .map(fold_width)
        .filter(|c| !is_separator(*c))
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_what_people_type() {
        assert_eq!(normalize("ｓｓｔａ　１２３４－5678"), "SSTA12345678");
        assert_eq!(normalize(" sSta-1234 5678 "), "SSTA12345678");
        assert_eq!(normalize("１２３ ４５６"), "123456");
        assert_eq!(fold_width('é'), 'é');
    }
}
