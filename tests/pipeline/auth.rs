//! The generic auth schemes send exactly their header, and no secret ever shows in Debug, Display or errors.

use crate::common;

use common::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};

use group_membership::auth::{Auth, AuthRequest, BasicAuth, BearerAuth, HeaderAuth, NoAuth};
use group_membership::uplynk::UplynkAuth;
use group_membership::{Client, Error, Result};
use http::Method;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PASSWORD: &str = "pw-Zebra-7731";
const API_KEY_VALUE: &str = "key-Okapi-4412";
const TOKEN: &str = "tok-Narwhal-9910";

#[tokio::test]
async fn each_scheme_sends_exactly_its_header() {
    let server = MockServer::start().await;
    forbid_unexpected(&server).await;
    // base64("admin:pw-Zebra-7731")
    Mock::given(method("GET"))
        .and(path("/basic"))
        .and(header(
            "authorization",
            "Basic YWRtaW46cHctWmVicmEtNzczMQ==",
        ))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/key"))
        .and(header("es-api-key", API_KEY_VALUE))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/bearer"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/none"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;

    let build = |auth: Box<
        dyn FnOnce(group_membership::ClientBuilder) -> group_membership::ClientBuilder,
    >| {
        auth(Client::builder().base_url(server.uri()))
            .build()
            .unwrap()
    };
    build(Box::new(|b| b.auth(BasicAuth::new("admin", PASSWORD))))
        .request(Method::GET, ["basic"])
        .send()
        .await
        .unwrap();
    build(Box::new(|b| {
        b.auth(HeaderAuth::new("ES-API-KEY", API_KEY_VALUE).unwrap())
    }))
    .request(Method::GET, ["key"])
    .send()
    .await
    .unwrap();
    build(Box::new(|b| b.auth(BearerAuth::new(TOKEN))))
        .request(Method::GET, ["bearer"])
        .send()
        .await
        .unwrap();
    build(Box::new(|b| b.auth(NoAuth)))
        .request(Method::GET, ["none"])
        .send()
        .await
        .unwrap();
    let none = &server.received_requests().await.unwrap()[3];
    assert!(none.headers.get("authorization").is_none());
}

#[test]
fn header_auth_refuses_what_cannot_be_a_header() {
    assert!(matches!(
        HeaderAuth::new("ES API KEY", "k"),
        Err(Error::InvalidInput(_))
    ));
    let err = HeaderAuth::new("ES-API-KEY", "line\nbreak-secret").unwrap_err();
    assert!(!err.to_string().contains("break-secret"), "{err}");
}

#[tokio::test]
async fn secrets_never_show_in_debug_display_or_errors() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_string("<html>denied</html>"))
        .mount(&server)
        .await;
    let mut printed = String::new();
    let schemes: Vec<(&str, Client)> = vec![
        (
            "basic",
            Client::builder()
                .base_url(server.uri())
                .auth(BasicAuth::new("admin", PASSWORD))
                .build()
                .unwrap(),
        ),
        (
            "header",
            Client::builder()
                .base_url(server.uri())
                .auth(HeaderAuth::new("ES-API-KEY", API_KEY_VALUE).unwrap())
                .build()
                .unwrap(),
        ),
        (
            "bearer",
            Client::builder()
                .base_url(server.uri())
                .auth(BearerAuth::new(TOKEN))
                .build()
                .unwrap(),
        ),
        (
            "uplynk",
            Client::builder()
                .base_url(server.uri())
                .auth(UplynkAuth::new(USER_ID, API_KEY_VALUE))
                .build()
                .unwrap(),
        ),
    ];
    for (name, client) in &schemes {
        let err = client.request(Method::GET, ["x"]).send().await.unwrap_err();
        assert!(err.is_auth_failure(), "{name}");
        printed += &format!("{client:?}\n{err}\n{err:?}\n");
        // A request that fails in transport, too.
        let dead = Client::builder()
            .base_url("http://127.0.0.1:9")
            .auth(BasicAuth::new("admin", PASSWORD))
            .retry_policy(group_membership::RetryPolicy::never())
            .build()
            .unwrap();
        let err = dead.request(Method::GET, ["x"]).send().await.unwrap_err();
        printed += &format!("{err}\n{err:?}\n");
    }
    printed += &format!("{:?}", Client::builder().auth(BearerAuth::new(TOKEN)));
    for secret in [PASSWORD, API_KEY_VALUE, TOKEN, "YWRtaW46cHct"] {
        assert!(!printed.contains(secret), "{secret} leaked in:\n{printed}");
    }
    assert!(printed.contains("** redacted **"));
    // The Uplynk signature is a credential too: it must not appear in any error text.
    for r in server.received_requests().await.unwrap() {
        if let Some(sig) = r
            .url
            .query_pairs()
            .find(|(k, _)| k == "sig")
            .map(|(_, v)| v.into_owned())
        {
            assert!(!printed.contains(&sig));
        }
    }
}

#[tokio::test]
async fn a_login_that_cannot_connect_names_the_cause_and_is_retried_like_a_read() {
    use group_membership::danube::DanubeLogin;
    use group_membership::error::TransportErrorKind;

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener); // nothing listens there now
    let timer = group_membership::retry::VirtualTimer::new();
    let client = Client::builder()
        .base_url(&url)
        .auth(DanubeLogin::new("admin", "pw"))
        .retry_policy(fast_retries(3))
        .timer(timer.clone())
        .build()
        .unwrap();
    let err = client.danube().groups().list_names().await.unwrap_err();
    let Error::Transport(t) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(t.kind(), TransportErrorKind::Connect);
    assert_eq!(t.path(), "/api/accounts/login/");
    assert!(!t.may_have_been_sent());
    assert!(
        err.to_string().contains(
            "the login request failed: could not connect: connection refused (is the service running, and the URL's host and port right?)"
        ),
        "{err}"
    );
    assert_eq!(
        timer.waits().len(),
        2,
        "retried as a read would be: 3 attempts"
    );
    assert!(!err.may_have_been_applied());
}

