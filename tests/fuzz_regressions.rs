//! The fuzz targets' kept inputs, on stable: every file under
//! `fuzz/regressions/<target>/` (the inputs the fuzzers found failing, and a
//! hand-picked seed set per target) goes through the same `harmy::fuzz` check
//! as its cargo-fuzz target. A target without inputs fails, so that none is
//! silently left out.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// Runs every kept input of `target`; fails naming each input whose check panics.
fn replay(target: &str) {
    let (_, check) = harmy::fuzz::TARGETS.iter().find(|(name, _)| *name == target).expect("a target");
    let dir = root().join("regressions").join(target);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut inputs: Vec<PathBuf> = entries.map(|e| e.expect("a directory entry").path()).collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "{} holds no inputs", dir.display());
    let failing: Vec<String> = inputs
        .iter()
        .filter(|input| {
            let data = std::fs::read(input).unwrap_or_else(|e| panic!("{}: {e}", input.display()));
            std::panic::catch_unwind(|| check(&data)).is_err()
        })
        .map(|input| input.display().to_string())
        .collect();
    assert!(failing.is_empty(), "inputs failing the {target} check: {failing:#?}");
}

#[test]
fn socket_message_inputs_pass() {
    replay("socket_message");
}

#[test]
fn kv_patch_inputs_pass() {
    replay("kv_patch");
}

#[test]
fn kv_limits_inputs_pass() {
    replay("kv_limits");
}

#[test]
fn route_inputs_pass() {
    replay("route");
}

#[test]
fn forwarded_for_inputs_pass() {
    replay("forwarded_for");
}

#[test]
fn gateway_event_inputs_pass() {
    replay("gateway_event");
}

#[test]
fn bot_command_inputs_pass() {
    replay("bot_command");
}

/// Each facade target has its cargo-fuzz target and a regression directory, and
/// each regression directory belongs to a target.
#[test]
fn targets_regressions_and_fuzz_targets_match() {
    let names: Vec<&str> = harmy::fuzz::TARGETS.iter().map(|(name, _)| *name).collect();
    for name in &names {
        let target = root().join("fuzz_targets").join(format!("{name}.rs"));
        assert!(target.is_file(), "{} is missing", target.display());
    }
    let entries = std::fs::read_dir(root().join("regressions")).expect("fuzz/regressions");
    let mut dirs: Vec<String> =
        entries.map(|e| e.expect("an entry").file_name().to_string_lossy().into_owned()).collect();
    dirs.sort();
    let mut expected: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    expected.sort();
    assert_eq!(dirs, expected);
}
