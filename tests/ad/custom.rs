//! Custom AD steps against the Samba DC: `ad::add_group_membership`, and a script's own
//! `ad::search` / `ad::modify` inside an action, with AD's guarded objects refused.

use super::*;

#[test]
fn ad_add_group_membership_adds_once_refuses_guarded_groups_and_is_restored() {
    let rt = rt();
    let group = rt.block_on(async {
        let mut l = admin().await;
        let other = fixture_user(&mut l, "t-addg-o", "T AddG Other", "t.addg.o@contoso.test", 512, &[]).await;
        fixture_user(&mut l, "t-addg", "T AddG", "t.addg@contoso.test", 512, &[]).await;
        fixture_group(&mut l, "T Deny Logon (addg)", "-2147483646", &other).await
    });
    let cli = Cli::new("onprem", false, "");
    let script = cli.script("addg.rhai", &format!("{ONE_USER}ad::add_group_membership(u, \"T Deny Logon (addg)\");\n"));
    let (code, r, err) = cli.apply(&script, "t-addg");
    assert_eq!(code, 0, "{err}\n{r:#}");
    assert_eq!(step(&r, "add_group_membership", "ad")[0]["status"], "done", "{r:#}");
    let members = || {
        rt.block_on(async {
            let mut l = admin().await;
            let (rs, _) = l.search(&group, Scope::Base, "(objectClass=group)", vec!["member"]).await.unwrap().success().unwrap();
            vals(&SearchEntry::construct(rs.into_iter().next().unwrap()), "member")
        })
    };
    let now = members();
    assert_eq!(now.len(), 2, "{now:?}");
    assert_second_run_sends_nothing(&cli, &script, "t-addg");

    // Restore takes the user out again.
    let (code, rr, err) = cli.run(&["restore", r["run_id"].as_str().unwrap(), "--yes", "--json"]);
    assert_eq!(code, 0, "{err}\n{rr:#}");
    let now = members();
    assert_eq!(now.len(), 1, "{now:?}");

    // Domain Admins (adminCount=1) is refused before anything is planned; so is an ambiguous name.
    for (g, expected) in [("Domain Admins", "guarded by AD"), ("T Nothing (addg)", "no AD group")] {
        let s = cli.script("addg2.rhai", &format!("{ONE_USER}ad::add_group_membership(u, \"{g}\");\n"));
        let (code, r, err) = cli.apply(&s, "t-addg");
        assert_ne!(code, 0, "{g}: {r:#}");
        assert!(err.contains(expected) || r.to_string().contains(expected), "{g}: {err}\n{r:#}");
    }
}

#[test]
fn ad_generic_calls_run_in_an_action_and_never_touch_guarded_objects() {
    let rt = rt();
    rt.block_on(async {
        fixture_user(&mut admin().await, "t-gen", "T Gen", "t.gen@contoso.test", 512, &[("description", "Staff")]).await;
    });
    let cli = Cli::new("onprem", false, "");
    let action = |dn_expr: &str| {
        format!(
            r#"{ONE_USER}
phase("describe", || {{
    action("mark_description", #{{ directory: "ad", target: u.dn, idempotent: true,
        observe: || {{
            let found = ad::search("", `(sAMAccountName=${{ad::escape_filter(u.sam)}})`, ["description"]);
            let now = if found[0].attrs.contains("description") {{ found[0].attrs.description[0] }} else {{ "" }};
            if now == "Left (offboard-host)" {{ return #{{ status: "already_done", detail: now }}; }}
            #{{ status: "needed", detail: "mark the description", prior: #{{ description: now }} }}
        }},
        apply: |prior| {{ ad::modify({dn_expr}, #{{ replace: #{{ description: "Left (offboard-host)" }} }}); }},
        restore: |prior| #{{ ad: u.dn, changes: #{{ replace: #{{ description: prior.description }} }} }},
    }});
}});
"#
        )
    };
    let script = cli.script("gen.rhai", &action("u.dn"));
    let (code, r, err) = cli.apply(&script, "t-gen");
    assert_eq!(code, 0, "{err}\n{r:#}");
    assert_eq!(steps(&r)[0]["status"], "done", "{r:#}");
    let e = rt.block_on(async { read(&mut admin().await, "t-gen", &["description"]).await.unwrap() });
    assert_eq!(val(&e, "description").as_deref(), Some("Left (offboard-host)"));
    assert_second_run_sends_nothing(&cli, &script, "t-gen");
    // Restore replays the undo the step recorded: the description it found.
    let (code, rr, err) = cli.run(&["restore", r["run_id"].as_str().unwrap(), "--yes", "--json"]);
    assert_eq!(code, 0, "{err}\n{rr:#}");
    let e = rt.block_on(async { read(&mut admin().await, "t-gen", &["description"]).await.unwrap() });
    assert_eq!(val(&e, "description").as_deref(), Some("Staff"));

    // The same step aimed at the built-in Administrator (adminCount=1): refused by us, not sent.
    let before = rt.block_on(async { read(&mut admin().await, "Administrator", &["description"]).await.unwrap() });
    let admin_dn = format!("\"CN=Administrator,CN=Users,{}\"", dc().base());
    rt.block_on(async {
        let mut l = admin().await;
        let dn = read(&mut l, "t-gen", &["distinguishedName"]).await.unwrap().dn;
        l.modify(&dn, vec![ldap3::Mod::Delete("description", HashSet::new())]).await.unwrap();
    });
    let s = cli.script("gen2.rhai", &action(&admin_dn));
    let (_, r, err) = cli.apply(&s, "t-gen");
    let st = &steps(&r)[0];
    assert_eq!(st["status"], "failed", "{err}\n{r:#}");
    assert!(st["detail"].as_str().unwrap().contains("protected by AD"), "{st}");
    let after = rt.block_on(async { read(&mut admin().await, "Administrator", &["description"]).await.unwrap() });
    assert_eq!(val(&before, "description"), val(&after, "description"));
}
