//! The crash-safe journal of one submission.
//!
//! An append-only JSON Lines file beside the input (`<input>.amili-journal` by default):
//!
//! ```text
//! {"amili_journal":1,"input":"payments.csv","size":123,"sha256":"…","target":"<api url> org <id>"}
//! {"planned":"<idempotency key>","start":0,"first_line":2,"count":500,"ids":"<digest>"}
//! {"done":"<idempotency key>","batch_id":"…"}
//! {"failed":"<idempotency key>","reason":"…"}
//! ```
//!
//! A `planned` line is written and synced to disk **before** the chunk's first request, a
//! `done` line when Amili accepted it (202 with a batch id). A chunk that ends in an unknown
//! outcome gets no second line. On the next run with the same input:
//!
//! - `done` chunks are not sent again; their payments are reported with their batch id;
//! - `planned` (and `failed`) chunks are sent again with the **same** idempotency key and the
//!   same payments, so Amili (and the client's look-up by key) returns the original batch if
//!   the first request did arrive;
//! - rows in no chunk are chunked and sent as usual.
//!
//! The header pins the journal to the input's size and SHA-256 and to the target (API URL and
//! organization): a changed file is refused rather than resumed, since its chunks would no
//! longer line up with the journal's, and so is a journal written for another target.
//! A last line cut short by a crash is ignored.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// Identifies the input a journal belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputId {
    pub size: u64,
    pub sha256: String,
}

/// Where a journaled chunk stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkState {
    /// Written before sending; the outcome was never recorded.
    Planned,
    /// Accepted by Amili as this batch.
    Done { batch_id: String },
    /// Refused by Amili (nothing was booked); sent again on the next run.
    Failed { reason: String },
}

/// One chunk recorded in the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalChunk {
    pub key: String,
    /// The 0-based index of the chunk's first data record in the input.
    pub start: u64,
    pub first_line: u64,
    /// How many valid payments, from `start` on, the chunk holds.
    pub count: usize,
    /// A digest of the chunk's `uniqueSourcePaymentId`s, to check that a resend carries the
    /// same payments.
    pub ids: String,
    pub state: ChunkState,
}

#[derive(Serialize, Deserialize)]
struct Header {
    amili_journal: u32,
    input: String,
    #[serde(flatten)]
    id: InputId,
    /// The API base URL and organization the payments were sent to.
    target: String,
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Entry {
    Planned {
        planned: String,
        start: u64,
        first_line: u64,
        count: usize,
        ids: String,
    },
    Done {
        done: String,
        batch_id: String,
    },
    Failed {
        failed: String,
        reason: String,
    },
}

/// An open journal: what earlier runs recorded, and a handle to append to it.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: Mutex<File>,
    /// Earlier runs' chunks by start record.
    chunks: BTreeMap<u64, JournalChunk>,
}

impl Journal {
    /// The default journal path: `<input>.amili-journal` beside the input.
    pub fn default_path(input: &Path) -> PathBuf {
        let mut name = input.file_name().unwrap_or_default().to_os_string();
        name.push(".amili-journal");
        input.with_file_name(name)
    }

