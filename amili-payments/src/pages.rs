//! The one page follower: a listing's pages as one stream of items, guarded against a server
//! that repeats a cursor (or hands out empty pages forever); and the [`Envelope`] every read's
//! answer comes in.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, StreamExt};

use crate::client::Client;
use crate::error::Error;

/// How many empty pages in a row (each with a new cursor) end a listing.
const MAX_EMPTY_PAGES: usize = 100;

/// One page: its items and the next cursor (`None` on the last page).
pub(crate) type Page<T> = Result<(Vec<T>, Option<String>), Error>;

/// A generated read answer: its `data` (one object, or a page of them) and its `summary`.
pub(crate) trait Envelope {
    /// What `data` holds.
    type Data;

    /// The data, and the next page's cursor when the summary has one.
    fn into_parts(self) -> (Self::Data, Option<String>);
}

macro_rules! envelopes {
    ($($answer:ident => $data:ty),* $(,)?) => {$(
        impl Envelope for amili_api::types::$answer {
            type Data = $data;

            fn into_parts(self) -> (Self::Data, Option<String>) {
                (self.data, self.summary.and_then(|s| s.next_page_token))
            }
        }
    )*};
}

envelopes! {
    BatchResponse => amili_api::types::Batch,
    BatchListResponse => Vec<amili_api::types::Batch>,
    InvoiceResponse => amili_api::types::Invoice,
    InvoiceListResponse => Vec<amili_api::types::Invoice>,
    SettlementResponse => amili_api::types::Settlement,
    SettlementListResponse => Vec<amili_api::types::Settlement>,
}

/// A page of generated items as this crate's type.
pub(crate) fn items<I, T: From<I>>(
    (items, next): (Vec<I>, Option<String>),
) -> (Vec<T>, Option<String>) {
    (items.into_iter().map(T::from).collect(), next)
}

/// [`follow`] over one of `client`'s page reads: `page(client, query, cursor)` reads the page
/// of `query` at `cursor`.
pub(crate) fn follow_reads<Q, T, F>(
    client: &Client,
    operation: &'static str,
    query: Q,
    page: F,
) -> BoxStream<'static, Result<T, Error>>
where
    Q: Send + Sync + 'static,
    T: Send + 'static,
    F: for<'a> Fn(&'a Client, &'a Q, Option<&'a str>) -> BoxFuture<'a, Page<T>>
        + Send
        + Sync
        + 'static,
{
    let reader = Arc::new((client.clone(), query, page));
    follow(operation, move |cursor| {
        let reader = reader.clone();
        Box::pin(async move {
            let (client, query, page) = &*reader;
            page(client, query, cursor.as_deref()).await
        })
    })
}

struct State<T, F> {
    fetch: F,
    operation: &'static str,
    next: Option<String>,
    seen: HashSet<String>,
    buffer: VecDeque<T>,
    empty_pages: usize,
    pending_error: Option<Error>,
    done: bool,
}

/// Every item of every page, fetched lazily: `fetch(cursor)` reads one page (`None` for the
/// first). A failed page ends the stream after yielding its error; a cursor handed out before
/// ends it with [`Error::InvalidResponse`] after the items of the page that repeated it.
pub(crate) fn follow<T, F>(
    operation: &'static str,
    fetch: F,
) -> BoxStream<'static, Result<T, Error>>
where
    T: Send + 'static,
    F: FnMut(Option<String>) -> BoxFuture<'static, Page<T>> + Send + 'static,
{
    let state = State {
        fetch,
        operation,
        next: None,
        seen: HashSet::new(),
        buffer: VecDeque::new(),
        empty_pages: 0,
        pending_error: None,
        done: false,
    };
    stream::unfold(state, |mut state| async move {
        loop {
            if let Some(item) = state.buffer.pop_front() {
                return Some((Ok(item), state));
            }
            if let Some(error) = state.pending_error.take() {
                return Some((Err(error), state));
            }
            if state.done {
                return None;
            }
            let (items, next) = match (state.fetch)(state.next.take()).await {
                Ok(page) => page,
                Err(e) => {
                    state.done = true;
                    return Some((Err(e), state));
                }
            };
            state.empty_pages = if items.is_empty() {
                state.empty_pages + 1
            } else {
                0
            };
            state.buffer.extend(items);
            let invalid = |message: String| Error::InvalidResponse {
                operation: state.operation,
                status: None,
                message,
            };
            match next.filter(|t| !t.is_empty()) {
                None => state.done = true,
                Some(token) if !state.seen.insert(token.clone()) => {
                    // Hand out what this page had, then the error.
                    state.done = true;
                    state.pending_error = Some(invalid(format!(
                        "the server repeated the page cursor {token:?}; stopped listing to avoid \
                         a loop"
                    )));
                }
                Some(_) if state.empty_pages >= MAX_EMPTY_PAGES => {
                    state.done = true;
                    state.pending_error = Some(invalid(format!(
                        "{MAX_EMPTY_PAGES} empty pages in a row; stopped listing"
                    )));
                }
                Some(token) => state.next = Some(token),
            }
        }
    })
    .boxed()
}
