//! The committed man pages and completions are exactly what the CLI definition
//! generates: regenerate with `cargo run -- generate-docs` when this fails.

use std::collections::BTreeMap;
use std::path::Path;

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for sub in ["man", "completions"] {
        for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            out.insert(format!("{sub}/{}", path.file_name().unwrap().to_string_lossy()), std::fs::read(&path).unwrap());
        }
    }
    out
}

#[test]
fn man_pages_and_completions_match_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_harmy"))
        .args(["generate-docs", "--out"])
        .arg(tmp.path())
        .status()
        .unwrap();
    assert!(status.success());
    let generated = files(tmp.path());
    let committed = files(Path::new(env!("CARGO_MANIFEST_DIR")));
    let names = |m: &BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&committed), names(&generated), "run `cargo run -- generate-docs`");
    for (name, content) in &generated {
        assert!(committed[name] == *content, "{name} drifted from the CLI: run `cargo run -- generate-docs`");
    }
}

#[test]
fn every_subcommand_has_a_man_page_with_its_help() {
    let man = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    for page in ["harmy", "harmy-serve", "harmy-kv-set", "harmy-token-rotate", "harmy-github-refresh", "harmy-migrate"]
    {
        let text = std::fs::read_to_string(man.join(format!("{page}.1"))).unwrap();
        assert!(text.contains(".TH"), "{page}");
    }
    let kv_set = std::fs::read_to_string(man.join("harmy-kv-set.1")).unwrap();
    assert!(kv_set.contains("standard input"), "the help text is in the page");
}

#[test]
fn the_systemd_unit_is_hardened() {
    let unit = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("harmy.service")).unwrap();
    for line in [
        "DynamicUser=yes",
        "StateDirectory=harmy",
        "RuntimeDirectory=harmy",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "LoadCredential=discord-token:",
        "Environment=HARMY_DISCORD_TOKEN_FILE=%d/discord-token",
        "Restart=on-failure",
        "LimitNOFILE=",
        "MemoryMax=",
        "TasksMax=",
        "ExecStart=harmy serve",
    ] {
        assert!(unit.lines().any(|l| l.starts_with(line)), "harmy.service lacks {line}");
    }
}

#[test]
fn readme_starts_with_the_two_commands_and_ci_runs_the_test_one() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let head: String = readme.lines().take(15).collect::<Vec<_>>().join("\n");
    assert!(head.contains("cargo install --locked --path . && harmy serve --demo"), "{head}");
    assert!(head.contains("cargo test --locked"), "{head}");
    let ci = std::fs::read_to_string(root.join(".ci/run")).unwrap();
    assert!(ci.lines().any(|l| l.trim() == "cargo test --locked"), ".ci/run runs the README's test command");
}

#[test]
fn the_debian_changelog_is_at_this_version() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let changelog = std::fs::read_to_string(root.join("packaging/debian/changelog")).unwrap();
    let first = changelog.lines().next().unwrap();
    let expected = format!("harmy ({}-1) ", env!("CARGO_PKG_VERSION"));
    assert!(first.starts_with(&expected), "packaging/debian/changelog starts with {first:?}, not {expected:?}…");
}

#[test]
fn the_debian_copyright_file_carries_the_license_text() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let license = std::fs::read_to_string(root.join("LICENSE")).unwrap();
    let copyright = std::fs::read_to_string(root.join("packaging/debian/copyright")).unwrap();
    // DEP-5: the text indented by one space, an empty line as " .".
    let (_, body) = copyright.rsplit_once("\nLicense: Expat\n").expect("a License: Expat paragraph");
    let text: Vec<&str> = body.lines().map(|l| if l == " ." { "" } else { l.strip_prefix(' ').unwrap_or(l) }).collect();
    let permission = license.find("Permission is hereby granted").unwrap();
    assert_eq!(
        text,
        license[permission..].lines().collect::<Vec<_>>(),
        "packaging/debian/copyright drifted from LICENSE"
    );
    assert!(
        license.contains("Copyright (c) 2026 the harmy developers")
            && copyright.contains("Copyright: 2026 the harmy developers")
    );
}
