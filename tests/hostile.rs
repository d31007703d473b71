//! Servers that misbehave, on loopback: every class of hostile answer gets a typed error, no write follows
//! a read that was not understood, memory stays bounded, time limits hold, credentials stay home.
//!
//! The server here is written by hand (not wiremock) so that it can stall, redirect, and serve a 31 MiB body
//! without copying it per answer; the global allocator counts the peak so the memory class is measured.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use common::misbehaving::{Answer, Hostile, json_answer, raw_answer};
use group_membership::auth::BasicAuth;
use group_membership::danube::{DanubeApiKey, DanubeLogin};
use group_membership::error::{ApiErrorKind, CUT_MARKER, TransportErrorKind};
use group_membership::membership::{
    DanubeGroupUsers, EntuityConfigSet, Guards, Outcome, StepResult, TrafficOpsFederationUsers,
    UplynkAllowedOwners, sync,
};
use group_membership::retry::VirtualTimer;
use group_membership::traffic_ops::TrafficOpsSession;
use group_membership::uplynk::UplynkAuth;
use group_membership::{Client, Error, RetryPolicy};
use serde_json::json;

// ---------------------------------------------------------------------------------------------------------
// Peak memory, counted by the global allocator.

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Only one memory measurement at a time (tests run in parallel threads of one process).
static MEASURING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn danube_client(url: &str) -> Client {
    Client::builder()
        .base_url(url)
        .auth(DanubeApiKey::new("k-hostile").unwrap())
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap()
}

fn entuity_client(url: &str) -> Client {
    Client::builder()
        .base_url(url)
        .auth(BasicAuth::new("admin", "pw"))
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap()
}

fn traffic_ops_client(url: &str) -> Client {
    Client::builder()
        .base_url(url)
        .auth(TrafficOpsSession::access_token("t"))
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap()
}

fn uplynk_client(url: &str) -> Client {
    Client::builder()
        .base_url(url)
        .auth(UplynkAuth::new("u", "k"))
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap()
}

