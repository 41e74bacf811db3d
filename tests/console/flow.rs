//! Sign-in, sessions, CSRF and who sees which client.

use super::*;

/// `/login` → the issuer's page → pick `staff` → the callback; the callback's answer.
async fn sign_in_answer(f: &Fixture, b: &Browser, staff: &str) -> reqwest::Response {
    let callback = to_callback(f, b, staff).await;
    b.http.get(callback).send().await.expect("callback")
}

/// `/login` → the issuer's page → pick `staff`: the callback URL the issuer sends back to.
async fn to_callback(f: &Fixture, b: &Browser, staff: &str) -> String {
    to_callback_from(&f.url("/login"), f, b, staff).await
}

/// [`to_callback`] from `login`, a `/login` address (with a `return_to`, say).
pub async fn to_callback_from(login: &str, f: &Fixture, b: &Browser, staff: &str) -> String {
    let r = b.http.get(login).send().await.expect("login");
    assert_eq!(r.status(), 303);
    let authorize = reqwest::Url::parse(&location(&r)).expect("authorize URL");
    assert!(authorize.as_str().starts_with(f.demo.oidc().url()), "{authorize}");
    let page = b.http.get(authorize.clone()).send().await.expect("sign-in page");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains(staff));
    // What the page's form posts: the request's parameters and the person picked.
    let mut form: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
    form.push(("staff".into(), staff.into()));
    let r = b.http.post(format!("{}/authorize", f.demo.oidc().url())).form(&form).send().await.expect("choose");
    assert_eq!(r.status(), 303);
    let callback = location(&r);
    assert!(callback.starts_with(&f.url("/auth/callback?")), "{callback}");
    callback
}

pub async fn sign_in(f: &Fixture, b: &Browser, staff: &str) {
    let r = sign_in_answer(f, b, staff).await;
    let (status, to) = (r.status().as_u16(), location(&r));
    assert_eq!((status, to), (303, "/runs".to_string()), "{}", r.text().await.unwrap_or_default());
}

pub async fn get(b: &Browser, url: &str) -> (u16, String) {
    let r = b.http.get(url).send().await.expect("get");
    let status = r.status().as_u16();
    let text = if status == 303 { location(&r) } else { r.text().await.unwrap() };
    (status, text)
}

/// A run's page opened from a ticket before signing in is the page shown after sign-in.
#[tokio::test]
async fn a_page_opened_before_sign_in_is_the_page_after_it() {
    let f = fixture().await;
    let b = Browser::new();
    let (s, login) = get(&b, &f.url(&format!("/runs/{RUN_DEMO}?x=1"))).await;
    assert_eq!(s, 303);
    let callback = to_callback_from(&f.url(&login), &f, &b, "staff-tech-a").await;
    let r = b.http.get(callback).send().await.expect("callback");
    assert_eq!((r.status().as_u16(), location(&r)), (303, format!("/runs/{RUN_DEMO}?x=1")));
    let (s, page) = get(&b, &f.url(&format!("/runs/{RUN_DEMO}"))).await;
    assert!(s == 200 && page.contains(RUN_DEMO), "{s} {page}");
}

