//! Redis 7.0.15's key specifications and command tips, by full command name ("get", "config|get"): what
//! COMMAND INFO lists for each command and what COMMAND GETKEYS / GETKEYSANDFLAGS find keys with (commands
//! layer, read by command.rs). A data table: the facts of Redis's command reference, one row per command
//! that has key specs, tips or a key-finding function of its own; looked up only by COMMAND.

/// Key flags, as Redis's CMD_KEY_* (and in the order COMMAND INFO names them).
pub const K_RO: u32 = 1;
pub const K_RW: u32 = 1 << 1;
pub const K_OW: u32 = 1 << 2;
pub const K_RM: u32 = 1 << 3;
pub const K_ACCESS: u32 = 1 << 4;
pub const K_UPDATE: u32 = 1 << 5;
pub const K_INSERT: u32 = 1 << 6;
pub const K_DELETE: u32 = 1 << 7;
pub const K_NOT_KEY: u32 = 1 << 8;
pub const K_INCOMPLETE: u32 = 1 << 9;
pub const K_VARIABLE_FLAGS: u32 = 1 << 10;

/// The names COMMAND INFO and GETKEYSANDFLAGS print for the key flags.
pub const KEY_FLAG_NAMES: &[(u32, &str)] = &[
    (K_RO, "RO"),
    (K_RW, "RW"),
    (K_OW, "OW"),
    (K_RM, "RM"),
    (K_ACCESS, "access"),
    (K_UPDATE, "update"),
    (K_INSERT, "insert"),
    (K_DELETE, "delete"),
    (K_NOT_KEY, "not_key"),
    (K_INCOMPLETE, "incomplete"),
    (K_VARIABLE_FLAGS, "variable_flags"),
];

/// Where a key spec's search starts.
#[derive(Debug, Clone, Copy)]
pub enum Bs {
    /// At this argument.
    Index(i32),
    /// After this keyword, searched from this argument (negative: from the end, backwards).
    Keyword(&'static str, i32),
    /// Not describable: only the command's own key-finding function knows.
    Unknown,
}

/// How a key spec finds its keys from where the search started.
#[derive(Debug, Clone, Copy)]
pub enum Fk {
    /// (lastkey, step, limit): keys up to `lastkey` past the first (negative: from the end), every `step`;
    /// with lastkey -1 and a limit, only 1/limit of what remains.
    Range(i32, i32, i32),
    /// (keynumidx, firstkey, step): a count of keys at `keynumidx`, the keys from `firstkey` past it.
    Keynum(i32, i32, i32),
    /// Not describable.
    Unknown,
}

/// One key spec.
#[derive(Debug)]
pub struct KeySpec {
    /// Redis's remark on it ("" when none).
    pub notes: &'static str,
    /// K_* bits.
    pub flags: u32,
    pub bs: Bs,
    pub fk: Fk,
}

/// A command's entry.
#[derive(Debug)]
pub struct Meta {
    pub name: &'static str,
    /// Redis has a key-finding function for it (so COMMAND INFO marks it movablekeys).
    pub getkeys_proc: bool,
    /// Refused while the dataset loads asynchronously (COMMAND INFO's no_async_loading).
    pub no_async_loading: bool,
    /// COMMAND INFO's tips.
    pub tips: &'static [&'static str],
    pub specs: &'static [KeySpec],
}

