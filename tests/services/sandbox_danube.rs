//! The sandbox's Danube Cloud fake: both credentials, 403 (never 401), the seed's create, the validation
//! rules and error bodies of the notes, one token per user.

use group_membership::danube::{DanubeApiKey, DanubeLogin, GroupUpdate, NewGroup, TaskOutcome};
use group_membership::sandbox::Sandbox;
use group_membership::{Client, Error, RetryPolicy};
use http::StatusCode;
use std::time::Duration;

/// The order of `users` is not stable on the real server: compare as sorted lists.
fn sorted(users: &[String]) -> Vec<String> {
    let mut users = users.to_vec();
    users.sort();
    users
}

fn with(sandbox: &Sandbox, auth: impl group_membership::auth::Auth + 'static) -> Client {
    Client::builder()
        .base_url(sandbox.base_url().as_str())
        .auth(auth)
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_seeds_create_produces_the_seeds_result_fields() {
    let sandbox = Sandbox::start().unwrap();
    let client = sandbox.danube_client().unwrap();
    let groups = client.danube().groups();
    let created = groups
        .create(
            &NewGroup::new("testers")
                .permissions(["admin", "image_admin"])
                .users(["admin", "tester@erigones.com"])
                .alias("Testers User Group")
                .dc(Sandbox::DANUBE_DC),
        )
        .await
        .unwrap();
    assert_eq!(created.name, "testers");
    assert_eq!(created.alias.as_deref(), Some("Testers User Group"));
    assert_eq!(created.permissions, ["admin", "image_admin"]);
    assert_eq!(sorted(&created.users), ["admin", "tester@erigones.com"]);
    assert_eq!(created.dc_bound, Some(true));
    assert!(created.created_at().is_some());
    assert_eq!(
        groups.list_names().await.unwrap(),
        ["operators", "testers"],
        "always by name ascending"
    );
    assert_eq!(
        groups.get_extended("testers").await.unwrap().dcs.as_deref(),
        Some(["main".to_string()].as_slice())
    );

    let err = groups
        .create(&NewGroup::new("testers").dc("main"))
        .await
        .unwrap_err();
    assert!(err.is_already_exists());

    // Partial update: users replace the list; the alias stays.
    let updated = groups
        .update(
            "testers",
            &GroupUpdate::new().users(["tester@erigones.com"]),
        )
        .await
        .unwrap();
    assert_eq!(
        (updated.users.as_slice(), updated.alias.as_deref()),
        (
            ["tester@erigones.com".to_string()].as_slice(),
            Some("Testers User Group")
        )
    );
    groups.delete("testers").await.unwrap();
    assert!(groups.get("testers").await.unwrap_err().is_not_found());
    assert_eq!(sandbox.danube_group_users("testers"), None);
}

#[tokio::test]
async fn validation_rules_and_error_bodies_follow_the_notes() {
    let sandbox = Sandbox::start().unwrap();
    let client = sandbox.danube_client().unwrap();
    let groups = client.danube().groups();

    let err = groups
        .create(
            &NewGroup::new("g1")
                .dc("main")
                .users(["ghost"])
                .permissions(["wizard"]),
        )
        .await
        .unwrap_err();
    let mut fields: Vec<String> = err
        .field_errors()
        .unwrap()
        .iter()
        .map(|f| format!("{}: {}", f.field, f.messages.join(" ")))
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "permissions: Object with name=wizard does not exist.",
            "users: Object with username=ghost does not exist."
        ]
    );

    let err = groups
        .create(&NewGroup::new("g2").dc("nowhere"))
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.api().unwrap().message()),
        (Some(StatusCode::NOT_FOUND), Some("Datacenter not found"))
    );

    let err = groups
        .create(&NewGroup::new("g3").dc("main").alias("operators"))
        .await
        .unwrap_err();
    assert_eq!(
        err.field_errors().unwrap()[0].field,
        "alias",
        "aliases are unique case-insensitively"
    );

    // What the client would refuse, sent through the escape hatch, is refused by the server the same way.
    let err = client
        .danube()
        .request(http::Method::POST, ["accounts", "group", "g4"])
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(
        (api.status(), api.code()),
        (StatusCode::BAD_REQUEST, Some("FAILURE"))
    );
    let err = client
        .request(http::Method::GET, ["api", "accounts", "group"])
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.status(),
        Some(StatusCode::NOT_FOUND),
        "no trailing slash, no route"
    );
    assert!(
        err.api()
            .unwrap()
            .body()
            .text()
            .contains("<h1>Not Found</h1>")
    );
}

