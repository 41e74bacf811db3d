//! Command-line arguments (clap derive). Parsing only: nothing here touches a tenant.
//!
//! There is deliberately no environment variable for `--yes`: confirming an irreversible change is
//! something a person (or a command line they wrote) does, never ambient configuration.

use std::path::PathBuf;

use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "offboard-host", version, about = "Offboard departing employees: plan, confirm, apply, journal.")]
pub struct Args {
    /// Configuration file (default: ./offboard-host.toml, then $OFFBOARD_HOME/offboard-host.toml;
    /// with none, the built-in demo tenant is used).
    #[arg(long, global = true, env = "OFFBOARD_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Colours in human output.
    #[arg(long, global = true, value_enum, default_value = "auto")]
    pub color: Color,

    /// More log output on stderr (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run an offboarding script for one user: shows the plan, asks, then applies.
    Run(RunArgs),
    /// Show what a script would change for one user, without changing anything (= run --plan).
    Plan(RunArgs),
    /// Check scripts without running them: syntax, imports, unknown functions, argument counts, denied capabilities.
    Check(CheckArgs),
    /// Write the script reference (Markdown) and the Rhai definition files for editors.
    Docs(DocsArgs),
    /// An interactive Rhai prompt bound to a tenant (read-only unless --allow-writes).
    Repl(ReplArgs),
    /// Past runs from the journal.
    Runs {
        #[command(subcommand)]
        command: RunsCommand,
    },
    /// PSA notes and ticket changes waiting for delivery (the journal's outbox).
    Outbox {
        #[command(subcommand)]
        command: OutboxCommand,
    },
    /// Approve a run that awaits approval (tenants with an [approval] section).
    Approve(DecideArgs),
    /// Reject a run that awaits approval.
    Reject(DecideArgs),
    /// Apply an approved run: re-plans, and applies only if the plan is the one approved.
    Apply(ApplyArgs),
    /// Scheduled runs (`run ... --at`).
    Schedule {
        #[command(subcommand)]
        command: ScheduleCommand,
    },
    /// Put back what an apply run changed (from the prior state in the journal): shown as a plan,
    /// confirmed like `run`, journalled as a run of its own.
    Restore(RestoreArgs),
    /// Apply the scheduled runs that are due (and those that came due while no worker ran).
    Worker(WorkerArgs),
    /// Every setting a client's `[defaults]` or `--set` may give: type, default, description
    /// (with --tenant, the client's own value).
    Settings(SettingsArgs),
    /// The scripts built into the binary.
    Script {
        #[command(subcommand)]
        command: ScriptCommand,
    },
    /// The web console: staff sign in with OpenID Connect and see their clients' runs
    /// (`[console]` in the configuration; `--demo` for the demo tenant and its issuer).
    Serve(ServeArgs),
    /// The built-in simulated tenant.
    Demo {
        #[command(subcommand)]
        command: DemoCommand,
    },
}

#[derive(Debug, ClapArgs)]
pub struct RunArgs {
    /// Script path, or a name in the scripts folder (`default.rhai` is built in).
    pub script: String,
    /// The departing user: user principal name (or object id). Required unless --users-file.
    #[arg(long, short, default_value = "", hide_default_value = true)]
    pub user: String,
    /// Offboard every user of this CSV file (a `upn` column; a column named after a setting sets
    /// it for its row, over --set; other columns are ignored): one plan summary to confirm, then
    /// the users in parallel (4 at a time), one journalled run each, and a table of results.
    #[arg(long, value_name = "CSV", conflicts_with = "user")]
    pub users_file: Option<PathBuf>,
    /// Schedule the run instead of applying now: an RFC 3339 date-time with its offset, e.g.
    /// 2026-12-18T17:00:00+01:00. The plan is shown now; `offboard-host worker` applies it when due.
    /// With --users-file, every user of the file is scheduled.
    #[arg(long, value_name = "DATE-TIME")]
    pub at: Option<String>,
    /// Schedule the run for the user's last day (YYYY-MM-DD), due at the client's `leave_time` in
    /// its `time_zone` (both in `[tenants.<name>.defaults]`; refused if either is missing).
    /// `from-directory`: the last day HR entered in Entra (the user's `employeeLeaveDateTime`, its
    /// UTC date); refused for a user without one.
    #[arg(long, value_name = "DATE|from-directory", conflicts_with = "at")]
    pub last_day: Option<String>,
    /// The client tenant from the configuration file.
    #[arg(long, short, env = "OFFBOARD_TENANT")]
    pub tenant: Option<String>,
    /// Plan only: read live state, change nothing.
    #[arg(long)]
    pub plan: bool,
    /// Apply without asking (the plan is still printed).
    #[arg(long, short)]
    pub yes: bool,
    /// Print one JSON report on stdout instead of tables.
    #[arg(long)]
    pub json: bool,
    /// The full table of every step (directory, step id, every detail), before and after the
    /// apply, instead of one line a step fitting the terminal.
    #[arg(long, conflicts_with = "json")]
    pub wide: bool,
    /// Override one of the client's defaults for this run, e.g. --set reset_password=false.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Actions of one phase in flight at once (1 = one call at a time); in a bulk run also the
    /// most users in flight at once (they start as the tenant's write quota has room).
    #[arg(long, default_value_t = 16, hide = true)]
    pub concurrency: usize,
    /// Stop the script after this many seconds.
    #[arg(long, default_value_t = 1800, value_name = "SECONDS")]
    pub timeout: u64,
    /// Write to this existing PSA ticket instead of opening one (tenants with a [psa] section).
    #[arg(long, value_name = "N")]
    pub ticket: Option<String>,
    /// Offboard a leaver who is an administrator (an Entra directory role, adminCount=1, a
    /// protected AD group): their directory roles are removed first. Built-in accounts, the bind
    /// account, computers and accounts the client lists as protected are refused regardless.
    #[arg(long)]
    pub allow_privileged: bool,
}

