//! Text for people: one block per group (members to add `+`, remove `-`, keep `=`, then what became of
//! it), a summary line, and for `apply` whether the plan made again is empty. Refusals name the rule, the
//! members involved and the flag that allows what was refused.

use std::fmt::Write as _;

use group_membership::access::{GrantEnding, GroupResult, RunKind, Stop};
use group_membership::membership::{GroupReport, Member, Outcome, Refusal, StepResult};

use super::Rendered;

/// ANSI colour, or none.
#[derive(Clone, Copy)]
struct Paint(bool);

impl Paint {
    fn red(self, text: &str) -> String {
        self.code("31", text)
    }
    fn green(self, text: &str) -> String {
        self.code("32", text)
    }
    fn yellow(self, text: &str) -> String {
        self.code("33", text)
    }
    fn code(self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

pub fn render(rendered: &Rendered<'_>, colour: bool) -> String {
    let paint = Paint(colour);
    let report = rendered.report;
    let mut out = String::new();
    if rendered.sandbox {
        let _ = writeln!(out, "{}", paint.yellow(super::SANDBOX_BANNER));
    }
    let note = match report.kind {
        RunKind::Plan => ", nothing is changed",
        RunKind::Apply => "",
    };
    let _ = writeln!(
        out,
        "{} {}: {} group(s){note}",
        rendered.command,
        rendered.file.display(),
        report.groups.len()
    );
    for group in &report.groups {
        group_text(&mut out, group, paint);
    }
    let s = report.summary();
    let _ = writeln!(
        out,
        "\n{} pending, {} applied, {} unchanged, {} failed or refused{}",
        s.pending,
        s.applied,
        s.unchanged,
        s.failed,
        if s.interrupted > 0 {
            format!(", {} not written (interrupted)", s.interrupted)
        } else {
            String::new()
        }
    );
    if report.interrupted {
        let _ = writeln!(
            out,
            "{}",
            paint.red("INTERRUPTED: no write started after the signal; the groups above say what was applied")
        );
    }
    if let Some(stop) = &report.stopped {
        let _ = writeln!(out, "{}", paint.red(&stop_text(stop)));
    }
    grants_text(&mut out, &rendered.grants, paint);
    if let Some(again) = &report.again {
        let still: Vec<&str> = again
            .iter()
            .filter(|g| !g.report.made_no_change())
            .map(|g| g.key.as_str())
            .collect();
        let _ = if still.is_empty() {
            writeln!(out, "planned again: every group matches the file")
        } else {
            writeln!(
                out,
                "{}: {}",
                paint.red("planned again: NOT converged"),
                still.join("; ")
            )
        };
    }
    out
}

/// Why nothing was written, the rule, and the flag that allows it.
pub(super) fn stop_text(stop: &Stop) -> String {
    match stop {
        Stop::NeedsApproval { .. } => format!(
            "{stop} Review a saved plan (`plan FILE --out PLAN`, then `apply FILE --plan PLAN`) or pass \
             --auto-approve."
        ),
        Stop::TooManyRemovals { limit, .. } => format!(
            "{stop} (rule: run-wide removal budget, --max-total-removals {limit}; raise it to allow this)"
        ),
        Stop::RemovalFraction { max_fraction, .. } => format!(
            "{stop} (rule: run-wide removal budget, --max-removal-fraction {max_fraction}; raise it to \
             allow this)"
        ),
    }
}

/// Grants that ended (the plan removes them) or end soon.
fn grants_text(out: &mut String, grants: &[GrantEnding], paint: Paint) {
    for g in grants {
        let _ = writeln!(out, "{}", paint.yellow(&grant_text(g)));
    }
}

/// One grant's end, in words.
pub(super) fn grant_text(g: &GrantEnding) -> String {
    if g.ended {
        format!(
            "grant ended: {} in {} (until {}): the plan removes it",
            g.member, g.group, g.until
        )
    } else {
        format!(
            "grant ends soon: {} in {} (until {}, {} day(s) left)",
            g.member, g.group, g.until, g.days_left
        )
    }
}

/// ` (edit)` or ` (drift)` when the run was compared with a base file.
pub(super) fn origin_note(group: &GroupResult, member: &Member) -> String {
    group
        .origins
        .get(&member.id)
        .map_or_else(String::new, |o| format!(" ({})", o.as_str()))
}

fn group_text(out: &mut String, group: &GroupResult, paint: Paint) {
    let report = &group.report;
    let _ = writeln!(out, "\n{} {} ({})", report.service, group.key, report.group);
    if let Some(plan) = &report.plan {
        for m in plan.to_add() {
            let note = origin_note(group, m);
            let _ = writeln!(out, "  {}", paint.green(&format!("+ {m}{note}")));
        }
        for m in plan.to_remove() {
            let note = origin_note(group, m);
            let _ = writeln!(out, "  {}", paint.red(&format!("- {m}{note}")));
        }
        for m in plan.to_keep() {
            let _ = writeln!(out, "  = {m}");
        }
    }
    outcome_text(out, report, paint);
}

/// A group's block without colour: its plan lines and what became of it.
pub(super) fn plain_group(group: &GroupResult) -> String {
    let mut out = String::new();
    group_text(&mut out, group, Paint(false));
    out
}

/// What became of a group, without colour.
pub fn plain_outcome(report: &GroupReport) -> String {
    let mut out = String::new();
    outcome_text(&mut out, report, Paint(false));
    out
}

fn outcome_text(out: &mut String, report: &GroupReport, paint: Paint) {
    let _ = match &report.outcome {
        Outcome::ReadFailed { error } => writeln!(
            out,
            "  {}: {error}",
            paint.red("READ FAILED, nothing written")
        ),
        Outcome::ResolveFailed { error } => writeln!(
            out,
            "  {}: {error}",
            paint.red("UNKNOWN MEMBER, nothing written")
        ),
        Outcome::ChangedSincePlan { appeared, vanished } => writeln!(
            out,
            "  {}: appeared [{}], vanished [{}]; plan again and review",
            paint.red("CHANGED SINCE THE PLAN, nothing written"),
            labels(appeared),
            labels(vanished)
        ),
        Outcome::Planned if report.has_pending_changes() => {
            writeln!(out, "  {}", paint.yellow("pending"))
        }
        Outcome::Planned | Outcome::Unchanged => writeln!(out, "  no changes"),
        Outcome::Interrupted => writeln!(
            out,
            "  {}",
            paint.red("INTERRUPTED before its first write, nothing written")
        ),
        Outcome::Refused { refusal } => writeln!(
            out,
            "  {}: {}",
            paint.red("REFUSED, nothing written"),
            refusal_text(refusal)
        ),
        Outcome::Applied { steps, read_back } => {
            for step in steps {
                let _ = match &step.result {
                    StepResult::Applied => writeln!(out, "  applied: {}", step.step),
                    StepResult::Failed {
                        error,
                        may_have_applied,
                    } => writeln!(
                        out,
                        "  {}: {}: {error}{}",
                        paint.red("FAILED"),
                        step.step,
                        if *may_have_applied {
                            " (may have reached the server)"
                        } else {
                            " (not applied)"
                        }
                    ),
                    StepResult::NotAttempted => writeln!(out, "  not attempted: {}", step.step),
                    StepResult::Interrupted => {
                        writeln!(out, "  interrupted, not sent: {}", step.step)
                    }
                };
            }
            match read_back {
                Ok(d) if d.is_none() => writeln!(out, "  read back: as desired"),
                Ok(d) => writeln!(
                    out,
                    "  {}: unexpected [{}], missing [{}]",
                    paint.red("read back: DRIFT"),
                    labels(&d.unexpected),
                    labels(&d.missing)
                ),
                Err(e) => writeln!(out, "  {}: {e}", paint.red("read back FAILED")),
            }
        }
    };
}

/// The rule, the members involved, and the flag that allows what was refused.
pub(super) fn refusal_text(refusal: &Refusal) -> String {
    match refusal {
        Refusal::WouldEmpty { members } => format!(
            "the plan removes all {members} member(s) (rule: never empty a group; --allow-empty allows it)"
        ),
        Refusal::TooManyRemovals { removals, limit } => format!(
            "the plan removes {removals} member(s), more than the limit of {limit} (rule: \
             --max-removals {limit}; raise it to allow this)"
        ),
        Refusal::ChangedBeforeOverwrite { appeared, vanished } => format!(
            "the group changed between the plan and the write (appeared [{}], vanished [{}]); writing the \
             list would undo that: plan again",
            labels(appeared),
            labels(vanished)
        ),
        Refusal::KeptChanging { reads } => {
            format!("the group changed on each of {reads} reads before the write: try again later")
        }
        Refusal::UnusablePlan { reason } => {
            format!("the saved plan cannot be applied to this group: {reason}; plan again")
        }
        Refusal::PlanDiffersFromFile {
            plan_add,
            plan_remove,
            file_add,
            file_remove,
        } => format!(
            "the saved plan adds [{}] and removes [{}], but the file gives adds [{}] and removes [{}] from \
             the members the plan observed (rule: apply exactly what was reviewed; the plan was edited or \
             made by another version: plan again)",
            labels(plan_add),
            labels(plan_remove),
            labels(file_add),
            labels(file_remove)
        ),
        Refusal::Protected { members } => format!(
            "the plan removes protected member(s) [{}] (rule: the file's `protected` list; take them off \
             it to allow this)",
            labels(members)
        ),
        Refusal::SelfRemoval { member } => format!(
            "the plan removes {member}, the identity this connection logs in as (rule: no self-lockout; \
             --allow-self-removal allows it)"
        ),
        Refusal::BelowMinimum { members, min } => format!(
            "the plan leaves {members} member(s) (rule: this group's `min_members` is {min}; lower it in \
             the file to allow this)"
        ),
    }
}

pub(super) fn labels(members: &[Member]) -> String {
    members
        .iter()
        .map(|m| m.label.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;
