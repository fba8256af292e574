//! The process title (`ps`, /proc/<pid>/cmdline) from `proc-title-template`, as redis-server's
//! setproctitle: outside the actor diagram, set by the binary once its ports are bound and by CONFIG SET on
//! the Keyspace thread. Only a process whose binary called [`init`] before `main` has a title to set (glibc
//! Linux): an embedding host's command line is never touched.
//!
//! As Redis's setproctitle.c (spt_init): the environment strings are copied out of the block the kernel laid
//! the arguments and environment in, and so are the argument strings (their pointers in `argv` are
//! redirected, so `std::env::args` still reads them); the whole block is then free for the title.

use std::sync::Mutex;

/// The block the title is written into, and the name the process was run as (`{title}`).
struct Area {
    base: *mut u8,
    /// One past the block's last byte.
    end: *mut u8,
    /// Where argv[0]'s terminating NUL was (Redis's SPT.nul).
    nul: *mut u8,
    argv0: String,
}

// SAFETY: the block is process memory nobody else reads or writes once `init` has copied what lived there;
// every access goes through the Mutex.
unsafe impl Send for Area {}

static AREA: Mutex<Option<Area>> = Mutex::new(None);

extern "C" {
    static mut environ: *mut *mut libc::c_char;
}

/// Take over the argument block: to be called once, before `main` (from an `.init_array` entry, while the
/// process has one thread), with the arguments glibc passes there.
///
/// # Safety
/// `argv` and `envp` must be the process's own NULL-terminated vectors, and no other thread may exist.
pub unsafe fn init(argc: libc::c_int, argv: *mut *mut libc::c_char, envp: *mut *mut libc::c_char) {
    if argc < 1 || argv.is_null() || (*argv).is_null() {
        return;
    }
    let base = *argv as *mut u8;
    let nul = base.add(libc::strlen(*argv));
    // The block runs on while the next string starts right after the last one's NUL.
    let mut end = nul.add(1);
    for i in 1..argc as usize {
        let a = *argv.add(i) as *mut u8;
        if a != end {
            break;
        }
        end = a.add(libc::strlen(a as *const libc::c_char) + 1);
    }
    let mut n_env = 0;
    if !envp.is_null() {
        while !(*envp.add(n_env)).is_null() {
            let e = *envp.add(n_env) as *mut u8;
            if e == end {
                end = e.add(libc::strlen(e as *const libc::c_char) + 1);
            }
            n_env += 1;
        }
        // A copy of the environment the C library reads from now on (left for the process's lifetime).
        let copy = libc::malloc((n_env + 1) * std::mem::size_of::<*mut libc::c_char>()) as *mut *mut libc::c_char;
        if copy.is_null() {
            return;
        }
        for i in 0..n_env {
            let dup = libc::strdup(*envp.add(i));
            if dup.is_null() {
                return;
            }
            *copy.add(i) = dup;
        }
        *copy.add(n_env) = std::ptr::null_mut();
        environ = copy;
    }
    let argv0 = std::ffi::CStr::from_ptr(*argv).to_string_lossy().into_owned();
    for i in 0..argc as usize {
        let dup = libc::strdup(*argv.add(i));
        if dup.is_null() {
            return;
        }
        *argv.add(i) = dup;
    }
    *AREA.lock().unwrap_or_else(|e| e.into_inner()) = Some(Area { base, end, nul, argv0 });
}

/// Set the title from the template (`proc-title-template`, `set-proc-title`), as redisSetProcTitle(NULL);
/// nothing without [`init`].
pub fn refresh(config: &crate::config::Config) {
    if config.get("set-proc-title").as_deref() == Some("no") {
        return;
    }
    let mut guard = AREA.lock().unwrap_or_else(|e| e.into_inner());
    let Some(area) = guard.as_mut() else { return };
    let template = config.get("proc-title-template").unwrap_or_default();
    if let Some(title) = config.expand_proc_title(&template, &area.argv0) {
        // SAFETY: the block is ours since init, and the lock is held.
        unsafe { write(area, title.as_bytes()) };
    }
}

/// Redis's setproctitle: the title (at most 255 bytes), NUL-terminated, over the zeroed block; where it ends
/// short of argv[0]'s old end a '.' marks that NUL, and where it ends right on it a space follows, as `ps`
/// on some systems expects.
unsafe fn write(area: &Area, title: &[u8]) {
    const MAX_TITLE: usize = 255;
    let size = area.end as usize - area.base as usize;
    if size < 2 {
        return;
    }
    std::ptr::write_bytes(area.base, 0, size);
    let len = title.len().min(MAX_TITLE).min(size - 1);
    std::ptr::copy_nonoverlapping(title.as_ptr(), area.base, len);
    let nul = area.base.add(len);
    if nul < area.nul {
        *area.nul = b'.';
    } else if nul == area.nul && nul.add(1) < area.end {
        *area.nul = b' ';
        *nul.add(1) = 0;
    }
}
