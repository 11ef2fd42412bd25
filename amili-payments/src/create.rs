//! `create`: one `CreatePayments` request, sent reliably.

use std::collections::HashMap;
use std::time::Instant;

use serde::Serialize;
use tracing::Instrument;
use tracing::field::Empty;
use uuid::Uuid;

use crate::call::{Failure, unauthorized_after_refresh};
use crate::client::Client;
use crate::error::{DuplicateSourceId, Error};
use crate::idempotency::IdempotencyKey;
use crate::payment::Payment;

/// What a `202 Accepted` (or a batch found by idempotency key) tells: the payments were queued
/// as one batch. *Queued*, not booked: follow the batch with [`Client::wait`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Receipt {
    /// The batch the payments were queued in.
    pub batch_id: Uuid,
    /// Where to follow it. When the batch was found by its idempotency key (after a lost
    /// answer) this URL is built by the client: `{api}/orgs/{org}/batches/{id}`.
    pub batch_url: String,
    /// The key the request was sent with (on every attempt).
    pub idempotency_key: IdempotencyKey,
    /// The `uniqueSourcePaymentId`s the request carried, in order.
    pub source_ids: Vec<String>,
    /// The invoice of each payment, in the same order as `source_ids`.
    pub invoice_ids: Vec<Uuid>,
    /// `true` when the answer was lost and the batch was found by its idempotency key.
    pub recovered: bool,
}

impl Client {
    /// Sends `payments` (at most [`max_payments_per_request`](Client::max_payments_per_request))
    /// in one request under a fresh random idempotency key. See
    /// [`create_with_key`](Self::create_with_key) for what happens on failure.
    pub async fn create(&self, payments: &[Payment]) -> Result<Receipt, Error> {
        self.create_with_key(payments, IdempotencyKey::random())
            .await
    }

    /// Sends `payments` in one request under the caller's idempotency key, reliably:
    ///
    /// - `429`, `503` (and, with the idempotency header on, `502`/`504`) and failures before
    ///   the request was sent are retried after a backoff, honouring `Retry-After`, **always
    ///   with the same key**;
    /// - a `401` refreshes the token and retries once;
    /// - when the request went out but no usable answer came back (a dropped connection, a
    ///   timeout, an unreadable `202`), the batch is first looked up by the key: found → the
    ///   payments were accepted ([`Receipt::recovered`]); not found → resent with the same
    ///   key; the lookup fails → [`Error::OutcomeUnknown`]. Without the idempotency header
    ///   such failures are always `OutcomeUnknown`.
    ///
    /// "Not found" assumes Amili records a batch's key before answering (synchronously); a
    /// resend then carries the same key, so even a late record cannot create a second batch if
    /// the server honours the key.
    pub async fn create_with_key(
        &self,
        payments: &[Payment],
        key: IdempotencyKey,
    ) -> Result<Receipt, Error> {
        self.check_request(payments)?;
        let span = tracing::info_span!(
            "amili.create_payments",
            operation = "create_payments",
            idempotency_key = %key,
            payments = payments.len(),
            batch_id = Empty,
            attempts = Empty,
        );
        self.create_inner(payments, key).instrument(span).await
    }

    fn check_request(&self, payments: &[Payment]) -> Result<(), Error> {
        let max = self.shared.max_payments_per_request;
        if payments.is_empty() {
            return Err(Error::Usage("create: there are no payments to send".into()));
        }
        if payments.len() > max {
            return Err(Error::Usage(format!(
                "create: {} payments are more than the {max} allowed in one request; use \
                 submit, which splits them",
                payments.len()
            )));
        }
        let duplicates = find_duplicates(payments.iter().map(Payment::unique_source_payment_id));
        if !duplicates.is_empty() {
            return Err(Error::DuplicateSourceId { duplicates });
        }
        Ok(())
    }

