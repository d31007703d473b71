//! What every example shares: pick the real service when its credentials are in the environment,
//! otherwise start the embedded sandbox and say so on stderr.
#![allow(dead_code)] // each example uses only its own service's helpers

use group_membership::sandbox::Sandbox;
use group_membership::{Client, uplynk};

/// A client and, when no credentials were set, the sandbox it talks to (kept alive by the caller).
pub struct Target {
    pub client: Client,
    pub sandbox: Option<Sandbox>,
}

impl Target {
    /// True when talking to the embedded sandbox.
    pub fn is_sandbox(&self) -> bool {
        self.sandbox.is_some()
    }
}

/// Uplynk: `UPLYNK_USER_ID` + `UPLYNK_API_KEY` (and optionally `UPLYNK_BASE_URL`), or the sandbox.
pub fn uplynk() -> Result<Target, Box<dyn std::error::Error>> {
    match (env("UPLYNK_USER_ID"), env("UPLYNK_API_KEY")) {
        (Some(user_id), Some(api_key)) => {
            let base_url =
                env("UPLYNK_BASE_URL").unwrap_or_else(|| uplynk::DEFAULT_BASE_URL.to_string());
            eprintln!("Using Uplynk at {base_url} as user {user_id}");
            let client = Client::builder()
                .base_url(base_url)
                .auth(uplynk::UplynkAuth::new(user_id, api_key))
                .build()?;
            Ok(Target {
                client,
                sandbox: None,
            })
        }
        _ => {
            let sandbox = Sandbox::start()?;
            eprintln!(
                "UPLYNK_USER_ID and UPLYNK_API_KEY are not set: using the embedded sandbox at {}",
                sandbox.base_url()
            );
            Ok(Target {
                client: sandbox.uplynk_client()?,
                sandbox: Some(sandbox),
            })
        }
    }
}

/// A non-empty environment variable.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Prints a usage message and returns exit code 2.
pub fn usage(text: &str, problem: &str) -> std::process::ExitCode {
    eprintln!("error: {problem}\n\nusage: {text}");
    std::process::ExitCode::from(2)
}

/// Prints an SDK error with what a support ticket needs, and returns exit code 1.
pub fn fail(error: &dyn std::error::Error) -> std::process::ExitCode {
    eprintln!("error: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        eprintln!("  caused by: {cause}");
        source = cause.source();
    }
    std::process::ExitCode::FAILURE
}
