//! ACL through the `redis` crate: users and AUTH, NOPERM for commands, keys and channels, selectors, the
//! ACL log, an ACL file saved and loaded back, `user` lines of the configuration and `requirepass`.

mod common;

use common::{fails, q, wait_for, TestServer};
use redis::Value;
use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

fn ok(con: &mut redis::Connection, args: &[&str]) {
    let r: String = q(con, args);
    assert_eq!(r, "OK", "{args:?}");
}

/// ACL GETUSER as a map of field -> value.
fn getuser(con: &mut redis::Connection, user: &str) -> HashMap<String, Value> {
    q(con, &["acl", "getuser", user])
}

fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        other => panic!("not a bulk string: {other:?}"),
    }
}

#[test]
fn users_authenticate_and_are_refused_what_they_may_not_do() {
    let srv = TestServer::start();
    let mut admin = srv.conn();
    let mut c = srv.conn();
    let who: String = q(&mut c, &["acl", "whoami"]);
    assert_eq!(who, "default");
    ok(&mut admin, &["acl", "setuser", "newuser", ">passwd1"]);
    // New users start disabled.
    assert!(fails(&mut c, &["auth", "newuser", "passwd1"]).contains("WRONGPASS"));
    ok(&mut admin, &["acl", "setuser", "newuser", "on", "+acl"]);
    ok(&mut c, &["auth", "newuser", "passwd1"]);
    let who: String = q(&mut c, &["acl", "whoami"]);
    assert_eq!(who, "newuser");
    let e = fails(&mut c, &["set", "foo", "bar"]);
    assert!(e.contains("NOPERM") && e.contains("'set' command"), "{e}");
    ok(&mut admin, &["acl", "setuser", "newuser", "allcommands", "~foo:*"]);
    ok(&mut c, &["set", "foo:1", "a"]);
    let e = fails(&mut c, &["set", "zap:1", "a"]);
    assert!(e.contains("NOPERM") && e.contains("keys"), "{e}");
    let e = fails(&mut c, &["publish", "ch", "m"]);
    assert!(e.contains("NOPERM") && e.contains("channels"), "{e}");
    ok(&mut admin, &["acl", "setuser", "newuser", "&ch*"]);
    let n: i64 = q(&mut c, &["publish", "ch1", "m"]);
    assert_eq!(n, 0);
    // CLIENT LIST shows the user; CLIENT KILL USER closes its clients.
    let list: String = q(&mut admin, &["client", "list"]);
    assert!(list.contains("user=newuser"), "{list}");
    let killed: i64 = q(&mut admin, &["client", "kill", "user", "newuser"]);
    assert_eq!(killed, 1);
    wait_for("the killed client to be gone", Duration::from_secs(5), || {
        let list: String = q(&mut admin, &["client", "list"]);
        !list.contains("user=newuser")
    });
}

#[test]
fn deleting_a_user_closes_its_connections() {
    let srv = TestServer::start();
    let mut admin = srv.conn();
    ok(&mut admin, &["acl", "setuser", "using", "on", "+acl", ">passwd"]);
    let mut c = srv.conn();
    ok(&mut c, &["auth", "using", "passwd"]);
    // The client gets its reply, then the connection closes.
    let n: i64 = q(&mut c, &["acl", "deluser", "using"]);
    assert_eq!(n, 1);
    assert!(redis::cmd("ping").query::<String>(&mut c).is_err());
    let pong: String = q(&mut admin, &["ping"]);
    assert_eq!(pong, "PONG");
}

