//! Sending cmdlets: one at a time, or coalesced into the admin API's `$batch`, always under
//! Exchange's limit of concurrent requests.
//!
//! `POST {base}/adminapi/beta/{tenant}/$batch` takes `{"requests":[{"id","method":"POST",
//! "url":"<full InvokeCommand URL>","headers":{…},"body":{"CmdletInput":…}}]}`, at most
//! [`MAX_BATCH`] requests (what CIPP's `New-ExoBulkRequest` sends; `apis.md` section 3), and
//! answers `{"responses":[{"id","status","headers","body"}]}`, each sub-response what the direct
//! call would have answered. As for Graph (`graph/batch.rs`, whose queue this shares), a caller
//! does not have to know: cmdlets queued within the batch window of the first go together, and
//! the batcher makes *one attempt* per queued cmdlet; the caller's retry loop (`graph/retry.rs`)
//! judges each sub-response on its own, so a throttled one waits its own Retry-After and is
//! queued again, and a write whose envelope failed unclearly comes back `maybe_applied` rather
//! than being re-sent.
//!
//! Exchange refuses more than a few requests in flight per app and tenant ("You have reached the
//! maximum number of concurrent requests per tenant"). Every HTTP request to Exchange (direct or
//! `$batch`) therefore holds one of [`MAX_CONCURRENT`] permits, shared by every client of this
//! process for the same endpoint, app and tenant (a bulk run builds several).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot, Semaphore};

use super::is_read_cmdlet;
use crate::graph::batch::{answer_all, envelope_token, gather, numbered, responses_by_id, sub_response, Queued};
use crate::graph::stats::Recorder;
use crate::graph::transport::{authorize, Attempt, Transport};
use crate::graph::GraphError;

/// The most requests one Exchange `$batch` carries (CIPP's figure).
pub const MAX_BATCH: usize = 10;

/// The most requests this process has in flight to Exchange per endpoint, app and tenant. Exchange
/// does not document its figure for the admin API; its remote PowerShell allowed 3 concurrent
/// connections per admin (Microsoft365DSC#135), and the simulator refuses a 4th by default.
pub const MAX_CONCURRENT: usize = 3;

/// One cmdlet page to send: where, what, and its routing headers.
#[derive(Clone)]
pub(super) struct Call {
    pub cmdlet: String,
    pub url: String,
    pub body: Value,
    pub anchor: String,
    pub page_size: u32,
}

struct Job {
    call: Call,
    attempt: u32,
    reply: oneshot::Sender<Attempt>,
}

impl Queued for Job {
    fn abandoned(&self) -> bool {
        self.reply.is_closed()
    }
    fn answer(self, outcome: Attempt) {
        let _ = self.reply.send(outcome);
    }
}

/// The permits of one endpoint, app and tenant, shared by every client built in this process.
pub(super) fn concurrency_limit(t: &Transport, tenant: &str) -> Arc<Semaphore> {
    static LIMITS: OnceLock<Mutex<HashMap<String, Arc<Semaphore>>>> = OnceLock::new();
    let key = format!("{} {} {}", t.cfg.base(), t.cfg.client_id, tenant.to_ascii_lowercase());
    let mut limits = LIMITS.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    limits.entry(key).or_insert_with(|| Arc::new(Semaphore::new(MAX_CONCURRENT))).clone()
}

/// The queue in front of the collector task. Dropping it (with the client) ends the task.
pub(super) struct ExoBatcher {
    tx: mpsc::UnboundedSender<Job>,
}

impl ExoBatcher {
    /// Spawn the collector; must be called inside a tokio runtime (the client does on first use).
    pub fn start(t: Arc<Transport>, batch_url: String, limit: Arc<Semaphore>) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(collect(rx, t, batch_url, limit));
        ExoBatcher { tx }
    }

    /// Queue one attempt of `call` and wait for its outcome.
    pub async fn submit(&self, call: &Call, attempt: u32) -> Attempt {
        let (reply, answer) = oneshot::channel();
        if self.tx.send(Job { call: call.clone(), attempt, reply }).is_err() {
            return Attempt::Failed(GraphError::Protocol { message: "the Exchange batching task has stopped".into() });
        }
        answer.await.unwrap_or_else(|_| {
            Attempt::Failed(GraphError::Protocol { message: "the Exchange batching task ended without an answer".into() })
        })
    }
}

async fn collect(mut rx: mpsc::UnboundedReceiver<Job>, t: Arc<Transport>, batch_url: String, limit: Arc<Semaphore>) {
    while let Some(first) = rx.recv().await {
        let jobs = gather(first, &mut rx, t.cfg.batch_window, MAX_BATCH).await;
        if !jobs.is_empty() {
            tokio::spawn(flush(t.clone(), batch_url.clone(), limit.clone(), jobs));
        }
    }
}

