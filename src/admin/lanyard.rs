//! `migrate --from-lanyard`'s batches, stored by whoever holds the database.

use crate::app::App;
use crate::app::lanyard::Record;
use crate::error::{Error, Result};

/// Stores one batch; the output is its report as JSON, for the reader to add up.
pub async fn import(app: &App, records: Vec<Record>, overwrite: bool, dry_run: bool) -> Result<String> {
    let report = app.import_lanyard(records, overwrite, dry_run).await?;
    serde_json::to_string(&report).map_err(|e| Error::Internal(e.to_string()))
}
