//! One pacer per client (shared by its clones and by every group of a run): after a 429 the whole
//! connection waits out its `Retry-After` instead of each call retrying on its own, and with a known
//! budget ([`RequestBudget`]) no request is sent that would exceed it.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::retry::RequestBudget;

/// When the next request of a connection may go.
#[derive(Debug, Default)]
pub(crate) struct Pacer {
    budget: Option<RequestBudget>,
    /// No request before this time (nanoseconds on the client's timer): the server said to wait. Outside
    /// the lock, so that a client without a budget takes no lock per request (its calls run on every
    /// worker thread).
    resume_at: AtomicU64,
    state: Mutex<PaceState>,
}

#[derive(Debug, Default)]
struct PaceState {
    /// When the requests of the budget's window were answered. A request counts from when it is reserved,
    /// and its time is the time of its answer: the server counts it when it arrives, which is after it
    /// was sent and before it was answered, so a slot never frees before the server's does.
    answered: VecDeque<Duration>,
    /// Requests reserved and not yet answered.
    in_flight: usize,
}

/// How long a caller waits before asking again while every slot of the budget is in flight.
const IN_FLIGHT_POLL: Duration = Duration::from_millis(100);

impl Pacer {
    pub(crate) fn new(budget: Option<RequestBudget>) -> Self {
        Pacer {
            budget,
            resume_at: AtomicU64::new(0),
            state: Mutex::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, PaceState> {
        // Plain numbers: a panic elsewhere while holding the lock leaves them usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `None`: a request may go now (it is counted against the budget until [`answered`](Self::answered));
    /// otherwise how long to wait before asking again.
    pub(crate) fn reserve(&self, now: Duration) -> Option<Duration> {
        if let Some(wait) = self.paused(now) {
            return Some(wait);
        }
        let budget = self.budget?;
        let mut state = self.state();
        // Asked again under the lock: a 429 recorded meanwhile holds this request back too.
        if let Some(wait) = self.paused(now) {
            return Some(wait);
        }
        while state
            .answered
            .front()
            .is_some_and(|t| now.saturating_sub(*t) >= budget.per)
        {
            state.answered.pop_front();
        }
        if state.answered.len() + state.in_flight < budget.requests as usize {
            state.in_flight += 1;
            return None;
        }
        Some(match state.answered.front() {
            Some(oldest) => (*oldest + budget.per)
                .saturating_sub(now)
                .max(Duration::from_millis(1)),
            None => IN_FLIGHT_POLL,
        })
    }

    /// A request reserved with [`reserve`](Self::reserve) was answered (or failed) at `now`.
    pub(crate) fn answered(&self, now: Duration) {
        if self.budget.is_none() {
            return;
        }
        let mut state = self.state();
        state.in_flight = state.in_flight.saturating_sub(1);
        state.answered.push_back(now);
    }

    /// The server throttled a request at `now` and asked to wait `wait`: no request of this connection
    /// goes before then.
    pub(crate) fn throttled(&self, now: Duration, wait: Duration) {
        let until = u64::try_from(now.saturating_add(wait).as_nanos()).unwrap_or(u64::MAX);
        self.resume_at.fetch_max(until, Ordering::Relaxed);
    }

    /// Whether the connection is paused by a 429 at `now`, and for how long.
    fn paused(&self, now: Duration) -> Option<Duration> {
        let resume_at = Duration::from_nanos(self.resume_at.load(Ordering::Relaxed));
        (resume_at > now).then(|| resume_at - now)
    }

    /// True for a client without a budget that was never throttled: no request ever waits (no clock read).
    #[inline]
    pub(crate) fn never_waits(&self) -> bool {
        self.budget.is_none() && self.resume_at.load(Ordering::Relaxed) == 0
    }

    /// Whether answers need to be counted (the client has a budget).
    #[inline]
    pub(crate) fn counts_answers(&self) -> bool {
        self.budget.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_spaces_requests_and_a_429_pauses_the_connection() {
        let s = Duration::from_secs;
        let pacer = Pacer::new(Some(RequestBudget::new(2, s(60))));
        assert_eq!(pacer.reserve(s(0)), None);
        assert_eq!(pacer.reserve(s(0)), None);
        assert_eq!(
            pacer.reserve(s(1)),
            Some(IN_FLIGHT_POLL),
            "both slots in flight"
        );
        pacer.answered(s(1));
        pacer.answered(s(10));
        assert_eq!(
            pacer.reserve(s(20)),
            Some(s(41)),
            "the first answer leaves the window at 61 s"
        );
        assert_eq!(pacer.reserve(s(61)), None, "a slot came back");
        pacer.answered(s(61));
        pacer.throttled(s(61), s(30));
        assert_eq!(pacer.reserve(s(62)), Some(s(29)));
        assert_eq!(pacer.reserve(s(91)), None);
        let unpaced = Pacer::new(None);
        for t in 0..100 {
            assert_eq!(unpaced.reserve(s(t)), None);
        }
    }
}
