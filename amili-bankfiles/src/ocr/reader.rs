//! The credit view of OCR giro: the grammar `10 (20 (30 31 [32])+ 88)+ 89` and every control
//! figure checked, one transaction at a time.

use std::collections::VecDeque;
use std::io::BufRead;

use rust_decimal::Decimal;

use super::control::{MAX_TOTAL_ORE, Totals, check_assignment, check_transmission};
use super::record_stream::{Line, OcrRecords};
use super::records::{
    AmountItem1, AmountItem2, AmountItem3, AssignmentStart, Located, Record, SERVICE_AVTALEGIRO,
    SERVICE_OCR_GIRO,
};
use crate::credit::{Credit, Item, NotTaken, Position, Reason, Reference, ReferenceKind, Warning};
use crate::error::Error;
use crate::{kid, source_id};

/// The credit view of an OCR giro file: an iterator of [`Item`]s, one per transaction (one
/// per skipped AvtaleGiro assignment), in file order, holding one transaction at a time.
///
/// The grammar and every control figure are checked as the reader goes: a figure that does
/// not add up ends the iteration with [`Error::Control`] at its end record. To refuse such a
/// file **before** anything is taken from it, read it whole first ([`crate::read_checked`]
/// does).
pub struct OcrReader<R> {
    records: OcrRecords<R>,
    state: State,
    transmission: Totals,
    queue: VecDeque<Item>,
    last_line: u64,
    done: bool,
}

enum State {
    BeforeStart,
    InTransmission,
    InAssignment(Box<Assignment>),
    Ended,
}

struct Assignment {
    line: u64,
    start: AssignmentStart,
    totals: Totals,
    last_number: Option<u32>,
    pending: Option<Transaction>,
}

struct Transaction {
    line: u64,
    item1: AmountItem1,
    item2: Option<AmountItem2>,
    item3: Option<AmountItem3>,
}

impl<R: BufRead> OcrReader<R> {
    /// Reads the credit view from `reader`.
    pub fn new(reader: R) -> Self {
        OcrReader {
            records: OcrRecords::new(reader),
            state: State::BeforeStart,
            transmission: Totals::default(),
            queue: VecDeque::new(),
            last_line: 0,
            done: false,
        }
    }

    fn step(&mut self) -> Result<bool, Error> {
        let line = match self.records.next_line()? {
            None => {
                return match self.state {
                    State::Ended => Ok(false),
                    _ => Err(Error::Ocr {
                        line: self.last_line,
                        record: None,
                        field: "end of file",
                        message:
                            "the file ends before its end of transmission (record 89): truncated?"
                                .into(),
                    }),
                };
            }
            Some(Line::Blank(line)) => {
                self.last_line = line;
                return match self.state {
                    State::Ended => Ok(true),
                    _ => Err(Error::Ocr {
                        line,
                        record: None,
                        field: "line",
                        message: "a blank line inside the transmission".into(),
                    }),
                };
            }
            Some(Line::Record(located)) => located,
        };
        self.last_line = line.line;
        self.record(line)?;
        Ok(true)
    }

