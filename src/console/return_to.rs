//! Where sign-in returns to: the page an unsigned request asked for (an approval link from an
//! e-mail, say), kept in the pending sign-in session and used once after the callback.
//!
//! Only a path on this console is accepted, never a place elsewhere (an open redirect would
//! let a mail that links to our `/login` send the person, freshly signed in, to a look-alike
//! site). A browser reads `//host`, `/\host` and `\\host` as another host, and some decode
//! `%2F` / `%5C` or drop tabs and newlines first, so the rule is a strict allow-list: a single
//! leading `/`, then only unreserved URL characters, `/`, `?`, `=`, `&` and `%`-escapes, and
//! none of the dangerous forms after percent-decoding either.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// What a query value escapes: all but the unreserved characters (RFC 3986).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Longest path kept: a real page's path is short; the session store is bounded in count,
/// and this bounds it in size.
const MAX_LEN: usize = 512;

/// `path` if it is a same-origin relative path the console may send a browser to after sign-in.
pub fn safe(path: &str) -> Option<String> {
    if path.len() > MAX_LEN || !path.starts_with('/') || !path.bytes().all(allowed) {
        return None;
    }
    // Decoded (once or repeatedly: a double-encoded `%252F` decodes to `%2F`), it still must
    // not name another host, or hold a backslash or control character.
    let mut text = path.to_string();
    for _ in 0..3 {
        if !plain_path(&text) {
            return None;
        }
        let decoded = percent_decode_str(&text).decode_utf8().ok()?.into_owned();
        if decoded == text {
            return Some(path.to_string());
        }
        text = decoded;
    }
    None
}

fn allowed(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~/?=&%".contains(&b)
}

fn plain_path(p: &str) -> bool {
    p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') && !p.chars().any(char::is_control) && !p.contains("/..")
}

/// The `/login` address that returns to `path` after sign-in.
pub fn login_url(path: &str) -> String {
    match safe(path) {
        Some(p) => format!("/login?return_to={}", utf8_percent_encode(&p, QUERY_VALUE)),
        None => "/login".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_paths_are_kept() {
        for p in ["/approvals/run-123", "/runs?client=demo&user=adele", "/", "/runs/abc-DEF_1.2~x"] {
            assert_eq!(safe(p).as_deref(), Some(p), "{p}");
        }
    }

    #[test]
    fn other_places_are_refused() {
        for p in [
            "//evil.example",
            "//evil.example/approvals/1",
            "https://evil.example",
            "http:/evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/%2Fevil.example",
            "/%2fevil.example",
            "%2F%2Fevil.example",
            "/%5Cevil.example",
            "/%252F%252Fevil.example",
            "/%09/evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/ /evil.example",
            "/runs/../..//evil.example",
            "/%2E%2E/x",
            "/@evil.example",
            "javascript:alert(1)",
            "",
            "evil.example",
        ] {
            assert_eq!(safe(p), None, "{p:?}");
        }
        assert_eq!(safe(&format!("/{}", "a".repeat(MAX_LEN))), None, "too long");
    }

    #[test]
    fn the_login_url_carries_only_a_safe_path() {
        assert_eq!(login_url("/approvals/r-1"), "/login?return_to=%2Fapprovals%2Fr-1");
        assert_eq!(login_url("/runs?client=demo"), "/login?return_to=%2Fruns%3Fclient%3Ddemo");
        assert_eq!(login_url("//evil.example"), "/login");
    }
}
