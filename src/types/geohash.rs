//! Geohash: Redis's 52-bit interleaved geohash, search areas and distances (types layer, no actors).
//!
//! A port of Redis 7.0's geohash.c and geohash_helper.c, operation for operation, because GEO replies
//! (positions, distances, which points a search finds and in which order) must match Redis's to the last
//! digit. Latitude is encoded over [-85.05112878, 85.05112878] (Web Mercator limits), longitude over
//! [-180, 180]; a member's sorted-set score is the 52-bit hash (step 26).

// Comparisons are written as in the C source (their NaN behaviour included).
#![allow(clippy::manual_range_contains)]

use std::f64::consts::PI;

pub const STEP_MAX: u8 = 26;
pub const LAT_MIN: f64 = -85.05112878;
pub const LAT_MAX: f64 = 85.05112878;
pub const LONG_MIN: f64 = -180.0;
pub const LONG_MAX: f64 = 180.0;
/// Earth's quadratic mean radius for WGS-84, as Redis uses it.
pub const EARTH_RADIUS_IN_METERS: f64 = 6372797.560856;
const MERCATOR_MAX: f64 = 20037726.37;
const D_R: f64 = PI / 180.0;

#[inline]
fn deg_rad(ang: f64) -> f64 {
    ang * D_R
}

#[inline]
fn rad_deg(ang: f64) -> f64 {
    ang / D_R
}

/// A geohash of `step` bits per coordinate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HashBits {
    pub bits: u64,
    pub step: u8,
}

