//! The hand-off from requests to the log writer: a bounded queue that never
//! makes a request wait. When the writer falls behind and the queue is full,
//! entries are dropped and counted rather than slowing the gateway down.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;

use crate::store::LogEntry;

/// Entries waiting for the writer, at most.
pub const QUEUE: usize = 20_000;

#[derive(Clone)]
pub struct LogSink {
    sender: mpsc::Sender<LogEntry>,
    dropped: std::sync::Arc<AtomicU64>,
}

impl LogSink {
    pub fn new() -> (Self, mpsc::Receiver<LogEntry>) {
        let (sender, receiver) = mpsc::channel(QUEUE);
        (
            Self {
                sender,
                dropped: std::sync::Arc::new(AtomicU64::new(0)),
            },
            receiver,
        )
    }

    pub fn send(&self, entry: LogEntry) {
        if self.sender.try_send(entry).is_err() {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped.is_power_of_two() {
                tracing::warn!(dropped, "the request log is behind; entries were dropped");
            }
        }
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}
