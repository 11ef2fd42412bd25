//! Invoices: one by id, a filtered listing across every page, finding by invoice number or
//! `uniqueSourceInvoiceId`, and a [`Resolver`] that turns many references into invoice ids.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use futures::stream::{self, BoxStream, StreamExt};
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use crate::breaker::{Breaker, DEFAULT_CIRCUIT_BREAKER};
use crate::client::Client;
use crate::error::Error;
pub use amili_api::{InvoiceStatus, InvoiceType};

/// An invoice as Amili lists it. Fields Amili does not document are kept in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Invoice {
    /// Amili's id: what a payment's or correction's `invoiceId` names.
    pub id: Uuid,
    /// The creditor's invoice number.
    pub invoice_number: Option<String>,
    /// The creditor's own id for the invoice.
    pub unique_source_invoice_id: Option<String>,
    /// The debtor's customer number.
    pub customer_number: Option<String>,
    /// `OPEN`, … (an open set).
    pub status: Option<InvoiceStatus>,
    /// `NOTICE`, `PAYMENT_REMINDER`, … (an open set).
    pub kind: Option<InvoiceType>,
    /// The currency code.
    pub currency: Option<String>,
    /// The amount first invoiced, exact.
    pub original_invoice_amount: Option<Decimal>,
    /// When Amili created it.
    pub created_at: Option<DateTime<Utc>>,
    /// Every other field, as sent.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl From<amili_api::types::Invoice> for Invoice {
    fn from(i: amili_api::types::Invoice) -> Self {
        Self {
            id: i.id,
            invoice_number: i.invoice_number,
            unique_source_invoice_id: i.unique_source_invoice_id,
            customer_number: i.customer_number,
            status: i.status,
            kind: i.type_,
            currency: i.currency.map(|c| c.0),
            original_invoice_amount: i.original_invoice_amount.map(amili_api::Amount::value),
            created_at: i.created_at,
            extra: i.extra,
        }
    }
}

/// Which invoices [`Client::invoices`] lists. Every filter is optional.
///
/// ```
/// use amili_payments::invoices::InvoiceFilter;
///
/// let filter = InvoiceFilter::default().with_invoice_number("INV-2024-00123");
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct InvoiceFilter {
    /// `Status`.
    pub status: Option<InvoiceStatus>,
    /// `Type`.
    pub kind: Option<InvoiceType>,
    /// `InvoiceNumber`.
    pub invoice_number: Option<String>,
    /// `UniqueSourceInvoiceId`.
    pub unique_source_invoice_id: Option<String>,
    /// `CustomerNumber`.
    pub customer_number: Option<String>,
    /// `From`: created at or after.
    pub from: Option<DateTime<Utc>>,
    /// `To`: created before.
    pub to: Option<DateTime<Utc>>,
}

impl InvoiceFilter {
    /// Only invoices with this number.
    #[must_use]
    pub fn with_invoice_number(mut self, number: impl Into<String>) -> Self {
        self.invoice_number = Some(number.into());
        self
    }

    /// Only invoices with this `uniqueSourceInvoiceId`.
    #[must_use]
    pub fn with_unique_source_invoice_id(mut self, id: impl Into<String>) -> Self {
        self.unique_source_invoice_id = Some(id.into());
        self
    }

    /// Only invoices with this status.
    #[must_use]
    pub fn with_status(mut self, status: InvoiceStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Only invoices of this debtor.
    #[must_use]
    pub fn with_customer_number(mut self, number: impl Into<String>) -> Self {
        self.customer_number = Some(number.into());
        self
    }

    /// Only invoices created in `[from, to)`.
    #[must_use]
    pub fn with_created(mut self, from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        self.from = Some(from);
        self.to = Some(to);
        self
    }
}

const LIST: &str = "get_invoices_by_organization";

impl Client {
    /// One invoice by Amili's id.
    ///
    /// # Errors
    ///
    /// As any read; a `404` when Amili does not know the id.
    pub async fn invoice(&self, invoice_id: Uuid) -> Result<Invoice, Error> {
        const OPERATION: &str = "get_invoice_by_id";
        let span = tracing::info_span!("amili.get_invoice", operation = OPERATION, %invoice_id);
        self.read_in(OPERATION, span, |raw, organization_id| {
            raw.get_invoice_by_id()
                .organization_id(organization_id)
                .invoice_id(invoice_id)
                .send()
        })
        .await
        .map(|(invoice, _)| invoice.into())
    }