#[tokio::test]
async fn every_route_but_the_sign_in_flow_requires_sign_in() {
    let f = fixture().await;
    let b = Browser::new();
    // A page opened by its address comes back after sign-in; an unknown one does not.
    let run_page = format!("/runs/{RUN_DEMO}");
    let back = login_for;
    for (path, to) in [
        ("/", "/login".to_string()),
        ("/runs", back("/runs")),
        ("/runs?client=demo", back("/runs?client=demo")),
        (run_page.as_str(), back(&run_page)),
        ("/offboard?client=demo", back("/offboard?client=demo")),
        ("/no-such-page", "/login".to_string()),
        ("/runs/x/y", "/login".to_string()),
    ] {
        assert_eq!(get(&b, &f.url(path)).await, (303, to), "{path}");
    }
    let r = b.http.post(f.url("/logout")).form(&[("csrf", "x")]).send().await.unwrap();
    assert_eq!((r.status().as_u16(), location(&r)), (303, "/login".to_string()));
    // The sign-in flow itself is open.
    assert_eq!(get(&b, &f.url("/signed-out")).await.0, 200);
    assert_eq!(get(&b, &f.url("/auth/callback?code=x&state=y")).await.0, 400, "no sign-in started");
    let r = b.http.get(f.url("/login")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    // A pending sign-in is not a session.
    assert_eq!(get(&b, &f.url("/runs")).await, (303, back("/runs")));
    let set = r.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
    for want in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(set.contains(want), "{set}");
    }
    // Plain http on loopback only (the demo): no Secure, or the cookie would never come back.
    assert!(!set.contains("Secure"), "{set}");
    // Every answer, signed in or not: no framing, no outside content, no referrer.
    let csp = r.headers().get("content-security-policy").expect("CSP").to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"), "{csp}");
    assert_eq!(r.headers().get("x-frame-options").unwrap(), "DENY");
    assert_eq!(r.headers().get("referrer-policy").unwrap(), "no-referrer");
}

/// The page routes as the router registers them: every `.route("PATH", get|post(…))` in the
/// console's sources outside the API (whose routes are Bearer-token routes, checked in
/// `src/console/api/tests.rs`). Read from the source rather than listed here, so that a route
/// added without the sign-in check fails this test without anyone remembering to list it: axum
/// cannot list a router's routes, and the source is where a route can only be added.
fn page_routes() -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/console");
    let mut routes = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("src/console") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("source");
        for line in source.lines().map(str::trim).filter(|l| !l.starts_with("//")) {
            let Some(rest) = line.split(".route(\"").nth(1) else { continue };
            let (route, handler) = rest.split_once('"').expect("a route's path ends");
            let method = handler.trim_start_matches([',', ' ']).split('(').next().unwrap_or("").to_string();
            routes.push((method, route.to_string()));
        }
    }
    routes
}

#[tokio::test]
async fn every_page_route_the_router_registers_requires_sign_in() {
    let routes = page_routes();
    assert!(routes.len() >= 19, "the router's routes were not found: {routes:?}");
    // The sign-in flow is open, and the API answers with its own 401 (see its tests).
    const OPEN: [&str; 4] = ["/login", "/auth/callback", "/signed-out", "/logout"];
    let f = fixture().await;
    let b = Browser::new();
    for (method, route) in routes.iter().filter(|(_, r)| !OPEN.contains(&r.as_str()) && !r.starts_with("/api")) {
        let path = route.replace("{id}", RUN_DEMO);
        assert!(!path.contains('{'), "a route parameter this test does not fill: {route}");
        let r = match method.as_str() {
            "get" => b.http.get(f.url(&path)).send().await.expect("get"),
            "post" => b.http.post(f.url(&path)).form(&[("csrf", "x"), ("client", "demo")]).send().await.expect("post"),
            other => panic!("{route}: a method this test does not know: {other}"),
        };
        let to = location(&r);
        assert_eq!(r.status(), 303, "{method} {route} answered without sign-in");
        assert!(to == "/login" || to.starts_with("/login?return_to="), "{method} {route} sends to {to}");
    }
}

