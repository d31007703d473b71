//! What a change would do (a [`Plan`]), the limits it must respect ([`Guards`]) and the writes that carry it
//! out ([`Step`]). Pure: nothing here reads or writes a service.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;
use serde::ser::SerializeStruct;

use super::policy::{Interrupt, Journal};
use super::report::Refusal;
use super::{Member, MemberId};

/// What a change asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Change {
    /// The group becomes exactly the members named ([`sync`](super::sync)).
    Exact,
    /// The members named are added; the others stay ([`add`](super::add)).
    Add,
    /// The members named are removed; the others stay ([`remove`](super::remove)).
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
    /// The same plan with members as reports show them.
    pub fn members(&self) -> Plan<Member> {
        let set = |s: &BTreeSet<M>| s.iter().map(Member::of).collect();
        let list = |s: &[M]| s.iter().map(Member::of).collect();
        Plan {
            change: self.change,
            named: set(&self.named),
            current: set(&self.current),
            desired: set(&self.desired),
            to_add: list(&self.to_add),
            to_remove: list(&self.to_remove),
            to_keep: list(&self.to_keep),
        }
    }
}

impl Plan<Member> {
    /// Changes every member's label (and person) with `relabel`; identities stay.
    pub(crate) fn relabel(&mut self, relabel: &dyn Fn(&mut Member)) {
        let sets = [&mut self.named, &mut self.current, &mut self.desired];
        for set in sets {
            *set = std::mem::take(set)
                .into_iter()
                .map(|mut m| {
                    relabel(&mut m);
                    m
                })
                .collect();
        }
        for list in [&mut self.to_add, &mut self.to_remove, &mut self.to_keep] {
            list.iter_mut().for_each(relabel);
        }
    }
}

/// The JSON view: `{"change", "current", "add", "remove", "keep"}` (the desired list is `add` + `keep`).
impl<M: Serialize> Serialize for Plan<M> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Plan", 5)?;
        s.serialize_field("change", &self.change)?;
        s.serialize_field("current", &self.current)?;
        s.serialize_field("add", &self.to_add)?;
        s.serialize_field("remove", &self.to_remove)?;
        s.serialize_field("keep", &self.to_keep)?;
        s.end()
    }
}

/// Safety limits on what a sync may do, and the controls of a run in progress. Build with
/// `Guards { max_removals: Some(2), ..Guards::default() }`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Guards {
    /// Allow a plan that leaves a non-empty group with no members.
    pub allow_empty: bool,
    /// Refuse a plan that removes more than this many members of one group (`None`: no limit).
    pub max_removals: Option<usize>,
    /// Allow removing the identity a group's connection logs in as ([`GroupPolicy::login_identity`](super::GroupPolicy::login_identity)).
    pub allow_self_removal: bool,
    /// Once raised, no write starts: the group is [`Outcome::Interrupted`](super::Outcome::Interrupted), or
    /// its remaining steps [`StepResult::Interrupted`](super::StepResult::Interrupted).
    pub interrupt: Interrupt,
    /// Records each write before and after it (an audit log); a write whose intent cannot be recorded is
    /// not sent.
    pub journal: Option<Journal>,
}

impl Guards {
    /// The refusal of a plan, if a guard refuses it.
    pub fn check<M: MemberId>(&self, plan: &Plan<M>) -> Option<Refusal> {
        if plan.desired.is_empty() && !plan.current.is_empty() && !self.allow_empty {
            return Some(Refusal::WouldEmpty {
                members: plan.current.len(),
            });
        }
        match self.max_removals {
            Some(limit) if plan.to_remove.len() > limit => Some(Refusal::TooManyRemovals {
                removals: plan.to_remove.len(),
                limit,
            }),
            _ => None,
        }
    }
}

/// One write a service needs to carry out a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
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
    Add {
        /// Added.
        members: Vec<M>,
    },
    /// One call that removes one member (Traffic Ops' and Entuity's DELETE).
    Remove {
        /// Removed.
        member: M,
    },
}

