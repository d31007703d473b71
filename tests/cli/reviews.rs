//! The commands and outputs for reviews and questions: `validate`, `schema`, `--output markdown`,
//! `plan --base`, `drift`, `access`, `offboard`, end dates, TOML files and directories, did-you-mean.

use super::*;

const VIDEO: &str = "e8d6b5cb940c40cc9ec6ad081a38f3f0";
const T345: &str = "t345643dn409198f523flniu1234n34i";
const FF41: &str = "ff41643dn419198f523flniu1234n34i";

fn sample() -> String {
    std::fs::read_to_string(SAMPLE).unwrap()
}

/// The sample with the video group's members replaced by `members` (JSON) and `extra` keys.
fn with_video_members(members: &str, extra: &str) -> String {
    let from =
        format!("\"failover_group_id\": \"{VIDEO}\",\n      \"members\": [\"{T345}\", \"@alice\"]");
    let sample = sample();
    assert!(
        sample.contains(&from),
        "the sample's video group is as this test expects"
    );
    sample.replace(
        &from,
        &format!("\"failover_group_id\": \"{VIDEO}\",\n      \"members\": {members}{extra}"),
    )
}

#[test]
fn validate_needs_no_credentials_and_lists_every_problem_with_its_place() {
    let path = scratch("validate");
    let good = unconfigured(&["validate", SAMPLE]).output().unwrap();
    assert_eq!(code(&good), 0, "{}", stderr(&good));
    assert!(stdout(&good).contains("valid (4 connection(s), 1 person(s), 4 group(s))"));

    let bad = sample()
        .replacen("\"@alice\"", "\"@alcie\"", 1)
        .replacen(
            "\"service\": \"danube\",",
            "\"service\": \"danube\", \"colour\": 1,",
            1,
        )
        .replacen(
            "\"user_group\":",
            "\"usergroup\": \"x\", \"user_group\":",
            1,
        );
    let file = write(&path, &bad);
    let out = unconfigured(&["validate", &file]).output().unwrap();
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    assert!(
        text.starts_with("invalid desired-state file (3 problems):\n"),
        "{text}"
    );
    for expected in [
        ": /connections/cloud/colour: unknown key `colour`",
        ": /groups/0/members/1: `@alcie` is not one of the file's `people`; did you mean `@alice`?",
        ": /groups/1/usergroup: unknown key `usergroup`; did you mean `user_group`?",
    ] {
        assert!(text.contains(expected), "{expected}\n{text}");
    }
    // Each problem names the file, line and column, in the order of the text.
    let lines: Vec<usize> = text
        .lines()
        .skip(1)
        .map(|l| {
            l.trim()
                .strip_prefix(&format!("{file}:"))
                .unwrap()
                .split(':')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(lines.len(), 3);
    assert!(lines.windows(2).all(|w| w[0] <= w[1]), "{lines:?}");

    let out = unconfigured(&["validate", &file, "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    let report = json(&out);
    assert_eq!(report["valid"], false);
    assert_eq!(report["exit_code"], 1);
    let problems = report["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 3);
    assert_eq!(problems[0]["place"]["file"], file.as_str());
    assert!(
        problems
            .iter()
            .all(|p| p["place"]["line"].as_u64().unwrap() > 0
                && p["place"]["column"].as_u64().unwrap() > 0
                && p["pointer"].as_str().unwrap().starts_with('/'))
    );

    // A file that is not JSON: one problem at its place, and a word when it looks like TOML or YAML.
    let yaml = path.with_file_name("state.yaml");
    std::fs::write(&yaml, "groups: []\n").unwrap();
    let out = unconfigured(&["validate", yaml.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    assert!(
        stdout(&out).contains("YAML is not read; write the desired-state file as JSON (or TOML)")
    );
    let out = unconfigured(&["validate", &write(&path, "[connections]\n")])
        .output()
        .unwrap();
    assert!(
        stdout(&out).contains(":1:2: not valid JSON: expected value"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("this looks like TOML: name the file `*.toml`"));
}

#[test]
fn schema_prints_the_committed_schema() {
    let out = unconfigured(&["schema"]).output().unwrap();
    assert_eq!(code(&out), 0);
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schema/desired-state.schema.json"
    ))
    .unwrap();
    assert_eq!(stdout(&out), committed);
}

/// The sample as TOML (every key the sample uses), for the same plan.
fn sample_as_toml() -> String {
    let value: Value = serde_json::from_str(&sample()).unwrap();
    let mut out = String::new();
    for (name, c) in value["connections"].as_object().unwrap() {
        out += &format!("[connections.{name}]\n");
        for (k, v) in c.as_object().unwrap() {
            out += &format!("{k} = {v}\n");
        }
    }
    for (name, ids) in value["people"].as_object().unwrap() {
        out += &format!("[people.{name}]\n");
        for (k, v) in ids.as_object().unwrap() {
            out += &format!("{k} = {v}\n");
        }
    }
    for g in value["groups"].as_array().unwrap() {
        out += "[[groups]]\n";
        for (k, v) in g.as_object().unwrap() {
            out += &format!("{k} = {v}\n");
        }
    }
    out
}

#[test]
fn toml_files_and_directories_plan_like_the_json_file() {
    let path = scratch("formats");
    let json_plan = json(&tool(&["plan", SAMPLE, "--output", "json"]));
    let toml = path.with_file_name("state.toml");
    std::fs::write(&toml, sample_as_toml()).unwrap();
    let out = tool(&["plan", toml.to_str().unwrap(), "--output", "json"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_eq!(json(&out)["groups"], json_plan["groups"]);

    // A directory: connections and people in one file, groups in another, merged.
    let dir = path.with_file_name("dir");
    std::fs::create_dir_all(&dir).unwrap();
    let value: Value = serde_json::from_str(&sample()).unwrap();
    let first = serde_json::json!({"connections": value["connections"], "people": value["people"], "groups": []});
    let second = serde_json::json!({"connections": {}, "groups": value["groups"]});
    std::fs::write(dir.join("a.json"), first.to_string()).unwrap();
    std::fs::write(dir.join("b.json"), second.to_string()).unwrap();
    let out = tool(&["plan", dir.to_str().unwrap(), "--output", "json"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_eq!(json(&out)["groups"], json_plan["groups"]);

    // The same person in two files: one problem naming both places.
    std::fs::write(
        dir.join("c.json"),
        r#"{"people": {"alice": {"cdn": "alice"}}}"#,
    )
    .unwrap();
    let out = unconfigured(&["validate", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    let a = dir.join("a.json").display().to_string();
    let c = dir.join("c.json").display().to_string();
    assert!(
        text.contains(&format!(
            "{c}:1:13: /people/alice: defined twice: also at {a}:1:"
        )),
        "{text}"
    );
}

#[test]
fn a_markdown_plan_is_a_review_comment() {
    let out = tool(&["plan", SAMPLE, "--output", "markdown"]);
    assert_eq!(code(&out), 2);
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!(
            "### group-membership plan: `{SAMPLE}`\n\n> [!WARNING]\n> SANDBOX: "
        )),
        "{text}"
    );
    assert!(text.contains("| 4 | 4 | 1 | 4 | 0 | 0 | 0 |"), "{text}");
    assert!(text.contains(&format!(
        "<details open><summary><code>video/{VIDEO}</code> uplynk · pending · +1 −1</summary>\n\n```diff\n+ @alice = gu137664292b46a1a286cdf79b1a9bm8\n- {FF41}\n= {T345}\npending\n```"
    )), "{text}");
}

#[test]
fn plan_base_marks_what_this_edit_changes_and_what_is_drift() {
    let path = scratch("base");
    // This edit takes t345 out of the video group; the service also has ff41 and lacks @alice, which the
    // old file would have corrected too.
    let edited = write(&path, &with_video_members("[\"@alice\"]", ""));
    let out = tool(&["plan", &edited, "--base", SAMPLE, "--output", "json"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let report = json(&out);
    let video = &report["groups"][0];
    assert_eq!(
        video["origins"],
        serde_json::json!({
            "gu137664292b46a1a286cdf79b1a9bm8": "drift",
            FF41: "drift",
            T345: "edit",
        })
    );
    let text = stdout(&tool(&["plan", &edited, "--base", SAMPLE]));
    assert!(text.contains(&format!("- {T345} (edit)")), "{text}");
    assert!(text.contains(&format!("- {FF41} (drift)")), "{text}");
    assert!(
        text.contains("+ @alice = gu137664292b46a1a286cdf79b1a9bm8 (drift)"),
        "{text}"
    );
    let markdown = stdout(&tool(&[
        "plan", &edited, "--base", SAMPLE, "--output", "markdown",
    ]));
    assert!(
        markdown.contains(&format!("- {T345} (edit)\n")),
        "{markdown}"
    );
    // Without --base nothing is marked.
    assert!(
        json(&tool(&["plan", &edited, "--output", "json"]))["groups"][0]
            .get("origins")
            .is_none()
    );
}

#[test]
fn drift_names_who_was_added_or_removed_outside_the_file() {
    let out = tool(&["drift", SAMPLE]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains(&format!("video/{VIDEO} (uplynk): differs from the file\n  added outside the file: {FF41}\n  removed outside the file: @alice = gu137664292b46a1a286cdf79b1a9bm8\n")), "{text}");
    assert!(
        text.ends_with("4 of 4 group(s) differ from the file, 0 could not be checked\n"),
        "{text}"
    );
    let report = json(&tool(&["drift", SAMPLE, "--output", "json"]));
    assert_eq!(report["command"], "drift");
    assert_eq!(report["exit_code"], 2);
    assert_eq!(report["drifted"].as_array().unwrap().len(), 4);
    assert_eq!(labels(&report["drifted"][0]["added_outside"]), [FF41]);
    assert!(report["failed"].as_array().unwrap().is_empty());

    // A file that matches the services: no drift, exit 0.
    let path = scratch("drift");
    let exported = stdout(&tool(&["export", SAMPLE]));
    let out = tool(&["drift", &write(&path, &exported), "--output", "json"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(json(&out)["drifted"].as_array().unwrap().is_empty());
}

#[test]
fn access_shows_every_group_of_a_person_desired_and_live() {
    let path = scratch("access");
    let file = write(
        &path,
        &sample().replace(
            "\"people\": {",
            "\"people\": {\n    \"root\": {\"cloud\": \"admin\", \"cdn\": \"admin\"},",
        ),
    );
    let out = tool(&["access", "@root", &file, "--output", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let rows = json(&out)["groups"].clone();
    assert_eq!(
        rows,
        serde_json::json!([
            {"group": "cloud/operators", "service": "danube", "identity": "admin", "desired": true, "live": true},
            {"group": "cdn/1", "service": "traffic_ops", "identity": "admin", "desired": true, "live": true},
        ])
    );
    let out = tool(&["access", "@alice", &file]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    assert!(text.starts_with("@alice: 4 group(s)\ngroup "), "{text}");
    assert!(text.contains("cloud/operators"), "{text}");
    assert!(
        text.lines()
            .skip(2)
            .all(|l| l.split_whitespace().rev().take(2).eq(["no", "yes"])),
        "{text}"
    );

    let out = tool(&["access", "@alcie", &file]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("`@alcie` is not one of the file's `people`; did you mean `@alice`?")
    );
    assert!(stdout(&out).is_empty());
}

#[test]
fn offboard_takes_a_person_out_of_every_group_and_prints_the_plan() {
    let path = scratch("offboard");
    let file = write(&path, &sample());
    let out = tool(&["offboard", "@alice", &file]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "@alice: 4 member entries removed from 1 file(s) (not written: pass --write)"
        )
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        sample(),
        "not written without --write"
    );
    let plan = stdout(&out);
    assert!(
        plan.contains(&format!("\noffboard {file}: 4 group(s)")),
        "{plan}"
    );
    assert!(!plan.contains("@alice"), "{plan}");
    assert!(plan.contains(&format!("- {FF41}")), "{plan}");

    let out = tool(&["offboard", "@alice", &file, "--write"]);
    assert_eq!(code(&out), 2);
    let written = std::fs::read_to_string(&path).unwrap();
    // Only the lines that listed @alice in a group changed; the person stays declared.
    let original = sample();
    let before: Vec<&str> = original.lines().collect();
    let after: Vec<&str> = written.lines().collect();
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(&after) {
        if b != a {
            assert!(
                b.contains("\"@alice\"") && !a.contains("@alice"),
                "{b}\n{a}"
            );
        }
    }
    assert!(written.contains("\"alice\": {"));
    let valid = unconfigured(&["validate", &file]).output().unwrap();
    assert_eq!(code(&valid), 0, "{}", stdout(&valid));
}

#[test]
fn ended_grants_are_removed_and_grants_ending_soon_are_named() {
    let path = scratch("until");
    let soon = (time::OffsetDateTime::now_utc() + time::Duration::days(3)).date();
    let members = format!(
        "[\"{T345}\", {{\"member\": \"{FF41}\", \"until\": \"2020-01-01\"}}, {{\"member\": \"@alice\", \"until\": \"{soon}\"}}]"
    );
    let file = write(&path, &with_video_members(&members, ""));
    let out = tool(&["plan", &file, "--output", "json"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let report = json(&out);
    let video = &report["groups"][0];
    assert_eq!(
        labels(&video["plan"]["remove"]),
        [FF41],
        "the ended grant goes"
    );
    assert_eq!(
        labels(&video["plan"]["add"]),
        ["@alice = gu137664292b46a1a286cdf79b1a9bm8"]
    );
    let grants = report["grants_ending"].as_array().unwrap();
    assert_eq!(grants.len(), 2, "{grants:?}");
    assert_eq!(grants[0]["member"], FF41);
    assert_eq!(grants[0]["ended"], true);
    assert_eq!(grants[1]["member"], "@alice");
    assert_eq!(grants[1]["ended"], false);
    assert_eq!(grants[1]["days_left"], 3);
    let text = stdout(&tool(&["plan", &file]));
    assert!(
        text.contains(&format!(
            "grant ended: {FF41} in video/{VIDEO} (until 2020-01-01): the plan removes it"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "grant ends soon: @alice in video/{VIDEO} (until {soon}, 3 day(s) left)"
        )),
        "{text}"
    );
    // --warn-expiring 1 leaves out the grant that ends in 3 days.
    let narrow = json(&tool(&[
        "plan",
        &file,
        "--warn-expiring",
        "1",
        "--output",
        "json",
    ]));
    assert_eq!(narrow["grants_ending"].as_array().unwrap().len(), 1);

    // In an additive group an ended grant is removed too; nobody else is.
    let additive = write(
        &path,
        &with_video_members(
            &format!("[{{\"member\": \"{FF41}\", \"until\": \"2020-01-01\"}}]"),
            ", \"mode\": \"additive\"",
        ),
    );
    let video = &json(&tool(&["plan", &additive, "--output", "json"]))["groups"][0];
    assert_eq!(labels(&video["plan"]["remove"]), [FF41]);
    assert_eq!(labels(&video["plan"]["keep"]), [T345]);

    // A grant past the file's max_grant_days is refused before anything is read.
    let long =
        write(
            &path,
            &with_video_members("[{\"member\": \"@alice\", \"until\": \"2999-01-01\"}]", "")
                .replacen("{\n", "{\n  \"max_grant_days\": 90,\n", 1),
        );
    let out = tool(&["plan", &long]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("/groups/0/members/0/until: `until` 2999-01-01 is more than `max_grant_days` (90) from today"), "{}", stderr(&out));
}

#[test]
fn misspelt_commands_and_flags_get_a_suggestion() {
    let out = unconfigured(&["plna", SAMPLE]).output().unwrap();
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("tip: a similar subcommand exists: 'plan'"),
        "{}",
        stderr(&out)
    );
    let out = unconfigured(&["plan", SAMPLE, "--allow-emtpy"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("tip: a similar argument exists: '--allow-empty'"),
        "{}",
        stderr(&out)
    );
}
