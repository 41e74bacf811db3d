//! Building Graph paths and `$filter` values safely from data (UPNs, display names).
//!
//! A UPN such as `jo#EXT#@contoso.onmicrosoft.com` pasted raw into a URL turns `#EXT#@…` into a
//! fragment, and `O'Brien` pasted raw into a `$filter` ends the literal early (OData
//! injection). Every path segment and filter value built from data goes through these helpers.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything except RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`). We encode `@`
/// too: it is legal in a segment, but encoding it is always accepted and keeps the rule simple.
const UNRESERVED_KEPT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Percent-encode one path segment: `a#EXT#@x` → `a%23EXT%23%40x`, `a/b` → `a%2Fb`.
pub fn path_segment(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED_KEPT).to_string()
}

/// `/users/{segment}` for a UPN or object id.
pub fn user_path(id_or_upn: &str) -> String {
    format!("/users/{}", path_segment(id_or_upn))
}

/// An OData string literal: `O'Brien` → `'O''Brien'` (quotes doubled). The result still has to
/// be percent-encoded with [`query_value`] as part of the whole `$filter` value.
pub fn odata_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Percent-encode a query parameter value (for use after `$filter=`). Spaces become `%20`
/// (never `+`, which Graph would read literally in some places).
pub fn query_value(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED_KEPT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments() {
        assert_eq!(path_segment("a#EXT#@x"), "a%23EXT%23%40x");
        assert_eq!(user_path("a#EXT#@x"), "/users/a%23EXT%23%40x");
        assert_eq!(path_segment("a/b"), "a%2Fb");
        assert_eq!(path_segment("100%"), "100%25");
        assert_eq!(path_segment("ü"), "%C3%BC");
        assert_eq!(path_segment("a b?c"), "a%20b%3Fc");
        assert_eq!(path_segment("O'Brien"), "O%27Brien");
        assert_eq!(path_segment("Az09-._~"), "Az09-._~");
    }

    #[test]
    fn odata_literals() {
        assert_eq!(odata_string("O'Brien"), "'O''Brien'");
        assert_eq!(odata_string("''"), "''''''");
        assert_eq!(odata_string("#EXT#"), "'#EXT#'");
        let filter = format!("displayName eq {}", odata_string("O'Brien & ü"));
        assert_eq!(query_value(&filter), "displayName%20eq%20%27O%27%27Brien%20%26%20%C3%BC%27");
        assert_eq!(query_value("100%"), "100%25");
        assert_eq!(query_value("a/b#c"), "a%2Fb%23c");
    }
}
