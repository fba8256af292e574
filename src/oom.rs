//! The process's OOM-killer score (`oom-score-adj`, `oom-score-adj-values`), as Redis's setOOMScoreAdj:
//! outside the actor diagram, applied at start-up (Server::start), by CONFIG SET and when REPLICAOF changes
//! the process's class (master or replica; ferrodis has no fork child for the third class). Linux only:
//! elsewhere enabling it is refused as Redis refuses it where /proc/self/oom_score_adj is missing.

use crate::config::Config;
use std::sync::Mutex;

const PROC_FILE: &str = "/proc/self/oom_score_adj";

/// Redis's two statics: whether the score is ours (and then the score found before we took it over).
static ADJUSTED_FROM: Mutex<Option<i64>> = Mutex::new(None);

/// The score the configuration asks for, given the base found before it took over (None: leave it).
fn wanted(config: &Config, replica: bool, base: i64) -> Option<i64> {
    let mode = config.get("oom-score-adj").unwrap_or_default();
    if mode == "no" {
        return None;
    }
    let values = config.get("oom-score-adj-values").unwrap_or_default();
    let class: i64 = values.split(' ').nth(usize::from(replica)).and_then(|v| v.parse().ok()).unwrap_or(0);
    let v = if mode == "absolute" { class } else { class + base };
    Some(v.clamp(-1000, 1000))
}

/// setOOMScoreAdj(-1): write the score of the process's class (master or replica), or, when turned off after being on, put back
/// the score found at take-over. Err (logged) when /proc cannot be read or written (an unprivileged process
/// may not lower its score): CONFIG SET then refuses the change.
pub fn apply(config: &Config) -> Result<(), ()> {
    // The class: a replica when `replicaof` is set (REPLICAOF keeps it current; CONFIG SET cannot change it).
    let replica = config.replicaof().is_some();
    let mut ours = ADJUSTED_FROM.lock().unwrap_or_else(|e| e.into_inner());
    let on = config.get("oom-score-adj").as_deref() != Some("no");
    let val = match (*ours, on) {
        (None, false) => return Ok(()),
        (Some(base), false) => {
            *ours = None;
            base
        }
        (Some(base), true) => wanted(config, replica, base).unwrap_or(base),
        (None, true) => {
            let base = match std::fs::read_to_string(PROC_FILE) {
                Ok(s) => s.trim().parse().unwrap_or(0),
                Err(e) => {
                    log::warn!("Unable to read oom_score_adj: {}", crate::config::strerror(&e));
                    return Err(());
                }
            };
            *ours = Some(base);
            wanted(config, replica, base).unwrap_or(base)
        }
    };
    std::fs::write(PROC_FILE, format!("{val}\n")).map_err(|e| {
        log::warn!("Unable to write oom_score_adj: {}", crate::config::strerror(&e));
    })
}
