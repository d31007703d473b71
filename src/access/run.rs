//! A run over a desired-state file's groups: plan them all, or apply (a reviewed plan, or a fresh one that
//! removes nobody unless approved), a bounded number at a time, with progress, and one typed report.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures_util::StreamExt;
use serde::Serialize;

use super::compare::Origin;
use super::file::DesiredState;
use super::saved::{SavedGroupPlan, SavedPlan};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::membership::{
    GroupReport, Guards, Member, Outcome, Reconcile, ReviewedPlan, Status, TrafficOpsUser,
};

/// The groups of a desired-state file, ready to plan or apply. The `group-membership` tool is this type
/// behind a command line.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> group_membership::Result<()> {
/// # let sandbox = group_membership::sandbox::Sandbox::start().expect("sandbox");
/// use group_membership::access::{Approval, DesiredState, Run};
///
/// let state = DesiredState::from_json(include_str!("../../examples/memberships.json"))?;
/// # let clients = sandbox.clients_for(&state)?;
/// // Real services: let clients = state.clients(&|name| std::env::var(name).ok())?;
/// let run = Run::new(&state, &clients)?.concurrency(4);
/// let plan = run.plan().await;
/// assert_eq!(plan.exit_code(), 2, "changes pending");
/// let saved = plan.saved_plan.expect("every group could be planned");
/// let applied = run.apply(Approval::Reviewed(&saved)).await?;
/// assert_eq!(applied.exit_code(), 0, "{:?}", applied.groups);
/// # Ok(()) }
/// ```
pub struct Run<'a> {
    state: &'a DesiredState,
    clients: BTreeMap<String, Client>,
    logins: BTreeMap<String, String>,
    only: Option<BTreeSet<String>>,
    entries: Vec<Box<dyn Reconcile>>,
    guards: Guards,
    budget: RemovalBudget,
    max_plan_age: Option<Duration>,
    concurrency: usize,
    connection_concurrency: Option<usize>,
    progress: Option<&'a (dyn Fn(&Progress<'_>) + Sync)>,
    /// Each group's key → its connection (looked up per group per run: a map, not a scan).
    connection_of: std::collections::HashMap<String, String>,
}

/// How many members a whole run may remove, over all its groups, checked before the first write (and by
/// `plan`, so a review sees it). Both limits are on by default.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct RemovalBudget {
    /// At most this many removals in the run (`None`: no limit). Default 25.
    pub max_removals: Option<usize>,
    /// At most this fraction (0 to 1) of all current members of the run's groups (`None`: no limit).
    /// Default 0.25. It applies from [`FRACTION_FROM`] removals on, so a small team can still lose one
    /// member.
    pub max_fraction: Option<f64>,
}

/// The fraction limit of a [`RemovalBudget`] applies to runs that remove at least this many members.
pub const FRACTION_FROM: usize = 4;

impl Default for RemovalBudget {
    fn default() -> Self {
        RemovalBudget {
            max_removals: Some(25),
            max_fraction: Some(0.25),
        }
    }
}

impl RemovalBudget {
    /// No run-wide limit.
    pub fn unlimited() -> Self {
        RemovalBudget {
            max_removals: None,
            max_fraction: None,
        }
    }

    /// Why a run removing `removals` of `members` current members is refused, if it is.
    pub fn check(&self, removals: usize, members: usize) -> Option<Stop> {
        if let Some(limit) = self.max_removals
            && removals > limit
        {
            return Some(Stop::TooManyRemovals { removals, limit });
        }
        match self.max_fraction {
            Some(max) if removals >= FRACTION_FROM && (removals as f64) > max * members as f64 => {
                Some(Stop::RemovalFraction {
                    removals,
                    members,
                    max_fraction: max,
                })
            }
            _ => None,
        }
    }
}

/// A saved plan older than this is refused by default: a reviewed plan is applied when its pull request
/// merges, the same day; an older one likely no longer matches what reviewers expect.
pub const DEFAULT_MAX_PLAN_AGE: Duration = Duration::from_secs(24 * 60 * 60);

