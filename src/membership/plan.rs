//! Plans, guards, applying, reports, and many groups at once.

use std::collections::BTreeSet;
use std::fmt;

use futures_util::StreamExt;
use std::future::Future;
use std::pin::Pin;

use super::{GroupMembers, MemberId};
use crate::error::Error;

/// What a sync would change: members to add, to remove and to keep. Computed without any write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan<M> {
    current: BTreeSet<M>,
    desired: BTreeSet<M>,
    to_add: Vec<M>,
    to_remove: Vec<M>,
    to_keep: Vec<M>,
}

impl<M: MemberId> Plan<M> {
    /// The plan from `current` to `desired`.
    pub fn new(current: BTreeSet<M>, desired: BTreeSet<M>) -> Self {
        let to_add = desired.difference(&current).cloned().collect();
        let to_remove = current.difference(&desired).cloned().collect();
        let to_keep = current.intersection(&desired).cloned().collect();
        Plan {
            current,
            desired,
            to_add,
            to_remove,
            to_keep,
        }
    }
    /// Members to add.
    pub fn to_add(&self) -> &[M] {
        &self.to_add
    }
    /// Members to remove.
    pub fn to_remove(&self) -> &[M] {
        &self.to_remove
    }
    /// Members that stay.
    pub fn to_keep(&self) -> &[M] {
        &self.to_keep
    }
    /// The membership read before planning.
    pub fn current(&self) -> &BTreeSet<M> {
        &self.current
    }
    /// The membership asked for.
    pub fn desired(&self) -> &BTreeSet<M> {
        &self.desired
    }
    /// True when nothing would change.
    pub fn is_noop(&self) -> bool {
        self.to_add.is_empty() && self.to_remove.is_empty()
    }
    fn rendered(&self) -> Plan<String> {
        let r = |s: &BTreeSet<M>| s.iter().map(ToString::to_string).collect();
        let v = |s: &[M]| s.iter().map(ToString::to_string).collect();
        Plan {
            current: r(&self.current),
            desired: r(&self.desired),
            to_add: v(&self.to_add),
            to_remove: v(&self.to_remove),
            to_keep: v(&self.to_keep),
        }
    }
}

/// Safety limits on what a sync may do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Guards {
    /// Allow a plan that leaves a non-empty group with no members.
    pub allow_empty: bool,
    /// Refuse a plan that removes more than this many members (`None`: no limit).
    pub max_removals: Option<usize>,
}

impl Guards {
    /// The reason a plan is refused, if it is.
    pub fn check<M: MemberId>(&self, plan: &Plan<M>) -> Option<String> {
        if plan.desired.is_empty() && !plan.current.is_empty() && !self.allow_empty {
            return Some(format!(
                "refusing to remove all {} members (emptying a group needs explicit permission)",
                plan.current.len()
            ));
        }
        match self.max_removals {
            Some(max) if plan.to_remove.len() > max => Some(format!(
                "refusing to remove {} members: the limit is {max}",
                plan.to_remove.len()
            )),
            _ => None,
        }
    }
}

/// One write a service needs to carry out a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step<M> {
    /// One call that adds and removes (Uplynk's allowed-owners PUT).
    AddAndRemove {
        /// Added.
        add: Vec<M>,
        /// Removed.
        remove: Vec<M>,
    },
    /// One call that overwrites the whole list (Entuity's members PUT, Danube Cloud's `users`).
    Replace {
        /// The full new list.
        members: Vec<M>,
    },
    /// One call that adds members (Traffic Ops' POST without replace).
    Add(Vec<M>),
    /// One call that removes one member (Traffic Ops' DELETE).
    Remove(M),
}

impl<M: fmt::Display> fmt::Display for Step<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |l: &[M]| {
            l.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Step::AddAndRemove { add, remove } => {
                write!(f, "add [{}] and remove [{}]", list(add), list(remove))
            }
            Step::Replace { members } => write!(f, "set members to [{}]", list(members)),
            Step::Add(m) => write!(f, "add [{}]", list(m)),
            Step::Remove(m) => write!(f, "remove {m}"),
        }
    }
}

