//! Many groups at once, whatever their service: [`Desired`] pairs a group with its desired members,
//! [`Reconcile`] makes such pairs object-safe (`Vec<Box<dyn Reconcile>>`), and [`ReviewedPlan`] is a plan
//! with the service's identities as JSON, to save, review and apply later.

use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::Member;
use super::engine::{Reviewed, apply_reviewed, names, run};
use super::plan::{Guards, Plan, Step};
use super::policy::{GroupPolicy, Journal, WriteJournal};
use super::report::StepResult;
use super::report::{GroupReport, Outcome, Refusal};
use super::{GroupMembers, Service};

/// One group and its desired members, ready for [`reconcile_all`].
#[derive(Debug)]
pub struct Desired<G: GroupMembers> {
    /// The group.
    pub group: G,
    /// Who should be in it, named the service's way.
    pub members: Vec<G::Name>,
    /// How a desired-state file names the group; the group's description when made in code. Reviewed
    /// plans find their groups by it.
    pub key: String,
    /// The group's own rules (default: none).
    pub policy: GroupPolicy,
}

impl<G: GroupMembers> Desired<G> {
    /// A group and its desired members, keyed by the group's description.
    pub fn new(group: G, members: impl IntoIterator<Item = impl Into<G::Name>>) -> Self {
        Desired {
            key: group.describe(),
            group,
            members: names::<G>(members),
            policy: GroupPolicy::default(),
        }
    }

    /// The same, with the group's own rules.
    pub fn with_policy(mut self, policy: GroupPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The run's guards, with a journal that names this group by its key.
    fn guards(&self, guards: &Guards) -> Guards {
        let mut guards = guards.clone();
        guards.journal = guards.journal.map(|inner| {
            Journal(std::sync::Arc::new(Keyed {
                key: self.key.clone(),
                inner,
            }))
        });
        guards
    }

    /// The same, keyed `key`.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = key.into();
        self
    }
}

/// A plan of one group with members as the service's identities in JSON (strings; Traffic Ops
/// `{"id": 2, "username": "admin"}`), so it can be saved, reviewed and applied later with
/// [`Reconcile::apply_reviewed`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ReviewedPlan {
    /// The service of the group.
    pub service: Service,
    /// The members the plan read: applying refuses the group if they are not exactly these any more.
    pub observed: Vec<serde_json::Value>,
    /// Members to add.
    pub add: Vec<serde_json::Value>,
    /// Members to remove.
    pub remove: Vec<serde_json::Value>,
}

impl ReviewedPlan {
    /// True when the plan changes nothing in the group.
    pub fn is_noop(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }

    fn of<G: GroupMembers>(group: &G, plan: &Plan<G::Member>) -> Result<Self, String> {
        let values = |members: &mut dyn Iterator<Item = &G::Member>| {
            members
                .map(|m| serde_json::to_value(m).map_err(|e| format!("member {m}: {e}")))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(ReviewedPlan {
            service: group.service(),
            observed: values(&mut plan.current().iter())?,
            add: values(&mut plan.to_add().iter())?,
            remove: values(&mut plan.to_remove().iter())?,
        })
    }
}

/// The future of [`Reconcile::reconcile`] and [`Reconcile::apply_reviewed`].
pub type ReportFuture<'a> = Pin<Box<dyn Future<Output = GroupReport> + Send + 'a>>;

/// The future of [`Reconcile::plan`]: the report, and the plan to review when the group could be planned
/// and no guard refused it.
pub type PlanFuture<'a> =
    Pin<Box<dyn Future<Output = (GroupReport, Option<ReviewedPlan>)> + Send + 'a>>;

/// A group to reconcile, whatever its service (object-safe, for mixed lists such as
/// `Vec<Box<dyn Reconcile>>`).
pub trait Reconcile: Send + Sync + fmt::Debug {
    /// How the desired-state file names the group.
    fn key(&self) -> &str;

    /// The group's service.
    fn service(&self) -> Service;

