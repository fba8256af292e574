//! The tables clients and tools read, against redis-server 7.0 itself: COMMAND INFO and COMMAND DOCS (every
//! command's arity, flags, ACL categories, key specs and tips, and its docs: summary, group, complexity,
//! history, deprecation, the argument tree) and CONFIG GET * (every parameter and its default), but for the
//! order of commands, subcommands and parameters (redis-server lists them in its hash tables' order).
//! Skipped, saying why, when there is no redis-server 7.0 on PATH.

mod common;

use common::real_redis::real_redis_7_0;
use common::TestServer;
use redis::{cmd, Connection, Value};
use std::collections::BTreeMap;

fn connect(port: u16) -> Connection {
    redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap().get_connection().unwrap()
}

fn name_of(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        other => format!("{other:?}"),
    }
}

/// A COMMAND INFO entry with its subcommands (element 9) sorted by name.
fn info_entry(v: &Value) -> Value {
    let Value::Array(fields) = v else { return v.clone() };
    let mut fields = fields.clone();
    if let Some(Value::Array(subs)) = fields.get_mut(9) {
        let mut sorted: Vec<Value> = subs.iter().map(info_entry).collect();
        sorted.sort_by_key(|s| match s {
            Value::Array(f) => name_of(&f[0]),
            _ => String::new(),
        });
        *subs = sorted;
    }
    Value::Array(fields)
}

/// A COMMAND DOCS map (RESP2: name, value, ...) with its `subcommands` map sorted by name.
fn docs_entry(v: &Value) -> Value {
    let Value::Array(fields) = v else { return v.clone() };
    let mut out = fields.clone();
    for pair in out.chunks_mut(2) {
        if let [k, Value::Array(subs)] = pair {
            if name_of(k) == "subcommands" {
                let mut by_name: Vec<(Value, Value)> =
                    subs.chunks(2).map(|p| (p[0].clone(), docs_entry(&p[1]))).collect();
                by_name.sort_by_key(|(n, _)| name_of(n));
                *subs = by_name.into_iter().flat_map(|(n, d)| [n, d]).collect();
            }
        }
    }
    Value::Array(out)
}

/// Command name -> its normalized entry, from COMMAND INFO or COMMAND DOCS with no names.
fn table(con: &mut Connection, sub: &str) -> BTreeMap<String, String> {
    let reply: Value = cmd("COMMAND").arg(sub).query(con).unwrap();
    let Value::Array(items) = reply else { panic!("COMMAND {sub}: {reply:?}") };
    if sub == "INFO" {
        items
            .iter()
            .map(|e| (name_of(&info_entry(e).as_sequence().unwrap()[0]), format!("{:?}", info_entry(e))))
            .collect()
    } else {
        items.chunks(2).map(|p| (name_of(&p[0]), format!("{:?}", docs_entry(&p[1])))).collect()
    }
}

#[test]
fn command_info_and_docs_are_redis_7_0s() {
    let Some(real) = real_redis_7_0("command-table") else { return };
    let mut theirs = connect(real.port);
    let server = TestServer::start();
    let mut mine = server.conn();
    for sub in ["INFO", "DOCS"] {
        let (want, got) = (table(&mut theirs, sub), table(&mut mine, sub));
        assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>(), "COMMAND {sub}: the commands");
        let differ: Vec<String> = want
            .iter()
            .filter(|(name, entry)| got[*name] != **entry)
            .map(|(name, entry)| format!("{name}\n  redis-server: {entry}\n  ferrodis:     {}", got[name]))
            .collect();
        assert!(differ.is_empty(), "COMMAND {sub}: {} commands differ, the first:\n{}", differ.len(), differ[0]);
    }
}

/// CONFIG GET *: the same parameters with the same defaults, but for those that name this process (port,
/// dir, ...) or that the two test set-ups start differently.
#[test]
fn config_get_all_is_redis_7_0s() {
    let Some(real) = real_redis_7_0("config-table") else { return };
    let mut theirs = connect(real.port);
    let server = TestServer::start();
    let mut mine = server.conn();
    let all = |con: &mut Connection| -> BTreeMap<String, String> {
        let v: Vec<String> = cmd("CONFIG").arg("GET").arg("*").query(con).unwrap();
        v.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect()
    };
    let (want, got) = (all(&mut theirs), all(&mut mine));
    assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>(), "CONFIG GET *: the parameters");
    // Set per server by the test harnesses (real_redis's command line, TestServer's Config).
    let per_server = ["port", "dir", "bind", "save", "appendonly", "enable-debug-command", "repl-diskless-sync-delay"];
    let differ: Vec<String> = want
        .iter()
        .filter(|(k, v)| !per_server.contains(&k.as_str()) && got[*k] != **v)
        .map(|(k, v)| format!("{k}: redis-server {v:?}, ferrodis {:?}", got[k]))
        .collect();
    assert!(differ.is_empty(), "CONFIG GET * defaults differ:\n{}", differ.join("\n"));
}
