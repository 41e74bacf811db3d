//! `Idempotency-Key`: a POST is done once per key. The first request claims the key in the
//! journal with a digest of what it asked; its answer is kept with the key; a retry with the
//! same key and the same request gets that answer again (`Idempotent-Replayed: true`) and does
//! nothing new; the same key with another request is refused (422); a retry while the first is
//! still being answered is told to wait (409).
//!
//! Keys are the token's own (scoped by its name). A refusal before anything was done (a bad
//! setting, a client the token may not use) releases the key, so the caller can fix the request
//! and send it again under the same key.

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::auth::Caller;
use super::blocking;
use super::error::{json_answer, ApiError};
use crate::console::App;
use crate::journal::KeyClaim;

/// The header.
pub const HEADER: &str = "idempotency-key";
/// The header on an answer given again.
pub const REPLAYED: &str = "idempotent-replayed";
/// An unanswered claim older than this is taken to be dead (its process stopped mid-request)
/// and a retry of the same request takes it over.
const STALE_AFTER: chrono::Duration = chrono::Duration::minutes(15);
/// The longest key accepted (a UUID is 36).
const MAX_KEY_LEN: usize = 255;

/// How long an answered key is kept: a caller retries within minutes or hours, never a month
/// later, and a key kept for ever would grow the journal with every webhook.
const KEEP_ANSWERED: chrono::Duration = chrono::Duration::days(30);

/// When this process last pruned the keys (unix seconds): at most once an hour, from a claim.
static LAST_PRUNE: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// Forget the answered keys older than [`KEEP_ANSWERED`], if this process has not in the last
/// hour. Best effort: a journal that cannot prune still claims.
fn prune_now_and_then(app: &App, now: chrono::DateTime<chrono::Utc>) {
    use std::sync::atomic::Ordering;
    let last = LAST_PRUNE.load(Ordering::Relaxed);
    if now.timestamp() - last < 3600 || LAST_PRUNE.compare_exchange(last, now.timestamp(), Ordering::SeqCst, Ordering::Relaxed).is_err() {
        return;
    }
    match app.journal.request_key_prune(now - KEEP_ANSWERED) {
        Ok(0) => {}
        Ok(n) => tracing::info!("api: forgot {n} request key(s) answered more than {} days ago", KEEP_ANSWERED.num_days()),
        Err(e) => tracing::warn!("api: pruning old request keys: {e}"),
    }
}

/// A claimed key: the request's to answer (or release).
pub struct Claim {
    scope: String,
    key: String,
}

/// What to do with a request.
pub enum Begin {
    /// Do it: the key is claimed.
    Go(Claim),
    /// Answer this (the first answer again, or a refusal).
    Answer(Response),
}

/// The request's key: printable ASCII, 1 to 255 characters.
pub fn key_of(headers: &HeaderMap) -> Result<String, ApiError> {
    let Some(v) = headers.get(HEADER) else {
        return Err(ApiError::bad_request(
            "an Idempotency-Key header is required (a unique value per request, e.g. a UUID or the ticket number and event): a retry with the same key is done once",
        ));
    };
    let k = v.to_str().map_err(|_| ApiError::bad_request("the Idempotency-Key must be printable ASCII"))?.trim();
    if k.is_empty() || k.len() > MAX_KEY_LEN || !k.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::bad_request(format!(
            "the Idempotency-Key must be 1 to {MAX_KEY_LEN} printable ASCII characters without spaces"
        )));
    }
    Ok(k.to_string())
}

/// The digest of a request: the route and its body as parsed, so key order and white space of
/// the JSON sent do not make a retry a different request.
pub fn digest(route: &str, body: &impl Serialize) -> String {
    let json = serde_json::to_vec(&serde_json::to_value(body).unwrap_or_default()).unwrap_or_default();
    let mut h = Sha256::new();
    h.update(route.as_bytes());
    h.update([0]);
    h.update(&json);
    hex::encode(h.finalize())
}

/// Claim `key` for the request with digest `hash`, or the answer to give instead.
pub async fn begin(app: &Arc<App>, caller: &Caller, key: &str, hash: &str) -> Result<Begin, ApiError> {
    let (scope, key_, hash_) = (caller.name().to_string(), key.to_string(), hash.to_string());
    let claim = blocking(app, move |app| {
        let now = chrono::Utc::now();
        prune_now_and_then(app, now);
        app.journal.request_key_claim(&scope, &key_, &hash_, now, now - STALE_AFTER)
    })
    .await?;
    let existing = match claim {
        KeyClaim::Claimed => return Ok(Begin::Go(Claim { scope: caller.name().to_string(), key: key.to_string() })),
        KeyClaim::Existing(k) => k,
    };
    if existing.request_hash != hash {
        return Ok(Begin::Answer(
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("the Idempotency-Key '{key}' was used for another request: use a new key for a new request"),
            )
            .into_response(),
        ));
    }
    let Some(answer) = existing.answer else {
        let mut resp =
            ApiError::new(StatusCode::CONFLICT, format!("the request with Idempotency-Key '{key}' is still being answered: retry shortly"))
                .into_response();
        resp.headers_mut().insert(axum::http::header::RETRY_AFTER, HeaderValue::from_static("5"));
        return Ok(Begin::Answer(resp));
    };
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut resp = json_answer(status, &answer.body);
    resp.headers_mut().insert(REPLAYED, HeaderValue::from_static("true"));
    Ok(Begin::Answer(resp))
}

impl Claim {
    /// Keep `body` as the key's answer, and give it. An answer the journal could not keep is
    /// still given (the work is done), with the key left claimed: a retry is told to wait (409)
    /// until the claim is stale, rather than doing the work twice.
    pub async fn answer(self, app: &Arc<App>, status: StatusCode, body: serde_json::Value) -> Response {
        let (scope, key, kept) = (self.scope, self.key, body.clone());
        if let Err(e) = blocking(app, move |app| app.journal.request_key_answer(&scope, &key, status.as_u16(), &kept)).await {
            tracing::warn!("console api: the answer to a request could not be kept with its key: {}", e.message);
        }
        json_answer(status, &body)
    }

    /// Give the key up: the request did nothing, and a retry may do it.
    pub async fn release(self, app: &Arc<App>) {
        let (scope, key) = (self.scope, self.key);
        if let Err(e) = blocking(app, move |app| app.journal.request_key_release(&scope, &key)).await {
            tracing::warn!("console api: a request key could not be released: {}", e.message);
        }
    }
}
