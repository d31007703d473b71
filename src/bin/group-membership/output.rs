//! Plans and reports as text for people, or as JSON for CI tools (the shape documented in the README;
//! `"schema": 1`). Members are shown as the file names them: people as `@name`.

use std::fmt::Write as _;
use std::path::Path;

use group_membership::membership::{DesiredState, GroupReport, Outcome, StepResult};
use serde_json::{Value, json};

/// How to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// For CI tools.
    Json,
}

/// The version of the JSON shape; it changes only when a field changes meaning or goes away.
const SCHEMA: u64 = 1;

/// One run of `plan` or `apply`, ready to print.
pub struct Rendered<'a> {
    pub command: &'static str,
    pub file: &'a Path,
    pub state: &'a DesiredState,
    pub reports: &'a [GroupReport],
    /// For `apply`: the plan made again after applying.
    pub again: Option<&'a [GroupReport]>,
    /// Why the run stopped before writing anything, when it did.
    pub error: Option<String>,
}

/// What became of one group, as one word.
fn status(report: &GroupReport) -> &'static str {
    match &report.outcome {
        Outcome::ReadFailed(_) => "read_failed",
        Outcome::ResolveFailed(_) => "resolve_failed",
        Outcome::ChangedSincePlan { .. } => "changed_since_plan",
        Outcome::Refused(_) => "refused",
        Outcome::Unchanged => "unchanged",
        Outcome::Planned if report.has_pending_changes() => "pending",
        Outcome::Planned => "unchanged",
        Outcome::Applied { .. } if report.is_success() => "applied",
        Outcome::Applied { .. } => "failed",
        _ => "unknown",
    }
}

impl<'a> Rendered<'a> {
    pub fn new(
        command: &'static str,
        file: &'a Path,
        state: &'a DesiredState,
        reports: &'a [GroupReport],
    ) -> Self {
        Rendered {
            command,
            file,
            state,
            reports,
            again: None,
            error: None,
        }
    }

    /// 0: nothing pending (plan) or everything applied and converged (apply); 2: plan found changes; 1:
    /// anything failed.
    pub fn exit_code(&self) -> u8 {
        if self.error.is_some() {
            return 1;
        }
        let failed = self.reports.iter().any(|r| !r.is_success());
        match self.again {
            None if failed => 1,
            None if self.reports.iter().any(GroupReport::has_pending_changes) => 2,
            None => 0,
            Some(again) if failed || !again.iter().all(GroupReport::made_no_change) => 1,
            Some(_) => 0,
        }
    }

    pub fn render(&self, format: Format, colour: bool) -> String {
        match format {
            Format::Text => self.text(colour),
            Format::Json => {
                let mut text = serde_json::to_string_pretty(&self.json()).unwrap_or_default();
                text.push('\n');
                text
            }
        }
    }

    fn connection(&self, index: usize) -> &str {
        self.state.groups.get(index).map_or("", |g| g.connection())
    }

    /// How the file names group `index`.
    fn key(&self, index: usize) -> String {
        self.state
            .groups
            .get(index)
            .map(|g| g.key())
            .unwrap_or_default()
    }

    fn labels(&self, index: usize, members: &[String]) -> Vec<String> {
        let connection = self.connection(index);
        members
            .iter()
            .map(|m| self.state.member_label(connection, m))
            .collect()
    }