fn deep(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

// ---------------------------------------------------------------------------------------------------------
// 1. A read without its member list is a decode error, and sync writes nothing.

#[tokio::test]
async fn a_group_read_without_its_member_list_is_an_error_and_nothing_is_written() {
    let danube = Hostile::start(|_| {
        json_answer(
            200,
            json!({"status": "SUCCESS", "result": {"name": "ops", "alias": "Ops"}, "task_id": "t"}),
        )
    })
    .await;
    let group = DanubeGroupUsers::new(danube_client(&danube.url), "ops");
    let guards = Guards {
        max_removals: Some(0),
        ..Guards::default()
    };
    let report = sync(&group, ["admin".to_string()], &guards).await;
    let Outcome::ReadFailed {
        error: Error::Decode(e),
    } = &report.outcome
    else {
        panic!("{report}")
    };
    assert!(e.reason().contains("users"), "{}", e.reason());
    assert!(danube.writes().is_empty(), "{:?}", danube.writes());
    assert_eq!(danube.seen().len(), 1);

    let entuity = Hostile::start(|_| json_answer(200, json!({"userGroupName": "Admins"}))).await;
    let group = EntuityConfigSet::new(entuity_client(&entuity.url), "cs-1").user_group("Admins");
    let report = sync(&group, ["kim".to_string()], &guards).await;
    assert!(
        matches!(
            report.outcome,
            Outcome::ReadFailed {
                error: Error::Decode(_)
            }
        ),
        "{report}"
    );
    assert!(entuity.writes().is_empty());
}

// ---------------------------------------------------------------------------------------------------------
// 2. A 2xx that says it failed is never a success, even when hard to read.

#[tokio::test]
async fn an_uplynk_failure_padded_past_the_recursion_limit_is_still_a_failure() {
    let body = format!(
        r#"{{"@type": "Error", "code": "forbidden", "pad": {}, "items": []}}"#,
        deep(5_000)
    );
    let server = Hostile::start(move |_| raw_answer(200, body.clone())).await;
    let group = UplynkAllowedOwners::new(uplynk_client(&server.url), "g1");
    let report = sync(&group, ["owner-1".to_string()], &Guards::default()).await;
    let Outcome::ReadFailed {
        error: Error::Api(api),
    } = &report.outcome
    else {
        panic!("{report}")
    };
    assert_eq!(api.status(), 200);
    assert_eq!(api.attempts(), 1);
    assert!(server.writes().is_empty(), "no write after a failed read");
}

#[tokio::test]
async fn a_2xx_body_that_cannot_be_read_is_a_decode_error_not_a_success() {
    // Truncated in the middle of a failure envelope: the crate cannot tell, so it is an error.
    let server = Hostile::start(|_| raw_answer(200, r#"{"@type": "Err"#)).await;
    let err = uplynk_client(&server.url)
        .uplynk()
        .failover_groups()
        .allowed_owners("g1")
        .change(&group_membership::uplynk::AllowedOwnersUpdate::new().owners_to_add(["a"]))
        .await
        .unwrap_err();
    let Error::Decode(e) = &err else {
        panic!("{err:?}")
    };
    assert!(e.reason().contains("could not tell"), "{}", e.reason());
    assert!(err.may_have_been_applied());
}

#[tokio::test]
async fn traffic_ops_error_alerts_in_a_200_are_api_errors_and_sync_reports_the_step_failed() {
    let server = Hostile::start(|seen| match seen.method.as_str() {
        "GET" => json_answer(
            200,
            json!({"response": [{"id": 2, "username": "admin"}, {"id": 3, "username": "ops"}]}),
        ),
        _ => json_answer(
            200,
            json!({"alerts": [{"text": "database is read-only", "level": "error"}]}),
        ),
    })
    .await;
    let client = traffic_ops_client(&server.url);
    let err = client
        .traffic_ops()
        .federations()
        .users(1)
        .remove(3)
        .await
        .unwrap_err();
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.message(), Some("database is read-only"));
    assert_eq!(api.details().unwrap()[0]["level"], "error");

    let report = sync(
        &TrafficOpsFederationUsers::new(client, 1),
        [2],
        &Guards::default(),
    )
    .await;
    let Outcome::Applied { steps, .. } = &report.outcome else {
        panic!("{report}")
    };
    assert!(
        matches!(
            &steps[0].result,
            StepResult::Failed {
                may_have_applied: true,
                ..
            }
        ),
        "{report}"
    );
    assert!(!report.is_success());
    assert!(
        report.to_string().contains("database is read-only"),
        "{report}"
    );

    // A GET carrying an error alert is an error too: nothing is planned from it.
    let get = Hostile::start(|_| {
        json_answer(
            200,
            json!({"alerts": [{"level": "error", "text": "partial"}], "response": []}),
        )
    })
    .await;
    let report = sync(
        &TrafficOpsFederationUsers::new(traffic_ops_client(&get.url), 1),
        [2],
        &Guards::default(),
    )
    .await;
    assert!(
        matches!(
            report.outcome,
            Outcome::ReadFailed {
                error: Error::Api(_)
            }
        ),
        "{report}"
    );
    assert!(get.writes().is_empty());
}

// ---------------------------------------------------------------------------------------------------------
// 3. Memory stays bounded by the body; what an error keeps is bounded too.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_31_mib_failure_envelope_costs_a_few_times_its_size_and_the_error_keeps_8_kib() {
    let _one_at_a_time = MEASURING.lock().await;
    let mut text = String::with_capacity(31 * 1024 * 1024);
    text.push_str(r#"{"status": "FAILURE", "result": {"users": ["#);
    while text.len() < 31 * 1024 * 1024 - 64 {
        text.push_str("1,");
    }
    text.push_str(r#"1]}, "task_id": "t"}"#);
    let body = Bytes::from(text);
    let size = body.len();
    let server = Hostile::start(move |_| raw_answer(200, body.clone())).await;
    let client = danube_client(&server.url);

    let baseline = LIVE.load(Ordering::SeqCst);
    PEAK.store(baseline, Ordering::SeqCst);
    let err = client.danube().groups().get("ops").await.unwrap_err();
    let peak = PEAK.load(Ordering::SeqCst) - baseline;

    assert!(
        peak <= 4 * size + 1024 * 1024,
        "peak {peak} for a body of {size}"
    );
    let (Error::Api(api), Some(fields)) = (&err, err.field_errors()) else {
        panic!("{err:?}")
    };
    assert!(matches!(api.kind(), ApiErrorKind::Validation(_)));
    let kept: usize = fields
        .iter()
        .flat_map(|f| &f.messages)
        .map(String::len)
        .sum();
    assert!(kept <= 16 * 1024, "field errors keep {kept} bytes");
    assert!(
        err.to_string().len() <= 32 * 1024,
        "{}",
        err.to_string().len()
    );
    assert!(api.body().bytes().len() <= 8 * 1024);
    assert!(api.body().is_truncated());
    assert!(
        fields
            .iter()
            .any(|f| f.messages.iter().any(|m| m == CUT_MARKER)),
        "the cut is marked"
    );
}

#[tokio::test]
async fn large_danube_validation_errors_are_cut_with_a_marker() {
    // 40 KiB of field errors: read, and cut to what an error keeps, with the marker.
    let fields: serde_json::Map<String, serde_json::Value> = (0..400)
        .map(|i| (format!("field{i}"), json!(["x".repeat(100)])))
        .collect();
    let body = json!({"status": "FAILURE", "result": fields, "task_id": "t"}).to_string();
    let server = Hostile::start(move |_| raw_answer(400, body.clone())).await;
    let client = danube_client(&server.url);
    let err = client.danube().groups().get("ops").await.unwrap_err();
    let (Error::Api(api), Some(fields)) = (&err, err.field_errors()) else {
        panic!("{err:?}")
    };
    assert!(fields.len() < 100, "{} fields kept", fields.len());
    assert!(fields.iter().any(|f| f.field == "…"), "the cut is marked");
    assert!(api.message().unwrap().len() <= 16 * 1024);
    assert!(err.to_string().len() <= 32 * 1024);
    assert!(api.body().bytes().len() <= 8 * 1024 && api.body().is_truncated());

    // 2 MB: not read past the error window; still a typed API error with its status and raw start.
    let fields: serde_json::Map<String, serde_json::Value> = (0..20_000)
        .map(|i| (format!("field{i}"), json!(["x".repeat(100)])))
        .collect();
    let body = json!({"status": "FAILURE", "result": fields, "task_id": "t"}).to_string();
    let server = Hostile::start(move |_| raw_answer(400, body.clone())).await;
    let err = danube_client(&server.url)
        .danube()
        .groups()
        .get("ops")
        .await
        .unwrap_err();
    let api = err.api().expect("an API error");
    assert_eq!(api.status(), 400);
    assert!(api.body().is_truncated() && api.body().bytes().len() <= 8 * 1024);
    assert!(api.body().total_len() > 2_000_000);
}

// ---------------------------------------------------------------------------------------------------------
// 4. Time limits bound the whole call, logins included.

/// Guards a call that must end well within `limit` because a time limit bounded it; without the bound it
/// would run for a minute. Not a timing window: the margin is tens of times the bound.
async fn bounded_by<T>(limit: Duration, call: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(limit, call)
        .await
        .expect("the call was not bounded by its time limit")
}

/// A Danube Cloud client with this request timeout and no retries.
fn danube_client_timing_out_after(url: &str, timeout: Duration) -> Client {
    Client::builder()
        .base_url(url)
        .auth(DanubeApiKey::new("k").unwrap())
        .request_timeout(timeout)
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap()
}

/// The transport error of a call, and how long the call took.
async fn timed_call(client: &Client, group: &str) -> (Error, Duration) {
    let started = std::time::Instant::now();
    let err = bounded_by(Duration::from_secs(10), client.danube().groups().get(group))
        .await
        .unwrap_err();
    (err, started.elapsed())
}

#[tokio::test]
async fn the_request_timeout_cuts_an_answer_that_never_comes_and_a_body_that_stops_coming() {
    const CUT_BODY: &[u8] =
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"result\": ";
    let server = Hostile::start(|seen| {
        if seen.path.contains("/head/") {
            Answer::Stall
        } else {
            Answer::StallAfter(CUT_BODY)
        }
    })
    .await;
    let client = danube_client_timing_out_after(&server.url, Duration::from_millis(300));
    for (group, waiting_for) in [
        ("head", "waiting for the answer"),
        ("body", "reading the response body"),
    ] {
        let (err, took) = timed_call(&client, group).await;
        let Error::Transport(transport) = &err else {
            panic!("{group}: {err:?}")
        };
        assert_eq!(transport.kind(), TransportErrorKind::Timeout, "{group}");
        assert!(transport.may_have_been_sent(), "{group}");
        assert_eq!(transport.attempts(), 1);
        assert_eq!(transport.path(), format!("/api/accounts/group/{group}/"));
        assert_eq!(
            transport.to_string(),
            format!(
                "GET /api/accounts/group/{group}/: timed out after 300ms {waiting_for} after 1 attempt(s); \
                 the request may have reached the server"
            )
        );
        assert!(took >= Duration::from_millis(300), "{group}: {took:?}");
    }
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn an_error_body_that_stops_coming_keeps_what_arrived_at_the_request_timeout() {
    let server = Hostile::start(|_| {
        Answer::StallAfter(
            b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
              content-length: 200\r\n\r\n{\"detail\": \"down for maint",
        )
    })
    .await;
    let client = danube_client_timing_out_after(&server.url, Duration::from_millis(300));
    let (err, took) = timed_call(&client, "ops").await;
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.status().as_u16(), 503);
    assert_eq!(api.body().bytes(), b"{\"detail\": \"down for maint");
    assert_eq!(api.body().total_len(), 200, "the declared length");
    assert_eq!(err.attempts(), Some(1));
    assert!(took >= Duration::from_millis(300), "{took:?}");
}

/// A group named `slow` never answers; any other is a Danube Cloud 404.
fn slow_stalls_others_are_not_found(seen: &common::misbehaving::Seen) -> Answer {
    if seen.path.contains("/slow/") {
        Answer::Stall
    } else {
        json_answer(404, json!({"detail": "Not found."}))
    }
}

#[tokio::test]
async fn request_timeouts_hold_call_after_call_and_after_the_client_sat_idle() {
    // Each attempt's timer is kept by the client for the next one; a kept timer whose old deadline passed
    // while the client sat idle must time the next attempt from that attempt's start.
    let server = Hostile::start(slow_stalls_others_are_not_found).await;
    let client = danube_client_timing_out_after(&server.url, Duration::from_millis(300));
    for round in 0..3 {
        let (err, _) = timed_call(&client, "fast").await;
        assert_eq!(
            err.status().map(|s| s.as_u16()),
            Some(404),
            "{round}: {err}"
        );
        let (err, took) = timed_call(&client, "slow").await;
        assert!(err.is_timeout(), "{round}: {err}");
        assert!(took >= Duration::from_millis(300), "{round}: {took:?}");
        // Longer than the timeout: every kept timer's old deadline passes.
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    assert_eq!(server.seen().len(), 6);
}

#[test]
fn a_client_used_on_a_second_runtime_still_times_its_requests() {
    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = server_runtime.block_on(Hostile::start(slow_stalls_others_are_not_found));
    let client = danube_client_timing_out_after(&server.url, Duration::from_millis(300));
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    };
    let first = runtime();
    let (err, _) = first.block_on(timed_call(&client, "fast"));
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404), "{err}");
    drop(first); // with the timer it kept for the client
    let (err, took) = runtime().block_on(timed_call(&client, "slow"));
    assert!(err.is_timeout(), "{err}");
    assert!(took >= Duration::from_millis(300), "{took:?}");
}

#[tokio::test]
async fn the_overall_limit_bounds_the_attempt_in_flight() {
    // The first attempt uses 1.2 s of the call's clock (a virtual one), then fails with a 503; the second
    // stalls. The 1.5 s overall limit leaves the second attempt 0.3 s, not the 60 s request timeout.
    let timer = VirtualTimer::new();
    let clock = timer.clone();
    let answered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let server = Hostile::start(move |_| {
        if answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            clock.advance(Duration::from_millis(1200));
            json_answer(503, json!({"detail": "busy"}))
        } else {
            // The attempt is cut short after the 0.3 s it had left: on the call's clock too.
            clock.advance(Duration::from_millis(300));
            Answer::Stall
        }
    })
    .await;
    let client = Client::builder()
        .base_url(&server.url)
        .auth(DanubeApiKey::new("k").unwrap())
        .request_timeout(Duration::from_secs(60))
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(5)
                .with_initial_backoff(Duration::from_millis(1))
                .with_max_elapsed(Duration::from_millis(1500)),
        )
        .timer(timer.clone())
        .build()
        .unwrap();
    let err = bounded_by(Duration::from_secs(10), client.danube().groups().get("ops"))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(err.attempts(), Some(2), "one attempt, one cut short");
    assert_eq!(
        server.seen().len(),
        2,
        "no third attempt: the limit had passed"
    );
    assert_eq!(
        timer.waits().len(),
        1,
        "one backoff, between the two attempts"
    );
}

