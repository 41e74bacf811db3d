//! The settings schema: every setting the default offboarding understands, with its type, its
//! default and what it does. This table is the one source: the stdlib's `offboard::defaults()`
//! is built from it (the engine registers `settings_schema()`), and `--set`, the client's
//! `[defaults]`, bulk setting columns and the settings a hook returns are all checked against it.
//!
//! Why a Rust table rather than the stdlib map: the command line and the TOML are checked before
//! any engine exists (a bad `--set` must exit 2 with nothing sent), and a table with a type and a
//! description per row can say "did you mean" and list the known settings without evaluating a
//! script. The stdlib keeps the behaviour (what each setting does); this keeps the names.

use rhai::{Dynamic, Map};

/// The type a setting's value must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bool,
    Int,
    Str,
}

impl Kind {
    /// As the messages and the reference say it (TOML's words: `integer`, not Rhai's `i64`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Bool => "bool",
            Kind::Int => "integer",
            Kind::Str => "string",
        }
    }
}

/// "a bool", "an integer", "an array": a type's name in a sentence.
pub fn with_article(word: &str) -> String {
    let article = if word.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    format!("{article} {word}")
}

/// A setting's default value.
#[derive(Debug, Clone, Copy)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Str(&'static str),
}

impl Value {
    pub fn kind(self) -> Kind {
        match self {
            Value::Bool(_) => Kind::Bool,
            Value::Int(_) => Kind::Int,
            Value::Str(_) => Kind::Str,
        }
    }

    pub fn to_dynamic(self) -> Dynamic {
        match self {
            Value::Bool(b) => Dynamic::from(b),
            Value::Int(i) => Dynamic::from(i),
            Value::Str(s) => Dynamic::from(s.to_string()),
        }
    }
}

/// One row of the schema.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    pub name: &'static str,
    pub default: Value,
    pub description: &'static str,
}

use Value::{Bool as B, Int as I, Str as S};

const fn row(name: &'static str, default: Value, description: &'static str) -> Setting {
    Setting { name, default, description }
}

/// Every setting, in the order the offboarding uses them.
pub const SETTINGS: &[Setting] = &[
    row("revoke_sessions", B(true), "revoke the user's sign-in sessions (at the start and again at the end)"),
    row("reset_password", B(true), "reset the password where it is mastered"),
    row("force_password_change", B(true), "require a password change at the next sign-in"),
    row("disable_account", B(true), "block sign-in (both directories for a synced user)"),
    row("remove_groups", B(true), "remove the group memberships (not the licence groups)"),
    row("remove_license_groups", B(true), "remove the groups that assign licences"),
    row("remove_licenses", B(true), "remove the direct licences"),
    row("remove_manager", B(true), "clear the manager"),
    row("clear_employee_id", B(true), "clear the employee id"),
    row("remove_mobile_devices", B(true), "remove the Exchange mobile devices"),
    row("block_mobile_devices", B(true), "block the Exchange mobile devices before removing them"),
    row("wipe_mobile_devices", B(false), "remote-wipe the Exchange mobile devices"),
    row("remove_inbox_rules", B(true), "remove the inbox rules"),
    row("retire_managed_devices", B(true), "retire the user's Intune managed devices"),
    row("wipe_managed_devices", B(false), "factory-reset company-owned Intune devices instead (personal ones are retired)"),
    row("clear_forwarding", B(true), "remove the user's own forwarding"),
    row("forward_to", S(""), "forward mail to this address; empty = no forwarding"),
    row("forward_to_manager", B(false), "forward mail to the manager"),
    row("forward_keep_copy", B(true), "keep a copy of forwarded mail in the mailbox"),
    row("out_of_office_internal", S(""), "automatic reply text; empty = no automatic replies"),
    row("out_of_office_external", S(""), "automatic reply to outside senders; empty = the internal text"),
    row("out_of_office_start", S(""), "UTC start (2026-12-01T09:00:00); with an end: scheduled replies"),
    row("out_of_office_end", S(""), "UTC end of the automatic replies"),
    row("grant_manager_full_access", B(true), "give the manager FullAccess to the mailbox"),
    row("manager_automap", B(true), "automap the mailbox in the manager's Outlook"),
    row("grant_manager_send_as", B(false), "give the manager SendAs"),
    row("mailbox_delegates", S(""), "comma-separated addresses that also get FullAccess"),
    row("convert_to_shared", B(true), "convert the mailbox to a shared mailbox (before any licence goes)"),
    row("shared_wait_secs", I(300), "how long to wait for the conversion to show"),
    row("hide_from_gal", B(true), "hide the mailbox from the address lists"),
    row("remove_distribution_lists", B(true), "remove the distribution list and mail-enabled security group memberships"),
    row("disable_psa_contact", B(true), "disable the user's contact in the PSA"),
    row("keep_groups", S(""), "comma-separated group names or ids never removed"),
    row("notify_supervisor", B(false), "e-mail the manager what was done, from mail_sender"),
    row("mail_sender", S(""), "the mailbox the supervisor mail (and approval requests) are sent from"),
    row("supervisor_subject", S(""), "the supervisor mail's subject; empty = the built-in one"),
    row("supervisor_template", S(""), "the supervisor mail's text; empty = the built-in one"),
    row("remove_auth_methods", B(false), "remove every authentication method but the password (phone, Authenticator, FIDO2, ...)"),
    row("revoke_app_access", B(false), "revoke the OAuth consents the user gave and remove their app role assignments"),
    row("disable_mailbox_protocols", B(false), "turn off ActiveSync, OWA, POP, IMAP, MAPI and EWS for the mailbox"),
    row("onedrive_to_manager", B(false), "give the manager write access to the user's OneDrive"),
    row("transfer_group_ownership", B(false), "make the manager an owner of the groups and Teams the user alone owns"),
    row("cancel_meetings", B(false), "cancel the meetings the user organises (attendees are told)"),
    row("cancel_meetings_days", I(730), "how many days ahead to cancel meetings"),
    row("remove_mailbox_rights_elsewhere", B(false), "remove the user's FullAccess, SendAs and SendOnBehalf on other mailboxes"),
    row("display_name_prefix", S(""), "put this before the display name (\"zz-Left {month}\": zz-Left 2026-12 Name); empty = unchanged"),
    row("remove_aliases", B(false), "remove the mailbox's alias addresses (the primary stays)"),
    row("litigation_hold", B(false), "put the mailbox on litigation hold before any licence goes"),
    row("litigation_hold_days", I(0), "how long the litigation hold lasts; 0 = without end"),
    row("move_to_disabled_ou", B(true), "move the AD account to the disabled-users OU (last among the AD changes)"),
    row("trigger_sync", B(true), "start a directory sync when AD changed"),
    row("email_only", B(false), "the identity lives in AD, the mailbox account in the cloud: mailbox steps only"),
    row("leave_time", S(""), "the time of day (HH:MM, 24 h) a `run --last-day` is due, in time_zone; empty = --last-day refused"),
    row("time_zone", S(""), "the client's IANA time zone (e.g. Europe/Berlin) for `run --last-day`; empty = --last-day refused"),
];

