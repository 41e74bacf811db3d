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
//!   what that run wrote: it starts with a full window, a window's wait instead of a guess.

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
/// resumed from the lane's window.
pub async fn take(pool: &PgPool, tenant: &str, lane: Lane, quota: &WritePacer, worker: &str) -> sqlx::Result<Arc<WritePacer>> {
    let mut tx = pool.begin().await?;
    sqlx::query("INSERT INTO lane_pacer (tenant, lanes, lane) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
        .bind(tenant)
        .bind(lane.of as i32)
        .bind(lane.n as i32)
        .execute(&mut *tx)
        .await?;
    let (held_by, ages): (Option<String>, Vec<f64>) = sqlx::query_as(
        "SELECT held_by, ARRAY(SELECT GREATEST(EXTRACT(EPOCH FROM now() - a), 0)::float8 FROM unnest(answered) a) \
         FROM lane_pacer WHERE tenant = $1 AND lanes = $2 AND lane = $3 FOR UPDATE",
    )
    .bind(tenant)
    .bind(lane.of as i32)
    .bind(lane.n as i32)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("UPDATE lane_pacer SET held_by = $4 WHERE tenant = $1 AND lanes = $2 AND lane = $3")
        .bind(tenant)
        .bind(lane.of as i32)
        .bind(lane.n as i32)
        .bind(worker)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    let pacer = quota.share(lane.of);
    let ages: Vec<Duration> = match held_by {
        Some(dead) => {
            tracing::warn!(
                "lane {}/{} of {tenant}: its last job (worker {dead}) did not end; starting with a full window",
                lane.n,
                lane.of
            );
            vec![Duration::ZERO; pacer.quota().0 as usize]
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
        "UPDATE lane_pacer SET held_by = NULL, answered = ARRAY(SELECT now() - make_interval(secs => a) FROM unnest($4::float8[]) a) \
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
}
