//! RawStr: the bytes of a `raw`-encoded string value, one heap block (types layer, no actors).
//!
//! A string longer than embstr's 44 bytes used to be a boxed `Vec` (or `Bytes`): two blocks, 32 bytes of
//! header block on top of the bytes, which made a 100-byte value cost more than Redis's robj + sds and so
//! fewer keys fit under `maxmemory`. A RawStr is a pointer and a length held inline in `Value`; the block's
//! capacity is not stored but is the allocator's size class for the length (`alloc::size_class`), a block
//! the allocator would have rounded up to anyway. Growth past it moves to the next class, 25% further on,
//! so appending stays amortized O(1).
//!
//! A client's big argument (read into a buffer of its own) is kept as the `Bytes` it arrived in, without a
//! copy: the length's top bit marks that form, and the pointer is then a boxed `Bytes`.

use std::alloc::Layout;
use std::fmt;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

/// Top bit of `len`: the pointer is a `Box<bytes::Bytes>` (no string is 2^63 bytes long).
const SHARED: usize = 1 << (usize::BITS - 1);

pub struct RawStr {
    ptr: NonNull<u8>,
    /// The length, or `SHARED | 0` for the shared form (whose length is the `Bytes`').
    len: usize,
}

// SAFETY: a RawStr owns its block (or its boxed `Bytes`, which is Send + Sync) like a Vec<u8> does.
unsafe impl Send for RawStr {}
// SAFETY: as above; shared access only reads.
unsafe impl Sync for RawStr {}

/// The block size for `len` bytes: what the allocator really hands out for that request.
#[inline]
fn cap_for(len: usize) -> usize {
    if len == 0 {
        0
    } else {
        crate::alloc::size_class(len)
    }
}

impl RawStr {
    /// An empty string (no block).
    pub const fn new() -> RawStr {
        RawStr { ptr: NonNull::dangling(), len: 0 }
    }

    /// The block a string of `len` bytes is kept in: a Vec with this capacity is taken by `from_vec` as is.
    pub fn block_size(len: usize) -> usize {
        cap_for(len)
    }

    /// A copy of `s` in a block of its own.
    pub fn from_slice(s: &[u8]) -> RawStr {
        if s.is_empty() {
            return RawStr::new();
        }
        let cap = cap_for(s.len());
        let layout = Layout::array::<u8>(cap).expect("string too long");
        // SAFETY: `cap` >= s.len() > 0, so the layout is non-zero; the copy stays inside the new block.
        unsafe {
            let p = std::alloc::alloc(layout);
            let Some(ptr) = NonNull::new(p) else { std::alloc::handle_alloc_error(layout) };
            std::ptr::copy_nonoverlapping(s.as_ptr(), p, s.len());
            RawStr { ptr, len: s.len() }
        }
    }

    /// Takes `v`'s block, resized to the size class of its length when it is not already that.
    pub fn from_vec(v: Vec<u8>) -> RawStr {
        let len = v.len();
        let want = cap_for(len);
        let mut v = ManuallyDrop::new(v);
        let have = v.capacity();
        if len == 0 {
            ManuallyDrop::into_inner(v);
            return RawStr::new();
        }
        if have == want {
            // SAFETY: a Vec's pointer is non-null once it has a non-zero capacity.
            return RawStr { ptr: unsafe { NonNull::new_unchecked(v.as_mut_ptr()) }, len };
        }
        // SAFETY: a Vec<u8> with capacity `have` > 0 was allocated by the global allocator with exactly this
        // layout (Vec's documented contract for from_raw_parts); `want` >= len > 0 and fits a layout.
        unsafe {
            let old = Layout::from_size_align_unchecked(have, 1);
            let p = std::alloc::realloc(v.as_mut_ptr(), old, want);
            let Some(ptr) = NonNull::new(p) else {
                std::alloc::handle_alloc_error(Layout::from_size_align_unchecked(want, 1))
            };
            RawStr { ptr, len }
        }
    }

    /// Keeps `b` as it is (see the module docs).
    pub fn shared(b: bytes::Bytes) -> RawStr {
        let boxed = Box::new(b);
        // SAFETY: Box::into_raw is never null.
        RawStr { ptr: unsafe { NonNull::new_unchecked(Box::into_raw(boxed).cast()) }, len: SHARED }
    }

