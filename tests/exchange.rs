//! The Exchange Online half of the default offboarding, end to end: the real binary against the
//! demo tenant it starts in-process, with the simulator's state file and the journal
//! (`runs show --json`) as the evidence. Each test uses its own OFFBOARD_HOME.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, Utc};
use serde_json::Value;

const LEAVER: &str = "leaver.cloud@contoso.test";
const LEAVER_ID: &str = "a1b2c3d4-0002-4000-8000-000000000002";
const SYNCED: &str = "leaver.synced@contoso.test";
const SALES_DL: &str = "b0000000-0005-4000-8000-000000000005";
const SPE_E3: &str = "05e9a617-0261-4cee-bb44-138d3ef5d965";

struct Home {
    dir: tempfile::TempDir,
    env: Vec<(&'static str, String)>,
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    /// The report: the first JSON document on stdout (a failed run adds an error document after it).
    fn json(&self) -> Value {
        let mut docs = serde_json::Deserializer::from_str(&self.stdout).into_iter::<Value>();
        match docs.next() {
            Some(Ok(v)) => v,
            other => panic!("not JSON ({other:?}): {}\nstderr: {}", self.stdout, self.stderr),
        }
    }
}

impl Home {
    fn new(env: &[(&'static str, &str)]) -> Home {
        let mut all: Vec<(&'static str, String)> = vec![
            ("OFFBOARD_DEMO_SHARED_DELAY_MS", "300".into()),
            ("OFFBOARD_DEMO_RETRY_BASE_MS", "5".into()),
            ("OFFBOARD_DEMO_RETRY_AFTER", "0".into()),
        ];
        for (k, v) in env {
            all.retain(|(n, _)| n != k);
            all.push((k, v.to_string()));
        }
        Home { dir: tempfile::tempdir().expect("tempdir"), env: all }
    }

    fn run(&self, args: &[&str]) -> Out {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_offboard-host"));
        cmd.args(args).env("OFFBOARD_HOME", self.dir.path()).env_remove("OFFBOARD_CONFIG");
        for (k, _) in std::env::vars() {
            if k.starts_with("OFFBOARD_DEMO_") {
                cmd.env_remove(k);
            }
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let o = cmd.output().expect("run the binary");
        Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    fn apply(&self, user: &str, sets: &[&str]) -> Out {
        let mut args = vec!["run", "default.rhai", "--user", user, "--yes", "--json"];
        for s in sets {
            args.push("--set");
            args.push(s);
        }
        self.run(&args)
    }

    fn state_path(&self) -> PathBuf {
        self.dir.path().join("demo").join("tenant.json")
    }

    fn state(&self) -> Value {
        read_json(&self.state_path())
    }

    fn mailbox(&self, upn: &str) -> Value {
        let st = self.state();
        st["exchange"]["mailboxes"].as_array().expect("mailboxes").iter().find(|m| m["upn"] == upn).expect("mailbox").clone()
    }

    fn journal(&self, run_id: &str) -> Value {
        let o = self.run(&["runs", "show", run_id, "--json"]);
        assert_eq!(o.code, 0, "{}", o.stderr);
        o.json()
    }
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).expect("state file")).expect("state json")
}

fn step<'a>(report: &'a Value, action: &str, target: &str) -> &'a Value {
    report["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["action"] == action && s["target"].as_str().unwrap_or("").contains(target))
        .unwrap_or_else(|| panic!("no step {action} {target} in {report:#}"))
}

fn steps_of<'a>(report: &'a Value, action: &str) -> Vec<&'a Value> {
    report["steps"].as_array().expect("steps").iter().filter(|s| s["action"] == action).collect()
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v}"))).expect("rfc3339").with_timezone(&Utc)
}

const EXO_ACTIONS: &[&str] = &[
    "remove_mobile_device",
    "remove_inbox_rule",
    "clear_forwarding",
    "set_out_of_office",
    "grant_mailbox_permission",
    "convert_to_shared_mailbox",
    "hide_from_gal",
    "remove_distribution_group_membership",
    "wait_for_shared_mailbox",
];

