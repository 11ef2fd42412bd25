//! `amili webhooks listen`: a webhook receiver in the foreground that prints each verified
//! event as one JSON line on stdout (for piping, and for trying the integration locally).

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use amili_webhooks::{Delivery, HmacSha256Verifier, Receiver, Verifier, insecure_no_verification};
use anyhow::Context as _;
use tokio::sync::Notify;

use crate::exit::{Exit, UsageError};
use crate::secret::Secret;

#[derive(Debug, clap::Subcommand)]
pub enum WebhooksCommand {
    /// Receive Amili's webhooks and print each verified event as one JSON line on stdout.
    ///
    /// Signatures are checked as HMAC-SHA256 of the raw body with the shared secret (an
    /// assumption: Amili does not document its algorithm); refused requests get 401 and are
    /// not printed. A repeated delivery (the same event id in the signed body, whatever its
    /// IdempotencyKey) is acknowledged and printed once; an event whose signed timeStamp is
    /// more than 72 hours old is refused (400). Bodies up to 1 MiB, sent within 30 s;
    /// headers up to 16 KiB, sent within 10 s (also how long an idle connection stays
    /// open); at most 256 connections at once. Logs and the listening address go to stderr;
    /// refusals are logged once a minute per sender.
    Listen(ListenArgs),
}

#[derive(Debug, clap::Args)]
pub struct ListenArgs {
    /// The port to listen on (0: a free one, printed on stderr).
    #[arg(long, value_name = "PORT")]
    pub port: u16,

    /// The address to listen on (loopback by default; 0.0.0.0 for every interface).
    #[arg(long, value_name = "IP", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub host: IpAddr,

    /// The shared webhook secret (prefer the AMILI_WEBHOOK_SECRET variable: flags show in
    /// `ps`).
    #[arg(long, env = "AMILI_WEBHOOK_SECRET", value_name = "SECRET", hide_env_values = true,
          value_parser = Secret::parse)]
    pub secret: Option<Secret>,

    /// Accept every request without checking its signature (local demos only).
    #[arg(long, conflicts_with = "secret")]
    pub insecure_no_verification: bool,
}

pub async fn run(command: WebhooksCommand) -> anyhow::Result<Exit> {
    match command {
        WebhooksCommand::Listen(args) => listen(args).await,
    }
}

async fn listen(args: ListenArgs) -> anyhow::Result<Exit> {
    let verifier: Box<dyn Verifier> = match (&args.secret, args.insecure_no_verification) {
        (Some(secret), _) => Box::new(HmacSha256Verifier::new(secret.expose())),
        (None, true) => Box::new(insecure_no_verification()),
        (None, false) => {
            return Err(UsageError(
                "a webhook secret is needed (--secret or AMILI_WEBHOOK_SECRET); \
                 --insecure-no-verification accepts unsigned requests"
                    .to_owned(),
            )
            .into());
        }
    };
    let stdout_gone = Arc::new(Notify::new());
    let closed = Arc::new(AtomicBool::new(false));
    let (gone, was_closed) = (Arc::clone(&stdout_gone), Arc::clone(&closed));
    let receiver = Receiver::builder(verifier).handler(move |delivery: Delivery| {
        let (gone, closed) = (Arc::clone(&gone), Arc::clone(&was_closed));
        async move {
            let line = serde_json::to_string(&delivery.event)?;
            let mut stdout = std::io::stdout().lock();
            let written = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
            if let Err(e) = written {
                // Nobody reads the events any more: answer 500 (Amili retries) and stop.
                closed.store(true, Ordering::SeqCst);
                gone.notify_one();
                return Err(anyhow::Error::from(e).context("cannot write to stdout"));
            }
            Ok::<_, anyhow::Error>(())
        }
    });
    let addr = SocketAddr::new(args.host, args.port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener.local_addr()?;
    eprintln!(
        "listening on http://{bound}/ ({}); Ctrl-C stops",
        if args.secret.is_some() {
            "signatures checked as HMAC-SHA256"
        } else {
            "signatures NOT checked"
        }
    );
    let stopped = Arc::clone(&stdout_gone);
    let shutdown = async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = stopped.notified() => {}
        }
    };
    receiver.serve(listener, shutdown).await?;
    if closed.load(Ordering::SeqCst) {
        anyhow::bail!("stdout was closed; stopped receiving");
    }
    Ok(Exit::Success)
}
