//! The `group-membership` tool, driven as a process against its embedded sandbox: exit codes, stdout and
//! stderr, the JSON shape, export round trips, people.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/memberships.json");

/// Every variable a connection of the sample file reads: unset, so each connection uses the sandbox.
const VARIABLES: &[&str] = &[
    "UPLYNK_BASE_URL",
    "UPLYNK_USER_ID",
    "UPLYNK_API_KEY",
    "ENTUITY_URL",
    "ENTUITY_USER",
    "ENTUITY_PASSWORD",
    "ENTUITY_INSECURE",
    "DANUBE_URL",
    "ES_API_KEY",
    "TO_URL",
    "TO_USER",
    "TO_PASSWORD",
    "TO_INSECURE",
];

fn tool(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_group-membership"));
    command.args(args).env_remove("NO_COLOR");
    for v in VARIABLES {
        command.env_remove(v);
    }
    command.output().expect("the tool runs")
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("an exit code")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", stdout(output)))
}

/// The labels of a JSON list of members (`[{"id", "label", ...}]`).
fn labels(members: &Value) -> Vec<&str> {
    members
        .as_array()
        .unwrap_or_else(|| panic!("not a member list: {members}"))
        .iter()
        .map(|m| m["label"].as_str().unwrap())
        .collect()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gm-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("state.json")
}

fn write(path: &Path, text: &str) -> String {
    std::fs::write(path, text).unwrap();
    path.display().to_string()
}

