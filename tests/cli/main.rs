//! The `group-membership` tool, driven as a process against its embedded sandbox: exit codes, stdout and
//! stderr, the JSON shape, export round trips, people.

mod reviews;
mod server;

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

/// The tool against its embedded sandbox (`--sandbox`), with no credential in the environment.
fn tool(args: &[&str]) -> Output {
    let mut command = unconfigured(args);
    command.arg("--sandbox");
    command.output().expect("the tool runs")
}

/// The tool as a user runs it: no `--sandbox`, no credential in the environment.
fn unconfigured(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_group-membership"));
    command.args(args).env_remove("NO_COLOR");
    for v in VARIABLES {
        command.env_remove(v);
    }
    command
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

/// A fresh directory for one test (emptied first: a process ID comes back, and a file left by an earlier
/// run — a merged directory's extra file, an audit log already holding an intent — would change the test).
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gm-cli-{}-{name}", std::process::id()));
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => panic!("{}: {e}", dir.display()),
    }
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
        err.starts_with("SANDBOX: every connection uses the embedded sandbox"),
        "{err}"
    );
    assert!(
        text.starts_with(
            "SANDBOX: every connection used the embedded sandbox (--sandbox); nothing real was read or written\n"
        ),
        "the report's first line says sandbox:\n{text}"
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
        serde_json::json!({"groups": 4, "pending": 4, "applied": 0, "unchanged": 0, "failed": 0, "interrupted": 0})
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
        stderr(&out).contains(
            "state.json:63:28: /groups/3/members/1: person `@alice` has no identity on connection `cdn`"
        ),
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
            .contains("/people/bob/cnd: person `bob` names connection `cnd`, which the file does not define; did you mean `cdn`?"),
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
        "--sandbox",
        "Exit codes",
    ] {
        assert!(stdout(&out).contains(word), "{word}: {}", stdout(&out));
    }
    let out = tool(&["plan", "/nonexistent/file.json"]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("cannot read /nonexistent/file.json"));
}

