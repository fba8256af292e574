//! COMMAND and its subcommands (commands layer, applied by the Keyspace actor): introspection of the command
//! table (COMMAND INFO, DOCS, LIST, COUNT, GETKEYS), all read from the CommandSpec rows of every family.

use super::connection::help;
use super::spec::*;
use super::{sub_name, table, Ctx};
use crate::error::CmdError;
use crate::resp::encode::Out;

/// COMMAND, as Redis 7.0's command table declares it.
#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("server", [
    cmd("command", -1, LOADING | STALE, command).acl(CONNECTION).subs(COMMAND_SUBS).doc("2.8.13", "O(N) where N is the total number of Redis commands", "Returns detailed information about all commands."),
]);

#[rustfmt::skip]
const COMMAND_SUBS: &[CommandSpec] = &family("server", [
    cmd("command|count", 2, LOADING | STALE, command_count).acl(CONNECTION).doc("2.8.13", "O(1)", "Returns a count of commands."),
    cmd("command|info", -2, LOADING | STALE, command_info).acl(CONNECTION).doc("2.8.13", "O(N) where N is the number of commands to look up", "Returns information about one, multiple or all commands."),
    cmd("command|list", -2, LOADING | STALE, command_list).acl(CONNECTION).doc("7.0.0", "O(N) where N is the total number of Redis commands", "Returns a list of command names."),
    cmd("command|getkeys", -3, LOADING | STALE, command_getkeys).acl(CONNECTION).doc("2.8.13", "O(N) where N is the number of arguments to the command", "Extracts the key names from an arbitrary command."),
    cmd("command|docs", -2, LOADING | STALE, command_docs).acl(CONNECTION).doc("7.0.0", "O(N) where N is the number of commands to look up", "Returns documentary information about one, multiple or all commands."),
    cmd("command|help", 2, LOADING | STALE, command_help).acl(CONNECTION).doc("5.0.0", "O(1)", "Returns helpful text about the different subcommands."),
]);

fn write_command_info(out: &mut Out, spec: &CommandSpec) {
    out.array(10);
    out.bulk(spec.name.as_bytes());
    out.int(spec.arity as i64);
    let flags: Vec<&str> = FLAG_NAMES.iter().filter(|(b, _)| spec.flags & b != 0).map(|(_, n)| *n).collect();
    out.set(flags.len());
    for f in flags {
        out.simple(f);
    }
    out.int(spec.first_key as i64);
    out.int(spec.last_key as i64);
    out.int(spec.key_step as i64);
    let cats = spec.acl_categories();
    out.set(cats.len());
    for c in cats {
        out.simple(&format!("@{c}"));
    }
    out.set(0); // tips
    if spec.first_key > 0 {
        out.array(1);
        out.map(3);
        out.bulk(b"flags");
        // Shard channels sit in key positions for cluster routing, but are not keys (Redis: NOT_KEY).
        let f: &[&str] = if spec.has(PUBSUB) {
            &["not_key"]
        } else if spec.has(WRITE) {
            &["RW", "UPDATE"]
        } else {
            &["RO", "ACCESS"]
        };
        out.set(f.len());
        for x in f {
            out.simple(x);
        }
        out.bulk(b"begin_search");
        out.map(2);
        out.bulk(b"type");
        out.bulk(b"index");
        out.bulk(b"spec");
        out.map(1);
        out.bulk(b"index");
        out.int(spec.first_key as i64);
        out.bulk(b"find_keys");
        out.map(2);
        out.bulk(b"type");
        out.bulk(b"range");
        out.bulk(b"spec");
        out.map(3);
        out.bulk(b"lastkey");
        out.int(if spec.last_key < 0 { spec.last_key as i64 } else { (spec.last_key - spec.first_key) as i64 });
        out.bulk(b"keystep");
        out.int(spec.key_step as i64);
        out.bulk(b"limit");
        out.int(0);
    } else {
        out.array(0);
    }
    out.array(spec.subcommands.len());
    for sub in spec.subcommands {
        write_command_info(out, sub);
    }
}

fn sorted_commands() -> Vec<&'static CommandSpec> {
    let mut v: Vec<_> = table().commands().collect();
    v.sort_by_key(|s| s.name);
    v
}

fn command(cx: &mut Ctx<'_>) -> CmdResult {
    if cx.argc() > 1 {
        // "COMMAND foo" with an unknown subcommand is handled by the executor; this is COMMAND alone.
        return Err(CmdError::unknown_subcommand("command", cx.arg(1)));
    }
    let all = sorted_commands();
    cx.out.array(all.len());
    for s in all {
        write_command_info(cx.out, s);
    }
    Ok(())
}

fn command_count(cx: &mut Ctx<'_>) -> CmdResult {
    cx.out.int(table().commands().count() as i64);
    Ok(())
}

/// Look up "get" or "config|get" style names.
fn find_command(name: &[u8]) -> Option<&'static CommandSpec> {
    let n = String::from_utf8_lossy(name).to_ascii_lowercase();
    match n.split_once('|') {
        Some((parent, sub)) => table().lookup(parent.as_bytes())?.subcommands.iter().find(|s| sub_name(s) == sub),
        None => table().lookup(n.as_bytes()),
    }
}

fn command_info(cx: &mut Ctx<'_>) -> CmdResult {
    if cx.argc() == 2 {
        let all = sorted_commands();
        cx.out.array(all.len());
        for s in all {
            write_command_info(cx.out, s);
        }
        return Ok(());
    }
    cx.out.array(cx.argc() - 2);
    for i in 2..cx.argc() {
        match find_command(cx.arg(i)) {
            Some(s) => write_command_info(cx.out, s),
            None => cx.out.nil_array(),
        }
    }
    Ok(())
}