/// The headers of one cmdlet request, direct or inside a batch.
fn headers(call: &Call, attempt: u32) -> Vec<(&'static str, String)> {
    let mut h = vec![
        ("X-AnchorMailbox", call.anchor.clone()),
        ("Prefer", format!("odata.maxpagesize={}", call.page_size)),
        ("X-CmdletName", call.cmdlet.clone()),
        ("X-ResponseFormat", "json".to_string()),
    ];
    if attempt > 0 {
        h.push(("Retry-Attempt", attempt.to_string()));
    }
    h
}

fn count(t: &Transport, calls: &[&Call]) {
    Recorder::add(&t.stats.operations, calls.len() as u64);
    Recorder::add(&t.stats.writes, calls.iter().filter(|c| !is_read_cmdlet(&c.cmdlet)).count() as u64);
}

/// "You have reached the maximum number of concurrent requests per tenant": Exchange did not run
/// the cmdlet, exactly like a 429.
fn busy_is_throttling(outcome: Attempt) -> Attempt {
    match outcome {
        Attempt::Response { status, retry_after, body } if !(200..300).contains(&status) && is_busy(&body) => {
            Attempt::Response { status: 429, retry_after, body }
        }
        other => other,
    }
}

pub(super) fn is_busy(body: &Value) -> bool {
    let text = match body {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    text.to_ascii_lowercase().contains("maximum number of concurrent requests")
}

/// One attempt of one cmdlet page as its own HTTP request.
pub(super) async fn send_one(t: &Transport, limit: &Semaphore, call: &Call, attempt: u32) -> Attempt {
    let token = match t.tokens.get(&t.http, &t.stats).await {
        Ok(tok) => tok,
        Err(e) => return Attempt::Failed(e),
    };
    let mut rb = authorize(t.http.post(&call.url), &token).json(&call.body);
    for (k, v) in headers(call, attempt) {
        rb = rb.header(k, v);
    }
    count(t, &[call]);
    let Ok(_permit) = limit.acquire().await else {
        return Attempt::Failed(GraphError::Protocol { message: "the Exchange concurrency limit was closed".into() });
    };
    let outcome = busy_is_throttling(t.exchange(rb).await);
    t.judge(outcome, &token).await
}

async fn flush(t: Arc<Transport>, batch_url: String, limit: Arc<Semaphore>, mut jobs: Vec<Job>) {
    if jobs.len() == 1 {
        if let Some(job) = jobs.pop() {
            let outcome = send_one(&t, &limit, &job.call, job.attempt).await;
            job.answer(outcome);
        }
        return;
    }
    let Some((token, jobs)) = envelope_token(&t, jobs).await else { return };
    let requests = numbered(&jobs, |job| {
        let mut h: serde_json::Map<String, Value> =
            headers(&job.call, job.attempt).into_iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
        h.insert("Content-Type".into(), json!("application/json"));
        json!({"method": "POST", "url": job.call.url, "headers": h, "body": job.call.body})
    });
    Recorder::add(&t.stats.batches, 1);
    count(&t, &jobs.iter().map(|j| &j.call).collect::<Vec<_>>());
    // The envelope is routed like an app-only call; each sub-request carries its own anchor.
    let anchor = jobs[0].call.anchor.clone();
    let rb = authorize(t.http.post(&batch_url), &token).header("X-AnchorMailbox", anchor).json(&json!({ "requests": requests }));
    let outcome = {
        let Ok(_permit) = limit.acquire().await else {
            let closed = GraphError::Protocol { message: "the Exchange concurrency limit was closed".into() };
            return answer_all(jobs, &Attempt::Failed(closed));
        };
        busy_is_throttling(t.exchange(rb).await)
    };
    match t.judge(outcome, &token).await {
        Attempt::Response { status, body, .. } if (200..300).contains(&status) => {
            let by_id = match responses_by_id(&body) {
                Ok(m) => m,
                Err(e) => return answer_all(jobs, &Attempt::Failed(e)),
            };
            for (i, job) in jobs.into_iter().enumerate() {
                let id = (i + 1).to_string();
                let outcome = match by_id.get(&id).and_then(|r| sub_response(r)) {
                    Some(a) => t.judge(busy_is_throttling(a), &token).await,
                    None => Attempt::Failed(GraphError::Protocol {
                        message: format!("the Exchange $batch answer has no valid response for id {id} ({})", job.call.cmdlet),
                    }),
                };
                let _ = job.reply.send(outcome);
            }
        }
        // The envelope failed as a whole: every member gets that outcome, and its retry loop
        // decides (a write that may have landed is not re-sent).
        failed => answer_all(jobs, &failed),
    }
}
