//! The shared request pipeline, through the escape hatch: URL building, retries by method and failure,
//! bounded bodies, redirects, and the auth hooks.

use crate::common;

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::*;
use group_membership::auth::{AfterRejection, Auth, AuthRequest, BasicAuth, Rejection};
use group_membership::error::{MAX_KEPT_BODY, TransportErrorKind};
use group_membership::{Client, Error, Result, RetryPolicy};
use http::{Method, StatusCode};
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client(server: &MockServer) -> Client {
    Client::builder()
        .base_url(server.uri())
        .retry_policy(fast_retries(3))
        .build()
        .unwrap()
}

#[tokio::test]
async fn escape_hatch_builds_the_exact_request() {
    let server = strict_server().await;
    Mock::given(method("POST"))
        .and(path("/api/custom/name%20with%20space"))
        .and(query_param("filter", "a&b=c"))
        .and(query_param("limit", "10"))
        .and(header("content-type", "application/json"))
        .and(header("x-extra", "1"))
        .and(body_json(json!({"k": [1, 2]})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"ok": true})))
        .expect(1)
        .mount(&server)
        .await;
    let value: serde_json::Value = client(&server)
        .request(Method::POST, ["api", "custom", "name with space"])
        .query("filter", "a&b=c")
        .query("limit", "10")
        .header(
            http::HeaderName::from_static("x-extra"),
            http::HeaderValue::from_static("1"),
        )
        .json(&json!({"k": [1, 2]}))
        .send_json()
        .await
        .unwrap();
    assert_eq!(value, json!({"ok": true}));
    let raw = &server.received_requests().await.unwrap()[0];
    assert_eq!(raw.url.path(), "/api/custom/name%20with%20space");
    assert_eq!(raw.url.query(), Some("filter=a%26b%3Dc&limit=10"));
}

