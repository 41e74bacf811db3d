//! On-premises AD against a real Samba AD DC (started by `tests/samba/setup.sh`, once per test
//! binary run). These tests fail, not skip, when the DC cannot start.
//!
//! Each test offboards its own fixture user (recreated at the start, so a reused DC gives the same
//! result), drives the `offboard-host` binary with a config file pointing at the DC (or the
//! library's provider directly), and checks the directory with a separate LDAP connection.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

use ldap3::{LdapConnAsync, LdapConnSettings, Mod, Scope, SearchEntry};
use serde_json::Value;

use offboard_host::ad::{AdError, AdPolicy, LdapConfig, LdapDirectory, OnPremDirectory};
use offboard_host::secret::Secret;

const PW_ENV: &str = "OFFBOARD_TEST_AD_PASSWORD";
const FIXTURE_PW: &str = "Fixture-Passw0rd!1";

struct Dc {
    vars: HashMap<String, String>,
}

impl Dc {
    fn get(&self, k: &str) -> &str {
        self.vars.get(k).unwrap_or_else(|| panic!("{k} missing from the Samba env file"))
    }
    fn base(&self) -> &str {
        self.get("AD_BASE_DN")
    }
    fn staff(&self) -> &str {
        self.get("AD_STAFF_OU")
    }
    fn disabled(&self) -> &str {
        self.get("AD_DISABLED_OU")
    }
}

/// Start (or reuse) the DC once per test binary run.
fn dc() -> &'static Dc {
    static DC: OnceLock<Dc> = OnceLock::new();
    DC.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let samba_dir = std::env::var("SAMBA_DIR").unwrap_or_else(|_| "/tmp/offboard-host-samba".into());
        let started = Instant::now();
        let out = Command::new("bash")
            .arg(root.join("tests/samba/setup.sh"))
            .env("SAMBA_DIR", &samba_dir)
            .output()
            .expect("running tests/samba/setup.sh");
        assert!(
            out.status.success(),
            "the Samba AD DC could not be started (tests/samba/setup.sh: {}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("Samba DC ready in {:.1}s: {}", started.elapsed().as_secs_f64(), String::from_utf8_lossy(&out.stderr).trim());
        let text = std::fs::read_to_string(Path::new(&samba_dir).join("env")).expect("the Samba env file");
        let vars = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('\'').to_string()))
            .collect();
        Dc { vars }
    })
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// A separate admin connection: the independent reader of what our code did.
async fn admin() -> ldap3::Ldap {
    let dc = dc();
    let (conn, mut ldap) = LdapConnAsync::with_settings(LdapConnSettings::new().set_no_tls_verify(true), dc.get("AD_URL")).await.unwrap();
    ldap3::drive!(conn);
    ldap.simple_bind(dc.get("AD_BIND_DN"), dc.get("AD_PASSWORD")).await.unwrap().success().unwrap();
    ldap
}

async fn read(ldap: &mut ldap3::Ldap, sam: &str, attrs: &[&str]) -> Option<SearchEntry> {
    let filter = format!("(sAMAccountName={})", ldap3::ldap_escape(sam));
    let (rs, _) = ldap.search(dc().base(), Scope::Subtree, &filter, attrs.to_vec()).await.unwrap().success().unwrap();
    rs.into_iter().filter(|e| !e.is_ref()).map(SearchEntry::construct).next()
}

fn val(e: &SearchEntry, a: &str) -> Option<String> {
    e.attrs.iter().find(|(k, _)| k.eq_ignore_ascii_case(a)).and_then(|(_, v)| v.first().cloned())
}

fn vals(e: &SearchEntry, a: &str) -> Vec<String> {
    e.attrs.iter().find(|(k, _)| k.eq_ignore_ascii_case(a)).map(|(_, v)| v.clone()).unwrap_or_default()
}

/// (DN, uSNChanged) of the given users: any write to them moves their uSNChanged. (Not the
/// directory-wide highestCommittedUSN: the other tests write in parallel.)
async fn usn_snapshot(ldap: &mut ldap3::Ldap, sams: &[&str]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for sam in sams {
        let e = read(ldap, sam, &["uSNChanged"]).await.unwrap_or_else(|| panic!("{sam} is seeded"));
        out.push((e.dn.clone(), val(&e, "uSNChanged").unwrap()));
    }
    out
}

fn one(v: &str) -> HashSet<&str> {
    [v].into_iter().collect()
}

/// Delete any user with this sAMAccountName, then add it fresh in OU=Staff with `extra`
/// attributes. Returns its DN.
async fn fixture_user(ldap: &mut ldap3::Ldap, sam: &str, cn: &str, upn: &str, uac: u32, extra: &[(&str, &str)]) -> String {
    if let Some(old) = read(ldap, sam, &["cn"]).await {
        ldap.delete(&old.dn).await.unwrap().success().unwrap();
    }
    let dn = format!("CN={},{}", ldap3::dn_escape(cn), dc().staff());
    let pw: Vec<u8> = format!("\"{FIXTURE_PW}\"").encode_utf16().flat_map(u16::to_le_bytes).collect();
    let uac_s = uac.to_string();
    let mut attrs: Vec<(Vec<u8>, HashSet<Vec<u8>>)> = vec![
        (b"objectClass".to_vec(), [b"user".to_vec()].into_iter().collect()),
        (b"sAMAccountName".to_vec(), [sam.as_bytes().to_vec()].into_iter().collect()),
        (b"userPrincipalName".to_vec(), [upn.as_bytes().to_vec()].into_iter().collect()),
        (b"unicodePwd".to_vec(), [pw].into_iter().collect()),
        (b"userAccountControl".to_vec(), [uac_s.as_bytes().to_vec()].into_iter().collect()),
    ];
    for (k, v) in extra {
        attrs.push((k.as_bytes().to_vec(), [v.as_bytes().to_vec()].into_iter().collect()));
    }
    ldap.add(&dn, attrs).await.unwrap().success().unwrap_or_else(|e| panic!("adding {dn}: {e}"));
    dn
}

