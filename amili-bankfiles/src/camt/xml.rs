//! A bounded XML event source over any `BufRead`: elements by local name (any namespace, so
//! any schema version), text with only the five predefined entities and character
//! references, no DTD ever (a document with one is refused, so no entity is ever defined,
//! fetched or expanded), and every event and the nesting depth bounded so that memory stays
//! flat whatever the input.

use std::cell::Cell;
use std::io::{self, BufRead, Read};
use std::rc::Rc;

use quick_xml::events::{BytesRef, BytesStart, Event as XmlEvent};

/// The most bytes one event (a tag, or one run of text) may take.
pub const MAX_EVENT_BYTES: u64 = 1 << 20;
/// The most characters of text one element may hold.
pub const MAX_TEXT_CHARS: usize = 1 << 20;
/// The deepest nesting accepted (camt documents nest about 12 deep).
pub const MAX_DEPTH: usize = 64;

/// One event, reduced to what the camt reader needs.
#[derive(Debug)]
pub(crate) enum Event {
    /// An element starts: its local name and its `Ccy` attribute, if any.
    Start { name: String, ccy: Option<String> },
    /// A piece of text (entities resolved) of the innermost element.
    Text(String),
    /// The innermost element ends (it is still the last of [`XmlReader::path`] until the
    /// next event).
    End,
    /// The document ended.
    Eof,
}

/// An XML problem: the element path where it happened and what.
#[derive(Debug)]
pub(crate) struct XmlError {
    pub(crate) path: String,
    pub(crate) message: String,
}

/// Counts the bytes handed to the parser since the last event, and refuses to hand more than
/// [`MAX_EVENT_BYTES`]: the parser's buffer never grows past that, however long a text node
/// or tag is.
struct Limited<R> {
    inner: R,
    used: Rc<Cell<u64>>,
}

impl<R: BufRead> Read for Limited<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Limited<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let used = self.used.get();
        if used >= MAX_EVENT_BYTES {
            return Err(io::Error::other("event too long"));
        }
        let buf = self.inner.fill_buf()?;
        // Hand out no more than the rest of the allowance.
        let room = usize::try_from(MAX_EVENT_BYTES - used).unwrap_or(usize::MAX);
        Ok(&buf[..buf.len().min(room)])
    }

    fn consume(&mut self, amount: usize) {
        self.used.set(self.used.get() + amount as u64);
        self.inner.consume(amount);
    }
}

/// The bounded event source.
pub(crate) struct XmlReader<R> {
    reader: quick_xml::Reader<Limited<R>>,
    used: Rc<Cell<u64>>,
    buf: Vec<u8>,
    path: Vec<String>,
    /// An element ended: its name stays on the path until the next event, so that the caller
    /// sees which element ended.
    ended: bool,
}

