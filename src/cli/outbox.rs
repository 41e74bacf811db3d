//! `outbox flush` and `outbox list`: the PSA items waiting in the journal.

use super::out::outln;
use serde_json::json;

use super::args::OutboxCommand;
use super::{open_journal, runtime, Connection, Ctx};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::psa::outbox::deliver;

pub(super) fn cmd_outbox(ctx: &Ctx, command: OutboxCommand) -> Result<u8> {
    let journal = open_journal(ctx)?;
    match command {
        OutboxCommand::List { tenant, all, json } => {
            let items = journal.outbox_items(tenant.as_deref(), !all)?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&items).unwrap_or_default());
            } else if items.is_empty() {
                outln!("the outbox is empty{}", if all { "" } else { " (nothing pending)" });
            } else {
                for i in &items {
                    let state = if i.delivered { "delivered".to_string() } else { format!("pending, {} attempt(s)", i.attempts) };
                    let err = i.last_error.as_deref().map(|e| format!(": {e}")).unwrap_or_default();
                    outln!("{:>5} {} {} {} {} ({state}){err}", i.id, i.tenant, i.run_id, i.kind.as_str(), i.marker);
                }
            }
            Ok(0)
        }
        OutboxCommand::Flush { tenant, json } => {
            let config = Config::load(ctx.config_path.as_deref(), &ctx.home)?;
            let names: Vec<String> = match &tenant {
                Some(t) => vec![config.tenant(Some(t))?.0.to_string()],
                None => config.tenants.iter().filter(|(_, t)| t.psa.is_some()).map(|(n, _)| n.clone()).collect(),
            };
            let rt = runtime()?;
            let mut results = Vec::new();
            let mut left = 0;
            for name in names {
                let (_, t) = config.tenant(Some(&name))?;
                if t.psa.is_none() {
                    return Err(Error::Usage(format!("tenant '{name}' has no PSA configured")));
                }
                if journal.outbox_items(Some(&name), true)?.is_empty() {
                    if !json {
                        outln!("{name}: nothing pending");
                    }
                    results.push(json!({"tenant": name, "delivered": 0, "pending": 0}));
                    continue;
                }
                let conn = rt.block_on(Connection::open(&name, t, &ctx.home))?;
                let outcome = rt.block_on(async {
                    let psa = conn.psa(false).await?.ok_or_else(|| Error::Usage(format!("tenant '{name}' has no PSA")))?;
                    Ok::<_, Error>(deliver(psa.as_ref(), journal.as_ref(), &name).await)
                });
                rt.block_on(conn.close());
                let d = outcome?;
                left += d.pending;
                if !json {
                    let err = d.error.as_deref().map(|e| format!(" ({e})")).unwrap_or_default();
                    outln!("{name}: delivered {} ({} already on the ticket), {} pending{err}", d.delivered, d.found_already, d.pending);
                }
                results.push(json!({"tenant": name, "delivered": d.delivered, "found_already": d.found_already,
                    "pending": d.pending, "error": d.error}));
            }
            if json {
                outln!("{}", serde_json::to_string_pretty(&results).unwrap_or_default());
            }
            if left > 0 {
                let e = Error::Provider {
                    tenant: tenant.unwrap_or_else(|| "(all)".into()),
                    message: format!("{left} item(s) are still pending"),
                };
                if !json {
                    eprintln!("error: {e}");
                }
                return Ok(e.exit_code());
            }
            Ok(0)
        }
    }
}
