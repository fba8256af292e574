//! Number parsing and formatting with Redis's exact rules (types layer): string2ll, strtod-like floats,
//! d2string's `%.17g`, and INCRBYFLOAT's trailing-zero-free decimals.

/// Parse an i64 the way Redis's string2ll does (strict: no spaces, no '+', no leading zeros except "0").
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    crate::types::value::parse_canonical_i64(s)
}

/// Parse a u64 strictly (cursor arguments).
pub fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.iter().all(|c| c.is_ascii_digit()) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// Parse a double as Redis's string2d / strtod: accepts "inf", "-inf", "+inf", "infinity", exponents,
/// leading '+'; rejects spaces, empty strings and NaN.
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    if s.is_empty() || s.len() > 5000 || s[0].is_ascii_whitespace() || s[s.len() - 1].is_ascii_whitespace() {
        return None;
    }
    let t = std::str::from_utf8(s).ok()?;
    let lower = t.to_ascii_lowercase();
    let v = match lower.as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => {
            // Rust's parser accepts "nan"/"inf" spellings we handle above and forms strtod rejects; filter.
            if !t.bytes().all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-')) {
                return None;
            }
            t.parse::<f64>().ok()?
        }
    };
    if v.is_nan() {
        None
    } else {
        Some(v)
    }
}

/// Redis's d2string: integers within 2^52 without a fraction print as integers, others as `%.17g`.
pub fn format_double(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    if v > -4503599627370495.0 && v < 4503599627370496.0 && v == (v as i64) as f64 {
        return (v as i64).to_string();
    }
    format_g17(v)
}

/// C's `%.17g`.
pub fn format_g17(v: f64) -> String {
    format_g(v, 17)
}

