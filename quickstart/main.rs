//! The main job in one run, on every service: list who is in a group, grant, revoke, and list again.
//!
//! ```text
//! cargo run --locked -p quickstart
//! ```
//!
//! A package of its own (not an example of the crate) so that its first build compiles only what it needs:
//! examples would compile every dev-dependency of the crate's tests too.
//! Finding the group uses each service's own API; granting and revoking then go through the one
//! membership interface (`membership::add` and `membership::remove`: targeted changes that touch only the
//! member named), the same code for all four services.
//!
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
//!   `TO_GRANT_USER` (a username or an integer user ID) to assign and remove.
//!
//! Each run leaves the groups as it found them.

#[macro_use]
#[path = "../examples/common/mod.rs"]
mod common;

use std::collections::BTreeSet;
use std::fmt::Display;
use std::process::ExitCode;

use group_membership::membership::{
    DanubeGroupUsers, EntuityConfigSet, GroupMembers, TrafficOpsFederationUsers,
    UplynkAllowedOwners, UserRef, add, remove,
};

type BoxError = Box<dyn std::error::Error>;

const USAGE: &str =
    "quickstart (no arguments: the environment picks real servers, see examples/quickstart.rs)";

#[tokio::main]
async fn main() -> ExitCode {
    if let Some(code) = common::help(USAGE) {
        return code;
    }
    if let Some(extra) = std::env::args().nth(1) {
        return common::usage(USAGE, &format!("unexpected argument `{extra}`"));
    }
    common::watch_interrupts();
    for tour in [uplynk_tour, entuity_tour, danube_tour, traffic_ops_tour] {
        if common::interrupted() {
            break;
        }
        if let Err(e) = tour().await {
            return common::finish(common::fail(e.as_ref()));
        }
    }
    common::finish(ExitCode::SUCCESS)
}

type Tour = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), BoxError>>>>;

fn uplynk_tour() -> Tour {
    Box::pin(async {
        let target = common::uplynk()?;
        say!("== Uplynk failover groups");
        let listed = target.client.uplynk().failover_groups().list().await?;
        for g in &listed.items {
            say!("  {}  {}", g.id, g.name.as_deref().unwrap_or("(unnamed)"));
        }
        let Some(id) = common::env("UPLYNK_FAILOVER_GROUP_ID")
            .or_else(|| listed.items.first().map(|g| g.id.clone()))
        else {
            say!("No failover group to show: create one in the Uplynk console first.");
            return Ok(());
        };
        let grantee = common::env("UPLYNK_GRANT_USER_ID").or_else(|| {
            target
                .is_sandbox()
                .then(|| "gu137664292b46a1a286cdf79b1a9bm8".to_string())
        });
        grant_and_revoke(
            &UplynkAllowedOwners::new(target.client.clone(), id),
            grantee,
            "UPLYNK_GRANT_USER_ID",
        )
        .await
    })
}

fn entuity_tour() -> Tour {
    Box::pin(async {
        let target = common::entuity()?;
        say!("\n== Entuity config sets");
        let listed = target.client.entuity().config_sets().list().await?;
        for s in &listed {
            say!(
                "  {}  {}",
                s.server_group_id,
                s.server_group_name.as_deref().unwrap_or("(unnamed)")
            );
        }
        let Some(set) = common::env("ENTUITY_CONFIG_SET_ID")
            .or_else(|| listed.first().map(|s| s.server_group_id.clone()))
        else {
            say!("No config set to show.");
            return Ok(());
        };
        let group =
            common::env("ENTUITY_USER_GROUP").unwrap_or_else(|| "Administrators".to_string());
        let grantee = common::env("ENTUITY_GRANT_USER")
            .or_else(|| target.is_sandbox().then(|| "kim1".to_string()));
        grant_and_revoke(
            &EntuityConfigSet::new(target.client.clone(), set).user_group(group),
            grantee,
            "ENTUITY_GRANT_USER",
        )
        .await
    })
}

