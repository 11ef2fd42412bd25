//! The OCR giro reader on the hand-made fixtures and on every way a file can be wrong.

mod support;

use std::io::Cursor;

use amili_bankfiles::ocr::records::Record;
use amili_bankfiles::ocr::{OcrReader, OcrRecords};
use amili_bankfiles::{Error, Item, Position, Reason, ReferenceKind, Warning, read_checked};
use rust_decimal::Decimal;

fn fixture_text(name: &str) -> Vec<u8> {
    std::fs::read(support::fixture(name)).expect("fixture")
}

fn items(bytes: &[u8]) -> Result<Vec<Item>, Error> {
    OcrReader::new(bytes).collect()
}

fn lines(name: &str) -> Vec<String> {
    // ISO-8859-1: one byte, one char.
    let bytes = fixture_text(name);
    let text: String = bytes.iter().map(|&b| char::from(b)).collect();
    text.lines().map(str::to_owned).collect()
}

fn join(lines: &[String]) -> Vec<u8> {
    lines
        .join("\n")
        .chars()
        .map(|c| u8::try_from(u32::from(c)).expect("Latin-1"))
        .collect()
}

#[test]
fn the_demo_file_gives_credits_and_says_what_it_did_not_take() {
    let items = items(&fixture_text("ocr-demo.ocr")).expect("reads");
    assert_eq!(items.len(), 7);
    let credit = |i: usize| match &items[i] {
        Item::Credit(c) => c.clone(),
        other => panic!("item {i} is not a credit: {other:?}"),
    };
    let not_taken = |i: usize| match &items[i] {
        Item::NotTaken(n) => n.clone(),
        other => panic!("item {i} is a credit: {other:?}"),
    };
    let first = credit(0);
    assert_eq!(first.amount, Decimal::new(150050, 2));
    assert_eq!(first.currency, "NOK");
    assert_eq!(first.booking_date.to_string(), "2024-01-31");
    let reference = first.reference.clone().expect("a KID");
    assert_eq!(
        (reference.kind, reference.value.as_str()),
        (ReferenceKind::Kid, "12344")
    );
    assert_eq!(first.bank_reference.as_deref(), Some("000000101"));
    assert_eq!(first.position, Position::Ocr { line: 3 });
    assert_eq!(
        first.source_payment_id,
        "ocr:001234567:4000086:0000001:20240131"
    );
    assert!(first.warnings.is_empty());
    assert!(credit(1).warnings.is_empty(), "12343 is a valid MOD11 KID");
    assert_eq!(credit(2).warnings, vec![Warning::KidCheckDigit]);
    assert_eq!(credit(2).amount, Decimal::new(25000, 0));

    let negative = not_taken(3);
    assert_eq!(negative.reason, Reason::Reversal);
    assert_eq!(
        negative.transaction.expect("read").amount,
        Decimal::new(-100, 0)
    );
    assert_eq!(not_taken(4).reason, Reason::Reversal, "type 18 reverses");
    let no_kid = not_taken(5);
    assert_eq!(no_kid.reason, Reason::NoReference);
    assert_eq!(
        no_kid.transaction.expect("read").text.as_deref(),
        Some("Kjøp på Ærlig Ås"),
        "record 32 is ISO-8859-1"
    );
    let zero_padded = credit(6);
    assert_eq!(
        zero_padded.reference.expect("KID").value,
        "0000000000000000000012344"
    );
}

#[test]
fn lf_line_ends_and_no_final_newline_read_alike() {
    let items = items(&fixture_text("ocr-lf-no-final-newline.ocr")).expect("reads");
    assert_eq!(items.len(), 1);
    let Item::Credit(credit) = &items[0] else {
        panic!("{items:?}")
    };
    assert_eq!(credit.amount, Decimal::new(4200, 2));
    // The same text with CRLF and a final newline gives the same items.
    let crlf = join(&lines("ocr-lf-no-final-newline.ocr"))
        .split(|&b| b == b'\n')
        .flat_map(|line| line.iter().copied().chain(*b"\r\n"))
        .collect::<Vec<u8>>();
    assert_eq!(self::items(&crlf).expect("reads"), items);
}

#[test]
fn avtalegiro_assignments_are_checked_and_skipped_with_a_reason() {
    let items = items(&fixture_text("ocr-with-avtalegiro.ocr")).expect("reads");
    assert_eq!(items.len(), 2, "{items:?}");
    assert!(matches!(items[0], Item::Credit(_)));
    let Item::NotTaken(skipped) = &items[1] else {
        panic!("{items:?}")
    };
    assert_eq!(skipped.reason, Reason::AvtaleGiro { transactions: 1 });
    assert_eq!(skipped.position, Position::Ocr { line: 6 });
}

