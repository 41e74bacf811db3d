//! A plan sends no write, wherever a script puts a generic write call: at the top, in a phase,
//! in a hook function, in an action's observe or apply. Every placement of every write function
//! is tried, under `plan` and under `run` (where only apply may write).

use super::*;

const WRITES: [&str; 3] = [
    r#"graph::send("PATCH", `/users/${graph::segment(u.id)}`, #{ displayName: "zz-Fuzz" })"#,
    r#"exo::invoke("Set-Mailbox", #{ Identity: u.upn, HiddenFromAddressListsEnabled: true })"#,
    r#"ad::modify("CN=x,DC=corp,DC=test", #{ replace: #{ description: "fuzz" } })"#,
];

/// `{W}` is where the write goes.
const PLACES: [&str; 5] = [
    "let u = graph::get_user(USER);\n{W};",
    "let u = graph::get_user(USER);\nphase(\"p\", || { {W}; });",
    "fn hook(u) { {W}; }\nlet u = graph::get_user(USER);\nphase(\"p\", || hook(u));",
    "let u = graph::get_user(USER);\nphase(\"p\", || { action(\"fuzz_step\", #{ target: u.upn, observe: || { {W}; #{ status: \"needed\", detail: \"d\" } }, apply: |p| () }); });",
    "let u = graph::get_user(USER);\nphase(\"p\", || { action(\"fuzz_step\", #{ target: u.upn, observe: || #{ status: \"needed\", detail: \"d\" }, apply: |p| { {W}; } }); });",
];

#[test]
fn no_placement_of_a_write_lets_a_plan_send_it() {
    let home = Home::new();
    for (wi, w) in WRITES.iter().enumerate() {
        for (pi, place) in PLACES.iter().enumerate() {
            let script = place.replace("{W}", w);
            let (code, r, err) = run(&home, "plan", &script, &[]);
            assert_eq!(home.stats().writes, 0, "write {wi} at place {pi} was sent by a plan:\n{script}\n{err}{r}");
            if pi == 4 {
                // In apply: planned, and nothing runs it.
                assert_eq!(code, 0, "{script}\n{err}");
                assert_eq!(status_of(&r, "fuzz_step", CLOUD), "planned");
            } else {
                let text = format!("{err}{r}");
                assert!(text.contains("write_outside_apply") || text.contains("apply function"), "place {pi}: {text}");
            }
        }
    }
    // Under `run`, a write outside apply is refused too: only place 4 may write.
    for (pi, place) in PLACES.iter().enumerate().take(4) {
        let script = place.replace("{W}", WRITES[0]);
        let (_, r, err) = run(&home, "run", &script, &[]);
        assert_eq!(home.stats().writes, 0, "place {pi} wrote under run:\n{err}{r}");
    }
}
