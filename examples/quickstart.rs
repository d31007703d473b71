//! The main job in one run, on every service: list who is in a group, grant, revoke, and list again.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//! With no environment set every service runs against the embedded sandbox. Each service switches to the
//! real server when its credentials are set, and then only reads unless told whom to grant and revoke:
//!
//! - Uplynk: `UPLYNK_USER_ID`, `UPLYNK_API_KEY` (`UPLYNK_BASE_URL`); group `UPLYNK_FAILOVER_GROUP_ID` or the
//!   first one listed; `UPLYNK_GRANT_USER_ID` to grant and revoke.
//! - Entuity: `ENTUITY_URL`, `ENTUITY_USER`, `ENTUITY_PASSWORD` (`ENTUITY_INSECURE=1`); config set
//!   `ENTUITY_CONFIG_SET_ID` or the first one listed; group `ENTUITY_USER_GROUP` (default `Administrators`);
//!   `ENTUITY_GRANT_USER` to add and remove.
//! - Danube Cloud: `DANUBE_URL` with `ES_API_KEY` or `DANUBE_USER` + `DANUBE_PASSWORD`; group
//!   `DANUBE_GROUP` (default: the first listed); `DANUBE_GRANT_USER` to add and remove.
//! - Traffic Ops: `TO_URL`, `TO_USER`, `TO_PASSWORD` (`TO_INSECURE=1`, `TO_API_VERSION`); federation
//!   `TO_FEDERATION_ID` or the first federation of CDN `TO_CDN` (default `CDN-in-a-Box`);
//!   `TO_GRANT_USER_ID` to assign and remove.
//!
//! Each run leaves the groups as it found them.

mod common;

use std::process::ExitCode;

use group_membership::danube::{GroupOrder, GroupUpdate};
use group_membership::entuity::NewMember;
use group_membership::traffic_ops::FederationUsersQuery;
use group_membership::uplynk::{AllowedOwnersUpdate, FailoverGroups};

/// The users the sandbox run grants and then revokes (the vendor sample's IDs).
const SANDBOX_GRANTEES: [&str; 2] = [
    "gu137664292b46a1a286cdf79b1a9bm8",
    "t341643dn409198f523flniu1234n34h",
];

#[tokio::main]
async fn main() -> ExitCode {
    let uplynk = match common::uplynk() {
        Ok(t) => t,
        Err(e) => return common::fail(e.as_ref()),
    };
    if let Err(e) = uplynk_tour(&uplynk).await {
        return common::fail(&e);
    }
    let entuity = match common::entuity() {
        Ok(t) => t,
        Err(e) => return common::fail(e.as_ref()),
    };
    if let Err(e) = entuity_tour(&entuity).await {
        return common::fail(&e);
    }
    let danube = match common::danube() {
        Ok(t) => t,
        Err(e) => return common::fail(e.as_ref()),
    };
    if let Err(e) = danube_tour(&danube).await {
        return common::fail(&e);
    }
    let traffic_ops = match common::traffic_ops() {
        Ok(t) => t,
        Err(e) => return common::fail(e.as_ref()),
    };
    if let Err(e) = traffic_ops_tour(&traffic_ops).await {
        return common::fail(&e);
    }
    ExitCode::SUCCESS
}