impl std::fmt::Debug for Run<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Run")
            .field("groups", &self.entries.len())
            .field("guards", &self.guards)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

/// One group finished, for a progress display.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Progress<'a> {
    /// Groups finished so far, this one included.
    pub done: usize,
    /// Groups in the run.
    pub total: usize,
    /// The group's key in the file.
    pub key: &'a str,
    /// What became of it.
    pub status: Status,
}

/// What an apply may do without further approval.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Approval<'a> {
    /// Exactly this reviewed plan (made from the same file): each group is refused, with nothing written,
    /// if its members are not the ones the plan observed.
    Reviewed(&'a SavedPlan),
    /// A fresh plan made by this run, whatever it removes (no plan was reviewed).
    AutoApprove,
    /// A fresh plan made by this run, only if it removes nobody; otherwise nothing is written and the
    /// report's [`stopped`](RunReport::stopped) says why.
    NoRemovals,
}

/// Which command a report is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    /// Planned only.
    Plan,
    /// Applied.
    Apply,
}

/// Why a run wrote nothing at all.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Stop {
    /// The fresh plan removes members and neither a reviewed plan nor auto-approval was given.
    NeedsApproval {
        /// How many members the plan would remove, over all groups.
        removals: usize,
    },
    /// The run removes more members than [`RemovalBudget::max_removals`] allows.
    TooManyRemovals {
        /// How many it removes, over all groups.
        removals: usize,
        /// The limit.
        limit: usize,
    },
    /// The run removes a larger fraction of its groups' current members than
    /// [`RemovalBudget::max_fraction`] allows.
    RemovalFraction {
        /// How many it removes.
        removals: usize,
        /// All current members of the run's groups.
        members: usize,
        /// The limit, 0 to 1.
        max_fraction: f64,
    },
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::NeedsApproval { removals } => write!(
                f,
                "refusing to apply: this plan removes {removals} member(s) and no saved plan was \
                 reviewed. Nothing was written."
            ),
            Stop::TooManyRemovals { removals, limit } => write!(
                f,
                "refusing: this run removes {removals} member(s), more than the run's budget of {limit}. \
                 Nothing was written."
            ),
            Stop::RemovalFraction {
                removals,
                members,
                max_fraction,
            } => write!(
                f,
                "refusing: this run removes {removals} of the {members} current member(s) of its groups, \
                 more than {:.0}%. Nothing was written.",
                max_fraction * 100.0
            ),
        }
    }
}

/// One group of a run: where the file puts it, and its report (members labelled with the file's people).
#[derive(Debug, Serialize)]
#[non_exhaustive]
pub struct GroupResult {
    /// The group's key in the file.
    pub key: String,
    /// The group's connection.
    pub connection: String,
    /// What happened.
    #[serde(flatten)]
    pub report: GroupReport,
    /// With a base file ([`RunReport::mark_origins`]): each planned change's member ID and whether this
    /// edit introduced it or it is drift. Empty otherwise.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub origins: BTreeMap<String, Origin>,
}

impl GroupResult {
    /// Group `key` on `connection`, with its report.
    pub fn new(key: impl Into<String>, connection: impl Into<String>, report: GroupReport) -> Self {
        GroupResult {
            key: key.into(),
            connection: connection.into(),
            report,
            origins: BTreeMap::new(),
        }
    }
}

/// The result of a run.
#[derive(Debug)]
#[must_use = "a run's report may hold failures: check `exit_code` or show it"]
#[non_exhaustive]
pub struct RunReport {
    /// Plan or apply.
    pub kind: RunKind,
    /// One result per group, in the file's order.
    pub groups: Vec<GroupResult>,
    /// Apply: the plan made again after writing (no write), to show whether every group converged.
    pub again: Option<Vec<GroupResult>>,
    /// Why nothing was written at all, when that happened.
    pub stopped: Option<Stop>,
    /// Plan: the plan to save for review, when every group could be planned.
    pub saved_plan: Option<SavedPlan>,
    /// Apply: the run was interrupted ([`Guards::interrupt`]); groups not yet written are
    /// [`Status::Interrupted`].
    pub interrupted: bool,
}

