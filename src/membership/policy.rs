//! What one group allows beyond the run-wide [`Guards`](super::Guards): members nobody may remove (break-glass
//! admins, the connection's own login), members the tool never touches (another system's service
//! accounts), additive groups, a minimum size; and the two controls of a run in progress: an
//! [`Interrupt`] that stops new writes, and a [`Journal`] that records each write before and after it.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::plan::{Change, Plan, Step};
use super::report::{Refusal, StepResult};
use super::{Member, MemberId};

/// One group's own rules. Members are named by identity: a username or user ID, or for Traffic Ops the
/// integer ID or the username; [`MemberId::identity`] and [`MemberId::username`] are matched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupPolicy {
    /// Add only, never remove (`"mode": "additive"` in a desired-state file).
    pub additive: bool,
    /// Members never added nor removed: the plan leaves them as they are, whatever the desired list says.
    pub unmanaged: BTreeSet<String>,
    /// Members never removed (break-glass admins): a plan removing one is refused.
    pub protected: BTreeSet<String>,
    /// The identity the group's connection logs in as: never removed unless
    /// [`Guards::allow_self_removal`](super::Guards::allow_self_removal), so a run cannot lock itself out.
    pub login_identity: Option<String>,
    /// A plan leaving fewer members than this is refused.
    pub min_members: Option<usize>,
    /// Members whose grant has ended: removed when present, in additive groups too (they are not in the
    /// desired list of an exact group).
    pub ended: BTreeSet<String>,
}

/// True when `member` is one of `identities` (by identity, or by username).
pub(crate) fn named_in<M: MemberId>(member: &M, identities: &BTreeSet<String>) -> bool {
    identities.contains(&member.identity())
        || member.username().is_some_and(|u| identities.contains(u))
}

impl GroupPolicy {
    /// The same policy (builder style): additive.
    pub fn additive(mut self, additive: bool) -> Self {
        self.additive = additive;
        self
    }
    /// The same policy with these unmanaged members.
    pub fn unmanaged(mut self, members: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.unmanaged = members.into_iter().map(Into::into).collect();
        self
    }
    /// The same policy with these protected members.
    pub fn protected(mut self, members: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.protected = members.into_iter().map(Into::into).collect();
        self
    }
    /// The same policy with the connection's login identity.
    pub fn login_identity(mut self, identity: Option<String>) -> Self {
        self.login_identity = identity;
        self
    }
    /// The same policy with a minimum size.
    pub fn min_members(mut self, min: Option<usize>) -> Self {
        self.min_members = min;
        self
    }

    /// Members whose grant has ended (identities, or Traffic Ops usernames): a plan removes them when
    /// present, in an additive group too.
    pub fn ended(mut self, members: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.ended = members.into_iter().map(Into::into).collect();
        self
    }

    /// The change a desired list asks for under this policy: exact, or only additions.
    pub(crate) fn change(&self) -> Change {
        if self.additive {
            Change::Add
        } else {
            Change::Exact
        }
    }

    /// The plan from `current` to the members `named` ask for, unmanaged members left as they are.
    pub(crate) fn plan<M: MemberId>(
        &self,
        current: BTreeSet<M>,
        named: BTreeSet<M>,
        change: Change,
    ) -> Plan<M> {
        let plan = self.without_ended(Plan::for_change(current, named, change));
        if self.unmanaged.is_empty() {
            return plan;
        }
        let keep_as_is = |m: &M| named_in(m, &self.unmanaged);
        let desired: BTreeSet<M> = plan
            .desired()
            .iter()
            .filter(|m| !keep_as_is(m))
            .chain(plan.current().iter().filter(|m| keep_as_is(m)))
            .cloned()
            .collect();
        let named: BTreeSet<M> = plan
            .named()
            .iter()
            .filter(|m| !keep_as_is(m))
            .cloned()
            .collect();
        let change = plan.change();
        let current = plan.current().clone();
        match change {
            // Exact: the desired list with unmanaged members as they are now.
            Change::Exact => Plan::for_change(current, desired, Change::Exact),
            // Targeted changes never name unmanaged members.
            Change::Add | Change::Remove => Plan::for_change(current, named, change),
        }
    }

    /// An additive plan that would keep a member whose grant has ended becomes the exact plan without them.
    fn without_ended<M: MemberId>(&self, plan: Plan<M>) -> Plan<M> {
        let ended = |m: &M| named_in(m, &self.ended);
        if plan.change() != Change::Add || !plan.desired().iter().any(ended) {
            return plan;
        }
        let desired = plan
            .desired()
            .iter()
            .filter(|m| !ended(m))
            .cloned()
            .collect();
        Plan::for_change(plan.current().clone(), desired, Change::Exact)
    }

    /// The refusal of a plan by this group's rules, if any.
    pub(crate) fn check<M: MemberId>(
        &self,
        plan: &Plan<M>,
        allow_self_removal: bool,
    ) -> Option<Refusal> {
        let protected: Vec<Member> = plan
            .to_remove()
            .iter()
            .filter(|m| named_in(*m, &self.protected))
            .map(Member::of)
            .collect();
        if !protected.is_empty() {
            return Some(Refusal::Protected { members: protected });
        }
        if let Some(login) = &self.login_identity {
            let own: BTreeSet<String> = [login.clone()].into();
            if let Some(me) = plan.to_remove().iter().find(|m| named_in(*m, &own))
                && !allow_self_removal
            {
                return Some(Refusal::SelfRemoval {
                    member: Member::of(me),
                });
            }
        }
        match self.min_members {
            Some(min) if plan.desired().len() < min && !plan.to_remove().is_empty() => {
                Some(Refusal::BelowMinimum {
                    members: plan.desired().len(),
                    min,
                })
            }
            _ => None,
        }
    }
}

/// Stops a run from starting new writes (Ctrl-C): writes in flight finish, the rest are reported as not
/// attempted. Clones share the flag.
#[derive(Clone, Default)]
pub struct Interrupt(Arc<AtomicBool>);

impl Interrupt {
    /// A flag not yet raised.
    pub fn new() -> Self {
        Self::default()
    }
    /// Raises it: no write starts after this.
    pub fn raise(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    /// True once raised.
    pub fn is_raised(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

impl fmt::Debug for Interrupt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Interrupt({})", self.is_raised())
    }
}
impl PartialEq for Interrupt {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
impl Eq for Interrupt {}

/// Records each write of a run: [`intent`](WriteJournal::intent) before it is sent (a write is not sent
/// when its intent cannot be recorded) and [`result`](WriteJournal::result) after it, so a crash
/// mid-apply still leaves what was attempted.
pub trait WriteJournal: Send + Sync {
    /// About to send `step` to `group` (`service` is its service).
    ///
    /// # Errors
    /// The intent could not be recorded: the write is not sent.
    fn intent(
        &self,
        service: super::Service,
        group: &str,
        step: &Step<Member>,
    ) -> crate::Result<()>;
    /// What became of `step`.
    fn result(
        &self,
        service: super::Service,
        group: &str,
        step: &Step<Member>,
        result: &StepResult,
    );
}

/// A shared [`WriteJournal`] (compared by identity).
#[derive(Clone)]
pub struct Journal(pub Arc<dyn WriteJournal>);

impl fmt::Debug for Journal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Journal")
    }
}
impl PartialEq for Journal {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
impl Eq for Journal {}