#[tokio::test]
async fn a_danube_login_honours_the_client_timeout() {
    let server = Hostile::start(|_| Answer::Stall).await;
    let client = Client::builder()
        .base_url(&server.url)
        .auth(DanubeLogin::new("admin", "pw"))
        .request_timeout(Duration::from_millis(300))
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    // The login used a fixed 30 s before; now the call's 300 ms.
    let err = bounded_by(Duration::from_secs(10), client.danube().groups().get("ops"))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(server.seen().len(), 1);
    assert_eq!(server.seen()[0].path, "/api/accounts/login/");
}

#[tokio::test]
async fn a_caller_waiting_for_someone_elses_login_is_bounded_by_its_own_deadline() {
    let server = Hostile::start(|seen| {
        if seen.path.contains("login") {
            Answer::Stall
        } else {
            json_answer(200, json!({"response": []}))
        }
    })
    .await;
    let session = TrafficOpsSession::password("admin", "pw");
    let slow = Client::builder()
        .base_url(&server.url)
        .auth(session.clone())
        .request_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let hasty = Client::builder()
        .base_url(&server.url)
        .auth(session)
        .retry_policy(RetryPolicy::never().with_max_elapsed(Duration::from_millis(300)))
        .build()
        .unwrap();
    let first = tokio::spawn(async move {
        slow.traffic_ops()
            .federations()
            .users(1)
            .list(&Default::default())
            .await
    });
    // The first call holds the login once the server has its login request (no timing window).
    bounded_by(Duration::from_secs(10), async {
        while server.seen().is_empty() {
            tokio::task::yield_now().await;
        }
    })
    .await;
    let err = bounded_by(
        Duration::from_secs(10),
        hasty
            .traffic_ops()
            .federations()
            .users(1)
            .list(&Default::default()),
    )
    .await
    .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(
        server.seen().len(),
        1,
        "the hasty call waited for the one login and sent nothing itself"
    );
    first.abort();
}

