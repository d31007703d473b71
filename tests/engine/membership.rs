//! The membership interface against the sandbox, for each service: plan, apply, idempotence; a failed read
//! (500, timeout, truncated body) leads to no write; a write failing part-way is reported exactly; guards.

use std::collections::BTreeMap;
use std::time::Duration;

use group_membership::access::{DesiredState, ExportScope};
use group_membership::membership::{
    DanubeGroupUsers, Desired, EntuityConfigSet, GroupMembers, Guards, Member, Outcome, Reconcile,
    Refusal, Service, StepResult, TrafficOpsFederationUsers, UplynkAllowedOwners, UserRef, plan,
    reconcile_all, sync,
};
use group_membership::sandbox::{Fault, RecordedRequest, Sandbox};
use group_membership::{Client, RetryPolicy};
use http::{Method, StatusCode};

/// Requests that change something (a login is not a change to a group).
fn writes(sandbox: &Sandbox) -> Vec<RecordedRequest> {
    sandbox.writes()
}

fn labels(members: &[Member]) -> Vec<&str> {
    members.iter().map(|m| m.label.as_str()).collect()
}

/// The shipped sample file, with a sandbox client for each of its connections.
fn sample_state(sandbox: &Sandbox) -> (DesiredState, BTreeMap<String, Client>) {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/memberships.json"
    ))
    .unwrap();
    let clients = [
        ("video".to_string(), sandbox.uplynk_client().unwrap()),
        ("netmon".to_string(), sandbox.entuity_client().unwrap()),
        ("cloud".to_string(), sandbox.danube_client().unwrap()),
        ("cdn".to_string(), sandbox.traffic_ops_client().unwrap()),
    ]
    .into();
    (DesiredState::from_json(&text).unwrap(), clients)
}

/// Plan, apply, read back, apply again (no write), for any service: the same code for all four.
async fn converges<G: GroupMembers>(
    sandbox: &Sandbox,
    group: G,
    desired: Vec<G::Name>,
    expect_add: usize,
    expect_remove: usize,
) {
    sandbox.clear_requests();
    let preview = plan(&group, desired.clone()).await.unwrap();
    assert_eq!(
        (preview.to_add().len(), preview.to_remove().len()),
        (expect_add, expect_remove),
        "{}",
        group.describe()
    );
    assert!(
        writes(sandbox).is_empty(),
        "planning writes nothing: {:?}",
        writes(sandbox)
    );

    let report = sync(&group, desired.clone(), &Guards::default()).await;
    assert!(report.is_success(), "{report}");
    let Outcome::Applied { steps, read_back } = &report.outcome else {
        panic!("{report}")
    };
    assert!(
        steps
            .iter()
            .all(|s| matches!(s.result, StepResult::Applied))
    );
    assert!(read_back.as_ref().unwrap().is_none());
    let current = group.members().await.unwrap();
    assert_eq!(current, group.resolve(&desired, &current).await.unwrap());

    sandbox.clear_requests();
    let again = sync(&group, desired, &Guards::default()).await;
    assert!(again.made_no_change(), "{again}");
    assert!(writes(sandbox).is_empty(), "the second run writes nothing");
}

#[tokio::test]
async fn every_service_converges_and_the_second_run_writes_nothing() {
    let sandbox = Sandbox::start().unwrap();
    let uplynk = UplynkAllowedOwners::new(
        sandbox.uplynk_client().unwrap(),
        Sandbox::UPLYNK_FAILOVER_GROUP_ID,
    );
    converges(
        &sandbox,
        uplynk,
        vec![
            "t345643dn409198f523flniu1234n34i".into(),
            "new-owner".into(),
        ],
        1,
        1,
    )
    .await;
    let entuity = EntuityConfigSet::new(
        sandbox.entuity_client().unwrap(),
        Sandbox::ENTUITY_CONFIG_SET_ID,
    )
    .user_group("Administrators");
    converges(
        &sandbox,
        entuity,
        vec!["kim1".into(), "super1".into()],
        2,
        1,
    )
    .await;
    let danube = DanubeGroupUsers::new(sandbox.danube_client().unwrap(), "operators");
    converges(&sandbox, danube, vec!["tester@erigones.com".into()], 1, 1).await;
    let traffic_ops = TrafficOpsFederationUsers::new(
        sandbox.traffic_ops_client().unwrap(),
        Sandbox::TRAFFIC_OPS_FEDERATION_ID,
    );
    converges(
        &sandbox,
        traffic_ops,
        vec![UserRef::Id(3), "readonly".into()],
        2,
        1,
    )
    .await;
}