#[test]
fn plan_shows_pending_changes_with_people_by_name_and_exits_2() {
    let out = tool(&["plan", SAMPLE]);
    assert_eq!(code(&out), 2, "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    for line in [
        "+ @alice = gu137664292b46a1a286cdf79b1a9bm8",
        "+ @alice = kim1",
        "+ @alice = tester@erigones.com",
        "+ @alice = operator (3)",
        "- ff41643dn419198f523flniu1234n34i",
        "= admin (2)",
        "4 pending, 0 applied, 0 unchanged, 0 failed or refused",
    ] {
        assert!(text.contains(line), "missing `{line}` in:\n{text}");
    }
    assert!(
        !text.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
    let err = stderr(&out);
    assert!(
        err.contains(
            "connection `cdn`: TO_URL, TO_USER, TO_PASSWORD not set: using the embedded sandbox"
        ),
        "{err}"
    );
}

#[test]
fn plan_as_json_has_the_documented_shape() {
    let out = tool(&["plan", "--output", "json", SAMPLE]);
    assert_eq!(code(&out), 2);
    let plan = json(&out);
    assert_eq!(plan["schema"], 2);
    assert_eq!(plan["command"], "plan");
    assert_eq!(plan["exit_code"], 2);
    assert_eq!(
        plan["summary"],
        serde_json::json!({"groups": 4, "pending": 4, "applied": 0, "unchanged": 0, "failed": 0})
    );
    let groups = plan["groups"].as_array().unwrap();
    let services: Vec<&str> = groups
        .iter()
        .map(|g| g["service"].as_str().unwrap())
        .collect();
    assert_eq!(services, ["uplynk", "entuity", "danube", "traffic_ops"]);
    let to = &groups[3];
    assert_eq!(to["key"], "cdn/1");
    assert_eq!(to["connection"], "cdn");
    assert_eq!(to["status"], "pending");
    assert_eq!(to["group"], "federation 1 users");
    assert_eq!(to["outcome"], serde_json::json!({"kind": "planned"}));
    assert_eq!(labels(&to["plan"]["current"]), ["admin (2)"]);
    assert_eq!(
        to["plan"]["add"],
        serde_json::json!([{"id": "3", "username": "operator", "label": "@alice = operator (3)", "person": "alice"}])
    );
    assert_eq!(to["plan"]["remove"], serde_json::json!([]));
    assert_eq!(to["may_have_changed_something"], false);
    assert_eq!(
        labels(&groups[0]["plan"]["remove"]),
        ["ff41643dn419198f523flniu1234n34i"]
    );
}

#[test]
fn apply_converges_and_exits_0() {
    let out = tool(&["apply", "--auto-approve", "--output", "json", SAMPLE]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let report = json(&out);
    assert_eq!(report["command"], "apply");
    assert_eq!(report["converged"], true);
    assert_eq!(report["summary"]["applied"], 4);
    for group in report["groups"].as_array().unwrap() {
        assert_eq!(group["status"], "applied", "{group}");
        assert_eq!(group["outcome"]["kind"], "applied", "{group}");
        assert_eq!(group["outcome"]["read_back"]["as_desired"], true, "{group}");
        assert!(
            group["outcome"]["steps"]
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s["result"] == "applied"),
            "{group}"
        );
    }
    let text = tool(&["apply", "--auto-approve", SAMPLE]);
    assert_eq!(code(&text), 0);
    assert!(
        stdout(&text).contains("planned again: every group matches the file"),
        "{}",
        stdout(&text)
    );
}

#[test]
fn an_exported_file_plans_with_no_change() {
    let path = scratch("export");
    let out = tool(&["export", SAMPLE, "--out", path.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("wrote 4 group(s) to"),
        "{}",
        stderr(&out)
    );
    let exported: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(exported["people"]["alice"]["cdn"], "operator");
    assert_eq!(
        exported["groups"][3]["members"],
        serde_json::json!(["admin"]),
        "Traffic Ops users by username"
    );
    let plan = tool(&["plan", path.to_str().unwrap()]);
    assert_eq!(code(&plan), 0, "{}", stdout(&plan));

    // Without --out the file goes to stdout.
    let out = tool(&["export", SAMPLE]);
    assert_eq!(code(&out), 0);
    assert_eq!(json(&out)["groups"].as_array().unwrap().len(), 4);
}

#[test]
fn export_all_lists_every_sandbox_group_and_writes_people_back_as_people() {
    // A file whose person is a member the sandbox starts with (Entuity `operator`): the export names
    // that member `@alice`.
    let path = scratch("people-export");
    let source = std::fs::read_to_string(SAMPLE)
        .unwrap()
        .replace("\"netmon\": \"kim1\"", "\"netmon\": \"operator\"");
    let file = write(&path, &source);
    let out_path = path.with_file_name("all.json");
    let out = tool(&[
        "export",
        "--all",
        &file,
        "--out",
        out_path.to_str().unwrap(),
        "--output",
        "json",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let summary = json(&out);
    assert_eq!(summary["command"], "export");
    let keys: Vec<&str> = summary["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "cdn/1",
            "cdn/2",
            "cloud/operators",
            "netmon/82e7c418-cd48-4fbf-857b-cddb475841a2/Administrators",
            "netmon/82e7c418-cd48-4fbf-857b-cddb475841a2/Network Operators",
            "video/e8d6b5cb940c40cc9ec6ad081a38f3f0",
            "video/054d58556a7441cbbe71d4fb7f366480",
        ]
    );
    let exported: Value =
        serde_json::from_str(&std::fs::read_to_string(&out_path).unwrap()).unwrap();
    let operators = &exported["groups"][4];
    assert_eq!(operators["user_group"], "Network Operators");
    assert_eq!(operators["members"], serde_json::json!(["@alice"]));
    assert!(stderr(&out).contains("reading cdn/2"), "progress on stderr");
    let plan = tool(&["plan", out_path.to_str().unwrap()]);
    assert_eq!(code(&plan), 0, "{}", stdout(&plan));
}

#[test]
fn unknown_people_and_users_fail_with_nothing_written() {
    let path = scratch("people");
    let sample = std::fs::read_to_string(SAMPLE).unwrap();

    let unknown = write(&path, &sample.replacen("\"@alice\"", "\"@bob\"", 1));
    let out = tool(&["apply", &unknown]);
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).is_empty(), "nothing planned or applied");
    assert!(
        stderr(&out).contains("`@bob` is not one of the file's `people`"),
        "{}",
        stderr(&out)
    );

    let no_identity = write(
        &path,
        &sample.replace(
            "\"cloud\": \"tester@erigones.com\",\n      \"cdn\": \"operator\"",
            "\"cloud\": \"tester@erigones.com\"",
        ),
    );
    let out = tool(&["plan", &no_identity]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("group cdn/1: person `@alice` has no identity on connection `cdn`"),
        "{}",
        stderr(&out)
    );

    // A person naming a connection the file does not define (a typo) is refused too.
    let typo = sample.replace(
        "\"people\": {",
        "\"people\": {\n    \"bob\": {\"cnd\": \"bob\"},",
    );
    let out = tool(&["plan", &write(&path, &typo)]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out)
            .contains("person `bob`: names connection `cnd`, which the file does not define"),
        "{}",
        stderr(&out)
    );

    // A Traffic Ops username the server does not know: that group fails before planning, nothing is
    // written to it, the others apply; exit 1.
    let nobody = write(
        &path,
        &sample.replace(
            "\"admin\", \"@alice\"]\n    }\n  ]",
            "\"nobody\"]\n    }\n  ]",
        ),
    );
    assert!(nobody.ends_with(".json"));
    let out = tool(&["apply", "--auto-approve", "--output", "json", &nobody]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    let report = json(&out);
    let to = &report["groups"][3];
    assert_eq!(to["status"], "resolve_failed", "{to}");
    assert!(
        to["outcome"]["error"]
            .as_str()
            .unwrap()
            .contains("no such member on traffic_ops: username `nobody`"),
        "{to}"
    );
    assert_eq!(to["may_have_changed_something"], false);
    assert!(to["outcome"].get("steps").is_none());
    assert_eq!(report["groups"][0]["status"], "applied");
}

#[test]
fn guards_refuse_and_exit_1() {
    let out = tool(&["plan", "--max-removals", "0", "--output", "json", SAMPLE]);
    assert_eq!(code(&out), 1);
    let plan = json(&out);
    let uplynk = &plan["groups"][0];
    assert_eq!(uplynk["status"], "refused");
    assert_eq!(
        uplynk["outcome"]["refusal"],
        serde_json::json!({"rule": "too_many_removals", "removals": 1, "limit": 0}),
        "{uplynk}"
    );
    let text = tool(&["plan", "--max-removals", "0", SAMPLE]);
    assert!(
        stdout(&text).contains("REFUSED, nothing written: the plan removes 1 member(s), more than the limit of 0 (rule: --max-removals 0; raise it to allow this)"),
        "{}",
        stdout(&text)
    );
}

#[test]
fn usage_mistakes_exit_1_never_2_and_help_exits_0() {
    let out = tool(&["plan"]);
    assert_eq!(code(&out), 1, "a usage error is not 'changes pending'");
    assert!(
        stderr(&out).contains("Usage: group-membership plan"),
        "{}",
        stderr(&out)
    );
    let out = tool(&["plan", SAMPLE, "--concurrency", "0"]);
    assert_eq!(code(&out), 1);
    let out = tool(&["--help"]);
    assert_eq!(code(&out), 0);
    for word in [
        "plan",
        "apply",
        "export",
        "--output",
        "--no-sandbox",
        "Exit codes",
    ] {
        assert!(stdout(&out).contains(word), "{word}: {}", stdout(&out));
    }
    let out = tool(&["plan", "/nonexistent/file.json"]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("cannot read /nonexistent/file.json"));
}

#[test]
fn no_sandbox_refuses_missing_credentials() {
    let out = tool(&["plan", "--no-sandbox", SAMPLE]);
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).is_empty());
    assert!(
        stderr(&out).contains("--no-sandbox forbids the sandbox"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("using the embedded sandbox"));
}

