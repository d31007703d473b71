//! Saved plans through `access::Run`, the same calls the tool makes: what was reviewed is what happens. A
//! change between plan and apply (made through the sandbox by someone else) is refused with nothing
//! written; an unchanged group applies; a plan from another desired-state file is refused.

use group_membership::access::{Approval, DesiredState, Run, SavedPlan, Stop};
use group_membership::membership::{Guards, Member, Outcome, Refusal, Status};
use group_membership::sandbox::Sandbox;
use http::Method;

const FILE: &str = r#"{
  "connections": {
    "video": {"service": "uplynk", "user_id_env": "U", "api_key_env": "K"},
    "cdn": {"service": "traffic_ops", "base_url_env": "T", "username_env": "U", "password_env": "P"}
  },
  "people": {"alice": {"cdn": "operator"}},
  "groups": [
    {"service": "uplynk", "connection": "video", "failover_group_id": "e8d6b5cb940c40cc9ec6ad081a38f3f0",
     "members": ["t345643dn409198f523flniu1234n34i", "ff41643dn419198f523flniu1234n34i"]},
    {"service": "traffic_ops", "connection": "cdn", "federation_id": 1, "members": ["admin", "@alice"]}
  ]
}"#;

fn labels(members: &[Member]) -> Vec<&str> {
    members.iter().map(|m| m.label.as_str()).collect()
}

fn writes(sandbox: &Sandbox) -> Vec<(Method, String)> {
    sandbox
        .writes()
        .into_iter()
        .map(|r| (r.method, r.path))
        .collect()
}

#[tokio::test]
async fn a_group_changed_after_the_plan_is_refused_and_the_unchanged_one_applies() {
    let sandbox = Sandbox::start().unwrap();
    let state = DesiredState::from_json(FILE).unwrap();
    let clients = sandbox.clients_for(&state).unwrap();
    let run = Run::new(&state, &clients).unwrap();

    // Plan and save: Uplynk has nothing to do, Traffic Ops adds @alice = operator (3).
    let planned = run.plan().await;
    assert_eq!(planned.exit_code(), 2);
    assert_eq!(
        planned
            .groups
            .iter()
            .map(|g| g.report.status())
            .collect::<Vec<_>>(),
        [Status::Unchanged, Status::Pending]
    );
    let to_add = planned.groups[1].report.plan.as_ref().unwrap().to_add();
    assert_eq!(labels(to_add), ["@alice = operator (3)"]);
    assert_eq!(to_add[0].person.as_deref(), Some("alice"));
    let text = planned.saved_plan.unwrap().to_json().unwrap();
    let plan = SavedPlan::from_json(&text).unwrap();
    assert_eq!(plan.groups[1].key, "cdn/1");
    assert_eq!(
        plan.groups[1].add,
        [serde_json::json!({"id": 3, "username": "operator"})]
    );
    assert!(writes(&sandbox).is_empty(), "planning writes nothing");

    // Meanwhile someone grants a new owner on the Uplynk group.
    let other = sandbox.uplynk_client().unwrap();
    other
        .uplynk()
        .failover_groups()
        .allowed_owners("e8d6b5cb940c40cc9ec6ad081a38f3f0")
        .add(["gu137664292b46a1a286cdf79b1a9bm8"])
        .await
        .unwrap();

    sandbox.clear_requests();
    let applied = run.apply(Approval::Reviewed(&plan)).await.unwrap();
    let Outcome::ChangedSincePlan { appeared, vanished } = &applied.groups[0].report.outcome else {
        panic!("{}", applied.groups[0].report)
    };
    assert_eq!(labels(appeared), ["gu137664292b46a1a286cdf79b1a9bm8"]);
    assert!(vanished.is_empty());
    assert_eq!(applied.groups[1].report.status(), Status::Applied);
    assert_eq!(applied.exit_code(), 1, "a refused group fails the run");
    assert_eq!(
        writes(&sandbox),
        [(Method::POST, "/api/4.0/federations/1/users".to_string())],
        "only the unchanged group was written"
    );
    assert_eq!(
        sandbox
            .uplynk_allowed_owners("e8d6b5cb940c40cc9ec6ad081a38f3f0")
            .unwrap()
            .len(),
        3,
        "the owner granted meanwhile is still there"
    );
}

#[tokio::test]
async fn applying_the_same_plan_again_finds_the_groups_done_and_writes_nothing() {
    let sandbox = Sandbox::start().unwrap();
    let state = DesiredState::from_json(FILE).unwrap();
    let clients = sandbox.clients_for(&state).unwrap();
    let run = Run::new(&state, &clients).unwrap();
    let plan = run.plan().await.saved_plan.unwrap();
    let first = run.apply(Approval::Reviewed(&plan)).await.unwrap();
    assert_eq!(first.exit_code(), 0, "{:?}", first.groups);
    // As after an interrupted apply: the same reviewed plan once more.
    sandbox.clear_requests();
    let again = run.apply(Approval::Reviewed(&plan)).await.unwrap();
    assert_eq!(
        again
            .groups
            .iter()
            .map(|g| g.report.status())
            .collect::<Vec<_>>(),
        [Status::Unchanged, Status::Unchanged],
        "already done, not 'changed since the plan'"
    );
    assert_eq!(again.exit_code(), 0);
    assert!(writes(&sandbox).is_empty());
}

