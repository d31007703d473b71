//! `group-membership`: keep group memberships on Uplynk, Entuity, Danube Cloud and Traffic Ops equal to
//! a reviewed desired-state file — `plan`, `apply`, `export`, `show`, `drift`, `access`, `offboard`,
//! `validate`, `schema` — in text for people, JSON for CI or Markdown for pull requests.
//!
//! A thin shell over the library's [`access`](group_membership::access) module: this file parses and
//! dispatches; each command is a file in `commands/`, the shared steps are in `session.rs`, and the
//! renderers in `render/`. Exit codes: 0 nothing to do / done; 2 `plan` found changes pending; 1 anything
//! failed (a read, a write, a guard, a bad file or argument); 130 interrupted.

mod cli;
mod commands;
mod render;
mod session;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

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
        Err(e) => return session::fail(&cli, &e.into()),
    };
    let result = runtime.block_on(async {
        match &cli.command {
            Command::Plan(args) => commands::plan::run(&cli, args).await,
            Command::Apply(args) => commands::apply::run(&cli, args).await,
            Command::Export(args) => commands::export::run(&cli, args).await,
            Command::Show(args) => commands::show::run(&cli, args).await,
            Command::Drift(args) => commands::drift::run(&cli, args).await,
            Command::Access(args) => commands::access::run(&cli, args).await,
            Command::Offboard(args) => commands::offboard::run(&cli, args).await,
            Command::Validate(args) => commands::validate::run(&cli, args),
            Command::Schema => commands::validate::schema(),
            Command::Sandbox(args) => commands::sandbox::run(args).await,
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => session::fail(&cli, &e),
    }
}
