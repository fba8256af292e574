//! The ACL model: users, their selectors, the rule parser (`ACL SETUSER` / `user` lines), the permission
//! matcher and the rule describer, as Redis 7.0's acl.c (commands layer: it reads the command table for
//! command ids and categories, so it lives beside the table rather than in `types`). The commands that
//! use it are in acl.rs; the Keyspace's per-command check goes through [`check`].

use super::keyspecs::{self, K_ACCESS, K_DELETE, K_INSERT, K_NOT_KEY, K_UPDATE};
use super::spec::{CommandSpec, NO_AUTH};
use super::table::{sub_name, table};
use crate::types::glob::glob_match;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// Redis's ACL categories, in its order (ACL CAT lists them so, and the describer tries them so).
pub const CATEGORIES: [&str; 21] = [
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// The bit of category `name` (case-insensitive) in a [`Catalog`] mask, if it is one.
pub fn category_bit(name: &[u8]) -> Option<u32> {
    CATEGORIES.iter().position(|c| c.as_bytes().eq_ignore_ascii_case(name)).map(|i| 1 << i)
}

/// What the rules need from the command table: each command id's categories, and the commands in the order
/// the describer and ACL CAT walk them (top-level commands, each followed by its subcommands).
pub struct Catalog {
    /// Category mask by command id.
    pub cats: Vec<u32>,
    /// Top-level commands in walking order.
    pub order: Vec<&'static CommandSpec>,
    /// Number of command ids (the width of a selector's bitmap).
    pub ids: usize,
}

/// The catalog, built once from the command table.
pub fn catalog() -> &'static Catalog {
    static CAT: OnceLock<Catalog> = OnceLock::new();
    CAT.get_or_init(|| {
        let t = table();
        let mut cats = vec![0u32; t.all.len()];
        for spec in &t.all {
            for name in spec.acl_categories() {
                if let Some(bit) = category_bit(name.as_bytes()) {
                    cats[spec.id] |= bit;
                }
            }
        }
        let mut order: Vec<&'static CommandSpec> = t.commands().collect();
        order.sort_by_key(|s| s.id);
        Catalog { cats, order, ids: t.all.len() }
    })
}

/// Look a command up the way rules name it: "get", or "config|get" for a subcommand (Redis's
/// ACLLookupCommand); anything else is unknown.
pub fn lookup_command(name: &[u8]) -> Option<&'static CommandSpec> {
    let mut parts = name.split(|&c| c == b'|');
    let top = table().lookup(parts.next()?)?;
    match (parts.next(), parts.next()) {
        (None, _) => Some(top),
        (Some(sub), None) if !top.subcommands.is_empty() => {
            top.subcommands.iter().find(|s| sub_name(s).as_bytes().eq_ignore_ascii_case(sub))
        }
        _ => None,
    }
}

/// Why a rule was refused: each maps to Redis's ACLSetUserStringError text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleError {
    /// EINVAL.
    Syntax,
    /// ENOENT.
    UnknownCommand,
    /// EEXIST.
    KeyAfterAll,
    /// EISDIR.
    ChannelAfterAll,
    /// ENODEV.
    NoSuchPassword,
    /// EBADMSG.
    BadHash,
    /// ECHILD.
    SubcommandFirstArg,
}

impl RuleError {
    /// Redis's text for it.
    pub fn text(self) -> &'static str {
        match self {
            RuleError::Syntax => "Syntax error",
            RuleError::UnknownCommand => "Unknown command or category name in ACL",
            RuleError::KeyAfterAll => "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
            RuleError::ChannelAfterAll => "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
            RuleError::NoSuchPassword => "The password you are trying to remove from the user does not exist",
            RuleError::BadHash => "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
            RuleError::SubcommandFirstArg => "Allowing first-arg of a subcommand is not supported",
        }
    }
}

/// Read permission of a key pattern (%R).
pub const PERM_READ: u8 = 1;
/// Write permission of a key pattern (%W).
pub const PERM_WRITE: u8 = 2;
/// Both (a plain ~pattern).
pub const PERM_ALL: u8 = 3;

/// A key pattern and the access it grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPattern {
    /// PERM_READ, PERM_WRITE or both.
    pub perm: u8,
    /// A glob over key names.
    pub pattern: Vec<u8>,
    /// The pattern's shape, for matching without the glob matcher.
    shape: Shape,
}

/// What a key pattern is, glob-wise: the common ACL patterns (`~key:*`, `~config`) are compared, not run
/// through the glob matcher on every key of every command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// No glob syntax at all: the key must be equal.
    Exact,
    /// Its first `n` bytes have no glob syntax and a lone `*` ends it: the key must start with them.
    Prefix(usize),
    /// Anything else.
    Glob,
}

impl KeyPattern {
    fn new(perm: u8, pattern: &[u8]) -> KeyPattern {
        let plain = |b: &[u8]| !b.iter().any(|c| matches!(c, b'*' | b'?' | b'[' | b'\\'));
        let shape = match pattern.split_last() {
            _ if plain(pattern) => Shape::Exact,
            Some((b'*', head)) if plain(head) => Shape::Prefix(head.len()),
            _ => Shape::Glob,
        };
        KeyPattern { perm, pattern: pattern.to_vec(), shape }
    }

    /// Does `key` match? As `glob_match` would say: the empty key and a key no longer than the prefix go to
    /// it (its rules for an empty string and a `*` matching nothing).
    fn matches(&self, key: &[u8]) -> bool {
        match self.shape {
            Shape::Exact if !key.is_empty() && !self.pattern.is_empty() => key == &self.pattern[..],
            Shape::Prefix(n) if key.len() > n => key.starts_with(&self.pattern[..n]),
            _ => glob_match(&self.pattern, key, false),
        }
    }

    /// "~p", "%R~p" or "%W~p", as Redis writes it.
    fn describe(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(match self.perm {
            PERM_READ => b"%R~",
            PERM_WRITE => b"%W~",
            _ => b"~",
        });
        out.extend_from_slice(&self.pattern);
    }
}

