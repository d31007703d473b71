//! Retry policy: a pure decision from what happened to "wait this long and try again" or "stop".
//!
//! The request pipeline asks [`RetryPolicy::decide`] after every failed attempt. The decision uses only its
//! arguments (the random jitter is passed in), so it is tested without HTTP.
//!
//! What is retried:
//!
//! | outcome | idempotent request (GET, PUT, DELETE) | other requests (POST, PATCH) |
//! |---|---|---|
//! | HTTP 429, 502, 503, 504 | retried | never: the server may have acted |
//! | connect failure (nothing was sent) | retried | retried |
//! | timeout, connection lost mid-request | retried | never: the request may have reached the server |
//! | any other status | never | never |
//!
//! The wait is exponential backoff with full jitter (`random(0, min(max_backoff, initial_backoff * 2^(n-1)))`),
//! unless the server sent `Retry-After` (seconds or an HTTP date), which is honoured, clamped to
//! `max_retry_after`. Attempts stop at `max_attempts`, and no wait is started that would pass `max_elapsed`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use http::StatusCode;

/// When and how often a request is tried again. Cheap to clone.
///
/// ```
/// use std::time::Duration;
/// use group_membership::RetryPolicy;
///
/// let policy = RetryPolicy::default()
///     .with_max_attempts(5)
///     .with_initial_backoff(Duration::from_millis(100))
///     .with_max_backoff(Duration::from_secs(5));
/// assert_eq!(policy.max_attempts(), 5);
/// assert_eq!(RetryPolicy::never().max_attempts(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_retry_after: Duration,
    max_elapsed: Option<Duration>,
}

impl Default for RetryPolicy {
    /// 3 attempts, backoff from 200 ms capped at 5 s, `Retry-After` honoured up to 30 s, no overall limit.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
            max_elapsed: None,
        }
    }
}

/// What happened on one attempt, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttemptOutcome {
    /// The server answered with a non-success status.
    Status {
        /// The status code.
        status: StatusCode,
        /// The server's `Retry-After`, already turned into a duration.
        retry_after: Option<Duration>,
    },
    /// No connection could be made: the request was certainly not sent.
    ConnectFailed,
    /// A timeout passed after the request may have been sent.
    TimedOut,
    /// The connection failed after the request may have been sent.
    ConnectionLost,
    /// The server's TLS certificate was refused: never retried (the same certificate would come back).
    CertificateRefused,
}

/// The decision for one failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Wait this long, then try again.
    RetryAfter(Duration),
    /// Do not try again; return the error.
    Stop,
}

