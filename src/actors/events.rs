//! Events with several receivers: the messages one actor broadcasts to actors of different kinds, defined
//! here rather than beside any one of the handlers (DESIGN.md: messages live beside the actor that handles
//! them, and these have more than one).

use actix::prelude::*;

/// The cron's heartbeat, sent `hz` times a second to the Keyspace (housekeeping) and the Expiry actor
/// (active expiry policy).
#[derive(Message, Clone, Copy)]
#[rtype(result = "()")]
pub struct Tick;
