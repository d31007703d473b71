//! The main job in one run: list who may use a failover group, grant, revoke, and list again.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//! With no environment set it runs against the embedded sandbox. Against the real Uplynk service set
//! `UPLYNK_USER_ID` and `UPLYNK_API_KEY` (`UPLYNK_BASE_URL` overrides the host), and name the user to grant
//! and revoke again with `UPLYNK_GRANT_USER_ID` (without it the quickstart only reads). The failover group is
//! `UPLYNK_FAILOVER_GROUP_ID`, or the first one listed. The run leaves the allowed owners as it found them.

mod common;

use std::process::ExitCode;

use group_membership::uplynk::{AllowedOwnersUpdate, FailoverGroups};

/// The users the sandbox run grants and then revokes (the vendor sample's IDs).
const SANDBOX_GRANTEES: [&str; 2] = [
    "gu137664292b46a1a286cdf79b1a9bm8",
    "t341643dn409198f523flniu1234n34h",
];

#[tokio::main]
async fn main() -> ExitCode {
    let target = match common::uplynk() {
        Ok(t) => t,
        Err(e) => return common::fail(e.as_ref()),
    };
    match run(&target).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => common::fail(&e),
    }
}

async fn run(target: &common::Target) -> group_membership::Result<()> {
    let groups = target.client.uplynk().failover_groups();

    println!("== Uplynk failover groups");
    let listed = groups.list().await?;
    for g in &listed.items {
        println!("  {}  {}", g.id, g.name.as_deref().unwrap_or("(unnamed)"));
    }
    let Some(group_id) = common::env("UPLYNK_FAILOVER_GROUP_ID")
        .or_else(|| listed.items.first().map(|g| g.id.clone()))
    else {
        println!("No failover group to show: create one in the Uplynk console first.");
        return Ok(());
    };

    let before = show(&groups, &group_id, "allowed owners before").await?;
    let grantees: Vec<String> = match common::env("UPLYNK_GRANT_USER_ID") {
        Some(user) => vec![user],
        None if target.is_sandbox() => SANDBOX_GRANTEES.map(String::from).to_vec(),
        None => {
            println!(
                "Set UPLYNK_GRANT_USER_ID to grant and revoke a user; stopping after the read."
            );
            return Ok(());
        }
    };
    // Grant only who is not already allowed, so that revoking leaves the group as it was found.
    let new: Vec<String> = grantees
        .into_iter()
        .filter(|u| !before.contains(u))
        .collect();
    if new.is_empty() {
        println!("Everyone to grant is already allowed; nothing to change.");
        return Ok(());
    }

    println!("\n== grant {}", new.join(", "));
    groups
        .update_allowed_owners(
            &group_id,
            &AllowedOwnersUpdate::new().owners_to_add(new.iter().cloned()),
        )
        .await?;
    show(&groups, &group_id, "allowed owners after granting").await?;

    println!("\n== revoke {}", new.join(", "));
    groups
        .update_allowed_owners(
            &group_id,
            &AllowedOwnersUpdate::new().owners_to_remove(new.iter().cloned()),
        )
        .await?;
    let after = show(&groups, &group_id, "allowed owners after revoking").await?;

    println!(
        "\nBack to the starting set: {}",
        if after == before {
            "yes"
        } else {
            "no (someone else changed it meanwhile)"
        }
    );
    Ok(())
}

async fn show(
    groups: &FailoverGroups<'_>,
    group_id: &str,
    label: &str,
) -> group_membership::Result<Vec<String>> {
    let owners = groups.allowed_owners(group_id).await?;
    println!("\n{label} ({group_id}):");
    if owners.items.is_empty() {
        println!("  (none)");
    }
    for o in &owners.items {
        println!("  {}", o.owner);
    }
    Ok(owners.items.into_iter().map(|o| o.owner).collect())
}
