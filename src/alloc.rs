//! Counting allocator: wraps mimalloc and keeps an exact count of live heap bytes, which INFO memory
//! reports as used_memory and maxmemory is checked against (as Redis's zmalloc does with jemalloc).
//!
//! A block counts at the size the allocator really gives it (its size class: `mi_good_size`), not the size
//! asked for, as zmalloc counts jemalloc's usable size: a 56-byte request takes a 64-byte block.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct Counting;

static USED: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = mimalloc::MiMalloc.alloc(layout);
        if !p.is_null() {
            USED.fetch_add(class_size(layout.size()), Ordering::Relaxed);
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = mimalloc::MiMalloc.alloc_zeroed(layout);
        if !p.is_null() {
            USED.fetch_add(class_size(layout.size()), Ordering::Relaxed);
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        mimalloc::MiMalloc.dealloc(ptr, layout);
        USED.fetch_sub(class_size(layout.size()), Ordering::Relaxed);
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = mimalloc::MiMalloc.realloc(ptr, layout, new_size);
        if !p.is_null() {
            let (old, new) = (class_size(layout.size()), class_size(new_size));
            if new >= old {
                USED.fetch_add(new - old, Ordering::Relaxed);
            } else {
                USED.fetch_sub(old - new, Ordering::Relaxed);
            }
        }
        p
    }
}

/// The bytes a request of `size` really occupies (mimalloc's size class). The same function on alloc and
/// free keeps the count exact.
#[inline]
fn class_size(size: usize) -> usize {
    // SAFETY: mi_good_size is a pure computation on its argument.
    unsafe { libmimalloc_sys::mi_good_size(size) }
}

/// Live heap bytes allocated through the global allocator. Zero when the host program (embedding us)
/// did not install `Counting` as its global allocator; callers then fall back to RSS.
pub fn used_memory() -> usize {
    USED.load(Ordering::Relaxed)
}

/// Resident set size of the process, from /proc (0 where unavailable).
pub fn rss() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|p| p.parse::<usize>().ok()))
        .map(|pages| pages * page_size())
        .unwrap_or(0)
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 {
        n as usize
    } else {
        4096
    }
}

/// Physical memory of the machine (INFO total_system_memory).
pub fn total_system_memory() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let pages = unsafe { libc::sysconf(libc::_SC_PHYS_PAGES) };
    if pages > 0 {
        pages as u64 * page_size() as u64
    } else {
        0
    }
}

/// Return memory freed on this thread to the OS (mimalloc keeps freed pages for reuse until it next
/// collects; an idle server would otherwise report its peak as RSS). Cheap when there is nothing to free.
pub fn release_free_memory() {
    // SAFETY: mi_collect has no preconditions; `false` asks for the non-forced, incremental collection.
    unsafe { libmimalloc_sys::mi_collect(false) };
}

/// mimalloc v2's `mi_option_eager_commit` and `mi_option_arena_eager_commit` (indices 3 and 4 of its
/// option enum).
const MI_OPTION_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 3;
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

/// Allocator settings for a server: commit memory page by page as it is used. By default mimalloc commits
/// each new arena and segment eagerly, faulting in megabytes at once: while a big dataset loads that stalled
/// the Keyspace ~5 ms every few thousand keys (measured by db.rs's growth probe). Idempotent.
pub fn tune() {
    // SAFETY: mi_option_set only stores the value; it is safe to call at any time from any thread.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0);
    }
}
