//! Entuity config sets against wiremock: the seed's three calls field for field (Basic header, `media=json`,
//! bodies, encoded names), the neighbouring endpoints, and every error shape.

use crate::common;

use common::*;
use group_membership::entuity::{ConfigSetUpdate, NewConfigSet, NewMember};
use group_membership::{Client, Error};
use http::StatusCode;
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

const SET: &str = "82e7c418-cd48-4fbf-857b-cddb475841a2";
const PASSWORD: &str = "admin-Pass-5521";
// base64("admin:admin-Pass-5521")
const BASIC: &str = "Basic YWRtaW46YWRtaW4tUGFzcy01NTIx";

fn client(server: &MockServer) -> Client {
    Client::builder()
        .base_url(server.uri())
        .auth(group_membership::auth::BasicAuth::new("admin", PASSWORD))
        .retry_policy(fast_retries(3))
        .build()
        .unwrap()
}

/// What every Entuity request carries: Basic auth and both ways of asking for JSON.
fn entuity(verb: &str, p: &str) -> MockBuilder {
    Mock::given(method(verb))
        .and(path(p))
        .and(header("authorization", BASIC))
        .and(query_param("media", "json"))
        .and(header("accept", "application/json"))
}

#[tokio::test]
async fn set_members_sends_the_seeds_put_and_returns_the_change() {
    let server = strict_server().await;
    entuity(
        "PUT",
        &format!("/api/cfg/serverGroupConfig/{SET}/userGroups/Administrators"),
    )
    .and(header("content-type", "application/json"))
    .and(body_json(
        json!({"userGroupName": "Administrators", "members": ["kim1", "admin", "super1"]}),
    ))
    .respond_with(
        ResponseTemplate::new(200).set_body_json(fixture("entuity/put_members_response.json")),
    )
    .expect(1)
    .mount(&server)
    .await;
    let replaced = client(&server)
        .entuity()
        .user_groups(SET)
        .members("Administrators")
        .replace_all(["kim1", "admin", "super1"])
        .await
        .unwrap();
    let change = replaced.change().expect("the vendor's change envelope");
    assert_eq!(change.configuration_change_id, 100);
    assert_eq!(change.server_group_id, SET);
    assert_eq!(change.timestamp_sec, 1_677_587_075);
    assert_eq!(change.modified_by, "admin");
}

