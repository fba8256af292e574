//! MODULE and LOLWUT (commands layer, run by the Keyspace actor). ferrodis loads no modules: MODULE LIST is
//! empty, LOAD and LOADEX fail as Redis's do for a library that cannot be loaded (the reason in the log),
//! UNLOAD finds no module; LOAD, LOADEX and UNLOAD are refused first under `enable-module-command`, as
//! Redis's protected commands. LOLWUT answers Redis 7.0's text for its own version.

use super::connection::help;
use super::spec::*;
use super::Ctx;
use crate::error::CmdError;

/// MODULE and LOLWUT, as Redis 7.0.15's command table declares them.
#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("server", [
    cmd("module", -2, 0, container).subs(MODULE_SUBS).doc("4.0.0", "Depends on subcommand.", "A container for module commands"),
    cmd("lolwut", -1, READONLY | FAST, lolwut).doc("5.0.0", "", "Display some computer art and the Redis version"),
]);

#[rustfmt::skip]
const MODULE_SUBS: &[CommandSpec] = &family("server", [
    cmd("module|list", 2, ADMIN | NOSCRIPT, module_list).doc("4.0.0", "O(N) where N is the number of loaded modules.", "List all modules loaded by the server"),
    cmd("module|help", 2, LOADING | STALE, module_help).doc("5.0.0", "O(1)", "Show helpful text about the different subcommands"),
    cmd("module|load", -3, ADMIN | NOSCRIPT, module_load).doc("4.0.0", "O(1)", "Load a module"),
    cmd("module|loadex", -3, ADMIN | NOSCRIPT, module_load).doc("7.0.0", "O(1)", "Load a module with extended parameters"),
    cmd("module|unload", 3, ADMIN | NOSCRIPT, module_unload).doc("4.0.0", "O(1)", "Unload a module"),
]);

/// Redis's refusal of a protected MODULE subcommand when `enable-module-command` does not allow this client.
const MODULE_REFUSED: CmdError = CmdError::new(
    "ERR MODULE command not allowed. If the enable-module-command option is set to \"local\", you can run it \
     from a local connection, otherwise you need to set this option in the configuration file, and then restart \
     the server.",
);

/// `enable-module-command` for MODULE LOAD, LOADEX and UNLOAD (Redis's CMD_PROTECTED subcommands): "yes"
/// allows them, "local" only from a local connection, "no" (the default) never. Checked before
/// authentication, as Redis's processCommand does.
pub(crate) fn module_refusal(s: &super::State, client: &super::Client, name: &str) -> Option<CmdError> {
    if !matches!(name, "module|load" | "module|loadex" | "module|unload") {
        return None;
    }
    match s.config.get("enable-module-command").as_deref() {
        Some("yes") => None,
        Some("local") if super::debug::is_local_client(client) => None,
        _ => Some(MODULE_REFUSED),
    }
}

fn module_list(cx: &mut Ctx<'_>) -> CmdResult {
    cx.out.array(0);
    Ok(())
}

fn module_help(cx: &mut Ctx<'_>) -> CmdResult {
    help(
        cx,
        "MODULE",
        &[
            "LIST",
            "    Return a list of loaded modules.",
            "LOAD <path> [<arg> ...]",
            "    Load a module library from <path>, passing to it any optional arguments.",
            "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
            "    Load a module library from <path>, while passing it module configurations and optional arguments.",
            "UNLOAD <name>",
            "    Unload a module.",
        ],
    )
}

/// MODULE LOAD / LOADEX: the library is not loaded (ferrodis has no module API); the log says why, the
/// reply is Redis's for a failed load.
fn module_load(cx: &mut Ctx<'_>) -> CmdResult {
    log::warn!("Module {} failed to load: ferrodis does not load Redis modules", String::from_utf8_lossy(cx.arg(2)));
    Err(CmdError::new("ERR Error loading the extension. Please check the server logs."))
}

fn module_unload(_: &mut Ctx<'_>) -> CmdResult {
    Err(CmdError::new("ERR Error unloading module: no such module with that name"))
}

/// LOLWUT [VERSION version]: Redis 7.0 draws no art for its own version, only this line (lolwutUnstable);
/// VERSION 5 and 6 select Redis's generative art, which ferrodis does not draw: the same line answers.
fn lolwut(cx: &mut Ctx<'_>) -> CmdResult {
    if cx.argc() >= 3 && cx.argv.is(1, "version") {
        cx.int_arg(2)?;
    }
    let text = format!("Redis ver. {}\n", crate::REDIS_VERSION);
    cx.out.verbatim("txt", text.as_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::commands::testutil::{new, run_raw};

    #[test]
    fn module_commands_without_modules() {
        let mut t = new();
        assert_eq!(run_raw(&mut t, &["module", "list"]), "*0\r\n");
        let refused = run_raw(&mut t, &["module", "load", "/x.so"]);
        assert!(refused.starts_with("-ERR MODULE command not allowed."), "{refused}");
        t.s.config.load_str("enable-module-command yes", None).unwrap();
        assert_eq!(
            run_raw(&mut t, &["module", "load", "/x.so", "a"]),
            "-ERR Error loading the extension. Please check the server logs.\r\n"
        );
        assert_eq!(
            run_raw(&mut t, &["module", "unload", "x"]),
            "-ERR Error unloading module: no such module with that name\r\n"
        );
        assert!(run_raw(&mut t, &["module", "help"]).starts_with("*11\r\n+MODULE <subcommand>"));
    }

    #[test]
    fn lolwut_answers_the_version_line() {
        let mut t = new();
        assert_eq!(run_raw(&mut t, &["lolwut"]), "$18\r\nRedis ver. 7.0.15\n\r\n");
        assert_eq!(run_raw(&mut t, &["lolwut", "version", "x"]), "-ERR value is not an integer or out of range\r\n");
    }
}
