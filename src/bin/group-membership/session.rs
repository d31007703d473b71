//! What every command shares: read the file, connect (to the services its variables name, or to the
//! sandbox only when asked), build the run, watch for Ctrl-C, write files whole, print, fail.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use group_membership::Client;
use group_membership::access::{DesiredState, Problem, Progress, Run};
use group_membership::membership::{Guards, Interrupt};
use group_membership::sandbox::{Fault, Sandbox};

use crate::cli::{Cli, Format, RunArgs};
use crate::render;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// From this many groups on, `plan` and `apply` report progress on stderr.
const PROGRESS_FROM: usize = 8;

/// A desired-state file read and connected: its text, state, a client per connection and the identity
/// each logs in as. Keeps the sandbox (when asked for) alive for as long as the session, and writes its
/// request log when asked.
pub struct Session {
    pub state: DesiredState,
    pub clients: BTreeMap<String, Client>,
    pub logins: BTreeMap<String, String>,
    sandbox: Option<(Sandbox, Option<PathBuf>)>,
}

impl Session {
    /// Reads `file` and connects each connection through the environment variables it names; with
    /// `--sandbox`, to a fresh embedded sandbox instead. A missing variable is an error naming every
    /// missing one, before anything is read.
    pub fn open(cli: &Cli, file: &Path) -> Result<Session, BoxError> {
        Self::connect(cli, read_state(file)?)
    }

    /// Connects a state already read (as `open` does after reading).
    pub fn connect(cli: &Cli, state: DesiredState) -> Result<Session, BoxError> {
        if cli.sandbox {
            return Self::sandboxed(cli, state);
        }
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let clients = state
            .clients_with(&env, cli.retry_policy().as_ref())
            .map_err(|e| {
                format!("{e} (pass --sandbox to run against the embedded fake services instead)")
            })?;
        let logins = state
            .connections
            .keys()
            .filter_map(|name| Some((name.clone(), state.login_identity(name, &env)?)))
            .collect();
        Ok(Session {
            state,
            clients,
            logins,
            sandbox: None,
        })
    }

    fn sandboxed(cli: &Cli, state: DesiredState) -> Result<Session, BoxError> {
        let sandbox = Sandbox::start()?;
        if let Some(ms) = cli.sandbox_latency {
            let delay = Fault::Delay(std::time::Duration::from_millis(ms));
            for method in [
                http::Method::GET,
                http::Method::POST,
                http::Method::PUT,
                http::Method::DELETE,
            ] {
                sandbox.inject_fault(method, "/api", delay.clone(), u32::MAX)?;
            }
        }
        eprintln!(
            "SANDBOX: every connection uses the embedded sandbox at {} (--sandbox); no real service is \
             read or written",
            sandbox.base_url()
        );
        let policy = cli.retry_policy();
        let clients = state
            .connections
            .iter()
            .map(|(name, c)| {
                let builder = sandbox.client_builder(c.service);
                // The sandbox stands in for the real service: the same budget as the file's connection.
                let builder = match state.budget(name) {
                    Some(budget) => builder.request_budget(budget),
                    None => builder,
                };
                let builder = match &policy {
                    Some(p) => builder.retry_policy(p.clone()),
                    None => builder,
                };
                Ok((name.clone(), builder.build()?))
            })
            .collect::<Result<BTreeMap<_, _>, group_membership::Error>>()?;
        let logins = state
            .connections
            .iter()
            .map(|(name, c)| (name.clone(), Sandbox::login_identity(c.service).to_string()))
            .collect();
        Ok(Session {
            state,
            clients,
            logins,
            sandbox: Some((sandbox, cli.sandbox_requests.clone())),
        })
    }

    /// True when the session runs against the embedded sandbox.
    pub fn is_sandbox(&self) -> bool {
        self.sandbox.is_some()
    }

