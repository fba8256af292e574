//! Pub/Sub: SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE and their UNSUBSCRIBEs, PUBLISH / SPUBLISH, PUBSUB, the
//! subscription registry (`PubSub`, the State part `pubsub`) and the delivery outbox the Keyspace actor
//! empties after each batch (commands layer, applied by the Keyspace actor).
//!
//! Replies and texts follow Redis 7.0's pubsub.c: a subscribe-type command answers one notification per
//! argument (`subscribe <channel> <count>`), as an array in RESP2 and a push (`>`) in RESP3; those
//! notifications and every message are "pushes" that CLIENT REPLY OFF does not silence.
//!
//! # Delivery design
//!
//! - **The registry lives in the Keyspace's `State`** (`State::pubsub`), beside the data: PUBLISH runs like
//!   any command, synchronously, and counts its receivers from the registry at that point of the command
//!   stream. Hence PUBLISH's reply is exact, messages keep the order of the commands that published them,
//!   a message published after a write is sent after that write, and PUBLISH inside MULTI/EXEC and scripts
//!   needs nothing special. Keyspace notifications (notify.c) use the same path. There is no separate PubSub
//!   actor: a hop to one would make the receiver count asynchronous.
//! - **One encoding per (message, protocol)**: a message's frame (`message`/`smessage` for channel
//!   subscribers, one `pmessage` frame per matching pattern) is encoded once, lazily, per protocol (RESP2
//!   array / RESP3 push) into a `bytes::Bytes`, and every subscriber gets a clone of that `Bytes` (a reference
//!   count, no copy).
//! - **Coalesced per batch**: deliveries go to the `Outbox`, one `Delivery` (a `Vec<Bytes>`) per subscriber
//!   per Keyspace batch. After the batch the Keyspace sends each subscriber's delivery as ONE `Push` message
//!   to its connection, which writes the frames with vectored writes. A subscriber receiving k messages in
//!   a batch costs one mailbox message and one Vec, not k.
//! - **The publisher itself**: a client subscribed to a channel it publishes to gets the message in its own
//!   reply stream, before the PUBLISH reply, as Redis writes it into the client's output buffer first. Not
//!   so from a script (its replies are not the client's stream) or under CLIENT REPLY OFF/SKIP: then it goes
//!   through the outbox and arrives after the batch's replies.
//! - **Backpressure**: pushes count toward the connection's pending output, checked against the client's
//!   client-output-buffer-limit class (`OBUF_PUBSUB` for subscribers) as they arrive; a subscriber that does
//!   not read is closed at the limit, and its queued frames are freed with it.
//! - **Costs**: subscriber lists are Vecs in subscription order (removing one subscriber is O(subscribers
//!   of that channel), as Redis 7.0's lists); a publish matches every pattern (O(patterns), as Redis).

use super::client::{Client, ReplyMode};
use super::spec::*;
use super::{Ctx, State};
use crate::error::CmdError;
use crate::resp::encode::Out;
use crate::types::glob::glob_match;
use bytes::{BufMut, Bytes, BytesMut};
use indexmap::{IndexMap, IndexSet};

// ---------------------------------------------------------------------------------------------------------
// Registry
// ---------------------------------------------------------------------------------------------------------

/// Subscriber slots by channel (or pattern), in subscription order.
type SubMap = hashbrown::HashMap<Bytes, Vec<usize>, foldhash::fast::FixedState>;

/// What one client is subscribed to (`Client::subs`, present while it is subscribed to anything: Redis's
/// CLIENT_PUBSUB flag). Names are the registry's own `Bytes` (shared, not copied).
#[derive(Default, Debug)]
pub struct ClientSubs {
    pub channels: IndexSet<Bytes>,
    pub patterns: IndexSet<Bytes>,
    pub shard: IndexSet<Bytes>,
}

impl ClientSubs {
    /// Channels + patterns (the count SUBSCRIBE / PSUBSCRIBE and their UNSUBSCRIBEs report).
    pub fn count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }
}

/// Which kind of channel a (un)subscribe acts on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    fn subscribe_word(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"subscribe",
            Kind::Pattern => b"psubscribe",
            Kind::Shard => b"ssubscribe",
        }
    }
    fn unsubscribe_word(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"unsubscribe",
            Kind::Pattern => b"punsubscribe",
            Kind::Shard => b"sunsubscribe",
        }
    }
}

/// The server's subscriptions: channel / pattern / shard channel -> subscriber slots.
#[derive(Default)]
pub struct Registry {
    channels: SubMap,
    /// Patterns in subscription order (a publish tries each).
    patterns: IndexMap<Bytes, Vec<usize>, foldhash::fast::FixedState>,
    shard: SubMap,
}

impl Registry {
    /// Channels with at least one subscriber (INFO pubsub_channels).
    pub fn channels(&self) -> usize {
        self.channels.len()
    }
    /// Patterns with at least one subscriber (INFO pubsub_patterns, PUBSUB NUMPAT).
    pub fn patterns(&self) -> usize {
        self.patterns.len()
    }
    /// Shard channels with at least one subscriber (INFO pubsubshard_channels).
    pub fn shard_channels(&self) -> usize {
        self.shard.len()
    }
    /// Anybody subscribed to anything (a keyspace event with nobody listening costs no encoding).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.channels.is_empty() && self.patterns.is_empty() && self.shard.is_empty()
    }

    fn list(&mut self, kind: Kind, name: &[u8]) -> Option<&mut Vec<usize>> {
        match kind {
            Kind::Channel => self.channels.get_mut(name),
            Kind::Pattern => self.patterns.get_mut(name),
            Kind::Shard => self.shard.get_mut(name),
        }
    }

    /// The registry's copy of `name`, created with an empty list if new.
    fn entry(&mut self, kind: Kind, name: &[u8]) -> (Bytes, &mut Vec<usize>) {
        let known = match kind {
            Kind::Channel => self.channels.get_key_value(name).map(|(k, _)| k.clone()),
            Kind::Pattern => self.patterns.get_key_value(name).map(|(k, _)| k.clone()),
            Kind::Shard => self.shard.get_key_value(name).map(|(k, _)| k.clone()),
        };
        let key = known.unwrap_or_else(|| Bytes::copy_from_slice(name));
        // Most channels have one subscriber: room for exactly one (a Vec grows to 4 on its first push).
        let list = match kind {
            Kind::Channel => self.channels.entry(key.clone()).or_insert_with(|| Vec::with_capacity(1)),
            Kind::Pattern => self.patterns.entry(key.clone()).or_insert_with(|| Vec::with_capacity(1)),
            Kind::Shard => self.shard.entry(key.clone()).or_insert_with(|| Vec::with_capacity(1)),
        };
        (key, list)
    }

    fn drop_if_empty(&mut self, kind: Kind, name: &[u8]) {
        // Free a channel nobody listens to any more, so that subscribing to millions of channels and
        // leaving them does not keep their names (Redis does the same).
        match kind {
            Kind::Channel => {
                if self.channels.get(name).is_some_and(|l| l.is_empty()) {
                    self.channels.remove(name);
                }
            }
            Kind::Pattern => {
                if self.patterns.get(name).is_some_and(|l| l.is_empty()) {
                    self.patterns.shift_remove(name);
                }
            }
            Kind::Shard => {
                if self.shard.get(name).is_some_and(|l| l.is_empty()) {
                    self.shard.remove(name);
                }
            }
        }
    }
}

