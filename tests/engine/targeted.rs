//! Targeted membership changes (`membership::add` / `membership::remove`) on all four services: against
//! the sandbox (behaviour, including a change someone else makes meanwhile) and against wiremock (the exact
//! requests sent, and none when nothing changes). Traffic Ops members named by username.

use crate::common;

use std::time::Duration;

use common::*;
use group_membership::access::DesiredState;
use group_membership::auth::BasicAuth;
use group_membership::danube::DanubeApiKey;
use group_membership::membership::{
    DanubeGroupUsers, EntuityConfigSet, GroupMembers, Guards, Member, Outcome, Service, StepReport,
    StepResult, TrafficOpsFederationUsers, UplynkAllowedOwners, UserRef, add, plan, reconcile_all,
    remove, sync,
};
use group_membership::sandbox::{Fault, Gate, RecordedRequest, Sandbox};
use group_membership::traffic_ops::{TrafficOpsSession, UsersQuery};
use group_membership::{Client, Error};
use http::{Method, StatusCode};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn labels(members: &[Member]) -> Vec<&str> {
    members.iter().map(|m| m.label.as_str()).collect()
}

const SET: &str = "82e7c418-cd48-4fbf-857b-cddb475841a2";
const GU: &str = "gu137664292b46a1a286cdf79b1a9bm8";
const T345: &str = "t345643dn409198f523flniu1234n34i";
const FF41: &str = "ff41643dn419198f523flniu1234n34i";

