//! Value: what a key holds, with Redis's encodings (types layer, no actors).
//!
//! Strings keep Redis's three encodings because OBJECT ENCODING reports them and clients' tests check them:
//! `int` (a canonical i64), `embstr` (up to 44 bytes, written whole by SET-like commands) and `raw` (longer,
//! or changed in place by APPEND/SETRANGE/SETBIT). The enum is 24 bytes so a table entry stays at 64.

use super::bytes::CompactBytes;
use super::hash::Hash;
use super::list::List;
use super::rawstr::{RawMut, RawStr};
use super::set::Set;
use super::stream::Stream;
use super::zset::ZSet;

/// Longest string Redis stores as embstr.
pub const EMBSTR_MAX: usize = 44;

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// String, `int` encoding.
    Int(i64),
    /// String, `embstr` encoding.
    Emb(CompactBytes),
    /// String, `raw` encoding (growable: APPEND/SETRANGE/SETBIT work in place).
    Raw(RawStr),
    /// Collections are 16-byte handles held inline (a small hash, set or sorted set is then one block).
    List(List),
    Hash(Hash),
    Set(Set),
    ZSet(ZSet),
    /// Streams are rarer and bigger: boxed, which keeps `Value` at 24 bytes.
    Stream(Box<Stream>),
}

/// A collection kind that commands look up by type: `db.read::<List>(key)?` is the list at `key`, None when
/// the key is missing, WRONGTYPE when it holds another kind (see `Db::read`, `Db::write`).
pub trait Typed: Sized {
    /// This kind inside `v`, or None for another kind.
    fn of(v: &Value) -> Option<&Self>;
    /// This kind inside `v` for writing, or None for another kind.
    fn of_mut(v: &mut Value) -> Option<&mut Self>;
    /// A new value of this kind, stored by `Db::write_or_create`.
    fn into_value(self) -> Value;
}

/// `Typed` for a kind held inline by its `Value` variant.
macro_rules! typed_inline {
    ($($kind:ident),*) => {$(
        impl Typed for $kind {
            #[inline]
            fn of(v: &Value) -> Option<&$kind> {
                match v {
                    Value::$kind(x) => Some(x),
                    _ => None,
                }
            }
            #[inline]
            fn of_mut(v: &mut Value) -> Option<&mut $kind> {
                match v {
                    Value::$kind(x) => Some(x),
                    _ => None,
                }
            }
            #[inline]
            fn into_value(self) -> Value {
                Value::$kind(self)
            }
        }
    )*};
}
typed_inline!(List, Hash, Set, ZSet);

impl Typed for Stream {
    #[inline]
    fn of(v: &Value) -> Option<&Stream> {
        match v {
            Value::Stream(x) => Some(x),
            _ => None,
        }
    }
    #[inline]
    fn of_mut(v: &mut Value) -> Option<&mut Stream> {
        match v {
            Value::Stream(x) => Some(x),
            _ => None,
        }
    }
    #[inline]
    fn into_value(self) -> Value {
        Value::Stream(Box::new(self))
    }
}

/// The type names TYPE and SCAN TYPE use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    String,
    List,
    Hash,
    Set,
    ZSet,
    Stream,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::List => "list",
            Kind::Hash => "hash",
            Kind::Set => "set",
            Kind::ZSet => "zset",
            Kind::Stream => "stream",
        }
    }

    pub fn from_name(name: &[u8]) -> Option<Kind> {
        [Kind::String, Kind::List, Kind::Hash, Kind::Set, Kind::ZSet, Kind::Stream]
            .into_iter()
            .find(|k| k.name().as_bytes().eq_ignore_ascii_case(name))
    }
}

impl Value {
    /// A string value from client bytes, choosing the encoding as Redis's tryObjectEncoding does.
    #[inline]
    pub fn string(s: &[u8]) -> Value {
        if s.len() <= 20 {
            if let Some(i) = super::num::parse_i64(s) {
                return Value::Int(i);
            }
        }
        if s.len() <= EMBSTR_MAX {
            Value::Emb(CompactBytes::new(s))
        } else {
            Value::Raw(RawStr::from_slice(s))
        }
    }

    /// A string value that takes `b` without copying it when it is kept `raw` (a client's big argument,
    /// read into a buffer of its own: a 400 MB SET then holds 400 MB, not twice that while it runs).
    pub fn string_shared(b: bytes::Bytes) -> Value {
        if b.len() <= EMBSTR_MAX {
            return Value::string(&b);
        }
        Value::Raw(RawStr::shared(b))
    }

    /// A string value that Redis would keep `raw` whatever its length (results of APPEND etc.).
    pub fn raw(v: Vec<u8>) -> Value {
        Value::Raw(RawStr::from_vec(v))
    }

