//! Uplynk v4 failover groups against wiremock: the exact request sent for every endpoint, the typed result,
//! and every error shape.

use crate::common;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use common::*;
use group_membership::error::TransportErrorKind;
use group_membership::uplynk::{
    AllowedOwnersUpdate, ChannelsUpdate, FailoverGroupUpdate, FailoverMode, SlicerEligibility,
    UplynkAuth,
};
use group_membership::{Client, Error};
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path, query_param_is_missing};
use wiremock::{Mock, ResponseTemplate};

const ALLOWED_OWNERS_PATH: &str =
    "/api/v4/failover-groups/e8d6b5cb940c40cc9ec6ad081a38f3f0/allowed-owners";

#[tokio::test]
async fn get_allowed_owners_sends_a_signed_get_and_decodes_the_sample() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path(ALLOWED_OWNERS_PATH))
        .and(signed_at(FIXED_TS))
        .and(header("accept", "application/json"))
        .and(header(
            "user-agent",
            concat!("group-membership/", env!("CARGO_PKG_VERSION")),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("uplynk/allowed_owners.json")),
        )
        .expect(1)
        .mount(&server)
        .await;

    let owners = uplynk_client(&server)
        .uplynk()
        .failover_groups()
        .allowed_owners(GROUP_ID)
        .list()
        .await
        .unwrap();

    assert_eq!(owners.kind.as_deref(), Some("Collection"));
    assert_eq!(owners.total_items, Some(2));
    let ids: Vec<&str> = owners.items.iter().map(|o| o.owner.as_str()).collect();
    assert_eq!(
        ids,
        [
            "t345643dn409198f523flniu1234n34i",
            "ff41643dn419198f523flniu1234n34i"
        ]
    );
    assert_eq!(
        owners.items[0].id.as_deref(),
        Some("52487b0f83c94c2d96c64672a4a8da37")
    );
    assert_eq!(owners.items[1].failover_group_id.as_deref(), Some(GROUP_ID));
    let received = &server.received_requests().await.unwrap()[0];
    assert!(received.body.is_empty(), "a GET carries no body");
}

#[tokio::test]
async fn grant_deny_sends_the_samples_body_as_json_and_accepts_204() {
    let server = strict_server().await;
    Mock::given(method("PUT"))
        .and(path(ALLOWED_OWNERS_PATH))
        .and(signed_at(FIXED_TS))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "owners_to_add": ["gu137664292b46a1a286cdf79b1a9bm8", "t341643dn409198f523flniu1234n34h"],
            "owners_to_remove": ["de137864292b46a1a286cdd79b3a9ba6"]
        })))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;

    let update = AllowedOwnersUpdate::new()
        .owners_to_add([
            "gu137664292b46a1a286cdf79b1a9bm8",
            "t341643dn409198f523flniu1234n34h",
        ])
        .owners_to_remove(["de137864292b46a1a286cdd79b3a9ba6"]);
    uplynk_client(&server)
        .uplynk()
        .failover_groups()
        .allowed_owners(GROUP_ID)
        .change(&update)
        .await
        .unwrap();
}

#[tokio::test]
async fn list_and_get_failover_groups_decode_every_documented_field() {
    let server = strict_server().await;
    let listed = fixture("uplynk/failover_groups.json");
    Mock::given(method("GET"))
        .and(path("/api/v4/failover-groups"))
        .and(signed_at(FIXED_TS))
        .respond_with(ResponseTemplate::new(200).set_body_json(&listed))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v4/failover-groups/{GROUP_ID}")))
        .and(signed_at(FIXED_TS))
        .respond_with(ResponseTemplate::new(200).set_body_json(&listed["items"][0]))
        .expect(1)
        .mount(&server)
        .await;
    let client = uplynk_client(&server);
    let groups = client.uplynk().failover_groups();

    let all = groups.list().await.unwrap();
    assert_eq!(
        all.total_items,
        Some(1),
        "total_items sent as the string \"1\""
    );
    let one = groups.get(GROUP_ID).await.unwrap();
    assert_eq!(one, all.items[0]);
    assert_eq!(one.id, GROUP_ID);
    assert_eq!(one.name.as_deref(), Some("Sample failover group"));
    assert_eq!(one.hot_warm, Some(1));
    assert_eq!(one.mode, Some(FailoverMode::Prioritized));
    assert_eq!(one.auto_failback, Some(false));
    assert_eq!(one.failover_time, None);
    assert!(one.is_on_slate());
    assert_eq!(
        one.extra["slicers"][0]["slicer_id"], "slicer-primary",
        "unknown fields are kept"
    );
}