/// The setting called `name`.
pub fn find(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.name == name)
}

/// Every setting with its default: what `offboard::defaults()` returns.
pub fn defaults_map() -> Map {
    SETTINGS.iter().map(|s| (s.name.into(), s.default.to_dynamic())).collect()
}

/// "unknown setting 'x'; did you mean y? known settings: a, b, ...": what a typo is told,
/// against `known` (the schema's names, or a map's keys).
pub fn unknown_message<'a>(key: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    let mut known: Vec<&str> = known.into_iter().collect();
    known.sort_unstable();
    let hint = nearest(key, known.iter().copied()).map(|n| format!("did you mean {n}? ")).unwrap_or_default();
    format!("unknown setting '{key}'; {hint}known settings: {}", known.join(", "))
}

/// The name in `names` closest to `word` by edit distance, if it is close enough to be a typo
/// (at most a third of the word's length, and at least 1).
pub fn nearest<'a>(word: &str, names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    names.into_iter().map(|n| (edit_distance(word, n), n)).filter(|(d, _)| *d <= limit).min_by_key(|(d, _)| *d).map(|(_, n)| n)
}

/// Levenshtein distance, over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push((prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_snake_case() {
        for (i, s) in SETTINGS.iter().enumerate() {
            assert!(SETTINGS[..i].iter().all(|o| o.name != s.name), "{} twice", s.name);
            assert!(s.name.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{}", s.name);
            assert!(!s.description.is_empty(), "{}", s.name);
        }
    }

    #[test]
    fn a_typo_is_told_the_nearest_setting() {
        let m = unknown_message("remove_licences", SETTINGS.iter().map(|s| s.name));
        assert!(m.contains("did you mean remove_licenses?"), "{m}");
        assert!(m.contains("known settings: block_mobile_devices, "), "{m}");
        assert_eq!(nearest("reset_pasword", SETTINGS.iter().map(|s| s.name)), Some("reset_password"));
        assert_eq!(nearest("forward_to_manger", SETTINGS.iter().map(|s| s.name)), Some("forward_to_manager"));
        assert_eq!(nearest("legal_hold", SETTINGS.iter().map(|s| s.name)), None);
        assert!(unknown_message("legal_hold", ["a", "b"]).ends_with("'legal_hold'; known settings: a, b"));
    }
}
