//! Fault injection (domain floor): the script that makes a route misbehave, one-shot or at
//! random (seeded); the server applies it.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use axum::http::Method;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::config::API_BASE_PATH;

/// A route faults can be scripted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Route {
    /// `POST /token`.
    Token,
    /// `POST /collection/v1/orgs/{organizationId}/payments`.
    CreatePayments,
    /// `POST /collection/v1/orgs/{organizationId}/corrections`.
    CreateCorrections,
    /// `GET /collection/v1/orgs/{organizationId}/batches/{batchId}`.
    GetBatch,
    /// `GET /collection/v1/orgs/{organizationId}/batches`.
    ListBatches,
    /// `GET /collection/v1/orgs/{organizationId}/invoices/{invoiceId}`.
    GetInvoice,
    /// `GET /collection/v1/orgs/{organizationId}/invoices`.
    ListInvoices,
    /// `GET /collection/v1/orgs/{organizationId}/settlements/{settlementId}`.
    GetSettlement,
    /// `GET /collection/v1/orgs/{organizationId}/settlements`.
    ListSettlements,
}

impl Route {
    /// Every route.
    pub const ALL: [Route; 9] = [
        Route::Token,
        Route::CreatePayments,
        Route::CreateCorrections,
        Route::GetBatch,
        Route::ListBatches,
        Route::GetInvoice,
        Route::ListInvoices,
        Route::GetSettlement,
        Route::ListSettlements,
    ];

    /// The route's name on the command line: `token`, `create-payments`,
    /// `create-corrections`, `get-batch`,
    /// `list-batches`, `get-invoice`, `list-invoices`, `get-settlement`, `list-settlements`.
    pub fn name(self) -> &'static str {
        match self {
            Route::Token => "token",
            Route::CreatePayments => "create-payments",
            Route::CreateCorrections => "create-corrections",
            Route::GetBatch => "get-batch",
            Route::ListBatches => "list-batches",
            Route::GetInvoice => "get-invoice",
            Route::ListInvoices => "list-invoices",
            Route::GetSettlement => "get-settlement",
            Route::ListSettlements => "list-settlements",
        }
    }

    fn index(self) -> u64 {
        match self {
            Route::Token => 1,
            Route::CreatePayments => 2,
            Route::GetBatch => 3,
            Route::ListBatches => 4,
            Route::GetInvoice => 5,
            Route::ListInvoices => 6,
            Route::GetSettlement => 7,
            Route::ListSettlements => 8,
            Route::CreateCorrections => 9,
        }
    }

    /// The route a request is for (by method and path), if any.
    pub(crate) fn classify(method: &Method, path: &str) -> Option<Route> {
        if path == "/token" {
            return (method == Method::POST).then_some(Route::Token);
        }
        let rest = path.strip_prefix(API_BASE_PATH)?;
        let segments: Vec<&str> = rest.split('/').skip(1).collect();
        match (method, segments.as_slice()) {
            (&Method::POST, ["orgs", _, "payments"]) => Some(Route::CreatePayments),
            (&Method::POST, ["orgs", _, "corrections"]) => Some(Route::CreateCorrections),
            (&Method::GET, ["orgs", _, "batches", _]) => Some(Route::GetBatch),
            (&Method::GET, ["orgs", _, "batches"]) => Some(Route::ListBatches),
            (&Method::GET, ["orgs", _, "invoices", _]) => Some(Route::GetInvoice),
            (&Method::GET, ["orgs", _, "invoices"]) => Some(Route::ListInvoices),
            (&Method::GET, ["orgs", _, "settlements", _]) => Some(Route::GetSettlement),
            (&Method::GET, ["orgs", _, "settlements"]) => Some(Route::ListSettlements),
            _ => None,
        }
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Route {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Route::ALL
            .into_iter()
            .find(|route| route.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Route::ALL.into_iter().map(Route::name).collect();
                format!("unknown route {s:?} ({})", names.join(", "))
            })
    }
}

/// One way a request can go wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer `status` with a JSON error body, without processing the request, and a
    /// `Retry-After` header (whole seconds, rounded up) when given.
    Status {
        /// The HTTP status (429, 500, 503, …).
        status: u16,
        /// The `Retry-After` header to send.
        retry_after: Option<Duration>,
    },
    /// Wait this long, then process the request normally.
    Delay(Duration),
    /// Read the request, then close the connection without an answer and without
    /// processing the request (nothing is booked).
    DropBeforeProcessing,
    /// Process the request fully (book, record the idempotency key, create the batch), then
    /// close the connection without an answer.
    DropAfterProcessing,
    /// Answer `status` with a `text/html` body (as a gateway would), without processing.
    HtmlError {
        /// The HTTP status.
        status: u16,
    },
    /// Process the request, then send its answer with a `Content-Length` larger than the
    /// bytes sent (half the body), and close the connection.
    TruncatedBody,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Status {
                status,
                retry_after: Some(after),
            } => write!(f, "{status}:retry-after={}", retry_after_secs(*after)),
            Fault::Status { status, .. } => write!(f, "{status}"),
            Fault::Delay(delay) => write!(f, "delay={}ms", delay.as_millis()),
            Fault::DropBeforeProcessing => f.write_str("drop-before"),
            Fault::DropAfterProcessing => f.write_str("drop-after"),
            Fault::HtmlError { status } => write!(f, "html={status}"),
            Fault::TruncatedBody => f.write_str("truncate"),
        }
    }
}

