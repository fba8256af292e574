//! Server: the embedding API. `Server::new(config).start()` boots the actors inside the caller's actix
//! System — Keyspace, Cron and Expiry on a new arbiter (plus I/O arbiters for io-threads > 1), and a
//! Listener unless `without_listener()` — and returns a `ServerHandle` with the bound address, in-process
//! clients (no socket) and `stop()`.

use crate::actors::cron::Cron;
use crate::actors::expiry::Expiry;
use crate::actors::keyspace::{Exec, ExecReply, Inspect, Keyspace, Register, Shutdown, Unregister};
use crate::actors::listener::{Listener, StopListening};
use crate::actors::persistence::{AofConfig, AofWriter, Load, OpenOnStart, ReadManifest, Sync};
use crate::commands::aof::{AofMode, Fsync};
use crate::commands::{parse_batch, Batch, Knobs, State};
use crate::config::Config;
use crate::error::Error;
use crate::resp::frame::{self, Frame};
use actix::prelude::*;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use tokio::sync::oneshot;

pub struct Server {
    config: Config,
    listen: bool,
}

struct Booted {
    addrs: Vec<SocketAddr>,
    keyspace: Addr<Keyspace>,
    aof: Option<Addr<AofWriter>>,
    listener: Option<Addr<Listener>>,
    knobs: Arc<Knobs>,
    shutdown: oneshot::Receiver<()>,
}

/// A running server.
pub struct ServerHandle {
    addrs: Vec<SocketAddr>,
    keyspace: Addr<Keyspace>,
    /// The AOF writer and its thread (persistence-available yes).
    aof: Option<Addr<AofWriter>>,
    aof_arbiter: Option<Arbiter>,
    listener: Option<Addr<Listener>>,
    knobs: Arc<Knobs>,
    arbiter: Arbiter,
    io: Vec<Arbiter>,
    shutdown: Option<oneshot::Receiver<()>>,
}

impl Server {
    pub fn new(config: Config) -> Server {
        Server { config, listen: true }
    }

    /// Serve only in-process clients: no TCP or unix socket at all.
    pub fn without_listener(mut self) -> Server {
        self.listen = false;
        self
    }

    /// Boot the actors. Must be called from inside an actix System.
    pub async fn start(self) -> Result<ServerHandle, Error> {
        crate::alloc::tune();
        let arbiter = Arbiter::new();
        let io: Vec<Arbiter> = if self.listen && self.config.io_threads > 1 {
            (0..self.config.io_threads).map(|_| Arbiter::new()).collect()
        } else {
            Vec::new()
        };
        let io_handles: Vec<ArbiterHandle> = io.iter().map(|a| a.handle()).collect();
        // The AOF writer gets a thread of its own: file I/O and fsync never run on the Keyspace's.
        let aof_arbiter = if self.config.persistence_available { Some(Arbiter::new()) } else { None };
        let aof_handle = aof_arbiter.as_ref().map(|a| a.handle());
        let (tx, rx) = oneshot::channel();
        let (config, listen) = (self.config, self.listen);
        // boot() holds the State (Lua VMs: not Send) across awaits, so it runs as a local task on the arbiter.
        let spawned = arbiter.spawn_fn(move || {
            actix_rt::spawn(async move {
                let _ = tx.send(boot(config, listen, io_handles, aof_handle).await);
            });
        });
        if !spawned {
            return Err(Error::Config("could not start the keyspace thread".into()));
        }
        let booted = match rx.await {
            Ok(Ok(b)) => b,
            Ok(Err(e)) => {
                arbiter.stop();
                if let Some(a) = aof_arbiter {
                    a.stop();
                }
                return Err(e);
            }
            Err(_) => return Err(Error::Config("the keyspace thread stopped while starting".into())),
        };
        Ok(ServerHandle {
            addrs: booted.addrs,
            keyspace: booted.keyspace,
            aof: booted.aof,
            aof_arbiter,
            listener: booted.listener,
            knobs: booted.knobs,
            arbiter,
            io,
            shutdown: Some(booted.shutdown),
        })
    }
}