impl<M: MemberId> Step<M> {
    /// The same step with members as reports show them.
    pub fn members(&self) -> Step<Member> {
        let list = |l: &[M]| l.iter().map(Member::of).collect();
        match self {
            Step::AddAndRemove { add, remove } => Step::AddAndRemove {
                add: list(add),
                remove: list(remove),
            },
            Step::Replace { members } => Step::Replace {
                members: list(members),
            },
            Step::Add { members } => Step::Add {
                members: list(members),
            },
            Step::Remove { member } => Step::Remove {
                member: Member::of(member),
            },
        }
    }
}

impl Step<Member> {
    pub(crate) fn relabel(&mut self, relabel: &dyn Fn(&mut Member)) {
        match self {
            Step::AddAndRemove { add, remove } => {
                add.iter_mut().chain(remove.iter_mut()).for_each(relabel);
            }
            Step::Replace { members } | Step::Add { members } => {
                members.iter_mut().for_each(relabel);
            }
            Step::Remove { member } => relabel(member),
        }
    }
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
            Step::Add { members } => write!(f, "add [{}]", list(members)),
            Step::Remove { member } => write!(f, "remove {member}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::policy::GroupPolicy;
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
        assert_eq!(
            Guards::default().check(&empty),
            Some(Refusal::WouldEmpty { members: 2 })
        );
        let allow_empty = Guards {
            allow_empty: true,
            ..Guards::default()
        };
        assert!(GroupPolicy::default().check(&empty, false).is_none());
        assert_eq!(allow_empty.check(&empty), None);
        let three = Plan::new(set(&["a", "b", "c", "d"]), set(&["d"]));
        let limit = |n| Guards {
            max_removals: Some(n),
            ..Guards::default()
        };
        assert_eq!(
            limit(2).check(&three),
            Some(Refusal::TooManyRemovals {
                removals: 3,
                limit: 2
            })
        );
        assert_eq!(limit(3).check(&three), None);
        assert_eq!(
            Guards::default().check(&Plan::new(set(&[]), set(&[]))),
            None,
            "an empty group staying empty is fine"
        );
    }

    #[test]
    fn group_policies_protect_keep_unmanaged_and_add_only() {
        let current = set(&["admin", "bot", "bob", "me"]);
        let named = set(&["admin", "alice"]);
        let policy = GroupPolicy::default().unmanaged(["bot"]);
        let plan = policy.plan(current.clone(), named.clone(), Change::Exact);
        assert_eq!(plan.to_remove(), ["bob".to_string(), "me".to_string()]);
        assert!(plan.desired().contains("bot"), "unmanaged stays");
        let additive = GroupPolicy::default().additive(true);
        let plan = additive.plan(current.clone(), named.clone(), additive.change());
        assert_eq!(plan.to_add(), ["alice".to_string()]);
        assert!(plan.to_remove().is_empty(), "additive never removes");

        let exact = Plan::new(current.clone(), named);
        let protected = GroupPolicy::default().protected(["bob"]);
        assert_eq!(
            protected.check(&exact, false),
            Some(Refusal::Protected {
                members: vec![Member::of(&"bob".to_string())]
            })
        );
        let me = GroupPolicy::default().login_identity(Some("me".into()));
        assert_eq!(
            me.check(&exact, false),
            Some(Refusal::SelfRemoval {
                member: Member::of(&"me".to_string())
            })
        );
        assert_eq!(me.check(&exact, true), None, "--allow-self-removal");
        let min = GroupPolicy::default().min_members(Some(3));
        assert_eq!(
            min.check(&exact, false),
            Some(Refusal::BelowMinimum { members: 2, min: 3 })
        );
        assert_eq!(
            min.check(&Plan::new(set(&["a"]), set(&["a", "b"])), false),
            None,
            "a group below its minimum may still grow"
        );
    }

    #[test]
    fn report_members_keep_identity_and_label() {
        let p = Plan::new(set(&["a"]), set(&["b"])).members();
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"change": "exact", "current": [{"id": "a", "label": "a"}],
                "add": [{"id": "b", "label": "b"}], "remove": [{"id": "a", "label": "a"}], "keep": []})
        );
    }
}
