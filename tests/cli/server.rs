//! `group-membership sandbox` as a separate process, the way a test in any language uses it: the tool's own
//! runs against it through the environment it prints, a group changed through the control endpoint between
//! `plan` and `apply --plan`, faults and state through the control endpoints, and `kill -9` of the tool at
//! several points of an apply.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::*;

/// A running `group-membership sandbox` and the environment it printed.
struct Server {
    child: Option<Child>,
    url: String,
    env: Vec<(String, String)>,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_group-membership"))
            .arg("sandbox")
            .arg(SAMPLE)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the sandbox server starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().expect("a first line").unwrap();
        let url = first
            .strip_prefix("SANDBOX listening on ")
            .and_then(|rest| rest.split(' ').next())
            .unwrap_or_else(|| panic!("the first line names the URL: {first}"))
            .to_string();
        // The environment, up to the line that says the server is ready.
        let env = lines
            .map_while(Result::ok)
            .take_while(|l| l != "# ready")
            .filter(|l| l.starts_with("export "))
            .map(|l| {
                let (name, value) = l["export ".len()..].split_once('=').unwrap();
                (name.to_string(), value.trim_matches('\'').to_string())
            })
            .collect();
        Server {
            child: Some(child),
            url,
            env,
        }
    }

    /// The tool run as a user runs it against this server: no `--sandbox`, the printed environment.
    fn tool(&self, args: &[&str]) -> Command {
        let mut command = unconfigured(args);
        command.envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        command
    }

    fn call(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        control(&self.url, method, path, body)
    }

    fn state(&self) -> Value {
        serde_json::from_str(&self.call("GET", "state", None).1).unwrap()
    }

    fn requests(&self) -> Vec<Value> {
        self.call("GET", "requests", None)
            .1
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Stops it as Ctrl-C would, and waits.
    fn stop(mut self) -> Output {
        let mut child = self.child.take().expect("running");
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "the server stops on SIGINT");
            std::thread::sleep(Duration::from_millis(20));
        }
        child.wait_with_output().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One control call over plain HTTP/1.1 (no client library: what a shell or any language would send).
fn control(url: &str, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    use std::io::{Read, Write};
    let authority = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(authority).unwrap();
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} /_sandbox/{path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, body.to_string())
}

