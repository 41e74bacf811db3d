//! Runs the console started in the background (an approved run carried out, a restore), so a
//! form post answers at once with a redirect to the run's page, which shows how it went.
//!
//! What a finished run did is in the journal (its run, the approval's status); this map only
//! adds what the journal cannot say: that it is still going, or why it stopped before a run
//! was recorded (the plan changed, the user's lock was held). It is in memory: a restart
//! forgets it, the journal keeps the rest.

use std::collections::HashMap;
use std::sync::Mutex;

/// How a background run stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Task {
    Running {
        what: String,
    },
    /// Done: the run it made.
    Done {
        what: String,
        run_id: String,
    },
    Failed {
        what: String,
        error: String,
    },
}

/// The background runs, by the run id whose page shows them.
#[derive(Default)]
pub struct Tasks {
    map: Mutex<HashMap<String, Task>>,
}

impl Tasks {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Task>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Mark `page` as running `what`; false when a run is already going there (one at a time).
    pub fn start(&self, page: &str, what: &str) -> bool {
        let mut map = self.lock();
        if matches!(map.get(page), Some(Task::Running { .. })) {
            return false;
        }
        map.insert(page.to_string(), Task::Running { what: what.to_string() });
        true
    }

    pub fn finish(&self, page: &str, t: Task) {
        self.lock().insert(page.to_string(), t);
    }

    pub fn get(&self, page: &str) -> Option<Task> {
        self.lock().get(page).cloned()
    }
}

/// Run `work` on a blocking thread (it plans and writes through a tenant's APIs, and the
/// journal blocks), recording its end under `page`.
pub fn spawn(
    app: std::sync::Arc<super::App>,
    page: String,
    what: String,
    work: impl FnOnce(&super::App) -> Result<String, String> + Send + 'static,
) {
    tokio::task::spawn_blocking(move || {
        let t = match work(&app) {
            Ok(run_id) => Task::Done { what, run_id },
            Err(error) => Task::Failed { what, error },
        };
        app.tasks.finish(&page, t);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_run_at_a_time_per_page() {
        let t = Tasks::default();
        assert!(t.start("r1", "restore"));
        assert!(!t.start("r1", "restore"), "still running");
        assert!(t.start("r2", "restore"), "another page");
        t.finish("r1", Task::Failed { what: "restore".into(), error: "x".into() });
        assert!(t.start("r1", "restore"), "finished: may start again");
    }
}
