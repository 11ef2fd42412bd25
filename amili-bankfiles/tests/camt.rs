//! The camt reader on the fixtures (the same entries in three versions) and on every way a
//! file can be wrong or hostile.

mod support;

use std::io::Cursor;

use amili_bankfiles::camt::{CamtEntries, CamtReader};
use amili_bankfiles::{Error, Item, Position, Reason, ReferenceKind, read, read_checked};
use rust_decimal::Decimal;

const FIXTURES: [&str; 3] = ["camt054-v02.xml", "camt054-v08.xml", "camt053-v02.xml"];

fn fixture(name: &str) -> String {
    std::fs::read_to_string(support::fixture(name)).expect("fixture")
}

fn items(text: &str) -> Result<Vec<Item>, Error> {
    CamtReader::new(text.as_bytes()).collect()
}

fn camt_error(text: &str) -> (Option<u64>, Option<u64>, String, String) {
    match items(text) {
        Err(Error::Camt {
            entry,
            transaction,
            path,
            message,
        }) => (entry, transaction, path, message),
        other => panic!("expected a camt error, got {other:?}"),
    }
}

#[test]
fn every_version_gives_the_same_credits_and_reasons() {
    let mut views = Vec::new();
    for name in FIXTURES {
        let items = items(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let view: Vec<String> = items
            .iter()
            .map(|item| match item {
                Item::Credit(c) => format!(
                    "credit {} {} {} {:?} {} {:?} {:?} {}",
                    c.position,
                    c.amount,
                    c.currency,
                    c.reference,
                    c.booking_date,
                    c.payer,
                    c.bank_reference,
                    c.source_payment_id
                ),
                Item::NotTaken(n) => format!(
                    "not taken {} {:?} {:?}",
                    n.position,
                    n.reason,
                    n.transaction
                        .as_ref()
                        .map(|t| (t.amount, &t.source_payment_id))
                ),
            })
            .collect();
        views.push(view);
    }
    assert_eq!(views[0], views[1], "camt.054 .02 and .08");
    assert_eq!(views[0], views[2], "camt.054 and camt.053");

    let items = items(&fixture("camt054-v08.xml")).expect("reads");
    assert_eq!(items.len(), 8, "{items:#?}");
    let Item::Credit(first) = &items[0] else {
        panic!("{items:#?}")
    };
    assert_eq!(first.amount, Decimal::new(150050, 2));
    assert_eq!(first.currency, "NOK");
    assert_eq!(first.booking_date.to_string(), "2024-01-31");
    assert_eq!(first.payer.as_deref(), Some("Ola Nordmann"));
    assert_eq!(first.bank_reference.as_deref(), Some("NO-TX-0001"));
    assert_eq!(
        first.reference.as_ref().map(|r| &r.kind),
        Some(&ReferenceKind::Kid)
    );
    assert_eq!(first.source_payment_id, "camt:NO9386011117947:NO-TX-0001");
    assert_eq!(
        first.position,
        Position::Camt {
            entry: 1,
            transaction: 1
        }
    );

    // The batch: one credit per detail.
    let batch: Vec<_> = items[1..4]
        .iter()
        .map(|i| match i {
            Item::Credit(c) => c.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        batch.iter().map(|c| c.amount).sum::<Decimal>(),
        Decimal::new(3000, 0)
    );
    assert_eq!(
        batch[1].reference.as_ref().map(|r| &r.kind),
        Some(&ReferenceKind::Rf)
    );
    assert_eq!(
        batch[2].position,
        Position::Camt {
            entry: 2,
            transaction: 3
        }
    );
    assert!(
        batch[2]
            .source_payment_id
            .starts_with("camt:NO9386011117947:h"),
        "no transaction AcctSvcrRef: a digest ({})",
        batch[2].source_payment_id
    );
    assert_eq!(batch[2].bank_reference.as_deref(), Some("NO-NTRY-2"));

    let reasons: Vec<_> = items[4..]
        .iter()
        .map(|i| match i {
            Item::NotTaken(n) => n.reason.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        reasons,
        [
            Reason::Reversal,
            Reason::Debit,
            Reason::NotBooked("PDNG".into()),
            Reason::NoReference
        ]
    );
    let Item::NotTaken(no_reference) = &items[7] else {
        unreachable!()
    };
    let transaction = no_reference.transaction.as_ref().expect("read");
    assert_eq!(transaction.text.as_deref(), Some("Faktura 1001"));
    assert_eq!(transaction.payer.as_deref(), Some("Åse Ærlig"));
}

#[test]
fn the_record_layer_says_what_each_entry_says() {
    let entries: Vec<_> = CamtEntries::new(fixture("camt054-v02.xml").as_bytes())
        .collect::<Result<_, _>>()
        .expect("reads");
    assert_eq!(entries.len(), 6);
    let batch = &entries[1];
    assert_eq!(batch.number, 2);
    assert_eq!(batch.account.as_deref(), Some("NO9386011117947"));
    assert_eq!(batch.batch_transactions.as_deref(), Some("3"));
    assert_eq!(batch.details.len(), 3);
    assert_eq!(
        batch.details[0].transaction_amount().map(|a| a.value),
        Some("1000.00".to_owned())
    );
    assert_eq!(batch.details[1].reference_issuer(), Some("ISO"));
    assert_eq!(batch.details[2].debtor_name(), Some("Per Hansen"));
    assert_eq!(entries[2].reversal.as_deref(), Some("true"));
    assert_eq!(entries[4].status.as_deref(), Some("PDNG"));
}

#[test]
fn a_batch_whose_details_do_not_add_up_is_refused_with_both_figures() {
    let text = fixture("camt054-v08.xml").replace(
        "<Amt Ccy=\"NOK\">3000.00</Amt>",
        "<Amt Ccy=\"NOK\">3000.01</Amt>",
    );
    let items = items(&text).expect("reads");
    let refused: Vec<_> = items
        .iter()
        .filter_map(|i| match i {
            Item::NotTaken(n) if matches!(n.reason, Reason::DetailsDoNotAddUp { .. }) => Some(n),
            _ => None,
        })
        .collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(
        refused[0].reason,
        Reason::DetailsDoNotAddUp {
            entry: Decimal::new(300001, 2),
            details: Decimal::new(300000, 2)
        }
    );
    assert_eq!(
        refused[0].position,
        Position::Camt {
            entry: 2,
            transaction: 0
        }
    );
    let message = refused[0].reason.to_string();
    assert!(
        message.contains("3000.00") && message.contains("3000.01"),
        "{message}"
    );
    // None of the batch's details is taken.
    assert_eq!(items.len(), 8 - 3 + 1);
}

#[test]
fn a_batch_count_that_differs_from_its_details_is_an_error() {
    let text = fixture("camt054-v02.xml").replace("<NbOfTxs>3</NbOfTxs>", "<NbOfTxs>4</NbOfTxs>");
    let (entry, _, path, message) = camt_error(&text);
    assert_eq!(
        (entry, path.as_str()),
        (Some(2), "Ntry/NtryDtls/Btch/NbOfTxs")
    );
    assert!(message.contains('4') && message.contains('3'), "{message}");
}

#[test]
fn amounts_with_too_many_decimals_or_digits_are_refused() {
    let text = fixture("camt054-v08.xml").replace(">1500.50<", ">1500.505<");
    let (entry, transaction, path, message) = camt_error(&text);
    assert_eq!((entry, transaction), (Some(1), None));
    assert_eq!(path, "Ntry/Amt");
    assert!(message.contains("3 decimals, NOK has 2"), "{message}");

    let text = fixture("camt054-v08.xml").replace(">1000.00<", ">1000.001<");
    let (entry, transaction, path, _) = camt_error(&text);
    assert_eq!(
        (entry, transaction, path.as_str()),
        (Some(2), Some(1), "TxDtls/Amt")
    );

    for bad in [
        "1e3",
        "-5.00",
        "1,00",
        "",
        "12.",
        "123456789012345678901234567890",
    ] {
        let text = fixture("camt054-v08.xml").replace(">1500.50<", &format!(">{bad}<"));
        let (_, _, path, message) = camt_error(&text);
        assert_eq!(path, "Ntry/Amt", "{bad}: {message}");
    }
    let text = fixture("camt054-v08.xml").replace("Ccy=\"NOK\">1500.50", "Ccy=\"XYZ\">1500.50");
    let (_, _, path, _) = camt_error(&text);
    assert_eq!(path, "Ntry/Amt/@Ccy");
}

#[test]
fn missing_or_wrong_entry_fields_name_the_entry_and_element() {
    let text = fixture("camt054-v02.xml").replacen(
        "<CdtDbtInd>CRDT</CdtDbtInd>",
        "<CdtDbtInd>CRED</CdtDbtInd>",
        1,
    );
    let (entry, _, path, _) = camt_error(&text);
    assert_eq!((entry, path.as_str()), (Some(1), "Ntry/CdtDbtInd"));
    let text = fixture("camt054-v02.xml").replacen("<Dt>2024-01-31</Dt>", "<Dt>2024-02-30</Dt>", 1);
    let (entry, _, path, message) = camt_error(&text);
    assert_eq!(
        (entry, path.as_str()),
        (Some(1), "Ntry/BookgDt"),
        "{message}"
    );
}

#[test]
fn booking_date_falls_back_to_the_value_date() {
    let text = fixture("camt054-v02.xml").replacen(
        "<BookgDt>\n          <Dt>2024-01-31</Dt>\n        </BookgDt>\n        <ValDt>\n          <Dt>2024-01-31</Dt>",
        "<ValDt>\n          <Dt>2024-01-29</Dt>",
        1,
    );
    let Item::Credit(first) = &items(&text).expect("reads")[0] else {
        panic!()
    };
    assert_eq!(first.booking_date.to_string(), "2024-01-29");
}

#[test]
fn an_entity_expansion_bomb_is_refused_without_expanding() {
    let bomb = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"><BkToCstmrDbtCdtNtfctn><Ntfctn><Ntry><AddtlNtryInf>&lol3;</AddtlNtryInf></Ntry></Ntfctn></BkToCstmrDbtCdtNtfctn></Document>"#;
    let (_, _, path, message) = camt_error(bomb);
    assert_eq!(path, "(document)");
    assert!(message.contains("DOCTYPE"), "{message}");
    // An external entity is refused the same way (nothing is fetched).
    let external = r#"<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><Document>&x;</Document>"#;
    assert!(camt_error(external).3.contains("DOCTYPE"));
    // An entity used without a DTD is not defined.
    let undefined = fixture("camt054-v02.xml").replace("Ola Nordmann", "&lol3;");
    let (entry, _, _, message) = camt_error(&undefined);
    assert_eq!(entry, Some(1));
    assert!(message.contains("&lol3; is not defined"), "{message}");
}

#[test]
fn predefined_entities_and_character_references_are_read() {
    let text =
        fixture("camt054-v02.xml").replace("Ola Nordmann", "Ola &amp; Kari &#216;stby &lt;AS&gt;");
    let Item::Credit(first) = &items(&text).expect("reads")[0] else {
        panic!()
    };
    assert_eq!(first.payer.as_deref(), Some("Ola & Kari Østby <AS>"));
}

#[test]
fn deep_nesting_is_refused() {
    let deep = format!(
        "<Document><BkToCstmrDbtCdtNtfctn>{}{}</BkToCstmrDbtCdtNtfctn></Document>",
        "<a>".repeat(100),
        "</a>".repeat(100)
    );
    let (_, _, _, message) = camt_error(&deep);
    assert!(message.contains("nested deeper than 64"), "{message}");
}

#[test]
fn broken_and_foreign_documents_are_refused() {
    let text = fixture("camt054-v08.xml");
    let truncated = &text[..text.len() / 2];
    let (_, _, _, message) = camt_error(truncated);
    assert!(
        message.contains("truncated") || message.contains("ends inside"),
        "{message}"
    );
    let (_, _, _, message) = camt_error("<Document><pain.001/></Document>");
    assert!(message.contains("not a camt.053"), "{message}");
    let mismatched = text.replacen("</Sts>", "</Status>", 1);
    let (_, _, _, message) = camt_error(&mismatched);
    assert!(message.contains("not well-formed"), "{message}");
}

#[test]
fn the_format_is_told_from_the_first_bytes() {
    let camt = fixture("camt053-v02.xml");
    let items = read(camt.as_bytes()).expect("camt");
    assert_eq!(items.format(), amili_bankfiles::Format::Camt);
    assert_eq!(items.count(), 8);
    let with_bom = format!("\u{feff}{camt}");
    assert_eq!(
        read(with_bom.as_bytes()).expect("camt").format(),
        amili_bankfiles::Format::Camt
    );
    assert!(matches!(read(&b"hello"[..]), Err(Error::UnknownFormat)));
    // Checked reading refuses a file broken at its end before yielding anything.
    let broken = camt.replace("</BkToCstmrStmt>", "</BkToCstmrStmtX>");
    assert!(read_checked(Cursor::new(broken)).is_err());
    assert_eq!(read_checked(Cursor::new(camt)).expect("reads").count(), 8);
}

#[test]
fn several_entry_detail_groups_are_one_batch_that_must_add_up() {
    // .02 allows several NtryDtls in one entry, each with its own Btch count.
    let text = fixture("camt054-v02.xml").replacen(
        "</TxDtls>\n          <TxDtls>",
        "</TxDtls>\n        </NtryDtls>\n        <NtryDtls>\n          <TxDtls>",
        1,
    );
    assert_ne!(text, fixture("camt054-v02.xml"));
    let entries: Vec<_> = CamtEntries::new(text.as_bytes())
        .collect::<Result<_, _>>()
        .expect("reads");
    assert_eq!((entries[1].detail_groups, entries[1].details.len()), (2, 3));
    let credits = items(&text)
        .expect("reads")
        .into_iter()
        .filter(|i| matches!(i, Item::Credit(_)))
        .count();
    assert_eq!(credits, 4);
}

#[test]
fn a_proprietary_status_is_not_booked() {
    let text = fixture("camt054-v08.xml").replacen("<Cd>BOOK</Cd>", "<Prtry>HELD</Prtry>", 1);
    let Item::NotTaken(first) = &items(&text).expect("reads")[0] else {
        panic!()
    };
    assert_eq!(first.reason, Reason::NotBooked("HELD".into()));
}

#[test]
fn an_xml_error_inside_a_detail_names_the_entry_and_the_detail() {
    let text = fixture("camt054-v02.xml").replace("Per Hansen", "Per &nbsp; Hansen");
    let (entry, transaction, path, message) = camt_error(&text);
    assert_eq!((entry, transaction), (Some(2), Some(3)), "{message}");
    assert!(
        path.ends_with("Ntry/NtryDtls/TxDtls/RltdPties/Dbtr/Nm"),
        "{path}"
    );
}
