//! CommandSpec: one row of the command table (commands layer) — name, arity, flags, key positions, ACL
//! categories, docs and handler. COMMAND, arity errors, key extraction and stats all read this one table.

use super::Ctx;
use crate::error::CmdError;

/// What a handler returns: Ok after writing its reply to `cx.out`, or the error to reply with (nothing written).
pub type CmdResult = Result<(), CmdError>;
pub type Handler = fn(&mut Ctx<'_>) -> CmdResult;
/// The handler of a container command (CONFIG, CLIENT, XGROUP, ...). Never runs: the executor replies itself
/// when a container's subcommand is missing or unknown.
pub fn container(_: &mut Ctx<'_>) -> CmdResult {
    Err(CmdError::SYNTAX)
}

/// Key positions for commands whose keys cannot be described by first/last/step (e.g. a numkeys argument).
pub type GetKeys = fn(&[&[u8]]) -> Vec<usize>;

// Flags, as Redis 7's command table names them (COMMAND INFO prints these names).
/// May modify the keyspace.
pub const WRITE: u32 = 1;
/// Only reads.
pub const READONLY: u32 = 1 << 1;
/// May grow memory: refused with OOM when over maxmemory under noeviction.
pub const DENYOOM: u32 = 1 << 2;
/// Administrative: also @admin and @dangerous.
pub const ADMIN: u32 = 1 << 3;
/// Pub/Sub related.
pub const PUBSUB: u32 = 1 << 4;
/// Not allowed from scripts.
pub const NOSCRIPT: u32 = 1 << 5;
/// May block the client.
pub const BLOCKING: u32 = 1 << 6;
/// Allowed while loading the dataset.
pub const LOADING: u32 = 1 << 7;
/// Allowed on a replica with stale data.
pub const STALE: u32 = 1 << 8;
/// Not shown by MONITOR.
pub const SKIP_MONITOR: u32 = 1 << 9;
/// Not logged by SLOWLOG.
pub const SKIP_SLOWLOG: u32 = 1 << 10;
/// O(1) or O(log N) and never blocks: @fast (everything else is @slow).
pub const FAST: u32 = 1 << 11;
/// Allowed before AUTH.
pub const NO_AUTH: u32 = 1 << 12;
/// May replicate even when read-only (e.g. lazy expiry deletes).
pub const MAY_REPLICATE: u32 = 1 << 13;
/// Keys are not mandatory (e.g. EVAL with numkeys 0).
pub const NO_MANDATORY_KEYS: u32 = 1 << 14;
/// Not allowed inside MULTI.
pub const NO_MULTI: u32 = 1 << 15;
/// Key positions need `getkeys`.
pub const MOVABLE_KEYS: u32 = 1 << 16;
/// Allowed while a script is busy.
pub const ALLOW_BUSY: u32 = 1 << 17;
/// Allowed on a cluster node for a slot being imported (after ASKING); listed by COMMAND INFO.
pub const ASKING: u32 = 1 << 18;

pub const FLAG_NAMES: &[(u32, &str)] = &[
    (WRITE, "write"),
    (READONLY, "readonly"),
    (DENYOOM, "denyoom"),
    (ADMIN, "admin"),
    (PUBSUB, "pubsub"),
    (NOSCRIPT, "noscript"),
    (BLOCKING, "blocking"),
    (LOADING, "loading"),
    (STALE, "stale"),
    (SKIP_MONITOR, "skip_monitor"),
    (SKIP_SLOWLOG, "skip_slowlog"),
    (ASKING, "asking"),
    (FAST, "fast"),
    (NO_AUTH, "no_auth"),
    (MAY_REPLICATE, "may_replicate"),
    (NO_MANDATORY_KEYS, "no_mandatory_keys"),
    (NO_MULTI, "no_multi"),
    (MOVABLE_KEYS, "movablekeys"),
    (ALLOW_BUSY, "allow_busy"),
];

// ACL categories a command belongs to by its data type or purpose; @read/@write/@fast/@slow/@admin/
// @dangerous/@pubsub/@blocking are derived from the flags.
pub const KEYSPACE: u64 = 1;
pub const STRING: u64 = 1 << 1;
pub const LIST: u64 = 1 << 2;
pub const HASH: u64 = 1 << 3;
pub const SET: u64 = 1 << 4;
pub const SORTEDSET: u64 = 1 << 5;
pub const BITMAP: u64 = 1 << 6;
pub const HYPERLOGLOG: u64 = 1 << 7;
pub const GEO: u64 = 1 << 8;
pub const STREAM: u64 = 1 << 9;
pub const CONNECTION: u64 = 1 << 10;
pub const TRANSACTION: u64 = 1 << 11;
pub const SCRIPTING: u64 = 1 << 12;
pub const DANGEROUS: u64 = 1 << 13;
/// @admin without the ADMIN flag's other effects (MONITOR hiding, ...): Redis 7.0 puts LASTSAVE and ROLE
/// there by their acl_categories alone.
pub const ADMIN_CATEGORY: u64 = 1 << 14;

pub const CATEGORY_NAMES: &[(u64, &str)] = &[
    (KEYSPACE, "keyspace"),
    (STRING, "string"),
    (LIST, "list"),
    (HASH, "hash"),
    (SET, "set"),
    (SORTEDSET, "sortedset"),
    (BITMAP, "bitmap"),
    (HYPERLOGLOG, "hyperloglog"),
    (GEO, "geo"),
    (STREAM, "stream"),
    (CONNECTION, "connection"),
    (TRANSACTION, "transaction"),
    (SCRIPTING, "scripting"),
];

/// One command (or subcommand, named "parent|sub").
pub struct CommandSpec {
    pub name: &'static str,
    /// Redis arity: N means exactly N arguments including the name; -N means at least N.
    pub arity: i32,
    pub flags: u32,
    pub first_key: i32,
    pub last_key: i32,
    pub key_step: i32,
    pub categories: u64,
    /// COMMAND DOCS group ("string", "generic", "server", "connection", ...).
    pub group: &'static str,
    pub since: &'static str,
    pub summary: &'static str,
    pub complexity: &'static str,
    pub handler: Handler,
    pub getkeys: Option<GetKeys>,
    pub subcommands: &'static [CommandSpec],
    /// Index in the command table, filled in when the table is built (for per-command stats).
    pub id: usize,
}

impl CommandSpec {
    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }

    /// Does `argc` (including the name) satisfy the arity?
    pub fn arity_ok(&self, argc: usize) -> bool {
        let a = self.arity;
        (a > 0 && argc as i32 == a) || (a < 0 && argc as i32 >= -a)
    }

    /// Positions of key arguments in `argv` (argv[0] is the command name).
    pub fn key_positions(&self, argv: &[&[u8]]) -> Vec<usize> {
        if let Some(f) = self.getkeys {
            return f(argv);
        }
        if self.first_key <= 0 {
            return Vec::new();
        }
        let argc = argv.len() as i32;
        let last = if self.last_key < 0 { argc + self.last_key } else { self.last_key.min(argc - 1) };
        let step = self.key_step.max(1);
        let mut v = Vec::new();
        let mut i = self.first_key;
        while i <= last && i < argc {
            v.push(i as usize);
            i += step;
        }
        v
    }

    /// ACL categories, flag-derived ones included, as COMMAND INFO lists them.
    pub fn acl_categories(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.has(WRITE) {
            v.push("write");
        }
        if self.has(READONLY) && self.categories & SCRIPTING == 0 {
            v.push("read");
        }
        for &(bit, name) in CATEGORY_NAMES {
            if self.categories & bit != 0 {
                v.push(name);
            }
        }
        if self.has(ADMIN) || self.categories & DANGEROUS != 0 {
            if self.has(ADMIN) || self.categories & ADMIN_CATEGORY != 0 {
                v.push("admin");
            }
            v.push("dangerous");
        }
        if self.has(PUBSUB) {
            v.push("pubsub");
        }
        if self.has(FAST) {
            v.push("fast");
        } else {
            v.push("slow");
        }
        if self.has(BLOCKING) {
            v.push("blocking");
        }
        v
    }
}