    /// One page of invoices and the next cursor.
    ///
    /// # Errors
    ///
    /// As any read.
    pub async fn invoices_page(
        &self,
        filter: &InvoiceFilter,
        page_token: Option<&str>,
    ) -> Result<(Vec<Invoice>, Option<String>), Error> {
        let span = tracing::info_span!("amili.list_invoices", operation = LIST, page_token);
        self.read_in(LIST, span, |raw, organization_id| {
            let mut request = raw
                .get_invoices_by_organization()
                .organization_id(organization_id);
            if let Some(status) = &filter.status {
                request = request.status(status.clone());
            }
            if let Some(kind) = &filter.kind {
                request = request.type_(kind.clone());
            }
            if let Some(number) = &filter.invoice_number {
                request = request.invoice_number(number.clone());
            }
            if let Some(id) = &filter.unique_source_invoice_id {
                request = request.unique_source_invoice_id(id.clone());
            }
            if let Some(number) = &filter.customer_number {
                request = request.customer_number(number.clone());
            }
            if let Some(from) = filter.from {
                request = request.from(from);
            }
            if let Some(to) = filter.to {
                request = request.to(to);
            }
            if let Some(token) = page_token {
                request = request.page_token(token.to_owned());
            }
            request.send()
        })
        .await
        .map(crate::pages::items)
    }

    /// Every invoice matching `filter`, across all pages, fetched lazily; a repeated cursor
    /// ends the stream with [`Error::InvalidResponse`].
    ///
    /// ```no_run
    /// # async fn demo(client: amili_payments::Client) -> Result<(), amili_payments::Error> {
    /// use futures::TryStreamExt;
    /// use amili_payments::invoices::{InvoiceFilter, InvoiceStatus};
    ///
    /// let open: Vec<_> = client
    ///     .invoices(InvoiceFilter::default().with_status(InvoiceStatus::Open))
    ///     .try_collect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn invoices(&self, filter: InvoiceFilter) -> BoxStream<'static, Result<Invoice, Error>> {
        crate::pages::follow_reads(self, LIST, filter, |client, filter, cursor| {
            Box::pin(client.invoices_page(filter, cursor))
        })
    }

    /// Every invoice with this invoice number (usually one; more is ambiguous).
    ///
    /// # Errors
    ///
    /// As any read.
    pub async fn find_invoices_by_number(&self, number: &str) -> Result<Vec<Invoice>, Error> {
        let filter = InvoiceFilter::default().with_invoice_number(number);
        let found: Vec<Invoice> = self.invoices(filter).try_collect().await?;
        // Exact matches only, whatever the server's filter does.
        Ok(found
            .into_iter()
            .filter(|i| i.invoice_number.as_deref().is_none_or(|n| n == number))
            .collect())
    }

    /// Every invoice with this `uniqueSourceInvoiceId` (usually one; more is ambiguous).
    ///
    /// # Errors
    ///
    /// As any read.
    pub async fn find_invoices_by_source_id(&self, id: &str) -> Result<Vec<Invoice>, Error> {
        let filter = InvoiceFilter::default().with_unique_source_invoice_id(id);
        let found: Vec<Invoice> = self.invoices(filter).try_collect().await?;
        Ok(found
            .into_iter()
            .filter(|i| {
                i.unique_source_invoice_id
                    .as_deref()
                    .is_none_or(|s| s == id)
            })
            .collect())
    }

