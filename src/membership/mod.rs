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
//! groups, and returns one [`GroupReport`] per group, failures included. [`DesiredState`] reads the
//! documented JSON file format of who should be in which group (`examples/memberships.json`).
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

mod export;
mod file;
mod identity;
mod plan;
mod saved;
mod targets;

use std::collections::BTreeSet;
use std::fmt::{Debug, Display};
use std::hash::Hash;

use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use self::export::ExportScope;
pub use self::file::{Connection, DesiredGroup, DesiredState, Service};
pub use self::identity::{TrafficOpsUser, UserRef};
pub use self::plan::{
    Change, Desired, Drift, GroupReport, Guards, Outcome, Plan, Reconcile, ReportFuture,
    SaveFuture, Step, StepResult, add, plan, reconcile_all, remove, sync, sync_entry,
};
pub use self::saved::{SAVED_PLAN_SCHEMA, SavedGroupPlan, SavedPlan};
pub use self::targets::{
    DanubeGroupUsers, EntuityConfigSet, EntuityUserGroup, TrafficOpsFederationUsers,
    UplynkAllowedOwners,
};
use crate::error::{Error, Result};

/// A member's identity on some service: a username or user ID string, or a [`TrafficOpsUser`]. Serde
/// makes it savable in a [`SavedPlan`].
pub trait MemberId:
    Clone + Ord + Hash + Display + Debug + Serialize + DeserializeOwned + Send + Sync + 'static
{
}
impl<T> MemberId for T where
    T: Clone + Ord + Hash + Display + Debug + Serialize + DeserializeOwned + Send + Sync + 'static
{
}

/// "The members of one group" on one service.
pub trait GroupMembers: Send + Sync + Debug {
    /// The service's member identity: a `String` (username or user ID), or a [`TrafficOpsUser`].
    type Member: MemberId;

    /// How callers name a member: a `String`, or for Traffic Ops a [`UserRef`] (username or ID).
    type Name: Clone + Debug + Send + Sync + 'static;

    /// The service's name: `uplynk`, `entuity`, `danube` or `traffic_ops`.
    fn service(&self) -> &'static str;

    /// A human description of the group, e.g. `uplynk failover group e8d6…`.
    fn describe(&self) -> String;

    /// The complete current membership. An incomplete answer (a page of a longer list) is an error, never a
    /// partial set.
    ///
    /// # Errors
    /// Any error of the read; an incomplete or not understood answer is an error too.
    fn members(&self) -> impl Future<Output = Result<BTreeSet<Self::Member>>> + Send;

    /// The members `wanted` names, knowing the `current` ones (Traffic Ops looks up the users the current
    /// members do not name).
    ///
    /// # Errors
    /// A name that means no member (an unknown user, an empty name) is an error: nothing is planned.
    fn resolve(
        &self,
        wanted: &[Self::Name],
        current: &BTreeSet<Self::Member>,
    ) -> impl Future<Output = Result<BTreeSet<Self::Member>>> + Send;

    /// The steps that carry `plan` out: the most targeted calls this service has for an
    /// [`add`]/[`remove`], the fewest calls for a [`sync`] ([`Plan::change`] tells which).
    fn steps(&self, plan: &Plan<Self::Member>) -> Vec<Step<Self::Member>>;

    /// Performs one step.
    ///
    /// # Errors
    /// Any error of the write ([`Error::may_have_been_applied`] tells whether it may have taken effect).
    fn perform(&self, step: &Step<Self::Member>) -> impl Future<Output = Result<()>> + Send;
}

/// Refuses an incomplete read: the service said it has more members than it returned.
pub(crate) fn complete(what: &str, returned: usize, total: Option<u64>) -> Result<()> {
    match total {
        Some(t) if t > returned as u64 => Err(Error::invalid_input(
            what,
            format!(
                "the service returned {returned} of {t} members: refusing to plan from a partial read"
            ),
        )),
        _ => Ok(()),
    }
}

/// Collects members, refusing duplicates the service should never send.
pub(crate) fn member_set<M: MemberId>(members: impl IntoIterator<Item = M>) -> BTreeSet<M> {
    members.into_iter().collect::<BTreeSet<_>>()
}
