//! Storage faults end to end, with the real binary: a disk that fills up
//! under a running server (a file-size limit set on the process, as
//! `prlimit` does: the file may not grow), every write failing as on a file
//! system gone read-only (a limit of 0), a database that is read-only or
//! unreadable at start, and a truncated or corrupt file. Each gets its answer:
//! writes 503 `storage_unavailable` with `Retry-After` while reads and sockets
//! go on, nothing refused visible and nothing acknowledged lost across a
//! `kill -9`; a file harmy cannot use refused by `serve` and every CLI command
//! with a message naming it, and a damaged one left byte for byte as found.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use support::api::*;
use support::discord_gateway::{Guild, member, presence, presence_update};
use support::http_client::{self as client, Reply, get, next_json, say, send};
use support::{Instance, stderr};

/// A user's KV may hold the many large values these tests write (inside `[kv]`,
/// where `NO_LIMITS` ends).
const ROOMY_KV: &str = "max_keys = 100000\nmax_total_bytes = 100000000\n";

/// Sets the soft file-size limit of a process (`None`: back to its hard limit).
fn limit_file_size(pid: u32, bytes: Option<u64>) {
    let pid = pid as libc::pid_t;
    let mut now = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: prlimit reads into and from valid rlimit structs; a null pointer means "not this one".
    assert_eq!(unsafe { libc::prlimit(pid, libc::RLIMIT_FSIZE, std::ptr::null(), &mut now) }, 0);
    let new = libc::rlimit { rlim_cur: bytes.unwrap_or(now.rlim_max), rlim_max: now.rlim_max };
    // SAFETY: as above.
    assert_eq!(unsafe { libc::prlimit(pid, libc::RLIMIT_FSIZE, &new, std::ptr::null_mut()) }, 0);
}