#[test]
fn apply_without_a_saved_plan_refuses_removals_unless_approved() {
    let out = tool(&["apply", "--output", "json", SAMPLE]);
    assert_eq!(code(&out), 1);
    let report = json(&out);
    assert_eq!(
        report["stopped"],
        serde_json::json!({"reason": "needs_approval", "removals": 1}),
        "{report}"
    );
    assert_eq!(report["exit_code"], 1);
    assert_eq!(
        labels(&report["groups"][0]["plan"]["remove"]),
        ["ff41643dn419198f523flniu1234n34i"]
    );
    assert!(report.get("converged").is_none(), "nothing was applied");
    assert!(
        stderr(&out).contains("Nothing was written"),
        "{}",
        stderr(&out)
    );

    // A plan that removes nobody applies without approval.
    let path = scratch("no-removal");
    let adds_only = std::fs::read_to_string(SAMPLE).unwrap().replace(
        r#""members": ["t345643dn409198f523flniu1234n34i", "@alice"]"#,
        r#""members": ["t345643dn409198f523flniu1234n34i", "ff41643dn419198f523flniu1234n34i", "@alice"]"#,
    );
    let out = tool(&["apply", &write(&path, &adds_only)]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn a_saved_plan_applies_exactly_and_only_with_its_file() {
    let dir = scratch("saved");
    let plan_path = dir.with_file_name("plan.json");
    let plan_file = plan_path.to_str().unwrap();
    let out = tool(&["plan", SAMPLE, "--out", plan_file]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("saved the plan to"),
        "{}",
        stderr(&out)
    );
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&plan_path).unwrap()).unwrap();
    assert_eq!(saved["schema"], 1);
    assert_eq!(
        saved["groups"][0]["remove"],
        serde_json::json!(["ff41643dn419198f523flniu1234n34i"])
    );

    // Applied as reviewed: removals included, no --auto-approve needed.
    let out = tool(&["apply", SAMPLE, "--plan", plan_file, "--output", "json"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(json(&out)["converged"], true);

    // Another desired-state file: refused whole, before anything is read.
    // (The digest covers the file's bytes: any edit, even outside `groups`, makes it another file.)
    let edited = std::fs::read_to_string(SAMPLE)
        .unwrap()
        .replace("\"api_version\": \"4.0\"", "\"api_version\": \"4.1\"");
    assert_ne!(edited, std::fs::read_to_string(SAMPLE).unwrap());
    let other = write(&dir, &edited);
    let out = tool(&["apply", &other, "--plan", plan_file]);
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).is_empty());
    assert!(
        stderr(&out).contains("it was made from a desired-state file with SHA-256"),
        "{}",
        stderr(&out)
    );
    let out = tool(&["apply", &other, "--plan", plan_file, "--output", "json"]);
    assert_eq!(json(&out)["exit_code"], 1);
    assert!(json(&out)["error"].as_str().unwrap().contains("SHA-256"));

    // The server moved since the plan (here: the plan says it saw someone the server does not have):
    // that group is refused with the difference, the others apply; exit 1.
    let moved = std::fs::read_to_string(&plan_path).unwrap().replacen(
        "\"ff41643dn419198f523flniu1234n34i\",\n",
        "\"ff41643dn419198f523flniu1234n34i\",\n        \"someone-who-left\",\n",
        1,
    );
    let moved_path = dir.with_file_name("moved.json");
    let out = tool(&[
        "apply",
        SAMPLE,
        "--plan",
        &write(&moved_path, &moved),
        "--output",
        "json",
    ]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    let report = json(&out);
    let uplynk = &report["groups"][0];
    assert_eq!(uplynk["status"], "changed_since_plan", "{uplynk}");
    assert_eq!(labels(&uplynk["outcome"]["vanished"]), ["someone-who-left"]);
    assert_eq!(uplynk["may_have_changed_something"], false);
    assert!(
        uplynk["outcome"].get("steps").is_none(),
        "nothing written to it"
    );
    let text = tool(&["apply", SAMPLE, "--plan", moved_path.to_str().unwrap()]);
    assert!(
        stdout(&text).contains(
            "CHANGED SINCE THE PLAN, nothing written: appeared [], vanished [someone-who-left]; plan again and review"
        ),
        "the text names who vanished:\n{}",
        stdout(&text)
    );
    assert_eq!(report["groups"][1]["status"], "applied");

    // --plan and --auto-approve do not go together.
    let out = tool(&["apply", SAMPLE, "--plan", plan_file, "--auto-approve"]);
    assert_eq!(code(&out), 1);
}

#[test]
fn a_plan_with_a_group_that_cannot_be_planned_is_not_saved() {
    let dir = scratch("unsaved");
    let nobody = std::fs::read_to_string(SAMPLE)
        .unwrap()
        .replace("\"cdn\": \"operator\"", "\"cdn\": \"nobody\"");
    let plan_path = dir.with_file_name("plan.json");
    let out = tool(&[
        "plan",
        &write(&dir, &nobody),
        "--out",
        plan_path.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 1);
    assert!(!plan_path.exists());
    assert!(
        stderr(&out).contains("the plan was not saved")
            && stderr(&out).contains("1 group(s) could not be planned"),
        "{}",
        stderr(&out)
    );
}