#[test]
fn the_default_run_offboards_the_mailbox_and_a_second_run_sends_nothing() {
    let h = Home::new(&[]);
    let sets = ["out_of_office_internal=Lee has left; please write to Morgan.", "grant_manager_send_as=true"];
    let o = h.apply(LEAVER, &sets);
    let r = o.json();
    assert_eq!((o.code, r["status"].as_str()), (0, Some("succeeded")), "{r:#}\n{}", o.stderr);
    for a in EXO_ACTIONS {
        let steps = steps_of(&r, a);
        assert!(!steps.is_empty(), "no {a} step");
        // The wait may find the (fast, 300 ms) conversion finished already; the next test makes it slow.
        let ok = |s: &&Value| s["status"] == "done" || (*a == "wait_for_shared_mailbox" && s["status"] == "already_done");
        assert!(steps.iter().all(|s| ok(s) && s["directory"] == "exchange"), "{a}: {steps:#?}");
    }
    assert_eq!(steps_of(&r, "remove_mobile_device").len(), 2);
    assert_eq!(steps_of(&r, "grant_mailbox_permission").len(), 2, "FullAccess and SendAs");

    // The simulated mailbox changed as Exchange would have changed it.
    let m = h.mailbox(LEAVER);
    assert_eq!(m["typeDetails"], "SharedMailbox");
    assert_eq!(m["hidden"], true);
    assert_eq!((m["forwardingAddress"].clone(), m["forwardingSmtpAddress"].clone()), (Value::Null, Value::Null));
    assert_eq!(m["devices"], serde_json::json!([]));
    assert_eq!(m["blockedDeviceIds"], serde_json::json!(["ApplF17XK2Q1N3P4", "androidc1873361249"]));
    let rules: Vec<&str> = m["rules"].as_array().expect("rules").iter().filter_map(|r| r["name"].as_str()).collect();
    assert!(rules.iter().all(|n| *n == "Junk E-Mail Rule" || n.starts_with("Microsoft.Exchange.OOF.")), "{rules:?}");
    assert_eq!(rules.len(), 3, "the system rules are kept");
    assert_eq!(m["fullAccess"], serde_json::json!([{"user": "manager@contoso.test", "automapping": true}]));
    assert_eq!(m["sendAs"], serde_json::json!(["manager@contoso.test"]));
    assert_eq!(m["autoReplies"]["status"], "alwaysEnabled");
    assert_eq!(m["autoReplies"]["internalReplyMessage"], "Lee has left; please write to Morgan.");
    assert_eq!(m["autoReplies"]["externalReplyMessage"], "Lee has left; please write to Morgan.");
    let st = h.state();
    let dl = st["groups"].as_array().expect("groups").iter().find(|g| g["id"] == SALES_DL).expect("dl");
    assert!(!dl["members"].as_array().expect("members").iter().any(|m| m == LEAVER_ID));
    let user = st["users"].as_array().expect("users").iter().find(|u| u["id"] == LEAVER_ID).expect("user");
    assert!(!user["licenseAssignmentStates"]
        .as_array()
        .expect("lic")
        .iter()
        .any(|l| l["skuId"] == SPE_E3 && l["assignedByGroup"].is_null()));

    // The journal kept what each step replaced.
    let j = h.journal(r["run_id"].as_str().expect("run id"));
    let prior = |action: &str| -> Value {
        j["steps"].as_array().expect("steps").iter().find(|s| s["action"] == action).expect("step")["prior"].clone()
    };
    assert_eq!(prior("clear_forwarding")["ForwardingSmtpAddress"], "smtp:lee.cloud@gmail.example");
    assert_eq!(prior("convert_to_shared_mailbox")["RecipientTypeDetails"], "UserMailbox");
    assert_eq!(prior("hide_from_gal")["HiddenFromAddressListsEnabled"], false);
    assert_eq!(prior("remove_mobile_device")["devices"].as_array().expect("device list").len(), 2);
    assert_eq!(prior("set_out_of_office")["status"], "disabled");

    // Second run: everything is already done, nothing is written anywhere.
    let before = h.state()["stats"].clone();
    let o2 = h.apply(LEAVER, &sets);
    let r2 = o2.json();
    assert_eq!(o2.code, 0, "{r2:#}");
    // What only a person can do (a dynamic group, say) is still listed; nothing else is left.
    let todo_steps = |r: &Value| -> Vec<String> {
        let todo = r["steps"].as_array().expect("steps").iter().filter(|s| s["status"] == "needs_action");
        todo.map(|s| format!("{} {}", s["action"], s["target"])).collect()
    };
    for s in r2["steps"].as_array().expect("steps") {
        assert!(["already_done", "skipped", "needs_action"].contains(&s["status"].as_str().unwrap_or("")), "{s:#}");
    }
    let (first_todos, second_todos) = (todo_steps(&r), todo_steps(&r2));
    assert!(
        second_todos.iter().all(|t| first_todos.contains(t)),
        "a new to-do on the second run: {second_todos:?} (first run: {first_todos:?})"
    );
    assert_eq!(r2["todos"].as_array().map(Vec::len), Some(todo_steps(&r2).len()));
    for a in ["clear_forwarding", "set_out_of_office", "grant_mailbox_permission", "convert_to_shared_mailbox", "hide_from_gal"] {
        assert!(steps_of(&r2, a).iter().all(|s| s["status"] == "already_done"), "{a}");
    }
    assert_eq!(r2["stats"]["writes"], 0);
    let after = h.state()["stats"].clone();
    assert_eq!(after["exo_writes"], before["exo_writes"], "no Exchange write on the second run");
    assert_eq!(after["writes_applied"], before["writes_applied"]);
    assert!(after["exo_operations"].as_u64() > before["exo_operations"].as_u64(), "the second run did read Exchange");
}

