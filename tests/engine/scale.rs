//! Many groups. Fair scheduling: groups waiting on one connection never hold every slot while another
//! connection's groups wait. Batched reads: the groups of one Danube Cloud connection are planned from one `full=true` listing, as
//! strictly as from their own reads (a group the listing has without users fails; a group missing from it
//! is read on its own, and a missing group is the server's 404, never "empty"). The read right before a
//! write stays the group's own.

use crate::common;

use std::sync::Arc;

use common::*;
use group_membership::Client;
use group_membership::access::{Approval, DesiredState, Run};
use group_membership::danube::DanubeApiKey;
use group_membership::membership::{
    DanubeGroupListing, DanubeGroupUsers, Desired, Guards, Outcome, Reconcile, Service, Status,
};
use group_membership::sandbox::{Fault, Gate, Sandbox};
use http::Method;
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

fn ok(result: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({"status": "SUCCESS", "result": result, "task_id": "1e1d1-6f75849b"}))
}

#[tokio::test]
async fn a_listed_group_without_users_fails_and_a_group_missing_from_the_listing_is_read_on_its_own()
 {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path("/api/accounts/group/"))
        .and(query_param("full", "true"))
        .respond_with(ok(json!([
            {"name": "a", "alias": "A", "permissions": [], "users": ["admin", "bob"]},
            {"name": "b", "alias": "B", "permissions": []}
        ])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/accounts/group/c/"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"detail": "User Group not found"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    forbid_unexpected(&server).await;
    let client = Client::builder()
        .base_url(server.uri())
        .auth(DanubeApiKey::new("danube-Key-Heron-77").unwrap())
        .retry_policy(fast_retries(1))
        .build()
        .unwrap();
    let listing = Arc::new(DanubeGroupListing::new(client.clone()));
    let entry = |name: &str| {
        Desired::new(
            DanubeGroupUsers::new(client.clone(), name).with_listing(listing.clone()),
            ["admin"],
        )
        .with_key(name)
    };
    let guards = Guards::default();

    let (a, reviewed) = entry("a").plan(&guards).await;
    assert_eq!(a.status(), Status::Pending, "{a}");
    assert_eq!(reviewed.unwrap().remove.len(), 1, "bob, from the listing");

    let (b, reviewed) = entry("b").plan(&guards).await;
    let Outcome::ReadFailed { error } = &b.outcome else {
        panic!("a group listed without its users is a read failure, never empty: {b}");
    };
    assert!(
        error.to_string().contains("missing field `users`"),
        "{error}"
    );
    assert!(b.plan.is_none() && reviewed.is_none());

    let (c, _) = entry("c").plan(&guards).await;
    let Outcome::ReadFailed { error } = &c.outcome else {
        panic!("a group missing from the listing is read on its own: {c}");
    };
    assert!(error.is_not_found(), "{error}");
    // One listing, one read of the missing group, nothing else (the strict server refuses the rest).
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

/// A file with `n` Danube Cloud groups `g000`, `g001`, ... on one connection, each wanting `admin` and
/// `bob`.
fn many_groups(n: usize) -> DesiredState {
    groups_wanting(n, &["admin", "bob"])
}

/// A file with `n` Danube Cloud groups `g000`, `g001`, ... on connection `cloud`, each wanting `members`.
fn groups_wanting(n: usize, members: &[&str]) -> DesiredState {
    let groups: Vec<serde_json::Value> = (0..n)
        .map(|i| json!({"service": "danube", "connection": "cloud", "group": format!("g{i:03}"), "members": members}))
        .collect();
    let file = json!({
        "connections": {"cloud": {"service": "danube", "base_url": "https://danube.invalid"}},
        "groups": groups
    });
    DesiredState::from_json(&file.to_string()).unwrap()
}

/// Connection `cloud`: the sandbox's Danube Cloud.
fn cloud_clients(sandbox: &Sandbox) -> std::collections::BTreeMap<String, Client> {
    [(
        "cloud".to_string(),
        sandbox.client(Service::Danube).unwrap(),
    )]
    .into()
}

/// The plan of `state`, eight groups at a time.
async fn plan_eight_at_a_time(
    state: &DesiredState,
    clients: &std::collections::BTreeMap<String, Client>,
) -> group_membership::access::RunReport {
    Run::new(state, clients)
        .unwrap()
        .concurrency(8)
        .plan()
        .await
}

fn sandbox_with_groups(n: usize) -> Sandbox {
    let sandbox = Sandbox::start().unwrap();
    sandbox.add_danube_user("bob");
    for i in 0..n {
        assert!(sandbox.add_danube_group(&format!("g{i:03}"), &["admin"]));
    }
    sandbox
}

fn danube_gets(sandbox: &Sandbox) -> Vec<String> {
    sandbox
        .requests()
        .into_iter()
        .filter(|r| r.method == Method::GET && r.path.starts_with("/api/accounts/group/"))
        .map(|r| {
            let query: Vec<String> = r.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
            if query.is_empty() {
                r.path.clone()
            } else {
                format!("{}?{}", r.path, query.join("&"))
            }
        })
        .collect()
}

#[tokio::test]
async fn planning_many_groups_of_one_connection_reads_them_in_one_request() {
    let sandbox = sandbox_with_groups(60);
    let state = many_groups(60);
    let clients = cloud_clients(&sandbox);
    let report = plan_eight_at_a_time(&state, &clients).await;
    assert_eq!(report.exit_code(), 2);
    assert!(
        report
            .groups
            .iter()
            .all(|g| g.report.status() == Status::Pending)
    );
    // 60 groups: one listing, where each group was read on its own (60 requests, past the real server's
    // 45 a minute). Bob, added to every group, is looked up once: the eight groups planning at once
    // wait for the same look-up.
    let gets = danube_gets(&sandbox);
    assert_eq!(gets, ["/api/accounts/group/?full=true"], "{gets:?}");
    let lookups = sandbox
        .requests()
        .iter()
        .filter(|r| r.path == "/api/accounts/user/bob/")
        .count();
    assert_eq!(lookups, 1, "{lookups} look-ups of bob for 60 groups");
    assert_eq!(sandbox.requests().len(), 2, "the listing and one look-up");

    // Applying reads each group again right before its write: those reads stay per group.
    let before = sandbox.requests().len();
    let applied = Run::new(&state, &clients)
        .unwrap()
        .concurrency(8)
        .removal_budget(group_membership::access::RemovalBudget::unlimited())
        .apply(Approval::AutoApprove)
        .await
        .unwrap();
    assert_eq!(applied.exit_code(), 0, "{:?}", applied.summary());
    let gets: Vec<String> = danube_gets(&sandbox).into_iter().skip(1).collect();
    assert_eq!(
        gets.iter().filter(|g| g.ends_with("/?full=true")).count(),
        2,
        "one listing for this run's plan, one for the plan made again after writing: {gets:?}"
    );
    for i in 0..60 {
        let own = format!("/api/accounts/group/g{i:03}/");
        assert_eq!(
            gets.iter().filter(|g| **g == own).count(),
            2,
            "g{i:03}: read on its own right before its write, and to read it back: {gets:?}"
        );
    }
    assert!(sandbox.requests().len() > before);
}

#[tokio::test]
async fn a_user_no_one_has_added_to_many_groups_is_looked_up_once_and_fails_every_group() {
    let sandbox = sandbox_with_groups(20);
    let state = groups_wanting(20, &["admin", "zed"]);
    let clients = cloud_clients(&sandbox);
    let report = plan_eight_at_a_time(&state, &clients).await;
    assert_eq!(report.exit_code(), 1);
    for group in &report.groups {
        assert_eq!(
            group.report.status(),
            Status::ResolveFailed,
            "{}",
            group.report
        );
        assert!(
            group.report.to_string().contains("username `zed`"),
            "{}",
            group.report
        );
    }
    // The server's 404 for zed is kept for the run: one look-up, not one per group.
    let paths: Vec<String> = sandbox.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        ["/api/accounts/group/", "/api/accounts/user/zed/"],
        "{paths:?}"
    );
}

#[tokio::test]
async fn an_export_of_many_groups_reads_them_in_one_request_in_file_order() {
    let sandbox = sandbox_with_groups(30);
    let state = many_groups(30);
    let clients = cloud_clients(&sandbox);
    let exported = state
        .export(
            &clients,
            group_membership::access::ExportScope::ListedGroups,
            &|_| {},
        )
        .await
        .unwrap();
    let keys: Vec<String> = exported.groups.iter().map(|g| g.key()).collect();
    let expected: Vec<String> = (0..30).map(|i| format!("cloud/g{i:03}")).collect();
    assert_eq!(keys, expected);
    assert!(exported.groups.iter().all(|g| g.members().len() == 1));
    assert_eq!(danube_gets(&sandbox), ["/api/accounts/group/?full=true"]);
}

#[tokio::test]
async fn groups_held_up_on_one_connection_do_not_keep_another_connections_groups_waiting() {
    let sandbox = Sandbox::start().unwrap();
    // Eight Uplynk groups first in the file, whose reads are held until the gate opens; then the Traffic
    // Ops federation and the Danube Cloud group.
    let uplynk = uplynk_groups(8);
    let mut groups = uplynk;
    groups.push(json!({"service": "traffic_ops", "connection": "cdn", "federation_id": 1, "members": ["admin"]}));
    groups.push(json!({"service": "danube", "connection": "cloud", "group": "operators", "members": ["admin"]}));
    let file = json!({
        "connections": {
            "video": {"service": "uplynk", "user_id_env": "U", "api_key_env": "K"},
            "cdn": {"service": "traffic_ops", "base_url_env": "T", "username_env": "TU", "password_env": "TP"},
            "cloud": {"service": "danube", "base_url_env": "D", "api_key_env": "DK"}
        },
        "groups": groups
    });
    let state = DesiredState::from_json(&file.to_string()).unwrap();
    let clients = sandbox.clients_for(&state).unwrap();
    let gate = Gate::new();
    hold_uplynk_reads(&sandbox, &gate);
    let finished = std::sync::Mutex::new(Vec::new());
    let progress = |p: &group_membership::access::Progress<'_>| {
        finished.lock().unwrap().push(p.key.to_string());
    };
    let run = Run::new(&state, &clients)
        .unwrap()
        .concurrency(4)
        .on_progress(&progress);
    let plan = run.plan();
    let release = async {
        // The two other connections' groups finish while every Uplynk read is still held.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        while finished.lock().unwrap().len() < 2 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the Traffic Ops and Danube Cloud groups waited behind the held Uplynk groups"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        gate.release();
    };
    let (report, ()) = tokio::join!(plan, release);
    let order = finished.lock().unwrap().clone();
    let mut first_two = order[..2].to_vec();
    first_two.sort();
    assert_eq!(first_two, ["cdn/1", "cloud/operators"], "{order:?}");
    assert_eq!(order.len(), 10);
    assert_eq!(report.groups.len(), 10);
}

