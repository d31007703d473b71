//! `group-membership`: keep group memberships on Uplynk, Entuity, Danube Cloud and Traffic Ops equal to
//! a reviewed desired-state file — `plan`, `apply`, `export` — in text for people or JSON for CI.
//!
//! Built on the library's public API only. Exit codes: 0 nothing to do / done; 2 `plan` found changes
//! pending; 1 anything failed (a read, a write, a guard, a bad file or argument).

mod output;

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use futures_util::StreamExt;
use group_membership::Client;
use group_membership::membership::{
    DesiredState, ExportScope, GroupReport, Guards, Reconcile, Service,
};
use group_membership::sandbox::Sandbox;

use crate::output::{Format, Rendered};

/// Keep group memberships on Uplynk, Entuity, Danube Cloud and Traffic Ops equal to a reviewed file.
///
/// Exit codes: 0 nothing to change (plan) or done and converged (apply, export); 2 changes pending
/// (plan); 1 anything failed.
#[derive(Debug, Parser)]
#[command(name = "group-membership", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How to print plans and reports: `text` for people, `json` for CI tools (a stable shape, see the
    /// README).
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    output: Format,
    /// Refuse to run when a connection's environment variables are missing, instead of using the
    /// embedded sandbox (use it in CI, so a missing secret can never plan against a fake).
    #[arg(long, global = true)]
    no_sandbox: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show what would change; change nothing. Exit 0 when nothing would, 2 when changes are pending.
    Plan {
        /// The desired-state file.
        file: PathBuf,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Carry the plan out with the guards, read each group back, plan again. Exit 0 only if every group
    /// now matches the file.
    Apply {
        /// The desired-state file.
        file: PathBuf,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Write a desired-state file describing who is in each group now (so `plan` on it shows no change).
    Export {
        /// The desired-state file whose connections (and, without --all, groups) to read.
        file: PathBuf,
        /// Every group the connections can see, not only the ones FILE lists (Traffic Ops: the
        /// federations of the connection's `cdn`).
        #[arg(long)]
        all: bool,
        /// Where to write the file (default: standard output).
        #[arg(long, short = 'o', value_name = "PATH")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Allow a plan that leaves a non-empty group with no members.
    #[arg(long)]
    allow_empty: bool,
    /// Refuse a group's plan that removes more than N members.
    #[arg(long, value_name = "N")]
    max_removals: Option<usize>,
    /// How many groups to work on at a time.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    concurrency: u16,
}

impl RunArgs {
    fn guards(&self) -> Guards {
        Guards {
            allow_empty: self.allow_empty,
            max_removals: self.max_removals,
        }
    }
}

/// From this many groups on, `plan` and `apply` report progress on stderr.
const PROGRESS_FROM: usize = 8;

type BoxError = Box<dyn std::error::Error>;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version print to stdout and succeed; a usage mistake is a failure (1), never the
        // 2 that means "changes pending".
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    match runtime.block_on(run(&cli)) {
        Ok(code) => code,
        Err(e) => fail(e.as_ref()),
    }
}

fn fail(e: &dyn std::error::Error) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::FAILURE
}

async fn run(cli: &Cli) -> Result<ExitCode, BoxError> {
    match &cli.command {
        Command::Plan { file, run } => reconcile(cli, file, run, false).await,
        Command::Apply { file, run } => reconcile(cli, file, run, true).await,
        Command::Export { file, all, out } => export(cli, file, *all, out.as_deref()).await,
    }
}

fn load(file: &Path) -> Result<DesiredState, BoxError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    Ok(DesiredState::from_json(&text)?)
}

