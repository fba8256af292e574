//! Set: the value of a set key (types layer), with Redis 7.0's two encodings.
//!
//! - `intset` while every member is an integer (a canonical i64 string, as Redis's string2ll reads it) and
//!   there are at most `set-max-intset-entries` of them (capped at 2^30 as Redis does): a sorted array of
//!   i16, i32 or i64, the narrowest width that holds every member. A wider value widens the whole array
//!   (never narrowed back); lookups are binary searches. Redis 7.0 sets have no listpack encoding.
//! - `hashtable` otherwise, for good (the switch is one-way, as in Redis; *STORE results and SPOP's rebuilt
//!   set start afresh as an intset, as Redis creates them): an open-addressing table with linear probing
//!   and backward-shift deletion (no tombstones) whose slots are `CompactBytes` (members up to 22 bytes sit
//!   in the slot itself, longer ones in one exact-size block). At most 3/4 full; shrunk when under 1/10
//!   full, like Redis's dict, so that a random slot is occupied with probability >= 1/10.
//!
//! Random members are uniform: a random array position, or random slots until an occupied one (each member
//! owns one slot). SSCAN walks the table's home buckets in Redis's reverse-binary cursor order (dictScan),
//! returning for each bucket the members whose hash lands there: as in Redis, every member present for the
//! whole scan is returned at least once however the table grows or shrinks in between.
//!
//! `members()` yields `Member`s (integers are not formatted; `Member::bytes` formats one when bytes are
//! needed). Nothing is cached per set: a small intset is its handle plus one exact-size block.

use super::bytes::CompactBytes;
use super::encodings::Encodings;
use super::rng;
use foldhash::fast::FixedState;
use std::alloc::Layout;
use std::borrow::Cow;
use std::hash::BuildHasher;
use std::ptr::NonNull;
use std::sync::OnceLock;

/// Redis limits intsets to 2^30 entries whatever set-max-intset-entries says.
const INTSET_HARD_MAX: usize = 1 << 30;

/// Smallest table: 4 slots (3 members).
const MIN_SLOTS: usize = 4;

#[inline]
fn max_intset(enc: &Encodings) -> usize {
    enc.set_max_intset_entries.min(INTSET_HARD_MAX)
}

/// Is `s` a member an intset can hold (Redis's isSdsRepresentableAsLongLong)?
#[inline]
pub fn as_int(s: &[u8]) -> Option<i64> {
    if s.len() > 20 {
        return None;
    }
    super::num::parse_i64(s)
}

// ---------------------------------------------------------------------------------------------------------
// Members
// ---------------------------------------------------------------------------------------------------------

/// A member seen in place: an intset's integer, or a table's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Member<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl<'a> Member<'a> {
    /// Call `f` with the member's bytes (an integer formatted on the stack).
    #[inline]
    pub fn with_bytes<R>(self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            Member::Int(i) => f(itoa::Buffer::new().format(i).as_bytes()),
            Member::Str(s) => f(s),
        }
    }

    pub fn to_vec(self) -> Vec<u8> {
        self.with_bytes(|b| b.to_vec())
    }

    /// The member's bytes: borrowed from a table, formatted for an intset's integer.
    pub fn bytes(self) -> Cow<'a, [u8]> {
        match self {
            Member::Int(_) => Cow::Owned(self.to_vec()),
            Member::Str(s) => Cow::Borrowed(s),
        }
    }

    /// The member as an intset integer, if it is one.
    #[inline]
    pub fn as_int(self) -> Option<i64> {
        match self {
            Member::Int(i) => Some(i),
            Member::Str(s) => as_int(s),
        }
    }
}

/// A member taken out of a set (SPOP).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Owned {
    Int(i64),
    Bytes(CompactBytes),
}

impl Owned {
    pub fn as_member(&self) -> Member<'_> {
        match self {
            Owned::Int(i) => Member::Int(*i),
            Owned::Bytes(b) => Member::Str(b.as_slice()),
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.as_member().to_vec()
    }
}

// ---------------------------------------------------------------------------------------------------------
// intset
// ---------------------------------------------------------------------------------------------------------

