//! The sandbox's Traffic Ops fake with the real session: lazy login, expiry and one re-login for many
//! concurrent requests, 403 without re-login, the observed bodies, pagination and ordering rules.

use group_membership::sandbox::Sandbox;
use group_membership::traffic_ops::{
    ApiVersion, FederationUserOrder, FederationUsersQuery, NewFederation, SortOrder,
    TrafficOpsSession,
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
        .users(FED)
        .list(&FederationUsersQuery::new())
        .await
        .unwrap()
        .response;
    assert_eq!(ids(&users), [2]);
    assert_eq!(users[0].username.as_deref(), Some("admin"));

    let assigned = f.users(FED).add(&[3, 4]).await.unwrap();
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

    let removed = f.users(FED).remove(4).await.unwrap();
    assert_eq!(removed.alerts[0].text, "federation users was deleted.");
    let err = f.users(FED).remove(4).await.unwrap_err();
    assert_eq!(
        (err.status(), err.api().unwrap().message()),
        (
            Some(StatusCode::NOT_FOUND),
            Some("no federation users with that key found")
        )
    );

    // replace: true removes everyone first.
    let replaced = f.users(FED).replace_all(&[5]).await.unwrap();
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
        text(f.users(FED).add(&[2]).await.unwrap_err()),
        (
            400,
            "federation_tmuser federation, tm_user '1, 2' already exists.".into()
        )
    );
    assert_eq!(
        text(f.users(FED).add(&[99]).await.unwrap_err()),
        (404, "tm_user not found".into())
    );
    assert_eq!(
        text(f.users(999).add(&[2]).await.unwrap_err()),
        (404, "federation 999 not found".into())
    );
    assert_eq!(
        text(
            f.users(999)
                .list(&FederationUsersQuery::new())
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
        .users(FED)
        .list(&FederationUsersQuery::new())
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
                .users(FED)
                .list(&FederationUsersQuery::new())
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
        .users(FED)
        .add(&[3])
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
        .users(FED)
        .list(&FederationUsersQuery::new())
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
    to.federations().users(FED).add(&[3, 4, 5]).await.unwrap();

    for v in [ApiVersion::V4_1, ApiVersion::V5_0] {
        let users = to
            .clone()
            .with_api_version(v)
            .federations()
            .users(FED)
            .list(&FederationUsersQuery::new())
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
        matches!(&err, Error::Api(_)) && err.unsupported_api_version() == Some("2.0"),
        "{err:?}"
    );

    let f = to.federations();
    let q = FederationUsersQuery::new;
    let desc = f
        .users(FED)
        .list(
            &q().orderby(FederationUserOrder::UserId)
                .sort_order(SortOrder::Descending),
        )
        .await
        .unwrap();
    assert_eq!(ids(&desc.response), [5, 4, 3, 2]);
    let page2 = f
        .users(FED)
        .list(&q().orderby(FederationUserOrder::UserId).limit(2).page(2))
        .await
        .unwrap();
    assert_eq!(ids(&page2.response), [4, 5]);
    let offset = f
        .users(FED)
        .list(&q().orderby(FederationUserOrder::UserId).limit(2).offset(1))
        .await
        .unwrap();
    assert_eq!(
        ids(&offset.response),
        [3, 4],
        "offset skips that many rows: the 2nd and 3rd users"
    );
    let role = f.users(FED).list(&q().role("operations")).await.unwrap();
    assert_eq!(ids(&role.response), [3]);
    let one = f.users(FED).list(&q().user_id(4)).await.unwrap();
    assert_eq!(ids(&one.response), [4]);
    assert!(matches!(
        f.users(FED)
            .list(&q().limit(2).offset(0))
            .await
            .unwrap_err(),
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
    f.users(FED).list(&q()).await.unwrap();
    assert_eq!(
        sandbox.traffic_ops_logins(),
        2,
        "logged in again after logout"
    );
}

/// The sandbox answers as Traffic Ops 8.1 was observed to (api-notes/traffic-ops.md), through the escape
/// hatch so that the raw server behaviour is what is checked.
#[tokio::test]
async fn the_sandbox_answers_as_the_real_server_was_observed_to() {
    let sandbox = Sandbox::start().unwrap();
    let client = sandbox.traffic_ops_client().unwrap();
    let to = client.traffic_ops();
    to.federations().users(FED).add(&[4, 5, 3]).await.unwrap();

    let raw = |pairs: &'static [(&'static str, &'static str)]| {
        let mut r = to.request(http::Method::GET, ["federations", "1", "users"]);
        for (k, v) in pairs {
            r = r.query(*k, *v);
        }
        r.send_json::<serde_json::Value>()
    };
    let user_ids = |v: serde_json::Value| -> Vec<u64> {
        v["response"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_u64().unwrap())
            .collect()
    };
    // `offset` skips rows; `orderby=id` sorts by federation, so it orders nothing inside one.
    let by_id = raw(&[("orderby", "userID"), ("limit", "2"), ("offset", "1")])
        .await
        .unwrap();
    assert_eq!(user_ids(by_id), [3, 4]);
    let db_order = user_ids(raw(&[]).await.unwrap());
    assert_eq!(db_order, [2, 4, 5, 3]);
    assert_eq!(
        user_ids(
            raw(&[("orderby", "id"), ("sortOrder", "desc")])
                .await
                .unwrap()
        ),
        db_order
    );
    // Exact 400 texts, and the 500 of limit=-1 with page 2.
    for (pairs, text) in [
        (
            &[("limit", "-2")][..],
            "limit parameter must be bigger than -1",
        ),
        (
            &[("limit", "1"), ("offset", "0")][..],
            "offset parameter must be a positive integer",
        ),
        (
            &[("limit", "1"), ("page", "0")][..],
            "page parameter must be a positive integer",
        ),
    ] {
        let err = raw(pairs).await.unwrap_err();
        assert_eq!(err.status(), Some(StatusCode::BAD_REQUEST));
        assert_eq!(err.api().unwrap().message(), Some(text));
    }
    let err = raw(&[("limit", "-1"), ("page", "2")]).await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::INTERNAL_SERVER_ERROR));

    // Unknown CDN: 404 `cdn not found`; a PUT naming the wrong (existing) CDN still updates.
    let federations = to.federations();
    let err = federations
        .cdn_federations("no-such-cdn")
        .await
        .unwrap_err();
    assert_eq!(err.api().unwrap().message(), Some("cdn not found"));
    let updated = federations
        .update_cdn_federation("ALL", 1, &NewFederation::new("moved.test.", 120))
        .await
        .unwrap();
    assert_eq!(updated.response.cname, "moved.test.");

    // If-Modified-Since: 304, empty body, Last-Modified in the server's `UTC` spelling, read back.
    let first = federations
        .users(FED)
        .list(&FederationUsersQuery::new())
        .await
        .unwrap();
    assert!(!first.not_modified);
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    let again = federations
        .users(FED)
        .list(&FederationUsersQuery::new().if_modified_since(later))
        .await
        .unwrap();
    assert!(again.not_modified && again.response.is_empty());
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    let raw_header = again
        .headers
        .get("last-modified")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(raw_header.ends_with(" UTC"), "{raw_header}");
    assert!(again.last_modified().is_some());
    let long_ago = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    let changed = federations
        .users(FED)
        .list(&FederationUsersQuery::new().if_modified_since(long_ago))
        .await
        .unwrap();
    assert!(!changed.not_modified && changed.response.len() == 4);
}

