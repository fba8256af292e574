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
        Some(with_subcommand(self.lookup(argv.get(0))?, argv))
    }

    /// Top-level commands only.
    pub fn commands(&self) -> impl Iterator<Item = &'static CommandSpec> + '_ {
        self.by_name.values().copied()
    }
}

/// A container command's subcommand when argv[1] names one, else the command itself.
fn with_subcommand(spec: &'static CommandSpec, argv: &Argv<'_>) -> &'static CommandSpec {
    if !spec.subcommands.is_empty() && argv.len() >= 2 {
        let sub = argv.get(1);
        if let Some(s) = spec.subcommands.iter().find(|s| sub_name(s).as_bytes().eq_ignore_ascii_case(sub)) {
            return s;
        }
    }
    spec
}

/// The `rename-command` lines of the configuration file (Redis 7.0 has no other way to rename): names taken
/// out of the command table and the names commands answer under instead. The table is shared by every
/// server of the process, so the renames are a server's own layer over it, consulted only when its file
/// renamed something. ACL rules keep the original names, as Redis's ACL looks commands up in its
/// `orig_commands`.
#[derive(Clone, Default)]
pub struct Renames {
    /// Lower-case name -> the command it names now, or None for a name renamed away or removed.
    names: HashMap<Vec<u8>, Option<&'static CommandSpec>, foldhash::fast::FixedState>,
}

impl Renames {
    /// The renames of `pairs` (old, new), in order; the first bad one is the error (see [`Renames::rename`]).
    pub fn from_pairs(pairs: &[(String, String)]) -> Result<Renames, &'static str> {
        let mut r = Renames::default();
        for (old, new) in pairs {
            r.rename(old, new)?;
        }
        Ok(r)
    }

    /// `rename-command old new`: `old` stops naming its command, which answers under `new` from now on
    /// (`new` empty: under no name at all). Redis's errors: `old` must name a command (after the renames
    /// before it) and `new` must not.
    pub fn rename(&mut self, old: &str, new: &str) -> Result<(), &'static str> {
        let spec = self.lookup(old.as_bytes()).ok_or("No such command in rename-command")?;
        self.names.insert(old.to_ascii_lowercase().into_bytes(), None);
        if !new.is_empty() {
            if self.lookup(new.as_bytes()).is_some() {
                return Err("Target command name already exists");
            }
            self.names.insert(new.to_ascii_lowercase().into_bytes(), Some(spec));
        }
        Ok(())
    }

    /// Look a command up by its name after the renames, case-insensitively.
    pub fn lookup(&self, name: &[u8]) -> Option<&'static CommandSpec> {
        let mut buf = [0u8; 64];
        let found = if name.len() <= buf.len() {
            let b = &mut buf[..name.len()];
            b.copy_from_slice(name);
            b.make_ascii_lowercase();
            self.names.get(&b[..])
        } else {
            self.names.get(&name.to_ascii_lowercase())
        };
        match found {
            Some(spec) => *spec,
            None => table().lookup(name),
        }
    }

    /// [`Table::resolve`] after the renames.
    pub fn resolve(&self, argv: &Argv<'_>) -> Option<&'static CommandSpec> {
        Some(with_subcommand(self.lookup(argv.get(0))?, argv))
    }
}

/// "get" for "config|get".
pub fn sub_name(s: &CommandSpec) -> &'static str {
    s.name.split_once('|').map(|(_, b)| b).unwrap_or(s.name)
}
