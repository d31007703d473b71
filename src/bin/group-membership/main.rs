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
    DesiredState, ExportScope, GroupReport, Guards, Reconcile, SavedGroupPlan, SavedPlan, Service,
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
        /// Save the plan here, for review and `apply --plan` (not written when a group could not be
        /// planned).
        #[arg(long, value_name = "PLAN")]
        out: Option<PathBuf>,
    },
    /// Carry a plan out with the guards, read each group back, plan again. Exit 0 only if every group
    /// now matches the file.
    ///
    /// With --plan, exactly the saved plan: each group is read first and refused, with nothing written,
    /// if its members are not the ones the plan observed. Without it, a fresh plan, which must not remove
    /// anyone unless --auto-approve is given.
    Apply {
        /// The desired-state file (the one the saved plan was made from).
        file: PathBuf,
        #[command(flatten)]
        run: RunArgs,
        /// The saved plan to apply (from `plan --out`).
        #[arg(long, value_name = "PLAN")]
        plan: Option<PathBuf>,
        /// Apply a fresh plan even when it removes members (no saved plan was reviewed).
        #[arg(long, conflicts_with = "plan")]
        auto_approve: bool,
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
    fn concurrency(&self) -> usize {
        usize::from(self.concurrency)
    }
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
        Err(e) => {
            if cli.output == Format::Json {
                print(&output::error_json(
                    command_name(&cli.command),
                    &e.to_string(),
                ));
            }
            fail(e.as_ref())
        }
    }
}

fn fail(e: &dyn std::error::Error) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::FAILURE
}

fn command_name(command: &Command) -> &'static str {
    match command {
        Command::Plan { .. } => "plan",
        Command::Apply { .. } => "apply",
        Command::Export { .. } => "export",
    }
}

async fn run(cli: &Cli) -> Result<ExitCode, BoxError> {
    match &cli.command {
        Command::Plan { file, run, out } => plan(cli, file, run, out.as_deref()).await,
        Command::Apply {
            file,
            run,
            plan,
            auto_approve,
        } => apply(cli, file, run, plan.as_deref(), *auto_approve).await,
        Command::Export { file, all, out } => export(cli, file, *all, out.as_deref()).await,
    }
}

/// The file's text (saved plans record its digest) and what it says.
fn load(file: &Path) -> Result<(String, DesiredState), BoxError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let state = DesiredState::from_json(&text)?;
    Ok((text, state))
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

async fn plan(
    cli: &Cli,
    file: &Path,
    run: &RunArgs,
    out: Option<&Path>,
) -> Result<ExitCode, BoxError> {
    let (text, state) = load(file)?;
    let mut sandbox = None;
    let clients = connect(&state, cli.no_sandbox, &mut sandbox)?;
    let entries = state.entries(&clients)?;
    let guards = run.guards();
    let planned = plan_all(&entries, &guards, run.concurrency()).await;
    let (reports, saved): (Vec<GroupReport>, Vec<_>) = planned.into_iter().unzip();
    if let Some(out) = out {
        save_plan(&text, saved, out)?;
    }
    let rendered = Rendered::new("plan", file, &state, &reports);
    print(&rendered.render(cli.output, colour()));
    Ok(ExitCode::from(rendered.exit_code()))
}

/// Writes the plan, or refuses when some group could not be planned (a partial plan is no plan).
fn save_plan(
    text: &str,
    saved: Vec<Option<group_membership::membership::SavedGroupPlan>>,
    out: &Path,
) -> Result<(), BoxError> {
    let missing = saved.iter().filter(|g| g.is_none()).count();
    if missing > 0 {
        eprintln!(
            "the plan was not saved to {}: {missing} group(s) could not be planned",
            out.display()
        );
        return Ok(());
    }
    let plan = SavedPlan::new(text, saved.into_iter().flatten().collect());
    std::fs::write(out, plan.to_json()?)
        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    eprintln!(
        "saved the plan to {}: apply it with `apply --plan`",
        out.display()
    );
    Ok(())
}

