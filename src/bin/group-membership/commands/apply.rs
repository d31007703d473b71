//! `apply FILE --plan PLAN | --auto-approve`: carry out the reviewed plan (or a fresh one), then plan
//! again.

use group_membership::access::{Approval, SavedPlan};

use crate::cli::{ApplyArgs, Cli};
use crate::render::Rendered;
use crate::session::{BoxError, Session, print};

pub async fn run(cli: &Cli, args: &ApplyArgs) -> Result<u8, BoxError> {
    let session = Session::open(cli, &args.file)?;
    let saved = match &args.plan {
        Some(path) => Some(SavedPlan::from_json(
            &std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?,
        )?),
        None => None,
    };
    let approval = match (&saved, args.auto_approve) {
        (Some(saved), _) => Approval::Reviewed(saved),
        (None, true) => Approval::AutoApprove,
        (None, false) => Approval::NoRemovals,
    };
    let report = session.run(&args.run)?.apply(approval).await?;
    if let Some(stop) = &report.stopped {
        eprintln!(
            "{stop} Save a plan with `plan FILE --out PLAN`, review it, then `apply FILE --plan PLAN`; \
             or pass --auto-approve."
        );
    }
    print(&Rendered::new(&args.file, &report).render(cli.output));
    Ok(report.exit_code())
}
