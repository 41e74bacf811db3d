//! Choosing the journal's back end: SQLite in a local file unless a PostgreSQL URL is given.
//!
//! SQLite is the zero-set-up default (one file under `$OFFBOARD_HOME`). A URL, from
//! `OFFBOARD_JOURNAL_URL` or `journal = "postgres://…"` in offboard-host.toml, moves the journal to
//! PostgreSQL, where workers on several machines share it. The environment wins over the file, so
//! one host can be pointed elsewhere (a test database, a migration) without editing the shared file.

use std::path::PathBuf;
use std::sync::Arc;

use super::{Journal, JournalError, PgJournal, Result, SqliteJournal};

/// The environment variable naming the journal's database URL (over the configuration file).
pub const JOURNAL_URL_ENV: &str = "OFFBOARD_JOURNAL_URL";

/// Where the journal lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalConfig {
    /// A `postgres://` (or `postgresql://`) URL; `None`: SQLite at `sqlite_path`.
    pub url: Option<String>,
    /// The SQLite file used without a URL.
    pub sqlite_path: PathBuf,
}

impl JournalConfig {
    /// From the configuration file's `journal` key and the environment (which wins); an empty
    /// value counts as unset.
    pub fn resolve(configured: Option<&str>, sqlite_path: PathBuf) -> JournalConfig {
        Self::choose(std::env::var(JOURNAL_URL_ENV).ok().as_deref(), configured, sqlite_path)
    }

    fn choose(from_env: Option<&str>, configured: Option<&str>, sqlite_path: PathBuf) -> JournalConfig {
        let set = |v: Option<&str>| v.map(str::trim).filter(|u| !u.is_empty()).map(String::from);
        JournalConfig { url: set(from_env).or_else(|| set(configured)), sqlite_path }
    }
}

/// `url` as it may be shown (in errors, logs): without its password.
pub fn redacted_url(url: &str) -> String {
    super::postgres::redact(url)
}

/// Open the journal the configuration names (creating or migrating its schema).
///
/// A URL of any other scheme is refused rather than read as a file name: a typo must not quietly
/// give a worker its own empty journal beside the shared one.
pub fn open(config: &JournalConfig) -> Result<Arc<dyn Journal>> {
    match config.url.as_deref() {
        None => Ok(Arc::new(SqliteJournal::open(&config.sqlite_path)?)),
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => Ok(Arc::new(PgJournal::open(url)?)),
        Some(url) => Err(JournalError::Storage {
            path: redacted_url(url),
            message:
                "unsupported journal URL: only postgres:// (or postgresql://) URLs are supported; leave it unset for the local SQLite file"
                    .into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_wins_over_the_file_and_empty_means_unset() {
        let p = PathBuf::from("j.db");
        let url = |env, file| JournalConfig::choose(env, file, p.clone()).url;
        assert_eq!(url(None, None), None);
        assert_eq!(url(None, Some("postgres://file/db")).as_deref(), Some("postgres://file/db"));
        assert_eq!(url(Some("postgres://env/db"), Some("postgres://file/db")).as_deref(), Some("postgres://env/db"));
        assert_eq!(url(Some("  "), Some("postgres://file/db")).as_deref(), Some("postgres://file/db"));
        assert_eq!(url(None, Some("")), None);
    }

    #[test]
    fn other_schemes_are_refused_and_no_url_is_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.db");
        let cfg = |url: Option<&str>| JournalConfig { url: url.map(String::from), sqlite_path: path.clone() };
        let err = open(&cfg(Some("mysql://u:secret@db/x"))).err().expect("refused").to_string();
        assert!(err.contains("only postgres://") && !err.contains("secret"), "{err}");
        open(&cfg(None)).unwrap();
        assert!(path.exists(), "the SQLite file is created");
    }
}
