//! Bulk runs: the users file and each user's result.
//!
//! The file is CSV with a header row naming a `upn` column (other columns are ignored; a file with
//! a single column and no header `upn` is refused, so a typo cannot turn a header into a user).
//! Fields are trimmed; double quotes around a field are removed. Blank lines and lines starting
//! with `#` are skipped; a user listed twice is run once.

use serde::Serialize;

/// Read the users from CSV text: the `upn` column, in file order, without duplicates.
pub fn parse_users(text: &str) -> Result<Vec<String>, String> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    let (_, header) = lines.next().ok_or("the users file is empty")?;
    let cols: Vec<String> = split(header).into_iter().map(|c| c.to_ascii_lowercase()).collect();
    let col = cols.iter().position(|c| c == "upn").ok_or_else(|| format!("the users file has no 'upn' column (header: {header:?})"))?;
    let mut users: Vec<String> = Vec::new();
    for (n, line) in lines {
        let fields = split(line);
        let upn = fields.get(col).map(String::as_str).unwrap_or("").to_string();
        if upn.is_empty() {
            return Err(format!("line {}: no upn", n + 1));
        }
        if !users.iter().any(|u| u.eq_ignore_ascii_case(&upn)) {
            users.push(upn);
        }
    }
    if users.is_empty() {
        return Err("the users file lists no users".into());
    }
    Ok(users)
}

fn split(line: &str) -> Vec<String> {
    line.split(',').map(|f| f.trim().trim_matches('"').trim().to_string()).collect()
}

/// One user's outcome in a bulk run.
#[derive(Debug, Clone, Serialize)]
pub struct UserResult {
    pub user: String,
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

    #[test]
    fn reads_the_upn_column() {
        let u = parse_users("name,UPN\nA, a@x.test \n\n# skip\n\"B\",\"b@x.test\"\nA2,A@x.test\n").unwrap();
        assert_eq!(u, ["a@x.test", "b@x.test"]);
        assert!(parse_users("a@x.test\nb@x.test\n").unwrap_err().contains("no 'upn' column"));
        assert!(parse_users("upn\n").is_err());
        assert!(parse_users("upn,x\n,1\n").unwrap_err().contains("line 2"));
    }
}
