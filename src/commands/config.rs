//! CONFIG GET/SET/RESETSTAT/REWRITE (commands layer, applied by the Keyspace actor). The parameters, their
//! parsing and the redis.conf rewriter live in crate::config; this file is the command surface over them.

use super::connection::help;
use super::spec::*;
use super::Ctx;
use crate::config::SetError;
use crate::error::CmdError;

/// Flags of the CONFIG subcommands that change or reveal the configuration.
const ADM: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

/// CONFIG, as Redis 7.0's command table declares it.
#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("server", [
    cmd("config", -2, 0, container).subs(CONFIG_SUBS).doc("2.0.0", "Depends on subcommand.", "A container for server configuration commands."),
]);

#[rustfmt::skip]
const CONFIG_SUBS: &[CommandSpec] = &family("server", [
    cmd("config|get", -3, ADM, config_get).doc("2.0.0", "O(N) when N is the number of configuration parameters provided", "Returns the effective values of configuration parameters."),
    cmd("config|set", -4, ADM | MAY_REPLICATE, config_set).doc("2.0.0", "O(N) when N is the number of configuration parameters provided", "Sets configuration parameters in-flight."),
    cmd("config|resetstat", 2, ADM, config_resetstat).doc("2.0.0", "O(1)", "Resets the server's statistics."),
    cmd("config|rewrite", 2, ADM, config_rewrite).doc("2.8.0", "O(1)", "Persists the effective configuration to file."),
    cmd("config|help", 2, LOADING | STALE, config_help).doc("5.0.0", "O(1)", "Returns helpful text about the different subcommands."),
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

fn config_set(cx: &mut Ctx<'_>) -> CmdResult {
    if !cx.argc().is_multiple_of(2) {
        return Err(CmdError::arity("config|set"));
    }
    // All or nothing: apply to a copy, commit only if every pair was accepted (as Redis 7 does).
    let mut cfg = cx.s.config.clone();
    let mut seen: Vec<String> = Vec::new();
    for i in (2..cx.argc()).step_by(2) {
        let name = String::from_utf8_lossy(cx.arg(i)).to_ascii_lowercase();
        let value = String::from_utf8_lossy(cx.arg(i + 1)).into_owned();
        if seen.contains(&name) {
            return Err(CmdError::msg(format!(
                "ERR CONFIG SET failed (possibly related to argument '{name}') - duplicate parameter"
            )));
        }
        seen.push(name.clone());
        match cfg.set(&name, &value) {
            Ok(()) => {}
            Err(SetError::Unknown) => {
                return Err(CmdError::msg(format!(
                    "ERR Unknown option or number of arguments for CONFIG SET - '{}'",
                    crate::error::sanitize(cx.arg(i), 128)
                )))
            }
            Err(SetError::Bad(why)) => {
                return Err(CmdError::msg(format!(
                    "ERR CONFIG SET failed (possibly related to argument '{name}') - {why}"
                )))
            }
        }
    }
    super::aof::check_config(cx.s, &cfg)?;
    // changeBindAddr: a new bind list must be bindable, else nothing changes. The listening sockets
    // themselves stay as they were bound at start-up (see README, limitations).
    if cfg.bind != cx.s.config.bind && !crate::config::bind_addresses_ok(&cfg.bind) {
        return Err(CmdError::new(
            "ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses.",
        ));
    }
    // updateMaxclients: a new maxclients must fit the descriptor limit (raised if the OS allows).
    if cfg.maxclients != cx.s.config.maxclients {
        let fits = crate::config::adjust_open_files_limit(cfg.maxclients).maxclients;
        if fits != cfg.maxclients {
            return Err(CmdError::msg(format!(
                "ERR CONFIG SET failed (possibly related to argument 'maxclients') - The operating system is not able to handle the specified number of clients, try with {fits}"
            )));
        }
    }
    let old = std::mem::replace(&mut cx.s.config, cfg);
    cx.s.apply_config();
    // requirepass is the default user's password (Redis's ACLUpdateDefaultUserPassword).
    if seen.iter().any(|n| n == "requirepass") {
        super::acl::requirepass_changed(cx.s);
    }
    super::aof::config_changed(cx.s, &old);
    cx.out.ok();
    Ok(())
}

fn config_resetstat(cx: &mut Ctx<'_>) -> CmdResult {
    let s = &mut *cx.s;
    let used = s.used_memory();
    s.stats.reset(used);
    s.evict.reset_stats();
    s.obs.latency.reset_histograms();
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
    match cx.s.config.rewrite_with_users(Some(&users)) {
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
