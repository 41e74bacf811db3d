//! `offboard-host serve --demo` as a person starts it: one command, the demo tenant with its
//! issuer and the console, their addresses on stdout, sign-in sent to the demo issuer.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use super::{location, login_for, Browser};

/// Ends the child however the test ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn serve_demo_starts_the_issuer_and_the_console_in_one_command() {
    let home = tempfile::tempdir().expect("tempdir");
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_offboard-host"))
            .args(["serve", "--demo", "--bind", "127.0.0.1:0"])
            .env("OFFBOARD_HOME", home.path())
            .env_remove("OFFBOARD_CONFIG")
            .current_dir(home.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn"),
    );
    let mut lines = BufReader::new(child.0.stdout.take().expect("stdout")).lines();
    let mut next = |prefix: &str| {
        let line = lines.next().expect("a line").expect("utf-8");
        line.strip_prefix(prefix).unwrap_or_else(|| panic!("{line:?} does not start with {prefix:?}")).to_string()
    };
    let console = next("console ");
    let issuer = next("issuer ");
    let token = next("api token ");
    let token = token.split(' ').next().expect("the token").to_string();

    let b = Browser::new();
    let r = b.http.get(format!("{console}/runs")).send().await.expect("runs");
    assert_eq!((r.status().as_u16(), location(&r)), (303, login_for("/runs")));
    let r = b.http.get(format!("{console}/login")).send().await.expect("login");
    let authorize = location(&r);
    assert!(authorize.starts_with(&format!("{issuer}/authorize?")), "{authorize}");
    assert!(authorize.contains(&format!("redirect_uri={}", url_encoded(&format!("{console}/auth/callback")))), "{authorize}");
    let page = b.http.get(&authorize).send().await.expect("sign-in page").text().await.expect("text");
    for who in ["alex.tech@msp.test", "blair.tech@msp.test", "casey.approver@msp.test", "dana.admin@msp.test"] {
        assert!(page.contains(who), "{who} on the sign-in page");
    }
    assert!(page.contains("<label for=\"staff-0\">"), "each choice is labelled");
    // The demo's API token, as printed, reads the runs of its clients.
    let r = reqwest::Client::new().get(format!("{console}/api/v1/runs")).bearer_auth(&token).send().await.expect("api");
    assert_eq!(r.status(), 200);
    assert!(r.json::<serde_json::Value>().await.expect("json")["runs"].is_array());
    let e = Command::new(env!("CARGO_BIN_EXE_offboard-host"))
        .args(["serve", "--demo", "--bind", "0.0.0.0:0"])
        .env("OFFBOARD_HOME", home.path())
        .output()
        .expect("run");
    assert!(!e.status.success());
    assert!(String::from_utf8_lossy(&e.stderr).contains("loopback only"), "{}", String::from_utf8_lossy(&e.stderr));
}

fn url_encoded(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