// ---------------------------------------------------------------------------------------------------------
// 5. Credentials never travel with a redirect, whatever HTTP client builder is used.

#[tokio::test]
async fn a_redirect_to_another_host_is_never_followed_even_with_the_callers_own_client() {
    let elsewhere = Hostile::start(|_| {
        json_answer(
            200,
            json!({"status": "SUCCESS", "result": {"name": "ops", "users": ["mallory"]}}),
        )
    })
    .await;
    let target = format!("{}/api/accounts/group/ops/", elsewhere.url);
    let home = Hostile::start(move |_| Answer::Respond {
        status: 307,
        headers: vec![("location", target.clone())],
        body: Bytes::new(),
    })
    .await;
    let client = Client::builder()
        .base_url(&home.url)
        .auth(DanubeApiKey::new("k-secret-key").unwrap())
        // A caller's builder that would follow redirects (reqwest's default).
        .http_client_builder(reqwest::Client::builder())
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    let err = client.danube().groups().get("ops").await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(307), "{err:?}");
    assert!(
        elsewhere.seen().is_empty(),
        "the other host got {:?}",
        elsewhere.seen()
    );
    assert_eq!(home.seen()[0].header("es-api-key"), Some("k-secret-key"));
    assert!(!format!("{err:?}").contains("k-secret-key"));
}

