//! `apply FILE --plan PLAN | --auto-approve`: carry out the reviewed plan (or a fresh one), then plan
//! again. Ctrl-C starts no new write and still prints the report (exit 130).

use std::sync::Arc;

use group_membership::access::{Approval, AuditContext, AuditLog, SavedPlan};
use group_membership::membership::{Interrupt, Journal};
use sha2::{Digest, Sha256};

use crate::cli::{ApplyArgs, Cli};
use crate::render::Rendered;
use crate::session::{BoxError, Session, on_interrupt, print};

pub async fn run(cli: &Cli, args: &ApplyArgs) -> Result<u8, BoxError> {
    let session = Session::open(cli, &args.file)?;
    let saved = match &args.plan {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            Some((SavedPlan::from_json(&text)?, sha256(&text)))
        }
        None => None,
    };
    let approval = match (&saved, args.auto_approve) {
        (Some((saved, _)), _) => Approval::Reviewed(saved),
        (None, true) => Approval::AutoApprove,
        (None, false) => Approval::NoRemovals,
    };
    let interrupt = Interrupt::new();
    let mut guards = args.run.guards();
    guards.interrupt = interrupt.clone();
    if let Some(path) = &args.audit_log {
        let context = AuditContext::new(
            session.state.source_sha256().map(str::to_string),
            saved.as_ref().map(|(_, digest)| digest.clone()),
        );
        guards.journal = Some(Journal(Arc::new(AuditLog::open(path, context)?)));
    }
    on_interrupt(interrupt);
    let report = session
        .run(&args.run, guards)?
        .max_plan_age(args.max_plan_age.0)
        .apply(approval)
        .await?;
    if let Some(stop) = &report.stopped {
        eprintln!("{stop}");
    }
    let rendered = Rendered::new("apply", &args.file, &report, session.is_sandbox());
    print(&rendered.render(cli.output));
    Ok(report.exit_code())
}

fn sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}