#[tokio::test]
async fn api_5_0_logs_in_there_and_reads_its_cdn_federations() {
    let sandbox = Sandbox::start().unwrap();
    let client = Client::builder()
        .base_url(sandbox.base_url().as_str())
        .auth(TrafficOpsSession::password(
            Sandbox::TRAFFIC_OPS_USER,
            Sandbox::TRAFFIC_OPS_PASSWORD,
        ))
        .traffic_ops_api_version(ApiVersion::V5_0)
        .build()
        .unwrap();
    let federations = client.traffic_ops().federations();
    let list = federations
        .cdn_federations(Sandbox::TRAFFIC_OPS_CDN)
        .await
        .unwrap();
    let first = &list.response[0];
    assert_eq!(
        first.delivery_service.as_ref().unwrap().xml_id.as_deref(),
        Some("demo1")
    );
    assert_eq!(
        first.last_updated.unwrap().to_string(),
        "2018-12-05 00:31:34+00"
    );
    let logins: Vec<String> = sandbox
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("login"))
        .map(|r| r.path)
        .collect();
    assert_eq!(logins, ["/api/5.0/user/login"]);

    // 5.0 requires a TTL of at least 60, checked before sending; a create answers 201.
    let err = federations
        .create_cdn_federation(
            Sandbox::TRAFFIC_OPS_CDN,
            &NewFederation::new("new.test.", 30),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    let created = federations
        .create_cdn_federation(
            Sandbox::TRAFFIC_OPS_CDN,
            &NewFederation::new("new.test.", 60),
        )
        .await
        .unwrap();
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.alerts[0].text, "Federation was created");
}

