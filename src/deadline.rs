//! The request timeout of each attempt, on tokio's timer, with a client's timers kept for reuse.
//!
//! A timer made for one request and dropped after it (what reqwest's per-request timeout does) leaves the
//! runtime's timer wheel empty between calls, and registering the next one then wakes the thread parked on
//! the I/O driver to shorten its sleep: a context switch per call on a multi-thread runtime. A client keeps
//! the timers of its finished attempts (at most [`MAX_SPARE`], still in the wheel at their old deadlines)
//! and moves one to the next attempt's deadline, which is later: nothing to wake. Measured on the
//! `sdk` benchmark's loopback calls: about 1.5 fewer context switches and 2–3 µs less client CPU per call.
//!
//! A timer belongs to the runtime that made it (its deadline is kept by that runtime's driver), so the
//! kept timers are dropped when the client is used on another runtime, and an attempt outside any tokio
//! runtime gets no [`Deadline`] (the caller then lets reqwest time the request, as before). A kept timer
//! still holds the waker of the last task that used it: if it is not reused before its old deadline, it
//! wakes that task once, for nothing (futures are polled again harmlessly), and lets go of it.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::runtime::{Handle, Id};
use tokio::time::{Instant, Sleep};

/// How many finished attempts' timers a client keeps: enough for every call of a run in flight at once.
pub(crate) const MAX_SPARE: usize = 256;

/// A client's spare timers, shared by its clones.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    spare: Mutex<Spare>,
}

#[derive(Debug, Default)]
struct Spare {
    /// The runtime the timers belong to.
    runtime: Option<Id>,
    timers: Vec<Pin<Box<Sleep>>>,
}

impl Timers {
    #[inline]
    fn spare(&self) -> MutexGuard<'_, Spare> {
        // A list of timers: a panic elsewhere while holding the lock leaves it usable.
        self.spare.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A deadline `limit` from now, on the current runtime's timer; `None` outside a tokio runtime.
    #[inline]
    pub(crate) fn start(&self, limit: Duration) -> Option<Deadline<'_>> {
        let runtime = Handle::try_current().ok()?.id();
        let at = Instant::now() + limit;
        let kept = {
            let mut spare = self.spare();
            if spare.runtime != Some(runtime) {
                spare.timers.clear();
                spare.runtime = Some(runtime);
            }
            spare.timers.pop()
        };
        let sleep = match kept {
            Some(mut sleep) => {
                sleep.as_mut().reset(at);
                sleep
            }
            None => Box::pin(tokio::time::sleep_until(at)),
        };
        Some(Deadline {
            timers: self,
            runtime,
            sleep: Some(sleep),
        })
    }

    #[cfg(test)]
    fn kept(&self) -> usize {
        self.spare().timers.len()
    }
}

/// One attempt's deadline. Its timer goes back to the client when it is dropped.
#[derive(Debug)]
pub(crate) struct Deadline<'t> {
    timers: &'t Timers,
    runtime: Id,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl Drop for Deadline<'_> {
    #[inline]
    fn drop(&mut self) {
        let Some(sleep) = self.sleep.take() else {
            return;
        };
        let mut spare = self.timers.spare();
        if spare.runtime == Some(self.runtime) && spare.timers.len() < MAX_SPARE {
            spare.timers.push(sleep);
        }
    }
}

/// Runs `work` until it is done (`Some`) or `deadline` passes (`None`), whichever comes first; without a
/// deadline, to the end. Work that is ready is never refused.
///
/// `work` is pinned by the caller (`std::pin::pin!`), so that this future is a few words and the work is
/// not moved again: a call's futures nest, and each byte of a future is copied at every move.
#[inline]
pub(crate) fn within<'w, F: Future>(
    deadline: &'w mut Option<Deadline<'_>>,
    work: Pin<&'w mut F>,
) -> Within<'w, F> {
    Within {
        sleep: deadline.as_mut().and_then(|d| d.sleep.as_mut()),
        work,
    }
}

/// The future of [`within`].
pub(crate) struct Within<'w, F> {
    sleep: Option<&'w mut Pin<Box<Sleep>>>,
    work: Pin<&'w mut F>,
}