/// One set of permissions (Redis's aclSelector): the user's root selector, or one added with `(...)`.
/// A command runs when any one selector allows the command, all its keys and all its channels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selector {
    /// Every key (`~*`, allkeys): no pattern is looked at.
    pub allkeys: bool,
    /// Every channel (`&*`, allchannels).
    pub allchannels: bool,
    /// Every bit is set and none was cleared since (`+@all`): no bitmap test needed.
    pub allcommands: bool,
    /// Set by `+@all`, cleared by `-@all`: the rules start from +@all when described.
    future: bool,
    /// Allowed command ids.
    bits: Vec<u64>,
    /// First arguments allowed for an otherwise denied command: (command id, allowed argv[1] values).
    firstargs: Vec<(usize, Vec<Vec<u8>>)>,
    /// Key patterns, in the order they were added.
    pub patterns: Vec<KeyPattern>,
    /// Channel patterns, in the order they were added.
    pub channels: Vec<Vec<u8>>,
}

impl Selector {
    /// A selector that allows nothing; all channels when `acl-pubsub-default` is allchannels.
    pub fn new(pubsub_all: bool) -> Selector {
        Selector {
            allkeys: false,
            allchannels: pubsub_all,
            allcommands: false,
            future: false,
            bits: vec![0; catalog().ids.div_ceil(64)],
            firstargs: Vec::new(),
            patterns: Vec::new(),
            channels: Vec::new(),
        }
    }

    /// Is command `id` allowed by the bitmap?
    #[inline]
    pub fn bit(&self, id: usize) -> bool {
        self.bits[id / 64] & (1 << (id % 64)) != 0
    }

    fn set_bit(&mut self, id: usize, on: bool) {
        if on {
            self.bits[id / 64] |= 1 << (id % 64);
        } else {
            self.bits[id / 64] &= !(1 << (id % 64));
            self.allcommands = false;
        }
    }

    /// ACLChangeSelectorPerm: the command, and a container's subcommands with it.
    fn change_perm(&mut self, spec: &CommandSpec, allow: bool) {
        self.set_bit(spec.id, allow);
        self.firstargs.retain(|(id, _)| *id != spec.id);
        for sub in spec.subcommands {
            self.set_bit(sub.id, allow);
        }
    }

    /// +@category / -@category over every command and subcommand in it.
    fn change_category(&mut self, bit: u32, allow: bool) {
        let cat = catalog();
        for spec in &cat.order {
            if cat.cats[spec.id] & bit != 0 {
                self.change_perm(spec, allow);
            }
            for sub in spec.subcommands {
                if cat.cats[sub.id] & bit != 0 {
                    self.change_perm(sub, allow);
                }
            }
        }
    }

    fn all_commands(&mut self, on: bool) {
        let fill = if on { u64::MAX } else { 0 };
        self.bits.iter_mut().for_each(|w| *w = fill);
        self.allcommands = on;
        self.future = on;
        self.firstargs.clear();
    }

    /// (allowed, denied) commands of the category with `bit`.
    fn count_category(&self, bit: u32) -> (usize, usize) {
        let cat = catalog();
        let (mut on, mut off) = (0, 0);
        for spec in cat.order.iter().flat_map(|s| std::iter::once(*s).chain(s.subcommands.iter())) {
            if cat.cats[spec.id] & bit != 0 {
                if self.bit(spec.id) {
                    on += 1;
                } else {
                    off += 1;
                }
            }
        }
        (on, off)
    }

    /// Apply one selector rule (Redis's ACLSetSelector).
    pub fn apply(&mut self, op: &[u8]) -> Result<(), RuleError> {
        if op.is_empty() {
            return Err(RuleError::Syntax);
        }
        let is = |w: &str| op.eq_ignore_ascii_case(w.as_bytes());
        if is("allkeys") || op == b"~*" {
            self.allkeys = true;
            self.patterns.clear();
        } else if is("resetkeys") {
            self.allkeys = false;
            self.patterns.clear();
        } else if is("allchannels") || op == b"&*" {
            self.allchannels = true;
            self.channels.clear();
        } else if is("resetchannels") {
            self.allchannels = false;
            self.channels.clear();
        } else if is("allcommands") || is("+@all") {
            self.all_commands(true);
        } else if is("nocommands") || is("-@all") {
            self.all_commands(false);
        } else if op[0] == b'~' || op[0] == b'%' {
            if self.allkeys {
                return Err(RuleError::KeyAfterAll);
            }
            let (perm, offset) = if op[0] == b'%' {
                let mut perm = 0;
                let mut offset = 1;
                loop {
                    match op.get(offset).map(u8::to_ascii_uppercase) {
                        Some(b'R') if perm & PERM_READ == 0 => perm |= PERM_READ,
                        Some(b'W') if perm & PERM_WRITE == 0 => perm |= PERM_WRITE,
                        Some(b'~') => {
                            offset += 1;
                            break;
                        }
                        // Redis's loop ends at the end of the rule without a '~' too: an empty pattern.
                        None => break,
                        Some(_) => return Err(RuleError::Syntax),
                    }
                    offset += 1;
                }
                (perm, offset)
            } else {
                (PERM_ALL, 1)
            };
            let pattern = &op[offset.min(op.len())..];
            if has_spaces(pattern) {
                return Err(RuleError::Syntax);
            }
            match self.patterns.iter_mut().find(|p| p.pattern == pattern) {
                Some(p) => p.perm |= perm,
                None => self.patterns.push(KeyPattern::new(perm, pattern)),
            }
            self.allkeys = false;
        } else if op[0] == b'&' {
            if self.allchannels {
                return Err(RuleError::ChannelAfterAll);
            }
            let pattern = &op[1..];
            if has_spaces(pattern) {
                return Err(RuleError::Syntax);
            }
            if !self.channels.iter().any(|c| c == pattern) {
                self.channels.push(pattern.to_vec());
            }
            self.allchannels = false;
        } else if op[0] == b'+' && op.get(1) != Some(&b'@') {
            let name = &op[1..];
            match name.iter().rposition(|&c| c == b'|') {
                None => {
                    let spec = lookup_command(name).ok_or(RuleError::UnknownCommand)?;
                    self.change_perm(spec, true);
                }
                Some(bar) => {
                    let (cmd, sub) = (&name[..bar], &name[bar + 1..]);
                    let spec = lookup_command(cmd).ok_or(RuleError::UnknownCommand)?;
                    if spec.name.contains('|') {
                        return Err(RuleError::SubcommandFirstArg);
                    }
                    if sub.is_empty() {
                        return Err(RuleError::Syntax);
                    }
                    if !spec.subcommands.is_empty() {
                        let spec = lookup_command(name).ok_or(RuleError::UnknownCommand)?;
                        self.change_perm(spec, true);
                    } else {
                        log::warn!(
                            "Deprecation warning: Allowing a first arg of an otherwise blocked command is a misuse of ACL and may get disabled in the future (offender: +{})",
                            String::from_utf8_lossy(name)
                        );
                        let id = spec.id;
                        let idx = match self.firstargs.iter().position(|(i, _)| *i == id) {
                            Some(i) => i,
                            None => {
                                self.firstargs.push((id, Vec::new()));
                                self.firstargs.len() - 1
                            }
                        };
                        let list = &mut self.firstargs[idx].1;
                        if !list.iter().any(|a| a.eq_ignore_ascii_case(sub)) {
                            list.push(sub.to_vec());
                        }
                    }
                }
            }
        } else if op[0] == b'-' && op.get(1) != Some(&b'@') {
            let spec = lookup_command(&op[1..]).ok_or(RuleError::UnknownCommand)?;
            self.change_perm(spec, false);
        } else if (op[0] == b'+' || op[0] == b'-') && op.get(1) == Some(&b'@') {
            let bit = category_bit(&op[2..]).ok_or(RuleError::UnknownCommand)?;
            self.change_category(bit, op[0] == b'+');
        } else {
            return Err(RuleError::Syntax);
        }
        Ok(())
    }