/// Alice served with a presence, her token, and a socket subscribed to her.
async fn alice(extra: &str) -> (Served, String, client::Socket) {
    let guild = Guild::new(1).member(member(ALICE_ID, "alice"), Some(presence(ALICE_ID, "online")));
    let served = serve_with(&format!("{NO_LIMITS}{ROOMY_KV}{extra}"), guild);
    let addr = served.addr;
    until("alice served", || async { (get(addr, &format!("/user/{ALICE}")).await.status == 200).then_some(()) }).await;
    let key = token(&served.instance, ALICE);
    let mut ws = client::socket(addr, "/socket").await;
    next_json(&mut ws).await;
    say(&mut ws, &format!(r#"{{"op":2,"d":{{"subscribe_to_id":"{ALICE}"}}}}"#)).await;
    assert_eq!(next_json(&mut ws).await["t"], "INIT_STATE");
    (served, key, ws)
}

/// `PATCH /user/ALICE/kv` with these pairs.
async fn patch(served: &Served, key: &str, pairs: &Value) -> Reply {
    let auth = [("authorization", key), ("content-type", "application/json")];
    send(served.addr, "PATCH", &format!("/user/{ALICE}/kv"), &auth, pairs.to_string()).await
}

/// Six values of 9 000 characters under `prefix`: one write of about 54 KB.
fn bulky(prefix: &str) -> Value {
    (0..6).map(|i| (format!("{prefix}_{i}"), json!("v".repeat(9_000)))).collect::<serde_json::Map<_, _>>().into()
}

/// Alice's KV as served.
async fn served_kv(served: &Served) -> serde_json::Map<String, Value> {
    let reply = get(served.addr, &format!("/user/{ALICE}")).await;
    assert_eq!(reply.status, 200, "reads are served");
    reply.json()["KV"].as_object().unwrap().clone()
}

/// The pushes on `ws` until one shows `status`; the last.
async fn push_with_status(ws: &mut client::Socket, status: &str) -> Value {
    loop {
        let push = next_json(ws).await;
        if push["d"]["discord_status"] == status {
            return push;
        }
    }
}

/// Kills the server (SIGKILL) and lists Alice's keys from the file, as the CLI reads them.
fn keys_after_kill_9(served: &mut Served) -> Vec<String> {
    served.server.signal("KILL");
    served.server.wait();
    let out = served.instance.cli(&["kv", "list", ALICE]);
    assert!(out.status.success(), "{}", stderr(&out));
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect()
}

#[tokio::test]
async fn a_full_disk_refuses_writes_with_503_keeps_serving_and_loses_nothing_acknowledged() {
    let (mut served, key, mut ws) = alice("").await;
    let mut acknowledged: Vec<String> = Vec::new();
    assert_eq!(patch(&served, &key, &bulky("before")).await.status, 204);
    acknowledged.extend((0..6).map(|i| format!("before_{i}")));

    // The disk is full: the file may not grow past its size now.
    let pid = served.server.child.id();
    limit_file_size(pid, Some(std::fs::metadata(served.instance.db_path()).unwrap().len()));
    let mut refused = None;
    for n in 0..40 {
        let reply = patch(&served, &key, &bulky(&format!("full{n}"))).await;
        match reply.status {
            204 => acknowledged.extend((0..6).map(|i| format!("full{n}_{i}"))),
            503 => {
                refused = Some((n, reply));
                break;
            }
            other => panic!("write {n}: {other} {}", reply.text()),
        }
    }
    let (n, reply) = refused.expect("a write needing more room is refused");
    assert_eq!(reply.code(), "storage_unavailable");
    assert_eq!(reply.header("retry-after"), "5");
    eprintln!("refused after {n} writes in the room left");

    // Nothing of it is visible; reads, the socket and the process go on.
    let kv = served_kv(&served).await;
    assert!(!kv.keys().any(|k| k.starts_with(&format!("full{n}_"))), "the refused write is not visible");
    assert!(acknowledged.iter().all(|k| kv.contains_key(k)), "every acknowledged write is served");
    served.gw().dispatch("PRESENCE_UPDATE", presence_update(1, ALICE_ID, "dnd", vec![]));
    let push = push_with_status(&mut ws, "dnd").await;
    assert!(push["d"]["kv"].as_object().unwrap().keys().all(|k| !k.starts_with(&format!("full{n}_"))));
    assert_eq!(patch(&served, &key, &json!({"still": "full"})).await.code(), "storage_unavailable");
    let metrics = get(served.addr, "/metrics").await.text();
    assert!(!metrics.contains("harmy_storage_faults_total 0"), "{metrics}");
    assert!(served.server.child.try_wait().unwrap().is_none(), "the process lives");

    // Room again: writes are taken again (the first tries after the one-second pause).
    limit_file_size(pid, None);
    until("a write taken again", || async {
        (patch(&served, &key, &bulky("after")).await.status == 204).then_some(())
    })
    .await;
    acknowledged.extend((0..6).map(|i| format!("after_{i}")));
    assert_eq!(patch(&served, &key, &json!({"later": "yes"})).await.status, 204);
    acknowledged.push("later".into());
    assert!(served_kv(&served).await.contains_key("later"));
    assert!(!served.server.log_text().contains("panicked"), "{}", served.server.log_text());

    // Every acknowledged write survives a kill -9; the refused one is not there.
    let keys = keys_after_kill_9(&mut served);
    for k in &acknowledged {
        assert!(keys.contains(k), "{k} was acknowledged but is lost");
    }
    assert!(!keys.iter().any(|k| k.starts_with(&format!("full{n}_")) || k == "still"), "{keys:?}");
}

#[tokio::test]
async fn every_write_failing_as_on_a_read_only_file_system_is_503_while_reads_go_on() {
    let (mut served, key, mut ws) = alice("").await;
    assert_eq!(patch(&served, &key, &json!({"kept": "1"})).await.status, 204);

    // No write reaches the file any more (a file-size limit of 0 fails every write,
    // as a file system remounted read-only does).
    let pid = served.server.child.id();
    limit_file_size(pid, Some(0));
    let reply = patch(&served, &key, &json!({"lost": "1"})).await;
    assert_eq!((reply.status, reply.code()), (503, "storage_unavailable".into()), "{}", reply.text());
    let (path, auth) = (format!("/v1/users/{ALICE}/kv/lost2"), [("authorization", key.as_str())]);
    let lanyard = send(served.addr, "PUT", &path, &auth, "x").await;
    assert_eq!((lanyard.status, lanyard.json()["error"]["code"].clone()), (503, json!("storage_unavailable")));
    let rotate = served.instance.cli(&["token", "rotate", ALICE]);
    assert!(!rotate.status.success() && stderr(&rotate).contains("cannot be written"), "{}", stderr(&rotate));

    // Reads, /health and the socket are served meanwhile.
    let kv = served_kv(&served).await;
    assert!(kv.contains_key("kept") && !kv.contains_key("lost") && !kv.contains_key("lost2"), "{kv:?}");
    assert_eq!(get(served.addr, "/health").await.status, 200);
    served.gw().dispatch("PRESENCE_UPDATE", presence_update(1, ALICE_ID, "idle", vec![]));
    push_with_status(&mut ws, "idle").await;
    assert_eq!(send(served.addr, "GET", &format!("/user/{ALICE}/kv/kept"), &auth, "").await.status, 200);
    served.server.wait_for_log("reads are served from its last durable state");

    limit_file_size(pid, None);
    until("a write taken again", || async {
        (patch(&served, &key, &json!({"back": "1"})).await.status == 204).then_some(())
    })
    .await;
    let keys = keys_after_kill_9(&mut served);
    assert!(keys.contains(&"kept".into()) && keys.contains(&"back".into()), "{keys:?}");
    assert!(!keys.contains(&"lost".into()) && !keys.contains(&"lost2".into()), "{keys:?}");
}

/// `harmy ARGS` on the instance, as a user other than root when the tests run as
/// root (root may read and write any file whatever its mode), the instance's
/// files given to that user.
fn unprivileged(instance: &Instance, args: &[&str]) -> Command {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return instance.command(args);
    }
    // A copy of the binary where that user can run it: the build's own may sit
    // under a directory only root may enter (a checkout in a 0700 temporary one).
    let bin = instance.dir.path().join("harmy");
    if !bin.exists() {
        std::fs::copy(support::harmy_bin(), &bin).unwrap();
    }
    let mut cmd = instance.command_of(&bin, args);
    {
        const NOBODY: u32 = 65_534;
        fn give(path: &Path) {
            std::os::unix::fs::chown(path, Some(NOBODY), Some(NOBODY)).unwrap();
            if path.is_dir() {
                for entry in std::fs::read_dir(path).unwrap() {
                    give(&entry.unwrap().path());
                }
            }
        }
        give(instance.dir.path());
        std::os::unix::process::CommandExt::uid(&mut cmd, NOBODY);
        std::os::unix::process::CommandExt::gid(&mut cmd, NOBODY);
    }
    cmd
}

/// Runs a command expected to refuse the database: its exit code and stderr.
/// (A command that does not end within a minute is killed and counted as not
/// refusing: `serve` on a file it takes for sound would run forever.)
fn refused(mut cmd: Command) -> (Option<i32>, String) {
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("run harmy");
    let mut pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut err = String::new();
        std::io::Read::read_to_string(&mut pipe, &mut err).map(|_| err).unwrap_or_default()
    });
    let status = support::exited_within(&mut child, std::time::Duration::from_secs(60));
    let err = reader.join().unwrap();
    assert!(status.is_some(), "still running after a minute: it took the file for sound\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    (status.and_then(|s| s.code()), err)
}

