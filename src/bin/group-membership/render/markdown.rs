//! Markdown for a pull-request comment (`--output markdown`): a title, a summary table, refusals and
//! failures first (each with its rule and flag, in the text renderer's words), grants ending, then one
//! collapsible section per group with its members by name as a `diff` block. Stays under
//! [`LIMIT`] characters (GitHub refuses longer comments): groups that do not fit are counted in a closing
//! note that points to the JSON output.

use std::fmt::Write as _;

use group_membership::access::{GroupResult, RunKind};
use group_membership::membership::Status;

use super::Rendered;
use super::text::{grant_text, origin_note, plain_group, plain_outcome, stop_text};

/// The most characters a comment holds here (GitHub's limit is 65,536).
pub const LIMIT: usize = 65_000;

/// Kept free for the closing note.
const NOTE_RESERVE: usize = 400;

pub fn render(rendered: &Rendered<'_>) -> String {
    render_within(rendered, LIMIT)
}

/// As [`render`], within `limit` characters.
pub fn render_within(rendered: &Rendered<'_>, limit: usize) -> String {
    let mut out = head(rendered);
    let mut order: Vec<&GroupResult> = rendered.report.groups.iter().collect();
    // Failures and refusals first, then pending changes, then the rest, each in file order.
    order.sort_by_key(|g| rank(g.report.status()));
    let sections: Vec<String> = order.iter().map(|g| section(g)).collect();
    let mut shown = 0;
    for section in &sections {
        if out.chars().count() + section.chars().count() + NOTE_RESERVE > limit {
            break;
        }
        out += section;
        shown += 1;
    }
    if shown < sections.len() {
        let _ = writeln!(
            out,
            "\n> **Truncated**: {} more group(s) are not shown here, to stay under {limit} characters; \
             see the JSON output (`--output json`) for every group.",
            sections.len() - shown
        );
    }
    out
}

fn rank(status: Status) -> u8 {
    match status {
        Status::Failed
        | Status::Refused
        | Status::ReadFailed
        | Status::ResolveFailed
        | Status::ChangedSincePlan
        | Status::Interrupted => 0,
        Status::Pending => 1,
        Status::Applied | Status::Unchanged => 2,
    }
}

/// Title, sandbox warning, summary table, exit code, failures, stop, grants.
fn head(rendered: &Rendered<'_>) -> String {
    let report = rendered.report;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### group-membership {}: `{}`\n",
        rendered.command,
        rendered.file.display()
    );
    if rendered.sandbox {
        let _ = writeln!(out, "> [!WARNING]\n> {}\n", super::SANDBOX_BANNER);
    }
    let s = report.summary();
    let (adds, removes) = report
        .groups
        .iter()
        .filter_map(|g| g.report.plan.as_ref())
        .fold((0, 0), |(a, r), p| {
            (a + p.to_add().len(), r + p.to_remove().len())
        });
    let _ = writeln!(
        out,
        "| groups | to add | to remove | pending | applied | unchanged | failed or refused |\n\
         |---:|---:|---:|---:|---:|---:|---:|\n\
         | {} | {adds} | {removes} | {} | {} | {} | {} |\n",
        s.groups, s.pending, s.applied, s.unchanged, s.failed
    );
    let verdict = match (report.exit_code(), report.kind) {
        (0, RunKind::Plan) => "nothing to change",
        (0, RunKind::Apply) => "applied; every group matches the file",
        (2, _) => "changes pending",
        (130, _) => "interrupted",
        _ => "**failed or refused**: see below",
    };
    let _ = writeln!(out, "Exit code {}: {verdict}.\n", report.exit_code());
    if let Some(stop) = &report.stopped {
        let _ = writeln!(out, "> [!CAUTION]\n> {}\n", stop_text(stop));
    }
    let failed: Vec<&GroupResult> = report
        .groups
        .iter()
        .filter(|g| !g.report.is_success())
        .collect();
    if !failed.is_empty() {
        let _ = writeln!(out, "#### Refusals and failures\n");
        for g in failed {
            let why = plain_outcome(&g.report).trim().replace('\n', " ");
            let _ = writeln!(
                out,
                "- `{}` ({}): {}",
                g.key,
                g.report.service,
                escape(&why)
            );
        }
        out.push('\n');
    }
    if !rendered.grants.is_empty() {
        let _ = writeln!(out, "#### Grants ending\n");
        for g in &rendered.grants {
            let _ = writeln!(out, "- {}", escape(&grant_text(g)));
        }
        out.push('\n');
    }
    out
}

/// One group: a collapsible section whose summary says what happens, and the plan as a `diff` block.
fn section(group: &GroupResult) -> String {
    let report = &group.report;
    let counts = report.plan.as_ref().map_or_else(String::new, |p| {
        format!(" · +{} −{}", p.to_add().len(), p.to_remove().len())
    });
    // The block without its first line (the summary line names the group).
    let block = plain_group(group);
    let mut body = block
        .trim_start_matches('\n')
        .split_once('\n')
        .map_or(String::new(), |(_, rest)| rest.to_string());
    if let Some(plan) = &report.plan {
        // The text block's `+`/`-` lines, marked when compared with a base file, are already in `body`;
        // nothing else to add but the origin legend when there is one.
        if plan
            .to_add()
            .iter()
            .chain(plan.to_remove())
            .any(|m| !origin_note(group, m).is_empty())
        {
            body += "  (edit: this change of the file asks for it; drift: the service differed from the old file too)\n";
        }
    }
    let open = if rank(report.status()) < 2 {
        " open"
    } else {
        ""
    };
    format!(
        "<details{open}><summary><code>{}</code> {} · {}{counts}</summary>\n\n```diff\n{}```\n\n</details>\n\n",
        html(&group.key),
        report.service,
        report.status().as_str(),
        fence_safe(&unindented(body.trim_start_matches('\n')))
    )
}

/// Text for a Markdown line: characters that would start markup are escaped (backticks stay: the
/// text renderer's words use them for code).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Text inside HTML (the summary line).
fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The text block's lines without their two-space indent, so a `diff` block colours `+` and `-`.
fn unindented(text: &str) -> String {
    text.lines()
        .map(|l| l.strip_prefix("  ").unwrap_or(l))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// A code block's content cannot close the block early.
fn fence_safe(text: &str) -> String {
    text.replace("```", "`\u{200b}``")
}

#[cfg(test)]
mod tests;