/// One subscriber's messages of this batch, sent after it as one push.
#[derive(Debug)]
pub struct Delivery {
    /// The subscriber's client slot.
    pub slot: usize,
    /// Encoded frames, in publish order (shared with the other subscribers).
    pub frames: Vec<Bytes>,
}

/// Deliveries of the running batch, one per subscriber, emptied by the Keyspace after the batch.
#[derive(Default)]
pub struct Outbox {
    pending: Vec<Delivery>,
    /// 1 + index into `pending` by client slot (0: nothing for that client yet in this batch).
    at: Vec<u32>,
    /// Bytes of the distinct frames queued since the last `take` (a frame fanned out to many clients is
    /// queued to each in turn: counted once), and the last frame's address.
    unique: usize,
    last: usize,
    /// `unique` of the last batch that delivered anything: what its frames hold while they are on their way.
    pub last_unique: usize,
}

impl Outbox {
    /// Queue `frame` for client `slot` (pub/sub messages, tracking invalidations).
    #[inline]
    pub fn queue(&mut self, slot: usize, frame: &Bytes) {
        if frame.as_ptr() as usize != self.last {
            self.last = frame.as_ptr() as usize;
            self.unique += frame.len();
        }
        if self.at.len() <= slot {
            self.at.resize(slot + 1, 0);
        }
        match self.at[slot] {
            0 => {
                self.pending.push(Delivery { slot, frames: vec![frame.clone()] });
                self.at[slot] = self.pending.len() as u32;
            }
            i => self.pending[i as usize - 1].frames.push(frame.clone()),
        }
    }

    /// Nothing to deliver.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// The deliveries of this batch (the outbox is empty after).
    pub fn take(&mut self) -> Vec<Delivery> {
        self.last_unique = std::mem::take(&mut self.unique);
        self.last = 0;
        for d in &self.pending {
            if let Some(a) = self.at.get_mut(d.slot) {
                *a = 0;
            }
        }
        let mut v = std::mem::take(&mut self.pending);
        v.retain(|d| !d.frames.is_empty());
        v
    }

    /// A client went away: what was queued for it is dropped (its slot may be reused).
    fn forget(&mut self, slot: usize) {
        if let Some(a) = self.at.get_mut(slot) {
            if *a != 0 {
                self.pending[*a as usize - 1].frames.clear();
                *a = 0;
            }
        }
    }
}

/// The pub/sub part of the Keyspace's State: who is subscribed to what (`subs`), what this batch delivers
/// (`outbox`), the notify-keyspace-events flags in force (`notify`), and whether the running command's reply
/// is a push (`reply_pushed`: CLIENT REPLY OFF must not drop it).
#[derive(Default)]
pub struct PubSub {
    pub subs: Registry,
    pub outbox: Outbox,
    /// NOTIFY_* flags from notify-keyspace-events, 0 unless K or E is set too: the one check a write makes.
    pub notify: u32,
    /// Set by a command whose reply is (also) pushes: exec_batch keeps it under CLIENT REPLY OFF/SKIP.
    pub reply_pushed: bool,
    /// While a script runs: its caller's slot and real protocol (the client record shows the script's).
    pub script_caller: Option<(usize, u8)>,
    /// Where the running command's reply starts in its client's output (`exec_request` sets it): messages
    /// to that client itself go in there, before the reply, as Redis writes them before its addReply.
    pub reply_mark: usize,
}

// ---------------------------------------------------------------------------------------------------------
// Frames
// ---------------------------------------------------------------------------------------------------------

/// Encode a push of bulk strings: `*n` (RESP2) or `>n` (RESP3), then each part as a bulk string.
fn encode(resp: u8, parts: &[&[u8]]) -> Bytes {
    let mut tmp = itoa::Buffer::new();
    let cap = 4 + parts.iter().map(|p| p.len() + 16).sum::<usize>();
    let mut b = BytesMut::with_capacity(cap);
    b.put_u8(if resp >= 3 { b'>' } else { b'*' });
    b.put_slice(tmp.format(parts.len()).as_bytes());
    b.put_slice(b"\r\n");
    for p in parts {
        b.put_u8(b'$');
        b.put_slice(tmp.format(p.len()).as_bytes());
        b.put_slice(b"\r\n");
        b.put_slice(p);
        b.put_slice(b"\r\n");
    }
    b.freeze()
}

/// Where the publishing client's own copy goes: straight into its replies (`out`), or None to the outbox.
pub struct Direct<'o> {
    pub me: usize,
    pub out: &'o mut Out,
}