/// `Retry-After` seconds for a duration, rounded up.
pub(crate) fn retry_after_secs(after: Duration) -> u64 {
    after
        .as_secs()
        .saturating_add(u64::from(after.subsec_nanos() > 0))
}

#[derive(Debug, Clone)]
struct RandomRule {
    route: Route,
    fault: Fault,
    probability: f64,
}

#[derive(Debug)]
struct Inner {
    queued: HashMap<Route, VecDeque<Fault>>,
    random: Vec<RandomRule>,
    rngs: HashMap<Route, StdRng>,
    applied: Vec<(Route, Fault)>,
}

/// The fault script of a sandbox ([`crate::Sandbox::faults`]).
///
/// Faults are kept per [`Route`]. One-shot faults ([`push`](Self::push),
/// [`push_n`](Self::push_n)) form a FIFO queue per route and apply to the next requests on that
/// route. When a route's queue is empty, its random rules ([`random`](Self::random)) are tried
/// in the order they were added, each drawing from a per-route RNG seeded from the sandbox's
/// fault seed ([`crate::SandboxBuilder::fault_seed`]): the same seed and the same sequence of
/// requests on a route give the same faults, whatever happens on the other routes.
///
/// Every request that reaches a route counts in [`crate::Stats`], faulted or not.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use amili_sandbox::{Fault, Route, Sandbox};
///
/// let sandbox = Sandbox::builder().fault_seed(7).start().await?;
/// // The next payment request gets 503 with `Retry-After: 2`, the one after that is dropped
/// // after it was processed (booked, but the client never hears of it).
/// sandbox.faults().push(
///     Route::CreatePayments,
///     Fault::Status { status: 503, retry_after: Some(Duration::from_secs(2)) },
/// );
/// sandbox.faults().push(Route::CreatePayments, Fault::DropAfterProcessing);
/// // One batch read in ten answers an HTML 502, reproducibly for seed 7.
/// sandbox.faults().random(Route::GetBatch, Fault::HtmlError { status: 502 }, 0.1);
/// assert_eq!(sandbox.faults().pending(Route::CreatePayments), 2);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Faults {
    seed: u64,
    inner: Mutex<Inner>,
}

fn rngs(seed: u64) -> HashMap<Route, StdRng> {
    Route::ALL
        .into_iter()
        .map(|route| {
            let salt = route.index().wrapping_mul(0x9E37_79B9_7F4A_7C15);
            (route, StdRng::seed_from_u64(seed ^ salt))
        })
        .collect()
}

impl Faults {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            seed,
            inner: Mutex::new(Inner {
                queued: HashMap::new(),
                random: Vec::new(),
                rngs: rngs(seed),
                applied: Vec::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies `fault` to the next request on `route` (after the faults already queued there).
    pub fn push(&self, route: Route, fault: Fault) {
        self.push_n(route, fault, 1);
    }

    /// Applies `fault` to the next `n` requests on `route` (after those already queued).
    pub fn push_n(&self, route: Route, fault: Fault, n: usize) {
        let mut inner = self.lock();
        let queue = inner.queued.entry(route).or_default();
        queue.extend(std::iter::repeat_n(fault, n));
    }

    /// Applies `fault` to each request on `route` with `probability` (0.0–1.0; 1.0 = always),
    /// drawn from the route's seeded RNG, when no one-shot fault is queued for it.
    pub fn random(&self, route: Route, fault: Fault, probability: f64) {
        let probability = if probability.is_nan() {
            0.0
        } else {
            probability.clamp(0.0, 1.0)
        };
        self.lock().random.push(RandomRule {
            route,
            fault,
            probability,
        });
    }

    /// Removes every queued and random fault, reseeds the RNGs and forgets the history.
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.queued.clear();
        inner.random.clear();
        inner.rngs = rngs(self.seed);
        inner.applied.clear();
    }

    /// The seed of the random faults.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// How many one-shot faults are still queued for `route`.
    pub fn pending(&self, route: Route) -> usize {
        self.lock().queued.get(&route).map_or(0, VecDeque::len)
    }

    /// Every fault applied so far (since the last [`clear`](Self::clear)), in order.
    pub fn applied(&self) -> Vec<(Route, Fault)> {
        self.lock().applied.clone()
    }

    /// The fault for the request now arriving on `route`, if any.
    pub(crate) fn next(&self, route: Route) -> Option<Fault> {
        let mut inner = self.lock();
        let Inner {
            queued,
            random,
            rngs,
            applied,
        } = &mut *inner;
        let fault = queued
            .get_mut(&route)
            .and_then(VecDeque::pop_front)
            .or_else(|| {
                let rng = rngs.get_mut(&route)?;
                random
                    .iter()
                    .filter(|rule| rule.route == route)
                    .find(|rule| rng.random::<f64>() < rule.probability)
                    .map(|rule| rule.fault.clone())
            })?;
        applied.push((route, fault.clone()));
        Some(fault)
    }
}

/// How often a [`FaultSpec`] applies.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum FaultMode {
    /// To the next `n` requests on the route.
    Times(usize),
    /// To each request with this probability (seeded).
    Random(f64),
}

