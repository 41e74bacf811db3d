//! The executor's promises, checked through `run_script` against an in-memory fake directory that
//! can fail or answer unclearly on purpose (things the demo tenant cannot be made to do per step).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rhai::Map;

use super::{run_script, RunRequest, Script};
use crate::engine::EngineOptions;
use crate::entra::{CloudDirectory, CloudUser, DirectoryRole, Group, GroupKind};
use crate::exec::host::ExecOptions;
use crate::exec::report::Report;
use crate::exec::Providers;
use crate::graph::{GraphError, GraphStats};
use crate::journal::{Journal, Mode, SqliteJournal, StepStatus};
use crate::secret::Secret;

#[derive(Default)]
struct Faults {
    /// Writes to these Graph calls fail with a 500.
    fail: Vec<&'static str>,
    /// Writes to these calls are applied, then answered with a timeout (result unclear).
    unclear_applied: Vec<&'static str>,
    /// Writes to these calls are not applied and answered with a timeout.
    unclear_lost: Vec<&'static str>,
    /// Any write panics (plan mode must never write).
    panic_on_write: bool,
}

struct Fake {
    user: Mutex<CloudUser>,
    faults: Faults,
    writes: AtomicUsize,
    journal: Arc<dyn Journal>,
    /// For each write: was its intent already in the journal when the call arrived?
    intent_seen: Mutex<Vec<bool>>,
}

fn user() -> CloudUser {
    let group = |id: &str, dynamic: bool| Group {
        id: id.into(),
        name: format!("group {id}"),
        mail: None,
        kind: GroupKind::Security,
        dynamic,
        synced: false,
        membership_rule: None,
        license_skus: vec![],
    };
    CloudUser {
        id: "u1".into(),
        upn: "a@contoso.test".into(),
        display_name: "A".into(),
        mail: None,
        account_enabled: true,
        employee_id: Some("E1".into()),
        job_title: None,
        department: None,
        synced: false,
        on_premises_sam: None,
        on_premises_dn: None,
        on_premises_immutable_id: None,
        on_premises_domain_name: None,
        sessions_valid_from: None,
        password_changed: None,
        manager: None,
        groups: vec![group("g1", false), group("g2", false), group("g3", true)],
        licenses: vec![],
    }
}

impl Fake {
    fn new(faults: Faults, journal: Arc<dyn Journal>) -> Arc<Fake> {
        Arc::new(Fake { user: Mutex::new(user()), faults, writes: AtomicUsize::new(0), journal, intent_seen: Mutex::new(vec![]) })
    }

    /// Common write path: fault injection, then `apply` to the state.
    fn write(&self, call: &'static str, apply: impl FnOnce(&mut CloudUser)) -> Result<(), GraphError> {
        assert!(!self.faults.panic_on_write, "plan mode sent a write: {call}");
        self.writes.fetch_add(1, Ordering::SeqCst);
        let running =
            self.journal.list_runs(1).ok().and_then(|r| r.first().cloned()).and_then(|r| self.journal.get_run(&r.run_id).ok().flatten());
        let seen = running.is_some_and(|r| r.steps.iter().any(|s| s.step.status == StepStatus::Running));
        self.intent_seen.lock().unwrap().push(seen);
        let err = |applied: bool| GraphError::Transport {
            method: "PATCH".into(),
            path: call.into(),
            message: "timed out".into(),
            maybe_applied: applied,
        };
        if self.faults.fail.contains(&call) {
            return Err(GraphError::Api {
                method: "PATCH".into(),
                path: call.into(),
                status: 500,
                code: "InternalServerError".into(),
                message: "boom".into(),
            });
        }
        if self.faults.unclear_lost.contains(&call) {
            return Err(err(true));
        }
        apply(&mut self.user.lock().unwrap());
        if self.faults.unclear_applied.contains(&call) {
            return Err(err(true));
        }
        Ok(())
    }
}

#[async_trait]
impl CloudDirectory for Fake {
    async fn resolve_user(&self, user: &str) -> Result<Option<CloudUser>, GraphError> {
        let u = self.user.lock().unwrap().clone();
        Ok((user == u.id || user == u.upn).then_some(u))
    }
    async fn revoke_sessions(&self, _: &str) -> Result<(), GraphError> {
        self.write("revoke", |u| u.sessions_valid_from = Some(chrono::Utc::now().to_rfc3339()))
    }
    async fn set_password(&self, _: &str, _: &Secret, _: bool) -> Result<(), GraphError> {
        self.write("password", |u| u.password_changed = Some(chrono::Utc::now().to_rfc3339()))
    }
    async fn set_account_enabled(&self, _: &str, enabled: bool) -> Result<(), GraphError> {
        self.write("enabled", |u| u.account_enabled = enabled)
    }
    async fn remove_group_member(&self, group: &str, _: &str) -> Result<(), GraphError> {
        let g = group.to_string();
        self.write(if group == "g1" { "group_g1" } else { "group" }, move |u| u.groups.retain(|x| x.id != g))
    }
    async fn add_group_member(&self, _: &str, _: &str) -> Result<(), GraphError> {
        self.write("group_add", |_| {})
    }
    async fn find_groups(&self, _: &str) -> Result<Vec<Group>, GraphError> {
        Ok(vec![])
    }
    async fn remove_license(&self, _: &str, sku: &str) -> Result<(), GraphError> {
        let s = sku.to_string();
        self.write("license", move |u| u.licenses.retain(|l| l.sku_id != s))
    }
    async fn remove_manager(&self, _: &str) -> Result<(), GraphError> {
        self.write("manager", |u| u.manager = None)
    }
    async fn set_employee_id(&self, _: &str, v: Option<&str>) -> Result<(), GraphError> {
        let v = v.map(str::to_string);
        self.write("employee_id", move |u| u.employee_id = v)
    }
    async fn directory_roles(&self, _: &str) -> Result<Vec<DirectoryRole>, GraphError> {
        Ok(vec![])
    }
    async fn authenticate(&self) -> Result<(), GraphError> {
        Ok(())
    }
    fn stats(&self) -> GraphStats {
        GraphStats::default()
    }
}