#[tokio::test]
async fn a_plan_applies_only_with_the_file_it_was_made_from() {
    let sandbox = Sandbox::start().unwrap();
    let state = DesiredState::from_json(FILE).unwrap();
    let clients = sandbox.clients_for(&state).unwrap();
    let plan = Run::new(&state, &clients)
        .unwrap()
        .plan()
        .await
        .saved_plan
        .unwrap();
    plan.check_source(&state).unwrap();

    let other = DesiredState::from_json(&FILE.replace("\"admin\"", "\"portal\"")).unwrap();
    let err = plan.check_source(&other).unwrap_err().to_string();
    assert!(err.contains(&plan.desired_state_sha256), "{err}");
    assert!(err.contains("plan again"), "{err}");
    sandbox.clear_requests();
    let refused = Run::new(&other, &clients)
        .unwrap()
        .apply(Approval::Reviewed(&plan))
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("plan again"), "{refused}");
    assert!(
        sandbox.requests().is_empty(),
        "refused before anything is read"
    );

    // Tampering is refused as text: unknown fields, another format version.
    let text = plan.to_json().unwrap();
    let other_version = SavedPlan::from_json(&text.replace("\"schema\": 2", "\"schema\": 1"))
        .unwrap_err()
        .to_string();
    assert!(
        other_version.contains("format version 1 (this tool reads 2)"),
        "{other_version}"
    );
    assert!(SavedPlan::from_json(&text.replace("\"groups\"", "\"extra\": 1, \"groups\"")).is_err());
}

#[tokio::test]
async fn a_group_that_cannot_be_planned_gives_no_plan_to_save() {
    let sandbox = Sandbox::start().unwrap();
    let file = FILE.replace("\"admin\"", "\"nobody\"");
    let state = DesiredState::from_json(&file).unwrap();
    let clients = sandbox.clients_for(&state).unwrap();
    let planned = Run::new(&state, &clients).unwrap().plan().await;
    assert!(
        matches!(
            planned.groups[1].report.outcome,
            Outcome::ResolveFailed { .. }
        ),
        "{}",
        planned.groups[1].report
    );
    assert!(planned.saved_plan.is_none());
    assert_eq!(planned.exit_code(), 1);

    // A guard's refusal is not a plan to save either, and says which rule.
    let emptying = FILE.replace(
        r#""members": ["t345643dn409198f523flniu1234n34i", "ff41643dn419198f523flniu1234n34i"]"#,
        r#""members": []"#,
    );
    let state = DesiredState::from_json(&emptying).unwrap();
    let planned = Run::new(&state, &clients).unwrap().plan().await;
    assert!(
        matches!(
            planned.groups[0].report.outcome,
            Outcome::Refused {
                refusal: Refusal::WouldEmpty { members: 2 }
            }
        ),
        "{}",
        planned.groups[0].report
    );
    assert!(planned.saved_plan.is_none());
}

#[tokio::test]
async fn a_fresh_plan_that_removes_someone_needs_approval_and_writes_nothing() {
    let sandbox = Sandbox::start().unwrap();
    let file = FILE.replace(", \"ff41643dn419198f523flniu1234n34i\"", "");
    let state = DesiredState::from_json(&file).unwrap();
    let clients = sandbox.clients_for(&state).unwrap();
    let run = Run::new(&state, &clients)
        .unwrap()
        .guards(Guards::default());
    let refused = run.apply(Approval::NoRemovals).await.unwrap();
    assert_eq!(refused.stopped, Some(Stop::NeedsApproval { removals: 1 }));
    assert_eq!(refused.exit_code(), 1);
    assert_eq!(
        labels(refused.groups[0].report.plan.as_ref().unwrap().to_remove()),
        ["ff41643dn419198f523flniu1234n34i"],
        "the refusal shows who would be removed"
    );
    assert!(writes(&sandbox).is_empty());

    let approved = run.apply(Approval::AutoApprove).await.unwrap();
    assert_eq!(approved.exit_code(), 0, "{:?}", approved.groups);
    assert_eq!(approved.converged(), Some(true));
    assert_eq!(
        sandbox
            .uplynk_allowed_owners("e8d6b5cb940c40cc9ec6ad081a38f3f0")
            .unwrap(),
        ["t345643dn409198f523flniu1234n34i"]
    );
}

#[tokio::test]
async fn progress_names_each_group_as_it_finishes() {
    let sandbox = Sandbox::start().unwrap();
    let state = DesiredState::from_json(FILE).unwrap();
    let clients = sandbox.clients_for(&state).unwrap();
    let seen = std::sync::Mutex::new(Vec::new());
    let record = |p: &group_membership::access::Progress<'_>| {
        seen.lock()
            .unwrap()
            .push((p.done, p.total, p.key.to_string(), p.status));
    };
    let report = Run::new(&state, &clients)
        .unwrap()
        .concurrency(1)
        .on_progress(&record)
        .plan()
        .await;
    assert_eq!(report.exit_code(), 2);
    assert_eq!(
        seen.into_inner().unwrap(),
        [
            (
                1,
                2,
                "video/e8d6b5cb940c40cc9ec6ad081a38f3f0".to_string(),
                Status::Unchanged
            ),
            (2, 2, "cdn/1".to_string(), Status::Pending)
        ]
    );
}
