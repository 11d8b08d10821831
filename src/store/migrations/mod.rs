//! Schema migrations, one file each, applied in order by `harmy migrate`.
//! Each runs in its own write transaction together with the version bump, so a
//! crash leaves the file at the previous version or the next, never between.

mod m001_initial;
mod m002_privacy;
mod m003_secrets;

use redb::WriteTransaction;

/// One step of the schema.
pub struct Migration {
    /// The schema version the file is at after this step.
    pub version: u64,
    /// What it does, for `harmy migrate --dry-run`.
    pub description: &'static str,
    /// The change itself.
    pub apply: fn(&WriteTransaction) -> Result<(), redb::Error>,
}

/// Every migration, in order; the last version is the one this binary needs.
pub const MIGRATIONS: &[Migration] = &[m001_initial::MIGRATION, m002_privacy::MIGRATION, m003_secrets::MIGRATION];

/// The schema version this binary reads and writes.
pub const CURRENT_VERSION: u64 = MIGRATIONS[MIGRATIONS.len() - 1].version;