    /// A resolver of invoice references for this client (see [`Resolver`]).
    pub fn invoice_resolver(&self) -> Resolver {
        Resolver {
            client: self.clone(),
            concurrency: self.shared.concurrency,
            circuit_breaker: DEFAULT_CIRCUIT_BREAKER,
            cache: Arc::new(Mutex::new(Cache::new(DEFAULT_CACHE_CAPACITY))),
        }
    }
}

/// How a payment file or a caller names an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum InvoiceRef {
    /// Amili's id (checked to exist).
    Id(Uuid),
    /// The creditor's invoice number.
    Number(String),
    /// The creditor's `uniqueSourceInvoiceId`.
    SourceId(String),
}

impl InvoiceRef {
    /// The reference as written: the id, number or source id.
    fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            InvoiceRef::Id(id) => id.to_string().into(),
            InvoiceRef::Number(text) | InvoiceRef::SourceId(text) => text.as_str().into(),
        }
    }

    /// Whether this reference may be looked up as written.
    ///
    /// # Errors
    ///
    /// Why not: longer than [`MAX_REFERENCE_CHARS`] (`"300 characters, at most 255 are
    /// allowed"`).
    pub fn check_length(&self) -> Result<(), String> {
        let text = self.text();
        // Bytes bound characters from above: count only when it may matter.
        if text.len() <= MAX_REFERENCE_CHARS {
            return Ok(());
        }
        let chars = text.chars().count();
        if chars <= MAX_REFERENCE_CHARS {
            return Ok(());
        }
        Err(format!(
            "{chars} characters, at most {MAX_REFERENCE_CHARS} are allowed"
        ))
    }
}

/// The longest invoice number or `uniqueSourceInvoiceId` looked up, in characters. Amili's
/// specification gives no `maxLength` for either; this is the bound of the ids the
/// library sends (`uniqueSourcePaymentId`,
/// [`MAX_SOURCE_ID_CHARS`](crate::validation::MAX_SOURCE_ID_CHARS)), so that a stray column
/// of 100 KB is refused at once instead of being sent as a query.
pub const MAX_REFERENCE_CHARS: usize = crate::validation::MAX_SOURCE_ID_CHARS;

impl fmt::Display for InvoiceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvoiceRef::Id(id) => write!(f, "invoiceId {id}"),
            InvoiceRef::Number(n) => write!(f, "invoiceNumber {n:?}"),
            InvoiceRef::SourceId(s) => write!(f, "uniqueSourceInvoiceId {s:?}"),
        }
    }
}

/// Why a reference did not resolve to one invoice.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Unresolved {
    /// No invoice matches.
    #[error("{0}: no invoice matches")]
    NotFound(InvoiceRef),
    /// More than one invoice matches: which one is meant cannot be told.
    #[error("{reference}: {} invoices match ({})", .matches.len(), ids(.matches))]
    Ambiguous {
        /// The reference.
        reference: InvoiceRef,
        /// Every invoice it matches.
        matches: Vec<Uuid>,
    },
    /// Looking it up failed.
    #[error("{reference}: the look-up failed: {error}")]
    Failed {
        /// The reference.
        reference: InvoiceRef,
        /// Why.
        error: Box<Error>,
    },
    /// Not looked up: the look-ups before it failed in a row (the circuit breaker, see
    /// [`Resolver::with_circuit_breaker`]); the answers that failed say why.
    #[error(
        "{reference}: not looked up: invoice look-up is failing ({failures_in_row} look-ups in \
         a row failed)"
    )]
    NotLookedUp {
        /// The reference.
        reference: InvoiceRef,
        /// The look-ups that had failed in a row when it was due.
        failures_in_row: u32,
    },
    /// Not looked up: the reference cannot be valid (longer than [`MAX_REFERENCE_CHARS`]).
    #[error("{}: not looked up: {reason}", abridged(.reference))]
    Invalid {
        /// The reference.
        reference: InvoiceRef,
        /// Why.
        reason: String,
    },
}

impl Unresolved {
    /// Whether Amili gave no answer about the invoice (the look-up failed, or was not tried
    /// because look-ups were failing): the same reference may resolve when tried again later.
    pub fn is_look_up_failure(&self) -> bool {
        matches!(
            self,
            Unresolved::Failed { .. } | Unresolved::NotLookedUp { .. }
        )
    }
}

