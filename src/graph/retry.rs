//! When to re-send an operation, and how long to wait first.
//!
//! This is kiota's retry handler (see the reference notes, B4) with one change. Kiota retries
//! 429, 503 and 504 and honours Retry-After (seconds or an HTTP date), backs off exponentially
//! with jitter when there is none, caps the number of re-sends at 10 and the cumulative wait at
//! 180 s. What we add: kiota re-sends a POST/PATCH whenever the body can be replayed, but a 503
//! or 504 (or a timeout) can arrive *after* Graph applied the write. So only GETs and requests
//! marked `idempotent` are re-sent after those; other writes come back as an error whose
//! `maybe_applied()` is true, and the caller re-observes before deciding. A 429 is always
//! re-sent: Graph documents that a throttled request was not processed.
//!
//! The decision is a pure function of what one attempt produced, so the direct path and the
//! `$batch` path (where each sub-response is judged on its own) share it exactly.

use std::time::Duration;

use rand::Rng;

use super::answer::{api_error, error_code};
use super::config::GraphConfig;
use super::error::GraphError;
use super::transport::Attempt;
use super::{GraphRequest, GraphResponse};

/// What the caller's loop does next.
pub(crate) enum Step {
    Done(Result<GraphResponse, GraphError>),
    /// Wait, then send again. `counted` is false for the one re-send after a token refresh,
    /// which is not a retry in the throttling sense and does not use up the budget.
    Retry {
        wait: Duration,
        counted: bool,
    },
}

/// Per-operation retry bookkeeping.
#[derive(Default)]
pub(crate) struct OpState {
    pub retries: u32,
    pub waited: Duration,
    pub refreshed_token: bool,
}

/// May this request be re-sent after an unclear failure (503/504/timeout)?
fn replay_safe(req: &GraphRequest) -> bool {
    req.method == reqwest::Method::GET || req.idempotent
}

/// Decide what to do with one attempt's outcome. `path` is what error messages show.
pub(crate) fn decide(cfg: &GraphConfig, req: &GraphRequest, path: &str, st: &mut OpState, attempt: Attempt) -> Step {
    let method = req.method.as_str();
    match attempt {
        Attempt::Failed(e) => Step::Done(Err(e)),
        Attempt::Response { status, body, .. } if (200..300).contains(&status) => Step::Done(Ok(GraphResponse { status, body })),
        Attempt::Response { status: 401, body, .. } if !st.refreshed_token && error_code(&body) == "InvalidAuthenticationToken" => {
            // The sender already dropped the rejected token from the cache; re-send once.
            st.refreshed_token = true;
            Step::Retry { wait: Duration::ZERO, counted: false }
        }
        Attempt::Response { status: 429, retry_after, .. } => backoff(cfg, req, path, st, Some(429), retry_after),
        Attempt::Response { status: status @ (503 | 504), retry_after, .. } if replay_safe(req) => {
            backoff(cfg, req, path, st, Some(status), retry_after)
        }
        Attempt::Response { status, body, .. } => Step::Done(Err(api_error(method, path, status, &body))),
        // Not sent at all (connection refused, DNS): re-sending cannot apply a write twice.
        Attempt::Transport { sent: false, .. } => backoff(cfg, req, path, st, None, None),
        Attempt::Transport { .. } if replay_safe(req) => backoff(cfg, req, path, st, None, None),
        Attempt::Transport { message, .. } => Step::Done(Err(GraphError::Transport {
            method: method.to_string(),
            path: path.to_string(),
            message,
            maybe_applied: req.method != reqwest::Method::GET,
        })),
    }
}

fn backoff(
    cfg: &GraphConfig,
    req: &GraphRequest,
    path: &str,
    st: &mut OpState,
    status: Option<u16>,
    retry_after: Option<Duration>,
) -> Step {
    let exhausted = |st: &OpState| {
        Step::Done(Err(GraphError::Exhausted {
            method: req.method.to_string(),
            path: path.to_string(),
            status,
            attempts: st.retries + 1,
            waited_ms: st.waited.as_millis().min(u64::MAX as u128) as u64,
        }))
    };
    if st.retries >= cfg.effective_max_retries() {
        return exhausted(st);
    }
    let wait = retry_after.unwrap_or_else(|| exponential(cfg.retry_base_delay, st.retries + 1));
    // Stop before a wait that would break the cumulative cap rather than after it: a
    // Retry-After of an hour means "not in this run".
    if st.waited + wait > cfg.max_total_wait {
        return exhausted(st);
    }
    st.retries += 1;
    st.waited += wait;
    Step::Retry { wait, counted: true }
}

/// base * 2^(n-1) + jitter(0..base), n ≥ 1. The jitter spreads out clients throttled together.
pub(crate) fn exponential(base: Duration, n: u32) -> Duration {
    let factor = 1u32 << n.saturating_sub(1).min(16);
    let jitter = base.mul_f64(rand::thread_rng().gen_range(0.0..1.0));
    base.saturating_mul(factor).saturating_add(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_grows_with_jitter_below_base() {
        let base = Duration::from_millis(100);
        for n in 1..=4u32 {
            let d = exponential(base, n);
            let floor = base * (1 << (n - 1));
            assert!(d >= floor && d < floor + base, "n={n} d={d:?}");
        }
    }
}
