//! Text that came from the network (a provider's error message, a date or
//! code it sent), made safe to print on a terminal and to store: a hostile
//! provider, or anyone on the plain-HTTP path, must not be able to clear the
//! screen, move the cursor or overwrite a line of `status` with fake text,
//! nor fill stderr and the database with megabytes.
//!
//! Control characters (C0, DEL, C1 including the 8-bit CSI U+009B) and the
//! invisible characters that reorder or break a line (bidirectional
//! overrides, line and paragraph separators) are shown escaped, `\u{1b}`,
//! so the reader sees that they were there. The result is cut to
//! [`MAX_CHARS`] characters. Registered secrets are removed first, so that a
//! cut never leaves part of one behind.

use crate::secret::scrub;

/// The most characters kept of one piece of provider text.
pub(crate) const MAX_CHARS: usize = 300;

/// `text` on one line: every control character escaped, newlines and tabs
/// included.
pub(crate) fn one_line(text: &str) -> String {
    clean(text, false)
}

/// `text` with every control character but newline and tab escaped,
/// whatever its length: for what fxrates writes whole (its own words around
/// provider text that was cut where it entered), so that nothing on stderr
/// can drive the terminal.
pub(crate) fn escaped(text: &str) -> String {
    clean_to(text, true, usize::MAX)
}

fn clean(text: &str, keep_lines: bool) -> String {
    clean_to(text, keep_lines, MAX_CHARS)
}

fn clean_to(text: &str, keep_lines: bool, max: usize) -> String {
    let text = scrub(text);
    let mut out = String::with_capacity(text.len().min(max.saturating_add(16)));
    let mut kept = 0;
    for (i, c) in text.char_indices() {
        if kept >= max {
            let left = text[i..].chars().count();
            out.push_str(&format!("... ({left} more characters)"));
            break;
        }
        if (keep_lines && matches!(c, '\n' | '\t')) || !unsafe_char(c) {
            out.push(c);
            kept += 1;
        } else {
            // Counted as what it shows: an escape is several characters.
            let escaped = format!("\\u{{{:x}}}", u32::from(c));
            kept += escaped.len();
            out.push_str(&escaped);
        }
    }
    out
}

/// Whether `c` can change how a terminal shows what follows it.
fn unsafe_char(c: char) -> bool {
    c.is_control() // C0, DEL and C1
        || matches!(c,
            '\u{200e}' | '\u{200f}' // left-to-right and right-to-left marks
            | '\u{2028}' | '\u{2029}' // line and paragraph separators
            | '\u{202a}'..='\u{202e}' // bidirectional embeddings and overrides
            | '\u{2066}'..='\u{2069}' // bidirectional isolates
            | '\u{feff}' // byte order mark, zero width
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_controls_are_escaped() {
        let hostile = "ok\x1b[2J\x1b]0;title\x07\x08\x00\rfake\u{9b}31m\x7f\u{85}end";
        let clean = one_line(hostile);
        assert_eq!(
            clean,
            "ok\\u{1b}[2J\\u{1b}]0;title\\u{7}\\u{8}\\u{0}\\u{d}fake\\u{9b}31m\\u{7f}\\u{85}end"
        );
        assert!(!clean.chars().any(char::is_control), "{clean:?}");
    }

    #[test]
    fn newlines_and_tabs_stay_only_where_lines_are_wanted() {
        assert_eq!(one_line("a\nb\tc"), "a\\u{a}b\\u{9}c");
        assert_eq!(clean("a\nb\tc\r\x1b", true), "a\nb\tc\\u{d}\\u{1b}");
    }

    #[test]
    fn text_that_reorders_a_line_is_escaped() {
        assert_eq!(
            one_line("a\u{202e}b\u{2066}c\u{2028}"),
            "a\\u{202e}b\\u{2066}c\\u{2028}"
        );
    }

    #[test]
    fn a_whole_line_is_escaped_but_never_cut() {
        let line = format!("{}\x1b[2J", "w".repeat(1000));
        let out = escaped(&line);
        assert!(
            out.starts_with(&"w".repeat(1000)) && out.ends_with("\\u{1b}[2J"),
            "{out}"
        );
    }

    #[test]
    fn ordinary_text_is_unchanged() {
        let text = "Your monthly usage limit has been reached. Ünïcödé, 日本円 € ok.";
        assert_eq!(one_line(text), text);
    }

    #[test]
    fn long_text_is_cut_and_says_how_much_was_left() {
        let long = "x".repeat(5 * 1024 * 1024);
        let clean = one_line(&long);
        assert!(clean.len() < MAX_CHARS + 40, "{}", clean.len());
        assert!(clean.starts_with(&"x".repeat(MAX_CHARS)));
        assert!(
            clean.ends_with(&format!("... ({} more characters)", long.len() - MAX_CHARS)),
            "{clean}"
        );
        // Escapes count as what they print: a body of controls stays short.
        let controls = one_line(&"\x1b".repeat(100_000));
        assert!(controls.len() < MAX_CHARS + 40, "{}", controls.len());
        assert_eq!(one_line(&"y".repeat(MAX_CHARS)), "y".repeat(MAX_CHARS));
    }

    #[test]
    fn a_secret_is_removed_before_the_cut_so_none_of_it_survives() {
        let key = "untrusted-cut-test-0123456789abcdef";
        crate::secret::register(key);
        for pad in 250..MAX_CHARS {
            let text = format!("{}{key}", "p".repeat(pad));
            let clean = one_line(&text);
            assert!(!clean.contains("untrusted-cut"), "{clean}");
        }
    }
}
