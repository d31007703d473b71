//! One membership interface across the four services, and safe declarative sync.
//!
//! [`GroupMembers`] is "the members of one group" on any service: read the current members, and change
//! them. Member identities keep their native types ([`Uplynk`](UplynkAllowedOwners), [`Entuity`](EntuityUserGroup)
//! and [`Danube Cloud`](DanubeGroupUsers) use names or IDs as `String`; [`Traffic Ops`](TrafficOpsFederationUsers)
//! uses integer user IDs), so code written against the trait works unchanged on all four.
//!
//! Three ways to change a group, each returning a [`GroupReport`] (turn it into a `Result` with
//! [`GroupReport::into_result`]):
//!
//! - [`add`] and [`remove`] change only the members named, with the service's most targeted calls (Uplynk:
//!   one `PUT` with `owners_to_add`/`owners_to_remove`; Entuity: one `POST` or `DELETE` per member; Traffic
//!   Ops: one `POST` without `replace`, one `DELETE` per user; Danube Cloud, which only overwrites: read,
//!   change, read again right before the overwrite and plan again if the group moved, read back). Adding a
//!   member already present, or removing one absent, writes nothing; a member someone else removed
//!   meanwhile is never put back.
//! - [`sync`] makes the group exactly the desired list; [`plan`] shows what it would change (no write).
//!
//! Members are named the service's way ([`GroupMembers::Name`]): usernames or user IDs as strings, and for
//! Traffic Ops a username or an integer ID ([`UserRef`]: `"admin"`, `7`), resolved to users before anything
//! is planned; an unknown user is an error and nothing is written. Reports show Traffic Ops members as
//! `admin (2)`.
//!
//! A sync is safe:
//!
//! - no write ever follows a failed or incomplete read;
//! - emptying a group, or removing more than [`Guards::max_removals`] members, is refused unless allowed;
//! - before an overwrite (Entuity, Danube Cloud), the group is read again and the write refused if it changed
//!   since the plan, so a member someone added meanwhile is never silently removed;
//! - a write that fails part-way is reported exactly: each step applied, failed (and whether it may have
//!   reached the server) or not attempted;
//! - after writing, the members are read back and any drift (someone else's change meanwhile) reported;
//! - the same desired state applied twice makes no write the second time.
//!
//! [`reconcile_all`] does this for many groups across services concurrently, with a bound on parallel
//! groups, and returns one [`GroupReport`] per group, failures included. [`Reconcile::apply_reviewed`]
//! carries out a plan made earlier only if the group still holds the members that plan observed and the
//! plan is what the desired list gives from them. A [`GroupPolicy`] adds one group's own rules (protected
//! and unmanaged members, the connection's own login, additive mode, a minimum size); [`Guards`] carries
//! the run-wide limits, an [`Interrupt`] and a [`Journal`] of every write.
//!
//! Reports are typed all the way down: members as [`Member`] (`{id, label}`), guard refusals as
//! [`Refusal`], each write as a [`StepReport`], and [`Outcome`] and [`StepResult`] are exhaustive on
//! purpose, so code that renders a report handles every outcome or does not compile. Everything
//! serializes (`serde`) for a JSON view.
//!
//! Access as code (a desired-state file, people, reviewed plans, runs over many groups) is built on this
//! engine in [`access`](crate::access).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> group_membership::Result<()> {
//! # let sandbox = group_membership::sandbox::Sandbox::start().expect("sandbox");
//! use group_membership::membership::{add, plan, remove, sync, Guards, TrafficOpsFederationUsers};
//!
//! # let client = sandbox.traffic_ops_client()?;
//! let federation = TrafficOpsFederationUsers::new(client, 1);
//! // Targeted: only `operator` is added; whoever else is there stays.
//! add(&federation, ["operator"]).await.into_result()?;
//! let again = add(&federation, ["operator"]).await;
//! assert!(again.made_no_change(), "already there: no write");
//! remove(&federation, ["operator"]).await.into_result()?;
//!
//! // Declarative: the whole list, by username or ID.
//! let preview = plan(&federation, ["admin", "operator"]).await?;
//! let added: Vec<String> = preview.to_add().iter().map(ToString::to_string).collect();
//! assert_eq!(added, ["operator (3)"]);
//! sync(&federation, [2u64, 3], &Guards::default()).await.into_result()?;
//! # Ok(()) }
//! ```