/// Sorted, duplicate-free integers at the narrowest width that holds them all: one exact-size block of
/// `n` elements of 2, 4 or 8 bytes (Redis's intset contents), reallocated on every change as Redis's
/// intsetResize does. The header Redis keeps in the block (length, width) lives in this 16-byte handle,
/// which sits inline in the key's value, so a small intset costs its elements and nothing else.
struct Ints {
    /// Aligned for the width; dangling when `n` is 0.
    ptr: NonNull<u8>,
    n: u32,
    /// 0, 1, 2 for i16, i32, i64.
    w: u8,
}

// SAFETY: `Ints` owns its block exclusively, like a Box<[i64]>.
unsafe impl Send for Ints {}
// SAFETY: shared references only read.
unsafe impl Sync for Ints {}

/// A typed view of an intset's elements.
enum View<'a> {
    I16(&'a [i16]),
    I32(&'a [i32]),
    I64(&'a [i64]),
}

/// An element type of an intset.
trait Elem: Copy + Ord {
    /// `x` narrowed to this width (callers only pass values that fit).
    fn narrow(x: i64) -> Self;
}
impl Elem for i16 {
    fn narrow(x: i64) -> Self {
        x as i16
    }
}
impl Elem for i32 {
    fn narrow(x: i64) -> Self {
        x as i32
    }
}
impl Elem for i64 {
    fn narrow(x: i64) -> Self {
        x
    }
}

/// 0, 1, 2 for the widths 16, 32, 64 bits.
#[inline]
fn width_of(v: i64) -> u8 {
    if i16::try_from(v).is_ok() {
        0
    } else if i32::try_from(v).is_ok() {
        1
    } else {
        2
    }
}

#[inline]
fn ints_layout(n: usize, w: u8) -> Layout {
    let size = 2usize << w;
    match Layout::from_size_align(n.saturating_mul(size), size) {
        Ok(l) => l,
        Err(_) => std::alloc::handle_alloc_error(Layout::new::<i64>()),
    }
}

impl Default for Ints {
    fn default() -> Self {
        Ints { ptr: NonNull::<i64>::dangling().cast(), n: 0, w: 0 }
    }
}

impl Drop for Ints {
    fn drop(&mut self) {
        self.resize(0);
    }
}

impl Clone for Ints {
    fn clone(&self) -> Self {
        let mut c = Ints { w: self.w, ..Ints::default() };
        c.resize(self.len());
        let bytes = self.len() << (self.w + 1);
        // SAFETY: both blocks hold `bytes` bytes (same length and width) and are distinct allocations.
        unsafe { std::ptr::copy_nonoverlapping(self.ptr.as_ptr(), c.ptr.as_ptr(), bytes) };
        c
    }
}

impl Ints {
    #[inline]
    fn len(&self) -> usize {
        self.n as usize
    }

    /// Reallocate to exactly `n` elements of the current width; added elements are zero.
    fn resize(&mut self, n: usize) {
        let old = self.len();
        if n == old {
            return;
        }
        let (old_l, new_l) = (ints_layout(old, self.w), ints_layout(n, self.w));
        // SAFETY: a non-empty block was allocated with `old_l`; an empty set owns none. Allocations are
        // checked for null, and new elements are zeroed so the typed views only ever see initialized memory.
        unsafe {
            self.ptr = if n == 0 {
                std::alloc::dealloc(self.ptr.as_ptr(), old_l);
                NonNull::<i64>::dangling().cast()
            } else {
                let raw = if old == 0 {
                    std::alloc::alloc(new_l)
                } else {
                    std::alloc::realloc(self.ptr.as_ptr(), old_l, new_l.size())
                };
                let Some(p) = NonNull::new(raw) else { std::alloc::handle_alloc_error(new_l) };
                if n > old {
                    std::ptr::write_bytes(p.as_ptr().add(old_l.size()), 0, new_l.size() - old_l.size());
                }
                p
            };
        }
        // An intset holds at most 2^30 members (INTSET_HARD_MAX), so `n` fits.
        self.n = n as u32;
    }

    #[inline]
    fn view(&self) -> View<'_> {
        let (p, n) = (self.ptr.as_ptr(), self.len());
        // SAFETY: the block holds `n` initialized elements of the width `w` says, aligned for it.
        unsafe {
            match self.w {
                0 => View::I16(std::slice::from_raw_parts(p as *const i16, n)),
                1 => View::I32(std::slice::from_raw_parts(p as *const i32, n)),
                _ => View::I64(std::slice::from_raw_parts(p as *const i64, n)),
            }
        }
    }

    /// The elements as `T`, which must be the type of the current width.
    #[inline]
    fn slice_mut<T: Elem>(&mut self) -> &mut [T] {
        assert_eq!(std::mem::size_of::<T>(), 2 << self.w, "intset width mismatch");
        // SAFETY: checked above that T is the element type; the block holds `n` initialized, aligned elements.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr() as *mut T, self.len()) }
    }

    #[inline]
    fn get(&self, i: usize) -> i64 {
        match self.view() {
            View::I16(v) => v[i] as i64,
            View::I32(v) => v[i] as i64,
            View::I64(v) => v[i],
        }
    }

    #[inline]
    fn find(&self, x: i64) -> Option<usize> {
        match self.view() {
            View::I16(v) => v.binary_search(&i16::try_from(x).ok()?).ok(),
            View::I32(v) => v.binary_search(&i32::try_from(x).ok()?).ok(),
            View::I64(v) => v.binary_search(&x).ok(),
        }
    }

    /// Insert `x` (of the current width) at its place; false if present.
    fn insert_as<T: Elem>(&mut self, x: T) -> bool {
        let n = self.len();
        let pos = match self.slice_mut::<T>().binary_search(&x) {
            Ok(_) => return false,
            Err(p) => p,
        };
        self.resize(n + 1);
        let v = self.slice_mut::<T>();
        v.copy_within(pos..n, pos + 1);
        v[pos] = x;
        true
    }

    /// Add `x`; false if present. A value wider than the array widens it (Redis's intsetUpgradeAndAdd):
    /// such a value is below or above every member, so it goes first or last.
    fn insert(&mut self, x: i64) -> bool {
        let w = width_of(x);
        if w > self.w {
            let n = self.len();
            let mut up = Ints { w, ..Ints::default() };
            up.resize(n + 1);
            let first = usize::from(x < 0);
            match up.w {
                1 => fill(up.slice_mut::<i32>(), first, self, x),
                _ => fill(up.slice_mut::<i64>(), first, self, x),
            }
            *self = up;
            return true;
        }
        match self.w {
            0 => self.insert_as(x as i16),
            1 => self.insert_as(x as i32),
            _ => self.insert_as(x),
        }
    }

    fn remove_at(&mut self, i: usize) -> i64 {
        let x = self.get(i);
        let n = self.len();
        match self.w {
            0 => self.slice_mut::<i16>().copy_within(i + 1..n, i),
            1 => self.slice_mut::<i32>().copy_within(i + 1..n, i),
            _ => self.slice_mut::<i64>().copy_within(i + 1..n, i),
        }
        self.resize(n - 1);
        x
    }

    fn remove(&mut self, x: i64) -> bool {
        match self.find(x) {
            Some(i) => {
                self.remove_at(i);
                true
            }
            None => false,
        }
    }

    fn heap_size(&self) -> usize {
        self.len() << (self.w + 1)
    }
}

/// Fill a widened array: the old elements, and `x` first (`first == 1`) or last.
fn fill<T: Elem>(dst: &mut [T], first: usize, old: &Ints, x: i64) {
    let n = old.len();
    for (i, d) in dst[first..first + n].iter_mut().enumerate() {
        // Every old element fits the wider type.
        *d = T::narrow(old.get(i));
    }
    let at = if first == 1 { 0 } else { n };
    dst[at] = T::narrow(x);
}

// ---------------------------------------------------------------------------------------------------------
// hashtable
// ---------------------------------------------------------------------------------------------------------

fn hasher() -> &'static FixedState {
    static H: OnceLock<FixedState> = OnceLock::new();
    H.get_or_init(|| FixedState::with_seed(rng::next_u64()))
}