const SCRIPT: &str = r#"
let u = graph::get_user(USER);
phase("lock", #{ required: ORG.lock_required ?? false }, || {
    graph::disable_account(u);
    graph::clear_employee_id(u);
});
phase("groups", || { for g in u.groups { graph::remove_group_membership(u, g); } });
"#;

fn run(fake: &Arc<Fake>, journal: &Arc<dyn Journal>, mode: Mode, org: Map) -> Report {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let req = RunRequest {
        tenant: "t".into(),
        directory: "cloud".into(),
        user: "a@contoso.test".into(),
        script: Script::inline("test.rhai", SCRIPT),
        mode,
        org,
        sets: vec![],
        denied: vec![],
        exec: ExecOptions::default(),
        engine: EngineOptions::default(),
        observer: None,
        protection: Default::default(),
        work_item: None,
    };
    run_script(rt.handle(), journal.clone(), cloud_only(fake.clone()), req).unwrap()
}

fn setup(faults: Faults) -> (Arc<Fake>, Arc<dyn Journal>) {
    let journal: Arc<dyn Journal> = Arc::new(SqliteJournal::open_in_memory().unwrap());
    (Fake::new(faults, journal.clone()), journal)
}

fn status(r: &Report, action: &str, target: &str) -> StepStatus {
    r.steps
        .iter()
        .find(|s| s.action == action && s.target.contains(target))
        .map(|s| s.status)
        .unwrap_or_else(|| panic!("no step {action} {target}"))
}

#[test]
fn plan_sends_no_write() {
    let (fake, journal) = setup(Faults { panic_on_write: true, ..Faults::default() });
    let r = run(&fake, &journal, Mode::Plan, Map::new());
    assert_eq!(r.status, "planned", "{:?}", r.error);
    assert_eq!(fake.writes.load(Ordering::SeqCst), 0);
    assert_eq!(r.count(StepStatus::Planned), 4); // disable, employee id, g1, g2
                                                 // A dynamic group's rule decides: only a person can take the user out of it.
    assert_eq!(status(&r, "remove_group_membership", "g3"), StepStatus::NeedsAction);
    assert_eq!(r.todos.len(), 1, "{:?}", r.todos);
    assert!(r.todos[0].instruction.contains("dynamic group group g3"), "{:?}", r.todos);
}

#[test]
fn a_failed_step_does_not_stop_its_siblings_or_later_phases() {
    let (fake, journal) = setup(Faults { fail: vec!["group_g1", "enabled"], ..Faults::default() });
    let r = run(&fake, &journal, Mode::Apply, Map::new());
    assert_eq!(r.status, "failed");
    assert_eq!(status(&r, "disable_account", "a@"), StepStatus::Failed);
    assert_eq!(status(&r, "clear_employee_id", "a@"), StepStatus::Done);
    assert_eq!(status(&r, "remove_group_membership", "g1"), StepStatus::Failed);
    assert_eq!(status(&r, "remove_group_membership", "g2"), StepStatus::Done);
    assert!(r.steps.iter().find(|s| s.status == StepStatus::Failed).unwrap().detail.contains("boom"));
    assert!(matches!(super::outcome_error(&r), Some(crate::error::Error::StepsFailed { failed: 2 })));
}

#[test]
fn a_required_phase_that_fails_stops_the_run() {
    let (fake, journal) = setup(Faults { fail: vec!["enabled"], ..Faults::default() });
    let mut org = Map::new();
    org.insert("lock_required".into(), true.into());
    let r = run(&fake, &journal, Mode::Apply, org);
    assert_eq!(r.status, "aborted");
    assert_eq!(r.error.as_ref().unwrap().code, "required_step_failed");
    assert!(r.steps.iter().all(|s| s.phase == "lock"), "later phases must not run");
    assert_eq!(fake.user.lock().unwrap().groups.len(), 3);
}

