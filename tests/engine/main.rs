//! The membership engine and access as code: one interface and sync on all four services, targeted add and remove, reviewed plans through `access::Run`.
//!
//! One test binary for these modules (fewer binaries link faster).

#[path = "../common/mod.rs"]
mod common;

mod membership;
mod policies;
mod saved_plans;
mod scale;
mod targeted;
mod throttling;
