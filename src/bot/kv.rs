//! `.set`/`.add`, `.get`, `.del`, `.kv` and `/kv set|get|del|list`: the user's
//! key/value pairs, through `App` (which enforces the limits).

use crate::app::App;
use crate::error::Result;
use crate::ids::UserId;

use super::reply::code;

/// Sets a pair.
pub async fn set(app: &App, user: UserId, key: String, value: String) -> Result<String> {
    let shown = code(&key);
    app.kv.admit_write(user)?;
    app.kv.set(user, key, value).await?;
    Ok(format!("Set {shown}."))
}

/// Shows a value (cut to the message limit by the caller when long).
pub async fn get(app: &App, user: UserId, key: String) -> Result<String> {
    let shown = code(&key);
    let value = app.kv.get(user, key).await?;
    Ok(format!("{shown} = {value}"))
}

/// Deletes a key; says so when there was none.
pub async fn del(app: &App, user: UserId, key: String) -> Result<String> {
    let shown = code(&key);
    app.kv.admit_write(user)?;
    Ok(if app.kv.del(user, key).await? { format!("Deleted {shown}.") } else { format!("You have no key {shown}.") })
}

/// Lists the user's keys.
pub async fn list(app: &App, user: UserId) -> Result<String> {
    let pairs = app.kv.all(user).await?;
    if pairs.is_empty() {
        return Ok("You have no keys yet.".into());
    }
    let keys: Vec<String> = pairs.keys().map(|k| code(k)).collect();
    Ok(format!("Your keys ({}): {}", keys.len(), keys.join(", ")))
}