/// Send `msg` on `channel` (a shard channel when `shard`) to every subscriber, channel subscribers first and
/// then each matching pattern's (shard channels ignore patterns); returns the receivers, as PUBLISH answers.
pub fn publish(s: &mut State, mut direct: Option<Direct<'_>>, channel: &[u8], msg: &[u8], shard: bool) -> usize {
    let State { pubsub, clients, .. } = s;
    let PubSub { subs, outbox, script_caller, reply_mark, .. } = pubsub;
    let resp_of = |slot: usize| match *script_caller {
        Some((caller, resp)) if caller == slot => resp,
        _ => clients.get(slot).map_or(2, |c| c.resp),
    };
    let mut receivers = 0;
    let list = if shard { subs.shard.get(channel) } else { subs.channels.get(channel) };
    if let Some(list) = list {
        let word: &[u8] = if shard { b"smessage" } else { b"message" };
        let mut frames: [Option<Bytes>; 2] = [None, None];
        for &slot in list {
            let resp = resp_of(slot);
            let f = frames[(resp >= 3) as usize].get_or_insert_with(|| encode(resp, &[word, channel, msg]));
            send(outbox, &mut direct, reply_mark, slot, f);
            receivers += 1;
        }
    }
    if shard || subs.patterns.is_empty() {
        return receivers;
    }
    for (pattern, list) in subs.patterns.iter() {
        if !glob_match(pattern, channel, false) {
            continue;
        }
        let mut frames: [Option<Bytes>; 2] = [None, None];
        for &slot in list {
            let resp = resp_of(slot);
            let f =
                frames[(resp >= 3) as usize].get_or_insert_with(|| encode(resp, &[b"pmessage", pattern, channel, msg]));
            send(outbox, &mut direct, reply_mark, slot, f);
            receivers += 1;
        }
    }
    receivers
}

#[inline]
fn send(outbox: &mut Outbox, direct: &mut Option<Direct<'_>>, mark: &mut usize, slot: usize, frame: &Bytes) {
    match direct {
        Some(d) if d.me == slot => {
            // Before what the command replied so far (rare: a client subscribed to what it publishes).
            let at = (*mark).min(d.out.buf.len());
            d.out.buf.splice(at..at, frame.iter().copied());
            *mark = at + frame.len();
        }
        _ => outbox.queue(slot, frame),
    }
}

/// The direct route for the running command's client, when its replies are the client's own stream.
pub fn direct_for<'o>(s: &State, me: usize, out: &'o mut Out) -> Option<Direct<'o>> {
    let c = s.clients.get(me)?;
    (c.reply_mode == ReplyMode::On && !s.exec.in_script && c.subs.is_some()).then_some(Direct { me, out })
}

// ---------------------------------------------------------------------------------------------------------
// Subscribing
// ---------------------------------------------------------------------------------------------------------

/// The notification count for `kind`: channels + patterns, or shard channels.
fn count_for(c: &Client, kind: Kind) -> i64 {
    c.subs.as_ref().map_or(0, |s| if kind == Kind::Shard { s.shard.len() } else { s.count() }) as i64
}

/// Write `<word> <name or null> <count>` as a push (RESP2: an array).
fn notification(out: &mut Out, word: &[u8], name: Option<&[u8]>, count: i64) {
    out.push(3);
    out.bulk(word);
    match name {
        Some(n) => out.bulk(n),
        None => out.nil(),
    }
    out.int(count);
}

/// Subscribe client `me` to `name`; true if it was not subscribed yet.
fn subscribe_one(s: &mut State, me: usize, kind: Kind, name: &[u8]) -> bool {
    let c = &mut s.clients[me];
    let subs = c.subs.get_or_insert_with(Default::default);
    let set = match kind {
        Kind::Channel => &mut subs.channels,
        Kind::Pattern => &mut subs.patterns,
        Kind::Shard => &mut subs.shard,
    };
    if set.contains(name) {
        return false;
    }
    let (key, list) = s.pubsub.subs.entry(kind, name);
    list.push(me);
    set.insert(key);
    true
}

/// Unsubscribe client `me` from `name`; true if it was subscribed.
fn unsubscribe_one(s: &mut State, me: usize, kind: Kind, name: &[u8]) -> bool {
    let Some(subs) = s.clients[me].subs.as_mut() else { return false };
    let set = match kind {
        Kind::Channel => &mut subs.channels,
        Kind::Pattern => &mut subs.patterns,
        Kind::Shard => &mut subs.shard,
    };
    // shift_remove keeps the order the rest were subscribed in (UNSUBSCRIBE with no argument lists them so).
    if !set.shift_remove(name) {
        return false;
    }
    if let Some(list) = s.pubsub.subs.list(kind, name) {
        if let Some(i) = list.iter().position(|&x| x == me) {
            list.remove(i);
        }
    }
    s.pubsub.subs.drop_if_empty(kind, name);
    true
}

/// Leave pubsub mode when nothing is left (Redis clears CLIENT_PUBSUB).
fn settle(c: &mut Client) {
    if c.subs.as_ref().is_some_and(|s| s.count() + s.shard.len() == 0) {
        c.subs = None;
    }
}

/// Unsubscribe `me` from every `kind` subscription, writing a notification per name when `out` is given
/// (and one with a null name when there was none); returns how many there were.
fn unsubscribe_all(s: &mut State, me: usize, kind: Kind, mut out: Option<&mut Out>) -> usize {
    let names: Vec<Bytes> = match s.clients[me].subs.as_ref() {
        Some(subs) => match kind {
            Kind::Channel => subs.channels.iter().cloned().collect(),
            Kind::Pattern => subs.patterns.iter().cloned().collect(),
            Kind::Shard => subs.shard.iter().cloned().collect(),
        },
        None => Vec::new(),
    };
    for n in &names {
        unsubscribe_one(s, me, kind, n);
        if let Some(o) = out.as_deref_mut() {
            notification(o, kind.unsubscribe_word(), Some(n), count_for(&s.clients[me], kind));
        }
    }
    if names.is_empty() {
        if let Some(o) = out {
            notification(o, kind.unsubscribe_word(), None, count_for(&s.clients[me], kind));
        }
    }
    names.len()
}

