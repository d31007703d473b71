//! Mirrors the vendor's "Get Allowed Users" sample: `GET /api/v4/failover-groups/{id}/allowed-owners`.
//!
//! ```text
//! cargo run --example uplynk_get_allowed_users [FAILOVER_GROUP_ID]
//! ```
//! Real service when `UPLYNK_USER_ID` and `UPLYNK_API_KEY` are set (`UPLYNK_BASE_URL` overrides the host);
//! otherwise the embedded sandbox.

#[macro_use]
mod common;

use std::process::ExitCode;

const USAGE: &str = "uplynk_get_allowed_users [FAILOVER_GROUP_ID]";
const SAMPLE_FAILOVER_GROUP_ID: &str = "e8d6b5cb940c40cc9ec6ad081a38f3f0";

#[tokio::main]
async fn main() -> ExitCode {
    if let Some(code) = common::help(USAGE) {
        return code;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let group_id = match args.as_slice() {
        [] => SAMPLE_FAILOVER_GROUP_ID.to_string(),
        [flag] if flag.starts_with('-') => {
            return common::usage(USAGE, &format!("unknown option `{flag}`"));
        }
        [id] => id.clone(),
        _ => return common::usage(USAGE, "expected at most one FAILOVER_GROUP_ID"),
    };
    let target = match common::uplynk() {
        Ok(t) => t,
        Err(e) => return common::fail(e.as_ref()),
    };
    match target
        .client
        .uplynk()
        .failover_groups()
        .allowed_owners(&group_id)
        .list()
        .await
    {
        Ok(owners) => {
            say!(
                "Failover group {group_id}: {} allowed owner(s)",
                owners.total_items.unwrap_or(owners.items.len() as u64)
            );
            for owner in &owners.items {
                say!(
                    "  {} (entry {})",
                    owner.owner,
                    owner
                        .id
                        .as_deref()
                        .filter(|id| !id.is_empty())
                        .unwrap_or("-")
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => common::fail(&e),
    }
}
