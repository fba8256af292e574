//! Unit tests of the ACL commands and hooks (acl.rs), through the command table.

use crate::commands::testutil::{arr, bulk, err, int, new, ok, run, run_raw, T};

/// Authenticate the test client as `user` (AUTH user x; the user is nopass).
fn login(t: &mut T, user: &str) {
    assert_eq!(run(t, &["auth", user, "x"]), ok());
}

#[test]
fn setuser_getuser_list_users_deluser() {
    let mut t = new();
    assert_eq!(run(&mut t, &["acl", "whoami"]), bulk("default"));
    assert_eq!(run(&mut t, &["acl", "setuser", "a a"]), err("ERR Usernames can't contain spaces or null characters"));
    assert_eq!(run(&mut t, &["acl", "setuser", "newuser"]), ok());
    assert_eq!(run(&mut t, &["acl", "users"]), arr(vec![bulk("default"), bulk("newuser")]));
    assert_eq!(
        run(&mut t, &["acl", "list"]),
        arr(vec![bulk("user default on nopass ~* &* +@all"), bulk("user newuser off resetchannels -@all")])
    );
    assert_eq!(
        run(&mut t, &["acl", "setuser", "newuser", "#abc"]),
        err("ERR Error in ACL SETUSER modifier '#abc': The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters")
    );
    assert_eq!(
        run(&mut t, &["acl", "setuser", "x", "(", "~a"]),
        err("ERR Unmatched parenthesis in acl selector starting at '('.")
    );
    // A failed SETUSER changes nothing, and creates no user.
    assert_eq!(run(&mut t, &["acl", "getuser", "x"]), crate::commands::testutil::Frame::Null);
    run(&mut t, &["acl", "setuser", "newuser", "on", ">p1", "~k*", "(+get ~r*)"]);
    let r = run_raw(&mut t, &["acl", "getuser", "newuser"]);
    let h = super::acl_rules::hash_password(b"p1");
    let want = format!(
        "*12\r\n$5\r\nflags\r\n*1\r\n$2\r\non\r\n$9\r\npasswords\r\n*1\r\n$64\r\n{h}\r\n$8\r\ncommands\r\n$5\r\n-@all\r\n$4\r\nkeys\r\n$3\r\n~k*\r\n$8\r\nchannels\r\n$0\r\n\r\n$9\r\nselectors\r\n*1\r\n*6\r\n$8\r\ncommands\r\n$10\r\n-@all +get\r\n$4\r\nkeys\r\n$3\r\n~r*\r\n$8\r\nchannels\r\n$0\r\n\r\n"
    );
    assert_eq!(r, want);
    assert_eq!(run(&mut t, &["acl", "deluser", "default"]), err("ERR The 'default' user cannot be removed"));
    assert_eq!(run(&mut t, &["acl", "deluser", "newuser", "nosuch"]), int(1));
}

