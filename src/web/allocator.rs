//! The wasm's allocator: blocks in power-of-two size classes (16 B and up),
//! a free list per class, new blocks cut from the end of linear memory
//! (grown a page at a time). A freed block is reused by the next request of
//! its class (blocks are never split, merged or given back), so memory grows
//! with the most the page held at once in each class, not with how long it
//! lives. About 300 B of wasm where talc took 1.3 KB: 400 B brotli of the
//! script tag (README "Size"). The browser tests run their whole binary on
//! it and stress it alone.
//!
//! One thread (wasm32 without atomics), so no locking.

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32::memory_grow;
use core::cell::UnsafeCell;
use core::ptr::null_mut;

const PAGE: usize = 65_536;
/// The smallest class: 2^4 = 16 bytes (room for the free-list link).
const MIN_CLASS: u32 = 4;
/// Blocks are aligned to 16 bytes (no type of the tracker needs more).
const ALIGN: usize = 16;

struct Heap {
    /// Head of each class's free list (0: empty); a free block's first
    /// word links to the next.
    free: [usize; 32],
    /// Where the next new block starts, and the end of memory.
    next: usize,
    end: usize,
}

/// The allocator (`#[global_allocator]` of the shipped wasm).
pub struct SizeClasses(UnsafeCell<Heap>);

// SAFETY: one thread; the heap is only reached through the allocator.
unsafe impl Sync for SizeClasses {}

impl Default for SizeClasses {
    fn default() -> SizeClasses {
        SizeClasses::new()
    }
}

impl SizeClasses {
    pub const fn new() -> SizeClasses {
        SizeClasses(UnsafeCell::new(Heap {
            free: [0; 32],
            next: 0,
            end: 0,
        }))
    }
}

/// The class of a layout: the smallest power of two that holds it.
fn class(layout: Layout) -> Option<u32> {
    if layout.align() > ALIGN {
        return None;
    }
    let size = layout.size().max(1 << MIN_CLASS);
    let k = usize::BITS - (size - 1).leading_zeros();
    (k < 32).then_some(k)
}

impl Heap {
    /// A new block of `2^k` bytes from the end of memory.
    fn cut(&mut self, k: u32) -> *mut u8 {
        let size = 1usize << k;
        let mut start = (self.next + ALIGN - 1) & !(ALIGN - 1);
        if start.checked_add(size).is_none_or(|e| e > self.end) {
            let pages = size.div_ceil(PAGE);
            let before = memory_grow(0, pages);
            if before == usize::MAX {
                return null_mut();
            }
            let grown = before * PAGE;
            // Memory ends where it grew from; continue there unless the
            // old end was elsewhere (never: nothing else grows memory).
            if grown != self.end {
                start = grown;
            }
            self.end = grown + pages * PAGE;
        }
        self.next = start + size;
        start as *mut u8
    }
}

unsafe impl GlobalAlloc for SizeClasses {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: one thread, no reentrancy: the only reference now.
        let heap = unsafe { &mut *self.0.get() };
        let Some(k) = class(layout) else {
            return null_mut();
        };
        let Some(head) = heap.free.get_mut(k as usize) else {
            return null_mut();
        };
        if *head == 0 {
            return heap.cut(k);
        }
        let block = *head;
        // SAFETY: a free block of this class, its first word the link.
        *head = unsafe { *(block as *const usize) };
        block as *mut u8
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as in `alloc`.
        let heap = unsafe { &mut *self.0.get() };
        if let Some(head) = class(layout).and_then(|k| heap.free.get_mut(k as usize)) {
            // SAFETY: the block is ours again; its first word becomes the link.
            unsafe { *(ptr as *mut usize) = *head };
            *head = ptr as usize;
        }
    }
}
