//! Printing to stdout that a closed pipe cannot crash.
//!
//! Rust ignores SIGPIPE, so a write to a pipe whose reader has gone (`runs list | head -1`) fails
//! with `BrokenPipe`, and `print!` turns that failure into a panic. The reader leaving early is
//! its choice, not our error: [`text`] and [`line`] (and the [`outln!`] / [`out!`] macros) stop
//! printing quietly instead, and the command goes on to finish its work (a run still closes its
//! journal entry) and exits with its own code. `unsafe` code to restore the default SIGPIPE action
//! is not an option (the crate forbids it), and it would kill a run half-way through.

use std::io::{ErrorKind, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once stdout's reader has gone: later output is dropped without another try.
static CLOSED: AtomicBool = AtomicBool::new(false);

/// Print `s` as it is.
pub fn text(s: &str) {
    write_to(&mut std::io::stdout().lock(), &CLOSED, s);
}

/// Print `s` and a newline.
pub fn line(s: &str) {
    let mut out = std::io::stdout().lock();
    write_to(&mut out, &CLOSED, s);
    write_to(&mut out, &CLOSED, "\n");
}

/// Has stdout's reader gone away?
pub fn closed() -> bool {
    CLOSED.load(Ordering::Relaxed)
}

/// Write and flush `s` unless `closed`; a broken pipe sets `closed`, any other failure is reported
/// once on stderr (what `print!` would have panicked with) and sets it too.
fn write_to(out: &mut dyn Write, closed: &AtomicBool, s: &str) {
    if s.is_empty() || closed.load(Ordering::Relaxed) {
        return;
    }
    if let Err(e) = out.write_all(s.as_bytes()).and_then(|()| out.flush()) {
        closed.store(true, Ordering::Relaxed);
        if e.kind() != ErrorKind::BrokenPipe {
            eprintln!("error: cannot write to stdout: {e}");
        }
    }
}

/// `println!` that a closed pipe cannot crash (see the module doc).
macro_rules! outln {
    () => { $crate::cli::out::line("") };
    ($($arg:tt)*) => { $crate::cli::out::line(&format!($($arg)*)) };
}

/// `print!` that a closed pipe cannot crash.
macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::out::text(&format!($($arg)*)) };
}

pub(crate) use {out, outln};

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that has gone: every write fails with BrokenPipe.
    struct Gone;
    impl Write for Gone {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::from(ErrorKind::BrokenPipe))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_broken_pipe_stops_the_output_without_a_panic() {
        let closed = AtomicBool::new(false);
        write_to(&mut Gone, &closed, "first\n");
        assert!(closed.load(Ordering::Relaxed), "the broken pipe is remembered");
        let mut sink: Vec<u8> = Vec::new();
        write_to(&mut sink, &closed, "later\n");
        assert!(sink.is_empty(), "nothing is written once the reader has gone");
    }
}