/// What became of one step.
#[derive(Debug)]
#[non_exhaustive]
pub enum StepResult {
    /// Done.
    Applied,
    /// The service refused it, or it could not be sent.
    Failed {
        /// The error.
        error: Error,
        /// True unless the service certainly did not act (see [`Error::may_have_been_applied`]): the change
        /// may or may not have happened; the read-back tells.
        may_have_applied: bool,
    },
    /// Not tried, because an earlier step failed.
    NotAttempted,
}

/// What happened to one group.
#[derive(Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// The current members could not be read completely: nothing was written.
    ReadFailed(Error),
    /// Dry run: the plan is shown, nothing was written.
    Planned,
    /// Already as desired: nothing was written.
    Unchanged,
    /// A guard refused the plan: nothing was written.
    Refused(String),
    /// The steps ran (each with its result, failures included), then the members were read back.
    Applied {
        /// Each step, in order, with what became of it.
        steps: Vec<(String, StepResult)>,
        /// Members that are not as desired after the write (someone else's change meanwhile, or a failed
        /// step), or the error of the read-back.
        drift: std::result::Result<Drift, Error>,
    },
}

/// The difference between the desired members and the ones read back after a write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drift {
    /// Present but not desired.
    pub unexpected: Vec<String>,
    /// Desired but absent.
    pub missing: Vec<String>,
}

impl Drift {
    /// True when the group is exactly as desired.
    pub fn is_none(&self) -> bool {
        self.unexpected.is_empty() && self.missing.is_empty()
    }
}

/// The result of planning or syncing one group.
#[derive(Debug)]
#[non_exhaustive]
pub struct GroupReport {
    /// `uplynk`, `entuity`, `danube` or `traffic_ops`.
    pub service: &'static str,
    /// The group's description.
    pub group: String,
    /// The plan, when the read succeeded (members rendered as text).
    pub plan: Option<Plan<String>>,
    /// What happened.
    pub outcome: Outcome,
}

impl GroupReport {
    /// True when nothing failed and the group ended (or would end) as desired.
    pub fn is_success(&self) -> bool {
        match &self.outcome {
            Outcome::Planned | Outcome::Unchanged => true,
            Outcome::Applied { steps, drift } => {
                steps.iter().all(|(_, r)| matches!(r, StepResult::Applied))
                    && drift.as_ref().is_ok_and(Drift::is_none)
            }
            Outcome::ReadFailed(_) | Outcome::Refused(_) => false,
        }
    }
    /// True when the plan had nothing to change.
    pub fn made_no_change(&self) -> bool {
        matches!(self.outcome, Outcome::Unchanged)
    }
    /// True when a dry run found changes to make.
    pub fn has_pending_changes(&self) -> bool {
        matches!(self.outcome, Outcome::Planned) && self.plan.as_ref().is_some_and(|p| !p.is_noop())
    }
}

impl fmt::Display for GroupReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} {}", self.service, self.group)?;
        if let Some(p) = &self.plan {
            let list = |l: &[String]| {
                if l.is_empty() {
                    "-".to_string()
                } else {
                    l.join(", ")
                }
            };
            writeln!(f, "  add:    {}", list(p.to_add()))?;
            writeln!(f, "  remove: {}", list(p.to_remove()))?;
            writeln!(f, "  keep:   {}", list(p.to_keep()))?;
        }
        match &self.outcome {
            Outcome::ReadFailed(e) => write!(f, "  READ FAILED, nothing written: {e}"),
            Outcome::Planned if self.has_pending_changes() => write!(f, "  pending (dry run)"),
            Outcome::Planned | Outcome::Unchanged => write!(f, "  no changes"),
            Outcome::Refused(why) => write!(f, "  REFUSED, nothing written: {why}"),
            Outcome::Applied { steps, drift } => {
                for (step, result) in steps {
                    match result {
                        StepResult::Applied => writeln!(f, "  applied:       {step}")?,
                        StepResult::Failed {
                            error,
                            may_have_applied,
                        } => writeln!(
                            f,
                            "  FAILED:        {step}: {error}{}",
                            if *may_have_applied {
                                " (may have reached the server)"
                            } else {
                                ""
                            }
                        )?,
                        StepResult::NotAttempted => writeln!(f, "  not attempted: {step}")?,
                    }
                }
                match drift {
                    Ok(d) if d.is_none() => write!(f, "  read back: as desired"),
                    Ok(d) => write!(
                        f,
                        "  read back: DRIFT: unexpected [{}], missing [{}]",
                        d.unexpected.join(", "),
                        d.missing.join(", ")
                    ),
                    Err(e) => write!(f, "  read back FAILED: {e}"),
                }
            }
        }
    }
}

