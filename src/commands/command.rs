//! COMMAND and its subcommands (commands layer, applied by the Keyspace actor): introspection of the command
//! table (COMMAND INFO, DOCS, LIST, COUNT, GETKEYS), all read from the CommandSpec rows of every family.

use super::connection::help;
use super::keyspecs::{self, Bs, Fk, KeySpec, KEY_FLAG_NAMES};
use super::spec::*;
use super::{command_docs, sub_name, table, Ctx};
use crate::error::CmdError;
use crate::resp::encode::Out;

/// COMMAND, as Redis 7.0's command table declares it.
#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("server", [
    cmd("command", -1, LOADING | STALE, command).acl(CONNECTION).subs(COMMAND_SUBS).doc("2.8.13", "O(N) where N is the total number of Redis commands", "Get array of Redis command details"),
]);

#[rustfmt::skip]
const COMMAND_SUBS: &[CommandSpec] = &family("server", [
    cmd("command|count", 2, LOADING | STALE, command_count).acl(CONNECTION).doc("2.8.13", "O(1)", "Get total number of Redis commands"),
    cmd("command|info", -2, LOADING | STALE, command_info).acl(CONNECTION).doc("2.8.13", "O(N) where N is the number of commands to look up", "Get array of specific Redis command details, or all when no argument is given."),
    cmd("command|list", -2, LOADING | STALE, command_list).acl(CONNECTION).doc("7.0.0", "O(N) where N is the total number of Redis commands", "Get an array of Redis command names"),
    cmd("command|getkeys", -4, LOADING | STALE, command_getkeys).acl(CONNECTION).doc("2.8.13", "O(N) where N is the number of arguments to the command", "Extract keys given a full Redis command"),
    cmd("command|getkeysandflags", -4, LOADING | STALE, command_getkeysandflags).acl(CONNECTION).doc("7.0.0", "O(N) where N is the number of arguments to the command", "Extract keys and access flags given a full Redis command"),
    cmd("command|docs", -2, LOADING | STALE, command_docs).acl(CONNECTION).doc("7.0.0", "O(N) where N is the number of commands to look up", "Get array of specific Redis command documentation"),
    cmd("command|help", 2, LOADING | STALE, command_help).acl(CONNECTION).doc("5.0.0", "O(1)", "Show helpful text about the different subcommands"),
]);

/// COMMAND INFO's flags, by name in Redis's order: the table's, with movablekeys as Redis derives it from
/// the key specs, no_async_loading from Redis's table, and may_replicate hidden as Redis hides it.
fn info_flags(spec: &CommandSpec) -> Vec<&'static str> {
    let meta = keyspecs::meta(spec.name);
    let movable = meta.is_some_and(|m| m.movable());
    let flags = (spec.flags & !(MOVABLE_KEYS | MAY_REPLICATE)) | if movable { MOVABLE_KEYS } else { 0 };
    let mut names: Vec<&str> = FLAG_NAMES.iter().filter(|(b, _)| flags & b != 0).map(|(_, n)| *n).collect();
    if meta.is_some_and(|m| m.no_async_loading) {
        let at =
            names.iter().position(|n| matches!(*n, "no_multi" | "movablekeys" | "allow_busy")).unwrap_or(names.len());
        names.insert(at, "no_async_loading");
    }
    names
}

fn write_key_flags(out: &mut Out, flags: u32) {
    let names: Vec<&str> = KEY_FLAG_NAMES.iter().filter(|(b, _)| flags & b != 0).map(|(_, n)| *n).collect();
    out.set(names.len());
    for n in names {
        out.simple(n);
    }
}

