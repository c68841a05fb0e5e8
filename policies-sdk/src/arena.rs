//! The allocator of policies built with this SDK (WebAssembly without threads only): a bump
//! arena that starts over whenever nothing in it is live, in front of the standard allocator.
//!
//! One decision allocates a few dozen small blocks — the request's strings (umagate lowers them
//! through `cabi_realloc`), parsed values, the decision — and frees every one of them by the
//! end of the call's post-return. Bumping an offset costs a few instructions where dlmalloc
//! walks its bins, splits and coalesces chunks, which was most of the SDK's own cost per call.
//!
//! How it stays correct:
//! - The arena is one [`ARENA_BYTES`] block taken from the standard allocator (dlmalloc) on
//!   first use. A request that does not fit in what is left of it, and every zero-sized or
//!   over-aligned one, goes to the standard allocator, as does the arena itself if it cannot be
//!   had. Pointers are told apart by address: inside the arena block or not.
//! - `live` counts arena blocks handed out and not yet freed. Only when it drops to zero does
//!   the bump offset go back to the start, so a block still in use is never handed out again.
//!   A policy that keeps a block alive across calls (a static cache) merely stops the reset: the
//!   arena fills up and later requests go to the standard allocator, as without this module.
//! - Freeing (or shrinking) the most recent block gives its bytes back at once (LIFO).
//! - There are no threads on this target (it is the global allocator only on `wasm32` without
//!   the `atomics` target feature), so plain loads and stores of the atomics below are the whole
//!   story; they are atomics only so that the static needs no `unsafe impl Sync`. On other
//!   targets the type is compiled for its unit tests only.
//!
//! Turn it off with `default-features = false` on the SDK dependency (to bring your own global
//! allocator, say).

#![allow(
    unsafe_code,
    reason = "a global allocator is unsafe by contract; each unsafe block says why it holds"
)]

use core::alloc::{GlobalAlloc, Layout};
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering::Relaxed};
use std::alloc::System;

/// Size of the arena. The host lowers a typical request in well under 1 KiB of strings; larger
/// inputs (claims up to 16 KiB each) spill over to the standard allocator.
pub(crate) const ARENA_BYTES: usize = 32 * 1024;
/// Alignment of the arena block; stricter requests go to the standard allocator.
const ARENA_ALIGN: usize = 16;

#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: Arena = Arena::new();

pub(crate) struct Arena {
    /// The arena block, null until first use (or if the standard allocator refused it).
    base: AtomicPtr<u8>,
    /// Whether the block was asked for already.
    tried: AtomicBool,
    /// Offset of the first free byte.
    top: AtomicUsize,
    /// Blocks handed out from the arena and not yet freed.
    live: AtomicUsize,
}

impl Arena {
    pub(crate) const fn new() -> Self {
        Self {
            base: AtomicPtr::new(ptr::null_mut()),
            tried: AtomicBool::new(false),
            top: AtomicUsize::new(0),
            live: AtomicUsize::new(0),
        }
    }

    /// The arena block, allocated on first use.
    fn base(&self) -> Option<*mut u8> {
        let base = self.base.load(Relaxed);
        if !base.is_null() {
            return Some(base);
        }
        if self.tried.swap(true, Relaxed) {
            return None;
        }
        // SAFETY: the layout has a non-zero size and a power-of-two alignment.
        let base = unsafe { System.alloc(Layout::from_size_align(ARENA_BYTES, ARENA_ALIGN).ok()?) };
        self.base.store(base, Relaxed);
        (!base.is_null()).then_some(base)
    }

    /// Offset of `ptr` in the arena, if it points into it.
    fn offset_of(&self, ptr: *mut u8) -> Option<usize> {
        let base = self.base.load(Relaxed);
        let offset = (ptr as usize).wrapping_sub(base as usize);
        (!base.is_null() && offset < ARENA_BYTES).then_some(offset)
    }

    /// A block of `layout` from the arena, or `None` if it does not fit.
    fn bump(&self, layout: Layout) -> Option<*mut u8> {
        if layout.size() == 0 || layout.align() > ARENA_ALIGN {
            return None;
        }
        let base = self.base()?;
        // `base` is ARENA_ALIGN-aligned, so aligning the offset aligns the address.
        let start = self
            .top
            .load(Relaxed)
            .checked_next_multiple_of(layout.align())?;
        let end = start.checked_add(layout.size())?;
        if end > ARENA_BYTES {
            return None;
        }
        self.top.store(end, Relaxed);
        self.live.store(self.live.load(Relaxed) + 1, Relaxed);
        Some(base.wrapping_add(start))
    }

    /// Returns the arena block at `offset` of `size` bytes.
    fn release(&self, offset: usize, size: usize) {
        let live = self.live.load(Relaxed).saturating_sub(1);
        self.live.store(live, Relaxed);
        if live == 0 {
            self.top.store(0, Relaxed);
        } else if offset + size == self.top.load(Relaxed) {
            self.top.store(offset, Relaxed);
        }
    }
}

