//! The console in a real browser (#14): headless Chromium driven through chromedriver
//! (WebDriver, with fantoccini), against `offboard-host serve --demo` started as a person starts
//! it. A technician signs in through the demo issuer's page, offboards the cloud leaver with one
//! option changed from the client's default and sends it for approval; the approver signs in in a
//! second browser session (its own cookies), sees the changed option in what is to be approved,
//! approves, and the run's page shows the run finished with its steps.
//!
//! What the HTTP tests in `tests/console` cannot show, this does: the pages work as a browser
//! reads them (forms, buttons, labels, redirects, the Secure session cookie on loopback).
//!
//! Chromium and chromedriver come from Debian (`tests/browser/setup.sh`, run by `test.sh`). Without
//! them the test says it is skipped and passes, unless `OFFBOARD_TEST_BROWSER_REQUIRED=1` (set by
//! `test.sh`): then a missing browser fails it. `OFFBOARD_BROWSER_SCREENSHOT=path.png` also saves
//! a screenshot of the options form (the README's `docs/console.png`).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use offboard_host::demo::ids;

/// A child process ended however the test ends.
struct Proc(std::process::Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `name` on the PATH (or Debian's place for it).
fn program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).chain([PathBuf::from("/usr/bin")]).map(|d| d.join(name)).find(|p| p.is_file())
}

/// Chromium and chromedriver, or why the test is skipped (a failure when the browser is required).
fn browser() -> Option<(PathBuf, PathBuf)> {
    match (program("chromium"), program("chromedriver")) {
        (Some(c), Some(d)) => Some((c, d)),
        _ if std::env::var("OFFBOARD_TEST_BROWSER_REQUIRED").is_ok_and(|v| v.trim() == "1") => {
            panic!("OFFBOARD_TEST_BROWSER_REQUIRED=1 but chromium or chromedriver is missing: run tests/browser/setup.sh")
        }
        _ => {
            eprintln!("skipped: no chromium and chromedriver (run tests/browser/setup.sh)");
            None
        }
    }
}

/// chromedriver on a free loopback port, ready: (the process, its URL).
async fn chromedriver(driver: &PathBuf) -> (Proc, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().unwrap().port();
    let child = Command::new(driver)
        .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".into()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while reqwest::get(format!("{url}/status")).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "chromedriver did not answer on {url}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (Proc(child), url)
}

/// A browser session of its own (its own profile, so its own cookies).
async fn session(driver: &str, chromium: &PathBuf, profile: &std::path::Path) -> Client {
    let caps = serde_json::json!({
        "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1100,1400", format!("--user-data-dir={}", profile.display())],
        }
    });
    let caps = caps.as_object().expect("an object").clone().into_iter().collect();
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(driver)
        .await
        .expect("a WebDriver session")
}

/// `offboard-host serve --demo`: (the process, the console's URL).
fn serve_demo(home: &std::path::Path) -> (Proc, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_offboard-host"))
        .args(["serve", "--demo", "--bind", "127.0.0.1:0"])
        .env("OFFBOARD_HOME", home)
        .env_remove("OFFBOARD_CONFIG")
        .current_dir(home)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve --demo");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines.next().expect("a line").expect("utf-8");
    let console = first.strip_prefix("console ").unwrap_or_else(|| panic!("{first:?}")).to_string();
    std::thread::spawn(move || lines.for_each(drop));
    (Proc(child), console)
}