    #[inline]
    fn shared_ref(&self) -> Option<&bytes::Bytes> {
        if self.len & SHARED != 0 {
            // SAFETY: the shared form's pointer is a live Box<Bytes> owned by self.
            Some(unsafe { &*(self.ptr.as_ptr() as *const bytes::Bytes) })
        } else {
            None
        }
    }

    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match self.shared_ref() {
            Some(b) => b,
            // SAFETY: `len` bytes from `ptr` are initialized and owned by self (dangling only when len is 0).
            None => unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) },
        }
    }

    /// Heap bytes held for the string (MEMORY USAGE): the block, or the shared buffer and its box.
    pub fn heap_size(&self) -> usize {
        match self.shared_ref() {
            Some(b) => b.len() + std::mem::size_of::<bytes::Bytes>(),
            None => cap_for(self.len),
        }
    }

    /// The bytes as a growable Vec for in-place edits (APPEND, SETRANGE, SETBIT, HLL). The block goes back
    /// into this RawStr, at its length's size class, when the guard drops. A shared buffer becomes owned
    /// first: taken over when nothing else holds it, copied otherwise.
    pub fn edit(&mut self) -> RawMut<'_> {
        let vec = std::mem::take(self).into_vec();
        RawMut { home: self, vec }
    }

    /// The block as a Vec: an owned one as it is, a shared one taken over or copied.
    fn into_vec(self) -> Vec<u8> {
        let me = ManuallyDrop::new(self);
        if me.len & SHARED != 0 {
            // SAFETY: the shared form's pointer is a Box<Bytes> we own; `me` is not dropped.
            let b = unsafe { *Box::from_raw(me.ptr.as_ptr() as *mut bytes::Bytes) };
            return match b.try_into_mut() {
                Ok(m) => Vec::from(m),
                Err(b) => b.to_vec(),
            };
        }
        if me.len == 0 {
            return Vec::new();
        }
        // SAFETY: an owned block of `cap_for(len)` bytes from the global allocator with `len` initialized.
        unsafe { Vec::from_raw_parts(me.ptr.as_ptr(), me.len, cap_for(me.len)) }
    }
}

impl Default for RawStr {
    fn default() -> Self {
        RawStr::new()
    }
}

impl Drop for RawStr {
    fn drop(&mut self) {
        if self.len & SHARED != 0 {
            // SAFETY: the shared form's pointer is a Box<Bytes> owned by self, freed once here.
            drop(unsafe { Box::from_raw(self.ptr.as_ptr() as *mut bytes::Bytes) });
        } else if self.len != 0 {
            // SAFETY: an owned block of `cap_for(len)` bytes (alignment 1) from the global allocator.
            unsafe { std::alloc::dealloc(self.ptr.as_ptr(), Layout::from_size_align_unchecked(cap_for(self.len), 1)) };
        }
    }
}

impl Clone for RawStr {
    fn clone(&self) -> Self {
        match self.shared_ref() {
            Some(b) => RawStr::shared(b.clone()),
            None => RawStr::from_slice(self.as_slice()),
        }
    }
}

impl Deref for RawStr {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl PartialEq for RawStr {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl fmt::Debug for RawStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawStr({:?})", String::from_utf8_lossy(self.as_slice()))
    }
}

/// A RawStr opened for editing as a Vec (see `RawStr::edit`).
pub struct RawMut<'a> {
    home: &'a mut RawStr,
    vec: Vec<u8>,
}

impl Deref for RawMut<'_> {
    type Target = Vec<u8>;
    #[inline]
    fn deref(&self) -> &Vec<u8> {
        &self.vec
    }
}

impl DerefMut for RawMut<'_> {
    #[inline]
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.vec
    }
}

impl Drop for RawMut<'_> {
    fn drop(&mut self) {
        *self.home = RawStr::from_vec(std::mem::take(&mut self.vec));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_edits_keep_the_bytes() {
        for n in [0usize, 1, 45, 100, 4096, 70_000] {
            let src: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let mut r = RawStr::from_slice(&src);
            assert_eq!(&*r, &src[..]);
            assert_eq!(r.clone(), r);
            let mut want = src.clone();
            // Byte-by-byte appends cross several size classes.
            for i in 0..300u32 {
                r.edit().push(i as u8);
                want.push(i as u8);
            }
            assert_eq!(&*r, &want[..]);
            r.edit().truncate(n / 2);
            want.truncate(n / 2);
            assert_eq!(&*r, &want[..]);
            assert_eq!(RawStr::from_vec(want.clone()), r);
        }
    }

    #[test]
    fn the_block_is_the_size_class_of_the_length() {
        let r = RawStr::from_slice(&[1; 100]);
        assert_eq!(r.heap_size(), crate::alloc::size_class(100));
        assert!(r.heap_size() >= 100 && r.heap_size() < 100 + 32);
        assert_eq!(RawStr::new().heap_size(), 0);
    }

    #[test]
    fn shared_bytes_are_kept_then_taken_over() {
        let v = vec![7u8; 1000];
        let ptr = v.as_ptr();
        let mut r = RawStr::shared(bytes::Bytes::from(v));
        assert_eq!(r.as_ptr(), ptr);
        assert_eq!(r.len(), 1000);
        let c = r.clone();
        assert_eq!(c.as_ptr(), ptr, "a clone of the shared form shares");
        r.edit().push(1);
        assert_eq!(r.len(), 1001);
        assert_eq!(c.len(), 1000);
        drop(c);
    }
}