/// Drop every subscription of client `slot` without notifications (RESET, disconnect) and whatever was
/// queued for it in this batch.
pub fn forget_client(s: &mut State, slot: usize) {
    if s.clients.get(slot).is_some_and(|c| c.subs.is_some()) {
        for kind in [Kind::Channel, Kind::Shard, Kind::Pattern] {
            unsubscribe_all(s, slot, kind, None);
        }
        if let Some(c) = s.clients.get_mut(slot) {
            c.subs = None;
        }
    }
    s.pubsub.outbox.forget(slot);
}

/// RESET: leave every subscription, silently (Redis's clearClientConnectionState).
pub fn reset_client(s: &mut State, slot: usize) {
    if s.clients.get(slot).is_some_and(|c| c.subs.is_some()) {
        for kind in [Kind::Channel, Kind::Shard, Kind::Pattern] {
            unsubscribe_all(s, slot, kind, None);
        }
        s.clients[slot].subs = None;
    }
}

/// Commands a RESP2 client may send while subscribed.
pub fn allowed_when_subscribed(spec: &CommandSpec) -> bool {
    matches!(
        spec.name,
        "ping"
            | "subscribe"
            | "ssubscribe"
            | "unsubscribe"
            | "sunsubscribe"
            | "psubscribe"
            | "punsubscribe"
            | "quit"
            | "reset"
    )
}

/// The error a subscribed RESP2 client gets for other commands.
pub fn not_allowed_when_subscribed(spec: &CommandSpec) -> CmdError {
    CmdError::msg(format!(
        "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
        spec.name
    ))
}

// ---------------------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------------------

fn subscribe_cmd(cx: &mut Ctx<'_>, kind: Kind) -> CmdResult {
    for i in 1..cx.argc() {
        let name = cx.arg(i);
        subscribe_one(cx.s, cx.me, kind, name);
        let count = count_for(&cx.s.clients[cx.me], kind);
        notification(cx.out, kind.subscribe_word(), Some(name), count);
    }
    cx.s.pubsub.reply_pushed = true;
    Ok(())
}

fn unsubscribe_cmd(cx: &mut Ctx<'_>, kind: Kind) -> CmdResult {
    if cx.argc() == 1 {
        unsubscribe_all(cx.s, cx.me, kind, Some(cx.out));
    } else {
        for i in 1..cx.argc() {
            let name = cx.arg(i);
            unsubscribe_one(cx.s, cx.me, kind, name);
            let count = count_for(&cx.s.clients[cx.me], kind);
            notification(cx.out, kind.unsubscribe_word(), Some(name), count);
        }
    }
    settle(&mut cx.s.clients[cx.me]);
    cx.s.pubsub.reply_pushed = true;
    Ok(())
}

/// SUBSCRIBE channel [channel ...]
fn subscribe(cx: &mut Ctx<'_>) -> CmdResult {
    subscribe_cmd(cx, Kind::Channel)
}

/// UNSUBSCRIBE [channel [channel ...]]
fn unsubscribe(cx: &mut Ctx<'_>) -> CmdResult {
    unsubscribe_cmd(cx, Kind::Channel)
}

/// PSUBSCRIBE pattern [pattern ...]
fn psubscribe(cx: &mut Ctx<'_>) -> CmdResult {
    subscribe_cmd(cx, Kind::Pattern)
}

/// PUNSUBSCRIBE [pattern [pattern ...]]
fn punsubscribe(cx: &mut Ctx<'_>) -> CmdResult {
    unsubscribe_cmd(cx, Kind::Pattern)
}

/// SSUBSCRIBE shardchannel [shardchannel ...]
fn ssubscribe(cx: &mut Ctx<'_>) -> CmdResult {
    subscribe_cmd(cx, Kind::Shard)
}

/// SUNSUBSCRIBE [shardchannel [shardchannel ...]]
fn sunsubscribe(cx: &mut Ctx<'_>) -> CmdResult {
    unsubscribe_cmd(cx, Kind::Shard)
}

/// PUBLISH / SPUBLISH: deliver, reply with the receivers, and propagate to replicas (Redis forces
/// propagation to replicas only; with no replica attached nothing is propagated, so the AOF stays free of
/// messages).
fn publish_cmd(cx: &mut Ctx<'_>, shard: bool) -> CmdResult {
    let (channel, msg) = (cx.arg(1), cx.arg(2));
    let direct = direct_for(cx.s, cx.me, cx.out);
    let n = publish(cx.s, direct, channel, msg, shard);
    if cx.s.prop.replicas > 0 {
        let args: Vec<&[u8]> = cx.argv.iter().collect();
        cx.propagate_as(&args);
    }
    cx.out.int(n as i64);
    Ok(())
}

/// PUBLISH channel message
fn publish_command(cx: &mut Ctx<'_>) -> CmdResult {
    publish_cmd(cx, false)
}

/// SPUBLISH shardchannel message
fn spublish(cx: &mut Ctx<'_>) -> CmdResult {
    publish_cmd(cx, true)
}

/// PUBSUB CHANNELS / SHARDCHANNELS [pattern]: active channels, matching the pattern if given.
fn channel_list(cx: &mut Ctx<'_>, shard: bool) -> CmdResult {
    if cx.argc() > 3 {
        return Err(cx.subcommand_syntax());
    }
    let pat = (cx.argc() == 3).then(|| cx.arg(2));
    let map = if shard { &cx.s.pubsub.subs.shard } else { &cx.s.pubsub.subs.channels };
    let names: Vec<&Bytes> = map.keys().filter(|c| pat.is_none_or(|p| glob_match(p, c, false))).collect();
    cx.out.array(names.len());
    for n in names {
        cx.out.bulk(n);
    }
    Ok(())
}

/// PUBSUB CHANNELS [pattern]
fn pubsub_channels(cx: &mut Ctx<'_>) -> CmdResult {
    channel_list(cx, false)
}

/// PUBSUB SHARDCHANNELS [pattern]
fn pubsub_shardchannels(cx: &mut Ctx<'_>) -> CmdResult {
    channel_list(cx, true)
}