    /// Plans (`apply: false`) or syncs the group and reports.
    fn reconcile<'a>(&'a self, guards: &'a Guards, apply: bool) -> ReportFuture<'a>;

    /// Plans the group (no write) and returns the plan to review with the report.
    fn plan<'a>(&'a self, guards: &'a Guards) -> PlanFuture<'a>;

    /// Applies a reviewed plan of this group: refused, with nothing written, unless its changes are what
    /// the desired members give from the members it observed ([`Refusal::PlanDiffersFromFile`]) and the
    /// group's members are still exactly those ([`Outcome::ChangedSincePlan`]).
    fn apply_reviewed<'a>(&'a self, plan: &'a ReviewedPlan, guards: &'a Guards)
    -> ReportFuture<'a>;
}

impl<G: GroupMembers> Reconcile for Desired<G> {
    fn key(&self) -> &str {
        &self.key
    }

    fn service(&self) -> Service {
        self.group.service()
    }

    fn reconcile<'a>(&'a self, guards: &'a Guards, apply: bool) -> ReportFuture<'a> {
        Box::pin(async move {
            let (policy, guards) = (&self.policy, self.guards(guards));
            run(
                &self.group,
                &self.members,
                policy.change(),
                &guards,
                policy,
                apply,
            )
            .await
            .0
        })
    }

    fn plan<'a>(&'a self, guards: &'a Guards) -> PlanFuture<'a> {
        Box::pin(async move {
            let policy = &self.policy;
            let (mut report, plan) = run(
                &self.group,
                &self.members,
                policy.change(),
                guards,
                policy,
                false,
            )
            .await;
            let Some(plan) = plan.filter(|_| report.is_success()) else {
                return (report, None);
            };
            match ReviewedPlan::of(&self.group, &plan) {
                Ok(reviewed) => (report, Some(reviewed)),
                Err(reason) => {
                    report.outcome = Outcome::Refused {
                        refusal: Refusal::UnusablePlan { reason },
                    };
                    (report, None)
                }
            }
        })
    }

    fn apply_reviewed<'a>(
        &'a self,
        plan: &'a ReviewedPlan,
        guards: &'a Guards,
    ) -> ReportFuture<'a> {
        Box::pin(async move {
            let group = &self.group;
            let decoded = decode::<G::Member>(&plan.observed).and_then(|observed| {
                Ok((
                    observed,
                    decode::<G::Member>(&plan.add)?,
                    decode::<G::Member>(&plan.remove)?,
                ))
            });
            let unusable = |reason: String| {
                GroupReport::new(
                    group.service(),
                    group.describe(),
                    Outcome::Refused {
                        refusal: Refusal::UnusablePlan { reason },
                    },
                )
            };
            if plan.service != group.service() {
                return unusable(format!(
                    "it is for {}, this group is on {}",
                    plan.service,
                    group.service()
                ));
            }
            match decoded {
                Ok((observed, add, remove)) => {
                    let reviewed = Reviewed {
                        observed,
                        add,
                        remove,
                    };
                    let guards = self.guards(guards);
                    apply_reviewed(group, reviewed, &self.members, &self.policy, &guards).await
                }
                Err(reason) => unusable(format!(
                    "its members are not {} identities: {reason}",
                    group.service()
                )),
            }
        })
    }
}

/// A journal that names the group by its key in a desired-state file rather than its description.
struct Keyed {
    key: String,
    inner: Journal,
}

impl WriteJournal for Keyed {
    fn intent(&self, service: Service, _: &str, step: &Step<Member>) -> crate::Result<()> {
        self.inner.0.intent(service, &self.key, step)
    }
    fn result(&self, service: Service, _: &str, step: &Step<Member>, result: &StepResult) {
        self.inner.0.result(service, &self.key, step, result);
    }
}

fn decode<M: Ord + DeserializeOwned>(values: &[serde_json::Value]) -> Result<BTreeSet<M>, String> {
    values
        .iter()
        .map(|v| serde_json::from_value(v.clone()).map_err(|e| format!("{v}: {e}")))
        .collect()
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