#[tokio::test]
async fn a_technician_of_one_client_cannot_see_a_run_of_another() {
    let f = fixture().await;
    let alex = Browser::new();
    sign_in(&f, &alex, "staff-tech-a").await;
    let (s, page) = get(&alex, &f.url("/runs")).await;
    assert_eq!(s, 200);
    assert!(page.contains(RUN_DEMO) && !page.contains(RUN_HALO), "{page}");
    assert!(!page.contains("demo-halo"), "the other client is not even offered as a filter");
    let (s, page) = get(&alex, &f.url(&format!("/runs/{RUN_DEMO}"))).await;
    assert_eq!(s, 200);
    assert!(page.contains("disable_account") && page.contains("disabled adele.vance@contoso.test"), "the run's steps: {page}");
    let (s, page) = get(&alex, &f.url(&format!("/runs/{RUN_HALO}"))).await;
    assert_eq!(s, 404, "{page}");
    assert!(!page.contains("megan.bowen"));
    // Like a run that does not exist: nothing tells the two apart.
    assert_eq!(get(&alex, &f.url("/runs/run-none")).await.0, 404);
    let (_, page) = get(&alex, &f.url("/runs?client=demo-halo")).await;
    assert!(!page.contains(RUN_HALO));
    let (_, page) = get(&alex, &f.url("/runs?user=megan.bowen%40contoso.test")).await;
    assert!(!page.contains(RUN_HALO));

    let blair = Browser::new();
    sign_in(&f, &blair, "staff-tech-b").await;
    let (_, page) = get(&blair, &f.url("/runs")).await;
    assert!(page.contains(RUN_HALO) && !page.contains(RUN_DEMO), "{page}");
    assert_eq!(get(&blair, &f.url(&format!("/runs/{RUN_DEMO}"))).await.0, 404);

    let casey = Browser::new();
    sign_in(&f, &casey, "staff-approver").await;
    let (_, page) = get(&casey, &f.url("/runs")).await;
    assert!(page.contains(RUN_HALO) && page.contains(RUN_DEMO), "an approver of every client sees both");
}

#[tokio::test]
async fn the_session_id_changes_at_sign_in_and_a_planted_one_is_worthless() {
    let f = fixture().await;
    let b = Browser::new();
    let base = reqwest::Url::parse(&f.base()).unwrap();
    b.jar.add_cookie_str(&format!("{COOKIE}=attacker-chosen-id; Path=/"), &base);
    let callback = to_callback(&f, &b, "staff-tech-a").await;
    let pending = b.session(&f.base()).expect("a pending session");
    assert_ne!(pending, "attacker-chosen-id", "the planted id is not adopted");
    let r = b.http.get(callback).send().await.unwrap();
    assert_eq!((r.status().as_u16(), location(&r)), (303, "/runs".to_string()));
    let first = b.session(&f.base()).expect("a session");
    assert_ne!(first, pending, "sign-in issues a new id");
    assert_eq!(get(&b, &f.url("/runs")).await.0, 200);

    // Another browser holding the planted or the pending id is not signed in.
    for id in ["attacker-chosen-id", pending.as_str()] {
        let other = Browser::new();
        other.jar.add_cookie_str(&format!("{COOKIE}={id}; Path=/"), &base);
        assert_eq!(get(&other, &f.url("/runs")).await, (303, login_for("/runs")), "{id}");
    }
    // Signing in again gives yet another id, and the first one is dropped.
    sign_in(&f, &b, "staff-tech-a").await;
    let second = b.session(&f.base()).unwrap();
    assert_ne!(second, first);
    let stale = Browser::new();
    stale.jar.add_cookie_str(&format!("{COOKIE}={first}; Path=/"), &base);
    assert_eq!(get(&stale, &f.url("/runs")).await.0, 303, "the session before the new sign-in is gone");
}

