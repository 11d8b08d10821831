//! `kv set|get|del|list` for the operator.

use crate::app::App;
use crate::error::Result;
use crate::ids::UserId;

pub async fn set(app: &App, user: UserId, key: String, value: String) -> Result<String> {
    app.kv.set(user, key, value).await?;
    Ok(String::new())
}

pub async fn get(app: &App, user: UserId, key: Option<String>) -> Result<String> {
    match key {
        Some(key) => app.kv.get(user, key).await,
        None => Ok(serde_json::to_string_pretty(&app.kv.all(user).await?).unwrap_or_default()),
    }
}

pub async fn del(app: &App, user: UserId, key: String) -> Result<String> {
    Ok(if app.kv.del(user, key.clone()).await? { format!("deleted {key}") } else { format!("{key} was not set") })
}

pub async fn list(app: &App, user: UserId) -> Result<String> {
    Ok(app.kv.all(user).await?.into_keys().collect::<Vec<_>>().join("\n"))
}
