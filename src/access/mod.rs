//! Access as code: who should be in which group, in a file a team reviews, kept true on the services.
//!
//! Built on the [`membership`](crate::membership) engine (which never imports this module):
//!
//! - [`DesiredState`]: the desired-state file (connections named by environment variables, people, groups),
//!   read strictly ([`DesiredState::from_json`]); the README's "The desired-state file" is its reference.
//! - People: `@alice` in a group is the person's identity on that group's connection; reports label
//!   members back as people ([`DesiredState::label`]).
//! - [`Run`]: plan or apply every group, a bounded number at a time, with progress; one typed
//!   [`RunReport`]. Applying needs an [`Approval`]: a reviewed [`SavedPlan`] (refused for any group that
//!   changed since), or a fresh plan that removes nobody, or explicit auto-approval.
//! - [`SavedPlan`]: a plan saved for review, tied to the file's SHA-256.
//! - [`DesiredState::export`]: the current state as a desired-state file ([`ExportScope`]).
//! - [`AuditLog`]: every write as JSON lines, its intent synced to disk before it is sent.
//!
//! The `group-membership` command-line tool is a thin shell over this module: everything it does, a Rust
//! program can do with the same calls.

mod audit;
mod check;
mod compare;
mod edit;
mod export;
mod file;
mod grant;
mod people;
mod run;
mod saved;
mod source;

pub use self::audit::{AUDIT_SCHEMA, AuditContext, AuditLog};
pub use self::compare::{GrantEnding, Origin, PersonAccess};
pub use self::edit::remove_person_from_json;
pub use self::export::ExportScope;
pub use self::file::{Connection, DesiredGroup, DesiredState, Mode};
pub use self::grant::{MemberEntry, Until};
pub use self::run::{
    Approval, DEFAULT_MAX_PLAN_AGE, FRACTION_FROM, GroupResult, Progress, RemovalBudget, Run,
    RunKind, RunReport, Stop, Summary,
};
pub use self::saved::{SAVED_PLAN_SCHEMA, SavedGroupPlan, SavedPlan, TOOL_VERSION};
pub use self::source::{FileFormat, Place, Problem};

/// The JSON Schema (draft 2020-12) of the desired-state file, derived from the types it is read into; the
/// repository commits it as `schema/desired-state.schema.json` (a test keeps the two equal). It checks the
/// file's shape; what needs the whole file (references to people and connections, duplicates,
/// `max_grant_days`) is [`DesiredState::validate`]'s.
#[cfg(feature = "schema")]
pub fn json_schema() -> serde_json::Value {
    schemars::schema_for!(DesiredState).to_value()
}
