//! Declarative membership sync across the four services: read a desired-state file, print the plan, and
//! with `--apply` carry it out safely and print the report.
//!
//! ```text
//! cargo run --example sync_memberships -- examples/memberships.json [--apply] [--allow-empty]
//!     [--max-removals N] [--concurrency N]
//! ```
//! Without `--apply` nothing changes: exit 0 when every group is as desired, 2 when changes are pending,
//! 1 when a group could not be read or a guard refuses its plan. With `--apply` the plan is carried out,
//! each group read back, and the plan computed again to show that a second run changes nothing; exit 0 when
//! every group converged, 1 otherwise.
//!
//! Each connection of the file names the environment variables of its credentials; a connection whose
//! variables are not all set uses the embedded sandbox instead (said on stderr), which starts fresh on every
//! run.

#[macro_use]
mod common;

use std::collections::BTreeMap;
use std::process::ExitCode;

use group_membership::membership::{DesiredState, GroupReport, Guards, Service, reconcile_all};
use group_membership::sandbox::Sandbox;
use group_membership::{Client, Result};

const USAGE: &str =
    "sync_memberships FILE [--apply] [--allow-empty] [--max-removals N] [--concurrency N]";

#[tokio::main]
async fn main() -> ExitCode {
    if let Some(code) = common::help(USAGE) {
        return code;
    }
    let mut args = std::env::args().skip(1);
    let (mut file, mut apply, mut guards, mut concurrency) =
        (None, false, Guards::default(), 4usize);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--apply" => apply = true,
            "--allow-empty" => guards.allow_empty = true,
            "--max-removals" | "--concurrency" => {
                match args.next().and_then(|v| v.parse::<usize>().ok()) {
                    Some(n) if arg == "--max-removals" => guards.max_removals = Some(n),
                    Some(n) => concurrency = n.max(1),
                    None => return common::usage(USAGE, &format!("{arg} needs a whole number")),
                }
            }
            flag if flag.starts_with('-') => {
                return common::usage(USAGE, &format!("unknown option `{flag}`"));
            }
            _ if file.is_some() => return common::usage(USAGE, "only one FILE may be given"),
            _ => file = Some(arg),
        }
    }
    let Some(file) = file else {
        return common::usage(USAGE, "FILE is required");
    };
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) => return common::usage(USAGE, &format!("cannot read {file}: {e}")),
    };
    let state = match DesiredState::from_json(&text) {
        Ok(s) => s,
        Err(e) => return common::fail(&e),
    };
    let clients = match connect(&state) {
        Ok(c) => c,
        Err(e) => return common::fail(e.as_ref()),
    };
    let entries = match state.entries(&clients) {
        Ok(e) => e,
        Err(e) => return common::fail(&e),
    };

    say!(
        "== {} ({} groups){}",
        file,
        entries.len(),
        if apply {
            ""
        } else {
            ": plan only, nothing changes"
        }
    );
    let reports = reconcile_all(&entries, &guards, apply, concurrency).await;
    print_reports(&reports);
    let failed = reports.iter().filter(|r| !r.is_success()).count();
    if !apply {
        let pending = reports.iter().filter(|r| r.has_pending_changes()).count();
        say!("\n{pending} group(s) with pending changes, {failed} failed or refused");
        return match (failed, pending) {
            (0, 0) => ExitCode::SUCCESS,
            (0, _) => ExitCode::from(2),
            _ => ExitCode::FAILURE,
        };
    }

    say!("\n== plan again after applying (a second run)");
    let again = reconcile_all(&entries, &guards, false, concurrency).await;
    let still = again.iter().filter(|r| !r.made_no_change()).count();
    for r in &again {
        say!(
            "{} {}: {}",
            r.service,
            r.group,
            if r.made_no_change() {
                "no changes"
            } else {
                "STILL PENDING"
            }
        );
    }
    say!("\n{} group(s) failed, {still} not converged", failed);
    if failed == 0 && still == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn print_reports(reports: &[GroupReport]) {
    for r in reports {
        say!("\n{r}");
    }
}

/// A client per connection: from its environment variables, or the sandbox when any is missing.
fn connect(
    state: &DesiredState,
) -> std::result::Result<BTreeMap<String, Client>, Box<dyn std::error::Error>> {
    let env = |name: &str| common::env(name);
    let mut clients = BTreeMap::new();
    for (name, connection) in &state.connections {
        let missing = state.missing_variables(name, &env);
        let client = if missing.is_empty() {
            state.client(name, &env)?
        } else {
            let sandbox = common::sandbox()?;
            eprintln!(
                "connection `{name}`: {} not set: using the embedded sandbox at {}",
                missing.join(", "),
                sandbox.base_url()
            );
            sandbox_client(sandbox, connection.service)?
        };
        clients.insert(name.clone(), client);
    }
    Ok(clients)
}

fn sandbox_client(sandbox: &Sandbox, service: Service) -> Result<Client> {
    match service {
        Service::Uplynk => sandbox.uplynk_client(),
        Service::Entuity => sandbox.entuity_client(),
        Service::Danube => sandbox.danube_client(),
        _ => sandbox.traffic_ops_client(),
    }
}