#[inline]
fn hash(m: &[u8]) -> u64 {
    hasher().hash_one(m)
}

/// Slots for `n` members at most 3/4 full.
#[inline]
fn slots_for(n: usize) -> usize {
    ((n * 4).div_ceil(3)).next_power_of_two().max(MIN_SLOTS)
}

/// Open addressing, linear probing. Invariant: a member at slot `p` with home bucket `h` has every slot in
/// `[h, p]` (cyclically) occupied; deletion shifts later members back to keep it.
#[derive(Clone, Debug, Default)]
struct Table {
    slots: Box<[Option<CompactBytes>]>,
    len: usize,
}

impl Table {
    fn with_capacity(n: usize) -> Table {
        Table { slots: vec![None; slots_for(n)].into_boxed_slice(), len: 0 }
    }

    #[inline]
    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    #[inline]
    fn find(&self, m: &[u8]) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        let mask = self.mask();
        let mut i = hash(m) as usize & mask;
        loop {
            match &self.slots[i] {
                None => return None,
                Some(e) if e.as_slice() == m => return Some(i),
                Some(_) => i = (i + 1) & mask,
            }
        }
    }

    /// Put a member known to be absent, with room known to exist.
    #[inline]
    fn place(&mut self, h: u64, e: CompactBytes) {
        let mask = self.mask();
        let mut i = h as usize & mask;
        while self.slots[i].is_some() {
            i = (i + 1) & mask;
        }
        self.slots[i] = Some(e);
        self.len += 1;
    }

    fn resize(&mut self, nslots: usize) {
        let old = std::mem::replace(&mut self.slots, vec![None; nslots].into_boxed_slice());
        self.len = 0;
        for e in Vec::from(old).into_iter().flatten() {
            self.place(hash(&e), e);
        }
    }

    #[inline]
    fn full_for_one_more(&self) -> bool {
        (self.len + 1) * 4 > self.slots.len() * 3
    }

    /// Add `m`; false if present.
    fn insert(&mut self, m: &[u8]) -> bool {
        if self.full_for_one_more() {
            if self.find(m).is_some() {
                return false;
            }
            self.resize(slots_for(self.len + 1).max(self.slots.len() * 2));
        }
        let mask = self.mask();
        let mut i = hash(m) as usize & mask;
        loop {
            match &self.slots[i] {
                None => {
                    self.slots[i] = Some(CompactBytes::new(m));
                    self.len += 1;
                    return true;
                }
                Some(e) if e.as_slice() == m => return false,
                Some(_) => i = (i + 1) & mask,
            }
        }
    }

    /// Add a member known to be absent.
    fn insert_new(&mut self, e: CompactBytes) {
        if self.full_for_one_more() {
            self.resize(slots_for(self.len + 1).max(self.slots.len() * 2));
        }
        self.place(hash(&e), e);
    }

    /// Take the member at slot `i` out, shifting its cluster back; shrinks a table under 1/10 full.
    fn remove_at(&mut self, i: usize) -> Option<CompactBytes> {
        let taken = self.slots.get_mut(i)?.take()?;
        self.len -= 1;
        let mask = self.mask();
        let mut hole = i;
        let mut k = (i + 1) & mask;
        while let Some(e) = &self.slots[k] {
            let home = hash(e) as usize & mask;
            // The member at k may fill the hole unless its home lies cyclically in (hole, k].
            if (k.wrapping_sub(home) & mask) >= (k.wrapping_sub(hole) & mask) {
                self.slots[hole] = self.slots[k].take();
                hole = k;
            }
            k = (k + 1) & mask;
        }
        if self.slots.len() > MIN_SLOTS && self.len * 10 < self.slots.len() {
            self.resize(slots_for(self.len * 2));
        }
        Some(taken)
    }

    fn remove(&mut self, m: &[u8]) -> bool {
        match self.find(m) {
            Some(i) => self.remove_at(i).is_some(),
            None => false,
        }
    }

    /// A uniformly random occupied slot.
    #[inline]
    fn random_slot(&self) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        loop {
            let i = rng::below(self.slots.len());
            if self.slots[i].is_some() {
                return Some(i);
            }
        }
    }

    /// One SSCAN step (Redis's dictScan loop in scanGenericCommand): visit home buckets from `cursor` in
    /// reverse-binary order, calling `f` for their members, until `count` members were found, the cursor
    /// wrapped to 0, or `count * 10` buckets were visited. Returns the next cursor.
    fn scan<'a>(&'a self, cursor: u64, count: usize, mut f: impl FnMut(&'a [u8])) -> u64 {
        if self.len == 0 {
            return 0;
        }
        let mask = self.mask();
        let m64 = mask as u64;
        let mut v = cursor;
        let mut found = 0usize;
        let mut budget = count.saturating_mul(10);
        loop {
            let bucket = (v & m64) as usize;
            let mut i = bucket;
            while let Some(e) = &self.slots[i] {
                if hash(e) as usize & mask == bucket {
                    f(e);
                    found += 1;
                }
                i = (i + 1) & mask;
                if i == bucket {
                    break;
                }
            }
            // Increment the reversed cursor (bits above the mask set so that the carry runs through them).
            v |= !m64;
            v = v.reverse_bits().wrapping_add(1).reverse_bits();
            if v == 0 || budget == 0 || found >= count {
                return v;
            }
            budget -= 1;
        }
    }

    fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.slots.iter().filter_map(|s| s.as_deref())
    }

    fn heap_size(&self) -> usize {
        self.slots.len() * std::mem::size_of::<Option<CompactBytes>>()
            + self.iter().filter(|m| m.len() > super::bytes::INLINE_CAP).map(|m| m.len()).sum::<usize>()
    }
}