#[test]
fn licences_are_removed_only_after_the_mailbox_is_shared() {
    let h = Home::new(&[("OFFBOARD_DEMO_SHARED_DELAY_MS", "2500")]);
    let o = h.apply(LEAVER, &[]);
    let r = o.json();
    assert_eq!(r["status"], "succeeded", "{r:#}\n{}", o.stderr);
    let j = h.journal(r["run_id"].as_str().expect("run id"));
    let steps = j["steps"].as_array().expect("steps");
    let find = |a: &str| steps.iter().find(|s| s["action"] == a).unwrap_or_else(|| panic!("no {a}"));
    let converted = time(&find("convert_to_shared_mailbox")["outcome_at"]);
    let wait = find("wait_for_shared_mailbox");
    assert_eq!(wait["required"], true);
    let shared_seen = time(&wait["outcome_at"]);
    assert!(shared_seen - converted >= chrono::Duration::milliseconds(2000), "the wait really waited: {converted} → {shared_seen}");
    let licence_writes: Vec<&Value> = steps
        .iter()
        .filter(|s| {
            s["status"] == "done"
                && (s["action"] == "remove_license" || (s["action"] == "remove_group_membership" && s["phase"] == "licenses"))
        })
        .collect();
    assert!(licence_writes.len() >= 3, "SPE_E3, POWER_BI_PRO and the Visio licence group: {licence_writes:#?}");
    for s in licence_writes {
        assert!(time(&s["intent_at"]) >= shared_seen, "{} {} was sent before the mailbox was shared", s["action"], s["target_display"]);
    }
    // The manager lost nothing before getting access: removed after the grant.
    assert!(time(&find("remove_manager")["intent_at"]) >= time(&find("grant_mailbox_permission")["outcome_at"]));
}

/// Without a wipe, removing the devices and converting the mailbox are one wave; with one, the
/// devices go first: a remote wipe is impossible on a shared mailbox.
#[test]
fn a_wipe_goes_before_the_conversion() {
    let h = Home::new(&[]);
    let o = h.apply(LEAVER, &["wipe_mobile_devices=true"]);
    let r = o.json();
    assert_eq!(r["status"], "succeeded", "{r:#}\n{}", o.stderr);
    let j = h.journal(r["run_id"].as_str().expect("run id"));
    let steps = j["steps"].as_array().expect("steps");
    let convert = steps.iter().find(|s| s["action"] == "convert_to_shared_mailbox").expect("convert");
    let devices: Vec<&Value> = steps.iter().filter(|s| s["action"] == "remove_mobile_device").collect();
    assert!(!devices.is_empty(), "{r:#}");
    for d in devices {
        assert_eq!(d["status"], "done", "{d}");
        assert_eq!(d["phase"], "mailbox_devices", "{d}");
        assert!(time(&d["outcome_at"]) <= time(&convert["intent_at"]), "{d} after {convert}");
    }
}