#[tokio::test]
async fn a_failed_or_incomplete_read_never_leads_to_a_write() {
    for fault in [
        Fault::Status(StatusCode::INTERNAL_SERVER_ERROR),
        Fault::Delay(Duration::from_secs(2)),
        Fault::TruncatedBody,
    ] {
        let sandbox = Sandbox::start().unwrap();
        let fast = |b: group_membership::ClientBuilder| {
            b.retry_policy(RetryPolicy::never())
                .request_timeout(Duration::from_millis(300))
                .build()
                .unwrap()
        };
        let base = sandbox.base_url().as_str().to_string();
        let groups: Vec<(&str, Box<dyn Reconcile>)> = vec![
            (
                "/api/v4/",
                Box::new(Desired::new(
                    UplynkAllowedOwners::new(
                        fast(Client::builder().base_url(&base).auth(
                            group_membership::uplynk::UplynkAuth::new(
                                Sandbox::UPLYNK_USER_ID,
                                Sandbox::UPLYNK_API_KEY,
                            ),
                        )),
                        Sandbox::UPLYNK_FAILOVER_GROUP_ID,
                    ),
                    ["someone".to_string()],
                )),
            ),
            (
                "/api/cfg/",
                Box::new(Desired::new(
                    EntuityConfigSet::new(
                        fast(Client::builder().base_url(&base).auth(
                            group_membership::auth::BasicAuth::new(
                                Sandbox::ENTUITY_USER,
                                Sandbox::ENTUITY_PASSWORD,
                            ),
                        )),
                        Sandbox::ENTUITY_CONFIG_SET_ID,
                    )
                    .user_group("Administrators"),
                    ["kim1".to_string()],
                )),
            ),
            (
                "/api/accounts/",
                Box::new(Desired::new(
                    DanubeGroupUsers::new(
                        fast(
                            Client::builder().base_url(&base).auth(
                                group_membership::danube::DanubeApiKey::new(
                                    Sandbox::DANUBE_API_KEY,
                                )
                                .unwrap(),
                            ),
                        ),
                        "operators",
                    ),
                    ["tester@erigones.com".to_string()],
                )),
            ),
            (
                "/api/4.0/federations/",
                Box::new(Desired::new(
                    TrafficOpsFederationUsers::new(
                        fast(Client::builder().base_url(&base).auth(
                            group_membership::traffic_ops::TrafficOpsSession::password(
                                Sandbox::TRAFFIC_OPS_USER,
                                Sandbox::TRAFFIC_OPS_PASSWORD,
                            ),
                        )),
                        Sandbox::TRAFFIC_OPS_FEDERATION_ID,
                    ),
                    [5u64],
                )),
            ),
        ];
        for (prefix, group) in &groups {
            sandbox
                .inject_fault(Method::GET, prefix, fault.clone(), 1)
                .unwrap();
            let report = group.reconcile(&Guards::default(), true).await;
            assert!(
                matches!(report.outcome, Outcome::ReadFailed { .. }),
                "{fault:?} {prefix}: {report}"
            );
            assert!(report.plan.is_none());
            assert!(!report.is_success());
        }
        assert!(
            writes(&sandbox).is_empty(),
            "{fault:?}: {:?}",
            writes(&sandbox)
        );
        assert_eq!(
            sandbox
                .uplynk_allowed_owners(Sandbox::UPLYNK_FAILOVER_GROUP_ID)
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            sandbox
                .entuity_user_groups(Sandbox::ENTUITY_CONFIG_SET_ID)
                .unwrap()["Administrators"],
            ["admin"]
        );
        assert_eq!(sandbox.danube_group_users("operators").unwrap(), ["admin"]);
        assert_eq!(sandbox.traffic_ops_federation_users(1).unwrap(), [2]);
    }
}

