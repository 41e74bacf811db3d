//! The one error type of the Graph client.
//!
//! Each variant answers a question the caller has to act on: was it authentication (fix the app
//! registration), did Graph say no (read `code`), did we give up waiting (try later), did the
//! network fail in a way that leaves a write in doubt (re-observe before retrying), or did plan
//! mode stop a write (expected). Messages are written for an MSP technician reading a report.

/// Everything that can go wrong talking to Microsoft Graph.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GraphError {
    /// Token endpoint refused or unreachable. Message includes the AADSTS error_description, never the secret.
    #[error("could not get a Graph access token from {token_url}{}: {message}", fmt_status(.status))]
    Auth { token_url: String, status: Option<u16>, message: String },

    /// Graph answered non-2xx (after retries where allowed). code/message from {"error":{"code","message"}}.
    #[error("Graph {method} {path} failed: {status} {code}: {message}{}", applied_hint(.method, Some(*.status)))]
    Api { method: String, path: String, status: u16, code: String, message: String },

    /// Still throttled (429) or unavailable after max_retries or max_total_wait.
    #[error(
        "Graph {method} {path} gave up after {attempts} attempt(s) and {waited_ms} ms of waiting{}: the service is throttling or unavailable, try again later",
        fmt_status(.status)
    )]
    Exhausted { method: String, path: String, status: Option<u16>, attempts: u32, waited_ms: u64 },

    /// Network error or timeout. `maybe_applied` is true for a write whose request may have
    /// reached the server (timeout after sending, connection reset), so the caller must
    /// re-observe before retrying.
    #[error("Graph {method} {path} failed: network error: {message}{}", if *.maybe_applied { MAYBE_APPLIED } else { "" })]
    Transport { method: String, path: String, message: String, maybe_applied: bool },

    /// read_only is on and a write was asked for. Nothing was sent.
    #[error("Graph {method} {path} not sent: read-only (plan) mode refuses every write")]
    WriteRefused { method: String, path: String },

    /// A malformed or unexpected response (bad JSON, nextLink to another host, batch reply missing an id).
    #[error("unexpected answer from Graph: {message}")]
    Protocol { message: String },
}

const MAYBE_APPLIED: &str = " (the change may have been applied; check the current state before retrying)";

fn fmt_status(status: &Option<u16>) -> String {
    match status {
        Some(s) => format!(" (HTTP {s})"),
        None => String::new(),
    }
}

fn applied_hint(method: &str, status: Option<u16>) -> &'static str {
    if is_write(method) && matches!(status, Some(503 | 504)) {
        MAYBE_APPLIED
    } else {
        ""
    }
}

fn is_write(method: &str) -> bool {
    !method.eq_ignore_ascii_case("GET") && !method.eq_ignore_ascii_case("HEAD")
}

impl crate::action_error::ProviderError for GraphError {
    fn maybe_applied(&self) -> bool {
        GraphError::maybe_applied(self)
    }
}

impl GraphError {
    /// The HTTP status behind the error, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            GraphError::Auth { status, .. } | GraphError::Exhausted { status, .. } => *status,
            GraphError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Graph's error code (`Request_ResourceNotFound`, `Authorization_RequestDenied`, …).
    pub fn code(&self) -> Option<&str> {
        match self {
            GraphError::Api { code, .. } if !code.is_empty() => Some(code),
            _ => None,
        }
    }

    /// Graph answered 404: the object does not exist (any more).
    pub fn is_not_found(&self) -> bool {
        matches!(self, GraphError::Api { status: 404, .. })
    }

    /// True when a write may have been applied despite the error: a 503/504 answer to a write
    /// that was not re-sent, a write that kept getting 503/504 until we gave up, or a transport
    /// failure after the request may have left. The caller must re-observe before retrying.
    pub fn maybe_applied(&self) -> bool {
        match self {
            GraphError::Api { method, status, .. } => is_write(method) && matches!(status, 503 | 504),
            // A 429 means Graph did not process the request; anything else (503/504 or a
            // network failure on the last attempt) leaves a write in doubt.
            GraphError::Exhausted { method, status, .. } => is_write(method) && *status != Some(429),
            GraphError::Transport { maybe_applied, .. } => *maybe_applied,
            _ => false,
        }
    }
}
