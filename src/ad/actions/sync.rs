//! `trigger_sync`: after on-premises changes, start a directory sync so the cloud follows now
//! rather than at the next scheduled cycle (F14: `Start-ADSyncSyncCycle -PolicyType Delta` on the
//! Entra Connect server, or a Cloud Sync on-demand call, wrapped in the client's `sync_command`).
//!
//! Only when this run changed something in AD (planned in a plan, done in an apply): a second
//! run changes nothing and triggers nothing. Without a configured command the step is skipped
//! with the note that the cloud follows at the next scheduled sync.

use async_trait::async_trait;
use serde_json::json;

use crate::ad::AdAccess;
use crate::exec::{Action, ActionError, Cx, Observation, Target};
use crate::journal::{Mode, StepStatus};

pub struct TriggerSync {
    /// The user the run offboards (as given), for the journal.
    pub subject: String,
}

#[async_trait]
impl Action for TriggerSync {
    fn action(&self) -> &'static str {
        "trigger_sync"
    }
    fn directory(&self) -> &'static str {
        "ad"
    }
    fn target(&self) -> Target {
        Target { kind: "directory_sync", id: "ad-sync".into(), display: "directory sync (AD → Entra ID)".into() }
    }
    fn subject_id(&self) -> String {
        self.subject.clone()
    }
    fn idempotent(&self) -> bool {
        true
    }

    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let run = cx.journal.get_run(&cx.run_id).map_err(Cx::journal_err)?;
        let wanted = if cx.mode == Mode::Plan { StepStatus::Planned } else { StepStatus::Done };
        let changes = run
            .map(|r| {
                r.steps.iter().filter(|s| s.step.directory == "ad" && s.step.action != "trigger_sync" && s.step.status == wanted).count()
            })
            .unwrap_or(0);
        if changes == 0 {
            return Ok(Observation::AlreadyDone { detail: "no AD change in this run: nothing to sync".into() });
        }
        let cmd = &cx.ad()?.policy().sync_command;
        if cmd.is_empty() {
            return Ok(Observation::Skip {
                reason: format!("{changes} AD change(s); no sync trigger configured: the cloud follows at the next scheduled sync"),
            });
        }
        Ok(Observation::Needed { prior: json!({"ad_changes": changes}), detail: format!("{changes} AD change(s): run {}", cmd.join(" ")) })
    }

    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        let cmd = cx.ad()?.policy().sync_command.clone();
        let (program, args) = cmd.split_first().ok_or_else(|| ActionError::Other("no sync_command configured".into()))?;
        let (program, args) = (program.clone(), args.to_vec());
        let out = tokio::task::spawn_blocking(move || std::process::Command::new(&program).args(&args).output())
            .await
            .map_err(|e| ActionError::Other(format!("sync command: {e}")))?
            .map_err(|e| ActionError::Other(format!("sync command {}: {e}", cmd[0])))?;
        let first_line = |b: &[u8]| String::from_utf8_lossy(b).lines().next().unwrap_or("").chars().take(200).collect::<String>();
        if !out.status.success() {
            return Err(ActionError::Other(format!("sync command failed ({}): {}", out.status, first_line(&out.stderr))));
        }
        Ok(format!("sync started: {}", first_line(&out.stdout)))
    }
}
