//! Glob-style matching with Redis's exact rules (types layer, pure): KEYS, SCAN MATCH, PSUBSCRIBE, CONFIG GET.
//!
//! A port of `stringmatchlen` from Redis 7.0's util.c, quirks included, because clients rely on what Redis
//! matches rather than on what a glob "should" match:
//! - `*` any run of bytes, `?` one byte, `[abc]` / `[^abc]` / `[a-z]` classes, `\x` a literal `x`;
//! - an unterminated class runs to the end of the pattern (`[abc` is `[abc]`), reversed ranges are swapped;
//! - the empty string matches only the empty pattern (even `*` does not match it: KEYS and SCAN special-case
//!   the pattern `*` before calling the matcher);
//! - the C code reads one byte past the pattern's end (sds strings end in NUL); `byte_at` returns 0 there.
//!
//! Abusive patterns (`a*a*a*...b`) are cut off the way Redis 7 does: once the rest of a pattern failed to
//! match at every position after a `*`, no earlier `*` can succeed by consuming more (`skip_longer`), and
//! recursion deeper than 1000 `*`s gives up.

/// Recursion limit on nested `*`s (Redis's protection against stack exhaustion).
const MAX_NESTING: u32 = 1000;

/// Does `s` match the glob `pattern`? `nocase` folds ASCII case only, as C's `tolower` in the C locale.
pub fn glob_match(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    let mut skip_longer = false;
    match_impl(pattern, s, nocase, &mut skip_longer, 0)
}