#[tokio::test]
async fn configuration_endpoints_send_their_documented_bodies() {
    let server = strict_server().await;
    let base = format!("/api/v4/failover-groups/{GROUP_ID}");
    for (verb, suffix, body) in [
        ("PATCH", "", json!({"mode": "flat", "auto_failback": false})),
        (
            "PUT",
            "/channels",
            json!({"channels_ids_to_add": ["c1"], "channels_ids_to_remove": ["c2"]}),
        ),
        (
            "PUT",
            "/slicers",
            json!({"slicers": [{"slicer_id": "s1", "enabled": true, "order": 1}, {"slicer_id": "s2", "enabled": false, "order": 2}]}),
        ),
        ("PUT", "/set_no_slicer", json!({"no_slicer": true})),
    ] {
        Mock::given(method(verb))
            .and(path(format!("{base}{suffix}")))
            .and(signed_at(FIXED_TS))
            .and(header("content-type", "application/json"))
            .and(body_json(body))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&server)
            .await;
    }
    let client = uplynk_client(&server);
    let groups = client.uplynk().failover_groups();
    groups
        .update(
            GROUP_ID,
            &FailoverGroupUpdate::new()
                .mode(FailoverMode::Flat)
                .auto_failback(false),
        )
        .await
        .unwrap();
    groups
        .update_channels(
            GROUP_ID,
            &ChannelsUpdate::new()
                .channels_to_add(["c1"])
                .channels_to_remove(["c2"]),
        )
        .await
        .unwrap();
    groups
        .update_slicers(
            GROUP_ID,
            &[
                SlicerEligibility::new("s1", true, 1),
                SlicerEligibility::new("s2", false, 2),
            ],
        )
        .await
        .unwrap();
    groups.set_no_slicer(GROUP_ID, true).await.unwrap();
}

#[tokio::test]
async fn bad_input_is_refused_before_anything_is_sent() {
    let server = strict_server().await; // any request would fail the test
    let client = uplynk_client(&server);
    let groups = client.uplynk().failover_groups();
    let cases: Vec<(&str, Error)> = vec![
        (
            "empty ID",
            groups.allowed_owners("").list().await.unwrap_err(),
        ),
        ("dot-dot ID", groups.get("..").await.unwrap_err()),
        (
            "empty owner",
            groups
                .allowed_owners(GROUP_ID)
                .change(&AllowedOwnersUpdate::new().owners_to_add([""]))
                .await
                .unwrap_err(),
        ),
        (
            "owner added and removed",
            groups
                .allowed_owners(GROUP_ID)
                .change(
                    &AllowedOwnersUpdate::new()
                        .owners_to_add(["u"])
                        .owners_to_remove(["u"]),
                )
                .await
                .unwrap_err(),
        ),
        (
            "empty PATCH",
            groups
                .update(GROUP_ID, &FailoverGroupUpdate::new())
                .await
                .unwrap_err(),
        ),
        (
            "no slicers",
            groups.update_slicers(GROUP_ID, &[]).await.unwrap_err(),
        ),
        (
            "slicer order 0",
            groups
                .update_slicers(GROUP_ID, &[SlicerEligibility::new("s", true, 0)])
                .await
                .unwrap_err(),
        ),
    ];
    for (case, err) in cases {
        assert!(matches!(err, Error::InvalidInput(_)), "{case}: {err:?}");
    }
    let Error::InvalidInput(e) = groups.allowed_owners("").list().await.unwrap_err() else {
        unreachable!()
    };
    assert_eq!(e.what(), "failover group ID");
}

#[tokio::test]
async fn hostile_ids_stay_one_path_segment() {
    let server = strict_server().await;
    for (id, encoded) in [
        ("a/../b", "a%2F..%2Fb"),
        ("x?y=1#z", "x%3Fy%3D1%23z"),
        ("sp ace;matrix", "sp%20ace%3Bmatrix"),
        ("%2e%2e", "%252e%252e"),
    ] {
        Mock::given(method("GET"))
            .and(path(format!(
                "/api/v4/failover-groups/{encoded}/allowed-owners"
            )))
            .and(signed_at(FIXED_TS))
            .respond_with(
                ResponseTemplate::new(404).set_body_json(fixture("uplynk/error_not_found.json")),
            )
            .expect(1)
            .mount(&server)
            .await;
        let err = uplynk_client(&server)
            .uplynk()
            .failover_groups()
            .allowed_owners(id)
            .list()
            .await
            .unwrap_err();
        assert!(err.is_not_found(), "{id}: {err}");
        assert_eq!(
            err.api().unwrap().path(),
            format!("/api/v4/failover-groups/{encoded}/allowed-owners")
        );
    }
    // Check the raw path as it went over the wire as well.
    let raw: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_string())
        .collect();
    assert!(
        raw.contains(&"/api/v4/failover-groups/a%2F..%2Fb/allowed-owners".to_string()),
        "{raw:?}"
    );
}

