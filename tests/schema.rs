//! The committed JSON Schema of the desired-state file (`schema/desired-state.schema.json`): it is what
//! the library derives, an independent validator (the `jsonschema` crate, formats checked) accepts every
//! shipped example with it, and it agrees with the parser on a set of good and bad files: every file
//! the schema refuses the parser refuses too, and the other way round for every mistake of shape. What
//! needs the whole file (people, connections, duplicates) only the parser can see: those files are
//! listed apart, and the schema accepting them is asserted too, so the split stays known.

use group_membership::access::{DesiredState, json_schema};
use serde_json::Value;

const COMMITTED: &str = include_str!("../schema/desired-state.schema.json");

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(COMMITTED).unwrap();
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the committed schema is a valid draft 2020-12 schema")
}

/// A file with one connection per service and `groups` as given.
fn file(extra: &str, groups: &str) -> String {
    format!(
        r#"{{
  "connections": {{
    "video": {{"service": "uplynk", "user_id_env": "U", "api_key_env": "K"}},
    "cdn": {{"service": "traffic_ops", "base_url_env": "T", "username_env": "TU", "password_env": "TP"}},
    "cloud": {{"service": "danube", "base_url": "https://danube.example"}}
  }},
  "people": {{"alice": {{"video": "gu1", "cdn": "alice", "cloud": "alice@example.com"}}}},
  {extra}
  "groups": [{groups}]
}}"#
    )
}

const UPLYNK: &str = r#"{"service": "uplynk", "connection": "video", "failover_group_id": "fg""#;
const TO: &str = r#"{"service": "traffic_ops", "connection": "cdn", "federation_id": 1"#;

