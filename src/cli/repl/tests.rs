//! The REPL's evaluation core against the demo tenant, without a terminal.

use std::sync::Arc;
use std::time::Duration;

use rhai::Map;

use super::{complete, Repl, ReplConfig};
use crate::cli::Connection;
use crate::config::Config;
use crate::journal::{Journal, SqliteJournal};

struct Session {
    repl: Option<Repl>,
    conn: Option<Connection>,
    journal: Arc<dyn Journal>,
    rt: tokio::runtime::Runtime,
    _home: tempfile::TempDir,
}

impl Session {
    fn repl(&mut self) -> &mut Repl {
        self.repl.as_mut().unwrap()
    }
    fn eval(&mut self, line: &str) -> String {
        self.repl().eval_line(line)
    }
    /// Write operations the simulated tenant received.
    fn sim_writes(&self) -> u64 {
        self.conn.as_ref().unwrap().demo.as_ref().unwrap().stats().writes
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        drop(self.repl.take());
        if let Some(c) = self.conn.take() {
            self.rt.block_on(c.close());
        }
    }
}

fn session(allow_writes: bool) -> Session {
    let home = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let config = Config::demo();
    let (name, tenant) = config.tenant(None).unwrap();
    let conn = rt.block_on(Connection::open(name, tenant, home.path())).unwrap();
    let providers = rt.block_on(conn.providers(true, true)).unwrap();
    let writer = allow_writes.then(|| rt.block_on(conn.providers(false, true)).unwrap());
    let journal: Arc<dyn Journal> = Arc::new(SqliteJournal::open_in_memory().unwrap());
    let cfg = ReplConfig {
        tenant: name.into(),
        directory: "cloud".into(),
        denied: vec![],
        org: Map::new(),
        allow_writes,
        timeout: Duration::from_secs(60),
    };
    let repl = Repl::new(rt.handle(), journal.clone(), providers, writer, cfg).unwrap();
    Session { repl: Some(repl), conn: Some(conn), journal, rt, _home: home }
}

const LEAVER: &str = r#"let u = graph::get_user("leaver.cloud@contoso.test");"#;

#[test]
fn explores_the_demo_tenant_with_variables_that_persist() {
    let mut s = session(false);
    assert_eq!(s.eval(LEAVER), "");
    assert_eq!(s.eval("u.groups.len()"), "7\n");
    assert_eq!(s.eval("USER"), "\n");
    assert_eq!(s.eval("TENANT"), "demo\n");
    let user = s.eval("u");
    assert!(user.contains("leaver.cloud@contoso.test") && user.contains("groups (7)") && user.contains("licences ("), "{user}");
    assert!(user.contains("removable") && user.contains("via groups"), "{user}");
    // Arrays of maps are tables; maps are key/value tables.
    let groups = s.eval("u.groups");
    assert!(groups.lines().next().unwrap().starts_with('┌'), "{groups}");
    assert!(groups.contains("│ name") || groups.contains("┆ name"), "{groups}");
    assert!(groups.contains("Sales Team") && groups.contains("distribution"), "{groups}");
    let m = s.eval("#{ b: 2, a: \"x\" }");
    assert!(m.contains("key") && m.contains("value") && m.contains(" a ") && m.contains(" x "), "{m}");
    // Functions persist; print goes to the output; errors carry line:col and the REPL goes on.
    assert_eq!(s.eval("fn double(x) { x * 2 }"), "");
    assert_eq!(s.eval("double(21)"), "42\n");
    assert_eq!(s.eval("print(\"hello\"); 1"), "hello\n1\n");
    let err = s.eval("let x = 1;\nlet y = ;");
    assert!(err.starts_with("error: repl:2:"), "{err}");
    let err = s.eval("graph::get_user(\"nobody@contoso.test\")");
    assert!(err.starts_with("error: repl:1:8:") && err.contains("[user_not_found]"), "{err}");
    assert_eq!(s.eval("u.groups.len() + 1"), "8\n");
    // Imports are remembered for later inputs.
    assert_eq!(s.eval("import \"offboard\" as ob;"), "");
    assert!(s.eval("ob::defaults().remove_licenses").contains("true"));
    assert!(s.eval("import \"../x\" as x;").contains("cannot import '../x'"));
}