/// The reference as [`Display`](fmt::Display) shows it, cut after 40 characters.
fn abridged(reference: &InvoiceRef) -> String {
    let text = reference.text();
    match text.char_indices().nth(40) {
        None => reference.to_string(),
        Some((end, _)) => match reference {
            InvoiceRef::Number(_) => format!("invoiceNumber {:?}…", &text[..end]),
            _ => format!("uniqueSourceInvoiceId {:?}…", &text[..end]),
        },
    }
}

fn ids(matches: &[Uuid]) -> String {
    let text: Vec<String> = matches.iter().map(Uuid::to_string).collect();
    text.join(", ")
}

/// How many answers a [`Resolver`]'s cache keeps unless
/// [`with_cache_capacity`](Resolver::with_cache_capacity) says otherwise.
pub const DEFAULT_CACHE_CAPACITY: usize = 100_000;

/// Turns invoice references into Amili invoice ids: at most
/// [`with_concurrency`](Self::with_concurrency) look-ups at once, each distinct reference of a
/// call looked up once. A reference longer than [`MAX_REFERENCE_CHARS`] is
/// [`Unresolved::Invalid`] without a call. When
/// [`with_circuit_breaker`](Self::with_circuit_breaker) look-ups of a call fail in a row after
/// all their retries, the call's remaining references are [`Unresolved::NotLookedUp`] at once
/// instead of each running its own retries against an endpoint that is down.
/// Answers, found or not, are cached for later calls (failures are not);
/// the cache holds at most [`DEFAULT_CACHE_CAPACITY`] answers
/// ([`with_cache_capacity`](Self::with_cache_capacity)) and, when full, forgets the answer it
/// learnt longest ago (first in, first out). A call answers every reference it was given
/// whatever the cache keeps. Clones share the cache.
///
/// ```no_run
/// # async fn demo(client: amili_payments::Client) {
/// use amili_payments::invoices::InvoiceRef;
///
/// let resolver = client.invoice_resolver().with_concurrency(4).with_cache_capacity(10_000);
/// let refs = [
///     InvoiceRef::Number("INV-2024-00123".into()),
///     InvoiceRef::SourceId("erp-order-9981".into()),
/// ];
/// for (reference, resolved) in refs.iter().zip(resolver.resolve(refs.clone()).await) {
///     match resolved {
///         Ok(invoice_id) => println!("{reference} → {invoice_id}"),
///         Err(problem) => eprintln!("{problem}"),
///     }
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Resolver {
    client: Client,
    concurrency: usize,
    circuit_breaker: u32,
    cache: Arc<Mutex<Cache>>,
}

type Answer = Result<Uuid, Unresolved>;

impl Resolver {
    /// How many look-ups run at once (at least 1; default: the client's concurrency).
    #[must_use]
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// After `look_ups` look-ups of one [`resolve`](Self::resolve) call failed in a row after
    /// all their retries, the call's references not yet looked up are
    /// [`Unresolved::NotLookedUp`] without a request (default 5; 0 looks every one up).
    #[must_use]
    pub fn with_circuit_breaker(mut self, look_ups: u32) -> Self {
        self.circuit_breaker = look_ups;
        self
    }

    /// How many answers the cache keeps (default [`DEFAULT_CACHE_CAPACITY`]; 0 caches
    /// nothing). The cache is shared with this resolver's clones; answers beyond the new
    /// capacity are forgotten now, the oldest first.
    #[must_use]
    pub fn with_cache_capacity(self, capacity: usize) -> Self {
        lock(&self.cache).set_capacity(capacity);
        self
    }