#[test]
fn auth_permissions_and_the_log() {
    let mut t = new();
    t.s.clients[t.me].local = false;
    run(&mut t, &["acl", "setuser", "u", "on", "nopass", "+acl", "+set", "+multi", "+exec", "~obj:*", "+publish"]);
    login(&mut t, "u");
    assert_eq!(run(&mut t, &["acl", "whoami"]), bulk("u"));
    assert_eq!(run(&mut t, &["get", "x"]), err("NOPERM this user has no permissions to run the 'get' command"));
    assert_eq!(
        run(&mut t, &["set", "x", "1"]),
        err("NOPERM this user has no permissions to access one of the keys used as arguments")
    );
    assert_eq!(run(&mut t, &["set", "obj:1", "1"]), ok());
    assert_eq!(
        run(&mut t, &["publish", "ch", "m"]),
        err("NOPERM this user has no permissions to access one of the channels used as arguments")
    );
    // Three alike refusals are one entry counted three times.
    run(&mut t, &["get", "x"]);
    run(&mut t, &["get", "x"]);
    let log = run_raw(&mut t, &["acl", "log", "1"]);
    assert!(log.starts_with("*1\r\n*14\r\n$5\r\ncount\r\n:3\r\n$6\r\nreason\r\n$7\r\ncommand\r\n$7\r\ncontext\r\n$8\r\ntoplevel\r\n$6\r\nobject\r\n$3\r\nget\r\n$8\r\nusername\r\n$1\r\nu\r\n$11\r\nage-seconds\r\n"), "{log}");
    assert!(log.contains("client-info\r\n") && log.contains(" user=u "), "{log}");
    let log = run_raw(&mut t, &["acl", "log"]);
    assert!(log.starts_with("*3\r\n"), "{log}");
    assert!(log.contains("$3\r\nkey\r\n") && log.contains("$7\r\nchannel\r\n") && log.contains("$2\r\nch\r\n"));
    // MULTI: refused when queued, logged with context multi.
    assert_eq!(run(&mut t, &["multi"]), ok());
    assert_eq!(run(&mut t, &["incr", "obj:1"]), err("NOPERM this user has no permissions to run the 'incr' command"));
    assert!(run_raw(&mut t, &["exec"]).starts_with("-EXECABORT"));
    assert!(run_raw(&mut t, &["acl", "log", "1"]).contains("$5\r\nmulti\r\n$6\r\nobject\r\n$4\r\nincr\r\n"));
    // Rules that changed between queueing and EXEC.
    run(&mut t, &["multi"]);
    assert_eq!(run_raw(&mut t, &["set", "obj:2", "v"]), "+QUEUED\r\n");
    let me = t.me;
    let other = t.s.add_client("127.0.0.1:2".into(), "127.0.0.1:6379".into());
    t.me = other;
    assert_eq!(run(&mut t, &["acl", "setuser", "u", "-set"]), ok());
    t.me = me;
    assert_eq!(
        run_raw(&mut t, &["exec"]),
        "*1\r\n-NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: no permission to execute the command or subcommand\r\n"
    );
    // A failed AUTH is logged with the user name tried.
    assert_eq!(
        run(&mut t, &["auth", "nosuch", "pw"]),
        err("WRONGPASS invalid username-password pair or user is disabled.")
    );
    let log = run_raw(&mut t, &["acl", "log", "1"]);
    assert!(
        log.contains("$6\r\nreason\r\n$4\r\nauth\r\n")
            && log.contains("$4\r\nauth\r\n$8\r\nusername\r\n$6\r\nnosuch\r\n"),
        "{log}"
    );
    assert_eq!(run(&mut t, &["acl", "log", "reset"]), ok());
    assert_eq!(run(&mut t, &["acl", "log"]), arr(vec![]));
}

#[test]
fn scripts_are_checked_per_call() {
    let mut t = new();
    run(&mut t, &["acl", "setuser", "u", "on", "nopass", "+eval", "+acl", "~*"]);
    login(&mut t, "u");
    let r = run_raw(&mut t, &["eval", "return redis.call('incr','foo')", "0"]);
    assert!(r.starts_with("-ERR The user executing the script can't run this command or subcommand"), "{r}");
    assert!(run_raw(&mut t, &["acl", "log", "1"]).contains("$3\r\nlua\r\n$6\r\nobject\r\n$4\r\nincr\r\n"));
    assert_eq!(
        run(&mut t, &["eval", "return {redis.acl_check_cmd('get','x'), redis.acl_check_cmd('eval','', '0')}", "0"]),
        arr(vec![crate::commands::testutil::Frame::Null, int(1)])
    );
    // Redis's text, once: the error table gets its ERR code from the bridge.
    assert_eq!(
        run_raw(&mut t, &["eval", "return redis.acl_check_cmd('nosuch')", "0"]),
        "-ERR Invalid command passed to redis.acl_check_cmd() script: d2491587bab5149c93be0dce4426f7a06ba9e1a1, \
         on @user_script:1.\r\n"
    );
}

#[test]
fn default_user_password_and_auth_required() {
    let mut t = new();
    assert!(run_raw(&mut t, &["auth", "x"]).starts_with("-ERR AUTH <password> called without"));
    assert_eq!(run(&mut t, &["auth", "default", "anything"]), ok());
    assert_eq!(run(&mut t, &["config", "set", "requirepass", "pw"]), ok());
    assert_eq!(
        run(&mut t, &["acl", "list"]),
        arr(vec![bulk(format!("user default on #{} ~* &* +@all", super::acl_rules::hash_password(b"pw")))])
    );
    let c = t.s.add_client("127.0.0.1:3".into(), "127.0.0.1:6379".into());
    assert!(!t.s.clients[c].authenticated);
    t.me = c;
    assert_eq!(run(&mut t, &["ping"]), err("NOAUTH Authentication required."));
    assert_eq!(run(&mut t, &["auth", "pw"]), ok());
    assert_eq!(run(&mut t, &["config", "set", "requirepass", ""]), ok());
    assert!(run_raw(&mut t, &["acl", "list"]).contains("user default on nopass ~* &* +@all"));
    // The default user turned off: new connections are not authenticated.
    run(&mut t, &["acl", "setuser", "default", "off"]);
    let c = t.s.add_client("127.0.0.1:4".into(), "127.0.0.1:6379".into());
    t.me = c;
    assert_eq!(run(&mut t, &["ping"]), err("NOAUTH Authentication required."));
}

