//! The run as a technician reads it at a terminal: one line per step (phase, action, target,
//! status), a second indented line only for the detail that matters, and the warnings and to-dos
//! gathered at the end, just above the confirmation prompt. Every line fits the width.

use super::text::{cols, fill_parts, fit, truncate, wrap};
use crate::exec::report::{Report, StepReport};
use crate::journal::StepStatus;

/// The widest status word ("needs_action", "already_done").
const STATUS: usize = 12;
/// The three two-space gaps between the four columns.
const GAPS: usize = 6;
/// A planned write's detail gets at most this many lines; `--wide` and `runs show` have it all.
const PLANNED_LINES: usize = 4;

/// The counts in the order a reader wants them: what will change, what changed, what is left.
const ORDER: [StepStatus; 7] = [
    StepStatus::Planned,
    StepStatus::Done,
    StepStatus::AlreadyDone,
    StepStatus::Unconfirmed,
    StepStatus::NeedsAction,
    StepStatus::Skipped,
    StepStatus::Failed,
];

/// ANSI colour of a status word (the text is padded before it is painted, so the escape codes
/// never count towards the width).
fn paint(text: &str, s: StepStatus, color: bool) -> String {
    if !color {
        return text.to_string();
    }
    let code = match s {
        StepStatus::Planned => "36",
        StepStatus::Done => "32",
        StepStatus::AlreadyDone => "2;32",
        StepStatus::Skipped => "33",
        StepStatus::Unconfirmed | StepStatus::NeedsAction => "35",
        StepStatus::Failed | StepStatus::Running => "31",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// "3 planned, 1 needs action", or "no steps".
pub fn counts(steps: &[StepReport]) -> String {
    let parts: Vec<String> = ORDER
        .iter()
        .filter_map(|s| {
            let n = steps.iter().filter(|st| st.status == *s).count();
            (n > 0).then(|| format!("{n} {}", s.as_str().replace('_', " ")))
        })
        .collect();
    if parts.is_empty() {
        "no steps".into()
    } else {
        parts.join(", ")
    }
}

/// Column widths for a set of steps at a width. The phase and the action take what their longest
/// value needs up to a cap; the target gets the rest, since it differs most between steps.
pub struct Columns {
    width: usize,
    phase: usize,
    action: usize,
    target: usize,
}

impl Columns {
    pub fn new(steps: &[StepReport], width: usize) -> Columns {
        let longest = |f: fn(&StepReport) -> usize| steps.iter().map(f).max().unwrap_or(0);
        let phase = longest(|s| cols(&s.phase)).clamp(5, 15);
        let rest = width.saturating_sub(phase + STATUS + GAPS);
        let action = longest(|s| cols(&s.action)).clamp(6, (rest / 2).max(6));
        let target = rest.saturating_sub(action).max(4);
        Columns { width, phase, action, target }
    }

    /// The step's line, and its detail below it when the detail matters.
    pub fn step(&self, s: &StepReport, color: bool) -> Vec<String> {
        let status = paint(s.status.as_str(), s.status, color);
        let mut lines =
            vec![format!("{}  {}  {}  {status}", fit(&s.phase, self.phase), fit(&s.action, self.action), fit(&s.target, self.target))];
        // Under the action: the detail belongs to the step, not to the phase.
        let indent = " ".repeat(self.phase + 2);
        let room = self.width.saturating_sub(indent.len());
        let detail = s.detail.trim();
        if detail.is_empty() {
            return lines;
        }
        match s.status {
            // Why it failed, or why nobody can tell whether it happened: in full.
            StepStatus::Failed | StepStatus::Unconfirmed => lines.extend(wrap(detail, self.width, &indent, &indent)),
            // The full instruction is in the to-dos below; the reason to skip is one line.
            StepStatus::NeedsAction | StepStatus::Skipped => lines.push(format!("{indent}{}", truncate(detail, room))),
            // What a write will do ("block sign-in", or the out-of-office text it sets): the plan
            // is where a technician reads it, so it wraps, up to a few lines.
            StepStatus::Planned => {
                let mut wrapped = wrap(detail, self.width, &indent, &indent);
                if wrapped.len() > PLANNED_LINES {
                    wrapped.truncate(PLANNED_LINES);
                    let last = wrapped.pop().unwrap_or_default();
                    wrapped.push(truncate(&format!("{last} …"), self.width));
                }
                lines.extend(wrapped);
            }
            _ => {}
        }
        lines
    }
}

fn header(r: &Report, width: usize) -> Vec<String> {
    let parts = [r.mode.clone(), r.script.clone(), format!("tenant {}", r.tenant), format!("user {}", r.user), format!("run {}", r.run_id)];
    fill_parts(&parts, width, "  ")
}

/// The closing block: counts and requests, then the warnings and the to-dos, so that above a
/// prompt the last lines on the screen are the ones to read before typing "yes".
fn footer(r: &Report, width: usize) -> Vec<String> {
    let psa = match r.stats.psa_requests {
        0 => String::new(),
        n => format!(" + {n} PSA requests"),
    };
    let parts = [
        r.status.clone(),
        counts(&r.steps),
        format!(
            "{} requests{psa} ({} writes, {} round trips) in {:.1}s",
            r.stats.requests,
            r.stats.writes,
            r.stats.round_trips,
            r.stats.elapsed_ms as f64 / 1000.0
        ),
    ];
    let mut out = fill_parts(&parts, width, "  ");
    let warnings: Vec<&str> = r.messages.iter().filter_map(|m| m.strip_prefix("warning: ")).collect();
    if !warnings.is_empty() {
        out.push(format!("warnings ({}):", warnings.len()));
        for w in warnings {
            out.extend(wrap(w, width, "  - ", "    "));
        }
    }
    if !r.todos.is_empty() {
        out.push(format!("to do by hand ({}):", r.todos.len()));
        for t in &r.todos {
            out.extend(wrap(&format!("{} {} {}: {}", t.step, t.action, t.target, t.instruction), width, "  - ", "    "));
        }
    }
    if let Some(e) = &r.error {
        out.extend(wrap(&e.message, width, "error: ", "  "));
    }
    out
}

/// The script's own lines (not its warnings, which close the report), minus those in `seen`.
fn context(r: &Report, width: usize, seen: &[String]) -> Vec<String> {
    r.messages.iter().filter(|m| !m.starts_with("warning: ") && !seen.contains(m)).flat_map(|m| wrap(m, width, "  ", "    ")).collect()
}

fn finish(lines: Vec<String>) -> String {
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// A plan (or a run shown in full): every step, one line each.
pub fn report(r: &Report, color: bool, width: usize) -> String {
    let mut lines = header(r, width);
    lines.extend(context(r, width, &[]));
    let columns = Columns::new(&r.steps, width);
    for s in &r.steps {
        lines.extend(columns.step(s, color));
    }
    lines.extend(footer(r, width));
    finish(lines)
}

/// After an apply whose plan was on the screen, and whose phases were reported as they finished:
/// only what needs reading again (failed and unconfirmed steps, new messages, the to-dos).
pub fn summary(r: &Report, color: bool, width: usize, seen: &[String]) -> String {
    let mut lines = header(r, width);
    lines.extend(context(r, width, seen));
    let columns = Columns::new(&r.steps, width);
    for s in r.steps.iter().filter(|s| matches!(s.status, StepStatus::Failed | StepStatus::Unconfirmed)) {
        lines.extend(columns.step(s, color));
    }
    lines.extend(footer(r, width));
    finish(lines)
}

/// One phase of an apply, as it finishes: its counts, and the steps that went wrong.
pub fn progress(phase: &str, steps: &[StepReport], color: bool, width: usize) -> String {
    let mut lines = vec![truncate(&format!("{}  {}", fit(phase, 15), counts(steps)), width)];
    let columns = Columns::new(steps, width);
    for s in steps.iter().filter(|s| matches!(s.status, StepStatus::Failed | StepStatus::Unconfirmed)) {
        lines.extend(columns.step(s, color));
    }
    finish(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(phase: &str, action: &str, target: &str, status: StepStatus, detail: &str) -> StepReport {
        StepReport {
            id: "s001".into(),
            phase: phase.into(),
            action: action.into(),
            directory: "cloud".into(),
            target: target.into(),
            target_id: String::new(),
            status,
            detail: detail.into(),
            required: false,
        }
    }

    #[test]
    fn a_step_is_one_line_and_the_detail_only_when_it_matters() {
        let long = "in on-premises AD (offboard-host has no AD access for this client): remove leaver.cloud@contoso.test from the group HQ-FileShare-RW";
        let steps = vec![
            step("lock", "disable_account", "leaver.cloud@contoso.test", StepStatus::Planned, "block sign-in"),
            step("mailbox_access", "grant_mailbox_permission", "a → b", StepStatus::Planned, long),
            step("cleanup", "remove_distribution_group_membership", "HQ-FileShare-RW", StepStatus::NeedsAction, long),
            step("lock", "disable_account", "x", StepStatus::Done, "block sign-in"),
            step("lock", "reset_password", "x", StepStatus::Failed, long),
        ];
        let c = Columns::new(&steps, 80);
        let lines: Vec<Vec<String>> = steps.iter().map(|s| c.step(s, false)).collect();
        assert!(lines.iter().flatten().all(|l| cols(l) <= 80), "{lines:#?}");
        assert_eq!(lines[0].len(), 2, "a short planned detail is shown: {lines:?}");
        assert_eq!(lines[1].len(), 4, "a long planned detail wraps: {lines:?}");
        let words = |l: &[String]| l[1..].join(" ").split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(words(&lines[1]), long, "and loses nothing: {lines:?}");
        let longer = step("mailbox", "set_out_of_office", "x", StepStatus::Planned, &[long; 4].join(" "));
        let cut = c.step(&longer, false);
        assert_eq!(cut.len(), 1 + PLANNED_LINES, "{cut:?}");
        assert!(cut.last().is_some_and(|l| l.ends_with('…') && cols(l) <= 80), "{cut:?}");
        assert!(lines[2][1].ends_with('…'), "a to-do's detail is cut (it is in full below): {lines:?}");
        assert_eq!(lines[3].len(), 1, "a done step needs no detail: {lines:?}");
        assert!(lines[4].len() > 2, "a failure is shown in full: {lines:?}");
        assert!(lines[0][0].starts_with("lock ") && lines[0][0].ends_with("planned"), "{lines:?}");
    }

    #[test]
    fn colour_codes_do_not_count_towards_the_width() {
        let steps = vec![step("lock", "disable_account", "leaver.cloud@contoso.test", StepStatus::NeedsAction, "")];
        let plain = Columns::new(&steps, 60).step(&steps[0], false);
        let painted = Columns::new(&steps, 60).step(&steps[0], true);
        assert!(painted[0].contains("\x1b[35m"));
        assert_eq!(painted[0].replace("\x1b[35m", "").replace("\x1b[0m", ""), plain[0]);
    }
}
