//! `plan FILE [--out PLAN] [--base OLD_FILE]`: what would change; nothing is written to any service.
//! With a base file, each change is marked as this edit's or as drift.

use std::path::Path;

use group_membership::access::SavedPlan;

use crate::cli::{Cli, PlanArgs};
use crate::render::Rendered;
use crate::session::{
    BoxError, Session, exit_on_interrupt, not_the_input, print, read_state, write_whole,
};

pub async fn run(cli: &Cli, args: &PlanArgs) -> Result<u8, BoxError> {
    if let Some(out) = &args.out {
        not_the_input(out, &args.file)?;
    }
    exit_on_interrupt();
    let base = args.base.as_deref().map(read_state).transpose()?;
    let session = Session::open(cli, &args.file)?;
    let mut report = session.run(&args.run, args.run.guards())?.plan().await;
    if let Some(base) = &base {
        report.mark_origins(base);
    }
    if let Some(out) = &args.out {
        let unplanned = report
            .groups
            .iter()
            .filter(|g| !g.report.is_success())
            .count();
        save(report.saved_plan.as_ref(), unplanned, out)?;
    }
    let rendered = Rendered::new("plan", &args.file, &report, session.is_sandbox())
        .with_grants(session.state.grants_ending(args.run.warn_expiring));
    print(&rendered.render(cli.output));
    Ok(report.exit_code())
}

/// Writes the plan whole, or says why not (a partial plan, or one over the budget, is no plan).
fn save(plan: Option<&SavedPlan>, unplanned: usize, out: &Path) -> Result<(), BoxError> {
    let Some(plan) = plan else {
        let why = if unplanned > 0 {
            format!("{unplanned} group(s) could not be planned")
        } else {
            "the run is over its removal budget".to_string()
        };
        eprintln!("the plan was not saved to {}: {why}", out.display());
        return Ok(());
    };
    write_whole(out, &plan.to_json()?)?;
    eprintln!(
        "saved the plan to {}: apply it with `apply --plan`",
        out.display()
    );
    Ok(())
}
