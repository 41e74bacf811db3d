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
