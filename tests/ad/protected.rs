//! Protected AD accounts and hybrid identity matching, against the Samba DC: refused before
//! anything is planned (exit 9 / 10), and nothing in the directory changes.

use super::*;

const DEFAULT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/default.rhai");

fn plan(cli: &Cli, user: &str, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec!["plan", DEFAULT, "--user", user, "--json"];
    args.extend_from_slice(extra);
    cli.run(&args)
}

fn apply(cli: &Cli, user: &str, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec!["run", DEFAULT, "--user", user, "--yes", "--json"];
    args.extend_from_slice(extra);
    cli.run(&args)
}

#[test]
fn ad_builtin_administrator_and_krbtgt_are_refused_even_with_allow_privileged() {
    let rt = rt();
    let sams = ["Administrator", "krbtgt"];
    let before = rt.block_on(async { usn_snapshot(&mut admin().await, &sams).await });
    let cli = Cli::new("onprem", false, "");
    for (user, rid) in [("Administrator", "RID 500"), ("ADMINISTRATOR", "RID 500"), ("krbtgt", "RID 502")] {
        let (code, r, err) = apply(&cli, user, &["--allow-privileged"]);
        assert_eq!(code, 9, "{user}: {err}\n{r:#}");
        assert!(err.contains("protected account") && err.contains(rid), "{user}: {err}");
        assert!(!err.contains("--allow-privileged"), "no way out for a built-in: {err}");
    }
    // The bind account (Administrator here) is named as such too.
    let (_, _, err) = plan(&cli, "Administrator", &[]);
    assert!(err.contains("binds to AD as"), "{err}");
    let after = rt.block_on(async { usn_snapshot(&mut admin().await, &sams).await });
    assert_eq!(before, after, "nothing in AD changed");
    let runs = cli.run(&["runs", "list", "--json"]).1;
    assert!(runs.as_array().is_none_or(|a| a.is_empty()), "nothing was planned: {runs:#}");
}

#[test]
fn ad_bind_account_is_refused_when_it_is_an_ordinary_user() {
    let rt = rt();
    let dn = rt.block_on(async {
        let mut l = admin().await;
        let dn = fixture_user(&mut l, "svcoffb", "Svc Offboard", "svc.offboard@contoso.test", 0x10200, &[]).await;
        // The CLI binds with AD_PASSWORD: give the service account that password.
        let pw: Vec<u8> = format!("\"{}\"", dc().get("AD_PASSWORD")).encode_utf16().flat_map(u16::to_le_bytes).collect();
        l.modify(&dn, vec![Mod::Replace(b"unicodePwd".to_vec(), [pw].into_iter().collect::<HashSet<_>>())])
            .await
            .unwrap()
            .success()
            .unwrap();
        dn
    });
    let cli = Cli::new("onprem", false, &format!("bind_dn = \"{dn}\""));
    let (code, r, err) = apply(&cli, "svc.offboard@contoso.test", &["--allow-privileged"]);
    assert_eq!(code, 9, "{err}\n{r:#}");
    assert!(err.contains("binds to AD as"), "{err}");
    let e = rt.block_on(async { read(&mut admin().await, "svcoffb", &["userAccountControl"]).await.unwrap() });
    assert_eq!(val(&e, "userAccountControl").unwrap(), (0x10200).to_string());
}

#[test]
fn ad_computer_accounts_are_refused() {
    let cli = Cli::new("onprem", false, "");
    let (code, r, err) = plan(&cli, "WS01$", &["--allow-privileged"]);
    assert_eq!(code, 9, "{err}\n{r:#}");
    assert!(err.contains("computer account"), "{err}");
}

#[test]
fn ad_nested_domain_admin_and_admincount_need_allow_privileged() {
    let rt = rt();
    let base = dc().base().to_string();
    let dn = rt.block_on(async {
        let mut l = admin().await;
        let dn = fixture_user(&mut l, "itadmin", "Ian Admin", "it.admin@contoso.test", 512, &[]).await;
        let group = fixture_group(&mut l, "IT Admins", "-2147483646", &dn).await;
        let da = format!("CN=Domain Admins,CN=Users,{base}");
        let _ = l.modify(&da, vec![Mod::Add("member", one(group.as_str()))]).await.unwrap();
        fixture_user(&mut l, "oformer", "Olga Former", "olga.former@contoso.test", 512, &[("adminCount", "1")]).await;
        dn
    });
    let cli = Cli::new("onprem", false, "");
    let (code, r, err) = apply(&cli, "it.admin@contoso.test", &[]);
    assert_eq!(code, 9, "{err}\n{r:#}");
    assert!(err.contains("member of") && err.contains("Domain Admins") && err.contains("--allow-privileged"), "{err}");
    let (code, _, err) = plan(&cli, "oformer", &[]);
    assert_eq!(code, 9, "{err}");
    assert!(err.contains("adminCount=1"), "{err}");
    let e = rt.block_on(async { read(&mut admin().await, "itadmin", &["userAccountControl"]).await.unwrap() });
    assert_eq!(val(&e, "userAccountControl").unwrap(), "512", "refused: not disabled");

    // With the flag the admin is offboarded (groups, the nested admin group included, removed).
    let (code, r, err) = apply(&cli, "it.admin@contoso.test", &["--allow-privileged"]);
    assert_eq!(code, 0, "{err}\n{r:#}");
    let e = rt.block_on(async { read(&mut admin().await, "itadmin", &["userAccountControl", "memberOf"]).await.unwrap() });
    assert_eq!(val(&e, "userAccountControl").unwrap(), "514");
    assert!(vals(&e, "memberOf").is_empty(), "{:?}", vals(&e, "memberOf"));
    assert!(e.dn.contains("OU=Disabled Users") && e.dn != dn, "{}", e.dn);
}

