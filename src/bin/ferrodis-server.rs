//! ferrodis-server: the standalone binary. `ferrodis-server [redis.conf] [--name value ...]` parses the
//! configuration like redis-server, starts the actors (see the crate docs), and runs until SIGINT, SIGTERM
//! or SHUTDOWN.

use ferrodis::internal::{log_timestamp, system_ms};
use ferrodis::{Config, Server};
use std::io::Write;

fn usage() {
    eprintln!(
        "Usage: ./ferrodis-server [/path/to/redis.conf] [options] [-]\n       ./ferrodis-server - (read config from stdin)\n       ./ferrodis-server -v or --version\n       ./ferrodis-server -h or --help\n\nExamples:\n       ./ferrodis-server (run the server with default conf)\n       ./ferrodis-server /etc/redis/6379.conf\n       ./ferrodis-server --port 7777\n       ./ferrodis-server /etc/myredis.conf --loglevel verbose -"
    );
}

/// Log target of lines written as they are, without the pid/time/level prefix (Redis's LL_RAW).
const RAW: &str = "raw";

/// Redis's redisAsciiArt: the start-up banner, whose `Port:` and `PID:` lines tools and the Redis test suite
/// wait for, when `always-show-logo` is set or the log goes to a terminal; otherwise one line.
fn banner(cfg: &Config, port: u16) {
    // SAFETY: isatty only reads the state of descriptor 1.
    let tty = unsafe { libc::isatty(1) } == 1;
    let always = cfg.get("always-show-logo").as_deref() == Some("yes");
    if !(always || (cfg.logfile.is_empty() && tty)) {
        log::info!("Running mode=standalone, port={port}.");
        return;
    }
    let (version, pid) = (env!("CARGO_PKG_VERSION"), std::process::id());
    let redis = ferrodis::REDIS_VERSION;
    let art = [
        "    .-\"\"\"-.".to_string(),
        format!("   /  ___  \\      ferrodis {version} (Redis {redis} compatible) 64 bit"),
        "  |  /   \\  |     Running in standalone mode".to_string(),
        format!("  |  \\___/  |     Port: {port}"),
        format!("   \\       /      PID: {pid}"),
        "    '-...-'".to_string(),
    ];
    log::info!(target: RAW, "\n{}\n", art.join("\n"));
}

/// Redis's syslog-facility names (config.c's syslog_facility_enum) as syslog(3) facilities.
fn syslog_facility(name: &str) -> Option<libc::c_int> {
    Some(match name {
        "user" => libc::LOG_USER,
        "local0" => libc::LOG_LOCAL0,
        "local1" => libc::LOG_LOCAL1,
        "local2" => libc::LOG_LOCAL2,
        "local3" => libc::LOG_LOCAL3,
        "local4" => libc::LOG_LOCAL4,
        "local5" => libc::LOG_LOCAL5,
        "local6" => libc::LOG_LOCAL6,
        "local7" => libc::LOG_LOCAL7,
        _ => return None,
    })
}

/// Redis's syslogLevelMap: debug, verbose, notice, warning as syslog priorities.
fn syslog_priority(level: log::Level) -> libc::c_int {
    match level {
        log::Level::Trace => libc::LOG_DEBUG,
        log::Level::Debug => libc::LOG_INFO,
        log::Level::Info => libc::LOG_NOTICE,
        _ => libc::LOG_WARNING,
    }
}

/// `syslog-enabled yes`: open the system log under `syslog-ident` and `syslog-facility`, as Redis's
/// initServer; each log line is then sent there too (its text, without the pid/time prefix).
fn open_syslog(cfg: &Config) -> bool {
    if cfg.get("syslog-enabled").as_deref() != Some("yes") {
        return false;
    }
    let ident = cfg.get("syslog-ident").unwrap_or_else(|| "redis".into());
    let facility = cfg.get("syslog-facility").and_then(|f| syslog_facility(&f)).unwrap_or(libc::LOG_LOCAL0);
    let Ok(ident) = std::ffi::CString::new(ident) else { return false };
    // SAFETY: openlog keeps the ident pointer, so it is leaked to live as long as the process.
    unsafe { libc::openlog(ident.into_raw(), libc::LOG_PID | libc::LOG_NDELAY | libc::LOG_NOWAIT, facility) };
    true
}