/// A fault as written on the command line: `ROUTE:[MODE:]KIND[:OPTION]`.
///
/// - `ROUTE`: `token`, `create-payments`, `create-corrections`, `get-batch`, `list-batches`, `get-invoice`,
///   `list-invoices`, `get-settlement`, `list-settlements`.
/// - `MODE` (default `once`): `once`, `times=N`, `always`, `random=P` (0.0–1.0).
/// - `KIND`: a status code such as `503` (option `retry-after=SECS`), `delay=MS` (or `delay=2s`,
///   `delay=150ms`), `drop-before`, `drop-after`, `html=STATUS` (or `html` for 502), `truncate`.
///
/// ```
/// use amili_sandbox::{Fault, FaultMode, FaultSpec, Route};
/// let spec: FaultSpec = "create-payments:503:retry-after=2".parse().unwrap();
/// assert_eq!(spec.route, Route::CreatePayments);
/// assert_eq!(spec.mode, FaultMode::Times(1));
/// assert_eq!(
///     spec.fault,
///     Fault::Status { status: 503, retry_after: Some(std::time::Duration::from_secs(2)) }
/// );
/// let spec: FaultSpec = "create-payments:random=0.1:500".parse().unwrap();
/// assert_eq!(spec.mode, FaultMode::Random(0.1));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FaultSpec {
    /// Where.
    pub route: Route,
    /// What.
    pub fault: Fault,
    /// How often.
    pub mode: FaultMode,
}

impl FaultSpec {
    /// Scripts this fault on `faults`.
    pub fn install(&self, faults: &Faults) {
        match self.mode {
            FaultMode::Times(n) => faults.push_n(self.route, self.fault.clone(), n),
            FaultMode::Random(p) => faults.random(self.route, self.fault.clone(), p),
        }
    }
}

fn parse_status(text: &str) -> Result<u16, String> {
    text.parse::<u16>()
        .ok()
        .filter(|status| (100..=599).contains(status))
        .ok_or_else(|| format!("{text:?} is not an HTTP status (100–599)"))
}

fn parse_duration(text: &str, default_unit_ms: bool) -> Result<Duration, String> {
    let bad = || format!("{text:?} is not a duration (e.g. 500ms, 2s)");
    let (number, millis) = if let Some(n) = text.strip_suffix("ms") {
        (n, true)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, false)
    } else {
        (text, default_unit_ms)
    };
    let value: f64 = number.trim().parse().map_err(|_| bad())?;
    if !value.is_finite() || value < 0.0 {
        return Err(bad());
    }
    let secs = if millis { value / 1000.0 } else { value };
    Duration::try_from_secs_f64(secs).map_err(|_| bad())
}

