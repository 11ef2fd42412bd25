//! Reading ahead on a thread of its own: the file's rows are parsed (first pass) and the
//! spool's records decoded (sending) on a second core while this thread validates, sends and
//! reports. Items come back in order, in batches through a bounded channel, so memory stays
//! flat: at most [`BATCHES`] × [`BATCH`] items wait.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// Items handed over at once (one channel operation per batch, not per row).
const BATCH: usize = 256;
/// Batches that may wait for the consumer.
const BATCHES: usize = 8;

/// `items`, produced on a thread named `name`. The thread stops at the end of `items`, or
/// when the returned iterator is dropped (at its next batch). A panic on that thread is
/// raised again on the reader's when it reaches that point: the rows after it are never
/// mistaken for the end of the file.
///
/// # Errors
///
/// When the thread cannot be started.
pub fn read_ahead<T, I>(name: &str, items: I) -> std::io::Result<ReadAhead<T>>
where
    T: Send + 'static,
    I: Iterator<Item = T> + Send + 'static,
{
    read_ahead_with(name, move || items)
}

/// [`read_ahead`] of the items `make` makes on the thread (for a reader that cannot move
/// between threads once made).
///
/// # Errors
///
/// When the thread cannot be started.
pub fn read_ahead_with<T, I, F>(name: &str, make: F) -> std::io::Result<ReadAhead<T>>
where
    T: Send + 'static,
    I: Iterator<Item = T>,
    F: FnOnce() -> I + Send + 'static,
{
    let (sender, receiver) = sync_channel(BATCHES);
    let producer = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || produce(make(), &sender))?;
    Ok(ReadAhead {
        receiver,
        batch: Vec::new().into_iter(),
        producer: Some(producer),
    })
}

fn produce<T, I: Iterator<Item = T>>(mut items: I, sender: &SyncSender<Vec<T>>) {
    loop {
        let batch: Vec<T> = items.by_ref().take(BATCH).collect();
        let last = batch.len() < BATCH;
        if batch.is_empty() || sender.send(batch).is_err() || last {
            return;
        }
    }
}

/// The items of [`read_ahead`], in order.
pub struct ReadAhead<T> {
    receiver: Receiver<Vec<T>>,
    batch: std::vec::IntoIter<T>,
    producer: Option<std::thread::JoinHandle<()>>,
}

impl<T> Iterator for ReadAhead<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        loop {
            if let Some(item) = self.batch.next() {
                return Some(item);
            }
            match self.receiver.recv() {
                Ok(batch) => self.batch = batch.into_iter(),
                // The thread ended: at the end of the items, or in a panic, raised here.
                Err(_) => {
                    if let Some(Err(panic)) = self.producer.take().map(|t| t.join()) {
                        std::panic::resume_unwind(panic);
                    }
                    return None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_comes_in_order() -> std::io::Result<()> {
        for n in [0, 1, BATCH - 1, BATCH, BATCH + 1, BATCH * BATCHES * 3 + 7] {
            let got: Vec<usize> = read_ahead("test", 0..n)?.collect();
            assert_eq!(got, (0..n).collect::<Vec<_>>(), "{n} items");
        }
        Ok(())
    }

    #[test]
    fn a_panic_while_reading_is_not_the_end_of_the_items() -> std::io::Result<()> {
        let failing = (0..BATCH * 2).inspect(|n| assert!(*n < BATCH + 3, "the parser failed"));
        let mut items = read_ahead("test", failing)?;
        let read =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| items.by_ref().count()));
        let message = read
            .err()
            .and_then(|panic| {
                panic
                    .downcast_ref::<&str>()
                    .map(|m| (*m).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
            })
            .unwrap_or_default();
        assert!(message.contains("the parser failed"), "{message:?}");
        Ok(())
    }

    #[test]
    fn dropping_it_stops_the_thread() -> std::io::Result<()> {
        let (done, finished) = std::sync::mpsc::channel::<()>();
        struct Guard(std::sync::mpsc::Sender<()>);
        impl Drop for Guard {
            fn drop(&mut self) {
                let _ = self.0.send(());
            }
        }
        let guard = Guard(done);
        // An endless source: the thread ends only because the reader is gone.
        let endless = std::iter::repeat(1u8).inspect(move |_| {
            let _ = &guard;
        });
        let mut items = read_ahead("test", endless)?;
        assert_eq!(items.next(), Some(1));
        drop(items);
        assert!(
            finished
                .recv_timeout(std::time::Duration::from_secs(10))
                .is_ok(),
            "the thread still runs"
        );
        Ok(())
    }
}