    async fn create_inner(
        &self,
        payments: &[Payment],
        key: IdempotencyKey,
    ) -> Result<Receipt, Error> {
        const OP: &str = "create_payments";
        let shared = &self.shared;
        let body = amili_api::types::CreatePaymentsRequest {
            payments: payments.iter().map(Payment::to_wire).collect(),
        };
        let source_ids: Vec<String> = payments
            .iter()
            .map(|p| p.unique_source_payment_id().to_owned())
            .collect();
        let invoice_ids: Vec<Uuid> = payments.iter().map(Payment::invoice_id).collect();
        let receipt = |batch_id: Uuid, batch_url: String, recovered: bool| Receipt {
            batch_id,
            batch_url,
            idempotency_key: key.clone(),
            source_ids: source_ids.clone(),
            invoice_ids: invoice_ids.clone(),
            recovered,
        };
        let unknown = |reason: String| Error::OutcomeUnknown {
            idempotency_key: shared.send_idempotency_key.then(|| key.clone()),
            source_ids: source_ids.clone(),
            reason,
        };

        let started = Instant::now();
        let mut attempt = 0;
        let mut retries = 0;
        let mut refreshed = false;
        loop {
            attempt += 1;
            tracing::Span::current().record("attempts", attempt);
            let mut request = shared
                .raw
                .create_payments()
                .organization_id(shared.organization_id)
                .body(body.clone());
            if shared.send_idempotency_key {
                request = request.idempotency_key(key.as_str());
            }
            let failure = match self.attempt(OP, attempt, request.send()).await {
                Ok(answer) => {
                    tracing::Span::current()
                        .record("batch_id", tracing::field::display(answer.data.batch_id));
                    tracing::info!(batch_id = %answer.data.batch_id, "payments accepted");
                    return Ok(receipt(answer.data.batch_id, answer.data.batch_url, false));
                }
                Err(failure) => failure,
            };
            let retry_error = match failure {
                Failure::Fatal(e) => return Err(e),
                Failure::Unauthorized(e, generation) => {
                    shared.tokens.invalidate(generation);
                    if refreshed {
                        return Err(unauthorized_after_refresh(e));
                    }
                    refreshed = true;
                    continue;
                }
                Failure::NotSent(e) => e,
                Failure::Throttled(e)
                    if shared.send_idempotency_key || matches!(e.status(), Some(429 | 503)) =>
                {
                    e
                }
                // Without the idempotency header a 502/504 from a gateway may hide a request
                // the server processed: it cannot be resent safely.
                Failure::Throttled(e) => {
                    return Err(unknown(format!(
                        "{e}; without an idempotency key it cannot be checked"
                    )));
                }
                Failure::Ambiguous(e) => {
                    if !shared.send_idempotency_key {
                        return Err(unknown(format!(
                            "the request was sent but no usable answer came back ({e}); without \
                             an idempotency key it cannot be checked"
                        )));
                    }
                    tracing::warn!(error = %e, "no usable answer; looking the batch up by idempotency key");
                    match self.find_batch_by_key(&key).await {
                        Ok(Some(batch)) => {
                            tracing::info!(batch_id = %batch.id, "found the batch by idempotency key");
                            tracing::Span::current()
                                .record("batch_id", tracing::field::display(batch.id));
                            let url = format!(
                                "{}/orgs/{}/batches/{}",
                                shared.api_url, shared.organization_id, batch.id
                            );
                            return Ok(receipt(batch.id, url, true));
                        }
                        Ok(None) => {
                            tracing::info!("no batch has the key: the request was not booked");
                            e
                        }
                        Err(lookup) => {
                            return Err(unknown(format!(
                                "the request was sent but no usable answer came back ({e}), and \
                                 looking the batch up by its idempotency key failed ({lookup})"
                            )));
                        }
                    }
                }
            };
            match shared
                .retry
                .delay(retries, started.elapsed(), retry_error.retry_after())
            {
                Some(delay) => {
                    tracing::info!(attempt, ?delay, error = %retry_error, "retrying with the same idempotency key");
                    retries += 1;
                    tokio::time::sleep(delay).await;
                }
                None => return Err(retry_error),
            }
        }
    }
}

/// Every id that appears more than once, with its positions, in order of first appearance.
pub(crate) fn find_duplicates<'a>(ids: impl Iterator<Item = &'a str>) -> Vec<DuplicateSourceId> {
    let (lower, _) = ids.size_hint();
    let mut first: HashMap<&'a str, usize> = HashMap::with_capacity(lower);
    // Only repeated ids get a list of positions: (id, positions), in order of first use.
    let mut repeated: Vec<(usize, DuplicateSourceId)> = Vec::new();
    let mut slot: HashMap<&'a str, usize> = HashMap::new();
    for (index, id) in ids.enumerate() {
        match first.get(id) {
            None => {
                first.insert(id, index);
            }
            Some(&earlier) => match slot.get(id) {
                Some(&at) => repeated[at].1.indexes.push(index),
                None => {
                    slot.insert(id, repeated.len());
                    repeated.push((
                        earlier,
                        DuplicateSourceId {
                            source_id: id.to_owned(),
                            indexes: vec![earlier, index],
                        },
                    ));
                }
            },
        }
    }
    repeated.sort_by_key(|(earlier, _)| *earlier);
    repeated.into_iter().map(|(_, d)| d).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_in_order_with_every_position() {
        let d = find_duplicates(["a", "b", "a", "c", "b", "a"].into_iter());
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].source_id, "a");
        assert_eq!(d[0].indexes, [0, 2, 5]);
        assert_eq!(d[1].indexes, [1, 4]);
        assert!(find_duplicates(["a", "b"].into_iter()).is_empty());
    }
}
