//! The `harmy` binary: parse, set up logging, run, map the error to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    return_freed_memory();
    file_size_limit_is_an_error();
    let cli = harmy::cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HARMY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    harmy::install_crypto_provider();
    match harmy::cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            if err.chain().any(|e| {
                e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("harmy: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// Makes glibc give large freed blocks back to the system. By default its mmap
/// threshold grows to the size of the largest block freed (up to 32 MiB), after
/// which blocks that size come from the heap and stay with the process when freed:
/// a few large INIT_STATEs or KV bodies would then hold their memory for good,
/// and the memory budgets of docs/SECURITY.md hold for RSS, not only for live
/// data. A fixed threshold turns that growth off: blocks above 256 KiB are mapped
/// and unmapped one by one.
fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
    }
}

/// Ignores SIGXFSZ, whose default action kills the process: under a file-size
/// limit (`LimitFSIZE=` in a unit, `ulimit -f`), a write that would pass it then
/// fails with EFBIG, which harmy answers as it answers a full disk (503
/// `storage_unavailable`, reads going on) instead of dying.
fn file_size_limit_is_an_error() {
    // SAFETY: setting a signal's disposition to SIG_IGN has no preconditions;
    // called before any thread starts.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}