#[tokio::test]
async fn credentials_are_refused_with_403_never_401() {
    let sandbox = Sandbox::start().unwrap();
    let cases: Vec<(Client, &str)> = vec![
        (
            Client::builder()
                .base_url(sandbox.base_url().as_str())
                .build()
                .unwrap(),
            "Authentication credentials were not provided.",
        ),
        (
            with(&sandbox, DanubeApiKey::new("wrong").unwrap()),
            "Invalid API key",
        ),
    ];
    for (client, detail) in cases {
        let err = client.danube().groups().list_names().await.unwrap_err();
        assert_eq!(
            (err.status(), err.api().unwrap().message()),
            (Some(StatusCode::FORBIDDEN), Some(detail))
        );
    }
    let err = with(&sandbox, DanubeLogin::new("admin", "wrong"))
        .danube()
        .groups()
        .list_names()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Auth(a) if a.message().ends_with("Unable to log in with provided credentials.")),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_expired_token_is_renewed_once_and_one_token_per_user_holds() {
    let sandbox = Sandbox::start().unwrap();
    let login = DanubeLogin::new(Sandbox::DANUBE_USER, Sandbox::DANUBE_PASSWORD);
    let client = with(&sandbox, login.clone());
    let groups = client.danube().groups();
    groups.list_names().await.unwrap();
    sandbox.expire_danube_tokens();
    groups.list_names().await.unwrap();
    assert_eq!((login.login_count(), sandbox.danube_logins()), (2, 2));

    // A second login of the same user cancels the first token; the first client recovers with one re-login.
    let other = DanubeLogin::new(Sandbox::DANUBE_USER, Sandbox::DANUBE_PASSWORD);
    with(&sandbox, other.clone())
        .danube()
        .groups()
        .list_names()
        .await
        .unwrap();
    groups.list_names().await.unwrap();
    assert_eq!(login.login_count(), 3);
    login.logout(&client).await.unwrap();
    assert!(!login.is_logged_in());
}

#[tokio::test]
async fn logout_never_logs_in_and_forgets_a_token_the_server_refused() {
    let sandbox = Sandbox::start().unwrap();
    let logout_requests = |sandbox: &Sandbox| {
        sandbox
            .requests()
            .into_iter()
            .filter(|r| r.path == "/api/accounts/logout/")
            .count()
    };

    // Cancelled by another login of the same user: forgotten, no login to log out (which would cancel
    // the other process's session).
    let first = DanubeLogin::new(Sandbox::DANUBE_USER, Sandbox::DANUBE_PASSWORD);
    let client = with(&sandbox, first.clone());
    client.danube().groups().list_names().await.unwrap();
    let second = DanubeLogin::new(Sandbox::DANUBE_USER, Sandbox::DANUBE_PASSWORD);
    let other = with(&sandbox, second.clone());
    other.danube().groups().list_names().await.unwrap();
    assert_eq!(sandbox.danube_logins(), 2);
    first.logout(&client).await.unwrap();
    assert!(!first.is_logged_in());
    assert_eq!(sandbox.danube_logins(), 2, "no login to log out");
    assert_eq!(logout_requests(&sandbox), 1);
    other
        .danube()
        .groups()
        .list_names()
        .await
        .expect("the other session still works");
    assert_eq!(second.login_count(), 1);

    // Expired by this client's clock: nothing is sent, nothing logged in.
    let late = DanubeLogin::new(Sandbox::DANUBE_USER, Sandbox::DANUBE_PASSWORD)
        .with_clock(group_membership::auth::FixedClock(u64::MAX / 2));
    let client = with(&sandbox, late.clone());
    let _ = client.danube().groups().list_names().await;
    let (logins, logouts) = (sandbox.danube_logins(), logout_requests(&sandbox));
    late.logout(&client).await.unwrap();
    assert_eq!(
        (sandbox.danube_logins(), logout_requests(&sandbox)),
        (logins, logouts),
        "an expired token is forgotten without a request"
    );
    assert!(!late.is_logged_in());

    // Not logged in: nothing is sent.
    second.logout(&other).await.unwrap();
    second.logout(&other).await.unwrap();
    assert_eq!(logout_requests(&sandbox), logouts + 1);
}

