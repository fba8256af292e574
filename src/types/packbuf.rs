//! PackBuf: the exact-size byte buffer behind the compact (listpack) encodings of hashes and sorted sets
//! (types layer, no actors).
//!
//! A small hash or sorted set is one heap block holding its entries back to back, reallocated to its exact
//! size on every change as Redis reallocates a listpack. The handle is 16 bytes: the pointer, the length as a
//! u32, and a u32 `count` its owner keeps (the number of entries, which Redis's listpack keeps in its header).
//! The pointer is never null, so an enum of a `PackBuf` and a `Box` (the large encoding) stays 16 bytes and a
//! key's `Value` holds it inline: no header block per key. Owners convert to their large encoding long before
//! 4 GB (Redis's 1 GB listpack safety limit); growing past u32::MAX aborts like an allocation failure.

use std::alloc::{self, Layout};
use std::ptr::NonNull;

pub struct PackBuf {
    ptr: NonNull<u8>,
    len: u32,
    /// Entries in the buffer, maintained by the owner.
    pub count: u32,
}

// SAFETY: PackBuf owns its block exclusively (like a Box<[u8]>); nothing is shared between handles.
unsafe impl Send for PackBuf {}
// SAFETY: shared references only read the bytes.
unsafe impl Sync for PackBuf {}

#[inline]
fn layout(len: usize) -> Layout {
    match Layout::array::<u8>(len) {
        Ok(l) => l,
        Err(_) => alloc::handle_alloc_error(Layout::new::<u8>()),
    }
}

impl PackBuf {
    pub const fn new() -> PackBuf {
        PackBuf { ptr: NonNull::dangling(), len: 0, count: 0 }
    }

    pub fn from_slice(s: &[u8], count: u32) -> PackBuf {
        let mut b = PackBuf::new();
        b.set_len(s.len());
        b.copy_from_slice(s);
        b.count = count;
        b
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.len as usize
    }

    #[inline]
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Reallocate to exactly `new_len` bytes, keeping the first `min(len, new_len)`; added bytes are zero.
    fn set_len(&mut self, new_len: usize) {
        let old = self.len as usize;
        if new_len == old {
            return;
        }
        let Ok(new_len32) = u32::try_from(new_len) else { alloc::handle_alloc_error(layout(new_len)) };
        // SAFETY: a non-empty buffer was allocated with `layout(old)`; an empty one owns no block. Every
        // allocation is checked for null; the added tail is zeroed so every byte stays initialized.
        unsafe {
            let p = if new_len == 0 {
                alloc::dealloc(self.ptr.as_ptr(), layout(old));
                NonNull::dangling()
            } else {
                let raw = if old == 0 {
                    alloc::alloc(layout(new_len))
                } else {
                    alloc::realloc(self.ptr.as_ptr(), layout(old), new_len)
                };
                let Some(p) = NonNull::new(raw) else { alloc::handle_alloc_error(layout(new_len)) };
                if new_len > old {
                    std::ptr::write_bytes(p.as_ptr().add(old), 0, new_len - old);
                }
                p
            };
            self.ptr = p;
        }
        self.len = new_len32;
    }

    /// Make the bytes `start..end` `new_len` bytes long, moving the tail and resizing the block exactly.
    /// The bytes of the resized range are unspecified (zero or old contents) for the caller to fill.
    pub fn resize_range(&mut self, start: usize, end: usize, new_len: usize) {
        let total = self.len();
        assert!(start <= end && end <= total, "PackBuf range out of bounds");
        let old_len = end - start;
        if new_len > old_len {
            let grow = new_len - old_len;
            self.set_len(total + grow);
            self.copy_within(end..total, end + grow);
        } else if new_len < old_len {
            let shrink = old_len - new_len;
            self.copy_within(end..total, end - shrink);
            self.set_len(total - shrink);
        }
    }

    /// Replace the bytes `start..end` with `with`.
    pub fn splice(&mut self, start: usize, end: usize, with: &[u8]) {
        self.resize_range(start, end, with.len());
        self[start..start + with.len()].copy_from_slice(with);
    }

    /// Append bytes at the end.
    #[cfg(test)]
    pub fn extend_from_slice(&mut self, s: &[u8]) {
        let n = self.len();
        self.splice(n, n, s);
    }

    /// Drop every byte (and the block) and reset the count.
    pub fn clear(&mut self) {
        self.set_len(0);
        self.count = 0;
    }
}

impl Default for PackBuf {
    fn default() -> Self {
        PackBuf::new()
    }
}

impl Drop for PackBuf {
    fn drop(&mut self) {
        self.set_len(0);
    }
}

impl Clone for PackBuf {
    fn clone(&self) -> Self {
        PackBuf::from_slice(self, self.count)
    }
}

impl std::ops::Deref for PackBuf {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        // SAFETY: `ptr` is valid for `len` initialized bytes (dangling and aligned when len is 0).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len as usize) }
    }
}

impl std::ops::DerefMut for PackBuf {
    #[inline]
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`, and `&mut self` makes the access exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len as usize) }
    }
}

impl std::fmt::Debug for PackBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PackBuf[{} entries, {} bytes]", self.count, self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_is_two_words_and_an_enum_with_a_box_too() {
        assert_eq!(std::mem::size_of::<PackBuf>(), 16);
        #[allow(dead_code)]
        enum Either {
            Pack(PackBuf),
            Big(Box<u64>),
        }
        assert_eq!(std::mem::size_of::<Either>(), 16);
    }

    #[test]
    fn splice_grows_and_shrinks_exactly() {
        let mut b = PackBuf::new();
        assert!(b.is_empty());
        b.extend_from_slice(b"hello");
        b.extend_from_slice(b" world");
        assert_eq!(&b[..], b"hello world");
        b.splice(5, 5, b",");
        assert_eq!(&b[..], b"hello, world");
        b.splice(0, 7, b"");
        assert_eq!(&b[..], b"world");
        b.splice(1, 4, b"OR");
        assert_eq!(&b[..], b"wORd");
        b.count = 3;
        let c = b.clone();
        assert_eq!((&c[..], c.count), (&b"wORd"[..], 3));
        b.clear();
        assert!(b.is_empty());
        assert_eq!(b.count, 0);
        assert_eq!(&c[..], b"wORd");
    }
}
