//! A client's lanes on the PostgreSQL worker queue, and the write window each lane keeps.
//!
//! - A client's scheduled runs go to `lanes` queues (`offboard:<tenant>:<lane>/<lanes>`,
//!   [`TenantConfig::lanes`](crate::config::TenantConfig::lanes)); a user's lane is a stable
//!   hash of the user, so a user is always in the same lane, and graphile runs one job of a
//!   queue at a time: at most `lanes` runs of a client in flight on all workers together.
//! - Each lane paces its Graph writes at `graph_write_quota / lanes` ([`WritePacer::share`]), so
//!   the lanes together stay under the quota whatever the number of workers or machines.
//! - A job is one run with a session of its own, so its pacer would start empty and forget the
//!   writes of the lane's previous run, still in the server's window. The lane's window is
//!   therefore kept in PostgreSQL (`lane_pacer`): read at a job's start ([`take`]), written back
//!   at its end ([`put`]). A lane runs one job at a time, so there is no race on the row.
//! - Ages, not instants, cross machines: a worker stores "answered `age` ago" as the database's
//!   `now() - age` and reads back `now() - answered`, so no two machines' clocks are compared.
//! - A job that finds the lane still held (its previous job's worker died mid-run) does not know
//!   what that run wrote: it counts a full window of writes, a wait instead of a guess. The
//!   window is dated from the dead worker's last sign of life (its journal session's heartbeat
//!   plus the session TTL, by the database's clock), not from now: a worker found dead an hour
//!   later costs no wait, one found dead within the window costs the rest of it.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::postgres::PgPool;

use crate::graph::WritePacer;

/// A run's lane: lane `n` of `of`, as chosen when the run's job was queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lane {
    pub n: u32,
    pub of: u32,
}

impl Lane {
    /// `user`'s lane of `lanes`: FNV-1a of the lower-cased user (a hash fixed here, not std's,
    /// which may change between releases and would move a user to another lane).
    pub fn of_user(user: &str, lanes: u32) -> Lane {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in user.to_lowercase().bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        let of = lanes.max(1);
        Lane { n: (h % u64::from(of)) as u32, of }
    }

    /// The graphile queue of this lane of `tenant`.
    pub fn queue(&self, tenant: &str) -> String {
        format!("offboard:{tenant}:{}/{}", self.n, self.of)
    }
}

