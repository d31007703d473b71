//! An audit trail of writes: JSON lines appended to a file, an `intent` line written and synced to disk
//! before each write is sent and a `result` line after it, so a crash mid-apply still leaves what was
//! attempted. The README's "Audit log" section documents the shape (`"schema": 1`).

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::membership::{Member, Service, Step, StepResult, WriteJournal};

/// The version of the audit log's line shape.
pub const AUDIT_SCHEMA: u32 = 1;

/// Environment variables of CI systems recorded with each line when set (none of them is a secret).
const CI_VARIABLES: &[&str] = &[
    "CI",
    "GITHUB_REPOSITORY",
    "GITHUB_RUN_ID",
    "GITHUB_RUN_ATTEMPT",
    "GITHUB_SHA",
    "GITHUB_REF",
    "GITHUB_ACTOR",
    "GITHUB_WORKFLOW",
    "CI_PROJECT_PATH",
    "CI_PIPELINE_ID",
    "CI_JOB_ID",
    "CI_COMMIT_SHA",
    "GITLAB_USER_LOGIN",
    "BUILD_ID",
    "BUILD_URL",
    "JOB_NAME",
];

/// What every line of a run shares.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct AuditContext {
    /// A random id shared by every line of one run.
    pub run_id: String,
    /// The SHA-256 of the desired-state file.
    pub desired_state_sha256: Option<String>,
    /// The SHA-256 of the saved plan applied, when there was one.
    pub plan_sha256: Option<String>,
    /// CI context from the environment: the variables of GitHub Actions, GitLab CI and Jenkins that are set.
    pub ci: std::collections::BTreeMap<String, String>,
}

impl AuditContext {
    /// A new run: a fresh run id, the digests given, and CI context read from the environment.
    pub fn new(desired_state_sha256: Option<String>, plan_sha256: Option<String>) -> Self {
        let ci = CI_VARIABLES
            .iter()
            .filter_map(|v| {
                std::env::var(v)
                    .ok()
                    .filter(|x| !x.is_empty())
                    .map(|x| (v.to_string(), x))
            })
            .collect();
        AuditContext {
            run_id: format!("{:016x}", fastrand::u64(..)),
            desired_state_sha256,
            plan_sha256,
            ci,
        }
    }
}

/// Appends the run's writes to a file (a [`WriteJournal`]; put it in
/// [`Guards::journal`](crate::membership::Guards::journal)).
#[derive(Debug)]
pub struct AuditLog {
    file: Mutex<File>,
    context: AuditContext,
}

#[derive(Serialize)]
struct Line<'a> {
    schema: u32,
    event: &'static str,
    time: String,
    #[serde(flatten)]
    context: &'a AuditContext,
    service: Service,
    group: &'a str,
    step: &'a Step<Member>,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    may_have_reached_server: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl AuditLog {
    /// Opens (creating) `path` for appending.
    ///
    /// # Errors
    /// [`Error::Config`] when the file cannot be opened.
    pub fn open(path: &Path, context: AuditContext) -> Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| {
                Error::Config(format!("cannot open the audit log {}: {e}", path.display()))
            })?;
        Ok(AuditLog {
            file: Mutex::new(file),
            context,
        })
    }

    /// The run's shared context.
    pub fn context(&self) -> &AuditContext {
        &self.context
    }

    fn append(&self, line: &Line<'_>, sync: bool) -> std::io::Result<()> {
        let mut text = serde_json::to_string(line).map_err(std::io::Error::other)?;
        text.push('\n');
        let mut file = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        file.write_all(text.as_bytes())?;
        file.flush()?;
        if sync {
            file.sync_data()?;
        }
        Ok(())
    }
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl WriteJournal for AuditLog {
    fn intent(&self, service: Service, group: &str, step: &Step<Member>) -> Result<()> {
        let line = Line {
            schema: AUDIT_SCHEMA,
            event: "intent",
            time: now(),
            context: &self.context,
            service,
            group,
            step,
            result: None,
            may_have_reached_server: None,
            error: None,
        };
        self.append(&line, true).map_err(|e| {
            Error::Config(format!(
                "the audit log could not record the intent, so the write was not sent: {e}"
            ))
        })
    }

    fn result(&self, service: Service, group: &str, step: &Step<Member>, result: &StepResult) {
        let (word, maybe, error) = match result {
            StepResult::Applied => ("applied", Some(true), None),
            StepResult::Failed {
                error,
                may_have_applied,
            } => ("failed", Some(*may_have_applied), Some(error.to_string())),
            StepResult::NotAttempted => ("not_attempted", Some(false), None),
            StepResult::Interrupted => ("interrupted", Some(false), None),
        };
        let line = Line {
            schema: AUDIT_SCHEMA,
            event: "result",
            time: now(),
            context: &self.context,
            service,
            group,
            step,
            result: Some(word),
            may_have_reached_server: maybe,
            error,
        };
        // A result that cannot be recorded is still in the run's report; the intent line is on disk.
        let _ = self.append(&line, false);
    }
}