    /// Opens (or creates) the journal at `path` for the input identified by `id`.
    ///
    /// Fails if the journal belongs to a different input (a changed file).
    /// Fails too while another run holds the journal: two runs on one journal could both
    /// send the chunks neither had finished.
    pub fn open(path: &Path, input: &Path, id: &InputId, target: &str) -> anyhow::Result<Journal> {
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot write the journal {}", path.display()))?;
        // An advisory lock held for the life of this handle; the OS drops it if we crash.
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
                "another amili run is using the journal {}; wait for it to finish",
                path.display()
            ),
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e)
                    .with_context(|| format!("cannot lock the journal {}", path.display()));
            }
        }
        let mut chunks = BTreeMap::new();
        let mut valid_len = 0;
        if file
            .metadata()
            .with_context(|| format!("cannot read the journal {}", path.display()))?
            .len()
            > 0
        {
            let reader = File::open(path)
                .with_context(|| format!("cannot read the journal {}", path.display()))?;
            (chunks, valid_len) = load(BufReader::new(reader), path, id, target)?;
        }
        let len = file
            .metadata()
            .with_context(|| format!("cannot read the journal {}", path.display()))?
            .len();
        if len > valid_len {
            // Drop a last line cut short by a crash so that new lines start clean.
            file.set_len(valid_len)
                .with_context(|| format!("cannot repair the journal {}", path.display()))?;
        }
        if valid_len == 0 {
            let header = Header {
                amili_journal: 1,
                input: input.display().to_string(),
                id: id.clone(),
                target: target.to_owned(),
            };
            write_line(&mut file, &header, path)?;
        }
        Ok(Journal {
            path: path.to_owned(),
            file: Mutex::new(file),
            chunks,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The chunks earlier runs recorded, by start record.
    pub fn chunks(&self) -> &BTreeMap<u64, JournalChunk> {
        &self.chunks
    }

    /// Records a chunk before its first request (synced to disk before returning).
    pub fn planned(
        &self,
        key: &str,
        start: u64,
        first_line: u64,
        count: usize,
        ids: &str,
    ) -> anyhow::Result<()> {
        self.append(&Entry::Planned {
            planned: key.to_owned(),
            start,
            first_line,
            count,
            ids: ids.to_owned(),
        })
    }

    /// Records that Amili accepted a chunk as `batch_id`.
    pub fn done(&self, key: &str, batch_id: &str) -> anyhow::Result<()> {
        self.append(&Entry::Done {
            done: key.to_owned(),
            batch_id: batch_id.to_owned(),
        })
    }

    /// Records that Amili refused a chunk (so nothing of it was booked).
    pub fn failed(&self, key: &str, reason: &str) -> anyhow::Result<()> {
        self.append(&Entry::Failed {
            failed: key.to_owned(),
            reason: reason.to_owned(),
        })
    }

    fn append(&self, entry: &Entry) -> anyhow::Result<()> {
        let mut file = self
            .file
            .lock()
            .map_err(|_| anyhow::anyhow!("the journal lock is poisoned"))?;
        write_line(&mut file, entry, &self.path)
    }
}

fn write_line(file: &mut File, value: &impl Serialize, path: &Path) -> anyhow::Result<()> {
    let mut line = serde_json::to_vec(value)?;
    line.push(b'\n');
    file.write_all(&line)
        .and_then(|()| file.sync_data())
        .with_context(|| format!("cannot write the journal {}", path.display()))
}

fn load(
    mut reader: impl BufRead,
    path: &Path,
    id: &InputId,
    target: &str,
) -> anyhow::Result<(BTreeMap<u64, JournalChunk>, u64)> {
    let mut chunks: BTreeMap<u64, JournalChunk> = BTreeMap::new();
    let mut by_key: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    let mut header_seen = false;
    let mut buf = Vec::new();
    let mut valid_len = 0u64;
    let mut n = 0u64;
    loop {
        buf.clear();
        let read = reader
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("cannot read the journal {}", path.display()))?;
        if read == 0 {
            break;
        }
        n += 1;
        // A crash can cut the last line short: it was never acted on beyond that point.
        if buf.last() != Some(&b'\n') {
            break;
        }
        valid_len += read as u64;
        let line = String::from_utf8_lossy(&buf);
        if line.trim().is_empty() {
            continue;
        }
        if !header_seen {
            let header: Header = serde_json::from_str(&line).map_err(|_| {
                anyhow::anyhow!(
                    "{} is not an amili journal (line 1); pass another --journal path",
                    path.display()
                )
            })?;
            if header.id != *id {
                bail!(
                    "the journal {} belongs to a different version of {} (size or content \
                     changed since the run that wrote it). Payments of that run may already be \
                     booked, so the journal is not applied to the changed file. If you are sure, \
                     remove the journal or pass --journal with a new path.",
                    path.display(),
                    header.input
                );
            }
            if header.target != target {
                bail!(
                    "the journal {} records a submission to {}, not to {target}; pass \
                     --journal with another path to submit this file there",
                    path.display(),
                    header.target
                );
            }
            header_seen = true;
            continue;
        }
        let entry: Entry = serde_json::from_str(&line)
            .with_context(|| format!("the journal {} is damaged at line {n}", path.display()))?;
        match entry {
            Entry::Planned {
                planned,
                start,
                first_line,
                count,
                ids,
            } => {
                by_key.insert(planned.clone(), start);
                chunks.insert(
                    start,
                    JournalChunk {
                        key: planned,
                        start,
                        first_line,
                        count,
                        ids,
                        state: ChunkState::Planned,
                    },
                );
            }
            Entry::Done { done, batch_id } => {
                if let Some(chunk) = by_key.get(&done).and_then(|s| chunks.get_mut(s)) {
                    chunk.state = ChunkState::Done { batch_id };
                }
            }
            Entry::Failed { failed, reason } => {
                if let Some(chunk) = by_key.get(&failed).and_then(|s| chunks.get_mut(s))
                    && !matches!(chunk.state, ChunkState::Done { .. })
                {
                    chunk.state = ChunkState::Failed { reason };
                }
            }
        }
    }
    if !header_seen {
        valid_len = 0;
    }
    Ok((chunks, valid_len))
}

