//! Flat memory: files of 100,000 transactions (OCR giro, camt.054 with an entry each, and
//! camt.054 with one batch entry of 100,000 details) and a 100 MB text node are read within
//! 64 MiB of peak RSS. One test in its own binary, so that nothing else runs in the process
//! while the peak is measured (Linux: `VmHWM`, reset through `/proc/self/clear_refs`).

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};

use amili_bankfiles::camt::CamtReader;
use amili_bankfiles::ocr::OcrReader;
use amili_bankfiles::{Error, Item};

const TRANSACTIONS: u64 = 100_000;
const LIMIT_KIB: u64 = 64 * 1024;

fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak RSS (Linux)");
}

fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM");
    line.split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("a number")
}

/// Reads every item, keeping only counts.
fn count(items: impl Iterator<Item = Result<Item, Error>>) -> (u64, u64) {
    let (mut credits, mut other) = (0, 0);
    for item in items {
        match item.expect("reads") {
            Item::Credit(_) => credits += 1,
            Item::NotTaken(_) => other += 1,
        }
    }
    (credits, other)
}

fn write_ocr(path: &std::path::Path) {
    let mut out = BufWriter::new(File::create(path).expect("create"));
    let mut line = |text: String| {
        assert_eq!(text.len(), 80, "{text}");
        out.write_all(text.as_bytes()).expect("write");
        out.write_all(b"\r\n").expect("write");
    };
    line(format!(
        "NY000010{}{}{}{}",
        "00008080",
        "0000001",
        "00012345",
        "0".repeat(49)
    ));
    let per_assignment = 10_000;
    let mut total: u64 = 0;
    let mut records = 2;
    for a in 0..TRANSACTIONS / per_assignment {
        line(format!(
            "NY090020{}{:07}{}{}",
            "001234567",
            a + 1,
            "88888888888",
            "0".repeat(45)
        ));
        let mut sum = 0;
        for n in 1..=per_assignment {
            let ore = 10_000 + n;
            sum += ore;
            line(format!(
                "NY091030{n:07}31012402311000420{ore:017}{:>25}000000",
                format!("{:010}", a * per_assignment + n)
            ));
            line(format!(
                "NY091031{n:07}0000000000{:09}0000000000000123456789030000000000000000000000",
                n
            ));
        }
        line(format!(
            "NY090088{per_assignment:08}{:08}{sum:017}310124310124310124{}",
            per_assignment * 2 + 2,
            "0".repeat(21)
        ));
        total += sum;
        records += per_assignment * 2 + 2;
    }
    line(format!(
        "NY000089{TRANSACTIONS:08}{records:08}{total:017}010224{}",
        "0".repeat(33)
    ));
    out.flush().expect("flush");
}

const CAMT_HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>M</MsgId><CreDtTm>2024-02-02T06:00:00</CreDtTm></GrpHdr><Ntfctn><Id>N</Id><Acct><Id><IBAN>NO9386011117947</IBAN></Id></Acct>
"#;
const CAMT_TAIL: &str = "</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>\n";

fn detail(n: u64) -> String {
    format!(
        "<TxDtls><Refs><AcctSvcrRef>TX{n:09}</AcctSvcrRef><EndToEndId>NOTPROVIDED</EndToEndId></Refs>\
         <Amt Ccy=\"NOK\">100.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>\
         <RltdPties><Dbtr><Pty><Nm>Payer number {n}</Nm></Pty></Dbtr></RltdPties>\
         <RmtInf><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>\
         <Ref>{n:010}</Ref></CdtrRefInf></Strd></RmtInf></TxDtls>\n"
    )
}

fn entry_head(amount: &str) -> String {
    format!(
        "<Ntry><Amt Ccy=\"NOK\">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>\
         <BookgDt><Dt>2024-01-31</Dt></BookgDt><BkTxCd/><NtryDtls>"
    )
}

