//! One test for every auth kind: a recognisable secret, requests that fail in every way, and the secret
//! appears in no `Debug`, `Display`, error or captured tracing output. The same captured output proves the
//! `tracing` span: service, method, path template, status, attempts, duration.

use crate::common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use group_membership::auth::{BasicAuth, BearerAuth, HeaderAuth, SharedAuth};
use group_membership::danube::{DanubeApiKey, DanubeLogin};
use group_membership::traffic_ops::TrafficOpsSession;
use group_membership::uplynk::UplynkAuth;
use group_membership::{Client, Error, RetryPolicy};
use http::Method;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRETS: [&str; 9] = [
    "basic-Pw-Aardvark",
    "header-Key-Bison",
    "bearer-Tok-Caracal",
    "uplynk-Key-Dingo",
    "to-Pw-Echidna",
    "to-Cookie-Fossa",
    "danube-Pw-Gecko",
    "danube-Tok-Hyrax",
    "danube-Key-Ibis",
];

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn failing_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/4.0/user/login"))
        .respond_with(
            ResponseTemplate::new(200)
                .append_header(
                    "set-cookie",
                    "mojolicious=to-Cookie-Fossa; Path=/; Max-Age=60; HttpOnly",
                )
                .set_body_json(
                    json!({"alerts": [{"text": "Successfully logged in.", "level": "success"}]}),
                ),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/accounts/login/"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"token": "danube-Tok-Hyrax", "expires": "2999-01-01T00:00:00Z"}),
            ),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/unauthorized"))
        .respond_with(ResponseTemplate::new(401).set_body_string("<html>401</html>"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/forbidden"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"detail": "Invalid token."})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/broken"))
        .respond_with(ResponseTemplate::new(500).set_body_string("<html>oops</html>"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(2)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/garbage"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{not json"))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn no_secret_in_debug_display_errors_or_logs() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = failing_server().await;
    let refusing = MockServer::start().await; // refuses every login
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(400).set_body_json(json!({"detail": "Unable to log in with provided credentials.", "alerts": [{"text": "Invalid username or password.", "level": "error"}]}))).mount(&refusing).await;

    let auths: Vec<SharedAuth> = vec![
        SharedAuth::new(BasicAuth::new("admin", "basic-Pw-Aardvark")),
        SharedAuth::new(HeaderAuth::new("X-Api-Key", "header-Key-Bison").unwrap()),
        SharedAuth::new(BearerAuth::new("bearer-Tok-Caracal")),
        SharedAuth::new(UplynkAuth::new(USER_ID, "uplynk-Key-Dingo")),
        SharedAuth::new(TrafficOpsSession::password("admin", "to-Pw-Echidna")),
        SharedAuth::new(DanubeLogin::new("admin", "danube-Pw-Gecko")),
        SharedAuth::new(DanubeApiKey::new("danube-Key-Ibis").unwrap()),
    ];
    let mut printed = String::new();
    for auth in &auths {
        for base in [
            server.uri(),
            refusing.uri(),
            "http://127.0.0.1:9".to_string(),
        ] {
            let client = Client::builder()
                .base_url(&base)
                .shared_auth(auth.clone())
                .request_timeout(Duration::from_millis(300))
                .retry_policy(RetryPolicy::never())
                .build()
                .unwrap();
            printed += &format!("{client:?}\n{auth:?}\n");
            for p in ["unauthorized", "forbidden", "broken", "slow", "garbage"] {
                let err: Error = client
                    .request(Method::GET, [p])
                    .send_json::<serde_json::Value>()
                    .await
                    .unwrap_err();
                printed += &format!("{err}\n{err:?}\n");
                let mut source = std::error::Error::source(&err);
                while let Some(cause) = source {
                    printed += &format!("{cause}\n{cause:?}\n");
                    source = cause.source();
                }
            }
        }
    }
    // The Uplynk signatures that went over the wire are credentials too.
    let sigs: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter_map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "sig")
                .map(|(_, v)| v.into_owned())
        })
        .collect();
    assert!(!sigs.is_empty());

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for secret in SECRETS.iter().map(|s| s.to_string()).chain(sigs) {
        assert!(
            !printed.contains(&secret),
            "{secret} leaked in Debug/Display/errors"
        );
        assert!(!logs.contains(&secret), "{secret} leaked in the logs");
    }
    assert!(!logs.contains("msg="), "no query string in the logs");
    assert!(printed.contains("** redacted **"));

    // The span: one per request, with its fields.
    assert!(logs.contains("group_membership.request"), "{logs}");
    assert!(
        logs.contains("service=\"generic\"") || logs.contains("service=generic"),
        "{logs}"
    );
    assert!(
        logs.contains("method=GET") && logs.contains("path=/{}"),
        "{logs}"
    );
    assert!(
        logs.contains("status=500") && logs.contains("attempts=1") && logs.contains("duration_ms="),
        "{logs}"
    );
}

#[tokio::test]
async fn the_span_shows_the_path_template_not_the_ids() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .expect(2)
        .mount(&server)
        .await;
    let client = Client::builder()
        .base_url(server.uri())
        .auth(UplynkAuth::new(USER_ID, API_KEY))
        .retry_policy(fast_retries(2))
        .build()
        .unwrap();
    let _ = client
        .uplynk()
        .failover_groups()
        .allowed_owners("secret-looking-group-id")
        .list()
        .await;
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("path=/api/v4/failover-groups/{}/allowed-owners"),
        "{logs}"
    );
    assert!(
        logs.contains("service=\"uplynk\"") || logs.contains("service=uplynk"),
        "{logs}"
    );
    assert!(
        logs.contains("retrying") && logs.contains("attempts=2") && logs.contains("status=503"),
        "{logs}"
    );
    assert!(
        !logs.contains("path=/api/v4/failover-groups/secret-looking-group-id"),
        "the span's path is the template"
    );
}
