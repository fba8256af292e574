//! geo commands (being written).

use super::spec::CommandSpec;

pub const SPECS: &[CommandSpec] = &[];
