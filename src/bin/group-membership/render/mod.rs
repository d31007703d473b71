//! Plans and reports as text for people (`text.rs`) or JSON for CI tools (`json.rs`). Both match the
//! library's typed report exhaustively: a new outcome does not compile until each renderer shows it.

pub mod json;
pub mod text;

use std::path::Path;

use group_membership::access::RunReport;

use crate::cli::Format;

/// One run of `plan`, `apply` or `show`, ready to print.
pub struct Rendered<'a> {
    pub command: &'static str,
    pub file: &'a Path,
    pub report: &'a RunReport,
    /// The run used the embedded sandbox: every output says so first.
    pub sandbox: bool,
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
        }
    }

    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Text => text::render(self, crate::session::colour()),
            Format::Json => json::render(self),
        }
    }
}
