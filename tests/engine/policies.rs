//! The guards a security team relies on, through `access::Run` against the sandbox: run-wide removal
//! budgets, protected members, no self-lockout, `min_members`, additive groups and unmanaged members.
//! Each refusal names its rule, and nothing is written.

use std::collections::BTreeMap;

use group_membership::access::{Approval, DesiredState, RemovalBudget, Run, Stop};
use group_membership::membership::{Guards, Member, Outcome, Refusal, Service, Status};
use group_membership::sandbox::Sandbox;

const OWNERS: &str = "e8d6b5cb940c40cc9ec6ad081a38f3f0";
const T345: &str = "t345643dn409198f523flniu1234n34i";
const FF41: &str = "ff41643dn419198f523flniu1234n34i";
const GU: &str = "gu137664292b46a1a286cdf79b1a9bm8";

/// A desired-state file of the sandbox's Uplynk group and Traffic Ops federation 1, with `extra` top-level
/// keys, `uplynk` and `to` as each group's extra keys and members.
fn file(extra: &str, uplynk: &str, to: &str) -> String {
    format!(
        r#"{{
  "connections": {{
    "video": {{"service": "uplynk", "user_id_env": "U", "api_key_env": "K"}},
    "cdn": {{"service": "traffic_ops", "base_url_env": "T", "username_env": "TU", "password_env": "TP"}},
    "cloud": {{"service": "danube", "base_url_env": "D", "api_key_env": "DK"}}
  }},
  "people": {{"alice": {{"video": "{GU}", "cdn": "operator"}}, "root": {{"video": "{FF41}"}}}},
  {extra}
  "groups": [
    {{"service": "uplynk", "connection": "video", "failover_group_id": "{OWNERS}", {uplynk}}},
    {{"service": "traffic_ops", "connection": "cdn", "federation_id": 1, {to}}}
  ]
}}"#
    )
}

struct Fixture {
    sandbox: Sandbox,
    state: DesiredState,
}

impl Fixture {
    fn new(text: &str) -> Fixture {
        Fixture {
            sandbox: Sandbox::start().unwrap(),
            state: DesiredState::from_json(text).unwrap(),
        }
    }

    fn run(&self) -> Run<'_> {
        let clients = self.sandbox.clients_for(&self.state).unwrap();
        let logins: BTreeMap<String, String> = [
            ("video", Sandbox::login_identity(Service::Uplynk)),
            ("cdn", Sandbox::login_identity(Service::TrafficOps)),
        ]
        .into_iter()
        .map(|(c, id)| (c.to_string(), id.to_string()))
        .collect();
        Run::new(&self.state, &clients)
            .unwrap()
            .login_identities(logins)
            .unwrap()
    }
}

fn labels(members: &[Member]) -> Vec<&str> {
    members.iter().map(|m| m.label.as_str()).collect()
}