/// PUBSUB NUMSUB / SHARDNUMSUB [channel ...]: each channel and its subscriber count (patterns not counted).
fn numsub(cx: &mut Ctx<'_>, shard: bool) -> CmdResult {
    let map = if shard { &cx.s.pubsub.subs.shard } else { &cx.s.pubsub.subs.channels };
    cx.out.array((cx.argc() - 2) * 2);
    for i in 2..cx.argc() {
        let c = cx.arg(i);
        cx.out.bulk(c);
        cx.out.int(map.get(c).map_or(0, |l| l.len()) as i64);
    }
    Ok(())
}

/// PUBSUB NUMSUB [channel ...]
fn pubsub_numsub(cx: &mut Ctx<'_>) -> CmdResult {
    numsub(cx, false)
}

/// PUBSUB SHARDNUMSUB [shardchannel ...]
fn pubsub_shardnumsub(cx: &mut Ctx<'_>) -> CmdResult {
    numsub(cx, true)
}

/// PUBSUB NUMPAT: patterns with at least one subscriber.
fn pubsub_numpat(cx: &mut Ctx<'_>) -> CmdResult {
    cx.out.int(cx.s.pubsub.subs.patterns() as i64);
    Ok(())
}

/// PUBSUB HELP
fn pubsub_help(cx: &mut Ctx<'_>) -> CmdResult {
    super::connection::help(
        cx,
        "PUBSUB",
        &[
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
        ],
    )
}

const SUBSCRIBE: u32 = PUBSUB | NOSCRIPT | LOADING | STALE;
const INTROSPECT: u32 = PUBSUB | LOADING | STALE;

#[rustfmt::skip]
const PUBSUB_SUBS: &[CommandSpec] = &family("pubsub", [
    cmd("pubsub|channels", -2, INTROSPECT, pubsub_channels).doc("2.8.0", "O(N) where N is the number of active channels, and assuming constant time pattern matching (relatively short channels and patterns)", "List active channels"),
    cmd("pubsub|numsub", -2, INTROSPECT, pubsub_numsub).doc("2.8.0", "O(N) for the NUMSUB subcommand, where N is the number of requested channels", "Get the count of subscribers for channels"),
    cmd("pubsub|numpat", 2, INTROSPECT, pubsub_numpat).doc("2.8.0", "O(1)", "Get the count of unique patterns pattern subscriptions"),
    cmd("pubsub|shardchannels", -2, INTROSPECT, pubsub_shardchannels).doc("7.0.0", "O(N) where N is the number of active shard channels, and assuming constant time pattern matching (relatively short shard channels).", "List active shard channels"),
    cmd("pubsub|shardnumsub", -2, INTROSPECT, pubsub_shardnumsub).doc("7.0.0", "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels", "Get the count of subscribers for shard channels"),
    cmd("pubsub|help", 2, LOADING | STALE, pubsub_help).doc("6.2.0", "O(1)", "Show helpful text about the different subcommands"),
]);

/// The pub/sub commands, as Redis 7.0's command table declares them (SSUBSCRIBE, SUNSUBSCRIBE and SPUBLISH
/// name their shard channels as keys, for cluster slot routing).
#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("pubsub", [
    cmd("subscribe", -2, SUBSCRIBE, subscribe).doc("2.0.0", "O(N) where N is the number of channels to subscribe to.", "Listen for messages published to the given channels"),
    cmd("unsubscribe", -1, SUBSCRIBE, unsubscribe).doc("2.0.0", "O(N) where N is the number of clients already subscribed to a channel.", "Stop listening for messages posted to the given channels"),
    cmd("psubscribe", -2, SUBSCRIBE, psubscribe).doc("2.0.0", "O(N) where N is the number of patterns the client is already subscribed to.", "Listen for messages published to channels matching the given patterns"),
    cmd("punsubscribe", -1, SUBSCRIBE, punsubscribe).doc("2.0.0", "O(N+M) where N is the number of patterns the client is already subscribed and M is the number of total patterns subscribed in the system (by any client).", "Stop listening for messages posted to channels matching the given patterns"),
    cmd("ssubscribe", -2, SUBSCRIBE, ssubscribe).keys(1, -1, 1).doc("7.0.0", "O(N) where N is the number of shard channels to subscribe to.", "Listen for messages published to the given shard channels"),
    cmd("sunsubscribe", -1, SUBSCRIBE, sunsubscribe).keys(1, -1, 1).doc("7.0.0", "O(N) where N is the number of clients already subscribed to a shard channel.", "Stop listening for messages posted to the given shard channels"),
    cmd("publish", 3, PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE, publish_command).doc("2.0.0", "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).", "Post a message to a channel"),
    cmd("spublish", 3, PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE, spublish).keys(1, 1, 1).doc("7.0.0", "O(N) where N is the number of clients subscribed to the receiving shard channel.", "Post a message to a shard channel"),
    cmd("pubsub", -2, 0, container).subs(PUBSUB_SUBS).doc("2.8.0", "Depends on subcommand.", "A container for Pub/Sub commands"),
]);

// ---------------------------------------------------------------------------------------------------------
// Keyspace notifications (Redis's notify.c)
// ---------------------------------------------------------------------------------------------------------

/// The NOTIFY_* flags notify-keyspace-events asks for, or 0 when neither K nor E is set (then no event can
/// go anywhere, and every write's check stays one branch).
pub fn notify_flags(classes: &str) -> u32 {
    use crate::config::{keyspace_events_flags, NOTIFY_KEYEVENT, NOTIFY_KEYSPACE};
    let flags = keyspace_events_flags(classes).unwrap_or(0);
    if flags & (NOTIFY_KEYSPACE | NOTIFY_KEYEVENT) == 0 {
        0
    } else {
        flags
    }
}

/// Publish keyspace event `event` of class `class` for `key` in database `db`, on the channels
/// notify-keyspace-events asks for. Events of keys that expired or were created before this point of the
/// command go first, as Redis emits those where they happen. Callers check `PubSub::notify` first
/// (`Ctx::notify`, `notify`), so nothing here runs while notifications are off.
#[cold]
pub fn emit(s: &mut State, mut direct: Option<Direct<'_>>, class: u32, event: &str, key: &[u8], db: usize) {
    flush_key_events(s, reborrow(&mut direct));
    if s.pubsub.notify & class != 0 {
        emit_inner(s, direct, event, key, db);
    }
}

