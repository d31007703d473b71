//! The sandbox's Traffic Ops fake with the real session: lazy login, expiry and one re-login for many
//! concurrent requests, 403 without re-login, the observed bodies, pagination and ordering rules.

use group_membership::sandbox::Sandbox;
use group_membership::traffic_ops::{
    ApiVersion, FederationUserOrder, FederationUsersQuery, SortOrder, TrafficOpsSession,
};
use group_membership::{Client, Error};
use http::StatusCode;

const FED: u64 = Sandbox::TRAFFIC_OPS_FEDERATION_ID;

fn session_client(sandbox: &Sandbox, session: &TrafficOpsSession) -> Client {
    Client::builder()
        .base_url(sandbox.base_url().as_str())
        .auth(session.clone())
        .build()
        .unwrap()
}

fn ids(users: &[group_membership::traffic_ops::FederationUser]) -> Vec<u64> {
    users.iter().map(|u| u.id).collect()
}

#[tokio::test]
async fn seeded_federation_assign_list_remove() {
    let sandbox = Sandbox::start().unwrap();
    let client = sandbox.traffic_ops_client().unwrap();
    let f = client.traffic_ops().federations();

    let users = f
        .users(FED, &FederationUsersQuery::new())
        .await
        .unwrap()
        .response;
    assert_eq!(ids(&users), [2]);
    assert_eq!(users[0].username.as_deref(), Some("admin"));

    let assigned = f.assign_users(FED, &[3, 4], false).await.unwrap();
    assert_eq!(
        assigned.alerts[0].text,
        "2 user(s) were assigned to the test.quest. federation"
    );
    assert_eq!(
        (
            assigned.response.user_ids.as_slice(),
            assigned.response.replace
        ),
        ([3u64, 4].as_slice(), None)
    );
    assert_eq!(
        sandbox.traffic_ops_federation_users(FED).unwrap(),
        [2, 3, 4]
    );

    let removed = f.remove_user(FED, 4).await.unwrap();
    assert_eq!(removed.alerts[0].text, "federation users was deleted.");
    let err = f.remove_user(FED, 4).await.unwrap_err();
    assert_eq!(
        (err.status(), err.api().unwrap().message()),
        (
            Some(StatusCode::NOT_FOUND),
            Some("no federation users with that key found")
        )
    );

    // replace: true removes everyone first.
    let replaced = f.assign_users(FED, &[5], true).await.unwrap();
    assert_eq!(replaced.response.replace, Some(true));
    assert_eq!(sandbox.traffic_ops_federation_users(FED).unwrap(), [5]);
    assert_eq!(sandbox.traffic_ops_logins(), 1);
}

#[tokio::test]
async fn observed_errors_come_back_as_the_server_words_them() {
    let sandbox = Sandbox::start().unwrap();
    let client = sandbox.traffic_ops_client().unwrap();
    let f = client.traffic_ops().federations();
    let text = |e: Error| {
        (
            e.status().unwrap().as_u16(),
            e.api().unwrap().message().unwrap().to_string(),
        )
    };

    assert_eq!(
        text(f.assign_users(FED, &[2], false).await.unwrap_err()),
        (
            400,
            "federation_tmuser federation, tm_user '1, 2' already exists.".into()
        )
    );
    assert_eq!(
        text(f.assign_users(FED, &[99], false).await.unwrap_err()),
        (404, "tm_user not found".into())
    );
    assert_eq!(
        text(f.assign_users(999, &[2], false).await.unwrap_err()),
        (404, "federation 999 not found".into())
    );
    assert_eq!(
        text(
            f.users(999, &FederationUsersQuery::new())
                .await
                .unwrap_err()
        ),
        (404, "federation 999 not found".into())
    );
    let missing = client
        .traffic_ops()
        .request(http::Method::POST, ["federations", "1", "users"])
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        text(missing),
        (400, "parse error: validating: userIds: is required.".into())
    );
    let wrong_method = client
        .traffic_ops()
        .request(http::Method::PUT, ["federations", "1", "users"])
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        text(wrong_method),
        (
            404,
            "The requested path '/api/4.0/federations/1/users' does not exist.".into()
        )
    );
    assert_eq!(
        sandbox.traffic_ops_federation_users(FED).unwrap(),
        [2],
        "nothing changed"
    );
}

