//! Saved plans: what was reviewed is what happens. A change between plan and apply (made through the
//! sandbox by someone else) is refused with nothing written; an unchanged group applies; a plan from
//! another desired-state file is refused.

use std::collections::BTreeMap;

use group_membership::Client;
use group_membership::membership::{DesiredState, Guards, Outcome, SavedPlan};
use group_membership::sandbox::Sandbox;
use http::Method;

const FILE: &str = r#"{
  "connections": {
    "video": {"service": "uplynk", "user_id_env": "U", "api_key_env": "K"},
    "cdn": {"service": "traffic_ops", "base_url_env": "T", "username_env": "U", "password_env": "P"}
  },
  "groups": [
    {"service": "uplynk", "connection": "video", "failover_group_id": "e8d6b5cb940c40cc9ec6ad081a38f3f0",
     "members": ["t345643dn409198f523flniu1234n34i", "ff41643dn419198f523flniu1234n34i"]},
    {"service": "traffic_ops", "connection": "cdn", "federation_id": 1, "members": ["admin", "operator"]}
  ]
}"#;

fn clients(sandbox: &Sandbox) -> BTreeMap<String, Client> {
    [
        ("video".to_string(), sandbox.uplynk_client().unwrap()),
        ("cdn".to_string(), sandbox.traffic_ops_client().unwrap()),
    ]
    .into()
}

fn writes(sandbox: &Sandbox) -> Vec<(Method, String)> {
    sandbox
        .requests()
        .into_iter()
        .filter(|r| r.method != Method::GET && !r.path.contains("/login"))
        .map(|r| (r.method, r.path))
        .collect()
}

#[tokio::test]
async fn a_group_changed_after_the_plan_is_refused_and_the_unchanged_one_applies() {
    let sandbox = Sandbox::start().unwrap();
    let state = DesiredState::from_json(FILE).unwrap();
    let entries = state.entries(&clients(&sandbox)).unwrap();
    let guards = Guards::default();

    // Plan and save: Uplynk has nothing to do, Traffic Ops adds operator (3).
    let mut groups = Vec::new();
    for entry in &entries {
        let (report, saved) = entry.plan_to_save(&guards).await;
        assert!(report.is_success(), "{report}");
        groups.push(saved.unwrap());
    }
    let plan = SavedPlan::new(FILE, groups);
    let text = plan.to_json().unwrap();
    let plan = SavedPlan::from_json(&text).unwrap();
    assert_eq!(plan.groups[1].key, "cdn/1");
    assert_eq!(
        plan.groups[1].add,
        [serde_json::json!({"id": 3, "username": "operator"})]
    );

    // Meanwhile someone grants a new owner on the Uplynk group.
    let other = sandbox.uplynk_client().unwrap();
    other
        .uplynk()
        .failover_groups()
        .allowed_owners("e8d6b5cb940c40cc9ec6ad081a38f3f0")
        .add(["gu137664292b46a1a286cdf79b1a9bm8"])
        .await
        .unwrap();

    plan.check_source(FILE).unwrap();
    sandbox.clear_requests();
    let mut reports = Vec::new();
    for entry in &entries {
        let saved = plan.group(entry.key()).unwrap();
        reports.push(entry.apply_saved(saved, &guards).await);
    }
    let Outcome::ChangedSincePlan { appeared, vanished } = &reports[0].outcome else {
        panic!("{}", reports[0])
    };
    assert_eq!(appeared, &["gu137664292b46a1a286cdf79b1a9bm8"]);
    assert!(vanished.is_empty());
    assert!(!reports[0].is_success());
    assert!(
        reports[0]
            .to_string()
            .contains("CHANGED SINCE THE PLAN, nothing written"),
        "{}",
        reports[0]
    );
    assert!(reports[1].is_success(), "{}", reports[1]);
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
async fn a_plan_applies_only_with_the_file_it_was_made_from() {
    let plan = SavedPlan::new(FILE, vec![]);
    plan.check_source(FILE).unwrap();
    let other = FILE.replace("\"operator\"", "\"portal\"");
    let err = plan.check_source(&other).unwrap_err().to_string();
    assert!(err.contains(&plan.desired_state_sha256), "{err}");
    assert!(err.contains("plan again"), "{err}");

    // Tampering is refused as text: unknown fields, another format version.
    let text = plan.to_json().unwrap();
    assert!(SavedPlan::from_json(&text.replace("\"schema\": 1", "\"schema\": 2")).is_err());
    assert!(SavedPlan::from_json(&text.replace("\"groups\"", "\"extra\": 1, \"groups\"")).is_err());
}

#[tokio::test]
async fn a_group_that_cannot_be_planned_gives_no_plan_to_save() {
    let sandbox = Sandbox::start().unwrap();
    let file = FILE.replace("\"operator\"", "\"nobody\"");
    let state = DesiredState::from_json(&file).unwrap();
    let entries = state.entries(&clients(&sandbox)).unwrap();
    let (report, saved) = entries[1].plan_to_save(&Guards::default()).await;
    assert!(
        matches!(report.outcome, Outcome::ResolveFailed(_)),
        "{report}"
    );
    assert!(saved.is_none());
    // A guard's refusal is not a plan to save either.
    let guards = Guards {
        max_removals: Some(0),
        ..Guards::default()
    };
    let (report, saved) = entries[0].plan_to_save(&guards).await;
    assert!(
        report.is_success() && saved.is_some(),
        "nothing removed: {report}"
    );
    let emptying = FILE.replace(
        r#""members": ["t345643dn409198f523flniu1234n34i", "ff41643dn419198f523flniu1234n34i"]"#,
        r#""members": []"#,
    );
    let state = DesiredState::from_json(&emptying).unwrap();
    let entries = state.entries(&clients(&sandbox)).unwrap();
    let (report, saved) = entries[0].plan_to_save(&Guards::default()).await;
    assert!(matches!(report.outcome, Outcome::Refused(_)), "{report}");
    assert!(saved.is_none());
}