#[test]
fn a_conversion_that_does_not_finish_keeps_every_licence() {
    let h = Home::new(&[("OFFBOARD_DEMO_SHARED_DELAY_MS", "60000")]);
    let o = h.apply(LEAVER, &["shared_wait_secs=2"]);
    let r = o.json();
    assert_eq!(o.code, 1, "{r:#}");
    assert_eq!(r["status"], "aborted");
    assert_eq!(r["error"]["code"], "required_step_failed");
    let wait = step(&r, "wait_for_shared_mailbox", LEAVER);
    assert_eq!(wait["status"], "failed");
    assert!(wait["detail"].as_str().expect("detail").contains("still a UserMailbox"), "{wait:#}");
    assert!(steps_of(&r, "remove_license").is_empty(), "the licence phase must not run");
    let st = h.state();
    let user = st["users"].as_array().expect("users").iter().find(|u| u["id"] == LEAVER_ID).expect("user");
    assert_eq!(user["licenseAssignmentStates"].as_array().expect("lic").len(), 3);
}

#[test]
fn an_exchange_error_fails_that_step_with_exchanges_message_and_the_rest_is_done() {
    let h = Home::new(&[("OFFBOARD_DEMO_EXO_DENY", "Remove-InboxRule")]);
    // The plan already shows the typo as a failed step with Exchange's message, and writes nothing.
    let p = h.run(&["plan", "default.rhai", "--user", LEAVER, "--json", "--set", "forward_to=morgan.mangaer@contoso.test"]);
    assert_eq!(p.code, 1, "{}", p.stderr);
    let pr = p.json();
    let f = step(&pr, "set_forwarding", LEAVER);
    assert_eq!(f["status"], "failed");
    assert!(f["detail"].as_str().expect("d").contains("object 'morgan.mangaer@contoso.test' couldn't be found"), "{f:#}");
    assert_eq!(h.state()["stats"]["exo_writes"], 0);

    let o = h.apply(LEAVER, &["forward_to=morgan.mangaer@contoso.test"]);
    let r = o.json();
    assert_eq!(o.code, 1, "{r:#}");
    assert_eq!(r["status"], "failed");
    let f = step(&r, "set_forwarding", LEAVER);
    assert_eq!(f["status"], "failed");
    assert!(f["detail"].as_str().expect("d").contains("couldn't be found on"), "{f:#}");
    let rule = step(&r, "remove_inbox_rule", "Copy invoices home");
    assert_eq!(rule["status"], "failed");
    assert!(rule["detail"].as_str().expect("d").contains("doesn't have the permissions required to run 'Remove-InboxRule'"), "{rule:#}");
    let failed: Vec<&str> =
        r["steps"].as_array().expect("steps").iter().filter(|s| s["status"] == "failed").filter_map(|s| s["action"].as_str()).collect();
    assert_eq!(failed.len(), 2, "{failed:?}");
    for a in ["convert_to_shared_mailbox", "hide_from_gal", "grant_mailbox_permission", "remove_mobile_device", "remove_license"] {
        assert!(steps_of(&r, a).iter().any(|s| s["status"] == "done"), "{a} should be done");
    }
    let m = h.mailbox(LEAVER);
    assert_eq!(m["forwardingSmtpAddress"], "smtp:lee.cloud@gmail.example", "the failed step changed nothing");
    assert!(m["rules"].as_array().expect("rules").iter().any(|r| r["name"] == "Copy invoices home"));
    assert_eq!(m["typeDetails"], "SharedMailbox");
}

#[test]
fn throttled_exchange_calls_are_survived() {
    let h = Home::new(&[("OFFBOARD_DEMO_THROTTLE_EVERY", "6"), ("OFFBOARD_DEMO_EXO_BUSY_EVERY", "7")]);
    let o = h.apply(LEAVER, &["forward_to=manager@contoso.test", "forward_keep_copy=false"]);
    let r = o.json();
    assert_eq!((o.code, r["status"].as_str()), (0, Some("succeeded")), "{r:#}\n{}", o.stderr);
    assert!(r["stats"]["throttled"].as_u64().expect("throttled") >= 3, "{:#}", r["stats"]);
    assert!(r["stats"]["retries"].as_u64().expect("retries") >= 3);
    assert_eq!(step(&r, "set_forwarding", LEAVER)["status"], "done");
    let m = h.mailbox(LEAVER);
    assert_eq!((m["forwardingAddress"].as_str(), m["deliverToMailboxAndForward"].as_bool()), (Some("manager"), Some(false)));
    assert_eq!(m["typeDetails"], "SharedMailbox");
    assert_eq!(m["fullAccess"].as_array().expect("fa").len(), 1, "granted once despite the retries");
}

