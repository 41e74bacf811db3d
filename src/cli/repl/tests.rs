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
    let providers = rt.block_on(conn.providers(!allow_writes, true)).unwrap();
    let journal: Arc<dyn Journal> = Arc::new(SqliteJournal::open_in_memory().unwrap());
    let cfg = ReplConfig {
        tenant: name.into(),
        directory: "cloud".into(),
        denied: vec![],
        org: Map::new(),
        allow_writes,
        timeout: Duration::from_secs(60),
    };
    let repl = Repl::new(rt.handle(), journal.clone(), providers, cfg).unwrap();
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

#[test]
fn with_writes_allowed_a_write_is_journalled_and_applied() {
    let mut s = session(true);
    s.eval(LEAVER);
    let out = s.eval("graph::disable_account(u)");
    assert!(out.contains("status") && out.contains("done") && out.contains("disable_account"), "{out}");
    assert_eq!(s.sim_writes(), 1);
    let out = s.eval("phase(\"again\", || graph::disable_account(u))");
    assert!(out.contains("already_done") && out.contains("again"), "{out}");
    assert!(s.eval("graph::get_user(\"leaver.cloud@contoso.test\").account_enabled").contains("false"));
    let run_id = s.repl().host().run_id.clone();
    s.repl().finish().unwrap();
    let run = s.journal.get_run(&run_id).unwrap().unwrap();
    assert_eq!(run.steps.len(), 2);
    assert_eq!(run.summary.status.as_str(), "succeeded");
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