/// Reads the group and computes the plan to `desired`, with no write.
///
/// # Errors
/// Any error of reading the group's members: nothing is planned from a read that failed or was not understood.
pub async fn plan<G: GroupMembers>(
    group: &G,
    desired: impl IntoIterator<Item = G::Member>,
) -> crate::Result<Plan<G::Member>> {
    let current = group.members().await?;
    Ok(Plan::new(current, desired.into_iter().collect()))
}

/// Brings the group to `desired` safely: read, plan, check the guards, perform the steps (stopping at the
/// first failure), read back. Never panics and never hides a failure: everything is in the report.
pub async fn sync<G: GroupMembers>(
    group: &G,
    desired: impl IntoIterator<Item = G::Member>,
    guards: &Guards,
) -> GroupReport {
    run(group, desired.into_iter().collect(), guards, true).await
}

/// Plans or syncs one group and reports (`apply: false` is a dry run that still checks the guards).
pub async fn sync_entry<G: GroupMembers>(
    group: &G,
    desired: BTreeSet<G::Member>,
    guards: &Guards,
    apply: bool,
) -> GroupReport {
    run(group, desired, guards, apply).await
}

async fn run<G: GroupMembers>(
    group: &G,
    desired: BTreeSet<G::Member>,
    guards: &Guards,
    apply: bool,
) -> GroupReport {
    let mut report = GroupReport {
        service: group.service(),
        group: group.describe(),
        plan: None,
        outcome: Outcome::Unchanged,
    };
    let current = match group.members().await {
        Ok(c) => c,
        Err(e) => {
            report.outcome = Outcome::ReadFailed(e);
            return report;
        }
    };
    let plan = Plan::new(current, desired);
    report.plan = Some(plan.rendered());
    if plan.is_noop() {
        return report;
    }
    if let Some(why) = guards.check(&plan) {
        report.outcome = Outcome::Refused(why);
        return report;
    }
    if !apply {
        report.outcome = Outcome::Planned;
        return report;
    }
    let planned_steps = group.steps(&plan);
    // An overwrite would silently undo a change someone made since the read: read again right before it,
    // and refuse to write if the group moved.
    if planned_steps
        .iter()
        .any(|s| matches!(s, Step::Replace { .. }))
    {
        match group.members().await {
            Ok(now) if &now == plan.current() => {}
            Ok(now) => {
                let appeared: Vec<String> = now
                    .difference(plan.current())
                    .map(ToString::to_string)
                    .collect();
                let vanished: Vec<String> = plan
                    .current()
                    .difference(&now)
                    .map(ToString::to_string)
                    .collect();
                report.outcome = Outcome::Refused(format!(
                    "the group changed since it was read (appeared [{}], vanished [{}]): plan again",
                    appeared.join(", "),
                    vanished.join(", ")
                ));
                return report;
            }
            Err(e) => {
                report.outcome = Outcome::ReadFailed(e);
                return report;
            }
        }
    }
    let mut steps = Vec::new();
    let mut failed = false;
    for step in planned_steps {
        let label = step.to_string();
        if failed {
            steps.push((label, StepResult::NotAttempted));
            continue;
        }
        match group.perform(&step).await {
            Ok(()) => steps.push((label, StepResult::Applied)),
            Err(error) => {
                failed = true;
                let may_have_applied = error.may_have_been_applied();
                steps.push((
                    label,
                    StepResult::Failed {
                        error,
                        may_have_applied,
                    },
                ));
            }
        }
    }
    let drift = group.members().await.map(|after| Drift {
        unexpected: after
            .difference(plan.desired())
            .map(ToString::to_string)
            .collect(),
        missing: plan
            .desired()
            .difference(&after)
            .map(ToString::to_string)
            .collect(),
    });
    report.outcome = Outcome::Applied { steps, drift };
    report
}

