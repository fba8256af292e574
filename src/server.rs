//! Server: the embedding API. `Server::new(config).start()` boots the actors inside the caller's actix
//! System — Keyspace, Cron, Expiry and Evictor on a new arbiter (plus I/O arbiters for io-threads > 1, and the
//! AofWriter's), and a Listener unless `without_listener()` — and returns a `ServerHandle` with the bound
//! address, in-process clients (client.rs, no socket) and `stop()`; dropping the handle stops the server too.

use crate::actors::busy::{Listening, Lobby, Sockets};
use crate::actors::cron::Cron;
use crate::actors::evictor::Evictor;
use crate::actors::expiry::Expiry;
use crate::actors::keyspace::{AttachEvictor, AttachListener, Keyspace, Shutdown};
use crate::actors::listener::{Listener, StopListening};
use crate::actors::persistence::{AofConfig, AofWriter, Load, OpenOnStart, ReadManifest, Sync};
use crate::actors::snapshotter::Snapshotter;
use crate::client::Client;
use crate::commands::aof::{AofMode, Fsync};
use crate::commands::{Knobs, State};
use crate::config::Config;
use crate::error::Error;
use actix::prelude::*;
use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use tokio::sync::oneshot;

/// A server to start: a [`Config`] and whether to listen on sockets.
///
/// ```no_run
/// # async fn host() -> Result<(), ferrodis::Error> {
/// // Inside the host's actix System (e.g. under #[actix_rt::main]):
/// let mut config = ferrodis::Config::default();
/// config.save.clear(); // in memory only: no save points, so no dump.rdb is written on stop
/// let server = ferrodis::Server::new(config).without_listener().start().await?;
/// let client = server.client();
/// client.cmd(&["SET", "k", "v"]).await?;
/// server.stop().await;
/// # Ok(())
/// # }
/// ```
pub struct Server {
    config: Config,
    listen: bool,
    on_bound: Option<OnBound>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("config", &self.config).field("listen", &self.listen).finish_non_exhaustive()
    }
}

/// Called with the bound addresses once the sockets are bound and before any data is loaded.
type OnBound = Box<dyn FnOnce(&[SocketAddr]) + Send>;

struct Booted {
    addrs: Vec<SocketAddr>,
    keyspace: Addr<Keyspace>,
    aof: Option<Addr<AofWriter>>,
    listener: Option<Addr<Listener>>,
    knobs: Arc<Knobs>,
    shutdown: oneshot::Receiver<()>,
}

/// A running server. [`stop`](ServerHandle::stop) stops it and waits; dropping the handle stops it as well
/// (the listening sockets are closed and the server's threads have ended when the drop returns).
pub struct ServerHandle {
    addrs: Vec<SocketAddr>,
    keyspace: Addr<Keyspace>,
    knobs: Arc<Knobs>,
    shutdown: Option<oneshot::Receiver<()>>,
    /// What stopping takes; None once stopped.
    running: Option<Running>,
}

/// The server's actors and threads, as stopping needs them.
struct Running {
    keyspace: Addr<Keyspace>,
    /// The AOF writer (persistence-available yes) and its thread.
    aof: Option<Addr<AofWriter>>,
    aof_arbiter: Option<Arbiter>,
    listener: Option<Addr<Listener>>,
    arbiter: Arbiter,
    io: Vec<Arbiter>,
    /// `Knobs::shutdown_asap`: set first, so that a running script stops and the Keyspace gets to the rest.
    shutdown_asap: Arc<std::sync::atomic::AtomicBool>,
}

impl Server {
    /// A server with this configuration; it listens on the configured `bind` addresses and `port` (port 0:
    /// any free port, see [`ServerHandle::addr`]) and `unixsocket`.
    pub fn new(config: Config) -> Server {
        Server { config, listen: true, on_bound: None }
    }

    /// Run `f` once the sockets are bound, before the AOF or RDB file is loaded (the binary prints its
    /// banner there, as redis-server does before loading: an operator, or a supervisor, learns the port and
    /// pid even when the load then fails).
    pub fn on_bound(mut self, f: impl FnOnce(&[SocketAddr]) + Send + 'static) -> Server {
        self.on_bound = Some(Box::new(f));
        self
    }

    /// Serve only in-process clients: no TCP or unix socket at all.
    pub fn without_listener(mut self) -> Server {
        self.listen = false;
        self
    }

