//! Fault injection against local servers that misbehave: a connection closed mid-response, a server slower
//! than the timeout, bursts of 503 with and without `Retry-After`, an endless error body, a redirect to
//! another host, HTML where JSON was expected. Each ends in the right typed error, the right number of
//! attempts, and no lost or duplicated write.

use crate::common;

use std::time::Duration;

use common::misbehaving::{Answer, Hostile};
use common::*;
use group_membership::auth::{BasicAuth, BearerAuth, HeaderAuth, SharedAuth};
use group_membership::danube::DanubeLogin;
use group_membership::entuity::NewMember;
use group_membership::error::{MAX_KEPT_BODY, TransportErrorKind};
use group_membership::retry::VirtualTimer;
use group_membership::traffic_ops::TrafficOpsSession;
use group_membership::uplynk::UplynkAuth;
use group_membership::{Client, Error};
use http::StatusCode;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A server that writes `reply` as it is to every request (and then, with `endless_chunks`, 1 MiB chunks
/// until the client hangs up).
async fn raw_server(reply: &'static [u8], endless_chunks: bool) -> Hostile {
    Hostile::start(move |_| Answer::Raw {
        bytes: reply,
        endless_chunks,
    })
    .await
}

const CUT_SHORT: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"items\": [{\"owner\": \"a";

#[tokio::test]
async fn a_connection_closed_mid_response_is_retried_for_reads_only() {
    let server = raw_server(CUT_SHORT, false).await;
    let uplynk = Client::builder()
        .base_url(&server.url)
        .auth(UplynkAuth::new(USER_ID, API_KEY))
        .retry_policy(fast_retries(3))
        .build()
        .unwrap();
    let err = uplynk
        .uplynk()
        .failover_groups()
        .allowed_owners(GROUP_ID)
        .list()
        .await
        .unwrap_err();
    let Error::Transport(t) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (t.kind(), t.attempts(), t.may_have_been_sent()),
        (TransportErrorKind::Io, 3, true)
    );
    assert_eq!(server.seen().len(), 3);

    // A POST whose answer was cut short may have been applied: it is never sent twice.
    let server = raw_server(CUT_SHORT, false).await;
    let entuity = Client::builder()
        .base_url(&server.url)
        .auth(BasicAuth::new("admin", "pw"))
        .retry_policy(fast_retries(3))
        .build()
        .unwrap();
    let err = entuity
        .entuity()
        .user_groups("set")
        .members("group")
        .add(&NewMember::new("guy9"))
        .await
        .unwrap_err();
    let Error::Transport(t) = &err else {
        panic!("{err:?}")
    };
    assert_eq!((t.attempts(), t.may_have_been_sent()), (1, true));
    assert_eq!(server.seen().len(), 1, "no duplicated write");
}

#[tokio::test]
async fn an_endless_error_body_is_kept_bounded() {
    const HEAD: &[u8] = b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n";
    let server = raw_server(HEAD, true).await;
    let client = Client::builder()
        .base_url(&server.url)
        .retry_policy(fast_retries(1))
        .build()
        .unwrap();
    let err = client
        .request(http::Method::GET, ["big"])
        .send()
        .await
        .unwrap_err();
    let api = err.api().unwrap_or_else(|| panic!("{err:?}"));
    assert_eq!(api.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(api.body().bytes().len(), MAX_KEPT_BODY);
    assert!(api.body().is_truncated());
    assert!(
        api.body().total_len() <= 2 * 1024 * 1024,
        "stopped reading instead of draining 1 GiB: read {}",
        api.body().total_len()
    );
}

#[tokio::test]
async fn a_slow_server_times_out_and_only_idempotent_calls_are_repeated() {
    let server = MockServer::start().await;
    let slow = ResponseTemplate::new(200).set_delay(Duration::from_secs(3));
    Mock::given(method("PUT"))
        .and(path("/api/4.0/federations/1/users"))
        .respond_with(slow.clone())
        .expect(0)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/4.0/user/login"))
        .respond_with(
            ResponseTemplate::new(200).append_header("set-cookie", "mojolicious=c; Max-Age=60"),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/4.0/federations/1/users"))
        .respond_with(slow.clone())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/api/4.0/federations/1/users/2"))
        .respond_with(slow)
        .expect(2)
        .mount(&server)
        .await;
    let client = Client::builder()
        .base_url(server.uri())
        .auth(TrafficOpsSession::password("admin", "pw"))
        .request_timeout(Duration::from_millis(200))
        .retry_policy(fast_retries(2))
        .build()
        .unwrap();
    let f = client.traffic_ops().federations();
    let err = f.users(1).add(&[3]).await.unwrap_err();
    assert!(err.is_timeout());
    assert_eq!(
        err.attempts(),
        Some(1),
        "a POST that may have arrived is not repeated"
    );
    let err = f.users(1).remove(2).await.unwrap_err();
    assert_eq!(
        (err.is_timeout(), err.attempts()),
        (true, Some(2)),
        "a DELETE is"
    );
}

#[tokio::test]
async fn bursts_of_503_with_and_without_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/burst"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(3)
        .expect(3)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/burst"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/polite"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/polite"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/write"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let timer = VirtualTimer::new();
    let client = Client::builder()
        .base_url(server.uri())
        .retry_policy(fast_retries(4))
        .timer(timer.clone())
        .build()
        .unwrap();

    let ok = client
        .request(http::Method::GET, ["burst"])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.attempts(), 4);
    assert_eq!(timer.waits().len(), 3, "a backoff before each retry");
    let ok = client
        .request(http::Method::GET, ["polite"])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.attempts(), 2);
    assert_eq!(
        timer.waits()[3..],
        [Duration::from_secs(1)],
        "waited exactly as asked"
    );
    let err = client
        .request(http::Method::POST, ["write"])
        .json(&json!({}))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.attempts(), Some(1));
}