    /// ACLDescribeSelectorCommandRules: "+@all"/"-@all", then the categories and single commands that turn
    /// that into this bitmap, found by Redis's greedy best fit (so that the text reads as Redis's does).
    pub fn describe_commands(&self) -> String {
        let mut rules = String::new();
        let additive = !self.future;
        let mut fake = Selector::new(false);
        if additive {
            rules.push_str("-@all ");
        } else {
            rules.push_str("+@all ");
            fake.all_commands(true);
        }
        let mut temp = self.clone();
        let mut applied = [false; CATEGORIES.len()];
        loop {
            let mut best = None;
            let (mut mindiff, mut maxsame) = (usize::MAX, 0);
            for (j, _) in applied.iter().enumerate().filter(|(_, done)| !**done) {
                let (on, off) = temp.count_category(1 << j);
                let (diff, same) = if additive { (off, on) } else { (on, off) };
                if same > diff && (diff < mindiff || (diff == mindiff && same > maxsame)) {
                    best = Some(j);
                    mindiff = diff;
                    maxsame = same;
                }
            }
            let Some(j) = best else { break };
            fake.change_category(1 << j, additive);
            temp.change_category(1 << j, !additive);
            rules.push_str(if additive { "+@" } else { "-@" });
            rules.push_str(CATEGORIES[j]);
            rules.push(' ');
            applied[j] = true;
        }
        // The single commands still different.
        for spec in &catalog().order {
            self.describe_single(spec, &mut fake, &mut rules);
            for sub in spec.subcommands {
                self.describe_single(sub, &mut fake, &mut rules);
            }
            // Emit the first-args, if any.
            if !self.bit(spec.id) {
                if let Some((_, args)) = self.firstargs.iter().find(|(id, _)| *id == spec.id) {
                    for a in args {
                        rules.push('+');
                        rules.push_str(spec.name);
                        rules.push('|');
                        rules.push_str(&String::from_utf8_lossy(a));
                        rules.push(' ');
                    }
                }
            }
        }
        rules.pop();
        debug_assert_eq!(fake.bits, self.bits, "ACL describer: {rules}");
        rules
    }

    fn describe_single(&self, spec: &CommandSpec, fake: &mut Selector, rules: &mut String) {
        let user = self.bit(spec.id);
        if user != fake.bit(spec.id) {
            rules.push(if user { '+' } else { '-' });
            rules.push_str(spec.name);
            rules.push(' ');
            fake.change_perm(spec, user);
        }
    }

    /// ACLDescribeSelector: keys, channels and command rules, as ACL LIST shows them.
    pub fn describe(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.allkeys {
            out.extend_from_slice(b"~* ");
        } else {
            for p in &self.patterns {
                p.describe(&mut out);
                out.push(b' ');
            }
        }
        if self.allchannels {
            out.extend_from_slice(b"&* ");
        } else {
            out.extend_from_slice(b"resetchannels ");
            for c in &self.channels {
                out.push(b'&');
                out.extend_from_slice(c);
                out.push(b' ');
            }
        }
        out.extend_from_slice(self.describe_commands().as_bytes());
        out
    }

