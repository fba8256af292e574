//! Counting allocator: wraps jemalloc (mimalloc under MSVC) and keeps an exact count of live heap bytes,
//! which INFO memory reports as used_memory and maxmemory is checked against (as Redis's zmalloc does).
//!
//! A block counts at the size the allocator really gives it (its size class), not the size asked for, as
//! zmalloc counts jemalloc's usable size: a 56-byte request takes a 64-byte block.

use std::alloc::{GlobalAlloc, Layout};
pub struct Counting;

/// The count, striped per thread: each thread adds and subtracts on a cache line of its own, and a reader sums
/// the lines. One shared counter had every allocation of the Keyspace thread and the thread feeding it (the
/// RDB loader, the connections) fight over one line: a quarter of the Keyspace's time in a load.
mod striped {
    use std::cell::Cell;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Threads past the first SLOTS - 1 share the last slot.
    const SLOTS: usize = 32;

    /// One thread's running delta (wrapping: a thread may free more than it allocated), alone on its lines.
    #[repr(align(128))]
    struct Slot(AtomicUsize);

    static COUNTS: [Slot; SLOTS] = [const { Slot(AtomicUsize::new(0)) }; SLOTS];
    static NEXT: AtomicUsize = AtomicUsize::new(0);

    thread_local! {
        /// This thread's slot; usize::MAX until its first count. Const-initialized without a destructor, so
        /// it is usable inside the allocator at any point of a thread's life.
        static MINE: Cell<usize> = const { Cell::new(usize::MAX) };
    }

    #[inline]
    fn slot() -> usize {
        MINE.try_with(|m| {
            let i = m.get();
            if i != usize::MAX {
                return i;
            }
            let i = NEXT.fetch_add(1, Ordering::Relaxed).min(SLOTS - 1);
            m.set(i);
            i
        })
        .unwrap_or(SLOTS - 1)
    }

