#!/usr/bin/env python3
"""Writes command_docs.rs (COMMAND DOCS's arguments, history and deprecation data) from Redis 7.0.15's
src/commands.c, and brings the `.doc(since, complexity, summary)` of the command table rows in line with it.

usage: gen_command_docs.py COMMANDS_C   (e.g. `git show 7.0.15:src/commands.c > commands.c` in a redis clone)
Run from the repository root. commands.c, not the JSON files it is generated from, is what redis-server
7.0.15 answers from: in that release the two differ (argument names such as "id" against "ID"), and
COMMAND DOCS must answer word for word. The data is Redis's own (BSD-licensed) command reference.
"""
import glob
import json
import re
import subprocess
import sys

OUT = "src/commands/command_docs.rs"
ARG_FLAGS = [("optional", "OPTIONAL"), ("multiple", "MULTIPLE"), ("multiple_token", "MULTIPLE_TOKEN")]
DOC_FLAGS = {"DEPRECATED": "DEPRECATED", "SYSCMD": "SYSCMD"}


def lit(s):
    """A Rust string literal (commands.c's texts are ASCII)."""
    assert all(ord(c) < 128 for c in s), s
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def opt(desc, field):
    """A text field, "" where commands.c has NULL (the reply then leaves the field out)."""
    return desc.get(field) or ""


def arg_code(a, indent):
    fields = ["name: %s" % lit(a["name"]), "kind: %s" % lit(a["type"])]
    if a.get("key_spec_index", -1) >= 0:
        fields.append("key_spec_index: %d" % a["key_spec_index"])
    if a.get("token") is not None:
        # Present even when empty: MIGRATE's `""` key placeholder has the token "".
        fields.append("token: Some(%s)" % lit(a["token"]))
    for f in ("summary", "since", "deprecated_since"):
        if opt(a, f):
            fields.append("%s: %s" % (f, lit(a[f])))
    flags = [name for key, name in ARG_FLAGS if a.get(key)]
    if flags:
        fields.append("flags: " + " | ".join(flags))
    sub = a.get("arguments")
    if a["type"] in ("oneof", "block"):
        fields.append("args: " + args_code(sub or [], indent + 1))
    return "Arg { " + ", ".join(fields) + (", ..ARG }" if len(fields) < 9 else " }")


def args_code(args, indent):
    if not args:
        return "&[]"
    pad = "    " * (indent + 1)
    return "&[\n" + "".join(pad + arg_code(a, indent + 1) + ",\n" for a in args) + "    " * indent + "]"


def c_fields(row):
    """The top-level fields of one C initializer row `{...}`: strings unescaped, NULL as None."""
    fields, cur, depth, i = [], "", 0, 0
    while i < len(row):
        c = row[i]
        if c == '"':
            j = i + 1
            while row[j] != '"':
                j += 2 if row[j] == "\\" else 1
            cur += row[i : j + 1]
            i = j + 1
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        if c == "," and depth == 0:
            fields.append(cur)
            cur = ""
        else:
            cur += c
        i += 1
    fields.append(cur)
    return [unquote(f.strip()) for f in fields]


def unquote(f):
    """A C string literal's text (adjacent literals concatenated, as C does: MIGRATE's token is four quotes), a
    `.field="..."` initializer as `.field=text`, NULL as None, anything else as written."""
    if f == "NULL":
        return None
    m = re.fullmatch(r'(\.\w+=)?((?:"(?:[^"\\]|\\.)*")+)', f)
    if not m:
        return f
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(2))
    text = "".join(re.sub(r"\\(.)", lambda e: {"n": "\n"}.get(e.group(1), e.group(1)), p) for p in parts)
    return (m.group(1) or "") + text


