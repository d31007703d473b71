//! The one typed report of a change to one group: what was planned, what became of it, each write with
//! its result. Renderers match [`Outcome`], [`Refusal`] and [`StepResult`] exhaustively (none is
//! `#[non_exhaustive]`, on purpose): a new outcome is a breaking change, so no renderer can print a group
//! it does not understand as "no changes".

use std::fmt;

use serde::Serialize;
use serde::ser::SerializeStruct;

use super::plan::{Plan, Step};
use super::{Member, Service};
use crate::error::{Error, FailedChange, ReportError};

/// Why a guard refused a plan, or why a write was not made. Nothing was written to the group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Refusal {
    /// The plan would remove every member ([`Guards::allow_empty`](super::Guards::allow_empty) allows it).
    WouldEmpty {
        /// How many members the group has.
        members: usize,
    },
    /// The plan removes more members than allowed ([`Guards::max_removals`](super::Guards::max_removals)).
    TooManyRemovals {
        /// How many the plan removes.
        removals: usize,
        /// The limit.
        limit: usize,
    },
    /// The group changed between the plan's read and the read right before an overwrite: writing the
    /// planned list would undo someone's change. Plan again.
    ChangedBeforeOverwrite {
        /// Members present now that the plan did not see.
        appeared: Vec<Member>,
        /// Members the plan saw that are gone now.
        vanished: Vec<Member>,
    },
    /// A targeted change found the group different on every read before its overwrite.
    KeptChanging {
        /// How many reads were made.
        reads: usize,
    },
    /// A reviewed plan could not be applied to this group as it stands (made for another service, or its
    /// members are not this service's identities).
    UnusablePlan {
        /// What is wrong with it.
        reason: String,
    },
    /// The reviewed plan's changes are not what the desired list gives from the members it observed: the
    /// plan was edited after review, or made by another version of the tool.
    PlanDiffersFromFile {
        /// What the plan adds.
        plan_add: Vec<Member>,
        /// What the plan removes.
        plan_remove: Vec<Member>,
        /// What the desired list adds to the observed members.
        file_add: Vec<Member>,
        /// What the desired list removes from them.
        file_remove: Vec<Member>,
    },
    /// The plan removes members that are protected (break-glass admins): never removed.
    Protected {
        /// The protected members the plan would remove.
        members: Vec<Member>,
    },
    /// The plan removes the identity the group's connection logs in as (a self-lockout).
    SelfRemoval {
        /// That identity.
        member: Member,
    },
    /// The plan leaves fewer members than the group's minimum.
    BelowMinimum {
        /// How many it would leave.
        members: usize,
        /// The minimum.
        min: usize,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::WouldEmpty { members } => write!(
                f,
                "refusing to remove all {members} members (emptying a group needs explicit permission)"
            ),
            Refusal::TooManyRemovals { removals, limit } => write!(
                f,
                "refusing to remove {removals} members: the limit is {limit}"
            ),
            Refusal::ChangedBeforeOverwrite { appeared, vanished } => write!(
                f,
                "the group changed since it was read (appeared [{}], vanished [{}]): plan again",
                labels(appeared),
                labels(vanished)
            ),
            Refusal::KeptChanging { reads } => write!(
                f,
                "the group changed on each of {reads} reads before the overwrite: try again later"
            ),
            Refusal::UnusablePlan { reason } => {
                write!(f, "the reviewed plan cannot be applied: {reason}")
            }
            Refusal::PlanDiffersFromFile {
                plan_add,
                plan_remove,
                file_add,
                file_remove,
            } => write!(
                f,
                "the reviewed plan adds [{}] and removes [{}], but the desired list gives adds [{}] and \
                 removes [{}] from the members it observed",
                labels(plan_add),
                labels(plan_remove),
                labels(file_add),
                labels(file_remove)
            ),
            Refusal::Protected { members } => {
                write!(
                    f,
                    "the plan removes protected members [{}]",
                    labels(members)
                )
            }
            Refusal::SelfRemoval { member } => write!(
                f,
                "the plan removes {member}, the identity this connection logs in as"
            ),
            Refusal::BelowMinimum { members, min } => write!(
                f,
                "the plan leaves {members} member(s), fewer than the group's minimum of {min}"
            ),
        }
    }
}

/// What became of one write.
#[derive(Debug, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum StepResult {
    /// Done.
    Applied,
    /// The service refused it, or it could not be sent.
    Failed {
        /// The error.
        #[serde(serialize_with = "as_text")]
        error: Error,
        /// True unless the service certainly did not act (see [`Error::may_have_been_applied`]): the change
        /// may or may not have happened; the read-back tells.
        #[serde(rename = "may_have_reached_server")]
        may_have_applied: bool,
    },
    /// Not tried, because an earlier step failed.
    NotAttempted,
    /// Not tried, because the run was interrupted before it started.
    Interrupted,
}