#[tokio::test]
async fn a_token_login_with_an_empty_token_is_refused_with_401_and_logout_revokes_nothing() {
    let sandbox = Sandbox::start().unwrap();
    let session = TrafficOpsSession::token("");
    let client = session_client(&sandbox, &session);
    let err = client.traffic_ops().federations().all().await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::UNAUTHORIZED), "{err:?}");

    // Logout answers with the renewal of both cookies, then their expiry; the old cookie still works.
    let raw = reqwest::Client::new();
    let base = sandbox
        .base_url()
        .as_str()
        .trim_end_matches('/')
        .to_string();
    let login = raw
        .post(format!("{base}/api/4.0/user/login"))
        .body(
            serde_json::json!({"u": Sandbox::TRAFFIC_OPS_USER, "p": Sandbox::TRAFFIC_OPS_PASSWORD})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let bye = raw
        .post(format!("{base}/api/4.0/user/logout"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let set: Vec<String> = bye
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert_eq!(set.len(), 4, "{set:?}");
    assert!(set[0].contains("Max-Age=3600") && set[1].starts_with("access_token="));
    assert!(set[2].starts_with("mojolicious=") && set[2].contains("Expires="));
    assert!(set[3].starts_with("access_token=;") && set[3].contains("Expires="));
    let still = raw
        .get(format!("{base}/api/4.0/federations/all"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(still.status(), 200, "logout revokes nothing");
}

fn at(sandbox: &Sandbox, version: ApiVersion) -> Client {
    Client::builder()
        .base_url(sandbox.base_url().as_str())
        .auth(TrafficOpsSession::password(
            Sandbox::TRAFFIC_OPS_USER,
            Sandbox::TRAFFIC_OPS_PASSWORD,
        ))
        .traffic_ops_api_version(version)
        .build()
        .unwrap()
}

#[tokio::test]
async fn api_5_0_writes_answer_as_the_real_server_does() {
    let sandbox = Sandbox::start().unwrap();
    let v5 = at(&sandbox, ApiVersion::V5_0);
    let federations = v5.traffic_ops().federations();
    let made = federations
        .create_cdn_federation(Sandbox::TRAFFIC_OPS_CDN, &NewFederation::new("a.test.", 60))
        .await
        .unwrap()
        .response;

    // PUT: "Federation was updated" and the object.
    let updated = federations
        .update_cdn_federation(
            Sandbox::TRAFFIC_OPS_CDN,
            made.id,
            &NewFederation::new("b.test.", 120),
        )
        .await
        .unwrap();
    assert_eq!(updated.alerts[0].text, "Federation was updated");
    assert_eq!(updated.response.cname, "b.test.");

    // DELETE: the deleted federation comes back in `response` (it was reported as a decode error).
    let deleted = federations
        .delete_cdn_federation(Sandbox::TRAFFIC_OPS_CDN, made.id)
        .await
        .unwrap();
    assert_eq!(deleted.alerts[0].text, "Federation was deleted");
    assert_eq!(deleted.response.as_ref().map(|f| f.id), Some(made.id));

    // A missing id: 500 at 5.0 (4.x: 404).
    for err in [
        federations
            .update_cdn_federation(
                Sandbox::TRAFFIC_OPS_CDN,
                999,
                &NewFederation::new("c.test.", 60),
            )
            .await
            .unwrap_err(),
        federations
            .delete_cdn_federation(Sandbox::TRAFFIC_OPS_CDN, 999)
            .await
            .unwrap_err(),
    ] {
        assert_eq!(
            err.status(),
            Some(StatusCode::INTERNAL_SERVER_ERROR),
            "{err}"
        );
    }

    // An unknown CDN: listed as nothing, and a create succeeds (201), linked to nothing.
    assert!(
        federations
            .cdn_federations("NOPE")
            .await
            .unwrap()
            .response
            .is_empty()
    );
    let orphan = federations
        .create_cdn_federation("NOPE", &NewFederation::new("d.test.", 60))
        .await
        .unwrap();
    assert_eq!(orphan.status, StatusCode::CREATED);
    assert!(!federations.cdn_exists("NOPE").await.unwrap());
    assert!(
        federations
            .cdn_exists(Sandbox::TRAFFIC_OPS_CDN)
            .await
            .unwrap()
    );

    // At 4.0 the same calls answer as 4.x does.
    let v4 = at(&sandbox, ApiVersion::V4_0);
    let f4 = v4.traffic_ops().federations();
    let made = f4
        .create_cdn_federation(Sandbox::TRAFFIC_OPS_CDN, &NewFederation::new("e.test.", 60))
        .await
        .unwrap()
        .response;
    let deleted = f4
        .delete_cdn_federation(Sandbox::TRAFFIC_OPS_CDN, made.id)
        .await
        .unwrap();
    assert_eq!(deleted.alerts[0].text, "cdnfederation was deleted.");
    assert!(deleted.response.is_none());
    let err = f4
        .delete_cdn_federation(Sandbox::TRAFFIC_OPS_CDN, 999)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err = f4.cdn_federations("NOPE").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test]
async fn a_conditional_200_carries_last_modified_and_users_carry_their_timestamps() {
    let sandbox = Sandbox::start().unwrap();
    let client = at(&sandbox, ApiVersion::V5_0);
    let users = client.traffic_ops().federations().users(FED);
    let plain = users.list(&FederationUsersQuery::new()).await.unwrap();
    assert!(plain.last_modified().is_none(), "no IMS, no Last-Modified");
    let long_ago = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    let conditional = users
        .list(&FederationUsersQuery::new().if_modified_since(long_ago))
        .await
        .unwrap();
    assert_eq!(conditional.status, StatusCode::OK);
    assert!(
        conditional.last_modified().is_some(),
        "an IMS answered 200 carries it"
    );

    let admin = client
        .traffic_ops()
        .users()
        .find_by_username("admin")
        .await
        .unwrap()
        .unwrap();
    let updated = admin.last_updated.as_deref().unwrap();
    assert_eq!(updated, "2026-11-30T16:26:41.42322Z");
    group_membership::traffic_ops::Timestamp::parse(updated).unwrap();
    group_membership::traffic_ops::Timestamp::parse(admin.last_authenticated.as_deref().unwrap())
        .unwrap();
    assert_eq!(admin.tenant_id, Some(1));
    assert_eq!(admin.local_user, Some(true));
}