/// Take `lane` of `tenant` for `worker`'s job: the pacer its run writes through, `quota`'s slice
/// resumed from the lane's window. `session` is the worker's journal session
/// ([`Journal::session_id`](crate::journal::Journal::session_id)), kept with the hold so that a
/// later taker can tell when this worker was last alive.
pub async fn take(
    pool: &PgPool,
    tenant: &str,
    lane: Lane,
    quota: &WritePacer,
    worker: &str,
    session: Option<&str>,
) -> sqlx::Result<Arc<WritePacer>> {
    let mut tx = pool.begin().await?;
    sqlx::query("INSERT INTO lane_pacer (tenant, lanes, lane) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
        .bind(tenant)
        .bind(lane.of as i32)
        .bind(lane.n as i32)
        .execute(&mut *tx)
        .await?;
    // The dead holder's last sign of life, as an age: its session's last heartbeat plus the
    // session TTL (a process whose beats fail is still alive, and may still write, until then).
    // NULL when the session is gone or was never recorded: nothing bounds its writes then.
    let (held_by, ages, holder_silent): (Option<String>, Vec<f64>, Option<f64>) = sqlx::query_as(
        "SELECT held_by, ARRAY(SELECT GREATEST(EXTRACT(EPOCH FROM now() - a), 0)::float8 FROM unnest(answered) a), \
           (SELECT GREATEST(EXTRACT(EPOCH FROM now() - (s.heartbeat_at + make_interval(secs => $4))), 0)::float8 \
              FROM journal_sessions s WHERE s.session_id = p.held_session) \
         FROM lane_pacer p WHERE tenant = $1 AND lanes = $2 AND lane = $3 FOR UPDATE",
    )
    .bind(tenant)
    .bind(lane.of as i32)
    .bind(lane.n as i32)
    .bind(crate::journal::session_ttl_secs())
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("UPDATE lane_pacer SET held_by = $4, held_session = $5 WHERE tenant = $1 AND lanes = $2 AND lane = $3")
        .bind(tenant)
        .bind(lane.of as i32)
        .bind(lane.n as i32)
        .bind(worker)
        .bind(session)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    let pacer = quota.share(lane.of);
    let ages: Vec<Duration> = match held_by {
        Some(dead) => {
            // What the dead run wrote is unknown: at worst the lane's whole slice, all at the
            // last instant it was alive. That window covers the lane's earlier writes too, which
            // are older still.
            let silent = Duration::from_secs_f64(holder_silent.unwrap_or(0.0).max(0.0));
            tracing::warn!(
                "lane {}/{} of {tenant}: its last job (worker {dead}) did not end; counting a full window of writes {:.0} s ago",
                lane.n,
                lane.of,
                silent.as_secs_f64()
            );
            vec![silent; pacer.quota().0 as usize]
        }
        None => ages.into_iter().map(|s| Duration::from_secs_f64(s.max(0.0))).collect(),
    };
    pacer.resume(&ages);
    Ok(Arc::new(pacer))
}

/// Give the lane back with the window its job's run left.
pub async fn put(pool: &PgPool, tenant: &str, lane: Lane, pacer: &WritePacer) -> sqlx::Result<()> {
    let ages: Vec<f64> = pacer.history().iter().map(Duration::as_secs_f64).collect();
    sqlx::query(
        "UPDATE lane_pacer SET held_by = NULL, held_session = NULL, answered = ARRAY(SELECT now() - make_interval(secs => a) FROM unnest($4::float8[]) a) \
         WHERE tenant = $1 AND lanes = $2 AND lane = $3",
    )
    .bind(tenant)
    .bind(lane.of as i32)
    .bind(lane.n as i32)
    .bind(ages)
    .execute(pool)
    .await
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_keeps_its_lane_and_users_spread_over_the_lanes() {
        assert_eq!(Lane::of_user("A@contoso.test", 4), Lane::of_user("a@contoso.test", 4));
        let mut seen = [0; 4];
        for i in 0..200 {
            let l = Lane::of_user(&format!("user{i}@contoso.test"), 4);
            assert_eq!(l.of, 4);
            seen[l.n as usize] += 1;
        }
        assert!(seen.iter().all(|n| *n > 20), "{seen:?}");
        assert_eq!(Lane::of_user("x", 0), Lane { n: 0, of: 1 });
        assert_eq!(Lane { n: 2, of: 4 }.queue("acme"), "offboard:acme:2/4");
    }

    /// A pool on `schema` of the test database (the journal's tables, migrated by opening a
    /// journal there); `None`: skip, as the journal suite does.
    async fn pool_in(schema: &str) -> Option<PgPool> {
        let (url, _) = crate::journal::suite::pg_test_url()?;
        let opts = <sqlx::postgres::PgConnectOptions as std::str::FromStr>::from_str(&url).expect("URL").options([("search_path", schema)]);
        Some(sqlx::postgres::PgPoolOptions::new().max_connections(2).connect_with(opts).await.expect("connect"))
    }

    /// A job that finds its lane held counts a full window of the dead run's writes, dated from
    /// the holder's last heartbeat plus the session TTL: no wait for a holder silent for an hour,
    /// a full wait for one that beats still or whose session is unknown.
    #[test]
    fn a_held_lane_waits_a_window_from_its_holders_last_sign_of_life() {
        let schema = crate::journal::suite::fresh_schema();
        // Opening a journal migrates the schema (and starts a session we do not use).
        let Some(_journal) = crate::journal::suite::pg_journal_in(&schema) else { return };
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let pool = pool_in(&schema).await.expect("the test database");
            let sessions = "INSERT INTO journal_sessions (session_id, host, pid, heartbeat_at) VALUES \
                            ('dead', 'h', 1, now() - interval '1 hour'), ('alive', 'h', 2, now())";
            sqlx::query(sessions).execute(&pool).await.unwrap();
            let quota = WritePacer::new(40, Duration::from_secs(150));
            let lane = Lane { n: 1, of: 4 };
            let take = |worker: &'static str, session: Option<&'static str>| {
                let (pool, quota) = (pool.clone(), &quota);
                async move { take(&pool, "t", lane, quota, worker, session).await.expect("take") }
            };
            assert!(take("w1", Some("alive")).await.has_room(), "a new lane starts empty");
            // w1 never gave it back: its session still beats, so it may have written just now.
            let p = take("w2", Some("dead")).await;
            assert!(!p.has_room(), "a holder that is alive left a full window");
            assert_eq!(p.quota().0, 10, "the lane's slice of the quota");
            // w2 never gave it back either, and its session has been silent for an hour.
            let p = take("w3", Some("alive")).await;
            assert!(p.has_room(), "a holder silent for an hour left no window: {:?}", p.history());
            // w3's run wrote 4 and gave the lane back: the next job resumes those.
            for _ in 0..4 {
                p.acquire().await;
            }
            put(&pool, "t", lane, &p).await.unwrap();
            let p = take("w4", Some("gone")).await;
            assert_eq!(p.history().len(), 4, "the window given back");
            // w4's session was never recorded: nothing bounds what it wrote.
            assert!(!take("w5", None).await.has_room(), "an unknown holder left a full window");
        });
    }
}