/// One write and what became of it.
#[derive(Debug, Serialize)]
pub struct StepReport {
    /// The write.
    pub step: Step<Member>,
    /// What became of it.
    #[serde(flatten)]
    pub result: StepResult,
}

/// What happened to one group.
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// The current members could not be read completely: nothing was written.
    ReadFailed {
        /// Why.
        #[serde(serialize_with = "as_text")]
        error: Error,
    },
    /// A member named could not be resolved (an unknown Traffic Ops user, an empty name): nothing was
    /// written.
    ResolveFailed {
        /// Why.
        #[serde(serialize_with = "as_text")]
        error: Error,
    },
    /// Applying a plan made earlier ([`Reconcile::apply_reviewed`](super::Reconcile::apply_reviewed)): the group's members are not
    /// the ones the plan observed, so what was reviewed is no longer what would happen. Nothing was
    /// written.
    ChangedSincePlan {
        /// Members present now that the plan did not see.
        appeared: Vec<Member>,
        /// Members the plan saw that are gone now.
        vanished: Vec<Member>,
    },
    /// Dry run: the plan is shown, nothing was written.
    Planned,
    /// Already as desired: nothing was written.
    Unchanged,
    /// The run was interrupted before any write to this group started: nothing was written.
    Interrupted,
    /// A guard refused the plan, or the write was not made: nothing was written.
    Refused {
        /// Which rule, and why.
        refusal: Refusal,
    },
    /// The steps ran (each with its result, failures included), then the members were read back.
    Applied {
        /// Each step, in order, with what became of it.
        steps: Vec<StepReport>,
        /// Members that are not as asked after the write (someone else's change meanwhile, or a failed
        /// step), or the error of the read-back.
        #[serde(serialize_with = "read_back_view")]
        read_back: Result<Drift, Error>,
    },
}

/// The difference between what was asked and the members read back after a write.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Drift {
    /// Present but not asked for.
    pub unexpected: Vec<Member>,
    /// Asked for but absent.
    pub missing: Vec<Member>,
}

impl Drift {
    /// True when the group is exactly as asked.
    pub fn is_none(&self) -> bool {
        self.unexpected.is_empty() && self.missing.is_empty()
    }
}

/// What became of a group, in one word (the JSON view's `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Nothing to change.
    Unchanged,
    /// A dry run found changes to make.
    Pending,
    /// Every write was applied and the read-back is as asked.
    Applied,
    /// A write failed, or the read-back differs or failed.
    Failed,
    /// A guard refused the plan; nothing was written.
    Refused,
    /// The members could not be read; nothing was written.
    ReadFailed,
    /// A member named could not be resolved; nothing was written.
    ResolveFailed,
    /// The group changed since the reviewed plan; nothing was written.
    ChangedSincePlan,
    /// Interrupted before its first write; nothing was written.
    Interrupted,
}

impl Status {
    /// The word: `unchanged`, `pending`, `applied`, `failed`, `refused`, `read_failed`, `resolve_failed`,
    /// `changed_since_plan`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unchanged => "unchanged",
            Status::Pending => "pending",
            Status::Applied => "applied",
            Status::Failed => "failed",
            Status::Refused => "refused",
            Status::ReadFailed => "read_failed",
            Status::ResolveFailed => "resolve_failed",
            Status::ChangedSincePlan => "changed_since_plan",
            Status::Interrupted => "interrupted",
        }
    }
}

/// The result of planning or changing one group.
///
/// The functions that return one are `#[must_use]`, so a report dropped unread (and any failure in it)
/// warns; `into_result()?` reads it.
#[derive(Debug)]
#[non_exhaustive]
pub struct GroupReport {
    /// The service.
    pub service: Service,
    /// The group's description.
    pub group: String,
    /// The plan, when the read succeeded.
    pub plan: Option<Plan<Member>>,
    /// What happened.
    pub outcome: Outcome,
}

impl GroupReport {
    /// A report of `group` on `service` with `outcome` and no plan (for renderers' tests, and services of
    /// your own).
    pub fn new(service: Service, group: impl Into<String>, outcome: Outcome) -> Self {
        GroupReport {
            service,
            group: group.into(),
            plan: None,
            outcome,
        }
    }

    /// The same report with `plan`.
    pub fn with_plan(mut self, plan: Plan<Member>) -> Self {
        self.plan = Some(plan);
        self
    }