fn danube_tour() -> Tour {
    Box::pin(async {
        let target = common::danube()?;
        say!("\n== Danube Cloud user groups");
        let names = target.client.danube().groups().list_names().await?;
        say!("  {}", names.join(", "));
        let Some(group) = common::env("DANUBE_GROUP").or_else(|| names.first().cloned()) else {
            say!("No group to show.");
            return Ok(());
        };
        let grantee = common::env("DANUBE_GRANT_USER").or_else(|| {
            target
                .is_sandbox()
                .then(|| "tester@erigones.com".to_string())
        });
        grant_and_revoke(
            &DanubeGroupUsers::new(target.client.clone(), group),
            grantee,
            "DANUBE_GRANT_USER",
        )
        .await
    })
}

fn traffic_ops_tour() -> Tour {
    Box::pin(async {
        let target = common::traffic_ops()?;
        let cdn = common::env("TO_CDN").unwrap_or_else(|| "CDN-in-a-Box".to_string());
        say!("\n== Traffic Ops federations of CDN {cdn}");
        let listed = match target
            .client
            .traffic_ops()
            .federations()
            .cdn_federations(&cdn)
            .await
        {
            Ok(reply) => reply.response,
            Err(e) if e.is_not_found() => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        for f in &listed {
            say!("  {}  {} (ttl {})", f.id, f.cname, f.ttl);
        }
        let chosen = common::env("TO_FEDERATION_ID").and_then(|id| id.parse::<u64>().ok());
        let Some(federation) = chosen.or_else(|| listed.first().map(|f| f.id)) else {
            say!("No federation to show: set TO_FEDERATION_ID or TO_CDN.");
            return Ok(());
        };
        // A username or an integer ID: the membership interface resolves either.
        let grantee = match common::env("TO_GRANT_USER") {
            Some(user) => Some(match user.parse::<u64>() {
                Ok(id) => UserRef::Id(id),
                Err(_) => UserRef::Username(user),
            }),
            None => target.is_sandbox().then(|| UserRef::from("operator")),
        };
        let group = TrafficOpsFederationUsers::new(target.client.clone(), federation);
        grant_and_revoke(&group, grantee, "TO_GRANT_USER").await
    })
}

/// The same code for every service: show the members, add `grantee` (a targeted change: nobody else is
/// touched), show, remove them again, show.
async fn grant_and_revoke<G>(
    group: &G,
    grantee: Option<G::Name>,
    variable: &str,
) -> Result<(), BoxError>
where
    G: GroupMembers,
    G::Name: Display,
{
    let show = |label: &str, members: &BTreeSet<G::Member>| {
        let list: Vec<String> = members.iter().map(ToString::to_string).collect();
        say!(
            "{label}: {}",
            if list.is_empty() {
                "(none)".to_string()
            } else {
                list.join(", ")
            }
        );
    };
    let before = group.members().await?;
    say!("\n{}", group.describe());
    show("  before", &before);
    let Some(user) = grantee else {
        say!("  Set {variable} to grant and revoke someone; stopping after the read.");
        return Ok(());
    };

    let granted = add(group, [user.clone()]).await;
    if granted.made_no_change() {
        say!("  {user} is already a member; nothing to change.");
        return Ok(());
    }
    // Whatever became of the add (done, failed part-way, or Ctrl-C meanwhile), the user is removed again
    // before anything else: a run never leaves its grant in place.
    let added = granted.into_result();
    if added.is_ok() && !common::interrupted() {
        show(&format!("  after adding {user}"), &group.members().await?);
    }
    let removed = remove(group, [user.clone()]).await.into_result();
    added?;
    removed?;
    let after = group.members().await?;
    show(&format!("  after removing {user}"), &after);
    say!(
        "  back to the starting set: {}",
        if after == before {
            "yes"
        } else {
            "no (someone else changed it meanwhile)"
        }
    );
    if after != before && common::sandbox_only() {
        // Nobody else uses the embedded sandbox: a difference is this run's own change left behind.
        return Err(format!("{} was not left as it was found", group.describe()).into());
    }
    Ok(())
}
