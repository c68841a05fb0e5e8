//! A counting semaphore bounding concurrent evaluations (and so pool usage and CPU). Taking a
//! free slot is one atomic operation, and so is giving it back while nobody waits; only a
//! saturated engine waits on (and signals) the condition variable.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

pub(crate) struct Slots {
    in_use: AtomicUsize,
    /// Callers inside the waiting loop of [`Slots::acquire`]. A release signals the condition
    /// variable only when this is non-zero: `notify_one` is a system call even with no waiter.
    waiting: AtomicUsize,
    waiters: Mutex<()>,
    freed: Condvar,
    max: usize,
}

/// A held slot; released on drop.
pub(crate) struct Slot<'a>(&'a Slots);

impl Slots {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            in_use: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            waiters: Mutex::new(()),
            freed: Condvar::new(),
            max: max.max(1),
        }
    }

    fn try_take(&self) -> bool {
        self.in_use
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.max).then_some(n + 1)
            })
            .is_ok()
    }

    /// Waits up to `wait` for a free slot.
    pub(crate) fn acquire(&self, wait: Duration) -> Option<Slot<'_>> {
        if self.try_take() {
            return Some(Slot(self));
        }
        let deadline = Instant::now() + wait;
        let mut guard = self.waiters.lock().ok()?;
        // Registered before the next `try_take` (both sequentially consistent, as is the
        // release's decrement and its read of `waiting`): either that `try_take` sees the freed
        // slot or the release sees a waiter and signals. The 1 ms bound below backs this up.
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let _registered = Waiting(&self.waiting);
        loop {
            if self.try_take() {
                return Some(Slot(self));
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            // Bounded waits: a release between `try_take` and `wait` cannot strand us.
            guard = self
                .freed
                .wait_timeout(guard, left.min(Duration::from_millis(1)))
                .ok()?
                .0;
        }
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.in_use.fetch_sub(1, Ordering::SeqCst);
        if self.0.waiting.load(Ordering::SeqCst) > 0 {
            self.0.freed.notify_one();
        }
    }
}

/// A caller registered in [`Slots::waiting`]; unregistered on drop (every exit of the loop).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_released() {
        let slots = Slots::new(2);
        let a = slots.acquire(Duration::ZERO).unwrap();
        let _b = slots.acquire(Duration::ZERO).unwrap();
        assert!(slots.acquire(Duration::from_millis(5)).is_none());
        drop(a);
        assert!(slots.acquire(Duration::ZERO).is_some());
    }

    #[test]
    fn a_waiter_gets_a_slot_released_by_another_thread() {
        let slots = std::sync::Arc::new(Slots::new(1));
        let held = slots.acquire(Duration::ZERO).unwrap();
        let waiter = {
            let slots = slots.clone();
            std::thread::spawn(move || slots.acquire(Duration::from_secs(5)).is_some())
        };
        drop(held);
        assert!(waiter.join().unwrap());
    }
}