/// A digest of a chunk's source ids, stored in the journal to check a resend.
pub fn ids_digest<'a>(ids: impl IntoIterator<Item = &'a str>) -> String {
    let mut hasher = Sha256::new();
    for id in ids {
        hasher.update(id.as_bytes());
        hasher.update([0u8]);
    }
    hex(&hasher.finalize()[..12])
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> InputId {
        InputId {
            size: 10,
            sha256: "abc".into(),
        }
    }

    #[test]
    fn a_second_run_cannot_open_a_journal_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.csv.amili-journal");
        let input = dir.path().join("p.csv");
        let first = Journal::open(&path, &input, &id(), "t").unwrap();
        let second = Journal::open(&path, &input, &id(), "t").unwrap_err();
        assert!(
            second
                .to_string()
                .contains("another amili run is using the journal"),
            "{second:#}"
        );
        drop(first);
        // Released with the first run: the next one resumes normally.
        assert!(Journal::open(&path, &input, &id(), "t").is_ok());
    }

    #[test]
    fn round_trip_and_resume_state() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.csv.amili-journal");
        let input = dir.path().join("p.csv");
        {
            let j = Journal::open(&path, &input, &id(), "t").unwrap();
            assert!(j.chunks().is_empty());
            j.planned("k1", 0, 2, 2, "d1").unwrap();
            j.done("k1", "b1").unwrap();
            j.planned("k2", 2, 4, 2, "d2").unwrap();
            j.planned("k3", 4, 6, 1, "d3").unwrap();
            j.failed("k3", "422 refused").unwrap();
        }
        // A crash mid-write leaves a cut line at the end.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"done\":\"k2\",\"bat").unwrap();
        drop(f);
        let j = Journal::open(&path, &input, &id(), "t").unwrap();
        j.planned("k4", 5, 7, 1, "d4").unwrap();
        drop(j);
        let j = Journal::open(&path, &input, &id(), "t").unwrap();
        let chunks: Vec<_> = j.chunks().values().cloned().collect();
        assert_eq!(chunks.len(), 4);
        assert_eq!(
            chunks[0].state,
            ChunkState::Done {
                batch_id: "b1".into()
            }
        );
        assert_eq!(chunks[1].state, ChunkState::Planned);
        assert_eq!(chunks[1].first_line, 4);
        assert!(matches!(chunks[2].state, ChunkState::Failed { .. }));
    }

    #[test]
    fn refuses_a_changed_input() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        Journal::open(&path, Path::new("p.csv"), &id(), "t").unwrap();
        let other = InputId {
            size: 11,
            sha256: "abd".into(),
        };
        let err = Journal::open(&path, Path::new("p.csv"), &other, "t").unwrap_err();
        assert!(err.to_string().contains("different version"), "{err}");
        let err = Journal::open(&path, Path::new("p.csv"), &id(), "elsewhere").unwrap_err();
        assert!(err.to_string().contains("not to elsewhere"), "{err}");
    }

    #[test]
    fn default_path_is_beside_the_input() {
        assert_eq!(
            Journal::default_path(Path::new("dir/payments.csv")),
            PathBuf::from("dir/payments.csv.amili-journal")
        );
    }
}
