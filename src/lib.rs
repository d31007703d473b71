//! placeholder, rewritten below
pub mod auth;
mod client;
pub mod error;
mod request;
pub mod retry;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod uplynk;

pub use client::{Client, ClientBuilder};
pub use error::{ApiError, Error, Result};
pub use request::{RequestBuilder, RequestOptions, Response};
pub use retry::{AttemptOutcome, RetryDecision, RetryPolicy};
