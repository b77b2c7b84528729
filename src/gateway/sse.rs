//! Streams an upstream answer to the client as server-sent events, one client
//! event per upstream event as soon as it arrives (nothing is buffered), with
//! keep-alive comments while the upstream is quiet. However the upstream ends,
//! the client gets its protocol's terminal events.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use super::error::GatewayError;
use crate::protocol::gemini::UsageMetadata;
use crate::protocol::{SseFrame, StreamEncoder, StreamFailure};
use crate::upstream::google::StreamChunks;

/// How long the upstream may be quiet before the client gets a keep-alive.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(10);

/// How a stream went, reported once when it ends (or the client leaves).
#[derive(Debug, Default)]
pub struct StreamOutcome {
    /// The last usage the upstream reported.
    pub usage: Option<UsageMetadata>,
    /// When the first event went out.
    pub first_byte: Option<Instant>,
    /// Why it ended early, if it did.
    pub failure: Option<StreamFailure>,
}

pub type OnDone = Box<dyn FnOnce(StreamOutcome) + Send>;

struct Pump<E> {
    upstream: StreamChunks,
    encoder: E,
    pending: VecDeque<SseFrame>,
    finished: bool,
    shutdown: CancellationToken,
    outcome: StreamOutcome,
    on_done: Option<OnDone>,
}

impl<E> Pump<E> {
    fn report(&mut self) {
        if let Some(on_done) = self.on_done.take() {
            on_done(std::mem::take(&mut self.outcome));
        }
    }
}

impl<E> Drop for Pump<E> {
    /// A stream dropped before its end: the client went away.
    fn drop(&mut self) {
        if self.on_done.is_some() && self.outcome.failure.is_none() && !self.finished {
            self.outcome.failure = Some(StreamFailure::client_disconnected());
        }
        self.report();
    }
}

/// `ping`: the keep-alive event to send while the upstream is quiet; `None`
/// sends an SSE comment.
pub fn response<E: StreamEncoder + 'static>(
    upstream: StreamChunks,
    encoder: E,
    ping: Option<SseFrame>,
    shutdown: CancellationToken,
    on_done: OnDone,
) -> Response {
    let pump = Pump {
        upstream,
        encoder,
        pending: VecDeque::new(),
        finished: false,
        shutdown,
        outcome: StreamOutcome::default(),
        on_done: Some(on_done),
    };
    let events = futures::stream::unfold(pump, |mut pump| async move {
        loop {
            if let Some(frame) = pump.pending.pop_front() {
                pump.outcome.first_byte.get_or_insert_with(Instant::now);
                let mut event = Event::default().data(frame.data);
                if let Some(name) = frame.event {
                    event = event.event(name);
                }
                return Some((Ok::<_, Infallible>(event), pump));
            }
            if pump.finished {
                pump.report();
                return None;
            }
            let mut out = Vec::new();
            tokio::select! {
                item = pump.upstream.next() => match item {
                    Some(Ok(chunk)) => {
                        if let Some(usage) = chunk.usage_metadata {
                            pump.outcome.usage = Some(usage);
                        }
                        pump.encoder.on_chunk(chunk, &mut out);
                    }
                    Some(Err(error)) => {
                        tracing::warn!(%error, "upstream stream failed after it started");
                        let failure = GatewayError::stream_failure(&error);
                        pump.encoder.on_failure(&failure, &mut out);
                        pump.outcome.failure = Some(failure);
                        pump.finished = true;
                    }
                    None => {
                        pump.encoder.on_end(&mut out);
                        pump.finished = true;
                    }
                },
                () = pump.shutdown.cancelled() => {
                    let failure = StreamFailure::shutdown();
                    pump.encoder.on_failure(&failure, &mut out);
                    pump.outcome.failure = Some(failure);
                    pump.finished = true;
                }
            }
            pump.pending.extend(out);
        }
    });
    let mut keep_alive = KeepAlive::new().interval(KEEP_ALIVE_INTERVAL);
    if let Some(ping) = ping {
        let mut event = Event::default().data(ping.data);
        if let Some(name) = ping.event {
            event = event.event(name);
        }
        keep_alive = keep_alive.event(event);
    }
    Sse::new(events).keep_alive(keep_alive).into_response()
}