#[test]
fn selectors_and_read_write_key_permissions() {
    let srv = TestServer::start();
    let mut admin = srv.conn();
    let mut c = srv.conn();
    ok(&mut admin, &["acl", "setuser", "sel", "on", "nopass", "-@all", "(+@write ~write::*)", "(+@read ~read::*)"]);
    ok(&mut c, &["auth", "sel", "x"]);
    assert!(fails(&mut c, &["ping"]).contains("NOPERM"));
    ok(&mut c, &["set", "write::foo", "bar"]);
    let v: Option<String> = q(&mut c, &["get", "read::foo"]);
    assert_eq!(v, None);
    assert!(fails(&mut c, &["get", "write::foo"]).contains("keys"));
    let user = getuser(&mut admin, "sel");
    let Value::Array(sels) = &user["selectors"] else { panic!("{user:?}") };
    assert_eq!(sels.len(), 2);
    ok(&mut admin, &["acl", "setuser", "rw", "on", "nopass", "%R~read*", "%W~write*", "+@all"]);
    ok(&mut c, &["auth", "rw", "x"]);
    ok(&mut admin, &["set", "read", "v"]);
    let copied: i64 = q(&mut c, &["copy", "read", "write"]);
    assert_eq!(copied, 1);
    assert!(fails(&mut c, &["copy", "write", "read"]).contains("NOPERM"));
    assert_eq!(text(&getuser(&mut admin, "rw")["keys"]), "%R~read* %W~write*");
    let dry: String = q(&mut admin, &["acl", "dryrun", "rw", "get", "write"]);
    assert_eq!(dry, "This user has no permissions to access the 'write' key");
}

#[test]
fn subscribers_are_checked_and_closed_when_their_channels_are_revoked() {
    let srv = TestServer::start();
    let mut admin = srv.conn();
    ok(&mut admin, &["acl", "setuser", "ps", "on", "nopass", "+@all", "resetchannels", "&foo:*"]);
    let mut c = srv.conn();
    ok(&mut c, &["auth", "ps", "x"]);
    assert!(fails(&mut c, &["subscribe", "bar"]).contains("NOPERM"));
    // A subscriber that keeps its subscription (the redis crate's PubSub unsubscribes when dropped).
    let mut sub = srv.raw();
    sub.write_all(b"AUTH ps x\r\nCLIENT SETNAME deathrow\r\nSUBSCRIBE foo:1\r\n").unwrap();
    common::read_until(&mut sub, b"foo:1\r\n:1\r\n");
    // Channels it keeps do not close it.
    ok(&mut admin, &["acl", "setuser", "ps", "&other"]);
    let list: String = q(&mut admin, &["client", "list"]);
    assert!(list.contains("name=deathrow"), "{list}");
    ok(&mut admin, &["acl", "setuser", "ps", "resetchannels"]);
    wait_for("the subscriber to be closed", Duration::from_secs(5), || {
        let list: String = q(&mut admin, &["client", "list"]);
        !list.contains("deathrow")
    });
}

#[test]
fn the_acl_log_records_refusals_and_failed_auth() {
    let srv = TestServer::start();
    let mut admin = srv.conn();
    ok(&mut admin, &["acl", "setuser", "antirez", ">foo", "on", "+set", "~object:1234", "+multi", "+exec"]);
    let mut c = srv.conn();
    ok(&mut c, &["auth", "antirez", "foo"]);
    for _ in 0..3 {
        assert!(fails(&mut c, &["get", "foo"]).contains("NOPERM"));
    }
    assert!(fails(&mut c, &["set", "somekey", "1"]).contains("NOPERM"));
    assert!(fails(&mut c, &["auth", "antirez", "wrong"]).contains("WRONGPASS"));
    let log: Vec<HashMap<String, Value>> = q(&mut admin, &["acl", "log"]);
    assert_eq!(log.len(), 3, "{log:?}");
    assert_eq!(text(&log[0]["reason"]), "auth");
    assert_eq!(text(&log[0]["object"]), "auth");
    assert_eq!(text(&log[1]["reason"]), "key");
    assert_eq!(text(&log[1]["object"]), "somekey");
    assert_eq!(text(&log[2]["object"]), "get");
    assert_eq!(text(&log[2]["context"]), "toplevel");
    assert_eq!(log[2]["count"], Value::Int(3));
    assert!(text(&log[2]["client-info"]).contains("user=antirez"));
    ok(&mut admin, &["config", "set", "acllog-max-len", "2"]);
    assert!(fails(&mut c, &["set", "other", "1"]).contains("NOPERM"));
    let log: Vec<Value> = q(&mut admin, &["acl", "log"]);
    assert_eq!(log.len(), 2);
    ok(&mut admin, &["acl", "log", "reset"]);
    let log: Vec<Value> = q(&mut admin, &["acl", "log"]);
    assert!(log.is_empty());
}

