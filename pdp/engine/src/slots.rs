//! A counting semaphore bounding concurrent evaluations (and so pool usage and CPU).

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

pub(crate) struct Slots {
    in_use: Mutex<usize>,
    freed: Condvar,
    max: usize,
}

/// A held slot; released on drop.
pub(crate) struct Slot<'a>(&'a Slots);

impl Slots {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            in_use: Mutex::new(0),
            freed: Condvar::new(),
            max: max.max(1),
        }
    }

    /// Waits up to `wait` for a free slot.
    pub(crate) fn acquire(&self, wait: Duration) -> Option<Slot<'_>> {
        let deadline = Instant::now() + wait;
        let mut in_use = self.in_use.lock().ok()?;
        while *in_use >= self.max {
            let left = deadline.checked_duration_since(Instant::now())?;
            in_use = self.freed.wait_timeout(in_use, left).ok()?.0;
        }
        *in_use += 1;
        Some(Slot(self))
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if let Ok(mut in_use) = self.0.in_use.lock() {
            *in_use -= 1;
        }
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
}
