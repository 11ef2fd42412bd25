//! The control figures of OCR giro end records (88 and 89), and what the records add up to.

use chrono::NaiveDate;

use super::records::{AssignmentEnd, AssignmentStart, SERVICE_AVTALEGIRO, TransmissionEnd};
use crate::error::Error;

/// The largest total a 17-digit control total can state, in øre.
pub(super) const MAX_TOTAL_ORE: i128 = 99_999_999_999_999_999;

/// What the records so far add up to.
#[derive(Default)]
pub(super) struct Totals {
    pub(super) transactions: u64,
    pub(super) records: u64,
    pub(super) total_ore: i128,
    pub(super) earliest: Option<NaiveDate>,
    pub(super) latest: Option<NaiveDate>,
}

impl Totals {
    /// Notes a settlement date.
    pub(super) fn settled(&mut self, date: NaiveDate) {
        self.earliest = Some(self.earliest.map_or(date, |d| d.min(date)));
        self.latest = Some(self.latest.map_or(date, |d| d.max(date)));
    }
}

/// Checks an assignment's end record (88) against what its records add up to.
pub(super) fn check_assignment(
    line: u64,
    end: &AssignmentEnd,
    counted: &Totals,
    start: &AssignmentStart,
    start_line: u64,
) -> Result<(), Error> {
    let control = |figure, stated: String, counted: String| {
        if stated == counted {
            Ok(())
        } else {
            Err(Error::Control {
                line,
                record: 88,
                figure,
                stated,
                counted,
            })
        }
    };
    if end.service_code != start.service_code {
        return Err(Error::Ocr {
            line,
            record: Some(88),
            field: "service code (3–4)",
            message: format!(
                "{:02}, but the assignment (line {}) has {:02}",
                end.service_code, start_line, start.service_code
            ),
        });
    }
    control(
        "number of transactions (9–16)",
        end.transactions.to_string(),
        counted.transactions.to_string(),
    )?;
    control(
        "number of records (17–24)",
        end.records.to_string(),
        counted.records.to_string(),
    )?;
    control(
        "total amount in øre (25–41)",
        end.total_ore.to_string(),
        counted.total_ore.to_string(),
    )?;
    if start.service_code != SERVICE_AVTALEGIRO {
        let date = |d: Option<NaiveDate>| d.map_or_else(|| "none".to_owned(), |d| d.to_string());
        if end.earliest.is_some() || counted.earliest.is_none() {
            control(
                "earliest settlement date (48–53)",
                date(end.earliest),
                date(counted.earliest),
            )?;
        }
        if end.latest.is_some() || counted.latest.is_none() {
            control(
                "latest settlement date (54–59)",
                date(end.latest),
                date(counted.latest),
            )?;
        }
    }
    Ok(())
}

/// Checks the transmission's end record (89) against what all its records add up to.
pub(super) fn check_transmission(
    line: u64,
    end: &TransmissionEnd,
    t: &Totals,
) -> Result<(), Error> {
    let figures = [
        (
            "number of transactions (9–16)",
            end.transactions as i128,
            t.transactions as i128,
        ),
        (
            "number of records (17–24)",
            end.records as i128,
            t.records as i128,
        ),
        ("total amount in øre (25–41)", end.total_ore, t.total_ore),
    ];
    for (figure, stated, counted) in figures {
        if stated != counted {
            return Err(Error::Control {
                line,
                record: 89,
                figure,
                stated: stated.to_string(),
                counted: counted.to_string(),
            });
        }
    }
    Ok(())
}
