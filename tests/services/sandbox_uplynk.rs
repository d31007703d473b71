//! The sandbox's Uplynk fake: it verifies msg/sig as the real service must, keeps state, and answers with
//! the documented bodies and error shapes.

use group_membership::auth::FixedClock;
use group_membership::sandbox::Sandbox;
use group_membership::uplynk::{
    AllowedOwnersUpdate, ChannelsUpdate, FailoverGroupUpdate, FailoverMode, SlicerEligibility,
    UplynkAuth,
};
use group_membership::{Client, Error};
use http::StatusCode;

const GROUP: &str = Sandbox::UPLYNK_FAILOVER_GROUP_ID;

fn client_with(sandbox: &Sandbox, auth: UplynkAuth) -> Client {
    Client::builder()
        .base_url(sandbox.base_url().as_str())
        .auth(auth)
        .build()
        .unwrap()
}

async fn refused(client: &Client) -> (StatusCode, String) {
    let err = client.uplynk().failover_groups().list().await.unwrap_err();
    let api = err.api().unwrap_or_else(|| panic!("{err:?}"));
    (api.status(), api.message().unwrap_or_default().to_string())
}

#[tokio::test]
async fn unsigned_and_badly_signed_requests_are_refused() {
    let sandbox = Sandbox::start().unwrap();

    let unsigned = Client::builder()
        .base_url(sandbox.base_url().as_str())
        .build()
        .unwrap();
    assert_eq!(
        refused(&unsigned).await,
        (
            StatusCode::UNAUTHORIZED,
            "Unauthorized: missing msg parameter".into()
        )
    );

    let wrong_key = client_with(
        &sandbox,
        UplynkAuth::new(Sandbox::UPLYNK_USER_ID, "not-the-key"),
    );
    assert_eq!(
        refused(&wrong_key).await,
        (
            StatusCode::UNAUTHORIZED,
            "Unauthorized: sig does not match msg".into()
        )
    );

    let wrong_owner = client_with(
        &sandbox,
        UplynkAuth::new("someone-else", Sandbox::UPLYNK_API_KEY),
    );
    assert_eq!(
        refused(&wrong_owner).await,
        (
            StatusCode::UNAUTHORIZED,
            "Unauthorized: _owner is not this account's user ID".into()
        )
    );

    let stale = client_with(
        &sandbox,
        UplynkAuth::new(Sandbox::UPLYNK_USER_ID, Sandbox::UPLYNK_API_KEY)
            .with_clock(FixedClock(1_700_000_000)),
    );
    assert_eq!(
        refused(&stale).await,
        (
            StatusCode::UNAUTHORIZED,
            "Unauthorized: _timestamp is too far from the server's clock".into()
        )
    );

    // A forged msg: valid base64 of garbage.
    let http = reqwest::Client::new();
    let url = format!(
        "{}api/v4/failover-groups?msg=AAAA&sig=00",
        sandbox.base_url()
    );
    let response = http.get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(body["@type"], "Error");
    assert_eq!(body["code"], "unauthorized");
    assert_eq!(
        sandbox.uplynk_allowed_owners(GROUP).unwrap().len(),
        2,
        "nothing changed"
    );
}