async fn apply(
    cli: &Cli,
    file: &Path,
    run: &RunArgs,
    plan_file: Option<&Path>,
    auto_approve: bool,
) -> Result<ExitCode, BoxError> {
    let (text, state) = load(file)?;
    let saved = match plan_file {
        Some(path) => Some(load_saved_plan(path, &text)?),
        None => None,
    };
    let mut sandbox = None;
    let clients = connect(&state, cli.no_sandbox, &mut sandbox)?;
    let entries = state.entries(&clients)?;
    let guards = run.guards();
    let concurrency = run.concurrency();
    let work = match saved {
        Some(saved) => saved_work(&entries, saved)?,
        // Without a saved plan: plan now and apply exactly that plan, so the same check guards the span
        // between this run's read and its write, and nobody is removed unless approved.
        None => {
            let planned = plan_all(&entries, &guards, concurrency).await;
            let removes = planned
                .iter()
                .any(|(_, g)| g.as_ref().is_some_and(|g| !g.remove.is_empty()));
            if removes && !auto_approve {
                let reports: Vec<GroupReport> = planned.into_iter().map(|(r, _)| r).collect();
                let mut rendered = Rendered::new("apply", file, &state, &reports);
                rendered.error = Some(NEEDS_APPROVAL.to_string());
                print(&rendered.render(cli.output, colour()));
                eprintln!("{NEEDS_APPROVAL}");
                return Ok(ExitCode::FAILURE);
            }
            planned
                .into_iter()
                .map(|(report, group)| match group {
                    Some(g) => Work::Apply(g),
                    None => Work::Done(report),
                })
                .collect()
        }
    };
    let futures = entries
        .iter()
        .zip(work)
        .map(|(entry, work)| {
            let guards = &guards;
            Box::pin(async move {
                match work {
                    Work::Done(report) => report,
                    Work::Apply(g) => entry.apply_saved(&g, guards).await,
                }
            }) as ReportFuture<'_>
        })
        .collect();
    let reports = drive(futures, concurrency, |report| report).await;
    let again = reconcile_all(&entries, &guards, concurrency).await;
    let mut rendered = Rendered::new("apply", file, &state, &reports);
    rendered.again = Some(&again);
    print(&rendered.render(cli.output, colour()));
    Ok(ExitCode::from(rendered.exit_code()))
}

const NEEDS_APPROVAL: &str = "refusing to apply: this plan removes members and no saved plan was \
    reviewed. Save one with `plan FILE --out PLAN`, review it, then `apply FILE --plan PLAN`; or pass \
    --auto-approve. Nothing was written.";

/// What apply does with one group.
enum Work {
    /// Its plan, to apply.
    Apply(SavedGroupPlan),
    /// Nothing: it could not be planned, and this is its report.
    Done(GroupReport),
}

/// Reads a saved plan and checks it was made from this desired-state file.
fn load_saved_plan(path: &Path, desired_state: &str) -> Result<SavedPlan, BoxError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let plan = SavedPlan::from_json(&text)?;
    plan.check_source(desired_state)?;
    Ok(plan)
}

/// One group's saved plan per entry, in order; a plan that does not cover exactly the file's groups is
/// refused before anything is read.
fn saved_work(entries: &[Box<dyn Reconcile>], saved: SavedPlan) -> Result<Vec<Work>, BoxError> {
    if saved.groups.len() != entries.len() {
        return Err(format!(
            "the saved plan covers {} group(s), the file lists {}",
            saved.groups.len(),
            entries.len()
        )
        .into());
    }
    entries
        .iter()
        .map(|entry| {
            saved
                .group(entry.key())
                .cloned()
                .map(Work::Apply)
                .ok_or_else(|| format!("the saved plan has no group {}", entry.key()).into())
        })
        .collect()
}

/// Plans every group (no write), with the plan to save where one could be made.
async fn plan_all(
    entries: &[Box<dyn Reconcile>],
    guards: &Guards,
    concurrency: usize,
) -> Vec<(GroupReport, Option<SavedGroupPlan>)> {
    let futures = entries
        .iter()
        .map(|entry| entry.plan_to_save(guards))
        .collect();
    drive(futures, concurrency, |(report, _)| report).await
}

/// Plans every group again after applying (no write).
async fn reconcile_all(
    entries: &[Box<dyn Reconcile>],
    guards: &Guards,
    concurrency: usize,
) -> Vec<GroupReport> {
    let futures = entries
        .iter()
        .map(|entry| entry.reconcile(guards, false))
        .collect();
    drive(futures, concurrency, |report| report).await
}

type Boxed<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
type ReportFuture<'a> = Boxed<'a, GroupReport>;

/// Runs the futures `concurrency` at a time and returns their results in the given order, with progress on
/// stderr (each result's report says which group finished).
async fn drive<T>(
    futures: Vec<Boxed<'_, T>>,
    concurrency: usize,
    report_of: fn(&T) -> &GroupReport,
) -> Vec<T> {
    let total = futures.len();
    let mut done = 0;
    let mut results: Vec<(usize, T)> = futures_util::stream::iter(
        futures
            .into_iter()
            .enumerate()
            .map(|(i, f)| async move { (i, f.await) }),
    )
    .buffer_unordered(concurrency)
    .inspect(|(_, result)| {
        done += 1;
        progress(done, total, report_of(result));
    })
    .collect()
    .await;
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

fn progress(done: usize, total: usize, report: &GroupReport) {
    if total >= PROGRESS_FROM {
        eprintln!("[{done}/{total}] {} {}", report.service, report.group);
    }
}

async fn export(
    cli: &Cli,
    file: &Path,
    all: bool,
    out: Option<&Path>,
) -> Result<ExitCode, BoxError> {
    let (_, state) = load(file)?;
    let mut sandbox = None;
    let clients = connect(&state, cli.no_sandbox, &mut sandbox)?;
    let scope = if all {
        ExportScope::Everything
    } else {
        ExportScope::ListedGroups
    };
    let progress = |what: &str| eprintln!("reading {what}");
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
