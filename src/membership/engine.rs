//! Reading, planning and changing one group safely: [`plan`], [`sync`], [`add`], [`remove`], and
//! [`apply_reviewed`] for a plan made earlier.

use std::collections::BTreeSet;

use super::plan::{Change, Guards, Plan, Step};
use super::policy::GroupPolicy;
use super::report::{Drift, GroupReport, Outcome, Refusal, StepReport, StepResult};
use super::{GroupMembers, Member, MemberId};

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
    let current = group.planning_members().await?;
    let desired = group.resolve(&names, &current).await?;
    let plan = Plan::new(current, desired);
    group.check_additions(plan.to_add()).await?;
    Ok(plan)
}

/// Brings the group to exactly `desired` safely: read, resolve, plan, check the guards, perform the steps
/// (stopping at the first failure), read back. Never panics and never hides a failure: everything is in
/// the report ([`GroupReport::into_result`] makes it a `Result`).
#[must_use = "the report may hold a failure: check it (`into_result()?`, `is_success`) or show it"]
pub async fn sync<G: GroupMembers>(
    group: &G,
    desired: impl IntoIterator<Item = impl Into<G::Name>>,
    guards: &Guards,
) -> GroupReport {
    let policy = GroupPolicy::default();
    run(
        group,
        &names::<G>(desired),
        Change::Exact,
        guards,
        &policy,
        true,
    )
    .await
    .0
}

/// Adds the members named and changes nothing else, with the service's most targeted calls; a member
/// already present makes no write, and a member someone else removed meanwhile is not put back. The
/// [`Guards`] do not apply (nothing is removed). Read back afterwards: the report's drift lists members
/// named that are still missing.
#[must_use = "the report may hold a failure: check it (`into_result()?`, `is_success`) or show it"]
pub async fn add<G: GroupMembers>(
    group: &G,
    members: impl IntoIterator<Item = impl Into<G::Name>>,
) -> GroupReport {
    let guards = Guards::default();
    let policy = GroupPolicy::default();
    run(
        group,
        &names::<G>(members),
        Change::Add,
        &guards,
        &policy,
        true,
    )
    .await
    .0
}

/// Removes the members named and changes nothing else, with the service's most targeted calls; a member
/// already absent makes no write. Removing every member this way is allowed (you named them); the report's
/// drift lists members named that are still present after the read-back.
#[must_use = "the report may hold a failure: check it (`into_result()?`, `is_success`) or show it"]
pub async fn remove<G: GroupMembers>(
    group: &G,
    members: impl IntoIterator<Item = impl Into<G::Name>>,
) -> GroupReport {
    let guards = Guards {
        allow_empty: true,
        ..Guards::default()
    };
    let policy = GroupPolicy::default();
    run(
        group,
        &names::<G>(members),
        Change::Remove,
        &guards,
        &policy,
        true,
    )
    .await
    .0
}

/// Plans or syncs one group to exactly `desired` and reports (`apply: false` is a dry run that still
/// checks the guards).
#[must_use = "the report may hold a failure: check it (`into_result()?`, `is_success`) or show it"]
pub async fn sync_entry<G: GroupMembers>(
    group: &G,
    desired: impl IntoIterator<Item = impl Into<G::Name>>,
    guards: &Guards,
    apply: bool,
) -> GroupReport {
    let policy = GroupPolicy::default();
    run(
        group,
        &names::<G>(desired),
        Change::Exact,
        guards,
        &policy,
        apply,
    )
    .await
    .0
}

/// A plan made earlier and reviewed: the members it observed and the changes it makes.
pub(crate) struct Reviewed<M> {
    pub(crate) observed: BTreeSet<M>,
    pub(crate) add: BTreeSet<M>,
    pub(crate) remove: BTreeSet<M>,
}

