//! Every service's tracing span names its route template: fixed parts as they are, caller-supplied IDs as
//! `{}` (so no ID, name or secret reaches a trace, and traces group by route).

use std::sync::{Arc, Mutex};

use group_membership::sandbox::Sandbox;
use group_membership::traffic_ops::FederationUsersQuery;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Records the `path` field of every `group_membership.request` span opened on this thread.
#[derive(Clone, Default)]
struct Paths(Arc<Mutex<Vec<String>>>);

struct PathField<'a>(&'a mut Option<String>);

impl Visit for PathField<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "path" {
            *self.0 = Some(format!("{value:?}"));
        }
    }
}

impl Subscriber for Paths {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        if span.metadata().name() == "group_membership.request" {
            let mut path = None;
            span.record(&mut PathField(&mut path));
            self.0.lock().unwrap().extend(path);
        }
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

fn recording() -> (Paths, tracing::subscriber::DefaultGuard) {
    let paths = Paths::default();
    let guard = tracing::subscriber::set_default(paths.clone());
    (paths, guard)
}

fn taken(paths: &Paths) -> Vec<String> {
    std::mem::take(&mut *paths.0.lock().unwrap())
}

#[tokio::test(flavor = "current_thread")]
async fn uplynk_spans_show_the_failover_group_route() {
    let sandbox = Sandbox::start().unwrap();
    let client = sandbox.uplynk_client().unwrap();
    let (paths, _guard) = recording();
    client
        .uplynk()
        .failover_groups()
        .allowed_owners(Sandbox::UPLYNK_FAILOVER_GROUP_ID)
        .list()
        .await
        .unwrap();
    assert_eq!(taken(&paths), ["/api/v4/failover-groups/{}/allowed-owners"]);
}

#[tokio::test(flavor = "current_thread")]
async fn entuity_spans_show_the_user_group_routes() {
    let sandbox = Sandbox::start().unwrap();
    let client = sandbox.entuity_client().unwrap();
    let (paths, _guard) = recording();
    client
        .entuity()
        .user_groups(Sandbox::ENTUITY_CONFIG_SET_ID)
        .members("Administrators")
        .get()
        .await
        .unwrap();
    client
        .entuity()
        .user_groups(Sandbox::ENTUITY_CONFIG_SET_ID)
        .members("Administrators")
        .remove("admin")
        .await
        .unwrap();
    assert_eq!(
        taken(&paths),
        [
            "/api/cfg/serverGroupConfig/{}/userGroups/{}",
            "/api/cfg/serverGroupConfig/{}/userGroups/{}/members/{}",
        ]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn danube_spans_show_the_group_route_with_its_slash() {
    let sandbox = Sandbox::start().unwrap();
    let client = sandbox.danube_client().unwrap();
    let (paths, _guard) = recording();
    client.danube().groups().get("operators").await.unwrap();
    assert_eq!(taken(&paths), ["/api/accounts/group/{}/"]);
}

#[tokio::test(flavor = "current_thread")]
async fn traffic_ops_spans_show_the_version_and_the_federation_route() {
    let sandbox = Sandbox::start().unwrap();
    let client = sandbox.traffic_ops_client().unwrap();
    let (paths, _guard) = recording();
    let federations = client.traffic_ops().federations();
    federations
        .users(1)
        .list(&FederationUsersQuery::new())
        .await
        .unwrap();
    federations.users(1).remove(2).await.unwrap();
    assert_eq!(
        taken(&paths),
        [
            "/api/4.0/federations/{}/users",
            "/api/4.0/federations/{}/users/{}",
        ]
    );
}
