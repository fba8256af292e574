//! Propagation: the stream of effects that replicas (and later the AOF) replay (commands layer).
//!
//! After a command changes data, its effect is appended here in RESP: its own arguments, or what the
//! handler chose with `Ctx::propagate_as` (Redis's rewrites: SET EX becomes SET PXAT, EXPIRE becomes
//! PEXPIREAT, GETDEL becomes DEL...). Keys deleted by lazy or active expiry are appended as DEL. A SELECT
//! goes first whenever the database changes. Nothing is encoded unless a consumer is attached. The effects
//! of an EXEC or a script (Redis 7's execution units, which may nest) are held until the outermost ends
//! (`hold`/`release`) and wrapped in MULTI/EXEC only when there are several, as Redis 7.0 propagates them.
//! The Keyspace actor drains the buffer after each batch.

#[derive(Default)]
pub struct Feed {
    /// Some consumer (a replica stream) is attached.
    pub enabled: bool,
    /// Encoded commands not yet handed to consumers.
    pub buf: Vec<u8>,
    /// Database of the last command in the stream (None: emit SELECT before the next one).
    pub db: Option<usize>,
    /// Bytes ever appended (INFO master_repl_offset).
    pub offset: u64,
    /// An EXEC or a script is running: its effects wait here, to be wrapped in MULTI/EXEC at its end when
    /// there is more than one (Redis 7's effect replication).
    pub held: Option<Vec<Held>>,
    /// Execution units open (an EXEC that runs a script holds two).
    depth: u32,
    /// Consumers the commands appended now do not go to (SKIP_AOF, SKIP_REPL; 0: both), as a script's
    /// `redis.set_repl` narrows Redis's PROPAGATE_AOF | PROPAGATE_REPL.
    pub skip: u8,
    /// Ranges of `buf` that one consumer does not get (empty in the common case: the whole buffer goes to
    /// both).
    pub segments: Vec<Segment>,
}

/// A held effect: its database, its arguments, and the consumers it skips.
pub type Held = (usize, Vec<Vec<u8>>, u8);

/// Not to the AOF.
pub const SKIP_AOF: u8 = 1;
/// Not to replicas (and not counted in the replication offset).
pub const SKIP_REPL: u8 = 2;

/// A range of the feed's buffer meant for one consumer only.
#[derive(Debug, Clone, Copy)]
pub struct Segment {
    start: usize,
    end: usize,
    skip: u8,
}

impl Feed {
    fn raw(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
        self.offset += b.len() as u64;
    }

    fn encode(&mut self, args: &[&[u8]]) {
        let mut tmp = itoa::Buffer::new();
        let start = self.buf.len();
        self.buf.push(b'*');
        self.buf.extend_from_slice(tmp.format(args.len()).as_bytes());
        self.buf.extend_from_slice(b"\r\n");
        for a in args {
            self.buf.push(b'$');
            self.buf.extend_from_slice(tmp.format(a.len()).as_bytes());
            self.buf.extend_from_slice(b"\r\n");
            self.buf.extend_from_slice(a);
            self.buf.extend_from_slice(b"\r\n");
        }
        self.offset += (self.buf.len() - start) as u64;
    }

    fn select(&mut self, db: usize) {
        if self.db != Some(db) {
            let d = db.to_string();
            self.encode(&[b"SELECT", d.as_bytes()]);
            self.db = Some(db);
        }
    }

    /// Append a command's effect (to the consumers `skip` leaves).
    pub fn command(&mut self, db: usize, args: &[&[u8]]) {
        if !self.enabled || self.skip == SKIP_AOF | SKIP_REPL {
            return;
        }
        let skip = self.skip;
        if let Some(h) = &mut self.held {
            h.push((db, args.iter().map(|a| a.to_vec()).collect(), skip));
            return;
        }
        self.encode_for(skip, db, args);
    }

    /// A command with its SELECT, for the consumers `skip` leaves. One meant for a single consumer is a
    /// segment of its own with its own SELECT, and the next command selects again: each consumer's stream
    /// names its database before every command that follows such a segment.
    fn encode_for(&mut self, skip: u8, db: usize, args: &[&[u8]]) {
        if skip == 0 {
            self.select(db);
            self.encode(args);
            return;
        }
        let (start, offset) = (self.buf.len(), self.offset);
        self.db = None;
        self.select(db);
        self.encode(args);
        self.db = None;
        if skip & SKIP_REPL != 0 {
            self.offset = offset;
        }
        self.segments.push(Segment { start, end: self.buf.len(), skip });
    }

    /// Take the buffer as the two streams it holds when it has segments: (the AOF's, the replicas').
    pub fn split(&mut self) -> (Vec<u8>, Vec<u8>) {
        let buf = std::mem::take(&mut self.buf);
        let (mut aof, mut repl) = (Vec::with_capacity(buf.len()), Vec::with_capacity(buf.len()));
        let mut at = 0;
        for seg in std::mem::take(&mut self.segments) {
            aof.extend_from_slice(&buf[at..seg.start]);
            repl.extend_from_slice(&buf[at..seg.start]);
            let part = &buf[seg.start..seg.end];
            if seg.skip & SKIP_AOF == 0 {
                aof.extend_from_slice(part);
            }
            if seg.skip & SKIP_REPL == 0 {
                repl.extend_from_slice(part);
            }
            at = seg.end;
        }
        aof.extend_from_slice(&buf[at..]);
        repl.extend_from_slice(&buf[at..]);
        (aof, repl)
    }

