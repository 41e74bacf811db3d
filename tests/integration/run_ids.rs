//! Runs named the short way (a unique prefix of the id, `last`) and `runs list`'s filters.

use crate::helpers::*;

fn ids(o: &Output) -> Vec<String> {
    o.json().as_array().unwrap().iter().map(|r| r["run_id"].as_str().unwrap().to_string()).collect()
}

#[test]
fn a_prefix_or_last_names_a_run_and_an_ambiguous_prefix_lists_the_candidates() {
    let home = Home::new();
    let (_, first) = home.plan(CLOUD);
    let (_, second) = home.plan(CLOUD);
    let (a, b) = (first["run_id"].as_str().unwrap(), second["run_id"].as_str().unwrap());

    let o = home.cmd(["runs", "show", "last", "--json"]).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.json()["run_id"], b);

    // The shortest prefix of the first run that the second does not share.
    let n = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count() + 1;
    let o = home.cmd(["runs", "show", &a[..n], "--json"]).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.json()["run_id"], a);
    assert!(o.stderr.contains(&format!("run {a}")), "the chosen run is named: {}", o.stderr);

    // Both start with the date.
    let o = home.cmd(["runs", "show", &a[..9]]).run();
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("ambiguous") && o.stderr.contains(a) && o.stderr.contains(b), "{}", o.stderr);

    // `restore last` wants an apply run: plans are not one.
    let o = home.cmd(["restore", "last", "--yes"]).run();
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("no apply run"), "{}", o.stderr);
}

#[test]
fn runs_list_filters_by_user_tenant_status_and_start() {
    let home = Home::new();
    home.plan(CLOUD);
    let (code, apply) = home.apply(CLOUD);
    assert_eq!(code, 0);
    let list = |args: &[&str]| {
        let o = home.cmd(["runs", "list", "--json"].iter().chain(args)).run();
        assert_eq!(o.code, 0, "{args:?}: {}", o.stderr);
        ids(&o)
    };
    assert_eq!(list(&[]).len(), 2);
    assert_eq!(list(&["--user", &CLOUD.to_uppercase()]).len(), 2, "a UPN in any case");
    assert!(list(&["--user", "someone.else@contoso.test"]).is_empty());
    assert_eq!(list(&["--tenant", "demo"]).len(), 2);
    assert!(list(&["--tenant", "other"]).is_empty());
    assert_eq!(list(&["--status", "succeeded"]), vec![apply["run_id"].as_str().unwrap().to_string()]);
    assert_eq!(list(&["--status", "planned"]).len(), 1);
    assert!(list(&["--status", "failed"]).is_empty());
    assert_eq!(list(&["--since", "1d"]).len(), 2);
    assert!(list(&["--since", "2999-01-01"]).is_empty());
    assert_eq!(list(&["--status", "planned", "--since", "2000-01-01T00:00:00Z", "--user", CLOUD]).len(), 1);

    let o = home.cmd(["runs", "list", "--status", "done"]).run();
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("unknown run status 'done'"), "{}", o.stderr);
    let o = home.cmd(["runs", "list", "--since", "yesterday"]).run();
    assert_eq!(o.code, 2, "{}", o.stderr);
}