impl Meta {
    /// Redis's populateCommandLegacyRangeSpec: the (first, last, step) COMMAND INFO shows, glued from the
    /// plain range specs (last absolute, or negative from the end), and whether keys may lie outside it
    /// (movablekeys).
    pub fn legacy_range(&self) -> (Option<(i32, i32, i32)>, bool) {
        match self.specs {
            [] => (None, false),
            [one] => match (one.bs, one.fk) {
                (Bs::Index(pos), Fk::Range(last, step, _)) => {
                    let last = if last >= 0 { last + pos } else { last };
                    (Some((pos, last, step)), one.flags & K_INCOMPLETE != 0)
                }
                _ => (None, true),
            },
            specs => {
                let mut movable = false;
                let (mut first, mut last, mut prev_last) = (i32::MAX, 0i32, 0i32);
                for ks in specs {
                    let (Bs::Index(pos), Fk::Range(lastkey, step, _)) = (ks.bs, ks.fk) else {
                        movable = true;
                        continue;
                    };
                    if step != 1 || (prev_last != 0 && prev_last != pos - 1) {
                        movable = true;
                        continue;
                    }
                    if ks.flags & K_INCOMPLETE != 0 {
                        movable = true;
                    }
                    first = first.min(pos);
                    let abs = if lastkey >= 0 { lastkey + pos } else { lastkey };
                    // Redis compares unsigned, so a negative (from the end) last wins.
                    last = if (abs as u32) > (last as u32) { abs } else { last };
                    prev_last = last;
                }
                if first == i32::MAX {
                    return (None, true);
                }
                (Some((first, last, 1)), movable)
            }
        }
    }

    /// The movablekeys flag COMMAND INFO shows.
    pub fn movable(&self) -> bool {
        self.legacy_range().1
    }
}

/// The entry of command `name` (full name, lower case), if it has one.
pub fn meta(name: &str) -> Option<&'static Meta> {
    META.binary_search_by(|m| m.name.cmp(name)).ok().map(|i| &META[i])
}

/// [`meta`] of a table command, by its id: one index instead of a search by name, for the per-command ACL
/// check of a restricted user.
pub fn meta_of(spec: &super::spec::CommandSpec) -> Option<&'static Meta> {
    static BY_ID: std::sync::OnceLock<Vec<Option<&'static Meta>>> = std::sync::OnceLock::new();
    let by_id = BY_ID.get_or_init(|| {
        let all = &super::table::table().all;
        let mut v = vec![None; all.len()];
        for s in all {
            v[s.id] = meta(s.name);
        }
        v
    });
    match by_id.get(spec.id) {
        Some(m) if std::ptr::eq(spec.name, super::table::table().all[spec.id].name) => *m,
        // A spec that is not the table's own copy (ids are only meaningful there).
        _ => meta(spec.name),
    }
}

