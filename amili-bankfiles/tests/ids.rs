//! Payment ids: distinct for distinct transactions, the same for the same transaction
//! wherever it is read from, and pinned so that a change of the derivation cannot pass
//! unnoticed (ids already sent to Amili must never change).

mod support;

use std::collections::HashSet;

use amili_bankfiles::camt::CamtReader;
use amili_bankfiles::ocr::OcrReader;
use amili_bankfiles::{Credit, Item, source_id};

fn transaction(item: Item) -> Credit {
    match item {
        Item::Credit(c) => c,
        Item::NotTaken(n) => n.transaction.expect("a transaction"),
    }
}

fn ocr_ids(bytes: &[u8]) -> Vec<String> {
    OcrReader::new(bytes)
        .map(|i| transaction(i.expect("reads")).source_payment_id)
        .collect()
}

fn camt_ids(text: &str) -> Vec<String> {
    CamtReader::new(text.as_bytes())
        .map(|i| transaction(i.expect("reads")).source_payment_id)
        .collect()
}

/// A small deterministic generator (no dependency needed for this).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

/// An OCR file with assignments `first..first + assignments`: agreement ids, assignment
/// numbers, transaction numbers and dates are drawn from few values, so that every part of an
/// id repeats across transactions while the whole never does for distinct transactions (an
/// assignment is one agreement's numbered assignment).
fn ocr_file(rng: &mut Lcg, first: u64, assignments: u64) -> Vec<u8> {
    let mut lines = vec![format!(
        "NY000010000080800000001000123450{}",
        "0".repeat(48)
    )];
    let (mut count, mut total) = (0u64, 0u64);
    for k in first..first + assignments {
        let agreement = format!("{:09}", k % 7);
        let number = format!("{:07}", k / 7);
        lines.push(format!(
            "NY090020{agreement}{number}88888888888{}",
            "0".repeat(45)
        ));
        let n = 1 + rng.next(20);
        let mut sum = 0;
        let mut days = Vec::new();
        for t in 1..=n {
            let day = 1 + rng.next(3);
            days.push(day);
            let ore = 100 * (1 + rng.next(5));
            sum += ore;
            lines.push(format!(
                "NY091030{t:07}{day:02}012402311000420{ore:017}{:>25}000000",
                "12344"
            ));
            lines.push(format!(
                "NY091031{t:07}{}{:09}{}",
                "0".repeat(10),
                1,
                "0".repeat(46)
            ));
        }
        let earliest = days.iter().min().copied().unwrap_or(1);
        let latest = days.iter().max().copied().unwrap_or(1);
        lines.push(format!(
            "NY090088{n:08}{:08}{sum:017}{latest:02}0124{earliest:02}0124{latest:02}0124{}",
            2 * n + 2,
            "0".repeat(21)
        ));
        count += n;
        total += sum;
    }
    let records = lines.len() as u64 + 1;
    lines.push(format!(
        "NY000089{count:08}{records:08}{total:017}010224{}",
        "0".repeat(33)
    ));
    lines.join("\n").into_bytes()
}

#[test]
fn ocr_ids_of_many_generated_transactions_are_distinct() {
    let mut rng = Lcg(7);
    let mut seen = HashSet::new();
    for file in 0..50 {
        for id in ocr_ids(&ocr_file(&mut rng, file * 4, 4)) {
            assert!(id.len() <= source_id::MAX_LEN);
            assert!(seen.insert(id.clone()), "{id} given twice");
        }
    }
    assert!(seen.len() > 1000, "{} transactions", seen.len());
}

#[test]
fn camt_ids_are_distinct_even_for_identical_entries_and_repeated_references() {
    let text = std::fs::read_to_string(support::fixture("camt054-v08.xml")).expect("fixture");
    let start = text.find("<Ntry>").expect("an entry");
    let end = text.rfind("</Ntry>").expect("an entry") + "</Ntry>".len();
    // Every entry three times over: the same AcctSvcrRefs repeat, and so do the entries
    // without one.
    let body = &text[start..end];
    let tripled = format!("{}{body}{body}{body}{}", &text[..start], &text[end..]);
    let ids = camt_ids(&tripled);
    assert_eq!(ids.len(), 3 * 8);
    let distinct: HashSet<_> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "{ids:#?}");
    // The first copy keeps the ids the file alone gives.
    assert_eq!(ids[..8], camt_ids(&text)[..]);
}

#[test]
fn ids_are_pinned() {
    let ocr = std::fs::read(support::fixture("ocr-demo.ocr")).expect("fixture");
    assert_eq!(
        ocr_ids(&ocr)[..2],
        [
            "ocr:001234567:4000086:0000001:20240131",
            "ocr:001234567:4000086:0000002:20240131"
        ]
    );
    let camt = std::fs::read_to_string(support::fixture("camt054-v02.xml")).expect("fixture");
    let ids = camt_ids(&camt);
    assert_eq!(ids[0], "camt:NO9386011117947:NO-TX-0001");
    assert_eq!(
        ids[3],
        "camt:NO9386011117947:h1fce51c0a3d1bf69bb826fd7eb38416e"
    );
}

#[test]
fn the_same_transactions_give_the_same_ids_however_the_file_is_laid_out() {
    // Another place and name, CRLF instead of LF: the same ids.
    let dir = tempfile::tempdir().expect("tempdir");
    let copy = dir.path().join("renamed.txt");
    std::fs::copy(support::fixture("ocr-demo.ocr"), &copy).expect("copy");
    let original = ocr_ids(&std::fs::read(support::fixture("ocr-demo.ocr")).expect("read"));
    let copied = std::fs::read(&copy).expect("read");
    assert_eq!(ocr_ids(&copied), original);
    let lf: Vec<u8> = copied.into_iter().filter(|&b| b != b'\r').collect();
    assert_eq!(ocr_ids(&lf), original);

    // camt without indentation, and in another version: the same ids.
    let pretty = std::fs::read_to_string(support::fixture("camt054-v02.xml")).expect("read");
    let compact: String = pretty.lines().map(str::trim).collect();
    assert_eq!(camt_ids(&compact), camt_ids(&pretty));
    let v08 = std::fs::read_to_string(support::fixture("camt054-v08.xml")).expect("read");
    assert_eq!(camt_ids(&v08), camt_ids(&pretty));
}
