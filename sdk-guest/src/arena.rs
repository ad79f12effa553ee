//! The allocator of guest components (cargo feature `arena`, on by default): an arena.
//!
//! Every call runs in a fresh instance whose memory is dropped when the call returns, so
//! memory freed during a call never has to be found again for reuse. Allocating is moving a
//! pointer; freeing the most recent allocation gives its space back, and growing it extends it
//! in place — the way a string or vector being built grows — so building the result does not
//! leave copies behind. Anything else freed stays where it is until the call ends. The first
//! 1 MiB is static memory, part of the instance's initial memory: a call that needs no more
//! never grows its memory (`make bench-flow`, pageSize 20: about 14% more records/s than when
//! every call grew it). What the arena runs out of it asks the host for (`memory.grow`) — half as much again as there is, at
//! least 1 MiB, or just what it needs when the stack's limit leaves no more — within the stack's
//! memory limit (`limits.memoryMiB`): a call that keeps more than that alive at once, or frees
//! a great deal out of order, fails with `memory_limit`.
//!
//! Measured by `make bench-extension` (a preSavePage parsing, transforming and serializing its
//! page): guest time about 15% lower than with the standard library's allocator. A component
//! that wants the standard allocator, or its own, builds the SDK with
//! `default-features = false`.

#![allow(unsafe_code)]

use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;

const PAGE: usize = 65536;
/// The least the arena asks the host for at a time: 1 MiB.
const MIN_GROW_PAGES: usize = 16;

/// A bump allocator over the instance's linear memory (see the module documentation).
pub struct Arena {
    /// The next free byte.
    next: Cell<usize>,
    /// The end of the memory the arena owns.
    end: Cell<usize>,
}

// SAFETY: a component instance runs one thread; nothing else touches the arena.
unsafe impl Sync for Arena {}

impl Arena {
    /// An arena that takes memory from the host at its first allocation.
    pub const fn new() -> Self {
        Self {
            next: Cell::new(0),
            end: Cell::new(0),
        }
    }

    fn take(&self, size: usize, align: usize) -> *mut u8 {
        let start = align_up(self.next.get(), align);
        match start.checked_add(size) {
            Some(end) if end <= self.end.get() => {
                self.next.set(end);
                start as *mut u8
            }
            _ => self.grow_and_take(size, align),
        }
    }

    /// A block from what the arena holds now, if it fits.
    fn fits(&self, size: usize, align: usize) -> Option<*mut u8> {
        let start = align_up(self.next.get(), align);
        let end = start.checked_add(size)?;
        (end <= self.end.get()).then(|| {
            self.next.set(end);
            start as *mut u8
        })
    }

    #[cold]
    fn grow_and_take(&self, size: usize, align: usize) -> *mut u8 {
        let memory_end = memory_pages() * PAGE;
        if self.end.get() == 0 {
            // First use: the first block, in the initial memory.
            let (start, len) = first_block();
            self.next.set(start);
            self.end.set(start + len);
            if let Some(at) = self.fits(size, align) {
                return at;
            }
            // Too big for it: on to memory of its own.
            self.next.set(memory_end);
            self.end.set(memory_end);
        } else if memory_end != self.end.get() {
            // Past the first block, or memory grown by someone else: start after everything
            // there is.
            self.next.set(memory_end);
            self.end.set(memory_end);
        }
        if let Some(at) = self.fits(size, align) {
            return at;
        }
        let start = align_up(self.next.get(), align);
        let Some(end) = start.checked_add(size) else {
            return core::ptr::null_mut();
        };
        let pages = end.saturating_sub(self.end.get()).div_ceil(PAGE);
        // Each `memory.grow` costs the host a system call: grow by half the memory there is
        // (at least 1 MiB) when the stack's limit allows it, else by just what is needed.
        let generous = pages.max(self.end.get() / PAGE / 2).max(MIN_GROW_PAGES);
        let pages = if grow_memory(generous) {
            generous
        } else if generous > pages && grow_memory(pages) {
            pages
        } else {
            return core::ptr::null_mut();
        };
        self.end.set(self.end.get() + pages * PAGE);
        self.next.set(end);
        start as *mut u8
    }
}

impl Default for Arena {
    fn default() -> Self {
        Self::new()
    }
}

fn align_up(at: usize, align: usize) -> usize {
    (at + align - 1) & !(align - 1)
}

/// The arena's first block: zeroed static memory, so part of the instance's initial memory
/// (it costs the component file nothing). A call that needs no more than this never grows its
/// memory, and each growth costs the host two system calls: one to grow, one to shrink the
/// memory back when its slot is reused for the next call.
#[cfg(target_arch = "wasm32")]
fn first_block() -> (usize, usize) {
    const FIRST_BLOCK: usize = 1 << 20;
    #[repr(C, align(16))]
    struct Block([u8; FIRST_BLOCK]);
    static mut FIRST: Block = Block([0; FIRST_BLOCK]);
    static TAKEN: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
    // Handed to one arena only (the first to ask); only its address is taken here.
    if TAKEN.swap(true, core::sync::atomic::Ordering::Relaxed) {
        return (0, 0);
    }
    (core::ptr::addr_of_mut!(FIRST) as usize, FIRST_BLOCK)
}

#[cfg(target_arch = "wasm32")]
fn memory_pages() -> usize {
    core::arch::wasm32::memory_size(0)
}

#[cfg(target_arch = "wasm32")]
fn grow_memory(pages: usize) -> bool {
    core::arch::wasm32::memory_grow(0, pages) != usize::MAX
}

// Elsewhere (the SDK's own tests on the host) there is no linear memory to grow.
#[cfg(not(target_arch = "wasm32"))]
fn first_block() -> (usize, usize) {
    (0, 0)
}

#[cfg(not(target_arch = "wasm32"))]
fn memory_pages() -> usize {
    0
}

#[cfg(not(target_arch = "wasm32"))]
fn grow_memory(_pages: usize) -> bool {
    false
}

// SAFETY: every block handed out lies in memory the arena owns and no other block overlaps
// it: `next` only moves back over the most recent block when that block is freed or shrunk.
unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.take(layout.size(), layout.align())
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ptr as usize + layout.size() == self.next.get() {
            self.next.set(ptr as usize);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let at = ptr as usize;
        if at + layout.size() == self.next.get() {
            // The most recent block: grow or shrink it where it is.
            if let Some(end) = at.checked_add(new_size)
                && end <= self.end.get()
            {
                self.next.set(end);
                return ptr;
            }
        } else if new_size <= layout.size() {
            return ptr;
        }
        let new = self.take(new_size, layout.align());
        if !new.is_null() {
            // SAFETY: both blocks are valid for the copied length and do not overlap (the
            // new one starts at or after the end of every block handed out before).
            unsafe { core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size)) };
        }
        new
    }
}

#[cfg(all(feature = "arena", target_arch = "wasm32"))]
#[global_allocator]
static ARENA: Arena = Arena::new();
