//! The record layer: each OCR giro line exactly as the file says it, field by field.
//!
//! Positions in the docs are 1-based and inclusive, as in Nets' specification.

use chrono::NaiveDate;

use super::lines::{RECORD_LEN, latin1};
use crate::error::Error;

/// Service code `00`: transmission start and end records.
pub const SERVICE_TRANSMISSION: u8 = 0;
/// Service code `09`: OCR giro.
pub const SERVICE_OCR_GIRO: u8 = 9;
/// Service code `21`: AvtaleGiro (skipped by the credit view).
pub const SERVICE_AVTALEGIRO: u8 = 21;

/// One OCR giro record and the line it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The 1-based line number.
    pub line: u64,
    /// The record.
    pub record: Record,
}

/// One OCR giro record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Record {
    /// Record type 10.
    TransmissionStart(TransmissionStart),
    /// Record type 89.
    TransmissionEnd(TransmissionEnd),
    /// Record type 20.
    AssignmentStart(AssignmentStart),
    /// Record type 88.
    AssignmentEnd(AssignmentEnd),
    /// Record type 30.
    AmountItem1(AmountItem1),
    /// Record type 31.
    AmountItem2(AmountItem2),
    /// Record type 32.
    AmountItem3(AmountItem3),
    /// A record inside an AvtaleGiro assignment (service code 21) other than 20 and 88:
    /// read only as far as its control figures need.
    AvtaleGiro(AvtaleGiroRecord),
}

impl Record {
    /// The two-digit record type (positions 7–8).
    pub fn record_type(&self) -> u8 {
        match self {
            Record::TransmissionStart(_) => 10,
            Record::TransmissionEnd(_) => 89,
            Record::AssignmentStart(_) => 20,
            Record::AssignmentEnd(_) => 88,
            Record::AmountItem1(_) => 30,
            Record::AmountItem2(_) => 31,
            Record::AmountItem3(_) => 32,
            Record::AvtaleGiro(r) => r.record_type,
        }
    }
}

/// Record 10, start of transmission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransmissionStart {
    /// Positions 9–16: the data transmitter (`00008080` for Nets).
    pub data_transmitter: String,
    /// Positions 17–23.
    pub transmission_number: String,
    /// Positions 24–31: the data recipient.
    pub data_recipient: String,
}

/// Record 89, end of transmission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransmissionEnd {
    /// Positions 9–16: the number of transactions in the transmission.
    pub transactions: u64,
    /// Positions 17–24: the number of records, every start and end record included.
    pub records: u64,
    /// Positions 25–41: the signed net total in øre.
    pub total_ore: i128,
    /// Positions 42–47: Nets' date (`000000`: none).
    pub date: Option<NaiveDate>,
}

/// Record 20, start of assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentStart {
    /// Positions 3–4: `09` OCR giro or `21` AvtaleGiro.
    pub service_code: u8,
    /// Positions 5–6: the assignment type (`00` for OCR giro transactions).
    pub assignment_type: u8,
    /// Positions 9–17: the agreement id.
    pub agreement_id: String,
    /// Positions 18–24: the assignment number.
    pub assignment_number: String,
    /// Positions 25–35: the creditor's account (BBAN).
    pub account: String,
}

/// Record 88, end of assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentEnd {
    /// Positions 3–4.
    pub service_code: u8,
    /// Positions 9–16: the number of transactions in the assignment.
    pub transactions: u64,
    /// Positions 17–24: the number of records, 20 and 88 included.
    pub records: u64,
    /// Positions 25–41: the signed net total in øre.
    pub total_ore: i128,
    /// Positions 42–47: Nets' date (`000000`: none).
    pub date: Option<NaiveDate>,
    /// Positions 48–53: the earliest settlement date (`000000`: none).
    pub earliest: Option<NaiveDate>,
    /// Positions 54–59: the latest settlement date (`000000`: none).
    pub latest: Option<NaiveDate>,
}

/// Record 30, amount item 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmountItem1 {
    /// Positions 5–6.
    pub transaction_type: u8,
    /// Positions 9–15.
    pub transaction_number: u32,
    /// Positions 16–21: the settlement date.
    pub settlement_date: NaiveDate,
    /// Positions 22–23.
    pub centre_id: String,
    /// Positions 24–25.
    pub day_code: String,
    /// Position 26.
    pub partial_settlement: String,
    /// Positions 27–31: the serial number of the lump sum on the bank statement.
    pub serial_number: String,
    /// Position 32: `-` for a negative amount.
    pub negative: bool,
    /// Positions 33–49: the amount in øre, without its sign.
    pub amount_ore: u64,
    /// Positions 50–74: the KID, trimmed (`None` when blank).
    pub kid: Option<String>,
}

impl AmountItem1 {
    /// The amount in øre with its sign.
    pub fn signed_ore(&self) -> i128 {
        let amount = i128::from(self.amount_ore);
        if self.negative { -amount } else { amount }
    }
}

