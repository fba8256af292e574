//! CLUSTER and ASKING (commands layer, run by the Keyspace actor): ferrodis runs in standalone mode only, so
//! these answer Redis's "cluster support disabled" error, as redis-server 7.0 does with `cluster-enabled no`.
//! They are in the command table all the same: COMMAND COUNT / LIST / INFO / DOCS match Redis's, ACL rules
//! can name them, and a script calling CLUSTER RESET is refused for its `noscript` flag before it runs.

use super::spec::*;
use super::Ctx;
use crate::error::CmdError;

/// Redis's reply to every cluster command when `cluster-enabled` is no (clusterCommand, askingCommand).
pub const CLUSTER_DISABLED: CmdError = CmdError::new("ERR This instance has cluster support disabled");

/// Every CLUSTER subcommand and ASKING: standalone mode.
fn cluster_disabled(_: &mut Ctx<'_>) -> CmdResult {
    Err(CLUSTER_DISABLED)
}

/// Flags of the subcommands that change the cluster's configuration (NO_ASYNC_LOADING is kept in keyspecs.rs).
const CADMIN: u32 = ADMIN | STALE;

/// CLUSTER and ASKING, as Redis 7.0.15's command table declares them.
#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("cluster", [
    cmd("asking", 1, FAST, cluster_disabled).acl(CONNECTION).doc("3.0.0", "O(1)", "Sent by cluster clients after an -ASK redirect"),
    cmd("cluster", -2, 0, container).subs(CLUSTER_SUBS).doc("3.0.0", "Depends on subcommand.", "A container for cluster commands"),
]);

