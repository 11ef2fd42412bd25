//! `amili token check`: can these credentials get a token? (The token is never printed.)

use crate::args::ConnectionArgs;
use crate::config::with_client;
use crate::exit::Exit;

#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Fetch a token with the configured credentials and say whether it works (never prints it).
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
        match client.check_token().await {
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