/// Record 31, amount item 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmountItem2 {
    /// Positions 5–6.
    pub transaction_type: u8,
    /// Positions 9–15.
    pub transaction_number: u32,
    /// Positions 16–25.
    pub form_number: String,
    /// Positions 26–34: the archive reference (several transactions may share one).
    pub archive_reference: String,
    /// Positions 35–41: zeros per the specification, not always in real files.
    pub filler: String,
    /// Positions 42–47: the bank date (`000000`: none).
    pub bank_date: Option<NaiveDate>,
    /// Positions 48–58: the payer's account (zeros: none).
    pub debit_account: String,
}

/// Record 32, amount item 3 (transaction types 20 and 21).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmountItem3 {
    /// Positions 5–6.
    pub transaction_type: u8,
    /// Positions 9–15.
    pub transaction_number: u32,
    /// Positions 16–55: free text, trailing blanks removed.
    pub text: String,
}

/// A record of an AvtaleGiro assignment (service code 21) other than 20 and 88.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvtaleGiroRecord {
    /// Positions 7–8.
    pub record_type: u8,
    /// Positions 5–6.
    pub transaction_type: u8,
    /// Positions 9–15.
    pub transaction_number: u32,
    /// Positions 33–49 of a record 30: the amount in øre.
    pub amount_ore: Option<u64>,
}

/// Reads one line (without its line end) into a record.
///
/// # Errors
///
/// [`Error::Ocr`] naming the line, the record type and the field.
pub fn parse_record(line: u64, bytes: &[u8]) -> Result<Record, Error> {
    let mut f = Fields {
        line,
        record: None,
        bytes,
    };
    if bytes.len() != RECORD_LEN {
        return Err(f.error(
            "line length",
            format!("{} characters, a record has {RECORD_LEN}", bytes.len()),
        ));
    }
    if &bytes[..2] != b"NY" {
        return Err(f.error(
            "format code (1–2)",
            format!("{:?}, expected \"NY\"", latin1(&bytes[..2])),
        ));
    }
    let service = f.number(3, 4, "service code (3–4)")? as u8;
    let record_type = f.number(7, 8, "record type (7–8)")? as u8;
    f.record = Some(record_type);
    let kind = f.number(5, 6, "transaction or assignment type (5–6)")? as u8;
    let expected_service = match record_type {
        10 | 89 => service == SERVICE_TRANSMISSION,
        _ => service == SERVICE_OCR_GIRO || service == SERVICE_AVTALEGIRO,
    };
    if !matches!(record_type, 10 | 89 | 20 | 88 | 30 | 31 | 32) && service != SERVICE_AVTALEGIRO {
        return Err(f.error(
            "record type (7–8)",
            format!("{record_type:02} is not an OCR giro record type (10, 20, 30, 31, 32, 88, 89)"),
        ));
    }
    if !expected_service {
        return Err(f.error(
            "service code (3–4)",
            format!("{service:02} is not a service code for record type {record_type:02}"),
        ));
    }
    Ok(match record_type {
        10 => Record::TransmissionStart(TransmissionStart {
            data_transmitter: f.digits(9, 16, "data transmitter (9–16)")?.to_owned(),
            transmission_number: f.digits(17, 23, "transmission number (17–23)")?.to_owned(),
            data_recipient: f.digits(24, 31, "data recipient (24–31)")?.to_owned(),
        }),
        89 => Record::TransmissionEnd(TransmissionEnd {
            transactions: f.number(9, 16, "number of transactions (9–16)")?,
            records: f.number(17, 24, "number of records (17–24)")?,
            total_ore: f.total(25, 41, "total amount (25–41)")?,
            date: f.date_or_none(42, 47, "date (42–47)")?,
        }),
        20 => Record::AssignmentStart(AssignmentStart {
            service_code: service,
            assignment_type: kind,
            agreement_id: f.digits(9, 17, "agreement id (9–17)")?.to_owned(),
            assignment_number: f.digits(18, 24, "assignment number (18–24)")?.to_owned(),
            account: f.digits(25, 35, "assignment account (25–35)")?.to_owned(),
        }),
        88 => Record::AssignmentEnd(AssignmentEnd {
            service_code: service,
            transactions: f.number(9, 16, "number of transactions (9–16)")?,
            records: f.number(17, 24, "number of records (17–24)")?,
            total_ore: f.total(25, 41, "total amount (25–41)")?,
            date: f.date_or_none(42, 47, "date (42–47)")?,
            earliest: f.date_or_none(48, 53, "earliest settlement date (48–53)")?,
            latest: f.date_or_none(54, 59, "latest settlement date (54–59)")?,
        }),
        _ if service == SERVICE_AVTALEGIRO => Record::AvtaleGiro(AvtaleGiroRecord {
            record_type,
            transaction_type: kind,
            transaction_number: f.number(9, 15, "transaction number (9–15)")? as u32,
            amount_ore: if record_type == 30 {
                Some(f.number(33, 49, "amount (33–49)")?)
            } else {
                None
            },
        }),
        30 => Record::AmountItem1(AmountItem1 {
            transaction_type: kind,
            transaction_number: f.number(9, 15, "transaction number (9–15)")? as u32,
            settlement_date: f.date(16, 21, "settlement date (16–21)")?,
            centre_id: f.text(22, 23),
            day_code: f.text(24, 25),
            partial_settlement: f.text(26, 26),
            serial_number: f.text(27, 31),
            negative: match bytes[31] {
                b'-' => true,
                b'0' => false,
                other => {
                    return Err(f.error(
                        "sign (32)",
                        format!("{:?}, expected \"-\" or \"0\"", char::from(other)),
                    ));
                }
            },
            amount_ore: f.number(33, 49, "amount (33–49)")?,
            kid: f.kid()?,
        }),
        31 => Record::AmountItem2(AmountItem2 {
            transaction_type: kind,
            transaction_number: f.number(9, 15, "transaction number (9–15)")? as u32,
            form_number: f.text(16, 25),
            archive_reference: f.text(26, 34),
            filler: f.text(35, 41),
            bank_date: f.date_or_none(42, 47, "bank date (42–47)")?,
            debit_account: f.text(48, 58),
        }),
        _ => Record::AmountItem3(AmountItem3 {
            transaction_type: kind,
            transaction_number: f.number(9, 15, "transaction number (9–15)")? as u32,
            text: f.text(16, 55).trim_end().to_owned(),
        }),
    })
}

