//! `run --last-day`: a scheduled run due at the client's `leave_time` in its `time_zone`.

use super::*;

/// `run --last-day`: due at the client's `leave_time` in its `time_zone`; without them (or with
/// a typo in their names) nothing is scheduled, and nothing is guessed.
#[test]
fn a_last_day_is_scheduled_at_the_clients_leave_time_in_its_time_zone() {
    let home = Home::new();
    assert_eq!(home.cmd(["demo", "reset"]).run().code, 0);
    let day = (Utc::now() + Duration::days(30)).date_naive().to_string();
    let tenant = "[tenants.demo]\ndirectory = \"cloud\"\ndemo = true\n[tenants.demo.defaults]\n";
    home.write("offboard-host.toml", &format!("{tenant}leave_time = \"17:00\"\n"));
    let o = home.cmd(["run", "default.rhai", "--user", CLOUD, "--last-day", &day, "--yes", "--json"]).run();
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("time_zone") && o.stderr.contains("not guessed"), "{}", o.stderr);
    home.write("offboard-host.toml", &format!("{tenant}leave_time = \"17:00\"\ntime_zon = \"Europe/Berlin\"\n"));
    let o = home.cmd(["run", "default.rhai", "--user", CLOUD, "--last-day", &day, "--yes", "--json"]).run();
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("did you mean time_zone?"), "{}", o.stderr);
    home.write("offboard-host.toml", &format!("{tenant}leave_time = \"17:00\"\ntime_zone = \"Europe/Berlin\"\n"));
    let o = home.cmd(["run", "default.rhai", "--user", CLOUD, "--last-day", &day, "--yes", "--json"]).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    let s = schedules(&home);
    assert_eq!(s.len(), 1, "only the last one was scheduled: {s:?}");
    let due: chrono::DateTime<Utc> = s[0]["at"].as_str().unwrap().parse().unwrap();
    let local = due.with_timezone(&chrono_tz::Europe::Berlin);
    assert_eq!((local.date_naive().to_string(), local.format("%H:%M").to_string()), (day.clone(), "17:00".to_string()));
    assert_eq!(home.stats().writes, 0);
    // Both at once: refused by the command line.
    let o = home.cmd(["run", "default.rhai", "--user", CLOUD, "--last-day", &day, "--at", &later(1), "--yes"]).run();
    assert_eq!(o.code, 2, "{}", o.stderr);
}

/// `--last-day from-directory`: the last day HR entered in Entra (`employeeLeaveDateTime`), at
/// the client's leave time; a user without one is refused, alone or in a file (the whole file).
#[test]
fn a_last_day_from_the_directory_is_the_users_employee_leave_date() {
    let home = Home::new();
    assert_eq!(home.cmd(["demo", "reset"]).run().code, 0);
    home.write(
        "offboard-host.toml",
        "[tenants.demo]\ndirectory = \"cloud\"\ndemo = true\n[tenants.demo.defaults]\nleave_time = \"17:00\"\ntime_zone = \"Europe/Berlin\"\n",
    );
    let leaves = (Utc::now() + Duration::days(offboard_host::demo::seed::LEAVER_CLOUD_LEAVES_IN_DAYS)).date_naive().to_string();
    let due_of = |upn: &str| {
        let item = schedules(&home).into_iter().find(|i| i["user"] == upn).unwrap();
        let due: chrono::DateTime<Utc> = item["at"].as_str().unwrap().parse().unwrap();
        let local = due.with_timezone(&chrono_tz::Europe::Berlin);
        (local.date_naive().to_string(), local.format("%H:%M").to_string())
    };
    // The manager has no leave date in Entra: nothing is guessed.
    let o = home.cmd(["run", "default.rhai", "--user", ids::MANAGER_UPN, "--last-day", "from-directory", "--yes", "--json"]).run();
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("has no employeeLeaveDateTime"), "{}", o.stderr);
    // Nor in a file: the whole file is refused, naming the line.
    home.write("users.csv", &format!("upn\n{CLOUD}\n{}\n", ids::MANAGER_UPN));
    let o = home.cmd(["run", "default.rhai", "--users-file", "users.csv", "--last-day", "from-directory", "--yes", "--json"]).run();
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("line 3") && o.stderr.contains("has no employeeLeaveDateTime"), "{}", o.stderr);
    assert!(schedules(&home).is_empty());
    // The cloud leaver's date, at 17:00 in the client's zone; the value read is shown.
    let o = home.cmd(["run", "default.rhai", "--user", CLOUD, "--last-day", "from-directory", "--yes", "--json"]).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains(&format!("last day {leaves} from Entra (employeeLeaveDateTime {leaves}T00:00:00Z)")), "{}", o.stderr);
    assert_eq!(due_of(CLOUD), (leaves.clone(), "17:00".to_string()));
    assert_eq!(home.stats().writes, 0);
}
