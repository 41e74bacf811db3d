//! Sessions: a random id in a cookie, the state on the server.
//!
//! A session is first `Pending` (between `/login` and the issuer's answer: it holds the OAuth
//! `state`, the nonce and the PKCE verifier), then `SignedIn`. Sign-in never upgrades a session
//! in place: the pending one is removed and the signed-in one gets a new id, so an id planted in
//! a victim's browser before sign-in (session fixation) is worth nothing after it.
//!
//! The cookie is HttpOnly (no script reads it), SameSite=Lax (not sent on cross-site posts, but
//! sent on the top-level redirect back from the issuer, which Strict would drop) and Secure
//! whenever the console's public URL is https. Over plain http, which the configuration allows
//! only on loopback (the demo), Secure is left off: clients do not return a Secure cookie over
//! http (reqwest's cookie store and curl never do), and on loopback it never crosses a network.
//! Every form carries the session's CSRF token, compared in constant time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap, HeaderValue};
use cookie::{Cookie, SameSite};

/// The cookie's name.
pub const COOKIE: &str = "offboard_console";
/// A signed-in session lasts a working day; a pending sign-in ten minutes.
const SIGNED_IN_FOR: Duration = Duration::from_secs(8 * 3600);
const PENDING_FOR: Duration = Duration::from_secs(600);
/// At most this many sessions at once: `/login` is open to anyone, and each call makes one.
const MAX_SESSIONS: usize = 10_000;

/// Who signed in, from the verified ID token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub name: Option<String>,
}

impl Identity {
    /// How pages and the journal name the person.
    pub fn label(&self) -> String {
        self.name.clone().or_else(|| self.email.clone()).unwrap_or_else(|| self.subject.clone())
    }
}

#[derive(Debug, Clone)]
pub enum State {
    /// Waiting for the issuer: what the callback must find again.
    Pending {
        oauth_state: String,
        nonce: String,
        pkce_verifier: String,
        /// The console page to return to after sign-in (checked by `return_to::safe`).
        return_to: Option<String>,
    },
    SignedIn(Identity),
}

#[derive(Debug, Clone)]
pub struct Session {
    pub state: State,
    /// The token every form of this session carries.
    pub csrf: String,
    created: Instant,
}

impl Session {
    fn expired(&self) -> bool {
        let life = match self.state {
            State::Pending { .. } => PENDING_FOR,
            State::SignedIn(_) => SIGNED_IN_FOR,
        };
        self.created.elapsed() > life
    }
}

/// The sessions of one console process (in memory: a restart signs everyone out).
#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Start a session under a new id; returns the id, or None when the store is full (of
    /// live sessions: expired ones are dropped first).
    pub fn create(&self, state: State) -> Option<String> {
        let id = random_hex();
        let mut map = self.lock();
        map.retain(|_, s| !s.expired());
        if map.len() >= MAX_SESSIONS {
            return None;
        }
        map.insert(id.clone(), Session { state, csrf: random_hex(), created: Instant::now() });
        Some(id)
    }

    /// The live session with this id.
    pub fn get(&self, id: &str) -> Option<Session> {
        self.lock().get(id).filter(|s| !s.expired()).cloned()
    }

    /// Remove and return the session (a pending sign-in is used once).
    pub fn take(&self, id: &str) -> Option<Session> {
        self.lock().remove(id).filter(|s| !s.expired())
    }
}

/// 32 random bytes, hex: session ids, CSRF tokens, OAuth state.
pub fn random_hex() -> String {
    use rand::RngCore;
    let mut raw = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    hex::encode(raw)
}

/// The session id the request's cookie names, if any.
pub fn cookie_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(|c| c.ok())
        .find(|c| c.name() == COOKIE)
        .map(|c| c.value().to_string())
}

/// `Set-Cookie` for the session `id` (or, with `None`, one that removes the cookie).
pub fn set_cookie(id: Option<&str>, secure: bool) -> HeaderValue {
    let mut c = Cookie::build((COOKIE, id.unwrap_or("").to_string())).path("/").http_only(true).same_site(SameSite::Lax).secure(secure);
    if id.is_none() {
        c = c.max_age(cookie::time::Duration::ZERO);
    }
    HeaderValue::from_str(&c.build().to_string()).expect("a cookie of hex and fixed attributes is a valid header")
}

/// Equal without a timing side channel on where the first difference is.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_attributes_and_parsing() {
        let v = set_cookie(Some("abc"), true);
        let s = v.to_str().unwrap();
        for want in ["offboard_console=abc", "HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
            assert!(s.contains(want), "{s} lacks {want}");
        }
        assert!(!set_cookie(Some("abc"), false).to_str().unwrap().contains("Secure"));
        assert!(set_cookie(None, false).to_str().unwrap().contains("Max-Age=0"));
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("other=1; offboard_console=xyz"));
        assert_eq!(cookie_id(&h).as_deref(), Some("xyz"));
    }

    #[test]
    fn pending_sessions_are_taken_once_and_tokens_compare_exactly() {
        let s = Sessions::default();
        let id = s
            .create(State::Pending { oauth_state: "s".into(), nonce: "n".into(), pkce_verifier: "v".into(), return_to: None })
            .expect("room");
        assert!(s.take(&id).is_some());
        assert!(s.take(&id).is_none());
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("abc", "ab"));
    }

    #[test]
    fn the_store_is_bounded() {
        let s = Sessions::default();
        let pending = || State::Pending { oauth_state: "s".into(), nonce: "n".into(), pkce_verifier: "v".into(), return_to: None };
        for _ in 0..MAX_SESSIONS {
            assert!(s.create(pending()).is_some());
        }
        assert!(s.create(pending()).is_none(), "full");
    }
}
