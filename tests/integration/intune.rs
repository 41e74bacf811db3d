//! Intune managed devices through Graph: `graph::retire_managed_devices` in the default script.

use crate::helpers::*;

const LAPTOP: &str = ids::MANAGED_DEVICE_LAPTOP;
const PHONE: &str = ids::MANAGED_DEVICE_PHONE;

fn device_steps(r: &serde_json::Value) -> Vec<&serde_json::Value> {
    steps(r).iter().filter(|s| s["action"] == "retire_managed_device").collect()
}

fn writes_script(home: &Home, body: &str) -> String {
    let script = format!("let user = graph::get_user(USER);\nphase(\"devices\", #{{}}, || {{\n    {body}\n}});\n");
    home.write("intune.rhai", &script).to_string_lossy().into_owned()
}

#[test]
fn plan_lists_one_step_per_managed_device_and_sends_nothing() {
    let home = Home::new();
    assert_eq!(home.cmd(["demo", "reset"]).run().code, 0);
    let (code, r) = home.plan(CLOUD);
    assert_eq!(code, 0, "{r:#}");
    let d = device_steps(&r);
    assert_eq!(d.len(), 2, "{r:#}");
    for s in &d {
        assert_eq!(s["status"], "planned", "{s}");
        assert_eq!(s["phase"], "mailbox_and_cleanup", "{s}");
        assert!(s["detail"].as_str().unwrap().starts_with("retire "), "{s}");
    }
    let targets: Vec<&str> = d.iter().map(|s| s["target_id"].as_str().unwrap()).collect();
    assert!(targets.contains(&LAPTOP) && targets.contains(&PHONE), "{targets:?}");
    assert_eq!(home.stats().writes, 0);
    for id in [LAPTOP, PHONE] {
        assert_eq!(device_in(&home.state(), id)["managementState"], "managed");
    }
    // The synced leaver has no Intune devices: no step.
    let (code, r) = home.plan(SYNCED);
    assert_eq!(code, 0, "{r:#}");
    assert!(device_steps(&r).is_empty(), "{r:#}");
}

#[test]
fn apply_retires_both_devices_and_a_second_run_sends_nothing() {
    let home = Home::new();
    assert_eq!(home.cmd(["demo", "reset"]).run().code, 0);
    let (code, r) = home.apply(CLOUD);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(status_of(&r, "retire_managed_device", "CONTOSO-LT-0142 (Windows 10.0.22631.4460)"), "done");
    assert_eq!(status_of(&r, "retire_managed_device", "Lee's iPhone (iOS 18.1.1)"), "done");
    let state = home.state();
    for id in [LAPTOP, PHONE] {
        assert_eq!(device_in(&state, id)["managementState"], "retirePending", "{id}");
    }
    // Other users' devices are untouched.
    let others = state["managedDevices"].as_array().unwrap().iter().filter(|d| d["userId"] != ids::LEAVER_CLOUD_ID).count();
    assert!(others >= 1);
    for d in state["managedDevices"].as_array().unwrap().iter().filter(|d| d["userId"] != ids::LEAVER_CLOUD_ID) {
        assert_eq!(d["managementState"], "managed", "{d}");
    }
    // The journal keeps the device record as the prior state.
    let detail = home.run_detail(r["run_id"].as_str().unwrap());
    let step = steps(&detail).iter().find(|s| s["action"] == "retire_managed_device" && s["target_id"] == LAPTOP).expect("laptop step");
    assert_eq!(step["prior"]["managementState"], "managed", "{step:#}");
    assert_eq!(step["prior"]["managedDeviceOwnerType"], "company", "{step:#}");
    assert_rerun_sends_nothing(&home, CLOUD);
}

#[test]
fn wipe_resets_the_company_laptop_and_only_retires_the_personal_phone() {
    let home = Home::new();
    assert_eq!(home.cmd(["demo", "reset"]).run().code, 0);
    let script = writes_script(&home, "graph::retire_managed_devices(user, #{ wipe: true });");
    let o = home.cmd(["plan", &script, "--user", CLOUD, "--json"]).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    let p = o.json();
    let phone = steps(&p).iter().find(|s| s["target_id"] == PHONE).expect("phone step");
    assert!(phone["detail"].as_str().unwrap().contains("wipe refused"), "{phone}");
    assert_eq!(home.stats().writes, 0);

    let o = home.cmd(["run", &script, "--user", CLOUD, "--yes", "--json"]).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r = o.json();
    assert_eq!(r["stats"]["writes"], 2, "{r:#}");
    let state = home.state();
    assert_eq!(device_in(&state, LAPTOP)["managementState"], "wipePending");
    assert_eq!(device_in(&state, PHONE)["managementState"], "retirePending", "a personal device is never wiped");
    let phone = steps(&r).iter().find(|s| s["target_id"] == PHONE).expect("phone step");
    assert!(phone["detail"].as_str().unwrap().contains("personal"), "{phone}");

    // Again: nothing sent.
    let writes = home.stats().writes;
    let o = home.cmd(["run", &script, "--user", CLOUD, "--yes", "--json"]).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(home.stats().writes, writes);
    for s in device_steps(&o.json()) {
        assert_eq!(s["status"], "already_done", "{s}");
    }
}

#[test]
fn a_tenant_without_intune_skips_the_devices_with_the_reason() {
    let home = Home::new();
    assert_eq!(home.cmd(["demo", "reset"]).run().code, 0);
    let o = home.cmd(["run", "default.rhai", "--user", CLOUD, "--yes", "--json"]).env("OFFBOARD_DEMO_NO_INTUNE", "1").run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r = o.json();
    assert_eq!(r["status"], "succeeded", "{r:#}");
    let d = device_steps(&r);
    assert_eq!(d.len(), 1, "{r:#}");
    assert_eq!(d[0]["status"], "skipped");
    let detail = d[0]["detail"].as_str().unwrap();
    assert!(detail.contains("Intune") && detail.contains("403"), "{detail}");
    assert_eq!(r["stats"]["writes"], CLEAN_WRITES - 2, "{r:#}");
    for id in [LAPTOP, PHONE] {
        assert_eq!(device_in(&home.state(), id)["managementState"], "managed");
    }
}

#[test]
fn unknown_options_are_refused() {
    let home = Home::new();
    assert_eq!(home.cmd(["demo", "reset"]).run().code, 0);
    let script = writes_script(&home, "graph::retire_managed_devices(user, #{ wipe: true, block: true });");
    let o = home.cmd(["plan", &script, "--user", CLOUD, "--json"]).run();
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("unknown option 'block'") || o.stdout.contains("unknown option 'block'"), "{}\n{}", o.stdout, o.stderr);
    assert_eq!(home.stats().writes, 0);
}
