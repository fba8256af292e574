//! Number parsing and formatting with Redis's exact rules (types layer): string2ll, strtod-like floats,
//! d2string's `%.17g`, and INCRBYFLOAT's trailing-zero-free decimals.

/// Parse an i64 the way Redis's string2ll does (strict: no spaces, no '+', no leading zeros except "0", no
/// "-0"). Also what decides whether a string value is int-encoded.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let (neg, digits) = if s[0] == b'-' { (true, &s[1..]) } else { (false, s) };
    if digits.is_empty() || (digits[0] == b'0' && (digits.len() > 1 || neg)) {
        return None;
    }
    let mut v: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        let d = (c - b'0') as i64;
        v = if neg { v.checked_mul(10)?.checked_sub(d)? } else { v.checked_mul(10)?.checked_add(d)? };
    }
    Some(v)
}

/// C's strtoll: (value, whole string consumed, overflowed). Leading blanks and a sign are allowed; with no
/// digits the value is 0 and only "" counts as consumed. Config parsing (octal modes, save points, ports).
pub fn strtoll(b: &[u8], radix: u32) -> (i64, bool, bool) {
    let mut i = 0;
    while i < b.len() && is_c_space(b[i]) {
        i += 1;
    }
    let neg = b.get(i) == Some(&b'-');
    if matches!(b.get(i), Some(b'-' | b'+')) {
        i += 1;
    }
    let start = i;
    let (mut v, mut overflow): (i128, bool) = (0, false);
    while let Some(d) = b.get(i).and_then(|&c| (c as char).to_digit(radix)) {
        v = v * i128::from(radix) + i128::from(d);
        if v > i128::from(i64::MAX) + 1 {
            overflow = true;
            v = i128::from(i64::MAX) + 1;
        }
        i += 1;
    }
    if i == start {
        return (0, b.is_empty(), false);
    }
    let v = if neg { -v } else { v };
    let clamped = v.clamp(i128::from(i64::MIN), i128::from(i64::MAX));
    (clamped as i64, i == b.len(), overflow || clamped != v)
}

/// Redis's memtoull: digits then an optional unit (b, k, kb, m, mb, g, gb; any case).
/// No sign; like glibc's strtoull, no digits at all reads as 0.
pub fn memtoull(s: &[u8]) -> Option<u64> {
    if s.first() == Some(&b'-') {
        return None;
    }
    let digits = s.iter().take_while(|c| c.is_ascii_digit()).count();
    let mul: u64 = match s[digits..].to_ascii_lowercase().as_slice() {
        b"" | b"b" => 1,
        b"k" => 1000,
        b"kb" => 1024,
        b"m" => 1000 * 1000,
        b"mb" => 1024 * 1024,
        b"g" => 1000 * 1000 * 1000,
        b"gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if digits >= 128 {
        return None;
    }
    // strtoull saturates on overflow and Redis does not check ERANGE.
    let val = s[..digits].iter().fold(0u64, |v, c| v.saturating_mul(10).saturating_add(u64::from(c - b'0')));
    if val > u64::MAX / mul {
        return None;
    }
    Some(val * mul)
}

/// Parse a u64 strictly (cursor arguments).
#[expect(dead_code, reason = "unused since the crate API went pub(crate); kept for the lead to use or remove")]
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

