//! `run --users-file CSV --at T` / `--last-day D`: many leavers scheduled at once, each with its
//! row's settings, applied by the worker when due.

use super::*;

#[test]
fn a_users_file_schedules_each_user_with_its_rows_settings() {
    let home = Home::new();
    assert_eq!(home.cmd(["demo", "reset"]).run().code, 0);
    let users = ordinary_users();
    let (keep, reset, unknown) = (&users[0], &users[1], "nobody.here@contoso.test");
    home.write("users.csv", &format!("upn,reset_password\n{keep},false\n{reset},\n{unknown},\n"));
    let run = |home: &Home, at: &str, yes: bool| {
        let mut args = vec!["run", "default.rhai", "--users-file", "users.csv", "--set", "reset_password=true", "--at", at, "--json"];
        if yes {
            args.push("--yes");
        }
        home.cmd(args).run()
    };
    // Without a terminal and without --yes: nothing is scheduled.
    let o = run(&home, &later(1), false);
    assert_eq!(o.code, 6, "{}", o.stderr);
    assert!(schedules(&home).is_empty());
    // A due time in the past: the whole file is refused before anything is planned.
    let o = run(&home, &(Utc::now() - Duration::hours(1)).to_rfc3339(), true);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("in the past"), "{}", o.stderr);
    assert!(schedules(&home).is_empty());

    let o = run(&home, &later(1), true);
    assert_eq!(o.code, 1, "the unknown user fails the file: {}", o.stderr);
    let doc = o.json();
    assert_eq!(
        (doc["mode"].as_str(), doc["total"].as_u64(), doc["scheduled"].as_u64(), doc["failed"].as_u64()),
        (Some("schedule"), Some(3), Some(2), Some(1)),
        "{doc:#}"
    );
    let rows = doc["users"].as_array().unwrap();
    assert_eq!(rows.iter().map(|r| r["user"].as_str().unwrap()).collect::<Vec<_>>(), [keep.as_str(), reset.as_str(), unknown]);
    assert!(rows[..2].iter().all(|r| r["status"] == "scheduled" && r["due"].is_string()), "{doc:#}");
    assert!(rows[2]["error"].as_str().unwrap().contains("not found"), "{doc:#}");
    assert_eq!(home.stats().writes, 0, "scheduling wrote");
    // Each item keeps its row's settings over --set, as a bulk run journals them.
    let items = schedules(&home);
    assert_eq!(items.len(), 2, "{items:?}");
    let sets = |upn: &str| items.iter().find(|i| i["user"] == upn).map(|i| i["options"]["set"].clone()).unwrap();
    assert_eq!(sets(keep), serde_json::json!(["reset_password=false"]));
    assert_eq!(sets(reset), serde_json::json!(["reset_password=true"]));

    // Not before it is due; then each applied once with its own settings.
    let o = home.cmd(["worker", "--once", "--json"]).run();
    assert!(o.json()["runs"].as_array().unwrap().is_empty(), "{}", o.stdout);
    let o = home.cmd(["worker", "--once", "--json"]).env("OFFBOARD_NOW", later(2)).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    let runs = o.json()["runs"].as_array().unwrap().clone();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert!(runs.iter().all(|r| r["status"] == "done"), "{runs:?}");
    let state = home.state();
    let user = |upn: &str| state["users"].as_array().unwrap().iter().find(|u| u["userPrincipalName"] == upn).cloned().unwrap();
    assert_eq!((user(keep)["accountEnabled"].as_bool(), user(reset)["accountEnabled"].as_bool()), (Some(false), Some(false)));
    assert!(user(keep)["passwordSha256"].is_null(), "the row with reset_password=false had its password reset");
    assert!(user(reset)["passwordSha256"].is_string(), "the other row's password was not reset");
}

#[test]
fn a_users_file_on_a_last_day_is_due_at_each_clients_leave_time_or_refused_whole() {
    let home = Home::new();
    assert_eq!(home.cmd(["demo", "reset"]).run().code, 0);
    let users = ordinary_users();
    let day = (Utc::now() + Duration::days(30)).date_naive().to_string();
    // The second row's leave time is its own; the client gives no time zone yet.
    home.write("users.csv", &format!("upn,leave_time\n{}\n{},09:30\n", users[0], users[1]));
    let tenant = "[tenants.demo]\ndirectory = \"cloud\"\ndemo = true\n[tenants.demo.defaults]\nleave_time = \"17:00\"\n";
    home.write("offboard-host.toml", tenant);
    let run = |home: &Home| home.cmd(["run", "default.rhai", "--users-file", "users.csv", "--last-day", &day, "--yes", "--json"]).run();
    let o = run(&home);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("line 2") && o.stderr.contains("time_zone"), "{}", o.stderr);
    assert!(schedules(&home).is_empty());
    home.write("offboard-host.toml", &format!("{tenant}time_zone = \"Europe/Berlin\"\n"));
    let o = run(&home);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let local = |upn: &str| {
        let item = schedules(&home).into_iter().find(|i| i["user"] == upn).unwrap();
        let due: chrono::DateTime<Utc> = item["at"].as_str().unwrap().parse().unwrap();
        let l = due.with_timezone(&chrono_tz::Europe::Berlin);
        (l.date_naive().to_string(), l.format("%H:%M").to_string())
    };
    assert_eq!(local(&users[0]), (day.clone(), "17:00".to_string()));
    assert_eq!(local(&users[1]), (day.clone(), "09:30".to_string()));
    assert_eq!(home.stats().writes, 0);
}
