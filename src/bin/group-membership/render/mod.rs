//! Plans and reports as text for people (`text.rs`) or JSON for CI tools (`json.rs`). Both match the
//! library's typed report exhaustively: a new outcome does not compile until each renderer shows it.

pub mod json;
pub mod text;

use std::path::Path;

use group_membership::access::RunReport;

use crate::cli::Format;

/// One run of `plan` or `apply`, ready to print.
pub struct Rendered<'a> {
    pub file: &'a Path,
    pub report: &'a RunReport,
}

impl<'a> Rendered<'a> {
    pub fn new(file: &'a Path, report: &'a RunReport) -> Self {
        Rendered { file, report }
    }

    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Text => text::render(self, crate::session::colour()),
            Format::Json => json::render(self),
        }
    }
}
