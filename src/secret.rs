//! A secret string (client secret, access token, generated password).
//!
//! `Debug` and `Display` print `[redacted]`, and `Serialize` is deliberately not implemented, so a
//! secret cannot reach the journal, the logs or a report by accident. The only way to the value is
//! [`Secret::expose`], which is easy to grep for in review.

use std::fmt;

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value. Call it only where the value leaves the process for its one purpose
    /// (a token request, a password PATCH).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_its_value() {
        let s = Secret::new("canary-123");
        assert!(!format!("{s:?} {s}").contains("canary"));
        assert_eq!(s.expose(), "canary-123");
    }
}