/// Starts a command-table row: name, arity, flags and handler. The builder calls that follow add what the
/// command has beyond that (`.keys`, `.acl`, `.getkeys`, `.subs`, `.group`) and end with `.doc`:
/// `cmd("get", 2, READONLY | FAST, get).keys(1, 1, 1).acl(STRING).doc("1.0.0", "O(1)", "Get the value of a key")`.
/// `const fn`, so a family's table is built at compile time like the struct literals it replaces.
pub const fn cmd(name: &'static str, arity: i32, flags: u32, handler: Handler) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags,
        first_key: 0,
        last_key: 0,
        key_step: 0,
        categories: 0,
        group: "",
        since: "",
        summary: "",
        complexity: "",
        handler,
        getkeys: None,
        subcommands: &[],
        id: 0,
    }
}

impl CommandSpec {
    /// Key positions as Redis's first/last/step (a negative last counts from the end); none by default.
    pub const fn keys(mut self, first: i32, last: i32, step: i32) -> Self {
        self.first_key = first;
        self.last_key = last;
        self.key_step = step;
        self
    }

    /// ACL categories of its own (STRING, KEYSPACE | DANGEROUS, ...); the flag-derived ones come from `flags`.
    pub const fn acl(mut self, categories: u64) -> Self {
        self.categories = categories;
        self
    }

    /// A COMMAND DOCS group other than the one its family table sets (see [`family`]).
    pub const fn group(mut self, group: &'static str) -> Self {
        self.group = group;
        self
    }

    /// Key positions computed from the arguments, for commands with a numkeys argument or the like.
    pub const fn getkeys(mut self, f: GetKeys) -> Self {
        self.getkeys = Some(f);
        self
    }

    /// The subcommands of a container command ("config" -> "config|get", ...).
    pub const fn subs(mut self, subcommands: &'static [CommandSpec]) -> Self {
        self.subcommands = subcommands;
        self
    }

    /// COMMAND DOCS texts: the version that introduced it, its time complexity and its summary.
    pub const fn doc(mut self, since: &'static str, complexity: &'static str, summary: &'static str) -> Self {
        self.since = since;
        self.complexity = complexity;
        self.summary = summary;
        self
    }
}

/// A family's table: gives every row that did not set its own `.group` the family's COMMAND DOCS group, so
/// the group is written once per table (`&family("string", [cmd(..), ...])`).
pub const fn family<const N: usize>(group: &'static str, mut rows: [CommandSpec; N]) -> [CommandSpec; N] {
    let mut i = 0;
    while i < N {
        if rows[i].group.is_empty() {
            rows[i].group = group;
        }
        i += 1;
    }
    rows
}