#[tokio::test]
async fn a_write_failing_part_way_is_reported_exactly() {
    let sandbox = Sandbox::start().unwrap();
    let client = sandbox.traffic_ops_client().unwrap();
    let f = client.traffic_ops().federations();
    f.users(1).add(&[3, 4]).await.unwrap(); // now 2, 3, 4
    let group = TrafficOpsFederationUsers::new(client.clone(), 1);
    sandbox
        .inject_fault(
            Method::DELETE,
            "/api/4.0/federations/1/users/3",
            Fault::Status(StatusCode::INTERNAL_SERVER_ERROR),
            1,
        )
        .unwrap();

    // Desired {2, 5}: add 5, remove 3 (fails), remove 4 (not attempted).
    let report = sync(&group, [2u64, 5], &Guards::default()).await;
    let Outcome::Applied { steps, read_back } = &report.outcome else {
        panic!("{report}")
    };
    let summary: Vec<(String, &str)> = steps
        .iter()
        .map(|s| {
            (
                s.step.to_string(),
                match &s.result {
                    StepResult::Applied => "applied",
                    StepResult::Failed {
                        may_have_applied: false,
                        ..
                    } => "failed",
                    StepResult::Failed { .. } => "maybe",
                    StepResult::NotAttempted => "not attempted",
                    StepResult::Interrupted => "interrupted",
                },
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("add [portal (5)]".to_string(), "applied"),
            // A 500 may have come after the server acted: the report must not say "not applied".
            ("remove operator (3)".to_string(), "maybe"),
            ("remove readonly (4)".to_string(), "not attempted"),
        ]
    );
    let StepResult::Failed { error, .. } = &steps[1].result else {
        unreachable!()
    };
    assert_eq!(error.status(), Some(StatusCode::INTERNAL_SERVER_ERROR));
    let drift = read_back.as_ref().unwrap();
    assert_eq!(
        labels(&drift.unexpected),
        ["operator (3)", "readonly (4)"],
        "the read-back shows what is left, with names"
    );
    assert!(drift.missing.is_empty());
    assert!(!report.is_success());
    let text = report.to_string();
    assert!(
        text.contains("FAILED:        remove operator (3)")
            && text.contains("not attempted: remove readonly (4)"),
        "{text}"
    );

    // Running again finishes the job.
    assert!(
        sync(&group, [2u64, 5], &Guards::default())
            .await
            .is_success()
    );
    assert_eq!(sandbox.traffic_ops_federation_users(1).unwrap(), [2, 5]);
}

#[tokio::test]
async fn guards_refuse_emptying_and_large_removals_without_writing() {
    let sandbox = Sandbox::start().unwrap();
    let group = DanubeGroupUsers::new(sandbox.danube_client().unwrap(), "operators");
    let report = sync(&group, Vec::<String>::new(), &Guards::default()).await;
    assert!(
        matches!(
            &report.outcome,
            Outcome::Refused {
                refusal: Refusal::WouldEmpty { members: 1 }
            }
        ),
        "{report}"
    );

    let owners = UplynkAllowedOwners::new(
        sandbox.uplynk_client().unwrap(),
        Sandbox::UPLYNK_FAILOVER_GROUP_ID,
    );
    let report = sync(
        &owners,
        ["only-one".to_string()],
        &Guards {
            max_removals: Some(1),
            ..Guards::default()
        },
    )
    .await;
    assert!(
        matches!(
            &report.outcome,
            Outcome::Refused {
                refusal: Refusal::TooManyRemovals {
                    removals: 2,
                    limit: 1
                }
            }
        ),
        "{report}"
    );
    assert!(writes(&sandbox).is_empty());

    let allowed = sync(
        &group,
        Vec::<String>::new(),
        &Guards {
            allow_empty: true,
            ..Guards::default()
        },
    )
    .await;
    assert!(allowed.is_success(), "{allowed}");
    assert!(sandbox.danube_group_users("operators").unwrap().is_empty());
}

#[tokio::test]
async fn many_groups_reconcile_concurrently_and_failures_stay_visible() {
    let sandbox = Sandbox::start().unwrap();
    let (state, clients) = sample_state(&sandbox);
    let entries = state.entries(&clients, &Default::default()).unwrap();

    sandbox
        .inject_fault(
            Method::GET,
            "/api/cfg/",
            Fault::Status(StatusCode::SERVICE_UNAVAILABLE),
            3,
        )
        .unwrap();
    let dry = reconcile_all(&entries, &Guards::default(), false, 2).await;
    assert_eq!(
        dry.iter().map(|r| r.service).collect::<Vec<_>>(),
        [
            Service::Uplynk,
            Service::Entuity,
            Service::Danube,
            Service::TrafficOps
        ],
        "input order"
    );
    assert!(
        matches!(dry[1].outcome, Outcome::ReadFailed { .. }),
        "{}",
        dry[1]
    );
    assert!(
        dry.iter()
            .filter(|r| r.service != Service::Entuity)
            .all(|r| r.has_pending_changes())
    );
    assert!(writes(&sandbox).is_empty(), "a dry run writes nothing");

    let applied = reconcile_all(&entries, &Guards::default(), true, 2).await;
    assert!(
        applied.iter().all(|r| r.is_success()),
        "{}",
        applied
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
    let again = reconcile_all(&entries, &Guards::default(), true, 4).await;
    assert!(again.iter().all(|r| r.made_no_change()));
}

/// A group whose reads return the given sets in turn, and that counts its writes.
#[derive(Debug)]
struct Shifting {
    reads: std::sync::Mutex<Vec<Vec<&'static str>>>,
    writes: std::sync::atomic::AtomicUsize,
}

impl GroupMembers for Shifting {
    type Member = String;
    type Name = String;
    async fn resolve(
        &self,
        wanted: &[String],
        _: &std::collections::BTreeSet<String>,
    ) -> group_membership::Result<std::collections::BTreeSet<String>> {
        Ok(wanted.iter().cloned().collect())
    }
    fn service(&self) -> Service {
        Service::Danube
    }
    fn describe(&self) -> String {
        "a group someone else edits".into()
    }
    async fn members(&self) -> group_membership::Result<std::collections::BTreeSet<String>> {
        let mut reads = self.reads.lock().unwrap();
        let next = if reads.len() > 1 {
            reads.remove(0)
        } else {
            reads[0].clone()
        };
        Ok(next.into_iter().map(String::from).collect())
    }
    fn steps(
        &self,
        plan: &group_membership::membership::Plan<String>,
    ) -> Vec<group_membership::membership::Step<String>> {
        vec![group_membership::membership::Step::Replace {
            members: plan.desired().iter().cloned().collect(),
        }]
    }
    async fn perform(
        &self,
        _: &group_membership::membership::Step<String>,
    ) -> group_membership::Result<()> {
        self.writes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test]
async fn an_overwrite_is_refused_when_the_group_changed_since_the_read() {
    let group = Shifting {
        // planned from [a], but before the write someone added `x`.
        reads: std::sync::Mutex::new(vec![vec!["a"], vec!["a", "x"]]),
        writes: Default::default(),
    };
    let report = sync(
        &group,
        ["a".to_string(), "b".to_string()],
        &Guards::default(),
    )
    .await;
    assert!(
        matches!(
            &report.outcome,
            Outcome::Refused { refusal: Refusal::ChangedBeforeOverwrite { appeared, vanished } }
                if labels(appeared) == ["x"] && vanished.is_empty()
        ),
        "{report}"
    );
    assert_eq!(
        group.writes.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "x is not silently removed"
    );

    // Unchanged between the two reads: the write goes ahead.
    let steady = Shifting {
        reads: std::sync::Mutex::new(vec![vec!["a"]]),
        writes: Default::default(),
    };
    let report = sync(
        &steady,
        ["a".to_string(), "b".to_string()],
        &Guards::default(),
    )
    .await;
    assert!(
        matches!(report.outcome, Outcome::Applied { .. }),
        "{report}"
    );
    assert_eq!(steady.writes.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_export_fails_whole_with_the_reads_own_error() {
    let sandbox = Sandbox::start().unwrap();
    let (state, clients) = sample_state(&sandbox);
    sandbox
        .inject_fault(
            Method::GET,
            "/api/accounts/group/operators/",
            Fault::Status(StatusCode::NOT_FOUND),
            1,
        )
        .unwrap();
    let read = std::sync::Mutex::new(Vec::new());
    let progress = |what: &str| read.lock().unwrap().push(what.to_string());
    let err = state
        .export(&clients, ExportScope::ListedGroups, &progress)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "the read's typed error: {err:?}");
    assert_eq!(
        read.lock().unwrap().last().map(String::as_str),
        Some("cloud/operators"),
        "the last group named is the one that failed"
    );

    // Without the fault: the current state, people written back as people.
    let exported = state
        .export(&clients, ExportScope::ListedGroups, &|_| {})
        .await
        .unwrap();
    assert_eq!(exported.groups.len(), 4);
    assert_eq!(exported.people, state.people);
    let again = DesiredState::from_json(&exported.to_json().unwrap()).unwrap();
    assert_eq!(again, exported, "to_json reads back unchanged");
}

#[tokio::test]
async fn an_error_carrying_a_report_keeps_the_cause_status_and_source_chain() {
    use std::error::Error as _;
    let sandbox = Sandbox::start().unwrap();
    let group = DanubeGroupUsers::new(sandbox.danube_client().unwrap(), "operators");
    sandbox
        .inject_fault(
            Method::GET,
            "/api/accounts/group/",
            Fault::Status(StatusCode::TOO_MANY_REQUESTS),
            10,
        )
        .unwrap();
    let err = sync(&group, ["admin".to_string()], &Guards::default())
        .await
        .into_result()
        .unwrap_err();
    assert!(err.report().is_some(), "{err:?}");
    assert_eq!(err.status(), Some(StatusCode::TOO_MANY_REQUESTS));
    assert!(err.is_rate_limited(), "{err}");
    assert!(err.is_retryable());
    assert!(!err.is_timeout());
    assert!(!err.may_have_been_applied(), "only a read failed");
    let source = err.source().expect("the cause is the source");
    let api = source
        .downcast_ref::<group_membership::Error>()
        .and_then(group_membership::Error::api)
        .expect("the read's own error");
    assert_eq!(api.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(writes(&sandbox).is_empty());
}