    fn record(&mut self, Located { line, record }: Located) -> Result<(), Error> {
        let record_type = record.record_type();
        let unexpected = |expected: &str| Error::Ocr {
            line,
            record: Some(record_type),
            field: "record type (7–8)",
            message: format!("record {record_type:02} here; expected {expected}"),
        };
        let state = std::mem::replace(&mut self.state, State::Ended);
        self.state = match (state, record) {
            (State::BeforeStart, Record::TransmissionStart(_)) => {
                self.transmission.records = 1;
                State::InTransmission
            }
            (State::BeforeStart, _) => {
                return Err(unexpected("10 (start of transmission) first"));
            }
            (State::InTransmission, Record::AssignmentStart(start)) => {
                State::InAssignment(Box::new(Assignment {
                    line,
                    start,
                    totals: Totals {
                        records: 1,
                        ..Totals::default()
                    },
                    last_number: None,
                    pending: None,
                }))
            }
            (State::InTransmission, Record::TransmissionEnd(end)) => {
                self.transmission.records += 1;
                check_transmission(line, &end, &self.transmission)?;
                State::Ended
            }
            (State::InTransmission, _) => {
                return Err(unexpected(
                    "20 (start of assignment) or 89 (end of transmission)",
                ));
            }
            (State::InAssignment(mut a), record) => {
                // The amount records' service code (20, 88 and 89 are checked on their own).
                let service = match &record {
                    Record::AvtaleGiro(_) => Some(SERVICE_AVTALEGIRO),
                    Record::AmountItem1(_) | Record::AmountItem2(_) | Record::AmountItem3(_) => {
                        Some(SERVICE_OCR_GIRO)
                    }
                    _ => None,
                };
                if let Some(service) = service
                    && service != a.start.service_code
                {
                    return Err(Error::Ocr {
                        line,
                        record: Some(record.record_type()),
                        field: "service code (3–4)",
                        message: format!(
                            "{service:02} inside an assignment of service code {:02} (line {})",
                            a.start.service_code, a.line
                        ),
                    });
                }
                match record {
                    Record::AssignmentEnd(end) => {
                        a.totals.records += 1;
                        self.flush(&mut a, line)?;
                        check_assignment(line, &end, &a.totals, &a.start, a.line)?;
                        self.transmission.transactions += a.totals.transactions;
                        self.transmission.records += a.totals.records;
                        self.transmission.total_ore += a.totals.total_ore;
                        if a.start.service_code == SERVICE_AVTALEGIRO {
                            self.queue.push_back(Item::NotTaken(NotTaken {
                                reason: Reason::AvtaleGiro {
                                    transactions: a.totals.transactions,
                                },
                                position: Position::Ocr { line: a.line },
                                transaction: None,
                            }));
                        }
                        State::InTransmission
                    }
                    Record::AvtaleGiro(r) => {
                        a.totals.records += 1;
                        if let Some(amount) = r.amount_ore {
                            a.totals.transactions += 1;
                            self.add(&mut a, line, i128::from(amount))?;
                        }
                        State::InAssignment(a)
                    }
                    Record::AmountItem1(item1) => {
                        self.flush(&mut a, line)?;
                        self.item1(&mut a, line, item1)?;
                        State::InAssignment(a)
                    }
                    Record::AmountItem2(item2) => {
                        a.totals.records += 1;
                        match &mut a.pending {
                            Some(t) if t.item2.is_none() => {
                                same_transaction(
                                    line,
                                    31,
                                    &t.item1,
                                    item2.transaction_number,
                                    item2.transaction_type,
                                )?;
                                t.item2 = Some(item2);
                            }
                            _ => return Err(unexpected("30 (amount item 1) before 31")),
                        }
                        State::InAssignment(a)
                    }
                    Record::AmountItem3(item3) => {
                        a.totals.records += 1;
                        match &mut a.pending {
                            Some(t) if t.item2.is_some() && t.item3.is_none() => {
                                same_transaction(
                                    line,
                                    32,
                                    &t.item1,
                                    item3.transaction_number,
                                    item3.transaction_type,
                                )?;
                                if !matches!(item3.transaction_type, 20 | 21) {
                                    return Err(Error::Ocr {
                                        line,
                                        record: Some(32),
                                        field: "transaction type (5–6)",
                                        message: format!(
                                            "{:02}: amount item 3 exists only for transaction types 20 and 21",
                                            item3.transaction_type
                                        ),
                                    });
                                }
                                t.item3 = Some(item3);
                            }
                            _ => return Err(unexpected("30 and 31 before 32")),
                        }
                        State::InAssignment(a)
                    }
                    _ => {
                        return Err(unexpected(
                            "30, 31 or 32 (amount items) or 88 (end of assignment)",
                        ));
                    }
                }
            }
            (State::Ended, _) => {
                return Err(unexpected("nothing after 89 (end of transmission)"));
            }
        };
        Ok(())
    }

    fn item1(&mut self, a: &mut Assignment, line: u64, item1: AmountItem1) -> Result<(), Error> {
        a.totals.records += 1;
        a.totals.transactions += 1;
        if !(10..=21).contains(&item1.transaction_type) {
            return Err(Error::Ocr {
                line,
                record: Some(30),
                field: "transaction type (5–6)",
                message: format!(
                    "{:02} is not an OCR giro transaction type (10–21)",
                    item1.transaction_type
                ),
            });
        }
        if let Some(last) = a.last_number
            && item1.transaction_number != last.saturating_add(1)
        {
            return Err(Error::Control {
                line,
                record: 30,
                figure: "transaction number (9–15)",
                stated: item1.transaction_number.to_string(),
                counted: format!("{} (the one after {last})", last.saturating_add(1)),
            });
        }
        a.last_number = Some(item1.transaction_number);
        let date = item1.settlement_date;
        a.totals.settled(date);
        self.add(a, line, item1.signed_ore())?;
        a.pending = Some(Transaction {
            line,
            item1,
            item2: None,
            item3: None,
        });
        Ok(())
    }

