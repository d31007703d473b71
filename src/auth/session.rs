//! One login at a time, and a check for stale credentials: what Danube Cloud's token and Traffic Ops'
//! session cookie share.
//!
//! Many requests may find the credential missing or refused at once. Each calls [`LoginState::refresh`]
//! with the credential it presented; the first to take the lock logs in, and the others, once they get the
//! lock, see that the current credential is no longer the one they were refused with and log in no more.
//! How long a caller may wait for the lock and the login is bounded by its own call's deadline (the
//! pipeline runs the auth under that deadline).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::error::Result;

/// A credential obtained by logging in, shared by every request of the auths that hold it.
pub(crate) struct LoginState<C> {
    current: Mutex<Option<C>>,
    login_lock: tokio::sync::Mutex<()>,
    logins: AtomicU64,
}

impl<C> LoginState<C> {
    pub(crate) fn new() -> Self {
        LoginState {
            current: Mutex::new(None),
            login_lock: tokio::sync::Mutex::new(()),
            logins: AtomicU64::new(0),
        }
    }

    /// How many logins were made.
    pub(crate) fn logins(&self) -> u64 {
        self.logins.load(Ordering::SeqCst)
    }

    /// The current credential, locked for a short look or change (never held across an `await`).
    pub(crate) fn current(&self) -> MutexGuard<'_, Option<C>> {
        self.current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Logs in with `login` unless another caller already replaced the credential this one presented
    /// (`stale`, as `presented` renders it; `None` when it presented none).
    pub(crate) async fn refresh<F, Fut>(
        &self,
        presented: impl Fn(&C) -> Option<String>,
        stale: Option<&str>,
        login: F,
    ) -> Result<()>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<C>>,
    {
        let _single_flight = self.login_lock.lock().await;
        let now = self.current().as_ref().and_then(&presented);
        if now.is_some() && now.as_deref() != stale {
            return Ok(());
        }
        self.logins.fetch_add(1, Ordering::SeqCst);
        let fresh = login().await?;
        *self.current() = Some(fresh);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_refreshes_with_the_same_stale_credential_log_in_once() {
        let state = Arc::new(LoginState::<String>::new());
        *state.current() = Some("old".into());
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let state = state.clone();
                tokio::spawn(async move {
                    state
                        .refresh(
                            |c| Some(c.clone()),
                            Some("old"),
                            || async move {
                                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                                Ok(format!("new-{i}"))
                            },
                        )
                        .await
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert_eq!(state.logins(), 1);
        assert!(state.current().as_deref().unwrap().starts_with("new-"));
    }
}