#[tokio::test]
async fn a_connection_limit_caps_the_groups_of_one_connection_in_flight() {
    let sandbox = sandbox_with_groups(0);
    let uplynk = uplynk_groups(6);
    let file = json!({
        "connections": {"video": {"service": "uplynk", "user_id_env": "U", "api_key_env": "K"}},
        "groups": uplynk
    });
    let state = DesiredState::from_json(&file.to_string()).unwrap();
    let clients = sandbox.clients_for(&state).unwrap();
    let gate = Gate::new();
    hold_uplynk_reads(&sandbox, &gate);
    let run = Run::new(&state, &clients)
        .unwrap()
        .concurrency(8)
        .connection_concurrency(2);
    let plan = run.plan();
    let check = async {
        // Give the run time to start everything it may; exactly two reads arrive while held.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        while sandbox.requests().len() < 2 {
            assert!(tokio::time::Instant::now() < deadline, "no read arrived");
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let held = sandbox.requests().len();
        gate.release();
        held
    };
    let (report, held) = tokio::join!(plan, check);
    assert_eq!(held, 2, "two groups of the connection at a time");
    assert_eq!(report.groups.len(), 6);
}

/// `n` Uplynk groups on connection `video`, each wanting one owner.
fn uplynk_groups(n: usize) -> Vec<serde_json::Value> {
    (0..n)
        .map(|i| json!({"service": "uplynk", "connection": "video", "failover_group_id": format!("{i:032x}"), "members": ["t345643dn409198f523flniu1234n34i"]}))
        .collect()
}