/// Carries out a plan made earlier (and reviewed) exactly. Refused, with nothing written:
/// - unless its changes are what `names` (the desired list, under `policy`) gives from the members it
///   observed ([`Refusal::PlanDiffersFromFile`]: the plan was edited, or made by another tool version);
/// - unless the group's members are still exactly the observed ones ([`Outcome::ChangedSincePlan`] names
///   who appeared and vanished) — or already exactly the plan's result (an earlier, interrupted apply of the
///   same plan did it: [`Outcome::Unchanged`], nothing written).
///
/// Otherwise the group goes from `observed` to `observed` + `add` − `remove`, with the guards, the re-read
/// before an overwrite, and the read-back of any [`sync`].
pub(crate) async fn apply_reviewed<G: GroupMembers>(
    group: &G,
    reviewed: Reviewed<G::Member>,
    names: &[G::Name],
    policy: &GroupPolicy,
    guards: &Guards,
) -> GroupReport {
    let mut report = new_report(group);
    let Reviewed {
        observed,
        add,
        remove,
    } = reviewed;
    let desired: BTreeSet<G::Member> = observed
        .union(&add)
        .filter(|m| !remove.contains(*m))
        .cloned()
        .collect();
    let planned = Plan::new(observed.clone(), desired.clone());
    let from_file = match group.resolve(names, &observed).await {
        Ok(named) => policy.plan(observed.clone(), named, policy.change()),
        Err(error) => {
            report.outcome = Outcome::ResolveFailed { error };
            return report;
        }
    };
    if from_file.to_add() != planned.to_add() || from_file.to_remove() != planned.to_remove() {
        report.plan = Some(planned.members());
        report.outcome = Outcome::Refused {
            refusal: Refusal::PlanDiffersFromFile {
                plan_add: members(planned.to_add().iter()),
                plan_remove: members(planned.to_remove().iter()),
                file_add: members(from_file.to_add().iter()),
                file_remove: members(from_file.to_remove().iter()),
            },
        };
        return report;
    }
    let current = match group.members().await {
        Ok(c) => c,
        Err(error) => {
            report.outcome = Outcome::ReadFailed { error };
            return report;
        }
    };
    if current == desired && current != observed {
        // Already exactly what the plan makes (an earlier, interrupted apply of the same plan): done.
        report.plan = Some(planned.members());
        report.outcome = Outcome::Unchanged;
        return report;
    }
    if current != observed {
        report.plan = Some(planned.members());
        report.outcome = Outcome::ChangedSincePlan {
            appeared: members(current.difference(&observed)),
            vanished: members(observed.difference(&current)),
        };
        return report;
    }
    // The group was read just now (nothing was sent since): that read is the one right before the write.
    finish(group, planned, guards, policy, Write::ReadJustNow, report)
        .await
        .0
}

pub(super) fn names<G: GroupMembers>(
    members: impl IntoIterator<Item = impl Into<G::Name>>,
) -> Vec<G::Name> {
    members.into_iter().map(Into::into).collect()
}

/// How many times a targeted overwrite plans again when the group moved before its write.
const REPLANS: usize = 3;

/// Reads, resolves and plans, then [`finish`]es; also returns the plan it made (for reviewing): `None`
/// when nothing could be planned.
pub(super) async fn run<G: GroupMembers>(
    group: &G,
    names: &[G::Name],
    change: Change,
    guards: &Guards,
    policy: &GroupPolicy,
    apply: bool,
) -> (GroupReport, Option<Plan<G::Member>>) {
    let mut report = new_report(group);
    // A dry run may plan from a shared listing; a run that writes reads the group itself.
    let read = if apply {
        group.members().await
    } else {
        group.planning_members().await
    };
    let current = match read {
        Ok(c) => c,
        Err(error) => {
            report.outcome = Outcome::ReadFailed { error };
            return (report, None);
        }
    };
    let named = match group.resolve(names, &current).await {
        Ok(named) => named,
        Err(error) => {
            report.outcome = Outcome::ResolveFailed { error };
            return (report, None);
        }
    };
    let plan = policy.plan(current, named, change);
    if let Err(error) = group.check_additions(plan.to_add()).await {
        report.plan = Some(plan.members());
        report.outcome = Outcome::ResolveFailed { error };
        return (report, None);
    }
    let write = if apply { Write::ReadAgain } else { Write::No };
    finish(group, plan, guards, policy, write, report).await
}

