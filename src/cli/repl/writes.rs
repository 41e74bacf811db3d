//! `--allow-writes`: an input that would write is shown as a plan and applied only once confirmed.
//!
//! The input is first evaluated on the REPL's plan host (read-only clients, in-memory journal)
//! with a copy of the variables. When its steps hold no write to send (`planned`), that
//! evaluation is the input's, and the copy becomes the variables. Otherwise the planned steps are
//! shown as the compact lines of a run's plan and the REPL asks (y/N). Confirmed, the input is
//! evaluated again, now on an apply host of its own: one journal run with the user it writes for,
//! under that user's writer lock (refused, with the holder named, while another run holds it),
//! so `runs list --user` finds it and a concurrent `offboard-host run` for the same user waits
//! its turn. Declined, nothing is sent and the variables are as before the input.
//!
//! One input writes for one user: its steps name their user (`subject_id`), and an input whose
//! writes are for several users is refused, since a lock and a journal run are per user.

use chrono::Utc;
use rhai::Scope;
use serde_json::json;

use super::{engine_for, Repl, SOURCE};
use crate::ad::AdUsers;
use crate::cli::render;
use crate::exec::host::{ExecOptions, Host};
use crate::exec::report::{todos, Report, ReportError, Stats, StepReport};
use crate::journal::{LockOutcome, Mode, NewRun, RunStatus, StepStatus};
use crate::run::new_run_id;

impl Repl {
    /// Evaluate `code` with writes allowed: plan, confirm, apply (see the module doc).
    pub(super) fn eval_with_confirmation(&mut self, code: &str) -> String {
        let plan_host = self.host.clone();
        let before = plan_host.steps().len();
        let mut preview = self.scope.clone();
        let result = self.eval_in(code, &mut preview);
        let steps: Vec<StepReport> = plan_host.steps().into_iter().skip(before).collect();
        let writes = steps.iter().filter(|s| s.status == StepStatus::Planned).count();
        if writes == 0 {
            if result.is_ok() {
                self.scope = preview;
            }
            return self.output(&plan_host, result);
        }
        let plan = format!("plan:\n{}", render::step_lines(&steps, false));
        if result.is_err() {
            let mut out = self.output(&plan_host, result);
            out.insert_str(0, &plan);
            out.push_str("the input failed while planning: nothing sent\n");
            return out;
        }
        let user = match self.subject(&steps) {
            Ok(u) => u,
            Err(why) => return format!("{plan}{why}: nothing sent\n"),
        };
        let question = format!("Apply {writes} write(s) to {user} in tenant '{}'? [y/N] ", self.cfg.tenant);
        if !(self.confirm)(&plan, &question) {
            return "not confirmed: nothing sent\n".into();
        }
        let out = self.apply(code, &user);
        // The plan host's reads are from before the writes: plan the next input afresh.
        match self.renew_plan_host() {
            Ok(()) => out,
            Err(e) => format!("{out}error: {e}\n"),
        }
    }

    /// A new plan host (and engine) with an empty read cache, on the same clients.
    fn renew_plan_host(&mut self) -> crate::error::Result<()> {
        let old = self.host.clone();
        let run_id = format!("repl-{}", new_run_id());
        old.journal.create_run(&NewRun {
            run_id: run_id.clone(),
            tenant: self.cfg.tenant.clone(),
            user: String::new(),
            script: SOURCE.into(),
            script_hash: String::new(),
            mode: Mode::Plan,
            options: json!({"repl": true}),
            started_at: Utc::now(),
        })?;
        let host = Host::new(
            old.rt.clone(),
            self.cfg.tenant.clone(),
            self.cfg.directory.clone(),
            String::new(),
            run_id,
            Mode::Plan,
            old.journal.clone(),
            old.providers.clone(),
            self.cfg.denied.clone(),
            ExecOptions::default(),
        );
        self.engine = self.engine_with_imports(&host);
        self.host = host;
        self.shown = 0;
        Ok(())
    }

    /// An engine around `host` with the inputs' imports registered again.
    fn engine_with_imports(&self, host: &std::sync::Arc<Host>) -> rhai::Engine {
        let mut engine = engine_for(host, &self.cancel, &self.started, self.cfg.timeout);
        for (alias, path) in &self.imports {
            if let Ok(module) = engine.module_resolver().resolve(&engine, None, path, rhai::Position::NONE) {
                engine.register_static_module(alias.clone(), module);
            }
        }
        engine
    }