#[tokio::test]
async fn asynchronous_tasks_are_waited_for() {
    let sandbox = Sandbox::start().unwrap();
    let client = sandbox.danube_client().unwrap();
    let tasks = client.danube().tasks();
    let done = sandbox.danube_task(2, true);
    let failed = sandbox.danube_task(0, false);
    assert!(matches!(
        tasks
            .wait(&done, Duration::from_secs(5), Duration::from_millis(5))
            .await
            .unwrap(),
        TaskOutcome::Succeeded(_)
    ));
    assert!(matches!(
        tasks.status(&failed).await.unwrap(),
        TaskOutcome::Failed(_)
    ));
    assert!(
        tasks
            .status("no-such-task")
            .await
            .unwrap_err()
            .is_not_found()
    );
}

#[tokio::test]
async fn a_token_the_server_expired_is_renewed_once_and_the_call_succeeds() {
    let sandbox = Sandbox::start().unwrap();
    let login = DanubeLogin::new(Sandbox::DANUBE_USER, Sandbox::DANUBE_PASSWORD);
    let client = with(&sandbox, login.clone());
    let groups = client.danube().groups();
    groups.get("operators").await.unwrap();
    assert_eq!(login.login_count(), 1);
    // The server's clock expires the token, while this machine's clock says it is still good.
    sandbox.expire_danube_tokens();
    let raw = reqwest::Client::new()
        .get(format!(
            "{}api/accounts/group/operators/",
            sandbox.base_url()
        ))
        .header("authorization", "Token 0000")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 403);
    let g = groups.get("operators").await.unwrap();
    assert_eq!(g.name, "operators");
    assert_eq!(login.login_count(), 2, "one re-login, one retry");
    let answers: Vec<u16> = sandbox
        .requests()
        .iter()
        .filter(|r| r.path == "/api/accounts/group/operators/")
        .map(|r| r.status.as_u16())
        .collect();
    assert_eq!(
        answers,
        [200, 403, 403, 200],
        "the expired token's 403, then the retry"
    );
}

#[tokio::test]
async fn the_group_list_ignores_order_by_and_users_come_in_no_stable_order() {
    let sandbox = Sandbox::start().unwrap();
    let client = sandbox.danube_client().unwrap();
    let groups = client.danube().groups();
    groups
        .create(
            &NewGroup::new("aaa")
                .users(["admin", "tester@erigones.com"])
                .dc("main"),
        )
        .await
        .unwrap();
    let raw: serde_json::Value = client
        .danube()
        .request(http::Method::GET, ["accounts", "group"])
        .query("order_by", "-name")
        .send_json()
        .await
        .unwrap();
    assert_eq!(raw["result"], serde_json::json!(["aaa", "operators"]));
    let one = groups.get("aaa").await.unwrap();
    let listed = groups.list().await.unwrap().remove(0);
    assert_ne!(one.users, listed.users, "the same users, in another order");
    assert_eq!(sorted(&one.users), sorted(&listed.users));
}

