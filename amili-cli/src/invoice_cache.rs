//! The invoice ids found for invoice numbers and `uniqueSourceInvoiceId`s, kept across runs in
//! `invoice-ids.jsonl` next to the SQLite ledger (for a PostgreSQL ledger, in the default
//! state folder), so that sending a file again does not look its references up again.
//!
//! Only found answers are kept: "no invoice matches" and "more than one" are asked again on
//! every run (the invoice may be created later), and so is every look-up that failed. An
//! answer is used for [`LIFETIME_DAYS`] days after it was found, then asked again: Amili
//! rarely changes the invoice a number names, but may. Deleting the file clears it; a file
//! that cannot be read or written is a note, never the run's failure. Answers are kept per
//! API URL and organization.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use amili_payments::Uuid;
use amili_payments::invoices::InvoiceRef;

/// How long a found invoice id is used without asking Amili again.
pub const LIFETIME_DAYS: u64 = 30;

const FILE_NAME: &str = "invoice-ids.jsonl";

/// One line of the file.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    /// API URL and organization.
    target: String,
    field: String,
    reference: String,
    invoice_id: Uuid,
    /// Unix seconds.
    found_at: u64,
}

/// The cache file of one run, for one target.
#[derive(Debug)]
pub struct InvoiceCache {
    path: PathBuf,
    target: String,
    /// This target's answers still within their lifetime.
    found: HashMap<InvoiceRef, (Uuid, u64)>,
    /// Other targets' lines within their lifetime, written back as they were.
    others: Vec<Entry>,
}

impl InvoiceCache {
    /// The cache next to the ledger `--state` names (`None`: the default state folder).
    pub fn for_state(state: Option<&str>, target: &str) -> anyhow::Result<InvoiceCache> {
        let ledger = match state.filter(|s| !crate::state::is_postgres_url(s)) {
            Some(file) => crate::state::state_path(Some(Path::new(file)))?,
            None => crate::state::state_path(None)?,
        };
        let folder = ledger.parent().unwrap_or(Path::new("."));
        Self::open(&folder.join(FILE_NAME), target)
    }

    /// Reads `path` (missing: empty); lines that cannot be read are dropped.
    fn open(path: &Path, target: &str) -> anyhow::Result<InvoiceCache> {
        let mut cache = InvoiceCache {
            path: path.to_path_buf(),
            target: target.to_owned(),
            found: HashMap::new(),
            others: Vec::new(),
        };
        let file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(cache),
            Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
        };
        let oldest = now().saturating_sub(LIFETIME_DAYS * 24 * 3600);
        for line in std::io::BufReader::new(file).lines() {
            let line = line.map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
            let Ok(entry) = serde_json::from_str::<Entry>(&line) else {
                continue;
            };
            if entry.found_at < oldest {
                continue;
            }
            if entry.target != target {
                cache.others.push(entry);
                continue;
            }
            if let Some(reference) = reference(&entry.field, entry.reference) {
                cache
                    .found
                    .insert(reference, (entry.invoice_id, entry.found_at));
            }
        }
        Ok(cache)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The invoice id found earlier for `reference`.
    pub fn get(&self, reference: &InvoiceRef) -> Option<Uuid> {
        self.found.get(reference).map(|(id, _)| *id)
    }

    /// Keeps a found answer (an invoice id given as such is not a look-up worth keeping).
    pub fn insert(&mut self, reference: &InvoiceRef, invoice_id: Uuid) {
        if !matches!(reference, InvoiceRef::Id(_)) {
            self.found.insert(reference.clone(), (invoice_id, now()));
        }
    }

    /// Writes the file anew (a copy renamed over it: a crash leaves the old one whole).
    pub fn save(&self) -> anyhow::Result<()> {
        let folder = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(folder)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", folder.display()))?;
        let mut file = tempfile::NamedTempFile::new_in(folder)
            .map_err(|e| anyhow::anyhow!("cannot write in {}: {e}", folder.display()))?;
        let ours = self.found.iter().filter_map(|(reference, (id, at))| {
            let (field, text) = match reference {
                InvoiceRef::Number(text) => ("invoiceNumber", text),
                InvoiceRef::SourceId(text) => ("uniqueSourceInvoiceId", text),
                InvoiceRef::Id(_) => return None,
            };
            Some(Entry {
                target: self.target.clone(),
                field: field.to_owned(),
                reference: text.clone(),
                invoice_id: *id,
                found_at: *at,
            })
        });
        let mut out = std::io::BufWriter::new(file.as_file_mut());
        for entry in self.others.iter().cloned().chain(ours) {
            serde_json::to_writer(&mut out, &entry)?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
        drop(out);
        file.persist(&self.path)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {}", self.path.display(), e.error))?;
        Ok(())
    }
}

fn reference(field: &str, text: String) -> Option<InvoiceRef> {
    match field {
        "invoiceNumber" => Some(InvoiceRef::Number(text)),
        "uniqueSourceInvoiceId" => Some(InvoiceRef::SourceId(text)),
        _ => None,
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_kept_per_target_and_expire() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let number = InvoiceRef::Number("INV-1".into());
        let id = Uuid::from_u128(7);
        let mut cache = InvoiceCache::open(&path, "a").unwrap();
        cache.insert(&number, id);
        cache.insert(&InvoiceRef::Id(id), id);
        cache.save().unwrap();
        let mut other = InvoiceCache::open(&path, "b").unwrap();
        assert_eq!(other.get(&number), None, "another target's answer");
        other.insert(&InvoiceRef::SourceId("S".into()), Uuid::from_u128(8));
        other.save().unwrap();
        let cache = InvoiceCache::open(&path, "a").unwrap();
        assert_eq!(cache.get(&number), Some(id));
        assert_eq!(cache.found.len(), 1, "an invoice id is not kept");

        // An answer older than the lifetime is not used, and a broken line is skipped.
        let old = Entry {
            target: "a".into(),
            field: "invoiceNumber".into(),
            reference: "INV-OLD".into(),
            invoice_id: id,
            found_at: now() - (LIFETIME_DAYS * 24 * 3600 + 60),
        };
        let text = format!(
            "{}\nnot json\n{}\n",
            serde_json::to_string(&old).unwrap(),
            std::fs::read_to_string(&path).unwrap()
        );
        std::fs::write(&path, text).unwrap();
        let cache = InvoiceCache::open(&path, "a").unwrap();
        assert_eq!(cache.get(&InvoiceRef::Number("INV-OLD".into())), None);
        assert_eq!(cache.get(&number), Some(id));
        assert_eq!(cache.others.len(), 1);
    }
}
