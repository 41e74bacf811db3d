//! Finding runs: `runs list` with its filters, and a run named by a prefix of its id or `last`.
//!
//! The filters are SQL where the stored columns answer them. The status is not: a `running` run
//! whose process is gone is reported as `interrupted` (see `SqliteJournal::summary`), so the
//! stored status only narrows the rows, and the reported one decides.

use rusqlite::types::Value as SqlValue;

use super::{raw_run, ts, SqliteJournal, RUN_COLUMNS};
use crate::journal::{Result, RunQuery, RunStatus, RunSummary};

/// The stored statuses a run reported as `status` can have.
fn stored(status: RunStatus) -> Vec<&'static str> {
    match status {
        RunStatus::Interrupted => vec!["running", "interrupted"],
        s => vec![s.as_str()],
    }
}

/// The WHERE clause and its parameters for a query.
fn clause(q: &RunQuery) -> (String, Vec<SqlValue>) {
    let mut conds: Vec<String> = Vec::new();
    let mut params: Vec<SqlValue> = Vec::new();
    if let Some(p) = &q.id_prefix {
        // substr, not LIKE: a prefix with `_` or `%` must match only itself.
        params.push(SqlValue::Text(p.clone()));
        conds.push("substr(run_id, 1, length(?1)) = ?1".into());
    }
    let mut add = |cond: &str, value: String, params: &mut Vec<SqlValue>| {
        params.push(SqlValue::Text(value));
        conds.push(cond.replace('?', &format!("?{}", params.len())));
    };
    if let Some(t) = &q.tenant {
        add("tenant = ?", t.clone(), &mut params);
    }
    if let Some(u) = &q.user {
        // A UPN's case does not matter to the directories, so not here either.
        add("user = ? COLLATE NOCASE", u.clone(), &mut params);
    }
    if let Some(m) = q.mode {
        add("mode = ?", m.as_str().to_string(), &mut params);
    }
    if let Some(since) = &q.since {
        // Stored as RFC 3339 in UTC with a fixed precision: they compare as text.
        add("started_at >= ?", ts(since), &mut params);
    }
    if let Some(until) = &q.until {
        add("started_at < ?", ts(until), &mut params);
    }
    if let Some(part) = &q.user_contains {
        // instr, not LIKE: `_` and `%` in the text are themselves.
        add("instr(lower(user), lower(?)) > 0", part.clone(), &mut params);
    }
    if let Some(k) = q.workflow {
        add("run_id IN (SELECT id FROM workflow WHERE kind = ?)", k.as_str().to_string(), &mut params);
    }
    if let Some(s) = q.status {
        let list = stored(s);
        let marks: Vec<String> = list
            .iter()
            .map(|v| {
                params.push(SqlValue::Text(v.to_string()));
                format!("?{}", params.len())
            })
            .collect();
        conds.push(format!("status IN ({})", marks.join(", ")));
    }
    let sql = if conds.is_empty() { String::new() } else { format!("WHERE {}", conds.join(" AND ")) };
    (sql, params)
}

impl SqliteJournal {
    pub(super) fn query_runs(&self, q: &RunQuery) -> Result<Vec<RunSummary>> {
        let (filter, params) = clause(q);
        let mut conn = self.conn();
        // One read transaction: the runs and their step counts come from the same snapshot.
        let tx = conn.transaction().map_err(|e| self.err("listing runs", e))?;
        let raws = {
            let sql = format!("SELECT {RUN_COLUMNS} FROM runs {filter} ORDER BY started_at DESC, rowid DESC");
            let mut st = tx.prepare(&sql).map_err(|e| self.err("listing runs", e))?;
            let rows = st.query_map(rusqlite::params_from_iter(params), raw_run).map_err(|e| self.err("listing runs", e))?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| self.err("listing runs", e))?
        };
        let mut runs = Vec::new();
        for raw in &raws {
            if runs.len() >= q.limit {
                break;
            }
            let summary = self.summary(&tx, raw)?;
            if q.status.is_none_or(|s| s == summary.status) {
                runs.push(summary);
            }
        }
        tx.commit().map_err(|e| self.err("listing runs", e))?;
        Ok(runs)
    }
}
