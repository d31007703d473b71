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
//! ## A tour
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> group_membership::Result<()> {
//! # let sandbox = group_membership::sandbox::Sandbox::start().expect("sandbox");
//! use group_membership::{Client, Error};
//! use group_membership::uplynk::AllowedOwnersUpdate;
//!
//! // One client per service account: cheap to clone, Send + Sync.
//! // Real service: let client = Client::for_uplynk("user ID", "API key")?;
//! # let client = sandbox.uplynk_client()?;
//! let groups = client.uplynk().failover_groups();
//!
//! let owners = groups.allowed_owners("e8d6b5cb940c40cc9ec6ad081a38f3f0").await?;
//! println!("{} allowed owners", owners.items.len());
//!
//! groups
//!     .update_allowed_owners(
//!         "e8d6b5cb940c40cc9ec6ad081a38f3f0",
//!         &AllowedOwnersUpdate::new().owners_to_add(["gu137664292b46a1a286cdf79b1a9bm8"]).owners_to_remove(["t345643dn409198f523flniu1234n34i"]),
//!     )
//!     .await?;
//!
//! // Errors are typed and keep what a support ticket needs.
//! match groups.allowed_owners("0000000000000000000000000000dead").await {
//!     Err(Error::Api(e)) if e.status() == 404 => println!("no such group: {}", e.message().unwrap_or("")),
//!     other => { other?; }
//! }
//! # Ok(()) }
//! ```
//!
//! ## How do I…
//!
//! Calls marked **replaces** overwrite the whole member list: a member someone added meanwhile is lost.
//! [`membership::sync`] guards against that (it reads again right before an overwrite).
//!
//! | service | list members | add | remove | replace the whole list |
//! |---|---|---|---|---|
//! | Uplynk | [`allowed_owners`](uplynk::FailoverGroups::allowed_owners) | [`update_allowed_owners`](uplynk::FailoverGroups::update_allowed_owners) with [`owners_to_add`](uplynk::AllowedOwnersUpdate::owners_to_add) | the same, with [`owners_to_remove`](uplynk::AllowedOwnersUpdate::owners_to_remove) | — (no such call) |
//! | Entuity | [`user_group`](entuity::ConfigSets::user_group)`.members` | [`add_user_group_member`](entuity::ConfigSets::add_user_group_member) | [`remove_user_group_member`](entuity::ConfigSets::remove_user_group_member) | [`set_user_group_members`](entuity::ConfigSets::set_user_group_members) (**replaces**) |
//! | Danube Cloud | [`get`](danube::Groups::get)`.users` | — (the API only overwrites: use [`membership::sync`]) | — (likewise) | [`update`](danube::Groups::update) with [`GroupUpdate::users`](danube::GroupUpdate::users) (**replaces**) |
//! | Traffic Ops | [`users`](traffic_ops::Federations::users) | [`assign_users`](traffic_ops::Federations::assign_users)`(id, ids, false)` | [`remove_user`](traffic_ops::Federations::remove_user) | [`assign_users`](traffic_ops::Federations::assign_users)`(id, ids, true)` (**replaces**: drops every user first) |
//! | any of them | [`membership::plan`] | [`membership::sync`] to the desired set | [`membership::sync`] | [`membership::sync`] (guarded) |
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
//! - [`error`]: one [`Error`] type; [`ApiError`] keeps the status, the service's code and message, a bounded
//!   raw body and the response headers. No secret is ever in an error, a `Debug` or a `Display`.
//! - [`membership`]: one interface for "the members of a group" on all four services, with plans, safe
//!   sync (guards, exact reports, read-back), many groups at once and a desired-state file format.
//! - `sandbox` (cargo feature `sandbox`): an in-process fake of the services for examples, doc-tests and your
//!   own tests, with fault injection.
//!
//! ## Cargo features
//!
//! - `rustls` (default): TLS in pure Rust; nothing to install.
//! - `native-tls`: the platform's TLS library instead.
//! - `sandbox`: the in-process fake services.
//! - `tracing`: one span per request (service, method, path template, status, attempts, duration), no secrets.

#![warn(missing_docs)]
#![warn(clippy::missing_errors_doc)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod auth;
mod client;
pub mod danube;
pub mod entuity;
pub mod error;
mod json;
pub mod membership;
mod path;
#[cfg(all(test, feature = "property-tests"))]
mod properties;
mod request;
pub mod retry;
#[cfg(feature = "sandbox")]
pub mod sandbox;
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
pub use error::{ApiError, Error, FieldError, Result};
pub use path::encode_segment;
pub use request::{RequestBuilder, RequestOptions, Response, ResponseObserver};
pub use retry::{AttemptOutcome, RetryDecision, RetryPolicy};
