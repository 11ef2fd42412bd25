//! An `https://` base URL works out of the box: TLS is compiled in by default (rustls; with
//! `rustls-ring` the `ring` provider), and `amili_api::tls::client_builder()` gives a client that uses it.

use std::sync::Arc;

use amili_api::{Client, hooks::Inner};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CA: &[u8] = include_bytes!("fixtures/tls/ca.pem");
const SERVER_CERT: &[u8] = include_bytes!("fixtures/tls/server.pem");
const SERVER_KEY: &[u8] = include_bytes!("fixtures/tls/server.key");

#[tokio::test]
async fn https_urls_reach_the_connection_stage() {
    // Nothing listens on port 1: with TLS compiled in the request fails to *connect*; without
    // it reqwest refuses the scheme before any connection (a builder error).
    let client = Client::new_with_client(
        "https://127.0.0.1:1/collection/v1",
        amili_api::tls::client_builder()
            .build()
            .expect("an HTTP client"),
        Inner::default(),
    );
    let result = client
        .get_batch_by_id()
        .organization_id(uuid::Uuid::nil())
        .batch_id(uuid::Uuid::nil())
        .send()
        .await;
    match result {
        Err(amili_api::Error::CommunicationError(e)) => {
            assert!(e.is_connect(), "expected a connect error, got {e:?}");
            assert!(!e.is_builder(), "https is not supported: {e:?}");
        }
        other => panic!("expected a communication error, got {other:?}"),
    }
}

/// A local TLS server's acceptor (the test certificate, chained to the test CA) and its
/// listener on a free loopback port.
async fn tls_server()
-> Result<(tokio_rustls::TlsAcceptor, tokio::net::TcpListener, u16), Box<dyn std::error::Error>> {
    let certs = CertificateDer::pem_slice_iter(SERVER_CERT).collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_slice(SERVER_KEY)?;
    let server_config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(certs, key)?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    Ok((acceptor, listener, port))
}

/// A full TLS handshake and request against a local TLS server whose certificate chains to
/// a CA the client is told to trust: the compiled-in backend verifies and talks TLS.
#[tokio::test]
async fn an_https_request_completes_against_a_trusted_server()
-> Result<(), Box<dyn std::error::Error>> {
    let (acceptor, listener, port) = tls_server().await?;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await?;
        let mut tls = acceptor.accept(tcp).await?;
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = tls.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            request.extend_from_slice(&buf[..n]);
        }
        tls.write_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello",
        )
        .await?;
        tls.shutdown().await?;
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&request).into_owned())
    });

    let http = amili_api::tls::client_builder()
        .add_root_certificate(reqwest::Certificate::from_pem(CA)?)
        .build()?;
    let response = http
        .get(format!("https://127.0.0.1:{port}/collection/v1/ping"))
        .send()
        .await?;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await?, "hello");
    let request = server.await??;
    assert!(
        request.starts_with("GET /collection/v1/ping HTTP/1.1\r\n"),
        "{request}"
    );
    Ok(())
}

/// The same server is refused when its CA is not trusted: verification is on.
#[tokio::test]
async fn an_untrusted_certificate_is_refused() -> Result<(), Box<dyn std::error::Error>> {
    let (acceptor, listener, port) = tls_server().await?;
    tokio::spawn(async move {
        if let Ok((tcp, _)) = listener.accept().await {
            let _ = acceptor.accept(tcp).await;
        }
    });

    let http = amili_api::tls::client_builder().build()?;
    let result = http.get(format!("https://127.0.0.1:{port}/")).send().await;
    let err = match result {
        Ok(response) => panic!("an untrusted server was accepted: {}", response.status()),
        Err(e) => e,
    };
    assert!(
        err.is_connect(),
        "expected a connect (handshake) error: {err:?}"
    );
    Ok(())
}