    /// A run over the file's groups with the command line's guards, budget, group selection,
    /// concurrency and progress.
    pub fn run<'a>(&'a self, args: &RunArgs, guards: Guards) -> Result<Run<'a>, BoxError> {
        let mut run = Run::new(&self.state, &self.clients)?
            .login_identities(self.logins.clone())?
            .guards(guards)
            .removal_budget(args.budget())
            .concurrency(usize::from(args.concurrency));
        if let Some(n) = args.connection_concurrency {
            run = run.connection_concurrency(usize::from(n));
        }
        if !args.groups.is_empty() {
            run = run.only_groups(args.groups.iter().cloned())?;
        }
        Ok(if self.state.groups.len() >= PROGRESS_FROM {
            run.on_progress(&show_progress)
        } else {
            run
        })
    }
}

impl Drop for Session {
    /// Writes the sandbox's request log when `--sandbox-requests` asked for it.
    fn drop(&mut self) {
        let Some((sandbox, Some(path))) = &self.sandbox else {
            return;
        };
        let lines: String = sandbox
            .requests()
            .iter()
            .map(|r| r.to_json().to_string() + "\n")
            .collect();
        if let Err(e) = write_whole(path, &lines) {
            eprintln!("error: cannot write the sandbox's requests: {e}");
        }
    }
}

fn show_progress(p: &Progress<'_>) {
    eprintln!("[{}/{}] {} {}", p.done, p.total, p.key, p.status.as_str());
}

/// Raises `interrupt` on the first Ctrl-C (SIGINT) or SIGTERM, and ends the process at once (exit 130)
/// on the second.
pub fn on_interrupt(interrupt: Interrupt) {
    tokio::spawn(async move {
        signal().await;
        interrupt.raise();
        eprintln!(
            "interrupted: no new write starts; writes in flight finish, then the report. Press Ctrl-C again \
             to abort at once."
        );
        signal().await;
        eprintln!("aborted: writes in flight may or may not have reached the server");
        std::process::exit(130);
    });
}

/// Ends the process (exit 130) on Ctrl-C or SIGTERM: for commands that write nothing to a service.
pub fn exit_on_interrupt() {
    tokio::spawn(async {
        signal().await;
        eprintln!("interrupted: nothing was written");
        std::process::exit(130);
    });
}

async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Refuses to write `out` over the desired-state file `input` (the same file by any path).
pub fn not_the_input(out: &Path, input: &Path) -> Result<(), BoxError> {
    let resolve = |p: &Path| -> Option<PathBuf> {
        let name = p.file_name()?;
        let parent = match p.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.canonicalize().ok()?,
            _ => std::env::current_dir().ok()?,
        };
        Some(parent.join(name))
    };
    match (resolve(out), resolve(input)) {
        (Some(a), Some(b)) if a == b => Err(format!(
            "refusing to write {} over the desired-state file it read: name another --out",
            out.display()
        )
        .into()),
        _ => Ok(()),
    }
}

/// Reads and checks a desired-state file or directory; every problem on a line of its own.
pub fn read_state(file: &Path) -> Result<DesiredState, BoxError> {
    DesiredState::validate(file).map_err(|problems| problems_message(&problems).into())
}

/// `invalid desired-state file` and each problem on its own line.
pub fn problems_message(problems: &[Problem]) -> String {
    let mut message = match problems.len() {
        1 => "invalid desired-state file:".to_string(),
        n => format!("invalid desired-state file ({n} problems):"),
    };
    for problem in problems {
        message += &format!("\n  {problem}");
    }
    message
}

/// Writes `text` to `path` whole or not at all: to a temporary file beside it, then renamed over it.
pub fn write_whole(path: &Path, text: &str) -> Result<(), BoxError> {
    let name = path
        .file_name()
        .ok_or_else(|| format!("{} names no file", path.display()))?;
    let temporary = path.with_file_name(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = std::fs::write(&temporary, text).and_then(|()| std::fs::rename(&temporary, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(format!("cannot write {}: {e}", path.display()).into());
    }
    Ok(())
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
        print(&render::json::error(
            cli.command.name(),
            &e.to_string(),
            cli.sandbox,
        ));
    }
    eprintln!("error: {e}");
    ExitCode::FAILURE
}
