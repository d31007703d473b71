//! Snapshots of the Markdown report (a pull-request comment), and its length limit.

use std::path::Path;

use group_membership::access::{
    DesiredState, GrantEnding, GroupResult, Origin, RunKind, RunReport,
};
use group_membership::membership::{GroupReport, Outcome, Plan, Refusal, Service};

use super::super::Rendered;
use super::{LIMIT, render, render_within};

use super::super::fixtures::{alice, member, set};

fn pending(key: &str) -> GroupResult {
    let plan = Plan::new(
        set(&[member("admin"), member("bob")]),
        set(&[member("admin"), alice()]),
    );
    let report = GroupReport::new(
        Service::Entuity,
        "config set s user group g",
        Outcome::Planned,
    )
    .with_plan(plan);
    GroupResult::new(key, "netmon", report)
}

fn refused() -> GroupResult {
    let plan = Plan::new(set(&[member("root"), member("ops")]), set(&[member("ops")]));
    let report = GroupReport::new(
        Service::Danube,
        "group admins users",
        Outcome::Refused {
            refusal: Refusal::Protected {
                members: vec![member("root")],
            },
        },
    )
    .with_plan(plan);
    GroupResult::new("cloud/admins", "cloud", report)
}

fn unchanged() -> GroupResult {
    let plan = Plan::new(set(&[member("admin")]), set(&[member("admin")]));
    let report = GroupReport::new(Service::TrafficOps, "federation 1 users", Outcome::Planned)
        .with_plan(plan);
    GroupResult::new("cdn/1", "cdn", report)
}

#[test]
fn a_review_comment_puts_refusals_first_and_marks_this_edit_and_drift() {
    let mut changed = pending("netmon/s/g");
    changed.origins.insert("kim1".into(), Origin::Edit);
    changed.origins.insert("bob".into(), Origin::Drift);
    let run = RunReport::new(RunKind::Plan, vec![unchanged(), changed, refused()]);
    let grants = grants_ending_soon();
    let rendered = Rendered::new("plan", Path::new("access.json"), &run, false).with_grants(grants);
    assert_eq!(
        render(&rendered),
        r#"### group-membership plan: `access.json`

| groups | to add | to remove | pending | applied | unchanged | failed or refused |
|---:|---:|---:|---:|---:|---:|---:|
| 3 | 1 | 2 | 1 | 0 | 1 | 1 |

Exit code 1: **failed or refused**: see below.

#### Refusals and failures

- `cloud/admins` (danube): REFUSED, nothing written: the plan removes protected member(s) \[root\] (rule: the file's `protected` list; take them off it to allow this)

#### Grants ending

- grant ends soon: @alice in netmon/s/g (until 2027-01-31, 3 day(s) left)

<details open><summary><code>cloud/admins</code> danube · refused · +0 −1</summary>

```diff
- root
= ops
REFUSED, nothing written: the plan removes protected member(s) [root] (rule: the file's `protected` list; take them off it to allow this)
```

</details>

<details open><summary><code>netmon/s/g</code> entuity · pending · +1 −1</summary>

```diff
+ @alice = kim1 (edit)
- bob (drift)
= admin
pending
(edit: this change of the file asks for it; drift: the service differed from the old file too)
```

</details>

<details><summary><code>cdn/1</code> traffic_ops · unchanged · +0 −0</summary>

```diff
= admin
no changes
```

</details>

"#
    );
}

/// @alice's grant in netmon/s/g ends 2027-01-31, seen on 2027-01-28 at noon (UTC): 3 whole days left.
fn grants_ending_soon() -> Vec<GrantEnding> {
    let file = r#"{"connections": {"netmon": {"service": "entuity", "base_url": "https://e"}},
        "people": {"alice": {"netmon": "kim1"}},
        "groups": [{"service": "entuity", "connection": "netmon", "config_set_id": "s", "user_group": "g",
                    "members": ["admin", {"member": "@alice", "until": "2027-01-31"}]}]}"#;
    let state = DesiredState::from_json(file)
        .unwrap()
        .as_of(time::macros::datetime!(2027-01-28 12:00 UTC));
    state.grants_ending(14)
}

#[test]
fn a_long_plan_stays_under_the_limit_and_says_where_the_rest_is() {
    let groups: Vec<GroupResult> = (0..3000)
        .map(|i| pending(&format!("netmon/s/g{i}")))
        .collect();
    let run = RunReport::new(RunKind::Plan, groups);
    let rendered = Rendered::new("plan", Path::new("access.json"), &run, false);
    let out = render(&rendered);
    assert!(
        out.chars().count() <= LIMIT,
        "{} characters",
        out.chars().count()
    );
    assert!(
        out.contains("| 3000 | 3000 | 3000 | 3000 |"),
        "the summary counts every group"
    );
    let shown = out.matches("<details").count();
    assert!(shown > 100, "{shown} groups shown");
    assert!(
        out.trim_end().ends_with(&format!(
            "> **Truncated**: {} more group(s) are not shown here, to stay under {LIMIT} characters; see the JSON output (`--output json`) for every group.",
            3000 - shown
        )),
        "{}",
        &out[out.len() - 300..]
    );
    let small = render_within(&rendered, 2_000);
    assert!(small.chars().count() <= 2_000);
    assert!(small.contains("**Truncated**"));
}
