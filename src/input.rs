//! Validation of what a technician types, before anything is sent anywhere.
//!
//! A user is named by UPN (`name@domain`) or by object id (a GUID). Anything else — spaces,
//! quotes, parentheses, control characters, path separators — is refused here with a message, so
//! it never reaches a URL, an OData filter or an LDAP filter (those are escaped anyway; this is
//! the first of two fences).

/// UPN length limit in Entra ID (113 for the prefix@domain form is the documented maximum).
const MAX_UPN: usize = 113;

pub fn validate_user(input: &str) -> Result<(), String> {
    if input.is_empty() {
        return Err("empty".into());
    }
    if input.len() > MAX_UPN {
        return Err(format!("longer than {MAX_UPN} characters"));
    }
    if is_guid(input) {
        return Ok(());
    }
    let Some((local, domain)) = input.rsplit_once('@') else {
        return Err("expected a user principal name like name@example.com, or an object id".into());
    };
    if local.is_empty() || domain.is_empty() {
        return Err("expected a user principal name like name@example.com".into());
    }
    // Entra allows these in the UPN prefix: letters, digits and ' . - _ ! # ^ ~ (and `#EXT#` for guests).
    if let Some(c) = local.chars().find(|c| !(c.is_ascii_alphanumeric() || "'.-_!#^~".contains(*c))) {
        return Err(format!("character {c:?} is not allowed in a user principal name"));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err("a user principal name cannot start or end with '.' or contain '..'".into());
    }
    let labels_ok = domain
        .split('.')
        .all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-') && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    if !labels_ok || !domain.contains('.') {
        return Err(format!("'{domain}' is not a valid domain"));
    }
    Ok(())
}

/// A user as named for an on-premises AD lookup: a UPN or mail address (as [`validate_user`]),
/// or a pre-Windows 2000 logon name (sAMAccountName: at most 20 characters, none of
/// `" / \ [ ] : ; | = , + * ? < > @`, no spaces or control characters, not ending with '.').
/// A stricter allow-list than AD's own: letters, digits and `. - _ ' ! # ^ ~`.
pub fn validate_ad_user(input: &str) -> Result<(), String> {
    if input.contains('@') || is_guid(input) {
        return validate_user(input);
    }
    if input.is_empty() {
        return Err("empty".into());
    }
    if input.chars().count() > 20 {
        return Err("a sAMAccountName has at most 20 characters (or give the user principal name)".into());
    }
    // A trailing `$` names a computer or managed service account: accepted so that the
    // protected-account check can refuse it by what it is, rather than as a malformed name.
    let name = input.strip_suffix('$').unwrap_or(input);
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || ".-_'!#^~".contains(*c))) {
        return Err(format!("character {c:?} is not allowed in a sAMAccountName"));
    }
    if input.ends_with('.') {
        return Err("a sAMAccountName cannot end with '.'".into());
    }
    Ok(())
}

/// An object id (GUID) rather than a name.
pub fn is_guid(s: &str) -> bool {
    s.len() == 36 && s.char_indices().all(|(i, c)| if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_hexdigit() })
}

#[cfg(test)]
mod tests {
    use super::validate_user;

    #[test]
    fn accepts_real_names() {
        for ok in [
            "leaver.cloud@contoso.test",
            "o'brien@contoso.com",
            "a_b-c@sub.example.org",
            "guest_x.com#EXT#@contoso.onmicrosoft.com",
            "6f1c2a9e-4b7d-4c1e-9a53-2d8e0b7c4a10",
        ] {
            assert!(validate_user(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_malformed_and_injection() {
        for bad in [
            "",
            "nobody",
            "@contoso.test",
            "x@",
            "a b@contoso.test",
            "x@contoso",
            "*)(uid=*))(|(uid=*@x.com",
            "x@contoso.test' or 1 eq 1",
            "../../etc/passwd@x.com",
            "a\0b@x.com",
            "x@-bad.com",
            "a..b@x.com",
            "x@contoso.test/../../groups",
        ] {
            assert!(validate_user(bad).is_err(), "{bad:?}");
        }
        assert!(validate_user(&format!("{}@x.com", "a".repeat(200))).is_err());
    }

    #[test]
    fn ad_names_accept_sam_account_names_and_refuse_injection() {
        use super::validate_ad_user;
        for ok in ["ssynced", "j.doe", "o'brien", "leaver.synced@contoso.test", "a-b_c"] {
            assert!(validate_ad_user(ok).is_ok(), "{ok}");
        }
        for bad in
            ["", "*)(uid=*))(|(uid=*", "a\0b", "#admin ", "trailing ", "a,b", "x=y", "a*", "abc.", "twentyonecharacters12", "x@contoso"]
        {
            assert!(validate_ad_user(bad).is_err(), "{bad:?}");
        }
    }
}
