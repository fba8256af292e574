use super::*;
use crate::commands::testutil::{arr, err, int, new, ok, run, run_raw, Frame, T};

fn hist(values_ns: &[u64]) -> Histogram {
    let mut h = Histogram::new();
    for &v in values_ns {
        h.record(v);
    }
    h
}

#[test]
fn histogram_layout_is_hdr_with_two_figures() {
    for v in [1, 2, 127, 255, 256, 257, 1000, 1024, 65_000, 573_000, 999_999_999, 1_000_000_000] {
        let i = index_of(v);
        assert!(i < COUNTS_LEN, "{v}");
        assert!(value_at(i) <= v && v <= highest_equivalent(value_at(i)), "{v} in its range");
        assert_eq!(lowest_equivalent(v), value_at(i), "{v}");
    }
    // Exact up to 255 ns, then ranges of 1/128th to 1/256th of the value.
    assert_eq!(highest_equivalent(200), 200);
    assert_eq!(highest_equivalent(1000), 1003);
    assert_eq!(highest_equivalent(1024), 1031);
    assert_eq!(highest_equivalent(65_000), 65_023);
}

#[test]
fn percentiles_as_redis_reports_them() {
    // Figures from redis-server 7.0.15's INFO latencystats for the same spread of DEBUG SLEEP calls.
    let h = hist(&[100_000, 573_000, 3_096_000]);
    assert_eq!(h.value_at_percentile(50.0), 573_439);
    assert_eq!(h.value_at_percentile(99.0), 3_096_575);
    assert_eq!(h.value_at_percentile(100.0), 3_096_575);
    assert_eq!(h.value_at_percentile(0.0), 99_840);
    // Zero-µs calls are recorded as 1 ns: "p50=0.001".
    let mut h = Histogram::new();
    h.record(0);
    assert_eq!(h.value_at_percentile(50.0), 1);
    assert_eq!(trim_double(50.0), "50");
    assert_eq!(trim_double(99.9), "99.9");
    assert_eq!(trim_double(0.0001), "0.0001");
}

#[test]
fn cdf_buckets_as_redis_reports_them() {
    // redis-server 7.0.15: LATENCY HISTOGRAM debug -> 132 1 1056 2 4227 3 for the same calls.
    assert_eq!(hist(&[100_000, 573_000, 3_096_000]).cdf_usec(), [(132, 1), (1056, 2), (4227, 3)]);
    assert_eq!(hist(&[1000]).cdf_usec(), [(1, 1)]);
    assert_eq!(hist(&[1000, 1000, 65_000]).cdf_usec(), [(1, 2), (66, 3)]);
    // The top of the range.
    let top = hist(&[5_000_000_000]).cdf_usec();
    assert_eq!(top.len(), 1);
    assert_eq!(top[0].1, 1);
    assert!(top[0].0 >= 1_000_000, "{top:?}");
    assert!(Histogram::new().cdf_usec().is_empty());
}

#[test]
fn samples_keep_the_worst_of_each_second_in_a_ring() {
    let mut l = Latency { threshold_ms: 10, ..Default::default() };
    l.add_sample("command", 20, 100);
    l.add_sample("command", 50, 100);
    l.add_sample("command", 30, 100);
    l.add_sample("command", 15, 101);
    let (_, ts) = l.series(b"command").unwrap();
    let v: Vec<(i64, u64)> = ts.in_order().map(|s| (s.time, s.latency)).collect();
    assert_eq!(v, [(100, 50), (101, 15)]);
    assert_eq!(ts.max, 50);
    for sec in 0..200 {
        l.add_sample("command", sec + 1, 1000 + sec as i64);
    }
    let (_, ts) = l.series(b"command").unwrap();
    let v: Vec<i64> = ts.in_order().map(|s| s.time).collect();
    assert_eq!(v.len(), TS_LEN);
    assert_eq!((v[0], v[TS_LEN - 1]), (1040, 1199));
    assert_eq!(ts.max, 200);
    // Under the threshold, or with the monitor off, nothing is added.
    l.add_sample_if_needed("expire-cycle", 9);
    assert!(l.series(b"expire-cycle").is_none());
    l.threshold_ms = 0;
    l.add_sample_if_needed("expire-cycle", 1000);
    assert!(l.series(b"expire-cycle").is_none());
    assert_eq!(l.reset_events(Some(b"COMMAND")), 1);
    assert_eq!(l.reset_events(None), 0);
}

fn threshold(t: &mut T, ms: &str) {
    assert_eq!(run(t, &["config", "set", "latency-monitor-threshold", ms]), ok());
}