#[tokio::test]
async fn the_overwrite_answer_is_read_in_either_candidate_shape() {
    use group_membership::entuity::MembersReplaced;
    let shapes = [
        (
            json!({"userGroupName": "Administrators", "members": ["kim1"], "tools": null}),
            "group",
        ),
        (
            json!({"errorCode": "SUCCESS", "errorDetails": null}),
            "applied",
        ),
        (
            json!({"errorCode": "Success", "data": {"configurationChangeId": 7, "serverGroupId": SET, "timestampSec": 1, "modifiedBy": "admin"}}),
            "change",
        ),
    ];
    for (body, expected) in shapes {
        let server = strict_server().await;
        entuity(
            "PUT",
            &format!("/api/cfg/serverGroupConfig/{SET}/userGroups/Administrators"),
        )
        .respond_with(ResponseTemplate::new(200).set_body_json(body.clone()))
        .expect(1)
        .mount(&server)
        .await;
        let replaced = client(&server)
            .entuity()
            .user_groups(SET)
            .members("Administrators")
            .replace_all(["kim1"])
            .await
            .unwrap_or_else(|e| panic!("{body}: {e}"));
        let got = match &replaced {
            MembersReplaced::UserGroup(g) => {
                assert_eq!(g.members, ["kim1"]);
                "group"
            }
            MembersReplaced::Applied => "applied",
            MembersReplaced::Change(c) => {
                assert_eq!(c.configuration_change_id, 7);
                "change"
            }
            _ => "other",
        };
        assert_eq!(got, expected, "{body}");
    }
    // An empty 2xx body: applied, nothing more said. Anything else is a decode error.
    for (body, ok) in [("", true), ("{\"unexpected\": 1}", false)] {
        let server = strict_server().await;
        entuity(
            "PUT",
            &format!("/api/cfg/serverGroupConfig/{SET}/userGroups/Administrators"),
        )
        .respond_with(ResponseTemplate::new(200).set_body_string(body))
        .expect(1)
        .mount(&server)
        .await;
        let result = client(&server)
            .entuity()
            .user_groups(SET)
            .members("Administrators")
            .replace_all(["kim1"])
            .await;
        match result {
            Ok(MembersReplaced::Applied) if ok => {}
            Err(Error::Decode(_)) if !ok => {}
            other => panic!("{body:?}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn add_member_sends_username_and_password_and_is_not_retried() {
    let server = strict_server().await;
    entuity(
        "POST",
        &format!("/api/cfg/serverGroupConfig/{SET}/userGroups/usergroup1/members"),
    )
    .and(header("content-type", "application/json"))
    .and(body_json(
        json!({"username": "guy9", "password": "supersecret"}),
    ))
    .respond_with(
        ResponseTemplate::new(200).set_body_json(fixture("entuity/post_member_response.json")),
    )
    .expect(1)
    .mount(&server)
    .await;
    entuity(
        "POST",
        &format!("/api/cfg/serverGroupConfig/{SET}/userGroups/busy/members"),
    )
    .and(body_json(json!({"username": "guy9"})))
    .respond_with(ResponseTemplate::new(503))
    .expect(1)
    .mount(&server)
    .await;
    let client = client(&server);
    let member = NewMember::new("guy9").password("supersecret");
    assert!(!format!("{member:?}").contains("supersecret"));
    let change = client
        .entuity()
        .user_groups(SET)
        .members("usergroup1")
        .add(&member)
        .await
        .unwrap();
    assert_eq!(change.configuration_change_id, 79);

    let err = client
        .entuity()
        .user_groups(SET)
        .members("busy")
        .add(&NewMember::new("guy9"))
        .await
        .unwrap_err();
    assert_eq!(err.api().unwrap().attempts(), 1, "a POST is never repeated");
}

#[tokio::test]
async fn remove_member_sends_the_seeds_delete_and_returns_the_confirmation() {
    let server = strict_server().await;
    entuity(
        "DELETE",
        &format!("/api/cfg/serverGroupConfig/{SET}/userGroups/userGroup1/members/guy9"),
    )
    .respond_with(
        ResponseTemplate::new(200).set_body_json(fixture("entuity/delete_member_response.json")),
    )
    .expect(1)
    .mount(&server)
    .await;
    let removal = client(&server)
        .entuity()
        .user_groups(SET)
        .members("userGroup1")
        .remove("guy9")
        .await
        .unwrap();
    assert_eq!(removal.details.as_deref(), Some("user 'guy9' removed"));
    assert!(removal.change.is_none());
    let raw = &server.received_requests().await.unwrap()[0];
    assert!(raw.body.is_empty());
}

#[tokio::test]
async fn names_with_spaces_and_reserved_characters_are_one_segment_each() {
    let server = strict_server().await;
    entuity("DELETE", &format!("/api/cfg/serverGroupConfig/{SET}/userGroups/Network%20Ops%2FEU%20%2350%25/members/j.doe%40corp%3Bx"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("entuity/delete_member_response.json")))
        .expect(1)
        .mount(&server)
        .await;
    entuity(
        "GET",
        &format!("/api/cfg/serverGroupConfig/{SET}/userGroups/a%2F..%2Fb"),
    )
    .respond_with(
        ResponseTemplate::new(200).set_body_json(json!({"userGroupName": "a/../b", "members": []})),
    )
    .expect(1)
    .mount(&server)
    .await;
    let client = client(&server);
    let sets = client.entuity().config_sets();
    client
        .entuity()
        .user_groups(SET)
        .members("Network Ops/EU #50%")
        .remove("j.doe@corp;x")
        .await
        .unwrap();
    assert_eq!(
        client
            .entuity()
            .user_groups(SET)
            .members("a/../b")
            .get()
            .await
            .unwrap()
            .user_group_name,
        "a/../b"
    );
    for (what, err) in [
        (
            "empty group",
            client
                .entuity()
                .user_groups(SET)
                .members("")
                .get()
                .await
                .unwrap_err(),
        ),
        (
            "dot-dot id",
            client.entuity().user_groups("..").list().await.unwrap_err(),
        ),
        (
            "empty user",
            client
                .entuity()
                .user_groups(SET)
                .members("G")
                .remove("")
                .await
                .unwrap_err(),
        ),
        (
            "empty member",
            client
                .entuity()
                .user_groups(SET)
                .members("G")
                .replace_all(["a", " "])
                .await
                .unwrap_err(),
        ),
        (
            "empty new member",
            client
                .entuity()
                .user_groups(SET)
                .members("G")
                .add(&NewMember::new(""))
                .await
                .unwrap_err(),
        ),
        (
            "empty update",
            sets.update(SET, &ConfigSetUpdate::new()).await.unwrap_err(),
        ),
        (
            "unnamed set",
            sets.create(&NewConfigSet::new(" ")).await.unwrap_err(),
        ),
    ] {
        assert!(matches!(err, Error::InvalidInput(_)), "{what}: {err:?}");
    }
}

#[tokio::test]
async fn config_set_endpoints_send_and_decode_their_documented_bodies() {
    let server = strict_server().await;
    let listed = fixture("entuity/server_groups.json");
    let one = listed["items"][0].clone();
    entuity("GET", "/api/cfg/serverGroups")
        .respond_with(ResponseTemplate::new(200).set_body_json(&listed))
        .expect(1)
        .mount(&server)
        .await;
    entuity("POST", "/api/cfg/serverGroups")
        .and(body_json(
            json!({"serverGroupName": "Edge", "description": "Edge routers", "syncUsers": true}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(&one))
        .expect(1)
        .mount(&server)
        .await;
    entuity("PUT", &format!("/api/cfg/serverGroups/{SET}"))
        .and(body_json(json!({"syncPaused": true})))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"errorCode": "SUCCESS", "data": one})),
        )
        .expect(1)
        .mount(&server)
        .await;
    entuity("PUT", &format!("/api/cfg/serverGroups/{SET}"))
        .and(body_json(json!({"syncPaused": false})))
        .respond_with(ResponseTemplate::new(200).set_body_json(&one))
        .expect(1)
        .mount(&server)
        .await;
    entuity("DELETE", &format!("/api/cfg/serverGroups/{SET}"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("entuity/put_members_response.json")),
        )
        .expect(1)
        .mount(&server)
        .await;
    entuity("GET", &format!("/api/cfg/serverGroupConfig/{SET}/userGroups"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"items": [{"userGroupName": "Administrators", "members": ["admin"], "permissionAdmin": true}]})))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let sets = client.entuity().config_sets();

    let all = sets.list().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].server_group_name.as_deref(), Some("Primary"));
    assert_eq!(
        (all[0].sync_users, all[0].sync_views, all[0].sync_paused),
        (Some(true), Some(false), Some(false))
    );
    assert_eq!(all[0].extra["futureField"], 7);
    let created = sets
        .create(
            &NewConfigSet::new("Edge")
                .description("Edge routers")
                .sync_users(true),
        )
        .await
        .unwrap();
    assert_eq!(created.server_group_id, SET);
    assert_eq!(
        sets.pause_sync(SET).await.unwrap(),
        all[0],
        "an enveloped answer is unwrapped"
    );
    assert_eq!(sets.resume_sync(SET).await.unwrap(), all[0]);
    assert_eq!(sets.delete(SET).await.unwrap().configuration_change_id, 100);
    let groups = client.entuity().user_groups(SET).list().await.unwrap();
    assert_eq!(
        (
            groups[0].user_group_name.as_str(),
            groups[0].members.as_slice()
        ),
        ("Administrators", ["admin".to_string()].as_slice())
    );
    assert_eq!(groups[0].extra["permissionAdmin"], true);
}