    /// True when nothing failed and the group ended (or would end) as desired.
    pub fn is_success(&self) -> bool {
        matches!(
            self.status(),
            Status::Unchanged | Status::Pending | Status::Applied
        )
    }

    /// What became of the group, in one word.
    pub fn status(&self) -> Status {
        match &self.outcome {
            Outcome::ReadFailed { .. } => Status::ReadFailed,
            Outcome::ResolveFailed { .. } => Status::ResolveFailed,
            Outcome::ChangedSincePlan { .. } => Status::ChangedSincePlan,
            Outcome::Refused { .. } => Status::Refused,
            Outcome::Unchanged => Status::Unchanged,
            Outcome::Interrupted => Status::Interrupted,
            Outcome::Planned if self.plan.as_ref().is_some_and(|p| !p.is_noop()) => Status::Pending,
            Outcome::Planned => Status::Unchanged,
            Outcome::Applied { steps, read_back } => {
                let all_applied = steps
                    .iter()
                    .all(|s| matches!(s.result, StepResult::Applied));
                if all_applied && read_back.as_ref().is_ok_and(Drift::is_none) {
                    Status::Applied
                } else {
                    Status::Failed
                }
            }
        }
    }

    /// True when a write was applied, or failed in a way that may have reached the server.
    pub fn may_have_changed_something(&self) -> bool {
        match &self.outcome {
            Outcome::Applied { steps, .. } => steps.iter().any(|s| match s.result {
                StepResult::Applied => true,
                StepResult::Failed {
                    may_have_applied, ..
                } => may_have_applied,
                StepResult::NotAttempted | StepResult::Interrupted => false,
            }),
            _ => false,
        }
    }

    /// The first error the report holds (a failed read, resolve, write or read-back), when there is one.
    pub fn error(&self) -> Option<&Error> {
        match &self.outcome {
            Outcome::ReadFailed { error } | Outcome::ResolveFailed { error } => Some(error),
            Outcome::Applied { steps, read_back } => steps
                .iter()
                .find_map(|s| match &s.result {
                    StepResult::Failed { error, .. } => Some(error),
                    _ => None,
                })
                .or(read_back.as_ref().err()),
            _ => None,
        }
    }

    /// `Ok(self)` when [`is_success`](Self::is_success), otherwise [`Error::Report`] carrying this report,
    /// so a change fits `?`: `membership::add(&group, ["alice"]).await.into_result()?;`. The error keeps the
    /// cause's status, [`is_timeout`](Error::is_timeout) and source chain.
    ///
    /// # Errors
    /// [`Error::Report`] when something failed, was refused, or the group did not end as asked.
    pub fn into_result(self) -> crate::Result<GroupReport> {
        if self.is_success() {
            Ok(self)
        } else {
            Err(Error::Report(ReportError::new(Box::new(self))))
        }
    }

    /// True when the plan had nothing to change.
    pub fn made_no_change(&self) -> bool {
        self.status() == Status::Unchanged
    }

    /// True when a dry run found changes to make.
    pub fn has_pending_changes(&self) -> bool {
        self.status() == Status::Pending
    }

    /// Changes every member's label with `relabel` (a desired-state run names people this way).
    pub(crate) fn relabel(&mut self, relabel: &dyn Fn(&mut Member)) {
        if let Some(plan) = &mut self.plan {
            plan.relabel(relabel);
        }
        let lists: Vec<&mut Vec<Member>> = match &mut self.outcome {
            Outcome::ChangedSincePlan { appeared, vanished }
            | Outcome::Refused {
                refusal: Refusal::ChangedBeforeOverwrite { appeared, vanished },
            } => vec![appeared, vanished],
            Outcome::Refused {
                refusal:
                    Refusal::PlanDiffersFromFile {
                        plan_add,
                        plan_remove,
                        file_add,
                        file_remove,
                    },
            } => vec![plan_add, plan_remove, file_add, file_remove],
            Outcome::Refused {
                refusal: Refusal::Protected { members },
            } => vec![members],
            Outcome::Refused {
                refusal: Refusal::SelfRemoval { member },
            } => {
                relabel(member);
                vec![]
            }
            Outcome::Applied { steps, read_back } => {
                steps.iter_mut().for_each(|s| s.step.relabel(relabel));
                match read_back {
                    Ok(drift) => vec![&mut drift.unexpected, &mut drift.missing],
                    Err(_) => vec![],
                }
            }
            Outcome::ReadFailed { .. }
            | Outcome::ResolveFailed { .. }
            | Outcome::Planned
            | Outcome::Unchanged
            | Outcome::Interrupted
            | Outcome::Refused { .. } => vec![],
        };
        lists
            .into_iter()
            .flat_map(|l| l.iter_mut())
            .for_each(relabel);
    }
}