#[test]
fn without_credentials_or_sandbox_every_command_fails_naming_each_missing_variable() {
    let missing = "environment variables not set: `cdn` needs TO_URL, TO_USER, TO_PASSWORD; `cloud` needs \
                   DANUBE_URL, ES_API_KEY; `netmon` needs ENTUITY_URL, ENTUITY_USER, ENTUITY_PASSWORD; \
                   `video` needs UPLYNK_USER_ID, UPLYNK_API_KEY";
    for args in [
        &["plan", SAMPLE][..],
        &["apply", "--auto-approve", SAMPLE],
        &["export", SAMPLE],
        &["export", "--all", SAMPLE],
    ] {
        let out = unconfigured(args).output().unwrap();
        assert_eq!(code(&out), 1, "{args:?}");
        assert!(stdout(&out).is_empty(), "{args:?}: {}", stdout(&out));
        assert!(stderr(&out).contains(missing), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("SANDBOX"), "never a silent fake");
    }
    let mut json = unconfigured(&["apply", "--auto-approve", "--output", "json", SAMPLE]);
    let out = json.output().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["sandbox"], false);
    assert_eq!(report["exit_code"], 1);
    assert!(report["error"].as_str().unwrap().contains(missing));
    // Only some of a connection's variables set: still refused, naming the rest.
    let out = unconfigured(&["plan", SAMPLE])
        .env("TO_URL", "https://to.example")
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("`cdn` needs TO_USER, TO_PASSWORD;"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn every_output_of_a_sandbox_run_says_sandbox() {
    let out = tool(&["plan", "--output", "json", SAMPLE]);
    assert_eq!(json(&out)["sandbox"], true);
    let dir = scratch("sandbox-says");
    let path = dir.with_file_name("out.json");
    let out = tool(&[
        "export",
        SAMPLE,
        "--out",
        path.to_str().unwrap(),
        "--output",
        "json",
    ]);
    assert_eq!(json(&out)["sandbox"], true);
    let out = tool(&["apply", "--auto-approve", SAMPLE]);
    assert!(stdout(&out).starts_with("SANDBOX: "), "{}", stdout(&out));
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
    assert_eq!(saved["schema"], 2);
    assert_eq!(saved["tool_version"], env!("CARGO_PKG_VERSION"));
    assert!(saved["created_at"].as_str().unwrap().ends_with('Z'));
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

/// The requests a `--sandbox-requests` file lists that could change something: (method, path).
fn sandbox_writes(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["method"] != "GET" && !r["path"].as_str().unwrap().contains("login"))
        .map(|r| {
            (
                r["method"].as_str().unwrap().to_string(),
                r["path"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_saved_plan_edited_after_review_is_refused_for_that_group_with_nothing_written_to_it() {
    let dir = scratch("edited");
    let plan_path = dir.with_file_name("plan.json");
    let out = tool(&["plan", SAMPLE, "--out", plan_path.to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    let reviewed: Value =
        serde_json::from_str(&std::fs::read_to_string(&plan_path).unwrap()).unwrap();
    const UPLYNK_OWNERS: &str =
        "/api/v4/failover-groups/e8d6b5cb940c40cc9ec6ad081a38f3f0/allowed-owners";
    // An outsider added, a member the file keeps removed, a member the server does not have observed.
    let edits: [(&str, &str, Value); 3] = [
        (
            "add",
            "an outsider in `add`",
            serde_json::json!("mallory00000000000000000000000000"),
        ),
        (
            "remove",
            "a kept member in `remove`",
            serde_json::json!("t345643dn409198f523flniu1234n34i"),
        ),
        (
            "observed",
            "someone in `observed`",
            serde_json::json!("someone-who-left"),
        ),
    ];
    for (field, what, member) in edits {
        let mut edited = reviewed.clone();
        edited["groups"][0][field]
            .as_array_mut()
            .unwrap()
            .push(member);
        let edited_path = dir.with_file_name(format!("edited-{field}.json"));
        write(
            &edited_path,
            &serde_json::to_string_pretty(&edited).unwrap(),
        );
        let requests = dir.with_file_name(format!("requests-{field}.jsonl"));
        let out = tool(&[
            "apply",
            SAMPLE,
            "--plan",
            edited_path.to_str().unwrap(),
            "--output",
            "json",
            "--sandbox-requests",
            requests.to_str().unwrap(),
        ]);
        assert_eq!(code(&out), 1, "{what}: {}", stdout(&out));
        let report = json(&out);
        let uplynk = &report["groups"][0];
        assert_eq!(uplynk["status"], "refused", "{what}: {uplynk}");
        assert_eq!(
            uplynk["outcome"]["refusal"]["rule"], "plan_differs_from_file",
            "{what}: {uplynk}"
        );
        assert_eq!(
            report["groups"][1]["status"], "applied",
            "{what}: the others apply"
        );
        let writes = sandbox_writes(&requests);
        assert!(
            !writes.iter().any(|(_, path)| path == UPLYNK_OWNERS),
            "{what}: nothing was written to the edited group: {writes:?}"
        );
        assert!(!writes.is_empty(), "{what}: the other groups were written");
    }
    let mut edited = reviewed.clone();
    edited["groups"][0]["add"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!("mallory00000000000000000000000000"));
    let edited_path = dir.with_file_name("edited-text.json");
    write(
        &edited_path,
        &serde_json::to_string_pretty(&edited).unwrap(),
    );
    let out = tool(&["apply", SAMPLE, "--plan", edited_path.to_str().unwrap()]);
    assert!(
        stdout(&out).contains(
            "REFUSED, nothing written: the saved plan adds [@alice = gu137664292b46a1a286cdf79b1a9bm8, \
             mallory00000000000000000000000000] and removes [ff41643dn419198f523flniu1234n34i], but the file \
             gives adds [@alice = gu137664292b46a1a286cdf79b1a9bm8] and removes \
             [ff41643dn419198f523flniu1234n34i] from the members the plan observed (rule: apply exactly what \
             was reviewed; the plan was edited or made by another version: plan again)"
        ),
        "{}",
        stdout(&out)
    );
}

#[test]
fn stale_plans_plans_of_another_version_and_out_over_the_input_are_refused() {
    let dir = scratch("stale");
    let plan_path = dir.with_file_name("plan.json");
    let out = tool(&["plan", SAMPLE, "--out", plan_path.to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    let reviewed: Value =
        serde_json::from_str(&std::fs::read_to_string(&plan_path).unwrap()).unwrap();

    let mut old = reviewed.clone();
    old["created_at"] = serde_json::json!("2026-01-01T00:00:00Z");
    let old_path = dir.with_file_name("old.json");
    write(&old_path, &old.to_string());
    let out = tool(&["apply", SAMPLE, "--plan", old_path.to_str().unwrap()]);
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).is_empty());
    assert!(
        stderr(&out).contains(
            "longer ago than the limit of 1d 0h: plan again, or allow it with --max-plan-age"
        ),
        "{}",
        stderr(&out)
    );
    let out = tool(&[
        "apply",
        SAMPLE,
        "--plan",
        old_path.to_str().unwrap(),
        "--max-plan-age",
        "none",
    ]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));

    let mut other = reviewed.clone();
    other["tool_version"] = serde_json::json!("0.0.1");
    let other_path = dir.with_file_name("other.json");
    write(&other_path, &other.to_string());
    let out = tool(&["apply", SAMPLE, "--plan", other_path.to_str().unwrap()]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("it was made by group-membership 0.0.1, this is"),
        "{}",
        stderr(&out)
    );

    // --out never overwrites the desired-state file it read.
    let input = dir.with_file_name("state.json");
    write(&input, &std::fs::read_to_string(SAMPLE).unwrap());
    for args in [
        vec![
            "plan",
            input.to_str().unwrap(),
            "--out",
            input.to_str().unwrap(),
        ],
        vec![
            "export",
            input.to_str().unwrap(),
            "--out",
            input.to_str().unwrap(),
        ],
    ] {
        let out = tool(&args);
        assert_eq!(code(&out), 1, "{args:?}");
        assert!(
            stderr(&out).contains("over the desired-state file it read"),
            "{}",
            stderr(&out)
        );
        assert_eq!(
            std::fs::read_to_string(&input).unwrap(),
            std::fs::read_to_string(SAMPLE).unwrap(),
            "untouched"
        );
    }
}

#[test]
fn show_prints_a_saved_plan_with_people_and_group_limits_a_run() {
    let dir = scratch("show");
    let plan_path = dir.with_file_name("plan.json");
    let out = tool(&[
        "plan",
        SAMPLE,
        "--group",
        "cdn/1",
        "--out",
        plan_path.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stdout(&out).contains("1 group(s)"), "{}", stdout(&out));
    let out = tool(&["show", plan_path.to_str().unwrap(), "--file", SAMPLE]);
    assert_eq!(code(&out), 2);
    let text = stdout(&out);
    assert!(
        text.contains("+ @alice = operator (3)") && text.contains("= admin (2)"),
        "{text}"
    );
    assert!(!text.starts_with("SANDBOX"), "show reads no service");
    let out = tool(&["show", plan_path.to_str().unwrap()]);
    assert!(
        stdout(&out).contains("+ operator (3)"),
        "without the file: identities"
    );
    // The reviewed subset applies with the same --group.
    let out = tool(&[
        "apply",
        SAMPLE,
        "--group",
        "cdn/1",
        "--plan",
        plan_path.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let out = tool(&["plan", SAMPLE, "--group", "cdn/2"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("the file has no group `cdn/2` (did you mean `cdn/1`?)"),
        "{}",
        stderr(&out)
    );
}

/// Waits (bounded) until `ready` says so, checking every few milliseconds; panics after a minute.
fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !ready() {
        assert!(
            std::time::Instant::now() < deadline,
            "never happened: {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[cfg(unix)]
#[test]
fn sigint_during_apply_starts_no_new_write_prints_the_report_and_exits_130() {
    let dir = scratch("sigint");
    let audit = dir.with_file_name("audit.jsonl");
    let requests = dir.with_file_name("requests.jsonl");
    let child = unconfigured(&[
        "apply",
        SAMPLE,
        "--auto-approve",
        "--concurrency",
        "1",
        "--output",
        "json",
        "--audit-log",
        audit.to_str().unwrap(),
        "--sandbox",
        "--sandbox-latency",
        "300",
        "--sandbox-requests",
        requests.to_str().unwrap(),
    ])
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    // The first write's intent is on disk before it is sent: interrupt then, with a real signal.
    wait_until("the first write's intent line", || {
        std::fs::read_to_string(&audit).is_ok_and(|t| t.contains("\"event\":\"intent\""))
    });
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 130, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stderr(&out).contains("interrupted: no new write starts"),
        "{}",
        stderr(&out)
    );

    // The full report is printed: the group whose write was in flight finished, the rest were not
    // written.
    let report = json(&out);
    assert_eq!(report["interrupted"], true);
    assert_eq!(report["exit_code"], 130);
    let statuses: Vec<&str> = report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses[0], "applied", "{report}");
    assert!(
        statuses[1..].iter().all(|s| *s == "interrupted"),
        "{statuses:?}"
    );
    assert_eq!(report["summary"]["interrupted"], 3);

    // Every write that started has an intent and a result line, and the sandbox saw exactly those.
    let lines: Vec<Value> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let intents: Vec<&Value> = lines.iter().filter(|l| l["event"] == "intent").collect();
    let results: Vec<&Value> = lines.iter().filter(|l| l["event"] == "result").collect();
    assert_eq!(intents.len(), 1, "{lines:?}");
    assert_eq!(results.len(), 1, "{lines:?}");
    assert_eq!(
        intents[0]["group"],
        "video/e8d6b5cb940c40cc9ec6ad081a38f3f0"
    );
    assert_eq!(results[0]["step"], intents[0]["step"]);
    assert_eq!(results[0]["result"], "applied");
    assert_eq!(results[0]["may_have_reached_server"], true);
    for line in &lines {
        assert_eq!(line["schema"], 1);
        assert_eq!(line["run_id"], lines[0]["run_id"]);
        assert_eq!(line["service"], "uplynk");
        assert!(line["desired_state_sha256"].as_str().unwrap().len() == 64);
        assert!(line["time"].as_str().unwrap().ends_with('Z'));
    }
    let writes = sandbox_writes(&requests);
    assert_eq!(
        writes,
        [(
            "PUT".to_string(),
            "/api/v4/failover-groups/e8d6b5cb940c40cc9ec6ad081a38f3f0/allowed-owners".to_string()
        )],
        "only the write in flight reached the server"
    );
}

#[test]
fn retry_settings_are_reachable_from_the_command_line() {
    let out = tool(&["plan", SAMPLE, "--retries", "2", "--max-retry-wait", "5"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let out = tool(&["plan", SAMPLE, "--retries", "0"]);
    assert_eq!(code(&out), 1, "a usage error");
    assert!(stderr(&out).contains("--retries"), "{}", stderr(&out));
}

#[test]
fn an_export_of_a_cdn_that_does_not_exist_fails_at_every_version() {
    let dir = scratch("nocdn");
    for version in ["4.0", "5.0"] {
        let file = std::fs::read_to_string(SAMPLE)
            .unwrap()
            .replace("\"cdn\": \"CDN-in-a-Box\"", "\"cdn\": \"NOPE\"")
            .replace(
                "\"api_version\": \"4.0\"",
                &format!("\"api_version\": \"{version}\""),
            );
        assert!(file.contains("\"cdn\": \"NOPE\""));
        let path = dir.with_file_name(format!("nocdn-{version}.json"));
        let out = tool(&["export", "--all", &write(&path, &file)]);
        assert_eq!(code(&out), 1, "{version}: {}", stdout(&out));
        assert!(stdout(&out).is_empty(), "{version}: no file of 0 groups");
        let err = stderr(&out);
        assert!(
            err.contains("cdn not found")
                || err.contains("names CDN `NOPE`, which the Traffic Ops server does not have"),
            "{version}: {err}"
        );
    }
}

/// An example's binary, built by `cargo test` beside this test's (`target/<profile>/examples/`).
fn example(name: &str) -> Command {
    let dir = std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("examples");
    let mut command = Command::new(dir.join(name));
    for v in VARIABLES {
        command.env_remove(v);
    }
    command
}

#[cfg(unix)]
#[test]
fn examples_piped_into_head_still_undo_what_they_did_and_say_so_in_the_exit_code() {
    use std::io::{BufRead, BufReader};
    // The quickstart (a package of its own, not built by this crate's tests) is checked the same way by
    // `.ci/run`: `quickstart | head -n 1` must exit 141.
    let name = "danube_groups";
    let mut child = example(name)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{name}: {e} (examples are built by `cargo test`)"));
    // Read one line, then hang up, as `| head -n 1` does.
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(!first.is_empty(), "{name} printed nothing");
    let out = child.wait_with_output().unwrap();
    // 141: the output was closed, and the run still finished its clean-up; an example that left a
    // change behind on the sandbox exits 1 instead.
    assert_eq!(
        code(&out),
        141,
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
