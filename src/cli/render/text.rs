//! Text that fits a width: the terminal's columns, truncation with an ellipsis, word wrapping.
//!
//! Widths are counted in terminal columns (`unicode-width`), not bytes or chars: a target such as
//! "Lee's iPhone" or a "→" in a mailbox permission must not push a line past the edge.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// The narrowest width we lay out for: below it a line of step columns no longer reads.
const MIN_WIDTH: usize = 40;

/// The columns to lay out for: the terminal's (stdout's), else `$COLUMNS`, else 80 (a pipe, a
/// file: `less` and `head` show 80 columns without wrapping them into noise).
pub fn width() -> usize {
    if let Some((terminal_size::Width(w), _)) = terminal_size::terminal_size() {
        return usize::from(w).max(MIN_WIDTH);
    }
    std::env::var("COLUMNS").ok().and_then(|c| c.parse::<usize>().ok()).filter(|w| *w > 0).unwrap_or(80).max(MIN_WIDTH)
}

pub fn cols(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// `s` cut to at most `max` columns, ending in "…" when something was cut.
pub fn truncate(s: &str, max: usize) -> String {
    if cols(s) <= max {
        return s.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w + 1 > max {
            break;
        }
        out.push(c);
        used += w;
    }
    if max > 0 {
        out.push('…');
    }
    out
}

/// `s` truncated or padded with spaces to exactly `n` columns.
pub fn fit(s: &str, n: usize) -> String {
    let t = truncate(s, n);
    let pad = n.saturating_sub(cols(&t));
    format!("{t}{}", " ".repeat(pad))
}

/// Word-wrapped lines of at most `width` columns, the first starting with `first`, the others
/// with `rest` (a hanging indent). A word longer than a line is truncated rather than split.
pub fn wrap(text: &str, width: usize, first: &str, rest: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = first.to_string();
    let mut empty = true;
    for word in text.split_whitespace() {
        if !empty && cols(&line) + 1 + cols(word) > width {
            lines.push(std::mem::take(&mut line));
            line = rest.to_string();
            empty = true;
        }
        let room = width.saturating_sub(cols(&line) + usize::from(!empty));
        let word = truncate(word, room.max(1));
        if !empty {
            line.push(' ');
        }
        line.push_str(&word);
        empty = false;
    }
    if !empty || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Parts joined with " · ", starting a new line (indented by `rest`) where the next part would
/// pass the width; a single part longer than the width is truncated.
pub fn fill_parts(parts: &[String], width: usize, rest: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for p in parts {
        if line.is_empty() {
            line = truncate(p, width);
        } else if cols(&line) + 3 + cols(p) <= width {
            line.push_str(" · ");
            line.push_str(p);
        } else {
            lines.push(std::mem::take(&mut line));
            line = truncate(&format!("{rest}{p}"), width);
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_counts_columns_and_marks_the_cut() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("abcdefghij", 5), "abcd…");
        assert_eq!(cols(&truncate("a → b → c → d", 6)), 6);
        assert_eq!(fit("ab", 4), "ab  ");
        assert_eq!(fit("abcdef", 4), "abc…");
    }

    #[test]
    fn wrap_keeps_every_line_within_the_width() {
        let text = "in Entra ID: remove leaver.cloud@contoso.test from the group Licence - Visio Users (it assigns VISIOCLIENT)";
        let lines = wrap(text, 30, "  - ", "    ");
        assert!(lines.len() > 2, "{lines:?}");
        assert!(lines.iter().all(|l| cols(l) <= 30), "{lines:?}");
        assert!(lines[0].starts_with("  - in") && lines[1].starts_with("    "), "{lines:?}");
        // Nothing lost but a too-long word's tail.
        assert_eq!(lines.join(" ").split_whitespace().collect::<Vec<_>>().join(" ").replace("- ", ""), text.replace("- ", ""));
        let long = wrap("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa b", 10, "", "");
        assert!(long.iter().all(|l| cols(l) <= 10), "{long:?}");
    }

    #[test]
    fn fill_parts_breaks_between_parts() {
        let parts: Vec<String> = ["plan", "default.rhai", "tenant demo", "user leaver.cloud@contoso.test"].map(String::from).into();
        let lines = fill_parts(&parts, 40, "  ");
        assert_eq!(lines, vec!["plan · default.rhai · tenant demo", "  user leaver.cloud@contoso.test"]);
    }
}