/// Every Uplynk read of `sandbox` answered only when `gate` opens.
fn hold_uplynk_reads(sandbox: &Sandbox, gate: &Gate) {
    sandbox
        .inject_fault(
            Method::GET,
            "/api/v4/failover-groups/",
            Fault::Hold(gate.clone()),
            u32::MAX,
        )
        .unwrap();
}

#[tokio::test]
async fn five_hundred_groups_plan_and_export_under_the_real_throttle_with_no_read_failing() {
    let sandbox = sandbox_with_groups(500);
    sandbox.throttle_danube(Some(Sandbox::DANUBE_RATE_PER_MINUTE));
    let state = many_groups(500);
    // The file's connection keeps Danube Cloud's documented budget (45 a minute); the real clock.
    let client = sandbox
        .client_builder(Service::Danube)
        .request_budget(group_membership::retry::RequestBudget::DANUBE_CLOUD)
        .build()
        .unwrap();
    let clients = [("cloud".to_string(), client)].into();
    let started = std::time::Instant::now();
    let exported = state
        .export(
            &clients,
            group_membership::access::ExportScope::ListedGroups,
            &|_| {},
        )
        .await
        .expect("no read fails for throttling");
    assert_eq!(exported.groups.len(), 500);
    let report = plan_eight_at_a_time(&state, &clients).await;
    assert_eq!(report.summary().failed, 0, "{:?}", report.summary());
    assert_eq!(report.summary().pending, 500);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "seconds, not the 22 minutes 1,000 reads take at 45 a minute: {:?}",
        started.elapsed()
    );
    // Two listings and bob's look-ups (at most one per group in flight): far under the 45 a minute.
    let requests = sandbox.requests().len();
    assert!(requests <= 2 + 8, "{requests} requests");
    assert!(
        sandbox
            .requests()
            .iter()
            .all(|r| r.status != http::StatusCode::TOO_MANY_REQUESTS)
    );
}
