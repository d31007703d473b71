//! `access @alice FILE [--all]`: every group a person is in, on every connection — desired in the file
//! and live on the service — as one table. Writes nothing.

use std::fmt::Write as _;

use group_membership::access::{ExportScope, PersonAccess};
use serde::Serialize;

use crate::cli::{AccessArgs, Cli, Format};
use crate::render::json::{SCHEMA, pretty};
use crate::session::{BoxError, Session, exit_on_interrupt, print};

pub async fn run(cli: &Cli, args: &AccessArgs) -> Result<u8, BoxError> {
    let person = person_name(&args.person);
    exit_on_interrupt();
    let session = Session::open(cli, &args.file)?;
    // The person must be known before any service is read.
    session.state.person_access(person, None)?;
    let scope = if args.all {
        ExportScope::Everything
    } else {
        ExportScope::ListedGroups
    };
    let progress = |what: &str| eprintln!("reading {what}");
    let live = session
        .state
        .export(&session.clients, scope, &progress)
        .await?;
    let rows = session.state.person_access(person, Some(&live))?;
    print(&match cli.output {
        Format::Json => json(person, &args.file, &rows, session.is_sandbox()),
        Format::Text => table(person, &rows, false),
        Format::Markdown => table(person, &rows, true),
    });
    Ok(0)
}

/// `alice` from `@alice` (or `alice`).
pub fn person_name(argument: &str) -> &str {
    argument.strip_prefix('@').unwrap_or(argument)
}

fn table(person: &str, rows: &[PersonAccess], markdown: bool) -> String {
    let mut out = String::new();
    let header = [
        "group",
        "service",
        "identity",
        "in the file",
        "on the service",
    ];
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            let desired = match (&r.until, r.desired) {
                (Some(until), true) => format!("yes, until {until}"),
                (Some(until), false) => format!("ended {until}"),
                (None, true) => "yes".to_string(),
                (None, false) => "no".to_string(),
            };
            let live = match r.live {
                Some(true) => "yes",
                Some(false) => "no",
                None => "not read",
            };
            [
                r.group.clone(),
                r.service.as_str().to_string(),
                r.identity.clone(),
                desired,
                live.to_string(),
            ]
        })
        .collect();
    let _ = writeln!(out, "@{person}: {} group(s)", rows.len());
    if markdown {
        let _ = writeln!(out, "\n| {} |\n|{}", header.join(" | "), "---|".repeat(5));
        for row in &cells {
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        return out;
    }
    let widths: Vec<usize> = (0..5)
        .map(|i| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |row: &[&str]| {
        row.iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let _ = writeln!(out, "{}", line(&header));
    for row in &cells {
        let refs: Vec<&str> = row.iter().map(String::as_str).collect();
        let _ = writeln!(out, "{}", line(&refs));
    }
    out
}

fn json(person: &str, file: &std::path::Path, rows: &[PersonAccess], sandbox: bool) -> String {
    #[derive(Serialize)]
    struct Access<'a> {
        schema: u32,
        sandbox: bool,
        command: &'static str,
        file: String,
        person: &'a str,
        groups: &'a [PersonAccess],
        exit_code: u8,
    }
    pretty(&Access {
        schema: SCHEMA,
        sandbox,
        command: "access",
        file: file.display().to_string(),
        person,
        groups: rows,
        exit_code: 0,
    })
}