#[test]
fn ad_protected_users_and_groups_compare_the_resolved_account() {
    let rt = rt();
    rt.block_on(async {
        let mut l = admin().await;
        let dn = fixture_user(&mut l, "pglass", "Pat Glass", "pat.glass@contoso.test", 512, &[]).await;
        let tier0 = fixture_group(&mut l, "Tier0 Staff", "-2147483646", &dn).await;
        fixture_user(&mut l, "tnested", "Tom Nested", "tom.nested@contoso.test", 512, &[]).await;
        let inner_dn = read(&mut l, "tnested", &["cn"]).await.unwrap().dn;
        let inner = fixture_group(&mut l, "Tier0 Inner", "-2147483646", &inner_dn).await;
        let _ = l.modify(&tier0, vec![Mod::Add("member", one(inner.as_str()))]).await.unwrap();
    });
    let cli = Cli::with_tenant("onprem", false, "protected_users = [\"pglass\"]\nprotected_groups = [\"Tier0 Staff\"]", "");
    // Listed by sAMAccountName, offboarded by UPN in capitals: the same account.
    let (code, r, err) = apply(&cli, "PAT.GLASS@CONTOSO.TEST", &["--allow-privileged"]);
    assert_eq!(code, 9, "{err}\n{r:#}");
    assert!(err.contains("protected_users (as 'pglass')"), "{err}");
    // A member of the listed group through a nested group.
    let (code, _, err) = plan(&cli, "tnested", &["--allow-privileged"]);
    assert_eq!(code, 9, "{err}");
    assert!(err.contains("Tier0 Staff") && err.contains("protected_groups"), "{err}");
    let e = rt.block_on(async { read(&mut admin().await, "pglass", &["userAccountControl"]).await.unwrap() });
    assert_eq!(val(&e, "userAccountControl").unwrap(), "512");
}

#[test]
fn ad_a_script_cannot_take_a_handle_to_the_administrator() {
    let cli = Cli::new("onprem", false, "");
    let script = cli.script("sneaky.rhai", "let a = ad::get_user(\"Administrator\");\nphase(\"x\", || ad::disable_account(a));\n");
    let (code, r, err) = cli.run(&["plan", script.to_str().unwrap(), "--user", "pobrien", "--json"]);
    assert_eq!(code, 9, "{err}\n{r:#}");
    assert_eq!(r["error"]["code"], "protected", "{r:#}");
    assert!(steps(&r).is_empty(), "{r:#}");
}

#[test]
fn hybrid_synced_user_is_matched_by_immutable_id_and_a_mismatch_exits_10() {
    let _synced = synced_lock();
    let rt = rt();
    let cli = Cli::new("hybrid-synced", true, "");
    let user = "leaver.synced@contoso.test";
    let decoy = rt.block_on(async {
        let mut l = admin().await;
        reset_synced_leaver(&mut l).await;
        // Another account with the synced user's UPN suffix but the wrong name: not it.
        fixture_user(&mut l, "ssynced2", "Sam Synced Two", "sam.synced2@contoso.test", 512, &[]).await
    });

    // The anchor names the account: the plan goes to CN=Sam Synced.
    let (code, r, err) = plan(&cli, user, &[]);
    assert_eq!(code, 0, "{err}\n{r:#}");
    assert!(r["messages"].to_string().contains("AD: CN=Sam Synced,OU=Staff"), "{r:#}");

    // The anchor on another account (sAMAccountName disagrees): refused, both named.
    rt.block_on(async {
        let mut l = admin().await;
        let synced_dn = read(&mut l, "ssynced", &["cn"]).await.unwrap().dn;
        set_anchor(&mut l, &synced_dn, None).await;
        set_anchor(&mut l, &decoy, Some(&SYNCED_ANCHOR)).await;
    });
    let (code, r, err) = plan(&cli, user, &[]);
    assert_eq!(code, 10, "{err}\n{r:#}");
    assert!(err.contains(user) && err.contains("CN=Sam Synced Two") && err.contains("onPremisesSamAccountName is ssynced"), "{err}");

    // No account holds the anchor: refused, naming the account the UPN alone would have picked.
    rt.block_on(async { set_anchor(&mut admin().await, &decoy, None).await });
    let (code, _, err) = plan(&cli, user, &[]);
    assert_eq!(code, 10, "{err}");
    assert!(err.contains(user) && err.contains("CN=Sam Synced,OU=Staff") && err.contains("no AD account has"), "{err}");
    let runs = cli.run(&["runs", "list", "--json"]).1;
    assert_eq!(runs.as_array().map(Vec::len), Some(1), "only the first plan was recorded: {runs:#}");

    rt.block_on(async {
        let mut l = admin().await;
        l.delete(&decoy).await.unwrap().success().unwrap();
        reset_synced_leaver(&mut l).await;
    });
}
