//! CONFIG GET/SET/RESETSTAT/REWRITE (commands layer, applied by the Keyspace actor). The parameters, their
//! parsing and the redis.conf rewriter live in crate::config; this file is the command surface over them.

use super::connection::help;
use super::spec::*;
use super::{Ctx, State};
use crate::config::{Config, SetError};
use crate::error::CmdError;

/// Flags of the CONFIG subcommands that change or reveal the configuration.
const ADM: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

/// CONFIG, as Redis 7.0's command table declares it.
#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("server", [
    cmd("config", -2, 0, container).subs(CONFIG_SUBS).doc("2.0.0", "Depends on subcommand.", "A container for server configuration commands"),
]);

#[rustfmt::skip]
const CONFIG_SUBS: &[CommandSpec] = &family("server", [
    cmd("config|get", -3, ADM, config_get).doc("2.0.0", "O(N) when N is the number of configuration parameters provided", "Get the values of configuration parameters"),
    cmd("config|set", -4, ADM, config_set).doc("2.0.0", "O(N) when N is the number of configuration parameters provided", "Set configuration parameters to the given values"),
    cmd("config|resetstat", 2, ADM, config_resetstat).doc("2.0.0", "O(1)", "Reset the stats returned by INFO"),
    cmd("config|rewrite", 2, ADM, config_rewrite).doc("2.8.0", "O(1)", "Rewrite the configuration file with the in memory configuration"),
    cmd("config|help", 2, LOADING | STALE, config_help).doc("5.0.0", "O(1)", "Show helpful text about the different subcommands"),
]);

fn config_get(cx: &mut Ctx<'_>) -> CmdResult {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for i in 2..cx.argc() {
        let pat = String::from_utf8_lossy(cx.arg(i)).into_owned();
        for (k, v) in cx.s.config.get_matching(&pat) {
            if !pairs.iter().any(|(n, _)| *n == k) {
                pairs.push((k, v));
            }
        }
    }
    cx.out.map(pairs.len());
    for (k, v) in pairs {
        cx.out.bulk(k.as_bytes());
        cx.out.bulk(v.as_bytes());
    }
    Ok(())
}