#[tokio::test]
async fn no_credential_follows_a_redirect_to_another_host() {
    let elsewhere = MockServer::start().await;
    let server = MockServer::start().await;
    let to_elsewhere = ResponseTemplate::new(307)
        .insert_header("location", format!("{}/collect", elsewhere.uri()).as_str());
    Mock::given(method("POST"))
        .and(path("/api/4.0/user/login"))
        .respond_with(
            ResponseTemplate::new(200)
                .append_header("set-cookie", "mojolicious=cookie-Secret-1; Max-Age=60"),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/accounts/login/"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"token": "token-Secret-2", "expires": "2999-01-01T00:00:00Z"}),
            ),
        )
        .mount(&server)
        .await;
    Mock::given(wiremock::matchers::any())
        .respond_with(to_elsewhere)
        .mount(&server)
        .await;

    let auths: Vec<SharedAuth> = vec![
        SharedAuth::new(BasicAuth::new("admin", "basic-Secret-3")),
        SharedAuth::new(HeaderAuth::new("ES-API-KEY", "key-Secret-4").unwrap()),
        SharedAuth::new(BearerAuth::new("bearer-Secret-5")),
        SharedAuth::new(TrafficOpsSession::password("admin", "pw-Secret-6")),
        SharedAuth::new(DanubeLogin::new("admin", "pw-Secret-7")),
        SharedAuth::new(UplynkAuth::new(USER_ID, API_KEY)),
    ];
    for auth in auths {
        let client = Client::builder()
            .base_url(server.uri())
            .shared_auth(auth.clone())
            .build()
            .unwrap();
        let err = client
            .request(http::Method::GET, ["api", "x"])
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            err.status(),
            Some(StatusCode::TEMPORARY_REDIRECT),
            "{auth:?}"
        );
    }
    assert!(
        elsewhere.received_requests().await.unwrap().is_empty(),
        "nothing reached the other host"
    );
}

#[tokio::test]
async fn html_where_json_was_expected_is_a_typed_error_on_every_service() {
    let server = MockServer::start().await;
    let html = ResponseTemplate::new(200)
        .set_body_raw("<html><body>Maintenance</body></html>", "text/html");
    Mock::given(method("POST"))
        .and(path("/api/4.0/user/login"))
        .respond_with(
            ResponseTemplate::new(200).append_header("set-cookie", "mojolicious=c; Max-Age=60"),
        )
        .mount(&server)
        .await;
    Mock::given(wiremock::matchers::any())
        .respond_with(html)
        .mount(&server)
        .await;
    let base = server.uri();
    let uplynk = Client::builder()
        .base_url(&base)
        .auth(UplynkAuth::new(USER_ID, API_KEY))
        .build()
        .unwrap();
    let entuity = Client::for_entuity(&base, "admin", "pw").unwrap();
    let danube = Client::for_danube_api_key(&base, "key").unwrap();
    let traffic_ops = Client::for_traffic_ops(&base, "admin", "pw").unwrap();
    let errors = [
        uplynk
            .uplynk()
            .failover_groups()
            .allowed_owners(GROUP_ID)
            .list()
            .await
            .unwrap_err(),
        entuity
            .entuity()
            .user_groups("set")
            .members("group")
            .get()
            .await
            .unwrap_err(),
        danube.danube().groups().get("operators").await.unwrap_err(),
        traffic_ops
            .traffic_ops()
            .federations()
            .users(1)
            .list(&Default::default())
            .await
            .unwrap_err(),
    ];
    for err in errors {
        let Error::Decode(d) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(d.status(), StatusCode::OK);
        assert!(d.snippet().starts_with("<html>"), "{}", d.snippet());
    }
}
