//! Batches: what a connection ships to the Keyspace once per read — its read buffer, the argument ranges into
//! it (`Argv`), each request resolved to its command — and the parser that fills one (commands layer).

use super::spec::CommandSpec;
use super::table::table;
use crate::resp::decode::{ArgRef, Outside, OUTSIDE};
use bytes::{Bytes, BytesMut};

/// No argument outside the input.
static NO_OUTSIDE: Bytes = Bytes::new();

/// The arguments of one command, `argv[0]` being its name. Cheap to copy.
#[derive(Clone, Copy)]
pub struct Argv<'a> {
    input: &'a [u8],
    scratch: &'a [u8],
    outside: &'a Bytes,
    refs: &'a [ArgRef],
}

impl<'a> Argv<'a> {
    pub fn new(input: &'a [u8], scratch: &'a [u8], refs: &'a [ArgRef]) -> Argv<'a> {
        Argv { input, scratch, outside: &NO_OUTSIDE, refs }
    }

    /// Argument `i` as shared bytes, when it is a big argument read into a buffer of its own (see
    /// `Batch::outside`): a command that keeps it (SET) takes it without copying.
    #[inline]
    pub fn shared(&self, i: usize) -> Option<Bytes> {
        (self.refs[i].start == OUTSIDE).then(|| self.outside.clone())
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.refs.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.refs.is_empty()
    }

    #[inline]
    pub fn get(&self, i: usize) -> &'a [u8] {
        self.refs[i].slice(self.input, self.scratch, self.outside)
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = &'a [u8]> + 'a {
        let (input, scratch, outside) = (self.input, self.scratch, &self.outside[..]);
        self.refs.iter().map(move |r| r.slice(input, scratch, outside))
    }

    pub fn to_vec(&self) -> Vec<&'a [u8]> {
        self.iter().collect()
    }

    /// Does argument `i` equal `word`, ignoring ASCII case? False when there is no argument `i`, so a
    /// subcommand test on a short command line cannot panic (REPLCONF alone answered "internal error").
    #[inline]
    pub fn is(&self, i: usize, word: &str) -> bool {
        i < self.len() && self.get(i).eq_ignore_ascii_case(word.as_bytes())
    }
}

/// One request of a batch, resolved by the connection.
#[derive(Clone, Copy)]
pub struct Request {
    /// The command (for a container command such as CONFIG, the subcommand when it was found).
    pub spec: Option<&'static CommandSpec>,
    pub first_arg: u32,
    pub argc: u32,
}

/// What a connection sends to the Keyspace once per read, and gets back with the replies.
#[derive(Default)]
pub struct Batch {
    /// The connection's read buffer; `args` point into it. Handed back unchanged.
    pub input: BytesMut,
    pub scratch: Vec<u8>,
    pub args: Vec<ArgRef>,
    pub reqs: Vec<Request>,
    /// Replies, encoded.
    pub out: Vec<u8>,
    /// Requests already executed (a batch may be resumed after a pause).
    pub done: usize,
    /// Close the connection once `out` is written (QUIT, killed).
    pub close: bool,
    /// Bytes read from the socket for this batch (INFO total_net_input_bytes).
    pub read_bytes: u64,
    /// Bytes of `input` the requests occupy (set by the connection after parsing).
    pub consumed: usize,
    /// The payload of a big bulk (at least `BIG_ARG` bytes) of the first request, read into a buffer of its
    /// own by the connection (Redis does the same), which belongs at input offset `outside_at`.
    pub outside: Bytes,
    pub outside_at: usize,
    /// The client must still authenticate (Redis's authRequired): its requests are parsed with the tighter
    /// limits of `decode::UNAUTH_*`. Set by the connection from `Knobs::auth_required` when it starts, then
    /// by the Keyspace after every batch; `clear` keeps it.
    pub unauthenticated: bool,
}

impl Batch {
    pub fn argv(&self, r: &Request) -> Argv<'_> {
        let s = r.first_arg as usize;
        let refs = &self.args[s..s + r.argc as usize];
        Argv { input: &self.input, scratch: &self.scratch, outside: &self.outside, refs }
    }

    /// Where the outside payload goes, for the parser.
    fn outside(&self) -> Outside {
        if self.outside.is_empty() {
            Outside::NONE
        } else {
            Outside { at: self.outside_at, len: self.outside.len() }
        }
    }

    /// Reset for the next read, keeping allocations of an everyday size: one command of 100,000 arguments
    /// (or a pipeline of as many commands) would otherwise leave the connection holding a megabyte that no
    /// counter shows (CLIENT LIST tot-mem, used_memory's clients), as Redis frees a client's argv after each
    /// command.
    pub fn clear(&mut self) {
        const KEEP_ARGS: usize = 4096;
        const KEEP_REQS: usize = 1024;
        const KEEP_SCRATCH: usize = 64 * 1024;
        self.scratch.clear();
        self.scratch.shrink_to(KEEP_SCRATCH);
        self.args.clear();
        self.args.shrink_to(KEEP_ARGS);
        self.reqs.clear();
        self.reqs.shrink_to(KEEP_REQS);
        self.done = 0;
        self.read_bytes = 0;
        self.consumed = 0;
        self.outside = Bytes::new();
    }
}

