//! Traffic Ops against wiremock, with the bodies observed on a real Traffic Ops 8.1 server: the login, the
//! cookie on every request, the exact query and body, every documented error, re-login on 401 only.

use crate::common;

use std::time::Duration;

use common::*;
use group_membership::traffic_ops::{
    AlertLevel, ApiVersion, FederationUserOrder, FederationUsersQuery, NewFederation, SortOrder,
    TrafficOpsSession,
};
use group_membership::{Client, Error};
use http::StatusCode;
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PASSWORD: &str = "to-Pass-Quokka-3";

fn login_ok(cookie: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({"alerts": [{"text": "Successfully logged in.", "level": "success"}]}))
        .append_header(
            "set-cookie",
            format!("mojolicious={cookie}; Path=/; Max-Age=21600; HttpOnly").as_str(),
        )
        .append_header(
            "set-cookie",
            "access_token=jwt-abc; Path=/; Max-Age=21600; HttpOnly",
        )
}

async fn mount_login(server: &MockServer, cookie: &str, times: u64) {
    Mock::given(method("POST"))
        .and(path("/api/4.0/user/login"))
        .and(body_json(json!({"u": "admin", "p": PASSWORD})))
        .and(header("content-type", "application/json"))
        .respond_with(login_ok(cookie))
        .expect(times)
        .mount(server)
        .await;
}

fn client(server: &MockServer) -> (Client, TrafficOpsSession) {
    let session = TrafficOpsSession::password("admin", PASSWORD);
    let client = Client::builder()
        .base_url(server.uri())
        .auth(session.clone())
        .retry_policy(fast_retries(3))
        .build()
        .unwrap();
    (client, session)
}

fn users_body() -> serde_json::Value {
    json!({"response": [{"company": null, "email": "admin@example.test", "fullName": "Admin User", "id": 2, "role": "admin", "username": "admin"}]})
}