#[test]
fn plan_sends_no_exchange_write_and_names_what_belongs_on_premises() {
    let h = Home::new(&[]);
    let o = h.run(&["plan", "default.rhai", "--user", SYNCED, "--json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r = o.json();
    assert_eq!(r["status"], "planned");
    let convert = step(&r, "convert_to_shared_mailbox", SYNCED);
    assert_eq!(convert["status"], "planned");
    let detail = convert["detail"].as_str().expect("detail");
    assert!(detail.contains("Set-RemoteMailbox") && detail.contains("at least 49 GB"), "{detail}");
    let hide = step(&r, "hide_from_gal", SYNCED);
    // No AD access for this client: only a person can hide a synced user, in on-premises AD.
    assert_eq!(hide["status"], "needs_action");
    let todo = hide["detail"].as_str().expect("d");
    assert!(todo.contains("msExchHideFromAddressLists") && todo.contains("in on-premises AD"), "{todo}");
    assert!(r["todos"].as_array().expect("todos").iter().any(|t| t["action"] == "hide_from_gal"), "{r:#}");
    assert_eq!(step(&r, "wait_for_shared_mailbox", SYNCED)["status"], "planned");
    let stats = h.state()["stats"].clone();
    assert!(stats["exo_operations"].as_u64().expect("ops") > 0, "the plan read Exchange");
    assert_eq!(stats["exo_writes"], 0);
    assert_eq!(stats["writes"], 0);
    assert_eq!(h.mailbox(SYNCED)["typeDetails"], "UserMailbox");

    // Applied, the final report still carries both warnings.
    let o = h.apply(SYNCED, &[]);
    let r = o.json();
    assert_eq!(r["status"], "succeeded", "{r:#}");
    let convert = step(&r, "convert_to_shared_mailbox", SYNCED);
    assert_eq!(convert["status"], "done");
    let detail = convert["detail"].as_str().expect("detail");
    assert!(detail.contains("Set-RemoteMailbox") && detail.contains("at least 49 GB"), "{detail}");
}

#[test]
fn scripts_read_the_mailbox_and_options_are_checked() {
    let h = Home::new(&[]);
    let script = h.dir.path().join("read.rhai");
    std::fs::write(
        &script,
        r#"
let u = graph::get_user(USER);
let m = exo::get_mailbox(u);
log(`type=${m.type} devices=${m.devices.len()} rules=${m.rules.len()} fwd=${m.forwarding_smtp} keep=${m.keep_copy} gb=${m.size_bytes / 1073741824}`);
log(`first=${m.devices[0].device_id} rule=${m.rules[0].name} full=${m.full_access.len()}`);
"#,
    )
    .expect("script");
    let o = h.run(&["plan", script.to_str().expect("path"), "--user", LEAVER, "--json"]);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    let msgs = o.json()["messages"].clone();
    assert_eq!(
        msgs,
        serde_json::json!([
            "type=UserMailbox devices=2 rules=1 fwd=smtp:lee.cloud@gmail.example keep=true gb=3",
            "first=ApplF17XK2Q1N3P4 rule=Copy invoices home full=0"
        ])
    );

    let bad = h.dir.path().join("typo.rhai");
    std::fs::write(
        &bad,
        "let u = graph::get_user(USER);\nexo::grant_mailbox_permission(u, \"manager@contoso.test\", #{ acess: \"full\" });\n",
    )
    .expect("script");
    let o = h.run(&["plan", bad.to_str().expect("path"), "--user", LEAVER, "--json"]);
    assert_eq!(o.code, 3, "{}\n{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("unknown option 'acess'"), "{}", o.stdout);
}

#[test]
fn a_failed_conversion_is_not_waited_for_and_keeps_every_licence() {
    let h = Home::new(&[("OFFBOARD_DEMO_EXO_DENY", "Set-Mailbox")]);
    let began = std::time::Instant::now();
    let o = h.apply(LEAVER, &[]);
    let r = o.json();
    assert_eq!((o.code, r["status"].as_str()), (1, Some("aborted")), "{r:#}");
    assert_eq!(step(&r, "convert_to_shared_mailbox", LEAVER)["status"], "failed");
    let wait = step(&r, "wait_for_shared_mailbox", LEAVER);
    assert_eq!(wait["status"], "failed");
    assert!(wait["detail"].as_str().expect("d").contains("no conversion to shared was sent"), "{wait:#}");
    assert!(began.elapsed() < std::time::Duration::from_secs(60), "failed fast, not after the 300 s wait");
    assert!(steps_of(&r, "remove_license").is_empty());
    // Devices and rules (other cmdlets) were still done.
    assert!(steps_of(&r, "remove_mobile_device").iter().all(|s| s["status"] == "done"));
    assert_eq!(h.mailbox(LEAVER)["typeDetails"], "UserMailbox");
}

/// A shared mailbox of 50 GB or more, with an archive or on hold still needs an Exchange Online
/// licence: the licence that carries the mailbox is kept, as a to-do; the others go.
#[test]
fn a_mailbox_that_needs_its_licence_keeps_it_as_a_to_do() {
    let h = Home::new(&[]);
    // The synced leaver's mailbox holds 50.3 GB.
    let o = h.run(&["plan", "default.rhai", "--user", SYNCED, "--json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r = o.json();
    let e3 = step(&r, "remove_license", "SPE_E3");
    assert_eq!(e3["status"], "needs_action", "{e3:#}");
    let todo = e3["detail"].as_str().expect("detail");
    assert!(todo.contains("keep SPE_E3") && todo.contains("holds 50.3 GB") && todo.contains("Exchange Online (Plan 2)"), "{todo}");
    assert!(r["todos"].as_array().expect("todos").iter().any(|t| t["action"] == "remove_license"), "{r:#}");

    // A small mailbox on litigation hold, with an archive: applied, E3 stays, Power BI goes.
    let mut st = h.state();
    for m in st["exchange"]["mailboxes"].as_array_mut().expect("mailboxes") {
        if m["upn"] == LEAVER {
            m["litigationHold"] = true.into();
            m["archive"] = true.into();
        }
    }
    std::fs::write(h.state_path(), serde_json::to_vec(&st).expect("json")).expect("write state");
    let o = h.apply(LEAVER, &[]);
    let r = o.json();
    assert_eq!(o.code, 0, "{r:#}");
    let e3 = step(&r, "remove_license", "SPE_E3");
    assert_eq!(e3["status"], "needs_action", "{e3:#}");
    let todo = e3["detail"].as_str().expect("detail");
    assert!(todo.contains("has an online archive") && todo.contains("litigation hold"), "{todo}");
    assert_eq!(step(&r, "remove_license", "POWER_BI_PRO")["status"], "done", "no mailbox in Power BI Pro");
    let user = h.state()["users"].as_array().expect("users").iter().find(|u| u["id"] == LEAVER_ID).cloned().expect("leaver");
    let states = user["licenseAssignmentStates"].as_array().expect("licences");
    assert!(states.iter().any(|l| l["skuId"] == SPE_E3 && l["assignedByGroup"].is_null()), "E3 was removed: {user:#}");
}

#[test]
fn the_plan_shows_the_out_of_office_words_and_binds_them_as_parameters() {
    let h = Home::new(&[]);
    let text = "Lee has left Contoso; please write to Morgan at manager@contoso.test.";
    let set = format!("out_of_office_internal={text}");
    let o = h.run(&["plan", "default.rhai", "--user", LEAVER, "--json", "--set", &set, "--set", "out_of_office_external=Lee has left."]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r = o.json();
    let ooo = step(&r, "set_out_of_office", LEAVER);
    let detail = ooo["detail"].as_str().expect("detail");
    assert!(detail.contains(text) && detail.contains("\"Lee has left.\""), "{detail}");
    // An approval compares the journalled parameters step by step: other words, another plan.
    let run = h.run(&["runs", "show", "last", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let journalled = run.json()["steps"].as_array().expect("steps").iter().find(|s| s["action"] == "set_out_of_office").cloned();
    let params = journalled.expect("the plan's step is journalled")["params"].clone();
    assert_eq!((params["internal"].as_str(), params["external"].as_str()), (Some(text), Some("Lee has left.")), "{params:#}");

    // On the terminal, the words are there in full under the step, within 80 columns.
    let o = h.run(&["plan", "default.rhai", "--user", LEAVER, "--set", &set]);
    let words: String = o.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains(text), "{}", o.stdout);
}
