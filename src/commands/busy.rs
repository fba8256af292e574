//! A script past busy-reply-threshold (commands layer; the sockets side is actors/busy.rs).
//!
//! A script runs synchronously inside the Keyspace, so while it runs nothing else does. Redis answers
//! other clients anyway once a script has run longer than busy-reply-threshold (`lua-time-limit`): from
//! the script's periodic hook it serves the event loop (processEventsWhileBlocked), refusing every
//! command with `-BUSY` except the few flagged `allow-busy` (SCRIPT KILL, FUNCTION KILL, FUNCTION STATS,
//! SHUTDOWN NOSAVE, AUTH, HELLO, MULTI, DISCARD, WATCH, UNWATCH, QUIT, RESET...). We do the same: the
//! script's hook (scripting/mod.rs) calls `ScriptHost::interrupt` (commands/scripting.rs), which notes the
//! run here as [`BusyScript`] and asks the [`Waiting`] clients to be served. The Keyspace installs the
//! `Waiting` implementation (actors layer), which reads the waiting sockets without the runtime and runs
//! what they sent through `exec_batch`; `precheck` answers BUSY while `State::busy` is set.

use super::State;
use crate::error::CmdError;
use std::time::Instant;

/// Redis's shared.slowevalerr: the BUSY reply while an EVAL script runs.
pub const BUSY_EVAL: CmdError =
    CmdError::new("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.");
/// Redis's shared.slowscripterr: the BUSY reply while a function runs.
pub const BUSY_FUNCTION: CmdError =
    CmdError::new("BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.");
/// What the script's caller gets once SCRIPT KILL or FUNCTION KILL stopped it.
pub const KILLED: &str = "ERR Script killed by user with SCRIPT KILL...";
/// What the script's caller gets when the server stops it to shut down (Redis would exit under it).
pub const STOPPED: &str = "ERR Script killed because the server is shutting down";

/// The script that holds the Keyspace past busy-reply-threshold (Redis's timed-out run context).
pub struct BusyScript {
    /// EVAL (SCRIPT KILL stops it) or a function (FUNCTION KILL does).
    pub eval: bool,
    /// The script's client slot.
    pub caller: usize,
    /// The script's SHA1 or the function's name (FUNCTION STATS, the log).
    pub name: String,
    /// The caller's command, for FUNCTION STATS.
    pub command: Vec<Vec<u8>>,
    pub started: Instant,
    /// It ran a write command: it cannot be killed (UNKILLABLE), only the server can stop.
    pub dirty: bool,
    /// SCRIPT KILL or FUNCTION KILL asked it to stop.
    pub kill: bool,
}

impl BusyScript {
    /// The reply every command but the allow-busy ones gets meanwhile.
    pub fn error(&self) -> CmdError {
        if self.eval {
            BUSY_EVAL
        } else {
            BUSY_FUNCTION
        }
    }
}

/// The clients waiting on the Keyspace while a script holds it (implemented by the actors layer).
pub trait Waiting {
    /// Read what the waiting clients sent (never `script_client`'s), run their complete requests with
    /// `exec_batch` (BUSY for most, as `State::busy` is set) and write the replies; batches they sent
    /// before are answered the same way. Accepts new clients too.
    fn serve(&mut self, s: &mut State, script_client: usize);
    /// The script ended: give every socket served meanwhile back to its connection.
    fn release(&mut self, s: &mut State);
    /// The socket of `client`, for the Lua debugger to talk over while its EVAL holds the Keyspace (the
    /// connection waits for the batch meanwhile). None for a client without one. `stop` set ends its reads.
    fn debug_io(
        &mut self,
        _client: usize,
        _stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) -> Option<Box<dyn crate::scripting::ldb::Io>> {
        None
    }
}

/// Serve the waiting clients once, from inside a running script. The script's flags and its frozen clock
/// are put back afterwards: the commands served do not run inside the script.
pub fn serve_waiting(s: &mut State, script_client: usize) {
    let Some(mut w) = s.waiting.take() else { return };
    let (in_exec, in_script) = (s.exec.in_exec, s.exec.in_script);
    s.exec.in_exec = false;
    s.exec.in_script = false;
    let now = crate::types::clock::now_ms();
    w.serve(s, script_client);
    crate::types::clock::restore(now);
    s.exec.in_exec = in_exec;
    s.exec.in_script = in_script;
    s.waiting = Some(w);
}

/// The busy period is over (the script ended, or its command failed): sockets go back to their
/// connections.
pub fn end_busy(s: &mut State) {
    if s.busy.take().is_none() {
        return;
    }
    if let Some(mut w) = s.waiting.take() {
        w.release(s);
        s.waiting = Some(w);
    }
}