#[test]
fn deluser_closes_its_clients_and_client_kill_user() {
    let mut t = new();
    run(&mut t, &["acl", "setuser", "u", "on", "nopass", "+@all", "~*"]);
    let other = t.s.add_client("127.0.0.1:5".into(), "127.0.0.1:6379".into());
    let me = t.me;
    t.me = other;
    login(&mut t, "u");
    t.me = me;
    assert_eq!(run(&mut t, &["client", "kill", "user", "nosuch"]), err("ERR No such user 'nosuch'"));
    assert_eq!(run(&mut t, &["acl", "deluser", "u"]), int(1));
    assert!(t.s.clients[other].killed && t.s.clients.kill_list.contains(&other));
    assert_eq!(&t.s.clients[other].user.name[..], b"default");
}

#[test]
fn cat_genpass_dryrun_help() {
    let mut t = new();
    let cats = run(&mut t, &["acl", "cat"]);
    assert!(matches!(&cats, crate::commands::testutil::Frame::Array(v) if v.len() == 21));
    assert_eq!(run(&mut t, &["acl", "cat", "nosuch"]), err("ERR Unknown category 'nosuch'"));
    assert_eq!(
        run(&mut t, &["acl", "cat", "a", "b"]),
        err("ERR unknown subcommand or wrong number of arguments for 'cat'. Try ACL HELP.")
    );
    let tx = run_raw(&mut t, &["acl", "cat", "transaction"]);
    assert!(tx.contains("$5\r\nmulti\r\n") && !tx.contains("$3\r\nget\r\n"));
    assert!(run_raw(&mut t, &["acl", "cat", "scripting"]).contains("function|list"));
    // Redis 7.0 puts LASTSAVE and ROLE in @admin and @dangerous by their categories alone (no admin flag),
    // and WAIT in @connection.
    let admin = run_raw(&mut t, &["acl", "cat", "admin"]);
    assert!(admin.contains("$8\r\nlastsave\r\n") && admin.contains("$4\r\nrole\r\n"), "{admin}");
    assert!(run_raw(&mut t, &["acl", "cat", "dangerous"]).contains("$4\r\nrole\r\n"));
    assert!(run_raw(&mut t, &["acl", "cat", "connection"]).contains("$4\r\nwait\r\n"));
    let p = run_raw(&mut t, &["acl", "genpass"]);
    assert!(p.starts_with("$64\r\n"), "{p}");
    assert!(run_raw(&mut t, &["acl", "genpass", "5"]).starts_with("$2\r\n"));
    assert!(run_raw(&mut t, &["acl", "genpass", "5000"]).starts_with("-ERR ACL GENPASS argument must be the number"));
    run(&mut t, &["acl", "setuser", "ct", "+@all", "%R~read*", "%W~write*"]);
    assert_eq!(run(&mut t, &["acl", "dryrun", "ct", "get", "read"]), ok());
    assert_eq!(
        run(&mut t, &["acl", "dryrun", "ct", "get", "write"]),
        bulk("This user has no permissions to access the 'write' key")
    );
    assert_eq!(run(&mut t, &["acl", "dryrun", "nouser", "get", "x"]), err("ERR User 'nouser' not found"));
    assert_eq!(run(&mut t, &["acl", "dryrun", "ct", "nocmd", "x"]), err("ERR Command 'nocmd' not found"));
    assert_eq!(
        run(&mut t, &["acl", "dryrun", "ct", "set", "v"]),
        err("ERR wrong number of arguments for 'set' command")
    );
    assert_eq!(run(&mut t, &["acl", "setuser", "sc", "on", "nopass", "+ping"]), ok());
    assert_eq!(
        run(&mut t, &["acl", "dryrun", "sc", "eval_ro", "", "0"]),
        bulk("This user has no permissions to run the 'eval_ro' command")
    );
    assert_eq!(run(&mut t, &["acl", "help", "x"]), err("ERR wrong number of arguments for 'acl|help' command"));
    assert!(
        run_raw(&mut t, &["acl", "load"]).starts_with("-ERR This Redis instance is not configured to use an ACL file.")
    );
}

