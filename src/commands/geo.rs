//! Geo commands: GEOADD, GEOPOS, GEODIST, GEOHASH, GEOSEARCH, GEOSEARCHSTORE and the GEORADIUS family
//! (commands layer, applied by the Keyspace actor).
//!
//! A geo index is a sorted set whose scores are 52-bit geohashes (see `types::geohash`), so every sorted-set
//! command works on it. Searches follow Redis 7.0's geo.c step by step: the same 9 geohash boxes scanned in
//! the same order, the same distance formula, the same sort algorithms (glibc's merge sort for a full sort,
//! Redis's partial quicksort `pqsort` when COUNT cuts the result), so unsorted and tied results come back in
//! Redis's order. Distances print with 4 decimals, coordinates as Redis's "human" long doubles.

use super::spec::*;
use super::Ctx;
use crate::config::{NOTIFY_GENERIC, NOTIFY_ZSET};
use crate::error::CmdError;
use crate::types::db::Db;
use crate::types::geohash::{self, HashBits, Shape, ShapeKind};
use crate::types::num;
use crate::types::value::Value;
use crate::types::zset::ZSet;

const RADIUS_CX: &str = "O(N+log(M)) where N is the number of elements inside the bounding box of the circular \
area delimited by center and radius and M is the number of items inside the index.";
const SEARCH_CX: &str = "O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area \
around the shape provided as the filter and M is the number of items inside the shape";

/// The geo commands, as Redis 7.0's command table declares them.
#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("geo", [
    cmd("geoadd", -5, WRITE | DENYOOM, geoadd).keys(1, 1, 1).acl(GEO).doc("3.2.0", "O(log(N)) for each item added, where N is the number of elements in the sorted set.", "Add one or more geospatial items in the geospatial index represented using a sorted set"),
    cmd("geodist", -4, READONLY, geodist).keys(1, 1, 1).acl(GEO).doc("3.2.0", "O(log(N))", "Returns the distance between two members of a geospatial index"),
    cmd("geohash", -2, READONLY, geohash_cmd).keys(1, 1, 1).acl(GEO).doc("3.2.0", "O(log(N)) for each member requested, where N is the number of elements in the sorted set.", "Returns members of a geospatial index as standard geohash strings"),
    cmd("geopos", -2, READONLY, geopos).keys(1, 1, 1).acl(GEO).doc("3.2.0", "O(N) where N is the number of members requested.", "Returns longitude and latitude of members of a geospatial index"),
    cmd("georadius", -6, WRITE | DENYOOM | MOVABLE_KEYS, georadius).keys(1, 1, 1).acl(GEO).getkeys(georadius_keys).doc("3.2.0", RADIUS_CX, "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a point"),
    cmd("georadius_ro", -6, READONLY, georadius_ro).keys(1, 1, 1).acl(GEO).doc("3.2.10", RADIUS_CX, "A read-only variant for GEORADIUS"),
    cmd("georadiusbymember", -5, WRITE | DENYOOM | MOVABLE_KEYS, georadiusbymember).keys(1, 1, 1).acl(GEO).getkeys(georadius_keys).doc("3.2.0", RADIUS_CX, "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a member"),
    cmd("georadiusbymember_ro", -5, READONLY, georadiusbymember_ro).keys(1, 1, 1).acl(GEO).doc("3.2.10", RADIUS_CX, "A read-only variant for GEORADIUSBYMEMBER"),
    cmd("geosearch", -7, READONLY, geosearch).keys(1, 1, 1).acl(GEO).doc("6.2.0", SEARCH_CX, "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle."),
    cmd("geosearchstore", -8, WRITE | DENYOOM, geosearchstore).keys(1, 2, 1).acl(GEO).doc("6.2.0", SEARCH_CX, "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle, and store the result in another key."),
]);

/// GEORADIUS / GEORADIUSBYMEMBER key positions: the source, and the last STORE/STOREDIST key.
fn georadius_keys(argv: &[&[u8]]) -> Vec<usize> {
    let mut stored = None;
    let mut i = 5;
    while i < argv.len() {
        let a = argv[i];
        if (a.eq_ignore_ascii_case(b"store") || a.eq_ignore_ascii_case(b"storedist")) && i + 1 < argv.len() {
            stored = Some(i + 1);
            i += 1;
        }
        i += 1;
    }
    let mut v = vec![1];
    v.extend(stored);
    v
}