#[derive(Debug, ClapArgs)]
pub struct DecideArgs {
    /// The run id `run` printed when it stopped for approval.
    pub run_id: String,
    /// Who decides: must be one of the tenant's approvers.
    #[arg(long, value_name = "NAME")]
    pub by: String,
    #[arg(long)]
    pub reason: Option<String>,
}

#[derive(Debug, ClapArgs)]
pub struct ApplyArgs {
    /// The approved run's id.
    pub run_id: String,
    /// Apply without asking (the new plan is still printed and must match the approved one).
    #[arg(long, short)]
    pub yes: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, ClapArgs)]
pub struct RestoreArgs {
    /// The apply run to reverse.
    pub run_id: String,
    /// Also put back forwarding to an address outside the tenant's domains (off by default: mail
    /// would leave the tenant again).
    #[arg(long)]
    pub include_external_forwarding: bool,
    /// Apply without asking (the plan is still printed).
    #[arg(long, short)]
    pub yes: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Scheduled runs, by due time (with --all, also done, failed and cancelled ones).
    List {
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// Cancel a scheduled run that has not started.
    Cancel { run_id: String },
}

#[derive(Debug, ClapArgs)]
pub struct WorkerArgs {
    /// Run what is due now, then exit (exit 1 if any run failed).
    #[arg(long)]
    pub once: bool,
    /// Seconds between looks at the schedule (on a PostgreSQL journal, where a queue wakes the
    /// worker: between looks for due runs that lost their job).
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub interval: u64,
    /// One JSON document per pass: each run carried out.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Deliver what is pending to each tenant's PSA (or only --tenant's).
    Flush {
        #[arg(long, short, env = "OFFBOARD_TENANT")]
        tenant: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List pending items (with --all, delivered ones too).
    List {
        #[arg(long, short)]
        tenant: Option<String>,
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// The most recent runs (newest first), optionally only some of them.
    List {
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Only this user's runs (the UPN, in any case).
        #[arg(long, short)]
        user: Option<String>,
        /// Only this tenant's runs.
        #[arg(long, short)]
        tenant: Option<String>,
        /// Only runs with this status: planned, running, succeeded, failed, aborted, interrupted,
        /// not_confirmed.
        #[arg(long)]
        status: Option<String>,
        /// Only runs started since: an RFC 3339 date-time, a date (YYYY-MM-DD, local midnight),
        /// or an age such as 90m, 12h, 7d.
        #[arg(long, value_name = "WHEN")]
        since: Option<String>,
    },
    /// One run with every step, its prior state and outcome.
    Show {
        /// The run id, a unique prefix of it, or `last`.
        run_id: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, ClapArgs)]
pub struct SettingsArgs {
    /// Also show this client's value from its `[tenants.<name>.defaults]`.
    #[arg(long, short)]
    pub tenant: Option<String>,
    /// One JSON array on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ScriptCommand {
    /// Print a built-in script or stdlib module as the binary runs it (no NAME: list the names).
    Show {
        /// `default.rhai`, or a stdlib module such as `offboard.rhai` (the `.rhai` is optional).
        name: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DemoCommand {
    /// Put the demo tenant back in its seeded state.
    Reset,
    /// Serve the demo tenant on loopback until Ctrl-C (prints its Graph and token URLs).
    Serve {
        #[arg(long, default_value = "127.0.0.1:0")]
        addr: std::net::SocketAddr,
    },
}

#[derive(Debug, ClapArgs)]
pub struct ServeArgs {
    /// Start the demo tenant (with its OIDC issuer and demo staff) and the console on it.
    #[arg(long)]
    pub demo: bool,
    /// The address to listen on (default: `bind` of `[console]`, or 127.0.0.1:8080 with --demo).
    #[arg(long)]
    pub bind: Option<std::net::SocketAddr>,
}

#[derive(Debug, ClapArgs)]
pub struct CheckArgs {
    /// Script paths, or names in the scripts folder (as `run` finds them).
    #[arg(required = true)]
    pub scripts: Vec<String>,
    /// Also report functions whose capability this tenant denies (its `deny` in the configuration).
    #[arg(long, short, env = "OFFBOARD_TENANT")]
    pub tenant: Option<String>,
}

#[derive(Debug, ClapArgs)]
pub struct DocsArgs {
    /// Where to write the reference (the definition files go in DIR/definitions).
    #[arg(long, value_name = "DIR", default_value = "docs/reference")]
    pub out: PathBuf,
}

#[derive(Debug, ClapArgs)]
pub struct ReplArgs {
    /// The client tenant from the configuration file (the demo tenant when there is none).
    #[arg(long, short, env = "OFFBOARD_TENANT")]
    pub tenant: Option<String>,
    /// Let write functions run (journalled, applied at once). Without it every write is refused.
    #[arg(long)]
    pub allow_writes: bool,
}

impl RunArgs {
    /// The run as a [`crate::service::RunSpec`]: what a stored approval or schedule keeps.
    pub fn spec(&self) -> crate::service::RunSpec {
        crate::service::RunSpec {
            tenant: self.tenant.clone(),
            script: self.script.clone(),
            sets: self.set.clone(),
            ticket: self.ticket.clone(),
            concurrency: self.concurrency,
            timeout: self.timeout,
            allow_privileged: self.allow_privileged,
            yield_waits: None,
        }
    }
}
