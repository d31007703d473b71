//! What every example shares: pick the real service when its credentials are in the environment,
//! otherwise use the embedded sandbox (one per process) and say so on stderr.
#![allow(dead_code)] // each example uses only its own service's helpers

/// `println!` that stops printing quietly when standard output is closed, as when piped into `head`: the
/// example still finishes, undoing what it changed, and then exits 141 ([`finish`]).
macro_rules! say {
    () => {
        $crate::common::say(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::common::say(format_args!($($arg)*))
    };
}

use std::sync::OnceLock;

use group_membership::sandbox::Sandbox;
use group_membership::{Client, uplynk};

type BoxError = Box<dyn std::error::Error>;

/// A client and whether it talks to the embedded sandbox.
pub struct Target {
    pub client: Client,
    pub sandbox: bool,
}

impl Target {
    /// True when talking to the embedded sandbox.
    pub fn is_sandbox(&self) -> bool {
        self.sandbox
    }
}

/// The process's one sandbox, started on first use.
pub fn sandbox() -> Result<&'static Sandbox, BoxError> {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    if let Some(s) = SANDBOX.get() {
        return Ok(s);
    }
    let started = Sandbox::start()?;
    Ok(SANDBOX.get_or_init(|| started))
}

fn sandbox_target(
    missing: &str,
    client: impl FnOnce(&Sandbox) -> group_membership::Result<Client>,
) -> Result<Target, BoxError> {
    let sandbox = sandbox()?;
    eprintln!(
        "{missing} not set: using the embedded sandbox at {}",
        sandbox.base_url()
    );
    Ok(Target {
        client: client(sandbox)?,
        sandbox: true,
    })
}

/// Uplynk: `UPLYNK_USER_ID` + `UPLYNK_API_KEY` (and optionally `UPLYNK_BASE_URL`), or the sandbox.
pub fn uplynk() -> Result<Target, BoxError> {
    match (env("UPLYNK_USER_ID"), env("UPLYNK_API_KEY")) {
        (Some(user_id), Some(api_key)) => {
            let base_url =
                env("UPLYNK_BASE_URL").unwrap_or_else(|| uplynk::DEFAULT_BASE_URL.to_string());
            eprintln!("Using Uplynk at {base_url} as user {user_id}");
            let client = trusting(
                Client::builder()
                    .base_url(base_url)
                    .auth(uplynk::UplynkAuth::new(user_id, api_key)),
                "UPLYNK_CA_FILE",
            )
            .build()?;
            Ok(Target {
                client,
                sandbox: false,
            })
        }
        _ => sandbox_target(
            "UPLYNK_USER_ID and UPLYNK_API_KEY are",
            Sandbox::uplynk_client,
        ),
    }
}

/// Entuity: `ENTUITY_URL`, `ENTUITY_USER`, `ENTUITY_PASSWORD` (`ENTUITY_CA_FILE` trusts the appliance's
/// CA or pins its self-signed certificate, the right way; `ENTUITY_INSECURE=1` accepts any certificate),
/// or the sandbox.
pub fn entuity() -> Result<Target, BoxError> {
    match (
        env("ENTUITY_URL"),
        env("ENTUITY_USER"),
        env("ENTUITY_PASSWORD"),
    ) {
        (Some(url), Some(user), Some(password)) => {
            eprintln!("Using Entuity at {url} as {user}");
            let builder = trusting(
                Client::builder()
                    .base_url(url)
                    .auth(group_membership::auth::BasicAuth::new(user, password))
                    .danger_accept_invalid_certs(env("ENTUITY_INSECURE").as_deref() == Some("1")),
                "ENTUITY_CA_FILE",
            );
            Ok(Target {
                client: builder.build()?,
                sandbox: false,
            })
        }
        _ => sandbox_target(
            "ENTUITY_URL, ENTUITY_USER and ENTUITY_PASSWORD are",
            Sandbox::entuity_client,
        ),
    }
}

/// Traffic Ops: `TO_URL`, `TO_USER`, `TO_PASSWORD` (`TO_CA_FILE` trusts the server's CA or pins its
/// self-signed certificate; `TO_INSECURE=1` accepts any certificate; `TO_API_VERSION` picks the API
/// version), or the sandbox.
pub fn traffic_ops() -> Result<Target, BoxError> {
    use group_membership::traffic_ops::{ApiVersion, TrafficOpsSession};
    let version = match env("TO_API_VERSION") {
        Some(v) => ApiVersion::parse(&v)?,
        None => ApiVersion::default(),
    };
    match (env("TO_URL"), env("TO_USER"), env("TO_PASSWORD")) {
        (Some(url), Some(user), Some(password)) => {
            eprintln!("Using Traffic Ops at {url} as {user}, API {version}");
            let client = trusting(
                Client::builder()
                    .base_url(url)
                    .auth(TrafficOpsSession::password(user, password))
                    .traffic_ops_api_version(version)
                    .danger_accept_invalid_certs(env("TO_INSECURE").as_deref() == Some("1")),
                "TO_CA_FILE",
            )
            .build()?;
            Ok(Target {
                client,
                sandbox: false,
            })
        }
        _ => sandbox_target("TO_URL, TO_USER and TO_PASSWORD are", |s| {
            Client::builder()
                .base_url(s.base_url().as_str())
                .auth(TrafficOpsSession::password(
                    Sandbox::TRAFFIC_OPS_USER,
                    Sandbox::TRAFFIC_OPS_PASSWORD,
                ))
                .traffic_ops_api_version(version)
                .build()
        }),
    }
}

