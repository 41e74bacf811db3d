use super::*;

fn table(text: &str) -> toml::Table {
    toml::from_str(text).unwrap()
}

#[test]
fn a_misspelt_set_is_refused_with_the_nearest_setting() {
    let e = parse_set("remove_licences=false").unwrap_err();
    assert_eq!(e.exit_code(), 2);
    let m = e.to_string();
    assert!(m.contains("unknown setting 'remove_licences'; did you mean remove_licenses?"), "{m}");
    assert!(m.contains("known settings: block_mobile_devices, "), "{m}");
    assert!(parse_set("reset_pasword=false").unwrap_err().to_string().contains("did you mean reset_password?"));
}

#[test]
fn a_set_is_typed_by_the_schema() {
    let e = parse_set("reset_password=maybe").unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("--set 'reset_password=maybe': reset_password is a bool"), "{e}");
    assert!(parse_set("shared_wait_secs=soon").unwrap_err().to_string().contains("is an integer"));
    assert_eq!(parse_set("shared_wait_secs=60").unwrap().1.as_int().unwrap(), 60);
    // A string setting keeps digits as text.
    assert_eq!(parse_set("forward_to=1234").unwrap().1.into_string().unwrap(), "1234");
}

#[test]
fn defaults_are_checked_against_the_schema() {
    let e = org_from_toml(&table("remove_licences = false")).unwrap_err();
    assert!(e.to_string().contains("did you mean remove_licenses?"), "{e}");
    let e = org_from_toml(&table("reset_password = \"no\"")).unwrap_err();
    assert!(e.to_string().contains("setting 'reset_password' must be a bool, not a string"), "{e}");
    let org = org_from_toml(&table("reset_password = false\nshared_wait_secs = 10")).unwrap();
    assert_eq!(org.len(), 2);
}

#[test]
fn a_hook_result_is_checked() {
    let before = schema::defaults_map();
    let unit = check_hook_settings("mailbox_policy", &before, &Dynamic::UNIT).unwrap_err();
    assert!(unit.contains("the hook 'mailbox_policy' must return the settings map"), "{unit}");
    let mut after = before.clone();
    after.insert("forward_to_manger".into(), Dynamic::from(true));
    let typo = check_hook_settings("mailbox_policy", &before, &Dynamic::from_map(after)).unwrap_err();
    assert!(typo.contains("'forward_to_manger'; did you mean forward_to_manager?"), "{typo}");
    let mut after = before.clone();
    after.insert("forward_to".into(), Dynamic::from(1_i64));
    assert!(check_hook_settings("h", &before, &Dynamic::from_map(after)).unwrap_err().contains("'forward_to' to a i64"));
    let partial = Dynamic::from_map(before.iter().take(3).map(|(k, v)| (k.clone(), v.clone())).collect());
    assert!(check_hook_settings("h", &before, &partial).unwrap_err().contains("the hook 'h' dropped the setting"));
    assert!(check_hook_settings("h", &before, &Dynamic::from_map(before.clone())).is_ok());
}