/// CONFIG SET parameter value [parameter value ...]
///
/// All or nothing, as Redis 7.0's configSetCommand: every name is checked first (the first unknown,
/// immutable, protected or repeated one is the error), then every value is set on a
/// copy of the configuration (the first bad value fails the lot), then the side effects that can fail are
/// prepared in the order their parameters came (see [`prepare`]). Only when all of them succeeded does the
/// copy replace the configuration: nothing needs rolling back, because nothing was changed before.
fn config_set(cx: &mut Ctx<'_>) -> CmdResult {
    if !cx.argc().is_multiple_of(2) {
        return Err(CmdError::SYNTAX);
    }
    let pairs = (cx.argc() - 2) / 2;
    let local = super::debug::is_local_client(&cx.s.clients[cx.me]);
    let loading = cx.s.persist.rdb.loading.is_some() || cx.s.persist.rdb.async_loading;
    let mut names: Vec<&'static str> = Vec::with_capacity(pairs);
    // As Redis's first loop: the first unknown, immutable, protected, loading-denied or repeated name is the
    // error, and the names after it are not looked at.
    let (mut unknown, mut deny_loading, mut refused) = (None, false, None);
    for i in 0..pairs {
        let arg = cx.arg(2 + 2 * i);
        let invalid = unknown.is_some() || deny_loading || refused.is_some();
        if invalid {
            continue;
        }
        match cx.s.config.settable(&String::from_utf8_lossy(arg), local) {
            Err(SetError::Unknown) => unknown = Some(arg),
            // Immutable or protected: reported under the name as the client typed it, as Redis does.
            Err(SetError::Bad(why)) => refused = Some(failed(&crate::error::sanitize(arg, usize::MAX), &why)),
            Ok(name) if loading && Config::denied_while_loading(name) => deny_loading = true,
            Ok(name) if names.contains(&name) => {
                refused = Some(failed(&crate::error::sanitize(arg, usize::MAX), "duplicate parameter"));
            }
            Ok(name) => names.push(name),
        }
    }
    if deny_loading {
        return Err(super::rdb::LOADING_ERR);
    }
    if let Some(arg) = unknown {
        return Err(CmdError::msg(format!(
            "ERR Unknown option or number of arguments for CONFIG SET - '{}'",
            crate::error::sanitize(arg, usize::MAX)
        )));
    }
    if let Some(e) = refused {
        return Err(e);
    }
    let mut cfg = cx.s.config.clone();
    for (i, name) in names.iter().enumerate() {
        let value = String::from_utf8_lossy(cx.arg(3 + 2 * i));
        match cfg.set_for_client(name, &value, local) {
            Ok(()) => {}
            // A value error is reported under the table's name (lower case; an alias when one was typed).
            Err(SetError::Bad(why)) => return Err(failed(name, &why)),
            Err(SetError::Unknown) => return Err(failed(name, "")),
        }
    }
    let prepared = prepare(cx.s, &cfg, &names)?;
    let old = std::mem::replace(&mut cx.s.config, cfg);
    if let Some(listeners) = prepared.listeners {
        let bound = listeners.first().and_then(|l| l.local_addr().ok()).map(|a| a.port());
        // With nothing bound now (`bind ""`) the port is kept for the next bind list, unless it changed.
        let kept = if cx.s.config.port != old.port { cx.s.config.port } else { cx.s.server.tcp_port };
        cx.s.server.tcp_port = bound.unwrap_or(kept);
        // Our duplicates of the old sockets close now; the Listener's, once it has the new ones.
        cx.s.server.listeners = listeners.iter().filter_map(|l| l.try_clone().ok()).collect();
        cx.s.server.new_listeners = Some(listeners);
    }
    cx.s.apply_config();
    // requirepass is the default user's password (Redis's ACLUpdateDefaultUserPassword).
    if names.contains(&"requirepass") {
        super::acl::requirepass_changed(cx.s);
    }
    super::aof::config_changed(cx.s, &old);
    if names.iter().any(|n| matches!(*n, "proc-title-template" | "port" | "bind" | "unixsocket" | "tls-port")) {
        // redisSetProcTitle(NULL) from updateProcTitleTemplate and the listener changes.
        crate::proctitle::refresh(&cx.s.config);
    }
    if names.contains(&"repl-backlog-size") {
        // Takes effect at once, as Redis's resizeReplicationBacklog (the newest bytes are kept).
        let size = super::replication::backlog_size(&cx.s.config);
        if let Some(b) = &mut cx.s.prop.backlog {
            b.resize(size);
        }
    }
    if names.iter().any(|n| matches!(*n, "masteruser" | "masterauth")) {
        if let Some(m) = &cx.s.repl.master {
            let c = &cx.s.config;
            let auth = (c.get("masteruser").unwrap_or_default(), c.get("masterauth").unwrap_or_default());
            *m.link.auth.lock().unwrap_or_else(|e| e.into_inner()) = Some(auth);
        }
    }
    cx.out.ok();
    Ok(())
}

/// `ERR CONFIG SET failed (possibly related to argument '<name>') - <why>` (without " - " when there is no why).
fn failed(name: &str, why: &str) -> CmdError {
    if why.is_empty() {
        CmdError::msg(format!("ERR CONFIG SET failed (possibly related to argument '{name}')"))
    } else {
        CmdError::msg(format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}"))
    }
}

/// What a CONFIG SET that passed every check still hands over when it commits.
#[derive(Default)]
struct Prepared {
    /// New TCP listening sockets (`port` changed): the Listener switches to them after the batch.
    listeners: Option<Vec<std::net::TcpListener>>,
}

