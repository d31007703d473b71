//! The sandbox's Entuity fake: Basic auth enforced, seeded config set, change IDs that increase, the
//! documented bodies and both error shapes.

use group_membership::entuity::{ConfigSetUpdate, NewConfigSet, NewMember};
use group_membership::sandbox::Sandbox;
use group_membership::{Client, Error};
use http::StatusCode;

const SET: &str = Sandbox::ENTUITY_CONFIG_SET_ID;

#[tokio::test]
async fn basic_auth_is_enforced_with_an_html_401() {
    let sandbox = Sandbox::start().unwrap();
    for client in [
        Client::for_entuity(sandbox.base_url().as_str(), "admin", "wrong").unwrap(),
        Client::builder()
            .base_url(sandbox.base_url().as_str())
            .build()
            .unwrap(),
    ] {
        let err = client.entuity().config_sets().list().await.unwrap_err();
        assert!(err.is_auth_failure(), "{err:?}");
        let api = err.api().unwrap();
        assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
        assert!(api.body().text().starts_with("<html>"));
        assert!(api.headers().contains_key("www-authenticate"));
    }
}

#[tokio::test]
async fn membership_changes_increment_the_change_id_and_keep_state() {
    let sandbox = Sandbox::start().unwrap();
    let client = sandbox.entuity_client().unwrap();

    assert_eq!(
        client
            .entuity()
            .user_groups(SET)
            .members("Administrators")
            .get()
            .await
            .unwrap()
            .members,
        ["admin"]
    );
    let first = client
        .entuity()
        .user_groups(SET)
        .members("Administrators")
        .replace_all(["kim1", "admin", "super1"])
        .await
        .unwrap();
    let first = first
        .change()
        .expect("the sandbox answers the vendor's change envelope")
        .clone();
    assert_eq!(
        first.configuration_change_id, 100,
        "the seed's first change ID"
    );
    assert_eq!(
        (first.server_group_id.as_str(), first.modified_by.as_str()),
        (SET, "admin")
    );
    let second = client
        .entuity()
        .user_groups(SET)
        .members("Administrators")
        .add(&NewMember::new("guy9").password("supersecret"))
        .await
        .unwrap();
    assert_eq!(second.configuration_change_id, 101);
    assert_eq!(
        sandbox.entuity_user_groups(SET).unwrap()["Administrators"],
        ["kim1", "admin", "super1", "guy9"]
    );
    let removal = client
        .entuity()
        .user_groups(SET)
        .members("Administrators")
        .remove("guy9")
        .await
        .unwrap();
    assert_eq!(removal.details.as_deref(), Some("user 'guy9' removed"));
    let third = client
        .entuity()
        .user_groups(SET)
        .members("Administrators")
        .replace_all(Vec::<String>::new())
        .await
        .unwrap();
    assert_eq!(third.change().unwrap().configuration_change_id, 103);
    assert!(sandbox.entuity_user_groups(SET).unwrap()["Administrators"].is_empty());

    let groups = client.entuity().user_groups(SET).list().await.unwrap();
    assert_eq!(
        groups
            .iter()
            .map(|g| g.user_group_name.as_str())
            .collect::<Vec<_>>(),
        ["Administrators", "Network Operators"]
    );
    assert_eq!(
        client
            .entuity()
            .user_groups(SET)
            .members("Network Operators")
            .get()
            .await
            .unwrap()
            .members,
        ["operator"]
    );
}

#[tokio::test]
async fn config_sets_can_be_created_paused_resumed_and_deleted() {
    let sandbox = Sandbox::start().unwrap();
    let client = sandbox.entuity_client().unwrap();
    let sets = client.entuity().config_sets();
    let created = sets
        .create(
            &NewConfigSet::new("Edge")
                .description("Edge routers")
                .sync_users(true),
        )
        .await
        .unwrap();
    assert_eq!(
        (created.server_group_name.as_deref(), created.sync_users),
        (Some("Edge"), Some(true))
    );
    assert_eq!(
        sets.pause_sync(&created.server_group_id)
            .await
            .unwrap()
            .sync_paused,
        Some(true)
    );
    assert_eq!(
        sets.resume_sync(&created.server_group_id)
            .await
            .unwrap()
            .sync_paused,
        Some(false)
    );
    let renamed = sets
        .update(
            &created.server_group_id,
            &ConfigSetUpdate::new().name("Edge EU"),
        )
        .await
        .unwrap();
    assert_eq!(renamed.server_group_name.as_deref(), Some("Edge EU"));
    assert_eq!(sets.list().await.unwrap().len(), 2);
    sets.delete(&created.server_group_id).await.unwrap();
    assert_eq!(sets.list().await.unwrap().len(), 1);
    let err = sets.delete(&created.server_group_id).await.unwrap_err();
    assert!(err.is_not_found());
}

#[tokio::test]
async fn documented_error_shapes_come_back_typed() {
    let sandbox = Sandbox::start().unwrap();
    let client = sandbox.entuity_client().unwrap();

    let err = client
        .entuity()
        .user_groups(SET)
        .members("Administrators")
        .replace_all(["nobody"])
        .await
        .unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(
        (api.status(), api.code()),
        (StatusCode::PRECONDITION_FAILED, Some("412"))
    );
    assert!(
        api.message()
            .unwrap()
            .contains("errorCode=ERROR_OPERATION_FAILURE")
    );

    let err = client
        .entuity()
        .user_groups(SET)
        .members("Administrators")
        .add(&NewMember::new("admin"))
        .await
        .unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(
        (api.status(), api.code()),
        (StatusCode::OK, Some("ERROR_OPERATION_FAILURE")),
        "a 2xx that says it failed"
    );

    let err = client
        .entuity()
        .user_groups(SET)
        .members("No Such Group")
        .get()
        .await
        .unwrap_err();
    assert!(err.is_not_found());
    let err = client
        .entuity()
        .user_groups("00000000-0000-0000-0000-000000000000")
        .list()
        .await
        .unwrap_err();
    assert!(err.is_not_found());
    assert!(matches!(
        client
            .entuity()
            .user_groups(SET)
            .members("..")
            .get()
            .await
            .unwrap_err(),
        Error::InvalidInput(_)
    ));
    assert_eq!(
        sandbox.entuity_user_groups(SET).unwrap()["Administrators"],
        ["admin"],
        "failed calls changed nothing"
    );
}
