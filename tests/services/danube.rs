//! Danube Cloud against wiremock: trailing slashes, headers, bodies and query booleans of every group call,
//! both error forms, 406 and 429, and the login token's renewal and single re-login.

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::*;
use group_membership::auth::Clock;
use group_membership::danube::{DanubeLogin, GroupUpdate, NewGroup, TaskOutcome};
use group_membership::{Client, Error};
use http::StatusCode;
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "danube-Key-Heron-77";

fn client(server: &MockServer) -> Client {
    Client::builder()
        .base_url(server.uri())
        .auth(group_membership::danube::DanubeApiKey::new(KEY).unwrap())
        .retry_policy(fast_retries(3))
        .build()
        .unwrap()
}

fn ok(status: u16, result: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(
        json!({"status": "SUCCESS", "result": result, "task_id": "1e1d1-6f75849b-f4e5-4a88-9d7d"}),
    )
}

fn testers() -> serde_json::Value {
    json!({"alias": "Testers User Group", "users": ["admin", "testerx@erigones.com"], "name": "testers", "permissions": ["admin", "image_admin"]})
}

#[tokio::test]
async fn create_sends_the_seeds_call_and_decodes_the_seeds_result() {
    let server = strict_server().await;
    Mock::given(method("POST"))
        .and(path("/api/accounts/group/testers/"))
        .and(header("es-api-key", KEY))
        .and(header("content-type", "application/json"))
        .and(header("accept", "application/json"))
        .and(body_json(json!({"alias": "Testers User Group", "permissions": ["admin", "image_admin"], "users": ["admin", "tester@erigones.com"], "dc": "main"})))
        .respond_with(ok(201, testers()))
        .expect(1)
        .mount(&server)
        .await;
    let group = client(&server)
        .danube()
        .groups()
        .create(
            &NewGroup::new("testers")
                .permissions(["admin", "image_admin"])
                .users(["admin", "tester@erigones.com"])
                .alias("Testers User Group")
                .dc("main"),
        )
        .await
        .unwrap();
    assert_eq!(group.name, "testers");
    assert_eq!(group.alias.as_deref(), Some("Testers User Group"));
    assert_eq!(
        group.users,
        ["admin", "testerx@erigones.com"],
        "as the seed's sample answer has it"
    );
    assert_eq!(group.permissions, ["admin", "image_admin"]);
}

