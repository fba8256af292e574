//! SORT and SORT_RO through the `redis` crate against an in-process server. Collections are created with
//! RESTORE of DUMP payloads so that these tests depend on SORT alone.

mod common;

use common::{err_text, TestServer};
use ferrodis::testing::{dump_value, restore_value, Encodings, Hash, List, Set, Value, ZSet};
use redis::{cmd, Connection};

fn restore(con: &mut Connection, key: &str, v: &Value) {
    let _: () = cmd("DEL").arg(key).query(con).unwrap();
    let _: () = cmd("RESTORE").arg(key).arg(0).arg(dump_value(v)).query(con).unwrap();
}

fn bytes(items: &[&str]) -> Vec<Vec<u8>> {
    items.iter().map(|s| s.as_bytes().to_vec()).collect()
}

fn list(con: &mut Connection, key: &str, items: &[&str]) {
    restore(con, key, &Value::List(List::from_items(bytes(items), &Encodings::default())));
}

fn set(con: &mut Connection, key: &str, items: &[&str]) {
    restore(con, key, &Value::Set(Set::from_members(bytes(items), &Encodings::default())));
}

fn zset(con: &mut Connection, key: &str, pairs: &[(&str, f64)]) {
    let pairs = pairs.iter().map(|(m, s)| (m.as_bytes().to_vec(), *s));
    restore(con, key, &Value::ZSet(ZSet::from_pairs(pairs, &Encodings::default())));
}

fn hash(con: &mut Connection, key: &str, pairs: &[(&str, &str)]) {
    let pairs = pairs.iter().map(|(f, v)| (f.as_bytes().to_vec(), v.as_bytes().to_vec()));
    restore(con, key, &Value::Hash(Hash::from_pairs(pairs, &Encodings::default())));
}

fn sort(con: &mut Connection, args: &[&str]) -> Vec<Option<String>> {
    cmd("SORT").arg(args).query(con).unwrap()
}

fn strs(v: &[&str]) -> Vec<Option<String>> {
    v.iter().map(|s| Some(s.to_string())).collect()
}

#[test]
fn sort_by_weights_get_and_store() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    list(&mut con, "tosort", &["0", "1", "2", "3", "4"]);
    let weights = ["30", "0.5", "-7", "1e3", "12"];
    for (i, w) in weights.iter().enumerate() {
        let _: () = cmd("SET").arg(format!("weight_{i}")).arg(*w).query(&mut con).unwrap();
        hash(&mut con, &format!("wobj_{i}"), &[("weight", w)]);
    }
    let by_weight = strs(&["2", "1", "4", "0", "3"]);
    assert_eq!(sort(&mut con, &["tosort", "BY", "weight_*"]), by_weight);
    assert_eq!(sort(&mut con, &["tosort", "BY", "wobj_*->weight"]), by_weight);
    assert_eq!(sort(&mut con, &["tosort", "BY", "weight_*", "LIMIT", "1", "2"]), strs(&["1", "4"]));
    assert_eq!(sort(&mut con, &["tosort", "DESC"]), strs(&["4", "3", "2", "1", "0"]));
    assert_eq!(
        sort(
            &mut con,
            &["tosort", "BY", "weight_*", "GET", "#", "GET", "wobj_*->weight", "GET", "nokey_*", "LIMIT", "0", "2"]
        ),
        vec![Some("2".into()), Some("-7".into()), None, Some("1".into()), Some("0.5".into()), None]
    );

    let n: i64 = cmd("SORT").arg(&["tosort", "BY", "weight_*", "STORE", "sort-res"]).query(&mut con).unwrap();
    assert_eq!(n, 5);
    let stored: Vec<String> = cmd("LRANGE").arg(&["sort-res", "0", "-1"]).query(&mut con).unwrap_or_else(|_| {
        // LRANGE may not be there yet: read the stored list back through DUMP instead.
        let payload: Vec<u8> = cmd("DUMP").arg("sort-res").query(&mut con).unwrap();
        match restore_value(&payload, &Encodings::default()).unwrap() {
            Value::List(l) => l.iter().map(|e| String::from_utf8_lossy(e).into_owned()).collect(),
            _ => panic!("not a list"),
        }
    });
    assert_eq!(stored, ["2", "1", "4", "0", "3"]);
    let t: String = cmd("TYPE").arg("sort-res").query(&mut con).unwrap();
    assert_eq!(t, "list");

    // An empty result deletes the destination.
    let n: i64 = cmd("SORT").arg(&["nosuchkey", "STORE", "sort-res"]).query(&mut con).unwrap();
    assert_eq!(n, 0);
    let e: i64 = cmd("EXISTS").arg("sort-res").query(&mut con).unwrap();
    assert_eq!(e, 0);
}

