//! Propagation: the stream of effects that replicas (and later the AOF) replay (commands layer).
//!
//! After a command changes data, its effect is appended here in RESP: its own arguments, or what the
//! handler chose with `Ctx::propagate_as` (Redis's rewrites: SET EX becomes SET PXAT, EXPIRE becomes
//! PEXPIREAT, GETDEL becomes DEL...). Keys deleted by lazy or active expiry are appended as DEL. A SELECT
//! goes first whenever the database changes, and a transaction's writes are wrapped in MULTI/EXEC. Nothing
//! is encoded unless a consumer is attached. A script's writes are held until it ends (`hold`/`release`)
//! and wrapped only when there are several. The Keyspace actor drains the buffer after each batch.

use crate::types::value::write_i64;

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
    /// EXEC is running: write MULTI before its first propagated command.
    pub multi_pending: bool,
    /// MULTI was written for the running EXEC: close it with EXEC.
    pub multi_open: bool,
    /// A script is running: its effects wait here, to be wrapped in MULTI/EXEC at its end when there
    /// is more than one (Redis 7's effect replication).
    pub held: Option<Vec<(usize, Vec<Vec<u8>>)>>,
}

impl Feed {
    fn raw(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
        self.offset += b.len() as u64;
    }

    fn encode(&mut self, args: &[&[u8]]) {
        let mut tmp = [0u8; 20];
        let n = write_i64(&mut tmp, args.len() as i64);
        let start = self.buf.len();
        self.buf.push(b'*');
        self.buf.extend_from_slice(&tmp[..n]);
        self.buf.extend_from_slice(b"\r\n");
        for a in args {
            let n = write_i64(&mut tmp, a.len() as i64);
            self.buf.push(b'$');
            self.buf.extend_from_slice(&tmp[..n]);
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

    /// Append a command's effect.
    pub fn command(&mut self, db: usize, args: &[&[u8]]) {
        if !self.enabled {
            return;
        }
        if let Some(h) = &mut self.held {
            h.push((db, args.iter().map(|a| a.to_vec()).collect()));
            return;
        }
        self.select(db);
        if self.multi_pending {
            self.multi_pending = false;
            self.multi_open = true;
            self.encode(&[b"MULTI"]);
        }
        self.encode(args);
    }

    /// Append the deletion of an expired key (never inside MULTI: Redis propagates it on its own).
    pub fn expired(&mut self, db: usize, key: &[u8]) {
        if !self.enabled {
            return;
        }
        self.select(db);
        self.encode(&[b"DEL", key]);
    }

    /// EXEC begins: its writes, if any, are wrapped in MULTI/EXEC.
    pub fn begin_exec(&mut self) {
        self.multi_pending = self.enabled;
        self.multi_open = false;
    }

    pub fn end_exec(&mut self) {
        if self.multi_open {
            self.encode(&[b"EXEC"]);
        }
        self.multi_pending = false;
        self.multi_open = false;
    }

    /// A script starts: hold its effects.
    pub fn hold(&mut self) {
        if self.enabled {
            self.held = Some(Vec::new());
        }
    }

    /// The script ended: write its effects, in MULTI/EXEC when there are several.
    pub fn release(&mut self) {
        let Some(held) = self.held.take() else { return };
        let wrap = held.len() > 1;
        for (i, (db, args)) in held.iter().enumerate() {
            self.select(*db);
            if wrap && i == 0 {
                self.encode(&[b"MULTI"]);
            }
            let args: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
            self.encode(&args);
        }
        if wrap {
            self.encode(&[b"EXEC"]);
        }
    }

    /// A keep-alive newline (Redis sends one to replicas waiting for data).
    pub fn newline(&mut self) {
        if self.enabled {
            self.raw(b"\n");
        }
    }

    pub fn take(&mut self) -> Vec<u8> {
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
        f.begin_exec();
        f.expired(1, b"old");
        f.command(1, &[b"INCR", b"x"]);
        f.end_exec();
        let s = String::from_utf8(f.take()).unwrap();
        assert_eq!(
            s,
            "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\nDEL\r\n$1\r\na\r\n\
             *2\r\n$6\r\nSELECT\r\n$1\r\n1\r\n*2\r\n$3\r\nDEL\r\n$3\r\nold\r\n*1\r\n$5\r\nMULTI\r\n\
             *2\r\n$4\r\nINCR\r\n$1\r\nx\r\n*1\r\n$4\r\nEXEC\r\n"
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
}