impl<F: Future> Future for Within<'_, F> {
    type Output = Option<F::Output>;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(done) = self.work.as_mut().poll(cx) {
            return Poll::Ready(Some(done));
        }
        match self.sleep.as_mut() {
            Some(sleep) => sleep.as_mut().poll(cx).map(|()| None),
            None => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::pin;

    #[tokio::test(start_paused = true)]
    async fn work_that_outlasts_the_deadline_is_cut_short_and_ready_work_is_not() {
        let timers = Timers::default();
        let started = Instant::now();
        let mut deadline = timers.start(Duration::from_secs(1));
        assert_eq!(within(&mut deadline, pin!(async { 7 })).await, Some(7));
        let slow = pin!(tokio::time::sleep(Duration::from_secs(2)));
        assert_eq!(within(&mut deadline, slow).await, None);
        assert_eq!(started.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_kept_timer_whose_old_deadline_passed_times_the_next_attempt_from_its_start() {
        let timers = Timers::default();
        drop(timers.start(Duration::from_millis(100)).unwrap());
        assert_eq!(timers.kept(), 1);
        // The kept timer fires at its old deadline while nobody uses it.
        tokio::time::sleep(Duration::from_secs(5)).await;
        let started = Instant::now();
        let mut deadline = timers.start(Duration::from_millis(300));
        assert_eq!(timers.kept(), 0, "the kept timer was reused");
        let shorter = pin!(tokio::time::sleep(Duration::from_millis(200)));
        assert_eq!(
            within(&mut deadline, shorter).await,
            Some(()),
            "not fired at once"
        );
        let never = pin!(std::future::pending::<()>());
        assert_eq!(within(&mut deadline, never).await, None);
        assert_eq!(started.elapsed(), Duration::from_millis(300));
    }

    #[tokio::test]
    async fn at_most_max_spare_timers_are_kept() {
        let timers = Timers::default();
        let many: Vec<_> = (0..MAX_SPARE + 3)
            .map(|_| timers.start(Duration::from_secs(30)).unwrap())
            .collect();
        drop(many);
        assert_eq!(timers.kept(), MAX_SPARE);
    }

    #[test]
    fn timers_kept_on_one_runtime_are_not_used_on_another() {
        let timers = Timers::default();
        let first = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        first.block_on(async { drop(timers.start(Duration::from_secs(30)).unwrap()) });
        assert_eq!(timers.kept(), 1);
        drop(first);
        let second = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        second.block_on(async {
            let mut deadline = timers.start(Duration::from_millis(50));
            assert_eq!(timers.kept(), 0, "the first runtime's timer was dropped");
            let never = pin!(std::future::pending::<()>());
            assert_eq!(within(&mut deadline, never).await, None);
        });
    }

    /// Work that wakes its task at every poll and never ends: the attempt is polled again and again by the
    /// same task.
    struct Restless;

    impl Future for Restless {
        type Output = ();
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    // On the real clock: a paused one moves only while the runtime is idle, and this task never lets it be.
    #[tokio::test]
    async fn a_deadline_passes_while_the_same_task_polls_the_attempt_again_and_again() {
        let timers = Timers::default();
        let started = Instant::now();
        let mut deadline = timers.start(Duration::from_millis(50));
        assert_eq!(within(&mut deadline, pin!(Restless)).await, None);
        assert!(started.elapsed() >= Duration::from_millis(50));
    }

    /// A waker that counts its wakes.
    #[derive(Default)]
    struct Counted(std::sync::atomic::AtomicUsize);

    impl std::task::Wake for Counted {
        fn wake(self: std::sync::Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &std::sync::Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    impl Counted {
        fn wakes(&self) -> usize {
            self.0.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_passing_deadline_wakes_the_waker_the_attempt_was_polled_with_last() {
        use std::sync::Arc;
        let timers = Timers::default();
        let mut deadline = timers.start(Duration::from_millis(100));
        let never = pin!(std::future::pending::<()>());
        let mut attempt = within(&mut deadline, never);
        let (first, second) = (Arc::new(Counted::default()), Arc::new(Counted::default()));
        for waker in [&first, &first, &second] {
            let waker = std::task::Waker::from(Arc::clone(waker));
            let polled = Pin::new(&mut attempt).poll(&mut Context::from_waker(&waker));
            assert!(polled.is_pending());
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(
            (first.wakes(), second.wakes()),
            (0, 1),
            "the deadline woke the task that polled the attempt last, once"
        );
        let waker = std::task::Waker::from(Arc::clone(&second));
        let polled = Pin::new(&mut attempt).poll(&mut Context::from_waker(&waker));
        assert_eq!(polled, Poll::Ready(None));
    }

    /// Work that spends all of its task's cooperative budget the first time it is polled, then waits forever
    /// without waking anyone.
    struct SpendsTheBudgetOnce(bool);

    impl Future for SpendsTheBudgetOnce {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if !self.0 {
                self.0 = true;
                // Budget units are spent until tokio says the task must yield (it then wakes the task).
                while tokio::task::coop::has_budget_remaining() {
                    let spend = pin!(tokio::task::coop::consume_budget());
                    if spend.poll(cx).is_pending() {
                        break;
                    }
                }
            }
            Poll::Pending
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_first_polled_out_of_budget_still_passes() {
        let timers = Timers::default();
        let started = Instant::now();
        let mut deadline = timers.start(Duration::from_millis(100));
        let work = pin!(SpendsTheBudgetOnce(false));
        let attempt = within(&mut deadline, work);
        // Out of budget, the timer yields without taking the waker: it must be polled again later.
        let guarded = tokio::time::timeout(Duration::from_secs(10), attempt).await;
        assert_eq!(guarded, Ok(None), "the attempt's own deadline ended it");
        assert_eq!(started.elapsed(), Duration::from_millis(100));
    }

    #[test]
    fn outside_a_runtime_there_is_no_deadline_and_work_runs_to_the_end() {
        let timers = Timers::default();
        let mut deadline = timers.start(Duration::from_secs(1));
        assert!(deadline.is_none());
        let seven = pin!(async { 7 });
        let work = within(&mut deadline, seven);
        assert_eq!(futures_util::FutureExt::now_or_never(work), Some(Some(7)));
    }
}
