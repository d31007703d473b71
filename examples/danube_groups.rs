//! A walk through Danube Cloud's group calls: list, create a scratch group, show it, update it, delete it.
//!
//! ```text
//! cargo run --example danube_groups
//! ```
//! The scratch group `gm-example-<time>` is created (dc-bound to `DANUBE_DC`, or not dc-bound when unset on a
//! real server — that needs SuperAdmin) and deleted again, so the server ends as it started. Real server when
//! `DANUBE_URL` and either `ES_API_KEY` or `DANUBE_USER` + `DANUBE_PASSWORD` are set; otherwise the sandbox.

#[macro_use]
mod common;

use std::process::ExitCode;

use group_membership::danube::{GroupUpdate, NewGroup};

const USAGE: &str = "danube_groups (no arguments)";

#[tokio::main]
async fn main() -> ExitCode {
    if let Some(code) = common::help(USAGE) {
        return code;
    }
    if std::env::args().len() > 1 {
        return common::usage(USAGE, "takes no arguments");
    }
    let target = match common::danube() {
        Ok(t) => t,
        Err(e) => return common::fail(e.as_ref()),
    };
    common::watch_interrupts();
    common::finish(match walk(&target).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => common::fail(&e),
    })
}

async fn walk(target: &common::Target) -> group_membership::Result<()> {
    let groups = target.client.danube().groups();
    say!("== groups: {}", groups.list_names().await?.join(", "));
    for g in groups.list().await? {
        say!(
            "  {:<20} alias {:<24} users {}",
            g.name,
            g.alias.as_deref().unwrap_or("-"),
            g.users.join(",")
        );
    }

    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let name = format!("gm-example-{stamp}");
    let dc = common::env("DANUBE_DC").or_else(|| {
        target
            .is_sandbox()
            .then(|| group_membership::sandbox::Sandbox::DANUBE_DC.to_string())
    });
    let new = match dc {
        Some(dc) => NewGroup::new(name.as_str()).dc(dc),
        None => NewGroup::new(name.as_str()).dc_bound(false),
    };
    say!("\n== create {name}");
    let created = groups
        .create(&new.alias(format!("Example {stamp}")).users(["admin"]))
        .await?;
    say!("created {} with users {:?}", created.name, created.users);

    // From here on the scratch group is deleted whatever happens (an error, Ctrl-C, a closed output).
    let used = use_scratch_group(&groups, &name).await;
    say!("\n== delete {name}");
    groups.delete(&name).await?;
    let still_there = groups.list_names().await?.contains(&name);
    say!("deleted; still there: {still_there}");
    if still_there {
        return Err(group_membership::Error::Internal(format!(
            "the scratch group {name} is still there after its delete"
        )));
    }
    used
}

/// Shows and updates the scratch group; stops early when interrupted.
async fn use_scratch_group(
    groups: &group_membership::danube::Groups<'_>,
    name: &str,
) -> group_membership::Result<()> {
    if common::interrupted() {
        return Ok(());
    }
    say!("\n== show {name} (extended)");
    let shown = groups.get_extended(name).await?;
    say!(
        "alias {:?}, dc-bound {:?}, datacenters {:?}",
        shown.alias,
        shown.dc_bound,
        shown.dcs
    );

    if common::interrupted() {
        return Ok(());
    }
    say!("\n== update {name}: users replace the whole list");
    let updated = groups
        .update(
            name,
            &GroupUpdate::new()
                .users(Vec::<String>::new())
                .alias("Example, emptied"),
        )
        .await?;
    say!("users now {:?}, alias {:?}", updated.users, updated.alias);
    Ok(())
}