impl RetryPolicy {
    /// The default policy (see [`Default`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// A policy that never retries: one attempt only.
    pub fn never() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Total attempts, the first included (at least 1).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }
    /// The backoff ceiling of the first retry; it doubles for each further retry.
    pub fn with_initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }
    /// The cap on any computed backoff.
    pub fn with_max_backoff(mut self, cap: Duration) -> Self {
        self.max_backoff = cap;
        self
    }
    /// The longest `Retry-After` honoured; longer ones are clamped to this.
    pub fn with_max_retry_after(mut self, cap: Duration) -> Self {
        self.max_retry_after = cap;
        self
    }
    /// No retry is started whose wait would end more than this long after the first attempt began.
    pub fn with_max_elapsed(mut self, limit: Duration) -> Self {
        self.max_elapsed = Some(limit);
        self
    }

    /// Total attempts allowed.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }
    /// The first retry's backoff ceiling.
    pub fn initial_backoff(&self) -> Duration {
        self.initial_backoff
    }
    /// The cap on computed backoff.
    pub fn max_backoff(&self) -> Duration {
        self.max_backoff
    }
    /// The cap on an honoured `Retry-After`.
    pub fn max_retry_after(&self) -> Duration {
        self.max_retry_after
    }
    /// The overall time limit, if any.
    pub fn max_elapsed(&self) -> Option<Duration> {
        self.max_elapsed
    }

    /// Decides what to do after attempt number `attempt` (1-based) failed with `outcome`.
    ///
    /// `idempotent` says whether repeating the request is harmless; `elapsed` is the time since the first
    /// attempt began; `jitter` is a random number in `[0, 1)` that picks the wait within the backoff window.
    ///
    /// ```
    /// use std::time::Duration;
    /// use http::StatusCode;
    /// use group_membership::{AttemptOutcome, RetryDecision, RetryPolicy};
    ///
    /// let policy = RetryPolicy::default();
    /// let busy = AttemptOutcome::Status { status: StatusCode::SERVICE_UNAVAILABLE, retry_after: None };
    /// // A GET is retried, with a wait inside the first backoff window ...
    /// assert!(matches!(policy.decide(busy, 1, true, Duration::ZERO, 0.5),
    ///     RetryDecision::RetryAfter(d) if d <= policy.initial_backoff()));
    /// // ... a POST is not: the server may have acted on it.
    /// assert_eq!(policy.decide(busy, 1, false, Duration::ZERO, 0.5), RetryDecision::Stop);
    /// ```
    pub fn decide(
        &self,
        outcome: AttemptOutcome,
        attempt: u32,
        idempotent: bool,
        elapsed: Duration,
        jitter: f64,
    ) -> RetryDecision {
        if attempt >= self.max_attempts {
            return RetryDecision::Stop;
        }
        let retry_after = match outcome {
            AttemptOutcome::ConnectFailed => None,
            AttemptOutcome::TimedOut | AttemptOutcome::ConnectionLost if idempotent => None,
            AttemptOutcome::Status {
                status,
                retry_after,
            } if idempotent && is_retryable_status(status) => retry_after,
            _ => return RetryDecision::Stop,
        };
        let wait = match retry_after {
            Some(asked) => asked.min(self.max_retry_after),
            None => self.backoff_window(attempt).mul_f64(jitter.clamp(0.0, 1.0)),
        };
        if let Some(limit) = self.max_elapsed
            && elapsed.saturating_add(wait) > limit
        {
            return RetryDecision::Stop;
        }
        RetryDecision::RetryAfter(wait)
    }

    /// The ceiling of the wait after attempt `attempt`: `min(max_backoff, initial_backoff * 2^(attempt-1))`.
    pub fn backoff_window(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(31);
        self.initial_backoff
            .saturating_mul(1u32 << exp)
            .min(self.max_backoff)
    }
}

/// The statuses worth retrying for an idempotent request.
pub(crate) fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 502 | 503 | 504)
}

/// Parses a `Retry-After` value: delay-seconds, or an HTTP date measured from `now` (a past date is zero).
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use group_membership::retry::parse_retry_after;
///
/// assert_eq!(parse_retry_after("7", SystemTime::now()), Some(Duration::from_secs(7)));
/// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// assert_eq!(parse_retry_after("Tue, 14 Nov 2023 22:13:30 GMT", now), Some(Duration::from_secs(10)));
/// assert_eq!(parse_retry_after("soon", now), None);
/// ```
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A rate a service is known to allow a client (per user, per key): at most `requests` in any `per`. A
/// client with one ([`ClientBuilder::request_budget`](crate::ClientBuilder::request_budget)) sends no
/// request past it (it waits instead), across all its clones and concurrent calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestBudget {
    /// Requests allowed in any window.
    pub requests: u32,
    /// The window.
    pub per: Duration,
}

impl RequestBudget {
    /// `requests` in any `per` (at least 1 request).
    pub fn new(requests: u32, per: Duration) -> Self {
        RequestBudget {
            requests: requests.max(1),
            per,
        }
    }

    /// Danube Cloud's per-user limit: 45 requests in any 60 s.
    pub const DANUBE_CLOUD: RequestBudget = RequestBudget {
        requests: 45,
        per: Duration::from_secs(60),
    };
}