/// The side effects of CONFIG SET that can fail (Redis's apply functions updateAppendonly, changeBindAddr,
/// updatePort and updateMaxclients), for the parameters whose value changed, in the order they were given;
/// the first failure is the reply and leaves the server as it was (a socket bound here closes when dropped).
fn prepare(s: &State, new: &Config, names: &[&str]) -> Result<Prepared, CmdError> {
    let old = &s.config;
    let mut done = Prepared::default();
    for &name in names {
        match Config::canonical_name(name).unwrap_or(name) {
            "appendonly" if new.appendonly != old.appendonly => super::aof::check_config(s, new)?,
            // Without listening sockets (an embedded server) the new bind list is only checked.
            "bind" if new.bind != old.bind && !s.server.listening && !crate::config::bind_addresses_ok(&new.bind) => {
                return Err(apply_failed(name, "Failed to bind to specified addresses."));
            }
            // changeBindAddr and changeListenPort: listen on every new bind address at the new port (port 0:
            // no TCP at all); a bind and a port in one CONFIG SET are one rebinding, the first one's error.
            p @ ("bind" | "port")
                if (p == "bind" && new.bind != old.bind || p == "port" && new.port != old.port)
                    && s.server.listening
                    && done.listeners.is_none() =>
            {
                // The port stays the one bound (a configured 0 means "any free one" at start-up here).
                let port = if new.port != old.port { new.port } else { s.server.tcp_port };
                let listeners = if port == 0 {
                    Vec::new()
                } else {
                    let reuse = &s.server.listeners;
                    crate::config::listen_tcp_reusing(&new.bind, port, new.tcp_backlog, new.socket_mark_id, reuse)
                        .map_err(|_| {
                            if p == "bind" {
                                log::warn!("Failed to bind");
                                apply_failed(name, "Failed to bind to specified addresses.")
                            } else {
                                apply_failed(name, "Unable to listen on this port. Check server logs.")
                            }
                        })?
                };
                done.listeners = Some(listeners);
            }
            // updateMaxclients: a new maxclients must fit the descriptor limit (raised if the OS allows).
            "maxclients" if new.maxclients != old.maxclients => {
                let fits = crate::config::adjust_open_files_limit(new.maxclients).maxclients;
                if fits != new.maxclients {
                    return Err(apply_failed(
                        name,
                        &format!(
                            "The operating system is not able to handle the specified number of clients, try with {fits}"
                        ),
                    ));
                }
            }
            _ => {}
        }
    }
    // updateOOMScoreAdj, last: nothing after it can fail, and on its failure the old score is put back.
    if let Some(name) = names.iter().find(|n| matches!(**n, "oom-score-adj" | "oom-score-adj-values")) {
        if crate::oom::apply(new).is_err() {
            let _ = crate::oom::apply(old);
            return Err(apply_failed(name, "Failed to set current oom_score_adj. Check server logs."));
        }
    }
    Ok(done)
}

/// An apply step failed: logged as Redis logs it, answered as [`failed`].
fn apply_failed(name: &str, why: &str) -> CmdError {
    log::warn!(
        "Failed applying new configuration. Possibly related to new {name} setting. Restoring previous settings."
    );
    failed(name, why)
}

fn config_resetstat(cx: &mut Ctx<'_>) -> CmdResult {
    let s = &mut *cx.s;
    let used = s.used_memory();
    s.stats.reset(used);
    s.evict.reset_stats();
    s.obs.latency.reset_histograms();
    s.lazyfree.reset_stats();
    // The sync counters live with the replication feed, but are stats too (Redis's resetServerStats).
    s.prop.sync_full = 0;
    s.prop.sync_partial_ok = 0;
    s.prop.sync_partial_err = 0;
    for db in &mut s.dbs {
        db.expired_keys = 0;
        db.hits = 0;
        db.misses = 0;
    }
    cx.out.ok();
    Ok(())
}

fn config_rewrite(cx: &mut Ctx<'_>) -> CmdResult {
    let users = super::acl::user_lines(cx.s);
    match cx.s.config.rewrite_with_users(Some(&users), false) {
        Ok(()) => {
            cx.out.ok();
            Ok(())
        }
        Err(e) if e.contains("without a config file") => Err(CmdError::msg(format!("ERR {e}"))),
        Err(e) => Err(CmdError::msg(format!("ERR Rewriting config file: {e}"))),
    }
}

fn config_help(cx: &mut Ctx<'_>) -> CmdResult {
    help(
        cx,
        "CONFIG",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    )
}

#[cfg(test)]
mod tests {
    use crate::commands::rdb::Loading;
    use crate::commands::testutil::{new, run_raw};

    #[test]
    fn while_loading_dir_appendonly_and_repl_diskless_load_are_refused() {
        let mut t = new();
        t.s.persist.rdb.loading = Some(Loading { start_s: 1, total_bytes: 100, loaded_bytes: 50 });
        assert_eq!(run_raw(&mut t, &["config", "set", "loglevel", "debug"]), "+OK\r\n");
        let loading = "-LOADING Redis is loading the dataset in memory\r\n";
        t.s.config.load_str("enable-protected-configs yes", None).unwrap(); // dir is protected too
        for (name, value) in [("dir", "asdf"), ("appendonly", "yes"), ("repl-diskless-load", "swapdb")] {
            assert_eq!(run_raw(&mut t, &["config", "set", "maxmemory", "1", name, value]), loading, "{name}");
        }
        // The first bad name stops the checks: an unknown one before it is the error.
        assert!(run_raw(&mut t, &["config", "set", "nosuch", "1", "appendonly", "yes"]).starts_with("-ERR Unknown"));
        assert!(run_raw(&mut t, &["config", "get", "maxmemory"]).ends_with("$1\r\n0\r\n"));
        t.s.persist.rdb.loading = None;
        assert_eq!(run_raw(&mut t, &["config", "set", "repl-diskless-load", "swapdb"]), "+OK\r\n");
    }
}
