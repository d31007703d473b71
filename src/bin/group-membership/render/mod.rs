//! Plans and reports as text for people (`text.rs`), JSON for CI tools (`json.rs`) or Markdown for a
//! pull-request comment (`markdown.rs`). Each matches the library's typed report exhaustively (the
//! Markdown one through the text one's words): a new outcome does not compile until each shows it.

#[cfg(test)]
mod fixtures;
pub mod json;
pub mod markdown;
pub mod text;

use std::path::Path;

use group_membership::access::{GrantEnding, RunReport};

use crate::cli::Format;

/// One run of `plan`, `apply` or `show`, ready to print.
pub struct Rendered<'a> {
    pub command: &'static str,
    pub file: &'a Path,
    pub report: &'a RunReport,
    /// The run used the embedded sandbox: every output says so first.
    pub sandbox: bool,
    /// Grants that ended (the plan removes them) or end soon (`--warn-expiring`).
    pub grants: Vec<GrantEnding>,
}

/// The first line of every text output of a sandbox run.
pub const SANDBOX_BANNER: &str = "SANDBOX: every connection used the embedded sandbox (--sandbox); nothing real was read or written";

impl<'a> Rendered<'a> {
    pub fn new(
        command: &'static str,
        file: &'a Path,
        report: &'a RunReport,
        sandbox: bool,
    ) -> Self {
        Rendered {
            command,
            file,
            report,
            sandbox,
            grants: Vec::new(),
        }
    }

    /// With the grants that ended or end soon.
    pub fn with_grants(mut self, grants: Vec<GrantEnding>) -> Self {
        self.grants = grants;
        self
    }

    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Text => text::render(self, crate::session::colour()),
            Format::Json => json::render(self),
            Format::Markdown => markdown::render(self),
        }
    }
}
