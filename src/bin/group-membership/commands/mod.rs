//! One file per command; each reads its arguments, uses the session and the library, and renders.

pub mod access;
pub mod apply;
pub mod drift;
pub mod export;
pub mod offboard;
pub mod plan;
pub mod sandbox;
pub mod show;
pub mod validate;
