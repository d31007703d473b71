//! The four services, each against wiremock (the exact requests and error shapes) and against the sandbox (the fakes behave as the api-notes observed), and the span path templates.
//!
//! One test binary for these modules (fewer binaries link faster).

#[path = "../common/mod.rs"]
mod common;

mod danube;
mod entuity;
mod path_templates;
mod sandbox_danube;
mod sandbox_entuity;
mod sandbox_traffic_ops;
mod sandbox_uplynk;
mod traffic_ops;
mod uplynk;