#[tokio::test]
async fn both_error_shapes_become_typed_api_errors() {
    let server = strict_server().await;
    entuity(
        "PUT",
        &format!("/api/cfg/serverGroupConfig/{SET}/userGroups/G412"),
    )
    .respond_with(ResponseTemplate::new(412).set_body_json(fixture("entuity/error_412.json")))
    .expect(1)
    .mount(&server)
    .await;
    entuity("POST", &format!("/api/cfg/serverGroupConfig/{SET}/userGroups/G200/members"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"errorCode": "ERROR_OPERATION_FAILURE", "errorDetails": "user 'kim1' is already a member"})))
        .expect(1)
        .mount(&server)
        .await;
    entuity(
        "GET",
        &format!("/api/cfg/serverGroupConfig/{SET}/userGroups/G401"),
    )
    .respond_with(
        ResponseTemplate::new(401)
            .set_body_raw("<html><body>Unauthorized</body></html>", "text/html"),
    )
    .expect(1)
    .mount(&server)
    .await;
    entuity(
        "GET",
        &format!("/api/cfg/serverGroupConfig/{SET}/userGroups/Gnodata"),
    )
    .respond_with(ResponseTemplate::new(200).set_body_string("{\"userGroupName\": \"Gno"))
    .expect(1)
    .mount(&server)
    .await;
    entuity("DELETE", &format!("/api/cfg/serverGroups/{SET}"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"errorCode": "SUCCESS", "errorDetails": null})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let sets = client.entuity().config_sets();

    let err = client
        .entuity()
        .user_groups(SET)
        .members("G412")
        .replace_all(["nobody"])
        .await
        .unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(api.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(api.code(), Some("412"));
    assert_eq!(
        api.message(),
        Some(
            "Error modifying user group. errorCode=ERROR_OPERATION_FAILURE. user 'nobody' does not exist"
        )
    );

    let err = client
        .entuity()
        .user_groups(SET)
        .members("G200")
        .add(&NewMember::new("kim1"))
        .await
        .unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(api.status(), StatusCode::OK);
    assert_eq!(
        (api.code(), api.message()),
        (
            Some("ERROR_OPERATION_FAILURE"),
            Some("user 'kim1' is already a member")
        )
    );

    let err = client
        .entuity()
        .user_groups(SET)
        .members("G401")
        .get()
        .await
        .unwrap_err();
    assert!(err.is_auth_failure());
    assert_eq!(
        err.api().unwrap().body().text(),
        "<html><body>Unauthorized</body></html>"
    );
    assert!(!err.to_string().contains(PASSWORD) && !format!("{err:?}").contains("YWRtaW46"));

    let err = client
        .entuity()
        .user_groups(SET)
        .members("Gnodata")
        .get()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode(_)), "{err:?}");

    let err = sets.delete(SET).await.unwrap_err();
    assert!(
        matches!(&err, Error::Decode(d) if d.reason().contains("no `data`")),
        "{err:?}"
    );
}