    /// One answer per reference, in order.
    pub async fn resolve(
        &self,
        references: impl IntoIterator<Item = InvoiceRef>,
    ) -> Vec<Result<Uuid, Unresolved>> {
        let references: Vec<InvoiceRef> = references.into_iter().collect();
        let (distinct, slots) = distinct(&references);
        // This call's answers, one per distinct reference, kept here: the cache may forget
        // some before the call ends.
        let mut answers: Vec<(usize, Answer)> = Vec::with_capacity(distinct.len());
        let mut missing: Vec<(usize, &InvoiceRef)> = Vec::new();
        {
            let cache = lock(&self.cache);
            for (i, reference) in distinct.into_iter().enumerate() {
                match cache.get(reference) {
                    Some(answer) => answers.push((i, answer.clone())),
                    None => missing.push((i, reference)),
                }
            }
        }
        let breaker = Breaker::new(self.circuit_breaker);
        let breaker = &breaker;
        let looked_up: Vec<(usize, &InvoiceRef, Answer)> = stream::iter(missing)
            .map(|(i, r)| async move { (i, r, self.look_up_through(breaker, r).await) })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        {
            let mut cache = lock(&self.cache);
            for (i, reference, answer) in looked_up {
                let no_answer = matches!(&answer, Err(e) if e.is_look_up_failure());
                if !no_answer && !matches!(answer, Err(Unresolved::Invalid { .. })) {
                    cache.insert(reference.clone(), answer.clone());
                }
                answers.push((i, answer));
            }
        }
        // Every distinct reference was answered once, from the cache or by its look-up.
        answers.sort_unstable_by_key(|(i, _)| *i);
        let answers: Vec<Answer> = answers.into_iter().map(|(_, answer)| answer).collect();
        slots.into_iter().map(|i| answers[i].clone()).collect()
    }

    /// How many references the cache holds.
    pub fn cached(&self) -> usize {
        lock(&self.cache).answers.len()
    }

    /// Looks `reference` up unless it is too long or `breaker` is open; a look-up that fails
    /// counts towards the breaker, any answer resets it.
    async fn look_up_through(&self, breaker: &Breaker, reference: &InvoiceRef) -> Answer {
        if let Err(reason) = reference.check_length() {
            return Err(Unresolved::Invalid {
                reference: reference.clone(),
                reason,
            });
        }
        if breaker.is_open() {
            return Err(Unresolved::NotLookedUp {
                reference: reference.clone(),
                failures_in_row: self.circuit_breaker,
            });
        }
        let answer = self.look_up(reference).await;
        match &answer {
            Err(Unresolved::Failed { error, .. }) => {
                // Said once, when it trips.
                if breaker.failure() == Some(self.circuit_breaker) {
                    tracing::warn!(
                        in_row = self.circuit_breaker,
                        error = %error,
                        "invoice look-ups are failing; not looking up the rest"
                    );
                }
            }
            _ => breaker.success(),
        }
        answer
    }

    async fn look_up(&self, reference: &InvoiceRef) -> Result<Uuid, Unresolved> {
        let failed = |error: Error| Unresolved::Failed {
            reference: reference.clone(),
            error: Box::new(error),
        };
        let found = match reference {
            InvoiceRef::Id(id) => match self.client.invoice(*id).await {
                Ok(invoice) => vec![invoice],
                Err(e) if e.status() == Some(404) => Vec::new(),
                Err(e) => return Err(failed(e)),
            },
            InvoiceRef::Number(number) => self
                .client
                .find_invoices_by_number(number)
                .await
                .map_err(failed)?,
            InvoiceRef::SourceId(id) => self
                .client
                .find_invoices_by_source_id(id)
                .await
                .map_err(failed)?,
        };
        match found.as_slice() {
            [] => Err(Unresolved::NotFound(reference.clone())),
            [one] => Ok(one.id),
            many => Err(Unresolved::Ambiguous {
                reference: reference.clone(),
                matches: many.iter().map(|i| i.id).collect(),
            }),
        }
    }
}

/// The distinct references in the order first seen, and for each reference the index of its
/// distinct one (a hash set's work: a payment file can name 100 000 invoices).
fn distinct(references: &[InvoiceRef]) -> (Vec<&InvoiceRef>, Vec<usize>) {
    let mut index: HashMap<&InvoiceRef, usize> = HashMap::with_capacity(references.len());
    let mut distinct = Vec::new();
    let slots = references
        .iter()
        .map(|reference| {
            *index.entry(reference).or_insert_with(|| {
                distinct.push(reference);
                distinct.len() - 1
            })
        })
        .collect();
    (distinct, slots)
}