    /// Adds an amount to the assignment's and the transmission's totals, refusing one that
    /// no 17-digit control total could state.
    fn add(&self, a: &mut Assignment, line: u64, amount: i128) -> Result<(), Error> {
        a.totals.total_ore += amount;
        let transmission = self.transmission.total_ore + a.totals.total_ore;
        if a.totals.total_ore.abs() > MAX_TOTAL_ORE || transmission.abs() > MAX_TOTAL_ORE {
            return Err(Error::Ocr {
                line,
                record: Some(30),
                field: "amount (33–49)",
                message: "the amounts so far overflow the 17 digits of the control total".into(),
            });
        }
        Ok(())
    }

    /// Turns the assignment's complete pending transaction into an item.
    fn flush(&mut self, a: &mut Assignment, line: u64) -> Result<(), Error> {
        let Some(t) = a.pending.take() else {
            return Ok(());
        };
        let Some(item2) = t.item2 else {
            return Err(Error::Ocr {
                line,
                record: None,
                field: "record type (7–8)",
                message: format!(
                    "the transaction of line {} has no amount item 2 (record 31)",
                    t.line
                ),
            });
        };
        self.queue.push_back(transaction_item(
            &a.start,
            t.line,
            &t.item1,
            &item2,
            t.item3.as_ref(),
        ));
        Ok(())
    }
}

fn same_transaction(
    line: u64,
    record: u8,
    item1: &AmountItem1,
    number: u32,
    kind: u8,
) -> Result<(), Error> {
    if number != item1.transaction_number {
        return Err(Error::Ocr {
            line,
            record: Some(record),
            field: "transaction number (9–15)",
            message: format!(
                "{number}, but its amount item 1 has {}",
                item1.transaction_number
            ),
        });
    }
    if kind != item1.transaction_type {
        return Err(Error::Ocr {
            line,
            record: Some(record),
            field: "transaction type (5–6)",
            message: format!(
                "{kind:02}, but its amount item 1 has {:02}",
                item1.transaction_type
            ),
        });
    }
    Ok(())
}

fn transaction_item(
    start: &AssignmentStart,
    line: u64,
    item1: &AmountItem1,
    item2: &AmountItem2,
    item3: Option<&AmountItem3>,
) -> Item {
    let reference = item1.kid.clone().map(|value| Reference {
        kind: ReferenceKind::Kid,
        value,
    });
    let mut warnings = Vec::new();
    if let Some(r) = &reference
        && !kid::is_valid(&r.value)
    {
        warnings.push(Warning::KidCheckDigit);
    }
    let archive = item2.archive_reference.trim();
    // 17 digits of øre always fit an i64.
    let ore = i64::try_from(item1.signed_ore()).unwrap_or(i64::MAX);
    let credit = Credit {
        reference,
        amount: Decimal::new(ore, 2),
        currency: "NOK".into(),
        booking_date: item1.settlement_date,
        bank_reference: (!archive.is_empty()).then(|| archive.to_owned()),
        payer: None,
        text: item3
            .map(|i| i.text.trim().to_owned())
            .filter(|t| !t.is_empty()),
        position: Position::Ocr { line },
        source_payment_id: source_id::ocr(
            &start.agreement_id,
            &start.assignment_number,
            item1.transaction_number,
            item1.settlement_date,
        ),
        warnings,
    };
    let reason = if item1.negative || matches!(item1.transaction_type, 18 | 20) {
        Some(Reason::Reversal)
    } else if credit.reference.is_none() {
        Some(Reason::NoReference)
    } else {
        None
    };
    Item::new(credit, reason)
}

impl<R: BufRead> Iterator for OcrReader<R> {
    type Item = Result<Item, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.queue.pop_front() {
                return Some(Ok(item));
            }
            if self.done {
                return None;
            }
            match self.step() {
                Ok(true) => {}
                Ok(false) => self.done = true,
                Err(e) => {
                    self.done = true;
                    self.queue.clear();
                    return Some(Err(e));
                }
            }
        }
    }
}
