//! LATENCY LATEST/HISTORY/RESET/GRAPH/DOCTOR/HISTOGRAM/HELP, the latency monitor's event series and the
//! per-command latency histograms they read (commands layer, applied by the Keyspace actor). The series are
//! fed by `slowlog::note_command` (command, fast-command) and the Keyspace's cron (expire-cycle) through
//! `Latency::add_sample_if_needed`; the histograms by `exec_request` while `latency-tracking` is on. INFO
//! latencystats reads the histograms too (`write_info`).

use super::connection::help;
use super::spec::*;
use super::{table, Ctx, State};
use crate::types::clock;
use std::fmt::Write;

/// LATENCY, as Redis 7.0's command table declares it.
#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("server", [
    cmd("latency", -2, 0, container).subs(LATENCY_SUBS).doc("2.8.13", "Depends on subcommand.", "A container for latency diagnostics commands"),
]);

const ADM: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

#[rustfmt::skip]
const LATENCY_SUBS: &[CommandSpec] = &family("server", [
    cmd("latency|doctor", 2, ADM, latency_doctor).doc("2.8.13", "O(1)", "Return a human readable latency analysis report."),
    cmd("latency|graph", 3, ADM, latency_graph).doc("2.8.13", "O(1)", "Return a latency graph for the event."),
    cmd("latency|help", 2, LOADING | STALE, latency_help).doc("2.8.13", "O(1)", "Show helpful text about the different subcommands."),
    cmd("latency|histogram", -2, ADM, latency_histogram).doc("7.0.0", "O(N) where N is the number of commands with latency information being retrieved.", "Return the cumulative distribution of latencies of a subset of commands or all."),
    cmd("latency|history", 3, ADM, latency_history).doc("2.8.13", "O(1)", "Return timestamp-latency samples for the event."),
    cmd("latency|latest", 2, ADM, latency_latest).doc("2.8.13", "O(1)", "Return the latest latency samples for all events."),
    cmd("latency|reset", -2, ADM, latency_reset).doc("2.8.13", "O(1)", "Reset latency data for one or more events."),
]);

/// Samples kept per event (Redis's LATENCY_TS_LEN).
const TS_LEN: usize = 160;

/// One second's worst latency of an event.
#[derive(Clone, Copy, Debug, Default)]
struct Sample {
    /// Unix time (s); 0: an unused slot.
    time: i64,
    /// Milliseconds.
    latency: u64,
}

/// An event's last `TS_LEN` seconds with a spike, as a ring (latencyTimeSeries).
#[derive(Debug)]
struct Series {
    /// Where the next sample goes.
    idx: usize,
    /// Worst latency since the event was created or reset.
    max: u64,
    samples: [Sample; TS_LEN],
}

impl Series {
    /// The used samples, oldest first.
    fn in_order(&self) -> impl Iterator<Item = &Sample> {
        (0..TS_LEN).map(move |j| &self.samples[(self.idx + j) % TS_LEN]).filter(|s| s.time != 0)
    }

    fn last(&self) -> &Sample {
        &self.samples[(self.idx + TS_LEN - 1) % TS_LEN]
    }
}

/// The latency monitor (per-event series) and the per-command histograms.
#[derive(Debug, Default)]
pub struct Latency {
    /// `latency-monitor-threshold`, ms (0: monitor off).
    pub threshold_ms: u64,
    /// Events in the order they first happened.
    events: Vec<(&'static str, Box<Series>)>,
    /// By `CommandSpec::id`; created at a command's first recorded call.
    histograms: Vec<Option<Box<Histogram>>>,
}

impl Latency {
    /// latencyAddSampleIfNeeded: record `ms` for `event` when the monitor is on and `ms` reaches its
    /// threshold.
    #[inline]
    pub fn add_sample_if_needed(&mut self, event: &'static str, ms: u64) {
        if self.threshold_ms != 0 && ms >= self.threshold_ms {
            self.add_sample(event, ms, clock::system_ms() / 1000);
        }
    }