/// A fresh group in OU=Groups with `member`.
async fn fixture_group(ldap: &mut ldap3::Ldap, name: &str, group_type: &str, member: &str) -> String {
    let dn = format!("CN={},OU=Groups,{}", ldap3::dn_escape(name), dc().base());
    let _ = ldap.delete(&dn).await;
    let attrs = vec![("objectClass", one("group")), ("sAMAccountName", one(name)), ("groupType", one(group_type)), ("member", one(member))];
    ldap.add(&dn, attrs).await.unwrap().success().unwrap_or_else(|e| panic!("adding {dn}: {e}"));
    dn
}

/// A working directory for one CLI run: config file, scripts, OFFBOARD_HOME.
struct Cli {
    dir: tempfile::TempDir,
}

impl Cli {
    /// `mode`: the tenant's directory mode; `demo`: also the simulated cloud tenant; `ad`: extra
    /// lines for the `[tenants.t.ad]` section (url etc. default to the DC's LDAPS).
    fn new(mode: &str, demo: bool, ad_extra: &str) -> Cli {
        Cli::with_tenant(mode, demo, "", ad_extra)
    }

    /// As [`Cli::new`], with `tenant_extra` lines in `[tenants.t]` (protected_users, ...).
    fn with_tenant(mode: &str, demo: bool, tenant_extra: &str, ad_extra: &str) -> Cli {
        let dc = dc();
        let dir = tempfile::tempdir().unwrap();
        let mut ad = format!(
            "url = \"{}\"\nbind_dn = \"{}\"\npassword_env = \"{PW_ENV}\"\nbase_dn = \"{}\"\ndisabled_ou = \"{}\"\n",
            dc.get("AD_URL"),
            dc.get("AD_BIND_DN"),
            dc.base(),
            dc.disabled()
        );
        if !ad_extra.contains("ca_file") && !ad_extra.contains("accept_invalid_certs") {
            ad.push_str(&format!("ca_file = \"{}\"\n", dc.get("AD_CA_FILE")));
        }
        // Later keys override: drop the defaults that ad_extra sets.
        let overridden: Vec<&str> = ad_extra.lines().filter_map(|l| l.split_once('=')).map(|(k, _)| k.trim()).collect();
        let ad: String = ad
            .lines()
            .filter(|l| l.split_once('=').is_none_or(|(k, _)| !overridden.contains(&k.trim())))
            .map(|l| format!("{l}\n"))
            .collect();
        let cfg = format!("[tenants.t]\ndirectory = \"{mode}\"\ndemo = {demo}\n{tenant_extra}\n\n[tenants.t.ad]\n{ad}{ad_extra}\n");
        std::fs::write(dir.path().join("offboard-host.toml"), cfg).unwrap();
        Cli { dir }
    }

    fn script(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Run the binary; returns the exit code, the JSON report (if any) and stderr.
    fn run(&self, args: &[&str]) -> (i32, Value, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_offboard-host"))
            .args(["--config", self.dir.path().join("offboard-host.toml").to_str().unwrap()])
            .args(args)
            .env("OFFBOARD_HOME", self.dir.path().join("home"))
            .env(PW_ENV, dc().get("AD_PASSWORD"))
            .env_remove("OFFBOARD_TENANT")
            .env_remove("OFFBOARD_CONFIG")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        // The report; on an error the CLI prints a second JSON document with the error alone.
        let report = serde_json::Deserializer::from_str(&stdout).into_iter::<Value>().next().and_then(Result::ok).unwrap_or(Value::Null);
        (out.status.code().unwrap_or(-1), report, String::from_utf8_lossy(&out.stderr).to_string())
    }

    fn apply(&self, script: &Path, user: &str) -> (i32, Value, String) {
        self.run(&["run", script.to_str().unwrap(), "--user", user, "--yes", "--json"])
    }
}

fn steps(r: &Value) -> Vec<&Value> {
    r["steps"].as_array().map(|a| a.iter().collect()).unwrap_or_default()
}

fn step<'a>(r: &'a Value, action: &str, directory: &str) -> Vec<&'a Value> {
    steps(r).into_iter().filter(|s| s["action"] == action && s["directory"] == directory).collect()
}

/// A second run of the same script: every step already done, skipped or still left to a person,
/// and no write sent.
fn assert_second_run_sends_nothing(cli: &Cli, script: &Path, user: &str) {
    let (code, r, err) = cli.apply(script, user);
    assert_eq!(code, 0, "{err}\n{r:#}");
    assert_eq!(r["stats"]["writes"], 0, "second run wrote: {r:#}");
    for s in steps(&r) {
        assert!(["already_done", "skipped", "needs_action"].contains(&s["status"].as_str().unwrap_or("")), "second run: {s}");
    }
}