/// Every entry, sorted by name.
#[rustfmt::skip]
static META: &[Meta] = &[
    Meta { name: "append", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_INSERT, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "bgrewriteaof", getkeys_proc: false, no_async_loading: true, tips: &[], specs: &[] },
    Meta { name: "bgsave", getkeys_proc: false, no_async_loading: true, tips: &[], specs: &[] },
    Meta { name: "bitcount", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "bitfield", getkeys_proc: true, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "This command allows both access and modification of the key", flags: K_RW | K_UPDATE | K_ACCESS | K_VARIABLE_FLAGS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "bitfield_ro", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "bitop", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_OW | K_UPDATE, bs: Bs::Index(2), fk: Fk::Range(0, 1, 0) }, KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(3), fk: Fk::Range(-1, 1, 0) }] },
    Meta { name: "bitpos", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "blmove", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_ACCESS | K_DELETE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }, KeySpec { notes: "", flags: K_RW | K_INSERT, bs: Bs::Index(2), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "blmpop", getkeys_proc: true, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_ACCESS | K_DELETE, bs: Bs::Index(2), fk: Fk::Keynum(0, 1, 1) }] },
    Meta { name: "blpop", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_ACCESS | K_DELETE, bs: Bs::Index(1), fk: Fk::Range(-2, 1, 0) }] },
    Meta { name: "brpop", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_ACCESS | K_DELETE, bs: Bs::Index(1), fk: Fk::Range(-2, 1, 0) }] },
    Meta { name: "brpoplpush", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_ACCESS | K_DELETE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }, KeySpec { notes: "", flags: K_RW | K_INSERT, bs: Bs::Index(2), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "bzmpop", getkeys_proc: true, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_ACCESS | K_DELETE, bs: Bs::Index(2), fk: Fk::Keynum(0, 1, 1) }] },
    Meta { name: "bzpopmax", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_ACCESS | K_DELETE, bs: Bs::Index(1), fk: Fk::Range(-2, 1, 0) }] },
    Meta { name: "bzpopmin", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_ACCESS | K_DELETE, bs: Bs::Index(1), fk: Fk::Range(-2, 1, 0) }] },
    Meta { name: "client|info", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output"], specs: &[] },
    Meta { name: "client|list", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output"], specs: &[] },
    Meta { name: "cluster|addslots", getkeys_proc: false, no_async_loading: true, tips: &[], specs: &[] },
    Meta { name: "cluster|addslotsrange", getkeys_proc: false, no_async_loading: true, tips: &[], specs: &[] },
    Meta { name: "cluster|bumpepoch", getkeys_proc: false, no_async_loading: true, tips: &["nondeterministic_output"], specs: &[] },
    Meta { name: "cluster|count-failure-reports", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output"], specs: &[] },
    Meta { name: "cluster|delslots", getkeys_proc: false, no_async_loading: true, tips: &[], specs: &[] },
    Meta { name: "cluster|delslotsrange", getkeys_proc: false, no_async_loading: true, tips: &[], specs: &[] },
    Meta { name: "cluster|failover", getkeys_proc: false, no_async_loading: true, tips: &[], specs: &[] },
    Meta { name: "cluster|flushslots", getkeys_proc: false, no_async_loading: true, tips: &[], specs: &[] },
    Meta { name: "cluster|forget", getkeys_proc: false, no_async_loading: true, tips: &[], specs: &[] },
    Meta { name: "cluster|getkeysinslot", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output"], specs: &[] },
    Meta { name: "cluster|info", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output"], specs: &[] },
    Meta { name: "cluster|links", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output"], specs: &[] },
    Meta { name: "cluster|meet", getkeys_proc: false, no_async_loading: true, tips: &[], specs: &[] },
    Meta { name: "cluster|nodes", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output"], specs: &[] },
    Meta { name: "cluster|replicas", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output"], specs: &[] },
    Meta { name: "cluster|replicate", getkeys_proc: false, no_async_loading: true, tips: &[], specs: &[] },
    Meta { name: "cluster|saveconfig", getkeys_proc: false, no_async_loading: true, tips: &[], specs: &[] },
    Meta { name: "cluster|set-config-epoch", getkeys_proc: false, no_async_loading: true, tips: &[], specs: &[] },
    Meta { name: "cluster|setslot", getkeys_proc: false, no_async_loading: true, tips: &[], specs: &[] },
    Meta { name: "cluster|shards", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output"], specs: &[] },
    Meta { name: "cluster|slaves", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output"], specs: &[] },
    Meta { name: "cluster|slots", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output"], specs: &[] },
    Meta { name: "command", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output_order"], specs: &[] },
    Meta { name: "command|docs", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output_order"], specs: &[] },
    Meta { name: "command|info", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output_order"], specs: &[] },
    Meta { name: "command|list", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output_order"], specs: &[] },
    Meta { name: "config|set", getkeys_proc: false, no_async_loading: false, tips: &["request_policy:all_nodes", "response_policy:all_succeeded"], specs: &[] },
    Meta { name: "copy", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }, KeySpec { notes: "", flags: K_OW | K_UPDATE, bs: Bs::Index(2), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "dbsize", getkeys_proc: false, no_async_loading: false, tips: &["request_policy:all_shards", "response_policy:agg_sum"], specs: &[] },
    Meta { name: "decr", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_ACCESS | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "decrby", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_ACCESS | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "del", getkeys_proc: false, no_async_loading: false, tips: &["request_policy:multi_shard", "response_policy:agg_sum"], specs: &[KeySpec { notes: "", flags: K_RM | K_DELETE, bs: Bs::Index(1), fk: Fk::Range(-1, 1, 0) }] },
    Meta { name: "dump", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output"], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "eval", getkeys_proc: true, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "We cannot tell how the keys will be used so we assume the worst, RW and UPDATE", flags: K_RW | K_ACCESS | K_UPDATE, bs: Bs::Index(2), fk: Fk::Keynum(0, 1, 1) }] },
    Meta { name: "eval_ro", getkeys_proc: true, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "We cannot tell how the keys will be used so we assume the worst, RO and ACCESS", flags: K_RO | K_ACCESS, bs: Bs::Index(2), fk: Fk::Keynum(0, 1, 1) }] },
    Meta { name: "evalsha", getkeys_proc: true, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_ACCESS | K_UPDATE, bs: Bs::Index(2), fk: Fk::Keynum(0, 1, 1) }] },
    Meta { name: "evalsha_ro", getkeys_proc: true, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(2), fk: Fk::Keynum(0, 1, 1) }] },
    Meta { name: "exists", getkeys_proc: false, no_async_loading: false, tips: &["request_policy:multi_shard", "response_policy:agg_sum"], specs: &[KeySpec { notes: "", flags: K_RO, bs: Bs::Index(1), fk: Fk::Range(-1, 1, 0) }] },
    Meta { name: "expire", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "expireat", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "expiretime", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "fcall", getkeys_proc: true, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "We cannot tell how the keys will be used so we assume the worst, RW and UPDATE", flags: K_RW | K_ACCESS | K_UPDATE, bs: Bs::Index(2), fk: Fk::Keynum(0, 1, 1) }] },
    Meta { name: "fcall_ro", getkeys_proc: true, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "We cannot tell how the keys will be used so we assume the worst, RO and ACCESS", flags: K_RO | K_ACCESS, bs: Bs::Index(2), fk: Fk::Keynum(0, 1, 1) }] },
    Meta { name: "flushall", getkeys_proc: false, no_async_loading: false, tips: &["request_policy:all_shards", "response_policy:all_succeeded"], specs: &[] },
    Meta { name: "flushdb", getkeys_proc: false, no_async_loading: false, tips: &["request_policy:all_shards", "response_policy:all_succeeded"], specs: &[] },
    Meta { name: "function|delete", getkeys_proc: false, no_async_loading: false, tips: &["request_policy:all_shards", "response_policy:all_succeeded"], specs: &[] },
    Meta { name: "function|flush", getkeys_proc: false, no_async_loading: false, tips: &["request_policy:all_shards", "response_policy:all_succeeded"], specs: &[] },
    Meta { name: "function|kill", getkeys_proc: false, no_async_loading: false, tips: &["request_policy:all_shards", "response_policy:one_succeeded"], specs: &[] },
    Meta { name: "function|list", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output_order"], specs: &[] },
    Meta { name: "function|load", getkeys_proc: false, no_async_loading: false, tips: &["request_policy:all_shards", "response_policy:all_succeeded"], specs: &[] },
    Meta { name: "function|restore", getkeys_proc: false, no_async_loading: false, tips: &["request_policy:all_shards", "response_policy:all_succeeded"], specs: &[] },
    Meta { name: "function|stats", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output", "request_policy:all_shards", "response_policy:special"], specs: &[] },
    Meta { name: "geoadd", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "geodist", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "geohash", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "geopos", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "georadius", getkeys_proc: true, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }, KeySpec { notes: "", flags: K_OW | K_UPDATE, bs: Bs::Keyword("STORE", 6), fk: Fk::Range(0, 1, 0) }, KeySpec { notes: "", flags: K_OW | K_UPDATE, bs: Bs::Keyword("STOREDIST", 6), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "georadius_ro", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "georadiusbymember", getkeys_proc: true, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }, KeySpec { notes: "", flags: K_OW | K_UPDATE, bs: Bs::Keyword("STORE", 5), fk: Fk::Range(0, 1, 0) }, KeySpec { notes: "", flags: K_OW | K_UPDATE, bs: Bs::Keyword("STOREDIST", 5), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "georadiusbymember_ro", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "geosearch", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "geosearchstore", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_OW | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }, KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(2), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "get", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "getbit", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "getdel", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_ACCESS | K_DELETE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "getex", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "RW and UPDATE because it changes the TTL", flags: K_RW | K_ACCESS | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "getrange", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "getset", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_ACCESS | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "hdel", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_DELETE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "hexists", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "hget", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "hgetall", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output_order"], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "hincrby", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_ACCESS | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "hincrbyfloat", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_ACCESS | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "hkeys", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output_order"], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "hlen", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "hmget", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "hmset", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "hrandfield", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output"], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "hscan", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output"], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "hset", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "hsetnx", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_INSERT, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "hstrlen", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "hvals", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output_order"], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "incr", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_ACCESS | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "incrby", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_ACCESS | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "incrbyfloat", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_ACCESS | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "info", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output", "request_policy:all_shards", "response_policy:special"], specs: &[] },
    Meta { name: "keys", getkeys_proc: false, no_async_loading: false, tips: &["request_policy:all_shards", "nondeterministic_output_order"], specs: &[] },
    Meta { name: "lastsave", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output"], specs: &[] },
    Meta { name: "latency|doctor", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output", "request_policy:all_nodes", "response_policy:special"], specs: &[] },
    Meta { name: "latency|graph", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output", "request_policy:all_nodes", "response_policy:special"], specs: &[] },
    Meta { name: "latency|histogram", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output", "request_policy:all_nodes", "response_policy:special"], specs: &[] },
    Meta { name: "latency|history", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output", "request_policy:all_nodes", "response_policy:special"], specs: &[] },
    Meta { name: "latency|latest", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output", "request_policy:all_nodes", "response_policy:special"], specs: &[] },
    Meta { name: "latency|reset", getkeys_proc: false, no_async_loading: false, tips: &["request_policy:all_nodes", "response_policy:all_succeeded"], specs: &[] },
    Meta { name: "lcs", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(1, 1, 0) }] },
    Meta { name: "lindex", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "linsert", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_INSERT, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "llen", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "lmove", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_ACCESS | K_DELETE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }, KeySpec { notes: "", flags: K_RW | K_INSERT, bs: Bs::Index(2), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "lmpop", getkeys_proc: true, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_ACCESS | K_DELETE, bs: Bs::Index(1), fk: Fk::Keynum(0, 1, 1) }] },
    Meta { name: "lpop", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_ACCESS | K_DELETE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "lpos", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "lpush", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_INSERT, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "lpushx", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_INSERT, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "lrange", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "lrem", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_DELETE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "lset", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "ltrim", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_DELETE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "memory|doctor", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output", "request_policy:all_shards", "response_policy:special"], specs: &[] },
    Meta { name: "memory|malloc-stats", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output", "request_policy:all_shards", "response_policy:special"], specs: &[] },
    Meta { name: "memory|purge", getkeys_proc: false, no_async_loading: false, tips: &["request_policy:all_shards", "response_policy:all_succeeded"], specs: &[] },
    Meta { name: "memory|stats", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output", "request_policy:all_shards", "response_policy:special"], specs: &[] },
    Meta { name: "memory|usage", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO, bs: Bs::Index(2), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "mget", getkeys_proc: false, no_async_loading: false, tips: &["request_policy:multi_shard"], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(-1, 1, 0) }] },
    Meta { name: "migrate", getkeys_proc: true, no_async_loading: false, tips: &["nondeterministic_output"], specs: &[KeySpec { notes: "", flags: K_RW | K_ACCESS | K_DELETE, bs: Bs::Index(3), fk: Fk::Range(0, 1, 0) }, KeySpec { notes: "", flags: K_RW | K_ACCESS | K_DELETE | K_INCOMPLETE, bs: Bs::Keyword("KEYS", -2), fk: Fk::Range(-1, 1, 0) }] },
    Meta { name: "module|list", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output_order"], specs: &[] },
    Meta { name: "module|load", getkeys_proc: false, no_async_loading: true, tips: &[], specs: &[] },
    Meta { name: "module|loadex", getkeys_proc: false, no_async_loading: true, tips: &[], specs: &[] },
    Meta { name: "module|unload", getkeys_proc: false, no_async_loading: true, tips: &[], specs: &[] },
    Meta { name: "move", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_ACCESS | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "mset", getkeys_proc: false, no_async_loading: false, tips: &["request_policy:multi_shard", "response_policy:all_succeeded"], specs: &[KeySpec { notes: "", flags: K_OW | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(-1, 2, 0) }] },
    Meta { name: "msetnx", getkeys_proc: false, no_async_loading: false, tips: &["request_policy:multi_shard", "response_policy:agg_min"], specs: &[KeySpec { notes: "", flags: K_OW | K_INSERT, bs: Bs::Index(1), fk: Fk::Range(-1, 2, 0) }] },
    Meta { name: "object|encoding", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output"], specs: &[KeySpec { notes: "", flags: K_RO, bs: Bs::Index(2), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "object|freq", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output"], specs: &[KeySpec { notes: "", flags: K_RO, bs: Bs::Index(2), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "object|idletime", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output"], specs: &[KeySpec { notes: "", flags: K_RO, bs: Bs::Index(2), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "object|refcount", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output"], specs: &[KeySpec { notes: "", flags: K_RO, bs: Bs::Index(2), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "persist", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "pexpire", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "pexpireat", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "pexpiretime", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "pfadd", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_INSERT, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "pfcount", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "RW because it may change the internal representation of the key, and propagate to replicas", flags: K_RW | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(-1, 1, 0) }] },
    Meta { name: "pfdebug", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_ACCESS, bs: Bs::Index(2), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "pfmerge", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_ACCESS | K_INSERT, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }, KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(2), fk: Fk::Range(-1, 1, 0) }] },
    Meta { name: "ping", getkeys_proc: false, no_async_loading: false, tips: &["request_policy:all_shards", "response_policy:all_succeeded"], specs: &[] },
    Meta { name: "psetex", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_OW | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "psync", getkeys_proc: false, no_async_loading: true, tips: &[], specs: &[] },
    Meta { name: "pttl", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output"], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "randomkey", getkeys_proc: false, no_async_loading: false, tips: &["request_policy:all_shards", "nondeterministic_output"], specs: &[] },
    Meta { name: "rename", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_ACCESS | K_DELETE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }, KeySpec { notes: "", flags: K_OW | K_UPDATE, bs: Bs::Index(2), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "renamenx", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_ACCESS | K_DELETE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }, KeySpec { notes: "", flags: K_OW | K_INSERT, bs: Bs::Index(2), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "replicaof", getkeys_proc: false, no_async_loading: true, tips: &[], specs: &[] },
    Meta { name: "restore", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_OW | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "restore-asking", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_OW | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "rpop", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_ACCESS | K_DELETE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "rpoplpush", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_ACCESS | K_DELETE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }, KeySpec { notes: "", flags: K_RW | K_INSERT, bs: Bs::Index(2), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "rpush", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_INSERT, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "rpushx", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_INSERT, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "sadd", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_INSERT, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "save", getkeys_proc: false, no_async_loading: true, tips: &[], specs: &[] },
    Meta { name: "scan", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output", "request_policy:special"], specs: &[] },
    Meta { name: "scard", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "script|debug", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[] },
    Meta { name: "script|exists", getkeys_proc: false, no_async_loading: false, tips: &["request_policy:all_shards", "response_policy:agg_logical_and"], specs: &[] },
    Meta { name: "script|flush", getkeys_proc: false, no_async_loading: false, tips: &["request_policy:all_nodes", "response_policy:all_succeeded"], specs: &[] },
    Meta { name: "script|kill", getkeys_proc: false, no_async_loading: false, tips: &["request_policy:all_shards", "response_policy:one_succeeded"], specs: &[] },
    Meta { name: "script|load", getkeys_proc: false, no_async_loading: false, tips: &["request_policy:all_nodes", "response_policy:all_succeeded"], specs: &[] },
    Meta { name: "sdiff", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output_order"], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(-1, 1, 0) }] },
    Meta { name: "sdiffstore", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_OW | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }, KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(2), fk: Fk::Range(-1, 1, 0) }] },
    Meta { name: "set", getkeys_proc: true, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "RW and ACCESS due to the optional `GET` argument", flags: K_RW | K_ACCESS | K_UPDATE | K_VARIABLE_FLAGS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "setbit", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_ACCESS | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "setex", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_OW | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "setnx", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_OW | K_INSERT, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "setrange", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "sinter", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output_order"], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(-1, 1, 0) }] },
    Meta { name: "sintercard", getkeys_proc: true, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Keynum(0, 1, 1) }] },
    Meta { name: "sinterstore", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }, KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(2), fk: Fk::Range(-1, 1, 0) }] },
    Meta { name: "sismember", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "slaveof", getkeys_proc: false, no_async_loading: true, tips: &[], specs: &[] },
    Meta { name: "slowlog|get", getkeys_proc: false, no_async_loading: false, tips: &["request_policy:all_nodes", "nondeterministic_output"], specs: &[] },
    Meta { name: "slowlog|len", getkeys_proc: false, no_async_loading: false, tips: &["request_policy:all_nodes", "response_policy:agg_sum", "nondeterministic_output"], specs: &[] },
    Meta { name: "slowlog|reset", getkeys_proc: false, no_async_loading: false, tips: &["request_policy:all_nodes", "response_policy:all_succeeded"], specs: &[] },
    Meta { name: "smembers", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output_order"], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "smismember", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "smove", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_ACCESS | K_DELETE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }, KeySpec { notes: "", flags: K_RW | K_INSERT, bs: Bs::Index(2), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "sort", getkeys_proc: true, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }, KeySpec { notes: "For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort", flags: K_RO | K_ACCESS, bs: Bs::Unknown, fk: Fk::Unknown }, KeySpec { notes: "For the optional STORE keyword. It is marked 'unknown' because the keyword can appear anywhere in the argument array", flags: K_OW | K_UPDATE, bs: Bs::Unknown, fk: Fk::Unknown }] },
    Meta { name: "sort_ro", getkeys_proc: true, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }, KeySpec { notes: "For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort", flags: K_RO | K_ACCESS, bs: Bs::Unknown, fk: Fk::Unknown }] },
    Meta { name: "spop", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output"], specs: &[KeySpec { notes: "", flags: K_RW | K_ACCESS | K_DELETE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "spublish", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_NOT_KEY, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "srandmember", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output"], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "srem", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_DELETE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "sscan", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output"], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "ssubscribe", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_NOT_KEY, bs: Bs::Index(1), fk: Fk::Range(-1, 1, 0) }] },
    Meta { name: "strlen", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "substr", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "sunion", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output_order"], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(-1, 1, 0) }] },
    Meta { name: "sunionstore", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_OW | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }, KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(2), fk: Fk::Range(-1, 1, 0) }] },
    Meta { name: "sunsubscribe", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_NOT_KEY, bs: Bs::Index(1), fk: Fk::Range(-1, 1, 0) }] },
    Meta { name: "sync", getkeys_proc: false, no_async_loading: true, tips: &[], specs: &[] },
    Meta { name: "time", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output"], specs: &[] },
    Meta { name: "touch", getkeys_proc: false, no_async_loading: false, tips: &["request_policy:multi_shard", "response_policy:agg_sum"], specs: &[KeySpec { notes: "", flags: K_RO, bs: Bs::Index(1), fk: Fk::Range(-1, 1, 0) }] },
    Meta { name: "ttl", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output"], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "type", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "unlink", getkeys_proc: false, no_async_loading: false, tips: &["request_policy:multi_shard", "response_policy:agg_sum"], specs: &[KeySpec { notes: "", flags: K_RM | K_DELETE, bs: Bs::Index(1), fk: Fk::Range(-1, 1, 0) }] },
    Meta { name: "wait", getkeys_proc: false, no_async_loading: false, tips: &["request_policy:all_shards", "response_policy:agg_min"], specs: &[] },
    Meta { name: "watch", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO, bs: Bs::Index(1), fk: Fk::Range(-1, 1, 0) }] },
    Meta { name: "xack", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "xadd", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output"], specs: &[KeySpec { notes: "UPDATE instead of INSERT because of the optional trimming feature", flags: K_RW | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "xautoclaim", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output"], specs: &[KeySpec { notes: "", flags: K_RW | K_DELETE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "xclaim", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output"], specs: &[KeySpec { notes: "", flags: K_RW | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "xdel", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_DELETE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "xgroup|create", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_INSERT, bs: Bs::Index(2), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "xgroup|createconsumer", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_INSERT, bs: Bs::Index(2), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "xgroup|delconsumer", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_DELETE, bs: Bs::Index(2), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "xgroup|destroy", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_DELETE, bs: Bs::Index(2), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "xgroup|setid", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_UPDATE, bs: Bs::Index(2), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "xinfo|consumers", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output"], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(2), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "xinfo|groups", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(2), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "xinfo|stream", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(2), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "xlen", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "xpending", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output"], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "xrange", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "xread", getkeys_proc: true, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Keyword("STREAMS", 1), fk: Fk::Range(-1, 1, 2) }] },
    Meta { name: "xreadgroup", getkeys_proc: true, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Keyword("STREAMS", 4), fk: Fk::Range(-1, 1, 2) }] },
    Meta { name: "xrevrange", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "xsetid", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "xtrim", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output"], specs: &[KeySpec { notes: "", flags: K_RW | K_DELETE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "zadd", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "zcard", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "zcount", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "zdiff", getkeys_proc: true, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Keynum(0, 1, 1) }] },
    Meta { name: "zdiffstore", getkeys_proc: true, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_OW | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }, KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(2), fk: Fk::Keynum(0, 1, 1) }] },
    Meta { name: "zincrby", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_ACCESS | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "zinter", getkeys_proc: true, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Keynum(0, 1, 1) }] },
    Meta { name: "zintercard", getkeys_proc: true, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Keynum(0, 1, 1) }] },
    Meta { name: "zinterstore", getkeys_proc: true, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_OW | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }, KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(2), fk: Fk::Keynum(0, 1, 1) }] },
    Meta { name: "zlexcount", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "zmpop", getkeys_proc: true, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_ACCESS | K_DELETE, bs: Bs::Index(1), fk: Fk::Keynum(0, 1, 1) }] },
    Meta { name: "zmscore", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "zpopmax", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_ACCESS | K_DELETE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "zpopmin", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_ACCESS | K_DELETE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "zrandmember", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output"], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "zrange", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "zrangebylex", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "zrangebyscore", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "zrangestore", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_OW | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }, KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(2), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "zrank", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "zrem", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_DELETE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "zremrangebylex", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_DELETE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "zremrangebyrank", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_DELETE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "zremrangebyscore", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RW | K_DELETE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "zrevrange", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "zrevrangebylex", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "zrevrangebyscore", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "zrevrank", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "zscan", getkeys_proc: false, no_async_loading: false, tips: &["nondeterministic_output"], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "zscore", getkeys_proc: false, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }] },
    Meta { name: "zunion", getkeys_proc: true, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(1), fk: Fk::Keynum(0, 1, 1) }] },
    Meta { name: "zunionstore", getkeys_proc: true, no_async_loading: false, tips: &[], specs: &[KeySpec { notes: "", flags: K_OW | K_UPDATE, bs: Bs::Index(1), fk: Fk::Range(0, 1, 0) }, KeySpec { notes: "", flags: K_RO | K_ACCESS, bs: Bs::Index(2), fk: Fk::Keynum(0, 1, 1) }] },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_and_found() {
        assert!(META.windows(2).all(|w| w[0].name < w[1].name));
        let lmove = meta("lmove").unwrap();
        assert_eq!(lmove.specs.len(), 2);
        assert_eq!(lmove.specs[1].flags, K_RW | K_INSERT);
        assert!(!lmove.movable());
        assert!(meta("zunionstore").unwrap().movable());
        assert!(meta("xread").unwrap().movable());
        assert!(!meta("memory|usage").unwrap().movable());
        assert!(
            meta("config|get").is_some_and(|m| m.specs.is_empty() && !m.tips.is_empty())
                || meta("config|get").is_none()
        );
        assert!(meta("nosuch").is_none());
    }
}
