//! TEMPORARY stand-in for src/config.rs while it is being written (same names).
#[derive(Clone, Debug)]
pub struct Config {
    pub config_file: Option<String>,
    pub bind: Vec<String>,
    pub port: u16,
    pub unixsocket: String,
    pub unixsocketperm: u32,
    pub tcp_backlog: u32,
    pub databases: usize,
    pub requirepass: String,
    pub maxclients: u64,
    pub timeout: u64,
    pub tcp_keepalive: u64,
    pub hz: u32,
    pub loglevel: String,
    pub logfile: String,
    pub dir: String,
    pub maxmemory: u64,
    pub maxmemory_policy: String,
    pub proto_max_bulk_len: u64,
    pub client_query_buffer_limit: u64,
    pub io_threads: usize,
    pub protected_mode: bool,
    pub active_expire_effort: u32,
    pub lazyfree_lazy_user_flush: bool,
    pub appendonly: bool,
    pub save: Vec<(u64, u64)>,
    pub daemonize: bool,
    pub pidfile: String,
}
impl Default for Config {
    fn default() -> Self {
        Config {
            config_file: None,
            bind: vec!["*".into(), "-::*".into()],
            port: 6379,
            unixsocket: String::new(),
            unixsocketperm: 0,
            tcp_backlog: 511,
            databases: 16,
            requirepass: String::new(),
            maxclients: 10000,
            timeout: 0,
            tcp_keepalive: 300,
            hz: 10,
            loglevel: "notice".into(),
            logfile: String::new(),
            dir: ".".into(),
            maxmemory: 0,
            maxmemory_policy: "noeviction".into(),
            proto_max_bulk_len: 512 << 20,
            client_query_buffer_limit: 1 << 30,
            io_threads: 1,
            protected_mode: true,
            active_expire_effort: 1,
            lazyfree_lazy_user_flush: false,
            appendonly: false,
            save: vec![],
            daemonize: false,
            pidfile: String::new(),
        }
    }
}
pub enum SetError {
    Unknown,
    Bad(String),
}
#[derive(Debug)]
pub struct ConfigError {
    pub reason: String,
}
impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}
impl Config {
    pub fn from_args(_args: &[String]) -> Result<Config, ConfigError> {
        Ok(Config::default())
    }
    pub fn set(&mut self, _name: &str, _value: &str) -> Result<(), SetError> {
        Err(SetError::Unknown)
    }
    pub fn get_matching(&self, _pattern: &str) -> Vec<(String, String)> {
        vec![]
    }
    pub fn get(&self, _name: &str) -> Option<String> {
        None
    }
    pub fn rewrite(&self) -> Result<(), String> {
        Err("The server is running without a config file".into())
    }
    pub fn inert_options() -> &'static [&'static str] {
        &[]
    }
}
impl Config {
    pub fn _stub_extra(&self) {}
}