// ---------------------------------------------------------------------------------------------------------
// Set
// ---------------------------------------------------------------------------------------------------------

/// The table is boxed so that the handle stays 16 bytes (the key's `Value` holds it inline).
#[derive(Clone)]
enum Repr {
    Ints(Ints),
    Table(Box<Table>),
}

/// A set; cloning keeps the encoding (Redis's setTypeDup, for COPY).
#[derive(Clone)]
pub struct Set {
    repr: Repr,
}

impl Default for Set {
    /// An empty intset (Redis's createIntsetObject).
    fn default() -> Self {
        Set { repr: Repr::Ints(Ints::default()) }
    }
}

impl std::fmt::Debug for Set {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.members().map(|m| String::from_utf8_lossy(&m.to_vec()).into_owned())).finish()
    }
}

impl PartialEq for Set {
    /// Same members (whatever the encodings).
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.members().all(|m| other.contains_member(m))
    }
}

impl Set {
    /// An empty intset; the first non-integer member turns it into a table.
    pub fn new() -> Set {
        Set::default()
    }

    /// The set Redis creates for a first member (setTypeCreate): an intset if it is an integer.
    pub fn for_member(first: &[u8]) -> Set {
        if as_int(first).is_some() {
            Set::new()
        } else {
            Set { repr: Repr::Table(Box::new(Table::with_capacity(1))) }
        }
    }

