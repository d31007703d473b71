//! Saved plans: plan now, review (in a pull request), apply later exactly what was reviewed.
//!
//! A [`SavedPlan`] holds, per group, the members the plan **observed** and the changes it intends, and the
//! SHA-256 of the desired-state file it came from. Applying it reads each group again first: a group whose
//! members differ from what the plan observed is refused, with nothing written to it
//! ([`Outcome::ChangedSincePlan`], listing the difference); the others are changed exactly as planned, with
//! the usual guards and read-back. A plan made from another desired-state file is refused whole.

use std::collections::BTreeSet;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::plan::{finish, new_report};
use super::{GroupMembers, GroupReport, Guards, Outcome, Plan};
use crate::error::{Error, Result};

/// The version of the saved-plan format this crate writes and reads.
pub const SAVED_PLAN_SCHEMA: u32 = 1;

/// A plan saved for review and applied later exactly as reviewed. Write it with
/// [`to_json`](Self::to_json), read it with [`from_json`](Self::from_json).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SavedPlan {
    /// The format's version ([`SAVED_PLAN_SCHEMA`]).
    pub schema: u32,
    /// The SHA-256 (lowercase hex) of the desired-state file's text the plan was made from.
    pub desired_state_sha256: String,
    /// One entry per group, in the desired-state file's order.
    pub groups: Vec<SavedGroupPlan>,
}

/// One group of a [`SavedPlan`]. Members are the service's identities as JSON: strings (usernames, user
/// IDs), and for Traffic Ops `{"id": 2, "username": "admin"}` (compared by `id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SavedGroupPlan {
    /// How the desired-state file names the group ([`DesiredGroup::key`](super::DesiredGroup::key)).
    pub key: String,
    /// `uplynk`, `entuity`, `danube` or `traffic_ops`.
    pub service: String,
    /// The members the plan read: applying refuses the group if they are not exactly these any more.
    pub observed: Vec<serde_json::Value>,
    /// Members to add.
    pub add: Vec<serde_json::Value>,
    /// Members to remove.
    pub remove: Vec<serde_json::Value>,
}

impl SavedGroupPlan {
    /// True when the plan changes nothing in this group.
    pub fn is_noop(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }
}

impl SavedPlan {
    /// A plan of `groups` made from the desired-state file whose text is `desired_state`.
    pub fn new(desired_state: &str, groups: Vec<SavedGroupPlan>) -> Self {
        SavedPlan {
            schema: SAVED_PLAN_SCHEMA,
            desired_state_sha256: sha256_hex(desired_state),
            groups,
        }
    }

    /// Reads a saved plan.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for text that is not a saved plan (duplicate or unknown keys included), or
    /// one of a format version this crate does not know.
    pub fn from_json(text: &str) -> Result<SavedPlan> {
        crate::json::refuse_duplicate_keys(text)
            .map_err(|e| Error::invalid_input("saved plan", e.to_string()))?;
        let plan: SavedPlan = serde_json::from_str(text)
            .map_err(|e| Error::invalid_input("saved plan", e.to_string()))?;
        if plan.schema != SAVED_PLAN_SCHEMA {
            return Err(Error::invalid_input(
                "saved plan",
                format!(
                    "format version {} (this tool reads {SAVED_PLAN_SCHEMA})",
                    plan.schema
                ),
            ));
        }
        Ok(plan)
    }

    /// The plan as pretty-printed JSON.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if it cannot be written (it always can).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self)
            .map(|text| text + "\n")
            .map_err(|e| Error::invalid_input("saved plan", e.to_string()))
    }

    /// Refuses to go on unless this plan was made from the desired-state file whose text is
    /// `desired_state`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming both digests when the file is another one (or changed since).
    pub fn check_source(&self, desired_state: &str) -> Result<()> {
        let digest = sha256_hex(desired_state);
        if digest == self.desired_state_sha256 {
            return Ok(());
        }
        Err(Error::invalid_input(
            "saved plan",
            format!(
                "it was made from a desired-state file with SHA-256 {}, not this one ({digest}): plan again \
                 from this file",
                self.desired_state_sha256
            ),
        ))
    }

    /// The saved plan of the group the desired-state file names `key`.
    pub fn group(&self, key: &str) -> Option<&SavedGroupPlan> {
        self.groups.iter().find(|g| g.key == key)
    }
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A group's plan, ready to save.
pub(super) fn save<G: GroupMembers>(
    group: &G,
    key: &str,
    plan: &Plan<G::Member>,
) -> SavedGroupPlan {
    let values = |members: &mut dyn Iterator<Item = &G::Member>| {
        members
            .map(|m| serde_json::to_value(m).unwrap_or(serde_json::Value::Null))
            .collect()
    };
    SavedGroupPlan {
        key: key.to_string(),
        service: group.service().to_string(),
        observed: values(&mut plan.current().iter()),
        add: values(&mut plan.to_add().iter()),
        remove: values(&mut plan.to_remove().iter()),
    }
}

/// Applies one group's saved plan: read, refuse if the members are not the ones observed, otherwise
/// change exactly what was planned (guards, overwrite re-read and read-back as for any apply).
pub(super) async fn apply<G: GroupMembers>(
    group: &G,
    saved: &SavedGroupPlan,
    guards: &Guards,
) -> GroupReport {
    let mut report = new_report(group);
    let decoded = (|| -> Result<_> {
        Ok((
            decode::<G::Member>(&saved.observed)?,
            decode::<G::Member>(&saved.add)?,
            decode::<G::Member>(&saved.remove)?,
        ))
    })();
    let (observed, add, remove) = match decoded {
        Ok(d) if saved.service == group.service() => d,
        Ok(_) => {
            report.outcome = Outcome::Refused(format!(
                "the saved plan is for {}, this group is on {}",
                saved.service,
                group.service()
            ));
            return report;
        }
        Err(e) => {
            report.outcome = Outcome::Refused(format!(
                "the saved plan's members are not {} identities: {e}",
                group.service()
            ));
            return report;
        }
    };
    let desired: BTreeSet<G::Member> = observed
        .union(&add)
        .filter(|m| !remove.contains(*m))
        .cloned()
        .collect();
    let current = match group.members().await {
        Ok(c) => c,
        Err(e) => {
            report.outcome = Outcome::ReadFailed(e);
            return report;
        }
    };
    if current != observed {
        let planned = Plan::new(observed.clone(), desired);
        report.plan = Some(planned.rendered());
        report.outcome = Outcome::ChangedSincePlan {
            appeared: current
                .difference(&observed)
                .map(ToString::to_string)
                .collect(),
            vanished: observed
                .difference(&current)
                .map(ToString::to_string)
                .collect(),
        };
        return report;
    }
    finish(group, Plan::new(current, desired), guards, true, report)
        .await
        .0
}

fn decode<M: Ord + DeserializeOwned>(values: &[serde_json::Value]) -> Result<BTreeSet<M>> {
    values
        .iter()
        .map(|v| {
            serde_json::from_value(v.clone())
                .map_err(|e| Error::invalid_input("saved plan member", format!("{v}: {e}")))
        })
        .collect()
}