/// Redis's string2d over C's strtod (sorted-set scores and weights): the whole argument, no leading space, no
/// overflow or underflow to zero (ERANGE), not NaN.
pub fn string2d(arg: &[u8]) -> Option<f64> {
    if arg.is_empty() || is_c_space(arg[0]) {
        return None;
    }
    let (v, used, erange) = strtod(arg);
    if used != arg.len() || v.is_nan() || (erange && (v.is_infinite() || v == 0.0)) {
        return None;
    }
    Some(v)
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
#[cfg(test)]
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
        pub fn to_human(self) -> String {
            let (neg, mant, exp) = match self {
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

/// C's strtod (glibc, "C" locale) on `s`, which must not contain NUL: (value, bytes consumed, ERANGE).
/// Consumed is 0 when no number was found. Accepts leading white space, a sign, decimal and hex forms
/// (hex correctly rounded), "inf", "infinity" and "nan" / "nan(chars)" in any case. Callers apply Redis's
/// policy on top (whole string consumed? leading space? which ERANGE results are errors?).
pub fn strtod(s: &[u8]) -> (f64, usize, bool) {
    let mut i = 0;
    while i < s.len() && is_c_space(s[i]) {
        i += 1;
    }
    let neg = match s.get(i) {
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
    let sign = |v: f64| if neg { -v } else { v };
    let rest = &s[i..];
    let starts = |w: &str| rest.len() >= w.len() && rest[..w.len()].eq_ignore_ascii_case(w.as_bytes());
    if starts("infinity") {
        return (sign(f64::INFINITY), i + 8, false);
    }
    if starts("inf") {
        return (sign(f64::INFINITY), i + 3, false);
    }
    if starts("nan") {
        let mut j = i + 3;
        // "nan(chars)" is consumed whole.
        if s.get(j) == Some(&b'(') {
            let mut k = j + 1;
            while k < s.len() && (s[k].is_ascii_alphanumeric() || s[k] == b'_') {
                k += 1;
            }
            if s.get(k) == Some(&b')') {
                j = k + 1;
            }
        }
        return (f64::NAN, j, false);
    }
    if rest.len() >= 3
        && rest[0] == b'0'
        && (rest[1] | 0x20) == b'x'
        && (rest[2].is_ascii_hexdigit() || (rest[2] == b'.' && rest.get(3).is_some_and(|c| c.is_ascii_hexdigit())))
    {
        let (v, used, erange) = hex_float(&rest[2..]);
        return (sign(v), i + 2 + used, erange);
    }
    let (v, used, erange) = dec_float(rest);
    if used == 0 {
        return (0.0, 0, false);
    }
    (sign(v), i + used, erange)
}

/// C's isspace in the "C" locale.
#[inline]
fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The digits-and-exponent part of a decimal strtod: (value, bytes consumed, ERANGE); consumed 0 when `t`
/// does not start with a number. ERANGE as glibc sets it: overflow, or an underflow that is not exact.
fn dec_float(t: &[u8]) -> (f64, usize, bool) {
    let digits = |from: usize| from + t[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let int_end = digits(0);
    let mut end = int_end;
    let mut frac = (int_end, int_end);
    if t.get(end) == Some(&b'.') {
        let fe = digits(end + 1);
        frac = (end + 1, fe);
        end = fe;
    }
    if int_end == 0 && frac.1 == frac.0 {
        return (0.0, 0, false); // no digits: no conversion
    }
    let mut exp: i64 = 0;
    if matches!(t.get(end), Some(b'e' | b'E')) {
        let mut k = end + 1;
        let neg = match t.get(k) {
            Some(b'-') => {
                k += 1;
                true
            }
            Some(b'+') => {
                k += 1;
                false
            }
            _ => false,
        };
        let ee = digits(k);
        if ee > k {
            for &c in &t[k..ee] {
                exp = (exp * 10 + (c - b'0') as i64).min(1 << 40);
            }
            if neg {
                exp = -exp;
            }
            end = ee;
        }
    }
    // The consumed text is ASCII digits, '.', 'e' and a sign: Rust's parser reads it (inf on overflow).
    let v: f64 = std::str::from_utf8(&t[..end]).ok().and_then(|x| x.parse().ok()).unwrap_or(0.0);
    if v.is_infinite() {
        return (v, end, true);
    }
    let mut erange = false;
    if v.abs() < f64::MIN_POSITIVE {
        // Underflow is an error unless the value is exact (zero, or a subnormal written out in full).
        let int_digits = &t[..int_end];
        let frac_digits = &t[frac.0..frac.1];
        let all_zero = int_digits.iter().chain(frac_digits).all(|&c| c == b'0');
        erange = !all_zero && (v == 0.0 || !decimal_equals(int_digits, frac_digits, exp, v));
    }
    (v, end, erange)
}

/// Is the decimal `int.frac × 10^exp` exactly `v` (a positive subnormal)?
fn decimal_equals(int: &[u8], frac: &[u8], exp: i64, v: f64) -> bool {
    // Normalise both to (significant digits, exponent of the first one).
    let all: Vec<u8> = int.iter().chain(frac).copied().collect();
    let lead = all.iter().take_while(|&&c| c == b'0').count();
    let sig = &all[lead..];
    let sig = &sig[..sig.len() - sig.iter().rev().take_while(|&&c| c == b'0').count()];
    let e_in = int.len() as i64 - 1 - lead as i64 + exp;
    // Rust's fixed-precision formatting is exact; a subnormal has fewer than 800 significant digits.
    let s = format!("{:.800e}", v);
    let Some((m, e)) = s.split_once('e') else { return false };
    let Ok(e_out) = e.parse::<i64>() else { return false };
    let m: Vec<u8> = m.bytes().filter(|c| c.is_ascii_digit()).collect();
    let m = &m[..m.len() - m.iter().rev().take_while(|&&c| c == b'0').count()];
    e_in == e_out && sig == m
}

/// A hex float after "0x": hex digits with an optional point and an optional binary exponent `p±d`,
/// rounded to nearest even: (value, bytes consumed, ERANGE).
fn hex_float(t: &[u8]) -> (f64, usize, bool) {
    let mut mant: u64 = 0;
    let mut sticky = false;
    // Value = (mant + sticky bits) × 2^bexp.
    let mut bexp: i64 = 0;
    let mut i = 0;
    let mut seen_point = false;
    while i < t.len() {
        let c = t[i];
        if c == b'.' && !seen_point {
            seen_point = true;
        } else if let Some(d) = (c as char).to_digit(16) {
            if mant >> 60 == 0 {
                mant = mant << 4 | d as u64;
                if seen_point {
                    bexp -= 4;
                }
            } else {
                sticky |= d != 0;
                if !seen_point {
                    bexp += 4;
                }
            }
        } else {
            break;
        }
        i += 1;
    }
    if matches!(t.get(i), Some(b'p' | b'P')) {
        let mut k = i + 1;
        let neg = match t.get(k) {
            Some(b'-') => {
                k += 1;
                true
            }
            Some(b'+') => {
                k += 1;
                false
            }
            _ => false,
        };
        let start = k;
        let mut e: i64 = 0;
        while k < t.len() && t[k].is_ascii_digit() {
            e = (e * 10 + (t[k] - b'0') as i64).min(1 << 40);
            k += 1;
        }
        if k > start {
            bexp += if neg { -e } else { e };
            i = k;
        }
    }
    if mant == 0 {
        return (0.0, i, false);
    }
    // Top bit's exponent, and how many bits the result can keep (53, fewer for subnormals).
    let nbits = 64 - mant.leading_zeros() as i64;
    let top = bexp + nbits - 1;
    if top > 1023 {
        return (f64::INFINITY, i, true);
    }
    let keep = if top >= -1022 { 53 } else { top + 1074 + 1 };
    let drop = nbits - keep;
    let (mut m, inexact, mut lsb_exp) = if drop <= 0 {
        (mant << (-drop).min(63), sticky, bexp + drop)
    } else if drop > 64 {
        (0, true, bexp + drop)
    } else {
        let kept = if drop == 64 { 0 } else { mant >> drop };
        let rem = if drop == 64 { mant } else { mant & ((1u64 << drop) - 1) };
        let half = 1u64 << (drop - 1);
        let round_up = rem > half || (rem == half && (sticky || kept & 1 == 1));
        (kept + round_up as u64, rem != 0 || sticky, bexp + drop)
    };
    if m == 0 {
        // Rounded to zero: always inexact underflow.
        return (0.0, i, true);
    }
    if m >> 53 != 0 {
        m >>= 1;
        lsb_exp += 1;
    }
    // m × 2^lsb_exp, m < 2^53.
    let top = lsb_exp + 63 - m.leading_zeros() as i64;
    if top > 1023 {
        return (f64::INFINITY, i, true);
    }
    let v = if top >= -1022 {
        let bits = ((top + 1023) as u64) << 52 | ((m << (52 - (top - lsb_exp))) & ((1u64 << 52) - 1));
        f64::from_bits(bits)
    } else {
        // Subnormal: lsb_exp is -1074 here.
        f64::from_bits(m << (lsb_exp + 1074))
    };
    (v, i, inexact && v.abs() < f64::MIN_POSITIVE)
}

#[cfg(test)]
mod tests {

    #[test]
    fn string2ll_rules() {
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"0"), Some(0));
        for bad in ["", "+1", "01", " 1", "1 ", "-", "-0", "1e3", "123456789012345678901"] {
            assert_eq!(parse_i64(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn strtoll_and_memtoull_like_c() {
        assert_eq!(strtoll(b" -12", 10), (-12, true, false));
        assert_eq!(strtoll(b"12x", 10), (12, false, false));
        assert_eq!(strtoll(b"", 10), (0, true, false));
        assert_eq!(strtoll(b"777", 8), (511, true, false));
        assert_eq!(strtoll(b"99999999999999999999", 10), (i64::MAX, true, true));
        assert_eq!(memtoull(b"1kb"), Some(1024));
        assert_eq!(memtoull(b"1K"), Some(1000));
        assert_eq!(memtoull(b"3GB"), Some(3 << 30));
        assert_eq!(memtoull(b""), Some(0));
        assert_eq!(memtoull(b"-1"), None);
        assert_eq!(memtoull(b"1tb"), None);
        assert_eq!(memtoull(b"99999999999gb"), None);
    }
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
    fn strtod_reports_consumed_and_erange_like_glibc() {
        assert_eq!(strtod(b"  -1.5e2xyz"), (-150.0, 8, false));
        assert_eq!(strtod(b"abc"), (0.0, 0, false));
        assert_eq!(strtod(b"1e"), (1.0, 1, false));
        assert_eq!(strtod(b"0x1p4!"), (16.0, 5, false));
        assert_eq!(strtod(b"Infinity").0, f64::INFINITY);
        assert_eq!(strtod(b"-inf").1, 4);
        let (v, used, _) = strtod(b"nan(0x1)z");
        assert!(v.is_nan() && used == 8);
        assert_eq!(strtod(b"1e400"), (f64::INFINITY, 5, true));
        assert_eq!(strtod(b"1e-400"), (0.0, 6, true));
        assert_eq!(strtod(b"0.000"), (0.0, 5, false));
        // A subnormal written out exactly is not a range error; a rounded one is.
        assert!(!strtod(b"0x1p-1074").2);
        assert!(strtod(b"4.9406564584124654e-324").2);
    }

    #[test]
    fn long_double_format() {
        assert_eq!(format_long_double(10.5), "10.5");
        assert_eq!(format_long_double(3.0), "3");
        assert_eq!(format_long_double(17179869185.5), "17179869185.5");
        assert_eq!(format_long_double(-0.1), "-0.1");
    }
}
