//! Clock: the cached "now" the Keyspace reads while executing commands (types layer, no actors).
//!
//! Redis caches the time once per command instead of asking the OS for every key it touches; we cache it per
//! batch (and refresh inside long batches). It is thread-local so that each Keyspace thread, and each unit
//! test, has its own; tests freeze it with `set_mock`.

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

thread_local! {
    static NOW_MS: Cell<i64> = const { Cell::new(0) };
    static MOCKED: Cell<bool> = const { Cell::new(false) };
}

/// Wall-clock milliseconds since the Unix epoch, straight from the OS.
pub fn system_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Wall-clock microseconds since the Unix epoch.
pub fn system_us() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}

/// Re-read the OS clock into the cache (no-op while mocked).
#[inline]
pub fn refresh() -> i64 {
    if MOCKED.with(|m| m.get()) {
        return now_ms();
    }
    let t = system_ms();
    NOW_MS.with(|n| n.set(t));
    t
}

/// The cached time; reads the OS clock if this thread never refreshed it.
#[inline]
pub fn now_ms() -> i64 {
    let t = NOW_MS.with(|n| n.get());
    if t == 0 {
        refresh()
    } else {
        t
    }
}

/// Put back a cached time read earlier with `now_ms` (a running script's clock, frozen for the script
/// while the Keyspace serves other clients from its hook); no-op while mocked.
#[inline]
pub fn restore(ms: i64) {
    if !MOCKED.with(|m| m.get()) {
        NOW_MS.with(|n| n.set(ms));
    }
}

/// Freeze this thread's clock at `ms` (tests).
#[cfg(test)]
pub fn set_mock(ms: i64) {
    MOCKED.with(|m| m.set(true));
    NOW_MS.with(|n| n.set(ms));
}

/// Return to the OS clock.
#[cfg(test)]
pub fn clear_mock() {
    MOCKED.with(|m| m.set(false));
    refresh();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mock_freezes_time() {
        set_mock(1_000);
        assert_eq!(refresh(), 1_000);
        assert_eq!(now_ms(), 1_000);
        clear_mock();
        assert!(now_ms() > 1_000_000_000_000);
    }
}

/// "21 Nov 2026 21:30:00.123" for log lines (UTC), as Redis's serverLog prints.
pub fn log_timestamp(ms: i64) -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let secs = ms.div_euclid(1000);
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + (m <= 2) as i64;
    format!(
        "{:02} {} {} {:02}:{:02}:{:02}.{:03}",
        d,
        MONTHS[(m - 1) as usize],
        y,
        sod / 3600,
        sod % 3600 / 60,
        sod % 60,
        ms.rem_euclid(1000)
    )
}

#[cfg(test)]
mod log_tests {
    #[test]
    fn formats_dates() {
        assert_eq!(super::log_timestamp(0), "01 Jan 1970 00:00:00.000");
        assert_eq!(super::log_timestamp(1_795_300_200_123), "21 Nov 2026 22:30:00.123");
    }
}