#[tokio::test]
async fn every_error_status_and_body_shape_becomes_a_typed_api_error() {
    let bodies: [(&str, Option<&str>, &str); 3] = [
        (
            "json",
            Some("application/json"),
            r#"{"@type": "Error", "code": "some_code", "status_code": 0, "title": "Some title", "detail": "Some detail"}"#,
        ),
        (
            "html",
            Some("text/html"),
            "<html><body><h1>Bad things</h1></body></html>",
        ),
        ("empty", None, ""),
    ];
    for status in [401u16, 403, 404, 409, 500] {
        for (shape, content_type, body) in bodies {
            let server = strict_server().await;
            let mut template =
                ResponseTemplate::new(status).insert_header("x-request-id", "req-42");
            if let Some(ct) = content_type {
                template = template.set_body_raw(body.as_bytes().to_vec(), ct);
            }
            Mock::given(method("GET"))
                .and(path(ALLOWED_OWNERS_PATH))
                .respond_with(template)
                .expect(1)
                .mount(&server)
                .await;

            let err = uplynk_client(&server)
                .uplynk()
                .failover_groups()
                .allowed_owners(GROUP_ID)
                .list()
                .await
                .unwrap_err();
            let api = err
                .api()
                .unwrap_or_else(|| panic!("{status} {shape}: {err:?}"));
            assert_eq!(api.status().as_u16(), status, "{shape}");
            assert_eq!(api.body().text(), body, "{status} {shape}: raw body kept");
            assert_eq!(api.request_id(), Some("req-42"));
            assert_eq!(api.attempts(), 1, "{status} is not retried");
            assert_eq!(err.is_not_found(), status == 404);
            assert_eq!(err.is_auth_failure(), status == 401 || status == 403);
            assert!(!err.is_retryable());
            if shape == "json" {
                assert_eq!(api.code(), Some("some_code"));
                assert_eq!(api.message(), Some("Some title: Some detail"));
                assert!(err.to_string().contains("Some detail"), "{err}");
            } else {
                assert_eq!((api.code(), api.message()), (None, None));
            }
        }
    }
}

#[tokio::test]
async fn malformed_truncated_and_failed_2xx_bodies_are_errors_not_panics() {
    for (body, expect_api) in [
        (
            r#"{"@id": "/x", "@type": "Collection", "items": [{"owner": "a"}"#,
            false,
        ), // truncated
        ("<html>maintenance</html>", false),
        ("", false),
        (r#"{"items": [{"id": "no owner field"}]}"#, false),
        (
            r#"{"@type": "Error", "code": "bad_sig", "title": "Signature mismatch"}"#,
            true,
        ),
    ] {
        let server = strict_server().await;
        Mock::given(method("GET"))
            .and(path(ALLOWED_OWNERS_PATH))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw(body.as_bytes().to_vec(), "application/json"),
            )
            .mount(&server)
            .await;
        let err = uplynk_client(&server)
            .uplynk()
            .failover_groups()
            .allowed_owners(GROUP_ID)
            .list()
            .await
            .unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(200), "{body}");
        match (&err, expect_api) {
            (Error::Decode(d), false) => {
                assert!(body.starts_with(d.snippet().trim_end_matches('…')))
            }
            (Error::Api(a), true) => assert_eq!(
                (a.code(), a.message()),
                (Some("bad_sig"), Some("Signature mismatch"))
            ),
            _ => panic!("{body}: unexpected {err:?}"),
        }
    }
}

#[tokio::test]
async fn idempotent_calls_are_retried_and_each_attempt_is_signed_afresh() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path(ALLOWED_OWNERS_PATH))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .expect(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(ALLOWED_OWNERS_PATH))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("uplynk/allowed_owners.json")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::builder()
        .base_url(server.uri())
        .auth(UplynkAuth::new(USER_ID, API_KEY).with_clock(TickingClock(AtomicU64::new(0))))
        .retry_policy(fast_retries(3))
        .build()
        .unwrap();
    let owners = client
        .uplynk()
        .failover_groups()
        .allowed_owners(GROUP_ID)
        .list()
        .await
        .unwrap();
    assert_eq!(owners.items.len(), 2);

    let timestamps: Vec<u64> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| verify_signature(r, USER_ID, API_KEY).unwrap())
        .collect();
    assert_eq!(
        timestamps,
        [FIXED_TS, FIXED_TS + 1, FIXED_TS + 2],
        "one fresh signature per attempt"
    );
}

