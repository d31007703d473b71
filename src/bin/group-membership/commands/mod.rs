//! One file per command; each reads its arguments, uses the session and the library, and renders.

pub mod apply;
pub mod export;
pub mod plan;
pub mod show;
