//! The record layer as a stream: every `Ntry` of a camt.053 or camt.054 file, in order.

use std::io::BufRead;

use super::entry::{Entry, read_entry};
use super::xml::{Event, XmlError, XmlReader};
use crate::error::Error;

/// The record layer: every `Ntry` of a camt.053 or camt.054 file, in order, one at a time.
pub struct CamtEntries<R> {
    xml: XmlReader<R>,
    entries: u64,
    account: Option<String>,
    root_checked: bool,
    failed: bool,
}

impl<R: BufRead> CamtEntries<R> {
    /// Reads entries from `reader` (UTF-8 XML).
    pub fn new(reader: R) -> Self {
        CamtEntries {
            xml: XmlReader::new(reader),
            entries: 0,
            account: None,
            root_checked: false,
            failed: false,
        }
    }

    fn error(&self, e: XmlError, entry: Option<u64>) -> Error {
        Error::Camt {
            entry,
            transaction: None,
            path: e.path,
            message: e.message,
        }
    }

    fn next_entry(&mut self) -> Result<Option<Entry>, Error> {
        let mut text = String::new();
        loop {
            let event = self.xml.next().map_err(|e| self.error(e, None))?;
            match event {
                Event::Start { name, .. } => {
                    text.clear();
                    let depth = self.xml.path().len();
                    if depth == 2 && !self.root_checked {
                        self.check_root()?;
                    }
                    if matches!(name.as_str(), "Stmt" | "Ntfctn" | "Rpt") {
                        self.account = None;
                    }
                    if name == "Ntry" && self.in_report(depth - 1) {
                        self.entries += 1;
                        let entry = Entry {
                            number: self.entries,
                            offset: self.xml.offset(),
                            account: self.account.clone(),
                            ..Entry::default()
                        };
                        let number = self.entries;
                        let entry =
                            read_entry(&mut self.xml, entry).map_err(|(e, transaction)| {
                                Error::Camt {
                                    entry: Some(number),
                                    transaction,
                                    path: e.path,
                                    message: e.message,
                                }
                            })?;
                        return Ok(Some(entry));
                    }
                }
                Event::Text(piece) => {
                    if text.len() < 256 {
                        text.push_str(&piece);
                    }
                }
                Event::End => {
                    self.account_id(&text);
                    text.clear();
                }
                Event::Eof => {
                    if !self.root_checked {
                        return Err(Error::Camt {
                            entry: None,
                            transaction: None,
                            path: "(document)".into(),
                            message: "no camt.053 or camt.054 message in the document".into(),
                        });
                    }
                    return Ok(None);
                }
            }
        }
    }

    /// The document must be `Document/BkToCstmrStmt` (camt.053) or
    /// `Document/BkToCstmrDbtCdtNtfctn` (camt.054).
    fn check_root(&mut self) -> Result<(), Error> {
        let path = self.xml.path();
        let ok = path[0] == "Document"
            && matches!(path[1].as_str(), "BkToCstmrStmt" | "BkToCstmrDbtCdtNtfctn");
        if !ok {
            return Err(Error::Camt {
                entry: None,
                transaction: None,
                path: self.xml.path_text(),
                message: "not a camt.053 (Document/BkToCstmrStmt) or camt.054 \
                          (Document/BkToCstmrDbtCdtNtfctn) document"
                    .into(),
            });
        }
        self.root_checked = true;
        Ok(())
    }

    /// Whether the element at `depth` (1-based) is a statement or notification.
    fn in_report(&self, depth: usize) -> bool {
        depth >= 1
            && self
                .xml
                .path()
                .get(depth - 1)
                .is_some_and(|p| matches!(p.as_str(), "Stmt" | "Ntfctn"))
    }

    /// Notes the account of the statement (`Acct/Id/IBAN` or `Acct/Id/Othr/Id`) as its
    /// element ends (the path still holds the ending element).
    fn account_id(&mut self, text: &str) {
        let path = self.xml.path();
        let tail: Vec<&str> = path
            .iter()
            .rev()
            .take(5)
            .rev()
            .map(String::as_str)
            .collect();
        if matches!(
            tail.as_slice(),
            [.., "Stmt" | "Ntfctn", "Acct", "Id", "IBAN"]
                | ["Stmt" | "Ntfctn", "Acct", "Id", "Othr", "Id"]
        ) {
            self.account = Some(text.trim().to_owned());
        }
    }
}

impl<R: BufRead> Iterator for CamtEntries<R> {
    type Item = Result<Entry, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.next_entry() {
            Ok(Some(entry)) => Some(Ok(entry)),
            Ok(None) => {
                self.failed = true;
                None
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}