#[test]
fn the_record_layer_says_what_each_line_says() {
    let records: Vec<_> = OcrRecords::new(&fixture_text("ocr-demo.ocr")[..])
        .collect::<Result<_, _>>()
        .expect("reads");
    assert_eq!(records.len(), 21);
    let Record::AmountItem1(item) = &records[2].record else {
        panic!("{:?}", records[2])
    };
    assert_eq!(records[2].line, 3);
    assert_eq!(item.amount_ore, 150050);
    assert_eq!(item.serial_number, "00042");
    let Record::AssignmentEnd(end) = &records[10].record else {
        panic!("{:?}", records[10])
    };
    assert_eq!((end.transactions, end.records), (4, 10));
    assert_eq!(end.total_ore, 150050 + 99900 + 2500000 - 10000);
}

/// The demo file with one field of one line replaced (1-based inclusive positions).
fn with_field(line: usize, from: usize, value: &str) -> Vec<u8> {
    let mut lines = lines("ocr-demo.ocr");
    let target = &mut lines[line - 1];
    let mut chars: Vec<char> = target.chars().collect();
    for (i, c) in value.chars().enumerate() {
        chars[from - 1 + i] = c;
    }
    *target = chars.into_iter().collect();
    join(&lines)
}

fn control_error(bytes: &[u8]) -> (u64, u8, &'static str) {
    match items(bytes) {
        Err(Error::Control {
            line,
            record,
            figure,
            ..
        }) => (line, record, figure),
        other => panic!("expected a control figure error, got {other:?}"),
    }
}

#[test]
fn every_control_figure_wrong_in_turn_is_refused_naming_record_and_figure() {
    // Line 11 is the first assignment's 88, line 21 the transmission's 89.
    let cases = [
        (11, 9, "00000005", 88, "number of transactions (9–16)"),
        (11, 17, "00000011", 88, "number of records (17–24)"),
        (
            11,
            25,
            "00000000002639951",
            88,
            "total amount in øre (25–41)",
        ),
        (11, 48, "290124", 88, "earliest settlement date (48–53)"),
        (11, 54, "300124", 88, "latest settlement date (54–59)"),
        (21, 9, "00000008", 89, "number of transactions (9–16)"),
        (21, 17, "00000022", 89, "number of records (17–24)"),
        (
            21,
            25,
            "00000000002664950",
            89,
            "total amount in øre (25–41)",
        ),
    ];
    for (line, from, value, record, figure) in cases {
        let bytes = with_field(line, from, value);
        assert_eq!(
            control_error(&bytes),
            (line as u64, record, figure),
            "{value} at line {line} position {from}"
        );
        let message = read_checked(Cursor::new(bytes))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            message.contains(figure) && message.contains("refused whole"),
            "{message}"
        );
    }
    // Transaction numbers in sequence: the second transaction numbered 3 (30 and 31).
    let mut lines = lines("ocr-demo.ocr");
    lines[4].replace_range(8..15, "0000003");
    lines[5].replace_range(8..15, "0000003");
    assert_eq!(
        control_error(&join(&lines)),
        (5, 30, "transaction number (9–15)")
    );
}

#[test]
fn a_file_that_does_not_add_up_gives_nothing_through_read_checked() {
    let bytes = with_field(21, 25, "00000000000000001");
    // Streaming: the credits before the bad end record come first, then the error.
    let streamed: Vec<_> = OcrReader::new(&bytes[..]).collect();
    assert!(streamed.first().is_some_and(Result::is_ok));
    assert!(streamed.last().is_some_and(Result::is_err));
    // Checked: refused before anything is taken.
    assert!(matches!(
        read_checked(Cursor::new(bytes)),
        Err(Error::Control { record: 89, .. })
    ));
}

fn ocr_error(bytes: &[u8]) -> (u64, Option<u8>, &'static str, String) {
    match items(bytes) {
        Err(Error::Ocr {
            line,
            record,
            field,
            message,
        }) => (line, record, field, message),
        other => panic!("expected an OCR format error, got {other:?}"),
    }
}

#[test]
fn truncated_files_are_refused() {
    let all = lines("ocr-demo.ocr");
    for keep in [1, 5, 11, 20] {
        let (line, _, field, message) = ocr_error(&join(&all[..keep]));
        assert_eq!((line, field), (keep as u64, "end of file"), "{message}");
        assert!(message.contains("truncated"), "{message}");
    }
    // Cut inside a record.
    let mut bytes = join(&all);
    bytes.truncate(bytes.len() - 30);
    let (line, _, field, message) = ocr_error(&bytes);
    assert_eq!((line, field), (21, "line length"), "{message}");
    assert!(items(b"").is_err(), "an empty file is not a transmission");
}