fn init_logging(cfg: &Config) {
    // Redis's levels: debug '.', verbose '-', notice '*', warning '#'.
    let level = match cfg.loglevel.as_str() {
        "debug" => log::LevelFilter::Trace,
        "verbose" => log::LevelFilter::Debug,
        "warning" => log::LevelFilter::Warn,
        _ => log::LevelFilter::Info,
    };
    let pid = std::process::id();
    let syslog = open_syslog(cfg);
    let mut b = env_logger::Builder::new();
    b.filter_level(level).format(move |buf, rec| {
        let sym = match rec.level() {
            log::Level::Trace => '.',
            log::Level::Debug => '-',
            log::Level::Info => '*',
            _ => '#',
        };
        if syslog {
            if let Ok(msg) = std::ffi::CString::new(rec.args().to_string()) {
                // SAFETY: a "%s" format with one NUL-terminated argument.
                unsafe { libc::syslog(syslog_priority(rec.level()), c"%s".as_ptr(), msg.as_ptr()) };
            }
        }
        if rec.target() == RAW {
            return writeln!(buf, "{}", rec.args());
        }
        writeln!(buf, "{pid}:M {} {sym} {}", log_timestamp(system_ms()), rec.args())
    });
    if cfg.logfile.is_empty() {
        b.target(env_logger::Target::Stdout);
    } else {
        match std::fs::OpenOptions::new().create(true).append(true).open(&cfg.logfile) {
            Ok(f) => {
                b.target(env_logger::Target::Pipe(Box::new(f)));
            }
            Err(e) => {
                eprintln!("Can't open the log file: {e}");
                std::process::exit(1);
            }
        }
    }
    let _ = b.try_init();
}

/// Tune the allocator before anything allocates (mimalloc, used under MSVC, decides how to commit its first
/// arena at the first allocation, which happens before `main`; jemalloc needs nothing). Runs from
/// .init_array ahead of default-priority constructors.
#[used]
#[link_section = ".init_array.00099"]
static TUNE_ALLOCATOR_EARLY: extern "C" fn() = {
    extern "C" fn tune() {
        ferrodis::internal::tune_allocator();
    }
    tune
};

/// Hands the argument block to the process title before `main` runs (glibc passes argc, argv and envp to
/// `.init_array` entries, as Rust's std relies on): only this binary's title is set, never an embedding
/// host's.
#[cfg(all(target_os = "linux", target_env = "gnu", not(test)))]
#[used]
#[link_section = ".init_array"]
static PROC_TITLE_INIT: extern "C" fn(libc::c_int, *mut *mut libc::c_char, *mut *mut libc::c_char) = {
    extern "C" fn take_args(argc: libc::c_int, argv: *mut *mut libc::c_char, envp: *mut *mut libc::c_char) {
        // SAFETY: before main, with the process's only thread and glibc's own vectors.
        unsafe { ferrodis::internal::init_proc_title(argc, argv, envp) }
    }
    take_args
};

