//! # group-membership
//!
//! Typed Rust clients for deciding **who may use which group-like resource** on four services, behind one
//! [`Client`] with pluggable authentication:
//!
//! | service | resource | module | auth |
//! |---|---|---|---|
//! | Uplynk v4 | failover groups and their allowed owners | [`uplynk`] | [`uplynk::UplynkAuth`] (msg/sig) |
//! | Entuity REST API | config sets: user-group membership | [`entuity`] | [`auth::BasicAuth`] |
//! | Danube Cloud API | accounts: user groups | [`danube`] | [`danube::DanubeApiKey`], [`danube::DanubeLogin`] |
//! | Traffic Ops API 4.x/5.0 | federations: users | [`traffic_ops`] | [`traffic_ops::TrafficOpsSession`] (cookie login) |
//!
//! ## Grant and revoke, the same way on every service
//!
//! [`membership::add`] and [`membership::remove`] change only the members you name, with each service's
//! most targeted calls; a member already there (or already gone) makes no write, and nobody else is
//! touched. The report says exactly what was applied; [`into_result`](membership::GroupReport::into_result)
//! makes it fit `?`.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> group_membership::Result<()> {
//! # let sandbox = group_membership::sandbox::Sandbox::start().expect("sandbox");
//! use group_membership::membership::{self, DanubeGroupUsers, TrafficOpsFederationUsers};
//!
//! // Real server: let client = Client::for_traffic_ops("https://to.example", "user", "password")?;
//! # let client = sandbox.traffic_ops_client()?;
//! let federation = TrafficOpsFederationUsers::new(client, 1);
//! membership::add(&federation, ["operator"]).await.into_result()?; // by username (or ID: 3)
//! membership::remove(&federation, ["operator"]).await.into_result()?;
//!
//! # let client = sandbox.danube_client()?;
//! let group = DanubeGroupUsers::new(client, "operators");
//! let report = membership::add(&group, ["tester@erigones.com"]).await.into_result()?;
//! println!("{report}"); // add: tester@erigones.com / applied: set members to [...] / read back: as desired
//! # Ok(()) }
//! ```
//!
//! ## The typed API
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> group_membership::Result<()> {
//! # let sandbox = group_membership::sandbox::Sandbox::start().expect("sandbox");
//! use group_membership::{Client, Error};
//!
//! // One client per service account: cheap to clone, Send + Sync.
//! // Real service: let client = Client::for_uplynk("user ID", "API key")?;
//! # let client = sandbox.uplynk_client()?;
//! let groups = client.uplynk().failover_groups();
//!
//! // A handle scoped to one group, with the verbs every service's handle has: list, add, remove.
//! let owners = groups.allowed_owners("e8d6b5cb940c40cc9ec6ad081a38f3f0");
//! owners.add(["gu137664292b46a1a286cdf79b1a9bm8"]).await?;
//! owners.remove(["t345643dn409198f523flniu1234n34i"]).await?;
//! println!("{} allowed owners", owners.list().await?.items.len());
//!
//! // Errors are typed and keep what a support ticket needs.
//! match groups.allowed_owners("0000000000000000000000000000dead").list().await {
//!     Err(Error::Api(e)) if e.status() == 404 => println!("no such group: {}", e.message().unwrap_or("")),
//!     other => { other?; }
//! }
//! # Ok(()) }
//! ```
//!
//! ## How do I…
//!
//! Every service has a handle scoped to one group, with the same verbs: `list`, `add`, `remove`, and
//! `replace_all` where the service has a call that overwrites the whole list (**replaces**: a member someone
//! added meanwhile is lost; [`membership::sync`] reads again right before an overwrite and refuses if the
//! group moved).
//!
//! | service | the group's handle | add | remove | replace the whole list |
//! |---|---|---|---|---|
//! | Uplynk | [`failover_groups().allowed_owners(id)`](uplynk::FailoverGroups::allowed_owners) | [`add`](uplynk::AllowedOwners::add) (one `PUT`; [`change`](uplynk::AllowedOwners::change) adds and removes in one) | [`remove`](uplynk::AllowedOwners::remove) | — (no such call) |
//! | Entuity | [`user_groups(config_set).members(name)`](entuity::ConfigSetUserGroups::members) | [`add`](entuity::UserGroupMembers::add) (one `POST`) | [`remove`](entuity::UserGroupMembers::remove) (one `DELETE`) | [`replace_all`](entuity::UserGroupMembers::replace_all) |
//! | Danube Cloud | [`groups().users(name)`](danube::Groups::users) | [`add`](danube::GroupUsers::add) (read, then overwrite) | [`remove`](danube::GroupUsers::remove) (likewise) | [`replace_all`](danube::GroupUsers::replace_all) |
//! | Traffic Ops | [`federations().users(id)`](traffic_ops::Federations::users) | [`add`](traffic_ops::FederationUsers::add) (one `POST`) | [`remove`](traffic_ops::FederationUsers::remove) (one `DELETE`) | [`replace_all`](traffic_ops::FederationUsers::replace_all) (drops every user first) |
//! | any of them | [`membership::plan`] | [`membership::add`] | [`membership::remove`] | [`membership::sync`] (guarded) |
//!
//! Also: a Traffic Ops username's ID with [`traffic_ops::Users::find_by_username`]; a Danube Cloud user's
//! groups with [`danube::Users::get`].
//!
//! ## The pieces
//!
//! - [`Client`] / [`ClientBuilder`]: base URL (scheme, host, port, path prefix), auth, connect and request
//!   timeouts, user agent, [`RetryPolicy`], TLS (certificate verification on unless
//!   [`danger_accept_invalid_certs`](ClientBuilder::danger_accept_invalid_certs); extra root CAs), or your own
//!   `reqwest::ClientBuilder`. Redirects are never followed, whatever the builder says.
//! - [`auth`]: the [`Auth`](auth::Auth) trait, called before every attempt, able to refresh once after a
//!   401/403; generic schemes [`BasicAuth`](auth::BasicAuth), [`HeaderAuth`](auth::HeaderAuth),
//!   [`BearerAuth`](auth::BearerAuth), [`NoAuth`](auth::NoAuth).
//! - [`RequestBuilder`]: the one pipeline. Each path segment is percent-encoded as exactly one segment;
//!   `Client::request` is the escape hatch for endpoints the crate does not model.
//! - [`retry`]: which failures are retried (idempotent requests on 429/502/503/504 and timeouts; any request
//!   whose connection never opened), exponential backoff with full jitter, `Retry-After` honoured and clamped.
//! - [`error`]: one [`Error`] type; every refusal by a service is [`Error::Api`], whose [`ApiError`] keeps
//!   the [kind](ApiErrorKind), status, the service's code and message, a bounded raw body and the response
//!   headers. No secret is ever in an error, a `Debug` or a `Display`.
//! - [`membership`]: one interface for "the members of a group" on all four services: targeted add and
//!   remove, plans, safe sync (guards, exact reports, read-back), members by name (Traffic Ops usernames),
//!   many groups at once, one typed report.
//! - [`access`]: access as code on top of it: the desired-state file, people, reviewed plans, export, and
//!   [`access::Run`] (plan or apply every group of a file; the `group-membership` tool is a shell over it).
//! - `sandbox` (cargo feature `sandbox`): an in-process fake of the services for examples, doc-tests and your
//!   own tests, with fault injection (failures, delays, truncated bodies, answers held until released).
//! - [`retry::Timer`]: how waits are made; [`retry::VirtualTimer`] makes them instant and recorded in tests.
//!
//! ## Cargo features
//!
//! - `rustls` (default): TLS in pure Rust; nothing to install.
//! - `native-tls`: the platform's TLS library instead.
//! - `sandbox`: the in-process fake services.
//! - `tracing`: one span per request (service, method, path template, status, attempts, duration), no secrets.
//! - `cli`: the `group-membership` command-line tool (plan, apply, export; clap). The library never needs it.

#![warn(missing_docs)]
#![warn(clippy::missing_errors_doc)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod access;
pub mod auth;
mod client;
pub mod danube;
mod deadline;
pub mod entuity;
pub mod error;
mod failure;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod json;
pub mod membership;
mod pace;
mod path;
#[cfg(all(test, feature = "property-tests"))]
mod properties;
mod request;
pub mod retry;
#[cfg(feature = "sandbox")]
pub mod sandbox;
mod tls;
pub mod traffic_ops;
mod transport;
pub mod uplynk;

/// The README's Rust examples, compiled as doc-tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The `http` crate this crate's API uses (`Method`, `StatusCode`, `HeaderMap`, ...): use it through this
/// re-export, and your versions always match.
pub use http;
/// The `reqwest` crate this crate is built on (for [`ClientBuilder::http_client_builder`] and
/// [`Client::http`]): use it through this re-export, and your versions always match.
pub use reqwest;

pub use client::{
    Client, ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_REQUEST_TIMEOUT, DEFAULT_USER_AGENT,
};
pub use error::{ApiError, ApiErrorKind, Error, FieldError, ReportError, Result};
pub use path::encode_segment;
pub use request::{RequestBuilder, RequestOptions, Response, ResponseObserver};
pub use retry::{AttemptOutcome, RetryDecision, RetryPolicy};
