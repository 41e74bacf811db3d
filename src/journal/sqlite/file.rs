//! Which file the journal was opened on, so a run notices when it is no longer that file.
//!
//! SQLite keeps writing to the file it opened, even after it was deleted (the open descriptor
//! keeps the inode alive) or replaced by another file at the same path (a restore from backup, a
//! sync tool). Such a run "succeeds" into a journal nobody will read again, and the next run,
//! finding no record of the password reset or the mail sent, does them a second time. Comparing
//! the path's device and inode with the ones seen at open, before each write, stops the run
//! before its next write instead.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub(super) struct FileIdentity {
    path: PathBuf,
    id: (u64, u64),
}

impl FileIdentity {
    /// The identity of the file at `path` now (`None` when it cannot be read).
    pub fn capture(path: &Path) -> Option<FileIdentity> {
        Some(FileIdentity { path: path.to_path_buf(), id: identity(path)? })
    }

    /// `Err` with the reason when the path no longer names the file that was opened.
    pub fn check(&self) -> Result<(), String> {
        match identity(&self.path) {
            Some(id) if id == self.id => Ok(()),
            Some(_) => Err("the journal file was replaced by another file since this run opened it: stopped before the next write".into()),
            None => Err("the journal file was removed since this run opened it: stopped before the next write".into()),
        }
    }
}

#[cfg(unix)]
fn identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// Elsewhere only removal is noticed (no inode to compare).
#[cfg(not(unix))]
fn identity(path: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|_| (0, 0))
}