/// A second use of an optional direct route.
#[inline]
fn reborrow<'a>(d: &'a mut Option<Direct<'_>>) -> Option<Direct<'a>> {
    d.as_mut().map(|d| Direct { me: d.me, out: &mut *d.out })
}

/// Emit the events of keys expiry deleted (`expired`, with `State::drain_expired`), of read lookups that
/// missed (`keymiss`) and of keys created (`new`) so far in this command, in that order.
pub fn flush_key_events(s: &mut State, mut direct: Option<Direct<'_>>) {
    use crate::config::{NOTIFY_KEY_MISS, NOTIFY_NEW};
    if s.prop.expire_logging && s.dbs.iter().any(|d| !d.expired_log.is_empty()) {
        // Also propagates them and touches their watchers, as Redis does where it deletes them.
        s.drain_expired();
    }
    if s.pubsub.notify & (NOTIFY_NEW | NOTIFY_KEY_MISS) == 0 {
        return;
    }
    for db in 0..s.dbs.len() {
        if !s.dbs[db].miss_log.is_empty() {
            for k in std::mem::take(&mut s.dbs[db].miss_log) {
                emit_inner(s, reborrow(&mut direct), "keymiss", &k, db);
            }
        }
        if !s.dbs[db].new_log.is_empty() {
            for k in std::mem::take(&mut s.dbs[db].new_log) {
                emit_inner(s, reborrow(&mut direct), "new", &k, db);
            }
        }
    }
}

/// A key expired (lazily or by active expiry): its `expired` event.
pub fn expired_event(s: &mut State, key: &[u8], db: usize) {
    if s.pubsub.notify & crate::config::NOTIFY_EXPIRED != 0 {
        emit_inner(s, None, "expired", key, db);
    }
}

/// A key was evicted (maxmemory): its `evicted` event.
pub fn evicted_event(s: &mut State, key: &[u8], db: usize) {
    if s.pubsub.notify & crate::config::NOTIFY_EVICTED != 0 {
        emit_inner(s, None, "evicted", key, db);
    }
}

/// Publish `event` for `key`: `__keyspace@<db>__:<key>` with the event as message, then
/// `__keyevent@<db>__:<event>` with the key, as notify-keyspace-events's K and E ask.
fn emit_inner(s: &mut State, mut direct: Option<Direct<'_>>, event: &str, key: &[u8], db: usize) {
    use crate::config::{NOTIFY_KEYEVENT, NOTIFY_KEYSPACE};
    let flags = s.pubsub.notify;
    if s.pubsub.subs.is_empty() {
        return;
    }
    let mut tmp = itoa::Buffer::new();
    let db = tmp.format(db);
    let mut chan = Vec::with_capacity(16 + db.len() + key.len().max(event.len()));
    if flags & NOTIFY_KEYSPACE != 0 {
        chan.extend_from_slice(b"__keyspace@");
        chan.extend_from_slice(db.as_bytes());
        chan.extend_from_slice(b"__:");
        chan.extend_from_slice(key);
        publish(s, reborrow(&mut direct), &chan, event.as_bytes(), false);
    }
    if flags & NOTIFY_KEYEVENT != 0 {
        chan.clear();
        chan.extend_from_slice(b"__keyevent@");
        chan.extend_from_slice(db.as_bytes());
        chan.extend_from_slice(b"__:");
        chan.extend_from_slice(event.as_bytes());
        publish(s, direct, &chan, key, false);
    }
}