#[test]
fn a_group_changed_on_the_server_between_plan_and_apply_is_refused_with_nothing_written_to_it() {
    let server = Server::start(&[]);
    let path = scratch("server-changed");
    let plan = path.with_file_name("plan.json");
    let out = server
        .tool(&["plan", SAMPLE, "--out", plan.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        !stdout(&out).contains("SANDBOX"),
        "a real server as far as the tool knows"
    );

    // Someone adds carol to the Danube Cloud group on the server.
    let (status, _) = server.call(
        "PUT",
        "groups/danube/operators",
        Some(r#"{"members": ["admin", "carol"]}"#),
    );
    assert_eq!(status, 200);
    assert_eq!(server.call("DELETE", "requests", None).0, 204);

    let out = server
        .tool(&[
            "apply",
            SAMPLE,
            "--plan",
            plan.to_str().unwrap(),
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    let report = json(&out);
    let cloud = report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == "cloud/operators")
        .unwrap();
    assert_eq!(cloud["status"], "changed_since_plan", "{cloud}");
    assert_eq!(labels(&cloud["outcome"]["appeared"]), ["carol"]);
    // Nothing was written to that group; the other groups were.
    let writes: Vec<String> = server
        .requests()
        .iter()
        .filter(|r| r["method"] != "GET")
        .map(|r| {
            format!(
                "{} {}",
                r["method"].as_str().unwrap(),
                r["path"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        !writes
            .iter()
            .any(|w| w.contains("/accounts/group/operators")),
        "{writes:?}"
    );
    assert!(
        writes.iter().any(|w| w.contains("/failover-groups/")),
        "{writes:?}"
    );
    assert_eq!(
        server.state()["danube"]["operators"],
        serde_json::json!(["admin", "carol"])
    );
    // The log has the Traffic Ops login, never its password.
    let log = server.call("GET", "requests", None).1;
    assert!(log.contains("/user/login"), "{log}");
    assert!(!log.contains("sandbox-traffic-ops-password"), "{log}");
    server.stop();
}

#[test]
fn control_endpoints_set_state_inject_faults_reset_and_the_state_outlives_the_process() {
    let path = scratch("server-state");
    let start = path.with_file_name("start.json");
    std::fs::write(
        &start,
        r#"{"traffic_ops": {"1": [2, 3]}, "danube": {"night-shift": ["admin"]}}"#,
    )
    .unwrap();
    let saved = path.with_file_name("saved.json");
    let server = Server::start(&[
        "--state",
        start.to_str().unwrap(),
        "--save-state",
        saved.to_str().unwrap(),
    ]);
    let state = server.state();
    assert_eq!(state["traffic_ops"]["1"], serde_json::json!([2, 3]));
    assert_eq!(state["danube"]["night-shift"], serde_json::json!(["admin"]));

    // A fault through the control endpoint: the next Traffic Ops read fails with it, once.
    let fault = r#"{"method": "GET", "path_prefix": "/api/4.0/federations/1/users", "status": 503, "times": 1}"#;
    assert_eq!(server.call("POST", "faults", Some(fault)).0, 204);
    let out = server
        .tool(&["plan", SAMPLE, "--retries", "1", "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    let cdn = &json(&out)["groups"][3];
    assert_eq!(cdn["status"], "read_failed", "{cdn}");
    let out = server.tool(&["plan", SAMPLE]).output().unwrap();
    assert_eq!(code(&out), 2, "the fault fired once: {}", stderr(&out));

    // Bad calls are refused in words.
    let (status, body) = server.call("PUT", "groups/traffic_ops/1", Some(r#"{"members": [99]}"#));
    assert_eq!(status, 404, "{body}");
    assert!(
        body.contains("a user ID the sandbox does not have"),
        "{body}"
    );
    assert_eq!(
        server
            .call("POST", "faults", Some(r#"{"method": "GET"}"#))
            .0,
        400
    );
    assert_eq!(server.call("GET", "nothing", None).0, 404);

    // Reset: the seeded state, an empty log.
    assert_eq!(server.call("POST", "reset", None).0, 204);
    assert_eq!(server.state()["traffic_ops"]["1"], serde_json::json!([2]));
    assert!(server.requests().is_empty());
    assert_eq!(
        server
            .call(
                "PUT",
                "groups/entuity/82e7c418-cd48-4fbf-857b-cddb475841a2/Auditors",
                Some(r#"{"members": ["kim1"]}"#)
            )
            .0,
        200
    );
    let out = server.stop();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    assert_eq!(
        written["entuity"]["82e7c418-cd48-4fbf-857b-cddb475841a2"]["Auditors"],
        serde_json::json!(["kim1"])
    );
}

#[test]
fn the_server_refuses_to_listen_beyond_loopback() {
    let out = unconfigured(&["sandbox", "--listen", "0.0.0.0"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("0.0.0.0 is not a loopback address"),
        "{}",
        stderr(&out)
    );
}

/// Every member of every group, as `service group member` strings.
fn memberships(state: &Value) -> std::collections::BTreeSet<String> {
    let mut all = std::collections::BTreeSet::new();
    for (service, groups) in state.as_object().unwrap() {
        for (group, members) in groups.as_object().unwrap() {
            let mut push = |g: &str, m: &Value| {
                all.insert(format!("{service} {g} {m}"));
            };
            match members {
                Value::Array(list) => list.iter().for_each(|m| push(group, m)),
                Value::Object(inner) => {
                    for (name, list) in inner {
                        for m in list.as_array().unwrap() {
                            push(&format!("{group}/{name}"), m);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    all
}

#[cfg(unix)]
#[test]
fn an_apply_killed_at_any_point_leaves_the_server_the_audit_log_and_a_rerun_in_agreement() {
    let path = scratch("server-kill");
    // Every request answered 150 ms late, so an apply of the four groups takes seconds and each kill lands
    // in a different place: before the first write, between writes, near the end.
    let mut intents_at_kill = Vec::new();
    for (i, after) in [100u64, 900, 1700, 2600].into_iter().enumerate() {
        let server = Server::start(&[]);
        let before = memberships(&server.state());
        let plan = path.with_file_name(format!("plan-{i}.json"));
        let out = server
            .tool(&["plan", SAMPLE, "--out", plan.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(code(&out), 2, "{}", stderr(&out));
        let saved: Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
        for method in ["GET", "PUT", "POST", "DELETE"] {
            let delay = format!(
                r#"{{"method": "{method}", "path_prefix": "/api", "delay_ms": 150, "times": 100000}}"#
            );
            assert_eq!(server.call("POST", "faults", Some(&delay)).0, 204);
        }
        let audit = path.with_file_name(format!("audit-{i}.jsonl"));
        let mut apply = server
            .tool(&[
                "apply",
                SAMPLE,
                "--plan",
                plan.to_str().unwrap(),
                "--audit-log",
                audit.to_str().unwrap(),
                "--concurrency",
                "1",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(after));
        let _ = Command::new("kill")
            .args(["-KILL", &apply.id().to_string()])
            .status();
        let _ = apply.wait();
        assert_eq!(server.call("DELETE", "faults", None).0, 204);

        // Nothing was removed that the plan did not remove.
        let removable: std::collections::BTreeSet<String> = saved["groups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| {
                g["remove"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| m.to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        let after_kill = memberships(&server.state());
        for gone in before.difference(&after_kill) {
            let member = gone.rsplit(' ').next().unwrap();
            assert!(
                removable
                    .iter()
                    .any(|r| r == member || r.contains(member.trim_matches('"'))),
                "kill at {after} ms: {gone} was removed, which the plan did not remove"
            );
        }
        // The audit log: every write that reported a result has its intent first; a write the server
        // shows happened has its intent in the log (an intent is synced before the write is sent).
        let log = std::fs::read_to_string(&audit).unwrap_or_default();
        let events: Vec<Value> = log
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        let intents = events.iter().filter(|e| e["event"] == "intent").count();
        let results = events.iter().filter(|e| e["event"] == "result").count();
        assert!(
            results <= intents,
            "kill at {after} ms: {results} results, {intents} intents"
        );
        intents_at_kill.push(intents);
        let writes = server
            .requests()
            .iter()
            .filter(|r| r["method"] != "GET" && !r["path"].as_str().unwrap().contains("login"))
            .count();
        assert!(
            writes <= intents,
            "kill at {after} ms: {writes} writes reached the server, {intents} intents logged"
        );
        // A re-run (a fresh plan, reviewed and applied) converges, whatever the kill left.
        let again = path.with_file_name(format!("again-{i}.json"));
        let out = server
            .tool(&["plan", SAMPLE, "--out", again.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(matches!(code(&out), 0 | 2), "{}", stderr(&out));
        let out = server
            .tool(&["apply", SAMPLE, "--plan", again.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(
            code(&out),
            0,
            "kill at {after} ms, the re-run: {}",
            stdout(&out)
        );
        let out = server.tool(&["plan", SAMPLE]).output().unwrap();
        assert_eq!(code(&out), 0, "kill at {after} ms: converged");
        server.stop();
    }
    // The kills landed before the first write, and between writes (the plan has 4, one per group).
    eprintln!("writes begun when killed: {intents_at_kill:?}");
    assert_eq!(intents_at_kill[0], 0, "{intents_at_kill:?}");
    assert!(
        intents_at_kill.iter().any(|&n| n > 0 && n < 4),
        "a kill between writes: {intents_at_kill:?}"
    );
}