#[test]
fn a_request_shows_its_path_template_and_query_keys_but_no_value() {
    let client = Client::builder()
        .base_url("http://to.invalid")
        .build()
        .unwrap();
    let request = client
        .request(Method::GET, ["secret id"])
        .query("sig", "s3cr3t")
        .query("media", "json");
    let shown = format!("{request:?}");
    assert!(shown.contains(r#"path: "/{}""#), "{shown}");
    assert!(shown.contains(r#"query_keys: ["sig", "media"]"#), "{shown}");
    assert!(
        !shown.contains("s3cr3t") && !shown.contains("secret"),
        "{shown}"
    );
}

#[tokio::test]
async fn trailing_slash_is_added_on_request() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path("/api/accounts/group/"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    client(&server)
        .request(Method::GET, ["api", "accounts", "group"])
        .trailing_slash(true)
        .send_no_content()
        .await
        .unwrap();
}

#[tokio::test]
async fn post_is_never_repeated_after_it_may_have_reached_the_server() {
    let server = strict_server().await;
    for status in [429u16, 502, 503, 504] {
        Mock::given(method("POST"))
            .and(path(format!("/s{status}")))
            .respond_with(ResponseTemplate::new(status))
            .expect(1)
            .mount(&server)
            .await;
        let err = client(&server)
            .request(Method::POST, [format!("s{status}")])
            .json(&json!({}))
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.api().unwrap().attempts(), 1, "{status}");
        assert!(
            err.is_retryable(),
            "the caller may decide to retry {status} itself"
        );
    }
    // A timed-out POST is not repeated either.
    Mock::given(method("POST"))
        .and(path("/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .request(Method::POST, ["slow"])
        .timeout(Duration::from_millis(100))
        .send()
        .await
        .unwrap_err();
    let Error::Transport(t) = err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (t.kind(), t.attempts(), t.may_have_been_sent()),
        (TransportErrorKind::Timeout, 1, true)
    );
}

#[tokio::test]
async fn get_put_delete_retry_on_each_retryable_status_up_to_the_limit() {
    let server = strict_server().await;
    for (verb, status) in [("GET", 429u16), ("PUT", 502), ("DELETE", 503), ("GET", 504)] {
        let p = format!("/{verb}-{status}");
        Mock::given(method(verb))
            .and(path(p.clone()))
            .respond_with(ResponseTemplate::new(status))
            .expect(3)
            .mount(&server)
            .await;
        let err = client(&server)
            .request(Method::from_bytes(verb.as_bytes()).unwrap(), [&p[1..]])
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            (
                err.status().unwrap().as_u16(),
                err.api().unwrap().attempts()
            ),
            (status, 3)
        );
    }
    // The per-request policy wins over the client's.
    Mock::given(method("GET"))
        .and(path("/once"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .request(Method::GET, ["once"])
        .retry_policy(RetryPolicy::never())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.api().unwrap().attempts(), 1);
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured() {
    let server = strict_server().await;
    let soon = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(30));
    Mock::given(method("GET"))
        .and(path("/busy"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", soon.as_str()))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/busy"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let timer = group_membership::retry::VirtualTimer::new();
    Client::builder()
        .base_url(server.uri())
        .retry_policy(fast_retries(3))
        .timer(timer.clone())
        .build()
        .unwrap()
        .request(Method::GET, ["busy"])
        .send()
        .await
        .unwrap();
    // The date was 30 s ahead when written (with whole-second precision): the wait is what is left of
    // those 30 s, not the policy's millisecond backoff. (The margin absorbs a slow machine.)
    let waits = timer.waits();
    assert_eq!(waits.len(), 1, "{waits:?}");
    assert!(
        (Duration::from_secs(20)..=Duration::from_secs(30)).contains(&waits[0]),
        "{waits:?}"
    );
}

#[tokio::test]
async fn a_connect_failure_is_retried_even_for_post_because_nothing_was_sent() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener); // nothing listens there now
    let client = Client::builder()
        .base_url(format!("http://{addr}"))
        .retry_policy(fast_retries(3))
        .build()
        .unwrap();
    let err = client
        .request(Method::POST, ["x"])
        .json(&json!({}))
        .send()
        .await
        .unwrap_err();
    let Error::Transport(t) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (t.kind(), t.attempts(), t.may_have_been_sent()),
        (TransportErrorKind::Connect, 3, false)
    );
    assert!(err.is_retryable());
    assert!(
        std::error::Error::source(t.as_ref()).is_some(),
        "the transport cause is kept"
    );
}

#[tokio::test]
async fn error_bodies_are_kept_bounded_and_success_bodies_are_limited() {
    let server = strict_server().await;
    let huge = "x".repeat(1024 * 1024);
    Mock::given(method("GET"))
        .and(path("/huge-error"))
        .respond_with(
            ResponseTemplate::new(500)
                .set_body_string(huge.clone())
                .insert_header("set-cookie", "session=s3cr3t"),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/huge-ok"))
        .respond_with(ResponseTemplate::new(200).set_body_string(huge))
        .expect(1)
        .mount(&server)
        .await;

    let err = client(&server)
        .request(Method::GET, ["huge-error"])
        .send()
        .await
        .unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(api.body().bytes().len(), MAX_KEPT_BODY);
    assert!(api.body().is_truncated());
    assert_eq!(api.body().total_len(), 1024 * 1024);
    assert!(
        api.headers().get("set-cookie").is_none(),
        "cookies are not kept"
    );
    assert!(!format!("{err:?}").contains("s3cr3t"));

    let limited = Client::builder()
        .base_url(server.uri())
        .max_response_bytes(1024)
        .build()
        .unwrap();
    let err = limited
        .request(Method::GET, ["huge-ok"])
        .send()
        .await
        .unwrap_err();
    let Error::Transport(t) = err else {
        panic!("{err:?}")
    };
    assert_eq!(t.kind(), TransportErrorKind::BodyTooLarge);
}

#[tokio::test]
async fn redirects_are_not_followed_so_credentials_never_leave_the_host() {
    let origin = strict_server().await;
    let elsewhere = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/moved"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{}/stolen", elsewhere.uri()).as_str()),
        )
        .expect(1)
        .mount(&origin)
        .await;
    let client = Client::builder()
        .base_url(origin.uri())
        .auth(BasicAuth::new("admin", "pw"))
        .build()
        .unwrap();
    let err = client
        .request(Method::GET, ["moved"])
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::FOUND));
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
}

/// An auth that counts its calls and asks for a retry on every rejection.
#[derive(Debug, Default)]
struct Refreshing {
    authorized: AtomicU32,
    rejected: Mutex<Vec<(StatusCode, String)>>,
}

impl Auth for Refreshing {
    async fn authorize(&self, request: &mut AuthRequest<'_>) -> Result<()> {
        let n = self.authorized.fetch_add(1, Ordering::SeqCst) + 1;
        request.insert_header("x-token", &format!("token-{n}"), true)
    }
    async fn on_rejected(&self, rejection: &Rejection<'_>) -> Result<AfterRejection> {
        let body = String::from_utf8_lossy(rejection.body()).into_owned();
        self.rejected
            .lock()
            .unwrap()
            .push((rejection.status(), body));
        Ok(AfterRejection::Retry)
    }
}

