//! `show PLAN [--file FILE]`: a saved plan, printed the way `plan` printed it. Reads no service.

use group_membership::access::{RunReport, SavedPlan};

use crate::cli::{Cli, ShowArgs};
use crate::render::Rendered;
use crate::session::{BoxError, print, read_state};

pub async fn run(cli: &Cli, args: &ShowArgs) -> Result<u8, BoxError> {
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    let plan = SavedPlan::from_json(&read(&args.plan)?)?;
    let state = match &args.file {
        Some(file) => {
            let state = read_state(file)?;
            plan.check_source(&state)?;
            Some(state)
        }
        None => None,
    };
    let report = RunReport::of_saved_plan(&plan, state.as_ref());
    eprintln!(
        "plan made at {} by group-membership {} from a desired-state file with SHA-256 {}",
        plan.created_at, plan.tool_version, plan.desired_state_sha256
    );
    let rendered = Rendered::new("show", &args.plan, &report, false);
    print(&rendered.render(cli.output));
    Ok(report.exit_code())
}