const ONE_USER: &str = "let u = ad::get_user(USER);\n";

#[test]
fn ad_disable_sets_only_accountdisable_and_a_second_run_sends_nothing() {
    let rt = rt();
    let dn = rt.block_on(async {
        let mut l = admin().await;
        fixture_user(&mut l, "t-disable", "T Disable", "t.disable@contoso.test", 0x10200, &[]).await
    });
    let cli = Cli::new("onprem", false, "");
    let script = cli.script("disable.rhai", &format!("{ONE_USER}ad::disable_account(u);\n"));
    let (code, r, err) = cli.apply(&script, "t-disable");
    assert_eq!(code, 0, "{err}\n{r:#}");
    let s = &step(&r, "disable_account", "ad")[0];
    assert_eq!(s["status"], "done", "{s}");
    let e = rt.block_on(async { read(&mut admin().await, "t-disable", &["userAccountControl"]).await.unwrap() });
    assert_eq!(e.dn, dn);
    assert_eq!(val(&e, "userAccountControl").unwrap(), (0x10202).to_string(), "DONT_EXPIRE_PASSWORD must be kept");
    assert_second_run_sends_nothing(&cli, &script, "t-disable");
}

#[test]
fn ad_reset_password_replaces_unicodepwd_and_is_never_recorded() {
    let rt = rt();
    let before = rt.block_on(async {
        let mut l = admin().await;
        fixture_user(&mut l, "t-password", "T Password", "t.password@contoso.test", 512, &[]).await;
        val(&read(&mut l, "t-password", &["pwdLastSet"]).await.unwrap(), "pwdLastSet").unwrap()
    });
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let cli = Cli::new("onprem", false, "");
    let script = cli.script("pw.rhai", &format!("{ONE_USER}ad::disable_account(u);\nad::reset_password(u);\n"));
    let (code, r, err) = cli.apply(&script, "t.password@contoso.test");
    assert_eq!(code, 0, "{err}\n{r:#}");
    assert_eq!(step(&r, "reset_password", "ad")[0]["status"], "done", "{r:#}");
    let after = rt.block_on(async { val(&read(&mut admin().await, "t-password", &["pwdLastSet"]).await.unwrap(), "pwdLastSet").unwrap() });
    assert_ne!(before, after, "pwdLastSet must move");
    // The old password no longer binds.
    let old_binds = rt.block_on(async {
        let (conn, mut l) =
            LdapConnAsync::with_settings(LdapConnSettings::new().set_no_tls_verify(true), dc().get("AD_URL")).await.unwrap();
        ldap3::drive!(conn);
        l.simple_bind("t.password@contoso.test", FIXTURE_PW).await.unwrap().success().is_ok()
    });
    assert!(!old_binds, "the fixture password still works after the reset");
    // Nothing password-like in the journal or the report.
    let journal = std::fs::read(cli.dir.path().join("home/journal.db")).unwrap();
    assert!(!String::from_utf8_lossy(&journal).contains("unicodePwd\":\""));
    assert!(!r.to_string().contains(FIXTURE_PW));
    assert_second_run_sends_nothing(&cli, &script, "t.password@contoso.test");
}

#[test]
fn ad_move_to_disabled_ou_keeps_an_escaped_cn_and_warns_outside_the_sync_scope() {
    let rt = rt();
    let cn = "O'Brien, T #Move";
    rt.block_on(async {
        let mut l = admin().await;
        fixture_user(&mut l, "t-move", cn, "t.move@contoso.test", 512, &[]).await;
    });
    // Target OU outside the listed sync scope: the plan warns.
    let archive = Cli::new(
        "onprem",
        false,
        &format!("disabled_ou = \"{}\"\nsync_scope = [\"{}\", \"{}\"]", dc().get("AD_ARCHIVE_OU"), dc().staff(), dc().disabled()),
    );
    let script = archive.script("move.rhai", &format!("{ONE_USER}ad::move_to_disabled_ou(u);\n"));
    let (code, plan, err) = archive.run(&["plan", script.to_str().unwrap(), "--user", "t-move", "--json"]);
    assert_eq!(code, 0, "{err}");
    let detail = step(&plan, "move_ou", "ad")[0]["detail"].as_str().unwrap().to_string();
    assert!(detail.contains("outside the configured sync scope"), "{detail}");

    let cli = Cli::new("onprem", false, &format!("sync_scope = [\"{}\", \"{}\"]", dc().staff(), dc().disabled()));
    let script = cli.script("move.rhai", &format!("{ONE_USER}ad::move_to_disabled_ou(u);\n"));
    let (code, r, err) = cli.apply(&script, "t-move");
    assert_eq!(code, 0, "{err}\n{r:#}");
    let s = &step(&r, "move_ou", "ad")[0];
    assert_eq!(s["status"], "done", "{s}");
    let e = rt.block_on(async { read(&mut admin().await, "t-move", &["cn"]).await.unwrap() });
    assert_eq!(val(&e, "cn").unwrap(), cn, "the CN is unchanged by the move");
    assert!(e.dn.to_ascii_lowercase().ends_with(&dc().disabled().to_ascii_lowercase()), "{}", e.dn);
    assert_second_run_sends_nothing(&cli, &script, "t-move");
}