#[test]
fn errors_and_sort_ro() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    set(&mut con, "myset", &["1", "2", "3", "not-a-double"]);
    let e = cmd("SORT").arg("myset").query::<Vec<String>>(&mut con).unwrap_err();
    assert_eq!(err_text(e), "ERR One or more scores can't be converted into double");
    assert_eq!(sort(&mut con, &["myset", "ALPHA"]), strs(&["1", "2", "3", "not-a-double"]));
    let _: () = cmd("SET").arg("str").arg("x").query(&mut con).unwrap();
    let e = cmd("SORT").arg("str").query::<Vec<String>>(&mut con).unwrap_err();
    assert_eq!(err_text(e), "WRONGTYPE Operation against a key holding the wrong kind of value");
    let e = cmd("SORT_RO").arg(&["myset", "STORE", "x"]).query::<Vec<String>>(&mut con).unwrap_err();
    assert_eq!(err_text(e), "ERR syntax error");
    let e = cmd("SORT").arg(&["myset", "LIMIT", "0", "x"]).query::<Vec<String>>(&mut con).unwrap_err();
    assert_eq!(err_text(e), "ERR value is not an integer or out of range");
    let v: Vec<String> = cmd("SORT_RO").arg(&["myset", "ALPHA", "DESC", "LIMIT", "0", "2"]).query(&mut con).unwrap();
    assert_eq!(v, ["not-a-double", "3"]);

    let keys: Vec<String> =
        cmd("COMMAND").arg(&["GETKEYS", "SORT", "abc", "STORE", "invalid", "STORE", "def"]).query(&mut con).unwrap();
    assert_eq!(keys, ["abc", "def"]);
    let keys: Vec<String> = cmd("COMMAND").arg(&["GETKEYS", "SORT_RO", "abc"]).query(&mut con).unwrap();
    assert_eq!(keys, ["abc"]);
}

#[test]
fn nosort_orders_in_a_transaction() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    zset(&mut con, "zset", &[("a", 1.0), ("b", 5.0), ("c", 2.0), ("d", 10.0), ("e", 3.0)]);
    list(&mut con, "testa", &["5", "3", "4", "1", "2"]);
    let (asc, desc, lim, l): (Vec<String>, Vec<String>, Vec<String>, Vec<String>) = redis::pipe()
        .atomic()
        .cmd("SORT")
        .arg(&["zset", "BY", "nosort", "ASC"])
        .cmd("SORT")
        .arg(&["zset", "BY", "nosort", "DESC"])
        .cmd("SORT")
        .arg(&["zset", "BY", "nosort", "DESC", "LIMIT", "1", "2"])
        .cmd("SORT")
        .arg(&["testa", "BY", "nosort"])
        .query(&mut con)
        .unwrap();
    assert_eq!(asc, ["a", "c", "e", "b", "d"]);
    assert_eq!(desc, ["d", "b", "e", "c", "a"]);
    assert_eq!(lim, ["b", "e"]);
    assert_eq!(l, ["5", "3", "4", "1", "2"]);
    // A set BY a constant with STORE is still sorted (ALPHA).
    set(&mut con, "myset", &["b", "aa", "a", "c"]);
    let n: i64 = cmd("SORT").arg(&["myset", "BY", "_", "STORE", "out"]).query(&mut con).unwrap();
    assert_eq!(n, 4);
    let v = sort(&mut con, &["out", "BY", "nosort"]);
    assert_eq!(v, strs(&["a", "aa", "b", "c"]));
}

#[test]
fn store_fails_watchers() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    let mut other = srv.conn();
    list(&mut con, "src", &["2", "1"]);
    let _: () = cmd("WATCH").arg("dst").query(&mut con).unwrap();
    let n: i64 = cmd("SORT").arg(&["src", "STORE", "dst"]).query(&mut other).unwrap();
    assert_eq!(n, 2);
    let r: Option<Vec<String>> = redis::pipe().atomic().cmd("PING").query(&mut con).unwrap();
    assert_eq!(r, None);
    // SORT_RO does not touch anything.
    let _: () = cmd("WATCH").arg("src").query(&mut con).unwrap();
    let _: Vec<String> = cmd("SORT_RO").arg("src").query(&mut other).unwrap();
    let r: Option<Vec<String>> = redis::pipe().atomic().cmd("PING").query(&mut con).unwrap();
    assert_eq!(r, Some(vec!["PONG".to_string()]));
}