#[tokio::test]
async fn a_form_without_the_right_csrf_token_is_refused() {
    let f = fixture().await;
    let b = Browser::new();
    sign_in(&f, &b, "staff-admin").await;
    let (_, page) = get(&b, &f.url("/runs")).await;
    let token = csrf_of(&page).expect("the sign-out form carries a CSRF token");
    assert_eq!(token.len(), 64);
    let missing = b.http.post(f.url("/logout")).form(&[("other", "1")]).send().await.unwrap();
    assert_eq!(missing.status(), 403);
    let wrong = b.http.post(f.url("/logout")).form(&[("csrf", "0".repeat(64))]).send().await.unwrap();
    assert_eq!(wrong.status(), 403);
    let other = Browser::new();
    sign_in(&f, &other, "staff-tech-a").await;
    let (_, other_page) = get(&other, &f.url("/runs")).await;
    let foreign = csrf_of(&other_page).unwrap();
    assert_ne!(foreign, token);
    let r = b.http.post(f.url("/logout")).form(&[("csrf", foreign.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), 403, "another session's token");
    assert_eq!(get(&b, &f.url("/runs")).await.0, 200, "still signed in after the refusals");
    let r = b.http.post(f.url("/logout")).form(&[("csrf", token.as_str())]).send().await.unwrap();
    assert_eq!((r.status().as_u16(), location(&r)), (303, "/signed-out".to_string()));
    assert_eq!(get(&b, &f.url("/runs")).await, (303, login_for("/runs")));
}

#[tokio::test]
async fn sign_ins_are_journalled_and_a_replayed_callback_gets_no_session() {
    let f = fixture().await;
    let b = Browser::new();
    let r = sign_in_answer(&f, &b, "staff-tech-b").await;
    assert_eq!(r.status(), 303);
    let events = f.journal.audit_events(10).expect("audit log");
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!((e.action.as_str(), e.subject.as_str(), e.email.as_deref()), ("sign_in", "staff-tech-b", Some("blair.tech@msp.test")));
    assert_eq!(e.issuer, f.demo.oidc().url());
    assert_eq!(e.detail["roles"], json!({"demo-halo": ["request"]}));

    // The same callback again (a code caught in a log, say): no pending sign-in, nothing.
    let replay = Browser::new();
    let r = replay.http.get(f.url("/login")).send().await.unwrap();
    let state = reqwest::Url::parse(&location(&r)).unwrap().query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    // Its own state, but a code that was already spent: the issuer refuses it.
    let spent = {
        let b2 = Browser::new();
        let r = b2.http.get(f.url("/login")).send().await.unwrap();
        let authorize = reqwest::Url::parse(&location(&r)).unwrap();
        let mut form: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
        form.push(("staff".into(), "staff-admin".into()));
        let r = b2.http.post(format!("{}/authorize", f.demo.oidc().url())).form(&form).send().await.unwrap();
        let callback = location(&r);
        assert_eq!(b2.http.get(&callback).send().await.unwrap().status(), 303, "first use signs in");
        reqwest::Url::parse(&callback).unwrap().query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned()
    };
    let url = format!("{}?code={spent}&state={state}", f.url("/auth/callback"));
    let r = replay.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401, "the spent code is refused by the issuer");
    assert_eq!(get(&replay, &f.url("/runs")).await.0, 303);
    // A wrong state is refused before the issuer is asked.
    let r = replay.http.get(f.url("/login")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(get(&replay, &f.url("/auth/callback?code=abc&state=not-the-state")).await.0, 400);
    assert_eq!(f.journal.audit_events(10).unwrap().len(), 2, "only the two real sign-ins");
}

/// A console restarted, or another console process on the same journal, knows who is signed
/// in: the session is kept in the journal, under a hash of its id, never the id itself; signing
/// out on one ends it on all.
#[tokio::test]
async fn a_session_outlives_its_console_process_and_the_journal_never_holds_its_id() {
    let f = fixture().await;
    let b = Browser::new();
    sign_in(&f, &b, "staff-tech-a").await;
    let id = b.session(&f.base()).expect("a session");
    let now = chrono::Utc::now();
    assert!(f.journal.console_session_get(&offboard_host::journal::session_key(&id), now).unwrap().is_some());
    assert!(f.journal.console_session_get(&id, now).unwrap().is_none(), "kept under its id");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let other = offboard_host::console::demo::start(&f.demo, f.journal.clone() as Arc<dyn Journal>, f._dir.path().to_path_buf(), listener)
        .await
        .expect("a second console");
    let plain = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let at = |base: std::net::SocketAddr, path: &str| {
        plain.get(format!("http://{base}{path}")).header("cookie", format!("{COOKIE}={id}")).send()
    };
    let r = at(other.addr(), "/runs").await.unwrap();
    assert_eq!(r.status(), 200, "the second console does not know the session");
    let page = r.text().await.unwrap();
    let csrf = csrf_of(&page).expect("a form token");
    // Signed out on the second: gone on the first too.
    let r = plain
        .post(format!("http://{}/logout", other.addr()))
        .header("cookie", format!("{COOKIE}={id}"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!((r.status().as_u16(), location(&r)), (303, "/signed-out".to_string()));
    let r = at(f.console.addr(), "/runs").await.unwrap();
    assert_eq!((r.status().as_u16(), location(&r)), (303, login_for("/runs")));
}
