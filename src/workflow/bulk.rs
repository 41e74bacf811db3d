//! Bulk runs: the users file and each user's result.
//!
//! The users file is CSV as spreadsheets and HR systems write it (read with the `csv` crate:
//! quoted fields holding commas, a UTF-8 BOM, CRLF). The header row names the columns, in any case:
//! - `upn`, required: the user. A file without it is refused, a single column without the header
//!   `upn` too, so a typo cannot turn a header into a user.
//! - a column named after a setting (`reset_password`, `forward_to`, ...): that setting for the
//!   row's user, read as `--set key=value` is and over any `--set`; an empty cell is no override.
//! - `tenant`, optional: the row's tenant (a name from the configuration); empty means the one
//!   `--tenant` names. Each tenant's users are paced under that tenant's own write quota.
//! - any other column is ignored, and named ([`UsersFile::ignored`]) so that a misspelt setting is
//!   seen before anything runs.
//!
//! Fields are trimmed. Blank lines and lines starting with `#` (after spaces) are skipped; a user listed twice is
//! run once (twice with different settings is refused: which row meant it is not ours to guess).

use rhai::{Dynamic, Map};
use serde::Serialize;

use crate::settings::parse_value;

/// What a users file asks for.
#[derive(Debug)]
pub struct UsersFile {
    /// In file order, without duplicates.
    pub users: Vec<BulkUser>,
    /// Columns that are neither `upn` nor a setting, as the header spells them.
    pub ignored: Vec<String>,
}

/// One user of the file and the settings its row gives.
#[derive(Debug, Clone)]
pub struct BulkUser {
    pub upn: String,
    /// The row's `tenant` cell; None: the run's tenant.
    pub tenant: Option<String>,
    /// The line the user is on, for messages.
    pub line: u64,
    /// The row's non-empty setting cells, typed like `--set` values.
    pub settings: Vec<(String, Dynamic)>,
}

impl BulkUser {
    /// The row's settings as `key=value`, as the journal keeps `--set` values.
    pub fn sets(&self) -> Vec<String> {
        self.settings.iter().map(|(k, v)| format!("{k}={v}")).collect()
    }
    /// `base` (`--set` values) with the row's own settings over it, as the row's bulk run
    /// journals them: what a scheduled run of the row keeps as its `--set` values.
    pub fn sets_over(&self, base: &[String]) -> Vec<String> {
        let key = |s: &str| s.split_once('=').map_or(s, |(k, _)| k).trim().to_ascii_lowercase();
        let own: Vec<String> = self.settings.iter().map(|(k, _)| k.to_ascii_lowercase()).collect();
        base.iter().filter(|s| !own.contains(&key(s))).cloned().chain(self.sets()).collect()
    }
}

/// Read the users file. `settings`: the settings a run understands, each with a value of the type
/// it must have (see [`crate::settings::schema::defaults_map`]); a column named after one is a setting.
pub fn parse_users(text: &str, settings: &Map) -> Result<UsersFile, String> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).comment(Some(b'#')).from_reader(text.as_bytes());
    let header = reader.headers().map_err(|e| e.to_string())?.clone();
    if header.iter().all(str::is_empty) {
        return Err("the users file is empty".into());
    }
    let names: Vec<String> = header.iter().map(|h| h.trim_start_matches('\u{feff}').to_lowercase()).collect();
    let col = names
        .iter()
        .position(|c| c == "upn")
        .ok_or_else(|| format!("the users file has no 'upn' column (header: {:?})", header.iter().collect::<Vec<_>>().join(",")))?;
    let tenant_col = names.iter().position(|c| c == "tenant");
    let (mut columns, mut ignored) = (Vec::new(), Vec::new());
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) && !name.is_empty() {
            return Err(format!("the users file has the column '{name}' twice"));
        }
        if i == col || Some(i) == tenant_col || name.is_empty() {
            continue;
        }
        match settings.get(name.as_str()) {
            Some(_) => columns.push((i, name.as_str())),
            None => ignored.push(header[i].trim_start_matches('\u{feff}').to_string()),
        }
    }
    let mut users: Vec<BulkUser> = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| e.to_string())?;
        if record.iter().all(str::is_empty) || record[0].starts_with('#') {
            continue;
        }
        let line = record.position().map_or(0, |p| first_line(text, p));
        let upn = record.get(col).unwrap_or("");
        if upn.is_empty() {
            return Err(format!("line {line}: no upn"));
        }
        let tenant = tenant_col.and_then(|i| record.get(i)).filter(|t| !t.is_empty()).map(String::from);
        let mut row = BulkUser { upn: upn.to_string(), tenant, line, settings: Vec::new() };
        for &(i, name) in &columns {
            let cell = record.get(i).unwrap_or("");
            if !cell.is_empty() {
                row.settings.push(setting(name, cell).map_err(|e| format!("line {line}, column {name}: {e}"))?);
            }
        }
        match users.iter().find(|u| u.upn.eq_ignore_ascii_case(upn) && u.tenant == row.tenant) {
            Some(first) if first.sets() != row.sets() => {
                return Err(format!("line {line}: {upn} is also on line {} with other settings", first.line));
            }
            Some(_) => {}
            None => users.push(row),
        }
    }
    if users.is_empty() {
        return Err("the users file lists no users".into());
    }
    Ok(UsersFile { users, ignored })
}

