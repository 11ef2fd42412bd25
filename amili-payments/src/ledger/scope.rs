//! The name a durable ledger keeps one API's and one organization's items under: the same
//! `uniqueSourcePaymentId` means the same payment there, and nowhere else.

use uuid::Uuid;

/// What a scope holds: payments and corrections are remembered apart (a correction's id is
/// a digest of its content, a payment's the creditor's own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// Payments.
    Payments,
    /// Corrections.
    Corrections,
}

/// The scope the `amili` CLI remembers `kind` under for `api_url` and `organization_id`: a
/// service that passes the same scope to its `SqliteLedger` / `PostgresLedger` shares the
/// CLI's ledger (neither sends what the other had accepted).
///
/// ```
/// use amili_payments::Uuid;
/// use amili_payments::ledger::{Kind, scope};
///
/// let org = Uuid::nil();
/// let api = "https://api.amili.no/collection/v1";
/// assert_eq!(
///     scope(api, org, Kind::Payments),
///     "https://api.amili.no/collection/v1 org 00000000-0000-0000-0000-000000000000"
/// );
/// assert_eq!(
///     scope(api, org, Kind::Corrections),
///     "https://api.amili.no/collection/v1 org 00000000-0000-0000-0000-000000000000 corrections"
/// );
/// ```
pub fn scope(api_url: &str, organization_id: Uuid, kind: Kind) -> String {
    match kind {
        Kind::Payments => format!("{api_url} org {organization_id}"),
        Kind::Corrections => format!("{api_url} org {organization_id} corrections"),
    }
}