/// Shares one `Refreshing` between the client and the test's assertions.
#[derive(Debug)]
struct Counted(std::sync::Arc<Refreshing>);

impl Auth for Counted {
    async fn authorize(&self, request: &mut AuthRequest<'_>) -> Result<()> {
        self.0.authorize(request).await
    }
    async fn on_rejected(&self, rejection: &Rejection<'_>) -> Result<AfterRejection> {
        self.0.on_rejected(rejection).await
    }
}

#[tokio::test]
async fn an_auth_may_refresh_once_after_a_rejection_and_never_loops() {
    let server = strict_server().await;
    Mock::given(method("POST"))
        .and(path("/ok-after-refresh"))
        .and(header("x-token", "token-1"))
        .respond_with(ResponseTemplate::new(401).set_body_string("expired"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/ok-after-refresh"))
        .and(header("x-token", "token-2"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/always-403"))
        .respond_with(ResponseTemplate::new(403))
        .expect(2)
        .mount(&server)
        .await;

    let auth = std::sync::Arc::new(Refreshing::default());
    let client = Client::builder()
        .base_url(server.uri())
        .auth(Counted(auth.clone()))
        .build()
        .unwrap();
    client
        .request(Method::POST, ["ok-after-refresh"])
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        auth.rejected.lock().unwrap().as_slice(),
        [(StatusCode::UNAUTHORIZED, "expired".to_string())]
    );

    let err = client
        .request(Method::GET, ["always-403"])
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::FORBIDDEN));
    assert_eq!(
        err.api().unwrap().attempts(),
        2,
        "one refresh, then the error"
    );
}

#[tokio::test]
async fn generic_error_bodies_keep_code_and_message() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path("/e"))
        .respond_with(ResponseTemplate::new(412).set_body_json(json!({"code": 412, "reasonPhrase": "Precondition Failed", "description": "Error modifying"})))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .request(Method::GET, ["e"])
        .send()
        .await
        .unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(
        (api.code(), api.message()),
        (Some("412"), Some("Error modifying"))
    );
    assert_eq!(
        err.to_string(),
        "GET /e answered HTTP 412 Precondition Failed: Error modifying (412)"
    );
}

#[tokio::test]
async fn invalid_path_segments_are_refused_without_a_request() {
    let server = strict_server().await;
    for bad in ["", ".", ".."] {
        let err = client(&server)
            .request(Method::DELETE, ["api", bad])
            .send()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{bad:?}: {err:?}");
    }
}

/// A clock that counts how often it is read (and never waits).
#[derive(Debug, Default)]
struct CountingClock(AtomicU32);

impl group_membership::retry::Timer for CountingClock {
    fn now(&self) -> Duration {
        self.0.fetch_add(1, Ordering::SeqCst);
        Duration::ZERO
    }
    fn sleep(
        &self,
        _: Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'static>> {
        Box::pin(async {})
    }
}

#[tokio::test]
async fn a_call_reads_the_clients_clock_only_for_an_overall_time_limit() {
    let server = strict_server().await;
    Mock::given(method("GET"))
        .and(path("/api/clock"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
        .expect(2)
        .mount(&server)
        .await;
    let reads = |policy: RetryPolicy| {
        let uri = server.uri();
        async move {
            let clock = std::sync::Arc::new(CountingClock::default());
            let client = Client::builder()
                .base_url(uri)
                .retry_policy(policy)
                .timer(SharedClock(clock.clone()))
                .build()
                .unwrap();
            let answer = client.request(Method::GET, ["api", "clock"]).send().await;
            assert_eq!(answer.unwrap().status(), StatusCode::OK);
            clock.0.load(Ordering::SeqCst)
        }
    };
    // Without an overall limit (and without a request budget) nothing looks at the call's start.
    assert_eq!(reads(RetryPolicy::never()).await, 0);
    // With one, the start is read and the limit is checked before the attempt.
    assert!(reads(RetryPolicy::never().with_max_elapsed(Duration::from_secs(5))).await >= 2);
}

/// A [`CountingClock`] the test keeps a handle on.
#[derive(Debug)]
struct SharedClock(std::sync::Arc<CountingClock>);

impl group_membership::retry::Timer for SharedClock {
    fn now(&self) -> Duration {
        self.0.now()
    }
    fn sleep(
        &self,
        wait: Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'static>> {
        self.0.sleep(wait)
    }
}