mod engine;
mod identity;
mod plan;
mod policy;
mod reconcile;
mod report;
mod targets;

use std::collections::BTreeSet;
use std::fmt::{self, Debug, Display};
use std::hash::Hash;

use std::future::Future;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use self::engine::{add, plan, remove, sync, sync_entry};
pub use self::identity::{TrafficOpsUser, UserRef};
pub use self::plan::{Change, Guards, Plan, Step};
pub use self::policy::{GroupPolicy, Interrupt, Journal, WriteJournal};
pub use self::reconcile::{
    Desired, PlanFuture, Reconcile, ReportFuture, ReviewedPlan, reconcile_all,
};
pub use self::report::{Drift, GroupReport, Outcome, Refusal, Status, StepReport, StepResult};
pub use self::targets::{
    DanubeGroupListing, DanubeGroupUsers, EntuityConfigSet, EntuityUserGroup,
    TrafficOpsFederationUsers, UplynkAllowedOwners,
};
use crate::error::{Error, Result};

/// A service whose groups this crate manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Service {
    /// Uplynk v4: a failover group's allowed owners.
    Uplynk,
    /// Entuity: a config set's user group.
    Entuity,
    /// Danube Cloud: a group's users.
    Danube,
    /// Traffic Ops: a federation's users.
    TrafficOps,
}

impl Service {
    /// The name used in files and reports: `uplynk`, `entuity`, `danube`, `traffic_ops`.
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Uplynk => "uplynk",
            Service::Entuity => "entuity",
            Service::Danube => "danube",
            Service::TrafficOps => "traffic_ops",
        }
    }
}

impl Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A member's identity on some service: a username or user ID string, or a [`TrafficOpsUser`]. Serde
/// makes it savable in a reviewed plan.
pub trait MemberId:
    Clone + Ord + Hash + Display + Debug + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// The identity the service keys membership by, as text: the username or user ID (Traffic Ops: the
    /// integer user ID).
    fn identity(&self) -> String;

    /// The member's username, when the identity is something else (Traffic Ops: a user ID's username, when
    /// known). People in a desired-state file may name a member by it.
    fn username(&self) -> Option<&str> {
        None
    }

    /// How reports show the member: its `Display` (a name is shown as itself).
    fn label(&self) -> String {
        self.to_string()
    }
}

impl MemberId for String {
    fn identity(&self) -> String {
        self.clone()
    }
    fn label(&self) -> String {
        self.clone()
    }
}

/// A member as reports show it: the service's identity, the username when that is not the identity, and a
/// label for people. The engine labels members as the service renders them (`kim1`, `admin (2)`); a
/// desired-state run relabels the ones that are a declared person (`@alice = kim1`), and says who.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Member {
    /// The identity the service keys membership by ([`MemberId::identity`]).
    pub id: String,
    /// The username, when the identity is something else (Traffic Ops).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// How to show the member: `kim1`, `admin (2)`, or `@alice = kim1` for a declared person.
    pub label: String,
    /// The declared person this member is, when it is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
}

impl Member {
    /// The report's view of a service identity, labelled as the service renders it.
    pub fn of<M: MemberId>(member: &M) -> Self {
        Member {
            id: member.identity(),
            username: member.username().map(str::to_string),
            label: member.label(),
            person: None,
        }
    }
}

// Members are the same when their identities are: labels are for people.
impl PartialEq for Member {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
impl Eq for Member {}
impl PartialOrd for Member {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Member {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.id.cmp(&other.id)
    }
}
impl Hash for Member {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}
impl Display for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label)
    }
}
impl MemberId for Member {
    fn identity(&self) -> String {
        self.id.clone()
    }
    fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }
}

