//! Human output: the plan or run one line a step (`compact`), or as the full table (`--wide`,
//! `runs show`), and the runs list. Colours only on a terminal (or with --color always).

mod compact;
pub mod text;

use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, Color, ContentArrangement, Table};

use crate::exec::report::Report;
use crate::journal::{RunDetail, RunSummary, StepStatus};

fn status_color(s: StepStatus) -> Color {
    match s {
        StepStatus::Planned => Color::Cyan,
        StepStatus::Done => Color::Green,
        StepStatus::AlreadyDone => Color::DarkGreen,
        StepStatus::Skipped => Color::Yellow,
        StepStatus::Unconfirmed | StepStatus::NeedsAction => Color::Magenta,
        StepStatus::Failed | StepStatus::Running => Color::Red,
    }
}

pub(super) fn table(color: bool, header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic).set_header(header.to_vec());
    if !color {
        t.force_no_tty();
    } else {
        t.enforce_styling();
    }
    // On a terminal the table fits its columns; in a pipe it keeps its full width (for `less -S`).
    if let Some((terminal_size::Width(w), _)) = terminal_size::terminal_size() {
        t.set_width(w);
    }
    t
}

fn status_cell(s: StepStatus, color: bool) -> Cell {
    let c = Cell::new(s.as_str());
    if color {
        c.fg(status_color(s))
    } else {
        c
    }
}

/// A plan or a run, one line a step, fitting the terminal.
pub fn report(r: &Report, color: bool) -> String {
    compact::report(r, color, text::width())
}

/// An apply after its plan was shown: what needs reading again (`seen`: the plan's messages).
pub fn summary(r: &Report, color: bool, seen: &[String]) -> String {
    compact::summary(r, color, text::width(), seen)
}

/// Steps as the compact plan shows them, one line each (the REPL's plan before a confirmation).
pub fn step_lines(steps: &[crate::exec::report::StepReport], color: bool) -> String {
    let columns = compact::Columns::new(steps, text::width());
    steps.iter().flat_map(|s| columns.step(s, color)).map(|l| format!("{l}\n")).collect()
}

/// One phase of an apply as it finishes.
pub fn progress(phase: &str, steps: &[crate::exec::report::StepReport], color: bool) -> String {
    compact::progress(phase, steps, color, text::width())
}

/// The full table (`--wide`): every column of every step.
pub fn report_wide(r: &Report, color: bool) -> String {
    let mut out = String::new();
    out.push_str(&format!("{} · {} · tenant {} · user {} · run {}\n", r.mode, r.script, r.tenant, r.user, r.run_id));
    for m in &r.messages {
        out.push_str(&format!("  {m}\n"));
    }
    if !r.steps.is_empty() {
        let mut t = table(color, &["phase", "step", "action", "directory", "target", "status", "detail"]);
        let mut last_phase = "";
        for s in &r.steps {
            let phase = if s.phase == last_phase { "" } else { s.phase.as_str() };
            last_phase = &s.phase;
            let action = if s.required { format!("{} (required)", s.action) } else { s.action.clone() };
            t.add_row(vec![
                Cell::new(phase),
                Cell::new(&s.id),
                Cell::new(action),
                Cell::new(&s.directory),
                Cell::new(&s.target),
                status_cell(s.status, color),
                Cell::new(&s.detail),
            ]);
        }
        out.push_str(&t.to_string());
        out.push('\n');
    }
    // The PSA's requests apart (the ticket's, not the offboarding's); the writes are all of them.
    let psa = match r.stats.psa_requests {
        0 => String::new(),
        n => format!(" + {n} PSA requests"),
    };
    out.push_str(&format!(
        "{} · {} · {} requests{psa} ({} writes, {} round trips) in {:.1}s\n",
        r.status,
        compact::counts(&r.steps),
        r.stats.requests,
        r.stats.writes,
        r.stats.round_trips,
        r.stats.elapsed_ms as f64 / 1000.0
    ));
    if !r.todos.is_empty() {
        out.push_str(&format!("to do by hand ({}):\n", r.todos.len()));
        for t in &r.todos {
            out.push_str(&format!("  - {} {} {}: {}\n", t.step, t.action, t.target, t.instruction));
        }
    }
    if let Some(e) = &r.error {
        out.push_str(&format!("error: {}\n", e.message));
    }
    out
}

pub fn runs(list: &[RunSummary], color: bool) -> String {
    if list.is_empty() {
        return "no runs yet\n".into();
    }
    let mut t = table(color, &["run", "started", "tenant", "user", "mode", "status", "steps"]);
    for r in list {
        let steps: Vec<String> = r.step_counts.iter().map(|(k, v)| format!("{v} {}", k.replace('_', " "))).collect();
        t.add_row(vec![
            r.run_id.clone(),
            r.started_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            r.tenant.clone(),
            r.user.clone(),
            r.mode.as_str().to_string(),
            r.status.as_str().to_string(),
            steps.join(", "),
        ]);
    }
    format!("{t}\n")
}

pub fn run_detail(d: &RunDetail, color: bool) -> String {
    let s = &d.summary;
    let mut out = format!(
        "run {} · {} · tenant {} · user {} · script {} ({}) · {}\nstarted {}{}\n",
        s.run_id,
        s.mode.as_str(),
        s.tenant,
        s.user,
        s.script,
        &s.script_hash.get(..12).unwrap_or(&s.script_hash),
        s.status.as_str(),
        s.started_at.to_rfc3339(),
        s.finished_at.map(|f| format!(", finished {}", f.to_rfc3339())).unwrap_or_default(),
    );
    let mut t = table(color, &["step", "phase", "action", "target", "status", "detail", "prior state"]);
    for st in &d.steps {
        let prior = if st.step.prior.is_null() { String::new() } else { st.step.prior.to_string() };
        t.add_row(vec![
            Cell::new(&st.step.step_id),
            Cell::new(&st.step.phase),
            Cell::new(&st.step.action),
            Cell::new(&st.step.target_display),
            status_cell(st.step.status, color),
            Cell::new(&st.step.detail),
            Cell::new(prior),
        ]);
    }
    out.push_str(&t.to_string());
    out.push('\n');
    if let Some(e) = d.report.get("error").filter(|e| !e.is_null()) {
        out.push_str(&format!("error: {}\n", e.get("message").and_then(|m| m.as_str()).unwrap_or_default()));
    }
    out
}