fn good_files() -> Vec<(&'static str, String)> {
    vec![
        ("no groups", file("", "")),
        ("a schema line", file(r#""$schema": "schema.json","#, "")),
        (
            "plain members",
            file("", &format!(r#"{UPLYNK}, "members": ["gu2", "@alice"]}}"#)),
        ),
        (
            "an end date and a date-time",
            file(
                "",
                &format!(
                    r#"{UPLYNK}, "members": [{{"member": "@alice", "until": "2030-01-31"}}, {{"member": "gu2", "until": "2030-01-31T18:00:00+01:00"}}]}}"#
                ),
            ),
        ),
        (
            "Traffic Ops IDs",
            file("", &format!(r#"{TO}, "members": [2, "admin"]}}"#)),
        ),
        (
            "every rule",
            file(
                r#""protected": ["@alice", 7], "max_grant_days": 400,"#,
                &format!(
                    r#"{TO}, "members": ["admin"], "mode": "additive", "unmanaged": ["svc", 9], "min_members": 1}}"#
                ),
            ),
        ),
    ]
}

/// Mistakes of shape: the schema and the parser both refuse each.
fn bad_shapes() -> Vec<(&'static str, String)> {
    vec![
        ("not an object", "[]".to_string()),
        ("no groups key", r#"{"connections": {}}"#.to_string()),
        ("an unknown top-level key", file(r#""owners": [],"#, "")),
        (
            "a secret in a connection",
            file("", "").replace(r#""api_key_env": "K""#, r#""api_key": "hunter2""#),
        ),
        (
            "an unknown service",
            file(
                "",
                r#"{"service": "github", "connection": "video", "members": []}"#,
            ),
        ),
        ("a group without members", file("", &format!("{UPLYNK}}}"))),
        (
            "an unknown key in a group",
            file(
                "",
                &format!(r#"{UPLYNK}, "members": [], "min_member": 1}}"#),
            ),
        ),
        (
            "members not a list",
            file("", &format!(r#"{UPLYNK}, "members": "gu2"}}"#)),
        ),
        (
            "an Uplynk member as a number",
            file("", &format!(r#"{UPLYNK}, "members": [5]}}"#)),
        ),
        (
            "a negative user ID",
            file("", &format!(r#"{TO}, "members": [-1]}}"#)),
        ),
        (
            "an empty member",
            file("", &format!(r#"{UPLYNK}, "members": [""]}}"#)),
        ),
        (
            "an unknown mode",
            file(
                "",
                &format!(r#"{UPLYNK}, "members": [], "mode": "sometimes"}}"#),
            ),
        ),
        (
            "an end date that is no date",
            file(
                "",
                &format!(r#"{UPLYNK}, "members": [{{"member": "gu2", "until": "2030-02-30"}}]}}"#),
            ),
        ),
        (
            "a date-time without offset",
            file(
                "",
                &format!(
                    r#"{UPLYNK}, "members": [{{"member": "gu2", "until": "2030-01-31T18:00:00"}}]}}"#
                ),
            ),
        ),
        (
            "an entry without until",
            file(
                "",
                &format!(r#"{UPLYNK}, "members": [{{"member": "gu2"}}]}}"#),
            ),
        ),
        (
            "an entry with another key",
            file(
                "",
                &format!(
                    r#"{UPLYNK}, "members": [{{"member": "gu2", "until": "2030-01-01", "why": "x"}}]}}"#
                ),
            ),
        ),
        (
            "a negative minimum",
            file(
                "",
                &format!(r#"{UPLYNK}, "members": [], "min_members": -1}}"#),
            ),
        ),
        (
            "a negative grant limit",
            file(r#""max_grant_days": -1,"#, ""),
        ),
        (
            "a wrong federation ID",
            file(
                "",
                r#"{"service": "traffic_ops", "connection": "cdn", "federation_id": "one", "members": []}"#,
            ),
        ),
    ]
}

/// Mistakes only the whole file shows: the parser refuses each, the schema cannot see them.
fn bad_references() -> Vec<(&'static str, String)> {
    vec![
        (
            "an unknown person",
            file("", &format!(r#"{UPLYNK}, "members": ["@bob"]}}"#)),
        ),
        (
            "an unknown connection",
            file(
                "",
                r#"{"service": "danube", "connection": "clod", "group": "g", "members": []}"#,
            ),
        ),
        (
            "a group listed twice",
            file(
                "",
                &format!(r#"{UPLYNK}, "members": []}}, {UPLYNK}, "members": []}}"#),
            ),
        ),
        (
            "a member listed twice",
            file("", &format!(r#"{UPLYNK}, "members": ["gu1", "@alice"]}}"#)),
        ),
        (
            "a grant past max_grant_days",
            file(
                r#""max_grant_days": 30,"#,
                &format!(r#"{UPLYNK}, "members": [{{"member": "gu2", "until": "2999-01-01"}}]}}"#),
            ),
        ),
    ]
}

#[test]
fn the_committed_schema_is_the_derived_one() {
    let committed: Value = serde_json::from_str(COMMITTED).unwrap();
    assert!(
        committed == json_schema(),
        "schema/desired-state.schema.json is out of date: run \
         `cargo run --features cli -- schema > schema/desired-state.schema.json`"
    );
}

#[test]
fn every_shipped_example_is_valid_by_the_schema_and_the_parser() {
    let validator = validator();
    let examples = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/examples")).unwrap();
    let mut checked = 0;
    for path in examples.map(|e| e.unwrap().path()) {
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        assert!(
            value.get("$schema").is_some(),
            "{} names the schema for editors",
            path.display()
        );
        DesiredState::from_json(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        checked += 1;
    }
    assert!(checked >= 1);
}

#[test]
fn the_schema_and_the_parser_agree_on_good_files_and_mistakes_of_shape() {
    let validator = validator();
    for (what, text) in good_files() {
        let value: Value = serde_json::from_str(&text).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(
            errors.is_empty(),
            "{what}: the schema refuses a good file: {errors:?}\n{text}"
        );
        DesiredState::from_json(&text).unwrap_or_else(|e| panic!("{what}: {e}\n{text}"));
    }
    for (what, text) in bad_shapes() {
        let value: Value = serde_json::from_str(&text).unwrap();
        assert!(
            !validator.is_valid(&value),
            "{what}: the schema accepts it\n{text}"
        );
        assert!(
            DesiredState::from_json(&text).is_err(),
            "{what}: the parser accepts it\n{text}"
        );
    }
}

#[test]
fn what_needs_the_whole_file_is_the_parsers_alone() {
    let validator = validator();
    for (what, text) in bad_references() {
        let value: Value = serde_json::from_str(&text).unwrap();
        assert!(
            validator.is_valid(&value),
            "{what}: the schema now sees this: move it to bad_shapes"
        );
        assert!(
            DesiredState::from_json(&text).is_err(),
            "{what}: the parser accepts it\n{text}"
        );
    }
}
