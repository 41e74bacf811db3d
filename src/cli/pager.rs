//! Long output on a terminal goes through a pager: `runs show` and `--wide` print the full table,
//! which on an 80×30 screen would scroll its start away.
//!
//! The pager is `$PAGER`, or `less -FRX` (quit if one screen holds it, keep colours, leave the
//! text on the screen afterwards, as `git` does). Only when stdout is a terminal and the text is
//! taller than it: piped to a file, `head` or `grep`, the text is printed as it is. `PAGER=` (empty)
//! or `PAGER=cat` turns paging off. If the pager cannot be started, the text is printed instead:
//! output is never lost to a missing `less`.

use super::out::out;
use std::io::{IsTerminal, Write};
use std::process::{Command, Stdio};

/// Print `text`, through the pager when it is taller than the terminal.
pub fn print_paged(text: &str) {
    let rows = terminal_size::terminal_size().map(|(_, terminal_size::Height(h))| usize::from(h));
    let pager = std::env::var("PAGER").ok();
    match pager_for(std::io::stdout().is_terminal(), rows, text, pager.as_deref()) {
        Some(cmd) if page(&cmd, text) => {}
        _ => out!("{text}"),
    }
}

/// The pager command to use, or None to print directly.
fn pager_for(is_terminal: bool, rows: Option<usize>, text: &str, pager: Option<&str>) -> Option<String> {
    let rows = rows?;
    if !is_terminal || text.lines().count() < rows {
        return None;
    }
    match pager.map(str::trim) {
        Some("") | Some("cat") => None,
        Some(p) => Some(p.to_string()),
        None => Some("less -FRX".to_string()),
    }
}

/// Run the pager with `text` on its stdin; false when it could not be started.
fn page(cmd: &str, text: &str) -> bool {
    // Through the shell, as git does: `$PAGER` may carry its own arguments ("less -S").
    let Ok(mut child) = Command::new("sh").args(["-c", cmd]).stdin(Stdio::piped()).spawn() else {
        return false;
    };
    if let Some(mut stdin) = child.stdin.take() {
        // A pager quit early (`q`) closes the pipe: that is the reader's choice, not an error.
        let _ = stdin.write_all(text.as_bytes());
    }
    // A shell that cannot find the pager exits 127 before reading: print the text instead.
    !matches!(child.wait().map(|s| s.code()), Ok(Some(127)) | Err(_))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_text_taller_than_a_terminal_is_paged() {
        let tall = "x\n".repeat(40);
        assert_eq!(pager_for(true, Some(30), &tall, None).as_deref(), Some("less -FRX"));
        assert_eq!(pager_for(true, Some(30), &tall, Some("most")).as_deref(), Some("most"));
        assert_eq!(pager_for(true, Some(30), "short\n", None), None, "one screen holds it");
        assert_eq!(pager_for(false, Some(30), &tall, None), None, "piped: printed as it is");
        assert_eq!(pager_for(true, None, &tall, None), None, "no terminal size known");
        assert_eq!(pager_for(true, Some(30), &tall, Some("")), None, "PAGER= turns it off");
        assert_eq!(pager_for(true, Some(30), &tall, Some("cat")), None);
    }
}