/// The CLI commands that open the database, besides `serve`.
const DATABASE_COMMANDS: [&[&str]; 6] = [
    &["migrate"],
    &["kv", "list", ALICE],
    &["kv", "set", ALICE, "k", "v"],
    &["token", "rotate", ALICE],
    &["user", "hide", ALICE],
    &["user", "export", ALICE],
];

#[test]
fn a_read_only_or_unreadable_database_at_start_is_refused_naming_the_file() {
    for (mode, what) in [(0o444, "read-only"), (0o000, "cannot be read")] {
        let instance = Instance::new("");
        let db = instance.db_path();
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(mode)).unwrap();
        let before = std::fs::read(&db).unwrap();
        for args in std::iter::once(&["serve"][..]).chain(DATABASE_COMMANDS) {
            let (code, err) = refused(unprivileged(&instance, args));
            assert_eq!(code, Some(2), "{args:?} on a {what} file: {err}");
            assert!(err.contains(&db.display().to_string()) && err.contains(what), "{args:?}: {err}");
        }
        assert_eq!(std::fs::read(&db).unwrap(), before);
    }
}

#[test]
fn a_truncated_or_corrupt_database_is_refused_by_every_command_and_left_as_found() {
    let instance = Instance::new("");
    for (k, v) in (0..200).map(|i| (format!("key{i}"), "v".repeat(400))) {
        assert!(instance.cli(&["kv", "set", ALICE, &k, &v]).status.success());
    }
    let db = instance.db_path();
    let sound = std::fs::read(&db).unwrap();
    let middle = sound.len() / 2 / 4096 * 4096;
    // The page the last write put its key in: in use, whatever the file's layout.
    let last = sound.windows(6).position(|w| w == b"key199").expect("the last key in the file") / 4096 * 4096;
    let damages: Vec<(&str, Vec<u8>)> = vec![
        ("truncated to half", sound[..sound.len() / 2].to_vec()),
        ("a page short", sound[..sound.len() - 4096].to_vec()),
        ("truncated to 100 bytes", sound[..100].to_vec()),
        ("a header of garbage", [vec![0x5a; 64], sound[64..].to_vec()].concat()),
        ("a zeroed page", [&sound[..last], &[0u8; 4096][..], &sound[last + 4096..]].concat()),
        ("a page of garbage mid-file", {
            let mut bytes = sound.clone();
            bytes[middle..middle + 4096].iter_mut().enumerate().for_each(|(i, b)| *b = (i * 7 + 3) as u8);
            bytes
        }),
    ];
    for (what, bytes) in damages {
        std::fs::write(&db, &bytes).unwrap();
        for args in std::iter::once(&["serve"][..]).chain(DATABASE_COMMANDS) {
            let (code, err) = refused(instance.command(args));
            assert_eq!(code, Some(2), "{args:?} on {what}: {err}");
            let named = err.contains(&db.display().to_string()) && err.contains("damaged");
            assert!(named && err.contains("backup"), "{args:?} on {what}: {err}");
        }
        assert!(std::fs::read(&db).unwrap() == bytes, "{what}: the file was changed");
    }
    std::fs::write(&db, &sound).unwrap();
    assert!(instance.cli(&["kv", "get", ALICE, "key199"]).status.success(), "the sound file is read again");
}
