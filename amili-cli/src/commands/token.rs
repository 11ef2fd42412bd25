//! `amili token check`: can these credentials get a token? (The token is never printed.)

use crate::args::ConnectionArgs;
use crate::config::with_client;
use crate::exit::Exit;

#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Fetch a token with the configured credentials (or take `--token`), ask the API whether
    /// it is accepted, and say so (never prints it).
    Check {
        #[command(flatten)]
        connection: ConnectionArgs,
    },
}

pub async fn run(command: TokenCommand) -> anyhow::Result<Exit> {
    match command {
        TokenCommand::Check { connection } => check(&connection).await,
    }
}

async fn check(connection: &ConnectionArgs) -> anyhow::Result<Exit> {
    with_client(connection, async |client| {
        // A ready token (`--token`) is not fetched, so holding one proves nothing: one cheap
        // authenticated read always asks the server whether it is accepted.
        let checked = match client.check_token().await {
            Ok(info) => {
                let probe = amili_payments::batches::BatchFilter::default().with_page_size(1);
                client.batches_page(&probe, None).await.map(|_| info)
            }
            Err(e) => Err(e),
        };
        match checked {
            Ok(info) => {
                println!(
                    "token OK: {} for organization {} at {}",
                    info.kind,
                    client.organization_id(),
                    client.api_url()
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
        }
    })
    .await
}