// SAFETY (for the impl as a whole): every pointer handed out is either a fresh block of the
// standard allocator or `base + offset` with `offset` aligned to the layout and
// `offset + size <= ARENA_BYTES`, disjoint from every other live arena block (blocks are only
// ever handed out above `top`, and `top` moves down only over freed blocks: to zero when none is
// live, or to the start of the most recent block when that one is freed or shrunk).
unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match self.bump(layout) {
            Some(block) => block,
            // SAFETY: forwarded with the caller's guarantees.
            None => unsafe { System.alloc(layout) },
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match self.bump(layout) {
            Some(block) => {
                // SAFETY: `block` is valid for `layout.size()` bytes (see `bump`); the arena
                // reuses memory, so it must be cleared.
                unsafe { ptr::write_bytes(block, 0, layout.size()) };
                block
            }
            // SAFETY: forwarded with the caller's guarantees.
            None => unsafe { System.alloc_zeroed(layout) },
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match self.offset_of(ptr) {
            Some(offset) => self.release(offset, layout.size()),
            // SAFETY: not in the arena, so `ptr` came from the standard allocator with `layout`.
            None => unsafe { System.dealloc(ptr, layout) },
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Some(offset) = self.offset_of(ptr) else {
            // SAFETY: not in the arena, so `ptr` came from the standard allocator with `layout`.
            return unsafe { System.realloc(ptr, layout, new_size) };
        };
        let old_size = layout.size();
        if offset + old_size == self.top.load(Relaxed) {
            // The most recent block: grow or shrink it where it is, if it fits.
            if let Some(end) = offset.checked_add(new_size).filter(|&e| e <= ARENA_BYTES) {
                self.top.store(end, Relaxed);
                return ptr;
            }
        } else if new_size <= old_size {
            // A smaller block fits where it is; the tail stays unused until the next reset.
            return ptr;
        }
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
            return ptr::null_mut();
        };
        // SAFETY: `new_layout` has a non-zero size (the caller guarantees `new_size > 0`).
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are valid for the smaller size and distinct (the old one is
            // still live while the new one is handed out); then the old block is freed once.
            unsafe {
                ptr::copy_nonoverlapping(ptr, new, old_size.min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn resets_when_nothing_is_live() {
        let arena = Arena::new();
        unsafe {
            let a = arena.alloc(layout(10, 1));
            let b = arena.alloc(layout(8, 8));
            assert_eq!(arena.offset_of(a), Some(0));
            assert_eq!(arena.offset_of(b), Some(16));
            arena.dealloc(a, layout(10, 1));
            // `b` is still live: `a`'s bytes are not handed out again.
            let c = arena.alloc(layout(4, 4));
            assert_eq!(arena.offset_of(c), Some(24));
            arena.dealloc(b, layout(8, 8));
            arena.dealloc(c, layout(4, 4));
            assert_eq!(arena.top.load(Relaxed), 0);
            let d = arena.alloc(layout(3, 1));
            assert_eq!(d, a);
            arena.dealloc(d, layout(3, 1));
        }
    }

    #[test]
    fn the_latest_block_grows_in_place_and_others_move() {
        let arena = Arena::new();
        unsafe {
            let a = arena.alloc(layout(4, 1));
            a.write_bytes(7, 4);
            let a2 = arena.realloc(a, layout(4, 1), 100);
            assert_eq!(a2, a);
            let b = arena.alloc(layout(4, 1));
            let a3 = arena.realloc(a2, layout(100, 1), 200);
            assert_ne!(a3, a2);
            assert_eq!(core::slice::from_raw_parts(a3, 4), [7; 4]);
            assert_eq!(arena.live.load(Relaxed), 2);
            // Shrinking a block that is not the latest keeps it where it is.
            assert_eq!(arena.realloc(b, layout(4, 1), 2), b);
            arena.dealloc(b, layout(2, 1));
            arena.dealloc(a3, layout(200, 1));
            assert_eq!(arena.live.load(Relaxed), 0);
            assert_eq!(arena.top.load(Relaxed), 0);
        }
    }

    #[test]
    fn what_does_not_fit_goes_to_the_standard_allocator() {
        let arena = Arena::new();
        unsafe {
            let small = arena.alloc(layout(16, 8));
            assert!(arena.offset_of(small).is_some());
            let big = arena.alloc(layout(ARENA_BYTES, 8));
            assert!(!big.is_null() && arena.offset_of(big).is_none());
            let aligned = arena.alloc(layout(8, 64));
            assert!(arena.offset_of(aligned).is_none() && (aligned as usize).is_multiple_of(64));
            // Growing an arena block past the end moves it out, contents kept.
            small.write_bytes(1, 16);
            let moved = arena.realloc(small, layout(16, 8), 2 * ARENA_BYTES);
            assert!(arena.offset_of(moved).is_none());
            assert_eq!(core::slice::from_raw_parts(moved, 16), [1; 16]);
            assert_eq!(arena.live.load(Relaxed), 0);
            let zeroed = arena.alloc_zeroed(layout(32, 1));
            assert_eq!(arena.offset_of(zeroed), Some(0));
            assert_eq!(core::slice::from_raw_parts(zeroed, 32), [0; 32]);
            arena.dealloc(zeroed, layout(32, 1));
            arena.dealloc(moved, layout(2 * ARENA_BYTES, 8));
            arena.dealloc(aligned, layout(8, 64));
            arena.dealloc(big, layout(ARENA_BYTES, 8));
        }
    }
}
