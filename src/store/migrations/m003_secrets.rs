//! Schema 3: the table of the database's own secrets (the key of the digests
//! that find API keys imported from Lanyard; docs/SECURITY.md).

use super::Migration;
use crate::store::tables::SECRETS;

pub const MIGRATION: Migration = Migration {
    version: 3,
    description: "create the table for the database's own secrets (the key of imported Lanyard keys' digests)",
    apply: |txn| {
        txn.open_table(SECRETS)?;
        Ok(())
    },
};