#[tokio::test]
async fn wrong_password_and_bad_token_are_typed_login_errors() {
    let sandbox = Sandbox::start().unwrap();
    for (session, text) in [
        (
            TrafficOpsSession::password("admin", "nope"),
            "Invalid username or password.",
        ),
        (
            TrafficOpsSession::token("nope"),
            "Invalid token. Please contact your administrator.",
        ),
    ] {
        let err = session_client(&sandbox, &session)
            .traffic_ops()
            .federations()
            .all()
            .await
            .unwrap_err();
        let Error::Auth(auth) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(
            auth.message(),
            format!("Traffic Ops refused the login: {text}")
        );
        assert!(!format!("{err:?}").contains("nope"));
    }
    let token = TrafficOpsSession::token(Sandbox::TRAFFIC_OPS_LOGIN_TOKEN);
    let all = session_client(&sandbox, &token)
        .traffic_ops()
        .federations()
        .all()
        .await
        .unwrap();
    assert_eq!(all.response.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn expiry_under_concurrency_causes_one_login() {
    let sandbox = Sandbox::start().unwrap();
    let session =
        TrafficOpsSession::password(Sandbox::TRAFFIC_OPS_USER, Sandbox::TRAFFIC_OPS_PASSWORD);
    let client = session_client(&sandbox, &session);
    client
        .traffic_ops()
        .federations()
        .users(FED, &FederationUsersQuery::new())
        .await
        .unwrap();
    assert_eq!(sandbox.traffic_ops_logins(), 1);

    sandbox.expire_traffic_ops_sessions();
    let calls = (0..16).map(|_| {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .traffic_ops()
                .federations()
                .users(FED, &FederationUsersQuery::new())
                .await
        })
    });
    for call in calls.collect::<Vec<_>>() {
        assert_eq!(ids(&call.await.unwrap().unwrap().response), [2]);
    }
    assert_eq!(
        sandbox.traffic_ops_logins(),
        2,
        "sixteen requests after expiry, one new login"
    );
    assert_eq!(session.login_count(), 2);
}

#[tokio::test]
async fn a_missing_permission_is_403_without_a_new_login() {
    let sandbox = Sandbox::start().unwrap();
    let session = TrafficOpsSession::password("readonly", Sandbox::TRAFFIC_OPS_PASSWORD);
    let client = session_client(&sandbox, &session);
    let err = client
        .traffic_ops()
        .federations()
        .assign_users(FED, &[3], false)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::FORBIDDEN));
    assert_eq!(
        err.api().unwrap().message(),
        Some("missing required Permissions: FEDERATION:UPDATE")
    );
    assert_eq!(sandbox.traffic_ops_logins(), 1);
    // Reading is allowed.
    client
        .traffic_ops()
        .federations()
        .users(FED, &FederationUsersQuery::new())
        .await
        .unwrap();
}

#[tokio::test]
async fn versions_logout_and_query_semantics() {
    let sandbox = Sandbox::start().unwrap();
    let session =
        TrafficOpsSession::password(Sandbox::TRAFFIC_OPS_USER, Sandbox::TRAFFIC_OPS_PASSWORD);
    let client = session_client(&sandbox, &session);
    let to = client.traffic_ops();
    to.federations()
        .assign_users(FED, &[3, 4, 5], false)
        .await
        .unwrap();

    for v in [ApiVersion::V4_1, ApiVersion::V5_0] {
        let users = to
            .clone()
            .with_api_version(v)
            .federations()
            .users(FED, &FederationUsersQuery::new())
            .await
            .unwrap();
        assert_eq!(ids(&users.response), [2, 3, 4, 5]);
    }
    let err = to
        .clone()
        .with_api_version(ApiVersion::parse("2.0").unwrap())
        .federations()
        .all()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::ApiVersionNotSupported { version, .. } if version == "2.0"),
        "{err:?}"
    );

    let f = to.federations();
    let q = FederationUsersQuery::new;
    let desc = f
        .users(
            FED,
            &q().orderby(FederationUserOrder::Id)
                .sort_order(SortOrder::Descending),
        )
        .await
        .unwrap();
    assert_eq!(ids(&desc.response), [5, 4, 3, 2]);
    let page2 = f
        .users(FED, &q().orderby(FederationUserOrder::Id).limit(2).page(2))
        .await
        .unwrap();
    assert_eq!(ids(&page2.response), [4, 5]);
    let offset = f
        .users(
            FED,
            &q().orderby(FederationUserOrder::Id).limit(2).offset(1),
        )
        .await
        .unwrap();
    assert_eq!(
        ids(&offset.response),
        [2, 3],
        "offset counts from 1, as the server does"
    );
    let role = f.users(FED, &q().role("operations")).await.unwrap();
    assert_eq!(ids(&role.response), [3]);
    let one = f.users(FED, &q().user_id(4)).await.unwrap();
    assert_eq!(ids(&one.response), [4]);
    assert!(matches!(
        f.users(FED, &q().limit(2).offset(0)).await.unwrap_err(),
        Error::InvalidInput(_)
    ));

    let cdn = f
        .cdn_federations(Sandbox::TRAFFIC_OPS_CDN)
        .await
        .unwrap()
        .response;
    assert_eq!(cdn[0].cname, "test.quest.");
    assert_eq!(
        cdn[0].last_updated.unwrap().to_string(),
        "2018-12-05 00:31:34+00"
    );

    let bye = session.logout(&client).await.unwrap();
    assert_eq!(bye.alerts[0].text, "You are logged out.");
    assert!(!session.is_logged_in());
    f.users(FED, &q()).await.unwrap();
    assert_eq!(
        sandbox.traffic_ops_logins(),
        2,
        "logged in again after logout"
    );
}