/// How a client waits between attempts, and the clock its overall time limit
/// ([`RetryPolicy::with_max_elapsed`]) is measured on. The default, [`TokioTimer`], waits on tokio's timer.
/// Tests — this crate's and yours — use a [`VirtualTimer`]: it records every wait and returns at once, so
/// a test asserts the exact waits (a `Retry-After` honoured, a backoff capped) instead of measuring wall
/// time. Set it with [`ClientBuilder::timer`](crate::ClientBuilder::timer).
///
/// (One attempt's own timeout is the HTTP client's and stays on the wall clock.)
pub trait Timer: Send + Sync + fmt::Debug {
    /// Monotonic time since some fixed point.
    fn now(&self) -> Duration;
    /// Waits `duration`.
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>>;
}

/// Waits on tokio's timer; the clock is the wall clock's monotonic time.
#[derive(Debug, Clone, Copy)]
pub struct TokioTimer {
    origin: Instant,
}

impl Default for TokioTimer {
    fn default() -> Self {
        TokioTimer {
            origin: Instant::now(),
        }
    }
}

impl Timer for TokioTimer {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A clock that moves only when waited on: each [`sleep`](Timer::sleep) is recorded, advances the clock by
/// its duration and returns at once. Clones share the clock and the record.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::time::Duration;
/// use group_membership::retry::{Timer, VirtualTimer};
///
/// let timer = VirtualTimer::new();
/// timer.sleep(Duration::from_secs(59)).await; // returns at once
/// assert_eq!(timer.waits(), [Duration::from_secs(59)]);
/// assert_eq!(timer.now(), Duration::from_secs(59));
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct VirtualTimer {
    state: Arc<Mutex<VirtualState>>,
}

#[derive(Debug, Default)]
struct VirtualState {
    now: Duration,
    waits: Vec<Duration>,
}

impl VirtualTimer {
    /// A clock at zero with no waits recorded.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every wait so far, in order.
    pub fn waits(&self) -> Vec<Duration> {
        self.state().waits.clone()
    }

    /// Moves the clock forward without a wait (time spent elsewhere).
    pub fn advance(&self, by: Duration) {
        self.state().now += by;
    }