#[test]
fn sort_by_and_get_need_full_read_access() {
    let mut t = new();
    run(&mut t, &["rpush", "mylist", "1"]);
    run(&mut t, &["acl", "setuser", "s", "on", "nopass", "(+sort ~mylist)"]);
    login(&mut t, "s");
    assert_eq!(
        run(&mut t, &["sort", "mylist", "by", "v*"]),
        err("ERR BY option of SORT denied due to insufficient ACL permissions.")
    );
    assert_eq!(
        run(&mut t, &["sort", "mylist", "get", "v*"]),
        err("ERR GET option of SORT denied due to insufficient ACL permissions.")
    );
    assert_eq!(run(&mut t, &["sort", "mylist", "by", "nosort"]), arr(vec![bulk("1")]));
}

#[test]
fn start_up_users_from_the_configuration_or_the_acl_file_not_both() {
    use super::Acl;
    use crate::config::Config;
    let mut cfg = Config::default();
    cfg.load_str("user alice on >pw ~* +@all\nuser default on nopass ~* -@all +get", None).unwrap();
    let acl = Acl::new(&cfg);
    assert!(acl.startup_error.is_none());
    assert!(acl.user(b"alice").is_some_and(|u| u.password_ok(b"pw")));
    assert_eq!(acl.default_user().selectors[0].describe_commands(), "-@all +get");
    // A `user default` line starts from a reset user: no channels unless it says so.
    assert!(!acl.default_user().selectors[0].allchannels);

    let mut cfg = Config::default();
    cfg.load_str("user alice on\naclfile /nonexistent/users.acl", None).unwrap();
    assert!(Acl::new(&cfg).startup_error.is_some_and(|e| e.contains("but not both")));

    let mut cfg = Config::default();
    cfg.load_str("user alice on +nosuchcommand", None).unwrap();
    assert_eq!(Acl::new(&cfg).startup_error.as_deref(), Some("Critical error while loading ACLs. Exiting."));

    let mut cfg = Config::default();
    cfg.load_str("aclfile /nonexistent/users.acl", None).unwrap();
    let e = Acl::new(&cfg).startup_error.unwrap();
    assert_eq!(
        e,
        "Aborting Redis startup because of ACL errors: Error loading ACLs, opening file '/nonexistent/users.acl': No such file or directory"
    );
}

#[test]
fn acl_file_errors_are_reported_as_redis_reports_them() {
    // The parse is pure: the file's bytes come from the persistence thread (FileJob).
    let path = "/etc/redis/users.acl";
    let e =
        super::parse_file(path, b"user a on +nosuch ~*\nnotuser x\nuser b on bogus also-bogus\n", false).unwrap_err();
    assert_eq!(
        e,
        format!(
            "{path}:1: Error in applying operation '+nosuch': Unknown command or category name in ACL. \
             {path}:2 should start with user keyword followed by the username. \
             {path}:3: Syntax error. \
             WARNING: ACL errors detected, no change to the previously active ACL rules was performed"
        )
    );
    let users = super::parse_file(path, b"user a on nopass ~* +@all\n\nuser b off\n", false).unwrap();
    assert_eq!(
        users.keys().map(|k| String::from_utf8_lossy(k).into_owned()).collect::<Vec<_>>(),
        ["a", "b", "default"]
    );
}

#[test]
fn file_jobs_write_and_read_the_acl_file() {
    use super::{FileDone, FileJob};
    let dir = std::env::temp_dir().join(format!("ferrodis-acl-job-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("users.acl").to_string_lossy().into_owned();
    let save = FileJob::Save { path: path.clone(), text: b"user a on nopass\n".to_vec() };
    assert!(matches!(save.run(), FileDone::Saved(Ok(()))));
    match (FileJob::Load { path: path.clone() }).run() {
        FileDone::Loaded { text: Ok(t), .. } => assert_eq!(t, b"user a on nopass\n"),
        other => panic!("{other:?}"),
    }
    // Nothing is left behind but the file itself (the temporary one was renamed over it).
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
    match (FileJob::Load { path: path.clone() }).run() {
        FileDone::Loaded { text: Err(e), .. } => {
            assert_eq!(e, format!("Error loading ACLs, opening file '{path}': No such file or directory"))
        }
        other => panic!("{other:?}"),
    }
    let save = FileJob::Save { path, text: Vec::new() };
    assert!(matches!(save.lost("gone"), FileDone::Saved(Err(e)) if e == "gone"));
    assert!(matches!(save.run(), FileDone::Saved(Err(e)) if e.starts_with("Saving the ACL file")));
}