    /// Boot the actors: load the AOF if configured, bind the sockets, start serving. Must be called from
    /// inside an actix System (the server's arbiters belong to it); the server's own work runs on threads
    /// of its own, never on the caller's.
    pub async fn start(self) -> Result<ServerHandle, Error> {
        crate::alloc::tune();
        // The command timer's clock calibrates itself on first use (some milliseconds): here, not inside
        // the first command's timing, where SLOWLOG and LATENCY would see it.
        let _ = quanta::Instant::now();
        // setOOMScoreAdj(-1) in Redis's main: the score of the class the configuration starts in.
        let _ = crate::oom::apply(&self.config);
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
        let (config, listen, on_bound) = (self.config, self.listen, self.on_bound);
        // boot() holds the State (Lua VMs: not Send) across awaits, so it runs as a local task on the arbiter.
        let spawned = arbiter.spawn_fn(move || {
            actix_rt::spawn(async move {
                let _ = tx.send(boot(config, listen, on_bound, io_handles, aof_handle).await);
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
        let shutdown_asap = booted.knobs.shutdown_asap.clone();
        Ok(ServerHandle {
            addrs: booted.addrs,
            keyspace: booted.keyspace.clone(),
            knobs: booted.knobs,
            shutdown: Some(booted.shutdown),
            running: Some(Running {
                keyspace: booted.keyspace,
                aof: booted.aof,
                aof_arbiter,
                listener: booted.listener,
                arbiter,
                io,
                shutdown_asap,
            }),
        })
    }
}

/// Bind sockets and start the actors; runs on the Keyspace's arbiter.
async fn boot(
    config: Config,
    listen: bool,
    on_bound: Option<OnBound>,
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
            match bind_tcp(host, port, &config) {
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
    if let Some(f) = on_bound {
        f(&addrs);
    }
    let keepalive = config.tcp_keepalive;
    let mut state = State::new(config);
    if let Some(e) = state.acl.startup_error.take() {
        return Err(Error::Config(e));
    }
    // With no address bound (`bind ""`) it is the configured port, which a later CONFIG SET bind binds.
    state.server.tcp_port = addrs.first().map(|a| a.port()).unwrap_or(state.config.port);
    state.server.io_threads_active = !io.is_empty();
    state.server.listening = listen;
    state.server.listeners =
        tcp.iter().filter_map(|l| socket2::SockRef::from(l).try_clone().ok().map(Into::into)).collect();
    let knobs = state.knobs.clone();
    let snap_arbiter = aof_arbiter.clone();
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
    // The listening sockets, for a busy script's hook to accept on while the Listener cannot (busy.rs).
    let mut listening: Vec<Listening> = tcp.iter().map(|l| Listening { fd: l.as_raw_fd(), unix: false }).collect();
    listening.extend(unix.iter().map(|l| Listening { fd: l.as_raw_fd(), unix: true }));
    let lobby = Arc::new(Lobby { listening: std::sync::Mutex::new(listening), keepalive, ..Default::default() });
    let sockets = Sockets::new(lobby.clone());
    // The Snapshotter shares the AOF writer's thread (persistence I/O never runs on the Keyspace's). With the
    // AOF on, the AOF is the dataset (loaded above); otherwise `dir`/`dbfilename` is, if it exists.
    let mut ks = Keyspace::new(state, stx, aof.clone(), sockets);
    if let Some(arb) = &snap_arbiter {
        let pending = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let p = pending.clone();
        let snap = Snapshotter::start_in_arbiter(arb, move |_| Snapshotter::new(p));
        let c = &ks.s.config;
        let file = std::path::Path::new(&c.dir).join(&c.dbfilename);
        let load = if c.appendonly { None } else { std::fs::metadata(file).ok().map(|m| m.len()) };
        ks = ks.with_snapshotter(snap, pending, load);
    }
    let keyspace = ks.start();
    let expiry = Expiry::new(keyspace.clone(), knobs.clone()).start();
    let evictor = Evictor::new(keyspace.clone(), knobs.clone()).start();
    keyspace.do_send(AttachEvictor(evictor.clone().recipient()));
    let targets = vec![keyspace.clone().recipient(), expiry.recipient(), evictor.recipient()];
    Cron { targets, knobs: knobs.clone() }.start();
    let listener =
        if listen { Some(Listener::new(tcp, unix, keyspace.clone(), knobs.clone(), io, lobby).start()) } else { None };
    if let Some(l) = &listener {
        keyspace.do_send(AttachListener(l.clone().recipient()));
    }
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
        rdb_preamble: c.get("aof-use-rdb-preamble").as_deref() != Some("no"),
        enc: state.enc,
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
    let mut files = writer.send(Load).await.map_err(|_| Error::Closed)?.map_err(fatal)?;
    if !files.is_empty() {
        crate::commands::aof::replay(state, &mut files).map_err(fatal)?;
        log::info!("DB loaded from append only file: {:.3} seconds", start.elapsed().as_secs_f64());
    }
    writer.send(OpenOnStart).await.map_err(|_| Error::Closed)?.map_err(fatal)?;
    state.persist.aof.mode = AofMode::On;
    state.persist.dirty = 0;
    Ok(writer)
}

fn bind_tcp(host: &str, port: u16, config: &Config) -> std::io::Result<tokio::net::TcpListener> {
    let host = match host {
        "*" => "0.0.0.0",
        "::*" => "::",
        h => h,
    };
    let addr = (host, port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address"))?;
    let sock = crate::config::tcp_listener(addr, config.tcp_backlog, config.socket_mark_id)?;
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

    /// A new in-process client: commands go straight to the keyspace, no socket involved. Cheap: the server
    /// hears of the client with its first command. See [`Client`] for what clones share (nothing).
    pub fn client(&self) -> Client {
        Client::new(self.keyspace.clone(), self.knobs.clone())
    }

    /// The start-up RDB file could not be loaded: the server asked to stop (as Redis exits) and served none of it.
    pub fn load_failed(&self) -> bool {
        self.knobs.load_failed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A SIGTERM's shutdown: [`prepare_shutdown_for`](ServerHandle::prepare_shutdown_for) with `sigint` false.
    pub async fn prepare_shutdown(&self) -> Result<(), String> {
        self.prepare_shutdown_for(false).await
    }

    /// What a signal does before the server stops (Redis's shutdown_asap, then prepareForShutdown from its
    /// cron): wait up to `shutdown-timeout` seconds for lagging replicas, writes paused, then save when save
    /// points exist (or as `shutdown-on-sigint` / `shutdown-on-sigterm` say). Ok: call
    /// [`stop`](ServerHandle::stop). Err: the shutdown was aborted (SHUTDOWN ABORT) or failed (the final
    /// save, the first AOF still being written), and the server goes on, as Redis's does.
    pub async fn prepare_shutdown_for(&self, sigint: bool) -> Result<(), String> {
        let Some(r) = self.running.as_ref() else { return Ok(()) };
        let ask = r.keyspace.send(crate::actors::keyspace::PrepareShutdown { sigint });
        // A Keyspace held by a busy script does not answer: stop without the final save then, as SHUTDOWN
        // NOSAVE is the only way Redis offers out of a busy script.
        match tokio::time::timeout(std::time::Duration::from_secs(2), ask).await {
            Ok(Ok(outcome)) => outcome.await.unwrap_or(Ok(())),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => {
                log::warn!("The server is busy running a script: stopping without the final save.");
                self.knobs.no_final_save.store(true, std::sync::atomic::Ordering::Relaxed);
                Ok(())
            }
        }
    }

    /// Resolves when a client ran SHUTDOWN (then call [`stop`](ServerHandle::stop)).
    pub async fn shutdown_requested(&mut self) {
        // The receiver stays in place until it fires: a caller may drop this future (a select! that a signal
        // won) and wait again later.
        match self.shutdown.as_mut() {
            Some(rx) => {
                let _ = rx.await;
                self.shutdown = None;
            }
            None => futures::future::pending::<()>().await,
        }
    }

    /// Stop serving: close the listeners and every connection, sync the AOF, then stop the server's threads.
    /// When this returns the threads have ended and the ports are free. In-process clients get
    /// [`Error::Closed`] from then on.
    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop_actors(false).await;
            // Joining blocks: off the caller's event loop.
            let _ = tokio::task::spawn_blocking(move || r.join()).await;
        }
    }

    /// Stop as [`ServerHandle::stop`] does (the final save, the last writes synced to the AOF), for a
    /// process that exits right after: the dataset is not freed and the server's threads are not joined,
    /// the exit reclaims them. Freeing millions of keys one by one takes seconds that a restart or a
    /// supervisor waits for; redis-server exits without freeing too. A host that goes on uses `stop`.
    pub async fn stop_for_exit(mut self) {
        if let Some(r) = self.running.take() {
            r.stop_actors(true).await;
            std::mem::forget(r);
        }
    }
}

impl Running {
    /// Close the listeners and every connection, then hand the last writes to the AOF and sync it. Awaits
    /// only the server's own actors, which live on the server's threads: safe to block on from any thread.
    async fn stop_actors(&self, leave_data: bool) {
        self.shutdown_asap.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(l) = &self.listener {
            let _ = l.send(StopListening).await;
        }
        let _ = self.keyspace.send(Shutdown { leave_data }).await;
        // The Keyspace handed its last writes to the AOF before stopping: make them durable.
        if let Some(w) = &self.aof {
            log::info!("Calling fsync() on the AOF file.");
            let _ = w.send(Sync).await;
        }
    }

    /// Stop the server's threads and wait for them, so that sockets are closed and ports free.
    fn join(self) {
        let threads: Vec<Arbiter> =
            self.io.into_iter().chain(self.aof_arbiter).chain(std::iter::once(self.arbiter)).collect();
        for a in &threads {
            a.stop();
        }
        for a in threads {
            let _ = a.join();
        }
    }
}

impl Drop for ServerHandle {
    /// The same stop as [`ServerHandle::stop`], blocking the dropping thread until it is done. Nothing it
    /// waits for runs on that thread, so this works inside the host's System or outside any.
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            futures::executor::block_on(r.stop_actors(false));
            r.join();
        }
    }
}

impl fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerHandle")
            .field("addrs", &self.addrs)
            .field("running", &self.running.is_some())
            .finish_non_exhaustive()
    }
}