/// Counts of a run's groups by what became of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Summary {
    /// Groups in the run.
    pub groups: usize,
    /// Changes pending (plan).
    pub pending: usize,
    /// Written and read back as desired.
    pub applied: usize,
    /// Nothing to change.
    pub unchanged: usize,
    /// Failed, refused, or not readable.
    pub failed: usize,
    /// Not written because the run was interrupted.
    pub interrupted: usize,
}

impl RunReport {
    /// A report of `kind` over `groups`, with nothing planned again, no stop and no plan to save (for
    /// renderers' tests; runs make their own).
    pub fn new(kind: RunKind, groups: Vec<GroupResult>) -> Self {
        RunReport {
            kind,
            groups,
            again: None,
            stopped: None,
            saved_plan: None,
            interrupted: false,
        }
    }

    /// A saved plan as a plan's report, for showing it again (`group-membership show`): each group's
    /// observed members, additions and removals; labelled with the people of `state` when given (the file
    /// the plan was made from).
    pub fn of_saved_plan(plan: &SavedPlan, state: Option<&DesiredState>) -> Self {
        let groups = plan
            .groups
            .iter()
            .map(|g| {
                let observed: BTreeSet<Member> = g.observed.iter().map(saved_member).collect();
                let add: BTreeSet<Member> = g.add.iter().map(saved_member).collect();
                let remove: BTreeSet<Member> = g.remove.iter().map(saved_member).collect();
                let desired = observed
                    .union(&add)
                    .filter(|m| !remove.contains(*m))
                    .cloned()
                    .collect();
                let connection = g.key.split('/').next().unwrap_or_default().to_string();
                let mut report = GroupReport::new(g.service, g.key.clone(), Outcome::Planned)
                    .with_plan(crate::membership::Plan::new(observed, desired));
                if let Some(state) = state {
                    report.relabel(&|m: &mut Member| state.label(&connection, m));
                }
                GroupResult::new(g.key.clone(), connection, report)
            })
            .collect();
        RunReport::new(RunKind::Plan, groups)
    }

    /// Counts by status.
    pub fn summary(&self) -> Summary {
        let mut s = Summary {
            groups: self.groups.len(),
            ..Summary::default()
        };
        for g in &self.groups {
            match g.report.status() {
                Status::Pending => s.pending += 1,
                Status::Applied => s.applied += 1,
                Status::Unchanged => s.unchanged += 1,
                Status::Failed
                | Status::Refused
                | Status::ReadFailed
                | Status::ResolveFailed
                | Status::ChangedSincePlan => s.failed += 1,
                Status::Interrupted => s.interrupted += 1,
            }
        }
        s
    }

    /// Apply: true when the plan made again after writing changes nothing in any group.
    pub fn converged(&self) -> Option<bool> {
        self.again
            .as_ref()
            .map(|again| again.iter().all(|g| g.report.made_no_change()))
    }

    /// The tool's exit code: 0 nothing pending (plan) or everything applied and converged (apply); 2 a
    /// plan found changes; 130 interrupted; 1 anything failed, was refused, or stopped.
    pub fn exit_code(&self) -> u8 {
        let failed = self.groups.iter().any(|g| !g.report.is_success());
        match (self.kind, self.converged()) {
            _ if self.interrupted => 130,
            _ if self.stopped.is_some() || failed => 1,
            (RunKind::Plan, _) if self.groups.iter().any(|g| g.report.has_pending_changes()) => 2,
            (RunKind::Plan, _) => 0,
            (RunKind::Apply, Some(true)) => 0,
            (RunKind::Apply, _) => 1,
        }
    }
}