#[test]
fn an_acl_file_is_saved_and_loaded_back() {
    let dir = common::test_dir().join(format!("acl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("users.acl");
    std::fs::write(&file, "user alice on allcommands allkeys &* >alice\nuser bob on -@all +@set +acl ~set* &* >bob\n")
        .unwrap();
    let path = file.to_string_lossy().into_owned();
    let srv = TestServer::with_config(|c| c.load_str(&format!("aclfile {path}"), None).unwrap());
    let mut c = srv.conn();
    ok(&mut c, &["auth", "bob", "bob"]);
    let n: i64 = q(&mut c, &["sadd", "set", "1", "2"]);
    assert_eq!(n, 2);
    assert!(fails(&mut c, &["set", "key", "v"]).contains("NOPERM"));
    ok(&mut c, &["acl", "setuser", "eve", "+get", "allkeys", ">eve", "on"]);
    ok(&mut c, &["acl", "save"]);
    let saved = std::fs::read_to_string(&file).unwrap();
    assert!(saved.contains("user eve on #") && saved.contains("user default on nopass ~* &* +@all\n"), "{saved}");
    // ACL LOAD closes the connections of the users it replaces, this one too (after its reply).
    ok(&mut c, &["acl", "load"]);
    assert!(redis::cmd("acl").arg("list").query::<Value>(&mut c).is_err());
    let mut c = srv.conn();
    ok(&mut c, &["auth", "eve", "eve"]);
    assert!(fails(&mut c, &["set", "key", "v"]).contains("NOPERM"));
    // A broken file changes nothing.
    std::fs::write(&file, "user alice on nopass\nuser alice on nopass\n").unwrap();
    let mut admin = srv.conn();
    let e = fails(&mut admin, &["acl", "load"]);
    assert!(e.contains("Duplicate user 'alice' found"), "{e}");
    let v: Option<String> = q(&mut c, &["get", "key"]);
    assert_eq!(v, None, "eve's connection and rules are as they were");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn user_lines_of_the_configuration_and_requirepass() {
    let srv = TestServer::with_config(|c| {
        c.load_str("user default on nopass ~* +@all -flushdb\nuser ro on >pw ~* &* -@all +get\n", None).unwrap()
    });
    let mut c = srv.conn();
    let e = fails(&mut c, &["flushdb"]);
    assert!(e.starts_with("NOPERM"), "{e}");
    // Without &* the default user has no channels.
    assert!(fails(&mut c, &["publish", "x", "y"]).contains("NOPERM"));
    ok(&mut c, &["auth", "ro", "pw"]);
    assert!(fails(&mut c, &["set", "k", "v"]).contains("NOPERM"));

    let srv = TestServer::with_config(|c| c.requirepass = "secret".into());
    let mut c = srv.conn();
    assert!(fails(&mut c, &["ping"]).starts_with("NOAUTH"));
    assert!(fails(&mut c, &["auth", "wrong"]).starts_with("WRONGPASS"));
    ok(&mut c, &["auth", "secret"]);
    ok(&mut c, &["config", "set", "requirepass", "other"]);
    let mut c2 = srv.conn();
    ok(&mut c2, &["auth", "default", "other"]);
    let hello: HashMap<String, Value> = q(&mut c2, &["hello", "2", "auth", "default", "other"]);
    assert_eq!(hello["proto"], Value::Int(2));
}

#[test]
fn a_user_declared_twice_in_the_configuration_is_refused() {
    let mut cfg = ferrodis::Config::default();
    let e = cfg.load_str("user foo on\nuser foo off\n", None).unwrap_err();
    assert!(e.to_string().contains("Duplicate user"), "{e}");
}

#[test]
fn config_rewrite_writes_the_users() {
    let dir = common::test_dir().join(format!("acl-rewrite-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("redis.conf");
    std::fs::write(&file, "user default on nopass ~* +@all -flushdb\n").unwrap();
    let path = file.to_string_lossy().into_owned();
    let srv = TestServer::with_config(|c| {
        c.load_str("user default on nopass ~* +@all -flushdb", None).unwrap();
        c.config_file = Some(path.clone());
    });
    let mut c = srv.conn();
    ok(&mut c, &["acl", "setuser", "bob", "on", ">pw", "+get", "~k*"]);
    ok(&mut c, &["config", "rewrite"]);
    let text = std::fs::read_to_string(&file).unwrap();
    // Users in name order take the places of the file's `user` lines, as Redis rewrites them; a `user default`
    // line started from `reset`, hence sanitize-payload.
    assert!(text.contains("\nuser default on nopass sanitize-payload ~* resetchannels +@all -flushdb\n"), "{text}");
    // 30c9...70c4 is SHA-256("pw").
    let bob =
        "user bob on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~k* resetchannels -@all +get\n";
    assert!(text.contains(bob), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// ACL SAVE and LOAD do their file work off the Keyspace's thread and answer in pipeline order: with the
/// Snapshotter (persistence available) or without it, inside MULTI too, and with Redis's error when the
/// file cannot be written.
#[test]
fn acl_file_work_keeps_pipeline_order_and_redis_errors() {
    for persistence in ["yes", "no"] {
        let dir = common::test_dir().join(format!("acl-io-{}-{persistence}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("users.acl").to_string_lossy().into_owned();
        std::fs::write(&path, "user default on nopass ~* &* +@all\n").unwrap();
        let conf = format!("aclfile {path}\npersistence-available {persistence}");
        let srv = TestServer::with_config(|c| c.load_str(&conf, None).unwrap());
        let mut c = srv.conn();
        ok(&mut c, &["acl", "setuser", "carol", "on", ">pw", "+get", "~*"]);
        let replies: Vec<Value> = redis::pipe()
            .cmd("ACL")
            .arg("SAVE")
            .cmd("ECHO")
            .arg("between")
            .cmd("ACL")
            .arg("LOAD")
            .cmd("ACL")
            .arg("USERS")
            .query(&mut c)
            .unwrap();
        let shown: Vec<String> = replies.iter().map(show).collect();
        assert_eq!(shown, ["OK", "between", "OK", "carol default"], "persistence-available {persistence}");
        assert!(std::fs::read_to_string(&path).unwrap().contains("user carol on #"));
        // In a transaction the reply takes its place in EXEC's array.
        let replies: Vec<Value> =
            redis::pipe().atomic().cmd("ACL").arg("SAVE").cmd("ACL").arg("LOAD").query(&mut c).unwrap();
        assert_eq!(replies.iter().map(show).collect::<Vec<_>>(), ["OK", "OK"]);
        // A file that cannot be written: Redis's text, counted as a failed call.
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            fails(&mut c, &["acl", "save"]),
            "ERR There was an error trying to save the ACLs. Please check the server logs for more information"
        );
        assert_eq!(
            fails(&mut c, &["acl", "load"]),
            format!("ERR Error loading ACLs, opening file '{path}': No such file or directory")
        );
        let stats: String = q(&mut c, &["info", "commandstats"]);
        assert!(stats.contains("cmdstat_acl|save:calls=3,") && stats.contains(",failed_calls=1\r"), "{stats}");
    }
}

/// A reply as text: status and bulk strings as they are, arrays joined by spaces.
fn show(v: &Value) -> String {
    match v {
        Value::Okay => "OK".into(),
        Value::SimpleString(s) => s.clone(),
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Array(items) => items.iter().map(show).collect::<Vec<_>>().join(" "),
        other => format!("{other:?}"),
    }
}

#[test]
fn genpass_draws_fresh_hex_digits() {
    let srv = TestServer::start();
    let mut c = srv.conn();
    let a: String = q(&mut c, &["acl", "genpass"]);
    let b: String = q(&mut c, &["acl", "genpass"]);
    assert_eq!(a.len(), 64);
    assert!(a.bytes().all(|x| x.is_ascii_hexdigit() && !x.is_ascii_uppercase()), "{a}");
    assert_ne!(a, b);
    let short: String = q(&mut c, &["acl", "genpass", "5"]);
    assert_eq!(short.len(), 2);
}
