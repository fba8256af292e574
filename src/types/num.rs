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

/// INCRBYFLOAT / HINCRBYFLOAT output: plain decimal, no exponent, no trailing zeros (Redis prints a long
/// double with "%.17Lf" and trims; the shortest round-trip form of the f64 gives the same digits).
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
