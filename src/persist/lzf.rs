//! LZF compression as Redis uses it for RDB strings (persist layer, pure).
//!
//! Why our own and not the `lzf` crate: that crate is marked deprecated by its author, its compressor hashes
//! differently from liblzf (so our DUMP payloads and RDB files would not match Redis's byte for byte), and
//! its decompressor allocates the claimed output length before looking at the input (an RDB length field is
//! untrusted). This is a port of Redis's lzf_c.c with Redis's settings (HLOG 16, VERY_FAST, no ULTRA_FAST,
//! a match never refers to offset 0) and a bounds-checked lzf_d.c.
//!
//! Redis leaves its hash table uninitialized between calls (INIT_HTAB 0), so a stale slot may in principle
//! find an extra match; ours starts every call from an empty table (kept per thread, stamped with a
//! generation so that it is not cleared on every call), which is what Redis does on a fresh stack.

use std::cell::RefCell;

const HLOG: u32 = 16;
const HSIZE: usize = 1 << HLOG;
const MAX_LIT: usize = 1 << 5;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);

/// liblzf's hash of the 3 bytes in `h` (VERY_FAST variant), computed in 32-bit unsigned arithmetic.
#[inline]
fn idx(h: u32) -> usize {
    ((h >> (24 - HLOG)).wrapping_sub(h.wrapping_mul(5)) as usize) & (HSIZE - 1)
}

/// The per-thread hash table: slot = (generation << 32) | position; a slot of another generation is empty.
/// `out` is the output scratch, kept too: a save compresses millions of strings, and a fresh zeroed buffer
/// per string (allocation, memset, free) was a few percent of a BGSAVE's time on the Keyspace thread.
struct Table {
    slots: Vec<u64>,
    gen: u64,
    out: Vec<u8>,
}

thread_local! {
    static TABLE: RefCell<Table> = const { RefCell::new(Table { slots: Vec::new(), gen: 0, out: Vec::new() }) };
}

/// Compress `input` into at most `out_max` bytes; None when it does not fit (Redis's lzf_compress returning
/// 0), including for empty input.
/// (Tests only: the RDB writer uses `compress_then`, which needs no Vec of its own.)
#[cfg(test)]
pub fn compress(input: &[u8], out_max: usize) -> Option<Vec<u8>> {
    compress_then(input, out_max, |c| c.to_vec())
}

/// `compress`, handing the compressed bytes to `f` from the thread's scratch buffer instead of a new Vec.
/// `f` must not compress in turn (the scratch is borrowed meanwhile).
pub fn compress_then<R>(input: &[u8], out_max: usize, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
    if input.is_empty() || out_max == 0 {
        return None;
    }
    TABLE.with(|t| {
        let t = &mut *t.borrow_mut();
        if t.slots.is_empty() {
            t.slots = vec![0; HSIZE];
        }
        t.gen += 1;
        if t.gen >= 1 << 31 {
            t.slots.iter_mut().for_each(|s| *s = 0);
            t.gen = 1;
        }
        // The scratch only grows: every byte compress_with reads it has written first in this call.
        if t.out.len() < out_max {
            t.out.resize(out_max, 0);
        }
        let n = compress_with(input, &mut t.out[..out_max], &mut t.slots, t.gen)?;
        Some(f(&t.out[..n]))
    })
}

