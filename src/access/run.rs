//! A run over a desired-state file's groups: plan them all, or apply (a reviewed plan, or a fresh one that
//! removes nobody unless approved), a bounded number at a time, with progress, and one typed report.

use std::collections::BTreeMap;

use futures_util::StreamExt;
use serde::Serialize;

use super::file::DesiredState;
use super::saved::{SavedGroupPlan, SavedPlan};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::membership::{GroupReport, Guards, Member, Reconcile, ReviewedPlan, Status};

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
    entries: Vec<Box<dyn Reconcile>>,
    guards: Guards,
    concurrency: usize,
    progress: Option<&'a (dyn Fn(&Progress<'_>) + Sync)>,
}

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Stop {
    /// The fresh plan removes members and neither a reviewed plan nor auto-approval was given.
    NeedsApproval {
        /// How many members the plan would remove, over all groups.
        removals: usize,
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
}

impl GroupResult {
    /// Group `key` on `connection`, with its report.
    pub fn new(key: impl Into<String>, connection: impl Into<String>, report: GroupReport) -> Self {
        GroupResult {
            key: key.into(),
            connection: connection.into(),
            report,
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
        }
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
    /// plan found changes; 1 anything failed, was refused, or stopped.
    pub fn exit_code(&self) -> u8 {
        let failed = self.groups.iter().any(|g| !g.report.is_success());
        match (self.kind, self.converged()) {
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
        Ok(Run {
            state,
            entries: state.entries(clients)?,
            guards: Guards::default(),
            concurrency: 4,
            progress: None,
        })
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

    /// Calls `progress` each time a group finishes.
    pub fn on_progress(mut self, progress: &'a (dyn Fn(&Progress<'_>) + Sync)) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Plans every group (nothing is written); the report holds the plan to save when every group could
    /// be planned.
    pub async fn plan(&self) -> RunReport {
        let planned = self.plan_groups().await;
        let saved_plan = planned
            .iter()
            .zip(&self.entries)
            .map(|((_, reviewed), entry)| {
                reviewed
                    .clone()
                    .map(|r| SavedGroupPlan::new(entry.key(), r))
            })
            .collect::<Option<Vec<_>>>()
            .and_then(|groups| SavedPlan::new(self.state, groups).ok());
        let reports = planned.into_iter().map(|(report, _)| report).collect();
        RunReport {
            kind: RunKind::Plan,
            groups: self.results(reports),
            again: None,
            stopped: None,
            saved_plan,
        }
    }

    /// Applies, then plans again (no write) to tell whether every group converged. A group that cannot
    /// be planned or applied never stops the others.
    ///
    /// # Errors
    /// [`Error::InvalidInput`], before anything is read, when a reviewed plan was made from another file
    /// or does not cover exactly the file's groups.
    pub async fn apply(&self, approval: Approval<'_>) -> Result<RunReport> {
        let work: Vec<Work> = match approval {
            Approval::Reviewed(saved) => self
                .reviewed_plans(saved)?
                .into_iter()
                .map(Work::Apply)
                .collect(),
            Approval::AutoApprove | Approval::NoRemovals => {
                let planned = self.plan_groups().await;
                let removals: usize = planned
                    .iter()
                    .filter_map(|(_, reviewed)| reviewed.as_ref())
                    .map(|r| r.remove.len())
                    .sum();
                if removals > 0 && matches!(approval, Approval::NoRemovals) {
                    let reports = planned.into_iter().map(|(report, _)| report).collect();
                    let mut report = RunReport::new(RunKind::Apply, self.results(reports));
                    report.stopped = Some(Stop::NeedsApproval { removals });
                    return Ok(report);
                }
                // Apply exactly the plan just made, so the same check guards the span between this run's
                // read and its write.
                planned
                    .into_iter()
                    .map(|(report, reviewed)| match reviewed {
                        Some(plan) => Work::Apply(plan),
                        None => Work::Done(report),
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
                            Work::Done(report) => report,
                        }
                    })
                },
                |report| report,
            )
            .await;
        let again = self
            .each(|entry| entry.reconcile(&self.guards, false), |r| r)
            .await;
        let mut report = RunReport::new(RunKind::Apply, self.results(applied));
        report.again = Some(self.results(again));
        Ok(report)
    }

    /// Every group's plan, and the reviewed plan of each that could be planned and passed the guards.
    async fn plan_groups(&self) -> Vec<(GroupReport, Option<ReviewedPlan>)> {
        self.each(|entry| entry.plan(&self.guards), |(report, _)| report)
            .await
    }

    /// One reviewed plan per group, in the file's order; refused whole when the plan is not of this file.
    fn reviewed_plans(&self, saved: &SavedPlan) -> Result<Vec<ReviewedPlan>> {
        saved.check_source(self.state)?;
        if saved.groups.len() != self.entries.len() {
            return Err(Error::invalid_input(
                "saved plan",
                format!(
                    "it covers {} group(s), the file lists {}",
                    saved.groups.len(),
                    self.entries.len()
                ),
            ));
        }
        self.entries
            .iter()
            .map(|entry| {
                saved
                    .group(entry.key())
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
        let connection = self
            .state
            .groups
            .iter()
            .find(|g| g.key() == entry.key())
            .map(|g| g.connection().to_string())
            .unwrap_or_default();
        report.relabel(&|m: &mut Member| self.state.label(&connection, m));
        GroupResult {
            key: entry.key().to_string(),
            connection,
            report,
        }
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
        let mut done = 0;
        let jobs = self
            .entries
            .iter()
            .zip(inputs)
            .enumerate()
            .map(|(i, (entry, input))| {
                let future = work(entry.as_ref(), input);
                async move { (i, future.await) }
            });
        let mut results: Vec<(usize, T)> = futures_util::stream::iter(jobs)
            .buffer_unordered(self.concurrency)
            .inspect(|(i, result)| {
                done += 1;
                if let (Some(progress), Some(entry)) = (self.progress, self.entries.get(*i)) {
                    progress(&Progress {
                        done,
                        total,
                        key: entry.key(),
                        status: report_of(result).status(),
                    });
                }
            })
            .collect()
            .await;
        results.sort_by_key(|(i, _)| *i);
        results.into_iter().map(|(_, r)| r).collect()
    }
}

type Boxed<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// What an apply does with one group.
enum Work {
    /// Apply this plan.
    Apply(ReviewedPlan),
    /// Nothing: the group could not be planned, and this is its report.
    Done(GroupReport),
}