/// Bind sockets and start the actors; runs on the Keyspace's arbiter.
async fn boot(
    config: Config,
    listen: bool,
    io: Vec<ArbiterHandle>,
    aof_arbiter: Option<ArbiterHandle>,
) -> Result<Booted, Error> {
    let mut tcp = Vec::new();
    let mut addrs = Vec::new();
    let mut unix = None;
    if listen {
        let mut port = config.port;
        for b in &config.bind {
            let (optional, host) = match b.strip_prefix('-') {
                Some(h) => (true, h),
                None => (false, b.as_str()),
            };
            match bind_tcp(host, port, config.tcp_backlog) {
                Ok(l) => {
                    let a = l.local_addr()?;
                    port = a.port();
                    addrs.push(a);
                    tcp.push(l);
                }
                Err(e) if optional => log::debug!("Skipping optional bind {host}:{port}: {e}"),
                Err(e) => {
                    return Err(Error::Config(format!(
                        "Warning: Could not create server TCP listening socket {host}:{port}: {e}"
                    )))
                }
            }
        }
        if config.port != 0 && !config.bind.is_empty() && tcp.is_empty() {
            return Err(Error::Config(format!("Failed listening on port {} (tcp), aborting.", config.port)));
        }
        if !config.unixsocket.is_empty() {
            let _ = std::fs::remove_file(&config.unixsocket);
            let l = tokio::net::UnixListener::bind(&config.unixsocket)
                .map_err(|e| Error::Config(format!("Failed opening Unix socket: {e}")))?;
            if config.unixsocketperm != 0 {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(
                    &config.unixsocket,
                    std::fs::Permissions::from_mode(config.unixsocketperm),
                );
            }
            unix = Some(l);
        }
    }
    let protected = config.protected_mode && config.requirepass.is_empty() && default_bind(&config.bind);
    let keepalive = config.tcp_keepalive;
    let mut state = State::new(config);
    state.server.tcp_port = addrs.first().map(|a| a.port()).unwrap_or(0);
    state.server.io_threads_active = !io.is_empty();
    let knobs = state.knobs.clone();
    let aof = match aof_arbiter {
        Some(arb) => Some(start_aof(&mut state, &arb).await?),
        None => {
            if state.config.appendonly {
                log::warn!("appendonly yes is ignored: persistence-available is no");
            }
            None
        }
    };
    let (stx, srx) = oneshot::channel();
    let keyspace = Keyspace::new(state, stx, aof.clone()).start();
    let expiry = Expiry::new(keyspace.clone(), knobs.clone()).start();
    Cron { targets: vec![keyspace.clone().recipient(), expiry.recipient()], knobs: knobs.clone() }.start();
    let listener = if listen {
        Some(Listener::new(tcp, unix, keyspace.clone(), knobs.clone(), io, keepalive, protected).start())
    } else {
        None
    };
    Ok(Booted { addrs, keyspace, aof, listener, knobs, shutdown: srx })
}

/// Start the AOF writer on its arbiter; with `appendonly yes`, load the AOF files into `state` (read on the
/// writer's thread, executed here before any client can connect) and start appending.
async fn start_aof(state: &mut State, arb: &ArbiterHandle) -> Result<Addr<AofWriter>, Error> {
    let c = &state.config;
    let cfg = AofConfig {
        root: std::path::PathBuf::from(&c.dir),
        dirname: c.get("appenddirname").unwrap_or_else(|| "appendonlydir".into()),
        filename: c.appendfilename.clone(),
        fsync: Fsync::parse(&c.appendfsync),
        load_truncated: c.get("aof-load-truncated").is_none_or(|v| v == "yes"),
    };
    state.persist.aof.fsync = cfg.fsync;
    let shared = state.persist.aof.shared.clone();
    let writer = AofWriter::start_in_arbiter(arb, move |_| AofWriter::new(cfg, shared));
    let fatal = |e: String| Error::Config(e);
    if !state.config.appendonly {
        writer.send(ReadManifest).await.map_err(|_| Error::Closed)?.map_err(fatal)?;
        return Ok(writer);
    }
    let start = std::time::Instant::now();
    let files = writer.send(Load).await.map_err(|_| Error::Closed)?.map_err(fatal)?;
    if !files.is_empty() {
        crate::commands::aof::replay(state, &files).map_err(fatal)?;
        log::info!("DB loaded from append only file: {:.3} seconds", start.elapsed().as_secs_f64());
    }
    writer.send(OpenOnStart).await.map_err(|_| Error::Closed)?.map_err(fatal)?;
    state.persist.aof.mode = AofMode::On;
    state.persist.dirty = 0;
    Ok(writer)
}

/// Protected mode only applies when the user did not choose the addresses to listen on.
fn default_bind(bind: &[String]) -> bool {
    bind.iter().all(|b| b == "*" || b == "-::*" || b == "::*")
}

