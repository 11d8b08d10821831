//! Schema 1: the KV, token and GitHub tables.

use super::Migration;
use crate::store::tables::{GITHUB_LINKS, GITHUB_PROFILES, KV, META, TOKEN_SELECTORS, TOKENS};

pub const MIGRATION: Migration = Migration {
    version: 1,
    description: "create the tables for KV pairs, API tokens, GitHub links and profiles",
    apply: |txn| {
        txn.open_table(META)?;
        txn.open_table(KV)?;
        txn.open_table(TOKENS)?;
        txn.open_table(TOKEN_SELECTORS)?;
        txn.open_table(GITHUB_LINKS)?;
        txn.open_table(GITHUB_PROFILES)?;
        Ok(())
    },
};
