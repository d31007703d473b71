//! `drift FILE`: for scheduled CI, whether every group still matches the file, naming who was added or
//! removed outside it. Writes nothing. Exit 0 all match, 2 one differs, 1 a group could not be read.

use std::fmt::Write as _;

use group_membership::access::{GroupResult, RunReport};
use group_membership::membership::Member;
use serde::Serialize;

use crate::cli::{Cli, DriftArgs, Format};
use crate::render::Rendered;
use crate::render::json::{SCHEMA, pretty};
use crate::session::{BoxError, Session, exit_on_interrupt, print};

pub async fn run(cli: &Cli, args: &DriftArgs) -> Result<u8, BoxError> {
    exit_on_interrupt();
    let session = Session::open(cli, &args.file)?;
    let report = session.run(&args.run, args.run.guards())?.plan().await;
    let rendered = Rendered::new("drift", &args.file, &report, session.is_sandbox());
    print(&match cli.output {
        Format::Text => text(&rendered),
        Format::Json => json(&rendered),
        Format::Markdown => rendered.render(Format::Markdown),
    });
    Ok(report.exit_code())
}

/// A group's drift: members the service has that the file does not want (added outside the file), and
/// members the file wants that the service lacks (removed outside it).
#[derive(Serialize)]
struct Drifted<'a> {
    key: &'a str,
    service: &'static str,
    added_outside: &'a [Member],
    removed_outside: &'a [Member],
}

#[derive(Serialize)]
struct Unread<'a> {
    key: &'a str,
    status: &'static str,
    error: String,
}

fn drifted(report: &RunReport) -> Vec<Drifted<'_>> {
    report
        .groups
        .iter()
        .filter(|g| g.report.is_success() && g.report.has_pending_changes())
        .filter_map(|g| {
            let plan = g.report.plan.as_ref()?;
            Some(Drifted {
                key: &g.key,
                service: g.report.service.as_str(),
                added_outside: plan.to_remove(),
                removed_outside: plan.to_add(),
            })
        })
        .collect()
}

fn unread(report: &RunReport) -> Vec<Unread<'_>> {
    report
        .groups
        .iter()
        .filter(|g| !g.report.is_success())
        .map(|g: &GroupResult| Unread {
            key: &g.key,
            status: g.report.status().as_str(),
            error: crate::render::text::plain_outcome(&g.report)
                .trim()
                .to_string(),
        })
        .collect()
}

fn text(rendered: &Rendered<'_>) -> String {
    let report = rendered.report;
    let mut out = String::new();
    if rendered.sandbox {
        let _ = writeln!(out, "{}", crate::render::SANDBOX_BANNER);
    }
    let drifted = drifted(report);
    let unread = unread(report);
    for d in &drifted {
        let _ = writeln!(out, "{} ({}): differs from the file", d.key, d.service);
        if !d.added_outside.is_empty() {
            let _ = writeln!(out, "  added outside the file: {}", names(d.added_outside));
        }
        if !d.removed_outside.is_empty() {
            let _ = writeln!(
                out,
                "  removed outside the file: {}",
                names(d.removed_outside)
            );
        }
    }
    for u in &unread {
        let _ = writeln!(out, "{}: {}", u.key, u.error);
    }
    let _ = writeln!(
        out,
        "drift {}: {} of {} group(s) differ from the file, {} could not be checked",
        rendered.file.display(),
        drifted.len(),
        report.groups.len(),
        unread.len()
    );
    out
}

fn json(rendered: &Rendered<'_>) -> String {
    #[derive(Serialize)]
    struct Drift<'a> {
        schema: u32,
        sandbox: bool,
        command: &'static str,
        file: String,
        exit_code: u8,
        groups: usize,
        drifted: Vec<Drifted<'a>>,
        failed: Vec<Unread<'a>>,
    }
    let report = rendered.report;
    pretty(&Drift {
        schema: SCHEMA,
        sandbox: rendered.sandbox,
        command: "drift",
        file: rendered.file.display().to_string(),
        exit_code: report.exit_code(),
        groups: report.groups.len(),
        drifted: drifted(report),
        failed: unread(report),
    })
}

fn names(members: &[Member]) -> String {
    members
        .iter()
        .map(|m| m.label.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