    fn state(&self) -> std::sync::MutexGuard<'_, VirtualState> {
        // A poisoned lock only means a panic elsewhere while holding it; the numbers are still whole.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Timer for VirtualTimer {
    fn now(&self) -> Duration {
        self.state().now
    }
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        let mut state = self.state();
        state.now += duration;
        state.waits.push(duration);
        Box::pin(std::future::ready(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNAVAILABLE: AttemptOutcome = AttemptOutcome::Status {
        status: StatusCode::SERVICE_UNAVAILABLE,
        retry_after: None,
    };

    #[test]
    fn retries_only_listed_statuses() {
        let p = RetryPolicy::default();
        for code in [429u16, 502, 503, 504] {
            let o = AttemptOutcome::Status {
                status: StatusCode::from_u16(code).unwrap(),
                retry_after: None,
            };
            assert!(
                matches!(
                    p.decide(o, 1, true, Duration::ZERO, 0.3),
                    RetryDecision::RetryAfter(_)
                ),
                "{code}"
            );
        }
        for code in [400u16, 401, 403, 404, 409, 500, 501] {
            let o = AttemptOutcome::Status {
                status: StatusCode::from_u16(code).unwrap(),
                retry_after: None,
            };
            assert_eq!(
                p.decide(o, 1, true, Duration::ZERO, 0.3),
                RetryDecision::Stop,
                "{code}"
            );
        }
    }

    #[test]
    fn non_idempotent_requests_retry_only_when_nothing_was_sent() {
        let p = RetryPolicy::default();
        assert!(matches!(
            p.decide(AttemptOutcome::ConnectFailed, 1, false, Duration::ZERO, 0.0),
            RetryDecision::RetryAfter(_)
        ));
        for o in [
            AttemptOutcome::TimedOut,
            AttemptOutcome::ConnectionLost,
            UNAVAILABLE,
        ] {
            assert_eq!(
                p.decide(o, 1, false, Duration::ZERO, 0.5),
                RetryDecision::Stop
            );
            assert!(matches!(
                p.decide(o, 1, true, Duration::ZERO, 0.5),
                RetryDecision::RetryAfter(_)
            ));
        }
    }

    #[test]
    fn attempts_are_limited() {
        let p = RetryPolicy::default().with_max_attempts(2);
        assert!(matches!(
            p.decide(UNAVAILABLE, 1, true, Duration::ZERO, 0.5),
            RetryDecision::RetryAfter(_)
        ));
        assert_eq!(
            p.decide(UNAVAILABLE, 2, true, Duration::ZERO, 0.5),
            RetryDecision::Stop
        );
        assert_eq!(
            RetryPolicy::never().decide(UNAVAILABLE, 1, true, Duration::ZERO, 0.5),
            RetryDecision::Stop
        );
    }

    #[test]
    fn backoff_is_exponential_capped_and_jittered_within_the_window() {
        let p = RetryPolicy::default()
            .with_max_attempts(20)
            .with_initial_backoff(Duration::from_millis(100))
            .with_max_backoff(Duration::from_secs(1));
        assert_eq!(p.backoff_window(1), Duration::from_millis(100));
        assert_eq!(p.backoff_window(2), Duration::from_millis(200));
        assert_eq!(p.backoff_window(4), Duration::from_millis(800));
        assert_eq!(p.backoff_window(5), Duration::from_secs(1));
        assert_eq!(p.backoff_window(19), Duration::from_secs(1));
        for attempt in 1..19 {
            for jitter in [0.0, 0.25, 0.999] {
                match p.decide(UNAVAILABLE, attempt, true, Duration::ZERO, jitter) {
                    RetryDecision::RetryAfter(d) => assert!(d <= p.backoff_window(attempt)),
                    RetryDecision::Stop => panic!("attempt {attempt} should retry"),
                }
            }
        }
        assert_eq!(
            p.decide(UNAVAILABLE, 1, true, Duration::ZERO, 0.0),
            RetryDecision::RetryAfter(Duration::ZERO)
        );
    }

    #[test]
    fn retry_after_is_honoured_and_clamped() {
        let p = RetryPolicy::default().with_max_retry_after(Duration::from_secs(10));
        let asked = |s| AttemptOutcome::Status {
            status: StatusCode::TOO_MANY_REQUESTS,
            retry_after: Some(Duration::from_secs(s)),
        };
        assert_eq!(
            p.decide(asked(3), 1, true, Duration::ZERO, 0.9),
            RetryDecision::RetryAfter(Duration::from_secs(3))
        );
        assert_eq!(
            p.decide(asked(3600), 1, true, Duration::ZERO, 0.9),
            RetryDecision::RetryAfter(Duration::from_secs(10))
        );
    }

    #[test]
    fn max_elapsed_stops_a_wait_that_would_pass_it() {
        let p = RetryPolicy::default().with_max_elapsed(Duration::from_secs(5));
        let asked = AttemptOutcome::Status {
            status: StatusCode::TOO_MANY_REQUESTS,
            retry_after: Some(Duration::from_secs(3)),
        };
        assert!(matches!(
            p.decide(asked, 1, true, Duration::from_secs(1), 0.0),
            RetryDecision::RetryAfter(_)
        ));
        assert_eq!(
            p.decide(asked, 1, true, Duration::from_secs(3), 0.0),
            RetryDecision::Stop
        );
    }

    #[test]
    fn retry_after_dates_in_the_past_mean_now() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 2015 00:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after(" 12 ", now),
            Some(Duration::from_secs(12))
        );
        assert_eq!(parse_retry_after("-1", now), None);
    }
}