/// One group and its desired members, ready for [`reconcile_all`].
#[derive(Debug)]
pub struct Desired<G: GroupMembers> {
    /// The group.
    pub group: G,
    /// Who should be in it.
    pub members: BTreeSet<G::Member>,
}

impl<G: GroupMembers> Desired<G> {
    /// A group and its desired members.
    pub fn new(group: G, members: impl IntoIterator<Item = G::Member>) -> Self {
        Desired {
            group,
            members: members.into_iter().collect(),
        }
    }
}

/// The future of [`Reconcile::reconcile`].
pub type ReportFuture<'a> = Pin<Box<dyn Future<Output = GroupReport> + Send + 'a>>;

/// A group to reconcile, whatever its service (object-safe, for mixed lists such as
/// `Vec<Box<dyn Reconcile>>`).
pub trait Reconcile: Send + Sync + fmt::Debug {
    /// Plans (`apply: false`) or syncs the group and reports.
    fn reconcile<'a>(&'a self, guards: &'a Guards, apply: bool) -> ReportFuture<'a>;
}

impl<G: GroupMembers> Reconcile for Desired<G> {
    fn reconcile<'a>(&'a self, guards: &'a Guards, apply: bool) -> ReportFuture<'a> {
        Box::pin(run(&self.group, self.members.clone(), guards, apply))
    }
}

/// Plans or syncs many groups, across services, at most `concurrency` at a time; one report per group, in
/// the order given. A failure in one group never stops or hides the others.
pub async fn reconcile_all(
    entries: &[Box<dyn Reconcile>],
    guards: &Guards,
    apply: bool,
    concurrency: usize,
) -> Vec<GroupReport> {
    futures_util::stream::iter(entries.iter().map(|e| e.reconcile(guards, apply)))
        .buffered(concurrency.max(1))
        .collect()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn plans_split_into_add_remove_keep() {
        let p = Plan::new(set(&["a", "b", "c"]), set(&["b", "c", "d"]));
        assert_eq!(
            (p.to_add(), p.to_remove(), p.to_keep()),
            (
                &["d".to_string()][..],
                &["a".to_string()][..],
                &["b".to_string(), "c".to_string()][..]
            )
        );
        assert!(Plan::new(set(&["a"]), set(&["a"])).is_noop());
    }

    #[test]
    fn guards_refuse_emptying_and_too_many_removals() {
        let empty = Plan::new(set(&["a", "b"]), set(&[]));
        assert!(Guards::default().check(&empty).is_some());
        assert!(
            Guards {
                allow_empty: true,
                ..Guards::default()
            }
            .check(&empty)
            .is_none()
        );
        let three = Plan::new(set(&["a", "b", "c", "d"]), set(&["d"]));
        assert!(
            Guards {
                max_removals: Some(2),
                ..Guards::default()
            }
            .check(&three)
            .is_some()
        );
        assert!(
            Guards {
                max_removals: Some(3),
                ..Guards::default()
            }
            .check(&three)
            .is_none()
        );
        assert!(
            Guards::default()
                .check(&Plan::new(set(&[]), set(&[])))
                .is_none(),
            "an empty group staying empty is fine"
        );
    }
}
