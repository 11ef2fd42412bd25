//! `amili token check`: can these credentials get a token? (The token is never printed.)

use crate::args::ConnectionArgs;
use crate::config::{Tuning, connect};
use crate::exit::Exit;

pub async fn check(connection: &ConnectionArgs) -> anyhow::Result<Exit> {
    let conn = connect(connection, Tuning::default()).await?;
    let result = conn.client.check_token().await;
    let exit = match result {
        Ok(info) => {
            println!(
                "token OK: {} for organization {} at {}",
                info.kind,
                conn.client.organization_id(),
                conn.client.api_url()
            );
            match info.expires_at {
                Some(at) => println!("expires at {}", at.to_rfc3339()),
                None => println!("expiry unknown"),
            }
            Exit::Success
        }
        Err(e) => {
            eprintln!("error: no token: {e}");
            Exit::Failures
        }
    };
    conn.close().await;
    Ok(exit)
}