#[tokio::test]
async fn starts_seeded_with_the_samples_and_keeps_changes() {
    let sandbox = Sandbox::start().unwrap();
    let client = sandbox.uplynk_client().unwrap();
    let groups = client.uplynk().failover_groups();

    let owners = groups.allowed_owners(GROUP).list().await.unwrap();
    assert_eq!(
        owners
            .items
            .iter()
            .map(|o| o.owner.as_str())
            .collect::<Vec<_>>(),
        [
            "t345643dn409198f523flniu1234n34i",
            "ff41643dn419198f523flniu1234n34i"
        ]
    );
    assert_eq!(owners.total_items, Some(2));

    let update = AllowedOwnersUpdate::new()
        .owners_to_add([
            "gu137664292b46a1a286cdf79b1a9bm8",
            "t341643dn409198f523flniu1234n34h",
        ])
        .owners_to_remove(["ff41643dn419198f523flniu1234n34i"]);
    groups.allowed_owners(GROUP).change(&update).await.unwrap();
    groups.allowed_owners(GROUP).change(&update).await.unwrap(); // the same change twice leaves the same set
    let after = groups.allowed_owners(GROUP).list().await.unwrap();
    assert_eq!(
        after
            .items
            .iter()
            .map(|o| o.owner.as_str())
            .collect::<Vec<_>>(),
        [
            "t345643dn409198f523flniu1234n34i",
            "gu137664292b46a1a286cdf79b1a9bm8",
            "t341643dn409198f523flniu1234n34h"
        ]
    );
    assert_eq!(sandbox.uplynk_allowed_owners(GROUP).unwrap().len(), 3);

    groups
        .update(
            GROUP,
            &FailoverGroupUpdate::new()
                .mode(FailoverMode::Flat)
                .auto_failback(true),
        )
        .await
        .unwrap();
    groups.set_no_slicer(GROUP, true).await.unwrap();
    groups
        .update_slicers(GROUP, &[SlicerEligibility::new("slicer-backup", false, 2)])
        .await
        .unwrap();
    let group = groups.get(GROUP).await.unwrap();
    assert_eq!(
        (group.mode.clone(), group.auto_failback, group.is_on_slate()),
        (Some(FailoverMode::Flat), Some(true), true)
    );
    assert_eq!(
        group.extra["slicers"][1],
        serde_json::json!({"slicer_id": "slicer-backup", "enabled": false, "order": 2})
    );
    groups.set_no_slicer(GROUP, false).await.unwrap();
    assert_eq!(
        groups.get(GROUP).await.unwrap().active_slicer_id.as_deref(),
        Some("slicer-primary")
    );

    let listed = groups.list().await.unwrap();
    assert_eq!(listed.total_items, Some(2));
    // Sandboxes do not share state.
    let other = Sandbox::start().unwrap();
    assert_eq!(other.uplynk_allowed_owners(GROUP).unwrap().len(), 2);
}

#[tokio::test]
async fn documented_errors_come_back_typed() {
    let sandbox = Sandbox::start().unwrap();
    let client = sandbox.uplynk_client().unwrap();
    let groups = client.uplynk().failover_groups();

    let err = groups
        .allowed_owners("0000000000000000000000000000dead")
        .list()
        .await
        .unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(err.api().unwrap().code(), Some("not_found"));

    let err = groups
        .update_channels(
            GROUP,
            &ChannelsUpdate::new().channels_to_add(["c0ffee00c0ffee00c0ffee00c0ffee00"]),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::CONFLICT));
    assert_eq!(
        err.api().unwrap().message(),
        Some(
            "Conflict: Channel c0ffee00c0ffee00c0ffee00c0ffee00 already belongs to failover group 054d58556a7441cbbe71d4fb7f366480"
        )
    );

    let err = groups
        .update(
            GROUP,
            &FailoverGroupUpdate::new().mode(FailoverMode::Other("random".into())),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::BAD_REQUEST));

    // A body that is not JSON, through the escape hatch.
    let err = client
        .uplynk()
        .request(
            http::Method::PUT,
            ["failover-groups", GROUP, "allowed-owners"],
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::UNSUPPORTED_MEDIA_TYPE));
    let err = client
        .uplynk()
        .request(http::Method::DELETE, ["failover-groups", GROUP])
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::METHOD_NOT_ALLOWED));
    assert!(matches!(err, Error::Api(_)));

    let recorded = sandbox.requests();
    assert_eq!(recorded.len(), 5);
    assert_eq!(
        recorded[1].path,
        format!("/api/v4/failover-groups/{GROUP}/channels")
    );
    assert_eq!(recorded[1].status, StatusCode::CONFLICT);
}