// ---------------------------------------------------------------------------------------------------------
// 7. A write answered 2xx with a body that cannot be decoded may have been applied.

#[tokio::test]
async fn a_write_answered_2xx_with_an_undecodable_body_is_reported_as_maybe_applied() {
    let server = Hostile::start(|seen| match seen.method.as_str() {
        // The user to add is looked up first: it exists.
        "GET" if seen.path.starts_with("/api/accounts/user/") => json_answer(
            200,
            json!({"status": "SUCCESS", "result": {"username": "ops", "groups": []}}),
        ),
        "GET" => json_answer(
            200,
            json!({"status": "SUCCESS", "result": {"name": "ops", "users": ["admin"]}}),
        ),
        _ => raw_answer(200, "<html>proxy says hello</html>"),
    })
    .await;
    let group = DanubeGroupUsers::new(danube_client(&server.url), "ops");
    let report = sync(
        &group,
        ["admin".to_string(), "ops".to_string()],
        &Guards::default(),
    )
    .await;
    let Outcome::Applied { steps, .. } = &report.outcome else {
        panic!("{report}")
    };
    let StepResult::Failed {
        error,
        may_have_applied,
    } = &steps[0].result
    else {
        panic!("{report}")
    };
    assert!(matches!(error, Error::Decode(_)), "{error:?}");
    assert!(*may_have_applied, "{report}");
    assert!(report.to_string().contains("may have reached the server"));
    assert_eq!(server.writes().len(), 1);
    let _ = TransportErrorKind::Redirected; // the kind exists for clients that follow redirects
}