#[test]
fn ad_group_removal_changes_each_groups_member_and_keeps_the_primary_group() {
    let rt = rt();
    let (g1, g2) = rt.block_on(async {
        let mut l = admin().await;
        let dn = fixture_user(&mut l, "t-groups", "T Groups", "t.groups@contoso.test", 512, &[]).await;
        let g1 = fixture_group(&mut l, "T Global (groups)", "-2147483646", &dn).await;
        let g2 = fixture_group(&mut l, "T Universal (groups)", "-2147483640", &dn).await;
        (g1, g2)
    });
    let cli = Cli::new("onprem", false, "");
    let script = cli.script("groups.rhai", &format!("{ONE_USER}for g in u.groups {{ ad::remove_group_membership(u, g); }}\n"));
    let (code, r, err) = cli.apply(&script, "t-groups");
    assert_eq!(code, 0, "{err}\n{r:#}");
    let g = step(&r, "remove_group_membership", "ad");
    assert_eq!(g.len(), 3, "two groups and the primary group: {r:#}");
    assert_eq!(g.iter().filter(|s| s["status"] == "done").count(), 2, "{r:#}");
    let primary = g.iter().find(|s| s["status"] == "skipped").unwrap();
    assert_eq!(primary["target"], "Domain Users");
    assert!(primary["detail"].as_str().unwrap().contains("513"), "{primary}");
    rt.block_on(async {
        let mut l = admin().await;
        let e = read(&mut l, "t-groups", &["memberOf", "primaryGroupID"]).await.unwrap();
        assert!(vals(&e, "memberOf").is_empty(), "{:?}", vals(&e, "memberOf"));
        assert_eq!(val(&e, "primaryGroupID").unwrap(), "513");
        for g in [&g1, &g2] {
            let (rs, _) = l.search(g, Scope::Base, "(objectClass=group)", vec!["member"]).await.unwrap().success().unwrap();
            let ge = SearchEntry::construct(rs.into_iter().next().unwrap());
            assert!(vals(&ge, "member").is_empty(), "{g} still has members");
        }
    });
    assert_second_run_sends_nothing(&cli, &script, "t-groups");
}

#[test]
fn ad_employee_id_and_manager_are_cleared() {
    let rt = rt();
    rt.block_on(async {
        let mut l = admin().await;
        let manager = format!("CN=Morgan Manager,{}", dc().staff());
        fixture_user(&mut l, "t-attrs", "T Attrs", "t.attrs@contoso.test", 512, &[("employeeID", "E9001"), ("manager", &manager)]).await;
    });
    let cli = Cli::new("onprem", false, "");
    let script = cli.script("attrs.rhai", &format!("{ONE_USER}ad::clear_employee_id(u);\nad::remove_manager(u);\n"));
    let (code, r, err) = cli.apply(&script, "t-attrs");
    assert_eq!(code, 0, "{err}\n{r:#}");
    assert!(steps(&r).iter().all(|s| s["status"] == "done"), "{r:#}");
    let e = rt.block_on(async { read(&mut admin().await, "t-attrs", &["employeeID", "manager"]).await.unwrap() });
    assert_eq!(val(&e, "employeeID"), None);
    assert_eq!(val(&e, "manager"), None);
    // The prior state is in the journal, for reversal.
    let (_, runs, _) = cli.run(&["runs", "list", "--json"]);
    let run_id = runs.as_array().and_then(|a| a.iter().find(|r| r["mode"] == "apply")).map(|r| r["run_id"].as_str().unwrap().to_string());
    let (_, detail, _) = cli.run(&["runs", "show", &run_id.expect("an apply run"), "--json"]);
    assert!(detail.to_string().contains("E9001") && detail.to_string().contains("Morgan Manager"), "{detail:#}");
    assert_second_run_sends_nothing(&cli, &script, "t-attrs");
}

#[test]
fn ad_exchange_attributes_hide_from_gal_and_make_the_remote_mailbox_shared() {
    let rt = rt();
    rt.block_on(async {
        let mut l = admin().await;
        fixture_user(
            &mut l,
            "t-exchange",
            "T Exchange",
            "t.exchange@contoso.test",
            512,
            &[("mailNickname", "t.exchange"), ("msExchRemoteRecipientType", "4"), ("msExchRecipientTypeDetails", "2147483648")],
        )
        .await;
        fixture_user(&mut l, "t-nomailbox", "T No Mailbox", "t.nomailbox@contoso.test", 512, &[]).await;
    });
    let cli = Cli::new("onprem", false, "");
    let script = cli.script("x.rhai", &format!("{ONE_USER}ad::hide_from_gal(u);\nad::set_remote_shared_mailbox(u);\n"));
    let (code, r, err) = cli.apply(&script, "t-exchange");
    assert_eq!(code, 0, "{err}\n{r:#}");
    assert!(steps(&r).iter().all(|s| s["status"] == "done"), "{r:#}");
    let e = rt.block_on(async {
        read(&mut admin().await, "t-exchange", &["msExchHideFromAddressLists", "msExchRemoteRecipientType", "msExchRecipientTypeDetails"])
            .await
            .unwrap()
    });
    assert_eq!(val(&e, "msExchHideFromAddressLists").as_deref(), Some("TRUE"));
    assert_eq!(val(&e, "msExchRemoteRecipientType").as_deref(), Some("100"));
    assert_eq!(val(&e, "msExchRecipientTypeDetails").as_deref(), Some("34359738368"));
    assert_second_run_sends_nothing(&cli, &script, "t-exchange");

    // A user without a remote mailbox: the shared-mailbox step says why it does nothing.
    let (code, r, err) = cli.apply(&script, "t-nomailbox");
    assert_eq!(code, 0, "{err}\n{r:#}");
    let s = &step(&r, "set_remote_shared_mailbox", "ad")[0];
    assert_eq!(s["status"], "skipped");
    assert!(s["detail"].as_str().unwrap().contains("not a remote mailbox"), "{s}");
}