/// The writes the sandbox saw (logins aside), as (method, path, JSON body or null).
fn writes(sandbox: &Sandbox) -> Vec<(Method, String, Value)> {
    sandbox
        .requests()
        .into_iter()
        .filter(|r| r.method != Method::GET && !r.path.contains("/login"))
        .map(|r: RecordedRequest| {
            let body = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
            (r.method, r.path, body)
        })
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Adds `member`, adds it again (no write), removes it, removes it again (no write), checking the writes
/// each time; the rest of the group is untouched.
async fn add_and_remove<G: GroupMembers>(
    sandbox: &Sandbox,
    group: &G,
    member: G::Name,
    expect_add: (Method, &str, Value),
    expect_remove: (Method, &str, Value),
) {
    let before = group.members().await.unwrap();
    sandbox.clear_requests();
    let report = add(group, [member.clone()]).await.into_result().unwrap();
    assert!(
        matches!(report.outcome, Outcome::Applied { .. }),
        "{report}"
    );
    let (m, p, b) = expect_add;
    assert_eq!(
        writes(sandbox),
        [(m, p.to_string(), b)],
        "{}",
        group.describe()
    );
    assert_eq!(group.members().await.unwrap().len(), before.len() + 1);

    sandbox.clear_requests();
    let again = add(group, [member.clone()]).await;
    assert!(again.made_no_change(), "{again}");
    assert!(writes(sandbox).is_empty(), "already a member: no write");

    sandbox.clear_requests();
    remove(group, [member.clone()]).await.into_result().unwrap();
    let (m, p, b) = expect_remove;
    assert_eq!(
        writes(sandbox),
        [(m, p.to_string(), b)],
        "{}",
        group.describe()
    );
    assert_eq!(group.members().await.unwrap(), before, "back as it was");

    sandbox.clear_requests();
    let again = remove(group, [member]).await;
    assert!(again.made_no_change(), "{again}");
    assert!(writes(sandbox).is_empty(), "already absent: no write");
}

#[tokio::test]
async fn add_and_remove_touch_only_the_named_member_on_every_service() {
    let sandbox = Sandbox::start().unwrap();
    let group_path = format!("/api/v4/failover-groups/{GROUP_ID}/allowed-owners");
    add_and_remove(
        &sandbox,
        &UplynkAllowedOwners::new(sandbox.uplynk_client().unwrap(), GROUP_ID),
        GU.to_string(),
        (
            Method::PUT,
            &group_path,
            json!({"owners_to_add": [GU], "owners_to_remove": []}),
        ),
        (
            Method::PUT,
            &group_path,
            json!({"owners_to_add": [], "owners_to_remove": [GU]}),
        ),
    )
    .await;

    let members = format!("/api/cfg/serverGroupConfig/{SET}/userGroups/Administrators/members");
    add_and_remove(
        &sandbox,
        &EntuityConfigSet::new(sandbox.entuity_client().unwrap(), SET).user_group("Administrators"),
        "kim1".to_string(),
        (Method::POST, &members, json!({"username": "kim1"})),
        (Method::DELETE, &format!("{members}/kim1"), Value::Null),
    )
    .await;

    add_and_remove(
        &sandbox,
        &DanubeGroupUsers::new(sandbox.danube_client().unwrap(), "operators"),
        "tester@erigones.com".to_string(),
        (
            Method::PUT,
            "/api/accounts/group/operators/",
            json!({"users": ["admin", "tester@erigones.com"]}),
        ),
        (
            Method::PUT,
            "/api/accounts/group/operators/",
            json!({"users": ["admin"]}),
        ),
    )
    .await;

    add_and_remove(
        &sandbox,
        &TrafficOpsFederationUsers::new(sandbox.traffic_ops_client().unwrap(), 1),
        UserRef::from("operator"),
        (
            Method::POST,
            "/api/4.0/federations/1/users",
            json!({"userIds": [3]}),
        ),
        (
            Method::DELETE,
            "/api/4.0/federations/1/users/3",
            Value::Null,
        ),
    )
    .await;
}

/// Holds the answer to `group`'s first read (the read `add` plans from) while someone else removes
/// `removed`; the add must not put it back. Ordered by the sandbox's log and a gate, not by timing.
async fn concurrent_removal_survives_an_add<G: GroupMembers + 'static>(
    sandbox: &Sandbox,
    group: G,
    read_path: &str,
    added: G::Name,
    someone_else_removes: impl std::future::Future<Output = ()>,
) -> Vec<String> {
    sandbox.clear_requests();
    let gate = Gate::new();
    sandbox
        .inject_fault(Method::GET, read_path, Fault::Hold(gate.clone()), 1)
        .unwrap();
    let adding = tokio::spawn(async move {
        let report = add(&group, [added]).await;
        (report, group)
    });
    // The add's first read has been answered (held at the gate) once the sandbox logged it.
    tokio::time::timeout(Duration::from_secs(10), async {
        while !sandbox
            .requests()
            .iter()
            .any(|r| r.method == Method::GET && r.path == read_path)
        {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the add reads the group");
    someone_else_removes.await;
    gate.release();
    let (report, group) = adding.await.unwrap();
    assert!(report.is_success(), "{report}");
    // The race really happened: the add's read was answered before the other client's write.
    let log = sandbox.requests();
    let read = log
        .iter()
        .position(|r| r.method == Method::GET && r.path == read_path);
    let removal = log.iter().position(|r| r.method != Method::GET);
    assert!(read < removal && removal.is_some(), "{log:?}");
    group
        .members()
        .await
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[tokio::test]
async fn a_member_removed_meanwhile_is_not_put_back_by_an_add() {
    let sandbox = Sandbox::start().unwrap();

    let uplynk = sandbox.uplynk_client().unwrap();
    let other = sandbox.uplynk_client().unwrap();
    let after = concurrent_removal_survives_an_add(
        &sandbox,
        UplynkAllowedOwners::new(uplynk, GROUP_ID),
        &format!("/api/v4/failover-groups/{GROUP_ID}/allowed-owners"),
        GU.to_string(),
        async move {
            let owners = other.uplynk().failover_groups().allowed_owners(GROUP_ID);
            owners.remove([T345]).await.unwrap();
        },
    )
    .await;
    assert_eq!(sorted(after), [FF41, GU]);

    let entuity = sandbox.entuity_client().unwrap();
    let admins = entuity.entuity().user_groups(SET).members("Administrators");
    admins
        .add(&group_membership::entuity::NewMember::new("kim1"))
        .await
        .unwrap();
    let other = sandbox.entuity_client().unwrap();
    let after = concurrent_removal_survives_an_add(
        &sandbox,
        EntuityConfigSet::new(entuity.clone(), SET).user_group("Administrators"),
        &format!("/api/cfg/serverGroupConfig/{SET}/userGroups/Administrators"),
        "super1".to_string(),
        async move {
            let admins = other.entuity().user_groups(SET).members("Administrators");
            admins.remove("kim1").await.unwrap();
        },
    )
    .await;
    assert_eq!(sorted(after), ["admin", "super1"]);

    // Danube Cloud only overwrites: the read right before the write sees the removal, and the plan is
    // made again from it.
    let other = sandbox.danube_client().unwrap();
    let after = concurrent_removal_survives_an_add(
        &sandbox,
        DanubeGroupUsers::new(sandbox.danube_client().unwrap(), "operators"),
        "/api/accounts/group/operators/",
        "tester@erigones.com".to_string(),
        async move {
            let users = other.danube().groups().users("operators");
            users.remove(["admin"]).await.unwrap();
        },
    )
    .await;
    assert_eq!(after, ["tester@erigones.com"]);

    let to = sandbox.traffic_ops_client().unwrap();
    to.traffic_ops()
        .federations()
        .users(1)
        .add(&[3])
        .await
        .unwrap();
    let other = sandbox.traffic_ops_client().unwrap();
    let after = concurrent_removal_survives_an_add(
        &sandbox,
        TrafficOpsFederationUsers::new(to.clone(), 1),
        "/api/4.0/federations/1/users",
        UserRef::from("readonly"),
        async move {
            let users = other.traffic_ops().federations().users(1);
            users.remove(3).await.unwrap();
        },
    )
    .await;
    assert_eq!(after, ["admin (2)", "readonly (4)"]);
}

#[tokio::test]
async fn traffic_ops_members_are_named_by_username_and_an_unknown_name_writes_nothing() {
    let sandbox = Sandbox::start().unwrap();
    let client = sandbox.traffic_ops_client().unwrap();
    let federation = TrafficOpsFederationUsers::new(client.clone(), 1);

    // A username and an ID for the same user are the same member.
    let p = plan(&federation, [UserRef::from("admin"), UserRef::Id(2)])
        .await
        .unwrap();
    assert!(p.is_noop(), "{p:?}");

    sandbox.clear_requests();
    let report = add(&federation, ["nobody"]).await;
    let Outcome::ResolveFailed { error: e } = &report.outcome else {
        panic!("{report}")
    };
    assert!(
        matches!(e, Error::UnknownMember { service: "traffic_ops", member } if member == "username `nobody`"),
        "an unknown user is its own kind, not 'refused before sending' (a lookup was sent): {e:?}"
    );
    assert!(writes(&sandbox).is_empty(), "nothing written");
    let lookups: Vec<_> = sandbox
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/4.0/users")
        .map(|r| r.query)
        .collect();
    assert_eq!(
        lookups,
        [vec![("username".to_string(), "nobody".to_string())]]
    );

    // The report is an error that carries it, and says nothing was applied.
    let err = report.into_result().unwrap_err();
    assert!(!err.may_have_been_applied());
    assert!(
        err.to_string().contains("UNKNOWN MEMBER, nothing written"),
        "{err}"
    );
    let Some(carried) = err.report() else {
        panic!("{err:?}")
    };
    assert_eq!(carried.service, Service::TrafficOps);

    // An unknown ID is refused the same way.
    let report = add(&federation, [99u64]).await;
    assert!(
        matches!(&report.outcome, Outcome::ResolveFailed { error: e } if e.to_string() == "no such member on traffic_ops: user ID 99 (nothing was written)"),
        "{report}"
    );
    assert_eq!(sandbox.traffic_ops_federation_users(1).unwrap(), [2]);

    // The users endpoint itself.
    let users = client.traffic_ops().users();
    let ops = users
        .list(&UsersQuery::new().role("operations"))
        .await
        .unwrap();
    let names: Vec<_> = ops.response.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["operator"]);
    assert_eq!(
        users.find_by_id(5).await.unwrap().unwrap().username,
        "portal"
    );
    assert!(users.find_by_username("nobody").await.unwrap().is_none());
}

fn desired_state(members: &str) -> String {
    format!(
        r#"{{"connections": {{"cdn": {{"service": "traffic_ops", "base_url_env": "TO_URL",
             "username_env": "TO_USER", "password_env": "TO_PASSWORD"}}}},
            "groups": [{{"service": "traffic_ops", "connection": "cdn", "federation_id": 1,
                         "members": {members}}}]}}"#
    )
}

