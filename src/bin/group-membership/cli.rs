//! The command line: every command, argument and flag (clap), and nothing else.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use group_membership::access::RemovalBudget;
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
    /// Use the embedded sandbox (a fake of the four services, started fresh) for every connection
    /// instead of the real services: for demos and tests. Every report then says so in its first line.
    /// Without it, every connection needs its environment variables; a missing one is an error.
    #[arg(long, global = true)]
    pub sandbox: bool,
    /// How many times a request that failed for now (429, 502/503/504, a timeout, no connection) is
    /// tried in all, when trying again cannot duplicate a write (default 3).
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=20))]
    pub retries: Option<u32>,
    /// The longest wait before trying again, in seconds, even when the service asks for more
    /// (default 30).
    #[arg(long, global = true, value_name = "SECONDS")]
    pub max_retry_wait: Option<u64>,
    /// Accepted for compatibility; refusing to run without every variable is the default now.
    #[arg(long, global = true, hide = true)]
    pub no_sandbox: bool,
    /// With --sandbox: answer every request this many milliseconds late (to watch progress, or interrupt
    /// an apply half-way).
    #[arg(long, global = true, value_name = "MS", requires = "sandbox")]
    pub sandbox_latency: Option<u64>,
    /// With --sandbox: write every request the sandbox received to this file as JSON lines when the
    /// command ends (method, path, query, status, and the body except for logins), to see what was written.
    #[arg(long, global = true, value_name = "FILE", requires = "sandbox")]
    pub sandbox_requests: Option<PathBuf>,
}

