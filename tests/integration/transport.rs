//! Transport: endpoints off loopback must be https (checked when the configuration is loaded),
//! and log lines that go to a file or a pipe carry no colour codes.

use crate::helpers::*;

#[test]
fn plain_http_off_loopback_is_refused_when_the_configuration_is_loaded() {
    let home = Home::new();
    let graph = "[tenants.c]\ndirectory = \"cloud\"\n[tenants.c.graph]\ntenant_id = \"t\"\nclient_id = \"c\"\nclient_secret_env = \"S\"\n";
    for (key, url) in [("base_url", "http://graph.example/v1.0"), ("token_url", "http://login.example/t/token")] {
        home.write("offboard-host.toml", &format!("{graph}{key} = \"{url}\"\n"));
        let o = home.cmd(["plan", "default.rhai", "--user", CLOUD]).run();
        assert_eq!(o.code, 2, "{key}: {}", o.stderr);
        assert!(o.stderr.contains(key) && o.stderr.contains("https"), "{}", o.stderr);
    }
    let psa =
        "[tenants.c.psa]\nkind = \"halo\"\ncompany = \"x\"\nsecret_env = \"P\"\nclient_id = \"h\"\nbase_url = \"http://halo.example\"\n";
    home.write("offboard-host.toml", &format!("{graph}{psa}"));
    let o = home.cmd(["plan", "default.rhai", "--user", CLOUD]).run();
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("psa.base_url"), "{}", o.stderr);
}

#[test]
fn log_lines_to_a_pipe_have_no_colour_codes() {
    let home = Home::new();
    // NO_COLOR empty (the helper sets it): the terminal test alone must keep the codes out.
    let o = home.cmd(["-vv", "plan", "default.rhai", "--user", CLOUD, "--json"]).env("NO_COLOR", "").run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("DEBUG"), "no log lines to check: {}", o.stderr);
    assert!(!o.stderr.contains('\u{1b}'), "colour codes in piped logs: {:?}", &o.stderr[..o.stderr.len().min(300)]);
}