/// A client per connection: from its environment variables, or the sandbox when any is missing (said on
/// stderr), unless `--no-sandbox`.
fn connect(
    state: &DesiredState,
    no_sandbox: bool,
    sandbox: &mut Option<Sandbox>,
) -> Result<BTreeMap<String, Client>, BoxError> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut clients = BTreeMap::new();
    for (name, connection) in &state.connections {
        let missing = state.missing_variables(name, &env);
        let client = if missing.is_empty() {
            state.client(name, &env)?
        } else if no_sandbox {
            return Err(format!(
                "connection `{name}` needs {} (and --no-sandbox forbids the sandbox)",
                missing.join(", ")
            )
            .into());
        } else {
            if sandbox.is_none() {
                *sandbox = Some(Sandbox::start()?);
            }
            let fake = sandbox.as_ref().ok_or("the sandbox did not start")?;
            eprintln!(
                "connection `{name}`: {} not set: using the embedded sandbox at {}",
                missing.join(", "),
                fake.base_url()
            );
            sandbox_client(fake, connection.service)?
        };
        clients.insert(name.clone(), client);
    }
    Ok(clients)
}

fn sandbox_client(sandbox: &Sandbox, service: Service) -> group_membership::Result<Client> {
    match service {
        Service::Uplynk => sandbox.uplynk_client(),
        Service::Entuity => sandbox.entuity_client(),
        Service::Danube => sandbox.danube_client(),
        _ => sandbox.traffic_ops_client(),
    }
}

async fn reconcile(
    cli: &Cli,
    file: &Path,
    run: &RunArgs,
    apply: bool,
) -> Result<ExitCode, BoxError> {
    let state = load(file)?;
    let mut sandbox = None;
    let clients = connect(&state, cli.no_sandbox, &mut sandbox)?;
    let entries = state.entries(&clients)?;
    let guards = run.guards();
    let concurrency = usize::from(run.concurrency);
    let reports = reconcile_with_progress(&entries, &guards, apply, concurrency).await;
    let again = if apply {
        Some(reconcile_with_progress(&entries, &guards, false, concurrency).await)
    } else {
        None
    };
    let rendered = Rendered {
        command: if apply { "apply" } else { "plan" },
        file,
        state: &state,
        reports: &reports,
        again: again.as_deref(),
    };
    let code = rendered.exit_code();
    print(&rendered.render(cli.output, colour()));
    Ok(ExitCode::from(code))
}

/// Every group planned or applied, `concurrency` at a time, in the file's order; progress on stderr when
/// there are many.
async fn reconcile_with_progress(
    entries: &[Box<dyn Reconcile>],
    guards: &Guards,
    apply: bool,
    concurrency: usize,
) -> Vec<GroupReport> {
    let total = entries.len();
    let mut done = 0;
    let mut reports: Vec<(usize, GroupReport)> = futures_util::stream::iter(
        entries
            .iter()
            .enumerate()
            .map(|(i, entry)| async move { (i, entry.reconcile(guards, apply).await) }),
    )
    .buffer_unordered(concurrency)
    .inspect(|(_, report)| {
        done += 1;
        if total >= PROGRESS_FROM {
            eprintln!("[{done}/{total}] {} {}", report.service, report.group);
        }
    })
    .collect()
    .await;
    reports.sort_by_key(|(i, _)| *i);
    reports.into_iter().map(|(_, r)| r).collect()
}

async fn export(
    cli: &Cli,
    file: &Path,
    all: bool,
    out: Option<&Path>,
) -> Result<ExitCode, BoxError> {
    let state = load(file)?;
    let mut sandbox = None;
    let clients = connect(&state, cli.no_sandbox, &mut sandbox)?;
    let scope = if all {
        ExportScope::Everything
    } else {
        ExportScope::ListedGroups
    };
    let progress = |key: &str| eprintln!("reading {key}");
    let exported = state.export(&clients, scope, &progress).await?;
    let text = exported.to_json()?;
    let Some(out) = out else {
        print(&text);
        return Ok(ExitCode::SUCCESS);
    };
    std::fs::write(out, &text).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    let keys: Vec<String> = exported.groups.iter().map(|g| g.key()).collect();
    match cli.output {
        Format::Json => print(&output::export_json(file, out, &keys)),
        Format::Text => eprintln!("wrote {} group(s) to {}", keys.len(), out.display()),
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes to stdout; a closed pipe (`| head`) ends the output quietly.
fn print(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
}

/// Colour only on a terminal, and never when `NO_COLOR` is set.
fn colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}