#[test]
fn an_unclear_write_is_read_back_and_resent_only_when_it_did_not_land() {
    let (fake, journal) = setup(Faults { unclear_applied: vec!["enabled"], unclear_lost: vec!["employee_id"], ..Faults::default() });
    let r = run(&fake, &journal, Mode::Apply, Map::new());
    let find = |a: &str| r.steps.iter().find(|s| s.action == a).unwrap().clone();
    assert_eq!(find("disable_account").status, StepStatus::Done);
    assert!(find("disable_account").detail.contains("confirmed by reading back"));
    assert_eq!(find("clear_employee_id").status, StepStatus::Failed);
    assert!(find("clear_employee_id").detail.contains("not applied"));
    // disable landed: sent once. employee id never lands: sent MAX_SENDS (3) times, then failed.
    // Plus 2 group removals.
    assert_eq!(fake.writes.load(Ordering::SeqCst), 1 + 3 + 2);
}

#[test]
fn intent_is_journalled_before_each_write_and_a_rerun_writes_nothing() {
    let (fake, journal) = setup(Faults::default());
    let r = run(&fake, &journal, Mode::Apply, Map::new());
    assert_eq!(r.status, "succeeded");
    let seen = fake.intent_seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 4);
    assert!(seen.iter().all(|s| *s), "a write arrived before its intent was recorded: {seen:?}");
    let run1 = journal.get_run(&r.run_id).unwrap().unwrap();
    let disable = run1.steps.iter().find(|s| s.step.action == "disable_account").unwrap();
    assert_eq!(disable.step.prior, serde_json::json!({"accountEnabled": true}));
    assert!(disable.intent_at.is_some() && disable.outcome_at >= disable.intent_at);

    let before = fake.writes.load(Ordering::SeqCst);
    let r2 = run(&fake, &journal, Mode::Apply, Map::new());
    assert_eq!(fake.writes.load(Ordering::SeqCst), before);
    // The dynamic group g3 is still left to a person; everything else is already done.
    assert!(r2.steps.iter().all(|s| matches!(s.status, StepStatus::AlreadyDone | StepStatus::Skipped | StepStatus::NeedsAction)));
    assert_eq!(r2.count(StepStatus::NeedsAction), 1);
}

/// A host over the fake directory, for tests of other modules (the op table).
pub(crate) fn test_host(rt: &tokio::runtime::Runtime) -> Arc<crate::exec::host::Host> {
    let journal: Arc<dyn Journal> = Arc::new(SqliteJournal::open_in_memory().unwrap());
    let fake = Fake::new(Faults { panic_on_write: true, ..Faults::default() }, journal.clone());
    crate::exec::host::Host::new(
        rt.handle().clone(),
        "t".into(),
        "cloud".into(),
        "a@contoso.test".into(),
        "r".into(),
        Mode::Plan,
        journal,
        cloud_only(fake),
        vec![],
        ExecOptions::default(),
    )
}

/// Layering: default, then MSP-wide, then client; the last definition of a function wins, the
/// plan names the layers, and an overrides script with a statement is refused before any call.
#[test]
fn overrides_layer_on_the_script_in_order() {
    let (fake, journal) = setup(Faults { panic_on_write: true, ..Faults::default() });
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let base = "fn hook(u) { log(\"base\"); }\nfn other() { log(\"base other\"); }\nlet u = graph::get_user(USER);\nhook(u);\nother();";
    let mut script = Script::inline("default.rhai", base);
    script.overlays.push(Script::inline("msp.rhai", "fn hook(u) { log(\"msp\"); }\nfn other() { log(\"msp other\"); }"));
    script.overlays.push(Script::inline(
        "client.rhai",
        "import \"offboard\" as ob;\n/// doc\nfn hook(u) { log(`client ${u.upn} ${ob::defaults().remove_groups}`); }",
    ));
    let req = |script: Script| RunRequest {
        tenant: "t".into(),
        directory: "cloud".into(),
        user: "a@contoso.test".into(),
        script,
        mode: Mode::Plan,
        org: Map::new(),
        sets: vec![],
        denied: vec![],
        exec: ExecOptions::default(),
        engine: EngineOptions::default(),
        observer: None,
        protection: Default::default(),
        work_item: None,
    };
    let providers = || cloud_only(fake.clone());
    let r = run_script(rt.handle(), journal.clone(), providers(), req(script.clone())).unwrap();
    assert_eq!(r.error.as_ref().map(|e| e.message.clone()), None);
    assert_eq!(
        r.messages,
        vec![
            "script layers: default.rhai, then msp.rhai (overrides: hook, other), then client.rhai (overrides: hook)".to_string(),
            "client a@contoso.test true".into(),
            "msp other".into(),
        ]
    );

    script.overlays.push(Script::inline("bad.rhai", "fn hook(u) {}\n\nlet x = 1;"));
    let err = run_script(rt.handle(), journal.clone(), providers(), req(script)).unwrap_err();
    assert!(matches!(&err, crate::error::Error::Script { location, .. } if location == "bad.rhai:3:1"), "{err}");
    assert_eq!(journal.list_runs(10).unwrap().len(), 1, "a refused overlay must not start a run");
}

fn cloud_only(fake: Arc<dyn CloudDirectory>) -> Providers {
    let mut p = Providers::default();
    crate::entra::provide_cloud(&mut p, fake);
    p
}