#[tokio::test]
async fn a_run_over_its_removal_budget_writes_nothing_and_names_the_budget() {
    // Four users in the federation, the file keeps one; the Uplynk group loses one: 4 of 6 members.
    let fixture = Fixture::new(&file(
        "",
        &format!(r#""members": ["{T345}"]"#),
        r#""members": ["admin"]"#,
    ));
    let to = fixture.sandbox.traffic_ops_client().unwrap();
    to.traffic_ops()
        .federations()
        .users(1)
        .add(&[3, 4, 5])
        .await
        .unwrap();
    fixture.sandbox.clear_requests();

    let plan = fixture.run().plan().await;
    assert_eq!(
        plan.stopped,
        Some(Stop::RemovalFraction {
            removals: 4,
            members: 6,
            max_fraction: 0.25
        }),
        "the default budget"
    );
    assert!(plan.saved_plan.is_none(), "no plan to save over budget");
    assert_eq!(plan.exit_code(), 1);
    let applied = fixture.run().apply(Approval::AutoApprove).await.unwrap();
    assert!(matches!(
        applied.stopped,
        Some(Stop::RemovalFraction { .. })
    ));
    assert_eq!(applied.exit_code(), 1);
    assert!(fixture.sandbox.writes().is_empty(), "nothing was written");

    let count = fixture
        .run()
        .removal_budget({
            let mut budget = RemovalBudget::unlimited();
            budget.max_removals = Some(3);
            budget
        })
        .apply(Approval::AutoApprove)
        .await
        .unwrap();
    assert_eq!(
        count.stopped,
        Some(Stop::TooManyRemovals {
            removals: 4,
            limit: 3
        })
    );
    assert!(fixture.sandbox.writes().is_empty());

    let allowed = fixture
        .run()
        .removal_budget(RemovalBudget::unlimited())
        .apply(Approval::AutoApprove)
        .await
        .unwrap();
    assert_eq!(allowed.exit_code(), 0, "{:?}", allowed.groups);
    assert_eq!(
        fixture.sandbox.traffic_ops_federation_users(1).unwrap(),
        [2]
    );
}

#[tokio::test]
async fn a_protected_member_is_never_removed() {
    // `@root` (ff41…) is protected; the file drops it from the Uplynk group.
    let fixture = Fixture::new(&file(
        r#""protected": ["@root"],"#,
        &format!(r#""members": ["{T345}"]"#),
        r#""members": ["admin"]"#,
    ));
    let report = fixture.run().apply(Approval::AutoApprove).await.unwrap();
    let Outcome::Refused {
        refusal: Refusal::Protected { members },
    } = &report.groups[0].report.outcome
    else {
        panic!("{}", report.groups[0].report)
    };
    assert_eq!(labels(members), [format!("@root = {FF41}")]);
    assert_eq!(report.exit_code(), 1);
    assert!(fixture.sandbox.writes().is_empty(), "nothing was written");
    assert_eq!(
        fixture.sandbox.uplynk_allowed_owners(OWNERS).unwrap().len(),
        2
    );
}

#[tokio::test]
async fn the_connections_own_login_is_never_removed_unless_allowed() {
    // The Traffic Ops connection logs in as admin (2); the file would leave only operator.
    let fixture = Fixture::new(&file(
        "",
        &format!(r#""members": ["{T345}", "{FF41}"]"#),
        r#""members": ["operator"]"#,
    ));
    let report = fixture.run().apply(Approval::AutoApprove).await.unwrap();
    let Outcome::Refused {
        refusal: Refusal::SelfRemoval { member },
    } = &report.groups[1].report.outcome
    else {
        panic!("{}", report.groups[1].report)
    };
    assert_eq!(member.label, "admin (2)");
    assert!(fixture.sandbox.writes().is_empty(), "nothing was written");

    let allowed = fixture
        .run()
        .guards(Guards {
            allow_self_removal: true,
            ..Guards::default()
        })
        .apply(Approval::AutoApprove)
        .await
        .unwrap();
    assert_eq!(allowed.groups[1].report.status(), Status::Applied);
    assert_eq!(
        fixture.sandbox.traffic_ops_federation_users(1).unwrap(),
        [3]
    );
}

#[tokio::test]
async fn a_group_is_never_left_below_its_minimum() {
    let fixture = Fixture::new(&file(
        "",
        &format!(r#""members": ["{T345}"], "min_members": 2"#),
        r#""members": ["admin"]"#,
    ));
    let report = fixture.run().apply(Approval::AutoApprove).await.unwrap();
    assert!(
        matches!(
            report.groups[0].report.outcome,
            Outcome::Refused {
                refusal: Refusal::BelowMinimum { members: 1, min: 2 }
            }
        ),
        "{}",
        report.groups[0].report
    );
    assert!(fixture.sandbox.writes().is_empty(), "nothing was written");
}

#[tokio::test]
async fn an_additive_group_adds_and_never_removes() {
    // The file lists only @alice; additive mode keeps the two owners already there.
    let fixture = Fixture::new(&file(
        "",
        r#""mode": "additive", "members": ["@alice"]"#,
        r#""members": ["admin"]"#,
    ));
    let plan = fixture.run().plan().await;
    let p = plan.groups[0].report.plan.as_ref().unwrap();
    assert_eq!(labels(p.to_add()), [format!("@alice = {GU}")]);
    assert!(p.to_remove().is_empty());
    let applied = fixture.run().apply(Approval::NoRemovals).await.unwrap();
    assert_eq!(applied.exit_code(), 0, "{:?}", applied.groups);
    let writes = fixture.sandbox.writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(
        String::from_utf8_lossy(&writes[0].body),
        format!(r#"{{"owners_to_add":["{GU}"],"owners_to_remove":[]}}"#)
    );
    assert_eq!(
        fixture.sandbox.uplynk_allowed_owners(OWNERS).unwrap().len(),
        3
    );
}

#[tokio::test]
async fn an_unmanaged_member_is_neither_added_nor_removed() {
    // ff41… belongs to another system: the file does not list it, and it stays; @alice is unmanaged too,
    // so although the file lists her she is not added.
    let fixture = Fixture::new(&file(
        "",
        &format!(r#""members": ["{T345}", "@alice"], "unmanaged": ["{FF41}", "@alice"]"#),
        r#""members": ["admin"]"#,
    ));
    let plan = fixture.run().plan().await;
    assert_eq!(
        plan.groups[0].report.status(),
        Status::Unchanged,
        "{}",
        plan.groups[0].report
    );
    assert_eq!(plan.exit_code(), 0);
    let applied = fixture.run().apply(Approval::NoRemovals).await.unwrap();
    assert_eq!(applied.exit_code(), 0);
    assert!(fixture.sandbox.writes().is_empty(), "nothing to write");
}

#[test]
fn unknown_keys_inside_a_group_and_unknown_people_in_rules_are_refused() {
    let typo = file(
        "",
        &format!(r#""members": ["{T345}"], "min_member": 2"#),
        r#""members": ["admin"]"#,
    );
    let err = DesiredState::from_json(&typo).unwrap_err().to_string();
    assert!(
        err.contains("/groups/0/min_member: unknown key `min_member`; did you mean `min_members`?"),
        "{err}"
    );
    let nobody = file(
        r#""protected": ["@nobody"],"#,
        &format!(r#""members": ["{T345}"]"#),
        r#""members": ["admin"]"#,
    );
    let err = DesiredState::from_json(&nobody).unwrap_err().to_string();
    assert!(
        err.contains("`@nobody` is not one of the file's `people`"),
        "{err}"
    );
    let unmanaged = file(
        "",
        &format!(r#""members": ["{T345}"], "unmanaged": ["@ghost"]"#),
        r#""members": ["admin"]"#,
    );
    let err = DesiredState::from_json(&unmanaged).unwrap_err().to_string();
    assert!(
        err.contains("`@ghost` is not one of the file's `people`"),
        "{err}"
    );
}