#[test]
fn records_of_79_or_81_characters_are_refused() {
    let mut short = lines("ocr-demo.ocr");
    short[2].pop();
    let (line, _, field, message) = ocr_error(&join(&short));
    assert_eq!((line, field), (3, "line length"));
    assert!(message.contains("79 characters"), "{message}");

    let mut long = lines("ocr-demo.ocr");
    long[2].push('0');
    let (line, _, field, message) = ocr_error(&join(&long));
    assert_eq!((line, field), (3, "line length"));
    assert!(message.contains("81 characters"), "{message}");

    // A very long line is refused without reading it all.
    let mut huge = lines("ocr-demo.ocr");
    huge[2].push_str(&"0".repeat(1_000_000));
    let (_, _, field, message) = ocr_error(&join(&huge));
    assert_eq!(field, "line length", "{message}");
}

#[test]
fn unknown_record_types_and_misplaced_records_are_refused() {
    let (line, record, field, message) = ocr_error(&with_field(3, 7, "33"));
    assert_eq!((line, record, field), (3, Some(33), "record type (7–8)"));
    assert!(message.contains("not an OCR giro record type"), "{message}");

    let (_, _, field, _) = ocr_error(&with_field(3, 1, "XY"));
    assert_eq!(field, "format code (1–2)");
    let (_, _, field, _) = ocr_error(&with_field(3, 3, "07"));
    assert_eq!(field, "service code (3–4)");
    let (_, _, field, message) = ocr_error(&with_field(3, 5, "99"));
    assert_eq!(field, "transaction type (5–6)", "{message}");

    // A 31 without its 30, a 32 for a type that has none, a 31 of another transaction.
    let mut lines = lines("ocr-demo.ocr");
    lines.remove(2);
    let (line, _, field, message) = ocr_error(&join(&lines));
    assert_eq!((line, field), (3, "record type (7–8)"), "{message}");
    let mut with_32 = self::lines("ocr-demo.ocr");
    with_32.insert(
        4,
        format!("NY091032{}{:<40}{}", "0000001", "text", "0".repeat(25)),
    );
    let (line, _, field, message) = ocr_error(&join(&with_32));
    assert_eq!((line, field), (5, "transaction type (5–6)"), "{message}");
    let (_, _, field, _) = ocr_error(&with_field(4, 9, "0000009"));
    assert_eq!(field, "transaction number (9–15)");
    // Anything after the end of transmission.
    let mut after = self::lines("ocr-demo.ocr");
    after.push(after[2].clone());
    let (line, _, _, message) = ocr_error(&join(&after));
    assert_eq!(line, 22, "{message}");
}

#[test]
fn amounts_that_overflow_the_control_total_are_refused() {
    // Two amounts of 17 nines each: their sum has 18 digits.
    let mut lines = lines("ocr-demo.ocr");
    lines[2].replace_range(32..49, "99999999999999999");
    lines[4].replace_range(32..49, "99999999999999999");
    let (line, record, field, message) = ocr_error(&join(&lines));
    assert_eq!((line, record, field), (5, Some(30), "amount (33–49)"));
    assert!(message.contains("overflow"), "{message}");
    // Non-digits in the amount.
    let (_, _, field, _) = ocr_error(&with_field(3, 40, "1x"));
    assert_eq!(field, "amount (33–49)");
    let (_, _, field, _) = ocr_error(&with_field(3, 32, "+"));
    assert_eq!(field, "sign (32)");
}

#[test]
fn dates_that_do_not_exist_are_refused() {
    for date in ["310224", "290223", "001224", "321224", "011324"] {
        let (line, _, field, message) = ocr_error(&with_field(3, 16, date));
        assert_eq!((line, field), (3, "settlement date (16–21)"), "{date}");
        assert!(message.contains("not a date that exists"), "{message}");
    }
    // 29 February exists in a leap year.
    assert!(matches!(
        items(&with_field(3, 16, "290224")),
        Err(Error::Control { .. })
    ));
    // A required date of zeros.
    let (_, _, field, _) = ocr_error(&with_field(3, 16, "000000"));
    assert_eq!(field, "settlement date (16–21)");
    // The bank date of record 31 may be zeros, but not a false date.
    let (_, _, field, _) = ocr_error(&with_field(4, 42, "300224"));
    assert_eq!(field, "bank date (42–47)");
}

#[test]
fn a_bad_kid_field_is_refused() {
    let (_, _, field, _) = ocr_error(&with_field(3, 60, "12A"));
    assert_eq!(field, "KID (50–74)");
}
