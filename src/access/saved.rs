//! Saved plans: plan now, review (in a pull request), apply later exactly what was reviewed.
//!
//! A [`SavedPlan`] holds, per group, the members the plan **observed** and the changes it intends, and the
//! SHA-256 of the desired-state file it came from. Applying it reads each group again first: a group whose
//! members differ from what the plan observed is refused, with nothing written to it
//! ([`Outcome::ChangedSincePlan`](crate::membership::Outcome::ChangedSincePlan), listing the difference);
//! the others are changed exactly as planned, with the usual guards and read-back. A plan made from
//! another desired-state file is refused whole.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::file::DesiredState;
use crate::error::{Error, Result};
use crate::membership::{ReviewedPlan, Service};

/// The version of the saved-plan format this crate writes and reads.
pub const SAVED_PLAN_SCHEMA: u32 = 2;

/// The version of this crate (and tool) that saved plans record.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

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
    /// When the plan was made: RFC 3339, UTC (`2026-11-30T18:00:00Z`).
    pub created_at: String,
    /// The version of the crate that made it ([`TOOL_VERSION`]); another version's plan is refused.
    pub tool_version: String,
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
    /// The group's service.
    pub service: Service,
    /// The members the plan read: applying refuses the group if they are not exactly these any more.
    pub observed: Vec<serde_json::Value>,
    /// Members to add.
    pub add: Vec<serde_json::Value>,
    /// Members to remove.
    pub remove: Vec<serde_json::Value>,
}

impl SavedGroupPlan {
    /// Group `key`'s reviewed plan, to save.
    pub fn new(key: impl Into<String>, plan: ReviewedPlan) -> Self {
        SavedGroupPlan {
            key: key.into(),
            service: plan.service,
            observed: plan.observed,
            add: plan.add,
            remove: plan.remove,
        }
    }

    /// True when the plan changes nothing in this group.
    pub fn is_noop(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }

    /// The plan to apply ([`Reconcile::apply_reviewed`](crate::membership::Reconcile::apply_reviewed)).
    pub fn reviewed(&self) -> ReviewedPlan {
        ReviewedPlan {
            service: self.service,
            observed: self.observed.clone(),
            add: self.add.clone(),
            remove: self.remove.clone(),
        }
    }
}

impl SavedPlan {
    /// A plan of `groups` made from `state` (which must have been read from a file: the plan records the
    /// file's digest).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a state made in code, with no file text behind it.
    pub fn new(state: &DesiredState, groups: Vec<SavedGroupPlan>) -> Result<Self> {
        let digest = state.source_sha256().ok_or_else(|| {
            Error::invalid_input(
                "saved plan",
                "the desired state was not read from a file, so no file can be named",
            )
        })?;
        let now = time::OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        let created_at = now
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|e| Error::Internal(format!("formatting the time: {e}")))?;
        Ok(SavedPlan {
            schema: SAVED_PLAN_SCHEMA,
            desired_state_sha256: digest.to_string(),
            created_at,
            tool_version: TOOL_VERSION.to_string(),
            groups,
        })
    }

    /// Reads a saved plan.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for text that is not a saved plan (duplicate or unknown keys included), or
    /// one of a format version this crate does not know.
    pub fn from_json(text: &str) -> Result<SavedPlan> {
        crate::json::refuse_duplicate_keys(text)
            .map_err(|e| Error::invalid_input("saved plan", e.to_string()))?;
        // The format version first, so a plan of another version says so rather than "missing field".
        #[derive(Deserialize)]
        struct Version {
            schema: Option<u32>,
        }
        let version = serde_json::from_str::<Version>(text)
            .map_err(|e| Error::invalid_input("saved plan", e.to_string()))?;
        if version.schema != Some(SAVED_PLAN_SCHEMA) {
            return Err(Error::invalid_input(
                "saved plan",
                format!(
                    "format version {} (this tool reads {SAVED_PLAN_SCHEMA}): plan again with this version",
                    version
                        .schema
                        .map_or_else(|| "missing".to_string(), |v| v.to_string())
                ),
            ));
        }
        serde_json::from_str(text).map_err(|e| Error::invalid_input("saved plan", e.to_string()))
    }

    /// The plan as pretty-printed JSON.
    ///
    /// # Errors
    /// [`Error::Internal`] if it cannot be written (it always can).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self)
            .map(|text| text + "\n")
            .map_err(|e| Error::Internal(format!("writing a saved plan: {e}")))
    }

    /// Refuses to go on unless this plan was made from the file `state` was read from (its text, byte for
    /// byte).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming both digests when the file is another one (or changed since).
    pub fn check_source(&self, state: &DesiredState) -> Result<()> {
        let digest = state
            .source_sha256()
            .unwrap_or("none: not read from a file");
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

    /// Refuses a plan made by another version of this crate: its plans may mean something else.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming both versions.
    pub fn check_version(&self) -> Result<()> {
        if self.tool_version == TOOL_VERSION {
            return Ok(());
        }
        Err(Error::invalid_input(
            "saved plan",
            format!(
                "it was made by group-membership {}, this is {TOOL_VERSION}: plan again with this version",
                self.tool_version
            ),
        ))
    }

    /// Refuses a plan made more than `max` before `now` (or in the future, or with an unreadable time).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] saying how old the plan is and the limit.
    pub fn check_age(&self, max: std::time::Duration, now: std::time::SystemTime) -> Result<()> {
        let made = time::OffsetDateTime::parse(
            &self.created_at,
            &time::format_description::well_known::Rfc3339,
        )
        .map_err(|e| {
            Error::invalid_input(
                "saved plan",
                format!(
                    "`created_at` {:?} is not an RFC 3339 time: {e}",
                    self.created_at
                ),
            )
        })?;
        let now = time::OffsetDateTime::from(now);
        let age = now - made;
        if age.is_negative() && age.unsigned_abs() > std::time::Duration::from_secs(300) {
            return Err(Error::invalid_input(
                "saved plan",
                format!("it says it was made at {}, in the future", self.created_at),
            ));
        }
        if age.is_positive() && age.unsigned_abs() > max {
            return Err(Error::invalid_input(
                "saved plan",
                format!(
                    "it was made at {} ({} ago), longer ago than the limit of {}: plan again, or allow it \
                     with --max-plan-age",
                    self.created_at,
                    human(age.unsigned_abs()),
                    human(max)
                ),
            ));
        }
        Ok(())
    }

    /// The saved plan of the group the desired-state file names `key`.
    pub fn group(&self, key: &str) -> Option<&SavedGroupPlan> {
        self.groups.iter().find(|g| g.key == key)
    }
}

pub(super) fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A duration as people say it: `3d 4h`, `2h 5m`, `45m`, `30s`.
pub(crate) fn human(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match (s / 86_400, s % 86_400 / 3600, s % 3600 / 60) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}