    /// Append the deletion of an expired key. Never held in an EXEC or script: Redis 7.0 propagates it at
    /// once, on its own (propagateNow), so it goes out before the unit that ran into it.
    pub fn expired(&mut self, db: usize, key: &[u8]) {
        if !self.enabled {
            return;
        }
        self.select(db);
        self.encode(&[b"DEL", key]);
    }

    /// An EXEC or a script starts: hold its effects (nested units join the outermost).
    pub fn hold(&mut self) {
        self.depth += 1;
        if self.enabled && self.held.is_none() {
            self.held = Some(Vec::new());
        }
    }

    /// An EXEC or a script ended: when it was the outermost, write its effects, in MULTI/EXEC when there
    /// are several.
    pub fn release(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        if self.depth > 0 {
            return;
        }
        let Some(held) = self.held.take() else { return };
        let wrap = held.len() > 1;
        for (i, (db, args, skip)) in held.iter().enumerate() {
            if wrap && i == 0 {
                self.select(*db);
                self.encode(&[b"MULTI"]);
            }
            let args: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
            self.encode_for(*skip, *db, &args);
        }
        if wrap {
            self.encode(&[b"EXEC"]);
        }
    }

    /// Execution units open now (`exec_request` notes it before each command, see `unwind_to`).
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// Close the units a panicking command left open, down to `depth`: the effects of what it did run go
    /// out as `release` would have sent them, and later units are not held forever.
    pub fn unwind_to(&mut self, depth: u32) {
        while self.depth > depth {
            self.release();
        }
    }

    /// A keep-alive newline (Redis sends one to replicas waiting for data).
    pub fn newline(&mut self) {
        if self.enabled {
            self.raw(b"\n");
        }
    }

    pub fn take(&mut self) -> Vec<u8> {
        self.segments.clear();
        std::mem::take(&mut self.buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_once_and_multi_wrapping() {
        let mut f = Feed { enabled: true, ..Default::default() };
        f.command(0, &[b"SET", b"a", b"1"]);
        f.command(0, &[b"DEL", b"a"]);
        // An EXEC with an expired key and a script inside: the DEL at once, then one unit of two effects.
        f.hold();
        f.expired(1, b"old");
        f.hold();
        f.command(1, &[b"INCR", b"x"]);
        f.release();
        f.command(1, &[b"INCR", b"y"]);
        f.release();
        let s = String::from_utf8(f.take()).unwrap();
        assert_eq!(
            s,
            "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\nDEL\r\n$1\r\na\r\n\
             *2\r\n$6\r\nSELECT\r\n$1\r\n1\r\n*2\r\n$3\r\nDEL\r\n$3\r\nold\r\n*1\r\n$5\r\nMULTI\r\n\
             *2\r\n$4\r\nINCR\r\n$1\r\nx\r\n*2\r\n$4\r\nINCR\r\n$1\r\ny\r\n*1\r\n$4\r\nEXEC\r\n"
        );
        f.hold();
        f.command(0, &[b"SET", b"a", b"1"]);
        f.release();
        f.hold();
        f.command(0, &[b"SET", b"a", b"1"]);
        f.command(0, &[b"DEL", b"b"]);
        f.release();
        let s = String::from_utf8(f.take()).unwrap();
        assert_eq!(
            s,
            "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n\
             *1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\nDEL\r\n$1\r\nb\r\n*1\r\n$4\r\nEXEC\r\n"
        );
        let mut off = Feed::default();
        off.command(0, &[b"SET", b"a", b"1"]);
        assert!(off.take().is_empty());
    }

    /// redis.set_repl in a script: the unit is wrapped once, each consumer gets its commands with a SELECT
    /// before each after a one-consumer segment, REPL_NONE effects go nowhere, and the replication offset
    /// counts the replicas' bytes only.
    #[test]
    fn set_repl_targets_split_the_stream() {
        let mut f = Feed { enabled: true, ..Default::default() };
        f.hold();
        f.command(0, &[b"SET", b"a", b"1"]);
        f.skip = SKIP_AOF | SKIP_REPL;
        f.command(0, &[b"SET", b"b", b"2"]);
        f.skip = SKIP_REPL;
        f.command(0, &[b"SET", b"c", b"3"]);
        f.skip = 0;
        f.command(0, &[b"SET", b"d", b"4"]);
        f.release();
        let offset = f.offset;
        let (aof, repl) = f.split();
        let sel = "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n";
        let set = |k: &str, v: &str| format!("*3\r\n$3\r\nSET\r\n$1\r\n{k}\r\n$1\r\n{v}\r\n");
        let (multi, exec) = ("*1\r\n$5\r\nMULTI\r\n", "*1\r\n$4\r\nEXEC\r\n");
        assert_eq!(
            String::from_utf8(aof).unwrap(),
            format!("{sel}{multi}{}{sel}{}{sel}{}{exec}", set("a", "1"), set("c", "3"), set("d", "4"))
        );
        let repl = String::from_utf8(repl).unwrap();
        assert_eq!(repl, format!("{sel}{multi}{}{sel}{}{exec}", set("a", "1"), set("d", "4")));
        assert_eq!(offset, repl.len() as u64);
        assert!(f.buf.is_empty() && f.segments.is_empty());
    }
}