    /// The "keys" field of ACL GETUSER.
    pub fn keys_field(&self) -> Vec<u8> {
        if self.allkeys {
            return b"~*".to_vec();
        }
        let mut out = Vec::new();
        for (i, p) in self.patterns.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            p.describe(&mut out);
        }
        out
    }

    /// The "channels" field of ACL GETUSER.
    pub fn channels_field(&self) -> Vec<u8> {
        if self.allchannels {
            return b"&*".to_vec();
        }
        let mut out = Vec::new();
        for (i, c) in self.channels.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            out.push(b'&');
            out.extend_from_slice(c);
        }
        out
    }

    /// ACLSelectorCheckKey: may a key with key-spec flags `flags` be touched?
    fn key_ok(&self, key: &[u8], flags: u32) -> bool {
        if self.allkeys {
            return true;
        }
        let need = needed_perm(flags);
        self.patterns.iter().any(|p| p.perm & need == need && p.matches(key))
    }

    /// ACLSelectorHasUnrestrictedKeyAccess.
    fn unrestricted_keys(&self, flags: u32) -> bool {
        let need = needed_perm(flags);
        self.allkeys || self.patterns.iter().any(|p| p.perm & need == need && p.pattern == b"*")
    }

    /// Is the channel (a pattern when `is_pattern`: matched literally) allowed?
    pub fn channel_ok(&self, channel: &[u8], is_pattern: bool) -> bool {
        self.allchannels || channel_in(&self.channels, channel, is_pattern)
    }

    /// ACLSelectorCheckCmd.
    fn check(&self, spec: &CommandSpec, argv: &[&[u8]], keys: &mut Option<Vec<(usize, u32)>>) -> Result<(), Denied> {
        if !self.allcommands && spec.flags & NO_AUTH == 0 && !self.bit(spec.id) {
            let first_ok = argv.len() >= 2
                && self
                    .firstargs
                    .iter()
                    .find(|(id, _)| *id == spec.id)
                    .is_some_and(|(_, args)| args.iter().any(|a| a.eq_ignore_ascii_case(argv[1])));
            if !first_ok {
                return Err(Denied::Command);
            }
        }
        if !self.allkeys && has_keys(spec) {
            // Most commands have one key at a fixed place: checked without building the key list.
            if let Some((pos, flags)) = single_key(spec, argv) {
                return if self.key_ok(argv[pos], flags) {
                    self.check_channels(spec, argv)
                } else {
                    Err(Denied::Key(pos))
                };
            }
            let keys = keys.get_or_insert_with(|| command_keys(spec, argv));
            for &(pos, flags) in keys.iter() {
                if !self.key_ok(argv[pos], flags) {
                    return Err(Denied::Key(pos));
                }
            }
        }
        self.check_channels(spec, argv)
    }

    /// The channel part of [`Selector::check`].
    fn check_channels(&self, spec: &CommandSpec, argv: &[&[u8]]) -> Result<(), Denied> {
        if !self.allchannels {
            if let Some((from, to, pattern)) = channel_args(spec, argv.len()) {
                for (pos, arg) in argv.iter().enumerate().take(to).skip(from) {
                    if !channel_in(&self.channels, arg, pattern) {
                        return Err(Denied::Channel(pos));
                    }
                }
            }
        }
        Ok(())
    }
}

/// The key of a command whose only key spec is one fixed argument (GET, SET, INCR, LPUSH, ...), with the
/// flags [`command_keys`] would give it; None for every other shape (then the list is built).
fn single_key(spec: &CommandSpec, argv: &[&[u8]]) -> Option<(usize, u32)> {
    use keyspecs::{Bs, Fk, K_INCOMPLETE, K_VARIABLE_FLAGS};
    let m = keyspecs::meta_of(spec)?;
    let [ks] = m.specs else { return None };
    let (Bs::Index(pos), Fk::Range(0, _, _)) = (ks.bs, ks.fk) else { return None };
    let pos = usize::try_from(pos).ok()?;
    if ks.flags & (K_NOT_KEY | K_INCOMPLETE) != 0 || pos == 0 || pos >= argv.len() {
        return None;
    }
    if ks.flags & K_VARIABLE_FLAGS == 0 {
        return Some((pos, ks.flags));
    }
    // Variable flags: the command's own finder decides them; its key is where first/last key say.
    let fixed = spec.getkeys.is_none() && spec.first_key == pos as i32 && spec.last_key == pos as i32;
    fixed.then(|| (pos, super::command::finder_flags(spec.name, m.specs, argv, 0)))
}

/// The R/W permissions a key with key-spec `flags` needs.
fn needed_perm(flags: u32) -> u8 {
    let mut need = 0;
    if flags & K_ACCESS != 0 {
        need |= PERM_READ;
    }
    if flags & (K_INSERT | K_DELETE | K_UPDATE) != 0 {
        need |= PERM_WRITE;
    }
    need
}

/// ACLCheckChannelAgainstList.
fn channel_in(list: &[Vec<u8>], channel: &[u8], is_pattern: bool) -> bool {
    list.iter().any(|p| if is_pattern { p == channel } else { glob_match(p, channel, false) })
}

/// The argument range holding channels a command publishes or subscribes to (Redis's channel specs with the
/// PUBLISH or SUBSCRIBE flag), and whether they are patterns. Unsubscribing needs no permission.
fn channel_args(spec: &CommandSpec, argc: usize) -> Option<(usize, usize, bool)> {
    match spec.name {
        "publish" | "spublish" => Some((1, 2.min(argc), false)),
        "subscribe" | "ssubscribe" => Some((1, argc, false)),
        "psubscribe" => Some((1, argc, true)),
        _ => None,
    }
}

/// doesCommandHaveKeys.
fn has_keys(spec: &CommandSpec) -> bool {
    match keyspecs::meta_of(spec) {
        Some(m) => m.getkeys_proc || m.specs.iter().any(|k| k.flags & K_NOT_KEY == 0),
        None => spec.first_key > 0 || spec.getkeys.is_some(),
    }
}

/// The keys of a command with their key-spec flags (getKeysFromCommandWithSpecs).
fn command_keys(spec: &CommandSpec, argv: &[&[u8]]) -> Vec<(usize, u32)> {
    let specs = keyspecs::meta_of(spec).map_or(&[][..], |m| m.specs);
    super::command::keys_with_flags(spec, specs, argv)
}

/// Why a command was refused, with the argument at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No selector allows the command (or subcommand, or first argument).
    Command,
    /// The key at this argument.
    Key(usize),
    /// The channel at this argument.
    Channel(usize),
}