fn main() {
    ferrodis::internal::tune_allocator();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(a) = args.first() {
        if a == "-v" || a == "--version" {
            println!(
                "ferrodis server v={} (Redis {} compatible) bits=64",
                env!("CARGO_PKG_VERSION"),
                ferrodis::REDIS_VERSION
            );
            return;
        }
        if a == "-h" || a == "--help" {
            usage();
            return;
        }
    }
    let mut config = match Config::from_args(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    // Redis works from `dir`: relative file names (dump, AOF, logs) resolve there.
    if !config.dir.is_empty() {
        if let Err(e) = std::env::set_current_dir(&config.dir) {
            eprintln!("Can't chdir to '{}': {e}", config.dir);
            std::process::exit(1);
        }
    }
    init_logging(&config);
    // Redis's bug report on a fatal signal and its software watchdog, written to the same log.
    ferrodis::internal::install_crash_handlers(&config.logfile, config.config_file.as_deref());
    log::warn!("oO0OoO0OoO0Oo ferrodis is starting oO0OoO0OoO0Oo");
    log::warn!(
        "ferrodis version={}, Redis {} compatible, bits=64, pid={}, just started",
        env!("CARGO_PKG_VERSION"),
        ferrodis::REDIS_VERSION,
        std::process::id()
    );
    match &config.config_file {
        Some(f) => log::warn!("Configuration loaded from {f}"),
        None => log::warn!("Warning: no config file specified, using the default config. In order to specify a config file use ferrodis-server /path/to/redis.conf"),
    }
    // As Redis's initServer: make the descriptor limit fit maxclients, or lower maxclients to fit it (so
    // that surplus clients are answered "max number of clients reached" instead of exhausting descriptors).
    let files = ferrodis::internal::adjust_open_files_limit(config.maxclients);
    if let Some(fatal) = files.fatal {
        log::warn!("{fatal}");
        std::process::exit(1);
    }
    config.maxclients = files.maxclients;
    if config.daemonize {
        log::warn!("daemonize yes is not supported (ferrodis never forks); running in the foreground");
    }
    if !config.pidfile.is_empty() {
        if let Err(e) = std::fs::write(&config.pidfile, format!("{}\n", std::process::id())) {
            log::warn!("Failed to write PID file: {e}");
        }
    }
    let pidfile = config.pidfile.clone();
    let banner_cfg = config.clone();
    let code = actix_rt::System::new().block_on(async move {
        // The banner and "Server initialized" come once the port is bound and before the data loads, as
        // redis-server's: a load that fails is then logged after them.
        let server = Server::new(config).on_bound(move |addrs| {
            banner(&banner_cfg, addrs.first().map(|a| a.port()).unwrap_or(0));
            ferrodis::internal::set_proc_title(&banner_cfg);
            if !addrs.is_empty() {
                let list = addrs.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(" ");
                log::info!("Server initialized, listening on {list}");
            }
        });
        let mut handle = match server.start().await {
            Ok(h) => h,
            Err(e) => {
                log::warn!("{e}");
                return 1;
            }
        };
        // Handlers go in before the ready line: a supervisor may signal as soon as it sees it.
        use tokio::signal::unix::{signal, SignalKind};
        let (mut term, mut int) = match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
            (Ok(t), Ok(i)) => (t, i),
            _ => {
                log::warn!("Cannot install the SIGTERM/SIGINT handlers");
                return 1;
            }
        };
        log::info!("Ready to accept connections");
        loop {
            let signal = tokio::select! {
                _ = int.recv() => "SIGINT",
                _ = term.recv() => "SIGTERM",
                _ = handle.shutdown_requested() => break,
            };
            log::warn!("Received {signal} scheduling shutdown...");
            // Lagging replicas get shutdown-timeout to catch up, then the final save (with save points); if
            // the shutdown is aborted or fails, the server goes on, as Redis's does.
            let prepared = tokio::select! {
                r = handle.prepare_shutdown_for(signal == "SIGINT") => r,
                // A SIGINT while a signal's shutdown is under way (replicas catching up, the final save):
                // exit now without the temp file, as Redis's sigShutdownHandler does.
                _ = int.recv() => {
                    log::warn!("You insist... exiting now.");
                    ferrodis::internal::remove_temp_files();
                    // Not a return: dropping the handle would wait for the save to finish.
                    std::process::exit(1);
                }
            };
            if prepared.is_ok() {
                break;
            }
        }
        if handle.load_failed() {
            // The dataset could not be loaded: exit with an error, as redis-server does.
            handle.stop().await;
            return 1;
        }
        log::warn!("User requested shutdown...");
        handle.stop_for_exit().await;
        log::warn!("ferrodis is now ready to exit, bye bye...");
        0
    });
    if !pidfile.is_empty() {
        let _ = std::fs::remove_file(&pidfile);
    }
    std::process::exit(code);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syslog_facilities_and_levels_are_redis_s() {
        assert_eq!(syslog_facility("user"), Some(libc::LOG_USER));
        assert_eq!(syslog_facility("local0"), Some(libc::LOG_LOCAL0));
        assert_eq!(syslog_facility("local7"), Some(libc::LOG_LOCAL7));
        assert_eq!(syslog_facility("kern"), None);
        assert_eq!(syslog_priority(log::Level::Warn), libc::LOG_WARNING);
        assert_eq!(syslog_priority(log::Level::Info), libc::LOG_NOTICE);
        assert_eq!(syslog_priority(log::Level::Debug), libc::LOG_INFO);
        assert_eq!(syslog_priority(log::Level::Trace), libc::LOG_DEBUG);
    }

    #[test]
    fn syslog_is_opened_only_when_enabled() {
        assert!(!open_syslog(&Config::default()));
    }
}