#[tokio::test]
async fn long_names_are_routed_and_only_creation_is_limited() {
    let sandbox = Sandbox::start().unwrap();
    let client = sandbox.danube_client().unwrap();
    let long = "a".repeat(33);
    let err = client.danube().groups().get(&long).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(err.api().unwrap().message(), Some("User Group not found"));
    let err = client
        .danube()
        .request(http::Method::POST, ["accounts", "group", long.as_str()])
        .json(&serde_json::json!({"dc": "main"}))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::BAD_REQUEST));
    assert!(
        err.to_string()
            .contains("Ensure this value has at most 32 characters (it has 33)."),
        "{err}"
    );
}

#[tokio::test]
async fn throttling_answers_429_with_retry_after_and_a_create_is_never_resent() {
    let sandbox = Sandbox::start().unwrap();
    sandbox.throttle_danube(Some(2));
    let timer = sandbox.timer();
    let client = Client::builder()
        .base_url(sandbox.base_url().as_str())
        .auth(DanubeApiKey::new(Sandbox::DANUBE_API_KEY).unwrap())
        .timer(timer.clone())
        .build()
        .unwrap();
    let groups = client.danube().groups();
    groups.get("operators").await.unwrap();
    groups.get("operators").await.unwrap();
    let err = groups
        .create(&NewGroup::new("late").dc("main"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::TOO_MANY_REQUESTS));
    assert_eq!(err.attempts(), Some(1), "a create is never sent twice");
    let wait: u64 = err.api().unwrap().headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait));
    assert!(err.is_rate_limited());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(wait)));
    assert!(
        err.api()
            .unwrap()
            .message()
            .unwrap()
            .starts_with("Request was throttled.")
    );
    // The whole connection now waits out the server's Retry-After before its next request, which then
    // goes through (the sliding window has room again).
    groups.get("operators").await.unwrap();
    assert_eq!(timer.waits(), [Duration::from_secs(wait)]);
    let throttled = sandbox
        .requests()
        .iter()
        .filter(|r| r.status == 429)
        .count();
    assert_eq!(throttled, 1, "the read after the 429 was not throttled");
}

#[tokio::test]
async fn a_throttled_login_is_rate_limited_not_refused_and_is_retried_after_its_wait() {
    let sandbox = Sandbox::start().unwrap();
    sandbox.throttle_danube(Some(Sandbox::DANUBE_RATE_PER_MINUTE));
    let timer = sandbox.timer();
    let session = || {
        sandbox
            .danube_client_builder()
            .auth(DanubeLogin::new(
                Sandbox::DANUBE_USER,
                Sandbox::DANUBE_PASSWORD,
            ))
            .timer(timer.clone())
    };
    // 30 logins in a minute pass (the real server's anonymous limit, per client IP).
    for _ in 0..30 {
        let client = session()
            .retry_policy(RetryPolicy::never())
            .build()
            .unwrap();
        client.danube().groups().list_names().await.unwrap();
    }
    assert!(timer.waits().is_empty());

    // The 31st is throttled: rate limited, not an authentication failure; nothing was sent for the call.
    let client = session()
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    let err = client.danube().groups().list_names().await.unwrap_err();
    assert!(err.is_rate_limited(), "{err:?}");
    assert!(!err.is_auth_failure(), "{err}");
    assert!(err.is_retryable());
    assert!(!err.may_have_been_applied());
    assert!(
        err.retry_after()
            .is_some_and(|w| w <= Duration::from_secs(60))
    );
    assert!(
        err.to_string().starts_with(
            "could not log in: Danube Cloud throttled the login: Request was throttled."
        ),
        "{err}"
    );

    // With retries, the login waits as asked (on the sandbox's clock; the policy waits at most 30 s at a
    // time, then asks again) and the call goes through.
    let asked = err.retry_after().unwrap();
    let client = session().build().unwrap();
    client.danube().groups().list_names().await.unwrap();
    // (Retry-After is in whole seconds, rounded up; the sandbox's clock also moves with real time.)
    let waited = timer.waits().iter().sum::<Duration>();
    assert!(
        waited <= asked && waited + Duration::from_secs(1) >= asked,
        "asked {asked:?}, waited {:?}",
        timer.waits()
    );
}
