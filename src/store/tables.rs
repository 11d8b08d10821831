//! Every redb table harmy has, in one place. Each domain file of `store/`
//! touches only its own tables; migrations create them.

use redb::TableDefinition;

/// `"schema_version"` → the schema the file is at.
pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// `(user id, key)` → value.
pub const KV: TableDefinition<(u64, &str), &str> = TableDefinition::new("kv");
/// user id → `(selector, argon2id PHC hash of the secret)`. Never the token.
pub const TOKENS: TableDefinition<u64, (&str, &str)> = TableDefinition::new("tokens");
/// token selector → user id, to find the row a presented token claims.
pub const TOKEN_SELECTORS: TableDefinition<&str, u64> = TableDefinition::new("token_selectors");
/// user id → GitHub login.
pub const GITHUB_LINKS: TableDefinition<u64, &str> = TableDefinition::new("github_links");
/// user id → JSON of the last fetched profile with its ETag (`github::Record`).
pub const GITHUB_PROFILES: TableDefinition<u64, &str> = TableDefinition::new("github_profiles");
/// user id → the user's own privacy choice (`privacy::Choice` as a byte); absent: the mode decides.
pub const PRIVACY: TableDefinition<u64, u8> = TableDefinition::new("privacy");
/// user id → when they were last seen going offline (ms since the epoch).
pub const LAST_SEEN: TableDefinition<u64, u64> = TableDefinition::new("last_seen");
/// name → a secret of this database's own, made from the OS generator when first needed:
/// `"lanyard_digest"`, the key of the digests that find imported Lanyard keys (`app::tokens`).
pub const SECRETS: TableDefinition<&str, &[u8]> = TableDefinition::new("secrets");
