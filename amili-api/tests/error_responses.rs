//! Any non-2xx answer reaches the caller with its status, headers and raw body intact, even
//! when the body is not JSON (the spec declares error bodies as `*/*` for this).

use amili_api::{Client, Error, hooks::Inner};
use futures::TryStreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Serves exactly one canned HTTP response on a loopback port and returns the base URL.
async fn serve_once(response: &'static str) -> std::io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = vec![0_u8; 64 * 1024];
            // Read the request head; the body (if any) is small and arrives with it.
            let _ = socket.read(&mut buf).await;
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.shutdown().await;
        }
    });
    Ok(format!("http://{addr}/collection/v1"))
}

async fn get_batch(base: &str) -> Result<(), Error<amili_api::ByteStream>> {
    let client = Client::new_with_client(
        base,
        amili_api::tls::client_builder()
            .build()
            .expect("an HTTP client"),
        Inner::default(),
    );
    client
        .get_batch_by_id()
        .organization_id(uuid::Uuid::nil())
        .batch_id(uuid::Uuid::nil())
        .send()
        .await
        .map(|_| ())
}

#[tokio::test]
async fn an_html_error_page_keeps_status_headers_and_body() -> Result<(), Box<dyn std::error::Error>>
{
    let base = serve_once(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/html\r\nretry-after: 7\r\n\
         x-request-id: req-123\r\ncontent-length: 33\r\nconnection: close\r\n\r\n\
         <html><h1>Bad gateway</h1></html>",
    )
    .await?;
    match get_batch(&base).await {
        Err(Error::ErrorResponse(response)) => {
            assert_eq!(response.status().as_u16(), 503);
            assert_eq!(response.headers()["retry-after"], "7");
            assert_eq!(response.headers()["x-request-id"], "req-123");
            let body: Vec<u8> = response
                .into_inner()
                .into_inner()
                .map_ok(|chunk| chunk.to_vec())
                .try_concat()
                .await?;
            assert_eq!(body, b"<html><h1>Bad gateway</h1></html>");
        }
        other => panic!("expected a declared error response, got {other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn an_undeclared_status_keeps_the_whole_response() -> Result<(), Box<dyn std::error::Error>> {
    let base = serve_once(
        "HTTP/1.1 418 I'm a teapot\r\ncontent-type: text/plain\r\ncontent-length: 6\r\n\
         connection: close\r\n\r\nteapot",
    )
    .await?;
    match get_batch(&base).await {
        Err(Error::UnexpectedResponse(response)) => {
            assert_eq!(response.status().as_u16(), 418);
            assert_eq!(response.text().await?, "teapot");
        }
        other => panic!("expected an unexpected response, got {other:?}"),
    }
    Ok(())
}