fn write_camt(path: &std::path::Path, batch: bool) {
    let mut out = BufWriter::new(File::create(path).expect("create"));
    out.write_all(CAMT_HEAD.as_bytes()).expect("write");
    if batch {
        out.write_all(entry_head(&format!("{}.00", TRANSACTIONS * 100)).as_bytes())
            .expect("write");
        out.write_all(format!("<Btch><NbOfTxs>{TRANSACTIONS}</NbOfTxs></Btch>").as_bytes())
            .expect("write");
        for n in 0..TRANSACTIONS {
            out.write_all(detail(n).as_bytes()).expect("write");
        }
        out.write_all(b"</NtryDtls></Ntry>\n").expect("write");
    } else {
        for n in 0..TRANSACTIONS {
            out.write_all(entry_head("100.00").as_bytes())
                .expect("write");
            out.write_all(detail(n).as_bytes()).expect("write");
            out.write_all(b"</NtryDtls></Ntry>\n").expect("write");
        }
    }
    out.write_all(CAMT_TAIL.as_bytes()).expect("write");
    out.flush().expect("flush");
}

/// A camt document whose one text node is `size` bytes, made as it is read (never stored).
struct HugeTextNode {
    head: &'static [u8],
    left: u64,
    tail: &'static [u8],
}

impl Read for HugeTextNode {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.head.is_empty() {
            let n = self.head.len().min(buf.len());
            buf[..n].copy_from_slice(&self.head[..n]);
            self.head = &self.head[n..];
            return Ok(n);
        }
        if self.left > 0 {
            let n = (self.left as usize).min(buf.len());
            buf[..n].fill(b'x');
            self.left -= n as u64;
            return Ok(n);
        }
        let n = self.tail.len().min(buf.len());
        buf[..n].copy_from_slice(&self.tail[..n]);
        self.tail = &self.tail[n..];
        Ok(n)
    }
}

#[test]
fn big_files_and_a_huge_text_node_stay_within_64_mib() {
    let dir = tempfile::tempdir().expect("tempdir");

    let ocr = dir.path().join("big.ocr");
    write_ocr(&ocr);
    reset_peak();
    let reader = OcrReader::new(BufReader::new(File::open(&ocr).expect("open")));
    assert_eq!(count(reader), (TRANSACTIONS, 0));
    let ocr_peak = peak_kib();

    let camt = dir.path().join("big-entries.xml");
    write_camt(&camt, false);
    reset_peak();
    let reader = CamtReader::new(BufReader::new(File::open(&camt).expect("open")));
    assert_eq!(count(reader), (TRANSACTIONS, 0));
    let entries_peak = peak_kib();

    let batch = dir.path().join("big-batch.xml");
    write_camt(&batch, true);
    reset_peak();
    let reader = CamtReader::new(BufReader::new(File::open(&batch).expect("open")));
    assert_eq!(count(reader), (TRANSACTIONS, 0));
    let batch_peak = peak_kib();

    reset_peak();
    let huge = HugeTextNode {
        head: b"<Document><BkToCstmrDbtCdtNtfctn><Ntfctn><Ntry><AddtlNtryInf>",
        left: 100 * 1024 * 1024,
        tail: b"</AddtlNtryInf></Ntry></Ntfctn></BkToCstmrDbtCdtNtfctn></Document>",
    };
    let result: Result<Vec<Item>, Error> = CamtReader::new(BufReader::new(huge)).collect();
    let huge_peak = peak_kib();
    let message = result.expect_err("refused").to_string();
    assert!(message.contains("longer than 1048576 bytes"), "{message}");
    assert!(message.contains("AddtlNtryInf"), "{message}");

    let peaks = [
        ("OCR giro, 100,000 transactions", ocr_peak),
        ("camt.054, 100,000 entries", entries_peak),
        ("camt.054, one batch of 100,000 details", batch_peak),
        ("camt, a 100 MB text node", huge_peak),
    ];
    for (what, peak) in peaks {
        assert!(
            peak < LIMIT_KIB,
            "{what}: peak RSS {peak} KiB, the limit is {LIMIT_KIB} KiB"
        );
    }
    eprintln!("peak RSS (KiB): {peaks:?}");
}