#[test]
fn slow_commands_become_command_events() {
    let mut t = new();
    threshold(&mut t, "20");
    run(&mut t, &["debug", "sleep", "0"]);
    assert_eq!(run(&mut t, &["latency", "latest"]), arr(vec![]));
    run(&mut t, &["debug", "sleep", "0.03"]);
    let Frame::Array(latest) = run(&mut t, &["latency", "latest"]) else { panic!() };
    let Frame::Array(ev) = &latest[0] else { panic!() };
    assert_eq!(ev[0], Frame::Bulk(b"command".to_vec()));
    let (Frame::Integer(time), Frame::Integer(ms), Frame::Integer(max)) = (&ev[1], &ev[2], &ev[3]) else { panic!() };
    assert!(*ms >= 30 && max == ms, "{ms} {max}");
    let Frame::Array(hist) = run(&mut t, &["latency", "history", "command"]) else { panic!() };
    assert_eq!(hist, vec![arr(vec![int(*time), int(*ms)])]);
    assert_eq!(run(&mut t, &["latency", "history", "nosuch"]), arr(vec![]));
    let graph = run_raw(&mut t, &["latency", "graph", "command"]);
    assert!(graph.contains(&format!("command - high {ms} ms, low {ms} ms (all time high {ms} ms)\n")), "{graph}");
    // One sample: the lowest mark on the bottom row, a blank line, then its age written downwards.
    assert!(graph.contains(&format!("{}\n \n \n \n_\n \n", "-".repeat(80))), "{graph:?}");
    assert_eq!(run(&mut t, &["latency", "graph", "nosuch"]), err("ERR No samples available for event 'nosuch'"));
    let doctor = run_raw(&mut t, &["latency", "doctor"]);
    assert!(doctor.contains("1. command: 1 latency spikes (average"), "{doctor}");
    assert!(doctor.contains("- Check your Slow Log"), "{doctor}");
    assert_eq!(run(&mut t, &["latency", "reset", "blabla"]), int(0));
    assert_eq!(run(&mut t, &["latency", "reset"]), int(1));
    assert_eq!(run(&mut t, &["latency", "latest"]), arr(vec![]));
}

#[test]
fn doctor_when_off() {
    let mut t = new();
    assert!(run_raw(&mut t, &["latency", "doctor"]).contains("I'm sorry, Dave, I can't do that."));
    threshold(&mut t, "100");
    let report = run_raw(&mut t, &["latency", "doctor"]);
    if anon_huge_pages_kb() == 0 {
        assert!(report.contains("Dave, no latency spike was observed"), "{report}");
    } else {
        // Huge pages in this process: their advice is the only one.
        assert!(report.contains("I have a few advices for you:\n\n- I detected a non zero amount"), "{report}");
    }
}

/// LATENCY HISTOGRAM [cmd ...] as (name, calls) pairs.
fn histogram_calls(t: &mut T, args: &[&str]) -> Vec<(String, i64)> {
    let mut a = vec!["latency", "histogram"];
    a.extend(args);
    let mut t3 = std::mem::replace(&mut t.s.clients[t.me].resp, 3);
    let reply = run(t, &a);
    std::mem::swap(&mut t.s.clients[t.me].resp, &mut t3);
    let Frame::Map(pairs) = reply else { panic!("{reply:?}") };
    pairs
        .into_iter()
        .map(|(k, v)| {
            let Frame::Bulk(name) = k else { panic!() };
            let Frame::Map(fields) = v else { panic!() };
            assert_eq!(fields[0].0, Frame::Bulk(b"calls".to_vec()));
            assert_eq!(fields[1].0, Frame::Bulk(b"histogram_usec".to_vec()));
            let Frame::Integer(calls) = fields[0].1 else { panic!() };
            (String::from_utf8(name).unwrap(), calls)
        })
        .collect()
}

#[test]
fn histograms_per_command() {
    let mut t = new();
    run(&mut t, &["config", "resetstat"]);
    assert_eq!(histogram_calls(&mut t, &[]), [("config|resetstat".to_string(), 1)]);
    run(&mut t, &["set", "a", "b"]);
    run(&mut t, &["set", "c", "d"]);
    run(&mut t, &["client", "id"]);
    run(&mut t, &["get", "a"]);
    let s = |n: &str, c: i64| (n.to_string(), c);
    assert_eq!(
        histogram_calls(&mut t, &["set", "blabla", "client", "get", "zadd"]),
        [s("set", 2), s("client|id", 1), s("get", 1)]
    );
    assert_eq!(histogram_calls(&mut t, &["CLIENT|ID"]), [s("client|id", 1)]);
    assert!(histogram_calls(&mut t, &["blabla"]).is_empty());
    let info = run_raw(&mut t, &["info", "latencystats"]);
    assert!(info.contains("# Latencystats\r\n"), "{info}");
    assert!(info.contains("latency_percentiles_usec_set:p50="), "{info}");
    assert!(info.contains(",p99=") && info.contains(",p99.9="), "{info}");
    assert_eq!(run(&mut t, &["config", "set", "latency-tracking-info-percentiles", "50 99.99"]), ok());
    let info = run_raw(&mut t, &["info", "latencystats"]);
    let line = info.lines().find(|l| l.starts_with("latency_percentiles_usec_get:")).unwrap();
    assert!(line.contains(":p50=") && line.contains(",p99.99=") && !line.contains("p99.9="), "{line}");
    // Off: nothing more is recorded, and INFO shows the bare section.
    assert_eq!(run(&mut t, &["config", "set", "latency-tracking", "no"]), ok());
    run(&mut t, &["get", "a"]);
    assert_eq!(histogram_calls(&mut t, &["get"]), [s("get", 1)]);
    let info = run_raw(&mut t, &["info", "latencystats"]);
    assert!(info.contains("# Latencystats") && !info.contains("latency_percentiles"), "{info}");
    run(&mut t, &["config", "resetstat"]);
    assert!(histogram_calls(&mut t, &[]).is_empty());
}

#[test]
fn help_and_arity() {
    let mut t = new();
    let Frame::Array(lines) = run(&mut t, &["latency", "help"]) else { panic!() };
    assert_eq!(lines.len(), 17);
    assert_eq!(
        run(&mut t, &["latency", "help", "xxx"]),
        err("ERR wrong number of arguments for 'latency|help' command")
    );
    assert_eq!(
        run(&mut t, &["latency", "history"]),
        err("ERR wrong number of arguments for 'latency|history' command")
    );
}
