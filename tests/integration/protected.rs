//! Protected accounts: refused before anything is planned (exit 9); an administrator only with
//! `--allow-privileged`, and then their Entra directory roles go first.

use crate::helpers::*;

const ADMIN: &str = ids::LEAVER_ADMIN_UPN;

/// The members of a demo directory role, from the state file.
fn role_members(home: &Home, role_id: &str) -> Vec<String> {
    let st = home.state();
    let roles = st["directoryRoles"].as_array().or_else(|| st["directory_roles"].as_array()).expect("directory roles in the state");
    let role = roles.iter().find(|r| r["id"] == role_id).expect("role");
    role["members"].as_array().unwrap().iter().map(|m| m.as_str().unwrap().to_string()).collect()
}

#[test]
fn a_global_administrator_is_refused_with_exit_9_and_nothing_is_planned() {
    let home = Home::new();
    for args in [vec!["plan", "default.rhai", "--user", ADMIN, "--json"], vec!["run", "default.rhai", "--user", ADMIN, "--yes", "--json"]] {
        let o = home.cmd(args).run();
        assert_eq!(o.code, 9, "{}\n{}", o.stdout, o.stderr);
        assert!(o.stderr.contains("protected account") && o.stderr.contains("Global Administrator"), "{}", o.stderr);
        assert!(o.stderr.contains("--allow-privileged"), "the way out is named: {}", o.stderr);
    }
    assert!(home.runs().is_empty(), "no run was recorded: {:?}", home.runs());
    assert_eq!(home.stats().writes, 0);
    assert!(role_members(&home, ids::ROLE_GLOBAL_ADMIN).contains(&ids::LEAVER_ADMIN_ID.to_string()));
}

#[test]
fn the_break_glass_account_is_refused_by_any_spelling_even_with_allow_privileged() {
    let home = Home::new();
    let upper = ids::BREAK_GLASS_UPN.to_ascii_uppercase();
    for user in [ids::BREAK_GLASS_UPN, upper.as_str(), ids::BREAK_GLASS_ID] {
        let o = home.cmd(["run", "default.rhai", "--user", user, "--yes", "--json", "--allow-privileged"]).run();
        assert_eq!(o.code, 9, "{user}: {}\n{}", o.stdout, o.stderr);
        assert!(o.stderr.contains("protected_users"), "{}", o.stderr);
        assert!(!o.stderr.contains("--allow-privileged"), "no way out for a listed account: {}", o.stderr);
    }
    assert_eq!(home.stats().writes, 0);
}

#[test]
fn a_listed_protected_group_protects_its_members() {
    let home = Home::new();
    let cfg = home.write("protected.toml", "[tenants.c]\ndirectory = \"cloud\"\ndemo = true\nprotected_groups = [\"finance approvers\"]\n");
    let o = home.cmd(["plan", "default.rhai", "--user", CLOUD, "--config", cfg.to_str().unwrap()]).run();
    assert_eq!(o.code, 9, "{}\n{}", o.stdout, o.stderr);
    assert!(o.stderr.contains("Finance Approvers") && o.stderr.contains("protected_groups"), "{}", o.stderr);
}

#[test]
fn an_allowed_role_needs_no_flag_and_allow_privileged_removes_roles_first() {
    let home = Home::new();
    // With the role allowed, no flag is needed; the role still goes first.
    let cfg = home.write("allowed.toml", "[tenants.c]\ndirectory = \"cloud\"\ndemo = true\nallowed_roles = [\"global administrator\"]\n");
    let o = home.cmd(["plan", "default.rhai", "--user", ADMIN, "--json", "--config", cfg.to_str().unwrap()]).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    let plan = o.json();
    let first = &steps(&plan)[0];
    assert_eq!(
        (first["phase"].as_str(), first["action"].as_str(), first["status"].as_str()),
        (Some("privileges"), Some("remove_directory_role"), Some("planned")),
        "{first}"
    );

    let o = home.cmd(["run", "default.rhai", "--user", ADMIN, "--yes", "--json", "--allow-privileged"]).run();
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    let r = o.json();
    let first = &steps(&r)[0];
    assert_eq!(first["action"], "remove_directory_role", "{r:#}");
    assert_eq!(first["target"], "Global Administrator", "{first}");
    assert_eq!(first["status"], "done", "{first}");
    assert!(!role_members(&home, ids::ROLE_GLOBAL_ADMIN).contains(&ids::LEAVER_ADMIN_ID.to_string()));
    assert!(role_members(&home, ids::ROLE_GLOBAL_ADMIN).contains(&ids::BREAK_GLASS_ID.to_string()), "only the leaver's role went");
    // Journalled with its prior state, for restore.
    let detail = home.run_detail(r["run_id"].as_str().unwrap()).to_string();
    assert!(detail.contains(ids::ROLE_GLOBAL_ADMIN) && detail.contains("62e90394-69f5-4237-9190-012177145e10"), "{detail}");
    assert_eq!(home.user(ids::LEAVER_ADMIN_ID)["accountEnabled"], false);

    // A second run: the user now holds no role, so no flag is needed and nothing is sent.
    assert_rerun_sends_nothing(&home, ADMIN);

    // Restore gives the role back, from the journalled prior state.
    let o = home.cmd(["restore", r["run_id"].as_str().unwrap(), "--yes", "--json"]).run();
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    let rr = o.json();
    assert_eq!(status_of(&rr, "add_directory_role", "Global Administrator"), "done", "{rr:#}");
    assert!(role_members(&home, ids::ROLE_GLOBAL_ADMIN).contains(&ids::LEAVER_ADMIN_ID.to_string()));
}