impl Denied {
    /// Redis's ACL_DENIED_* order (a channel outranks a key, a key the command), to pick which error of
    /// several selectors to report.
    fn rank(self) -> (u8, usize) {
        match self {
            Denied::Command => (1, 0),
            Denied::Key(p) => (2, p),
            Denied::Channel(p) => (4, p),
        }
    }
}

/// A user (Redis's `user`): flags, password hashes, and selectors (the first is the root one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// The user name (no blanks or NULs).
    pub name: Vec<u8>,
    /// `on`: it may authenticate.
    pub enabled: bool,
    /// `nopass`: any password authenticates it.
    pub nopass: bool,
    /// Some(true) after `sanitize-payload`, Some(false) after `skip-sanitize-payload`.
    pub sanitize: Option<bool>,
    /// SHA-256 hex digests.
    pub passwords: Vec<String>,
    pub selectors: Vec<Selector>,
    /// Every check passes without looking at the command (see [`User::seal`]): the one branch the
    /// unrestricted default user costs per command.
    pub open: bool,
}

impl User {
    /// A new user as ACL SETUSER creates it: off, no passwords, allowed nothing.
    pub fn new(name: &[u8], pubsub_all: bool) -> User {
        User {
            name: name.to_vec(),
            enabled: false,
            nopass: false,
            sanitize: None,
            passwords: Vec::new(),
            selectors: vec![Selector::new(pubsub_all)],
            open: false,
        }
    }

    /// Done changing: note whether checks can be skipped, and share it (clients hold the `Arc`).
    pub fn seal(mut self) -> std::sync::Arc<User> {
        self.open = self.unrestricted();
        std::sync::Arc::new(self)
    }

    /// The default user as a fresh server has it: on, nopass, every command, key and channel.
    pub fn default_user() -> User {
        let mut u = User::new(b"default", false);
        for op in ["+@all", "~*", "&*", "on", "nopass"] {
            let _ = u.apply(op.as_bytes(), false);
        }
        u
    }

    /// The root selector allows every command, key and channel.
    pub fn unrestricted(&self) -> bool {
        let root = &self.selectors[0];
        root.allcommands && root.allkeys && root.allchannels
    }

    /// May this user authenticate with `password`?
    pub fn password_ok(&self, password: &[u8]) -> bool {
        if !self.enabled {
            return false;
        }
        if self.nopass {
            return true;
        }
        let hashed = hash_password(password);
        // Every stored hash is compared, in time independent of where they differ.
        self.passwords.iter().fold(false, |ok, p| ok | constant_time_eq(p.as_bytes(), hashed.as_bytes()))
    }

    /// Apply one rule (Redis's ACLSetUser). `pubsub_all`: acl-pubsub-default is allchannels.
    pub fn apply(&mut self, op: &[u8], pubsub_all: bool) -> Result<(), RuleError> {
        if op.is_empty() {
            return Ok(());
        }
        let is = |w: &str| op.eq_ignore_ascii_case(w.as_bytes());
        if is("on") {
            self.enabled = true;
        } else if is("off") {
            self.enabled = false;
        } else if is("skip-sanitize-payload") {
            self.sanitize = Some(false);
        } else if is("sanitize-payload") {
            self.sanitize = Some(true);
        } else if is("nopass") {
            self.nopass = true;
            self.passwords.clear();
        } else if is("resetpass") {
            self.nopass = false;
            self.passwords.clear();
        } else if op[0] == b'>' || op[0] == b'#' {
            let hash = if op[0] == b'>' { hash_password(&op[1..]) } else { valid_hash(&op[1..])? };
            if !self.passwords.contains(&hash) {
                self.passwords.push(hash);
            }
            self.nopass = false;
        } else if op[0] == b'<' || op[0] == b'!' {
            let hash = if op[0] == b'<' { hash_password(&op[1..]) } else { valid_hash(&op[1..])? };
            let at = self.passwords.iter().position(|p| *p == hash).ok_or(RuleError::NoSuchPassword)?;
            self.passwords.remove(at);
        } else if op[0] == b'(' && op[op.len() - 1] == b')' {
            let inner = String::from_utf8_lossy(&op[1..op.len() - 1]).into_owned();
            let words = crate::config::split_args(&inner).ok_or(RuleError::Syntax)?;
            let mut sel = Selector::new(pubsub_all);
            for w in words {
                sel.apply(w.as_bytes())?;
            }
            self.selectors.push(sel);
        } else if is("clearselectors") {
            self.selectors.truncate(1);
        } else if is("reset") {
            self.nopass = false;
            self.passwords.clear();
            let root = &mut self.selectors[0];
            root.apply(b"resetkeys")?;
            root.apply(b"resetchannels")?;
            if pubsub_all {
                root.apply(b"allchannels")?;
            }
            self.enabled = false;
            self.sanitize = Some(true);
            self.selectors.truncate(1);
            self.selectors[0].apply(b"-@all")?;
        } else {
            self.selectors[0].apply(op)?;
        }
        Ok(())
    }

    /// ACLDescribeUser: the rules after "user <name> " in ACL LIST and the ACL file.
    pub fn describe(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let flags = [
            (self.enabled, "on"),
            (!self.enabled, "off"),
            (self.nopass, "nopass"),
            (self.sanitize == Some(false), "skip-sanitize-payload"),
            (self.sanitize == Some(true), "sanitize-payload"),
        ];
        for (set, name) in flags {
            if set {
                out.extend_from_slice(name.as_bytes());
                out.push(b' ');
            }
        }
        for p in &self.passwords {
            out.push(b'#');
            out.extend_from_slice(p.as_bytes());
            out.push(b' ');
        }
        for (i, s) in self.selectors.iter().enumerate() {
            if i == 0 {
                out.extend_from_slice(&s.describe());
            } else {
                out.extend_from_slice(b" (");
                out.extend_from_slice(&s.describe());
                out.push(b')');
            }
        }
        out
    }

