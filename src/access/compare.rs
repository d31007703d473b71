//! What a review needs beyond the plan: which of its changes *this edit* of the file introduced and which
//! are drift that was already there ([`RunReport::mark_origins`]), and which grants end soon or have ended
//! ([`DesiredState::grants_ending`]). Pure: nothing here reads a service.

use std::collections::BTreeSet;

use serde::Serialize;
use time::OffsetDateTime;

use super::file::{DesiredGroup, DesiredState, Mode};
use super::run::RunReport;
use crate::membership::{Member, UserRef};

/// Why a planned change is in the plan, next to the file it was compared with (`plan --base OLD_FILE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Origin {
    /// This edit of the file asks for it: the old file would not have made this change.
    Edit,
    /// The service already differed from the old file too: someone changed the group outside the file.
    Drift,
}

impl Origin {
    /// `edit` or `drift`.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Edit => "edit",
            Origin::Drift => "drift",
        }
    }
}

impl RunReport {
    /// Marks each planned addition and removal of every group as introduced by this edit
    /// ([`Origin::Edit`]) or as drift ([`Origin::Drift`]), by asking what `base` (the file before the
    /// edit) would have planned from the same observed members: an addition is drift when `base` wanted
    /// the member too; a removal is drift when `base` would have removed the member too. Every change of
    /// a group `base` does not list is an edit. The marks are in [`GroupResult::origins`](super::GroupResult::origins).
    pub fn mark_origins(&mut self, base: &DesiredState) {
        let base_groups: std::collections::HashMap<String, &DesiredGroup> =
            base.groups.iter().map(|g| (g.key(), g)).collect();
        for result in &mut self.groups {
            let Some(plan) = &result.report.plan else {
                continue;
            };
            let old = base_groups.get(&result.key).copied();
            let wanted = old.map(|g| identities(base, g));
            let kept = old.map(|g| kept_by(base, g));
            let mut origins = std::collections::BTreeMap::new();
            for m in plan.to_add() {
                let drift = wanted.as_ref().is_some_and(|w| names(m, w));
                origins.insert(
                    m.id.clone(),
                    if drift { Origin::Drift } else { Origin::Edit },
                );
            }
            for m in plan.to_remove() {
                let drift = kept.as_ref().is_some_and(|k| !names(m, k));
                origins.insert(
                    m.id.clone(),
                    if drift { Origin::Drift } else { Origin::Edit },
                );
            }
            result.origins = origins;
        }
    }
}

/// The members a group of `state` wants, as identities (ended grants excluded).
fn identities(state: &DesiredState, group: &DesiredGroup) -> BTreeSet<String> {
    state
        .expanded(group)
        .unwrap_or_default()
        .iter()
        .map(UserRef::to_string)
        .collect()
}

/// Whom a group of `state` keeps when present: in an additive group everyone whose grant has not ended;
/// in an exact group its wanted and unmanaged members.
fn kept_by(state: &DesiredState, group: &DesiredGroup) -> Keep {
    let (mode, unmanaged, _) = group.rules();
    let ended: BTreeSet<String> = state
        .ended(group)
        .unwrap_or_default()
        .iter()
        .map(UserRef::to_string)
        .collect();
    if mode == Mode::Additive {
        return Keep::AllBut(ended);
    }
    let mut kept = identities(state, group);
    kept.extend(unmanaged.iter().filter_map(|u| {
        state
            .identity_of(u, group.connection(), group)
            .ok()
            .map(|id| id.to_string())
    }));
    Keep::Only(kept)
}

/// Whom a group keeps when present.
enum Keep {
    /// Everyone but these (an additive group: only ended grants go).
    AllBut(BTreeSet<String>),
    /// Only these (an exact group).
    Only(BTreeSet<String>),
}

trait Names {
    fn names(&self, member: &Member) -> bool;
}

impl Names for BTreeSet<String> {
    fn names(&self, m: &Member) -> bool {
        self.contains(&m.id) || m.username.as_ref().is_some_and(|u| self.contains(u))
    }
}

impl Names for Keep {
    fn names(&self, m: &Member) -> bool {
        match self {
            Keep::AllBut(ended) => !ended.names(m),
            Keep::Only(kept) => kept.names(m),
        }
    }
}

fn names(member: &Member, set: &impl Names) -> bool {
    set.names(member)
}