/// Compress into `out` (its length is the bound); the compressed length, or None when it does not fit.
fn compress_with(input: &[u8], out: &mut [u8], htab: &mut [u64], gen: u64) -> Option<usize> {
    let in_len = input.len();
    let out_max = out.len();
    let mut op: usize = 1; // start run
    let mut lit: usize = 0;
    let mut ip: usize = 0;
    let frst = |p: usize| ((input[p] as u32) << 8) | input[p + 1] as u32;
    let next = |v: u32, p: usize| (v << 8) | input[p + 2] as u32;
    // A one-byte input has no FRST: liblzf reads past it harmlessly; we never use the value then.
    let mut hval: u32 = if in_len >= 2 { frst(0) } else { 0 };
    let stamp = |pos: usize| (gen << 32) | pos as u64;
    while in_len >= 3 && ip < in_len - 2 {
        hval = next(hval, ip);
        let slot = idx(hval);
        let old = htab[slot];
        htab[slot] = stamp(ip);
        let ref_pos = if old >> 32 == gen { Some((old & 0xffff_ffff) as usize) } else { None };
        let m = ref_pos.filter(|&r| {
            r > 0
                && r < ip
                && ip - r - 1 < MAX_OFF
                && input[r + 2] == input[ip + 2]
                && input[r..r + 2] == input[ip..ip + 2]
        });
        if let Some(r) = m {
            let off = ip - r - 1;
            let mut len: usize = 2;
            let maxlen = (in_len - ip - len).min(MAX_REF);
            // Room for the back reference and a new run header (the exact test, as liblzf's second one).
            if op - usize::from(lit == 0) + 3 + 1 >= out_max {
                return None;
            }
            out[op - lit - 1] = (lit as u8).wrapping_sub(1); // stop run
            op -= usize::from(lit == 0); // undo run if length is zero
                                         // liblzf's loop: 16 unchecked steps first when the match may be long (their bound is the input,
                                         // which maxlen leaves 2 bytes of), then stepwise up to maxlen; the exact length found can differ
                                         // from a plain loop's near the end of the input, so keep its shape.
            let mut done = false;
            if maxlen > 16 {
                for _ in 0..16 {
                    len += 1;
                    if input[r + len] != input[ip + len] {
                        done = true;
                        break;
                    }
                }
            }
            if !done {
                loop {
                    len += 1;
                    if !(len < maxlen && input[r + len] == input[ip + len]) {
                        break;
                    }
                }
            }
            len -= 2; // len is now #octets - 1
            ip += 1;
            if len < 7 {
                out[op] = ((off >> 8) + (len << 5)) as u8;
                op += 1;
            } else {
                out[op] = ((off >> 8) + (7 << 5)) as u8;
                out[op + 1] = (len - 7) as u8;
                op += 2;
            }
            out[op] = off as u8;
            op += 1;
            lit = 0;
            op += 1; // start run
            ip += len + 1;
            if ip >= in_len - 2 {
                break;
            }
            // VERY_FAST: rehash the last two positions of the match.
            ip -= 2;
            hval = frst(ip);
            hval = next(hval, ip);
            htab[idx(hval)] = stamp(ip);
            ip += 1;
            hval = next(hval, ip);
            htab[idx(hval)] = stamp(ip);
            ip += 1;
        } else {
            if op >= out_max {
                return None;
            }
            lit += 1;
            out[op] = input[ip];
            op += 1;
            ip += 1;
            if lit == MAX_LIT {
                out[op - lit - 1] = (lit as u8).wrapping_sub(1); // stop run
                lit = 0;
                op += 1; // start run
            }
        }
    }
    if op + 3 > out_max {
        return None;
    }
    while ip < in_len {
        // The tail: up to 2 bytes after the main loop, but a short input takes this path whole.
        if op >= out_max {
            return None;
        }
        lit += 1;
        out[op] = input[ip];
        op += 1;
        ip += 1;
        if lit == MAX_LIT {
            out[op - lit - 1] = (lit as u8).wrapping_sub(1);
            lit = 0;
            if op >= out_max {
                return None;
            }
            op += 1;
        }
    }
    out[op - lit - 1] = (lit as u8).wrapping_sub(1); // end run
    op -= usize::from(lit == 0);
    Some(op)
}

/// Largest expansion LZF allows: a 3-byte back reference yields up to 264 bytes.
pub const MAX_RATIO: usize = 88;

