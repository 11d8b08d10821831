//! The KV service end to end inside the process: a refused write changes nothing.

use std::collections::BTreeMap;

use super::*;
use crate::app::App;
use crate::config::Config;

#[tokio::test]
async fn a_refused_patch_changes_nothing() {
    let mut config = Config::default();
    config.kv.max_keys = 2;
    let (_dir, app) = App::temporary(config);
    let user = UserId(3);
    app.kv.set(user, "a".into(), "1".into()).await.unwrap();
    let too_long = "x".repeat(10_001);
    let err = app.kv.set_many(user, vec![("a".into(), "2".into()), ("b".into(), too_long)]).await.unwrap_err();
    assert!(matches!(err, Error::Kv(KvError::ValueTooLong { .. })));
    let err = app
        .kv
        .set_many(user, vec![("a".into(), "2".into()), ("b".into(), "".into()), ("c".into(), "".into())])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Kv(KvError::TooManyKeys { max: 2 })));
    assert_eq!(app.kv.all(user).await.unwrap(), BTreeMap::from([("a".to_string(), "1".to_string())]));
    assert_eq!(app.kv.writes(), 1, "refused writes are not counted");
}