#[test]
fn help_shows_the_op_table_documentation() {
    let mut s = session(false);
    let h = s.eval("help graph::get_user");
    assert!(h.contains("graph::get_user(user: String) -> User"), "{h}");
    assert!(h.contains("Resolve a user by UPN or object id"), "{h}");
    assert!(h.contains("capability: graph.read"), "{h}");
    let h = s.eval("help");
    assert!(h.contains("graph::") && h.contains(":quit") && h.contains("help <function>"), "{h}");
    let h = s.eval("help graph");
    assert!(h.contains("graph::disable_account(user: User) -> Map  [write]"), "{h}");
    assert!(s.eval("help phase").contains("phase(name: String, options: Map, body: Fn) -> Array"));
    assert!(s.eval("help User").contains(".groups"));
    assert!(s.eval("help graph::nope").contains("no function 'graph::nope'"));
}

#[test]
fn a_read_only_repl_refuses_writes_and_sends_none() {
    let mut s = session(false);
    s.eval(LEAVER);
    let out = s.eval("graph::disable_account(u)");
    assert!(out.contains("error: repl:1:8: graph::disable_account is a write; start the REPL with --allow-writes to use it"), "{out}");
    let out = s.eval("phase(\"lock\", || {\n  graph::revoke_sessions(u);\n})");
    assert!(out.contains("graph::revoke_sessions is a write; start the REPL with --allow-writes"), "{out}");
    // The REPL goes on, reads still work, and nothing reached the tenant.
    assert_eq!(s.eval("u.account_enabled"), "true\n");
    assert_eq!(s.sim_writes(), 0);
    assert!(s.repl().host().steps().is_empty());
}

/// Answer the REPL's confirmations with `answers` in turn, keeping what it showed.
fn answering(s: &mut Session, answers: &[bool]) -> std::rc::Rc<std::cell::RefCell<Vec<String>>> {
    let shown = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let (log, mut answers) = (shown.clone(), answers.iter().copied().collect::<std::collections::VecDeque<bool>>());
    s.repl().set_confirm(move |plan, question| {
        log.borrow_mut().push(format!("{plan}{question}"));
        answers.pop_front().expect("an unexpected confirmation")
    });
    shown
}

#[test]
fn with_writes_allowed_each_write_is_planned_confirmed_and_journalled_for_its_user() {
    let mut s = session(true);
    let shown = answering(&mut s, &[false, true]);
    // Reads need no confirmation.
    assert_eq!(s.eval(LEAVER), "");
    assert!(shown.borrow().is_empty());
    // Declined: nothing sent, and the input's assignments did not happen.
    let out = s.eval("let r = graph::disable_account(u);");
    assert_eq!(out, "not confirmed: nothing sent\n");
    assert_eq!(s.sim_writes(), 0);
    let r = s.eval("r");
    assert!(r.starts_with("error: repl:1:1:"), "a declined input leaves no variables: {r}");
    let asked = shown.borrow()[0].clone();
    assert!(asked.starts_with("plan:\n") && asked.contains("disable_account") && asked.contains("planned"), "{asked}");
    assert!(asked.ends_with("Apply 1 write(s) to leaver.cloud@contoso.test in tenant 'demo'? [y/N] "), "{asked}");
    assert!(asked.lines().all(|l| l.chars().count() <= 80), "{asked}");
    // Confirmed: sent once, as a journal run of its own for the user, and the lock released.
    let out = s.eval("graph::disable_account(u)");
    assert!(out.contains("done") && out.contains("for leaver.cloud@contoso.test"), "{out}");
    assert_eq!(s.sim_writes(), 1);
    let runs =
        s.journal.find_runs(&crate::journal::RunQuery { user: Some("leaver.cloud@contoso.test".into()), ..Default::default() }).unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!((runs[0].mode, runs[0].status.as_str()), (crate::journal::Mode::Apply, "succeeded"));
    let run = s.journal.get_run(&runs[0].run_id).unwrap().unwrap();
    assert_eq!(run.steps.len(), 1);
    assert_eq!(run.steps[0].step.action, "disable_account");
    // Already done: the plan has nothing to send, so nobody is asked (the answers are used up).
    let out = s.eval("graph::disable_account(u)");
    assert!(out.contains("already_done"), "{out}");
    assert_eq!(s.sim_writes(), 1);
    let lock = s.journal.acquire_lock("demo", "leaver.cloud@contoso.test", "probe", std::process::id()).unwrap();
    assert_eq!(lock, crate::journal::LockOutcome::Acquired, "the REPL released its lock");
}