impl<'a> Run<'a> {
    /// The groups of `state`, each with the client of its connection from `clients`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a group whose members name an unknown person; [`Error::Config`] for a
    /// connection with no client in `clients`.
    pub fn new(state: &'a DesiredState, clients: &BTreeMap<String, Client>) -> Result<Self> {
        let logins = BTreeMap::new();
        Ok(Run {
            state,
            entries: state.entries(clients, &logins)?,
            clients: clients.clone(),
            logins,
            only: None,
            guards: Guards::default(),
            budget: RemovalBudget::default(),
            max_plan_age: Some(DEFAULT_MAX_PLAN_AGE),
            concurrency: 4,
            connection_concurrency: None,
            progress: None,
            connection_of: state
                .groups
                .iter()
                .map(|g| (g.key(), g.connection().to_string()))
                .collect(),
        })
    }

    /// The identity each connection logs in as (connection name → identity, as
    /// [`DesiredState::login_identity`] reads it): a group never loses it unless
    /// [`Guards::allow_self_removal`].
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn login_identities(mut self, logins: BTreeMap<String, String>) -> Result<Self> {
        self.logins = logins;
        self.rebuild()?;
        Ok(self)
    }

    /// Only the groups with these keys (`--group`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming a key the file does not have (and the closest one it has).
    pub fn only_groups(
        mut self,
        keys: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<Self> {
        let keys: BTreeSet<String> = keys.into_iter().map(Into::into).collect();
        let known: Vec<String> = self.state.groups.iter().map(|g| g.key()).collect();
        if let Some(unknown) = keys.iter().find(|k| !known.contains(k)) {
            return Err(Error::invalid_input(
                "group",
                format!(
                    "the file has no group `{unknown}`{}",
                    closest(unknown, &known)
                        .map(|c| format!(" (did you mean `{c}`?)"))
                        .unwrap_or_default()
                ),
            ));
        }
        self.only = Some(keys);
        self.rebuild()?;
        Ok(self)
    }

    /// The run-wide removal budget (default [`RemovalBudget::default`]).
    pub fn removal_budget(mut self, budget: RemovalBudget) -> Self {
        self.budget = budget;
        self
    }

    /// Refuse reviewed plans older than this (`None`: any age). Default [`DEFAULT_MAX_PLAN_AGE`].
    pub fn max_plan_age(mut self, age: Option<Duration>) -> Self {
        self.max_plan_age = age;
        self
    }

    fn rebuild(&mut self) -> Result<()> {
        let entries = self.state.entries(&self.clients, &self.logins)?;
        self.entries = match &self.only {
            None => entries,
            Some(keys) => entries
                .into_iter()
                .filter(|e| keys.contains(e.key()))
                .collect(),
        };
        Ok(())
    }

    /// The guards every group's plan must pass (default: no emptying, no removal limit).
    pub fn guards(mut self, guards: Guards) -> Self {
        self.guards = guards;
        self
    }

    /// How many groups to work on at a time (at least 1; default 4).
    pub fn concurrency(mut self, groups: usize) -> Self {
        self.concurrency = groups.max(1);
        self
    }

    /// At most this many groups of one connection at a time (at least 1; default: no limit beyond
    /// [`concurrency`](Self::concurrency)). Whatever the limit, the groups in flight are shared fairly
    /// between the connections that have work: the next group started is from the connection with the
    /// fewest in flight (then in file order), so groups waiting on one throttled connection never hold
    /// every slot while another connection's groups wait.
    pub fn connection_concurrency(mut self, groups: usize) -> Self {
        self.connection_concurrency = Some(groups.max(1));
        self
    }

    /// Calls `progress` each time a group finishes.
    pub fn on_progress(mut self, progress: &'a (dyn Fn(&Progress<'_>) + Sync)) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Plans every group (nothing is written); the report holds the plan to save when every group could
    /// be planned and the run stays within its removal budget (otherwise [`RunReport::stopped`] says which
    /// budget).
    pub async fn plan(&self) -> RunReport {
        let planned = self.plan_groups().await;
        let stopped = self.over_budget(planned.iter().filter_map(|(_, r)| r.as_ref()));
        let saved_plan = planned
            .iter()
            .zip(&self.entries)
            .map(|((_, reviewed), entry)| {
                reviewed
                    .clone()
                    .map(|r| SavedGroupPlan::new(entry.key(), r))
            })
            .collect::<Option<Vec<_>>>()
            .filter(|_| stopped.is_none())
            .and_then(|groups| SavedPlan::new(self.state, groups).ok());
        let reports = planned.into_iter().map(|(report, _)| report).collect();
        let mut report = RunReport::new(RunKind::Plan, self.results(reports));
        report.stopped = stopped;
        report.saved_plan = saved_plan;
        report
    }

    /// Applies, then plans again (no write) to tell whether every group converged. A group that cannot
    /// be planned or applied never stops the others; a run over its removal budget writes nothing. Once
    /// [`Guards::interrupt`] is raised no write starts, writes in flight finish, and the report says what
    /// was applied, failed or not attempted.
    ///
    /// # Errors
    /// [`Error::InvalidInput`], before anything is read, when a reviewed plan was made from another file,
    /// by another version of this crate, longer ago than the maximum age, or does not cover the run's
    /// groups.
    pub async fn apply(&self, approval: Approval<'_>) -> Result<RunReport> {
        let work: Vec<Work> = match approval {
            Approval::Reviewed(saved) => {
                let plans = self.reviewed_plans(saved)?;
                if let Some(stop) = self.over_budget(plans.iter()) {
                    let mut report = RunReport::new(RunKind::Apply, Vec::new());
                    report.stopped = Some(stop);
                    return Ok(report);
                }
                plans.into_iter().map(Work::Apply).collect()
            }
            Approval::AutoApprove | Approval::NoRemovals => {
                let planned = self.plan_groups().await;
                let reviewed = planned.iter().filter_map(|(_, r)| r.as_ref());
                let removals: usize = reviewed.clone().map(|r| r.remove.len()).sum();
                let stop = match approval {
                    Approval::NoRemovals if removals > 0 => Some(Stop::NeedsApproval { removals }),
                    _ => self.over_budget(reviewed),
                };
                if let Some(stop) = stop {
                    let reports = planned.into_iter().map(|(report, _)| report).collect();
                    let mut report = RunReport::new(RunKind::Apply, self.results(reports));
                    report.stopped = Some(stop);
                    return Ok(report);
                }
                // Apply exactly the plan just made, so the same check guards the span between this run's
                // read and its write.
                planned
                    .into_iter()
                    .map(|(report, reviewed)| match reviewed {
                        Some(plan) => Work::Apply(plan),
                        None => Work::Done(Box::new(report)),
                    })
                    .collect()
            }
        };
        let applied = self
            .each_with(
                work,
                |entry, work| {
                    Box::pin(async move {
                        match work {
                            Work::Apply(plan) => entry.apply_reviewed(&plan, &self.guards).await,
                            Work::Done(report) => *report,
                        }
                    })
                },
                |report| report,
            )
            .await;
        let mut report = RunReport::new(RunKind::Apply, self.results(applied));
        if self.guards.interrupt.is_raised() {
            // Interrupted: report now; planning every group again would only delay it.
            report.interrupted = true;
            return Ok(report);
        }
        let again = self
            .each(|entry| entry.reconcile(&self.guards, false), |r| r)
            .await;
        report.again = Some(self.results(again));
        Ok(report)
    }

    /// The budget's refusal of plans removing what `plans` remove from what they observed.
    fn over_budget<'p>(&self, plans: impl Iterator<Item = &'p ReviewedPlan>) -> Option<Stop> {
        let (removals, members) = plans.fold((0, 0), |(r, m), plan| {
            (r + plan.remove.len(), m + plan.observed.len())
        });
        self.budget.check(removals, members)
    }

    /// Every group's plan, and the reviewed plan of each that could be planned and passed the guards.
    async fn plan_groups(&self) -> Vec<(GroupReport, Option<ReviewedPlan>)> {
        self.each(|entry| entry.plan(&self.guards), |(report, _)| report)
            .await
    }

    /// One reviewed plan per group of the run, in the file's order; refused whole when the plan is not of
    /// this file and this version, too old, or does not cover the run's groups.
    fn reviewed_plans(&self, saved: &SavedPlan) -> Result<Vec<ReviewedPlan>> {
        saved.check_source(self.state)?;
        saved.check_version()?;
        if let Some(max) = self.max_plan_age {
            saved.check_age(max, std::time::SystemTime::now())?;
        }
        if self.only.is_none() && saved.groups.len() != self.entries.len() {
            return Err(Error::invalid_input(
                "saved plan",
                format!(
                    "it covers {} group(s), the file lists {}",
                    saved.groups.len(),
                    self.entries.len()
                ),
            ));
        }
        let by_key: std::collections::HashMap<&str, &SavedGroupPlan> =
            saved.groups.iter().map(|g| (g.key.as_str(), g)).collect();
        self.entries
            .iter()
            .map(|entry| {
                by_key
                    .get(entry.key())
                    .copied()
                    .map(SavedGroupPlan::reviewed)
                    .ok_or_else(|| {
                        Error::invalid_input(
                            "saved plan",
                            format!("it has no group {}", entry.key()),
                        )
                    })
            })
            .collect()
    }

    fn results(&self, reports: Vec<GroupReport>) -> Vec<GroupResult> {
        reports
            .into_iter()
            .zip(&self.entries)
            .map(|(report, entry)| self.result(entry.as_ref(), report))
            .collect()
    }

    /// The group's result, members labelled with the file's people.
    fn result(&self, entry: &dyn Reconcile, mut report: GroupReport) -> GroupResult {
        let connection = self.connection_of(entry);
        // Without people nothing is relabelled (and the plan's member sets are not rebuilt for nothing).
        if !self.state.people.is_empty() {
            report.relabel(&|m: &mut Member| self.state.label(&connection, m));
        }
        GroupResult::new(entry.key(), connection, report)
    }

    async fn each<'s, T: Send + 's>(
        &'s self,
        work: impl Fn(&'s dyn Reconcile) -> Boxed<'s, T>,
        report_of: fn(&T) -> &GroupReport,
    ) -> Vec<T> {
        let inputs = vec![(); self.entries.len()];
        self.each_with(inputs, |entry, ()| work(entry), report_of)
            .await
    }

    /// Runs `work` for every group with its input, `concurrency` at a time; results in the file's order,
    /// progress as each group finishes.
    async fn each_with<'s, I, T: Send + 's>(
        &'s self,
        inputs: Vec<I>,
        work: impl Fn(&'s dyn Reconcile, I) -> Boxed<'s, T>,
        report_of: fn(&T) -> &GroupReport,
    ) -> Vec<T> {
        let total = self.entries.len();
        let mut queue = Schedule::new(
            self.entries.iter().map(|e| self.connection_of(e.as_ref())),
            inputs,
            self.connection_concurrency.unwrap_or(usize::MAX),
        );
        let mut running = futures_util::stream::FuturesUnordered::new();
        let mut results: Vec<(usize, T)> = Vec::with_capacity(total);
        loop {
            while running.len() < self.concurrency {
                let Some((i, input)) = queue.start_next() else {
                    break;
                };
                let future = work(self.entries[i].as_ref(), input);
                running.push(async move { (i, future.await) });
            }
            let Some((i, result)) = running.next().await else {
                break;
            };
            queue.finished(i);
            if let (Some(progress), Some(entry)) = (self.progress, self.entries.get(i)) {
                progress(&Progress {
                    done: results.len() + 1,
                    total,
                    key: entry.key(),
                    status: report_of(&result).status(),
                });
            }
            results.push((i, result));
        }
        results.sort_by_key(|(i, _)| *i);
        results.into_iter().map(|(_, r)| r).collect()
    }

    /// The connection of an entry's group.
    fn connection_of(&self, entry: &dyn Reconcile) -> String {
        self.connection_of
            .get(entry.key())
            .cloned()
            .unwrap_or_default()
    }
}

/// Which group starts next: per connection, a queue in file order; the next group is the head of the
/// queue of the connection with the fewest groups in flight (below its limit), ties to the earlier group.
struct Schedule<I> {
    /// Per connection: groups waiting (index, input) in file order, and how many are in flight.
    connections: Vec<(std::collections::VecDeque<(usize, I)>, usize)>,
    /// Each group's connection (an index into `connections`).
    connection_of: Vec<usize>,
    limit: usize,
}

impl<I> Schedule<I> {
    fn new(connections: impl Iterator<Item = String>, inputs: Vec<I>, limit: usize) -> Self {
        let mut names: Vec<String> = Vec::new();
        let connection_of: Vec<usize> = connections
            .map(|name| match names.iter().position(|n| *n == name) {
                Some(c) => c,
                None => {
                    names.push(name);
                    names.len() - 1
                }
            })
            .collect();
        let mut queues: Vec<(std::collections::VecDeque<(usize, I)>, usize)> =
            names.iter().map(|_| (Default::default(), 0)).collect();
        for (i, input) in inputs.into_iter().enumerate() {
            queues[connection_of[i]].0.push_back((i, input));
        }
        Schedule {
            connections: queues,
            connection_of,
            limit,
        }
    }

    fn start_next(&mut self) -> Option<(usize, I)> {
        let (queue, in_flight) = self
            .connections
            .iter_mut()
            .filter(|(queue, in_flight)| !queue.is_empty() && *in_flight < self.limit)
            .min_by_key(|(queue, in_flight)| (*in_flight, queue.front().map(|(i, _)| *i)))?;
        *in_flight += 1;
        queue.pop_front()
    }

    fn finished(&mut self, group: usize) {
        if let Some((_, in_flight)) = self
            .connection_of
            .get(group)
            .and_then(|&c| self.connections.get_mut(c))
        {
            *in_flight = in_flight.saturating_sub(1);
        }
    }
}

type Boxed<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// What an apply does with one group.
enum Work {
    /// Apply this plan.
    Apply(ReviewedPlan),
    /// Nothing: the group could not be planned, and this is its report.
    Done(Box<GroupReport>),
}

/// The known name closest to `wanted`, when one is close enough to be a likely typo: a few letters typed
/// wrong, left out, added or swapped (`cnd` for `cdn`: optimal string alignment distance up to a third of
/// the length, at least 1), or else a Jaro-Winkler similarity above 0.8 (long names with a shared start).
pub(crate) fn closest<'k>(wanted: &str, known: &'k [String]) -> Option<&'k str> {
    let edits = (wanted.chars().count() / 3).max(1);
    let by_edits = known
        .iter()
        .map(|k| (strsim::osa_distance(wanted, k), k))
        .filter(|(d, _)| *d <= edits)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.as_str());
    by_edits.or_else(|| {
        known
            .iter()
            .map(|k| (strsim::jaro_winkler(wanted, k), k))
            .filter(|(score, _)| *score > 0.8)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, k)| k.as_str())
    })
}

/// A member of a saved plan as reports show it: a string is the identity; a Traffic Ops user is
/// `{"id", "username"}`.
fn saved_member(value: &serde_json::Value) -> Member {
    if let Ok(user) = serde_json::from_value::<TrafficOpsUser>(value.clone()) {
        return Member::of(&user);
    }
    match value {
        serde_json::Value::String(s) => Member::of(s),
        other => Member {
            id: other.to_string(),
            username: None,
            label: other.to_string(),
            person: None,
        },
    }
}