/// The byte at `i`, or the NUL terminator the C code sees past the end.
#[inline]
fn byte_at(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

/// glibc's `tolower` on an `int` in the C locale. Only A-Z fold, but a negative `char` other than EOF (-1)
/// comes back as its unsigned value (the table glibc indexes maps -128..-2 to 128..254), which matters
/// for ranges with bytes >= 0x80 under nocase.
#[inline]
fn lower(c: i32) -> i32 {
    match c {
        65..=90 => c + 32,
        -128..=-2 => c + 256,
        _ => c,
    }
}

#[inline]
fn eq_byte(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

fn match_impl(pat: &[u8], s: &[u8], nocase: bool, skip_longer: &mut bool, nesting: u32) -> bool {
    if nesting > MAX_NESTING {
        return false;
    }
    // `p` and `i` stand for the C pointers; `pat.len() - p` is patternLen, `s.len() - i` is stringLen.
    let mut p = 0usize;
    let mut i = 0usize;
    while p < pat.len() && i < s.len() {
        match pat[p] {
            b'*' => {
                while p < pat.len() && byte_at(pat, p + 1) == b'*' {
                    p += 1;
                }
                if pat.len() - p == 1 {
                    return true;
                }
                while i < s.len() {
                    if match_impl(&pat[p + 1..], &s[i..], nocase, skip_longer, nesting + 1) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    i += 1;
                }
                // The rest of the pattern matches nowhere in the rest of the string: a longer match for an
                // earlier `*` would only start the rest later, so every enclosing `*` can stop too.
                *skip_longer = true;
                return false;
            }
            b'?' => i += 1,
            b'[' => {
                p += 1;
                let not = byte_at(pat, p) == b'^';
                if not {
                    p += 1;
                }
                let c = s[i];
                let mut matched = false;
                loop {
                    let left = pat.len().saturating_sub(p);
                    let pc = byte_at(pat, p);
                    if pc == b'\\' && left >= 2 {
                        p += 1;
                        // Escapes inside a class compare case-sensitively even with nocase (as Redis).
                        if pat[p] == c {
                            matched = true;
                        }
                    } else if pc == b']' {
                        break;
                    } else if left == 0 {
                        // Unterminated class: step back so that the common advance below ends the pattern.
                        p -= 1;
                        break;
                    } else if left >= 3 && pat[p + 1] == b'-' {
                        // Ranges compare C `char`s, which are signed on the platforms Redis ships for: a
                        // byte >= 0x80 sorts below every ASCII byte.
                        let mut start = pat[p] as i8 as i32;
                        let mut end = pat[p + 2] as i8 as i32;
                        let mut ch = c as i8 as i32;
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        if nocase {
                            start = lower(start);
                            end = lower(end);
                            ch = lower(ch);
                        }
                        p += 2;
                        if ch >= start && ch <= end {
                            matched = true;
                        }
                    } else if eq_byte(pc, c, nocase) {
                        matched = true;
                    }
                    p += 1;
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                i += 1;
            }
            b => {
                // A backslash escapes the next byte; a trailing one is a literal backslash.
                let lit = if b == b'\\' && pat.len() - p >= 2 {
                    p += 1;
                    pat[p]
                } else {
                    b
                };
                if !eq_byte(lit, s[i], nocase) {
                    return false;
                }
                i += 1;
            }
        }
        p += 1;
        if i == s.len() {
            while byte_at(pat, p) == b'*' {
                p += 1;
            }
            break;
        }
    }
    p >= pat.len() && i == s.len()
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    fn m(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), false)
    }

    #[test]
    fn stars_and_questions() {
        assert!(m("*", "anything"));
        assert!(m("foo*", "foo"));
        assert!(m("foo*", "foobar"));
        assert!(!m("foo*", "fo"));
        assert!(m("*bar", "foobar"));
        assert!(m("f*o*r", "foobar"));
        assert!(m("**a**", "a"));
        assert!(m("key:1??", "key:123"));
        assert!(!m("key:1??", "key:12"));
        assert!(!m("key:1??", "key:1234"));
        assert!(m("a?c", "abc"));
        assert!(m("h*llo", "heeeello"));
    }

    #[test]
    fn empty_string_matches_only_empty_pattern() {
        // Redis quirk: the main loop never runs on an empty string, so even "*" fails.
        assert!(!m("*", ""));
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert!(!m("?", ""));
    }

    #[test]
    fn classes() {
        assert!(m("h[ae]llo", "hello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(!m("h[a-b]llo", "hcllo"));
        // Reversed ranges are swapped.
        assert!(m("[z-a]", "q"));
        // `]` right after `[` closes an empty class, which matches nothing.
        assert!(!m("[]", "a"));
        // An unterminated class runs to the end of the pattern.
        assert!(m("[abc", "b"));
        assert!(!m("[abc", "d"));
        // "[^" with nothing after matches any one byte.
        assert!(m("[^", "x"));
        assert!(!m("[", "x"));
        // Escapes inside classes.
        assert!(m("[\\]]", "]"));
        assert!(m("[\\-]", "-"));
        assert!(m("[a\\", "\\"));
        // "a-]" is a range from 'a' to ']' (swapped to ']'..'a'), not 'a' or '-', and the class is
        // unterminated.
        assert!(!m("[a-]", "-"));
        assert!(m("[a-]", "^"));
        assert!(m("[-a]", "-"));
    }

    #[test]
    fn escapes() {
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "a"));
        assert!(m("\\?x", "?x"));
        assert!(m("a\\", "a\\"));
        assert!(m("\\[a]", "[a]"));
    }

    #[test]
    fn nocase() {
        assert!(glob_match(b"HeLLo", b"hello", true));
        assert!(!glob_match(b"HeLLo", b"hello", false));
        assert!(glob_match(b"[A-C]x", b"bX", true));
        // glibc's tolower turns negative chars other than -1 positive: under nocase the range \x80-\xff
        // becomes 128..-1 and matches nothing, while without nocase it is -128..-1.
        assert!(!glob_match(b"[\x80-\xff]", b"\x90", true));
        assert!(glob_match(b"[\x80-\xff]", b"\x90", false));
        assert!(glob_match(b"[\x80-\xfe]", b"\x90", true));
        assert!(glob_match(b"[^A]", b"b", true));
        assert!(!glob_match(b"[^A]", b"a", true));
        // Non-ASCII bytes do not fold.
        assert!(!glob_match(&[0xC4], &[0xE4], true));
    }

    #[test]
    fn binary_and_signed_ranges() {
        assert!(glob_match(b"a\x00b", b"a\x00b", false));
        assert!(glob_match(b"[\x80-\xff]", b"\x90", false));
        // 'a'..0xFF as signed chars is -1..97 after the swap, so 'b' (98) falls outside, 0x90 (-112) too.
        assert!(!glob_match(b"[a-\xff]", b"b", false));
        assert!(glob_match(b"[a-\xff]", b"A", false));
    }

    #[test]
    fn trailing_stars_after_string_end() {
        assert!(m("abc*", "abc"));
        assert!(m("abc***", "abc"));
        assert!(!m("abc*d", "abc"));
        assert!(m("a*", "a"));
    }

    #[test]
    fn long_nested_patterns_terminate() {
        // Without skip-longer-matches this takes exponential time (Redis's regression test).
        let key = "a".repeat(40);
        assert!(!m("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", &key));
        let key = "a".repeat(5000);
        let pat = "a*".repeat(200) + "b";
        assert!(!m(&pat, &key));
        assert!(m(&"a*".repeat(200), &key));
    }

    #[test]
    fn nesting_limit_gives_up() {
        // Redis returns "no match" beyond 1000 nested stars, even where the pattern would match.
        let s = "ab".repeat(1200);
        let pat = "*?".repeat(1100) + "*";
        assert!(!m(&pat, &s));
        let pat = "*?".repeat(900) + "*";
        assert!(m(&pat, &s));
    }
}