fn new_report<G: GroupMembers>(group: &G) -> GroupReport {
    GroupReport::new(group.service(), group.describe(), Outcome::Unchanged)
}

/// Whether [`finish`] writes, and whether the plan's read is the one right before an overwrite.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Write {
    /// A dry run.
    No,
    /// Write; an overwrite reads the group again first (requests were sent since the plan's read).
    ReadAgain,
    /// Write; the plan's read was made just now, with nothing sent since: an overwrite's first attempt
    /// rests on it (any later attempt, after a wait, reads again).
    ReadJustNow,
}

/// From a plan on: no change, a guard's refusal, a dry run, or the steps, then the read-back.
async fn finish<G: GroupMembers>(
    group: &G,
    mut plan: Plan<G::Member>,
    guards: &Guards,
    policy: &GroupPolicy,
    write: Write,
    mut report: GroupReport,
) -> (GroupReport, Option<Plan<G::Member>>) {
    let apply = write != Write::No;
    report.plan = Some(plan.members());
    if plan.is_noop() {
        return (report, Some(plan));
    }
    let refusal = guards
        .check(&plan)
        .or_else(|| policy.check(&plan, guards.allow_self_removal));
    if let Some(refusal) = refusal {
        report.outcome = Outcome::Refused { refusal };
        return (report, Some(plan));
    }
    if !apply {
        report.outcome = Outcome::Planned;
        return (report, Some(plan));
    }
    if guards.interrupt.is_raised() {
        report.outcome = Outcome::Interrupted;
        return (report, Some(plan));
    }
    let planned_steps = group.steps(&plan);
    let steps = if planned_steps
        .iter()
        .any(|s| matches!(s, Step::Replace { .. }))
    {
        match overwrite(
            group,
            &mut plan,
            guards,
            &mut report,
            write == Write::ReadJustNow,
        )
        .await
        {
            Some(steps) => steps,
            None => return (report, Some(plan)),
        }
    } else {
        perform_steps(group, planned_steps, guards, &report).await
    };
    let read_back = group
        .members()
        .await
        .map(|after| drift_after(&plan, &after));
    report.outcome = Outcome::Applied { steps, read_back };
    (report, Some(plan))
}

/// How many times a throttled overwrite is tried again, each time after the wait and a fresh read.
const OVERWRITE_RETRIES: u32 = 3;

