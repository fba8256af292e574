use super::*;
use crate::commands::testutil::{err, int, new, ok, run, Frame, T};

/// SLOWLOG GET [count] as (id, duration, argv, peer, name) tuples, newest first.
fn entries(t: &mut T, count: Option<&str>) -> Vec<(i64, i64, Vec<String>, String, String)> {
    let mut args = vec!["slowlog", "get"];
    args.extend(count);
    let Frame::Array(items) = run(t, &args) else { panic!("not an array") };
    items
        .into_iter()
        .map(|e| {
            let Frame::Array(f) = e else { panic!("entry not an array") };
            assert_eq!(f.len(), 6);
            let num = |x: &Frame| match x {
                Frame::Integer(i) => *i,
                other => panic!("{other:?}"),
            };
            let text = |x: &Frame| match x {
                Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
                other => panic!("{other:?}"),
            };
            let Frame::Array(argv) = &f[3] else { panic!("argv") };
            assert!(num(&f[1]) > 1_600_000_000, "a Unix time in seconds");
            (num(&f[0]), num(&f[2]), argv.iter().map(text).collect(), text(&f[4]), text(&f[5]))
        })
        .collect()
}

fn argvs(t: &mut T) -> Vec<String> {
    entries(t, Some("-1")).into_iter().map(|e| e.2.join(" ")).collect()
}

fn log_everything(t: &mut T) {
    assert_eq!(run(t, &["config", "set", "slowlog-log-slower-than", "0"]), ok());
    assert_eq!(run(t, &["slowlog", "reset"]), ok());
}

#[test]
fn default_threshold_logs_only_slow_commands() {
    let mut t = new();
    assert_eq!(run(&mut t, &["slowlog", "len"]), int(0));
    assert_eq!(run(&mut t, &["config", "set", "slowlog-log-slower-than", "20000"]), ok());
    run(&mut t, &["ping"]);
    run(&mut t, &["debug", "sleep", "0"]);
    assert_eq!(run(&mut t, &["slowlog", "len"]), int(0));
    run(&mut t, &["debug", "sleep", "0.03"]);
    assert_eq!(run(&mut t, &["slowlog", "len"]), int(1));
    let e = entries(&mut t, None);
    assert!(e[0].1 >= 30_000, "duration {}", e[0].1);
    assert_eq!(e[0].2, ["debug", "sleep", "0.03"]);
    assert_eq!(e[0].3, "127.0.0.1:1");
    assert_eq!(e[0].4, "");
}

#[test]
fn every_command_at_zero_and_none_when_negative() {
    let mut t = new();
    log_everything(&mut t);
    run(&mut t, &["client", "setname", "foobar"]);
    run(&mut t, &["set", "k", "v"]);
    // The GET that reads the log is logged after it ran, so it does not see itself.
    assert_eq!(argvs(&mut t), ["set k v", "client setname foobar", "slowlog reset"]);
    let e = entries(&mut t, Some("1"));
    assert_eq!(e[0].4, "foobar");
    let ids: Vec<i64> = entries(&mut t, Some("-1")).iter().map(|e| e.0).collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1] + 1), "ids count down from the newest: {ids:?}");
    assert_eq!(run(&mut t, &["config", "set", "slowlog-log-slower-than", "-1"]), ok());
    assert_eq!(run(&mut t, &["slowlog", "reset"]), ok());
    run(&mut t, &["debug", "sleep", "0.01"]);
    assert_eq!(run(&mut t, &["slowlog", "len"]), int(0));
}

#[test]
fn ids_go_on_after_reset() {
    let mut t = new();
    log_everything(&mut t);
    let before = entries(&mut t, Some("1"))[0].0;
    assert_eq!(run(&mut t, &["slowlog", "reset"]), ok());
    let after = entries(&mut t, Some("1"))[0].0;
    assert!(after > before, "{after} > {before}");
}

#[test]
fn max_len_and_get_count() {
    let mut t = new();
    log_everything(&mut t);
    assert_eq!(run(&mut t, &["config", "set", "slowlog-max-len", "10"]), ok());
    for _ in 0..100 {
        run(&mut t, &["ping"]);
    }
    assert_eq!(run(&mut t, &["slowlog", "len"]), int(10));
    assert_eq!(entries(&mut t, Some("5")).len(), 5);
    assert_eq!(entries(&mut t, Some("0")).len(), 0);
    assert_eq!(entries(&mut t, Some("-1")).len(), 10);
    assert_eq!(entries(&mut t, Some("100")).len(), 10);
    assert_eq!(entries(&mut t, None).len(), 10);
    let count_err = err("ERR count should be greater than or equal to -1");
    assert_eq!(run(&mut t, &["slowlog", "get", "-2"]), count_err);
    assert_eq!(run(&mut t, &["slowlog", "get", "x"]), count_err);
    assert_eq!(
        run(&mut t, &["slowlog", "get", "1", "2"]),
        err("ERR unknown subcommand or wrong number of arguments for 'get'. Try SLOWLOG HELP.")
    );
    // A smaller max-len applies at the next entry.
    assert_eq!(run(&mut t, &["config", "set", "slowlog-max-len", "1"]), ok());
    run(&mut t, &["client", "setname", "last"]);
    let e = entries(&mut t, None);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].4, "last");
}