    /// latencyAddSample: keep one sample per second per event, the worst of that second.
    fn add_sample(&mut self, event: &'static str, ms: u64, now: i64) {
        let ts = match self.events.iter().position(|(e, _)| *e == event) {
            Some(i) => &mut self.events[i].1,
            None => {
                let fresh = Box::new(Series { idx: 0, max: 0, samples: [Sample::default(); TS_LEN] });
                self.events.push((event, fresh));
                &mut self.events.last_mut().expect("just pushed").1
            }
        };
        ts.max = ts.max.max(ms);
        let prev = (ts.idx + TS_LEN - 1) % TS_LEN;
        if ts.samples[prev].time == now {
            ts.samples[prev].latency = ts.samples[prev].latency.max(ms);
            return;
        }
        ts.samples[ts.idx] = Sample { time: now, latency: ms };
        ts.idx = (ts.idx + 1) % TS_LEN;
    }

    /// latencyResetEvent: forget `event` (case-insensitively), or every event; how many were forgotten.
    fn reset_events(&mut self, event: Option<&[u8]>) -> usize {
        let before = self.events.len();
        self.events.retain(|(e, _)| event.is_some_and(|x| !x.eq_ignore_ascii_case(e.as_bytes())));
        before - self.events.len()
    }

    fn series(&self, event: &[u8]) -> Option<(&'static str, &Series)> {
        self.events.iter().find(|(e, _)| e.as_bytes() == event).map(|(e, s)| (*e, &**s))
    }

    /// Record one call of command `id` that took `us` µs (updateCommandLatencyHistogram, in ns).
    #[inline]
    pub fn record(&mut self, id: usize, us: u64) {
        match self.histograms.get_mut(id) {
            Some(Some(h)) => h.record(us.saturating_mul(1000)),
            _ => self.record_first(id, us),
        }
    }

    #[cold]
    fn record_first(&mut self, id: usize, us: u64) {
        if self.histograms.len() <= id {
            self.histograms.resize_with(table().all.len().max(id + 1), || None);
        }
        let mut h = Box::new(Histogram::new());
        h.record(us.saturating_mul(1000));
        self.histograms[id] = Some(h);
    }

    /// CONFIG RESETSTAT: drop every command's histogram.
    pub fn reset_histograms(&mut self) {
        self.histograms.clear();
    }

