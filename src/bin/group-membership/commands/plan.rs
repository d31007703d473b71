//! `plan FILE [--out PLAN]`: what would change; nothing is written to any service.

use std::path::Path;

use group_membership::access::SavedPlan;

use crate::cli::{Cli, PlanArgs};
use crate::render::Rendered;
use crate::session::{BoxError, Session, print};

pub async fn run(cli: &Cli, args: &PlanArgs) -> Result<u8, BoxError> {
    let session = Session::open(cli, &args.file)?;
    let report = session.run(&args.run)?.plan().await;
    if let Some(out) = &args.out {
        let unplanned = report
            .groups
            .iter()
            .filter(|g| !g.report.is_success())
            .count();
        save(report.saved_plan.as_ref(), unplanned, out)?;
    }
    let rendered = Rendered::new(&args.file, &report);
    print(&rendered.render(cli.output));
    Ok(report.exit_code())
}

/// Writes the plan, or says why not when some group could not be planned (a partial plan is no plan).
fn save(plan: Option<&SavedPlan>, unplanned: usize, out: &Path) -> Result<(), BoxError> {
    let Some(plan) = plan else {
        eprintln!(
            "the plan was not saved to {}: {unplanned} group(s) could not be planned",
            out.display()
        );
        return Ok(());
    };
    std::fs::write(out, plan.to_json()?)
        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    eprintln!(
        "saved the plan to {}: apply it with `apply --plan`",
        out.display()
    );
    Ok(())
}
