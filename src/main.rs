//! The `harmy` binary: parse, set up logging, run, map the error to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    harmy::memory::configure_allocator();
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