#[tokio::test]
async fn puts_retry_but_patch_and_channel_changes_never_repeat_after_reaching_the_server() {
    let server = strict_server().await;
    let base = format!("/api/v4/failover-groups/{GROUP_ID}");
    Mock::given(method("PUT"))
        .and(path(format!("{base}/allowed-owners")))
        .respond_with(ResponseTemplate::new(502))
        .expect(3)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(base.clone()))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{base}/channels")))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let client = uplynk_client(&server);
    let groups = client.uplynk().failover_groups();

    let err = groups
        .allowed_owners(GROUP_ID)
        .change(&AllowedOwnersUpdate::new().owners_to_add(["u"]))
        .await
        .unwrap_err();
    assert_eq!(
        (
            err.status().unwrap().as_u16(),
            err.api().unwrap().attempts()
        ),
        (502, 3)
    );
    assert!(err.is_retryable());
    let err = groups
        .update(GROUP_ID, &FailoverGroupUpdate::new().auto_failback(true))
        .await
        .unwrap_err();
    assert_eq!(err.api().unwrap().attempts(), 1);
    let err = groups
        .update_channels(GROUP_ID, &ChannelsUpdate::new().channels_to_add(["c"]))
        .await
        .unwrap_err();
    assert_eq!(err.api().unwrap().attempts(), 1);
}

#[tokio::test]
async fn retry_after_is_honoured_in_seconds_and_clamped() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path(ALLOWED_OWNERS_PATH))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(ALLOWED_OWNERS_PATH))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("uplynk/allowed_owners.json")),
        )
        .expect(2)
        .mount(&server)
        .await;
    let timer = group_membership::retry::VirtualTimer::new();
    let client = common::uplynk_builder(&server)
        .timer(timer.clone())
        .build()
        .unwrap();
    client
        .uplynk()
        .failover_groups()
        .allowed_owners(GROUP_ID)
        .list()
        .await
        .unwrap();
    assert_eq!(
        timer.waits(),
        [Duration::from_secs(1)],
        "waited exactly as the server asked"
    );

    // An hour-long Retry-After is clamped to the policy's limit instead of stalling the caller.
    Mock::given(method("GET"))
        .and(path("/api/v4/failover-groups/busy/allowed-owners"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "3600"))
        .expect(2)
        .mount(&server)
        .await;
    let clamped = fast_retries(2).with_max_retry_after(Duration::from_millis(10));
    let err = client
        .uplynk()
        .with_retry_policy(clamped)
        .failover_groups()
        .allowed_owners("busy")
        .list()
        .await
        .unwrap_err();
    assert_eq!(err.api().unwrap().attempts(), 2);
    assert_eq!(
        err.retry_after(),
        Some(Duration::from_secs(3600)),
        "kept for the caller"
    );
    assert!(!err.is_rate_limited(), "a 503 is not a 429");

    client
        .uplynk()
        .failover_groups()
        .allowed_owners(GROUP_ID)
        .list()
        .await
        .unwrap();
}

#[tokio::test]
async fn timeouts_are_typed_and_overridable_per_handle() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path(ALLOWED_OWNERS_PATH))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .expect(2)
        .mount(&server)
        .await;
    let client = uplynk_client(&server);
    let err = client
        .uplynk()
        .with_timeout(Duration::from_millis(100))
        .with_retry_policy(fast_retries(2))
        .failover_groups()
        .allowed_owners(GROUP_ID)
        .list()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    let Error::Transport(t) = &err else {
        unreachable!()
    };
    assert_eq!(
        (t.kind(), t.attempts(), t.may_have_been_sent()),
        (TransportErrorKind::Timeout, 2, true)
    );
    assert!(
        !err.to_string().contains("sig="),
        "no signature in the message: {err}"
    );
}

#[tokio::test]
async fn a_client_with_a_path_prefix_keeps_it() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path(format!("/proxy/uplynk{ALLOWED_OWNERS_PATH}")))
        .and(query_param_is_missing("token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("uplynk/allowed_owners.json")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::builder()
        .base_url(format!("{}/proxy/uplynk/", server.uri()))
        .auth(UplynkAuth::new(USER_ID, API_KEY))
        .build()
        .unwrap();
    client
        .uplynk()
        .failover_groups()
        .allowed_owners(GROUP_ID)
        .list()
        .await
        .unwrap();
}

#[tokio::test]
async fn debug_output_of_clients_and_credentials_shows_no_secret() {
    let auth = UplynkAuth::new(USER_ID, API_KEY);
    let client = Client::builder()
        .base_url("https://services.uplynk.com")
        .auth(auth.clone())
        .build()
        .unwrap();
    let signed = auth.sign().unwrap();
    let printed = format!(
        "{client:?} {auth:?} {signed:?} {:?}",
        Arc::new(client.clone())
    );
    assert!(!printed.contains(API_KEY), "{printed}");
    assert!(!printed.contains(&signed.sig), "{printed}");
    assert!(
        printed.contains(USER_ID),
        "the user ID is not secret and helps debugging"
    );
}
