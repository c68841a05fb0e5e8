//! A counting semaphore bounding concurrent evaluations (and so pool usage and CPU). Taking a
//! free slot is one atomic operation; only a saturated engine waits on the condition variable.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

pub(crate) struct Slots {
    in_use: AtomicUsize,
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
            waiters: Mutex::new(()),
            freed: Condvar::new(),
            max: max.max(1),
        }
    }

    fn try_take(&self) -> bool {
        self.in_use
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
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
        self.0.in_use.fetch_sub(1, Ordering::AcqRel);
        self.0.freed.notify_one();
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
