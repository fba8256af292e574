//! Loading a redis.conf the way redis-server 7.0 does: a file with an include, memory units and
//! quoting, then `--name value` arguments on top; and the fatal error for a bad line.

use ferrodis::{Config, SetError};
use std::fs;
use std::path::PathBuf;

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ferrodis-config-file-{}-{tag}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create temp dir");
    fs::canonicalize(dir).expect("canonical temp dir")
}

fn args(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn loads_file_include_units_quotes_and_args() {
    let dir = temp_dir("load");
    fs::write(dir.join("extra.conf"), "hz 25\nmaxmemory-policy ALLKEYS-LRU\nsave 900 1\n").unwrap();
    let conf = dir.join("redis.conf");
    fs::write(
        &conf,
        format!(
            "# ferrodis test config\n\
             port 7000\n\
             dir \"{}\"\n\
             include extra.conf\n\
             maxmemory 100mb\n\
             proto-max-bulk-len 1g\n\
             client-query-buffer-limit 2GB\n\
             requirepass \"p@ss word\\x21\"\n\
             dbfilename 'my dump.rdb'\n\
             bind 127.0.0.1 ::1\n\
             hash-max-ziplist-entries 64\n\
             slave-read-only no\n\
             appendonly yes\n\
             \n",
            dir.display()
        ),
    )
    .unwrap();

    let cfg = Config::from_args(&args(&[conf.to_str().unwrap(), "--port", "7001", "--save", ""])).unwrap();
    assert_eq!(cfg.config_file.as_deref(), conf.to_str());
    assert_eq!(cfg.port, 7001, "arguments come after the file and win");
    assert_eq!(cfg.dir, dir.to_string_lossy());
    assert_eq!(cfg.hz, 25);
    assert_eq!(cfg.maxmemory_policy, "allkeys-lru");
    assert_eq!(cfg.maxmemory, 100 * 1024 * 1024);
    assert_eq!(cfg.proto_max_bulk_len, 1_000_000_000);
    assert_eq!(cfg.client_query_buffer_limit, 2 << 30);
    assert_eq!(cfg.requirepass, "p@ss word!");
    assert_eq!(cfg.dbfilename, "my dump.rdb");
    assert_eq!(cfg.bind, args(&["127.0.0.1", "::1"]));
    assert_eq!(cfg.hash_max_listpack_entries, 64);
    assert!(cfg.appendonly);
    assert!(cfg.save.is_empty(), "--save '' clears the save points");
    assert_eq!(cfg.get("replica-read-only").as_deref(), Some("no"));
    assert_eq!(cfg.get("maxmemory").as_deref(), Some("104857600"));
    assert_eq!(cfg.get("save").as_deref(), Some(""));

    // CONFIG SET / GET on the loaded config.
    let mut cfg = cfg;
    cfg.set("maxmemory", "1gb").unwrap();
    assert_eq!(cfg.get("maxmemory").as_deref(), Some("1073741824"));
    assert_eq!(cfg.set("port", "x"), Err(SetError::Bad("argument couldn't be parsed into an integer".into())));
    assert_eq!(cfg.set("no-such-option", "1"), Err(SetError::Unknown));

    // CONFIG REWRITE keeps the comment and the include, and reloads to the same values.
    cfg.rewrite().unwrap();
    let text = fs::read_to_string(&conf).unwrap();
    assert!(text.starts_with("# ferrodis test config\nport 7001\n"), "{text}");
    assert!(text.contains("include extra.conf\n") && text.contains("maxmemory 1gb\n"), "{text}");
    let again = Config::from_args(&args(&[conf.to_str().unwrap()])).unwrap();
    for name in ["port", "maxmemory", "requirepass", "dbfilename", "bind", "save", "hz"] {
        assert_eq!(again.get(name), cfg.get(name), "{name}");
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unknown_option_is_a_fatal_error_with_its_line() {
    let dir = temp_dir("error");
    let conf = dir.join("bad.conf");
    fs::write(&conf, "# comment\nport 7000\nno-such-option yes\n").unwrap();
    let err = Config::from_args(&args(&[conf.to_str().unwrap()])).unwrap_err();
    let shown = err.to_string();
    assert_eq!(err.line, 3);
    assert!(shown.contains("FATAL CONFIG FILE ERROR"), "{shown}");
    assert!(shown.contains("at line 3"), "{shown}");
    assert!(shown.contains(">>> 'no-such-option yes'"), "{shown}");
    assert!(shown.contains("Bad directive or wrong number of arguments"), "{shown}");
    fs::remove_dir_all(&dir).unwrap();
}
