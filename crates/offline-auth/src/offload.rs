//! Blocking work awaited from any async runtime: the work runs on a thread
//! of its own and a small future waits for its result.
//!
//! UniFFI drives the futures of `#[uniffi::export] async fn` from the foreign
//! side (Kotlin coroutines, Swift tasks, Python asyncio), not from a Rust
//! runtime, so the offload must not assume one. A thread per call suits the
//! calls that use it: each runs a PIN KDF, a keystore prompt or a batch, far
//! longer than starting a thread.
//!
//! # Cancellation
//! Dropping the future does not stop the work: it runs to its end on its
//! thread and its result is dropped. A PIN attempt that was cancelled has
//! therefore still been counted (and, if the PIN was right, reset the
//! count); a wipe still happens.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use crate::error::VaultError;

type Outcome<T> = Result<T, VaultError>;

struct Slot<T> {
    outcome: Option<Outcome<T>>,
    finished: bool,
    waker: Option<Waker>,
}

/// The future of one offloaded call.
pub(crate) struct Offloaded<T> {
    slot: Arc<Mutex<Slot<T>>>,
}

/// Marks the slot finished and wakes the waiter when the worker ends, also
/// if the work panicked (then no outcome was stored).
struct FinishOnDrop<T> {
    slot: Arc<Mutex<Slot<T>>>,
}

impl<T> Drop for FinishOnDrop<T> {
    fn drop(&mut self) {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        slot.finished = true;
        if let Some(waker) = slot.waker.take() {
            waker.wake();
        }
    }
}

/// Starts `work` on a new thread; the returned future resolves to its
/// outcome. If no thread can be started the work runs here, in the caller.
pub(crate) fn run<T, F>(work: F) -> Offloaded<T>
where
    T: Send + 'static,
    F: FnOnce() -> Outcome<T> + Send + 'static,
{
    let slot = Arc::new(Mutex::new(Slot { outcome: None, finished: false, waker: None }));
    let job = {
        let slot = slot.clone();
        move || {
            let guard = FinishOnDrop { slot };
            let outcome = work();
            guard.slot.lock().unwrap_or_else(PoisonError::into_inner).outcome = Some(outcome);
        }
    };
    // `spawn` hands the closure back only through its error, which does not
    // carry it; so the fallback runs a second closure sharing the work.
    let shared = Arc::new(Mutex::new(Some(job)));
    let for_thread = shared.clone();
    let take = move || for_thread.lock().unwrap_or_else(PoisonError::into_inner).take();
    let spawned = std::thread::Builder::new().name("offline-auth-call".into()).spawn(move || {
        if let Some(job) = take() {
            job();
        }
    });
    if spawned.is_err() {
        if let Some(job) = shared.lock().unwrap_or_else(PoisonError::into_inner).take() {
            job();
        }
    }
    Offloaded { slot }
}

impl<T> Future for Offloaded<T> {
    type Output = Outcome<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(outcome) = slot.outcome.take() {
            return Poll::Ready(outcome);
        }
        if slot.finished {
            return Poll::Ready(Err(VaultError::Storage { reason: "the call's worker thread stopped".into() }));
        }
        slot.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The outcomes of calls that return are tested through the `_async`
    // exports (tests/integration/async_calls_run_off_the_callers_thread.rs); a panic
    // cannot be provoked through them.
    #[test]
    #[allow(clippy::panic)]
    fn a_panicking_worker_ends_the_future_with_an_error() {
        let mut future = std::pin::pin!(run::<(), _>(|| panic!("worker failed")));
        let mut cx = Context::from_waker(Waker::noop());
        let outcome = loop {
            if let Poll::Ready(outcome) = future.as_mut().poll(&mut cx) {
                break outcome;
            }
            std::thread::yield_now();
        };
        assert!(matches!(outcome, Err(VaultError::Storage { .. })));
    }
}