#[test]
fn ad_restore_puts_back_account_groups_attributes_exchange_attributes_and_ou() {
    let rt = rt();
    let manager = format!("CN=Morgan Manager,{}", dc().staff());
    let (dn, group) = rt.block_on(async {
        let mut l = admin().await;
        let dn = fixture_user(
            &mut l,
            "t-restore",
            "T Restore",
            "t.restore@contoso.test",
            0x10200,
            &[
                ("employeeID", "E9002"),
                ("manager", &manager),
                ("mailNickname", "t.restore"),
                ("msExchRemoteRecipientType", "4"),
                ("msExchRecipientTypeDetails", "2147483648"),
            ],
        )
        .await;
        let group = fixture_group(&mut l, "T Global (restore)", "-2147483646", &dn).await;
        (dn, group)
    });
    let cli = Cli::new("onprem", false, "");
    let script = cli.script(
        "restore.rhai",
        &format!(
            "{ONE_USER}ad::disable_account(u);\nfor g in u.groups {{ ad::remove_group_membership(u, g); }}\nad::clear_employee_id(u);\nad::remove_manager(u);\n\
             ad::hide_from_gal(u);\nad::set_remote_shared_mailbox(u);\nad::move_to_disabled_ou(u);\n"
        ),
    );
    let (code, r, err) = cli.apply(&script, "t-restore");
    assert_eq!(code, 0, "{err}\n{r:#}");
    let attrs = [
        "userAccountControl",
        "memberOf",
        "employeeID",
        "manager",
        "msExchHideFromAddressLists",
        "msExchRemoteRecipientType",
        "msExchRecipientTypeDetails",
    ];
    let e = rt.block_on(async { read(&mut admin().await, "t-restore", &attrs).await.unwrap() });
    assert!(e.dn.contains("OU=Disabled Users") && val(&e, "userAccountControl").unwrap() == "66050", "{e:?}");
    assert!(vals(&e, "memberOf").is_empty() && val(&e, "employeeID").is_none() && val(&e, "manager").is_none());

    let id = r["run_id"].as_str().unwrap().to_string();
    let (code, rr, err) = cli.run(&["restore", &id, "--yes", "--json"]);
    assert_eq!(code, 0, "{err}\n{rr:#}");
    let done: Vec<&str> = steps(&rr).iter().filter(|s| s["status"] == "done").map(|s| s["action"].as_str().unwrap()).collect();
    assert_eq!(done.len(), 7, "{rr:#}");
    assert!(steps(&rr).iter().all(|s| s["directory"] == "ad"), "{rr:#}");
    let mv = step(&rr, "move_ou", "ad")[0];
    assert_eq!(mv["phase"], "restore_ou", "the move back comes after the other AD writes: {rr:#}");
    assert_eq!(rr["messages"], serde_json::json!([]), "every step of the run is reversible: {rr:#}");
    let e = rt.block_on(async { read(&mut admin().await, "t-restore", &attrs).await.unwrap() });
    assert!(crate_dn_eq(&e.dn, &dn), "back in OU=Staff: {}", e.dn);
    assert_eq!(val(&e, "userAccountControl").unwrap(), "66048", "enabled, DONT_EXPIRE_PASSWORD kept");
    assert!(vals(&e, "memberOf").iter().any(|g| crate_dn_eq(g, &group)), "{:?}", vals(&e, "memberOf"));
    assert_eq!(val(&e, "employeeID").as_deref(), Some("E9002"));
    assert!(val(&e, "manager").is_some_and(|m| crate_dn_eq(&m, &manager)));
    assert_eq!(val(&e, "msExchHideFromAddressLists"), None, "unset again, as before");
    assert_eq!(val(&e, "msExchRemoteRecipientType").as_deref(), Some("4"));
    assert_eq!(val(&e, "msExchRecipientTypeDetails").as_deref(), Some("2147483648"));

    // A second restore finds everything back and sends nothing.
    let (code, again, err) = cli.run(&["restore", &id, "--yes", "--json"]);
    assert_eq!(code, 0, "{err}\n{again:#}");
    assert_eq!(again["stats"]["writes"], 0, "{again:#}");
    assert!(steps(&again).iter().all(|s| s["status"] == "already_done"), "{again:#}");
}

fn crate_dn_eq(a: &str, b: &str) -> bool {
    offboard_host::ad::model::dn_eq(a, b)
}

