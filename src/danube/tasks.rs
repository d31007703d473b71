//! Asynchronous tasks: `GET /api/task/{task_id}/status/`, and waiting for one with a deadline.
//!
//! Group calls are synchronous and never need this; other Danube endpoints answer 201 with a `PENDING` or
//! `STARTED` status and a `task_id` to poll.

use std::time::Duration;

use http::{Method, StatusCode};

use super::Danube;
use crate::error::{Error, Result};
use crate::path::check_segment;

/// Where a task stands.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum TaskOutcome {
    /// Done (HTTP 200): the task's `result`.
    Succeeded(serde_json::Value),
    /// Failed (HTTP 400): the task's `result`, usually the reason.
    Failed(serde_json::Value),
    /// Revoked (HTTP 410).
    Revoked,
    /// Still pending or started (HTTP 201) — when polling once, or when the deadline passed.
    Running {
        /// The status text the server gave (`PENDING`, `STARTED`, ...).
        status: String,
    },
}

/// Task status and waiting: a cheap borrowed handle from [`Danube::tasks`](super::Danube::tasks).
#[derive(Debug, Clone)]
pub struct Tasks<'c> {
    api: Danube<'c>,
}

impl<'c> Tasks<'c> {
    pub(crate) fn new(api: Danube<'c>) -> Self {
        Tasks { api }
    }

    /// Polls a task once.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for an empty task ID; the service's refusal as [`Error::Api`](crate::Error::Api), no answer as [`Error::Transport`](crate::Error::Transport); for waiting, [`Error::Transport`](crate::Error::Transport) of kind `Timeout` once the deadline passed.
    pub async fn status(&self, task_id: &str) -> Result<TaskOutcome> {
        check_segment("task ID", task_id)?;
        let request = self.api.route(Method::GET, "task/{}/status", &[task_id]);
        let envelope = match request.send().await {
            Ok(response) => (response.status(), response.json::<serde_json::Value>()?),
            Err(Error::Api(api)) if api.status() == StatusCode::GONE => {
                return Ok(TaskOutcome::Revoked);
            }
            Err(Error::Api(api)) if api.status() == StatusCode::BAD_REQUEST => {
                let body: serde_json::Value =
                    serde_json::from_slice(api.body().bytes()).unwrap_or_default();
                if body.get("status").is_some() {
                    return Ok(TaskOutcome::Failed(
                        body.get("result").cloned().unwrap_or_default(),
                    ));
                }
                return Err(Error::Api(api));
            }
            Err(other) => return Err(other),
        };
        let (status, body) = envelope;
        let text = body
            .get("status")
            .and_then(|s| s.as_str())
            .unwrap_or_default()
            .to_string();
        Ok(match status {
            StatusCode::OK => {
                TaskOutcome::Succeeded(body.get("result").cloned().unwrap_or_default())
            }
            _ => TaskOutcome::Running { status: text },
        })
    }

    /// Polls a task every `interval` until it ends or `deadline` passes; then returns the last
    /// [`TaskOutcome::Running`] (the task goes on server-side: nothing is cancelled).
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for an empty task ID; the service's refusal as [`Error::Api`](crate::Error::Api), no answer as [`Error::Transport`](crate::Error::Transport); for waiting, [`Error::Transport`](crate::Error::Transport) of kind `Timeout` once the deadline passed.
    pub async fn wait(
        &self,
        task_id: &str,
        deadline: Duration,
        interval: Duration,
    ) -> Result<TaskOutcome> {
        let timer = &self.api.client.inner.timer;
        let started = timer.now();
        loop {
            let outcome = self.status(task_id).await?;
            if !matches!(outcome, TaskOutcome::Running { .. }) {
                return Ok(outcome);
            }
            let elapsed = timer.now().saturating_sub(started);
            if elapsed >= deadline {
                return Ok(outcome);
            }
            timer.sleep(interval.min(deadline - elapsed)).await;
        }
    }
}