/// addReplyCommandKeySpecs: each key spec as a map (notes, flags, begin_search, find_keys).
fn write_key_specs(out: &mut Out, specs: &[KeySpec]) {
    out.set(specs.len());
    for ks in specs {
        out.map(3 + usize::from(!ks.notes.is_empty()));
        if !ks.notes.is_empty() {
            out.bulk(b"notes");
            out.bulk(ks.notes.as_bytes());
        }
        out.bulk(b"flags");
        write_key_flags(out, ks.flags);
        out.bulk(b"begin_search");
        out.map(2);
        out.bulk(b"type");
        match ks.bs {
            Bs::Index(pos) => {
                out.bulk(b"index");
                out.bulk(b"spec");
                out.map(1);
                out.bulk(b"index");
                out.int(pos as i64);
            }
            Bs::Keyword(kw, from) => {
                out.bulk(b"keyword");
                out.bulk(b"spec");
                out.map(2);
                out.bulk(b"keyword");
                out.bulk(kw.as_bytes());
                out.bulk(b"startfrom");
                out.int(from as i64);
            }
            Bs::Unknown => {
                out.bulk(b"unknown");
                out.bulk(b"spec");
                out.map(0);
            }
        }
        out.bulk(b"find_keys");
        out.map(2);
        out.bulk(b"type");
        match ks.fk {
            Fk::Range(last, step, limit) => {
                out.bulk(b"range");
                out.bulk(b"spec");
                out.map(3);
                for (k, v) in [("lastkey", last), ("keystep", step), ("limit", limit)] {
                    out.bulk(k.as_bytes());
                    out.int(v as i64);
                }
            }
            Fk::Keynum(idx, first, step) => {
                out.bulk(b"keynum");
                out.bulk(b"spec");
                out.map(3);
                for (k, v) in [("keynumidx", idx), ("firstkey", first), ("keystep", step)] {
                    out.bulk(k.as_bytes());
                    out.int(v as i64);
                }
            }
            Fk::Unknown => {
                out.bulk(b"unknown");
                out.bulk(b"spec");
                out.map(0);
            }
        }
    }
}

