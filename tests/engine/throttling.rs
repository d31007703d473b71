//! Throttling never loses a member: an overwrite is never sent on the strength of a read older than a
//! wait. Against the sandbox's Danube Cloud throttle (a sliding 60 s window per user, as the real server),
//! on the sandbox's own clock, so every wait is instant and the order of events is exact.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use group_membership::membership::{DanubeGroupUsers, Guards, Member, Outcome, Refusal, sync};
use group_membership::retry::Timer;
use group_membership::sandbox::{Sandbox, SandboxTimer};

/// The sandbox's clock, and once, on the first wait, someone else's change made while the caller waits:
/// another administrator (with a rate budget of their own) adds carol to the group.
#[derive(Clone, Debug)]
struct MeanwhileTimer {
    clock: SandboxTimer,
    meanwhile: Arc<Mutex<Option<Meanwhile>>>,
    /// Where carol was added: "" when no change was made.
    changed: Arc<Mutex<String>>,
}

/// The sandbox, and the group to add carol to (`"*"`: the last one not yet overwritten).
type Meanwhile = (Arc<Sandbox>, &'static str);

/// The last group of `names` that the sandbox has not yet seen an overwrite (PUT) of.
fn not_yet_written(sandbox: &Sandbox, names: &[&'static str]) -> &'static str {
    let written: Vec<String> = sandbox
        .writes()
        .into_iter()
        .filter(|r| r.method == http::Method::PUT)
        .map(|r| r.path)
        .collect();
    names
        .iter()
        .rev()
        .find(|n| !written.iter().any(|p| p.ends_with(&format!("/{n}/"))))
        .copied()
        .unwrap_or(names[0])
}

impl Timer for MeanwhileTimer {
    fn now(&self) -> Duration {
        self.clock.now()
    }
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        if let Some((sandbox, group)) = self.meanwhile.lock().unwrap().take() {
            let group = match group {
                "*" => not_yet_written(&sandbox, &TEAMS),
                named => named,
            };
            assert!(sandbox.add_danube_group_user(group, "carol"));
            *self.changed.lock().unwrap() = group.to_string();
        }
        self.clock.sleep(duration)
    }
}

fn labels(members: &[Member]) -> Vec<&str> {
    members.iter().map(|m| m.label.as_str()).collect()
}

#[tokio::test]
async fn a_throttled_overwrite_reads_the_group_again_after_the_wait_and_loses_nobody() {
    let sandbox = Arc::new(Sandbox::start().unwrap());
    sandbox.add_danube_user("carol");
    let timer = MeanwhileTimer {
        clock: sandbox.timer(),
        meanwhile: Arc::new(Mutex::new(Some((sandbox.clone(), "operators")))),
        changed: Default::default(),
    };
    let client = sandbox
        .danube_client_builder()
        .timer(timer.clone())
        .build()
        .unwrap();
    // Two requests a minute: the plan's read and the read before the overwrite pass; the overwrite is
    // throttled (429, Retry-After up to 60 s).
    sandbox.throttle_danube(Some(2));
    let group = DanubeGroupUsers::new(client, "operators");
    let report = sync(
        &group,
        ["admin".to_string(), "tester@erigones.com".to_string()],
        &Guards::default(),
    )
    .await;

    assert!(
        !timer.clock.waits().is_empty(),
        "the overwrite was throttled and waited"
    );
    // The overwrite planned from [admin] is not sent after the wait: the group was read again, carol
    // appeared, and the sync refused. Before, the overwrite was retried as it was and carol was removed
    // while the report said "read back: as desired".
    let Outcome::Refused {
        refusal: Refusal::ChangedBeforeOverwrite { appeared, vanished },
    } = &report.outcome
    else {
        panic!("{report}")
    };
    assert_eq!(labels(appeared), ["carol"]);
    assert!(vanished.is_empty());
    let mut users = sandbox.danube_group_users("operators").unwrap();
    users.sort();
    assert_eq!(users, ["admin", "carol"], "carol stays");
}

const TEAMS: [&str; 20] = [
    "team00", "team01", "team02", "team03", "team04", "team05", "team06", "team07", "team08",
    "team09", "team10", "team11", "team12", "team13", "team14", "team15", "team16", "team17",
    "team18", "team19",
];

#[tokio::test]
async fn an_apply_over_twenty_groups_on_the_real_throttle_loses_nobody_and_no_read_fails() {
    use group_membership::access::{Approval, DesiredState, Run};
    use group_membership::danube::NewGroup;

    let sandbox = Arc::new(Sandbox::start().unwrap());
    sandbox.add_danube_user("carol");
    let setup = sandbox.danube_client().unwrap();
    let names = TEAMS;
    for name in &names {
        setup
            .danube()
            .groups()
            .create(&NewGroup::new(*name).dc("main").users(["admin"]))
            .await
            .unwrap();
    }
    let groups: Vec<String> = names
        .iter()
        .map(|n| {
            format!(
                r#"{{"service": "danube", "connection": "cloud", "group": "{n}", "members": ["admin", "tester@erigones.com"]}}"#
            )
        })
        .collect();
    let file = format!(
        r#"{{"connections": {{"cloud": {{"service": "danube", "base_url_env": "D", "api_key_env": "K"}}}},
            "groups": [{}]}}"#,
        groups.join(",\n")
    );
    let state = DesiredState::from_json(&file).unwrap();
    // Every client of the run waits on the sandbox's clock; the real server's limit is on.
    let timer = MeanwhileTimer {
        clock: sandbox.timer(),
        meanwhile: Arc::new(Mutex::new(None)),
        changed: Default::default(),
    };
    let client = sandbox
        .danube_client_builder()
        .timer(timer.clone())
        .build()
        .unwrap();
    let clients = [("cloud".to_string(), client)].into();
    let run = Run::new(&state, &clients).unwrap().concurrency(8);
    let plan = run.plan().await;
    sandbox.throttle_danube(Some(Sandbox::DANUBE_RATE_PER_MINUTE));
    let saved = plan.saved_plan.expect("every group planned");
    // The first time the run waits on the throttle, someone adds carol to a group it has not written yet.
    *timer.meanwhile.lock().unwrap() = Some((sandbox.clone(), "*"));
    let applied = run.apply(Approval::Reviewed(&saved)).await.unwrap();
    let waits = timer.clock.waits();
    // 20 groups × (a read, a write, a read-back), one user look-up and the plan made again: more than 45
    // requests a minute. The first 45 go at once; the 429's 30 s pause frees none of them from the 60 s
    // window, so the run waits at least twice (a third time or not depends on which calls were in flight
    // when the window filled).
    assert!(
        waits.len() >= 2,
        "the run was throttled, again and again: {waits:?}"
    );
    for group in &applied.groups {
        assert!(
            !matches!(group.report.outcome, Outcome::ReadFailed { .. }),
            "no read fails for throttling: {}",
            group.report
        );
    }
    let changed = timer.changed.lock().unwrap().clone();
    let users = sandbox.danube_group_users(&changed).unwrap();
    assert!(
        users.contains(&"carol".to_string()),
        "carol is not lost: {changed} {users:?}"
    );
    let refused = applied
        .groups
        .iter()
        .find(|g| g.key == format!("cloud/{changed}"))
        .unwrap();
    assert!(
        matches!(
            refused.report.outcome,
            Outcome::ChangedSincePlan { .. }
                | Outcome::Refused {
                    refusal: Refusal::ChangedBeforeOverwrite { .. }
                }
        ),
        "the group changed meanwhile is refused, nothing written: {}",
        refused.report
    );
    let summary = applied.summary();
    assert_eq!((summary.applied, summary.failed), (19, 1), "{summary:?}");
}

