//! Mirrors the documented `POST /api/4.0/federations/{ID}/users` (`{"userIds": [...], "replace": bool}`).
//!
//! ```text
//! cargo run --example traffic_ops_assign_federation_users -- FEDERATION_ID USER_ID... [--replace]
//! ```
//! `--replace` **removes every user currently assigned** to the federation before assigning the list.
//! Real server when `TO_URL`, `TO_USER` and `TO_PASSWORD` are set (`TO_INSECURE=1`, `TO_API_VERSION`);
//! otherwise the embedded sandbox (federation 1 holds user 2; users 3, 4 and 5 exist).

#[macro_use]
mod common;

use std::process::ExitCode;

const USAGE: &str = "traffic_ops_assign_federation_users FEDERATION_ID USER_ID... [--replace]";

#[tokio::main]
async fn main() -> ExitCode {
    if let Some(code) = common::help(USAGE) {
        return code;
    }
    let mut replace = false;
    let mut numbers = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--replace" => replace = true,
            flag if flag.starts_with('-') => {
                return common::usage(USAGE, &format!("unknown option `{flag}`"));
            }
            n => match n.parse::<u64>() {
                Ok(v) => numbers.push(v),
                Err(_) => return common::usage(USAGE, &format!("IDs are integers, not `{n}`")),
            },
        }
    }
    let Some((&federation, users)) = numbers.split_first() else {
        return common::usage(USAGE, "FEDERATION_ID is required");
    };
    if users.is_empty() {
        return common::usage(USAGE, "name at least one USER_ID");
    }
    let target = match common::traffic_ops() {
        Ok(t) => t,
        Err(e) => return common::fail(e.as_ref()),
    };
    let federation_users = target.client.traffic_ops().federations().users(federation);
    // `--replace` makes the list exactly these users (the server first drops every user); without it the
    // users are added and everyone else stays.
    let assigned = if replace {
        federation_users.replace_all(users).await
    } else {
        federation_users.add(users).await
    };
    match assigned {
        Ok(reply) => {
            common::print_alerts(&reply.alerts);
            say!(
                "userIds: {:?}, replace: {:?}",
                reply.response.user_ids,
                reply.response.replace
            );
            ExitCode::SUCCESS
        }
        Err(e) => common::fail(&e),
    }
}
