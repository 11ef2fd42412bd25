//! Rows whose invoice reference no longer resolves, reported from the ledger.
//!
//! A payment row that names its invoice by `invoiceNumber` or `uniqueSourceInvoiceId` is sent
//! with the invoice id Amili gave for the reference. When a later run cannot resolve it (no
//! invoice matches it now, several do, or its look-up failed), the row cannot be sent again —
//! but its own id (`uniqueSourcePaymentId`) is known without the look-up. If the ledger holds
//! that id as accepted by an earlier run, the row is reported with what the ledger knows
//! (already accepted, succeeded, or failed with Amili's reason), with the reference's problem
//! as its note, and it is not counted invalid: a rerun of a booked file is not refused because
//! one of its invoice numbers became ambiguous. A row the ledger has no record of, or holds
//! only as pending (claimed by a run that did not record its result), stays invalid.
//!
//! Only the row's problem is the reference (a row with other problems stays invalid), and
//! what the ledger says is about the id: the content sent cannot be compared, since the
//! invoice is part of it. A correction's id is derived from its content, invoice included, so
//! a correction row is never known this way.

use std::collections::{HashMap, HashSet};

use amili_payments::Uuid;
use amili_payments::ledger::Ledger;
use amili_payments::report::Outcome;

use crate::report::ReportRow;
use crate::validate::{INVALID, Validation};

/// How many ids one ledger read asks for.
const CHUNK: usize = 500;

/// The rows of a file known to the ledger though their reference no longer resolves: by line,
/// what the ledger says of each and the batch that accepted it.
#[derive(Debug, Default)]
pub struct FromLedger(HashMap<u64, (Outcome, Uuid)>);

impl FromLedger {
    /// Asks `ledger` about the rows of `v` whose one problem is their reference
    /// ([`Validation::unresolved`]); those it holds as accepted stop counting as invalid (their
    /// problem, sum and count leave `v`, with a note of how many). Without a ledger, or when it
    /// cannot be read (a note says so), every such row stays invalid.
    pub async fn read(ledger: Option<&dyn Ledger>, v: &mut Validation) -> FromLedger {
        let unresolved = std::mem::take(&mut v.unresolved);
        let mut known = FromLedger::default();
        let Some(ledger) = ledger.filter(|_| !unresolved.is_empty()) else {
            return known;
        };
        for rows in unresolved.chunks(CHUNK) {
            let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
            let held = match ledger.known(&ids).await {
                Ok(held) => held,
                Err(e) => {
                    v.warnings.push(format!(
                        "the ledger could not be read for the rows whose invoice reference does \
                         not resolve ({e}); they are invalid"
                    ));
                    return FromLedger::default();
                }
            };
            for (row, held) in rows.iter().zip(held) {
                let Some((outcome, batch_id)) = held.and_then(|h| h.accepted_outcome()) else {
                    continue;
                };
                known.0.insert(row.line, (outcome, batch_id));
                v.invalid -= 1;
                v.problem_count -= 1;
                if let Some(money) = &row.money {
                    v.sums.remove(INVALID, money);
                }
            }
        }
        if !known.0.is_empty() {
            let lines: HashSet<u64> = known.0.keys().copied().collect();
            v.problems.retain(|p| !lines.contains(&p.line));
            v.warnings.push(match known.len() {
                1 => "1 row whose invoice reference does not resolve now was accepted by an \
                      earlier run: reported from the ledger, not sent again"
                    .to_owned(),
                n => format!(
                    "{n} rows whose invoice reference does not resolve now were accepted by an \
                     earlier run: reported from the ledger, not sent again"
                ),
            });
        }
        known
    }

    /// How many rows the ledger knows.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// An invalid row the ledger knows, as the ledger knows it: its outcome and batch, and the
    /// reference's problem as the note. Every other row is left as it is.
    pub fn apply(&mut self, row: &mut ReportRow) {
        let Outcome::Invalid(problem) = &row.outcome else {
            return;
        };
        let Some((outcome, batch_id)) = self.0.remove(&row.line) else {
            return;
        };
        let earlier = match outcome {
            Outcome::Succeeded => "succeeded earlier",
            Outcome::Failed(_) => "failed earlier",
            _ => "accepted earlier",
        };
        row.note = Some(format!("{earlier}; not sent again: {problem}"));
        row.outcome = outcome;
        row.batch_id = Some(batch_id);
    }
}