    /// Add `n` (wrapping) to this thread's count.
    #[inline]
    pub fn add(n: usize) {
        let i = slot();
        let c = &COUNTS[i].0;
        if i < SLOTS - 1 {
            // The slot's only writer: a plain read and write, no locked instruction.
            c.store(c.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
        } else {
            c.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Subtract `n` (wrapping) from this thread's count.
    #[inline]
    pub fn sub(n: usize) {
        add(n.wrapping_neg());
    }

    /// The sum over all threads; a moment's reordering between slots cannot show less than zero.
    pub fn total() -> usize {
        let sum = COUNTS.iter().fold(0usize, |a, c| a.wrapping_add(c.0.load(Ordering::Relaxed)));
        (sum as isize).max(0) as usize
    }
}

unsafe impl GlobalAlloc for Counting {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = backend::INNER.alloc(layout);
        if !p.is_null() {
            striped::add(backend::class_size(layout));
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = backend::INNER.alloc_zeroed(layout);
        if !p.is_null() {
            striped::add(backend::class_size(layout));
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        backend::INNER.dealloc(ptr, layout);
        striped::sub(backend::class_size(layout));
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = backend::INNER.realloc(ptr, layout, new_size);
        if !p.is_null() {
            let old = backend::class_size(layout);
            // SAFETY: GlobalAlloc::realloc's contract makes (new_size, align) a valid layout.
            let new = backend::class_size(Layout::from_size_align_unchecked(new_size, layout.align()));
            if new >= old {
                striped::add(new - old);
            } else {
                striped::sub(old - new);
            }
        }
        p
    }
}

#[cfg(not(target_env = "msvc"))]
mod backend {
    use std::alloc::Layout;
    use std::os::raw::c_int;
    use std::sync::atomic::{AtomicU16, Ordering};
    use tikv_jemalloc_sys as sys;

    pub static INNER: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

    /// The flags tikv-jemallocator passes for this layout (an alignment flag only when the size class
    /// alone does not guarantee it), so that nallocx names the class the block really came from.
    #[inline]
    fn flags(layout: Layout) -> c_int {
        // jemalloc's quantum on the targets we build for (tikv-jemallocator assumes the same).
        const QUANTUM: usize = 16;
        if layout.align() <= QUANTUM && layout.align() <= layout.size() {
            0
        } else {
            sys::MALLOCX_ALIGN(layout.align())
        }
    }

    /// Small sizes whose class is remembered: every block is counted at its class on allocation and on
    /// free, and a call into nallocx for each cost more than the count itself (3% of an RDB load).
    const SMALL_MAX: usize = 4096;
    /// The class of each multiple of 8 up to SMALL_MAX (0: not asked yet). jemalloc's classes are all
    /// multiples of 8, so a size has the class of its next multiple of 8.
    static SMALL: [AtomicU16; SMALL_MAX / 8 + 1] = [const { AtomicU16::new(0) }; SMALL_MAX / 8 + 1];

    /// The bytes a block of this layout really occupies.
    #[inline]
    pub fn class_size(layout: Layout) -> usize {
        let size = layout.size().max(1);
        let f = flags(layout);
        if f == 0 && size <= SMALL_MAX {
            let i = size.div_ceil(8);
            let known = SMALL[i].load(Ordering::Relaxed);
            if known != 0 {
                return known as usize;
            }
            // SAFETY: nallocx only computes; the size is non-zero.
            let c = unsafe { sys::nallocx(i * 8, 0) };
            SMALL[i].store(c as u16, Ordering::Relaxed);
            return c;
        }
        // SAFETY: nallocx only computes; a zero size is not allowed, and Rust never allocates one.
        unsafe { sys::nallocx(size, f) }
    }

    /// Purge every arena's unused dirty pages back to the OS.
    pub fn release_free_memory() {
        // MALLCTL_ARENAS_ALL (4096) addresses every arena.
        let name = c"arena.4096.purge";
        // SAFETY: a NUL-terminated control name with no input or output buffers, as the purge control takes.
        unsafe { sys::mallctl(name.as_ptr(), std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut(), 0) };
    }

    /// DEBUG MALLCTL (Redis's mallctl_int): read an integer control, 8 bytes wide and then 4 when jemalloc
    /// says the size is wrong, writing `val` first when given; a write-only control just takes it. Ok(None):
    /// written, nothing to read. Err: the errno.
    pub fn mallctl_int(name: &str, val: Option<i64>) -> Result<Option<i64>, i32> {
        let name = std::ffi::CString::new(name).map_err(|_| libc::EINVAL)?;
        let mut sz = 8usize;
        while sz > 0 {
            let mut old = 0i64;
            let mut new = val.unwrap_or(0);
            let mut zz = sz;
            let (newp, newlen) = match val {
                Some(_) => ((&mut new as *mut i64).cast(), sz),
                None => (std::ptr::null_mut(), 0),
            };
            // SAFETY: buffers of `sz` bytes (8 or 4, little-endian prefixes of an i64) in and out, as jemalloc
            // checks the sizes against the control's type and answers EINVAL when they differ.
            let rc = unsafe { sys::mallctl(name.as_ptr(), (&mut old as *mut i64).cast(), &mut zz, newp, newlen) };
            if rc == 0 {
                // A narrower value sits in the low bytes of the zeroed i64, read as Redis reads it.
                return Ok(Some(old));
            }
            if rc == libc::EPERM && val.is_some() {
                // SAFETY: as above, with no output buffer for a write-only control.
                let w =
                    unsafe { sys::mallctl(name.as_ptr(), std::ptr::null_mut(), std::ptr::null_mut(), newp, newlen) };
                if w == 0 {
                    return Ok(None);
                }
            }
            if rc != libc::EINVAL {
                return Err(rc);
            }
            sz /= 2;
        }
        Err(libc::EINVAL)
    }

    /// DEBUG MALLCTL-STR (Redis's mallctl_string): read a string control, then write `val` (the word VOID
    /// writes nothing, for controls that take no value, such as `thread.tcache.flush`). Ok(Some(old)) when
    /// it could be read, Ok(None) when only written.
    pub fn mallctl_str(name: &str, val: Option<&str>) -> Result<Option<String>, i32> {
        let name = std::ffi::CString::new(name).map_err(|_| libc::EINVAL)?;
        let mut old: *const std::os::raw::c_char = std::ptr::null();
        let mut sz = std::mem::size_of::<*const std::os::raw::c_char>();
        // SAFETY: a string control's value is a `const char *`; we pass a buffer of that size.
        let rret = unsafe {
            sys::mallctl(
                name.as_ptr(),
                (&mut old as *mut *const std::os::raw::c_char).cast(),
                &mut sz,
                std::ptr::null_mut(),
                0,
            )
        };
        if rret != 0 && !(rret == libc::EPERM && val.is_some()) {
            return Err(rret);
        }
        let read = (rret == 0 && !old.is_null())
            // SAFETY: jemalloc's string values are static NUL-terminated strings.
            .then(|| unsafe { std::ffi::CStr::from_ptr(old) }.to_string_lossy().into_owned());
        let mut wret = 0;
        if let Some(v) = val {
            let owned = std::ffi::CString::new(v).map_err(|_| libc::EINVAL)?;
            let mut ptr = owned.as_ptr();
            wret = if v == "VOID" {
                // SAFETY: a control that takes no value: no buffers.
                unsafe {
                    sys::mallctl(name.as_ptr(), std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut(), 0)
                }
            } else {
                // SAFETY: a `const char *` in, kept alive by `owned` for the call.
                unsafe {
                    sys::mallctl(
                        name.as_ptr(),
                        std::ptr::null_mut(),
                        std::ptr::null_mut(),
                        (&mut ptr as *mut *const std::os::raw::c_char).cast(),
                        std::mem::size_of::<*const std::os::raw::c_char>(),
                    )
                }
            };
        }
        match read {
            Some(old) => Ok(Some(old)),
            None if rret == 0 => Ok(Some(String::new())),
            None if wret != 0 => Err(wret),
            None => Ok(None),
        }
    }

    /// INFO mem_allocator, as Redis prints it ("jemalloc-5.3.0").
    pub fn name() -> String {
        let mut ptr: *const std::os::raw::c_char = std::ptr::null();
        let mut len = std::mem::size_of::<*const std::os::raw::c_char>();
        // SAFETY: "version" is a read-only control whose value is a `const char *`; we pass a buffer of that size.
        let rc = unsafe {
            sys::mallctl(
                c"version".as_ptr(),
                (&mut ptr as *mut *const std::os::raw::c_char).cast(),
                &mut len,
                std::ptr::null_mut(),
                0,
            )
        };
        if rc != 0 || ptr.is_null() {
            return "jemalloc".into();
        }
        // SAFETY: jemalloc's version string is a static NUL-terminated string.
        let v = unsafe { std::ffi::CStr::from_ptr(ptr) }.to_string_lossy();
        // "5.3.0-1-g<hash>": Redis prints major.minor.bugfix only.
        format!("jemalloc-{}", v.split('-').next().unwrap_or(&v))
    }

    /// Run jemalloc's background thread, as redis-server does (`jemalloc-bg-thread yes`): dirty pages are
    /// purged there as they decay, not by whichever thread frees or allocates, which stalled the Keyspace
    /// for several ms at a time while 5M keys loaded (a second client's PING max 9-11 ms; 5 ms with it).
    pub fn tune() {
        let mut on = true;
        // SAFETY: "background_thread" is a writable bool control; we pass a bool of that size.
        unsafe {
            sys::mallctl(
                c"background_thread".as_ptr(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                (&mut on as *mut bool).cast(),
                std::mem::size_of::<bool>(),
            )
        };
    }

    /// Reads one `size_t` statistic.
    fn stat(name: &std::ffi::CStr) -> usize {
        let mut v: usize = 0;
        let mut len = std::mem::size_of::<usize>();
        // SAFETY: the "stats.*" controls read here are read-only size_t values; we pass a buffer of that size.
        let rc =
            unsafe { sys::mallctl(name.as_ptr(), (&mut v as *mut usize).cast(), &mut len, std::ptr::null_mut(), 0) };
        if rc == 0 {
            v
        } else {
            0
        }
    }

    /// jemalloc's own totals, refreshed first (its statistics are snapshots taken at an "epoch" bump).
    pub fn stats() -> Option<super::AllocStats> {
        let mut epoch: u64 = 1;
        let mut len = std::mem::size_of::<u64>();
        // SAFETY: "epoch" is a read-write u64 control; both buffers are u64s of that size.
        let rc = unsafe {
            sys::mallctl(
                c"epoch".as_ptr(),
                (&mut epoch as *mut u64).cast(),
                &mut len,
                (&mut epoch as *mut u64).cast(),
                std::mem::size_of::<u64>(),
            )
        };
        if rc != 0 {
            return None;
        }
        Some(super::AllocStats {
            allocated: stat(c"stats.allocated"),
            active: stat(c"stats.active"),
            resident: stat(c"stats.resident"),
        })
    }

    /// jemalloc's background thread returns decayed pages by itself.
    pub fn cron_release() {}

    /// jemalloc's own report (malloc_stats_print), as MEMORY MALLOC-STATS shows it.
    pub fn stats_text() -> Option<String> {
        unsafe extern "C" fn append(opaque: *mut std::ffi::c_void, text: *const std::os::raw::c_char) {
            // SAFETY: `opaque` is the Vec passed below, alive for the whole call; jemalloc passes a
            // NUL-terminated string.
            unsafe {
                let out = &mut *(opaque as *mut Vec<u8>);
                out.extend_from_slice(std::ffi::CStr::from_ptr(text).to_bytes());
            }
        }
        let mut out: Vec<u8> = Vec::new();
        // SAFETY: the callback only appends to `out`, which outlives the call; no options string.
        unsafe { sys::malloc_stats_print(Some(append), (&mut out as *mut Vec<u8>).cast(), std::ptr::null()) };
        Some(String::from_utf8_lossy(&out).into_owned())
    }
}

#[cfg(target_env = "msvc")]
mod backend {
    use std::alloc::Layout;

    pub static INNER: mimalloc::MiMalloc = mimalloc::MiMalloc;

    #[inline]
    pub fn class_size(layout: Layout) -> usize {
        // SAFETY: mi_good_size is a pure computation on its argument.
        unsafe { libmimalloc_sys::mi_good_size(layout.size()) }
    }

    /// mimalloc keeps no totals of this kind.
    pub fn stats() -> Option<super::AllocStats> {
        None
    }

    pub fn release_free_memory() {
        // SAFETY: mi_collect has no preconditions; `false` asks for the non-forced, incremental collection.
        unsafe { libmimalloc_sys::mi_collect(false) };
    }

    pub fn name() -> String {
        "mimalloc".into()
    }

    /// No mallctl outside jemalloc (Redis answers "-ERR Unknown subcommand" there; ENOENT says the same).
    pub fn mallctl_int(_: &str, _: Option<i64>) -> Result<Option<i64>, i32> {
        Err(libc::ENOENT)
    }

    /// As mallctl_int.
    pub fn mallctl_str(_: &str, _: Option<&str>) -> Result<Option<String>, i32> {
        Err(libc::ENOENT)
    }

    /// No report for MEMORY MALLOC-STATS.
    pub fn stats_text() -> Option<String> {
        None
    }

    /// mimalloc keeps freed pages until it next collects: collect about once a second so that an idle
    /// server's RSS does not stay at its peak.
    pub fn cron_release() {
        release_free_memory();
    }

    /// Commit memory page by page as it is used: by default mimalloc commits each new arena and segment
    /// eagerly, faulting in megabytes at once, which stalls the Keyspace while a big dataset loads.
    pub fn tune() {
        // SAFETY: mi_option_set only stores the value. 3 and 4: mi_option_eager_commit and
        // mi_option_arena_eager_commit in mimalloc v2's option enum.
        unsafe {
            libmimalloc_sys::mi_option_set(3, 0);
            libmimalloc_sys::mi_option_set(4, 0);
        }
    }
}

/// A free buffer of `capacity` bytes went into a reuse pool (the connections' spare read buffers,
/// connection.rs). Pooled bytes are allocated, but free memory as much as the allocator's own caches are,
/// which used_memory does not count in Redis either. Without this, 2 MB of warm buffers after a burst of big requests counted against maxmemory
/// and evicted keys that fit. They leave the count while pooled, and come back when taken out.
pub fn pool_put(capacity: usize) {
    striped::sub(size_class(capacity.max(1)));
}

/// A buffer of `capacity` bytes came out of a reuse pool.
pub fn pool_take(capacity: usize) {
    striped::add(size_class(capacity.max(1)));
}

/// Live heap bytes allocated through the global allocator, less the free buffers pooled for reuse. Zero
/// when the host program (embedding us) did not install `Counting` as its global allocator; callers then
/// fall back to RSS.
pub fn used_memory() -> usize {
    striped::total()
}

/// The bytes a block of `n` bytes (alignment 1) really occupies: the allocator's size class for it. Types
/// that keep no capacity field size their blocks with it (types/rawstr.rs).
#[inline]
pub fn size_class(n: usize) -> usize {
    backend::class_size(Layout::from_size_align(n, 1).expect("block too large"))
}

/// What the allocator holds, as Redis reads it from jemalloc for INFO's `allocator_*` fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AllocStats {
    /// Bytes in live blocks (jemalloc `stats.allocated`).
    pub allocated: usize,
    /// Bytes in the pages those blocks sit in (`stats.active`): the gap is external fragmentation.
    pub active: usize,
    /// Bytes of the allocator's pages resident in memory (`stats.resident`), its metadata included.
    pub resident: usize,
}

/// The allocator's totals, when it keeps them (jemalloc; not mimalloc).
pub fn allocator_stats() -> Option<AllocStats> {
    backend::stats()
}

/// DEBUG MALLCTL: an integer allocator control, read (and written first when `val` is given); see the
/// backend.
pub fn mallctl_int(name: &str, val: Option<i64>) -> Result<Option<i64>, i32> {
    backend::mallctl_int(name, val)
}

/// DEBUG MALLCTL-STR: a string allocator control.
pub fn mallctl_str(name: &str, val: Option<&str>) -> Result<Option<String>, i32> {
    backend::mallctl_str(name, val)
}

/// The allocator's name and version for INFO's mem_allocator.
pub fn allocator_name() -> String {
    backend::name()
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

/// Return freed memory to the OS (the allocator keeps freed pages for reuse; an idle server would otherwise
/// report its peak as RSS). Cheap when there is nothing to free.
pub fn release_free_memory() {
    backend::release_free_memory();
}

/// The allocator's own statistics report (MEMORY MALLOC-STATS), where it has one.
pub fn stats_text() -> Option<String> {
    backend::stats_text()
}

/// The cron's periodic hand-back of freed memory, where the allocator needs one.
pub fn cron_release() {
    backend::cron_release();
}

/// Allocator settings for a server (see the backend). Idempotent.
pub fn tune() {
    backend::tune();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_count_at_their_size_class() {
        let l = |n| Layout::from_size_align(n, 8).unwrap();
        // A 48-byte table entry is a class of its own; 56 bytes take a 64-byte block.
        assert_eq!(backend::class_size(l(48)), 48);
        assert_eq!(backend::class_size(l(56)), 64);
        assert!(backend::class_size(l(20)) >= 20);
    }

    #[cfg(not(target_env = "msvc"))]
    #[test]
    fn remembered_small_classes_are_jemallocs() {
        // Asked twice: the second answer comes from the table the first filled.
        for _ in 0..2 {
            for n in 1..=5000usize {
                for align in [1, 8, 16] {
                    let l = Layout::from_size_align(n, align).unwrap();
                    let flags = if align <= n { 0 } else { tikv_jemalloc_sys::MALLOCX_ALIGN(align) };
                    // SAFETY: nallocx only computes.
                    let want = unsafe { tikv_jemalloc_sys::nallocx(n, flags) };
                    assert_eq!(backend::class_size(l), want, "size {n} align {align}");
                }
            }
        }
    }

    #[cfg(not(target_env = "msvc"))]
    #[test]
    fn reports_jemalloc_as_redis_does() {
        let name = allocator_name();
        assert!(name.starts_with("jemalloc-5."), "{name}");
        assert_eq!(name.matches('.').count(), 2, "{name}");
    }
}