#[test]
fn ad_user_not_found_is_an_error() {
    let cli = Cli::new("onprem", false, "");
    let script = cli.script("nf.rhai", &format!("{ONE_USER}ad::disable_account(u);\n"));
    let (code, r, err) = cli.run(&["plan", script.to_str().unwrap(), "--user", "nobody.here@contoso.test", "--json"]);
    assert_eq!(code, 4, "user not found exits 4: {err}\n{r:#}");
    assert_eq!(r["error"]["code"], "user_not_found", "{r:#}");
    // find_user returns () instead.
    let script = cli.script("find.rhai", "if ad::find_user(USER) != () { throw \"found\"; }\nlog(\"none\");\n");
    let (code, _, err) = cli.run(&["plan", script.to_str().unwrap(), "--user", "t-nobody", "--json"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn ad_injection_strings_find_nothing_and_change_nothing() {
    let rt = rt();
    let dc = dc();
    rt.block_on(async {
        let mut l = admin().await;
        let seeded = ["starinj", "pobrien", "mmanager"];
        let usn_before = usn_snapshot(&mut l, &seeded).await;
        let ad = LdapDirectory::connect(ldap_config(dc.get("AD_URL"), false)).await.unwrap();
        for v in ["*)(uid=*))(|(uid=*", "*", "*)(sAMAccountName=*", "a\0b", "#leading", "trailing ", "ssynced)(|(cn=*", "\\2a"] {
            let found = ad.find_user(v).await.unwrap();
            assert!(found.is_none(), "{v:?} found {:?}", found.map(|u| u.dn));
        }
        // The seeded names that look like injections are found by their own name, and only them.
        let star = ad.find_user("starinj").await.unwrap().unwrap();
        assert_eq!(star.cn, "Star *)(cn=*");
        let obrien = ad.find_user("pat.obrien@contoso.test").await.unwrap().unwrap();
        assert_eq!(obrien.cn, "O'Brien, Pat");
        assert!(obrien.groups.iter().any(|g| g.name == "All Staff"), "{:?}", obrien.groups);
        assert_eq!(usn_snapshot(&mut l, &seeded).await, usn_before, "lookups changed the directory");
    });
    // Through the CLI the name is refused before anything is sent (exit 2).
    let cli = Cli::new("onprem", false, "");
    let script = cli.script("inj.rhai", &format!("{ONE_USER}ad::disable_account(u);\n"));
    for v in ["*)(uid=*))(|(uid=*", "#x ", "a,b"] {
        let (code, _, err) = cli.run(&["run", script.to_str().unwrap(), "--user", v, "--yes", "--json"]);
        assert_eq!(code, 2, "{v:?}: {err}");
    }
}

fn ldap_config(url: &str, starttls: bool) -> LdapConfig {
    let dc = dc();
    LdapConfig {
        url: url.to_string(),
        starttls,
        bind_dn: dc.get("AD_BIND_DN").into(),
        password: Secret::new(dc.get("AD_PASSWORD")),
        base_dn: dc.base().into(),
        ca_file: Some(dc.get("AD_CA_FILE").into()),
        accept_invalid_certs: false,
        read_only: false,
        timeout: std::time::Duration::from_secs(10),
        policy: AdPolicy::default(),
    }
}

#[test]
fn ad_password_write_over_plain_ldap_is_refused_by_us() {
    let rt = rt();
    let dc = dc();
    rt.block_on(async {
        let mut l = admin().await;
        let dn = fixture_user(&mut l, "t-plain", "T Plain", "t.plain@contoso.test", 512, &[]).await;
        let usn = usn_snapshot(&mut l, &["t-plain"]).await;
        let plain = LdapDirectory::connect(ldap_config(dc.get("AD_PLAIN_URL"), false)).await.unwrap();
        assert!(!plain.encrypted());
        // Reads work over the plain connection (this lab DC allows plain binds) ...
        assert!(plain.find_user("t-plain").await.unwrap().is_some());
        // ... but the password is refused here, before anything is sent.
        let err = plain.set_password(&dn, &Secret::new("Xx-never-sent-1!")).await.unwrap_err();
        assert!(matches!(err, AdError::Refused(_)), "{err}");
        assert!(err.to_string().contains("unencrypted"), "{err}");
        assert_eq!(usn_snapshot(&mut l, &["t-plain"]).await, usn, "the refused reset changed the user");
        // StartTLS on the same port is encrypted, and the reset goes through.
        let tls = LdapDirectory::connect(ldap_config(dc.get("AD_STARTTLS_URL"), true)).await.unwrap();
        assert!(tls.encrypted());
        tls.set_password(&dn, &offboard_host_password()).await.unwrap();
    });
    // Through the CLI: the step fails with our reason, and the plan already says so.
    let cli = Cli::new("onprem", false, &format!("url = \"{}\"", dc.get("AD_PLAIN_URL")));
    let script = cli.script("plain.rhai", &format!("{ONE_USER}ad::reset_password(u);\n"));
    let (code, r, err) = cli.apply(&script, "t-plain");
    assert_eq!(code, 1, "{err}\n{r:#}");
    let s = &step(&r, "reset_password", "ad")[0];
    assert_eq!(s["status"], "failed");
    assert!(s["detail"].as_str().unwrap().contains("not encrypted"), "{s}");
    assert_eq!(r["stats"]["writes"], 0);
}

fn offboard_host_password() -> Secret {
    Secret::new("Zz9-StartTls-Reset!")
}

#[test]
fn ad_tls_is_verified_unless_explicitly_disabled() {
    let rt = rt();
    let dc = dc();
    rt.block_on(async {
        // No CA file: the test CA is not in the system roots, so the certificate is refused.
        let mut cfg = ldap_config(dc.get("AD_URL"), false);
        cfg.ca_file = None;
        let err = LdapDirectory::connect(cfg.clone()).await.err().expect("an untrusted certificate must fail");
        assert!(err.to_string().to_ascii_lowercase().contains("certificate"), "{err}");
        // The lab switch connects (and is logged loudly).
        cfg.accept_invalid_certs = true;
        assert!(LdapDirectory::connect(cfg).await.unwrap().encrypted());
    });
}

/// Put the seeded `leaver.synced` back as setup.sh seeds it (a reused DC may hold a previous run).
/// The bytes behind the demo tenant's `onPremisesImmutableId` for leaver.synced.
const SYNCED_ANCHOR: [u8; 16] = [0x3e, 0x0c, 0x1d, 0x5a, 0x2f, 0x7b, 0x6a, 0x4e, 0x9c, 0x81, 0x0d, 0x2e, 0x3f, 0x4a, 0x5b, 0x6c];

/// Tests that recreate or read `ssynced` take this: they would otherwise race on one account.
fn synced_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// Set (or with `None` clear) an account's ms-DS-ConsistencyGuid, the Entra Connect anchor.
async fn set_anchor(l: &mut ldap3::Ldap, dn: &str, anchor: Option<&[u8]>) {
    let values: HashSet<Vec<u8>> = anchor.map(|a| a.to_vec()).into_iter().collect();
    let m = if values.is_empty() {
        Mod::Delete(b"mS-DS-ConsistencyGuid".to_vec(), values)
    } else {
        Mod::Replace(b"mS-DS-ConsistencyGuid".to_vec(), values)
    };
    let _ = l.modify(dn, vec![m]).await.unwrap().success();
}

async fn reset_synced_leaver(l: &mut ldap3::Ldap) {
    let base = dc().base().to_string();
    let manager = format!("CN=Morgan Manager,{}", dc().staff());
    let dn = fixture_user(
        l,
        "ssynced",
        "Sam Synced",
        "leaver.synced@contoso.test",
        0x10200,
        &[
            ("mail", "leaver.synced@contoso.test"),
            ("displayName", "Sam Synced"),
            ("employeeID", "E1002"),
            ("manager", &manager),
            ("mailNickname", "leaver.synced"),
            ("msExchRemoteRecipientType", "4"),
            ("msExchRecipientTypeDetails", "2147483648"),
        ],
    )
    .await;
    for g in ["HQ-FileShare-RW", "All Staff", "Staff Printers"] {
        let gdn = format!("CN={g},OU=Groups,{base}");
        let _ = l.modify(&gdn, vec![Mod::Add("member", one(dn.as_str()))]).await;
    }
    set_anchor(l, &dn, Some(&SYNCED_ANCHOR)).await;
}

#[test]
fn hybrid_synced_offboarding_puts_each_step_in_the_right_directory() {
    let _synced = synced_lock();
    let rt = rt();
    rt.block_on(async { reset_synced_leaver(&mut admin().await).await });
    let cli = Cli::new(
        "hybrid-synced",
        true,
        &format!("sync_scope = [\"{}\", \"{}\"]\nsync_command = [\"/bin/echo\", \"delta sync requested\"]", dc().staff(), dc().disabled()),
    );
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/default.rhai");
    let user = "leaver.synced@contoso.test";

    let (code, plan, err) = cli.run(&["plan", script.to_str().unwrap(), "--user", user, "--json"]);
    assert_eq!(code, 0, "{err}\n{plan:#}");
    let msgs = plan["messages"].to_string();
    assert!(msgs.contains("directory mode hybrid-synced") && msgs.contains("lock: disable in AD"), "{msgs}");

    let (code, r, err) = cli.apply(&script, user);
    assert_eq!(code, 0, "{err}\n{r:#}");
    let done = |action: &str, dir: &str| step(&r, action, dir).iter().any(|s| s["status"] == "done");
    // Disable in both: cloud for the immediate cut-off, AD for permanence.
    assert!(done("disable_account", "cloud") && done("disable_account", "ad"), "{r:#}");
    // Mastered on premises: only in AD.
    for a in ["reset_password", "remove_manager", "clear_employee_id", "hide_from_gal", "set_remote_shared_mailbox", "move_ou"] {
        assert!(done(a, "ad"), "{a} not done in AD: {r:#}");
        assert!(step(&r, a, "cloud").is_empty(), "{a} was sent to the cloud: {r:#}");
    }
    // Sessions and licences: cloud only. The 50.3 GB mailbox keeps the licence that carries it,
    // as a to-do.
    assert!(done("revoke_sessions", "cloud"));
    let e3 = step(&r, "remove_license", "cloud").into_iter().find(|s| s["target"] == "SPE_E3").expect("E3 step");
    assert_eq!(e3["status"], "needs_action", "{e3}");
    assert!(steps(&r).iter().all(|s| !(s["directory"] == "ad" && (s["action"] == "revoke_sessions" || s["action"] == "remove_license"))));
    // Groups: the synced group is skipped in the cloud and removed in AD; cloud-only groups in the cloud.
    let hq: Vec<_> = steps(&r).into_iter().filter(|s| s["target"] == "HQ-FileShare-RW").collect();
    assert!(hq.iter().any(|s| s["directory"] == "cloud" && s["status"] == "skipped"), "{hq:?}");
    assert!(hq.iter().any(|s| s["directory"] == "ad" && s["status"] == "done"), "{hq:?}");
    assert!(steps(&r).iter().any(|s| s["target"] == "Project Falcon" && s["directory"] == "cloud" && s["status"] == "done"));
    // The OU move is the last AD change, before the sync step.
    let ids: Vec<&str> = steps(&r).iter().filter(|s| s["directory"] == "ad").map(|s| s["action"].as_str().unwrap()).collect();
    assert_eq!(ids[ids.len() - 2..], ["move_ou", "trigger_sync"], "{ids:?}");
    let sync = &step(&r, "trigger_sync", "ad")[0];
    assert_eq!(sync["status"], "done", "{sync}");
    assert!(sync["detail"].as_str().unwrap().contains("delta sync requested"), "{sync}");

    // The directory as a separate read sees it.
    rt.block_on(async {
        let e =
            read(&mut admin().await, "ssynced", &["userAccountControl", "memberOf", "manager", "employeeID", "msExchHideFromAddressLists"])
                .await
                .unwrap();
        assert!(e.dn.contains("OU=Disabled Users"), "{}", e.dn);
        assert_eq!(val(&e, "userAccountControl").unwrap(), (0x10202).to_string());
        assert!(vals(&e, "memberOf").is_empty() && val(&e, "manager").is_none() && val(&e, "employeeID").is_none());
        assert_eq!(val(&e, "msExchHideFromAddressLists").as_deref(), Some("TRUE"));
    });
    assert_second_run_sends_nothing(&cli, &script, user);
}

#[test]
fn hybrid_unsynced_offboarding_changes_both_accounts() {
    let rt = rt();
    // The demo tenant's cloud-only leaver, with an unlinked AD account of the same UPN.
    rt.block_on(async {
        let mut l = admin().await;
        fixture_user(&mut l, "lcloud", "Lee Cloud", "leaver.cloud@contoso.test", 512, &[("employeeID", "E1001")]).await;
    });
    let cli = Cli::new("hybrid-unsynced", true, "");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/default.rhai");
    let (code, r, err) = cli.apply(&script, "leaver.cloud@contoso.test");
    assert_eq!(code, 0, "{err}\n{r:#}");
    let done = |action: &str, dir: &str| step(&r, action, dir).iter().any(|s| s["status"] == "done");
    for a in ["disable_account", "reset_password", "clear_employee_id"] {
        assert!(done(a, "cloud") && done(a, "ad"), "{a} not done in both: {r:#}");
    }
    assert!(step(&r, "trigger_sync", "ad").is_empty(), "no sync for unsynced accounts");
    let e = rt.block_on(async { read(&mut admin().await, "lcloud", &["userAccountControl", "employeeID"]).await.unwrap() });
    assert_eq!(val(&e, "userAccountControl").unwrap(), "514");
    assert!(e.dn.contains("OU=Disabled Users"), "{}", e.dn);

    // Restore puts both accounts back: AD (account, employee id, OU) and the cloud.
    let (code, rr, err) = cli.run(&["restore", r["run_id"].as_str().unwrap(), "--yes", "--json"]);
    assert_eq!(code, 0, "{err}\n{rr:#}");
    let back = |action: &str, dir: &str| step(&rr, action, dir).iter().any(|s| s["status"] == "done");
    assert!(
        back("enable_account", "cloud") && back("enable_account", "ad") && back("set_employee_id", "ad") && back("move_ou", "ad"),
        "{rr:#}"
    );
    assert!(back("set_employee_id", "cloud") && back("convert_to_user_mailbox", "exchange"), "{rr:#}");
    let e = rt.block_on(async { read(&mut admin().await, "lcloud", &["userAccountControl", "employeeID"]).await.unwrap() });
    assert_eq!(val(&e, "userAccountControl").unwrap(), "512");
    assert_eq!(val(&e, "employeeID").as_deref(), Some("E1001"));
    assert!(e.dn.to_ascii_lowercase().ends_with(&dc().staff().to_ascii_lowercase()), "{}", e.dn);
}

#[test]
fn onprem_and_email_only_modes_send_each_step_to_one_directory() {
    let _synced = synced_lock();
    rt().block_on(async { reset_synced_leaver(&mut admin().await).await });
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/default.rhai");
    // onprem: AD only (plan: nothing is written), by sAMAccountName.
    let cli = Cli::new("onprem", false, "");
    let (code, r, err) = cli.run(&["plan", script.to_str().unwrap(), "--user", "pobrien", "--json"]);
    assert_eq!(code, 0, "{err}\n{r:#}");
    assert!(!steps(&r).is_empty() && steps(&r).iter().all(|s| s["directory"] == "ad"), "{r:#}");
    assert!(r["messages"].to_string().contains("directory mode onprem: every step in AD"), "{r:#}");
    // email-only: the mailbox account in the cloud, nothing in AD.
    let cli = Cli::new("email-only", true, "");
    let (code, r, err) = cli.run(&["plan", script.to_str().unwrap(), "--user", "leaver.synced@contoso.test", "--json"]);
    assert_eq!(code, 0, "{err}\n{r:#}");
    assert!(steps(&r).iter().all(|s| s["directory"] != "ad"), "nothing in AD: {r:#}");
    assert!(steps(&r).iter().any(|s| s["directory"] == "exchange"), "the mailbox steps run: {r:#}");
    assert!(r["messages"].to_string().contains("mailbox steps only"), "{r:#}");
}

#[path = "ad/custom.rs"]
mod custom;
#[path = "ad/protected.rs"]
mod protected;
