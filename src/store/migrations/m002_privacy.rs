//! Schema 2: the privacy choices and last-seen times (docs/API.md, "Privacy").

use super::Migration;
use crate::store::tables::{LAST_SEEN, PRIVACY};

pub const MIGRATION: Migration = Migration {
    version: 2,
    description: "create the tables for privacy choices (show/hide) and last-seen times",
    apply: |txn| {
        txn.open_table(PRIVACY)?;
        txn.open_table(LAST_SEEN)?;
        Ok(())
    },
};
