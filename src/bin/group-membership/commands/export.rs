//! `export FILE [--all] [--out PATH]`: the groups as they are now, as a desired-state file.

use group_membership::access::ExportScope;

use crate::cli::{Cli, ExportArgs, Format};
use crate::render;
use crate::session::{BoxError, Session, exit_on_interrupt, not_the_input, print, write_whole};

pub async fn run(cli: &Cli, args: &ExportArgs) -> Result<u8, BoxError> {
    if let Some(out) = &args.out {
        not_the_input(out, &args.file)?;
    }
    exit_on_interrupt();
    let session = Session::open(cli, &args.file)?;
    let scope = if args.all {
        ExportScope::Everything
    } else {
        ExportScope::ListedGroups
    };
    let progress = |what: &str| eprintln!("reading {what}");
    let exported = session
        .state
        .export(&session.clients, scope, &progress)
        .await?;
    let text = exported.to_json()?;
    let Some(out) = &args.out else {
        print(&text);
        return Ok(0);
    };
    write_whole(out, &text)?;
    let keys: Vec<String> = exported.groups.iter().map(|g| g.key()).collect();
    match cli.output {
        Format::Json => print(&render::json::export(
            &args.file,
            out,
            &keys,
            session.is_sandbox(),
        )),
        Format::Text | Format::Markdown => {
            eprintln!("wrote {} group(s) to {}", keys.len(), out.display())
        }
    }
    Ok(0)
}