#[rustfmt::skip]
const CLUSTER_SUBS: &[CommandSpec] = &family("cluster", [
    cmd("cluster|addslots", -3, CADMIN, cluster_disabled).doc("3.0.0", "O(N) where N is the total number of hash slot arguments", "Assign new hash slots to receiving node"),
    cmd("cluster|addslotsrange", -4, CADMIN, cluster_disabled).doc("7.0.0", "O(N) where N is the total number of the slots between the start slot and end slot arguments.", "Assign new hash slots to receiving node"),
    cmd("cluster|bumpepoch", 2, CADMIN, cluster_disabled).doc("3.0.0", "O(1)", "Advance the cluster config epoch"),
    cmd("cluster|count-failure-reports", 3, CADMIN, cluster_disabled).doc("3.0.0", "O(N) where N is the number of failure reports", "Return the number of failure reports active for a given node"),
    cmd("cluster|countkeysinslot", 3, STALE, cluster_disabled).doc("3.0.0", "O(1)", "Return the number of local keys in the specified hash slot"),
    cmd("cluster|delslots", -3, CADMIN, cluster_disabled).doc("3.0.0", "O(N) where N is the total number of hash slot arguments", "Set hash slots as unbound in receiving node"),
    cmd("cluster|delslotsrange", -4, CADMIN, cluster_disabled).doc("7.0.0", "O(N) where N is the total number of the slots between the start slot and end slot arguments.", "Set hash slots as unbound in receiving node"),
    cmd("cluster|failover", -2, CADMIN, cluster_disabled).doc("3.0.0", "O(1)", "Forces a replica to perform a manual failover of its master."),
    cmd("cluster|flushslots", 2, CADMIN, cluster_disabled).doc("3.0.0", "O(1)", "Delete a node's own slots information"),
    cmd("cluster|forget", 3, CADMIN, cluster_disabled).doc("3.0.0", "O(1)", "Remove a node from the nodes table"),
    cmd("cluster|getkeysinslot", 4, STALE, cluster_disabled).doc("3.0.0", "O(log(N)) where N is the number of requested keys", "Return local key names in the specified hash slot"),
    cmd("cluster|help", 2, LOADING | STALE, cluster_disabled).doc("5.0.0", "O(1)", "Show helpful text about the different subcommands"),
    cmd("cluster|info", 2, STALE, cluster_disabled).doc("3.0.0", "O(1)", "Provides info about Redis Cluster node state"),
    cmd("cluster|keyslot", 3, STALE, cluster_disabled).doc("3.0.0", "O(N) where N is the number of bytes in the key", "Returns the hash slot of the specified key"),
    cmd("cluster|links", 2, STALE, cluster_disabled).doc("7.0.0", "O(N) where N is the total number of Cluster nodes", "Returns a list of all TCP links to and from peer nodes in cluster"),
    cmd("cluster|meet", -4, CADMIN, cluster_disabled).doc("3.0.0", "O(1)", "Force a node cluster to handshake with another node"),
    cmd("cluster|myid", 2, STALE, cluster_disabled).doc("3.0.0", "O(1)", "Return the node id"),
    cmd("cluster|nodes", 2, STALE, cluster_disabled).doc("3.0.0", "O(N) where N is the total number of Cluster nodes", "Get Cluster config for the node"),
    cmd("cluster|replicas", 3, CADMIN, cluster_disabled).doc("5.0.0", "O(1)", "List replica nodes of the specified master node"),
    cmd("cluster|replicate", 3, CADMIN, cluster_disabled).doc("3.0.0", "O(1)", "Reconfigure a node as a replica of the specified master node"),
    cmd("cluster|reset", -2, CADMIN | NOSCRIPT, cluster_disabled).doc("3.0.0", "O(N) where N is the number of known nodes. The command may execute a FLUSHALL as a side effect.", "Reset a Redis Cluster node"),
    cmd("cluster|saveconfig", 2, CADMIN, cluster_disabled).doc("3.0.0", "O(1)", "Forces the node to save cluster state on disk"),
    cmd("cluster|set-config-epoch", 3, CADMIN, cluster_disabled).doc("3.0.0", "O(1)", "Set the configuration epoch in a new node"),
    cmd("cluster|setslot", -4, CADMIN, cluster_disabled).doc("3.0.0", "O(1)", "Bind a hash slot to a specific node"),
    cmd("cluster|shards", 2, STALE, cluster_disabled).doc("7.0.0", "O(N) where N is the total number of cluster nodes", "Get array of cluster slots to node mappings"),
    cmd("cluster|slaves", 3, CADMIN, cluster_disabled).doc("3.0.0", "O(1)", "List replica nodes of the specified master node"),
    cmd("cluster|slots", 2, STALE, cluster_disabled).doc("3.0.0", "O(N) where N is the total number of Cluster nodes", "Get array of Cluster slot to node mappings"),
]);

#[cfg(test)]
mod tests {
    use crate::commands::testutil::{new, run_raw};

    #[test]
    fn cluster_commands_answer_cluster_support_disabled() {
        let mut t = new();
        let disabled = "-ERR This instance has cluster support disabled\r\n";
        for args in [&["cluster", "info"][..], &["cluster", "help"], &["cluster", "keyslot", "k"], &["asking"]] {
            assert_eq!(run_raw(&mut t, args), disabled, "{args:?}");
        }
        assert_eq!(run_raw(&mut t, &["cluster", "nosuch"]), "-ERR unknown subcommand 'nosuch'. Try CLUSTER HELP.\r\n");
        assert_eq!(
            run_raw(&mut t, &["cluster", "keyslot"]),
            "-ERR wrong number of arguments for 'cluster|keyslot' command\r\n"
        );
        // CLUSTER RESET is noscript: a script is refused it before it runs (the suite's scripting unit).
        let r = run_raw(&mut t, &["eval", "redis.call('cluster', 'reset', 'hard')", "0"]);
        assert!(r.starts_with("-ERR This Redis command is not allowed from script"), "{r}");
        let r = run_raw(&mut t, &["eval", "return redis.pcall('cluster', 'info')", "0"]);
        assert_eq!(r, "-ERR This instance has cluster support disabled\r\n");
        assert_eq!(
            run_raw(&mut t, &["command", "list", "filterby", "pattern", "cl*help"]),
            "*2\r\n$11\r\nclient|help\r\n$12\r\ncluster|help\r\n"
        );
    }
}
