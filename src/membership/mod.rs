//! One membership interface across the four services, and safe declarative sync.
//!
//! [`GroupMembers`] is "the members of one group" on any service: read the current members, and change
//! them. Member identities keep their native types ([`Uplynk`](UplynkAllowedOwners), [`Entuity`](EntuityUserGroup)
//! and [`Danube Cloud`](DanubeGroupUsers) use names or IDs as `String`; [`Traffic Ops`](TrafficOpsFederationUsers)
//! uses integer user IDs), so code written against the trait works unchanged on all four.
//!
//! On top of it, [`plan`] computes what would be added, removed and kept (no write), and [`sync`] carries
//! a plan out safely:
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
//! use group_membership::membership::{plan, sync, Guards, TrafficOpsFederationUsers};
//!
//! # let client = sandbox.traffic_ops_client()?;
//! let federation = TrafficOpsFederationUsers::new(client, 1);
//! let preview = plan(&federation, [2, 3]).await?;
//! assert_eq!((preview.to_add(), preview.to_remove()), (&[3][..], &[][..]));
//!
//! let report = sync(&federation, [2, 3], &Guards::default()).await;
//! assert!(report.is_success(), "{report}");
//! let again = sync(&federation, [2, 3], &Guards::default()).await;
//! assert!(again.made_no_change());
//! # Ok(()) }
//! ```

mod file;
mod plan;
mod targets;

use std::collections::BTreeSet;
use std::fmt::{Debug, Display};
use std::hash::Hash;

use std::future::Future;

pub use self::file::{Connection, DesiredGroup, DesiredState, Service};
pub use self::plan::{
    Desired, Drift, GroupReport, Guards, Outcome, Plan, Reconcile, ReportFuture, Step, StepResult,
    plan, reconcile_all, sync, sync_entry,
};
pub use self::targets::{
    DanubeGroupUsers, EntuityUserGroup, TrafficOpsFederationUsers, UplynkAllowedOwners,
};
use crate::error::{Error, Result};

/// A member's identity on some service: a username or user ID string, or an integer user ID.
pub trait MemberId: Clone + Ord + Hash + Display + Debug + Send + Sync + 'static {}
impl<T: Clone + Ord + Hash + Display + Debug + Send + Sync + 'static> MemberId for T {}

/// "The members of one group" on one service.
pub trait GroupMembers: Send + Sync + Debug {
    /// The service's member identity (`String` or `u64`).
    type Member: MemberId;

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

    /// The steps that carry `plan` out with the fewest calls this service allows.
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
