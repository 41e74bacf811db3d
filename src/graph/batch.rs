//! Coalescing concurrent requests into JSON `$batch` calls.
//!
//! An offboarding script fires many small independent calls at once (remove from 14 groups,
//! read 6 things). Sent one by one that is 20 round trips; in one `$batch` it is one. Callers do
//! not have to know: [`Batcher::submit`] queues a request, a background task collects what
//! arrives within `batch_window` of the first one (or until 20 are pending, Graph's per-batch
//! limit), and sends them together. One request alone is sent directly, without an envelope.
//!
//! The batcher only ever makes *one attempt* per queued request and hands back the raw outcome
//! (each sub-response judged on its own). The caller's retry loop then decides exactly as for a
//! direct call: a sub-response 429 waits its own Retry-After and is queued again, where it may
//! travel in a later batch with other requests.
//!
//! If the envelope itself fails (network, 5xx, 429, 401), each member receives that failure as
//! its own outcome. GETs and idempotent writes are then re-queued by their retry loops (so the
//! retryable part of the batch is re-sent together), while non-idempotent writes fail with
//! `maybe_applied()` true: we cannot know whether Graph ran them before the envelope failed.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};

use super::error::GraphError;
use super::stats::Recorder;
use super::transport::{authorize, Attempt, Transport};
use super::GraphRequest;

/// Graph rejects a `$batch` with more than 20 requests.
pub(crate) const MAX_BATCH: usize = 20;

struct Job {
    req: GraphRequest,
    attempt: u32,
    reply: oneshot::Sender<Attempt>,
}

/// The queue in front of the collector task. Dropping it (with the client) ends the task.
pub(crate) struct Batcher {
    tx: mpsc::UnboundedSender<Job>,
}

impl Batcher {
    /// Spawn the collector. Must be called inside a tokio runtime (the client does it on first use).
    pub fn start(transport: Arc<Transport>) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(collect(rx, transport));
        Batcher { tx }
    }

    /// Queue one attempt of `req` and wait for its outcome.
    pub async fn submit(&self, req: &GraphRequest, attempt: u32) -> Attempt {
        let (reply, answer) = oneshot::channel();
        if self.tx.send(Job { req: req.clone(), attempt, reply }).is_err() {
            return Attempt::Failed(GraphError::Protocol { message: "the batching task has stopped".into() });
        }
        answer
            .await
            .unwrap_or_else(|_| Attempt::Failed(GraphError::Protocol { message: "the batching task ended without an answer".into() }))
    }
}

async fn collect(mut rx: mpsc::UnboundedReceiver<Job>, t: Arc<Transport>) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        let deadline = tokio::time::Instant::now() + t.cfg.batch_window;
        while jobs.len() < MAX_BATCH {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(job)) => jobs.push(job),
                // Window over, or the client is gone: send what we have.
                Ok(None) | Err(_) => break,
            }
        }
        // A caller that gave up (its future was dropped) needs nothing sent.
        jobs.retain(|j| !j.reply.is_closed());
        if !jobs.is_empty() {
            // Flush in its own task so the collector keeps filling the next batch meanwhile.
            tokio::spawn(flush(t.clone(), jobs));
        }
    }
}

async fn flush(t: Arc<Transport>, mut jobs: Vec<Job>) {
    if jobs.len() == 1 {
        if let Some(job) = jobs.pop() {
            let url = format!("{}{}", t.cfg.base(), job.req.path);
            let outcome = t.send(&job.req, &url, job.attempt).await;
            let _ = job.reply.send(outcome);
        }
        return;
    }

    let token = match t.tokens.get(&t.http, &t.stats).await {
        Ok(token) => token,
        Err(e) => {
            for job in jobs {
                let _ = job.reply.send(Attempt::Failed(e.clone()));
            }
            return;
        }
    };

    // Ids are positions, so correlating answers (which may come in any order) is a lookup.
    let requests: Vec<Value> = jobs
        .iter()
        .enumerate()
        .map(|(i, job)| {
            let mut r = json!({ "id": (i + 1).to_string(), "method": job.req.method.as_str(), "url": job.req.path });
            if let Some(body) = &job.req.body {
                // Graph requires headers with Content-Type whenever a sub-request has a body.
                r["headers"] = json!({ "Content-Type": "application/json" });
                r["body"] = body.clone();
            }
            if job.req.eventual {
                // An advanced query in a batch carries its header in the sub-request.
                r["headers"]["ConsistencyLevel"] = json!("eventual");
            }
            r
        })
        .collect();
    Recorder::add(&t.stats.batches, 1);
    Recorder::add(&t.stats.operations, jobs.len() as u64);
    Recorder::add(&t.stats.writes, jobs.iter().filter(|j| j.req.method != reqwest::Method::GET).count() as u64);

    let rb = authorize(t.http.post(format!("{}/$batch", t.cfg.base())), &token).json(&json!({ "requests": requests }));
    let outcome = t.exchange(rb).await;
    let outcome = t.judge(outcome, &token).await;

    match outcome {
        Attempt::Response { status, body, .. } if (200..300).contains(&status) => {
            distribute(&t, jobs, body, &token).await;
        }
        // The envelope failed as a whole: every member gets that outcome (see the module doc).
        Attempt::Response { status, retry_after, body } => {
            for job in jobs {
                let _ = job.reply.send(Attempt::Response { status, retry_after, body: body.clone() });
            }
        }
        Attempt::Transport { message, sent } => {
            for job in jobs {
                let _ = job.reply.send(Attempt::Transport { message: message.clone(), sent });
            }
        }
        Attempt::Failed(e) => {
            for job in jobs {
                let _ = job.reply.send(Attempt::Failed(e.clone()));
            }
        }
    }
}

/// Hand each member its own sub-response.
async fn distribute(t: &Transport, jobs: Vec<Job>, body: Value, token: &crate::secret::Secret) {
    let Some(responses) = body.get("responses").and_then(Value::as_array) else {
        for job in jobs {
            let _ =
                job.reply.send(Attempt::Failed(GraphError::Protocol { message: "the $batch answer has no \"responses\" array".into() }));
        }
        return;
    };
    let mut by_id: HashMap<String, &Value> = HashMap::new();
    for r in responses {
        let id = match r.get("id") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => continue,
        };
        by_id.insert(id, r);
    }
    for (i, job) in jobs.into_iter().enumerate() {
        let id = (i + 1).to_string();
        let what = format!("{} {}", job.req.method, job.req.path);
        let outcome = match by_id.get(&id) {
            None => Attempt::Failed(GraphError::Protocol { message: format!("the $batch answer has no response for id {id} ({what})") }),
            Some(r) => match sub_response(r) {
                Some(a) => t.judge(a, token).await,
                None => Attempt::Failed(GraphError::Protocol {
                    message: format!("the $batch response for id {id} ({what}) has no valid status"),
                }),
            },
        };
        let _ = job.reply.send(outcome);
    }
}

fn sub_response(r: &Value) -> Option<Attempt> {
    let status = u16::try_from(r.get("status")?.as_u64()?).ok()?;
    let retry_after = r.get("headers").and_then(Value::as_object).and_then(|h| {
        let (_, v) = h.iter().find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))?;
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return None,
        };
        super::answer::parse_retry_after(&text, chrono::Utc::now())
    });
    let body = r.get("body").cloned().unwrap_or(Value::Null);
    Some(Attempt::Response { status, retry_after, body })
}