    /// Build from members (RESTORE, reload): intset when all are integers and few enough, as Redis loads.
    pub fn from_members<I: IntoIterator<Item = Vec<u8>>>(members: I, enc: &Encodings) -> Set {
        let mut s = Set::new();
        for m in members {
            s.insert(&m, enc);
        }
        s
    }

    #[inline]
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Ints(i) => i.len(),
            Repr::Table(t) => t.len,
        }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// OBJECT ENCODING: "intset" or "hashtable" (Redis 7.0).
    pub fn encoding(&self) -> &'static str {
        match &self.repr {
            Repr::Ints(_) => "intset",
            Repr::Table(_) => "hashtable",
        }
    }

    #[inline]
    pub fn is_intset(&self) -> bool {
        matches!(self.repr, Repr::Ints(_))
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        match &self.repr {
            Repr::Ints(i) => as_int(m).is_some_and(|x| i.find(x).is_some()),
            Repr::Table(t) => t.find(m).is_some(),
        }
    }

    /// Membership of a member of another set (integers compared as integers when both are intsets).
    #[inline]
    pub fn contains_member(&self, m: Member<'_>) -> bool {
        match (m, &self.repr) {
            (Member::Int(x), Repr::Ints(i)) => i.find(x).is_some(),
            (Member::Int(_), Repr::Table(t)) => m.with_bytes(|b| t.find(b).is_some()),
            (Member::Str(s), _) => self.contains(s),
        }
    }

    /// Turn an intset into a table (one way).
    fn convert(&mut self) {
        if let Repr::Ints(ints) = &self.repr {
            let mut t = Table::with_capacity(ints.len() + 1);
            let mut buf = itoa::Buffer::new();
            for i in 0..ints.len() {
                t.insert_new(CompactBytes::new(buf.format(ints.get(i)).as_bytes()));
            }
            self.repr = Repr::Table(Box::new(t));
        }
    }

    /// Add a member; true if it is new. An intset becomes a table on a non-integer member or when it
    /// outgrows set-max-intset-entries (Redis's setTypeAdd).
    pub fn insert(&mut self, m: &[u8], enc: &Encodings) -> bool {
        match &mut self.repr {
            Repr::Table(t) => t.insert(m),
            Repr::Ints(ints) => match as_int(m) {
                Some(x) => {
                    if !ints.insert(x) {
                        return false;
                    }
                    if ints.len() > max_intset(enc) {
                        self.convert();
                    }
                    true
                }
                None => {
                    self.convert();
                    if let Repr::Table(t) = &mut self.repr {
                        t.insert_new(CompactBytes::new(m));
                    }
                    true
                }
            },
        }
    }

    /// `insert` for a member seen in another set.
    pub fn insert_member(&mut self, m: Member<'_>, enc: &Encodings) -> bool {
        match (m, &mut self.repr) {
            (Member::Int(x), Repr::Ints(ints)) => {
                if !ints.insert(x) {
                    return false;
                }
                if ints.len() > max_intset(enc) {
                    self.convert();
                }
                true
            }
            _ => m.with_bytes(|b| self.insert(b, enc)),
        }
    }

    pub fn remove(&mut self, m: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Ints(i) => as_int(m).is_some_and(|x| i.remove(x)),
            Repr::Table(t) => t.remove(m),
        }
    }

    /// `remove` for a member seen in another set.
    pub fn remove_member(&mut self, m: Member<'_>) -> bool {
        match (m, &mut self.repr) {
            (Member::Int(x), Repr::Ints(ints)) => ints.remove(x),
            _ => m.with_bytes(|b| self.remove(b)),
        }
    }

    /// The members in storage order (ascending for an intset), integers unformatted.
    pub fn members(&self) -> Members<'_> {
        match &self.repr {
            Repr::Ints(i) => Members(MembersInner::Ints(i, 0)),
            Repr::Table(t) => Members(MembersInner::Table(t.slots.iter())),
        }
    }

    /// A uniformly random position (see `member_at`), or None when empty.
    #[inline]
    pub fn random_pos(&self) -> Option<usize> {
        match &self.repr {
            Repr::Ints(i) => (i.len() > 0).then(|| rng::below(i.len())),
            Repr::Table(t) => t.random_slot(),
        }
    }

    /// The member at a position: an index for an intset, a slot for a table (None if vacant).
    #[inline]
    pub fn member_at(&self, pos: usize) -> Option<Member<'_>> {
        match &self.repr {
            Repr::Ints(i) => (pos < i.len()).then(|| Member::Int(i.get(pos))),
            Repr::Table(t) => t.slots.get(pos)?.as_deref().map(Member::Str),
        }
    }

    /// A uniformly random member.
    #[inline]
    pub fn random_member(&self) -> Option<Member<'_>> {
        self.member_at(self.random_pos()?)
    }

    /// Remove and return a uniformly random member.
    pub fn pop_random(&mut self) -> Option<Owned> {
        match &mut self.repr {
            Repr::Ints(i) => {
                if i.len() == 0 {
                    return None;
                }
                let p = rng::below(i.len());
                Some(Owned::Int(i.remove_at(p)))
            }
            Repr::Table(t) => {
                let p = t.random_slot()?;
                t.remove_at(p).map(Owned::Bytes)
            }
        }
    }

    /// One SSCAN step: an intset returns everything with cursor 0 (as Redis); a table returns the members
    /// of the buckets visited from `cursor` (see `Table::scan`). Returns the next cursor.
    pub fn scan<'a>(&'a self, cursor: u64, count: usize, mut f: impl FnMut(Member<'a>)) -> u64 {
        match &self.repr {
            Repr::Ints(i) => {
                for k in 0..i.len() {
                    f(Member::Int(i.get(k)));
                }
                0
            }
            Repr::Table(t) => t.scan(cursor, count, |b| f(Member::Str(b))),
        }
    }

    /// Heap bytes owned beyond the handle (which the key's entry holds).
    pub fn heap_size(&self) -> usize {
        match &self.repr {
            Repr::Ints(i) => i.heap_size(),
            Repr::Table(t) => std::mem::size_of::<Table>() + t.heap_size(),
        }
    }
}