const NO_MEMBER: CmdError = CmdError::new("ERR could not decode requested zset member");
const BAD_UNIT: CmdError = CmdError::new("ERR unsupported unit provided. please use M, KM, FT, MI");

// ------------------------------------------------------------------------------------------------
// Argument helpers
// ------------------------------------------------------------------------------------------------

/// Redis's string2d: strtod over the whole argument, rejecting NaN, overflow and underflow to zero.
fn str2d(s: &[u8]) -> Option<f64> {
    let v = match num::parse_f64(s) {
        Some(v) => v,
        None => parse_hex_float(s)?,
    };
    if v.is_infinite() && !s.iter().any(|c| c.eq_ignore_ascii_case(&b'i')) {
        return None; // ERANGE overflow
    }
    if v == 0.0 {
        let mantissa = s.split(|c| matches!(c, b'e' | b'E' | b'p' | b'P')).next().unwrap_or(s);
        let hex = mantissa.len() > 2 && mantissa.iter().any(|c| matches!(c, b'x' | b'X'));
        let digits = if hex {
            &mantissa[mantissa.iter().position(|c| matches!(c, b'x' | b'X')).unwrap_or(0) + 1..]
        } else {
            mantissa
        };
        if digits.iter().any(|c| c.is_ascii_hexdigit() && *c != b'0' && (hex || c.is_ascii_digit())) {
            return None; // ERANGE underflow to zero
        }
    }
    Some(v)
}