impl Ctx<'_> {
    /// Keyspace event `event` of class `class` (a `config::NOTIFY_*`) for `key` in the selected database.
    /// One branch while notifications are off.
    #[inline]
    pub fn notify(&mut self, class: u32, event: &str, key: &[u8]) {
        if self.s.pubsub.notify & class != 0 {
            self.notify_in(class, event, key, self.db);
        }
    }

    /// `notify` for a key of database `db` (MOVE, COPY ... DB).
    #[cold]
    pub fn notify_in(&mut self, class: u32, event: &str, key: &[u8], db: usize) {
        if self.s.pubsub.notify & class == 0 {
            return;
        }
        let direct = direct_for(self.s, self.me, self.out);
        emit(self.s, direct, class, event, key, db);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{self, arr, bulk, bulks, err, int, other, run, run_as, run_raw, simple, T};

    /// What the outbox holds, by slot, as text; emptied.
    fn delivered(t: &mut T) -> Vec<(usize, String)> {
        t.s.pubsub
            .outbox
            .take()
            .into_iter()
            .map(|d| (d.slot, d.frames.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect()))
            .collect()
    }

    const MSG: &str = "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n";

    #[test]
    fn subscribe_replies_one_notification_per_channel_with_the_running_count() {
        let mut t = testutil::new();
        assert_eq!(
            run_raw(&mut t, &["subscribe", "a", "b", "a"]),
            "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n\
             *3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:2\r\n"
        );
        assert_eq!(run_raw(&mut t, &["psubscribe", "p*"]), "*3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:3\r\n");
        // Shard channels count on their own.
        assert_eq!(run_raw(&mut t, &["ssubscribe", "s"]), "*3\r\n$10\r\nssubscribe\r\n$1\r\ns\r\n:1\r\n");
        assert_eq!(t.s.pubsub.subs.channels(), 2);
        assert_eq!(t.s.pubsub.subs.patterns(), 1);
        assert_eq!(t.s.pubsub.subs.shard_channels(), 1);
        assert!(t.s.clients[t.me].subscribed());
    }

    #[test]
    fn unsubscribe_without_arguments_lists_every_channel_or_a_null_when_none() {
        let mut t = testutil::new();
        assert_eq!(run_raw(&mut t, &["unsubscribe"]), "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n");
        assert_eq!(run_raw(&mut t, &["punsubscribe"]), "*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n");
        assert_eq!(run_raw(&mut t, &["sunsubscribe"]), "*3\r\n$12\r\nsunsubscribe\r\n$-1\r\n:0\r\n");
        run_raw(&mut t, &["subscribe", "a", "b"]);
        run_raw(&mut t, &["psubscribe", "x*"]);
        assert_eq!(
            run_raw(&mut t, &["unsubscribe"]),
            "*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:2\r\n*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:1\r\n"
        );
        assert!(t.s.clients[t.me].subscribed(), "still subscribed to a pattern");
        assert_eq!(
            run_raw(&mut t, &["punsubscribe", "x*", "nope"]),
            "*3\r\n$12\r\npunsubscribe\r\n$2\r\nx*\r\n:0\r\n*3\r\n$12\r\npunsubscribe\r\n$4\r\nnope\r\n:0\r\n"
        );
        assert!(!t.s.clients[t.me].subscribed());
        assert!(t.s.pubsub.subs.is_empty());
    }

    #[test]
    fn resp3_notifications_are_pushes() {
        let mut t = testutil::new();
        run(&mut t, &["hello", "3"]);
        assert_eq!(run_raw(&mut t, &["subscribe", "a"]), ">3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(run_raw(&mut t, &["unsubscribe", "b"]), ">3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:1\r\n");
        assert_eq!(run_raw(&mut t, &["punsubscribe"]), ">3\r\n$12\r\npunsubscribe\r\n_\r\n:1\r\n");
        // Any command is allowed in RESP3.
        assert_eq!(run(&mut t, &["set", "k", "v"]), simple("OK"));
        assert_eq!(run(&mut t, &["ping"]), simple("PONG"));
    }

    #[test]
    fn publish_counts_channel_and_pattern_receivers_and_encodes_per_protocol() {
        let mut t = testutil::new();
        let (a, b, c) = (other(&mut t), other(&mut t), other(&mut t));
        run_as(&mut t, a, &["subscribe", "ch"]);
        run_as(&mut t, b, &["hello", "3"]);
        run_as(&mut t, b, &["subscribe", "ch"]);
        run_as(&mut t, c, &["psubscribe", "c?", "*", "x*"]);
        assert_eq!(run(&mut t, &["publish", "ch", "hello"]), int(4));
        let got = delivered(&mut t);
        assert_eq!(got[0], (a, MSG.to_string()));
        assert_eq!(got[1], (b, MSG.replacen('*', ">", 1)));
        assert_eq!(
            got[2],
            (
                c,
                "*4\r\n$8\r\npmessage\r\n$2\r\nc?\r\n$2\r\nch\r\n$5\r\nhello\r\n\
                 *4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$2\r\nch\r\n$5\r\nhello\r\n"
                    .to_string()
            )
        );
        assert_eq!(got.len(), 3);
        assert_eq!(run(&mut t, &["publish", "nobody", "x"]), int(1), "only the * pattern");
        assert_eq!(run(&mut t, &["spublish", "ch", "x"]), int(0), "shard channels are apart");
    }

    #[test]
    fn one_frame_is_shared_by_every_subscriber_and_deliveries_coalesce_per_batch() {
        let mut t = testutil::new();
        let subs: Vec<usize> = (0..3).map(|_| other(&mut t)).collect();
        for &s in &subs {
            run_as(&mut t, s, &["subscribe", "ch"]);
        }
        for i in 0..5 {
            assert_eq!(run(&mut t, &["publish", "ch", &i.to_string()]), int(3));
        }
        let got = t.s.pubsub.outbox.take();
        assert_eq!(got.len(), 3, "one delivery per subscriber");
        for d in &got {
            assert_eq!(d.frames.len(), 5);
        }
        // Same allocation: encoded once.
        assert_eq!(got[0].frames[2].as_ptr(), got[2].frames[2].as_ptr());
        assert!(t.s.pubsub.outbox.take().is_empty());
    }

    #[test]
    fn the_publisher_gets_its_own_message_before_the_reply() {
        let mut t = testutil::new();
        run(&mut t, &["hello", "3"]);
        run(&mut t, &["subscribe", "ch"]);
        assert_eq!(run_raw(&mut t, &["publish", "ch", "hello"]), format!("{}:1\r\n", MSG.replacen('*', ">", 1)));
        assert!(t.s.pubsub.outbox.is_empty());
        // From a script the message goes out after the batch instead.
        assert_eq!(run_raw(&mut t, &["eval", "return redis.call('publish', 'ch', 'hello')", "0"]), ":1\r\n");
        assert_eq!(delivered(&mut t), vec![(t.me, MSG.replacen('*', ">", 1))]);
    }

    #[test]
    fn subscribed_resp2_clients_may_only_subscribe_ping_quit_and_reset() {
        let mut t = testutil::new();
        run(&mut t, &["subscribe", "ch"]);
        assert_eq!(
            run(&mut t, &["get", "k"]),
            err("ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
        );
        assert_eq!(
            run(&mut t, &["client", "list"]),
            err("ERR Can't execute 'client|list': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
        );
        assert_eq!(run_raw(&mut t, &["ping"]), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
        assert_eq!(run(&mut t, &["ping", "x"]), arr(vec![bulk("pong"), bulk("x")]));
        assert_eq!(run(&mut t, &["psubscribe", "p"]), bulks(&["psubscribe", "p"]).push_int(2));
        assert_eq!(run(&mut t, &["reset"]), simple("RESET"));
        assert!(!t.s.clients[t.me].subscribed());
        assert!(t.s.pubsub.subs.is_empty());
        assert_eq!(run(&mut t, &["ping"]), simple("PONG"));
    }

    #[test]
    fn subscribe_inside_multi_and_publish_in_exec_order() {
        let mut t = testutil::new();
        let sub = other(&mut t);
        run_as(&mut t, sub, &["subscribe", "ch"]);
        run(&mut t, &["multi"]);
        run(&mut t, &["set", "k", "1"]);
        run(&mut t, &["publish", "ch", "a"]);
        run(&mut t, &["publish", "ch", "b"]);
        assert_eq!(run(&mut t, &["exec"]), arr(vec![simple("OK"), int(1), int(1)]));
        let got = delivered(&mut t);
        assert_eq!(got.len(), 1);
        assert!(got[0].1.ends_with("$1\r\na\r\n*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nb\r\n"));
    }

    #[test]
    fn disconnect_forgets_subscriptions_and_queued_deliveries() {
        let mut t = testutil::new();
        let sub = other(&mut t);
        run_as(&mut t, sub, &["subscribe", "a", "b"]);
        run_as(&mut t, sub, &["psubscribe", "*"]);
        run_as(&mut t, sub, &["ssubscribe", "s"]);
        assert_eq!(run(&mut t, &["publish", "a", "x"]), int(2));
        t.s.remove_client(sub);
        assert!(t.s.pubsub.subs.is_empty());
        assert!(t.s.pubsub.outbox.take().is_empty());
        assert_eq!(run(&mut t, &["publish", "a", "x"]), int(0));
    }

    #[test]
    fn pubsub_introspection() {
        let mut t = testutil::new();
        let (a, b) = (other(&mut t), other(&mut t));
        run_as(&mut t, a, &["subscribe", "news.it", "news.sport"]);
        run_as(&mut t, b, &["subscribe", "news.it"]);
        run_as(&mut t, b, &["psubscribe", "n*", "m*"]);
        run_as(&mut t, a, &["psubscribe", "n*"]);
        run_as(&mut t, a, &["ssubscribe", "shard1"]);
        let Frame::Array(mut chans) = run(&mut t, &["pubsub", "channels"]) else { panic!() };
        chans.sort_by_key(|f| format!("{f:?}"));
        assert_eq!(chans, vec![bulk("news.it"), bulk("news.sport")]);
        assert_eq!(run(&mut t, &["pubsub", "channels", "*sp*"]), bulks(&["news.sport"]));
        assert_eq!(
            run(&mut t, &["pubsub", "numsub", "news.it", "none"]),
            arr(vec![bulk("news.it"), int(2), bulk("none"), int(0)])
        );
        assert_eq!(run(&mut t, &["pubsub", "numsub"]), arr(vec![]));
        assert_eq!(run(&mut t, &["pubsub", "numpat"]), int(2));
        assert_eq!(run(&mut t, &["pubsub", "shardchannels"]), bulks(&["shard1"]));
        assert_eq!(run(&mut t, &["pubsub", "shardnumsub", "shard1"]), arr(vec![bulk("shard1"), int(1)]));
        assert_eq!(
            run(&mut t, &["pubsub", "channels", "a", "b"]),
            err("ERR unknown subcommand or wrong number of arguments for 'channels'. Try PUBSUB HELP.")
        );
        assert_eq!(
            run(&mut t, &["pubsub", "numpat", "x"]),
            err("ERR wrong number of arguments for 'pubsub|numpat' command")
        );
        assert_eq!(run(&mut t, &["pubsub", "foo"]), err("ERR unknown subcommand 'foo'. Try PUBSUB HELP."));
        let Frame::Array(help) = run(&mut t, &["pubsub", "help"]) else { panic!() };
        assert_eq!(help.len(), 14);
        let info = run_raw(&mut t, &["info", "stats"]);
        assert!(info.contains("\r\npubsub_channels:2\r\npubsub_patterns:2\r\npubsubshard_channels:1\r\n"), "{info}");
        let list = run_raw(&mut t, &["client", "list"]);
        assert!(list.contains("flags=P db=0 sub=2 psub=1 ssub=1 "), "{list}");
        assert!(list.contains("flags=N db=0 sub=0 psub=0 ssub=0 "), "{list}");
        let pubsub_only = run_raw(&mut t, &["client", "list", "type", "pubsub"]);
        assert_eq!(pubsub_only.matches("id=").count(), 2);
    }

    #[test]
    fn command_info_matches_redis() {
        let mut t = testutil::new();
        let info = run_raw(&mut t, &["command", "info", "subscribe", "publish", "ssubscribe"]);
        assert!(info.contains("$9\r\nsubscribe\r\n:-2\r\n*4\r\n+pubsub\r\n+noscript\r\n+loading\r\n+stale\r\n:0\r\n:0\r\n:0\r\n*2\r\n+@pubsub\r\n+@slow\r\n"), "{info}");
        assert!(info.contains("$7\r\npublish\r\n:3\r\n*4\r\n+pubsub\r\n+loading\r\n+stale\r\n+fast\r\n:0\r\n:0\r\n:0\r\n*2\r\n+@pubsub\r\n+@fast\r\n"), "{info}");
        assert!(info.contains("$5\r\nflags\r\n*1\r\n+not_key\r\n"), "{info}");
        // Channels are not keys, shard channels included.
        for c in ["ssubscribe", "spublish", "publish"] {
            let got = run(&mut t, &["command", "getkeys", c, "ch", "msg"]);
            assert_eq!(got, err("ERR The command has no key arguments"));
        }
    }

    #[test]
    fn reply_off_does_not_silence_notifications() {
        let mut t = testutil::new();
        let mut batch = crate::commands::Batch::default();
        for cmd in [&["client", "reply", "off"][..], &["subscribe", "c"], &["get", "x"]] {
            batch.input.extend_from_slice(&resp_command(cmd));
        }
        let parsed = crate::commands::parse_batch(&mut batch, 1 << 20, 1 << 20);
        assert!(parsed.error.is_none());
        crate::commands::exec_batch(&mut t.s, t.me, &mut batch);
        assert_eq!(String::from_utf8_lossy(&batch.out), "*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n");
    }

    fn resp_command(args: &[&str]) -> Vec<u8> {
        let mut v = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            v.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
        }
        v
    }

    trait PushInt {
        fn push_int(self, i: i64) -> Frame;
    }
    impl PushInt for Frame {
        fn push_int(self, i: i64) -> Frame {
            match self {
                Frame::Array(mut v) => {
                    v.push(int(i));
                    Frame::Array(v)
                }
                f => f,
            }
        }
    }
    use super::super::testutil::Frame;
}

#[cfg(test)]
#[path = "notify_tests.rs"]
mod notify_tests;
