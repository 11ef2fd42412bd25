//! The status report: what a submission of the same items would find in the ledger, request
//! by request, without sending anything ([`Submission::status`]). The ledger's side of it is
//! `Protocol::status` in `ledger/protocol.rs`.

use std::sync::Arc;

use futures::stream::{Stream, StreamExt};

use crate::chunks::{chunks, repeated};
use crate::error::Error;
use crate::ledger::Fingerprint;
use crate::ledger::protocol::Protocol;
use crate::report::{Outcome, RequestReport, RequestResult};
use crate::submission::Submission;
use crate::submittable::{Submittable, fingerprint};

impl<'c, T: Submittable> Submission<'c, T> {
    /// Sends nothing: reports, request by request (the same chunks as a submission), what the
    /// [ledger](Self::with_ledger) knows of each item now — `Succeeded`, `Failed` with Amili's
    /// reason, `AlreadyAccepted` (its batch's outcome not learned yet: follow it with a
    /// [`Poller`](crate::Poller)), `Unknown` (claimed, no result recorded), `Conflict` (accepted
    /// with other content), `NotSent` (the ledger has no record of it, or it failed and was
    /// changed since). Each item carries its batch and the key of the request that carried
    /// it.
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] without a ledger; as [`send`](Self::send), before the stream starts.
    pub fn status(self) -> Result<impl Stream<Item = RequestReport> + Send + 'c, Error> {
        if let Some(error) = self.refused {
            return Err(error);
        }
        let filter_repeats = self.filters_repeats();
        let Some(ledger) = self.ledger else {
            return Err(Error::Usage(
                "a status report needs a ledger (with_ledger)".to_owned(),
            ));
        };
        let protocol = Arc::new(Protocol::new(ledger, self.client.clone()));
        let requests = chunks(self.items, filter_repeats, self.chunk_size).then(move |chunk| {
            let protocol = Arc::clone(&protocol);
            async move {
                let ids: Vec<&str> = chunk.iter().map(|p| p.item.id()).collect();
                let fingerprints: Vec<Fingerprint> =
                    chunk.iter().map(|p| fingerprint(&p.item)).collect();
                let known = protocol.status(&ids, &fingerprints).await;
                let items = chunk.into_iter().enumerate().map(|(i, pending)| {
                    if pending.repeated {
                        return pending.into_item(repeated::<T>(), None, None);
                    }
                    match &known {
                        Ok(known) => {
                            let (outcome, batch_id, key) = known[i].clone();
                            pending.into_item(outcome, batch_id, key)
                        }
                        Err(reason) => {
                            pending.into_item(Outcome::Unknown(reason.clone()), None, None)
                        }
                    }
                });
                RequestReport::new(None, RequestResult::NotSent, items)
            }
        });
        Ok(requests)
    }
}