/// A member entry with an end date that has passed or falls within the window asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct GrantEnding {
    /// The group's key.
    pub group: String,
    /// The member as the file writes it (`@alice`, a username or an ID).
    pub member: String,
    /// The end, as written.
    pub until: String,
    /// True when it has ended: the plan removes the membership.
    pub ended: bool,
    /// Whole days left (0 on the last day; negative once ended).
    pub days_left: i64,
}

impl DesiredState {
    /// Every member entry whose grant has ended, or ends within `days` of [`now`](Self::now), in file
    /// order.
    pub fn grants_ending(&self, days: u32) -> Vec<GrantEnding> {
        let now = self.now();
        let horizon = now + time::Duration::days(i64::from(days));
        self.groups
            .iter()
            .flat_map(|group| {
                group.members().iter().filter_map(move |entry| {
                    let until = entry.until.as_ref()?;
                    (until.ends_at() <= horizon).then(|| GrantEnding {
                        group: group.key(),
                        member: entry.member.to_string(),
                        until: until.to_string(),
                        ended: until.has_passed(now),
                        days_left: days_between(now, until.ends_at()),
                    })
                })
            })
            .collect()
    }
}

/// Whole days from `now` to `end`, rounded down (negative when `end` has passed).
fn days_between(now: OffsetDateTime, end: OffsetDateTime) -> i64 {
    let seconds = (end - now).whole_seconds();
    seconds.div_euclid(86_400)
}

/// One group a person is in, or should be in: on which connection, as which identity, and whether the file
/// wants it and the service has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PersonAccess {
    /// The group's key.
    pub group: String,
    /// The group's service.
    pub service: crate::membership::Service,
    /// The person's identity on the group's connection.
    pub identity: String,
    /// The file lists the person in this group (and the grant has not ended).
    pub desired: bool,
    /// The grant's end, when the file gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// The service has the person in this group now (`None`: not read).
    pub live: Option<bool>,
}

impl DesiredState {
    /// Every group `person` (the file's name, without `@`) is in or should be in: the groups of this file
    /// that list them (desired), and the groups of `live` (an [`export`](Self::export) of the services)
    /// that hold their identity. One row per group, this file's groups first.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) when the file declares no such person (naming
    /// the closest one).
    pub fn person_access(
        &self,
        person: &str,
        live: Option<&DesiredState>,
    ) -> crate::Result<Vec<PersonAccess>> {
        let Some(identities) = self.people.get(person) else {
            let known: Vec<String> = self.people.keys().map(|p| format!("@{p}")).collect();
            let hint = super::check::did_you_mean(&format!("@{person}"), &known);
            return Err(crate::Error::invalid_input(
                "person",
                format!("`@{person}` is not one of the file's `people`{hint}"),
            ));
        };
        let listed_by_key: std::collections::HashMap<String, &DesiredGroup> =
            self.groups.iter().map(|g| (g.key(), g)).collect();
        let live_by_key: std::collections::HashMap<String, &DesiredGroup> = live
            .map(|l| l.groups.iter().map(|g| (g.key(), g)).collect())
            .unwrap_or_default();
        let mut keys: Vec<&DesiredGroup> = self.groups.iter().collect();
        if let Some(live) = live {
            keys.extend(
                live.groups
                    .iter()
                    .filter(|g| !listed_by_key.contains_key(&g.key())),
            );
        }
        let reference = UserRef::Username(format!("@{person}"));
        Ok(keys
            .into_iter()
            .filter_map(|group| {
                let identity = identities.get(group.connection())?;
                let key = group.key();
                let listed = listed_by_key.get(&key).copied();
                let entry = listed.and_then(|g| {
                    g.members()
                        .iter()
                        .find(|e| e.member == reference || e.member == *identity)
                });
                let holds = |g: &DesiredGroup| {
                    g.members()
                        .iter()
                        .any(|e| e.member == reference || e.member == *identity)
                };
                let live_now = live.map(|_| live_by_key.get(&key).is_some_and(|g| holds(g)));
                let desired = entry.is_some_and(|e| !e.has_ended(self.now()));
                (desired || live_now == Some(true)).then(|| PersonAccess {
                    group: key.clone(),
                    service: group.service(),
                    identity: identity.to_string(),
                    desired,
                    until: entry
                        .and_then(|e| e.until.as_ref())
                        .map(ToString::to_string),
                    live: live_now,
                })
            })
            .collect())
    }
}