impl FromStr for FaultSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.split(':');
        let route: Route = parts.next().unwrap_or_default().parse()?;
        let mut mode = FaultMode::Times(1);
        let mut kind: Option<Fault> = None;
        let mut retry_after = None;
        for part in parts {
            let (name, value) = match part.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (part, None),
            };
            match (name, value) {
                ("once", None) => mode = FaultMode::Times(1),
                ("always", None) => mode = FaultMode::Random(1.0),
                ("times", Some(n)) => {
                    mode =
                        FaultMode::Times(n.parse().map_err(|_| format!("times={n}: not a count"))?);
                }
                ("random", Some(p)) => {
                    let p: f64 = p
                        .parse()
                        .ok()
                        .filter(|p: &f64| (0.0..=1.0).contains(p))
                        .ok_or_else(|| format!("random={p}: not a probability (0.0–1.0)"))?;
                    mode = FaultMode::Random(p);
                }
                ("retry-after", Some(secs)) => retry_after = Some(parse_duration(secs, false)?),
                ("delay", Some(d)) => kind = Some(Fault::Delay(parse_duration(d, true)?)),
                ("drop-before", None) => kind = Some(Fault::DropBeforeProcessing),
                ("drop-after", None) => kind = Some(Fault::DropAfterProcessing),
                ("truncate", None) => kind = Some(Fault::TruncatedBody),
                ("html", None) => kind = Some(Fault::HtmlError { status: 502 }),
                ("html", Some(status)) => {
                    kind = Some(Fault::HtmlError {
                        status: parse_status(status)?,
                    });
                }
                (status, None) if status.chars().all(|c| c.is_ascii_digit()) => {
                    kind = Some(Fault::Status {
                        status: parse_status(status)?,
                        retry_after: None,
                    });
                }
                _ => return Err(format!("{part:?} is not part of a fault spec")),
            }
        }
        let fault = match (kind, retry_after) {
            (Some(Fault::Status { status, .. }), after) => Fault::Status {
                status,
                retry_after: after,
            },
            (Some(_), Some(_)) => {
                return Err("retry-after goes with a status fault, such as 503".into());
            }
            (Some(fault), None) => fault,
            (None, _) => {
                return Err(format!(
                    "{s:?} names no fault (STATUS, delay=MS, drop-before, drop-after, html=STATUS, truncate)"
                ));
            }
        };
        Ok(FaultSpec { route, fault, mode })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_routes() {
        assert_eq!(Route::classify(&Method::POST, "/token"), Some(Route::Token));
        assert_eq!(Route::classify(&Method::GET, "/token"), None);
        let base = API_BASE_PATH;
        assert_eq!(
            Route::classify(&Method::POST, &format!("{base}/orgs/x/payments")),
            Some(Route::CreatePayments)
        );
        assert_eq!(
            Route::classify(&Method::GET, &format!("{base}/orgs/x/batches/y")),
            Some(Route::GetBatch)
        );
        assert_eq!(
            Route::classify(&Method::GET, &format!("{base}/orgs/x/batches")),
            Some(Route::ListBatches)
        );
        assert_eq!(
            Route::classify(&Method::GET, &format!("{base}/orgs/x/payments")),
            None
        );
    }

    #[test]
    fn queue_before_random_and_fifo() {
        let faults = Faults::new(1);
        faults.push(Route::Token, Fault::DropBeforeProcessing);
        faults.push_n(Route::Token, Fault::TruncatedBody, 2);
        faults.random(Route::Token, Fault::HtmlError { status: 502 }, 1.0);
        assert_eq!(faults.pending(Route::Token), 3);
        assert_eq!(faults.next(Route::Token), Some(Fault::DropBeforeProcessing));
        assert_eq!(faults.next(Route::Token), Some(Fault::TruncatedBody));
        assert_eq!(faults.next(Route::Token), Some(Fault::TruncatedBody));
        assert_eq!(
            faults.next(Route::Token),
            Some(Fault::HtmlError { status: 502 })
        );
        assert_eq!(faults.next(Route::GetBatch), None);
        assert_eq!(faults.applied().len(), 4);
        faults.clear();
        assert_eq!(faults.next(Route::Token), None);
    }

    #[test]
    fn random_faults_follow_the_seed() {
        let draw = |seed| {
            let faults = Faults::new(seed);
            faults.random(Route::GetBatch, Fault::TruncatedBody, 0.5);
            (0..64)
                .map(|_| faults.next(Route::GetBatch).is_some())
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
    }

    #[test]
    fn parses_specs() {
        let spec: FaultSpec = "get-batch:drop-before".parse().unwrap();
        assert_eq!(spec.fault, Fault::DropBeforeProcessing);
        let spec: FaultSpec = "token:times=3:delay=1.5s".parse().unwrap();
        assert_eq!(spec.mode, FaultMode::Times(3));
        assert_eq!(spec.fault, Fault::Delay(Duration::from_millis(1500)));
        let spec: FaultSpec = "list-batches:always:html=503".parse().unwrap();
        assert_eq!(spec.mode, FaultMode::Random(1.0));
        assert_eq!(spec.fault, Fault::HtmlError { status: 503 });
        assert!("nowhere:500".parse::<FaultSpec>().is_err());
        assert!("token".parse::<FaultSpec>().is_err());
        assert!("token:999".parse::<FaultSpec>().is_err());
        assert!("token:random=2:500".parse::<FaultSpec>().is_err());
        assert!(
            "token:drop-after:retry-after=1"
                .parse::<FaultSpec>()
                .is_err()
        );
        assert!("token:delay=-1".parse::<FaultSpec>().is_err());
    }
}