/// The JSON view: `service`, `group`, `status`, `may_have_changed_something`, the `plan` when there is one,
/// and the outcome's own fields under `outcome`.
impl Serialize for GroupReport {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("GroupReport", 6)?;
        s.serialize_field("service", &self.service)?;
        s.serialize_field("group", &self.group)?;
        s.serialize_field("status", &self.status())?;
        s.serialize_field(
            "may_have_changed_something",
            &self.may_have_changed_something(),
        )?;
        if let Some(plan) = &self.plan {
            s.serialize_field("plan", plan)?;
        }
        s.serialize_field("outcome", &self.outcome)?;
        s.end()
    }
}

impl fmt::Display for GroupReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} {}", self.service, self.group)?;
        if let Some(p) = &self.plan {
            writeln!(f, "  add:    {}", or_dash(p.to_add()))?;
            writeln!(f, "  remove: {}", or_dash(p.to_remove()))?;
            writeln!(f, "  keep:   {}", or_dash(p.to_keep()))?;
        }
        match &self.outcome {
            Outcome::ReadFailed { error } => write!(f, "  READ FAILED, nothing written: {error}"),
            Outcome::ResolveFailed { error } => {
                write!(f, "  UNKNOWN MEMBER, nothing written: {error}")
            }
            Outcome::ChangedSincePlan { appeared, vanished } => write!(
                f,
                "  CHANGED SINCE THE PLAN, nothing written: appeared [{}], vanished [{}]",
                labels(appeared),
                labels(vanished)
            ),
            Outcome::Planned if self.has_pending_changes() => write!(f, "  pending (dry run)"),
            Outcome::Planned | Outcome::Unchanged => write!(f, "  no changes"),
            Outcome::Interrupted => write!(f, "  INTERRUPTED before any write, nothing written"),
            Outcome::Refused { refusal } => write!(f, "  REFUSED, nothing written: {refusal}"),
            Outcome::Applied { steps, read_back } => {
                for s in steps {
                    match &s.result {
                        StepResult::Applied => writeln!(f, "  applied:       {}", s.step)?,
                        StepResult::Failed {
                            error,
                            may_have_applied,
                        } => writeln!(
                            f,
                            "  FAILED:        {}: {error}{}",
                            s.step,
                            if *may_have_applied {
                                " (may have reached the server)"
                            } else {
                                ""
                            }
                        )?,
                        StepResult::NotAttempted => writeln!(f, "  not attempted: {}", s.step)?,
                        StepResult::Interrupted => {
                            writeln!(f, "  interrupted, not sent: {}", s.step)?;
                        }
                    }
                }
                match read_back {
                    Ok(d) if d.is_none() => write!(f, "  read back: as desired"),
                    Ok(d) => write!(
                        f,
                        "  read back: DRIFT: unexpected [{}], missing [{}]",
                        labels(&d.unexpected),
                        labels(&d.missing)
                    ),
                    Err(e) => write!(f, "  read back FAILED: {e}"),
                }
            }
        }
    }
}

/// A failed report is an error whose source is the failure's own error (a read's, a write's), so
/// `Error::Report` keeps the cause's chain.
impl std::error::Error for GroupReport {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl FailedChange for GroupReport {
    fn may_have_changed_something(&self) -> bool {
        GroupReport::may_have_changed_something(self)
    }
    fn failure(&self) -> Option<&Error> {
        self.error()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl Error {
    /// The report, when a membership change did not fully succeed ([`Error::Report`]).
    pub fn report(&self) -> Option<&GroupReport> {
        match self {
            Error::Report(r) => r.get().as_any().downcast_ref(),
            _ => None,
        }
    }
}

/// Members' labels, comma-separated.
pub(crate) fn labels(members: &[Member]) -> String {
    members
        .iter()
        .map(|m| m.label.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn or_dash(members: &[Member]) -> String {
    if members.is_empty() {
        "-".to_string()
    } else {
        labels(members)
    }
}

fn as_text<S: serde::Serializer>(error: &Error, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(error)
}

fn read_back_view<S: serde::Serializer>(
    read_back: &Result<Drift, Error>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct View<'a> {
        as_desired: bool,
        #[serde(flatten)]
        drift: &'a Drift,
    }
    #[derive(Serialize)]
    struct Failed {
        error: String,
    }
    match read_back {
        Ok(drift) => View {
            as_desired: drift.is_none(),
            drift,
        }
        .serialize(serializer),
        Err(e) => Failed {
            error: e.to_string(),
        }
        .serialize(serializer),
    }
}