#[test]
fn a_write_for_a_user_another_run_holds_is_refused() {
    let mut s = session(true);
    let _shown = answering(&mut s, &[true]);
    s.eval(LEAVER);
    // Another live process (this one, under another run id) holds the user's writer lock.
    let held = s.journal.acquire_lock("demo", "LEAVER.CLOUD@contoso.test", "20261202-other", std::process::id()).unwrap();
    assert_eq!(held, crate::journal::LockOutcome::Acquired);
    let out = s.eval("graph::revoke_sessions(u)");
    assert!(
        out.starts_with("refused: run 20261202-other (process ") && out.contains("holds the writer lock for leaver.cloud@contoso.test"),
        "{out}"
    );
    assert_eq!(s.sim_writes(), 0);
    // Writes for two users in one input: one lock and one run per user, so it is refused.
    let _again = answering(&mut s, &[]);
    s.eval(r#"let m = graph::get_user("manager@contoso.test");"#);
    let out = s.eval("graph::revoke_sessions(m); graph::revoke_sessions(u);");
    assert!(out.contains("writes for 2 users") && out.ends_with("nothing sent\n"), "{out}");
    assert_eq!(s.sim_writes(), 0);
}

#[test]
fn multi_line_input_and_completion() {
    assert!(Repl::needs_more("phase(\"x\", || {\n"));
    assert!(Repl::needs_more("let s = `abc ${\n"));
    assert!(Repl::needs_more("1 + \\\n"));
    assert!(!Repl::needs_more("f(\")\")\n"));
    assert!(!Repl::needs_more("let a = [1, 2];\n"));
    let mut s = session(false);
    // A continued line is evaluated without its backslash.
    assert_eq!(s.eval("1 + \\\n2"), "3\n");
    s.eval("let leaver = 1;");
    let words = s.repl().completion_words();
    let (start, found) = complete(&words, "gra", 3);
    assert_eq!(start, 0);
    assert!(found.contains(&"graph::".to_string()) && found.iter().all(|w| w.starts_with("graph::")), "{found:?}");
    let (start, found) = complete(&words, "x = graph::dis", 14);
    assert_eq!((start, found), (4, vec!["graph::disable_account(".to_string()]));
    assert!(complete(&words, "ph", 2).1.contains(&"phase(".to_string()));
    assert!(complete(&words, "lea", 3).1.contains(&"leaver".to_string()));
    assert!(complete(&words, ":q", 2).1.contains(&":quit".to_string()));
    assert!(Repl::is_quit(":quit") && Repl::is_quit("  :q ") && !Repl::is_quit("quitter"));
}

#[test]
fn searches_users_by_filter_and_says_when_the_list_was_cut() {
    let mut s = session(false);
    let out = s.eval(r#"graph::list_users(#{ department: "sales", name: "morgan manager" })"#);
    assert!(out.contains("Morgan Manager") && out.contains("SPE_E3"), "{out}");
    assert_eq!(
        s.eval(r#"graph::list_users(#{ department: "sales", name: "morgan manager" }).map(|u| u.upn)"#),
        "[\"manager@contoso.test\"]\n"
    );
    assert_eq!(s.eval(r#"graph::list_users(#{ department: "Sales" }).all(|u| u.department == "Sales")"#), "true\n");
    // Disabled and enabled accounts part the tenant (ignoring the filter would list enabled ones).
    s.eval(r#"let off = graph::list_users(#{ disabled: true, max: 5000 }); let on = graph::list_users(#{ disabled: false, max: 5000 });"#);
    assert_eq!(s.eval("off.all(|u| !u.account_enabled) && on.all(|u| u.account_enabled) && on.len() > 0"), "true\n");
    assert_eq!(s.eval("off.len() + on.len() == graph::list_users(#{ max: 5000 }).len()"), "true\n");
    assert_eq!(s.eval(r#"graph::list_users(#{ license: "spe_e3", name: "morgan manager" }).len()"#), "1\n");
    // The cap: a message with the total (an advanced query counts), and the first `max` users.
    let out = s.eval(r#"graph::list_users(#{ department: "Sales", max: 1 }).len()"#);
    assert!(out.starts_with("showing the first 1 of ") && out.contains("matching users") && out.ends_with("\n1\n"), "{out}");
    // A quote is part of the name searched for, not the end of the literal.
    assert_eq!(s.eval(r#"graph::list_users(#{ department: "x' or accountEnabled eq true or department eq 'y" }).len()"#), "0\n");
    let err = s.eval(r#"graph::list_users(#{ licence: "E3" })"#);
    assert!(err.contains("[invalid_argument]") && err.contains("unknown option 'licence'"), "{err}");
    let err = s.eval(r#"graph::list_users(#{ license: "NOPE" })"#);
    assert!(err.contains("[license_not_found]") && err.contains("SPE_E3"), "{err}");
    assert!(s.eval(r#"graph::list_users(#{ max: 0 })"#).contains("[invalid_argument]"));
    assert_eq!(s.sim_writes(), 0);
}

#[test]
fn lists_a_groups_members_and_a_users_devices() {
    let mut s = session(false);
    let out = s.eval(r#"graph::group_members("Sales Team")"#);
    assert!(out.contains("upn") && out.contains("@contoso.test"), "{out}");
    assert!(s.eval(r#"graph::group_members("No Such Group")"#).contains("[group_not_found]"));
    s.eval(LEAVER);
    let out = s.eval("graph::managed_devices(u)");
    assert!(out.contains("device_name") && out.contains("Lee's iPhone"), "{out}");
    let n: usize = s.eval("exo::mobile_devices(u).len()").trim().parse().unwrap();
    assert!(n >= 1, "the demo leaver syncs a phone");
    let out = s.eval("exo::mobile_devices(u)");
    assert!(out.contains("friendly_name") && out.contains("device_id"), "{out}");
}

#[test]
fn sizes_read_in_human_units_and_tables_fit_the_width() {
    assert_eq!(super::human_bytes(512), "512 B");
    assert_eq!(super::human_bytes(1536), "1.5 KiB");
    assert_eq!(super::human_bytes(51 * 1024 * 1024 * 1024 + 200 * 1024 * 1024), "51.2 GiB");
    let mut s = session(false);
    s.eval(LEAVER);
    let mbx = s.eval("exo::get_mailbox(u)");
    assert!(mbx.contains("size_bytes") && (mbx.contains(" MiB") || mbx.contains(" GiB") || mbx.contains(" KiB")), "{mbx}");
    // The devices are a table of their own, not a cell of maps.
    assert!(mbx.contains("devices (") && !mbx.contains("#{"), "{mbx}");
    // No terminal in tests and no COLUMNS: 80 columns.
    if std::env::var_os("COLUMNS").is_none() {
        for out in [mbx, s.eval("u"), s.eval("u.groups"), s.eval(r#"graph::list_users(#{ department: "Sales" })"#)] {
            let wide: Vec<&str> = out.lines().filter(|l| unicode_width::UnicodeWidthStr::width(*l) > 80).collect();
            assert!(wide.is_empty(), "wider than 80: {wide:#?}");
        }
    }
}

#[test]
fn tab_lists_the_candidates_instead_of_cycling() {
    assert_eq!(super::editor_config().completion_type(), rustyline::CompletionType::List);
}
