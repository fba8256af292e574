//! Client-side caching (CLIENT TRACKING, Redis 7.0's tracking.c): the tracking table (key -> ids of the
//! clients that may hold it in a local cache), the BCAST prefix table, and the invalidation messages both
//! lead to (commands layer: State part `tracking`, fed by `exec_request` and the key-modified hook
//! `State::touch_key`; the Keyspace actor sends the messages with pub/sub's deliveries after each batch).
//!
//! # How it follows Redis
//!
//! - **Remembering**: after a read-only command of a tracking client (not BCAST; OPTIN/OPTOUT as CLIENT
//!   CACHING says), its keys (from the command table, as Redis's getKeysFromCommand) enter the table with the
//!   client's id. A read-only command run by a script marks the script: its declared keys are remembered
//!   when it ends (Redis remembers the caller's keys, EVAL's, whenever the script reads).
//! - **Invalidating**: every write reaches `State::touch_key` (WATCH's signal, Redis's signalModifiedKey), as
//!   do expiry (lazy and active, `State::drain_expired`) and eviction. A key found in the table is removed
//!   from it and each tracking client that had it gets `invalidate [key]`: a RESP3 push, or in RESP2 through
//!   its REDIRECT client's `message` on `__redis__:invalidate` when that client is subscribed. FLUSHDB,
//!   FLUSHALL and SWAPDB send every tracking client a null ("everything") and empty the table.
//! - **The running client**: an invalidation for the client whose command is running waits (`pending`) and
//!   follows its reply (after EXEC's whole reply, after a script's), as Redis's tracking_pending_keys; ones
//!   made before the command runs (eviction, the table limit) go before the reply, as in Redis.
//! - **BCAST**: modified keys are collected per matching prefix during a batch and sent after it, one
//!   message per prefix with every key (sorted, as Redis's radix tree gives them); NOLOOP clients get the
//!   keys they did not modify themselves.
//! - **Lazy cleanup**: the table keeps the ids of clients that turned tracking off or went away (Redis does
//!   the same, so that a disconnect costs nothing); an invalidation skips them, INFO counts them.
//! - **tracking-table-max-keys**: before each command and on the cron, random keys are invalidated until
//!   the table fits, with Redis's growing effort (100 keys, then 200...).
//!
//! Cost while nobody tracks: a write checks one length (`Tracking::watching`), a command one count
//! (`Tracking::clients`).

use super::spec::*;
use super::{Argv, CommandSpec, Ctx, State};
use crate::error::CmdError;
use crate::resp::encode::Out;
use bytes::{BufMut, Bytes, BytesMut};
use std::collections::{BTreeMap, BTreeSet};

/// No client (the cron, the Evictor's runs): `Tracking::current` outside a command.
pub const NO_CLIENT: usize = usize::MAX;

/// The channel a RESP2 redirect client receives invalidations on.
const CHANNEL: &[u8] = b"__redis__:invalidate";

/// One client's CLIENT TRACKING settings (`Client::tracking`, present while tracking is on).
#[derive(Debug, Default)]
pub struct ClientTracking {
    /// REDIRECT's client id (0: none) and its slot when it was given.
    pub redirect: u64,
    redirect_slot: usize,
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    /// CLIENT CACHING was given for the next command (YES under OPTIN, NO under OPTOUT).
    pub caching: bool,
    /// The redirect client went away (CLIENT LIST flag `R`, TRACKINGINFO `broken_redirect`).
    pub broken_redirect: bool,
    /// BCAST prefixes, sorted (TRACKINGINFO lists them as Redis's radix tree does).
    pub prefixes: BTreeSet<Box<[u8]>>,
}

/// One BCAST prefix: the keys modified under it since the last broadcast (with the id of the client that
/// modified each last, 0 for none, for NOLOOP) and the clients listening.
#[derive(Default)]
struct Prefix {
    keys: BTreeMap<Box<[u8]>, u64>,
    clients: Vec<usize>,
}