/// Danube Cloud: `DANUBE_URL` with `ES_API_KEY`, or `DANUBE_USER` + `DANUBE_PASSWORD` (`DANUBE_CA_FILE`
/// trusts the server's CA or pins its self-signed certificate); or the sandbox.
pub fn danube() -> Result<Target, BoxError> {
    use group_membership::danube::{DanubeApiKey, DanubeLogin};
    let Some(url) = env("DANUBE_URL") else {
        return sandbox_target("DANUBE_URL is", Sandbox::danube_client);
    };
    let builder = trusting(Client::builder().base_url(url.as_str()), "DANUBE_CA_FILE");
    let client = match (
        env("ES_API_KEY"),
        env("DANUBE_USER"),
        env("DANUBE_PASSWORD"),
    ) {
        (Some(key), _, _) => {
            eprintln!("Using Danube Cloud at {url} with an API key");
            builder.auth(DanubeApiKey::new(key)?).build()?
        }
        (None, Some(user), Some(password)) => {
            eprintln!("Using Danube Cloud at {url} as {user}");
            builder.auth(DanubeLogin::new(user, password)).build()?
        }
        _ => {
            return Err(
                "DANUBE_URL is set: set ES_API_KEY, or DANUBE_USER and DANUBE_PASSWORD".into(),
            );
        }
    };
    Ok(Target {
        client,
        sandbox: false,
    })
}

/// `variable` names a PEM file: its certificates are trusted as roots and pinned (a self-signed server
/// certificate, even one marked CA:TRUE, is accepted exactly).
fn trusting(
    builder: group_membership::ClientBuilder,
    variable: &str,
) -> group_membership::ClientBuilder {
    match env(variable) {
        Some(path) => builder.trust_pem_file(path),
        None => builder,
    }
}

/// Prints the alerts of a Traffic Ops reply, as the server words them.
pub fn print_alerts(alerts: &[group_membership::traffic_ops::Alert]) {
    for a in alerts {
        say!("{}: {}", String::from(a.level.clone()), a.text);
    }
}

/// True when no real service is configured at all (every service of the run uses the sandbox).
pub fn sandbox_only() -> bool {
    ["UPLYNK_USER_ID", "ENTUITY_URL", "DANUBE_URL", "TO_URL"]
        .iter()
        .all(|v| env(v).is_none())
}

/// A non-empty environment variable.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Prints a usage message and returns exit code 2.
static OUTPUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Writes one line to standard output; once it is closed, nothing more is printed (the example goes on to
/// undo what it changed).
pub fn say(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    use std::sync::atomic::Ordering;
    if OUTPUT_CLOSED.load(Ordering::SeqCst) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
        OUTPUT_CLOSED.store(true, Ordering::SeqCst);
    }
}

/// Watches for Ctrl-C (and SIGTERM): the first asks the example to stop after undoing the change in hand
/// ([`interrupted`]); a second ends the process at once (exit 130), whatever it leaves.
pub fn watch_interrupts() {
    tokio::spawn(async {
        let _ = tokio::signal::ctrl_c().await;
        INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
        eprintln!(
            "interrupted: undoing what this run changed, then stopping (Ctrl-C again to abort at once)"
        );
        let _ = tokio::signal::ctrl_c().await;
        eprintln!("aborted: a change may be left in place");
        std::process::exit(130);
    });
}

/// True once Ctrl-C was pressed: stop after undoing the change in hand.
pub fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
}

/// The exit code of a run that has undone its changes: 130 when interrupted, 141 when its output was
/// closed (the SIGPIPE convention), otherwise `code`.
pub fn finish(code: std::process::ExitCode) -> std::process::ExitCode {
    use std::sync::atomic::Ordering;
    if INTERRUPTED.load(Ordering::SeqCst) {
        eprintln!("interrupted: every change this run made was undone");
        return std::process::ExitCode::from(130);
    }
    if OUTPUT_CLOSED.load(Ordering::SeqCst) {
        return std::process::ExitCode::from(141);
    }
    code
}

/// `--help` or `-h` among the arguments: the usage on standard output, and exit code 0.
pub fn help(text: &str) -> Option<std::process::ExitCode> {
    if std::env::args().skip(1).any(|a| a == "--help" || a == "-h") {
        say(format_args!("usage: {text}"));
        Some(std::process::ExitCode::SUCCESS)
    } else {
        None
    }
}

pub fn usage(text: &str, problem: &str) -> std::process::ExitCode {
    eprintln!("error: {problem}\n\nusage: {text}");
    std::process::ExitCode::from(2)
}

/// Prints an error with its causes, and returns exit code 1.
pub fn fail(error: &dyn std::error::Error) -> std::process::ExitCode {
    eprintln!("error: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        eprintln!("  caused by: {cause}");
        source = cause.source();
    }
    std::process::ExitCode::FAILURE
}

/// Prints a change result the way the vendor's examples show it.
pub fn print_json(value: &impl serde::Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => say!("{text}"),
        Err(e) => eprintln!("cannot print the result: {e}"),
    }
}
