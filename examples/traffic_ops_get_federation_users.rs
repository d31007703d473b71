//! Mirrors the documented `GET /api/4.0/federations/{ID}/users`. `--offset N` skips N rows:
//! `--orderby userID --limit 2 --offset 1` shows the 2nd and 3rd users.
//!
//! ```text
//! cargo run --example traffic_ops_get_federation_users -- FEDERATION_ID [--role R] [--user-id N]
//!     [--orderby userID|role] [--sort-order asc|desc] [--limit N] [--offset N] [--page N]
//! ```
//! Real server when `TO_URL`, `TO_USER` and `TO_PASSWORD` are set (`TO_INSECURE=1` accepts a self-signed
//! certificate; `TO_API_VERSION` picks the API version, 4.0 by default); otherwise the embedded sandbox.

#[macro_use]
mod common;

use std::process::ExitCode;

use group_membership::traffic_ops::{FederationUserOrder, FederationUsersQuery, SortOrder};

const USAGE: &str = "traffic_ops_get_federation_users FEDERATION_ID [--role R] [--user-id N] [--orderby userID|role] [--sort-order asc|desc] [--limit N] [--offset N] [--page N]";

#[tokio::main]
async fn main() -> ExitCode {
    if let Some(code) = common::help(USAGE) {
        return code;
    }
    let mut args = std::env::args().skip(1);
    let mut federation = None;
    let mut query = FederationUsersQuery::new();
    while let Some(arg) = args.next() {
        if !arg.starts_with("--") {
            if federation.is_some() {
                return common::usage(USAGE, "only one FEDERATION_ID may be given");
            }
            match arg.parse::<u64>() {
                Ok(id) => federation = Some(id),
                Err(_) => {
                    return common::usage(
                        USAGE,
                        &format!("FEDERATION_ID must be an integer, not `{arg}`"),
                    );
                }
            }
            continue;
        }
        let Some(value) = args.next() else {
            return common::usage(USAGE, &format!("{arg} needs a value"));
        };
        let number = |v: &str| {
            v.parse::<i64>()
                .map_err(|_| format!("{arg} needs an integer, not `{v}`"))
        };
        let parsed: Result<FederationUsersQuery, String> = match arg.as_str() {
            "--role" => Ok(query.clone().role(value)),
            "--user-id" => number(&value)
                .and_then(|n| u64::try_from(n).map_err(|_| "--user-id must not be negative".into()))
                .map(|n| query.clone().user_id(n)),
            "--orderby" => match value.as_str() {
                "userID" => Ok(query.clone().orderby(FederationUserOrder::UserId)),
                "role" => Ok(query.clone().orderby(FederationUserOrder::Role)),
                other => Err(format!(
                    "--orderby takes userID or role (the keys that order users; Traffic Ops' `id` sorts by federation), not `{other}`"
                )),
            },
            "--sort-order" => match value.as_str() {
                "asc" => Ok(query.clone().sort_order(SortOrder::Ascending)),
                "desc" => Ok(query.clone().sort_order(SortOrder::Descending)),
                other => Err(format!("--sort-order takes asc or desc, not `{other}`")),
            },
            "--limit" => number(&value).map(|n| query.clone().limit(n)),
            "--offset" => number(&value)
                .and_then(|n| u64::try_from(n).map_err(|_| "--offset must not be negative".into()))
                .map(|n| query.clone().offset(n)),
            "--page" => number(&value)
                .and_then(|n| u64::try_from(n).map_err(|_| "--page must not be negative".into()))
                .map(|n| query.clone().page(n)),
            other => Err(format!("unknown option `{other}`")),
        };
        match parsed {
            Ok(q) => query = q,
            Err(problem) => return common::usage(USAGE, &problem),
        }
    }
    let Some(federation) = federation else {
        return common::usage(USAGE, "FEDERATION_ID is required");
    };
    let target = match common::traffic_ops() {
        Ok(t) => t,
        Err(e) => return common::fail(e.as_ref()),
    };
    match target
        .client
        .traffic_ops()
        .federations()
        .users(federation)
        .list(&query)
        .await
    {
        Ok(reply) => {
            common::print_alerts(&reply.alerts);
            say!(
                "{:>6}  {:<16} {:<14} {:<24} full name",
                "id",
                "username",
                "role",
                "email"
            );
            for u in &reply.response {
                say!(
                    "{:>6}  {:<16} {:<14} {:<24} {}",
                    u.id,
                    u.username.as_deref().unwrap_or("-"),
                    u.role.as_deref().unwrap_or("-"),
                    u.email.as_deref().unwrap_or("-"),
                    u.full_name.as_deref().unwrap_or("-")
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => common::fail(&e),
    }
}