/// What an invalidation says.
#[derive(Clone, Copy)]
enum Payload<'a> {
    /// One key: `*1 $key`.
    Key(&'a [u8]),
    /// Every key (a flush): a null in the tracking client's protocol.
    All,
    /// An array of keys, encoded already (BCAST).
    Keys(&'a [u8]),
}

/// An invalidation held for the running command's client.
enum Pending {
    Key(Box<[u8]>),
    All,
}

/// The tracking part of the Keyspace's State. Written by CLIENT TRACKING (this file), `exec_request`
/// (remembered keys, the running client), the key-modified hooks and the Keyspace actor (broadcasts, the
/// cron's table limit); read by INFO and CLIENT LIST.
pub struct Tracking {
    /// Tracking clients: id -> slot (INFO tracking_clients is its length).
    by_id: hashbrown::HashMap<u64, usize, foldhash::fast::FixedState>,
    /// The tracking table: key -> ids of the clients that read it. Indexed, so the table limit can pick
    /// random keys in O(1).
    table: indexmap::IndexMap<Box<[u8]>, Vec<u64>, foldhash::fast::FixedState>,
    /// Ids across the table (INFO tracking_total_items).
    items: u64,
    /// BCAST prefixes (INFO tracking_total_prefixes is its length).
    prefixes: BTreeMap<Box<[u8]>, Prefix>,
    /// Some prefix has modified keys to broadcast.
    bcast_pending: bool,
    /// The slot of the client whose command is running (NO_CLIENT outside commands).
    pub current: usize,
    /// Invalidations for the running client, sent after its reply: (slot, what).
    pending: Vec<(usize, Pending)>,
    /// tracking-table-max-keys (0: no limit).
    pub max_keys: usize,
    /// Runs of the table limit that ended still over it (Redis's timeout_counter: the effort grows).
    limit_rounds: u32,
    /// A script read something: its declared keys are remembered when it ends.
    script_read: bool,
    /// Where the last top-level command's own invalidations start in its output: CLIENT REPLY OFF drops
    /// the reply before them, not them (they are pushes).
    pub pushed_at: Option<usize>,
}

impl Default for Tracking {
    fn default() -> Tracking {
        Tracking {
            by_id: Default::default(),
            table: Default::default(),
            items: 0,
            prefixes: BTreeMap::new(),
            bcast_pending: false,
            current: NO_CLIENT,
            pending: Vec::new(),
            max_keys: 1_000_000,
            limit_rounds: 0,
            script_read: false,
            pushed_at: None,
        }
    }
}

impl Tracking {
    /// Clients with tracking on (INFO tracking_clients).
    #[inline]
    pub fn clients(&self) -> usize {
        self.by_id.len()
    }
    /// Keys in the tracking table (INFO tracking_total_keys).
    pub fn keys(&self) -> usize {
        self.table.len()
    }
    /// Client ids across the table (INFO tracking_total_items).
    pub fn items(&self) -> u64 {
        self.items
    }
    /// BCAST prefixes in use (INFO tracking_total_prefixes).
    pub fn prefixes(&self) -> usize {
        self.prefixes.len()
    }
    /// Does a modified key concern anybody (a table entry, a prefix)? The one check a write makes.
    #[inline]
    pub fn watching(&self) -> bool {
        (self.table.len() | self.prefixes.len()) != 0
    }
}

// ---------------------------------------------------------------------------------------------------------
// Sending
// ---------------------------------------------------------------------------------------------------------

/// The protocol `slot` reads: a script's caller reads its own, not the script's (which its record shows).
fn resp_of(s: &State, slot: usize) -> u8 {
    match s.pubsub.script_caller {
        Some((caller, resp)) if caller == slot => resp,
        _ => s.clients.get(slot).map_or(2, |c| c.resp),
    }
}

/// Key invalidation frames already built in one invalidation, by form (message, push): every client told of
/// the key gets the same bytes, one allocation (they wait in inboxes; copies per client multiplied an
/// eviction's memory by the number of tracking clients, and fed the next eviction).
type Built = [Option<Bytes>; 2];

/// The frame that tells tracking client `slot` about `what`, and the client it goes to (itself or its
/// redirect), as Redis's sendTrackingMessage; None when nothing can be sent (RESP2 without a subscribed
/// redirect client). A vanished redirect client marks the redirect broken and, in RESP3, tells the client.
/// A key's frame is built once per `built` and shared.
fn frame_for(s: &mut State, slot: usize, what: Payload<'_>, built: &mut Built) -> Option<(usize, Bytes)> {
    let own_resp = resp_of(s, slot);
    let c = s.clients.get(slot)?;
    let (redirect, redirect_slot) = c.tracking.as_ref().map_or((0, 0), |t| (t.redirect, t.redirect_slot));
    let (target, redirected) = if redirect != 0 {
        if s.clients.get(redirect_slot).is_none_or(|r| r.id != redirect) {
            if let Some(t) = s.clients[slot].tracking.as_mut() {
                t.broken_redirect = true;
            }
            if own_resp <= 2 {
                return None;
            }
            let mut b = BytesMut::with_capacity(48);
            b.put_slice(b">2\r\n$21\r\ntracking-redir-broken\r\n:");
            b.put_slice(itoa::Buffer::new().format(redirect).as_bytes());
            b.put_slice(b"\r\n");
            return Some((slot, b.freeze()));
        }
        (redirect_slot, true)
    } else {
        (slot, false)
    };
    // RESP3 reads pushes; in RESP2 only a subscribed redirect client can take a message.
    let push = resp_of(s, target) > 2;
    let message = redirected && s.clients[target].subscribed();
    if !(push || message) {
        return None;
    }
    if let (Payload::Key(_), Some(f)) = (&what, &built[push as usize]) {
        return Some((target, f.clone()));
    }
    let mut tmp = itoa::Buffer::new();
    let payload = match what {
        Payload::Key(k) => k.len() + 32,
        Payload::All => 5,
        Payload::Keys(proto) => proto.len(),
    };
    // Sized once: grown from a small start, a 1 KB key's frame held 2 KB.
    let mut b = BytesMut::with_capacity(48 + payload);
    if push {
        b.put_slice(b">2\r\n$10\r\ninvalidate\r\n");
    } else {
        b.put_slice(b"*3\r\n$7\r\nmessage\r\n$20\r\n");
        b.put_slice(CHANNEL);
        b.put_slice(b"\r\n");
    }
    match what {
        Payload::Key(k) => {
            b.put_slice(b"*1\r\n$");
            b.put_slice(tmp.format(k.len()).as_bytes());
            b.put_slice(b"\r\n");
            b.put_slice(k);
            b.put_slice(b"\r\n");
        }
        // As Redis: the null of the tracking client's protocol, whoever receives it.
        Payload::All => b.put_slice(if own_resp > 2 { b"_\r\n" } else { b"$-1\r\n" }),
        Payload::Keys(proto) => b.put_slice(proto),
    }
    let frame = b.freeze();
    if let Payload::Key(_) = what {
        built[push as usize] = Some(frame.clone());
    }
    Some((target, frame))
}

/// Send `what` to tracking client `slot` after this batch (the pub/sub outbox).
fn send(s: &mut State, slot: usize, what: Payload<'_>, built: &mut Built) {
    if let Some((target, frame)) = frame_for(s, slot, what, built) {
        s.pubsub.outbox.queue(target, &frame);
    }
}

/// Send the invalidations held for client `me` now, into its output `out` when they are for it; true if
/// something was written there.
fn flush_pending(s: &mut State, me: usize, out: &mut Out) -> bool {
    if s.tracking.pending.is_empty() {
        return false;
    }
    // Ones held for another client (served while a script of `me` is busy) wait for that client's command.
    let (mine, others): (Vec<_>, Vec<_>) = std::mem::take(&mut s.tracking.pending).into_iter().partition(|p| p.0 == me);
    s.tracking.pending = others;
    let mut wrote = false;
    for (_, p) in &mine {
        let what = match p {
            Pending::Key(k) => Payload::Key(k),
            Pending::All => Payload::All,
        };
        if let Some((target, frame)) = frame_for(s, me, what, &mut Built::default()) {
            if target == me {
                out.buf.extend_from_slice(&frame);
                wrote = true;
            } else {
                s.pubsub.outbox.queue(target, &frame);
            }
        }
    }
    wrote
}

// ---------------------------------------------------------------------------------------------------------
// Invalidation
// ---------------------------------------------------------------------------------------------------------

/// `key` was modified by the running client (`State::touch_key`): as Redis's signalModifiedKey with that
/// client, or with the script's own client while a script runs (so BCAST NOLOOP does not hide a script's
/// writes, as in Redis).
#[cold]
pub fn key_modified(s: &mut State, key: &[u8]) {
    let by = match s.tracking.current {
        _ if s.exec.in_script => 0,
        NO_CLIENT => 0,
        slot => s.clients.get(slot).map_or(0, |c| c.id),
    };
    invalidate(s, key, by, true);
}

/// Redis's trackingInvalidateKey: tell the clients that may cache `key` and drop it from the table; with
/// `bcast`, also queue it for the BCAST prefixes it matches (`by`: the modifying client's id, 0 for none).
pub fn invalidate(s: &mut State, key: &[u8], by: u64, bcast: bool) {
    let t = &mut s.tracking;
    if bcast && !t.prefixes.is_empty() {
        for (p, st) in t.prefixes.iter_mut() {
            if key.starts_with(p) {
                // The last writer wins, as Redis's raxInsert over the same key.
                match st.keys.get_mut(key) {
                    Some(b) => *b = by,
                    None => {
                        st.keys.insert(key.into(), by);
                    }
                }
                t.bcast_pending = true;
            }
        }
    }
    let Some(ids) = t.table.swap_remove(key) else { return };
    t.items -= ids.len() as u64;
    let current = t.current;
    let mut built = Built::default();
    for id in ids {
        let Some(&slot) = s.tracking.by_id.get(&id) else { continue };
        let Some(ct) = s.clients.get(slot).and_then(|c| c.tracking.as_ref()) else { continue };
        // A client that switched to BCAST gets no message for keys it read before.
        if ct.bcast || (ct.noloop && slot == current) {
            continue;
        }
        if slot == current {
            s.tracking.pending.push((slot, Pending::Key(key.into())));
        } else {
            send(s, slot, Payload::Key(key), &mut built);
        }
    }
}

/// Every key may have changed (FLUSHDB, FLUSHALL, SWAPDB): every tracking client gets a null, and the table
/// is emptied (Redis's trackingInvalidateKeysOnFlush).
pub fn flushed(s: &mut State) {
    if s.tracking.clients() != 0 {
        // In client id order, as Redis walks its client list.
        let mut targets: Vec<(u64, usize)> = s.tracking.by_id.iter().map(|(&id, &slot)| (id, slot)).collect();
        targets.sort_unstable();
        for (_, slot) in targets {
            if slot == s.tracking.current {
                s.tracking.pending.push((slot, Pending::All));
            } else {
                send(s, slot, Payload::All, &mut Built::default());
            }
        }
    }
    s.tracking.table = Default::default();
    s.tracking.items = 0;
}

/// tracking-table-max-keys: while the table is over it, invalidate random keys (their clients are told, as
/// if the keys changed), at most 100 × the number of runs that ended still over the limit (Redis's
/// trackingLimitUsedSlots).
pub fn limit_table(s: &mut State) {
    let max = s.tracking.max_keys;
    if max == 0 {
        return;
    }
    if s.tracking.table.len() <= max {
        s.tracking.limit_rounds = 0;
        return;
    }
    let mut effort = 100 * (s.tracking.limit_rounds as u64 + 1);
    while effort > 0 && !s.tracking.table.is_empty() {
        effort -= 1;
        let i = crate::types::rng::below(s.tracking.table.len());
        let Some((key, _)) = s.tracking.table.get_index(i) else { break };
        let key = key.clone();
        invalidate(s, &key, 0, false);
        if s.tracking.table.len() <= max {
            s.tracking.limit_rounds = 0;
            return;
        }
    }
    s.tracking.limit_rounds += 1;
}

/// The keys of `keys` (a prefix's, sorted) as a RESP array, leaving out those `skip` modified last (NOLOOP);
/// None when that leaves nothing.
fn keys_array(keys: &BTreeMap<Box<[u8]>, u64>, skip: Option<u64>) -> Option<Vec<u8>> {
    let count = match skip {
        None => keys.len(),
        Some(id) => keys.values().filter(|&&by| by != id).count(),
    };
    if count == 0 {
        return None;
    }
    let mut tmp = itoa::Buffer::new();
    let mut v = Vec::with_capacity(8 + keys.len() * 16);
    v.push(b'*');
    v.extend_from_slice(tmp.format(count).as_bytes());
    v.extend_from_slice(b"\r\n");
    for (k, &by) in keys {
        if skip == Some(by) {
            continue;
        }
        v.push(b'$');
        v.extend_from_slice(tmp.format(k.len()).as_bytes());
        v.extend_from_slice(b"\r\n");
        v.extend_from_slice(k);
        v.extend_from_slice(b"\r\n");
    }
    Some(v)
}

/// Send each BCAST prefix's modified keys to its clients, one message per prefix (Redis does this before
/// sleeping, once per event loop; the Keyspace does it after each batch).
pub fn broadcast(s: &mut State) {
    if !std::mem::take(&mut s.tracking.bcast_pending) {
        return;
    }
    let mut prefixes = std::mem::take(&mut s.tracking.prefixes);
    for st in prefixes.values_mut() {
        if st.keys.is_empty() {
            continue;
        }
        let all = keys_array(&st.keys, None);
        for &slot in &st.clients {
            let Some(c) = s.clients.get(slot) else { continue };
            if c.tracking.as_ref().is_some_and(|t| t.noloop) {
                let id = c.id;
                if let Some(mine) = keys_array(&st.keys, Some(id)) {
                    send(s, slot, Payload::Keys(&mine), &mut Built::default());
                }
            } else if let Some(all) = &all {
                send(s, slot, Payload::Keys(all), &mut Built::default());
            }
        }
        st.keys.clear();
    }
    s.tracking.prefixes = prefixes;
}

// ---------------------------------------------------------------------------------------------------------
// Remembering keys, around each command
// ---------------------------------------------------------------------------------------------------------

/// EVAL_RO, EVALSHA_RO and FCALL_RO are read-only commands whose keys count only if the script reads.
fn read_only_script(spec: &CommandSpec) -> bool {
    matches!(spec.name, "eval_ro" | "evalsha_ro" | "fcall_ro")
}

/// Call `f` with each key argument of `argv` for `spec` (its first/last/step, or its key function).
fn for_each_key(spec: &CommandSpec, argv: &Argv<'_>, mut f: impl FnMut(&[u8])) {
    if spec.getkeys.is_some() {
        let args = argv.to_vec();
        for i in spec.key_positions(&args) {
            f(args[i]);
        }
        return;
    }
    if spec.first_key <= 0 {
        return;
    }
    let argc = argv.len() as i32;
    let last = if spec.last_key < 0 { argc + spec.last_key } else { spec.last_key.min(argc - 1) };
    let step = spec.key_step.max(1);
    let mut i = spec.first_key;
    while i <= last && i < argc {
        f(argv.get(i as usize));
        i += step;
    }
}

/// Remember the keys client `slot` just read with `spec` (Redis's trackingRememberKeys).
fn remember(s: &mut State, slot: usize, spec: &CommandSpec, argv: &Argv<'_>) {
    let Some(c) = s.clients.get(slot) else { return };
    let Some(t) = c.tracking.as_ref() else { return };
    if t.bcast || (t.optin && !t.caching) || (t.optout && t.caching) || spec.has(PUBSUB) {
        return;
    }
    let id = c.id;
    let Tracking { table, items, .. } = &mut s.tracking;
    for_each_key(spec, argv, |key| {
        let ids = match table.get_mut(key) {
            Some(ids) => ids,
            None => table.entry(key.into()).or_insert_with(|| Vec::with_capacity(1)),
        };
        if !ids.contains(&id) {
            ids.push(id);
            *items += 1;
        }
    });
}

/// Before client `me`'s top-level command runs (there are tracking clients): keep the table within its
/// limit, and send what eviction and the limit invalidated for `me` now, before the reply, as Redis does.
#[cold]
pub fn before_command(s: &mut State, me: usize, out: &mut Out) {
    limit_table(s);
    flush_pending(s, me, out);
}

/// After client `me`'s command ran (there are tracking clients): remember what it read; after a top-level
/// one, also end CLIENT CACHING's one-command effect and send `me`'s own invalidations after the reply.
#[cold]
pub fn after_command(s: &mut State, me: usize, out: &mut Out, argv: &Argv<'_>, spec: &CommandSpec, top: bool) {
    if spec.has(READONLY) {
        if s.exec.in_script {
            s.tracking.script_read = true;
        } else if !read_only_script(spec) {
            remember(s, me, spec, argv);
        }
    }
    if !s.exec.in_script && std::mem::take(&mut s.tracking.script_read) && spec.categories & SCRIPTING != 0 {
        // A script that read anything: the keys its caller declared.
        remember(s, me, spec, argv);
    }
    if top {
        after_top_level(s, me, out, Some(spec));
    }
}

/// After a top-level command, whether it ran or not (queued, refused): as Redis's resetClient, CLIENT
/// CACHING lasts one command (or one transaction), and `me`'s own invalidations follow its reply.
#[cold]
pub fn after_top_level(s: &mut State, me: usize, out: &mut Out, spec: Option<&CommandSpec>) {
    let Some(c) = s.clients.get_mut(me) else { return };
    let client_cmd = spec.is_some_and(|sp| sp.name.starts_with("client|"));
    if c.multi.is_none() && !client_cmd {
        if let Some(t) = c.tracking.as_mut() {
            t.caching = false;
        }
    }
    let at = out.buf.len();
    if flush_pending(s, me, out) {
        s.tracking.pushed_at = Some(at);
    }
}

// ---------------------------------------------------------------------------------------------------------
// Turning tracking on and off
// ---------------------------------------------------------------------------------------------------------

/// Turn tracking off for `slot` (CLIENT TRACKING OFF, RESET, disconnect): out of its BCAST prefixes at once;
/// its ids in the table go lazily, as in Redis.
pub fn disable(s: &mut State, slot: usize) {
    let Some(c) = s.clients.get_mut(slot) else { return };
    let Some(t) = c.tracking.take() else { return };
    let id = c.id;
    if t.bcast {
        for p in &t.prefixes {
            if let Some(st) = s.tracking.prefixes.get_mut(p) {
                st.clients.retain(|&x| x != slot);
                if st.clients.is_empty() {
                    s.tracking.prefixes.remove(p);
                }
            }
        }
    }
    s.tracking.by_id.remove(&id);
    s.tracking.pending.retain(|(sl, _)| *sl != slot);
    if s.tracking.by_id.is_empty() {
        s.refresh_expire_logging();
    }
}

/// Options of CLIENT TRACKING ON.
#[derive(Default)]
struct Options {
    bcast: bool,
    optin: bool,
    optout: bool,
    noloop: bool,
}

/// Turn tracking on for `slot` (Redis's enableTracking): the mode flags are replaced, BCAST prefixes added.
fn enable(s: &mut State, slot: usize, redirect: (u64, usize), o: &Options, prefixes: &[&[u8]]) {
    let c = &mut s.clients[slot];
    let id = c.id;
    let t = c.tracking.get_or_insert_with(Default::default);
    t.redirect = redirect.0;
    t.redirect_slot = redirect.1;
    t.broken_redirect = false;
    t.bcast = o.bcast;
    t.optin = o.optin;
    t.optout = o.optout;
    t.noloop = o.noloop;
    if o.bcast {
        let empty: [&[u8]; 1] = [b""];
        let list = if prefixes.is_empty() { &empty[..] } else { prefixes };
        for p in list {
            let st = s.tracking.prefixes.entry((*p).into()).or_default();
            if !st.clients.contains(&slot) {
                st.clients.push(slot);
            }
            t.prefixes.insert((*p).into());
        }
    }
    let first = s.tracking.by_id.is_empty();
    s.tracking.by_id.insert(id, slot);
    if first {
        // Expiry must report its deletions now: they invalidate too.
        s.refresh_expire_logging();
    }
}

/// Redis's checkPrefixCollisionsOrReply: a client's prefixes may not be prefixes of one another.
fn check_prefixes(existing: Option<&BTreeSet<Box<[u8]>>>, new: &[&[u8]]) -> Result<(), CmdError> {
    let overlap = |a: &[u8], b: &[u8]| a.starts_with(b) || b.starts_with(a);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    for (i, p) in new.iter().enumerate() {
        if let Some(old) = existing.and_then(|e| e.iter().find(|o| overlap(o, p))) {
            return Err(CmdError::msg(format!(
                "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                text(p),
                text(old)
            )));
        }
        if let Some(other) = new[i + 1..].iter().find(|o| overlap(o, p)) {
            return Err(CmdError::msg(format!(
                "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                text(p),
                text(other)
            )));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// CLIENT TRACKING / CACHING / GETREDIR / TRACKINGINFO
// ---------------------------------------------------------------------------------------------------------

/// CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX prefix ...] [BCAST] [OPTIN] [OPTOUT] [NOLOOP]
pub fn client_tracking(cx: &mut Ctx<'_>) -> CmdResult {
    let mut redirect: (u64, usize) = (0, 0);
    let mut o = Options::default();
    let mut prefixes: Vec<&[u8]> = Vec::new();
    let mut j = 3;
    while j < cx.argc() {
        let more = j + 1 < cx.argc();
        if cx.argv.is(j, "redirect") && more {
            j += 1;
            if redirect.0 != 0 {
                return Err(CmdError::new("ERR A client can only redirect to a single other client"));
            }
            let id = cx.int_arg(j)?;
            // The client must exist now (it may go away later: the redirect is then broken).
            let found = cx.s.clients.iter().find(|(_, c)| c.id as i64 == id && id > 0).map(|(slot, c)| (c.id, slot));
            redirect = found.ok_or(CmdError::new("ERR The client ID you want redirect to does not exist"))?;
        } else if cx.argv.is(j, "bcast") {
            o.bcast = true;
        } else if cx.argv.is(j, "optin") {
            o.optin = true;
        } else if cx.argv.is(j, "optout") {
            o.optout = true;
        } else if cx.argv.is(j, "noloop") {
            o.noloop = true;
        } else if cx.argv.is(j, "prefix") && more {
            j += 1;
            prefixes.push(cx.arg(j));
        } else {
            return Err(CmdError::SYNTAX);
        }
        j += 1;
    }
    if cx.argv.is(2, "on") {
        if !o.bcast && !prefixes.is_empty() {
            return Err(CmdError::new("ERR PREFIX option requires BCAST mode to be enabled"));
        }
        let cur = cx.s.clients[cx.me].tracking.as_deref();
        if cur.is_some_and(|t| t.bcast != o.bcast) {
            return Err(CmdError::new(
                "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.",
            ));
        }
        if o.bcast && (o.optin || o.optout) {
            return Err(CmdError::new("ERR OPTIN and OPTOUT are not compatible with BCAST"));
        }
        if o.optin && o.optout {
            return Err(CmdError::new("ERR You can't specify both OPTIN mode and OPTOUT mode"));
        }
        if cur.is_some_and(|t| (o.optin && t.optout) || (o.optout && t.optin)) {
            return Err(CmdError::new(
                "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.",
            ));
        }
        if o.bcast {
            check_prefixes(cur.map(|t| &t.prefixes), &prefixes)?;
        }
        enable(cx.s, cx.me, redirect, &o, &prefixes);
    } else if cx.argv.is(2, "off") {
        disable(cx.s, cx.me);
    } else {
        return Err(CmdError::SYNTAX);
    }
    cx.out.ok();
    Ok(())
}

/// CLIENT CACHING YES|NO: whether the next command's keys are tracked (OPTIN / OPTOUT).
pub fn client_caching(cx: &mut Ctx<'_>) -> CmdResult {
    let yes = cx.argv.is(2, "yes");
    let no = cx.argv.is(2, "no");
    let Some(t) = cx.s.clients[cx.me].tracking.as_mut() else {
        return Err(CmdError::new(
            "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
        ));
    };
    if yes {
        if !t.optin {
            return Err(CmdError::new("ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode."));
        }
    } else if no {
        if !t.optout {
            return Err(CmdError::new("ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode."));
        }
    } else {
        return Err(CmdError::SYNTAX);
    }
    t.caching = true;
    cx.out.ok();
    Ok(())
}

/// CLIENT GETREDIR: the redirect client's id, 0 without one, -1 when tracking is off.
pub fn client_getredir(cx: &mut Ctx<'_>) -> CmdResult {
    let r = cx.s.clients[cx.me].tracking.as_ref().map_or(-1, |t| t.redirect as i64);
    cx.out.int(r);
    Ok(())
}

/// CLIENT TRACKINGINFO: flags (a set), redirect, prefixes, as Redis 7.0 lists them.
pub fn client_trackinginfo(cx: &mut Ctx<'_>) -> CmdResult {
    let t = cx.s.clients[cx.me].tracking.as_deref();
    let mut flags: Vec<&str> = vec![if t.is_some() { "on" } else { "off" }];
    if let Some(t) = t {
        if t.bcast {
            flags.push("bcast");
        }
        if t.optin {
            flags.push("optin");
            if t.caching {
                flags.push("caching-yes");
            }
        }
        if t.optout {
            flags.push("optout");
            if t.caching {
                flags.push("caching-no");
            }
        }
        if t.noloop {
            flags.push("noloop");
        }
        if t.broken_redirect {
            flags.push("broken_redirect");
        }
    }
    let out = &mut *cx.out;
    out.map(3);
    out.bulk(b"flags");
    out.set(flags.len());
    for f in flags {
        out.bulk(f.as_bytes());
    }
    out.bulk(b"redirect");
    out.int(t.map_or(-1, |t| t.redirect as i64));
    out.bulk(b"prefixes");
    match t {
        Some(t) => {
            out.array(t.prefixes.len());
            for p in &t.prefixes {
                out.bulk(p);
            }
        }
        None => out.array(0),
    }
    Ok(())
}

#[cfg(test)]
#[path = "tracking_tests.rs"]
mod tests;