    /// The flag names ACL GETUSER lists.
    pub fn flag_names(&self) -> Vec<&'static str> {
        let mut v = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            v.push("nopass");
        }
        match self.sanitize {
            Some(false) => v.push("skip-sanitize-payload"),
            Some(true) => v.push("sanitize-payload"),
            None => {}
        }
        v
    }

    /// ACLCheckAllUserCommandPerm: may this user run `spec` with `argv` (argv[0] the command name)? On
    /// refusal, the reason Redis reports: the command if no selector allows it, else the last key or
    /// channel no selector could match.
    pub fn check(&self, spec: &CommandSpec, argv: &[&[u8]]) -> Result<(), Denied> {
        let mut keys = None;
        let mut worst = Denied::Command;
        for s in &self.selectors {
            match s.check(spec, argv, &mut keys) {
                Ok(()) => return Ok(()),
                Err(d) => {
                    if d.rank() > worst.rank() {
                        worst = d;
                    }
                }
            }
        }
        Err(worst)
    }

    /// ACLUserCheckCmdWithUnrestrictedKeyAccess: does a selector allow the command and every key with the
    /// access of key-spec `flags` (SORT's BY and GET need read access to all keys)?
    pub fn check_unrestricted_keys(&self, spec: &CommandSpec, argv: &[&[u8]], flags: u32) -> bool {
        let mut keys = None;
        self.selectors.iter().any(|s| s.check(spec, argv, &mut keys).is_ok() && s.unrestricted_keys(flags))
    }

    /// ACLUserCheckChannelPerm: may this user use the channel (or pattern)?
    pub fn channel_ok(&self, channel: &[u8], is_pattern: bool) -> bool {
        self.selectors.iter().any(|s| s.channel_ok(channel, is_pattern))
    }
}

/// A password's SHA-256 as 64 lowercase hex digits (Redis's ACLHashPassword).
pub fn hash_password(password: &[u8]) -> String {
    let digest = Sha256::digest(password);
    let mut hex = String::with_capacity(64);
    for b in digest {
        hex.push(char::from(b"0123456789abcdef"[(b >> 4) as usize]));
        hex.push(char::from(b"0123456789abcdef"[(b & 15) as usize]));
    }
    hex
}

/// A #hash / !hash argument: exactly 64 lowercase hex digits.
fn valid_hash(h: &[u8]) -> Result<String, RuleError> {
    if h.len() != 64 || !h.iter().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c)) {
        return Err(RuleError::BadHash);
    }
    Ok(String::from_utf8_lossy(h).into_owned())
}