/// addReplyCommandInfo: name, arity, flags, first/last/step, ACL categories, tips, key specs, subcommands.
fn write_command_info(out: &mut Out, spec: &CommandSpec) {
    let meta = keyspecs::meta(spec.name);
    out.array(10);
    out.bulk(spec.name.as_bytes());
    out.int(spec.arity as i64);
    let names = info_flags(spec);
    out.set(names.len());
    for f in names {
        out.simple(f);
    }
    // (first, last, step) as Redis glues them from the key specs; the table's for a command without any.
    let range = match meta {
        Some(m) => m.legacy_range().0.unwrap_or((0, 0, 0)),
        None => (spec.first_key, spec.last_key, spec.key_step),
    };
    out.int(range.0 as i64);
    out.int(range.1 as i64);
    out.int(range.2 as i64);
    let mut cats = spec.acl_categories();
    // Redis's category table order (COMMAND INFO prints them so), the one ACL CAT lists.
    cats.sort_by_key(|c| super::acl_rules::CATEGORIES.iter().position(|o| o == c).unwrap_or(usize::MAX));
    out.set(cats.len());
    for c in cats {
        out.simple(&format!("@{c}"));
    }
    let tips = meta.map_or(&[][..], |m| m.tips);
    out.set(tips.len());
    for t in tips {
        out.bulk(t.as_bytes());
    }
    write_key_specs(out, meta.map_or(&[][..], |m| m.specs));
    // No subcommands is an empty set, subcommands an array (addReplyCommandSubCommands).
    if spec.subcommands.is_empty() {
        out.set(0);
    } else {
        out.array(spec.subcommands.len());
    }
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

/// Look up "get" or "config|get" style names (Redis's lookupCommandBySds).
pub(super) fn find_command(name: &[u8]) -> Option<&'static CommandSpec> {
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
            None => cx.out.nil(),
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

/// COMMAND GETKEYS and GETKEYSANDFLAGS (Redis's getKeysSubcommandImpl).
fn getkeys(cx: &mut Ctx<'_>, with_flags: bool) -> CmdResult {
    let args: Vec<&[u8]> = cx.argv.iter().skip(2).collect();
    let invalid = CmdError::new("ERR Invalid command specified");
    let mut spec = table().lookup(args[0]).ok_or(invalid.clone())?;
    if !spec.subcommands.is_empty() && args.len() > 1 {
        spec = spec.subcommands.iter().find(|s| sub_name(s).as_bytes().eq_ignore_ascii_case(args[1])).ok_or(invalid)?;
    }
    let meta = keyspecs::meta(spec.name);
    let specs = meta.map_or(&[][..], |m| m.specs);
    let has_keyspec = specs.iter().any(|k| k.flags & keyspecs::K_NOT_KEY == 0);
    // Commands of ours with no entry (none today) fall back on the table's key positions.
    let has_proc = meta.map_or(spec.first_key > 0 || spec.getkeys.is_some(), |m| m.getkeys_proc);
    if !has_proc && !has_keyspec {
        return Err(CmdError::new("ERR The command has no key arguments"));
    }
    if !spec.arity_ok(args.len()) {
        return Err(CmdError::new("ERR Invalid number of arguments specified for command"));
    }
    let keys = keys_with_flags(spec, specs, &args);
    if keys.is_empty() {
        if spec.has(NO_MANDATORY_KEYS) {
            cx.out.array(0);
            return Ok(());
        }
        return Err(CmdError::new("ERR Invalid arguments specified for command"));
    }
    cx.out.array(keys.len());
    for (pos, flags) in keys {
        if with_flags {
            cx.out.array(2);
            cx.out.bulk(args[pos]);
            write_key_flags(cx.out, flags);
        } else {
            cx.out.bulk(args[pos]);
        }
    }
    Ok(())
}

/// getKeysFromCommandWithSpecs: (position, key flags) of each key of `args` (args[0] is the command), from
/// the key specs when they are complete and their flags fixed, else from the command's own key finder.
pub(super) fn keys_with_flags(spec: &CommandSpec, specs: &[KeySpec], args: &[&[u8]]) -> Vec<(usize, u32)> {
    let has_keyspec = specs.iter().any(|k| k.flags & keyspecs::K_NOT_KEY == 0);
    let var_flags = specs.iter().any(|k| k.flags & keyspecs::K_VARIABLE_FLAGS != 0);
    if has_keyspec && !var_flags {
        if let Some(keys) = keys_from_specs(specs, args) {
            return keys;
        }
    }
    // The command's own key finder, with the flags Redis's finders give.
    let positions = spec.key_positions(args);
    positions.iter().enumerate().map(|(i, &p)| (p, finder_flags(spec.name, specs, args, i))).collect()
}

/// The flags Redis's getkeys functions give the `i`th key they find.
pub(super) fn finder_flags(name: &str, specs: &[KeySpec], args: &[&[u8]], i: usize) -> u32 {
    use keyspecs::*;
    match name {
        // setGetKeys: GET makes SET read the old value.
        "set" if args.iter().skip(3).any(|a| a.eq_ignore_ascii_case(b"get")) => K_RW | K_ACCESS | K_UPDATE,
        "set" => K_OW | K_UPDATE,
        "bitfield" if bitfield_readonly(args) => K_RO | K_ACCESS,
        "bitfield" => K_RW | K_ACCESS | K_UPDATE,
        // sortGetKeys: the sorted key, then the STORE destination.
        "sort" if i > 0 => K_OW | K_UPDATE,
        _ => {
            specs.get(i.min(specs.len().saturating_sub(1))).map_or(0, |k| k.flags & !(K_INCOMPLETE | K_VARIABLE_FLAGS))
        }
    }
}

/// bitfieldGetKeys: only GET (and OVERFLOW) subcommands, all complete.
fn bitfield_readonly(args: &[&[u8]]) -> bool {
    let mut i = 2;
    while i < args.len() {
        let rem = args.len() - i - 1;
        let a = args[i];
        if a.eq_ignore_ascii_case(b"get") && rem >= 2 {
            i += 2;
        } else if (a.eq_ignore_ascii_case(b"set") || a.eq_ignore_ascii_case(b"incrby")) && rem >= 3 {
            return false;
        } else if a.eq_ignore_ascii_case(b"overflow") && rem >= 1 {
            i += 1;
        } else {
            return false;
        }
        i += 1;
    }
    true
}

/// getKeysUsingKeySpecs: None when a spec cannot be applied to these arguments (unknown, incomplete, or
/// pointing outside them).
fn keys_from_specs(specs: &[KeySpec], args: &[&[u8]]) -> Option<Vec<(usize, u32)>> {
    let argc = args.len() as i64;
    let mut keys = Vec::new();
    for ks in specs {
        if ks.flags & keyspecs::K_NOT_KEY != 0 {
            continue;
        }
        let mut first = match ks.bs {
            Bs::Index(pos) => pos as i64,
            Bs::Keyword(kw, from) => {
                let (start, end) = if from > 0 { (from as i64, argc - 1) } else { (argc + from as i64, 1) };
                let mut i = start;
                let mut found = 0;
                while i != end {
                    if i >= argc || i < 1 {
                        break;
                    }
                    if args[i as usize].eq_ignore_ascii_case(kw.as_bytes()) {
                        found = i + 1;
                        break;
                    }
                    i += if start <= end { 1 } else { -1 };
                }
                if found == 0 {
                    continue;
                }
                found
            }
            Bs::Unknown => return None,
        };
        let (last, step) = match ks.fk {
            Fk::Range(lastkey, step, limit) => {
                let last = if lastkey >= 0 {
                    first + lastkey as i64
                } else if limit == 0 {
                    argc + lastkey as i64
                } else {
                    first + ((argc - first) / limit as i64 + lastkey as i64)
                };
                (last, step as i64)
            }
            Fk::Keynum(idx, firstkey, step) => {
                if idx as i64 >= argc {
                    return None;
                }
                let n = args.get((first + idx as i64) as usize).and_then(|a| crate::types::num::parse_i64(a));
                let n = n.filter(|&n| n >= 0)?;
                first += firstkey as i64;
                (first + n - 1, step as i64)
            }
            Fk::Unknown => return None,
        };
        if last >= argc || last < first || first >= argc {
            return None;
        }
        let mut i = first;
        while i <= last {
            keys.push((i as usize, ks.flags));
            i += step.max(1);
        }
        if ks.flags & keyspecs::K_INCOMPLETE != 0 {
            return None;
        }
    }
    Some(keys)
}

fn command_getkeys(cx: &mut Ctx<'_>) -> CmdResult {
    getkeys(cx, false)
}

fn command_getkeysandflags(cx: &mut Ctx<'_>) -> CmdResult {
    getkeys(cx, true)
}

/// One command's COMMAND DOCS map, fields in Redis's order; summary, since, group and complexity come from
/// the table row, the rest (doc flags, deprecation, history, arguments) from command_docs.rs.
fn write_docs(out: &mut Out, spec: &CommandSpec) {
    let docs = command_docs::find(spec.name);
    let extra = docs.map_or(0, |d| {
        (d.doc_flags != 0) as usize
            + !d.deprecated_since.is_empty() as usize
            + !d.replaced_by.is_empty() as usize
            + !d.history.is_empty() as usize
            + !d.args.is_empty() as usize
    });
    let has_subs = !spec.subcommands.is_empty();
    out.map(3 + !spec.complexity.is_empty() as usize + extra + has_subs as usize);
    out.bulk(b"summary");
    out.bulk(spec.summary.as_bytes());
    out.bulk(b"since");
    out.bulk(spec.since.as_bytes());
    out.bulk(b"group");
    out.bulk(spec.group.as_bytes());
    if !spec.complexity.is_empty() {
        out.bulk(b"complexity");
        out.bulk(spec.complexity.as_bytes());
    }
    if let Some(d) = docs {
        if d.doc_flags != 0 {
            out.bulk(b"doc_flags");
            write_flags(out, d.doc_flags, command_docs::DOC_FLAG_NAMES);
        }
        for (field, text) in [("deprecated_since", d.deprecated_since), ("replaced_by", d.replaced_by)] {
            if !text.is_empty() {
                out.bulk(field.as_bytes());
                out.bulk(text.as_bytes());
            }
        }
        if !d.history.is_empty() {
            out.bulk(b"history");
            out.set(d.history.len());
            for (since, change) in d.history {
                out.array(2);
                out.bulk(since.as_bytes());
                out.bulk(change.as_bytes());
            }
        }
        if !d.args.is_empty() {
            out.bulk(b"arguments");
            write_args(out, d.args);
        }
    }
    if has_subs {
        out.bulk(b"subcommands");
        out.map(spec.subcommands.len());
        for s in spec.subcommands {
            out.bulk(s.name.as_bytes());
            write_docs(out, s);
        }
    }
}

/// A set of flag names, as Redis's addReplyCommandFlags.
fn write_flags(out: &mut Out, flags: u8, names: &[(u8, &str)]) {
    out.set(names.iter().filter(|(bit, _)| flags & bit != 0).count());
    for (_, name) in names.iter().filter(|(bit, _)| flags & bit != 0) {
        out.simple(name);
    }
}

/// An argument list, as Redis's addReplyCommandArgList: each argument a map of the fields it has.
fn write_args(out: &mut Out, args: &[command_docs::Arg]) {
    out.array(args.len());
    for a in args {
        let nested = matches!(a.kind, "oneof" | "block");
        let texts = [("summary", a.summary), ("since", a.since), ("deprecated_since", a.deprecated_since)];
        let present = a.token.is_some() as usize + texts.iter().filter(|(_, t)| !t.is_empty()).count();
        out.map(2 + (a.key_spec_index >= 0) as usize + present + (a.flags != 0) as usize + nested as usize);
        out.bulk(b"name");
        out.bulk(a.name.as_bytes());
        out.bulk(b"type");
        out.bulk(a.kind.as_bytes());
        if a.key_spec_index >= 0 {
            out.bulk(b"key_spec_index");
            out.int(a.key_spec_index as i64);
        }
        if let Some(token) = a.token {
            out.bulk(b"token");
            out.bulk(token.as_bytes());
        }
        for (field, text) in texts.iter().filter(|(_, t)| !t.is_empty()) {
            out.bulk(field.as_bytes());
            out.bulk(text.as_bytes());
        }
        if a.flags != 0 {
            out.bulk(b"flags");
            write_flags(out, a.flags, command_docs::ARG_FLAG_NAMES);
        }
        if nested {
            out.bulk(b"arguments");
            write_args(out, a.args);
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
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
        ],
    )
}

#[cfg(test)]
mod tests {
    use crate::commands::testutil::{arr, bulks, err, new, run, run_raw, Frame};

    #[test]
    fn command_introspection() {
        let mut t = new();
        let r = run_raw(&mut t, &["command", "info", "get"]);
        assert!(r.starts_with("*1\r\n*10\r\n$3\r\nget\r\n:2\r\n"), "{r}");
        assert_eq!(run_raw(&mut t, &["command", "info", "nosuch"]), "*1\r\n$-1\r\n");
        assert_eq!(run_raw(&mut t, &["command", "info", "get|key"]), "*1\r\n$-1\r\n");
        assert_eq!(run_raw(&mut t, &["command", "info", "config|get|key"]), "*1\r\n$-1\r\n");
        assert_eq!(run(&mut t, &["command", "getkeys", "get", "k"]), bulks(&["k"]));
        assert_eq!(run(&mut t, &["command", "getkeys", "ping", "x"]), err("ERR The command has no key arguments"));
        assert_eq!(run(&mut t, &["command", "getkeys", "eval", "return 1", "0"]), arr(vec![]));
        assert_eq!(run(&mut t, &["command", "getkeys", "eval", "return 1", "1", "k"]), bulks(&["k"]));
        assert_eq!(run(&mut t, &["command", "getkeys", "nosuch", "x"]), err("ERR Invalid command specified"));
        assert_eq!(run(&mut t, &["command", "getkeys", "config", "nosuch", "x"]), err("ERR Invalid command specified"));
        assert_eq!(
            run(&mut t, &["command", "getkeys", "zunionstore", "d", "0"]),
            err("ERR Invalid number of arguments specified for command")
        );
        assert_eq!(
            run(&mut t, &["command", "getkeys", "nosuch"]),
            err("ERR wrong number of arguments for 'command|getkeys' command")
        );
        assert_eq!(run(&mut t, &["command", "getkeys", "memory", "usage", "key"]), bulks(&["key"]));
        assert_eq!(run(&mut t, &["command", "getkeys", "xgroup", "create", "key", "g", "$"]), bulks(&["key"]));
        assert_eq!(run(&mut t, &["command", "getkeys", "lcs", "k1", "k2"]), bulks(&["k1", "k2"]));
        assert_eq!(
            run(&mut t, &["command", "getkeys", "xread", "count", "1", "streams", "a", "b", "0", "0"]),
            bulks(&["a", "b"])
        );
        assert_eq!(
            run(&mut t, &["command", "getkeys", "georadius", "k", "0", "0", "1", "km", "store", "d"]),
            bulks(&["k", "d"])
        );
        assert!(run_raw(&mut t, &["command", "count"]).starts_with(':'));
        assert!(run_raw(&mut t, &["command", "docs", "config"]).contains("config|get"));
    }

    /// COMMAND DOCS as redis-server 7.0.15 answers, byte for byte (tests/command_table.rs compares every
    /// command with a live redis-server when there is one).
    #[test]
    fn command_docs_fields() {
        let mut t = new();
        assert_eq!(
            run_raw(&mut t, &["command", "docs", "get"]),
            "*2\r\n$3\r\nget\r\n*10\r\n$7\r\nsummary\r\n$22\r\nGet the value of a key\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n\
             $5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n*6\r\n\
             $4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n"
        );
        // No complexity: the field is left out. A token and a flag.
        assert_eq!(
            run_raw(&mut t, &["command", "docs", "lolwut"]),
            "*2\r\n$6\r\nlolwut\r\n*8\r\n$7\r\nsummary\r\n$47\r\nDisplay some computer art and the Redis version\r\n\
             $5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$9\r\narguments\r\n*1\r\n*8\r\n\
             $4\r\nname\r\n$7\r\nversion\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$7\r\nVERSION\r\n\
             $5\r\nflags\r\n*1\r\n+optional\r\n"
        );
        // Deprecation and history.
        let r = run_raw(&mut t, &["command", "docs", "brpoplpush"]);
        assert!(
            r.contains(
                "$9\r\ndoc_flags\r\n*1\r\n+deprecated\r\n$16\r\ndeprecated_since\r\n$5\r\n6.2.0\r\n\
                 $11\r\nreplaced_by\r\n$46\r\n`BLMOVE` with the `RIGHT` and `LEFT` arguments\r\n$7\r\nhistory\r\n*1\r\n\
                 *2\r\n$5\r\n6.0.0\r\n$59\r\n`timeout` is interpreted as a double instead of an integer.\r\n"
            ),
            "{r}"
        );
        // An argument's deprecation, nested arguments; MIGRATE's empty token is still a token.
        let r = run_raw(&mut t, &["command", "docs", "client|kill"]);
        assert!(r.contains("$7\r\nip:port\r\n$4\r\ntype\r\n$6\r\nstring\r\n$16\r\ndeprecated_since\r\n"), "{r}");
        let r = run_raw(&mut t, &["command", "docs", "migrate"]);
        assert!(
            r.contains("$12\r\nempty_string\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$0\r\n\r\n"),
            "{r}"
        );
    }

    /// GETKEYSANDFLAGS as (key, flags) pairs.
    fn keys_and_flags(t: &mut crate::commands::testutil::T, args: &[&str]) -> Vec<(String, Vec<String>)> {
        let mut a = vec!["command", "getkeysandflags"];
        a.extend(args);
        let Frame::Array(items) = run(t, &a) else { panic!() };
        items
            .into_iter()
            .map(|i| {
                let Frame::Array(pair) = i else { panic!() };
                let (Frame::Bulk(k), Frame::Array(f)) = (&pair[0], &pair[1]) else { panic!("{pair:?}") };
                let flags = f
                    .iter()
                    .map(|x| match x {
                        Frame::Simple(s) => s.clone(),
                        other => panic!("{other:?}"),
                    })
                    .collect();
                (String::from_utf8(k.clone()).unwrap(), flags)
            })
            .collect()
    }

    #[test]
    fn getkeysandflags_as_redis() {
        let mut t = new();
        let kf = |k: &str, f: &[&str]| (k.to_string(), f.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(keys_and_flags(&mut t, &["set", "k1", "v1"]), [kf("k1", &["OW", "update"])]);
        assert_eq!(keys_and_flags(&mut t, &["set", "k1", "v1", "GET"]), [kf("k1", &["RW", "access", "update"])]);
        assert_eq!(
            keys_and_flags(&mut t, &["mset", "k1", "v1", "k2", "v2"]),
            [kf("k1", &["OW", "update"]), kf("k2", &["OW", "update"])]
        );
        assert_eq!(
            keys_and_flags(&mut t, &["LMOVE", "k1", "k2", "left", "right"]),
            [kf("k1", &["RW", "access", "delete"]), kf("k2", &["RW", "insert"])]
        );
        assert_eq!(
            keys_and_flags(&mut t, &["sort", "k1", "store", "k2"]),
            [kf("k1", &["RO", "access"]), kf("k2", &["OW", "update"])]
        );
        assert_eq!(keys_and_flags(&mut t, &["bitfield", "k", "get", "u8", "0"]), [kf("k", &["RO", "access"])]);
        assert_eq!(
            keys_and_flags(&mut t, &["bitfield", "k", "set", "u8", "0", "1"]),
            [kf("k", &["RW", "access", "update"])]
        );
    }

    #[test]
    fn command_alone_and_movablekeys() {
        let mut t = new();
        let Frame::Array(all) = run(&mut t, &["command"]) else { panic!() };
        let Frame::Integer(count) = run(&mut t, &["command", "count"]) else { panic!() };
        assert_eq!(all.len() as i64, count);
        let flags = |t: &mut crate::commands::testutil::T, name: &str| -> Vec<String> {
            let Frame::Array(info) = run(t, &["command", "info", name]) else { panic!() };
            let Frame::Array(entry) = &info[0] else { panic!("{name}") };
            let (Frame::Array(f) | Frame::Set(f)) = &entry[2] else { panic!("{entry:?}") };
            f.iter().map(|x| format!("{x:?}")).collect()
        };
        for name in
            ["SET", "GET", "MSET", "BITFIELD", "LMOVE", "LPOP", "BLPOP", "PING", "MEMORY", "MEMORY|USAGE", "RENAME"]
        {
            assert!(!flags(&mut t, name).iter().any(|f| f.contains("movablekeys")), "{name}");
        }
        for name in ["ZUNIONSTORE", "XREAD", "EVAL", "SORT", "SORT_RO", "GEORADIUS"] {
            assert!(flags(&mut t, name).iter().any(|f| f.contains("movablekeys")), "{name}");
        }
        let r = run_raw(&mut t, &["command", "info", "lmove"]);
        assert!(r.contains("$5\r\nlimit\r\n:0\r\n"), "{r}");
        assert!(r.contains("+RW\r\n+access\r\n+delete\r\n"), "{r}");
        let r = run_raw(&mut t, &["command", "info", "keys"]);
        assert!(r.contains("$29\r\nnondeterministic_output_order\r\n"), "{r}");
    }
}
