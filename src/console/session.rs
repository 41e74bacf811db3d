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
//!
//! The sessions are kept in the journal (keyed by a hash of the id, see
//! `journal::console_sessions`): a restarted console keeps everyone signed in, and several
//! console processes on one PostgreSQL journal share them. A journal that keeps none (a test's)
//! leaves them in this process's memory. A journal that fails signs no one in (fails closed).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::{header, HeaderMap, HeaderValue};
use chrono::{DateTime, Duration, Utc};
use cookie::{Cookie, SameSite};
use serde::{Deserialize, Serialize};

use crate::journal::{session_key, Journal, StoredSession};

/// The cookie's name.
pub const COOKIE: &str = "offboard_console";
/// A signed-in session lasts a working day; a pending sign-in ten minutes.
const SIGNED_IN_FOR: Duration = Duration::hours(8);
const PENDING_FOR: Duration = Duration::minutes(10);
/// At most this many sessions at once: `/login` is open to anyone, and each call makes one.
const MAX_SESSIONS: usize = 10_000;

/// Who signed in, from the verified ID token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
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
    /// When it ends.
    expires: DateTime<Utc>,
}

impl Session {
    fn expired(&self, now: DateTime<Utc>) -> bool {
        self.expires <= now
    }
    fn stored(&self) -> Option<StoredSession> {
        let state = serde_json::to_value(&self.state).ok()?;
        let life = match self.state {
            State::Pending { .. } => PENDING_FOR,
            State::SignedIn(_) => SIGNED_IN_FOR,
        };
        Some(StoredSession { state, csrf: self.csrf.clone(), created_at: self.expires - life, expires_at: self.expires })
    }
    fn from_stored(s: StoredSession) -> Option<Session> {
        match serde_json::from_value(s.state) {
            Ok(state) => Some(Session { state, csrf: s.csrf, expires: s.expires_at }),
            Err(e) => {
                tracing::warn!("console: a kept session cannot be read ({e}): not signed in");
                None
            }
        }
    }
}

/// Where the sessions are kept.
enum Store {
    Journal(Arc<dyn Journal>),
    /// This process's memory: a restart signs everyone out.
    Memory(Mutex<HashMap<String, Session>>),
}

/// The console's sessions.
pub struct Sessions {
    store: Store,
}

impl Default for Sessions {
    /// In memory.
    fn default() -> Self {
        Sessions { store: Store::Memory(Mutex::default()) }
    }
}

impl Sessions {
    /// In `journal`, or in memory when it keeps no sessions.
    pub fn in_journal(journal: Arc<dyn Journal>) -> Sessions {
        if journal.keeps_console_sessions() {
            Sessions { store: Store::Journal(journal) }
        } else {
            Sessions::default()
        }
    }

    fn memory(map: &Mutex<HashMap<String, Session>>) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Start a session under a new id; returns the id, or None when the store is full (of
    /// live sessions: expired ones are dropped first) or cannot keep it.
    pub fn create(&self, state: State) -> Option<String> {
        let (id, now) = (random_hex(), Utc::now());
        let life = match state {
            State::Pending { .. } => PENDING_FOR,
            State::SignedIn(_) => SIGNED_IN_FOR,
        };
        let session = Session { state, csrf: random_hex(), expires: now + life };
        match &self.store {
            Store::Journal(j) => match j.console_session_put(&session_key(&id), &session.stored()?, MAX_SESSIONS, now) {
                Ok(true) => Some(id),
                Ok(false) => None,
                Err(e) => {
                    tracing::warn!("console: keeping a session: {e}");
                    None
                }
            },
            Store::Memory(map) => {
                let mut map = Self::memory(map);
                map.retain(|_, s| !s.expired(now));
                if map.len() >= MAX_SESSIONS {
                    return None;
                }
                map.insert(id.clone(), session);
                Some(id)
            }
        }
    }

    /// The live session with this id.
    pub fn get(&self, id: &str) -> Option<Session> {
        let now = Utc::now();
        match &self.store {
            Store::Journal(j) => kept(j.console_session_get(&session_key(id), now), "reading"),
            Store::Memory(map) => Self::memory(map).get(id).filter(|s| !s.expired(now)).cloned(),
        }
    }

    /// Remove and return the session (a pending sign-in is used once).
    pub fn take(&self, id: &str) -> Option<Session> {
        let now = Utc::now();
        match &self.store {
            Store::Journal(j) => kept(j.console_session_take(&session_key(id), now), "removing"),
            Store::Memory(map) => Self::memory(map).remove(id).filter(|s| !s.expired(now)),
        }
    }
}

/// A session the journal answered with; none when it failed (said in the log): not signed in.
fn kept(found: crate::journal::Result<Option<StoredSession>>, doing: &str) -> Option<Session> {
    match found {
        Ok(found) => found.and_then(Session::from_stored),
        Err(e) => {
            tracing::warn!("console: {doing} a session: {e}");
            None
        }
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