impl<R: BufRead> XmlReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        let used = Rc::new(Cell::new(0));
        let mut reader = quick_xml::Reader::from_reader(Limited {
            inner,
            used: Rc::clone(&used),
        });
        let config = reader.config_mut();
        config.expand_empty_elements = true;
        config.check_end_names = true;
        XmlReader {
            reader,
            used,
            buf: Vec::new(),
            path: Vec::new(),
            ended: false,
        }
    }

    /// The local names of the open elements, outermost first.
    pub(crate) fn path(&self) -> &[String] {
        &self.path
    }

    /// The open elements as `A/B/C`.
    pub(crate) fn path_text(&self) -> String {
        path_text(&self.path)
    }

    /// The byte offset reached in the input.
    pub(crate) fn offset(&self) -> u64 {
        self.reader.buffer_position()
    }

    pub(crate) fn error(&self, message: impl Into<String>) -> XmlError {
        error_at(&self.path, message)
    }

    /// The next event that matters (declarations, comments and processing instructions are
    /// skipped).
    pub(crate) fn next(&mut self) -> Result<Event, XmlError> {
        if std::mem::take(&mut self.ended) {
            self.path.pop();
        }
        loop {
            self.buf.clear();
            self.used.set(0);
            let event = match self.reader.read_event_into(&mut self.buf) {
                Ok(event) => event,
                Err(quick_xml::Error::Io(_)) if self.used.get() >= MAX_EVENT_BYTES => {
                    return Err(error_at(
                        &self.path,
                        format!("a text node or tag longer than {MAX_EVENT_BYTES} bytes; refused"),
                    ));
                }
                Err(e) => {
                    return Err(error_at(
                        &self.path,
                        format!(
                            "not well-formed XML near byte {}: {e}",
                            self.reader.error_position()
                        ),
                    ));
                }
            };
            match event {
                XmlEvent::Start(start) => {
                    let (name, ccy) = start_parts(&start).map_err(|m| error_at(&self.path, m))?;
                    if self.path.len() >= MAX_DEPTH {
                        return Err(error_at(
                            &self.path,
                            format!("elements nested deeper than {MAX_DEPTH}; refused"),
                        ));
                    }
                    self.path.push(name.clone());
                    return Ok(Event::Start { name, ccy });
                }
                XmlEvent::End(_) => {
                    self.ended = true;
                    return Ok(Event::End);
                }
                XmlEvent::Text(text) => {
                    let text = text
                        .xml_content()
                        .map_err(|e| error_at(&self.path, format!("text is not UTF-8: {e}")))?;
                    if self.path.is_empty() {
                        if text.trim().is_empty() {
                            continue;
                        }
                        return Err(error_at(&self.path, "text outside the root element"));
                    }
                    return Ok(Event::Text(text.into_owned()));
                }
                XmlEvent::CData(data) => {
                    let text = data
                        .decode()
                        .map_err(|e| error_at(&self.path, format!("CDATA is not UTF-8: {e}")))?;
                    return Ok(Event::Text(text.into_owned()));
                }
                XmlEvent::GeneralRef(reference) => {
                    let c = resolve(&reference).map_err(|m| error_at(&self.path, m))?;
                    return Ok(Event::Text(c.to_string()));
                }
                XmlEvent::DocType(_) => {
                    return Err(error_at(
                        &self.path,
                        "a DOCTYPE (DTD) is not allowed in a bank file; refused without reading \
                         or expanding any entity",
                    ));
                }
                XmlEvent::Decl(_) | XmlEvent::Comment(_) | XmlEvent::PI(_) => {}
                // Never produced: empty elements are expanded to a start and an end.
                XmlEvent::Empty(_) => {
                    return Err(error_at(&self.path, "an unexpanded empty element"));
                }
                XmlEvent::Eof => {
                    if !self.path.is_empty() {
                        return Err(error_at(
                            &self.path,
                            "the document ends inside an element: truncated?",
                        ));
                    }
                    return Ok(Event::Eof);
                }
            }
        }
    }
}

fn path_text(path: &[String]) -> String {
    if path.is_empty() {
        "(document)".to_owned()
    } else {
        path.join("/")
    }
}

fn error_at(path: &[String], message: impl Into<String>) -> XmlError {
    XmlError {
        path: path_text(path),
        message: message.into(),
    }
}

fn start_parts(start: &BytesStart<'_>) -> Result<(String, Option<String>), String> {
    let name = std::str::from_utf8(start.local_name().as_ref())
        .map_err(|_| "an element name is not UTF-8".to_owned())?
        .to_owned();
    let mut ccy = None;
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| format!("a bad attribute on <{name}>: {e}"))?;
        if attribute.key.local_name().as_ref() == b"Ccy" {
            let value = std::str::from_utf8(&attribute.value)
                .map_err(|_| format!("the Ccy of <{name}> is not UTF-8"))?;
            if value.contains('&') {
                return Err(format!("the Ccy of <{name}> holds an entity reference"));
            }
            ccy = Some(value.to_owned());
        }
    }
    Ok((name, ccy))
}

/// A character reference or one of the five predefined entities; any other entity is
/// refused (without a DTD none can be defined, and none is ever fetched).
fn resolve(reference: &BytesRef<'_>) -> Result<char, String> {
    if reference.is_char_ref() {
        return match reference.resolve_char_ref() {
            Ok(Some(c)) => Ok(c),
            _ => Err("a character reference that is not a character".to_owned()),
        };
    }
    let name = reference.decode().map_err(|e| e.to_string())?;
    match &*name {
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "amp" => Ok('&'),
        "apos" => Ok('\''),
        "quot" => Ok('"'),
        other => Err(format!(
            "the entity &{other}; is not defined (no DTD is read, no entity is expanded)"
        )),
    }
}
