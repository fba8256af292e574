//! CompactBytes: the 24-byte byte string used for keys and small values in the keyspace (types layer, no actors).
//!
//! Strings up to 22 bytes live inline (no allocation, one cache line with the table slot); longer ones are
//! one exact-size heap block. This is what keeps a key + small value at 48 bytes per table slot.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// Bytes that fit inline.
pub const INLINE_CAP: usize = 22;

#[derive(Clone)]
pub enum CompactBytes {
    Inline { len: u8, buf: [u8; INLINE_CAP] },
    Heap(Box<[u8]>),
}

impl CompactBytes {
    #[inline]
    pub fn new(s: &[u8]) -> Self {
        if s.len() <= INLINE_CAP {
            let mut buf = [0u8; INLINE_CAP];
            buf[..s.len()].copy_from_slice(s);
            CompactBytes::Inline { len: s.len() as u8, buf }
        } else {
            CompactBytes::Heap(s.into())
        }
    }

    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match self {
            CompactBytes::Inline { len, buf } => &buf[..*len as usize],
            CompactBytes::Heap(b) => b,
        }
    }

    /// Heap bytes owned beyond the struct itself (for memory reports).
    pub fn heap_size(&self) -> usize {
        match self {
            CompactBytes::Inline { .. } => 0,
            CompactBytes::Heap(b) => b.len(),
        }
    }
}

impl Default for CompactBytes {
    fn default() -> Self {
        CompactBytes::Inline { len: 0, buf: [0; INLINE_CAP] }
    }
}

impl Deref for CompactBytes {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Borrow<[u8]> for CompactBytes {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for CompactBytes {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl PartialEq for CompactBytes {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}
impl Eq for CompactBytes {}

impl PartialOrd for CompactBytes {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for CompactBytes {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

impl Hash for CompactBytes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state)
    }
}

impl From<&[u8]> for CompactBytes {
    fn from(s: &[u8]) -> Self {
        CompactBytes::new(s)
    }
}

impl From<&str> for CompactBytes {
    fn from(s: &str) -> Self {
        CompactBytes::new(s.as_bytes())
    }
}

impl fmt::Debug for CompactBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_slice()))
    }
}

/// Key bytes that fit inline in a [`KeyBytes`].
pub const KEY_INLINE_CAP: usize = 19;

/// Tag byte of a heap key (inline keys keep their length, at most 19, in that byte).
const KEY_HEAP: u8 = 0xFF;

/// A key plus a 32-bit word of its entry's metadata (the LRU/LFU data), in 24 bytes with 4-byte alignment.
///
/// This is what makes a table entry (key + 24-byte `Value`) 48 bytes: mimalloc and jemalloc both serve a
/// 56-byte request from their 64-byte class, so the LRU word must not be a field of its own. Keys up to 19
/// bytes live inline; longer ones are one exact-size heap block whose pointer and length are kept unaligned
/// in the buffer (`repr[4..12]` and `repr[12..16]`).
pub struct KeyBytes {
    meta: u32,
    /// `repr[0]`: inline length or KEY_HEAP; inline bytes follow from `repr[1]`.
    repr: [u8; 20],
}

// SAFETY: a KeyBytes owns its heap block exclusively (like a Box<[u8]>).
unsafe impl Send for KeyBytes {}
// SAFETY: shared references only read the bytes.
unsafe impl Sync for KeyBytes {}

impl KeyBytes {
    pub fn new(s: &[u8], meta: u32) -> KeyBytes {
        let mut repr = [0u8; 20];
        if s.len() <= KEY_INLINE_CAP {
            repr[0] = s.len() as u8;
            repr[1..1 + s.len()].copy_from_slice(s);
        } else {
            // Keys are bounded by proto-max-bulk-len (at most 512 MB here), far below u32::MAX.
            let len = u32::try_from(s.len()).expect("key longer than 4 GB");
            let block: Box<[u8]> = s.into();
            let ptr = Box::into_raw(block) as *mut u8;
            repr[0] = KEY_HEAP;
            repr[4..12].copy_from_slice(&ptr.expose_provenance().to_ne_bytes());
            repr[12..16].copy_from_slice(&len.to_ne_bytes());
        }
        KeyBytes { meta, repr }
    }

    #[inline]
    fn heap_parts(&self) -> (*mut u8, usize) {
        let addr = usize::from_ne_bytes(self.repr[4..12].try_into().expect("8 bytes"));
        let len = u32::from_ne_bytes(self.repr[12..16].try_into().expect("4 bytes")) as usize;
        (std::ptr::with_exposed_provenance_mut(addr), len)
    }

    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        if self.repr[0] == KEY_HEAP {
            let (ptr, len) = self.heap_parts();
            // SAFETY: ptr/len came from a live Box<[u8]> this key owns until drop.
            unsafe { std::slice::from_raw_parts(ptr, len) }
        } else {
            &self.repr[1..1 + self.repr[0] as usize]
        }
    }

    /// The entry's metadata word.
    #[inline]
    pub fn meta(&self) -> u32 {
        self.meta
    }

    #[inline]
    pub fn set_meta(&mut self, meta: u32) {
        self.meta = meta;
    }

    /// Heap bytes owned beyond the struct itself (for memory reports).
    pub fn heap_size(&self) -> usize {
        if self.repr[0] == KEY_HEAP {
            self.heap_parts().1
        } else {
            0
        }
    }
}

impl Drop for KeyBytes {
    fn drop(&mut self) {
        if self.repr[0] == KEY_HEAP {
            let (ptr, len) = self.heap_parts();
            // SAFETY: rebuilds the Box<[u8]> leaked in `new`, exactly once.
            drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)) });
        }
    }
}

impl Clone for KeyBytes {
    fn clone(&self) -> KeyBytes {
        KeyBytes::new(self.as_slice(), self.meta)
    }
}

impl Deref for KeyBytes {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl fmt::Debug for KeyBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_is_24_bytes() {
        assert_eq!(std::mem::size_of::<CompactBytes>(), 24);
    }

    #[test]
    fn inline_and_heap_round_trip() {
        for n in [0, 1, 22, 23, 100] {
            let v: Vec<u8> = (0..n as u8).collect();
            let c = CompactBytes::new(&v);
            assert_eq!(c.as_slice(), &v[..]);
            assert_eq!(matches!(c, CompactBytes::Inline { .. }), n <= INLINE_CAP);
        }
    }

    #[test]
    fn key_bytes_are_24_bytes_and_round_trip() {
        assert_eq!(std::mem::size_of::<KeyBytes>(), 24);
        assert_eq!(std::mem::align_of::<KeyBytes>(), 4);
        for n in [0, 1, 19, 20, 23, 100, 70_000] {
            let v: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
            let mut k = KeyBytes::new(&v, 7);
            assert_eq!(k.as_slice(), &v[..]);
            assert_eq!(k.heap_size(), if n <= KEY_INLINE_CAP { 0 } else { n });
            k.set_meta(0x00AB_CDEF);
            let c = k.clone();
            drop(k);
            assert_eq!(&*c, &v[..]);
            assert_eq!(c.meta(), 0x00AB_CDEF);
        }
    }
}