/// The page's visible text. A page being replaced (a form just submitted) answers with a stale
/// element: read the new one.
async fn text(c: &Client) -> String {
    let mut tries = 0;
    loop {
        match c.find(Locator::Css("body")).await {
            Ok(body) => match body.text().await {
                Ok(t) => return t,
                Err(e) if tries >= 20 => panic!("the page's text: {e}"),
                Err(_) => {}
            },
            Err(e) if tries >= 20 => panic!("the page's body: {e}"),
            Err(_) => {}
        }
        tries += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Wait (bounded) until the page's text satisfies `ok`, reloading it with `reload`; the text.
async fn wait_for(c: &Client, what: &str, reload: bool, ok: impl Fn(&str) -> bool) -> String {
    let started = Instant::now();
    loop {
        let t = text(c).await;
        if ok(&t) {
            return t;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "waited 60 s for {what}; the page ({}):\n{t}", c.current_url().await.unwrap());
        tokio::time::sleep(Duration::from_millis(250)).await;
        if reload {
            c.refresh().await.expect("reload");
        }
    }
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}")).click().await.unwrap_or_else(|e| panic!("click {css}: {e}"));
}

/// Open `url` (a console page), sign in as `staff` on the demo issuer's page when sent there,
/// and wait to be back in the console: on `url` itself (an approval link keeps where it led) or,
/// for other pages, on the run history, the console's home after sign-in.
async fn sign_in_to(c: &Client, console: &str, path: &str, staff: &str) {
    let url = &format!("{console}{path}");
    c.goto(url).await.expect("goto");
    // Not signed in: the console sends the browser to the issuer's page.
    assert!(text(c).await.contains("pick who you are"), "the issuer's sign-in page: {}", text(c).await);
    click(c, &format!("input[name=staff][value='{staff}']")).await;
    click(c, "button[type=submit]").await;
    let home = format!("{console}/runs");
    let started = Instant::now();
    loop {
        let at = c.current_url().await.expect("url").to_string();
        if at == *url || (at == home && !path.starts_with("/approvals/")) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "not back from sign-in on {url}: {at}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(text(c).await.contains(staff_name(staff)), "signed in as {staff}: {}", text(c).await);
    if c.current_url().await.expect("url").as_str() != url {
        c.goto(url).await.expect("goto");
    }
}

fn staff_name(staff: &str) -> &'static str {
    offboard_host::demo::oidc::DEMO_STAFF.iter().find(|s| s.sub == staff).map(|s| s.name).expect("a demo staff member")
}

#[tokio::test]
async fn a_technician_requests_an_approver_approves_and_the_run_completes() {
    let Some((chromium, driver)) = browser() else { return };
    let home = tempfile::tempdir().expect("tempdir");
    let (_server, console) = serve_demo(home.path());
    let (_driver, driver_url) = chromedriver(&driver).await;
    let leaver = ids::LEAVER_CLOUD_UPN;

    // The technician: sign in, choose the client, search, pick the user.
    let tech = session(&driver_url, &chromium, &home.path().join("profile-tech")).await;
    sign_in_to(&tech, &console, "/offboard", "staff-tech-a").await;
    tech.find(Locator::Css("#client")).await.expect("client").select_by_value("demo").await.expect("choose demo");
    tech.find(Locator::Css("#q")).await.expect("q").send_keys("leaver").await.expect("type");
    click(&tech, "#search").await;
    wait_for(&tech, "the search's matches", false, |t| t.contains(leaver)).await;
    click(&tech, &format!("input[name=user][value='{leaver}']")).await;
    click(&tech, "#choose").await;
    // The options, with the client's defaults: forwarding to the manager is off; turn it on.
    wait_for(&tech, "the options form", false, |t| t.contains("Show plan") || t.contains("forward_to_manager")).await;
    let forward = tech.find(Locator::Css("#set-forward_to_manager")).await.expect("the forwarding option");
    assert_eq!(forward.prop("checked").await.unwrap().as_deref(), Some("false"), "the client's default is off");
    tech.find(Locator::Css("label[for='set-forward_to_manager']")).await.expect("the option has a label");
    forward.click().await.expect("tick it");
    if let Some(path) = std::env::var_os("OFFBOARD_BROWSER_SCREENSHOT") {
        std::fs::write(&path, tech.screenshot().await.expect("screenshot")).expect("write the screenshot");
    }
    click(&tech, "#show-plan").await;
    let plan = wait_for(&tech, "the plan", false, |t| t.contains("Send for approval")).await;
    assert!(plan.contains("change(s)") && plan.contains(leaver), "the plan's steps: {plan}");
    assert!(plan.contains("forward"), "the changed option is in the plan: {plan}");
    click(&tech, "#send-approval").await;
    wait_for(&tech, "the request's confirmation", false, |t| t.contains("approval")).await;
    let requested = tech.current_url().await.expect("url");
    let id = requested.path().rsplit('/').next().expect("the request's id").to_string();
    assert!(requested.path().starts_with("/offboard/requested/") && !id.is_empty(), "{requested}");
    // The technician cannot approve their own request.
    tech.goto(&format!("{console}/approvals/{id}")).await.expect("goto");
    assert!(!text(&tech).await.contains("Approve and run"), "the requester was offered to approve");

    // The approver, in another session: the mail's link, sign-in, the exact plan, approve.
    let approver = session(&driver_url, &chromium, &home.path().join("profile-approver")).await;
    sign_in_to(&approver, &console, &format!("/approvals/{id}"), "staff-approver").await;
    let page = wait_for(&approver, "the approval page", false, |t| t.contains("Approve and run")).await;
    assert!(page.contains(leaver) && page.contains("alex.tech@msp.test"), "who and for whom: {page}");
    assert!(page.contains("forward_to_manager=true"), "the changed option is shown to the approver: {page}");
    approver.find(Locator::XPath("//button[contains(., 'Approve and run')]")).await.expect("the button").click().await.expect("approve");

    // Carried out in the background: the plan run's page, reloaded, says when the apply finished
    // and links it; the apply run's page shows it succeeded, with its steps done.
    let plan_run = wait_for(&approver, "the approved run to finish", true, |t| t.contains("The apply finished")).await;
    assert!(plan_run.contains("applied"), "the approval is applied: {plan_run}");
    approver
        .find(Locator::XPath("//dt[.='Applied in']/following-sibling::dd[1]/a"))
        .await
        .expect("the applied run's link")
        .click()
        .await
        .expect("follow it");
    let run = wait_for(&approver, "the apply run's page", false, |t| t.contains("Mode\napply")).await;
    assert!(run.contains("succeeded") && run.contains("done"), "the apply run succeeded with steps done: {run}");
    for step in ["disable_account", "revoke_sessions"] {
        assert!(run.contains(step), "the run's page lists {step}: {run}");
    }
    tech.close().await.expect("close");
    approver.close().await.expect("close");
}