/// How to print.
impl Cli {
    /// The retry policy the command line asks for, when it asks for one.
    pub fn retry_policy(&self) -> Option<group_membership::RetryPolicy> {
        if self.retries.is_none() && self.max_retry_wait.is_none() {
            return None;
        }
        let mut policy = group_membership::RetryPolicy::default();
        if let Some(n) = self.retries {
            policy = policy.with_max_attempts(n);
        }
        if let Some(s) = self.max_retry_wait {
            policy = policy.with_max_retry_after(std::time::Duration::from_secs(s));
        }
        Some(policy)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// For CI tools.
    Json,
    /// For a pull-request comment: a summary table, refusals and failures first, a collapsible section
    /// per group (under 65,000 characters; cut with a note beyond).
    Markdown,
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
    /// Print a saved plan the way `plan` did (people by name when the desired-state file is given).
    Show(ShowArgs),
    /// For scheduled CI: does every group still match the file? Exit 0 when all do, 2 when one differs
    /// (naming who was added or removed outside the file), 1 when a group could not be read.
    Drift(DriftArgs),
    /// Every group a person is in, on every connection: desired in the file and live on the service.
    Access(AccessArgs),
    /// Take a person out of every group of the file (keeping its formatting), then print the plan that
    /// applying the edited file would make. Without --write the file is not changed.
    Offboard(OffboardArgs),
    /// Check a desired-state file without any service or credential: every problem, with its line and
    /// column. Exit 0 when it is valid, 1 otherwise.
    Validate(ValidateArgs),
    /// Print the JSON Schema of the desired-state file (for editors: name it in the file's `$schema`).
    Schema,
    /// Serve the four fake services (and control endpoints under /_sandbox/) on loopback until stopped
    /// (Ctrl-C or SIGTERM): for tests in any language. Prints the base URL, then the environment that
    /// points FILE's connections at it.
    Sandbox(SandboxArgs),
}

impl Command {
    /// The command's name, as JSON reports give it.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Plan(_) => "plan",
            Command::Apply(_) => "apply",
            Command::Export(_) => "export",
            Command::Show(_) => "show",
            Command::Drift(_) => "drift",
            Command::Access(_) => "access",
            Command::Offboard(_) => "offboard",
            Command::Validate(_) => "validate",
            Command::Schema => "schema",
            Command::Sandbox(_) => "sandbox",
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
    /// planned or the run is over its removal budget; never the desired-state file itself).
    #[arg(long, value_name = "PLAN")]
    pub out: Option<PathBuf>,
    /// The file before this edit (e.g. from the base branch): each change is marked as introduced by the
    /// edit, or as drift the old file would have corrected too.
    #[arg(long, value_name = "OLD_FILE")]
    pub base: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DriftArgs {
    /// The desired-state file (or directory).
    pub file: PathBuf,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Args)]
pub struct AccessArgs {
    /// The person, as the file's `people` names them (`@alice`).
    pub person: String,
    /// The desired-state file (or directory).
    pub file: PathBuf,
    /// Also every group the connections can see that the file does not list.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct OffboardArgs {
    /// The person, as the file's `people` names them (`@alice`).
    pub person: String,
    /// The desired-state file (or directory of JSON files).
    pub file: PathBuf,
    /// Write the edited file(s); without it, only show what would change.
    #[arg(long)]
    pub write: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// A desired-state file: print `export` lines pointing its connections at the sandbox.
    pub file: Option<PathBuf>,
    /// The port (default: a free one, printed).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub port: u16,
    /// The address to listen on; only loopback addresses are accepted.
    #[arg(long, value_name = "IP", default_value = "127.0.0.1")]
    pub listen: std::net::IpAddr,
    /// Start from this state (JSON: `{"uplynk": {group: [owners]}, "entuity": {set: {group: [members]}},
    /// "danube": {group: [users]}, "traffic_ops": {federation: [user IDs]}}`, as GET /_sandbox/state gives).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Write the state to this file when stopped.
    #[arg(long, value_name = "FILE")]
    pub save_state: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The desired-state file (or directory).
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The saved plan (from `plan --out`).
    pub plan: PathBuf,
    /// The desired-state file it was made from: people are shown by name, and the plan must come from
    /// exactly this file.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
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
    /// Refuse a saved plan older than this: `90m`, `24h`, `7d`, or `none`.
    #[arg(long, value_name = "AGE", default_value = "24h", value_parser = parse_age)]
    pub max_plan_age: PlanAge,
    /// Append every write to this file as JSON lines: an intent line synced to disk before the write is
    /// sent, a result line after it.
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
}

/// A maximum plan age, or none.
#[derive(Debug, Clone, Copy)]
pub struct PlanAge(pub Option<std::time::Duration>);

/// `90m`, `24h`, `7d`, `45s` or `none`.
fn parse_age(text: &str) -> Result<PlanAge, String> {
    if text == "none" {
        return Ok(PlanAge(None));
    }
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "`{text}`: use a number and s, m, h or d (`24h`), or `none`"
            ));
        }
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}`: use a number and s, m, h or d (`24h`), or `none`"))?;
    Ok(PlanAge(Some(std::time::Duration::from_secs(n * seconds))))
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
    /// Refuse a run that removes more than N members over all its groups (default 25; `none` for no
    /// limit).
    #[arg(long, value_name = "N", default_value = "25", value_parser = parse_limit)]
    pub max_total_removals: Limit,
    /// Refuse a run that removes more than this fraction (0 to 1) of all current members of its groups,
    /// from 4 removals on (default 0.25; `none` for no limit).
    #[arg(long, value_name = "F", default_value = "0.25", value_parser = parse_fraction)]
    pub max_removal_fraction: Fraction,
    /// Allow removing the identity a connection logs in as from a group (a self-lockout otherwise refused).
    #[arg(long)]
    pub allow_self_removal: bool,
    /// Only this group (its key in the file, e.g. `cdn/1`); repeat for more.
    #[arg(long = "group", value_name = "KEY")]
    pub groups: Vec<String>,
    /// Warn of memberships whose `until` falls within this many days.
    #[arg(long, value_name = "DAYS", default_value_t = 14)]
    pub warn_expiring: u32,
    /// How many groups to work on at a time.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// At most N groups of one connection at a time (default: no limit but a fair share: groups waiting
    /// on one throttled connection never hold every slot).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub connection_concurrency: Option<u16>,
}

/// A count limit, or none.
#[derive(Debug, Clone, Copy)]
pub struct Limit(pub Option<usize>);

/// A fraction limit, or none.
#[derive(Debug, Clone, Copy)]
pub struct Fraction(pub Option<f64>);

fn parse_limit(text: &str) -> Result<Limit, String> {
    if text == "none" {
        return Ok(Limit(None));
    }
    text.parse()
        .map(|n| Limit(Some(n)))
        .map_err(|_| format!("`{text}`: a whole number, or `none`"))
}

fn parse_fraction(text: &str) -> Result<Fraction, String> {
    if text == "none" {
        return Ok(Fraction(None));
    }
    match text.parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok(Fraction(Some(f))),
        _ => Err(format!(
            "`{text}`: a number from 0 to 1 (0.25 is 25%), or `none`"
        )),
    }
}

impl RunArgs {
    pub fn guards(&self) -> Guards {
        Guards {
            allow_empty: self.allow_empty,
            max_removals: self.max_removals,
            allow_self_removal: self.allow_self_removal,
            ..Guards::default()
        }
    }

    pub fn budget(&self) -> RemovalBudget {
        let mut budget = RemovalBudget::unlimited();
        budget.max_removals = self.max_total_removals.0;
        budget.max_fraction = self.max_removal_fraction.0;
        budget
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

    #[test]
    fn ages_limits_and_fractions_read_as_people_write_them() {
        use std::time::Duration;
        assert_eq!(
            super::parse_age("90m").unwrap().0,
            Some(Duration::from_secs(5400))
        );
        assert_eq!(
            super::parse_age("7d").unwrap().0,
            Some(Duration::from_secs(604_800))
        );
        assert_eq!(super::parse_age("none").unwrap().0, None);
        assert!(super::parse_age("24").is_err() && super::parse_age("h").is_err());
        assert_eq!(super::parse_limit("none").unwrap().0, None);
        assert!(super::parse_limit("-1").is_err());
        assert_eq!(super::parse_fraction("0.5").unwrap().0, Some(0.5));
        assert!(super::parse_fraction("1.5").is_err());
    }
}
