//! The request pipeline: retries and their waits, misbehaving servers, faults, authentication, and secrets that never show.
//!
//! One test binary for these modules (fewer binaries link faster). `tests/hostile.rs` is a binary of its own:
//! it counts every allocation of its process to measure peak memory.

#[path = "../common/mod.rs"]
mod common;

mod auth;
mod faults;
mod layers;
mod pipeline;
mod secrets;