fn bind_tcp(host: &str, port: u16, backlog: u32) -> std::io::Result<tokio::net::TcpListener> {
    let host = match host {
        "*" => "0.0.0.0",
        "::*" => "::",
        h => h,
    };
    let addr = (host, port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address"))?;
    let domain = if addr.is_ipv6() { socket2::Domain::IPV6 } else { socket2::Domain::IPV4 };
    let sock = socket2::Socket::new(domain, socket2::Type::STREAM, Some(socket2::Protocol::TCP))?;
    sock.set_reuse_address(true)?;
    if addr.is_ipv6() {
        sock.set_only_v6(true)?;
    }
    sock.set_nonblocking(true)?;
    sock.bind(&addr.into())?;
    sock.listen(backlog.max(1) as i32)?;
    tokio::net::TcpListener::from_std(sock.into())
}

impl ServerHandle {
    /// The first bound TCP address (None without a listener).
    pub fn addr(&self) -> Option<SocketAddr> {
        self.addrs.first().copied()
    }

    /// Every bound TCP address.
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// A new in-process client: commands go straight to the Keyspace, no socket involved.
    pub async fn client(&self) -> Result<LocalClient, Error> {
        let reg = Register { addr: "in-process".into(), laddr: String::new(), conn: None, unix: false };
        let slot = self.keyspace.send(reg).await.map_err(|_| Error::Closed)?.map_err(Error::Config)?;
        Ok(LocalClient { keyspace: self.keyspace.clone(), knobs: self.knobs.clone(), slot, batch: Batch::default() })
    }

    /// Run a closure on the Keyspace's state (introspection for hosts and tests).
    pub async fn with_state<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut State) -> R + Send + 'static,
    ) -> Result<R, Error> {
        self.keyspace.send(Inspect(f, std::marker::PhantomData)).await.map_err(|_| Error::Closed)
    }

    /// Resolves when a client ran SHUTDOWN.
    pub async fn shutdown_requested(&mut self) {
        match self.shutdown.take() {
            Some(rx) => {
                let _ = rx.await;
            }
            None => futures::future::pending::<()>().await,
        }
    }

    /// Stop serving: close the listeners and every connection, then stop the server's threads.
    pub async fn stop(self) {
        if let Some(l) = &self.listener {
            let _ = l.send(StopListening).await;
        }
        let _ = self.keyspace.send(Shutdown).await;
        // The Keyspace handed its last writes to the AOF before stopping: make them durable.
        if let Some(w) = &self.aof {
            log::info!("Calling fsync() on the AOF file.");
            let _ = w.send(Sync).await;
        }
        for a in self.io.iter().chain(&self.aof_arbiter) {
            a.stop();
        }
        self.arbiter.stop();
        // Wait for the threads so that sockets are closed and ports free when this returns.
        let threads: Vec<Arbiter> =
            self.io.into_iter().chain(self.aof_arbiter).chain(std::iter::once(self.arbiter)).collect();
        let _ = tokio::task::spawn_blocking(move || {
            for a in threads {
                let _ = a.join();
            }
        })
        .await;
    }
}

/// An in-process client of an embedded server. Replies arrive as `Frame`s.
pub struct LocalClient {
    keyspace: Addr<Keyspace>,
    knobs: Arc<Knobs>,
    slot: usize,
    batch: Batch,
}

impl LocalClient {
    /// Run one command: `client.cmd(&["SET", "k", "v"]).await`.
    pub async fn cmd<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Result<Frame, Error> {
        let mut v = self.pipeline(&[args]).await?;
        v.pop().ok_or(Error::Closed)
    }

    /// Run several commands in one round trip; one reply each, in order.
    pub async fn pipeline<A: AsRef<[u8]>, C: AsRef<[A]>>(&mut self, cmds: &[C]) -> Result<Vec<Frame>, Error> {
        let mut batch = std::mem::take(&mut self.batch);
        batch.clear();
        batch.input.clear();
        batch.out.clear();
        for c in cmds {
            let c = c.as_ref();
            batch.input.extend_from_slice(format!("*{}\r\n", c.len()).as_bytes());
            for a in c {
                let a = a.as_ref();
                batch.input.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
                batch.input.extend_from_slice(a);
                batch.input.extend_from_slice(b"\r\n");
            }
        }
        let max_bulk = self.knobs.proto_max_bulk_len.load(std::sync::atomic::Ordering::Relaxed);
        let parsed = parse_batch(&mut batch, max_bulk, usize::MAX);
        if let Some(e) = parsed.error {
            return Err(Error::Config(e.to_string()));
        }
        let mut batch = match self.keyspace.send(Exec { slot: self.slot, batch }).await.map_err(|_| Error::Closed)? {
            ExecReply::Done(b) => b,
            ExecReply::Later(rx) => rx.await.map_err(|_| Error::Closed)?,
        };
        let mut frames = Vec::with_capacity(cmds.len());
        let mut pos = 0;
        while pos < batch.out.len() {
            match frame::parse(&batch.out[pos..]) {
                Ok(Some((f, n))) => {
                    frames.push(f);
                    pos += n;
                }
                _ => break,
            }
        }
        batch.out.clear();
        self.batch = batch;
        Ok(frames)
    }
}

impl Drop for LocalClient {
    fn drop(&mut self) {
        self.keyspace.do_send(Unregister { slot: self.slot });
    }
}