/// strtod's hexadecimal form: [+-]0x<hex>[.<hex>][p[+-]<dec>].
fn parse_hex_float(s: &[u8]) -> Option<f64> {
    let (neg, rest) = match s.first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if rest.len() < 3 || rest[0] != b'0' || !matches!(rest[1], b'x' | b'X') {
        return None;
    }
    let body = &rest[2..];
    let (mant, exp) = match body.iter().position(|c| matches!(c, b'p' | b'P')) {
        Some(p) => (&body[..p], Some(&body[p + 1..])),
        None => (body, None),
    };
    let (int, frac) = match mant.iter().position(|&c| c == b'.') {
        Some(p) => (&mant[..p], &mant[p + 1..]),
        None => (mant, &[][..]),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for &c in int {
        v = v * 16.0 + (c as char).to_digit(16)? as f64;
    }
    let mut scale = 1.0 / 16.0;
    for &c in frac {
        v += (c as char).to_digit(16)? as f64 * scale;
        scale /= 16.0;
    }
    if let Some(e) = exp {
        let e: i32 = std::str::from_utf8(e).ok()?.parse().ok()?;
        v *= 2f64.powi(e);
    }
    Some(if neg { -v } else { v })
}

/// A double argument, or `err`.
fn double_arg(s: &[u8], err: CmdError) -> Result<f64, CmdError> {
    str2d(s).ok_or(err)
}

/// Longitude and latitude arguments, validated against the geohash limits.
fn lonlat(lon: &[u8], lat: &[u8]) -> Result<[f64; 2], CmdError> {
    let x = double_arg(lon, CmdError::NOT_FLOAT)?;
    let y = double_arg(lat, CmdError::NOT_FLOAT)?;
    if !(geohash::LONG_MIN..=geohash::LONG_MAX).contains(&x) || !(geohash::LAT_MIN..=geohash::LAT_MAX).contains(&y) {
        return Err(CmdError::msg(format!("ERR invalid longitude,latitude pair {x:.6},{y:.6}")));
    }
    Ok([x, y])
}

/// Meters per unit.
fn unit(u: &[u8]) -> Result<f64, CmdError> {
    if u.eq_ignore_ascii_case(b"m") {
        Ok(1.0)
    } else if u.eq_ignore_ascii_case(b"km") {
        Ok(1000.0)
    } else if u.eq_ignore_ascii_case(b"ft") {
        Ok(0.3048)
    } else if u.eq_ignore_ascii_case(b"mi") {
        Ok(1609.34)
    } else {
        Err(BAD_UNIT)
    }
}

/// `<radius> <unit>`: (meters per unit, radius).
fn distance_args(radius: &[u8], u: &[u8]) -> Result<(f64, f64), CmdError> {
    let r = double_arg(radius, CmdError::new("ERR need numeric radius"))?;
    if r < 0.0 {
        return Err(CmdError::new("ERR radius cannot be negative"));
    }
    Ok((unit(u)?, r))
}

/// `<width> <height> <unit>`: (meters per unit, width, height).
fn box_args(w: &[u8], h: &[u8], u: &[u8]) -> Result<(f64, f64, f64), CmdError> {
    let w = double_arg(w, CmdError::new("ERR need numeric width"))?;
    let h = double_arg(h, CmdError::new("ERR need numeric height"))?;
    if h < 0.0 || w < 0.0 {
        return Err(CmdError::new("ERR height or width cannot be negative"));
    }
    Ok((unit(u)?, w, h))
}

// ------------------------------------------------------------------------------------------------
// Reply formatting
// ------------------------------------------------------------------------------------------------

/// Redis's fixedpoint_d2string(d, 4): llrint(d * 10^4) printed with the dot 4 digits from the right.
pub fn fixed4(d: f64) -> String {
    if d == 0.0 {
        return "0.0000".into();
    }
    let x = (d * 10000.0).round_ties_even();
    let sv = if (-9223372036854775808.0..9223372036854775808.0).contains(&x) { x as i64 } else { i64::MIN };
    let v = sv.unsigned_abs();
    format!("{}{}.{:04}", if sv < 0 { "-" } else { "" }, v / 10000, v % 10000)
}

/// Redis's ld2string(LD_STR_HUMAN): "%.17Lf" without trailing zeros, "-0" as "0".
pub fn human(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let mut s = format!("{v:.17}");
    if s.contains('.') {
        let t = s.trim_end_matches('0').trim_end_matches('.').len();
        s.truncate(t);
    }
    if s == "-0" {
        s = "0".into();
    }
    s
}

/// addReplyHumanLongDouble: a bulk string in RESP2, a double in RESP3.
fn reply_human(out: &mut crate::resp::encode::Out, v: f64) {
    let s = human(v);
    if out.resp >= 3 {
        out.raw(b",");
        out.raw(s.as_bytes());
        out.raw(b"\r\n");
    } else {
        out.bulk(s.as_bytes());
    }
}

// ------------------------------------------------------------------------------------------------
// GEOADD, GEOPOS, GEODIST, GEOHASH
// ------------------------------------------------------------------------------------------------

/// GEOADD key [NX|XX] [CH] longitude latitude member [longitude latitude member ...]
fn geoadd(cx: &mut Ctx<'_>) -> CmdResult {
    let argc = cx.argc();
    let (mut nx, mut xx, mut ch) = (false, false, false);
    let mut longidx = 2;
    while longidx < argc {
        let o = cx.arg(longidx);
        if o.eq_ignore_ascii_case(b"nx") {
            nx = true;
        } else if o.eq_ignore_ascii_case(b"xx") {
            xx = true;
        } else if o.eq_ignore_ascii_case(b"ch") {
            ch = true;
        } else {
            break;
        }
        longidx += 1;
    }
    if !(argc - longidx).is_multiple_of(3) || (xx && nx) {
        return Err(CmdError::SYNTAX);
    }
    let mut items = Vec::with_capacity((argc - longidx) / 3);
    for i in (longidx..argc).step_by(3) {
        let xy = lonlat(cx.arg(i), cx.arg(i + 1))?;
        items.push((geohash::score_of(xy[0], xy[1]) as f64, cx.arg(i + 2)));
    }
    // What ZADD then checks.
    if items.is_empty() {
        return Err(CmdError::SYNTAX);
    }
    let key = cx.arg(1);
    let enc = cx.s.enc;
    let db = cx.db();
    let (mut added, mut updated) = (0i64, 0i64);
    let mut apply = |z: &mut ZSet| {
        for &(score, m) in &items {
            match z.score(m) {
                Some(cur) => {
                    if !nx && cur != score {
                        z.insert(m, score, &enc);
                        updated += 1;
                    }
                }
                None => {
                    if !xx {
                        z.insert(m, score, &enc);
                        added += 1;
                    }
                }
            }
        }
    };
    // Without XX a missing key is created (never empty: every member is added to it).
    let z = match xx {
        true => db.write::<ZSet>(key)?,
        false => Some(db.write_or_create(key, || ZSet::from_pairs(Vec::new(), &enc))?),
    };
    if let Some(z) = z {
        apply(z);
    }
    if added + updated > 0 {
        // GEOADD runs as ZADD in Redis, propagation and events included: "zadd key [options] score member
        // ...", the options as the client wrote them, each score the member's 52-bit geohash.
        // Built only when a replica or the AOF will take it: no allocation per GEOADD otherwise.
        if cx.s.prop.feed.enabled {
            let argv = cx.argv;
            let scores: Vec<String> = items.iter().map(|&(score, _)| (score as u64).to_string()).collect();
            let mut args: Vec<&[u8]> = vec![b"zadd", key];
            args.extend((2..longidx).map(|i| argv.get(i)));
            for (&(_, m), s) in items.iter().zip(&scores) {
                args.push(s.as_bytes());
                args.push(m);
            }
            cx.propagate_as(&args);
        }
        cx.modified(key);
        cx.s.persist.dirty += (added + updated - 1) as u64;
        cx.notify(NOTIFY_ZSET, "zadd", key);
    }
    cx.out.int(if ch { added + updated } else { added });
    Ok(())
}

/// GEOPOS key [member ...]
fn geopos(cx: &mut Ctx<'_>) -> CmdResult {
    let argv = cx.argv;
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    let z = db.read::<ZSet>(key)?;
    out.array(argv.len() - 2);
    for m in argv.iter().skip(2) {
        match z.and_then(|z| z.score(m)).and_then(geohash::decode_score) {
            Some(xy) => {
                out.array(2);
                reply_human(out, xy[0]);
                reply_human(out, xy[1]);
            }
            None => out.nil_array(),
        }
    }
    Ok(())
}

/// GEODIST key member1 member2 [M|KM|FT|MI]
fn geodist(cx: &mut Ctx<'_>) -> CmdResult {
    let to_meter = match cx.argc() {
        5 => unit(cx.arg(4))?,
        4 => 1.0,
        _ => return Err(CmdError::SYNTAX),
    };
    let (key, m1, m2) = (cx.arg(1), cx.arg(2), cx.arg(3));
    let (db, out) = cx.db_out();
    let Some(z) = db.read::<ZSet>(key)? else {
        out.nil();
        return Ok(());
    };
    let (Some(s1), Some(s2)) = (z.score(m1), z.score(m2)) else {
        out.nil();
        return Ok(());
    };
    match (geohash::decode_score(s1), geohash::decode_score(s2)) {
        (Some(a), Some(b)) => {
            let d = geohash::distance(a[0], a[1], b[0], b[1]) / to_meter;
            out.bulk(fixed4(d).as_bytes());
        }
        _ => out.nil(),
    }
    Ok(())
}

/// GEOHASH key [member ...]
fn geohash_cmd(cx: &mut Ctx<'_>) -> CmdResult {
    let argv = cx.argv;
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    let z = db.read::<ZSet>(key)?;
    out.array(argv.len() - 2);
    for m in argv.iter().skip(2) {
        match z.and_then(|z| z.score(m)).and_then(geohash::standard_geohash) {
            Some(h) => out.bulk(&h),
            None => out.nil(),
        }
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------------
// Searches
// ------------------------------------------------------------------------------------------------

const RADIUS_COORDS: u32 = 1;
const RADIUS_MEMBER: u32 = 1 << 1;
const RADIUS_NOSTORE: u32 = 1 << 2;
const GEOSEARCH: u32 = 1 << 3;
const GEOSEARCHSTORE: u32 = 1 << 4;

fn georadius(cx: &mut Ctx<'_>) -> CmdResult {
    search_generic(cx, 1, RADIUS_COORDS)
}

fn georadius_ro(cx: &mut Ctx<'_>) -> CmdResult {
    search_generic(cx, 1, RADIUS_COORDS | RADIUS_NOSTORE)
}

fn georadiusbymember(cx: &mut Ctx<'_>) -> CmdResult {
    search_generic(cx, 1, RADIUS_MEMBER)
}

fn georadiusbymember_ro(cx: &mut Ctx<'_>) -> CmdResult {
    search_generic(cx, 1, RADIUS_MEMBER | RADIUS_NOSTORE)
}

fn geosearch(cx: &mut Ctx<'_>) -> CmdResult {
    search_generic(cx, 1, GEOSEARCH)
}

fn geosearchstore(cx: &mut Ctx<'_>) -> CmdResult {
    search_generic(cx, 2, GEOSEARCH | GEOSEARCHSTORE)
}

/// One search hit.
struct GeoPoint {
    lon: f64,
    lat: f64,
    /// Meters from the center.
    dist: f64,
    score: f64,
    member: Vec<u8>,
}

#[derive(Clone, Copy, PartialEq)]
enum Sort {
    None,
    Asc,
    Desc,
}

/// Position of a member of the zset at `key`.
fn member_xy(db: &mut Db, key: &[u8], member: &[u8]) -> Option<[f64; 2]> {
    match &db.peek(key)?.value {
        Value::ZSet(z) => z.score(member).and_then(geohash::decode_score),
        _ => None,
    }
}

/// Scores [min, max) covering every point of a geohash box.
fn box_scores(mut hash: HashBits) -> (f64, f64) {
    let min = geohash::align52(hash);
    hash.bits += 1;
    (min as f64, geohash::align52(hash) as f64)
}

/// Append the members with min <= score < max that lie inside `shape` (geoGetPointsInRange).
fn points_in_range(z: &ZSet, min: f64, max: f64, shape: &Shape, ga: &mut Vec<GeoPoint>, limit: usize) {
    for (m, score) in z.range_by_score(min, max) {
        if score >= max {
            break;
        }
        if let Some(xy) = geohash::decode_score(score) {
            if let Some(dist) = shape.contains(xy[0], xy[1]) {
                ga.push(GeoPoint { lon: xy[0], lat: xy[1], dist, score, member: m.to_vec() });
            }
        }
        if !ga.is_empty() && limit != 0 && ga.len() >= limit {
            break;
        }
    }
}

/// Scan the center box and its neighbours (membersOfAllNeighbors).
fn members_of_all_neighbors(z: &ZSet, r: &geohash::Radius, shape: &Shape, ga: &mut Vec<GeoPoint>, limit: usize) {
    let n = &r.neighbors;
    let boxes = [r.hash, n.north, n.south, n.east, n.west, n.north_east, n.north_west, n.south_east, n.south_west];
    let mut last_processed = 0;
    for i in 0..boxes.len() {
        if boxes[i].is_zero() {
            continue;
        }
        // Huge radiuses make neighbours repeat: skip a box equal to the one processed before.
        if last_processed != 0 && boxes[i] == boxes[last_processed] {
            continue;
        }
        if !ga.is_empty() && limit != 0 && ga.len() >= limit {
            break;
        }
        let (min, max) = box_scores(boxes[i]);
        points_in_range(z, min, max, shape, ga, limit);
        last_processed = i;
    }
}

/// GEORADIUS, GEORADIUSBYMEMBER (and _RO), GEOSEARCH, GEOSEARCHSTORE: georadiusGeneric.
fn search_generic(cx: &mut Ctx<'_>, src_idx: usize, flags: u32) -> CmdResult {
    let argv = cx.argv;
    let argc = argv.len();
    let src = argv.get(src_idx);
    let exists = cx.db().read::<ZSet>(src)?.is_some();

    let mut shape = Shape { kind: ShapeKind::Circle { radius: 0.0 }, xy: [0.0; 2], conversion: 0.0, bounds: [0.0; 4] };
    let mut storekey: Option<&[u8]> = None;
    let mut storedist = false;
    let base_args;
    if flags & RADIUS_COORDS != 0 {
        base_args = 6;
        shape.xy = lonlat(argv.get(2), argv.get(3))?;
        let (conv, radius) = distance_args(argv.get(4), argv.get(5))?;
        shape.conversion = conv;
        shape.kind = ShapeKind::Circle { radius };
    } else if flags & RADIUS_MEMBER != 0 && !exists {
        // No source key: parse the options anyway to pick the reply.
        base_args = 5;
    } else if flags & RADIUS_MEMBER != 0 {
        base_args = 5;
        shape.xy = member_xy(cx.db(), src, argv.get(2)).ok_or(NO_MEMBER)?;
        let (conv, radius) = distance_args(argv.get(3), argv.get(4))?;
        shape.conversion = conv;
        shape.kind = ShapeKind::Circle { radius };
    } else if flags & GEOSEARCH != 0 {
        if flags & GEOSEARCHSTORE != 0 {
            base_args = 3;
            storekey = Some(argv.get(1));
        } else {
            base_args = 2;
        }
    } else {
        return Err(CmdError::new("ERR Unknown georadius search type"));
    }

    let (mut withdist, mut withhash, mut withcoords) = (false, false, false);
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let mut sort = Sort::None;
    let mut any = false;
    let mut count: i64 = 0;
    let search = flags & GEOSEARCH != 0;
    let can_store = flags & RADIUS_NOSTORE == 0 && !search;
    if argc > base_args {
        let remaining = argc - base_args;
        let mut i = 0;
        while i < remaining {
            let arg = argv.get(base_args + i);
            let is = |w: &str| arg.eq_ignore_ascii_case(w.as_bytes());
            let next = |k: usize| argv.get(base_args + i + k);
            if is("withdist") {
                withdist = true;
            } else if is("withhash") {
                withhash = true;
            } else if is("withcoord") {
                withcoords = true;
            } else if is("any") {
                any = true;
            } else if is("asc") {
                sort = Sort::Asc;
            } else if is("desc") {
                sort = Sort::Desc;
            } else if is("count") && i + 1 < remaining {
                count = num::parse_i64(next(1)).ok_or(CmdError::NOT_INT)?;
                if count <= 0 {
                    return Err(CmdError::new("ERR COUNT must be > 0"));
                }
                i += 1;
            } else if is("store") && i + 1 < remaining && can_store {
                storekey = Some(next(1));
                storedist = false;
                i += 1;
            } else if is("storedist") && i + 1 < remaining && can_store {
                storekey = Some(next(1));
                storedist = true;
                i += 1;
            } else if is("storedist") && search && flags & GEOSEARCHSTORE != 0 {
                storedist = true;
            } else if is("frommember") && i + 1 < remaining && search && !fromloc {
                if exists {
                    shape.xy = member_xy(cx.db(), src, next(1)).ok_or(NO_MEMBER)?;
                }
                frommember = true;
                i += 1;
            } else if is("fromlonlat") && i + 2 < remaining && search && !frommember {
                shape.xy = lonlat(next(1), next(2))?;
                fromloc = true;
                i += 2;
            } else if is("byradius") && i + 2 < remaining && search && !bybox {
                let (conv, radius) = distance_args(next(1), next(2))?;
                shape.conversion = conv;
                shape.kind = ShapeKind::Circle { radius };
                byradius = true;
                i += 2;
            } else if is("bybox") && i + 3 < remaining && search && !byradius {
                let (conv, width, height) = box_args(next(1), next(2), next(3))?;
                shape.conversion = conv;
                shape.kind = ShapeKind::Rect { width, height };
                bybox = true;
                i += 3;
            } else {
                return Err(CmdError::SYNTAX);
            }
            i += 1;
        }
    }

    if storekey.is_some() && (withdist || withhash || withcoords) {
        let what = if flags & GEOSEARCHSTORE != 0 { "GEOSEARCHSTORE" } else { "STORE option in GEORADIUS" };
        return Err(CmdError::msg(format!(
            "ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        )));
    }
    let name = String::from_utf8_lossy(argv.get(0));
    if search && !(frommember || fromloc) {
        return Err(CmdError::msg(format!("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}")));
    }
    if search && !(byradius || bybox) {
        return Err(CmdError::msg(format!("ERR exactly one of BYRADIUS and BYBOX can be specified for {name}")));
    }
    if any && count == 0 {
        return Err(CmdError::new("ERR the ANY argument requires COUNT argument"));
    }

    if !exists {
        match storekey {
            Some(dest) => {
                if cx.db().remove(dest).is_some() {
                    cx.modified(dest);
                    cx.notify(NOTIFY_GENERIC, "del", dest);
                }
                cx.out.int(0);
            }
            None => cx.out.array(0),
        }
        return Ok(());
    }

    // COUNT needs the closest N: sort ascending unless ANY (or an explicit order) says otherwise.
    if count != 0 && sort == Sort::None && !any {
        sort = Sort::Asc;
    }

    let radius = shape.areas();
    let mut ga: Vec<GeoPoint> = Vec::new();
    {
        let db = cx.db();
        if let Some(Value::ZSet(z)) = db.peek(src).map(|e| &e.value) {
            let limit = if any { count as usize } else { 0 };
            members_of_all_neighbors(z, &radius, &shape, &mut ga, limit);
        }
    }

    if ga.is_empty() && storekey.is_none() {
        cx.out.array(0);
        return Ok(());
    }

    let result_length = ga.len();
    let returned = if count == 0 || (result_length as u64) < count as u64 { result_length } else { count as usize };
    let mut order: Vec<usize> = (0..result_length).collect();
    if sort != Sort::None {
        let desc = sort == Sort::Desc;
        let cmp = |a: usize, b: usize| -> i32 {
            let (x, y) = (ga[a].dist, ga[b].dist);
            let c = if x > y {
                1
            } else if x == y {
                0
            } else {
                -1
            };
            if desc {
                -c
            } else {
                c
            }
        };
        if returned == result_length {
            msort(&mut order, &cmp);
        } else {
            pqsort(&mut order, &cmp, 0, returned - 1);
        }
    }

    let conv = shape.conversion;
    match storekey {
        None => {
            let options = withdist as usize + withcoords as usize + withhash as usize;
            let out = &mut *cx.out;
            out.array(returned);
            for &i in &order[..returned] {
                let gp = &ga[i];
                if options > 0 {
                    out.array(options + 1);
                }
                out.bulk(&gp.member);
                if withdist {
                    out.bulk(fixed4(gp.dist / conv).as_bytes());
                }
                if withhash {
                    out.int(geohash::double_to_i64(gp.score));
                }
                if withcoords {
                    out.array(2);
                    reply_human(out, gp.lon);
                    reply_human(out, gp.lat);
                }
            }
        }
        Some(dest) => {
            let enc = cx.s.enc;
            let db = cx.db();
            if returned > 0 {
                let pairs: Vec<(Vec<u8>, f64)> = order[..returned]
                    .iter()
                    .map(|&i| {
                        let gp = &mut ga[i];
                        let score = if storedist { gp.dist / conv } else { gp.score };
                        (std::mem::take(&mut gp.member), score)
                    })
                    .collect();
                let z = ZSet::from_pairs(pairs, &enc);
                db.set(dest, Value::ZSet(z), false);
                cx.modified(dest);
                cx.s.persist.dirty += returned as u64 - 1;
                let event = if cx.spec.name == "geosearchstore" { "geosearchstore" } else { "georadiusstore" };
                cx.notify(NOTIFY_ZSET, event, dest);
            } else if db.remove(dest).is_some() {
                cx.modified(dest);
                cx.notify(NOTIFY_GENERIC, "del", dest);
            }
            cx.out.int(returned as i64);
        }
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------------
// Sorting exactly as Redis does
// ------------------------------------------------------------------------------------------------

/// glibc's qsort (a top-down merge sort, stable) over indices, with a C-style comparator.
fn msort(v: &mut [usize], cmp: &dyn Fn(usize, usize) -> i32) {
    let mut tmp = vec![0usize; v.len()];
    msort_with_tmp(v, &mut tmp, cmp);
}

fn msort_with_tmp(b: &mut [usize], tmp: &mut [usize], cmp: &dyn Fn(usize, usize) -> i32) {
    let n = b.len();
    if n <= 1 {
        return;
    }
    let n1 = n / 2;
    {
        let (b1, b2) = b.split_at_mut(n1);
        msort_with_tmp(b1, tmp, cmp);
        msort_with_tmp(b2, tmp, cmp);
    }
    let (mut i, mut j, mut k) = (0, n1, 0);
    while i < n1 && j < n {
        if cmp(b[i], b[j]) <= 0 {
            tmp[k] = b[i];
            i += 1;
        } else {
            tmp[k] = b[j];
            j += 1;
        }
        k += 1;
    }
    while i < n1 {
        tmp[k] = b[i];
        i += 1;
        k += 1;
    }
    b[..k].copy_from_slice(&tmp[..k]);
}

fn med3(v: &[usize], a: usize, b: usize, c: usize, cmp: &dyn Fn(usize, usize) -> i32) -> usize {
    if cmp(v[a], v[b]) < 0 {
        if cmp(v[b], v[c]) < 0 {
            b
        } else if cmp(v[a], v[c]) < 0 {
            c
        } else {
            a
        }
    } else if cmp(v[b], v[c]) > 0 {
        b
    } else if cmp(v[a], v[c]) < 0 {
        a
    } else {
        c
    }
}

fn vecswap(v: &mut [usize], a: usize, b: usize, n: usize) {
    for k in 0..n {
        v.swap(a + k, b + k);
    }
}

/// Redis's pqsort: Bentley-McIlroy quicksort that only sorts the parts overlapping [lrange, rrange].
fn pqsort(v: &mut [usize], cmp: &dyn Fn(usize, usize) -> i32, lrange: usize, rrange: usize) {
    pqsort_inner(v, 0, v.len(), cmp, lrange, rrange);
}

/// Does [s, s + len) overlap the wanted range?
fn overlaps(s: usize, len: usize, l: usize, r: usize) -> bool {
    !((l < s && r < s) || (l >= s + len && r >= s + len))
}

fn pqsort_inner(v: &mut [usize], mut a: usize, mut n: usize, cmp: &dyn Fn(usize, usize) -> i32, l: usize, r: usize) {
    loop {
        if n < 7 {
            for pm in a + 1..a + n {
                let mut pl = pm;
                while pl > a && cmp(v[pl - 1], v[pl]) > 0 {
                    v.swap(pl, pl - 1);
                    pl -= 1;
                }
            }
            return;
        }
        let mut pm = a + n / 2;
        if n > 7 {
            let mut pl = a;
            let mut pn = a + n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d, cmp);
                pm = med3(v, pm - d, pm, pm + d, cmp);
                pn = med3(v, pn - 2 * d, pn - d, pn, cmp);
            }
            pm = med3(v, pl, pm, pn, cmp);
        }
        v.swap(a, pm);
        let (mut pa, mut pb) = (a + 1, a + 1);
        let (mut pc, mut pd) = (a + n - 1, a + n - 1);
        loop {
            while pb <= pc {
                let c = cmp(v[pb], v[a]);
                if c > 0 {
                    break;
                }
                if c == 0 {
                    v.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let c = cmp(v[pc], v[a]);
                if c < 0 {
                    break;
                }
                if c == 0 {
                    v.swap(pc, pd);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb, pc);
            pb += 1;
            pc -= 1;
        }
        let pn = a + n;
        let s = (pa - a).min(pb - pa);
        vecswap(v, a, pb - s, s);
        let s = (pd - pc).min(pn - pd - 1);
        vecswap(v, pb, pn - s, s);
        let left = pb - pa;
        if left > 1 && overlaps(a, left, l, r) {
            pqsort_inner(v, a, left, cmp, l, r);
        }
        let right = pd - pc;
        if right > 1 {
            a = pn - right;
            n = right;
            if overlaps(a, n, l, r) {
                continue;
            }
        }
        return;
    }
}

#[cfg(test)]
#[path = "geo_tests.rs"]
mod tests;