async fn uplynk_tour(target: &common::Target) -> group_membership::Result<()> {
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

/// The user the sandbox run adds to an Entuity user group and removes again.
const SANDBOX_ENTUITY_USER: &str = "kim1";

async fn entuity_tour(target: &common::Target) -> group_membership::Result<()> {
    let sets = target.client.entuity().config_sets();

    println!("\n== Entuity config sets");
    let listed = sets.list().await?;
    for s in &listed {
        println!(
            "  {}  {}",
            s.server_group_id,
            s.server_group_name.as_deref().unwrap_or("(unnamed)")
        );
    }
    let Some(set_id) = common::env("ENTUITY_CONFIG_SET_ID")
        .or_else(|| listed.first().map(|s| s.server_group_id.clone()))
    else {
        println!("No config set to show.");
        return Ok(());
    };
    let group = common::env("ENTUITY_USER_GROUP").unwrap_or_else(|| "Administrators".to_string());
    let before = sets.user_group(&set_id, &group).await?.members;
    println!("\nmembers of {group} before: {}", before.join(", "));

    let user = match common::env("ENTUITY_GRANT_USER") {
        Some(user) => user,
        None if target.is_sandbox() => SANDBOX_ENTUITY_USER.to_string(),
        None => {
            println!("Set ENTUITY_GRANT_USER to add and remove a member; stopping after the read.");
            return Ok(());
        }
    };
    if before.contains(&user) {
        println!("{user} is already a member; nothing to change.");
        return Ok(());
    }
    println!("\n== add {user}");
    let change = sets
        .add_user_group_member(&set_id, &group, &NewMember::new(user.as_str()))
        .await?;
    println!(
        "configuration change {} by {}",
        change.configuration_change_id, change.modified_by
    );
    println!(
        "members after adding: {}",
        sets.user_group(&set_id, &group).await?.members.join(", ")
    );

    println!("\n== remove {user}");
    let removal = sets
        .remove_user_group_member(&set_id, &group, &user)
        .await?;
    println!("{}", removal.details.as_deref().unwrap_or("removed"));
    let after = sets.user_group(&set_id, &group).await?.members;
    println!("members after removing: {}", after.join(", "));
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

/// The user the sandbox run assigns to a Traffic Ops federation and removes again.
const SANDBOX_TRAFFIC_OPS_USER: u64 = 3;

async fn traffic_ops_tour(target: &common::Target) -> group_membership::Result<()> {
    let federations = target.client.traffic_ops().federations();
    let cdn = common::env("TO_CDN").unwrap_or_else(|| "CDN-in-a-Box".to_string());

    println!("\n== Traffic Ops federations of CDN {cdn}");
    let listed = match federations.cdn_federations(&cdn).await {
        Ok(reply) => reply.response,
        Err(e) if e.is_not_found() => Vec::new(),
        Err(e) => return Err(e),
    };
    for f in &listed {
        println!("  {}  {} (ttl {})", f.id, f.cname, f.ttl);
    }
    let chosen = common::env("TO_FEDERATION_ID").and_then(|id| id.parse::<u64>().ok());
    let Some(federation) = chosen.or_else(|| listed.first().map(|f| f.id)) else {
        println!("No federation to show: set TO_FEDERATION_ID or TO_CDN.");
        return Ok(());
    };
    let ids = |users: &[group_membership::traffic_ops::FederationUser]| {
        users.iter().map(|u| u.id).collect::<Vec<_>>()
    };
    let before = ids(&federations
        .users(federation, &FederationUsersQuery::new())
        .await?
        .response);
    println!("\nusers of federation {federation} before: {before:?}");

    let user = match common::env("TO_GRANT_USER_ID").and_then(|u| u.parse::<u64>().ok()) {
        Some(user) => user,
        None if target.is_sandbox() => SANDBOX_TRAFFIC_OPS_USER,
        None => {
            println!("Set TO_GRANT_USER_ID to assign and remove a user; stopping after the read.");
            return Ok(());
        }
    };
    if before.contains(&user) {
        println!("user {user} is already assigned; nothing to change.");
        return Ok(());
    }
    println!("\n== assign user {user}");
    let assigned = federations.assign_users(federation, &[user], false).await?;
    for alert in &assigned.alerts {
        println!("{}", alert.text);
    }
    println!(
        "users after assigning: {:?}",
        ids(&federations
            .users(federation, &FederationUsersQuery::new())
            .await?
            .response)
    );

    println!("\n== remove user {user}");
    for alert in &federations.remove_user(federation, user).await?.alerts {
        println!("{}", alert.text);
    }
    let after = ids(&federations
        .users(federation, &FederationUsersQuery::new())
        .await?
        .response);
    println!("users after removing: {after:?}");
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

/// The user the sandbox run adds to a Danube Cloud group and removes again.
const SANDBOX_DANUBE_USER: &str = "tester@erigones.com";

async fn danube_tour(target: &common::Target) -> group_membership::Result<()> {
    let groups = target.client.danube().groups();

    println!("\n== Danube Cloud user groups");
    let names = groups.list_names(GroupOrder::Name).await?;
    println!("  {}", names.join(", "));
    let Some(name) = common::env("DANUBE_GROUP").or_else(|| names.first().cloned()) else {
        println!("No group to show.");
        return Ok(());
    };
    let before = groups.get(&name).await?.users;
    println!("\nusers of {name} before: {}", before.join(", "));
    let user = match common::env("DANUBE_GRANT_USER") {
        Some(user) => user,
        None if target.is_sandbox() => SANDBOX_DANUBE_USER.to_string(),
        None => {
            println!("Set DANUBE_GRANT_USER to add and remove a member; stopping after the read.");
            return Ok(());
        }
    };
    if before.contains(&user) {
        println!("{user} is already a member; nothing to change.");
        return Ok(());
    }
    // Danube's `users` replaces the whole list: send the members read just now plus the new one.
    println!("\n== add {user}");
    let with_user: Vec<String> = before.iter().cloned().chain([user.clone()]).collect();
    let added = groups
        .update(&name, &GroupUpdate::new().users(with_user))
        .await?;
    println!("users after adding: {}", added.users.join(", "));

    println!("\n== remove {user}");
    let removed = groups
        .update(&name, &GroupUpdate::new().users(before.clone()))
        .await?;
    println!("users after removing: {}", removed.users.join(", "));
    println!(
        "\nBack to the starting set: {}",
        if removed.users == before { "yes" } else { "no" }
    );
    Ok(())
}