def tables(src, kind):
    """name -> rows of every `struct KIND NAME[] = {...};` table in commands.c."""
    out = {}
    for m in re.finditer(r"^(?:struct )?%s (\w+)\[\] = \{\n(.*?)\n\};" % kind, src, re.S | re.M):
        rows = [l for l in m.group(2).split("\n") if l.startswith("{") and l != "{0}"]
        out[m.group(1)] = [c_fields(l.rstrip(",")[1:-1]) for l in rows]
    return out


def named(fields, key):
    for f in fields:
        if isinstance(f, str) and f.startswith("." + key + "="):
            return f[len(key) + 2 :]
    return None


def load(path):
    src = open(path).read()
    history = {k: [(r[0], r[1]) for r in v] for k, v in tables(src, "commandHistory").items()}
    argtabs = tables(src, "redisCommandArg")
    cmdtabs = tables(src, "redisCommand")

    def args(table):
        out = []
        for r in argtabs.get(table, []):
            a = {"name": r[0], "type": r[1][len("ARG_TYPE_") :].lower().replace("_", "-"), "key_spec_index": int(r[2])}
            for f, v in zip(("token", "summary", "since"), r[3:6]):
                if v is not None:
                    a[f] = v
            for flag, key in (("CMD_ARG_OPTIONAL", "optional"), ("CMD_ARG_MULTIPLE", "multiple"), ("CMD_ARG_MULTIPLE_TOKEN", "multiple_token")):
                a[key] = flag in r[6].split("|")
            if named(r, "deprecated_since"):
                a["deprecated_since"] = named(r, "deprecated_since")
            if named(r, "subargs"):
                a["arguments"] = args(named(r, "subargs"))
            out.append(a)
        return out

    cmds = {}

    def walk(table, parent):
        for r in cmdtabs[table]:
            full = parent + "|" + r[0] if parent else r[0]
            cmds[full] = {
                "summary": r[1], "complexity": r[2], "since": r[3],
                "doc_flags": [f[len("CMD_DOC_") :] for f in r[4].split("|") if f != "CMD_DOC_NONE"],
                "replaced_by": r[5], "deprecated_since": r[6],
                "history": history.get(r[8], []),
                "arguments": args(named(r, "args")),
            }
            if named(r, "subcommands"):
                walk(named(r, "subcommands"), full)

    walk("redisCommandTable", "")
    return cmds


