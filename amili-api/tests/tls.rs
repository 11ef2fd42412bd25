//! An `https://` base URL works out of the box: TLS is compiled in by default (rustls).

use amili_api::{Client, hooks::Inner};

#[tokio::test]
async fn https_urls_reach_the_connection_stage() {
    // Nothing listens on port 1: with TLS compiled in the request fails to *connect*; without
    // it reqwest refuses the scheme before any connection (a builder error).
    let client = Client::new_with_client(
        "https://127.0.0.1:1/collection/v1",
        reqwest::Client::new(),
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
