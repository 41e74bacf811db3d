//! Reading what Graph answered: the error body (`error.code`, `error.message`) and the
//! `Retry-After` header. Shared by the transport (which reads them off an answer) and the retry
//! policy (which decides on them), so neither has to import the other for it.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::error::GraphError;

/// Retry-After as delta-seconds or an HTTP date (RFC 7231 IMF-fixdate, which RFC 2822 parsing
/// accepts). A date in the past means "now".
pub(crate) fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc);
    Some((when - now).to_std().unwrap_or(Duration::ZERO))
}

/// `error.code` from a Graph error body, or "".
pub(crate) fn error_code(body: &serde_json::Value) -> &str {
    body.pointer("/error/code").and_then(|v| v.as_str()).unwrap_or("")
}

pub(crate) fn api_error(method: &str, path: &str, status: u16, body: &serde_json::Value) -> GraphError {
    let code = error_code(body).to_string();
    let message = match body.pointer("/error/message").and_then(|v| v.as_str()) {
        Some(m) => m.to_string(),
        None => match body {
            serde_json::Value::Null => String::new(),
            serde_json::Value::String(s) => s.chars().take(300).collect(),
            other => other.to_string().chars().take(300).collect(),
        },
    };
    GraphError::Api { method: method.to_string(), path: path.to_string(), status, code, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = DateTime::parse_from_rfc2822("Wed, 21 Oct 2015 07:27:58 GMT").map(|d| d.with_timezone(&Utc));
        let Ok(now) = now else { panic!("test date must parse") };
        assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