def write_table(cmds):
    out = [
        "//! COMMAND DOCS's reference data beyond summary, since, group and complexity (which the command table",
        "//! rows carry): each command's doc flags, deprecation, history and argument tree, as Redis 7.0.15 answers",
        "//! them. Read by command.rs's COMMAND DOCS reply (Keyspace thread).",
        "//! Generated by gen_command_docs.py from Redis 7.0.15's src/commands.c: regenerate, do not edit.",
        "",
        "/// One argument of a command's syntax (Redis's redisCommandArg); `args` for `oneof` and `block`.",
        "pub struct Arg {",
        "    pub name: &'static str,",
        "    pub kind: &'static str,",
        "    /// -1: not a key.",
        "    pub key_spec_index: i32,",
        "    pub token: Option<&'static str>,",
        '    /// "" for a field Redis leaves out.',
        "    pub summary: &'static str,",
        "    pub since: &'static str,",
        "    pub deprecated_since: &'static str,",
        "    pub flags: u8,",
        "    pub args: &'static [Arg],",
        "}",
        "",
        "pub const OPTIONAL: u8 = 1;",
        "pub const MULTIPLE: u8 = 1 << 1;",
        "pub const MULTIPLE_TOKEN: u8 = 1 << 2;",
        "pub const ARG_FLAG_NAMES: &[(u8, &str)] = &[(OPTIONAL, \"optional\"), (MULTIPLE, \"multiple\"), (MULTIPLE_TOKEN, \"multiple_token\")];",
        "",
        "const ARG: Arg = Arg { name: \"\", kind: \"\", key_spec_index: -1, token: None, summary: \"\", since: \"\", deprecated_since: \"\", flags: 0, args: &[] };",
        "",
        "/// A command's docs beyond its table row (\"\" and empty slices for what Redis leaves out).",
        "pub struct Docs {",
        "    /// The full name, \"parent|sub\" for a subcommand.",
        "    pub name: &'static str,",
        "    pub doc_flags: u8,",
        "    pub deprecated_since: &'static str,",
        "    pub replaced_by: &'static str,",
        "    pub history: &'static [(&'static str, &'static str)],",
        "    pub args: &'static [Arg],",
        "}",
        "",
        "pub const DEPRECATED: u8 = 1;",
        "pub const SYSCMD: u8 = 1 << 1;",
        "pub const DOC_FLAG_NAMES: &[(u8, &str)] = &[(DEPRECATED, \"deprecated\"), (SYSCMD, \"syscmd\")];",
        "",
        "const DOCS: Docs = Docs { name: \"\", doc_flags: 0, deprecated_since: \"\", replaced_by: \"\", history: &[], args: &[] };",
        "",
        "/// The docs of `name` (lowercase full name), if Redis 7.0.15 has it.",
        "pub fn find(name: &str) -> Option<&'static Docs> {",
        "    TABLE.binary_search_by(|d| d.name.cmp(name)).ok().map(|i| &TABLE[i])",
        "}",
        "",
        "/// Sorted by name.",
        "#[rustfmt::skip]",
        "static TABLE: &[Docs] = &[",
    ]
    for name in sorted(cmds):
        d = cmds[name]
        if name.startswith("sentinel"):
            continue  # sentinel mode's commands: not in a server's table
        fields = ["name: %s" % lit(name)]
        flags = [DOC_FLAGS[f] for f in d.get("doc_flags", [])]
        if flags:
            fields.append("doc_flags: " + " | ".join(flags))
        for f in ("deprecated_since", "replaced_by"):
            if opt(d, f):
                fields.append("%s: %s" % (f, lit(d[f])))
        if d.get("history"):
            fields.append("history: &[" + ", ".join("(%s, %s)" % (lit(s), lit(c)) for s, c in d["history"]) + "]")
        if d.get("arguments"):
            fields.append("args: " + args_code(d["arguments"], 1))
        out.append("    Docs { " + ", ".join(fields) + (", ..DOCS }," if len(fields) < 6 else " },"))
    out.append("];")
    open(OUT, "w").write("\n".join(out) + "\n")
    subprocess.run(["rustfmt", "--edition", "2021", OUT], check=True)  # the table itself is rustfmt::skip


STR = r'"(?:[^"\\]|\\.)*"'


def fix_rows(cmds):
    """Rewrites each row's .doc(since, complexity, summary) to Redis 7.0.15's texts."""
    seen = set()
    for path in glob.glob("src/commands/*.rs"):
        src = open(path).read()

        def repl(m):
            name = json.loads(m.group(2))
            d = cmds.get(name)
            if d is None:
                return m.group(0)
            seen.add(name)
            want = [lit(d["since"]), lit(opt(d, "complexity")), lit(d["summary"])]
            # A shared constant (PUSH_CX, ...) stays: the interop test compares what it holds.
            got = [w if m.group(i).startswith('"') else m.group(i) for i, w in zip((3, 4, 5), want)]
            return "%s%s, %s, %s)" % (m.group(1), *got)

        arg = r"(%s|[A-Z_][A-Z0-9_]*)" % STR
        new = re.sub(r'(cmd\((%s),(?:(?!cmd\(").)*?\.doc\()%s,\s*%s,\s*%s\)' % (STR, arg, arg, arg), repl, src, flags=re.S)
        if new != src:
            open(path, "w").write(new)
    missing = sorted(n for n in set(cmds) - seen if not n.startswith("sentinel"))
    if missing:
        print("no table row for:", " ".join(missing))


if __name__ == "__main__":
    cmds = load(sys.argv[1])
    write_table(cmds)
    fix_rows(cmds)
