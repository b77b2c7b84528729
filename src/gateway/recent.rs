//! The most recent requests, in memory, for the live Monitor list and the
//! dashboard's counters. Bounded; older entries fall off. (The persisted
//! request log and the hourly roll-ups are a separate, later layer.)

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;

/// Requests kept in memory.
pub const RECENT_CAPACITY: usize = 500;

pub use crate::store::RequestRecord;

#[derive(Default)]
pub struct RecentRequests {
    // A short lock per request; never held across an await.
    entries: Mutex<VecDeque<Arc<RequestRecord>>>,
    total: std::sync::atomic::AtomicU64,
}

impl RecentRequests {
    pub fn push(&self, record: Arc<RequestRecord>) {
        let mut entries = self.entries.lock();
        if entries.len() == RECENT_CAPACITY {
            entries.pop_front();
        }
        entries.push_back(record);
        self.total
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Newest first.
    pub fn newest(&self, limit: usize) -> Vec<RequestRecord> {
        self.entries
            .lock()
            .iter()
            .rev()
            .take(limit)
            .map(|record| RequestRecord::clone(record))
            .collect()
    }

    /// Forgets the list (not the count).
    pub fn clear(&self) {
        self.entries.lock().clear();
    }

    /// Requests since the gateway started.
    pub fn total(&self) -> u64 {
        self.total.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(at_ms: i64) -> RequestRecord {
        RequestRecord {
            at_ms,
            status: 200,
            ..RequestRecord::default()
        }
    }

    #[test]
    fn keeps_the_newest_within_capacity() {
        let recent = RecentRequests::default();
        for i in 0..(RECENT_CAPACITY as i64 + 10) {
            recent.push(Arc::new(record(i)));
        }
        let newest = recent.newest(3);
        assert_eq!(
            newest.iter().map(|r| r.at_ms).collect::<Vec<_>>(),
            vec![509, 508, 507]
        );
        assert_eq!(recent.newest(usize::MAX).len(), RECENT_CAPACITY);
        assert_eq!(recent.total(), RECENT_CAPACITY as u64 + 10);
    }
}
