//! The command line: every command, argument and flag (clap), and nothing else.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use group_membership::membership::Guards;

/// Keep group memberships on Uplynk, Entuity, Danube Cloud and Traffic Ops equal to a reviewed file.
///
/// Exit codes: 0 nothing to change (plan) or done and converged (apply, export); 2 changes pending
/// (plan); 1 anything failed.
#[derive(Debug, Parser)]
#[command(name = "group-membership", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// How to print plans and reports: `text` for people, `json` for CI tools (a stable shape, see the
    /// README).
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub output: Format,
    /// Refuse to run when a connection's environment variables are missing, instead of using the
    /// embedded sandbox (use it in CI, so a missing secret can never plan against a fake).
    #[arg(long, global = true)]
    pub no_sandbox: bool,
}

/// How to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// For CI tools.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what would change; change nothing. Exit 0 when nothing would, 2 when changes are pending.
    Plan(PlanArgs),
    /// Carry a plan out with the guards, read each group back, plan again. Exit 0 only if every group
    /// now matches the file.
    ///
    /// With --plan, exactly the saved plan: each group is read first and refused, with nothing written,
    /// if its members are not the ones the plan observed. Without it, a fresh plan, which must not remove
    /// anyone unless --auto-approve is given.
    Apply(ApplyArgs),
    /// Write a desired-state file describing who is in each group now (so `plan` on it shows no change).
    Export(ExportArgs),
}

impl Command {
    /// The command's name, as JSON reports give it.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Plan(_) => "plan",
            Command::Apply(_) => "apply",
            Command::Export(_) => "export",
        }
    }
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The desired-state file.
    pub file: PathBuf,
    #[command(flatten)]
    pub run: RunArgs,
    /// Save the plan here, for review and `apply --plan` (not written when a group could not be
    /// planned).
    #[arg(long, value_name = "PLAN")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The desired-state file (the one the saved plan was made from).
    pub file: PathBuf,
    #[command(flatten)]
    pub run: RunArgs,
    /// The saved plan to apply (from `plan --out`).
    #[arg(long, value_name = "PLAN")]
    pub plan: Option<PathBuf>,
    /// Apply a fresh plan even when it removes members (no saved plan was reviewed).
    #[arg(long, conflicts_with = "plan")]
    pub auto_approve: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The desired-state file whose connections (and, without --all, groups) to read.
    pub file: PathBuf,
    /// Every group the connections can see, not only the ones FILE lists (Traffic Ops: the
    /// federations of the connection's `cdn`).
    #[arg(long)]
    pub all: bool,
    /// Where to write the file (default: standard output).
    #[arg(long, short = 'o', value_name = "PATH")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Allow a plan that leaves a non-empty group with no members.
    #[arg(long)]
    pub allow_empty: bool,
    /// Refuse a group's plan that removes more than N members.
    #[arg(long, value_name = "N")]
    pub max_removals: Option<usize>,
    /// How many groups to work on at a time.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
}

impl RunArgs {
    pub fn guards(&self) -> Guards {
        Guards {
            allow_empty: self.allow_empty,
            max_removals: self.max_removals,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }
}