/// The longest wait before another attempt at a throttled overwrite (Danube Cloud asks for up to 59 s).
const MAX_OVERWRITE_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Carries out an overwrite: read the group again right before it ([`confirm_before_overwrite`]; the
/// first attempt of a reviewed plan rests on the read the plan was checked against, made just before), send it
/// once; when the service refused it for now without acting (429, or no connection), wait as it asked,
/// then read again and re-check before trying again, so an overwrite never rests on a read older than a
/// wait. `None` when the report already says why nothing (more) is written. The report keeps the last
/// attempt's steps (an attempt refused with 429 changed nothing; the journal has every attempt).
async fn overwrite<G: GroupMembers>(
    group: &G,
    plan: &mut Plan<G::Member>,
    guards: &Guards,
    report: &mut GroupReport,
    read_just_now: bool,
) -> Option<Vec<StepReport>> {
    let mut attempt = 0;
    loop {
        let planned = if attempt == 0 && read_just_now {
            group.steps(plan)
        } else {
            confirm_before_overwrite(group, plan, report).await?
        };
        let steps = perform_steps(group, planned, guards, report).await;
        let wait = steps.iter().find_map(|s| match &s.result {
            StepResult::Failed {
                error,
                may_have_applied: false,
            } if error.is_retryable() => Some(
                error
                    .retry_after()
                    .unwrap_or(std::time::Duration::from_secs(1 << attempt))
                    .min(MAX_OVERWRITE_WAIT),
            ),
            _ => None,
        });
        match wait {
            Some(wait) if attempt < OVERWRITE_RETRIES && !guards.interrupt.is_raised() => {
                attempt += 1;
                group.pause(wait).await;
            }
            _ => return Some(steps),
        }
    }
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
            Err(error) => {
                report.outcome = Outcome::ReadFailed { error };
                return None;
            }
        };
        if &now == plan.current() {
            return Some(group.steps(plan));
        }
        if plan.change() == Change::Exact {
            report.outcome = Outcome::Refused {
                refusal: Refusal::ChangedBeforeOverwrite {
                    appeared: members(now.difference(plan.current())),
                    vanished: members(plan.current().difference(&now)),
                },
            };
            return None;
        }
        *plan = Plan::for_change(now, plan.named().clone(), plan.change());
        report.plan = Some(plan.members());
        if plan.is_noop() {
            report.outcome = Outcome::Unchanged;
            return None;
        }
    }
    report.outcome = Outcome::Refused {
        refusal: Refusal::KeptChanging { reads: REPLANS },
    };
    None
}

/// Performs the steps in order, stopping at the first failure or interrupt; each step with what became
/// of it. With a journal, each step's intent is recorded before it is sent (not sent if that fails) and its
/// result after.
async fn perform_steps<G: GroupMembers>(
    group: &G,
    planned: Vec<Step<G::Member>>,
    guards: &Guards,
    report: &GroupReport,
) -> Vec<StepReport> {
    let mut steps = Vec::with_capacity(planned.len());
    let mut failed = false;
    for step in planned {
        let shown = step.members();
        let result = if failed {
            StepResult::NotAttempted
        } else if guards.interrupt.is_raised() {
            StepResult::Interrupted
        } else {
            let result = match journal_intent(guards, report, &shown) {
                Err(error) => StepResult::Failed {
                    error,
                    may_have_applied: false,
                },
                Ok(()) => match group.perform(&step).await {
                    Ok(()) => StepResult::Applied,
                    Err(error) => {
                        let may_have_applied = error.may_have_been_applied();
                        StepResult::Failed {
                            error,
                            may_have_applied,
                        }
                    }
                },
            };
            if let Some(journal) = &guards.journal {
                journal
                    .0
                    .result(report.service, &report.group, &shown, &result);
            }
            failed = matches!(result, StepResult::Failed { .. });
            result
        };
        steps.push(StepReport {
            step: shown,
            result,
        });
    }
    steps
}

fn journal_intent(guards: &Guards, report: &GroupReport, step: &Step<Member>) -> crate::Result<()> {
    match &guards.journal {
        Some(journal) => journal.0.intent(report.service, &report.group, step),
        None => Ok(()),
    }
}

/// What is not as asked after the write: for a sync, any difference from the desired list; for a
/// targeted change, only the members named (what others changed meanwhile is theirs).
fn drift_after<M: MemberId>(plan: &Plan<M>, after: &BTreeSet<M>) -> Drift {
    match plan.change() {
        Change::Exact => Drift {
            unexpected: members(after.difference(plan.desired())),
            missing: members(plan.desired().difference(after)),
        },
        Change::Add => Drift {
            unexpected: vec![],
            missing: members(plan.named().difference(after)),
        },
        Change::Remove => Drift {
            unexpected: members(plan.named().intersection(after)),
            missing: vec![],
        },
    }
}

fn members<'a, M: MemberId>(found: impl Iterator<Item = &'a M>) -> Vec<Member> {
    found.map(Member::of).collect()
}