/// The line a record starts on. The reader's position is where it began to read, before the
/// blank and comment lines it skipped on the way.
fn first_line(text: &str, p: &csv::Position) -> u64 {
    let rest = text.get(p.byte() as usize..).unwrap_or("");
    let skipped = rest.split_inclusive('\n').take_while(|l| l.trim().is_empty() || l.trim_start().starts_with('#')).count();
    p.line() + skipped as u64
}

/// One cell as `--set name=cell` would be, typed by the settings schema, so the file is refused
/// before any user runs.
fn setting(name: &str, cell: &str) -> Result<(String, Dynamic), String> {
    Ok((name.to_string(), parse_value(name, cell)?))
}

/// One user's outcome in a bulk run.
#[derive(Debug, Clone, Serialize)]
pub struct UserResult {
    pub user: String,
    /// The row's tenant, when the file has a `tenant` column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// `succeeded`, `failed`, `aborted` (the run's status), `planned`, `nothing_to_change`, or
    /// `error` (the run could not start: invalid user, lock held).
    pub status: String,
    pub run_id: Option<String>,
    /// Steps planned (plan) or done (apply).
    pub changes: usize,
    pub failed_steps: usize,
    pub error: Option<String>,
}

impl UserResult {
    pub fn is_failure(&self) -> bool {
        matches!(self.status.as_str(), "failed" | "aborted" | "error")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A few settings of each type, as `defaults_map` gives them.
    fn known() -> Map {
        let mut m = Map::new();
        m.insert("reset_password".into(), Dynamic::from(true));
        m.insert("forward_to".into(), Dynamic::from(String::new()));
        m.insert("shared_wait_secs".into(), Dynamic::from(300_i64));
        m
    }

    fn parse(text: &str) -> Result<UsersFile, String> {
        parse_users(text, &known())
    }

    fn upns(text: &str) -> Vec<String> {
        parse(text).unwrap().users.into_iter().map(|u| u.upn).collect()
    }

    #[test]
    fn reads_the_upn_column() {
        let u = upns("name,UPN\nA, a@x.test \n\n# skip\n\"B\",\"b@x.test\"\nA2,A@x.test\n");
        assert_eq!(u, ["a@x.test", "b@x.test"]);
        assert!(parse("a@x.test\nb@x.test\n").unwrap_err().contains("no 'upn' column"));
        assert!(parse("upn\n").is_err());
        assert!(parse("upn,x\n,1\n").unwrap_err().contains("line 2"));
    }

    #[test]
    fn a_quoted_field_keeps_its_comma() {
        let f = parse("name,upn,forward_to\n\"Smith, Jo\",jo@x.test,\"a@x.test\"\n").unwrap();
        assert_eq!(f.users[0].upn, "jo@x.test");
        assert_eq!(f.users[0].sets(), ["forward_to=a@x.test"]);
    }

    #[test]
    fn a_bom_crlf_and_any_header_case_are_read() {
        assert_eq!(upns("\u{feff}upn,name\r\na@x.test,A\r\nb@x.test,B\r\n"), ["a@x.test", "b@x.test"]);
        assert_eq!(upns("\u{feff}UPN\r\n\r\na@x.test\r\n"), ["a@x.test"]);
        let f = parse("Name,Upn,Reset_Password\r\nA,a@x.test,false\r\n").unwrap();
        assert_eq!(f.users[0].sets(), ["reset_password=false"]);
        assert!(f.ignored == ["Name"], "{:?}", f.ignored);
    }

    #[test]
    fn a_file_without_a_upn_column_is_refused() {
        assert!(parse("user,name\na@x.test,A\n").unwrap_err().contains("no 'upn' column"));
        assert!(parse("\u{feff}a@x.test\r\nb@x.test\r\n").unwrap_err().contains("no 'upn' column"));
        assert!(parse("").unwrap_err().contains("empty"));
        assert!(parse("# only a comment\n").unwrap_err().contains("empty"));
    }

    #[test]
    fn a_user_listed_twice_runs_once_unless_the_settings_differ() {
        assert_eq!(upns("upn,reset_password\na@x.test,false\n  ,  \nA@X.test,false\n,,\n"), ["a@x.test"]);
        let e = parse("upn,reset_password\na@x.test,false\nb@x.test,\nA@X.test,\n").unwrap_err();
        assert!(e.contains("line 4") && e.contains("line 2"), "{e}");
    }

    #[test]
    fn setting_columns_are_typed_like_set_and_an_empty_cell_is_no_override() {
        let f = parse("upn,reset_password,shared_wait_secs,forward_to\na@x.test,false,0,\nb@x.test,,, m@x.test \n").unwrap();
        let (a, b) = (&f.users[0], &f.users[1]);
        assert_eq!(a.sets(), ["reset_password=false", "shared_wait_secs=0"]);
        assert!(!a.settings[0].1.as_bool().unwrap());
        assert_eq!(a.settings[1].1.as_int().unwrap(), 0);
        assert_eq!(b.sets(), ["forward_to=m@x.test"]);
        assert!(f.ignored.is_empty());
    }

    #[test]
    fn a_bad_setting_value_names_the_line_and_column() {
        let e = parse("upn,reset_password\na@x.test,true\n# c\nb@x.test,maybe\n").unwrap_err();
        assert!(e.starts_with("line 4, column reset_password: "), "{e}");
        assert!(e.contains("reset_password is a bool: true or false, not 'maybe'"), "{e}");
        // Lines are the file's, counting skipped blank and comment lines.
        assert!(parse("upn\na@x.test\n\n  # c\n\n,x\n").unwrap_err().starts_with("line 6: no upn"));
        let e = parse("\u{feff}# export\r\nupn,reset_password\r\n\r\na@x.test,\"no\"\r\n").unwrap_err();
        assert!(e.starts_with("line 4, column reset_password: "), "{e}");
        let e = parse("upn,Shared_Wait_Secs\na@x.test,soon\n").unwrap_err();
        assert!(e.contains("line 2, column shared_wait_secs") && e.contains("is an integer, not 'soon'"), "{e}");
        // A string setting keeps digits as text.
        assert_eq!(parse("upn,forward_to\na@x.test,7\n").unwrap().users[0].sets(), ["forward_to=7"]);
    }

    #[test]
    fn other_columns_are_ignored_and_named() {
        let f = parse("Department,upn,cost_center,forward_too\nIT,a@x.test,42,x@x.test\n").unwrap();
        assert_eq!(f.ignored, ["Department", "cost_center", "forward_too"]);
        assert!(f.users[0].settings.is_empty());
        assert!(parse("upn,forward_to,Forward_To\na@x.test,,\n").unwrap_err().contains("twice"));
    }

    #[test]
    fn a_tenant_column_names_each_rows_tenant_and_is_no_setting() {
        let f = parse("upn,Tenant\na@x.test,acme\nb@x.test,\na@x.test,globex\na@x.test,acme\n").unwrap();
        let got: Vec<(&str, Option<&str>)> = f.users.iter().map(|u| (u.upn.as_str(), u.tenant.as_deref())).collect();
        // The same UPN in two tenants is two users; listed twice in one tenant, one.
        assert_eq!(got, [("a@x.test", Some("acme")), ("b@x.test", None), ("a@x.test", Some("globex"))]);
        assert!(f.ignored.is_empty());
        assert!(parse("upn\na@x.test\n").unwrap().users[0].tenant.is_none());
    }

    #[test]
    fn the_stdlib_settings_are_setting_columns() {
        let known = crate::settings::schema::defaults_map();
        for k in ["reset_password", "forward_to", "shared_wait_secs", "move_to_disabled_ou"] {
            assert!(known.contains_key(k), "{k}");
        }
        let f = parse_users("upn,move_to_disabled_ou,legal_hold\na@x.test,false,false\n", &known).unwrap();
        assert_eq!(f.users[0].sets(), ["move_to_disabled_ou=false"]);
        assert_eq!(f.ignored, ["legal_hold"]);
    }
}