fn command_list(cx: &mut Ctx<'_>) -> CmdResult {
    let mut filter: Option<(String, String)> = None;
    if cx.argc() == 5 && cx.argv.is(2, "filterby") {
        let kind = String::from_utf8_lossy(cx.arg(3)).to_ascii_lowercase();
        let val = String::from_utf8_lossy(cx.arg(4)).into_owned();
        if !matches!(kind.as_str(), "module" | "aclcat" | "pattern") {
            return Err(CmdError::SYNTAX);
        }
        filter = Some((kind, val));
    } else if cx.argc() != 2 {
        return Err(CmdError::SYNTAX);
    }
    let mut names = Vec::new();
    for spec in table().all.iter() {
        let keep = match &filter {
            None => true,
            Some((k, _)) if k == "module" => false,
            Some((k, v)) if k == "aclcat" => spec.acl_categories().iter().any(|c| c.eq_ignore_ascii_case(v)),
            Some((_, v)) => crate::types::glob::glob_match(v.as_bytes(), spec.name.as_bytes(), true),
        };
        if keep {
            names.push(spec.name);
        }
    }
    cx.out.array(names.len());
    for n in names {
        cx.out.bulk(n.as_bytes());
    }
    Ok(())
}

fn command_getkeys(cx: &mut Ctx<'_>) -> CmdResult {
    let args: Vec<&[u8]> = cx.argv.iter().skip(2).collect();
    let spec = table().lookup(args[0]).ok_or(CmdError::new("ERR Invalid command specified"))?;
    let spec = if !spec.subcommands.is_empty() && args.len() > 1 {
        spec.subcommands.iter().find(|s| sub_name(s).as_bytes().eq_ignore_ascii_case(args[1])).unwrap_or(spec)
    } else {
        spec
    };
    // Shard channels are key specs marked NOT_KEY: Redis does not count them as keys here.
    if spec.has(PUBSUB) {
        return Err(CmdError::new("ERR The command has no key arguments"));
    }
    if !spec.arity_ok(args.len()) {
        return Err(CmdError::new("ERR Invalid number of arguments specified for command"));
    }
    let keys = spec.key_positions(&args);
    if keys.is_empty() && spec.has(NO_MANDATORY_KEYS) {
        // EVAL with numkeys 0 and the like: no keys is a valid answer.
        cx.out.array(0);
        return Ok(());
    }
    if keys.is_empty() {
        return Err(CmdError::new("ERR The command has no key arguments"));
    }
    cx.out.array(keys.len());
    for k in keys {
        cx.out.bulk(args[k]);
    }
    Ok(())
}

fn write_docs(out: &mut Out, spec: &CommandSpec) {
    let has_subs = !spec.subcommands.is_empty();
    out.map(4 + has_subs as usize);
    out.bulk(b"summary");
    out.bulk(spec.summary.as_bytes());
    out.bulk(b"since");
    out.bulk(spec.since.as_bytes());
    out.bulk(b"group");
    out.bulk(spec.group.as_bytes());
    out.bulk(b"complexity");
    out.bulk(spec.complexity.as_bytes());
    if has_subs {
        out.bulk(b"subcommands");
        out.map(spec.subcommands.len());
        for s in spec.subcommands {
            out.bulk(s.name.as_bytes());
            write_docs(out, s);
        }
    }
}

fn command_docs(cx: &mut Ctx<'_>) -> CmdResult {
    let specs: Vec<&CommandSpec> = if cx.argc() == 2 {
        sorted_commands()
    } else {
        (2..cx.argc()).filter_map(|i| find_command(cx.arg(i))).collect()
    };
    cx.out.map(specs.len());
    for s in specs {
        cx.out.bulk(s.name.as_bytes());
        write_docs(cx.out, s);
    }
    Ok(())
}

fn command_help(cx: &mut Ctx<'_>) -> CmdResult {
    help(
        cx,
        "COMMAND",
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "LIST [FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]",
            "    Return a list of all commands in this Redis server.",
        ],
    )
}

#[cfg(test)]
mod tests {
    use crate::commands::testutil::{arr, bulks, err, new, run, run_raw};

    #[test]
    fn command_introspection() {
        let mut t = new();
        let r = run_raw(&mut t, &["command", "info", "get"]);
        assert!(r.starts_with("*1\r\n*10\r\n$3\r\nget\r\n:2\r\n"), "{r}");
        assert_eq!(run_raw(&mut t, &["command", "info", "nosuch"]), "*1\r\n*-1\r\n");
        assert_eq!(run(&mut t, &["command", "getkeys", "get", "k"]), bulks(&["k"]));
        assert_eq!(run(&mut t, &["command", "getkeys", "ping"]), err("ERR The command has no key arguments"));
        assert_eq!(run(&mut t, &["command", "getkeys", "eval", "return 1", "0"]), arr(vec![]));
        assert_eq!(run(&mut t, &["command", "getkeys", "eval", "return 1", "1", "k"]), bulks(&["k"]));
        assert_eq!(run(&mut t, &["command", "getkeys", "nosuch"]), err("ERR Invalid command specified"));
        assert!(run_raw(&mut t, &["command", "count"]).starts_with(':'));
        assert!(run_raw(&mut t, &["command", "docs", "config"]).contains("config|get"));
    }
}
