//! Mirrors the vendor's DELETE example: remove one user from a user group on a config set.
//!
//! ```text
//! cargo run --example entuity_remove_user_group_member -- CONFIG_SET_ID USER_GROUP USERNAME
//! cargo run --example entuity_remove_user_group_member -- 82e7c418-cd48-4fbf-857b-cddb475841a2 Administrators admin
//! ```
//! Real server when `ENTUITY_URL`, `ENTUITY_USER` and `ENTUITY_PASSWORD` are set (`ENTUITY_INSECURE=1`
//! accepts a self-signed certificate); otherwise the embedded sandbox.

#[macro_use]
mod common;

use std::process::ExitCode;

const USAGE: &str = "entuity_remove_user_group_member CONFIG_SET_ID USER_GROUP USERNAME";

#[tokio::main]
async fn main() -> ExitCode {
    if let Some(code) = common::help(USAGE) {
        return code;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(flag) = args.iter().find(|a| a.starts_with('-')) {
        return common::usage(USAGE, &format!("unknown option `{flag}`"));
    }
    let [config_set, group, username] = args.as_slice() else {
        return common::usage(USAGE, "expected CONFIG_SET_ID USER_GROUP USERNAME");
    };
    let target = match common::entuity() {
        Ok(t) => t,
        Err(e) => return common::fail(e.as_ref()),
    };
    match target
        .client
        .entuity()
        .user_groups(config_set)
        .members(group)
        .remove(username)
        .await
    {
        Ok(removal) => {
            say!("{}", removal.details.as_deref().unwrap_or("removed"));
            if let Some(change) = removal.change {
                common::print_json(&change);
            }
            ExitCode::SUCCESS
        }
        Err(e) => common::fail(&e),
    }
}
