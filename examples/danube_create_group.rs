//! Mirrors the seed's `es create /accounts/group/testers -permissions admin,image_admin
//! -users admin,tester@erigones.com -alias 'Testers User Group'`: `POST /api/accounts/group/{name}/`.
//!
//! ```text
//! cargo run --example danube_create_group -- NAME [--alias A] [--permissions P,P] [--users U,U] [--dc DC | --no-dc-bound]
//! cargo run --example danube_create_group -- testers --permissions admin,image_admin --users admin,tester@erigones.com --alias 'Testers User Group'
//! ```
//! A group is dc-bound unless `--no-dc-bound`, and then needs a datacenter: `--dc`, else `DANUBE_DC`, else
//! (sandbox only) the sandbox's `main` — as the `es` tool uses its current datacenter. Real server when
//! `DANUBE_URL` and either `ES_API_KEY` or `DANUBE_USER` + `DANUBE_PASSWORD` are set; otherwise the sandbox.

#[macro_use]
mod common;

use std::process::ExitCode;

use group_membership::danube::NewGroup;

const USAGE: &str = "danube_create_group NAME [--alias A] [--permissions P,P] [--users U,U] [--dc DC | --no-dc-bound]";

#[tokio::main]
async fn main() -> ExitCode {
    if let Some(code) = common::help(USAGE) {
        return code;
    }
    let mut args = std::env::args().skip(1);
    let mut name = None;
    let (mut alias, mut permissions, mut users, mut dc, mut bound) = (None, None, None, None, true);
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| {
            args.next()
                .filter(|v| !v.starts_with("--"))
                .ok_or(format!("{flag} needs a value"))
        };
        let list = |v: String| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect::<Vec<_>>()
        };
        let step = match arg.as_str() {
            "--alias" => value("--alias").map(|v| alias = Some(v)),
            "--permissions" => value("--permissions").map(|v| permissions = Some(list(v))),
            "--users" => value("--users").map(|v| users = Some(list(v))),
            "--dc" => value("--dc").map(|v| dc = Some(v)),
            "--no-dc-bound" => {
                bound = false;
                Ok(())
            }
            flag if flag.starts_with('-') => Err(format!("unknown option `{flag}`")),
            _ if name.is_some() => Err("only one NAME may be given".to_string()),
            _ => {
                name = Some(arg.clone());
                Ok(())
            }
        };
        if let Err(problem) = step {
            return common::usage(USAGE, &problem);
        }
    }
    let Some(name) = name else {
        return common::usage(USAGE, "NAME is required");
    };
    if !bound && dc.is_some() {
        return common::usage(USAGE, "--dc and --no-dc-bound exclude each other");
    }
    let target = match common::danube() {
        Ok(t) => t,
        Err(e) => return common::fail(e.as_ref()),
    };
    let mut group = NewGroup::new(name.as_str());
    if let Some(a) = alias {
        group = group.alias(a);
    }
    if let Some(p) = permissions {
        group = group.permissions(p);
    }
    if let Some(u) = users {
        group = group.users(u);
    }
    if bound {
        let default_dc = common::env("DANUBE_DC").or_else(|| {
            target
                .is_sandbox()
                .then(|| group_membership::sandbox::Sandbox::DANUBE_DC.to_string())
        });
        match dc.or(default_dc) {
            Some(dc) => group = group.dc(dc),
            None => {
                return common::usage(
                    USAGE,
                    "a dc-bound group needs --dc DC (or DANUBE_DC), or --no-dc-bound",
                );
            }
        }
    } else {
        group = group.dc_bound(false);
    }
    match target.client.danube().groups().create(&group).await {
        Ok(created) => {
            common::print_json(&created);
            ExitCode::SUCCESS
        }
        Err(e) => {
            if let Some(fields) = e.field_errors() {
                for f in fields {
                    eprintln!("  {}: {}", f.field, f.messages.join(" "));
                }
            }
            common::fail(&e)
        }
    }
}