/// Decompress `input`, which must produce exactly `len` bytes. The caller has read `input` already, and
/// `len` beyond what `input` can expand to is refused before allocating. The output's block holds at least
/// `cap` bytes (a string value's size class: its keeper then takes the block as it is).
pub fn decompress(input: &[u8], len: usize, cap: usize) -> Option<Vec<u8>> {
    if input.is_empty() || len > input.len().saturating_mul(MAX_RATIO) {
        return None;
    }
    let mut out: Vec<u8> = Vec::with_capacity(len.max(cap));
    let mut ip = 0;
    while ip < input.len() {
        let ctrl = input[ip] as usize;
        ip += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            let lit = input.get(ip..ip + run)?;
            if out.len() + run > len {
                return None;
            }
            out.extend_from_slice(lit);
            ip += run;
        } else {
            let mut run = ctrl >> 5;
            if run == 7 {
                run += *input.get(ip)? as usize;
                ip += 1;
            }
            let low = *input.get(ip)? as usize;
            ip += 1;
            let back = ((ctrl & 0x1f) << 8) + low + 1;
            let start = out.len().checked_sub(back)?;
            let n = run + 2;
            if out.len() + n > len {
                return None;
            }
            if back >= n {
                out.extend_from_within(start..start + n);
            } else if back == 1 {
                // A run of one repeated byte (padding, zeros): a fill.
                let b = out[start];
                out.resize(out.len() + n, b);
            } else {
                // The source overlaps what is being written: byte by byte, each copy seeing the last.
                for k in 0..n {
                    let b = out[start + k];
                    out.push(b);
                }
            }
        }
    }
    (out.len() == len).then_some(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn a_used_scratch_buffer_gives_the_same_bytes() {
        // Fill the thread's scratch with another string's output first: nothing of it may leak into the next.
        let long: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
        assert!(compress(&long, long.len() + 64).is_some());
        assert_eq!(compress(&[b'a'; 30], 26).unwrap(), b"\x01aa\xe0\x11\x00\x01aa");
        assert_eq!(compress_then(&[b'a'; 30], 26, |c| c.len()), Some(9));
    }

    #[test]
    fn matches_redis_output() {
        // redis-server 7.0.15: SET k <30 x 'a'>; DUMP k gives "\x00\xc3\t\x1e" then these 9 bytes (a match
        // never refers to offset 0, so the first back reference starts at the third byte).
        assert_eq!(compress(&[b'a'; 30], 26).unwrap(), b"\x01aa\xe0\x11\x00\x01aa");
        // Incompressible input does not fit in len - 4.
        let noise = noise(100);
        assert!(compress(&noise, noise.len() - 4).is_none());
        assert!(compress(b"", 10).is_none());
    }

    /// Bytes LZF cannot shrink (xorshift).
    pub(crate) fn noise(n: usize) -> Vec<u8> {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    #[test]
    fn round_trips() {
        let mut seed = 7u64;
        for n in [1usize, 2, 3, 4, 5, 21, 33, 100, 1000, 70_000] {
            for alphabet in [1u64, 2, 4, 16, 256] {
                let v: Vec<u8> = (0..n)
                    .map(|_| {
                        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                        ((seed >> 33) % alphabet) as u8
                    })
                    .collect();
                if let Some(c) = compress(&v, n + 64) {
                    assert_eq!(decompress(&c, n, 0).as_deref(), Some(&v[..]), "n={n} alphabet={alphabet}");
                    // Wrong lengths and truncations are refused, never a panic.
                    assert!(decompress(&c, n + 1, 0).is_none());
                    if n > 1 {
                        assert!(decompress(&c, n - 1, 0).is_none());
                    }
                    assert!(decompress(&c[..c.len() - 1], n, 0).is_none());
                }
            }
        }
    }

    #[test]
    fn refuses_absurd_lengths() {
        assert!(decompress(&[0, b'a'], usize::MAX, 0).is_none());
        assert!(decompress(&[0, b'a', 0xE0, 0xFF, 0], 1_000_000, 0).is_none());
        // A back reference before the start.
        assert!(decompress(&[0x20, 0x05], 3, 0).is_none());
    }
}