/// SCRIPT KILL (`eval`) and FUNCTION KILL: Redis's scriptKill.
pub fn kill(s: &mut State, eval: bool) -> Result<(), CmdError> {
    let Some(b) = s.busy.as_mut() else {
        return Err(CmdError::new("NOTBUSY No scripts in execution right now."));
    };
    if b.dirty {
        return Err(CmdError::new(
            "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either \
             wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.",
        ));
    }
    // SCRIPT KILL does not stop a function, nor FUNCTION KILL a script: the BUSY text names the right one.
    if b.eval != eval {
        return Err(b.error());
    }
    b.kill = true;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::run_args;
    use crate::commands::testutil::{new, run_raw as run};
    use std::cell::RefCell;
    use std::rc::Rc;

    /// Another client's commands, run at the first pass past the threshold; their replies are kept.
    struct Other {
        slot: usize,
        cmds: Vec<Vec<&'static str>>,
        replies: Rc<RefCell<Vec<String>>>,
        released: Rc<RefCell<bool>>,
    }

    impl Waiting for Other {
        fn serve(&mut self, s: &mut State, script_client: usize) {
            assert_ne!(script_client, self.slot);
            for c in self.cmds.drain(..) {
                let args: Vec<&[u8]> = c.iter().map(|a| a.as_bytes()).collect();
                let reply = run_args(s, self.slot, &args);
                self.replies.borrow_mut().push(String::from_utf8_lossy(&reply).into_owned());
            }
        }
        fn release(&mut self, _: &mut State) {
            *self.released.borrow_mut() = true;
        }
    }

    /// Run `script` while another client sends `cmds`; the script's reply and the other's replies.
    fn busy_run(script: &str, cmds: Vec<Vec<&'static str>>) -> (crate::commands::testutil::T, String, Vec<String>) {
        let mut t = new();
        t.s.config.busy_reply_threshold = 1;
        let slot = t.s.add_client("127.0.0.1:2".into(), String::new());
        let replies = Rc::new(RefCell::new(Vec::new()));
        let released = Rc::new(RefCell::new(false));
        t.s.waiting = Some(Box::new(Other { slot, cmds, replies: replies.clone(), released: released.clone() }));
        let r = run(&mut t, &["eval", script, "0"]);
        assert!(*released.borrow(), "the sockets go back at the script's end");
        assert!(t.s.busy.is_none());
        let replies = replies.borrow().clone();
        (t, r, replies)
    }

    fn err(e: &CmdError) -> String {
        format!("-{}\r\n", e.0)
    }

    #[test]
    fn other_clients_get_busy_and_script_kill_stops_a_reader() {
        let (mut t, r, replies) = busy_run(
            "local a = 0 while true do a = a + 1 end",
            vec![
                vec!["ping"],
                vec!["multi"],
                vec!["incr", "x"],
                vec!["exec"],
                vec!["function", "stats"],
                vec!["function", "kill"],
                vec!["shutdown"],
                vec!["script", "kill"],
            ],
        );
        let busy = err(&BUSY_EVAL);
        assert_eq!(
            replies,
            vec![
                busy.clone(),
                "+OK\r\n".into(),
                busy.clone(),
                format!("-EXECABORT Transaction discarded because of: {}\r\n", BUSY_EVAL.0),
                busy.clone(),
                busy.clone(),
                busy,
                "+OK\r\n".into(),
            ]
        );
        assert!(r.starts_with("-ERR Script killed by user with SCRIPT KILL... script: "), "{r}");
        assert!(t.s.server.shutdown.is_none());
        // Nothing runs now: the KILL commands say so, and the transaction refused meanwhile is gone.
        assert_eq!(run(&mut t, &["script", "kill"]), "-NOTBUSY No scripts in execution right now.\r\n");
        assert_eq!(run(&mut t, &["function", "kill"]), "-NOTBUSY No scripts in execution right now.\r\n");
    }

    #[test]
    fn a_writer_is_unkillable_and_shutdown_nosave_stops_it() {
        let (t, r, replies) = busy_run(
            "redis.call('set', 'k', 'v') while true do end",
            vec![vec!["script", "kill"], vec!["function", "kill"], vec!["get", "k"], vec!["shutdown", "nosave"]],
        );
        let unkillable = "-UNKILLABLE Sorry the script already executed write commands against the dataset. You can \
                          either wait the script termination or kill the server in a hard way using the SHUTDOWN \
                          NOSAVE command.\r\n";
        assert_eq!(replies, vec![unkillable.to_string(), unkillable.into(), err(&BUSY_EVAL), String::new()]);
        assert!(r.starts_with(&format!("-{STOPPED} script: ")), "{r}");
        assert!(t.s.server.shutdown.is_some_and(|req| req.save == Some(false)));
    }

    #[test]
    fn a_stopping_server_stops_any_script() {
        let mut t = new();
        t.s.config.busy_reply_threshold = 0;
        t.s.knobs.shutdown_asap.store(true, std::sync::atomic::Ordering::SeqCst);
        let r = run(&mut t, &["eval", "redis.call('set', 'k', 'v') while true do end", "0"]);
        assert!(r.starts_with(&format!("-{STOPPED} script: ")), "{r}");
        // Never busy: with no threshold nobody else was let in.
        assert!(t.s.busy.is_none());
    }
}
