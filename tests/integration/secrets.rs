//! The password set on the leaver and the app's client secret appear nowhere we write.

use crate::helpers::*;

#[test]
fn passwords_and_client_secret_never_appear() {
    let home = Home::new();
    let pw = home.path().join("canary-passwords.txt");
    let pw_s = pw.to_str().unwrap().to_string();
    let mut outputs = Vec::new();
    for extra in [vec!["--json"], vec!["-vv"]] {
        // Reset between runs so each one really sets a password.
        assert_eq!(home.cmd(["demo", "reset"]).run().code, 0);
        let mut args = vec!["run", "default.rhai", "--user", CLOUD, "--yes"];
        args.extend(extra);
        let o = home.cmd(args).env("OFFBOARD_DEMO_RECORD_PASSWORDS", &pw_s).run();
        assert_eq!(o.code, 0, "{}", o.stderr);
        outputs.push(o.stdout);
        outputs.push(o.stderr);
    }
    let passwords = recorded_passwords(&pw);
    assert_eq!(passwords.len(), 2, "{passwords:?}");
    assert!(outputs[3].contains("DEBUG") || outputs[3].len() > 1000, "-vv logged nothing:\n{}", outputs[3]);
    for r in home.runs() {
        let o = home.cmd(["runs", "show", r["run_id"].as_str().unwrap(), "--json"]).run();
        outputs.push(o.stdout);
        let o = home.cmd(["runs", "show", r["run_id"].as_str().unwrap()]).run();
        outputs.push(o.stdout);
    }
    outputs.push(home.cmd(["runs", "list", "--json"]).run().stdout);
    let mut journal_bytes = Vec::new();
    for entry in std::fs::read_dir(home.path()).unwrap() {
        let p = entry.unwrap().path();
        if p.file_name().unwrap().to_string_lossy().starts_with("journal.db") {
            journal_bytes.extend(std::fs::read(&p).unwrap());
        }
    }
    assert!(!journal_bytes.is_empty());
    let journal = String::from_utf8_lossy(&journal_bytes).into_owned();
    let state = std::fs::read_to_string(home.state_path()).unwrap();
    let mut canaries: Vec<String> = passwords.clone();
    canaries.push("demo-client-secret".into());
    for c in &canaries {
        assert!(c.len() >= 16, "{c}");
        for (i, out) in outputs.iter().enumerate() {
            assert!(!out.contains(c.as_str()), "secret found in output #{i}");
        }
        assert!(!journal.contains(c.as_str()), "secret found in the journal database");
        assert!(!journal_bytes.windows(c.len()).any(|w| w == c.as_bytes()));
        assert!(!state.contains(c.as_str()), "secret found in the demo state file");
    }
}
