//! The one outbound HTTP stack: hyper-util's client with rustls (ring), the
//! stack twilight already brings, for the GitHub client and the card's images.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Empty;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// A pooled HTTP/1.1 client for bodiless requests, `https://` and `http://` alike.
pub type Client = HttpClient<HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// A client whose connections give up after `connect_timeout`.
pub fn client(connect_timeout: Duration) -> Client {
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_connect_timeout(Some(connect_timeout));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
        .expect("ring supports rustls' default protocol versions")
        .https_or_http() // http:// for the fakes of the tests and for local proxies
        .enable_http1()
        .wrap_connector(tcp);
    HttpClient::builder(TokioExecutor::new()).build(https)
}