    /// The one user the planned writes are for (its UPN).
    fn subject(&self, steps: &[StepReport]) -> std::result::Result<String, String> {
        let host = &self.host;
        let recorded = host.journal.get_run(&host.run_id).map_err(|e| format!("journal: {e}"))?.map(|r| r.steps).unwrap_or_default();
        let mut users: Vec<String> = Vec::new();
        for s in steps.iter().filter(|s| s.status == StepStatus::Planned) {
            let rec =
                recorded.iter().find(|r| r.step.step_id == s.id).ok_or_else(|| format!("step {} is not in the plan's journal", s.id))?;
            let id = rec.step.subject_id.clone();
            let upn = match host.rt.block_on(crate::entra::cached_user(&host.cache, &host.providers, &id)) {
                Ok(Some(u)) => u.upn.clone(),
                // Not a cloud user: an on-premises one (by objectGUID), named as `--user` names it.
                _ => match host.rt.block_on(host.cx().ad_user(&id)) {
                    Ok(a) => a.upn.clone().unwrap_or_else(|| a.sam.clone()),
                    Err(_) => return Err(format!("cannot tell which user step {} ({}) writes for", s.id, s.action)),
                },
            };
            if !users.iter().any(|u| u.eq_ignore_ascii_case(&upn)) {
                users.push(upn);
            }
        }
        match users.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err("no user to write for".into()),
            many => Err(format!("this input writes for {} users ({}); write for one user per input", many.len(), many.join(", "))),
        }
    }

    /// Evaluate `code` in apply mode as one journal run for `user`, under its writer lock.
    fn apply(&mut self, code: &str, user: &str) -> String {
        let Some(providers) = self.writer.clone() else {
            return "this REPL has no clients that may write: nothing sent\n".into();
        };
        let (tenant, journal) = (self.cfg.tenant.clone(), self.journal.clone());
        let run_id = format!("repl-{}", new_run_id());
        match journal.acquire_lock(&tenant, user, &run_id, std::process::id()) {
            Ok(LockOutcome::Acquired) => {}
            Ok(LockOutcome::HeldBy { run_id: holder, pid }) => {
                return format!(
                    "refused: run {holder} (process {pid}) holds the writer lock for {user} in tenant '{tenant}'; nothing sent (try again when it has finished)\n"
                )
            }
            Err(e) => return format!("error: taking the writer lock for {user}: {e}; nothing sent\n"),
        }
        let out = self.apply_locked(code, user, &run_id, providers);
        if let Err(e) = journal.release_lock(&tenant, user, &run_id) {
            return format!("{out}error: releasing the writer lock for {user}: {e}\n");
        }
        out
    }

    fn apply_locked(&mut self, code: &str, user: &str, run_id: &str, providers: crate::exec::Providers) -> String {
        let cfg = &self.cfg;
        let created = self.journal.create_run(&NewRun {
            run_id: run_id.to_string(),
            tenant: cfg.tenant.clone(),
            user: user.to_string(),
            script: SOURCE.into(),
            script_hash: String::new(),
            mode: Mode::Apply,
            options: json!({"repl": true, "directory": cfg.directory, "input": code}),
            started_at: Utc::now(),
        });
        if let Err(e) = created {
            return format!("error: journal: {e}; nothing sent\n");
        }
        let host = Host::new(
            self.host.rt.clone(),
            cfg.tenant.clone(),
            cfg.directory.clone(),
            user.to_string(),
            run_id.to_string(),
            Mode::Apply,
            self.journal.clone(),
            providers,
            cfg.denied.clone(),
            ExecOptions::default(),
        );
        let engine = self.engine_with_imports(&host);
        let mut scope: Scope<'static> = std::mem::take(&mut self.scope);
        let result = match engine.compile_with_scope(&scope, code) {
            Ok(mut ast) => {
                ast.set_source(SOURCE);
                let merged = self.ast.merge(&ast);
                engine.eval_ast_with_scope::<rhai::Dynamic>(&mut scope, &merged)
            }
            Err(e) => Err(e.into()),
        };
        self.scope = scope;
        let steps = host.steps();
        let failed = steps.iter().any(|s| s.status == StepStatus::Failed) || result.is_err();
        let status = if failed { RunStatus::Failed } else { RunStatus::Succeeded };
        let report = Report {
            run_id: run_id.to_string(),
            tenant: cfg.tenant.clone(),
            user: user.to_string(),
            ticket: None,
            script: SOURCE.into(),
            mode: Mode::Apply.as_str().into(),
            status: status.as_str().into(),
            todos: todos(&steps),
            steps: steps.clone(),
            stats: Stats::of(&host.providers, host.started.elapsed()),
            messages: host.messages(),
            error: None::<ReportError>,
        };
        let finished = self.journal.finish_run(run_id, status, &serde_json::to_value(&report).unwrap_or_default());
        let mut out = self.output(&host, result);
        out.push_str(&format!("run {run_id} ({} step(s), {}) for {user}\n", steps.len(), status.as_str()));
        if let Err(e) = finished {
            out.push_str(&format!("error: journal: {e}\n"));
        }
        out
    }
}
