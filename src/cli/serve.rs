//! `harmy serve`: the long-running process.

use std::process::ExitCode;

use clap::Args;

use crate::config::Loaded;

/// `harmy serve`
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address of the HTTP API (overrides http.listen).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
}

impl ServeArgs {
    /// The settings these flags override.
    pub fn flags(&self) -> Vec<(String, String)> {
        self.listen.iter().map(|addr| ("http.listen".to_string(), addr.to_string())).collect()
    }
}

pub fn run(loaded: Loaded, _args: ServeArgs) -> anyhow::Result<ExitCode> {
    super::runtime()?.block_on(crate::serve::run(loaded))
}
