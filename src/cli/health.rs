//! `harmy health`: asks a running server's `/health` and exits 0 when it answers
//! 200, so that a container's `HEALTHCHECK` needs nothing but harmy itself (the
//! image has no curl). Every failure exits 1: container engines read 1 as
//! "unhealthy" and reserve 2.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use clap::Args;
use http::StatusCode;
use http_body_util::{BodyExt, Empty, Limited};

use super::GlobalArgs;

/// `harmy health [--url URL]`
#[derive(Debug, Args)]
pub struct HealthArgs {
    /// The URL to ask [default: http://<http.listen>/health, a wildcard address asked on loopback].
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Give up after this long.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

/// `/health` answers a few dozen bytes; anything far larger is not harmy's.
const MAX_BODY: usize = 64 * 1024;

/// Runs `harmy health`: prints the answer's body on stdout, any failure on stderr.
/// `flags`: the settings of `--set` and the other flags, or why they do not parse.
pub fn run(
    global: &GlobalArgs,
    args: &HealthArgs,
    flags: anyhow::Result<Vec<(String, String)>>,
) -> anyhow::Result<ExitCode> {
    match check(global, args, flags) {
        Ok(body) => {
            println!("{body}");
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            eprintln!("harmy: {err:#}");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn check(
    global: &GlobalArgs,
    args: &HealthArgs,
    flags: anyhow::Result<Vec<(String, String)>>,
) -> anyhow::Result<String> {
    let url = match &args.url {
        Some(url) => url.clone(),
        None => url_for(crate::config::load_from_env(global.config.clone(), flags?)?.config.http.listen),
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (status, body) = runtime
        .block_on(async { tokio::time::timeout(args.timeout, get(&url, args.timeout)).await })
        .map_err(|_| anyhow::anyhow!("{url}: no answer within {}", humantime::format_duration(args.timeout)))??;
    anyhow::ensure!(status == StatusCode::OK, "{url} answered {status}: {body}");
    Ok(body)
}

async fn get(url: &str, timeout: Duration) -> anyhow::Result<(StatusCode, String)> {
    let request = http::Request::get(url).body(Empty::<Bytes>::new()).with_context(|| format!("--url {url}"))?;
    let response = crate::outbound::client(timeout).request(request).await.with_context(|| url.to_string())?;
    let status = response.status();
    let body = Limited::new(response.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| anyhow::anyhow!("{url}: reading the answer: {e}"))?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&body).trim_end().to_string()))
}

/// The health URL of a server listening on `listen`: a wildcard address (0.0.0.0,
/// `::`, as in a container) is asked on the loopback address of its family.
fn url_for(listen: SocketAddr) -> String {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}/health", SocketAddr::new(ip, listen.port()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_is_the_listen_address_with_wildcards_asked_on_loopback() {
        let url = |addr: &str| url_for(addr.parse().unwrap());
        assert_eq!(url("127.0.0.1:4001"), "http://127.0.0.1:4001/health");
        assert_eq!(url("0.0.0.0:4001"), "http://127.0.0.1:4001/health");
        assert_eq!(url("[::]:8080"), "http://[::1]:8080/health");
        assert_eq!(url("192.0.2.7:80"), "http://192.0.2.7:80/health");
    }
}
