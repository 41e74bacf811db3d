//! SQLite journal (in progress)
use super::*;
pub struct SqliteJournal;
