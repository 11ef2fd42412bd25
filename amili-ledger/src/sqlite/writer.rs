//! The SQLite ledger's one writer: a thread that owns the connection and commits the calls
//! waiting for it together (group commit).
//!
//! A claim must be on disk (`synchronous = FULL`, an `fsync`) before its request is sent, and
//! the pipeline claims its next requests while earlier ones are in flight. Calls that queue
//! while a transaction is being written are run together in the next one, each in a savepoint
//! of its own (a call that fails leaves nothing behind and fails alone), and answered once
//! that transaction is committed: one `fsync` for all of them, never an answer before the
//! data is durable. A batch of results only (no claim, no adoption) is written with
//! `synchronous = NORMAL`: a lost result is settled later by the request's key.

use std::collections::HashSet;
use std::fs::File;
use std::sync::mpsc::{Receiver, Sender};

use amili_payments::ledger::LedgerError;
use futures::channel::oneshot;
use rusqlite::{Connection, TransactionBehavior};

use super::Session;

/// Calls run in one transaction at most (so that one transaction stays short).
const MAX_BATCH: usize = 64;

/// A call waiting for the writer.
pub(super) struct Job {
    /// Whether its writes must be on disk before it is answered (claims, adoptions).
    durable: bool,
    work: Box<dyn Work>,
}

impl Job {
    /// A call and where its answer goes.
    pub(super) fn new<T, F>(
        durable: bool,
        call: F,
    ) -> (Job, oneshot::Receiver<Result<T, LedgerError>>)
    where
        T: Send + 'static,
        F: FnOnce(&Session, &Connection, &mut InFlight<'_>) -> Result<T, LedgerError>
            + Send
            + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let work = Box::new(Call { call, reply });
        (Job { durable, work }, answer)
    }
}

/// A call, typed by its answer.
struct Call<T, F> {
    call: F,
    reply: oneshot::Sender<Result<T, LedgerError>>,
}

/// A call with its answer's type erased, so that calls of every kind share a batch.
trait Work: Send {
    /// Runs the call; its answer waits for the commit.
    fn run(
        self: Box<Self>,
        session: &Session,
        connection: &Connection,
        in_flight: &mut InFlight<'_>,
    ) -> Answer;

    /// The call could not run: answers with `error`.
    fn fail(self: Box<Self>, error: LedgerError);
}

/// A call's answer, sent once its transaction has committed (or with the commit's error).
struct Answer {
    ok: bool,
    send: Deliver,
}

/// Sends an answer: the call's own, or the commit's error.
type Deliver = Box<dyn FnOnce(Option<&LedgerError>) + Send>;

impl<T, F> Work for Call<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Session, &Connection, &mut InFlight<'_>) -> Result<T, LedgerError> + Send,
{
    fn run(
        self: Box<Self>,
        session: &Session,
        connection: &Connection,
        in_flight: &mut InFlight<'_>,
    ) -> Answer {
        let Call { call, reply } = *self;
        let result = call(session, connection, in_flight);
        Answer {
            ok: result.is_ok(),
            send: Box::new(move |failed| {
                let _ = reply.send(match failed {
                    Some(e) => Err(e.clone()),
                    None => result,
                });
            }),
        }
    }

    fn fail(self: Box<Self>, error: LedgerError) {
        let _ = self.reply.send(Err(error));
    }
}

/// This ledger's own keys claimed and not yet recorded, with what a batch changed in them
/// (undone when its transaction does not commit).
pub(super) struct InFlight<'a> {
    keys: &'a mut HashSet<String>,
    /// Each change: the key, and whether it was in the set before.
    changes: Vec<(String, bool)>,
}

impl InFlight<'_> {
    pub(super) fn contains(&self, key: &str) -> bool {
        self.keys.contains(key)
    }

    pub(super) fn insert(&mut self, key: &str) {
        let was = !self.keys.insert(key.to_owned());
        self.changes.push((key.to_owned(), was));
    }

    pub(super) fn remove(&mut self, key: &str) {
        let was = self.keys.remove(key);
        self.changes.push((key.to_owned(), was));
    }

    /// Undoes the changes made since `mark` (a length of `changes`).
    fn undo_since(&mut self, mark: usize) {
        for (key, was) in self.changes.drain(mark..).rev() {
            if was {
                self.keys.insert(key);
            } else {
                self.keys.remove(&key);
            }
        }
    }
}