#[tokio::test]
async fn list_show_update_delete_use_trailing_slashes_and_query_booleans() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path("/api/accounts/group/"))
        .and(query_param_is_missing("order_by"))
        .and(query_param_is_missing("full"))
        .and(query_param_is_missing("extended"))
        .respond_with(ok(200, json!(["operators", "testers"])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/accounts/group/"))
        .and(query_param("full", "true"))
        .and(query_param_is_missing("order_by"))
        .respond_with(ok(200, json!([testers()])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET")).and(path("/api/accounts/group/")).and(query_param("extended", "true"))
        .respond_with(ok(200, json!([{"name": "testers", "users": [], "dcs": ["main"], "dc_bound": true, "created": "2019-05-10T12:00:00.123456Z"}]))).expect(1).mount(&server).await;
    Mock::given(method("GET"))
        .and(path("/api/accounts/group/testers/"))
        .and(query_param_is_missing("extended"))
        .respond_with(ok(200, testers()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/accounts/group/testers/"))
        .and(query_param("extended", "true"))
        .respond_with(ok(
            200,
            json!({"name": "testers", "users": ["admin"], "dcs": ["main"]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/api/accounts/group/testers/"))
        .and(body_json(json!({"users": ["admin"]})))
        .respond_with(ok(200, json!({"name": "testers", "users": ["admin"]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/api/accounts/group/testers/"))
        .respond_with(ok(200, json!(null)))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let groups = client.danube().groups();

    assert_eq!(groups.list_names().await.unwrap(), ["operators", "testers"]);
    assert_eq!(groups.list().await.unwrap()[0].name, "testers");
    let extended = groups.list_extended().await.unwrap();
    assert_eq!(
        extended[0].dcs.as_deref(),
        Some(["main".to_string()].as_slice())
    );
    assert_eq!(
        extended[0].created_at().unwrap().unix_timestamp(),
        1_557_489_600
    );
    assert_eq!(
        groups.get("testers").await.unwrap().permissions,
        ["admin", "image_admin"]
    );
    assert!(groups.get_extended("testers").await.unwrap().dcs.is_some());
    assert_eq!(
        groups
            .update("testers", &GroupUpdate::new().users(["admin"]))
            .await
            .unwrap()
            .users,
        ["admin"]
    );
    groups.delete("testers").await.unwrap();
}

#[tokio::test]
async fn unroutable_names_and_incomplete_creates_are_refused_before_sending() {
    let server = strict_server().await;
    let client = client(&server);
    let groups = client.danube().groups();
    for (what, err) in [
        ("space", groups.get("two words").await.unwrap_err()),
        ("slash", groups.delete("a/b").await.unwrap_err()),
        (
            "too long to create",
            groups
                .create(&NewGroup::new("x".repeat(33)).dc("main"))
                .await
                .unwrap_err(),
        ),
        (
            "empty",
            groups
                .update("", &GroupUpdate::new().alias("a"))
                .await
                .unwrap_err(),
        ),
        (
            "no dc",
            groups.create(&NewGroup::new("testers")).await.unwrap_err(),
        ),
        (
            "bad alias",
            groups
                .create(&NewGroup::new("t").dc("main").alias("x;y"))
                .await
                .unwrap_err(),
        ),
        (
            "empty update",
            groups
                .update("testers", &GroupUpdate::new())
                .await
                .unwrap_err(),
        ),
    ] {
        assert!(matches!(err, Error::InvalidInput(_)), "{what}: {err:?}");
    }
}

#[tokio::test]
async fn names_longer_than_32_characters_are_read_updated_and_deleted() {
    let server = strict_server().await;
    let long = "a".repeat(40);
    let body = json!({"name": long, "alias": "Old", "users": ["admin"], "permissions": []});
    for m in ["GET", "PUT", "DELETE"] {
        Mock::given(method(m))
            .and(path(format!("/api/accounts/group/{long}/")))
            .respond_with(ok(
                200,
                if m == "DELETE" {
                    json!(null)
                } else {
                    body.clone()
                },
            ))
            .expect(1)
            .mount(&server)
            .await;
    }
    let client = client(&server);
    let groups = client.danube().groups();
    assert_eq!(groups.get(&long).await.unwrap().name, long);
    groups
        .update(&long, &GroupUpdate::new().users(["admin"]))
        .await
        .unwrap();
    groups.delete(&long).await.unwrap();
}

#[tokio::test]
async fn every_error_form_is_typed() {
    let server = strict_server().await;
    Mock::given(method("POST"))
        .and(path("/api/accounts/group/testers/"))
        .respond_with(
            ResponseTemplate::new(406)
                .set_body_json(json!({"detail": "User Group already exists"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST")).and(path("/api/accounts/group/bad/"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"status": "FAILURE", "result": {"users": ["Object with username=ghost does not exist."], "alias": ["This alias is already in use."]}, "task_id": "t1"})))
        .expect(1).mount(&server).await;
    Mock::given(method("GET"))
        .and(path("/api/accounts/group/missing/"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"detail": "User Group not found"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/accounts/group/"))
        .and(query_param_is_missing("order_by"))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(
                json!({"detail": "You do not have permission to perform this action."}),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/api/accounts/group/odd/"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"status": "FAILURE", "result": {"non_field_errors": ["Nope."]}}),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let groups = client.danube().groups();

    let err = groups
        .create(&NewGroup::new("testers").dc("main"))
        .await
        .unwrap_err();
    assert!(err.is_already_exists(), "{err:?}");
    assert_eq!(
        err.api().unwrap().message(),
        Some("User Group already exists")
    );

    let err = groups
        .create(&NewGroup::new("bad").dc("main").users(["ghost"]))
        .await
        .unwrap_err();
    let fields = err.field_errors().unwrap_or_else(|| panic!("{err:?}"));
    let mut listed: Vec<(String, Vec<String>)> = fields
        .iter()
        .map(|f| (f.field.clone(), f.messages.clone()))
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        [
            (
                "alias".to_string(),
                vec!["This alias is already in use.".to_string()]
            ),
            (
                "users".to_string(),
                vec!["Object with username=ghost does not exist.".to_string()]
            ),
        ]
    );
    assert_eq!(err.status(), Some(StatusCode::BAD_REQUEST));
    assert!(
        err.to_string()
            .contains("users: Object with username=ghost does not exist."),
        "{err}"
    );

    let err = groups.get("missing").await.unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(err.api().unwrap().message(), Some("User Group not found"));

    let err = groups.list_names().await.unwrap_err();
    assert!(err.is_auth_failure());
    assert_eq!(
        err.api().unwrap().message(),
        Some("You do not have permission to perform this action.")
    );

    let err = groups
        .update("odd", &GroupUpdate::new().alias("x"))
        .await
        .unwrap_err();
    assert_eq!(
        err.field_errors().unwrap()[0].field,
        "non_field_errors",
        "a 2xx FAILURE envelope is an error too"
    );
}

#[tokio::test]
async fn throttling_honours_retry_after_for_reads_and_never_repeats_a_create() {
    let server = strict_server().await;
    let throttled = ResponseTemplate::new(429)
        .insert_header("retry-after", "1")
        .set_body_json(
            json!({"detail": "Request was throttled. Expected available in 1 seconds."}),
        );
    Mock::given(method("GET"))
        .and(path("/api/accounts/group/"))
        .respond_with(throttled.clone())
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/accounts/group/"))
        .respond_with(ok(200, json!([])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/accounts/group/new/"))
        .respond_with(throttled)
        .expect(1)
        .mount(&server)
        .await;
    let timer = group_membership::retry::VirtualTimer::new();
    let client = Client::builder()
        .base_url(server.uri())
        .auth(group_membership::danube::DanubeApiKey::new(KEY).unwrap())
        .retry_policy(fast_retries(3))
        .timer(timer.clone())
        .build()
        .unwrap();
    assert!(
        client
            .danube()
            .groups()
            .list_names()
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(timer.waits(), [Duration::from_secs(1)], "waited as asked");
    let err = client
        .danube()
        .groups()
        .create(&NewGroup::new("new").dc("main"))
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.api().unwrap().attempts()),
        (Some(StatusCode::TOO_MANY_REQUESTS), 1)
    );
    assert_eq!(
        timer.waits().len(),
        1,
        "no wait before a create that is never repeated"
    );
    assert_eq!(
        err.api().unwrap().message(),
        Some("Request was throttled. Expected available in 1 seconds.")
    );
}

#[derive(Debug)]
struct SettableClock(Arc<AtomicU64>);
impl Clock for SettableClock {
    fn unix_seconds(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

fn login_answer(token: &str, expires: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(
        json!({"token": token, "expires": expires, "detail": "Welcome to Danube Cloud API."}),
    )
}

#[tokio::test]
async fn login_tokens_are_sent_renewed_before_expiry_and_refreshed_once_on_invalid_token() {
    let server = strict_server().await;
    Mock::given(method("POST"))
        .and(path("/api/accounts/login/"))
        .and(body_json(
            json!({"username": "admin", "password": "pw-Lynx-1"}),
        ))
        .respond_with(login_answer("tok1", "2026-01-01T01:00:00Z"))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/accounts/login/"))
        .respond_with(login_answer("tok2", "2026-01-01T02:00:00Z"))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/accounts/login/"))
        .respond_with(login_answer("tok3", "2026-01-01T03:00:00Z"))
        .expect(1)
        .with_priority(3)
        .mount(&server)
        .await;
    for token in ["tok1", "tok2"] {
        Mock::given(method("GET"))
            .and(path("/api/accounts/group/"))
            .and(header("authorization", format!("Token {token}").as_str()))
            .respond_with(ok(200, json!([token])))
            .expect(1)
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/api/accounts/group/x/"))
        .and(header("authorization", "Token tok2"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"detail": "Invalid token."})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/accounts/group/x/"))
        .and(header("authorization", "Token tok3"))
        .respond_with(ok(200, json!({"name": "x", "users": []})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/accounts/group/y/"))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(json!({"detail": "Permission denied"})),
        )
        .expect(1)
        .mount(&server)
        .await;

    let now = Arc::new(AtomicU64::new(1_767_225_600)); // 2026-01-01T00:00:00Z
    let login = DanubeLogin::new("admin", "pw-Lynx-1").with_clock(SettableClock(now.clone()));
    let client = Client::builder()
        .base_url(server.uri())
        .auth(login.clone())
        .build()
        .unwrap();
    let groups = client.danube().groups();

    assert_eq!(groups.list_names().await.unwrap(), ["tok1"]);
    now.store(1_767_225_600 + 3_590, Ordering::SeqCst); // ten seconds before `expires`: renew first
    assert_eq!(groups.list_names().await.unwrap(), ["tok2"]);
    assert_eq!(
        groups.get("x").await.unwrap().name,
        "x",
        "a 403 Invalid token. logs in once and retries"
    );
    let err = groups.get("y").await.unwrap_err();
    assert_eq!(
        err.status(),
        Some(StatusCode::FORBIDDEN),
        "a permission 403 is returned as is"
    );
    assert_eq!(login.login_count(), 3);
    assert!(!format!("{login:?} {err:?}").contains("pw-Lynx-1"));
}

#[tokio::test]
async fn a_refused_login_keeps_the_detail() {
    let server = strict_server().await;
    Mock::given(method("POST"))
        .and(path("/api/accounts/login/"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"detail": "Unable to log in with provided credentials."})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::builder()
        .base_url(server.uri())
        .auth(DanubeLogin::new("admin", "nope-secret"))
        .build()
        .unwrap();
    let err = client.danube().groups().list_names().await.unwrap_err();
    let Error::Auth(auth) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        auth.message(),
        "Danube Cloud refused the login: Unable to log in with provided credentials."
    );
    assert!(!format!("{err:?}").contains("nope-secret"));
}

#[tokio::test]
async fn tasks_are_polled_until_done_with_a_deadline() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path("/api/task/t-1/status/"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"status": "PENDING", "result": null, "task_id": "t-1"})),
        )
        .up_to_n_times(2)
        .expect(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/task/t-1/status/"))
        .respond_with(ok(200, json!({"message": "done"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/task/t-2/status/"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"status": "FAILURE", "result": {"detail": "disk full"}, "task_id": "t-2"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/task/t-3/status/"))
        .respond_with(
            ResponseTemplate::new(410).set_body_json(json!({"status": "REVOKED", "result": null})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/task/t-4/status/"))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"status": "STARTED", "result": null})),
        )
        .mount(&server)
        .await;
    let client = client(&server);
    let tasks = client.danube().tasks();
    let tick = Duration::from_millis(5);
    assert_eq!(
        tasks
            .wait("t-1", Duration::from_secs(5), tick)
            .await
            .unwrap(),
        TaskOutcome::Succeeded(json!({"message": "done"}))
    );
    assert_eq!(
        tasks
            .wait("t-2", Duration::from_secs(5), tick)
            .await
            .unwrap(),
        TaskOutcome::Failed(json!({"detail": "disk full"}))
    );
    assert_eq!(tasks.status("t-3").await.unwrap(), TaskOutcome::Revoked);
    assert_eq!(
        tasks
            .wait("t-4", Duration::from_millis(50), tick)
            .await
            .unwrap(),
        TaskOutcome::Running {
            status: "STARTED".into()
        }
    );
}