#[tokio::test]
async fn logs_in_lazily_then_sends_the_cookie_and_the_exact_query() {
    let server = strict_server().await;
    mount_login(&server, "s1", 1).await;
    Mock::given(method("GET"))
        .and(path("/api/4.0/federations/1/users"))
        .and(header("cookie", "mojolicious=s1; access_token=jwt-abc"))
        .and(query_param("userID", "2"))
        .and(query_param("role", "admin"))
        .and(query_param("orderby", "userID"))
        .and(query_param("sortOrder", "desc"))
        .and(query_param("limit", "10"))
        .and(query_param("offset", "1"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(users_body()))
        .expect(1)
        .mount(&server)
        .await;
    let (client, session) = client(&server);
    assert!(!session.is_logged_in());
    let query = FederationUsersQuery::new()
        .user_id(2)
        .role("admin")
        .orderby(FederationUserOrder::UserId)
        .sort_order(SortOrder::Descending)
        .limit(10)
        .offset(1)
        .page(2);
    let reply = client
        .traffic_ops()
        .federations()
        .users(1)
        .list(&query)
        .await
        .unwrap();
    assert!(reply.alerts.is_empty());
    let user = &reply.response[0];
    assert_eq!(
        (user.id, user.username.as_deref(), user.role.as_deref()),
        (2, Some("admin"), Some("admin"))
    );
    assert_eq!(
        (
            user.full_name.as_deref(),
            user.email.as_deref(),
            user.company.as_deref()
        ),
        (Some("Admin User"), Some("admin@example.test"), None)
    );
    assert_eq!(session.login_count(), 1);
}

#[tokio::test]
async fn assign_sends_user_ids_and_replace_and_returns_echo_and_alerts() {
    let server = strict_server().await;
    mount_login(&server, "s1", 1).await;
    Mock::given(method("POST"))
        .and(path("/api/4.0/federations/1/users"))
        .and(header("cookie", "mojolicious=s1; access_token=jwt-abc"))
        .and(body_json(json!({"userIds": [2], "replace": true})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "alerts": [{"level": "success", "text": "1 user(s) were assigned to the test.quest. federation"}],
            "response": {"userIds": [2], "replace": true}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/4.0/federations/1/users"))
        .and(body_json(json!({"userIds": [2, 3]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "alerts": [{"text": "2 user(s) were assigned to the fed1.test. federation", "level": "success"}, {"text": "careful", "level": "warning"}],
            "response": {"userIds": [2, 3], "replace": null}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    let federations = client.traffic_ops().federations();
    let reply = federations.users(1).replace_all(&[2]).await.unwrap();
    assert_eq!(
        (reply.response.user_ids.as_slice(), reply.response.replace),
        ([2u64].as_slice(), Some(true))
    );
    assert_eq!(
        reply.alerts[0].text,
        "1 user(s) were assigned to the test.quest. federation"
    );
    assert_eq!(reply.alerts[0].level, AlertLevel::Success);
    let reply = federations.users(1).add(&[2, 3]).await.unwrap();
    assert_eq!(
        reply.response.replace, None,
        "null when the request did not say"
    );
    assert_eq!(
        reply
            .warnings()
            .map(|a| a.text.as_str())
            .collect::<Vec<_>>(),
        ["careful"]
    );

    let err = federations.users(1).add(&[2, 2]).await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput(_)),
        "duplicates refused before sending: {err:?}"
    );
}

#[tokio::test]
async fn every_documented_error_keeps_the_servers_words() {
    let server = strict_server().await;
    mount_login(&server, "s1", 1).await;
    let cases = [
        (
            "POST",
            "/api/4.0/federations/1/users",
            400,
            "parse error: validating: userIds: is required.",
        ),
        (
            "POST",
            "/api/4.0/federations/2/users",
            400,
            "federation_tmuser federation, tm_user '2, 2' already exists.",
        ),
        (
            "POST",
            "/api/4.0/federations/3/users",
            404,
            "tm_user not found",
        ),
        (
            "GET",
            "/api/4.0/federations/999/users",
            404,
            "federation 999 not found",
        ),
        (
            "DELETE",
            "/api/4.0/federations/1/users/7",
            404,
            "no federation users with that key found",
        ),
        (
            "DELETE",
            "/api/4.0/federations/1/users/8",
            403,
            "missing required Permissions: FEDERATION:UPDATE",
        ),
    ];
    for (verb, p, status, text) in cases {
        Mock::given(method(verb))
            .and(path(p))
            .respond_with(
                ResponseTemplate::new(status)
                    .set_body_json(json!({"alerts": [{"text": text, "level": "error"}]})),
            )
            .expect(1)
            .mount(&server)
            .await;
    }
    let (client, session) = client(&server);
    let f = client.traffic_ops().federations();
    let errors = [
        f.users(1).add(&[]).await.unwrap_err(),
        f.users(2).add(&[2]).await.unwrap_err(),
        f.users(3).add(&[99]).await.unwrap_err(),
        f.users(999)
            .list(&FederationUsersQuery::new())
            .await
            .unwrap_err(),
        f.users(1).remove(7).await.unwrap_err(),
        f.users(1).remove(8).await.unwrap_err(),
    ];
    for ((_, _, status, text), err) in cases.iter().zip(errors) {
        let api = err.api().unwrap_or_else(|| panic!("{err:?}"));
        assert_eq!(api.status().as_u16(), *status);
        assert_eq!(api.message(), Some(*text));
        assert!(err.to_string().contains(text), "{err}");
        assert_eq!(api.details().unwrap()[0]["level"], "error");
    }
    assert_eq!(session.login_count(), 1, "a 403 never causes a new login");
}

#[tokio::test]
async fn a_401_logs_in_again_once_and_retries_once() {
    let server = strict_server().await;
    Mock::given(method("POST"))
        .and(path("/api/4.0/user/login"))
        .respond_with(login_ok("old"))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/4.0/user/login"))
        .respond_with(login_ok("new"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/api/4.0/federations/1/users/2"))
        .and(header("cookie", "mojolicious=old; access_token=jwt-abc"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"alerts": [{"text": "signature expired - unauthorized, please log in", "level": "error"}]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/api/4.0/federations/1/users/2"))
        .and(header("cookie", "mojolicious=new; access_token=jwt-abc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"alerts": [{"text": "federation users was deleted.", "level": "success"}]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let (client, session) = client(&server);
    let reply = client
        .traffic_ops()
        .federations()
        .users(1)
        .remove(2)
        .await
        .unwrap();
    assert_eq!(reply.alerts[0].text, "federation users was deleted.");
    assert_eq!(session.login_count(), 2);
}

#[tokio::test]
async fn a_persistent_401_is_returned_after_one_relogin() {
    let server = strict_server().await;
    mount_login(&server, "s1", 2).await;
    Mock::given(method("GET"))
        .and(path("/api/4.0/federations/1/users"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"alerts": [{"text": "unauthorized, please log in.", "level": "error"}]}),
        ))
        .expect(2)
        .mount(&server)
        .await;
    let (client, session) = client(&server);
    let err = client
        .traffic_ops()
        .federations()
        .users(1)
        .list(&FederationUsersQuery::new())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::UNAUTHORIZED));
    assert_eq!(
        err.api().unwrap().message(),
        Some("unauthorized, please log in.")
    );
    assert_eq!(session.login_count(), 2);
}

#[tokio::test]
async fn a_refused_login_is_a_typed_auth_error_with_the_alert_text() {
    let server = strict_server().await;
    Mock::given(method("POST"))
        .and(path("/api/4.0/user/login"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"alerts": [{"text": "Invalid username or password.", "level": "error"}]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    let err = client
        .traffic_ops()
        .federations()
        .users(1)
        .list(&FederationUsersQuery::new())
        .await
        .unwrap_err();
    let Error::Auth(auth) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        auth.message(),
        "Traffic Ops refused the login: Invalid username or password."
    );
    assert_eq!(auth.api().unwrap().status(), StatusCode::UNAUTHORIZED);
    assert!(err.is_auth_failure());
    assert!(!format!("{err} {err:?} {client:?}").contains(PASSWORD));
}

#[tokio::test]
async fn the_sliding_renewal_is_picked_up() {
    let server = strict_server().await;
    mount_login(&server, "s1", 1).await;
    Mock::given(method("GET"))
        .and(path("/api/4.0/federations/1/users"))
        .and(header("cookie", "mojolicious=s1; access_token=jwt-abc"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(users_body())
                .append_header(
                    "set-cookie",
                    "mojolicious=s2; Path=/; Max-Age=3600; HttpOnly",
                ),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/4.0/federations/2/users"))
        .and(header("cookie", "mojolicious=s2; access_token=jwt-abc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"response": []})))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    let f = client.traffic_ops().federations();
    f.users(1).list(&FederationUsersQuery::new()).await.unwrap();
    assert!(
        f.users(2)
            .list(&FederationUsersQuery::new())
            .await
            .unwrap()
            .response
            .is_empty()
    );
}

#[tokio::test]
async fn token_login_and_access_token_authenticate_as_documented() {
    let server = strict_server().await;
    Mock::given(method("POST"))
        .and(path("/api/4.0/user/login/token"))
        .and(body_json(json!({"t": "login-token-1"})))
        .respond_with(ResponseTemplate::new(200).append_header(
            "set-cookie",
            "mojolicious=tok; Path=/; Max-Age=21600; HttpOnly",
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/4.0/federations/all"))
        .and(header("cookie", "mojolicious=tok"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"response": [{"mappings": [{"cname": "test.quest.", "ttl": 48}], "deliveryService": "demo1"}]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/4.0/federations/all"))
        .and(header("authorization", "Bearer jwt-ready"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"alerts": [{"text": "unauthorized, please log in.", "level": "error"}]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let token_client = Client::builder()
        .base_url(server.uri())
        .auth(TrafficOpsSession::token("login-token-1"))
        .build()
        .unwrap();
    let all = token_client
        .traffic_ops()
        .federations()
        .all()
        .await
        .unwrap();
    assert_eq!(all.response[0].delivery_service.as_deref(), Some("demo1"));
    assert_eq!(all.response[0].mappings[0].cname, "test.quest.");

    let bearer = TrafficOpsSession::access_token("jwt-ready");
    let bearer_client = Client::builder()
        .base_url(server.uri())
        .auth(bearer.clone())
        .build()
        .unwrap();
    let err = bearer_client
        .traffic_ops()
        .federations()
        .all()
        .await
        .unwrap_err();
    assert_eq!(
        err.status(),
        Some(StatusCode::UNAUTHORIZED),
        "no login, no retry with a ready token"
    );
    assert!(!format!("{bearer:?}").contains("jwt-ready"));
}

#[tokio::test]
async fn logins_follow_the_api_version_and_a_501_there_names_it() {
    let server = strict_server().await;
    // A server that serves only 5.0: it answers 501 at every 4.x and 9.9 path, login included.
    Mock::given(method("POST"))
        .and(path("/api/9.9/user/login"))
        .respond_with(ResponseTemplate::new(501).set_body_json(json!({"alerts": [{"level": "error", "text": "The requested api version is not implemented by this server."}]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/5.0/user/login"))
        .and(body_json(json!({"u": "admin", "p": PASSWORD})))
        .respond_with(login_ok("s5"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/5.0/federations/1/users"))
        .and(header("cookie", "mojolicious=s5; access_token=jwt-abc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(users_body()))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    let err = client
        .traffic_ops()
        .with_api_version(ApiVersion::parse("9.9").unwrap())
        .federations()
        .users(1)
        .list(&FederationUsersQuery::new())
        .await
        .unwrap_err();
    // Only the login was sent: a login error, not an authentication failure, that names the version and
    // never "may have been applied".
    let Error::Auth(auth) = &err else {
        panic!("a 501 at login is a login error: {err:?}")
    };
    assert!(!auth.is_unavailable());
    assert_eq!(err.unsupported_api_version(), Some("9.9"));
    let api = err.api().unwrap();
    assert_eq!(api.status(), StatusCode::NOT_IMPLEMENTED);
    assert_eq!(api.path(), "/api/9.9/user/login");
    assert!(!err.is_auth_failure());
    assert!(!err.may_have_been_applied());
    assert_eq!(
        err.attempts(),
        Some(1),
        "not retried: another try would be refused the same way"
    );
    assert!(
        err.to_string()
            .starts_with("could not log in: Traffic Ops does not serve API version 9.9"),
        "{err}"
    );

    let v5 = Client::builder()
        .base_url(server.uri())
        .auth(TrafficOpsSession::password("admin", PASSWORD))
        .traffic_ops_api_version(ApiVersion::V5_0)
        .build()
        .unwrap();
    assert_eq!(v5.traffic_ops().api_version(), &ApiVersion::V5_0);
    v5.traffic_ops()
        .federations()
        .users(1)
        .list(&FederationUsersQuery::new())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_304_with_an_empty_body_is_not_modified() {
    let server = strict_server().await;
    mount_login(&server, "s1", 1).await;
    Mock::given(method("GET"))
        .and(path("/api/4.0/federations/1/users"))
        // (wiremock's `header` matcher splits values on commas, so compare the raw value)
        .and(|r: &wiremock::Request| {
            r.headers
                .get("if-modified-since")
                .is_some_and(|v| v == "Thu, 01 Jan 2026 00:00:00 GMT")
        })
        .respond_with(ResponseTemplate::new(304))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    let since = std::time::UNIX_EPOCH + Duration::from_secs(1_767_225_600);
    let reply = client
        .traffic_ops()
        .federations()
        .users(1)
        .list(&FederationUsersQuery::new().if_modified_since(since))
        .await
        .unwrap();
    assert!(reply.not_modified);
    assert!(reply.response.is_empty());
}

#[tokio::test]
async fn cdn_federations_are_listed_created_updated_and_deleted() {
    let server = strict_server().await;
    mount_login(&server, "s1", 1).await;
    let fed = json!({"id": 1, "cname": "test.quest.", "ttl": 48, "description": "the seed", "lastUpdated": "2018-12-05 00:31:34+00", "deliveryService": {"id": 1, "xmlId": "demo1"}});
    Mock::given(method("GET"))
        .and(path("/api/4.0/cdns/CDN%20in%20a%20Box/federations"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"response": [fed.clone()]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST")).and(path("/api/4.0/cdns/CDN%20in%20a%20Box/federations"))
        .and(body_json(json!({"cname": "new.test.", "ttl": 60, "description": "d"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"alerts": [{"text": "cdnfederation was created.", "level": "success"}], "response": fed.clone()}))).expect(1).mount(&server).await;
    Mock::given(method("PUT"))
        .and(path("/api/4.0/cdns/CDN%20in%20a%20Box/federations/1"))
        .and(body_json(json!({"cname": "test.quest.", "ttl": 30})))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"alerts": [], "response": fed.clone()})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/api/4.0/cdns/CDN%20in%20a%20Box/federations/1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"alerts": [{"text": "cdnfederation was deleted.", "level": "success"}]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    let f = client.traffic_ops().federations();
    let listed = f.cdn_federations("CDN in a Box").await.unwrap().response;
    assert_eq!(
        listed[0].last_updated.unwrap().to_string(),
        "2018-12-05 00:31:34+00"
    );
    assert_eq!(
        listed[0]
            .delivery_service
            .as_ref()
            .unwrap()
            .xml_id
            .as_deref(),
        Some("demo1")
    );
    let created = f
        .create_cdn_federation(
            "CDN in a Box",
            &NewFederation::new("new.test.", 60).description("d"),
        )
        .await
        .unwrap();
    assert_eq!(created.alerts[0].text, "cdnfederation was created.");
    f.update_cdn_federation("CDN in a Box", 1, &NewFederation::new("test.quest.", 30))
        .await
        .unwrap();
    f.delete_cdn_federation("CDN in a Box", 1).await.unwrap();
    for bad in [
        NewFederation::new("no-dot", 1),
        NewFederation::new("x.", -1),
    ] {
        assert!(matches!(
            f.create_cdn_federation("CDN in a Box", &bad)
                .await
                .unwrap_err(),
            Error::InvalidInput(_)
        ));
    }
    assert!(matches!(
        f.cdn_federations("..").await.unwrap_err(),
        Error::InvalidInput(_)
    ));
}

#[tokio::test]
async fn the_session_cookie_never_goes_to_another_host() {
    let server = strict_server().await;
    let other = MockServer::start().await;
    mount_login(&server, "s1", 1).await;
    Mock::given(method("GET"))
        .and(path("/api/4.0/federations/all"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"response": []})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/4.0/user/login"))
        .respond_with(login_ok("other-host"))
        .expect(1)
        .mount(&other)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/4.0/ping"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ping": "pong"})))
        .expect(1)
        .mount(&other)
        .await;

    let (client, session) = client(&server);
    client.traffic_ops().federations().all().await.unwrap();
    assert!(session.is_logged_in());
    // The same session used by a client for another host logs in there; host A's cookie never travels.
    let elsewhere = Client::builder()
        .base_url(other.uri())
        .auth(session.clone())
        .build()
        .unwrap();
    elsewhere.traffic_ops().ping().await.unwrap();
    for request in other.received_requests().await.unwrap() {
        let cookie = request
            .headers
            .get("cookie")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        assert!(!cookie.contains("s1"), "{cookie}");
    }
    assert_eq!(session.login_count(), 2);
}

#[tokio::test]
async fn two_users_with_one_username_are_refused_not_guessed() {
    let server = strict_server().await;
    mount_login(&server, "s1", 1).await;
    let twice = json!({"response": [
        {"id": 2, "role": "admin", "username": "admin"},
        {"id": 9, "role": "read-only", "username": "admin"}
    ]});
    Mock::given(method("GET"))
        .and(path("/api/4.0/users"))
        .and(query_param("username", "admin"))
        .respond_with(ResponseTemplate::new(200).set_body_json(twice))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    let err = client
        .traffic_ops()
        .users()
        .find_by_username("admin")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::AmbiguousMember { service: "traffic_ops", member } if member == "username `admin`"),
        "{err:?}"
    );
    assert!(!err.may_have_been_applied());
}

#[tokio::test]
async fn two_thousand_usernames_resolve_with_one_users_request() {
    use group_membership::membership::{TrafficOpsFederationUsers, plan};

    let server = strict_server().await;
    mount_login(&server, "s1", 1).await;
    Mock::given(method("GET"))
        .and(path("/api/4.0/federations/1/users"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"response": [{"id": 2, "username": "admin", "role": "admin"}]}),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    let everyone: Vec<serde_json::Value> = (0..2_000u64)
        .map(|i| json!({"id": 100 + i, "username": format!("user{i:04}"), "role": "operations"}))
        .chain([json!({"id": 2, "username": "admin", "role": "admin"})])
        .collect();
    // One GET users, without a filter: all 2,000 names from one answer.
    Mock::given(method("GET"))
        .and(path("/api/4.0/users"))
        .and(|request: &wiremock::Request| request.url.query().is_none())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "response": everyone })))
        .expect(1)
        .mount(&server)
        .await;
    let (to, _) = client(&server);
    let federation = TrafficOpsFederationUsers::new(to, 1);
    let names: Vec<String> = std::iter::once("admin".to_string())
        .chain((0..2_000).map(|i| format!("user{i:04}")))
        .collect();
    let p = plan(&federation, names.clone()).await.unwrap();
    assert_eq!(p.to_add().len(), 2_000);
    assert_eq!(p.to_keep().len(), 1, "admin needed no lookup");
    assert_eq!(p.to_add()[0].id, 100);

    // A name nobody has is refused, still after one request.
    let server2 = strict_server().await;
    mount_login(&server2, "s1", 1).await;
    Mock::given(method("GET"))
        .and(path("/api/4.0/federations/1/users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"response": []})))
        .mount(&server2)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/4.0/users"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"response": [
                {"id": 3, "username": "a"}, {"id": 4, "username": "b"}, {"id": 5, "username": "c"}
            ]})),
        )
        .expect(1)
        .mount(&server2)
        .await;
    let (client2, _) = client(&server2);
    let federation = TrafficOpsFederationUsers::new(client2, 1);
    let err = plan(&federation, ["a", "b", "c", "nobody"])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::UnknownMember { member, .. } if member == "username `nobody`"),
        "{err:?}"
    );
}