    pub fn kind(&self) -> Kind {
        match self {
            Value::Int(_) | Value::Emb(_) | Value::Raw(_) => Kind::String,
            Value::List(_) => Kind::List,
            Value::Hash(_) => Kind::Hash,
            Value::Set(_) => Kind::Set,
            Value::ZSet(_) => Kind::ZSet,
            Value::Stream(_) => Kind::Stream,
        }
    }

    /// OBJECT ENCODING's answer.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Int(_) => "int",
            Value::Emb(_) => "embstr",
            Value::Raw(_) => "raw",
            Value::List(l) => l.encoding(),
            Value::Hash(h) => h.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
            Value::Stream(_) => "stream",
        }
    }

    pub fn is_string(&self) -> bool {
        matches!(self, Value::Int(_) | Value::Emb(_) | Value::Raw(_))
    }

    /// Length of a string value in bytes (the decimal length for `int`).
    pub fn str_len(&self) -> usize {
        match self {
            Value::Int(i) => itoa::Buffer::new().format(*i).len(),
            Value::Emb(b) => b.len(),
            Value::Raw(v) => v.len(),
            _ => 0,
        }
    }

    /// Call `f` with the bytes of a string value (int encoding formatted on the stack).
    #[inline]
    pub fn with_str<R>(&self, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        match self {
            Value::Int(i) => Some(f(itoa::Buffer::new().format(*i).as_bytes())),
            Value::Emb(b) => Some(f(b)),
            Value::Raw(v) => Some(f(v)),
            _ => None,
        }
    }

    /// The bytes of a string value, copied.
    pub fn to_vec(&self) -> Option<Vec<u8>> {
        self.with_str(|s| s.to_vec())
    }

    /// Turn a string value into a growable raw buffer (for in-place edits) and return it.
    pub fn make_raw(&mut self) -> Option<RawMut<'_>> {
        if !matches!(self, Value::Raw(_)) {
            let bytes = self.to_vec()?;
            *self = Value::raw(bytes);
        }
        match self {
            Value::Raw(v) => Some(v.edit()),
            _ => None,
        }
    }

    /// Heap bytes owned by the value (approximate, for MEMORY USAGE and DEBUG OBJECT).
    pub fn heap_size(&self) -> usize {
        match self {
            Value::Int(_) => 0,
            Value::Emb(b) => b.heap_size(),
            Value::Raw(v) => v.heap_size(),
            Value::List(l) => l.heap_size(),
            Value::Hash(h) => h.heap_size(),
            Value::Set(s) => s.heap_size(),
            Value::ZSet(z) => z.heap_size(),
            Value::Stream(st) => st.heap_size(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_big_string_is_kept_without_a_copy() {
        let v = vec![7u8; 1000];
        let ptr = v.as_ptr();
        let b = bytes::Bytes::from(v);
        let held = b.clone();
        let mut val = Value::string_shared(b);
        assert_eq!(val.encoding(), "raw");
        assert_eq!(val.with_str(|s| s.as_ptr()), Some(ptr));
        // Edited while the request still holds the bytes: a copy, the request's bytes untouched.
        val.make_raw().unwrap().push(1);
        assert_eq!(held.len(), 1000);
        assert_eq!(val.str_len(), 1001);
        // Edited once nothing else holds them: the same allocation becomes the growable buffer.
        let v = vec![7u8; 1000];
        let ptr = v.as_ptr();
        let mut val = Value::string_shared(bytes::Bytes::from(v));
        let buf = val.make_raw().unwrap();
        assert_eq!(buf.as_ptr(), ptr);
        // Short ones get the encoding SET gives them.
        assert_eq!(Value::string_shared(bytes::Bytes::from_static(b"123")).encoding(), "int");
        assert_eq!(Value::string_shared(bytes::Bytes::from_static(b"abc")).encoding(), "embstr");
    }

    #[test]
    fn value_is_24_bytes() {
        assert_eq!(std::mem::size_of::<Value>(), 24);
    }

    #[test]
    fn encodings_follow_redis() {
        assert_eq!(Value::string(b"12345").encoding(), "int");
        assert_eq!(Value::string(b"-1").encoding(), "int");
        assert_eq!(Value::string(b"01").encoding(), "embstr");
        assert_eq!(Value::string(b"-0").encoding(), "embstr");
        assert_eq!(Value::string(b" 1").encoding(), "embstr");
        assert_eq!(Value::string(&[b'a'; 44]).encoding(), "embstr");
        assert_eq!(Value::string(&[b'a'; 45]).encoding(), "raw");
        assert_eq!(Value::string(b"9223372036854775807").encoding(), "int");
        assert_eq!(Value::string(b"9223372036854775808").encoding(), "embstr");
    }

    #[test]
    fn int_formats_back() {
        for i in [0, 1, -1, i64::MAX, i64::MIN, 1234567890] {
            let v = Value::Int(i);
            assert_eq!(v.to_vec().unwrap(), i.to_string().into_bytes());
            assert_eq!(v.str_len(), i.to_string().len());
        }
    }
}