#[tokio::test]
async fn a_login_answered_503_is_retried_and_the_write_it_was_for_is_sent_once() {
    use group_membership::danube::DanubeLogin;

    let server = strict_server().await;
    Mock::given(method("POST"))
        .and(path("/api/accounts/login/"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "2"))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/accounts/login/"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"token": "t-1", "expires": "2999-01-01T00:00:00Z"}),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    // A create (POST, never repeated once it may have reached the server) is sent exactly once.
    Mock::given(method("POST"))
        .and(path("/api/accounts/group/new/"))
        .and(header("authorization", "Token t-1"))
        .respond_with(ResponseTemplate::new(201).set_body_json(serde_json::json!({
            "status": "SUCCESS", "task_id": "t",
            "result": {"name": "new", "alias": "new", "permissions": [], "users": [], "dc_bound": false}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let timer = group_membership::retry::VirtualTimer::new();
    let client = Client::builder()
        .base_url(server.uri())
        .auth(DanubeLogin::new("admin", "pw"))
        .retry_policy(fast_retries(3))
        .timer(timer.clone())
        .build()
        .unwrap();
    client
        .danube()
        .groups()
        .create(&group_membership::danube::NewGroup::new("new").dc_bound(false))
        .await
        .unwrap();
    assert_eq!(
        timer.waits(),
        [std::time::Duration::from_secs(2)],
        "the login waited as the server asked"
    );
}

/// Counts which of its two ways an auth was asked, and answers at once only when `ready`.
#[derive(Debug)]
struct TwoWays {
    ready: bool,
    now: AtomicU32,
    later: AtomicU32,
}

impl TwoWays {
    fn counts(&self) -> (u32, u32) {
        (self.now.load(SeqCst), self.later.load(SeqCst))
    }
}

/// The test keeps a handle on the auth it gives the client.
#[derive(Debug)]
struct Kept(Arc<TwoWays>);

impl Auth for Kept {
    async fn authorize(&self, request: &mut AuthRequest<'_>) -> Result<()> {
        self.0.later.fetch_add(1, SeqCst);
        request.insert_header("x-way", "later", true)
    }
    fn authorize_now(&self, request: &mut AuthRequest<'_>) -> Option<Result<()>> {
        self.0.now.fetch_add(1, SeqCst);
        self.0
            .ready
            .then(|| request.insert_header("x-way", "now", true))
    }
}

#[tokio::test]
async fn credentials_at_hand_are_added_at_once_and_the_rest_through_authorize() {
    let server = MockServer::start().await;
    forbid_unexpected(&server).await;
    for way in ["now", "later"] {
        Mock::given(method("GET"))
            .and(path(format!("/{way}")))
            .and(header("x-way", way))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&server)
            .await;
    }
    // Ready: `authorize_now` alone. Not ready: asked first, then `authorize` (once).
    for (ready, way, counts) in [(true, "now", (1, 0)), (false, "later", (1, 1))] {
        let auth = Arc::new(TwoWays {
            ready,
            now: AtomicU32::new(0),
            later: AtomicU32::new(0),
        });
        let client = Client::builder()
            .base_url(server.uri())
            .auth(Kept(auth.clone()))
            .build()
            .unwrap();
        client
            .request(Method::GET, [way])
            .send_no_content()
            .await
            .unwrap();
        assert_eq!(auth.counts(), counts, "{way}");
    }
}

/// Adds its query pairs one way or the other: pairs to encode, or the same pairs already encoded.
#[derive(Debug)]
struct QueryAuth {
    encoded: bool,
}

impl Auth for QueryAuth {
    async fn authorize(&self, request: &mut AuthRequest<'_>) -> Result<()> {
        if self.encoded {
            request.append_encoded_query("msg=a%2Bb%2Fc%3D&sig=0f");
        } else {
            request.append_query_pair("msg", "a+b/c=");
            request.append_query_pair("sig", "0f");
        }
        Ok(())
    }
}

#[tokio::test]
async fn query_credentials_follow_the_callers_query_encoded_alike_either_way() {
    let server = MockServer::start().await;
    forbid_unexpected(&server).await;
    Mock::given(method("GET"))
        .and(path("/signed"))
        .respond_with(ResponseTemplate::new(204))
        .expect(4)
        .mount(&server)
        .await;
    for encoded in [false, true] {
        let client = Client::builder()
            .base_url(server.uri())
            .auth(QueryAuth { encoded })
            .build()
            .unwrap();
        client
            .request(Method::GET, ["signed"])
            .send_no_content()
            .await
            .unwrap();
        client
            .request(Method::GET, ["signed"])
            .query("page", "2 of 3")
            .send_no_content()
            .await
            .unwrap();
    }
    let queries: Vec<Option<String>> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.query().map(str::to_owned))
        .collect();
    let alone = Some("msg=a%2Bb%2Fc%3D&sig=0f".to_owned());
    let after = Some("page=2+of+3&msg=a%2Bb%2Fc%3D&sig=0f".to_owned());
    assert_eq!(queries, [alone.clone(), after.clone(), alone, after]);
}
