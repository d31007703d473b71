//! What every command shares: read the file, connect, build the run, print, fail.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use group_membership::Client;
use group_membership::access::{DesiredState, Progress, Run};
use group_membership::sandbox::Sandbox;

use crate::cli::{Cli, Format, RunArgs};
use crate::render;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// From this many groups on, `plan` and `apply` report progress on stderr.
const PROGRESS_FROM: usize = 8;

/// A desired-state file read and connected: its state and a client per connection. Keeps the sandbox (if
/// one was started) alive for as long as the session.
pub struct Session {
    pub state: DesiredState,
    pub clients: BTreeMap<String, Client>,
    _sandbox: Option<Sandbox>,
}

impl Session {
    /// Reads `file` and connects each connection: from its environment variables, or the sandbox when any
    /// is missing (said on stderr), unless `--no-sandbox`.
    pub fn open(cli: &Cli, file: &Path) -> Result<Session, BoxError> {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let state = DesiredState::from_json(&text)?;
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let mut sandbox = None;
        let mut clients = BTreeMap::new();
        for (name, connection) in &state.connections {
            let missing = state.missing_variables(name, &env);
            let client = if missing.is_empty() {
                state.client(name, &env)?
            } else if cli.no_sandbox {
                return Err(format!(
                    "connection `{name}` needs {} (and --no-sandbox forbids the sandbox)",
                    missing.join(", ")
                )
                .into());
            } else {
                let fake = match &sandbox {
                    Some(fake) => fake,
                    None => sandbox.insert(Sandbox::start()?),
                };
                eprintln!(
                    "connection `{name}`: {} not set: using the embedded sandbox at {}",
                    missing.join(", "),
                    fake.base_url()
                );
                fake.client(connection.service)?
            };
            clients.insert(name.clone(), client);
        }
        Ok(Session {
            state,
            clients,
            _sandbox: sandbox,
        })
    }

    /// A run over the file's groups with the command line's guards, concurrency and progress.
    pub fn run<'a>(&'a self, args: &RunArgs) -> Result<Run<'a>, BoxError> {
        let run = Run::new(&self.state, &self.clients)?
            .guards(args.guards())
            .concurrency(usize::from(args.concurrency));
        Ok(if self.state.groups.len() >= PROGRESS_FROM {
            run.on_progress(&show_progress)
        } else {
            run
        })
    }
}

fn show_progress(p: &Progress<'_>) {
    eprintln!("[{}/{}] {} {}", p.done, p.total, p.key, p.status.as_str());
}

/// Writes to stdout; a closed pipe (`| head`) ends the output quietly.
pub fn print(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
}

/// Colour only on a terminal, and never when `NO_COLOR` is set.
pub fn colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// A run that stopped before reading any group: the error on stderr (and as JSON on stdout with
/// `--output json`), exit 1.
pub fn fail(cli: &Cli, e: &BoxError) -> ExitCode {
    if cli.output == Format::Json {
        print(&render::json::error(cli.command.name(), &e.to_string()));
    }
    eprintln!("error: {e}");
    ExitCode::FAILURE
}