/// Equal bytes, compared in time that depends only on the length (Redis's time_independent_strcmp).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// ACLStringHasSpaces: blanks and NULs are not allowed in user names and patterns.
pub fn has_spaces(s: &[u8]) -> bool {
    s.iter().any(|&c| matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r' | 0))
}

/// ACLMergeSelectorArguments: a selector may be spread over several arguments ("(~a" "+get)"): join them
/// with spaces. Err(index of the opening argument) when a selector is not closed.
pub fn merge_selector_args(args: &[&[u8]]) -> Result<Vec<Vec<u8>>, usize> {
    let mut out = Vec::new();
    let mut open: Option<(usize, Vec<u8>)> = None;
    for (j, op) in args.iter().enumerate() {
        if let Some((_, sel)) = open.as_mut() {
            sel.push(b' ');
            sel.extend_from_slice(op);
            if op.last() == Some(&b')') {
                out.push(open.take().map(|(_, s)| s).unwrap_or_default());
            }
            continue;
        }
        if op.first() == Some(&b'(') && op.last() != Some(&b')') {
            open = Some((j, op.to_vec()));
            continue;
        }
        out.push(op.to_vec());
    }
    match open {
        Some((j, _)) => Err(j),
        None => Ok(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_single_key_shortcut_agrees_with_the_key_list() {
        let words: [&[u8]; 6] = [b"k1", b"k2", b"get", b"7", b"k3", b"x"];
        let mut shortcuts = 0;
        for spec in &table().all {
            for n in 1..=words.len() {
                let mut argv: Vec<&[u8]> = vec![spec.name.as_bytes()];
                argv.extend_from_slice(&words[..n]);
                if let Some(k) = single_key(spec, &argv) {
                    shortcuts += 1;
                    assert_eq!(vec![k], command_keys(spec, &argv), "{} {n}", spec.name);
                }
            }
        }
        assert!(shortcuts > 100, "{shortcuts}");
    }

    fn user(rules: &[&str]) -> User {
        let mut u = User::new(b"u", false);
        for r in rules {
            u.apply(r.as_bytes(), false).unwrap_or_else(|e| panic!("{r}: {e:?}"));
        }
        u
    }

    fn spec(name: &str) -> &'static CommandSpec {
        lookup_command(name.as_bytes()).unwrap()
    }

    fn check(u: &User, args: &[&str]) -> Result<(), Denied> {
        let argv: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        let (input, refs) = super::super::pack_args(&argv);
        let a = super::super::Argv::new(&input, &[], &refs);
        u.check(table().resolve(&a).unwrap(), &argv)
    }

    #[test]
    fn flags_and_passwords() {
        let mut u = user(&[]);
        assert_eq!(String::from_utf8(u.describe()).unwrap(), "off resetchannels -@all");
        assert!(!u.password_ok(b"x"));
        u.apply(b"on", false).unwrap();
        u.apply(b">pw1", false).unwrap();
        u.apply(b">pw2", false).unwrap();
        assert!(u.password_ok(b"pw1") && u.password_ok(b"pw2") && !u.password_ok(b"pw3"));
        u.apply(b"<pw1", false).unwrap();
        assert!(!u.password_ok(b"pw1"));
        assert_eq!(u.apply(b"<pw1", false), Err(RuleError::NoSuchPassword));
        let h = hash_password(b"passwd4");
        assert_eq!(h, "34344e4d60c2b6d639b7bd22e18f2b0b91bc34bf0ac5f9952744435093cfb4e6");
        u.apply(format!("#{h}").as_bytes(), false).unwrap();
        assert!(u.password_ok(b"passwd4"));
        assert_eq!(u.apply(b"#abc", false), Err(RuleError::BadHash));
        assert_eq!(u.apply(format!("#{}", h.to_uppercase()).as_bytes(), false), Err(RuleError::BadHash));
        u.apply(format!("!{h}").as_bytes(), false).unwrap();
        assert!(!u.password_ok(b"passwd4"));
        u.apply(b"nopass", false).unwrap();
        assert!(u.password_ok(b"anything") && u.passwords.is_empty());
        u.apply(b"resetpass", false).unwrap();
        assert!(!u.password_ok(b"anything"));
        u.apply(b"off", false).unwrap();
        u.apply(b"nopass", false).unwrap();
        assert!(!u.password_ok(b"x"), "a user that is off cannot log in");
        u.apply(b"skip-sanitize-payload", false).unwrap();
        assert_eq!(u.flag_names(), ["off", "nopass", "skip-sanitize-payload"]);
        u.apply(b"reset", false).unwrap();
        assert_eq!(u.flag_names(), ["off", "sanitize-payload"]);
        assert_eq!(u.apply(b"bogus", false), Err(RuleError::Syntax));
    }

    #[test]
    fn default_user_is_unrestricted() {
        let d = User::default_user();
        assert!(d.unrestricted());
        assert_eq!(String::from_utf8(d.describe()).unwrap(), "on nopass ~* &* +@all");
        let mut d2 = d.clone();
        d2.apply(b"-get", false).unwrap();
        assert!(!d2.unrestricted());
        assert_eq!(d2.selectors[0].describe_commands(), "+@all -get");
    }

    #[test]
    fn command_rules_and_their_description() {
        let u = user(&["+@all", "-client|kill"]);
        assert_eq!(u.selectors[0].describe_commands(), "+@all -client|kill");
        let u = user(&["+memory|doctor"]);
        assert_eq!(u.selectors[0].describe_commands(), "-@all +memory|doctor");
        let u = user(&["+memory|doctor", "+memory"]);
        assert_eq!(u.selectors[0].describe_commands(), "-@all +memory");
        let u = user(&["+@all", "+client|id"]);
        assert_eq!(u.selectors[0].describe_commands(), "+@all");
        let u = user(&["+@all", "-client", "+client|id"]);
        let d = u.selectors[0].describe_commands();
        assert!(d.starts_with("+@all") && d.contains("-client") && d.contains("+client|id"), "{d}");
        for cat in CATEGORIES {
            let u = user(&["+@all", &format!("-@{cat}")]);
            assert_eq!(u.selectors[0].describe_commands(), format!("+@all -@{cat}"));
            let u = user(&["-@all", &format!("+@{cat}")]);
            assert_eq!(u.selectors[0].describe_commands(), format!("-@all +@{cat}"));
        }
        let u = user(&["-@all", "+select|0"]);
        assert_eq!(u.selectors[0].describe_commands(), "-@all +select|0");
        assert_eq!(check(&u, &["select", "0"]), Ok(()));
        assert_eq!(check(&u, &["select", "1"]), Err(Denied::Command));
        let mut u = User::new(b"u", false);
        assert_eq!(u.apply(b"+config|get|appendonly", false), Err(RuleError::SubcommandFirstArg));
        assert_eq!(u.apply(b"+config|asdf", false), Err(RuleError::UnknownCommand));
        assert_eq!(u.apply(b"-config|asdf", false), Err(RuleError::UnknownCommand));
        assert_eq!(u.apply(b"+get|key1|key2", false), Err(RuleError::UnknownCommand));
        assert_eq!(u.apply(b"+debug|", false), Err(RuleError::Syntax));
        assert_eq!(u.apply(b"+@nosuch", false), Err(RuleError::UnknownCommand));
        assert_eq!(u.apply(b"+nosuch", false), Err(RuleError::UnknownCommand));
    }

    #[test]
    fn command_checks() {
        let u = user(&["+@all", "-client|kill", "~*"]);
        assert_eq!(check(&u, &["client", "id"]), Ok(()));
        assert_eq!(check(&u, &["client", "kill", "type", "master"]), Err(Denied::Command));
        let u = user(&["-@all", "+@set", "~*"]);
        assert_eq!(check(&u, &["sadd", "s", "a"]), Ok(()));
        assert_eq!(check(&u, &["set", "k", "v"]), Err(Denied::Command));
        // AUTH and the other no-auth commands are always allowed.
        assert_eq!(check(&u, &["auth", "x"]), Ok(()));
        let u = user(&["-@all", "+acl", "+@stream", "~*"]);
        assert_eq!(check(&u, &["xinfo", "stream", "k"]), Ok(()));
    }

    #[test]
    fn key_patterns() {
        let u = user(&["allcommands", "~foo:*", "~bar:*"]);
        assert_eq!(check(&u, &["set", "foo:1", "a"]), Ok(()));
        assert_eq!(check(&u, &["set", "zap:3", "a"]), Err(Denied::Key(1)));
        assert_eq!(check(&u, &["mset", "foo:1", "a", "zap", "b"]), Err(Denied::Key(3)));
        let u = user(&["+@all", "%R~read*", "%W~write*", "%RW~rw*"]);
        assert_eq!(u.selectors[0].keys_field(), b"%R~read* %W~write* ~rw*");
        assert_eq!(check(&u, &["get", "read"]), Ok(()));
        assert_eq!(check(&u, &["get", "write"]), Err(Denied::Key(1)));
        assert_eq!(check(&u, &["lpush", "write", "x"]), Ok(()));
        assert_eq!(check(&u, &["copy", "read", "write"]), Ok(()));
        assert_eq!(check(&u, &["copy", "write", "read"]), Err(Denied::Key(1)));
        // Existence tests need either permission, not none.
        assert_eq!(check(&u, &["exists", "write"]), Ok(()));
        assert_eq!(check(&u, &["exists", "nothing"]), Err(Denied::Key(1)));
        // SET without GET only writes; with GET it reads too.
        assert_eq!(check(&u, &["set", "write", "v"]), Ok(()));
        assert_eq!(check(&u, &["set", "write", "v", "get"]), Err(Denied::Key(1)));
        let u = user(&["%R~foo", "%W~foo", "%RW~bar"]);
        assert_eq!(u.selectors[0].keys_field(), b"~foo ~bar");
        let mut u = user(&["allkeys"]);
        assert_eq!(u.apply(b"~x", false), Err(RuleError::KeyAfterAll));
        u.apply(b"resetkeys", false).unwrap();
        assert_eq!(u.selectors[0].keys_field(), b"");
        assert_eq!(u.apply(b"%X~x", false), Err(RuleError::Syntax));
    }

    #[test]
    fn channels() {
        let u = user(&["+@all", "~*", "resetchannels", "&foo:1", "&bar:*"]);
        assert_eq!(u.selectors[0].channels_field(), b"&foo:1 &bar:*");
        assert_eq!(check(&u, &["publish", "bar:2", "m"]), Ok(()));
        assert_eq!(check(&u, &["publish", "zap", "m"]), Err(Denied::Channel(1)));
        assert_eq!(check(&u, &["subscribe", "foo:1", "zap"]), Err(Denied::Channel(2)));
        assert_eq!(check(&u, &["psubscribe", "bar:*"]), Ok(()));
        assert_eq!(check(&u, &["psubscribe", "bar:baz"]), Err(Denied::Channel(1)));
        assert_eq!(check(&u, &["unsubscribe", "zap"]), Ok(()));
        let mut u = user(&["allchannels"]);
        assert_eq!(u.apply(b"&x", false), Err(RuleError::ChannelAfterAll));
        let u = User::new(b"x", true);
        assert!(u.selectors[0].allchannels);
    }

    #[test]
    fn selectors() {
        let u = user(&["on", "(+@write ~write::*)", "(+@read ~read::*)"]);
        assert_eq!(check(&u, &["ping"]), Err(Denied::Command));
        assert_eq!(check(&u, &["set", "write::foo", "bar"]), Ok(()));
        assert_eq!(check(&u, &["get", "read::foo"]), Ok(()));
        assert_eq!(check(&u, &["get", "write::foo"]), Err(Denied::Key(1)));
        assert_eq!(
            String::from_utf8(u.describe()).unwrap(),
            "on resetchannels -@all (~write::* resetchannels -@all +@write) (~read::* resetchannels -@all +@read)"
        );
        // The reported key is the last one no selector matched.
        let u = user(&["+mget", "~key", "(+mget ~key ~otherkey)"]);
        assert_eq!(check(&u, &["get", "key"]), Err(Denied::Command));
        assert_eq!(check(&u, &["mget", "otherkey", "someotherkey"]), Err(Denied::Key(2)));
        assert_eq!(check(&u, &["mget", "key", "otherkey", "someotherkey"]), Err(Denied::Key(3)));
        let mut u = user(&["(~a +get)"]);
        u.apply(b"clearselectors", false).unwrap();
        assert_eq!(u.selectors.len(), 1);
        let mut u = User::new(b"u", false);
        assert_eq!(u.apply(b"(this-is-invalid)", false), Err(RuleError::Syntax));
        assert_eq!(u.apply(b"(&* &fail)", false), Err(RuleError::ChannelAfterAll));
        assert_eq!(u.apply(b")", false), Err(RuleError::Syntax));
        let args: Vec<&[u8]> = vec![b"on", b"(~key5", b"+get", b")", b"(", b"~key6", b"+get", b")"];
        let merged = merge_selector_args(&args).unwrap();
        assert_eq!(merged, [b"on".to_vec(), b"(~key5 +get )".to_vec(), b"( ~key6 +get )".to_vec()]);
        assert_eq!(merge_selector_args(&[b"(" as &[u8]]), Err(0));
        let u = user(&["on", "( ~key6 +get )", "()"]);
        assert_eq!(u.selectors.len(), 3);
        assert_eq!(u.selectors[2].describe_commands(), "-@all");
        let u = user(&["(+sort ~mylist %R~*)"]);
        let argv: Vec<&[u8]> = vec![b"sort", b"mylist", b"by", b"v*"];
        assert!(u.check_unrestricted_keys(spec("sort"), &argv, K_ACCESS));
        let u = user(&["(+sort ~mylist %W~*)"]);
        assert!(!u.check_unrestricted_keys(spec("sort"), &argv, K_ACCESS));
    }

    /// The compared shapes of key patterns match exactly what the glob matcher matches.
    #[test]
    fn key_pattern_shapes_agree_with_the_glob_matcher() {
        let patterns: &[&[u8]] = &[
            b"key:*", b"*", b"key:", b"", b"k", b"k*", b"**", b"key:*x", b"key:?", b"a\\*", b"[ab]*", b"mylist",
            b"x*y*", b"key:\\*",
        ];
        let keys: &[&[u8]] =
            &[b"", b"k", b"key:", b"key:1", b"key:12", b"key", b"mylist", b"mylist2", b"a*", b"ab", b"x"];
        for &p in patterns {
            let kp = KeyPattern::new(PERM_ALL, p);
            for &k in keys {
                assert_eq!(
                    kp.matches(k),
                    glob_match(p, k, false),
                    "pattern {:?} key {:?} ({:?})",
                    String::from_utf8_lossy(p),
                    String::from_utf8_lossy(k),
                    kp.shape
                );
            }
        }
        assert_eq!(KeyPattern::new(PERM_ALL, b"key:*").shape, Shape::Prefix(4));
        assert_eq!(KeyPattern::new(PERM_ALL, b"mylist").shape, Shape::Exact);
        assert_eq!(KeyPattern::new(PERM_ALL, b"a\\*").shape, Shape::Glob);
    }
}