impl HashBits {
    /// Zeroed (excluded from a search).
    pub fn is_zero(&self) -> bool {
        self.bits == 0 && self.step == 0
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

impl Range {
    fn is_zero(&self) -> bool {
        self.max == 0.0 && self.min == 0.0
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Area {
    pub hash: HashBits,
    pub longitude: Range,
    pub latitude: Range,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Neighbors {
    pub north: HashBits,
    pub east: HashBits,
    pub west: HashBits,
    pub south: HashBits,
    pub north_east: HashBits,
    pub south_east: HashBits,
    pub north_west: HashBits,
    pub south_west: HashBits,
}

/// The center box and its 8 neighbours covering a search.
#[derive(Clone, Copy, Debug, Default)]
pub struct Radius {
    pub hash: HashBits,
    #[expect(dead_code, reason = "unused since the crate API went pub(crate); kept for the lead to use or remove")]
    pub area: Area,
    pub neighbors: Neighbors,
}

/// What a search covers: a circle (radius) or an axis-aligned box (width x height), in `unit`s.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ShapeKind {
    Circle { radius: f64 },
    Rect { width: f64, height: f64 },
}

/// A search shape centered on `xy` (longitude, latitude); `conversion` is meters per unit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shape {
    pub kind: ShapeKind,
    pub xy: [f64; 2],
    pub conversion: f64,
    /// min lon, min lat, max lon, max lat (filled by `areas_by_shape`).
    pub bounds: [f64; 4],
}

const WGS84_LONG: Range = Range { min: LONG_MIN, max: LONG_MAX };
const WGS84_LAT: Range = Range { min: LAT_MIN, max: LAT_MAX };

fn interleave64(xlo: u32, ylo: u32) -> u64 {
    const B: [u64; 5] =
        [0x5555555555555555, 0x3333333333333333, 0x0F0F0F0F0F0F0F0F, 0x00FF00FF00FF00FF, 0x0000FFFF0000FFFF];
    const S: [u32; 5] = [1, 2, 4, 8, 16];
    let mut x = xlo as u64;
    let mut y = ylo as u64;
    for i in (0..5).rev() {
        x = (x | (x << S[i])) & B[i];
        y = (y | (y << S[i])) & B[i];
    }
    x | (y << 1)
}

fn deinterleave64(interleaved: u64) -> u64 {
    const B: [u64; 6] = [
        0x5555555555555555,
        0x3333333333333333,
        0x0F0F0F0F0F0F0F0F,
        0x00FF00FF00FF00FF,
        0x0000FFFF0000FFFF,
        0x00000000FFFFFFFF,
    ];
    const S: [u32; 6] = [0, 1, 2, 4, 8, 16];
    let mut x = interleaved;
    let mut y = interleaved >> 1;
    for i in 0..6 {
        x = (x | (x >> S[i])) & B[i];
        y = (y | (y >> S[i])) & B[i];
    }
    x | (y << 32)
}

/// geohashEncode: None when the arguments are out of range.
pub fn encode(long_range: Range, lat_range: Range, longitude: f64, latitude: f64, step: u8) -> Option<HashBits> {
    if step > 32 || step == 0 || lat_range.is_zero() || long_range.is_zero() {
        return None;
    }
    if longitude > LONG_MAX || longitude < LONG_MIN || latitude > LAT_MAX || latitude < LAT_MIN {
        return None;
    }
    if latitude < lat_range.min || latitude > lat_range.max || longitude < long_range.min || longitude > long_range.max
    {
        return None;
    }
    let mut lat_offset = (latitude - lat_range.min) / (lat_range.max - lat_range.min);
    let mut long_offset = (longitude - long_range.min) / (long_range.max - long_range.min);
    lat_offset *= (1u64 << step) as f64;
    long_offset *= (1u64 << step) as f64;
    Some(HashBits { bits: interleave64(lat_offset as u32, long_offset as u32), step })
}

/// Encode over Redis's WGS84 ranges.
pub fn encode_wgs84(longitude: f64, latitude: f64, step: u8) -> Option<HashBits> {
    encode(WGS84_LONG, WGS84_LAT, longitude, latitude, step)
}

/// geohashDecode: the cell a hash designates.
pub fn decode(long_range: Range, lat_range: Range, hash: HashBits) -> Option<Area> {
    if hash.is_zero() || lat_range.is_zero() || long_range.is_zero() {
        return None;
    }
    let step = hash.step;
    let hash_sep = deinterleave64(hash.bits);
    let lat_scale = lat_range.max - lat_range.min;
    let long_scale = long_range.max - long_range.min;
    let ilato = hash_sep as u32;
    let ilono = (hash_sep >> 32) as u32;
    let div = (1u64 << step) as f64;
    Some(Area {
        hash,
        latitude: Range {
            min: lat_range.min + (ilato as f64 * 1.0 / div) * lat_scale,
            max: lat_range.min + (ilato.wrapping_add(1) as f64 * 1.0 / div) * lat_scale,
        },
        longitude: Range {
            min: long_range.min + (ilono as f64 * 1.0 / div) * long_scale,
            max: long_range.min + (ilono.wrapping_add(1) as f64 * 1.0 / div) * long_scale,
        },
    })
}

/// The center of a cell, clamped to the WGS84 limits.
fn area_center(area: &Area) -> [f64; 2] {
    let x = ((area.longitude.min + area.longitude.max) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let y = ((area.latitude.min + area.latitude.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    [x, y]
}

/// C's `(uint64_t)d` as x86-64 code computes it (scores of non-geo members may be anything).
pub fn double_to_u64(d: f64) -> u64 {
    const TWO63: f64 = 9223372036854775808.0;
    if d < TWO63 {
        // cvttsd2si: out of range (or NaN) gives 0x8000000000000000.
        if d >= -TWO63 {
            d as i64 as u64
        } else {
            0x8000_0000_0000_0000
        }
    } else if d.is_nan() {
        0x8000_0000_0000_0000
    } else {
        let r = d - TWO63;
        let i = if r < TWO63 { r as i64 as u64 } else { 0x8000_0000_0000_0000 };
        i ^ 0x8000_0000_0000_0000
    }
}

/// C's `(long long)d` on x86-64 (cvttsd2si).
pub fn double_to_i64(d: f64) -> i64 {
    const TWO63: f64 = 9223372036854775808.0;
    if d < TWO63 && d >= -TWO63 {
        d as i64
    } else {
        i64::MIN
    }
}

/// Longitude and latitude of a sorted-set score (Redis's decodeGeohash).
pub fn decode_score(score: f64) -> Option<[f64; 2]> {
    let hash = HashBits { bits: double_to_u64(score), step: STEP_MAX };
    decode(WGS84_LONG, WGS84_LAT, hash).map(|a| area_center(&a))
}

/// The 52-bit score of a position (validated by the caller).
pub fn score_of(longitude: f64, latitude: f64) -> u64 {
    align52(encode_wgs84(longitude, latitude, STEP_MAX).unwrap_or(HashBits { bits: 0, step: STEP_MAX }))
}

/// The standard 11-character geohash (latitude over [-90, 90]) of a score, as GEOHASH prints it.
pub fn standard_geohash(score: f64) -> Option<[u8; 11]> {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let xy = decode_score(score)?;
    let hash = encode(Range { min: -180.0, max: 180.0 }, Range { min: -90.0, max: 90.0 }, xy[0], xy[1], 26)
        .unwrap_or(HashBits { bits: 0, step: 26 });
    let mut buf = [0u8; 11];
    for (i, b) in buf.iter_mut().enumerate() {
        let idx = if i == 10 { 0 } else { (hash.bits >> (52 - (i + 1) * 5)) & 0x1f };
        *b = ALPHABET[idx as usize];
    }
    Some(buf)
}

fn move_x(hash: &mut HashBits, d: i8) {
    if d == 0 {
        return;
    }
    let mut x = hash.bits & 0xaaaaaaaaaaaaaaaa;
    let y = hash.bits & 0x5555555555555555;
    let zz = 0x5555555555555555u64 >> (64 - hash.step as u32 * 2);
    if d > 0 {
        x = x.wrapping_add(zz + 1);
    } else {
        x |= zz;
        x = x.wrapping_sub(zz + 1);
    }
    x &= 0xaaaaaaaaaaaaaaaau64 >> (64 - hash.step as u32 * 2);
    hash.bits = x | y;
}

fn move_y(hash: &mut HashBits, d: i8) {
    if d == 0 {
        return;
    }
    let x = hash.bits & 0xaaaaaaaaaaaaaaaa;
    let mut y = hash.bits & 0x5555555555555555;
    let zz = 0xaaaaaaaaaaaaaaaau64 >> (64 - hash.step as u32 * 2);
    if d > 0 {
        y = y.wrapping_add(zz + 1);
    } else {
        y |= zz;
        y = y.wrapping_sub(zz + 1);
    }
    y &= 0x5555555555555555u64 >> (64 - hash.step as u32 * 2);
    hash.bits = x | y;
}

/// The 8 cells around `hash`.
pub fn neighbors(hash: &HashBits) -> Neighbors {
    let mv = |dx: i8, dy: i8| {
        let mut h = *hash;
        move_x(&mut h, dx);
        move_y(&mut h, dy);
        h
    };
    Neighbors {
        east: mv(1, 0),
        west: mv(-1, 0),
        south: mv(0, -1),
        north: mv(0, 1),
        north_west: mv(-1, 1),
        north_east: mv(1, 1),
        south_east: mv(1, -1),
        south_west: mv(-1, -1),
    }
}

/// The step (bits of precision) whose cells fit a search of `range_meters` at latitude `lat`.
pub fn estimate_steps_by_radius(mut range_meters: f64, lat: f64) -> u8 {
    if range_meters == 0.0 {
        return 26;
    }
    let mut step: i32 = 1;
    while range_meters < MERCATOR_MAX {
        range_meters *= 2.0;
        step += 1;
    }
    step -= 2;
    if lat > 66.0 || lat < -66.0 {
        step -= 1;
        if lat > 80.0 || lat < -80.0 {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

impl Shape {
    /// The bounding box of the search area: [min lon, min lat, max lon, max lat].
    pub fn bounding_box(&self) -> [f64; 4] {
        let longitude = self.xy[0];
        let latitude = self.xy[1];
        let (height, width) = match self.kind {
            ShapeKind::Circle { radius } => (self.conversion * radius, self.conversion * radius),
            ShapeKind::Rect { width, height } => (self.conversion * (height / 2.0), self.conversion * (width / 2.0)),
        };
        let lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS);
        let long_delta_top = rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude + lat_delta).cos());
        let long_delta_bottom = rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude - lat_delta).cos());
        let southern = latitude < 0.0;
        [
            if southern { longitude - long_delta_bottom } else { longitude - long_delta_top },
            latitude - lat_delta,
            if southern { longitude + long_delta_bottom } else { longitude + long_delta_top },
            latitude + lat_delta,
        ]
    }

    /// The center cell and neighbours to scan (geohashCalculateAreasByShapeWGS84); fills `bounds`.
    pub fn areas(&mut self) -> Radius {
        self.bounds = self.bounding_box();
        let [min_lon, min_lat, max_lon, max_lat] = self.bounds;
        let longitude = self.xy[0];
        let latitude = self.xy[1];
        let mut radius_meters = match self.kind {
            ShapeKind::Circle { radius } => radius,
            ShapeKind::Rect { width, height } => {
                ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
            }
        };
        radius_meters *= self.conversion;

        let mut steps = estimate_steps_by_radius(radius_meters, latitude);
        let enc = |steps: u8| encode(WGS84_LONG, WGS84_LAT, longitude, latitude, steps).unwrap_or_default();
        let dec = |h: HashBits| decode(WGS84_LONG, WGS84_LAT, h).unwrap_or_default();
        let mut hash = enc(steps);
        let mut nb = neighbors(&hash);
        let mut area = dec(hash);

        // Is the step small enough at the limits of the covered area?
        let north = dec(nb.north);
        let south = dec(nb.south);
        let east = dec(nb.east);
        let west = dec(nb.west);
        let decrease_step = north.latitude.max < max_lat
            || south.latitude.min > min_lat
            || east.longitude.max < max_lon
            || west.longitude.min > min_lon;
        if steps > 1 && decrease_step {
            steps -= 1;
            hash = enc(steps);
            nb = neighbors(&hash);
            area = dec(hash);
        }

        // Exclude useless search areas.
        if steps >= 2 {
            let z = HashBits::default();
            if area.latitude.min < min_lat {
                nb.south = z;
                nb.south_west = z;
                nb.south_east = z;
            }
            if area.latitude.max > max_lat {
                nb.north = z;
                nb.north_east = z;
                nb.north_west = z;
            }
            if area.longitude.min < min_lon {
                nb.west = z;
                nb.south_west = z;
                nb.north_west = z;
            }
            if area.longitude.max > max_lon {
                nb.east = z;
                nb.south_east = z;
                nb.north_east = z;
            }
        }
        Radius { hash, area, neighbors: nb }
    }

    /// Is the point (longitude `x`, latitude `y`) inside? Some(distance from the center, in meters).
    pub fn contains(&self, x: f64, y: f64) -> Option<f64> {
        match self.kind {
            ShapeKind::Circle { radius } => {
                let d = distance(self.xy[0], self.xy[1], x, y);
                if d > radius * self.conversion {
                    None
                } else {
                    Some(d)
                }
            }
            ShapeKind::Rect { width, height } => distance_if_in_rectangle(
                width * self.conversion,
                height * self.conversion,
                self.xy[0],
                self.xy[1],
                x,
                y,
            ),
        }
    }
}

/// The hash left-aligned to 52 bits (a sorted-set score).
pub fn align52(hash: HashBits) -> u64 {
    hash.bits << (52 - hash.step as u32 * 2)
}

/// Distance between two latitudes on the same meridian.
pub fn lat_distance(lat1d: f64, lat2d: f64) -> f64 {
    EARTH_RADIUS_IN_METERS * (deg_rad(lat2d) - deg_rad(lat1d)).abs()
}

/// Haversine great-circle distance in meters.
pub fn distance(lon1d: f64, lat1d: f64, lon2d: f64, lat2d: f64) -> f64 {
    let lon1r = deg_rad(lon1d);
    let lon2r = deg_rad(lon2d);
    let v = ((lon2r - lon1r) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1d, lat2d);
    }
    let lat1r = deg_rad(lat1d);
    let lat2r = deg_rad(lat2d);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_IN_METERS * a.sqrt().asin()
}

/// Is (x2, y2) inside the width x height box centered on (x1, y1)? Some(distance to the center).
pub fn distance_if_in_rectangle(width_m: f64, height_m: f64, x1: f64, y1: f64, x2: f64, y2: f64) -> Option<f64> {
    let lat_d = lat_distance(y2, y1);
    if lat_d > height_m / 2.0 {
        return None;
    }
    let lon_d = distance(x2, y2, x1, y2);
    if lon_d > width_m / 2.0 {
        return None;
    }
    Some(distance(x1, y1, x2, y2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleave_round_trip() {
        for (x, y) in [(0u32, 0u32), (1, 0), (0, 1), (0x3ffffff, 0x1234567), (0xffffffff, 0xffffffff)] {
            let i = interleave64(x, y);
            let d = deinterleave64(i);
            assert_eq!(d as u32, x);
            assert_eq!((d >> 32) as u32, y);
        }
    }

    #[test]
    fn scores_match_redis() {
        // From the Redis test suite ("Check geoset values").
        assert_eq!(score_of(-74.0131604, 40.7126674), 1791873972053020);
        assert_eq!(score_of(-73.9903085, 40.7362513), 1791875485187452);
        assert_eq!(score_of(-73.7858139, 40.6428986), 1791895905559723);
    }

    #[test]
    fn geohash_string() {
        let s = score_of(-5.6, 42.6) as f64;
        assert_eq!(&standard_geohash(s).unwrap(), b"ezs42e44yx0");
    }

    #[test]
    fn distances() {
        let p = decode_score(score_of(13.361389, 38.115556) as f64).unwrap();
        let c = decode_score(score_of(15.087269, 37.502669) as f64).unwrap();
        let d = distance(p[0], p[1], c[0], c[1]);
        assert!(d > 166274.0 && d < 166275.0, "{d}");
        assert_eq!(distance(1.0, 2.0, 1.0, 3.0), lat_distance(2.0, 3.0));
    }

    #[test]
    fn odd_scores_decode() {
        assert!(decode_score(-1.0).is_some());
        assert!(decode_score(f64::INFINITY).is_some());
        assert!(decode_score(1e300).is_some());
        assert_eq!(double_to_u64(-1.0), u64::MAX);
        assert_eq!(double_to_u64(f64::INFINITY), 0);
        assert_eq!(double_to_u64(f64::NEG_INFINITY), 0x8000_0000_0000_0000);
        assert_eq!(double_to_u64(1e19), 10_000_000_000_000_000_000);
    }

    #[test]
    fn steps() {
        assert_eq!(estimate_steps_by_radius(0.0, 0.0), 26);
        assert_eq!(estimate_steps_by_radius(1e9, 0.0), 1);
        assert_eq!(estimate_steps_by_radius(1000.0, 0.0), 14);
        assert_eq!(estimate_steps_by_radius(1000.0, 70.0), 13);
        assert_eq!(estimate_steps_by_radius(1000.0, -85.0), 12);
    }
}
