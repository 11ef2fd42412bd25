//! Logging refused and repeated deliveries once per source and interval: a flood of forged or
//! replayed requests writes one line per sender per interval, with the count of the rest.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many sources are told apart; past that, new ones share one line.
const MAX_SOURCES: usize = 1024;

/// One source's current interval.
#[derive(Debug)]
struct Window {
    since: Instant,
    unlogged: u64,
}

/// Decides which refusals are logged: the first from a source in each interval, with the
/// number of those not logged since the last line.
#[derive(Debug)]
pub(crate) struct RefusalLog {
    interval: Duration,
    /// `None`: a source not known (no peer address), or one past [`MAX_SOURCES`].
    sources: Mutex<HashMap<Option<IpAddr>, Window>>,
}

impl RefusalLog {
    pub(crate) fn new(interval: Duration) -> Self {
        Self {
            interval,
            sources: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(n)` when this refusal is to be logged, `n` being how many from the same source
    /// were not since the last line; `None` when it is only counted.
    pub(crate) fn admit(&self, source: Option<IpAddr>, now: Instant) -> Option<u64> {
        let mut sources = self.sources.lock().unwrap_or_else(|p| p.into_inner());
        let interval = self.interval;
        let mut key = source;
        if !sources.contains_key(&key) && sources.len() >= MAX_SOURCES {
            sources.retain(|_, window| now.saturating_duration_since(window.since) < interval);
            if sources.len() >= MAX_SOURCES {
                key = None;
            }
        }
        match sources.get_mut(&key) {
            Some(window) if now.saturating_duration_since(window.since) < interval => {
                window.unlogged += 1;
                None
            }
            Some(window) => {
                let unlogged = window.unlogged;
                *window = Window {
                    since: now,
                    unlogged: 0,
                };
                Some(unlogged)
            }
            None => {
                sources.insert(
                    key,
                    Window {
                        since: now,
                        unlogged: 0,
                    },
                );
                Some(0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    #[test]
    fn once_per_source_and_interval_with_the_count_of_the_rest() {
        let log = RefusalLog::new(Duration::from_secs(60));
        let (a, b) = (
            Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))),
            Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2))),
        );
        let start = Instant::now();
        assert_eq!(log.admit(a, start), Some(0));
        assert_eq!(log.admit(a, start), None);
        assert_eq!(log.admit(a, start + Duration::from_secs(59)), None);
        assert_eq!(
            log.admit(b, start),
            Some(0),
            "another source has its own line"
        );
        assert_eq!(log.admit(a, start + Duration::from_secs(60)), Some(2));
        assert_eq!(log.admit(a, start + Duration::from_secs(61)), None);
    }

    #[test]
    fn sources_past_the_limit_share_one_line() {
        let log = RefusalLog::new(Duration::from_secs(60));
        let now = Instant::now();
        for i in 0..u32::try_from(MAX_SOURCES).unwrap_or(u32::MAX) {
            assert_eq!(log.admit(Some(IpAddr::from(i.to_be_bytes())), now), Some(0));
        }
        let late = |i: u32| Some(IpAddr::from((u32::MAX - i).to_be_bytes()));
        assert_eq!(log.admit(late(0), now), Some(0));
        assert_eq!(log.admit(late(1), now), None, "shared with the one before");
        assert!(log.sources.lock().map(|s| s.len()).unwrap_or(0) <= MAX_SOURCES + 1);
        // Once the interval passed, the old sources make room.
        let later = now + Duration::from_secs(60);
        assert_eq!(log.admit(late(2), later), Some(0));
    }
}