#[test]
fn long_commands_are_trimmed() {
    let mut t = new();
    log_everything(&mut t);
    let mut args = vec!["sadd".to_string(), "set".to_string()];
    args.extend((3..=33).map(|i| i.to_string()));
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    run(&mut t, &a);
    let e = entries(&mut t, Some("1"));
    assert_eq!(e[0].2.len(), 32);
    assert_eq!(e[0].2[30], "31");
    assert_eq!(e[0].2[31], "... (2 more arguments)");

    let long = "A".repeat(129);
    run(&mut t, &["sadd", "set", "foo", &long]);
    let e = entries(&mut t, Some("1"));
    assert_eq!(e[0].2[3], format!("{}... (1 more bytes)", "A".repeat(128)));
    let exact = "B".repeat(128);
    run(&mut t, &["sadd", "set", &exact]);
    assert_eq!(entries(&mut t, Some("1"))[0].2[2], exact);
}

#[test]
fn secrets_are_redacted() {
    let mut t = new();
    log_everything(&mut t);
    run(&mut t, &["auth", "secret"]);
    run(&mut t, &["auth", "user", "secret"]);
    run(&mut t, &["hello", "3", "auth", "default", "secret", "setname", "n"]);
    run(&mut t, &["hello", "2"]);
    run(&mut t, &["config", "set", "masterauth", "secret", "maxmemory-samples", "5"]);
    run(&mut t, &["config", "set", "requirepass", ""]);
    assert_eq!(
        argvs(&mut t)[..6],
        [
            "config set requirepass (redacted)",
            "config set masterauth (redacted) maxmemory-samples 5",
            "hello 2",
            "hello 3 auth (redacted) (redacted) setname n",
            "auth (redacted) (redacted)",
            "auth (redacted)",
        ]
    );
}

#[test]
fn redaction_follows_each_commands_parsing() {
    let r = |name: &str, args: &[&str]| {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        redacted_positions(name, &a)
    };
    assert_eq!(r("auth", &["auth", "a", "b", "c"]), Vec::<usize>::new(), "a syntax error redacts nothing");
    assert_eq!(r("hello", &["hello", "4", "auth", "u", "p"]), Vec::<usize>::new(), "NOPROTO first");
    assert_eq!(r("hello", &["hello", "3", "AUTH", "u"]), Vec::<usize>::new(), "AUTH needs two values");
    assert_eq!(r("hello", &["hello", "3", "setname", "n", "auth", "u", "p"]), [5, 6]);
    assert_eq!(r("acl|setuser", &["acl", "setuser", "u", "on", ">pw"]), [2, 3, 4]);
    assert_eq!(r("config|set", &["config", "set", "MASTERUSER", "x", "requirepass"]), Vec::<usize>::new());
    let m = ["migrate", "h", "1", "key", "9", "5000"];
    assert_eq!(r("migrate", &m), Vec::<usize>::new());
    let with = |tail: &[&'static str]| [&m[..], tail].concat();
    assert_eq!(r("migrate", &with(&["copy", "AUTH", "pw"])), [8]);
    assert_eq!(r("migrate", &with(&["auth2", "u", "pw", "replace"])), [7, 8]);
    assert_eq!(r("migrate", &with(&["keys", "auth", "pw"])), Vec::<usize>::new(), "keys after KEYS");
    assert_eq!(r("get", &["get", "auth"]), Vec::<usize>::new());
}

#[test]
fn exec_is_not_logged_but_its_commands_are() {
    let mut t = new();
    log_everything(&mut t);
    assert_eq!(run(&mut t, &["multi"]), ok());
    run(&mut t, &["set", "a", "1"]);
    run(&mut t, &["incr", "a"]);
    run(&mut t, &["exec"]);
    assert_eq!(argvs(&mut t), ["incr a", "set a 1", "multi", "slowlog reset"]);
}

#[test]
fn script_commands_are_logged_as_the_script_client() {
    let mut t = new();
    run(&mut t, &["client", "setname", "caller"]);
    log_everything(&mut t);
    run(&mut t, &["eval", "redis.call('set', KEYS[1], 'v') return 1", "1", "k"]);
    let e = entries(&mut t, Some("2"));
    assert_eq!(e[0].2, ["eval", "redis.call('set', KEYS[1], 'v') return 1", "1", "k"]);
    assert_eq!((e[0].3.as_str(), e[0].4.as_str()), ("127.0.0.1:1", "caller"));
    assert_eq!(e[1].2, ["set", "k", "v"]);
    assert_eq!((e[1].3.as_str(), e[1].4.as_str()), ("?:0", ""));
}

#[test]
fn refused_commands_are_not_logged() {
    let mut t = new();
    log_everything(&mut t);
    run(&mut t, &["get"]);
    run(&mut t, &["nosuchcommand"]);
    run(&mut t, &["incr", "a", "b"]);
    // A command that ran and failed is logged.
    run(&mut t, &["set", "s", "x"]);
    run(&mut t, &["incr", "s"]);
    assert_eq!(argvs(&mut t), ["incr s", "set s x", "slowlog reset"]);
}

#[test]
fn help_and_arity() {
    let mut t = new();
    let Frame::Array(lines) = run(&mut t, &["slowlog", "help"]) else { panic!() };
    assert_eq!(lines[0], Frame::Simple("SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:".into()));
    assert_eq!(lines.len(), 12);
    assert_eq!(run(&mut t, &["slowlog", "len", "x"]), err("ERR wrong number of arguments for 'slowlog|len' command"));
    assert_eq!(run(&mut t, &["slowlog", "foo"]), err("ERR unknown subcommand 'foo'. Try SLOWLOG HELP."));
}