    fn histogram(&self, id: usize) -> Option<&Histogram> {
        self.histograms.get(id).and_then(|h| h.as_deref())
    }
}

/// `latency-monitor-threshold` (ms) as the µs a command must reach to be looked at (0: never).
pub fn threshold_us(threshold_ms: u64) -> u64 {
    if threshold_ms == 0 {
        u64::MAX
    } else {
        threshold_ms.saturating_mul(1000)
    }
}

// ------------------------------------------------------------------------------------------------------
// The histograms: the HdrHistogram layout Redis uses (1 ns .. 1 s, 2 significant figures), written out here
// so that LATENCY HISTOGRAM's buckets and INFO latencystats' percentiles come out as Redis's hdr_histogram.c
// computes them (its log iterator reports the highest value of the bucket it stopped at, which the
// histogram crates do not expose).
// ------------------------------------------------------------------------------------------------------

/// Lowest and highest values kept, ns (LATENCY_HISTOGRAM_MIN_VALUE / MAX_VALUE).
const HIST_MIN: u64 = 1;
const HIST_MAX: u64 = 1_000_000_000;
/// log2 of half the sub-buckets: 2 significant figures need 2 * 10^2 = 200 -> 256 sub-buckets.
const HALF_MAG: u32 = 7;
const HALF_COUNT: usize = 1 << HALF_MAG;
const SUB_MASK: u64 = (1 << (HALF_MAG + 1)) - 1;
/// Buckets needed to cover HIST_MAX: 256 << 22 > 10^9.
const BUCKETS: usize = 23;
const COUNTS_LEN: usize = (BUCKETS + 1) * HALF_COUNT;

/// A latency histogram: counts per value range, ranges of a fixed relative width (<1%).
#[derive(Debug, Clone)]
pub struct Histogram {
    counts: Box<[u64; COUNTS_LEN]>,
    total: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

fn bucket_of(v: u64) -> u32 {
    (64 - (v | SUB_MASK).leading_zeros()) - (HALF_MAG + 1)
}

fn index_of(v: u64) -> usize {
    let b = bucket_of(v);
    let sub = (v >> b) as usize;
    ((b as usize + 1) << HALF_MAG) + sub - HALF_COUNT
}

fn value_at(idx: usize) -> u64 {
    let mut b = (idx >> HALF_MAG) as i64 - 1;
    let mut sub = (idx & (HALF_COUNT - 1)) + HALF_COUNT;
    if b < 0 {
        sub -= HALF_COUNT;
        b = 0;
    }
    (sub as u64) << b
}

fn lowest_equivalent(v: u64) -> u64 {
    let b = bucket_of(v);
    (v >> b) << b
}

fn highest_equivalent(v: u64) -> u64 {
    lowest_equivalent(v) + (1u64 << bucket_of(v)) - 1
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Histogram {
        Histogram { counts: Box::new([0; COUNTS_LEN]), total: 0 }
    }

    /// Count one value (ns), clamped to the range kept.
    #[inline]
    pub fn record(&mut self, ns: u64) {
        self.counts[index_of(ns.clamp(HIST_MIN, HIST_MAX))] += 1;
        self.total += 1;
    }

    /// Values recorded.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// hdr_value_at_percentile: the highest value of the range holding the `p`th percentile (the lowest for
    /// p = 0).
    pub fn value_at_percentile(&self, p: f64) -> u64 {
        let p = p.min(100.0);
        let want = (((p / 100.0) * self.total as f64) + 0.5) as u64;
        let want = want.max(1);
        let mut seen = 0;
        let mut value = 0;
        for (idx, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= want {
                value = value_at(idx);
                break;
            }
        }
        if p == 0.0 {
            lowest_equivalent(value)
        } else {
            highest_equivalent(value)
        }
    }

    /// The cumulative counts at every power of two from 1024 ns, as hdr_iter_log_init(h, 1024, 2) walks
    /// them: (highest value of the range reached, in µs; calls up to there), one pair per step that added
    /// calls (fillCommandCDF).
    pub fn cdf_usec(&self) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut level: u64 = 1024;
        let mut level_low = lowest_equivalent(level);
        // The walk's position: index, its value and highest equivalent, calls up to it.
        let mut idx: i64 = -1;
        let mut value = 0;
        let mut highest = 0;
        let mut cumulative = 0;
        let mut previous = 0;
        loop {
            let more_counts = cumulative < self.total;
            let next_beyond = ((idx + 1) as usize) < COUNTS_LEN && value_at((idx + 1) as usize) > level_low;
            if !(more_counts || next_beyond) {
                break;
            }
            loop {
                if value >= level_low {
                    level = level.saturating_mul(2);
                    level_low = lowest_equivalent(level);
                    break;
                }
                if (idx + 1) as usize >= COUNTS_LEN {
                    // Out of ranges: this step ends here (the next one finds nothing more).
                    idx = COUNTS_LEN as i64;
                    break;
                }
                idx += 1;
                cumulative += self.counts[idx as usize];
                value = value_at(idx as usize);
                highest = highest_equivalent(value);
            }
            if cumulative > previous {
                out.push((highest / 1000, cumulative));
            }
            previous = cumulative;
            if idx as usize >= COUNTS_LEN {
                break;
            }
        }
        out
    }
}

/// One histogram as LATENCY HISTOGRAM writes it: {calls, histogram_usec: {µs: cumulative calls}}.
fn write_cdf(cx: &mut Ctx<'_>, name: &str, h: &Histogram) {
    cx.out.bulk(name.as_bytes());
    cx.out.map(2);
    cx.out.bulk(b"calls");
    cx.out.int(h.total() as i64);
    cx.out.bulk(b"histogram_usec");
    let cdf = h.cdf_usec();
    cx.out.map(cdf.len());
    for (us, n) in cdf {
        cx.out.int(us as i64);
        cx.out.int(n as i64);
    }
}

/// INFO latencystats: a `latency_percentiles_usec_<command>` line per command with a histogram, at the
/// `latency-tracking-info-percentiles` percentiles (nothing while `latency-tracking` is off).
pub fn write_info(s: &State, out: &mut String) {
    out.push_str("# Latencystats\r\n");
    if !s.obs.tracking {
        return;
    }
    let percentiles: Vec<f64> = s
        .config
        .get("latency-tracking-info-percentiles")
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    for spec in &table().all {
        let Some(h) = s.obs.latency.histogram(spec.id) else { continue };
        let _ = write!(out, "latency_percentiles_usec_{}:", spec.name);
        for (j, &p) in percentiles.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            let _ = write!(out, "p{}={:.3}", trim_double(p), h.value_at_percentile(p) as f64 / 1000.0);
        }
        out.push_str("\r\n");
    }
}