/// Iterator over a set's `Member`s.
pub struct Members<'a>(MembersInner<'a>);

enum MembersInner<'a> {
    Ints(&'a Ints, usize),
    Table(std::slice::Iter<'a, Option<CompactBytes>>),
}

impl<'a> Iterator for Members<'a> {
    type Item = Member<'a>;

    #[inline]
    fn next(&mut self) -> Option<Member<'a>> {
        match &mut self.0 {
            MembersInner::Ints(ints, i) => {
                if *i < ints.len() {
                    *i += 1;
                    Some(Member::Int(ints.get(*i - 1)))
                } else {
                    None
                }
            }
            MembersInner::Table(it) => it.find_map(|s| s.as_deref().map(Member::Str)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(max: usize) -> Encodings {
        Encodings { set_max_intset_entries: max, ..Default::default() }
    }

    fn sorted(s: &Set) -> Vec<Vec<u8>> {
        let mut v: Vec<Vec<u8>> = s.members().map(|m| m.to_vec()).collect();
        v.sort();
        v
    }

    #[test]
    fn intset_widens_and_stays_sorted() {
        let e = enc(512);
        let mut s = Set::new();
        for x in [5i64, -3, 100, 70000, -70000, i64::MAX, i64::MIN, 0, 5] {
            s.insert(x.to_string().as_bytes(), &e);
        }
        assert_eq!(s.encoding(), "intset");
        assert_eq!(s.len(), 8);
        let got: Vec<i64> = s.members().map(|m| m.as_int().unwrap()).collect();
        let mut want = vec![5i64, -3, 100, 70000, -70000, i64::MAX, i64::MIN, 0];
        want.sort();
        assert_eq!(got, want);
        assert!(s.contains(b"70000"));
        assert!(!s.contains(b"070000"));
        assert!(!s.contains(b"-0"));
        assert!(s.remove(b"-70000"));
        assert!(!s.remove(b"-70000"));
        assert_eq!(s.len(), 7);
    }

    #[test]
    fn widening_places_the_new_value_at_an_end() {
        let e = enc(512);
        let mut s = Set::new();
        s.insert(b"1", &e);
        s.insert(b"2", &e);
        s.insert(b"-100000", &e);
        s.insert(b"100000", &e);
        s.insert(b"-10000000000", &e);
        let got: Vec<i64> = s.members().map(|m| m.as_int().unwrap()).collect();
        assert_eq!(got, vec![-10000000000, -100000, 1, 2, 100000]);
    }

    #[test]
    fn conversion_to_table() {
        let e = enc(4);
        let mut s = Set::new();
        for i in 0..4 {
            assert!(s.insert(i.to_string().as_bytes(), &e));
        }
        assert_eq!(s.encoding(), "intset");
        s.insert(b"4", &e);
        assert_eq!(s.encoding(), "hashtable");
        assert_eq!(s.len(), 5);
        let mut s = Set::new();
        s.insert(b"1", &e);
        s.insert(b"a", &e);
        assert_eq!(s.encoding(), "hashtable");
        assert_eq!(sorted(&s), vec![b"1".to_vec(), b"a".to_vec()]);
        assert_eq!(Set::for_member(b"x").encoding(), "hashtable");
        assert_eq!(Set::for_member(b"12").encoding(), "intset");
    }

    #[test]
    fn table_insert_remove_many() {
        let e = enc(0);
        let mut s = Set::for_member(b"x");
        for i in 0..5000 {
            assert!(s.insert(format!("m:{i}").as_bytes(), &e));
        }
        assert!(!s.insert(b"m:10", &e));
        assert_eq!(s.len(), 5000);
        for i in (0..5000).step_by(2) {
            assert!(s.remove(format!("m:{i}").as_bytes()));
        }
        assert_eq!(s.len(), 2500);
        for i in 0..5000 {
            assert_eq!(s.contains(format!("m:{i}").as_bytes()), i % 2 == 1, "{i}");
        }
        for i in (1..5000).step_by(2) {
            assert!(s.remove(format!("m:{i}").as_bytes()));
        }
        assert!(s.is_empty());
        if let Repr::Table(t) = &s.repr {
            assert!(t.slots.len() <= 8);
        }
    }

    #[test]
    fn pop_random_drains_everything() {
        let e = enc(16);
        for n in [10usize, 100] {
            let mut s = Set::new();
            for i in 0..n {
                s.insert(i.to_string().as_bytes(), &e);
            }
            let mut seen = std::collections::HashSet::new();
            while let Some(m) = s.pop_random() {
                assert!(seen.insert(m.to_vec()));
            }
            assert_eq!(seen.len(), n);
        }
    }

    #[test]
    fn random_member_is_roughly_uniform() {
        let e = enc(0);
        let mut s = Set::for_member(b"a");
        for i in 0..10 {
            s.insert(format!("k{i}").as_bytes(), &e);
        }
        let mut hist = std::collections::HashMap::new();
        for _ in 0..10000 {
            *hist.entry(s.random_member().unwrap().to_vec()).or_insert(0) += 1;
        }
        assert_eq!(hist.len(), 10);
        assert!(hist.values().all(|&c| c > 800 && c < 1200), "{hist:?}");
    }

    #[test]
    fn scan_returns_everything_present_throughout() {
        let e = enc(0);
        let mut s = Set::for_member(b"x");
        for i in 0..1000 {
            s.insert(format!("e{i}").as_bytes(), &e);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut steps = 0;
        loop {
            cursor = s.scan(cursor, 10, |m| {
                seen.insert(m.to_vec());
            });
            steps += 1;
            // Grow and shrink the table while scanning.
            if steps == 5 {
                for i in 1000..5000 {
                    s.insert(format!("e{i}").as_bytes(), &e);
                }
            }
            if steps == 20 {
                for i in 100..5000 {
                    s.remove(format!("e{i}").as_bytes());
                }
            }
            if cursor == 0 {
                break;
            }
        }
        for i in 0..100 {
            assert!(seen.contains(format!("e{i}").as_bytes()), "missing e{i}");
        }
    }

    #[test]
    fn intset_block_is_exact_and_handle_small() {
        assert_eq!(std::mem::size_of::<Set>(), 16);
        let e = enc(512);
        let mut s = Set::new();
        for i in 0..10 {
            s.insert(i.to_string().as_bytes(), &e);
        }
        assert_eq!(s.heap_size(), 20);
        s.insert(b"100000", &e);
        assert_eq!(s.heap_size(), 44);
        s.remove(b"3");
        assert_eq!(s.heap_size(), 40);
        let c = s.clone();
        assert_eq!(c, s);
        assert_eq!(
            c.members().map(|m| m.as_int().unwrap()).collect::<Vec<_>>(),
            vec![0, 1, 2, 4, 5, 6, 7, 8, 9, 100000]
        );
        while s.pop_random().is_some() {}
        assert_eq!(s.heap_size(), 0);
        assert_eq!(c.len(), 10);
    }

    #[test]
    fn member_bytes_formats_integers() {
        let e = enc(512);
        let mut s = Set::new();
        s.insert(b"-12", &e);
        s.insert(b"7", &e);
        let v: Vec<Vec<u8>> = s.members().map(|m| m.bytes().into_owned()).collect();
        assert_eq!(v, vec![b"-12".to_vec(), b"7".to_vec()]);
        assert!(matches!(Member::Str(b"x").bytes(), Cow::Borrowed(_)));
    }

    #[test]
    fn equality_ignores_encoding() {
        let mut a = Set::new();
        a.insert(b"1", &enc(512));
        a.insert(b"2", &enc(512));
        let mut b = Set::for_member(b"z");
        b.insert(b"2", &enc(512));
        b.insert(b"1", &enc(512));
        assert_eq!(a, b);
        assert_eq!(a.clone(), a);
        let r = Set::from_members(vec![b"1".to_vec(), b"2".to_vec()], &enc(512));
        assert_eq!(r.encoding(), "intset");
        let r = Set::from_members((0..10).map(|i| i.to_string().into_bytes()), &enc(5));
        assert_eq!(r.encoding(), "hashtable");
    }
}