/// C's `%.{prec}g` for finite values.
pub fn format_g(v: f64, prec: usize) -> String {
    let prec = prec.max(1);
    let sci = format!("{:.*e}", prec - 1, v);
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= prec as i32 {
        let mant = trim_zeros(mant);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (prec as i32 - 1 - exp).max(0) as usize;
        trim_zeros(&format!("{:.*}", decimals, v)).to_string()
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Plain decimal of an f64, no exponent, no trailing zeros. INCRBYFLOAT and HINCRBYFLOAT must not use this:
/// Redis computes them in 80-bit long double (see `ld`), where f64 would print 0.1+0.2 as 0.30000000000000004.
pub fn format_long_double(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let s = format!("{v}");
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

/// Software x87 `long double` (64-bit mantissa, 15-bit exponent): just what INCRBYFLOAT needs to give Redis's
/// answers — strtold-exact parsing, correctly rounded addition and `%.17Lf` printing. f64 would print
/// 0.1 + 0.2 as 0.30000000000000004 where Redis says 0.3.
pub mod ld {
    /// value = ±mant × 2^exp, or an infinity. `mant` need not be normalized (subnormals are not).
    #[derive(Clone, Copy, Debug, PartialEq)]
    pub enum Ld {
        Fin { neg: bool, mant: u64, exp: i32 },
        Inf { neg: bool },
    }

    /// Smallest exponent of the last mantissa bit (subnormal 2^-16445).
    const MIN_EXP: i64 = -16445;
    /// Values at or above 2^16384 overflow.
    const MAX_BITS: i64 = 16384;
    /// Longest input strtold gets from Redis (MAX_LONG_DOUBLE_CHARS).
    const MAX_CHARS: usize = 5 * 1024;

    impl Ld {
        pub const ZERO: Ld = Ld::Fin { neg: false, mant: 0, exp: 0 };

        pub fn from_i64(i: i64) -> Ld {
            Ld::Fin { neg: i < 0, mant: i.unsigned_abs(), exp: 0 }
        }

        pub fn is_finite(&self) -> bool {
            matches!(self, Ld::Fin { .. })
        }

        /// `%.17Lf` with trailing zeros (and a trailing dot) removed, "-0" printed as "0": Redis's
        /// ld2string(LD_STR_HUMAN).
        pub fn to_human(&self) -> String {
            let (neg, mant, exp) = match *self {
                Ld::Inf { neg } => return if neg { "-inf".into() } else { "inf".into() },
                Ld::Fin { neg, mant, exp } => (neg, mant, exp),
            };
            let (int_part, frac) = if exp >= 0 {
                let mut n = Big::from_u128(mant as u128);
                n.shl(exp as u32);
                (n.to_decimal(), 0u64)
            } else {
                let sh = (-exp) as u32;
                let int_part = if sh >= 64 { 0 } else { (mant >> sh) as u128 };
                let frac_bits = if sh >= 64 { mant as u128 } else { (mant & ((1u64 << sh) - 1)) as u128 };
                // frac_bits / 2^sh in units of 1e-17, rounded to nearest even; the product stays below 2^121.
                const SCALE: u128 = 100_000_000_000_000_000;
                let prod = frac_bits * SCALE;
                let mut q = if sh >= 122 {
                    0
                } else {
                    let q = prod >> sh;
                    let rem = prod & ((1u128 << sh) - 1);
                    let half = 1u128 << (sh - 1);
                    if rem > half || (rem == half && q & 1 == 1) {
                        q + 1
                    } else {
                        q
                    }
                };
                let mut int_part = int_part;
                if q == SCALE {
                    int_part += 1;
                    q = 0;
                }
                (int_part.to_string(), q as u64)
            };
            let mut s = String::with_capacity(int_part.len() + 19);
            if neg && (int_part != "0" || frac != 0) {
                s.push('-');
            }
            s.push_str(&int_part);
            if frac != 0 {
                let digits = format!("{frac:017}");
                s.push('.');
                s.push_str(digits.trim_end_matches('0'));
            }
            s
        }
    }

    impl std::ops::Add for Ld {
        type Output = Ld;

        /// Correctly rounded (to nearest, ties to even) sum. Inf + -Inf, a NaN, comes back as an infinity:
        /// callers refuse both alike.
        fn add(self, other: Ld) -> Ld {
            let (x, y) = match (self, other) {
                (Ld::Fin { neg: an, mant: am, exp: ae }, Ld::Fin { neg: bn, mant: bm, exp: be }) => {
                    ((an, am, ae), (bn, bm, be))
                }
                (Ld::Inf { neg }, _) | (_, Ld::Inf { neg }) => return Ld::Inf { neg },
            };
            if x.1 == 0 {
                return if y.1 == 0 { Ld::Fin { neg: x.0 && y.0, mant: 0, exp: 0 } } else { other };
            }
            if y.1 == 0 {
                return self;
            }
            // Normalize both so the top bit is set, then put the larger exponent first.
            let norm = |(n, m, e): (bool, u64, i32)| (n, m << m.leading_zeros(), e - m.leading_zeros() as i32);
            let (x, y) = (norm(x), norm(y));
            let ((an, am, ae), (bn, bm, be)) = if x.2 >= y.2 { (x, y) } else { (y, x) };
            // 62 guard bits below the mantissa; bits shifted out of b fold into a sticky bit.
            let a = (am as u128) << 62;
            let b_full = (bm as u128) << 62;
            let d = (ae as i64 - be as i64) as u32;
            let (b, sticky) = if d >= 128 { (0, true) } else { (b_full >> d, b_full & ((1u128 << d) - 1) != 0) };
            let base = ae as i64 - 62;
            if an == bn {
                return round(an, a + b, base, sticky);
            }
            if a >= b {
                // a - (b + f) with 0 < f < 1 equals (a - b - 1) + (1 - f).
                let (s, sticky) = if sticky { (a - b - 1, true) } else { (a - b, false) };
                if s == 0 && !sticky {
                    return Ld::ZERO;
                }
                round(an, s, base, sticky)
            } else {
                round(bn, b - a, base, sticky)
            }
        }
    }

    /// Round ±(sig + sticky fraction) × 2^exp to a 64-bit mantissa. A caller passing `sticky` must give at
    /// least 66 significant bits in `sig`, so that the guard bit is exact.
    fn round(neg: bool, sig: u128, exp: i64, sticky: bool) -> Ld {
        if sig == 0 {
            return Ld::Fin { neg, mant: 0, exp: 0 };
        }
        let bitlen = 128 - sig.leading_zeros() as i64;
        let mut shift = bitlen - 64;
        if exp + shift < MIN_EXP {
            shift = MIN_EXP - exp; // subnormal: fewer mantissa bits
        }
        let (mut mant, mut e) = if shift <= 0 {
            (sig << (-shift) as u32, exp + shift)
        } else if shift >= 128 {
            (0u128, exp + shift)
        } else {
            let s = shift as u32;
            let mant = sig >> s;
            let dropped = sig & ((1u128 << s) - 1);
            let half = 1u128 << (s - 1);
            let up = dropped > half || (dropped == half && (sticky || mant & 1 == 1));
            (if up { mant + 1 } else { mant }, exp + shift)
        };
        if mant == 1u128 << 64 {
            mant >>= 1;
            e += 1;
        }
        let mant = mant as u64;
        if mant != 0 && (64 - mant.leading_zeros() as i64) + e > MAX_BITS {
            return Ld::Inf { neg };
        }
        if mant == 0 {
            return Ld::Fin { neg, mant: 0, exp: 0 };
        }
        Ld::Fin { neg, mant, exp: e as i32 }
    }

    /// Parse as Redis's string2ld: the whole input must be what glibc's strtold accepts (decimal or hex, inf,
    /// no surrounding space); NaN, overflow and underflow to zero are refused.
    pub fn parse(s: &[u8]) -> Option<Ld> {
        if s.is_empty() || s.len() >= MAX_CHARS || matches!(s[0], b' ' | b'\t'..=b'\r') {
            return None;
        }
        let (neg, body) = match s[0] {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
            return Some(Ld::Inf { neg });
        }
        let hex = body.len() > 2 && body[0] == b'0' && (body[1] | 0x20) == b'x';
        let (radix, exp_char, rest) = if hex { (16u32, b'p', &body[2..]) } else { (10u32, b'e', body) };
        // mantissa digits [. digits]
        let mut big = Big::from_u128(0);
        let mut any_digit = false;
        let mut nonzero = false;
        let mut scale: i64 = 0; // digits after the point
        let mut i = 0;
        let mut seen_point = false;
        while i < rest.len() {
            let c = rest[i];
            if c == b'.' && !seen_point {
                seen_point = true;
            } else if let Some(d) = (c as char).to_digit(radix) {
                any_digit = true;
                if nonzero || d != 0 {
                    nonzero = true;
                    big.mul_add(radix, d);
                }
                if seen_point {
                    scale += 1;
                }
            } else {
                break;
            }
            i += 1;
        }
        if !any_digit {
            return None;
        }
        let mut exp10: i64 = 0;
        if i < rest.len() {
            if rest[i] | 0x20 != exp_char {
                return None;
            }
            i += 1;
            let eneg = match rest.get(i) {
                Some(b'-') => {
                    i += 1;
                    true
                }
                Some(b'+') => {
                    i += 1;
                    false
                }
                _ => false,
            };
            let digits = &rest[i..];
            if digits.is_empty() || !digits.iter().all(|c| c.is_ascii_digit()) {
                return None;
            }
            for &c in digits {
                exp10 = (exp10 * 10 + (c - b'0') as i64).min(1_000_000_000);
            }
            if eneg {
                exp10 = -exp10;
            }
        }
        if !nonzero {
            return Some(Ld::Fin { neg, mant: 0, exp: 0 });
        }
        let r = if hex {
            // Each hex digit after the point is 4 bits.
            round_big(neg, big, exp10 - 4 * scale, false)
        } else {
            decimal_to_ld(neg, big, exp10 - scale)
        };
        match r {
            Ld::Fin { mant: 0, .. } | Ld::Inf { .. } => None, // ERANGE: underflow to zero, or overflow
            v => Some(v),
        }
    }

    /// ±digits × 10^exp10, correctly rounded.
    fn decimal_to_ld(neg: bool, mut digits: Big, exp10: i64) -> Ld {
        let ndigits = (digits.bitlen() as f64 * std::f64::consts::LOG10_2) as i64 + 1;
        // Far outside the range (about 3.6e-4951 .. 1.2e4932): no need for exact arithmetic.
        if ndigits + exp10 > 4940 {
            return Ld::Inf { neg };
        }
        if ndigits + exp10 < -4960 {
            return Ld::Fin { neg, mant: 0, exp: 0 };
        }
        if exp10 >= 0 {
            for _ in 0..exp10 {
                digits.mul_add(10, 0);
            }
            return round_big(neg, digits, 0, false);
        }
        // digits / 10^k: scale one side by 2^s so that the quotient has 70 or 71 bits, then round it.
        let mut p = Big::from_u128(1);
        for _ in 0..-exp10 {
            p.mul_add(10, 0);
        }
        let s = 70 + p.bitlen() as i64 - digits.bitlen() as i64;
        if s >= 0 {
            digits.shl(s as u32);
        } else {
            p.shl((-s) as u32);
        }
        let (q, rem_nonzero) = digits.div_small_quotient(&p, 72);
        round(neg, q, -s, rem_nonzero)
    }

    /// ±n × 2^exp, correctly rounded: the top 128 bits plus a sticky bit for the rest.
    fn round_big(neg: bool, n: Big, exp: i64, sticky: bool) -> Ld {
        let len = n.bitlen() as i64;
        if len <= 128 {
            return round(neg, n.low_u128(), exp, sticky);
        }
        let drop = (len - 128) as u32;
        let (top, rest_nonzero) = n.top_bits(drop);
        round(neg, top, exp + drop as i64, sticky || rest_nonzero)
    }

    /// Just enough unsigned big integer for exact parsing and printing: little-endian u32 limbs.
    #[derive(Clone, Debug)]
    struct Big(Vec<u32>);

    impl Big {
        fn from_u128(mut v: u128) -> Big {
            let mut limbs = Vec::new();
            while v != 0 {
                limbs.push(v as u32);
                v >>= 32;
            }
            Big(limbs)
        }

        fn bitlen(&self) -> u32 {
            match self.0.last() {
                Some(&top) => (self.0.len() as u32 - 1) * 32 + (32 - top.leading_zeros()),
                None => 0,
            }
        }

        /// self = self * m + a
        fn mul_add(&mut self, m: u32, a: u32) {
            let mut carry = a as u64;
            for l in self.0.iter_mut() {
                let v = *l as u64 * m as u64 + carry;
                *l = v as u32;
                carry = v >> 32;
            }
            if carry != 0 {
                self.0.push(carry as u32);
            }
        }

        fn shl(&mut self, bits: u32) {
            if self.0.is_empty() {
                return;
            }
            let (words, bits) = ((bits / 32) as usize, bits % 32);
            if bits != 0 {
                let mut carry = 0u32;
                for l in self.0.iter_mut() {
                    let v = (*l << bits) | carry;
                    carry = *l >> (32 - bits);
                    *l = v;
                }
                if carry != 0 {
                    self.0.push(carry);
                }
            }
            if words > 0 {
                self.0.splice(0..0, std::iter::repeat_n(0, words));
            }
        }

        fn shr1(&mut self) {
            let mut carry = 0u32;
            for l in self.0.iter_mut().rev() {
                let v = (*l >> 1) | (carry << 31);
                carry = *l & 1;
                *l = v;
            }
            self.trim();
        }

        fn trim(&mut self) {
            while self.0.last() == Some(&0) {
                self.0.pop();
            }
        }

        fn cmp(&self, other: &Big) -> std::cmp::Ordering {
            self.0.len().cmp(&other.0.len()).then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
        }

        /// self -= other (other <= self).
        fn sub(&mut self, other: &Big) {
            let mut borrow = 0i64;
            for (i, l) in self.0.iter_mut().enumerate() {
                let v = *l as i64 - borrow - other.0.get(i).copied().unwrap_or(0) as i64;
                borrow = (v < 0) as i64;
                *l = v.rem_euclid(1 << 32) as u32;
            }
            self.trim();
        }

        fn low_u128(&self) -> u128 {
            self.0.iter().take(4).enumerate().fold(0u128, |acc, (i, &l)| acc | (l as u128) << (32 * i))
        }

        /// (self >> drop) as u128 and whether any dropped bit was set.
        fn top_bits(&self, drop: u32) -> (u128, bool) {
            let mut t = self.clone();
            let (words, bits) = ((drop / 32) as usize, drop % 32);
            let mut nonzero = t.0[..words].iter().any(|&l| l != 0);
            t.0.drain(..words);
            if bits != 0 {
                nonzero |= t.0[0] & ((1u32 << bits) - 1) != 0;
                for _ in 0..bits {
                    t.shr1();
                }
            }
            (t.low_u128(), nonzero)
        }

        /// floor(self / d), known to be below 2^max_bits, and whether a remainder is left.
        fn div_small_quotient(mut self, d: &Big, max_bits: u32) -> (u128, bool) {
            let mut t = d.clone();
            t.shl(max_bits - 1);
            let mut q = 0u128;
            for i in (0..max_bits).rev() {
                if self.cmp(&t) != std::cmp::Ordering::Less {
                    self.sub(&t);
                    q |= 1u128 << i;
                }
                t.shr1();
            }
            (q, !self.0.is_empty())
        }

        fn to_decimal(&self) -> String {
            let mut n = self.clone();
            let mut chunks = Vec::new();
            while !n.0.is_empty() {
                let mut rem = 0u64;
                for l in n.0.iter_mut().rev() {
                    let v = (rem << 32) | *l as u64;
                    *l = (v / 1_000_000_000) as u32;
                    rem = v % 1_000_000_000;
                }
                n.trim();
                chunks.push(rem as u32);
            }
            let mut s = match chunks.pop() {
                Some(top) => top.to_string(),
                None => return "0".into(),
            };
            for c in chunks.iter().rev() {
                s.push_str(&format!("{c:09}"));
            }
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g17_matches_c() {
        assert_eq!(format_double(1.5), "1.5");
        assert_eq!(format_double(1.1), "1.1000000000000001");
        assert_eq!(format_double(3.0), "3");
        assert_eq!(format_double(-0.0), "-0");
        assert_eq!(format_double(1e300), "1.0000000000000001e+300");
        assert_eq!(format_double(0.0001), "0.0001");
        assert_eq!(format_double(0.00001), "1.0000000000000001e-05");
        assert_eq!(format_double(f64::INFINITY), "inf");
        assert_eq!(format_double(123456789012345678.0), "1.2345678901234568e+17");
    }

    #[test]
    fn floats_parse_like_strtod() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"+inf"), Some(f64::INFINITY));
        assert_eq!(parse_f64(b"-INF"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"1e3"), Some(1000.0));
        assert_eq!(parse_f64(b" 1"), None);
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b""), None);
        assert_eq!(parse_f64(b"1x"), None);
    }

    #[test]
    fn long_double_format() {
        assert_eq!(format_long_double(10.5), "10.5");
        assert_eq!(format_long_double(3.0), "3");
        assert_eq!(format_long_double(17179869185.5), "17179869185.5");
        assert_eq!(format_long_double(-0.1), "-0.1");
    }
}