/// "The members of one group" on one service.
pub trait GroupMembers: Send + Sync + Debug {
    /// The service's member identity: a `String` (username or user ID), or a [`TrafficOpsUser`].
    type Member: MemberId;

    /// How callers name a member: a `String`, or for Traffic Ops a [`UserRef`] (username or ID).
    type Name: Clone + Debug + Send + Sync + 'static;

    /// The service.
    fn service(&self) -> Service;

    /// A human description of the group, e.g. `uplynk failover group e8d6…`.
    fn describe(&self) -> String;

    /// The complete current membership. An incomplete answer (a page of a longer list) is an error, never a
    /// partial set.
    ///
    /// # Errors
    /// Any error of the read; an incomplete answer is [`Error::IncompleteRead`], one not understood
    /// [`Error::Decode`].
    fn members(&self) -> impl Future<Output = Result<BTreeSet<Self::Member>>> + Send;

    /// The current membership for planning (never for the read right before a write): the default reads
    /// the group ([`members`](Self::members)); a group that shares a connection-wide listing read once
    /// (Danube Cloud's [`DanubeGroupListing`]) takes its members from there, and reads on its own only
    /// when the listing does not clearly answer for it. Exactly as strict as [`members`](Self::members).
    ///
    /// # Errors
    /// As [`members`](Self::members).
    fn planning_members(&self) -> impl Future<Output = Result<BTreeSet<Self::Member>>> + Send {
        self.members()
    }

    /// The members `wanted` names, knowing the `current` ones (Traffic Ops looks up the users the current
    /// members do not name).
    ///
    /// # Errors
    /// A name that means no member: [`Error::UnknownMember`] for a user the service does not have,
    /// [`Error::InvalidInput`] for an empty name. Nothing is planned.
    fn resolve(
        &self,
        wanted: &[Self::Name],
        current: &BTreeSet<Self::Member>,
    ) -> impl Future<Output = Result<BTreeSet<Self::Member>>> + Send;

    /// Checks that the members a plan adds exist on the service, where resolving them did not already
    /// (Danube Cloud looks each one up). The default checks nothing.
    ///
    /// # Errors
    /// [`Error::UnknownMember`] for a member the service does not have: nothing is written.
    fn check_additions(&self, added: &[Self::Member]) -> impl Future<Output = Result<()>> + Send {
        let _ = added;
        std::future::ready(Ok(()))
    }

    /// The steps that carry `plan` out: the most targeted calls this service has for an
    /// [`add`]/[`remove`], the fewest calls for a [`sync`] ([`Plan::change`] tells which).
    fn steps(&self, plan: &Plan<Self::Member>) -> Vec<Step<Self::Member>>;

    /// Performs one step. An overwrite ([`Step::Replace`]) must be sent once, without retrying after a
    /// wait: the engine waits itself, reads the group again and plans again before another attempt, so an
    /// overwrite is never sent on the strength of a read older than the wait.
    ///
    /// # Errors
    /// Any error of the write ([`Error::may_have_been_applied`] tells whether it may have taken effect).
    fn perform(&self, step: &Step<Self::Member>) -> impl Future<Output = Result<()>> + Send;

    /// Waits `wait` on the group's client's timer (the default waits on tokio's), before another attempt
    /// at a throttled overwrite.
    fn pause(&self, wait: std::time::Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(wait)
    }
}

/// Refuses an incomplete read: the service said it has more members than it returned.
pub(crate) fn complete(what: &str, returned: usize, total: Option<u64>) -> Result<()> {
    match total {
        Some(t) if t > returned as u64 => Err(Error::IncompleteRead {
            what: what.to_string(),
            returned: returned as u64,
            total: t,
        }),
        _ => Ok(()),
    }
}

/// Collects members, refusing duplicates the service should never send.
pub(crate) fn member_set<M: MemberId>(members: impl IntoIterator<Item = M>) -> BTreeSet<M> {
    members.into_iter().collect::<BTreeSet<_>>()
}