/// What the writer thread owns.
pub(super) struct Writer {
    pub(super) session: Session,
    pub(super) connection: Connection,
    pub(super) in_flight: HashSet<String>,
    /// Held while the ledger lives: tells other processes this owner is alive.
    pub(super) owner_lock: File,
}

/// Starts the writer thread; it ends when every sender of `jobs` is gone.
pub(super) fn start(writer: Writer) -> std::io::Result<(Sender<Job>, std::thread::JoinHandle<()>)> {
    let (jobs, queue) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("amili-ledger".to_owned())
        .spawn(move || serve(writer, &queue))?;
    Ok((jobs, thread))
}

fn serve(mut writer: Writer, queue: &Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        writer.run(batch);
    }
    drop(writer.owner_lock);
}

impl Writer {
    /// Runs `batch` in one transaction and answers every call once it is committed.
    fn run(&mut self, batch: Vec<Job>) {
        let session = &self.session;
        let durable = batch.iter().any(|job| job.durable);
        let begun = set_synchronous(&self.connection, if durable { "FULL" } else { "NORMAL" })
            .and_then(|()| {
                self.connection
                    .transaction_with_behavior(TransactionBehavior::Immediate)
            });
        let mut transaction = match begun {
            Ok(transaction) => transaction,
            Err(e) => {
                let error = session.error("write", &e);
                for job in batch {
                    job.work.fail(error.clone());
                }
                return;
            }
        };
        let mut in_flight = InFlight {
            keys: &mut self.in_flight,
            changes: Vec::new(),
        };
        let mut answers = Vec::with_capacity(batch.len());
        for job in batch {
            let savepoint = match transaction.savepoint() {
                Ok(savepoint) => savepoint,
                Err(e) => {
                    job.work.fail(session.error("write", &e));
                    continue;
                }
            };
            let mark = in_flight.changes.len();
            let answer = job.work.run(session, &savepoint, &mut in_flight);
            // A call that failed leaves none of its writes (dropping a savepoint rolls it
            // back); one that succeeded keeps them in the transaction.
            let kept = if answer.ok {
                savepoint.commit()
            } else {
                drop(savepoint);
                Ok(())
            };
            match kept {
                Ok(()) if answer.ok => answers.push(answer),
                Ok(()) => {
                    in_flight.undo_since(mark);
                    answers.push(answer);
                }
                Err(e) => {
                    in_flight.undo_since(mark);
                    (answer.send)(Some(&session.error("write", &e)));
                }
            }
        }
        match transaction.commit() {
            Ok(()) => {
                for answer in answers {
                    (answer.send)(None);
                }
            }
            Err(e) => {
                in_flight.undo_since(0);
                let error = session.error("write", &e);
                for answer in answers {
                    (answer.send)(Some(&error));
                }
            }
        }
    }
}

/// `PRAGMA synchronous`, prepared once per level.
fn set_synchronous(connection: &Connection, level: &str) -> rusqlite::Result<()> {
    connection
        .prepare_cached(&format!("PRAGMA synchronous = {level}"))
        .and_then(|mut pragma| pragma.execute([]))
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undoing_restores_the_keys_as_they_were() {
        let mut keys: HashSet<String> = HashSet::from(["a".to_owned()]);
        let mut in_flight = InFlight {
            keys: &mut keys,
            changes: Vec::new(),
        };
        in_flight.insert("b");
        let mark = in_flight.changes.len();
        in_flight.remove("a");
        in_flight.insert("c");
        in_flight.insert("b");
        in_flight.undo_since(mark);
        assert!(in_flight.contains("a") && in_flight.contains("b") && !in_flight.contains("c"));
        in_flight.undo_since(0);
        assert_eq!(keys, HashSet::from(["a".to_owned()]));
    }
}
