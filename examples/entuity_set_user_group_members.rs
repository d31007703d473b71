//! Mirrors the vendor's PUT example: replace the members of a user group on a config set.
//!
//! ```text
//! cargo run --example entuity_set_user_group_members -- CONFIG_SET_ID USER_GROUP MEMBER...
//! cargo run --example entuity_set_user_group_members -- 82e7c418-cd48-4fbf-857b-cddb475841a2 Administrators kim1 admin super1
//! ```
//! The list **overwrites** the group's members. Real server when `ENTUITY_URL`, `ENTUITY_USER` and
//! `ENTUITY_PASSWORD` are set (`ENTUITY_INSECURE=1` accepts a self-signed certificate; `ENTUITY_CA_FILE`
//! trusts the appliance's CA instead); otherwise the embedded sandbox.

#[macro_use]
mod common;

use std::process::ExitCode;

const USAGE: &str = "entuity_set_user_group_members CONFIG_SET_ID USER_GROUP MEMBER...";

#[tokio::main]
async fn main() -> ExitCode {
    if let Some(code) = common::help(USAGE) {
        return code;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(flag) = args.iter().find(|a| a.starts_with('-')) {
        return common::usage(USAGE, &format!("unknown option `{flag}`"));
    }
    let [config_set, group, members @ ..] = args.as_slice() else {
        return common::usage(USAGE, "CONFIG_SET_ID and USER_GROUP are required");
    };
    if members.is_empty() {
        return common::usage(
            USAGE,
            "name at least one MEMBER (the list replaces the group's members)",
        );
    }
    let target = match common::entuity() {
        Ok(t) => t,
        Err(e) => return common::fail(e.as_ref()),
    };
    match target
        .client
        .entuity()
        .user_groups(config_set)
        .members(group)
        .replace_all(members.iter().cloned())
        .await
    {
        Ok(change) => {
            common::print_json(&change);
            ExitCode::SUCCESS
        }
        Err(e) => common::fail(&e),
    }
}