/// `%f` with the trailing zeros (and point) removed, as Redis's trimDoubleString.
fn trim_double(p: f64) -> String {
    let s = format!("{p:.6}");
    let s = s.trim_end_matches('0');
    s.strip_suffix('.').unwrap_or(s).to_string()
}

fn latency_latest(cx: &mut Ctx<'_>) -> CmdResult {
    let lat = &cx.s.obs.latency;
    cx.out.array(lat.events.len());
    for (event, ts) in &lat.events {
        let last = ts.last();
        cx.out.array(4);
        cx.out.bulk(event.as_bytes());
        cx.out.int(last.time);
        cx.out.int(last.latency as i64);
        cx.out.int(ts.max as i64);
    }
    Ok(())
}

fn latency_history(cx: &mut Ctx<'_>) -> CmdResult {
    let Some((_, ts)) = cx.s.obs.latency.series(cx.arg(2)) else {
        cx.out.array(0);
        return Ok(());
    };
    let samples: Vec<Sample> = ts.in_order().copied().collect();
    cx.out.array(samples.len());
    for s in samples {
        cx.out.array(2);
        cx.out.int(s.time);
        cx.out.int(s.latency as i64);
    }
    Ok(())
}

fn latency_reset(cx: &mut Ctx<'_>) -> CmdResult {
    let argv = cx.argv;
    let lat = &mut cx.s.obs.latency;
    let n = if argv.len() == 2 {
        lat.reset_events(None)
    } else {
        (2..argv.len()).map(|j| lat.reset_events(Some(argv.get(j)))).sum()
    };
    cx.out.int(n as i64);
    Ok(())
}

fn latency_graph(cx: &mut Ctx<'_>) -> CmdResult {
    let Some((event, ts)) = cx.s.obs.latency.series(cx.arg(2)) else {
        return Err(crate::error::CmdError::msg(format!(
            "ERR No samples available for event '{}'",
            String::from_utf8_lossy(cx.arg(2))
        )));
    };
    let graph = sparkline_graph(event, ts, clock::system_ms() / 1000);
    cx.out.verbatim("txt", graph.as_bytes());
    Ok(())
}

/// latencyCommandGenSparkeline: a title line, a rule, and the samples as an 80-column, 4-row filled
/// sparkline labelled with how long ago each happened.
fn sparkline_graph(event: &str, ts: &Series, now: i64) -> String {
    let mut samples: Vec<(f64, String)> = Vec::new();
    let (mut min, mut max) = (0u64, 0u64);
    for (n, s) in ts.in_order().enumerate() {
        if n == 0 {
            (min, max) = (s.latency, s.latency);
        } else {
            max = max.max(s.latency);
            min = min.min(s.latency);
        }
        let elapsed = now - s.time;
        let label = if elapsed < 60 {
            format!("{elapsed}s")
        } else if elapsed < 3600 {
            format!("{}m", elapsed / 60)
        } else if elapsed < 3600 * 24 {
            format!("{}h", elapsed / 3600)
        } else {
            format!("{}d", elapsed / (3600 * 24))
        };
        samples.push((s.latency as f64, label));
    }
    let mut g = format!("{event} - high {max} ms, low {min} ms (all time high {} ms)\n", ts.max);
    g.push_str(&"-".repeat(80));
    g.push('\n');
    sparkline_render(&mut g, &samples, 80, 4);
    g
}