#[tokio::test]
async fn a_desired_state_file_names_traffic_ops_members_by_username() {
    let sandbox = Sandbox::start().unwrap();
    let clients = [("cdn".to_string(), sandbox.traffic_ops_client().unwrap())].into();

    let state = DesiredState::from_json(&desired_state(r#"["admin"]"#)).unwrap();
    let reports = reconcile_all(
        &state.entries(&clients, &Default::default()).unwrap(),
        &Guards::default(),
        false,
        1,
    )
    .await;
    assert!(reports[0].made_no_change(), "{}", reports[0]);
    assert_eq!(
        labels(reports[0].plan.as_ref().unwrap().to_keep()),
        ["admin (2)"]
    );

    let state = DesiredState::from_json(&desired_state(r#"["admin", "nobody"]"#)).unwrap();
    sandbox.clear_requests();
    let reports = reconcile_all(
        &state.entries(&clients, &Default::default()).unwrap(),
        &Guards::default(),
        true,
        1,
    )
    .await;
    assert!(
        matches!(&reports[0].outcome, Outcome::ResolveFailed { error: e } if e.to_string().contains("`nobody`")),
        "{}",
        reports[0]
    );
    assert!(writes(&sandbox).is_empty());

    // Mixed: a username and an ID.
    let state = DesiredState::from_json(&desired_state(r#"["admin", 3]"#)).unwrap();
    let reports = reconcile_all(
        &state.entries(&clients, &Default::default()).unwrap(),
        &Guards::default(),
        true,
        1,
    )
    .await;
    assert!(reports[0].is_success(), "{}", reports[0]);
    assert_eq!(sandbox.traffic_ops_federation_users(1).unwrap(), [2, 3]);
}

#[tokio::test]
async fn a_danube_users_groups_are_read() {
    let sandbox = Sandbox::start().unwrap();
    let client = sandbox.danube_client().unwrap();
    let users = client.danube().users();
    assert_eq!(users.get("admin").await.unwrap().groups, ["operators"]);
    assert!(
        users
            .get("tester@erigones.com")
            .await
            .unwrap()
            .groups
            .is_empty()
    );
    assert!(users.get("ghost").await.unwrap_err().is_not_found());
    assert!(matches!(
        users.get("a/b").await.unwrap_err(),
        Error::InvalidInput(_)
    ));
    assert!(matches!(
        users.get("..").await.unwrap_err(),
        Error::InvalidInput(_)
    ));
}

// ---- wiremock: the exact requests ----

async fn mock(server: &MockServer, m: &str, p: &str, answer: ResponseTemplate, times: u64) {
    Mock::given(method(m))
        .and(path(p))
        .respond_with(answer)
        .expect(times)
        .mount(server)
        .await;
}

fn ok_json(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

#[tokio::test]
async fn uplynk_add_and_remove_send_one_put_each_and_nothing_when_nothing_changes() {
    let server = strict_server().await;
    let owners = json!({"@type": "Collection", "total_items": 1,
        "items": [{"id": "", "owner": T345, "failover_group_id": GROUP_ID}]});
    let path_ = format!("/api/v4/failover-groups/{GROUP_ID}/allowed-owners");
    mock(&server, "GET", &path_, ok_json(owners), 5).await;
    Mock::given(method("PUT"))
        .and(path(path_.as_str()))
        .and(body_json(
            json!({"owners_to_add": [GU], "owners_to_remove": []}),
        ))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(path_.as_str()))
        .and(body_json(
            json!({"owners_to_add": [], "owners_to_remove": [T345]}),
        ))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let group = UplynkAllowedOwners::new(uplynk_client(&server), GROUP_ID);
    // Each applied change: read, write, read back. Already there / already absent: one read, no write.
    // This server's list never changes, so each read-back honestly reports the change as not visible.
    let added = add(&group, [GU]).await;
    let Outcome::Applied { steps, read_back } = &added.outcome else {
        panic!("{added}")
    };
    assert!(matches!(
        steps[..],
        [StepReport {
            result: StepResult::Applied,
            ..
        }]
    ));
    assert_eq!(labels(&read_back.as_ref().unwrap().missing), [GU]);
    assert!(added.to_string().contains("DRIFT"), "{added}");
    assert!(add(&group, [T345]).await.made_no_change());
    let removed = remove(&group, [T345]).await;
    let Outcome::Applied { steps, read_back } = &removed.outcome else {
        panic!("{removed}")
    };
    assert!(matches!(
        steps[..],
        [StepReport {
            result: StepResult::Applied,
            ..
        }]
    ));
    assert_eq!(labels(&read_back.as_ref().unwrap().unexpected), [T345]);
    assert!(matches!(
        removed.into_result(),
        Err(e) if e.report().is_some_and(|r| !r.is_success())
    ));
}

fn entuity_client(server: &MockServer) -> Client {
    Client::builder()
        .base_url(server.uri())
        .auth(BasicAuth::new("admin", "pw"))
        .retry_policy(fast_retries(1))
        .build()
        .unwrap()
}

#[tokio::test]
async fn entuity_add_and_remove_send_one_post_or_delete_per_member() {
    let server = strict_server().await;
    let group_path = format!("/api/cfg/serverGroupConfig/{SET}/userGroups/Administrators");
    Mock::given(method("GET"))
        .and(path(group_path.as_str()))
        .and(query_param("media", "json"))
        .respond_with(ok_json(
            json!({"userGroupName": "Administrators", "members": ["admin", "kim1"]}),
        ))
        .expect(6)
        .mount(&server)
        .await;
    let change = json!({"errorCode": "SUCCESS", "errorDetails": null, "data":
        {"configurationChangeId": 100, "serverGroupId": SET, "timestampSec": 1, "modifiedBy": "admin"}});
    for user in ["guy9", "super1"] {
        Mock::given(method("POST"))
            .and(path(format!("{group_path}/members")))
            .and(body_json(json!({"username": user})))
            .respond_with(ok_json(change.clone()))
            .expect(1)
            .mount(&server)
            .await;
    }
    mock(
        &server,
        "DELETE",
        &format!("{group_path}/members/kim1"),
        ok_json(json!({"errorCode": "SUCCESS", "errorDetails": "user 'kim1' removed"})),
        1,
    )
    .await;
    let group = EntuityConfigSet::new(entuity_client(&server), SET).user_group("Administrators");
    // Two new members (one already there): one POST each, in name order, nothing for `admin`.
    let report = add(&group, ["super1", "admin", "guy9"]).await;
    let Outcome::Applied { steps, .. } = &report.outcome else {
        panic!("{report}")
    };
    let labels: Vec<String> = steps.iter().map(|s| s.step.to_string()).collect();
    assert_eq!(labels, ["add [guy9]", "add [super1]"]);
    assert!(remove(&group, ["nobody"]).await.made_no_change());
    assert!(matches!(
        remove(&group, ["kim1"]).await.outcome,
        Outcome::Applied { .. }
    ));
    assert!(add(&group, ["admin"]).await.made_no_change());
}

fn danube_client(server: &MockServer) -> Client {
    Client::builder()
        .base_url(server.uri())
        .auth(DanubeApiKey::new("key").unwrap())
        .retry_policy(fast_retries(1))
        .build()
        .unwrap()
}

fn danube_group(users: &[&str]) -> ResponseTemplate {
    ok_json(json!({"status": "SUCCESS", "task_id": "t", "result":
        {"name": "ops", "alias": "Ops", "permissions": [], "users": users, "dc_bound": false}}))
}

#[tokio::test]
async fn danube_add_plans_again_when_the_group_moved_before_its_overwrite() {
    let server = strict_server().await;
    let p = "/api/accounts/group/ops/";
    // The plan's read sees admin and bob; the read right before the write sees bob removed.
    Mock::given(method("GET"))
        .and(path(p))
        .respond_with(danube_group(&["admin", "bob"]))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(p))
        .respond_with(danube_group(&["admin"]))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(p))
        .and(body_json(json!({"users": ["admin", "carol"]})))
        .respond_with(danube_group(&["admin", "carol"]))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(p))
        .respond_with(danube_group(&["admin", "carol"]))
        .expect(1)
        .mount(&server)
        .await;
    // carol is looked up once: a user to add must exist.
    Mock::given(method("GET"))
        .and(path("/api/accounts/user/carol/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "status": "SUCCESS",
            "result": {"username": "carol", "groups": []},
            "task_id": "t"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let group = DanubeGroupUsers::new(danube_client(&server), "ops");
    let report = add(&group, ["carol"]).await.into_result().unwrap();
    let plan = report.plan.as_ref().unwrap();
    assert_eq!(
        (
            plan.current().len(),
            labels(plan.to_add()),
            labels(plan.to_keep())
        ),
        (1, vec!["carol"], vec!["admin"]),
        "planned again from the second read: bob stays removed"
    );
}

#[tokio::test]
async fn danube_remove_of_an_absent_user_writes_nothing() {
    let server = strict_server().await;
    mock(
        &server,
        "GET",
        "/api/accounts/group/ops/",
        danube_group(&["admin"]),
        1,
    )
    .await;
    let group = DanubeGroupUsers::new(danube_client(&server), "ops");
    assert!(remove(&group, ["bob"]).await.made_no_change());
}

async fn traffic_ops(server: &MockServer) -> Client {
    Mock::given(method("POST"))
        .and(path("/api/4.0/user/login"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header(
                    "set-cookie",
                    "mojolicious=c; Path=/; Max-Age=3600; HttpOnly",
                )
                .set_body_json(
                    json!({"alerts": [{"text": "Successfully logged in.", "level": "success"}]}),
                ),
        )
        .expect(1)
        .mount(server)
        .await;
    Client::builder()
        .base_url(server.uri())
        .auth(TrafficOpsSession::password("admin", "pw"))
        .retry_policy(fast_retries(1))
        .build()
        .unwrap()
}

fn to_users(users: Value) -> ResponseTemplate {
    ok_json(json!({ "response": users }))
}

#[tokio::test]
async fn traffic_ops_add_by_username_looks_the_user_up_then_posts_only_the_new_id() {
    let server = strict_server().await;
    let client = traffic_ops(&server).await;
    let fed = "/api/4.0/federations/1/users";
    let admin = json!({"id": 2, "username": "admin", "role": "admin", "company": null, "email": null, "fullName": null});
    mock(&server, "GET", fed, to_users(json!([admin])), 3).await;
    Mock::given(method("GET"))
        .and(path("/api/4.0/users"))
        .and(query_param("username", "operator"))
        .respond_with(to_users(
            json!([{"id": 3, "username": "operator", "role": "operations"}]),
        ))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/4.0/users"))
        .and(query_param("username", "nobody"))
        .respond_with(to_users(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(fed))
        .and(body_json(json!({"userIds": [3]})))
        .respond_with(ok_json(
            json!({"alerts": [{"level": "success", "text": "1 user(s) were assigned"}],
            "response": {"userIds": [3], "replace": null}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let group = TrafficOpsFederationUsers::new(client, 1);

    // `admin` is known from the federation's own list: no lookup, no write for it.
    let report = add(&group, ["admin", "operator"]).await;
    let Outcome::Applied { steps, .. } = &report.outcome else {
        panic!("{report}")
    };
    let labels: Vec<String> = steps.iter().map(|s| s.step.to_string()).collect();
    assert_eq!(labels, ["add [operator (3)]"]);

    // An unknown name: one lookup, no write.
    let report = add(&group, ["operator", "nobody"]).await;
    assert!(
        matches!(report.outcome, Outcome::ResolveFailed { .. }),
        "{report}"
    );
}

#[tokio::test]
async fn traffic_ops_remove_sends_one_delete_per_user_present() {
    let server = strict_server().await;
    let client = traffic_ops(&server).await;
    let fed = "/api/4.0/federations/1/users";
    let listed = json!([{"id": 2, "username": "admin"}, {"id": 3, "username": "operator"}, {"id": 4, "username": "readonly"}]);
    mock(&server, "GET", fed, to_users(listed), 2).await;
    for id in [3, 4] {
        mock(
            &server,
            "DELETE",
            &format!("{fed}/{id}"),
            ok_json(
                json!({"alerts": [{"level": "success", "text": "federation users was deleted."}]}),
            ),
            1,
        )
        .await;
    }
    let group = TrafficOpsFederationUsers::new(client, 1);
    let report = remove(&group, [UserRef::Id(4), UserRef::from("operator")]).await;
    let Outcome::Applied { steps, .. } = &report.outcome else {
        panic!("{report}")
    };
    let labels: Vec<String> = steps.iter().map(|s| s.step.to_string()).collect();
    assert_eq!(labels, ["remove operator (3)", "remove readonly (4)"]);
}

#[tokio::test]
async fn a_refused_write_is_an_error_carrying_the_report() {
    let server = strict_server().await;
    let client = traffic_ops(&server).await;
    let fed = "/api/4.0/federations/1/users";
    mock(
        &server,
        "GET",
        fed,
        to_users(json!([{"id": 2, "username": "admin"}])),
        2,
    )
    .await;
    mock(
        &server,
        "DELETE",
        &format!("{fed}/2"),
        ResponseTemplate::new(403).set_body_json(
            json!({"alerts": [{"level": "error", "text": "missing required Permissions: FEDERATION:UPDATE"}]}),
        ),
        1,
    )
    .await;
    let group = TrafficOpsFederationUsers::new(client, 1);
    let err = remove(&group, [2u64]).await.into_result().unwrap_err();
    assert!(!err.may_have_been_applied(), "a 403 changed nothing");
    let report = err.report().unwrap();
    let Outcome::Applied { steps, .. } = &report.outcome else {
        panic!("{report}")
    };
    let StepResult::Failed { error, .. } = &steps[0].result else {
        panic!("{report}")
    };
    assert_eq!(error.status(), Some(StatusCode::FORBIDDEN));
    assert!(err.to_string().contains("FEDERATION:UPDATE"), "{err}");
}

#[tokio::test]
async fn danube_usernames_that_do_not_exist_fail_the_plan_before_anything_is_written() {
    let sandbox = Sandbox::start().unwrap();
    let group = DanubeGroupUsers::new(sandbox.danube_client().unwrap(), "operators");
    sandbox.clear_requests();
    let err = plan(&group, ["admin", "ghost"]).await.unwrap_err();
    assert!(
        matches!(&err, Error::UnknownMember { service: "danube", member } if member == "username `ghost`"),
        "{err:?}"
    );
    let lookups: Vec<String> = sandbox
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/api/accounts/user/"))
        .map(|r| r.path)
        .collect();
    assert_eq!(
        lookups,
        ["/api/accounts/user/ghost/"],
        "members already in the group need no lookup"
    );

    let report = sync(&group, ["admin", "bad user"], &Guards::default()).await;
    let Outcome::ResolveFailed { error } = &report.outcome else {
        panic!("{report}")
    };
    assert!(
        matches!(error, Error::InvalidInput(_)),
        "refused before sending: {error:?}"
    );
    assert!(sandbox.writes().is_empty(), "nothing was written");
    assert_eq!(sandbox.danube_group_users("operators").unwrap(), ["admin"]);

    // A user that exists is planned as before.
    let p = plan(&group, ["admin", "tester@erigones.com"])
        .await
        .unwrap();
    assert_eq!(p.to_add(), ["tester@erigones.com".to_string()]);
}