/// The fields of one line, read by 1-based inclusive positions.
struct Fields<'a> {
    line: u64,
    record: Option<u8>,
    bytes: &'a [u8],
}

impl Fields<'_> {
    fn error(&self, field: &'static str, message: impl Into<String>) -> Error {
        Error::Ocr {
            line: self.line,
            record: self.record,
            field,
            message: message.into(),
        }
    }

    fn text(&self, from: usize, to: usize) -> String {
        latin1(&self.bytes[from - 1..to])
    }

    fn digits(&self, from: usize, to: usize, field: &'static str) -> Result<&str, Error> {
        let raw = &self.bytes[from - 1..to];
        if !raw.iter().all(u8::is_ascii_digit) {
            return Err(self.error(field, format!("{:?} is not all digits", latin1(raw))));
        }
        // Only ASCII digits: valid UTF-8.
        std::str::from_utf8(raw).map_err(|e| self.error(field, e.to_string()))
    }

    fn number(&self, from: usize, to: usize, field: &'static str) -> Result<u64, Error> {
        let digits = self.digits(from, to, field)?;
        digits
            .parse()
            .map_err(|_| self.error(field, format!("{digits} is out of range")))
    }

    /// A total in øre: digits, or (leniently) a `-` in the first place for a negative net.
    fn total(&self, from: usize, to: usize, field: &'static str) -> Result<i128, Error> {
        if self.bytes[from - 1] == b'-' {
            return Ok(-i128::from(self.number(from + 1, to, field)?));
        }
        Ok(i128::from(self.number(from, to, field)?))
    }

    fn date(&self, from: usize, to: usize, field: &'static str) -> Result<NaiveDate, Error> {
        match self.date_or_none(from, to, field)? {
            Some(date) => Ok(date),
            None => Err(self.error(field, "000000: a date is required here")),
        }
    }

    fn date_or_none(
        &self,
        from: usize,
        to: usize,
        field: &'static str,
    ) -> Result<Option<NaiveDate>, Error> {
        let digits = self.digits(from, to, field)?;
        if digits == "000000" {
            return Ok(None);
        }
        let n = |i: usize| u32::from(digits.as_bytes()[i] - b'0');
        let (day, month, yy) = (n(0) * 10 + n(1), n(2) * 10 + n(3), n(4) * 10 + n(5));
        let year = i32::try_from(century_window(yy)).unwrap_or(i32::MAX);
        NaiveDate::from_ymd_opt(year, month, day)
            .map(Some)
            .ok_or_else(|| {
                self.error(
                    field,
                    format!("{digits} (DDMMYY) is not a date that exists"),
                )
            })
    }

    /// Positions 50–74: right-aligned, blank-padded digits.
    fn kid(&self) -> Result<Option<String>, Error> {
        let field = "KID (50–74)";
        let raw = &self.bytes[49..74];
        let kid = latin1(raw);
        let trimmed = kid.trim_start_matches(' ');
        if trimmed.is_empty() {
            return Ok(None);
        }
        if !trimmed.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.error(
                field,
                format!("{kid:?}: a KID is right-aligned digits, blank-padded"),
            ));
        }
        Ok(Some(trimmed.to_owned()))
    }
}

/// The year of a two-digit OCR year: `00`–`68` are 2000–2068, `69`–`99` are 1969–1999 (the
/// POSIX `strptime` window, the one netsgiro and Python use; Nets' samples date from 1992
/// and 2004).
pub fn century_window(yy: u32) -> u32 {
    if yy <= 68 { 2000 + yy } else { 1900 + yy }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_century_window_is_posix() {
        assert_eq!(century_window(0), 2000);
        assert_eq!(century_window(68), 2068);
        assert_eq!(century_window(69), 1969);
        assert_eq!(century_window(92), 1992);
    }
}
