//! The command table: every family's specs joined once into id-stamped `&'static CommandSpec`s, looked up by
//! name (and container commands by subcommand) for each request (commands layer).

use super::batch::Argv;
use super::spec::CommandSpec;
use super::FAMILIES;
use std::collections::HashMap;
use std::sync::OnceLock;

/// The command table, built once.
pub struct Table {
    pub all: Vec<&'static CommandSpec>,
    /// Looked up once per request: a fast hasher matters more than DoS resistance for a fixed key set.
    by_name: HashMap<Vec<u8>, &'static CommandSpec, foldhash::fast::FixedState>,
}

fn build_table() -> Table {
    let mut all: Vec<&'static CommandSpec> = Vec::new();
    let mut by_name = HashMap::with_hasher(foldhash::fast::FixedState::default());
    for fam in FAMILIES {
        for spec in fam.iter() {
            // Leak id-stamped copies so that specs are `&'static` and index the stats arrays.
            let parent_id = all.len();
            let subs: Vec<CommandSpec> =
                spec.subcommands.iter().enumerate().map(|(i, s)| clone_spec(s, parent_id + 1 + i)).collect();
            let subs: &'static [CommandSpec] = Box::leak(subs.into_boxed_slice());
            let mut parent = clone_spec(spec, parent_id);
            parent.subcommands = subs;
            let parent: &'static CommandSpec = Box::leak(Box::new(parent));
            by_name.insert(spec.name.as_bytes().to_vec(), parent);
            all.push(parent);
            all.extend(subs.iter());
        }
    }
    Table { all, by_name }
}

fn clone_spec(s: &CommandSpec, id: usize) -> CommandSpec {
    CommandSpec {
        name: s.name,
        arity: s.arity,
        flags: s.flags,
        first_key: s.first_key,
        last_key: s.last_key,
        key_step: s.key_step,
        categories: s.categories,
        group: s.group,
        since: s.since,
        summary: s.summary,
        complexity: s.complexity,
        handler: s.handler,
        getkeys: s.getkeys,
        subcommands: s.subcommands,
        id,
    }
}

/// The command table, built on first use.
pub fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(build_table)
}

impl Table {
    /// Look a command up by name, case-insensitively.
    pub fn lookup(&self, name: &[u8]) -> Option<&'static CommandSpec> {
        let mut buf = [0u8; 32];
        if name.len() <= buf.len() {
            let b = &mut buf[..name.len()];
            b.copy_from_slice(name);
            b.make_ascii_lowercase();
            self.by_name.get(&b[..]).copied()
        } else {
            None
        }
    }

    /// Resolve a request: the command, or for container commands its subcommand when argv[1] names one.
    pub fn resolve(&self, argv: &Argv<'_>) -> Option<&'static CommandSpec> {
        let spec = self.lookup(argv.get(0))?;
        if !spec.subcommands.is_empty() && argv.len() >= 2 {
            let sub = argv.get(1);
            if let Some(s) = spec.subcommands.iter().find(|s| sub_name(s).as_bytes().eq_ignore_ascii_case(sub)) {
                return Some(s);
            }
        }
        Some(spec)
    }

    /// Top-level commands only.
    pub fn commands(&self) -> impl Iterator<Item = &'static CommandSpec> + '_ {
        self.by_name.values().copied()
    }
}

/// "get" for "config|get".
pub fn sub_name(s: &CommandSpec) -> &'static str {
    s.name.split_once('|').map(|(_, b)| b).unwrap_or(s.name)
}