/// sparklineRender with SPARKLINE_FILL: the samples in chunks of `columns`, each `rows` rows of "_o#|"
/// high, then a blank line and the labels written downwards.
fn sparkline_render(out: &mut String, samples: &[(f64, String)], columns: usize, rows: usize) {
    const FILL: &[u8] = b"_o#";
    let Some(first) = samples.first() else { return };
    let (mut min, mut max) = (first.0, first.0);
    for &(v, _) in &samples[1..] {
        if v < min {
            min = v;
        } else if v > max {
            max = v;
        }
    }
    let mut relmax = max - min;
    if relmax == 0.0 {
        relmax = 1.0;
    }
    let steps = (FILL.len() * rows) as i64;
    for (chunk_no, chunk) in samples.chunks(columns).enumerate() {
        if chunk_no > 0 {
            out.push('\n');
        }
        let mut row = 0;
        loop {
            let mut drew = false;
            let mut chars = vec![b' '; chunk.len()];
            for (j, (value, label)) in chunk.iter().enumerate() {
                let relval = value - min;
                let mut step = (((relval * steps as f64) as i64) as f64 / relmax) as i64;
                step = step.clamp(0, steps - 1);
                if row < rows {
                    let charidx = step - ((rows - row - 1) * FILL.len()) as i64;
                    drew = true;
                    if (0..FILL.len() as i64).contains(&charidx) {
                        chars[j] = FILL[charidx as usize];
                    } else if charidx >= FILL.len() as i64 {
                        chars[j] = b'|';
                    }
                } else {
                    // One blank line between the graph and the labels (label_margin_top).
                    if row - rows < 1 {
                        drew = true;
                        break;
                    }
                    let label_char = row - rows - 1;
                    if let Some(&c) = label.as_bytes().get(label_char) {
                        drew = true;
                        chars[j] = c;
                    }
                }
            }
            if !drew {
                break;
            }
            row += 1;
            out.push_str(&String::from_utf8_lossy(&chars));
            out.push('\n');
        }
    }
}

fn latency_histogram(cx: &mut Ctx<'_>) -> CmdResult {
    // Collected first: the reply's map length is the number of commands with data.
    let mut found: Vec<&'static CommandSpec> = Vec::new();
    let lat = &cx.s.obs.latency;
    if cx.argc() == 2 {
        found.extend(table().all.iter().copied().filter(|s| lat.histogram(s.id).is_some()));
    } else {
        for j in 2..cx.argc() {
            let Some(spec) = super::command::find_command(cx.arg(j)) else { continue };
            if lat.histogram(spec.id).is_some() {
                found.push(spec);
            }
            found.extend(spec.subcommands.iter().filter(|s| lat.histogram(s.id).is_some()));
        }
    }
    cx.out.map(found.len());
    for spec in found {
        let h = cx.s.obs.latency.histogram(spec.id).expect("filtered above").clone();
        write_cdf(cx, spec.name, &h);
    }
    Ok(())
}

fn latency_doctor(cx: &mut Ctx<'_>) -> CmdResult {
    let report = doctor_report(cx.s);
    cx.out.verbatim("txt", report.as_bytes());
    Ok(())
}

/// analyzeLatencyForEvent's figures for one series.
struct EventStats {
    avg: u64,
    mad: u64,
    samples: u64,
    period: i64,
}

fn analyze(ts: &Series, now: i64) -> EventStats {
    let mut st = EventStats { avg: 0, mad: 0, samples: 0, period: 0 };
    let mut sum = 0;
    for s in ts.samples.iter().filter(|s| s.time != 0) {
        st.samples += 1;
        sum += s.latency;
        if st.period == 0 || s.time < st.period {
            st.period = s.time;
        }
    }
    if let Some(avg) = sum.checked_div(st.samples) {
        st.avg = avg;
        st.period = (now - st.period).max(1);
        let dev: u64 = ts.samples.iter().filter(|s| s.time != 0).map(|s| st.avg.abs_diff(s.latency)).sum();
        st.mad = dev / st.samples;
    }
    st
}

