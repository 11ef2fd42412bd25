//! `amili token check`: can these credentials get a token, and act for the organization?
//! (The token is never printed.)

use crate::args::ConnectionArgs;
use crate::config::{check_organization, with_client};
use crate::exit::Exit;

#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Fetch a token with the configured credentials and read the organization with it: say
    /// whether both work (never prints the token).
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
                // A token is issued for a wrong organization id too: read the organization.
                if let Err(e) = check_organization(client).await {
                    eprintln!("error: {e:#}");
                    return crate::exit::for_error(&e);
                }
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