#[tokio::test]
async fn a_known_budget_is_never_exceeded_by_concurrent_callers_on_clones_of_one_client() {
    use group_membership::retry::RequestBudget;

    let sandbox = Sandbox::start().unwrap();
    sandbox.throttle_danube(Some(Sandbox::DANUBE_RATE_PER_MINUTE));
    let timer = sandbox.timer();
    let client = sandbox
        .danube_client_builder()
        .request_budget(RequestBudget::DANUBE_CLOUD)
        .timer(timer.clone())
        .build()
        .unwrap();
    let callers: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                for _ in 0..20 {
                    client.danube().groups().list_names().await.unwrap();
                }
            })
        })
        .collect();
    for caller in callers {
        caller.await.unwrap();
    }
    let statuses: Vec<u16> = sandbox
        .requests()
        .iter()
        .map(|r| r.status.as_u16())
        .collect();
    assert_eq!(statuses.len(), 160);
    assert!(
        statuses.iter().all(|s| *s == 200),
        "not one request throttled: {statuses:?}"
    );
    assert!(
        timer.waits().iter().sum::<Duration>() >= Duration::from_secs(3 * 60),
        "160 requests at 45 a minute take over three minutes: {:?}",
        timer.waits().iter().sum::<Duration>()
    );
}

#[tokio::test]
async fn a_429_pauses_the_whole_connection_not_only_the_call_that_got_it() {
    let sandbox = Sandbox::start().unwrap();
    sandbox.throttle_danube(Some(2));
    let timer = sandbox.timer();
    let client = sandbox
        .danube_client_builder()
        .retry_policy(group_membership::RetryPolicy::never())
        .timer(timer.clone())
        .build()
        .unwrap();
    let groups = client.danube().groups();
    groups.list_names().await.unwrap();
    groups.list_names().await.unwrap();
    let err = groups.list_names().await.unwrap_err();
    assert!(err.is_rate_limited());
    let asked = err.retry_after().unwrap();
    // Another caller (a clone) waits out the server's Retry-After before sending anything.
    let other = client.clone();
    other.danube().groups().list_names().await.unwrap();
    assert_eq!(timer.waits(), [asked], "it waited, and was not throttled");
    let throttled = sandbox
        .requests()
        .iter()
        .filter(|r| r.status == 429)
        .count();
    assert_eq!(throttled, 1);
}
