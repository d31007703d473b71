//! The JSON view (`--output json`): the library's typed report as it serializes, in an envelope with the
//! schema version, the command, the file, a summary and the exit code. The README documents the shape.

use std::path::Path;

use group_membership::access::{GrantEnding, GroupResult, RunReport, Stop, Summary};
use serde::Serialize;

use super::Rendered;

/// The version of the JSON shape; it changes only when a field changes meaning or goes away.
pub const SCHEMA: u32 = 2;

#[derive(Serialize)]
struct Envelope<'a> {
    schema: u32,
    /// True when every connection used the embedded sandbox: nothing real was read or written.
    sandbox: bool,
    command: &'static str,
    file: String,
    exit_code: u8,
    summary: Summary,
    #[serde(skip_serializing_if = "Option::is_none")]
    converged: Option<bool>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    interrupted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stopped: Option<&'a Stop>,
    groups: &'a [GroupResult],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    grants_ending: &'a [GrantEnding],
}

pub fn render(rendered: &Rendered<'_>) -> String {
    let report: &RunReport = rendered.report;
    pretty(&Envelope {
        schema: SCHEMA,
        sandbox: rendered.sandbox,
        command: rendered.command,
        file: rendered.file.display().to_string(),
        exit_code: report.exit_code(),
        summary: report.summary(),
        converged: report.converged(),
        interrupted: report.interrupted,
        stopped: report.stopped.as_ref(),
        groups: &report.groups,
        grants_ending: &rendered.grants,
    })
}

/// What `export --out PATH --output json` prints.
pub fn export(file: &Path, out: &Path, keys: &[String], sandbox: bool) -> String {
    #[derive(Serialize)]
    struct Export<'a> {
        schema: u32,
        sandbox: bool,
        command: &'static str,
        file: String,
        out: String,
        groups: &'a [String],
        exit_code: u8,
    }
    pretty(&Export {
        schema: SCHEMA,
        sandbox,
        command: "export",
        file: file.display().to_string(),
        out: out.display().to_string(),
        groups: keys,
        exit_code: 0,
    })
}

/// What a run that stopped before reading any group prints.
pub fn error(command: &str, error: &str, sandbox: bool) -> String {
    #[derive(Serialize)]
    struct Failed<'a> {
        schema: u32,
        sandbox: bool,
        command: &'a str,
        error: &'a str,
        exit_code: u8,
    }
    pretty(&Failed {
        schema: SCHEMA,
        sandbox,
        command,
        error,
        exit_code: 1,
    })
}

pub fn pretty(value: &impl Serialize) -> String {
    // Serializing these types cannot fail (string keys, no maps with other keys); were it ever to, the
    // output says so instead of being empty.
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|e| {
        format!(r#"{{"schema": {SCHEMA}, "error": "cannot write the report as JSON: {e}", "exit_code": 1}}"#)
    });
    text + "\n"
}