/// The resolver's answers, at most `capacity` of them; when full, the one inserted first is
/// forgotten (a hit does not renew an answer: the simplest bound that is honest to describe).
#[derive(Debug)]
struct Cache {
    answers: HashMap<InvoiceRef, Answer>,
    /// The keys of `answers`, oldest first.
    order: VecDeque<InvoiceRef>,
    capacity: usize,
}

impl Cache {
    fn new(capacity: usize) -> Self {
        Self {
            answers: HashMap::new(),
            order: VecDeque::new(),
            capacity,
        }
    }

    fn get(&self, reference: &InvoiceRef) -> Option<&Answer> {
        self.answers.get(reference)
    }

    fn insert(&mut self, reference: InvoiceRef, answer: Answer) {
        if let Some(known) = self.answers.get_mut(&reference) {
            *known = answer;
            return;
        }
        if self.capacity == 0 {
            return;
        }
        self.trim(self.capacity - 1);
        self.order.push_back(reference.clone());
        self.answers.insert(reference, answer);
    }

    fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity;
        self.trim(capacity);
    }

    /// Forgets the oldest answers until at most `len` are left.
    fn trim(&mut self, len: usize) {
        while self.answers.len() > len {
            let Some(oldest) = self.order.pop_front() else {
                return;
            };
            self.answers.remove(&oldest);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(n: usize) -> InvoiceRef {
        InvoiceRef::Number(format!("INV-{n}"))
    }

    fn found(n: u128) -> Answer {
        Ok(Uuid::from_u128(n))
    }

    #[test]
    fn distinct_references_keep_their_first_order_and_every_reference_its_slot() {
        let refs = [
            number(1),
            number(2),
            number(1),
            InvoiceRef::Id(Uuid::nil()),
            number(2),
        ];
        let (distinct, slots) = distinct(&refs);
        assert_eq!(distinct, [&refs[0], &refs[1], &refs[3]]);
        assert_eq!(slots, [0, 1, 0, 2, 1]);
    }

    #[test]
    fn a_hundred_thousand_distinct_references_are_indexed() {
        let refs: Vec<InvoiceRef> = (0..100_000).chain(0..100_000).map(number).collect();
        let (distinct, slots) = distinct(&refs);
        assert_eq!(distinct.len(), 100_000);
        assert_eq!(slots.get(100_000 + 99_999), Some(&99_999));
    }

    #[test]
    fn a_full_cache_forgets_the_oldest_answer_first() {
        let mut cache = Cache::new(2);
        cache.insert(number(1), found(1));
        cache.insert(number(2), found(2));
        // A hit does not renew; an answer learnt again replaces, in place.
        assert!(cache.get(&number(1)).is_some());
        cache.insert(number(2), found(22));
        cache.insert(number(3), found(3));
        assert!(cache.get(&number(1)).is_none());
        assert_eq!(
            cache.get(&number(2)).cloned().map(Result::ok),
            Some(Some(Uuid::from_u128(22)))
        );
        assert!(cache.get(&number(3)).is_some());
        assert_eq!((cache.answers.len(), cache.order.len()), (2, 2));
    }

    #[test]
    fn shrinking_forgets_the_oldest_and_zero_caches_nothing() {
        let mut cache = Cache::new(DEFAULT_CACHE_CAPACITY);
        for n in 0..5 {
            cache.insert(number(n), found(n as u128));
        }
        cache.set_capacity(2);
        assert!(cache.get(&number(2)).is_none());
        assert!(cache.get(&number(3)).is_some() && cache.get(&number(4)).is_some());
        cache.set_capacity(0);
        cache.insert(number(9), found(9));
        assert!(cache.answers.is_empty() && cache.order.is_empty());
    }
}
