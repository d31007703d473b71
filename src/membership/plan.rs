//! Plans, guards, applying, reports, and many groups at once.

use std::collections::BTreeSet;
use std::fmt;

use futures_util::StreamExt;
use std::future::Future;
use std::pin::Pin;

use super::{GroupMembers, MemberId};
use crate::error::Error;

/// What a change asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Change {
    /// The group becomes exactly the members named ([`sync`]).
    Exact,
    /// The members named are added; the others stay ([`add`]).
    Add,
    /// The members named are removed; the others stay ([`remove`]).
    Remove,
}

/// What a change would do: members to add, to remove and to keep. Computed without any write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan<M> {
    change: Change,
    named: BTreeSet<M>,
    current: BTreeSet<M>,
    desired: BTreeSet<M>,
    to_add: Vec<M>,
    to_remove: Vec<M>,
    to_keep: Vec<M>,
}

impl<M: MemberId> Plan<M> {
    /// The plan from `current` to exactly `desired` ([`Change::Exact`]).
    pub fn new(current: BTreeSet<M>, desired: BTreeSet<M>) -> Self {
        Self::for_change(current, desired, Change::Exact)
    }

    /// The plan for `change` with the members `named`, from `current`: for [`Change::Add`] the desired
    /// members are `current` plus `named`, for [`Change::Remove`] `current` less `named`.
    pub fn for_change(current: BTreeSet<M>, named: BTreeSet<M>, change: Change) -> Self {
        let desired: BTreeSet<M> = match change {
            Change::Exact => named.clone(),
            Change::Add => current.union(&named).cloned().collect(),
            Change::Remove => current.difference(&named).cloned().collect(),
        };
        let to_add = desired.difference(&current).cloned().collect();
        let to_remove = current.difference(&desired).cloned().collect();
        let to_keep = current.intersection(&desired).cloned().collect();
        Plan {
            change,
            named,
            current,
            desired,
            to_add,
            to_remove,
            to_keep,
        }
    }
    /// What was asked for: the exact list, or adding or removing the members named.
    pub fn change(&self) -> Change {
        self.change
    }
    /// The members the caller named (the whole desired list for [`Change::Exact`]).
    pub fn named(&self) -> &BTreeSet<M> {
        &self.named
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
    pub(super) fn rendered(&self) -> Plan<String> {
        let r = |s: &BTreeSet<M>| s.iter().map(ToString::to_string).collect();
        let v = |s: &[M]| s.iter().map(ToString::to_string).collect();
        Plan {
            change: self.change,
            named: r(&self.named),
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
    /// One call that adds members (Traffic Ops' POST without replace; Entuity's POST, one member each).
    Add(Vec<M>),
    /// One call that removes one member (Traffic Ops' and Entuity's DELETE).
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
    /// A member named could not be resolved (an unknown Traffic Ops user, an empty name): nothing was
    /// written.
    ResolveFailed(Error),
    /// Applying a [`SavedPlan`](super::SavedPlan): the group's members are not the ones the plan observed,
    /// so what was reviewed is no longer what would happen. Nothing was written.
    ChangedSincePlan {
        /// Members present now that the plan did not see.
        appeared: Vec<String>,
        /// Members the plan saw that are gone now.
        vanished: Vec<String>,
    },
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
            Outcome::ReadFailed(_)
            | Outcome::ResolveFailed(_)
            | Outcome::ChangedSincePlan { .. }
            | Outcome::Refused(_) => false,
        }
    }
    /// True when a write was applied, or failed in a way that may have reached the server.
    pub fn may_have_changed_something(&self) -> bool {
        match &self.outcome {
            Outcome::Applied { steps, .. } => steps.iter().any(|(_, r)| match r {
                StepResult::Applied => true,
                StepResult::Failed {
                    may_have_applied, ..
                } => *may_have_applied,
                StepResult::NotAttempted => false,
            }),
            _ => false,
        }
    }
    /// `Ok(self)` when [`is_success`](Self::is_success), otherwise [`Error::Report`] carrying this report,
    /// so a change fits `?`: `membership::add(&group, ["alice"]).await.into_result()?;`.
    ///
    /// # Errors
    /// [`Error::Report`] when something failed, was refused, or the group did not end as asked.
    pub fn into_result(self) -> crate::Result<GroupReport> {
        if self.is_success() {
            Ok(self)
        } else {
            Err(Error::Report(Box::new(self)))
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
            Outcome::ResolveFailed(e) => write!(f, "  UNKNOWN MEMBER, nothing written: {e}"),
            Outcome::ChangedSincePlan { appeared, vanished } => write!(
                f,
                "  CHANGED SINCE THE PLAN, nothing written: appeared [{}], vanished [{}]",
                appeared.join(", "),
                vanished.join(", ")
            ),
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

/// Reads the group, resolves the members named, and computes the plan to exactly `desired`, with no write.
///
/// # Errors
/// Any error of reading the group's members (nothing is planned from a read that failed or was not
/// understood), or of resolving a member named (an unknown Traffic Ops user).
pub async fn plan<G: GroupMembers>(
    group: &G,
    desired: impl IntoIterator<Item = impl Into<G::Name>>,
) -> crate::Result<Plan<G::Member>> {
    let names = names::<G>(desired);
    let current = group.members().await?;
    let desired = group.resolve(&names, &current).await?;
    Ok(Plan::new(current, desired))
}

/// Brings the group to exactly `desired` safely: read, resolve, plan, check the guards, perform the steps
/// (stopping at the first failure), read back. Never panics and never hides a failure: everything is in
/// the report ([`GroupReport::into_result`] makes it a `Result`).
pub async fn sync<G: GroupMembers>(
    group: &G,
    desired: impl IntoIterator<Item = impl Into<G::Name>>,
    guards: &Guards,
) -> GroupReport {
    run(group, &names::<G>(desired), Change::Exact, guards, true).await
}

/// Adds the members named and changes nothing else, with the service's most targeted calls; a member
/// already present makes no write, and a member someone else removed meanwhile is not put back. The
/// [`Guards`] do not apply (nothing is removed). Read back afterwards: the report's drift lists members
/// named that are still missing.
pub async fn add<G: GroupMembers>(
    group: &G,
    members: impl IntoIterator<Item = impl Into<G::Name>>,
) -> GroupReport {
    let guards = Guards::default();
    run(group, &names::<G>(members), Change::Add, &guards, true).await
}

/// Removes the members named and changes nothing else, with the service's most targeted calls; a member
/// already absent makes no write. Removing every member this way is allowed (you named them); the report's
/// drift lists members named that are still present after the read-back.
pub async fn remove<G: GroupMembers>(
    group: &G,
    members: impl IntoIterator<Item = impl Into<G::Name>>,
) -> GroupReport {
    let guards = Guards {
        allow_empty: true,
        max_removals: None,
    };
    run(group, &names::<G>(members), Change::Remove, &guards, true).await
}

/// Plans or syncs one group to exactly `desired` and reports (`apply: false` is a dry run that still
/// checks the guards).
pub async fn sync_entry<G: GroupMembers>(
    group: &G,
    desired: impl IntoIterator<Item = impl Into<G::Name>>,
    guards: &Guards,
    apply: bool,
) -> GroupReport {
    run(group, &names::<G>(desired), Change::Exact, guards, apply).await
}

fn names<G: GroupMembers>(members: impl IntoIterator<Item = impl Into<G::Name>>) -> Vec<G::Name> {
    members.into_iter().map(Into::into).collect()
}

/// How many times a targeted overwrite plans again when the group moved before its write.
const REPLANS: usize = 3;

async fn run<G: GroupMembers>(
    group: &G,
    names: &[G::Name],
    change: Change,
    guards: &Guards,
    apply: bool,
) -> GroupReport {
    run_keeping_plan(group, names, change, guards, apply)
        .await
        .0
}

/// [`run`], also returning the plan it made (for saving): `None` when nothing could be planned.
async fn run_keeping_plan<G: GroupMembers>(
    group: &G,
    names: &[G::Name],
    change: Change,
    guards: &Guards,
    apply: bool,
) -> (GroupReport, Option<Plan<G::Member>>) {
    let mut report = new_report(group);
    let current = match group.members().await {
        Ok(c) => c,
        Err(e) => {
            report.outcome = Outcome::ReadFailed(e);
            return (report, None);
        }
    };
    let named = match group.resolve(names, &current).await {
        Ok(named) => named,
        Err(e) => {
            report.outcome = Outcome::ResolveFailed(e);
            return (report, None);
        }
    };
    let plan = Plan::for_change(current, named, change);
    finish(group, plan, guards, apply, report).await
}

pub(super) fn new_report<G: GroupMembers>(group: &G) -> GroupReport {
    GroupReport {
        service: group.service(),
        group: group.describe(),
        plan: None,
        outcome: Outcome::Unchanged,
    }
}

/// From a plan on: no change, a guard's refusal, a dry run, or the steps, then the read-back.
pub(super) async fn finish<G: GroupMembers>(
    group: &G,
    mut plan: Plan<G::Member>,
    guards: &Guards,
    apply: bool,
    mut report: GroupReport,
) -> (GroupReport, Option<Plan<G::Member>>) {
    report.plan = Some(plan.rendered());
    if plan.is_noop() {
        return (report, Some(plan));
    }
    if let Some(why) = guards.check(&plan) {
        report.outcome = Outcome::Refused(why);
        return (report, Some(plan));
    }
    if !apply {
        report.outcome = Outcome::Planned;
        return (report, Some(plan));
    }
    let mut planned_steps = group.steps(&plan);
    if planned_steps
        .iter()
        .any(|s| matches!(s, Step::Replace { .. }))
    {
        match confirm_before_overwrite(group, &mut plan, &mut report).await {
            Some(steps) => planned_steps = steps,
            None => return (report, Some(plan)),
        }
    }
    let steps = perform_steps(group, planned_steps).await;
    let drift = group
        .members()
        .await
        .map(|after| drift_after(&plan, &after));
    report.outcome = Outcome::Applied { steps, drift };
    (report, Some(plan))
}

/// An overwrite would silently undo a change someone made since the read: read again right before it. A
/// sync refuses to write if the group moved; a targeted change plans again from what it found (at most
/// [`REPLANS`] times). `None` when the report already says why nothing is written.
async fn confirm_before_overwrite<G: GroupMembers>(
    group: &G,
    plan: &mut Plan<G::Member>,
    report: &mut GroupReport,
) -> Option<Vec<Step<G::Member>>> {
    for _ in 0..REPLANS {
        let now = match group.members().await {
            Ok(now) => now,
            Err(e) => {
                report.outcome = Outcome::ReadFailed(e);
                return None;
            }
        };
        if &now == plan.current() {
            return Some(group.steps(plan));
        }
        if plan.change() == Change::Exact {
            let appeared = rendered(now.difference(plan.current()));
            let vanished = rendered(plan.current().difference(&now));
            report.outcome = Outcome::Refused(format!(
                "the group changed since it was read (appeared [{}], vanished [{}]): plan again",
                appeared.join(", "),
                vanished.join(", ")
            ));
            return None;
        }
        *plan = Plan::for_change(now, plan.named().clone(), plan.change());
        report.plan = Some(plan.rendered());
        if plan.is_noop() {
            report.outcome = Outcome::Unchanged;
            return None;
        }
    }
    report.outcome = Outcome::Refused(format!(
        "the group changed on each of {REPLANS} reads before the overwrite: try again later"
    ));
    None
}

/// Performs the steps in order, stopping at the first failure; each step with what became of it.
async fn perform_steps<G: GroupMembers>(
    group: &G,
    planned: Vec<Step<G::Member>>,
) -> Vec<(String, StepResult)> {
    let mut steps = Vec::new();
    let mut failed = false;
    for step in planned {
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
    steps
}

/// What is not as asked after the write: for a sync, any difference from the desired list; for a
/// targeted change, only the members named (what others changed meanwhile is theirs).
fn drift_after<M: MemberId>(plan: &Plan<M>, after: &BTreeSet<M>) -> Drift {
    match plan.change() {
        Change::Exact => Drift {
            unexpected: rendered(after.difference(plan.desired())),
            missing: rendered(plan.desired().difference(after)),
        },
        Change::Add => Drift {
            unexpected: vec![],
            missing: rendered(plan.named().difference(after)),
        },
        Change::Remove => Drift {
            unexpected: rendered(plan.named().intersection(after)),
            missing: vec![],
        },
    }
}

fn rendered<'a, M: MemberId>(members: impl Iterator<Item = &'a M>) -> Vec<String> {
    members.map(ToString::to_string).collect()
}

/// One group and its desired members, ready for [`reconcile_all`].
#[derive(Debug)]
pub struct Desired<G: GroupMembers> {
    /// The group.
    pub group: G,
    /// Who should be in it, named the service's way.
    pub members: Vec<G::Name>,
    /// How a desired-state file names the group (its [`key`](super::DesiredGroup::key)); the group's
    /// description when made in code. Saved plans find their groups by it.
    pub key: String,
}

impl<G: GroupMembers> Desired<G> {
    /// A group and its desired members, keyed by the group's description.
    pub fn new(group: G, members: impl IntoIterator<Item = impl Into<G::Name>>) -> Self {
        Desired {
            key: group.describe(),
            group,
            members: names::<G>(members),
        }
    }

    /// The same, keyed `key`.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = key.into();
        self
    }
}

/// The future of [`Reconcile::reconcile`].
pub type ReportFuture<'a> = Pin<Box<dyn Future<Output = GroupReport> + Send + 'a>>;

/// The future of [`Reconcile::plan_to_save`]: the report, and the plan to save when the group could be
/// planned and no guard refused it.
pub type SaveFuture<'a> =
    Pin<Box<dyn Future<Output = (GroupReport, Option<super::SavedGroupPlan>)> + Send + 'a>>;

/// A group to reconcile, whatever its service (object-safe, for mixed lists such as
/// `Vec<Box<dyn Reconcile>>`).
pub trait Reconcile: Send + Sync + fmt::Debug {
    /// Plans (`apply: false`) or syncs the group and reports.
    fn reconcile<'a>(&'a self, guards: &'a Guards, apply: bool) -> ReportFuture<'a>;

    /// How the desired-state file names the group.
    fn key(&self) -> &str;

    /// Plans the group (no write) and returns the plan to save with the report.
    fn plan_to_save<'a>(&'a self, guards: &'a Guards) -> SaveFuture<'a>;

    /// Applies a saved plan of this group: refused, with nothing written, unless the group's members are
    /// exactly the ones the plan observed ([`Outcome::ChangedSincePlan`]).
    fn apply_saved<'a>(
        &'a self,
        saved: &'a super::SavedGroupPlan,
        guards: &'a Guards,
    ) -> ReportFuture<'a>;
}

impl<G: GroupMembers> Reconcile for Desired<G> {
    fn reconcile<'a>(&'a self, guards: &'a Guards, apply: bool) -> ReportFuture<'a> {
        Box::pin(run(
            &self.group,
            &self.members,
            Change::Exact,
            guards,
            apply,
        ))
    }

    fn key(&self) -> &str {
        &self.key
    }

    fn plan_to_save<'a>(&'a self, guards: &'a Guards) -> SaveFuture<'a> {
        Box::pin(async move {
            let (report, plan) =
                run_keeping_plan(&self.group, &self.members, Change::Exact, guards, false).await;
            let saveable = report.is_success();
            let saved = plan
                .filter(|_| saveable)
                .map(|p| super::saved::save(&self.group, &self.key, &p));
            (report, saved)
        })
    }

    fn apply_saved<'a>(
        &'a self,
        saved: &'a super::SavedGroupPlan,
        guards: &'a Guards,
    ) -> ReportFuture<'a> {
        Box::pin(super::saved::apply(&self.group, saved, guards))
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