/// createLatencyReport: each event's figures with remarks, then the advice they call for, in Redis's words
/// (only the events ferrodis records can appear).
fn doctor_report(s: &State) -> String {
    let lat = &s.obs.latency;
    if lat.events.is_empty() && lat.threshold_ms == 0 {
        return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n".to_string();
    }
    let now = clock::system_ms() / 1000;
    let mut r = String::new();
    let mut advices = 0;
    let (mut slowlog_enabled, mut slowlog_tuning, mut slowlog_inspect) = (false, false, false);
    let (mut scheduler, mut hz, mut large_objects) = (false, false, false);
    for (n, (event, ts)) in lat.events.iter().enumerate() {
        if n == 0 {
            r.push_str("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n");
        }
        let st = analyze(ts, now);
        let _ = write!(
            r,
            "{}. {}: {} latency spikes (average {}ms, mean deviation {}ms, period {:.2} sec). Worst all time event {}ms.",
            n + 1,
            event,
            st.samples,
            st.avg,
            st.mad,
            st.period as f64 / st.samples as f64,
            ts.max
        );
        match *event {
            "command" => {
                if s.config.slowlog_log_slower_than < 0 {
                    slowlog_enabled = true;
                    advices += 1;
                } else if (s.config.slowlog_log_slower_than / 1000) as u64 > lat.threshold_ms {
                    slowlog_tuning = true;
                    advices += 1;
                }
                slowlog_inspect = true;
                large_objects = true;
                advices += 2;
            }
            "fast-command" => {
                scheduler = true;
                advices += 1;
            }
            "expire-cycle" => {
                hz = true;
                large_objects = true;
                advices += 2;
            }
            _ => {}
        }
        r.push('\n');
    }
    let thp = anon_huge_pages_kb() > 0;
    if thp {
        advices += 1;
    }
    let threshold_us = lat.threshold_ms * 1000;
    if lat.events.is_empty() && advices == 0 {
        r.push_str("Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n");
    } else if advices == 0 {
        r.push_str("\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n");
    } else {
        r.push_str("\nI have a few advices for you:\n\n");
        if slowlog_enabled {
            let _ = writeln!(r, "- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than {threshold_us}'. If the Slow log is disabled Redis is not able to log slow commands execution for you.");
        }
        if slowlog_tuning {
            let _ = writeln!(r, "- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than {threshold_us}'.");
        }
        if slowlog_inspect {
            r.push_str("- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n");
        }
        if scheduler {
            r.push_str("- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n  1) Lower the system load.\n  2) Use a computer / VM just for Redis if you are running other software in the same system.\n  3) Check if you have a \"noisy neighbour\" problem.\n  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n");
        }
        if hz && s.config.hz < 100 {
            r.push_str("- In order to make the Redis keys expiring process more incremental, try to set the 'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n");
        }
        if large_objects {
            r.push_str("- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n");
        }
        if thp {
            r.push_str("- I detected a non zero amount of anonymous huge pages used by your process. This creates very serious latency events in different conditions, especially when Redis is persisting on disk. To disable THP support use the command 'echo never > /sys/kernel/mm/transparent_hugepage/enabled', make sure to also add it into /etc/rc.local so that the command will be executed again after a reboot. Note that even if you have already disabled THP, you still need to restart the Redis process to get rid of the huge pages already created.\n");
        }
    }
    r
}

/// The process's anonymous huge pages, kB (THPGetAnonHugePagesSize; 0 where /proc does not tell).
fn anon_huge_pages_kb() -> u64 {
    let Ok(text) = std::fs::read_to_string("/proc/self/smaps_rollup") else { return 0 };
    text.lines()
        .find_map(|l| l.strip_prefix("AnonHugePages:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn latency_help(cx: &mut Ctx<'_>) -> CmdResult {
    help(
        cx,
        "LATENCY",
        &[
            "DOCTOR",
            "    Return a human readable latency analysis report.",
            "GRAPH <event>",
            "    Return an ASCII latency graph for the <event> class.",
            "HISTORY <event>",
            "    Return time-latency samples for the <event> class.",
            "LATEST",
            "    Return the latest latency samples for all events.",
            "RESET [<event> ...]",
            "    Reset latency data of one or more <event> classes.",
            "    (default: reset all data for all event classes)",
            "HISTOGRAM [COMMAND ...]",
            "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
            "    If no commands are specified then all histograms are replied.",
        ],
    )
}

#[cfg(test)]
#[path = "latency_tests.rs"]
mod tests;