    fn text(&self, colour: bool) -> String {
        let paint = |code: &str, text: &str| {
            if colour {
                format!("\x1b[{code}m{text}\x1b[0m")
            } else {
                text.to_string()
            }
        };
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} {}: {} group(s){}",
            self.command,
            self.file.display(),
            self.reports.len(),
            if self.command == "plan" {
                ", nothing is changed"
            } else {
                ""
            }
        );
        for (i, report) in self.reports.iter().enumerate() {
            let key = self.key(i);
            let _ = writeln!(out, "\n{} {key} ({})", report.service, report.group);
            if let Some(plan) = &report.plan {
                for m in self.labels(i, plan.to_add()) {
                    let _ = writeln!(out, "  {}", paint("32", &format!("+ {m}")));
                }
                for m in self.labels(i, plan.to_remove()) {
                    let _ = writeln!(out, "  {}", paint("31", &format!("- {m}")));
                }
                for m in self.labels(i, plan.to_keep()) {
                    let _ = writeln!(out, "  = {m}");
                }
            }
            self.outcome_text(&mut out, report, &paint);
        }
        let count = |s: &str| self.reports.iter().filter(|r| status(r) == s).count();
        let failed = self.reports.iter().filter(|r| !r.is_success()).count();
        let _ = writeln!(
            out,
            "\n{} pending, {} applied, {} unchanged, {} failed or refused",
            count("pending"),
            count("applied"),
            count("unchanged"),
            failed
        );
        if let Some(error) = &self.error {
            let _ = writeln!(out, "{}", paint("31", error));
        }
        if let Some(again) = self.again {
            let still: Vec<String> = again
                .iter()
                .filter(|r| !r.made_no_change())
                .map(|r| format!("{} {}", r.service, r.group))
                .collect();
            let _ = if still.is_empty() {
                writeln!(out, "planned again: every group matches the file")
            } else {
                writeln!(out, "planned again: NOT converged: {}", still.join("; "))
            };
        }
        out
    }

    fn outcome_text(
        &self,
        out: &mut String,
        report: &GroupReport,
        paint: &dyn Fn(&str, &str) -> String,
    ) {
        let _ = match &report.outcome {
            Outcome::ReadFailed(e) => writeln!(
                out,
                "  {}: {e}",
                paint("31", "READ FAILED, nothing written")
            ),
            Outcome::ResolveFailed(e) => writeln!(
                out,
                "  {}: {e}",
                paint("31", "UNKNOWN MEMBER, nothing written")
            ),
            Outcome::Refused(why) => {
                writeln!(out, "  {}: {why}", paint("31", "REFUSED, nothing written"))
            }
            Outcome::Planned if report.has_pending_changes() => {
                writeln!(out, "  {}", paint("33", "pending"))
            }
            Outcome::Applied { steps, drift } => {
                for (step, result) in steps {
                    let _ = match result {
                        StepResult::Applied => writeln!(out, "  applied: {step}"),
                        StepResult::Failed {
                            error,
                            may_have_applied,
                        } => writeln!(
                            out,
                            "  {}: {step}: {error}{}",
                            paint("31", "FAILED"),
                            if *may_have_applied {
                                " (may have reached the server)"
                            } else {
                                ""
                            }
                        ),
                        StepResult::NotAttempted => writeln!(out, "  not attempted: {step}"),
                        _ => writeln!(out, "  {step}: unknown result"),
                    };
                }
                match drift {
                    Ok(d) if d.is_none() => writeln!(out, "  read back: as desired"),
                    Ok(d) => writeln!(
                        out,
                        "  {}: unexpected [{}], missing [{}]",
                        paint("31", "read back: DRIFT"),
                        d.unexpected.join(", "),
                        d.missing.join(", ")
                    ),
                    Err(e) => writeln!(out, "  {}: {e}", paint("31", "read back FAILED")),
                }
            }
            _ => writeln!(out, "  no changes"),
        };
    }

    fn json(&self) -> Value {
        let groups: Vec<Value> = self
            .reports
            .iter()
            .enumerate()
            .map(|(i, r)| self.group_json(i, r))
            .collect();
        let count = |s: &str| self.reports.iter().filter(|r| status(r) == s).count();
        let mut top = json!({
            "schema": SCHEMA,
            "command": self.command,
            "file": self.file.display().to_string(),
            "groups": groups,
            "summary": {
                "groups": self.reports.len(),
                "pending": count("pending"),
                "applied": count("applied"),
                "unchanged": count("unchanged"),
                "failed": self.reports.iter().filter(|r| !r.is_success()).count(),
            },
            "exit_code": self.exit_code(),
        });
        if let Some(again) = self.again {
            top["converged"] = json!(again.iter().all(GroupReport::made_no_change));
        }
        if let Some(error) = &self.error {
            top["error"] = json!(error);
        }
        top
    }

    fn group_json(&self, i: usize, report: &GroupReport) -> Value {
        let key = self.key(i);
        let mut group = json!({
            "service": report.service,
            "connection": self.connection(i),
            "key": key,
            "description": report.group,
            "status": status(report),
            "may_have_changed_something": report.may_have_changed_something(),
        });
        if let Some(plan) = &report.plan {
            let current: Vec<String> = plan.current().iter().cloned().collect();
            group["current"] = json!(self.labels(i, &current));
            group["add"] = json!(self.labels(i, plan.to_add()));
            group["remove"] = json!(self.labels(i, plan.to_remove()));
            group["keep"] = json!(self.labels(i, plan.to_keep()));
        }
        match &report.outcome {
            Outcome::ReadFailed(e) | Outcome::ResolveFailed(e) => {
                group["error"] = json!(e.to_string());
            }
            Outcome::Refused(why) => group["error"] = json!(why),
            Outcome::ChangedSincePlan { appeared, vanished } => {
                group["error"] =
                    json!("the group changed since the plan was made: nothing written");
                group["appeared"] = json!(appeared);
                group["vanished"] = json!(vanished);
            }
            Outcome::Applied { steps, drift } => {
                group["steps"] = steps.iter().map(step_json).collect();
                group["read_back"] = match drift {
                    Ok(d) => {
                        json!({"as_desired": d.is_none(), "unexpected": d.unexpected, "missing": d.missing})
                    }
                    Err(e) => json!({"error": e.to_string()}),
                };
            }
            _ => {}
        }
        group
    }
}

fn step_json((step, result): &(String, StepResult)) -> Value {
    match result {
        StepResult::Applied => json!({"step": step, "result": "applied"}),
        StepResult::Failed {
            error,
            may_have_applied,
        } => json!({"step": step, "result": "failed", "may_have_reached_server": may_have_applied,
                    "error": error.to_string()}),
        StepResult::NotAttempted => json!({"step": step, "result": "not_attempted"}),
        _ => json!({"step": step, "result": "unknown"}),
    }
}

/// What `export --out PATH --output json` prints.
pub fn export_json(file: &Path, out: &Path, keys: &[String]) -> String {
    let value = json!({
        "schema": SCHEMA,
        "command": "export",
        "file": file.display().to_string(),
        "out": out.display().to_string(),
        "groups": keys,
        "exit_code": 0,
    });
    serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
}

/// What a run that stopped before reading any group prints with `--output json`.
pub fn error_json(command: &str, error: &str) -> String {
    let value = json!({"schema": SCHEMA, "command": command, "error": error, "exit_code": 1});
    serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
}