/// Lay separate arguments out as one buffer and the ranges into it, the form `Argv` reads (commands that do not
/// come from a connection's read buffer: scripts' redis.call, in-process helpers, tests).
pub fn pack_args<I>(args: I) -> (Vec<u8>, Vec<ArgRef>)
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    let args = args.into_iter();
    let mut input = Vec::new();
    let mut refs = Vec::with_capacity(args.size_hint().0);
    for a in args {
        let a = a.as_ref();
        refs.push(ArgRef { start: input.len() as u32, len: a.len() as u32 });
        input.extend_from_slice(a);
    }
    (input, refs)
}

/// Outcome of parsing a connection's buffered input into a batch.
pub struct Parsed {
    /// Bytes of `batch.input` holding the parsed requests.
    pub consumed: usize,
    /// A protocol error after the parsed requests: reply it, then close.
    pub error: Option<crate::error::ProtocolError>,
    /// Total input bytes the next incomplete request needs, when known (to size the read buffer).
    pub need: usize,
    /// Parsing stopped at `max_bytes` with more input to parse: run another batch before reading.
    pub more: bool,
    /// The incomplete request waits for a big bulk's payload: read it outside the input (`Batch::outside`).
    pub big: Option<Outside>,
}

/// Input one batch takes at most before the Keyspace serves other clients. A connection with more buffered
/// input yields to the runtime's socket poll between batches (see actors::connection), so this bounds the
/// work one client gets per event-loop turn, as Redis's 16 KB read per client per turn does; pipelines of
/// redis-benchmark's size (hundreds of bytes) fit one batch.
pub const BATCH_BYTES: usize = 8 * 1024;

/// Decode the complete requests in `batch.input`, up to about `max_bytes`, resolving each to its command.
pub fn parse_batch(batch: &mut Batch, max_bulk: u64, max_bytes: usize) -> Parsed {
    use crate::resp::decode::{parse_one_outside, Step};
    let table = table();
    let mut pos = 0;
    let outside = batch.outside();
    let parsed = |consumed, error, need, more, big| Parsed { consumed, error, need, more, big };
    loop {
        if pos >= max_bytes && !batch.reqs.is_empty() {
            return parsed(pos, None, 0, pos < batch.input.len(), None);
        }
        let unauth = batch.unauthenticated;
        match parse_one_outside(&batch.input, pos, max_bulk, unauth, &mut batch.args, &mut batch.scratch, outside) {
            Ok(Step::Command { consumed, argc }) => {
                let first = batch.args.len() - argc;
                let refs = &batch.args[first..];
                let argv = Argv { input: &batch.input, scratch: &batch.scratch, outside: &batch.outside, refs };
                let spec = table.resolve(&argv);
                batch.reqs.push(Request { spec, first_arg: first as u32, argc: argc as u32 });
                pos += consumed;
                // A request that may authenticate ends the batch: what follows it is parsed once the Keyspace
                // has said whether the limits still apply, as Redis parses each request after the last ran.
                if unauth && spec.is_some_and(|s| matches!(s.name, "auth" | "hello")) {
                    return parsed(pos, None, 0, pos < batch.input.len(), None);
                }
            }
            Ok(Step::Skip { consumed }) => pos += consumed,
            Ok(Step::Incomplete { need }) => return parsed(pos, None, need, false, None),
            Ok(Step::BigBulk(big)) => return parsed(pos, None, 0, false, Some(big)),
            Err(e) => return parsed(pos, Some(e), 0, false, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clearing_gives_back_what_a_huge_command_grew() {
        let mut b = Batch::default();
        b.args.extend((0..100_000).map(|i| ArgRef { start: i, len: 1 }));
        b.reqs.extend((0..10_000).map(|_| Request { spec: None, first_arg: 0, argc: 1 }));
        b.clear();
        assert!(b.args.is_empty() && b.args.capacity() <= 4096, "{}", b.args.capacity());
        assert!(b.reqs.is_empty() && b.reqs.capacity() <= 1024, "{}", b.reqs.capacity());
        // An everyday batch keeps its room.
        b.args.extend((0..100).map(|i| ArgRef { start: i, len: 1 }));
        let cap = b.args.capacity();
        b.clear();
        assert_eq!(b.args.capacity(), cap);
    }
}
