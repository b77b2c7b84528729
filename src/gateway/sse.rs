//! Streams an upstream answer to the client as server-sent events, one client
//! event per upstream event as soon as it arrives (nothing is buffered), with
//! keep-alive comments while the upstream is quiet. However the upstream ends,
//! the client gets its protocol's terminal events.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use super::error::GatewayError;
use crate::protocol::{SseFrame, StreamEncoder, StreamFailure};
use crate::upstream::google::StreamChunks;

/// How long the upstream may be quiet before the client gets a keep-alive.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(10);

struct Pump<E> {
    upstream: StreamChunks,
    encoder: E,
    pending: VecDeque<SseFrame>,
    finished: bool,
    shutdown: CancellationToken,
}

/// `ping`: the keep-alive event to send while the upstream is quiet; `None`
/// sends an SSE comment.
pub fn response<E: StreamEncoder + 'static>(
    upstream: StreamChunks,
    encoder: E,
    ping: Option<SseFrame>,
    shutdown: CancellationToken,
) -> Response {
    let pump = Pump {
        upstream,
        encoder,
        pending: VecDeque::new(),
        finished: false,
        shutdown,
    };
    let events = futures::stream::unfold(pump, |mut pump| async move {
        loop {
            if let Some(frame) = pump.pending.pop_front() {
                let mut event = Event::default().data(frame.data);
                if let Some(name) = frame.event {
                    event = event.event(name);
                }
                return Some((Ok::<_, Infallible>(event), pump));
            }
            if pump.finished {
                return None;
            }
            let mut out = Vec::new();
            tokio::select! {
                item = pump.upstream.next() => match item {
                    Some(Ok(chunk)) => pump.encoder.on_chunk(chunk, &mut out),
                    Some(Err(error)) => {
                        tracing::warn!(%error, "upstream stream failed after it started");
                        pump.encoder.on_failure(&GatewayError::stream_failure(&error), &mut out);
                        pump.finished = true;
                    }
                    None => {
                        pump.encoder.on_end(&mut out);
                        pump.finished = true;
                    }
                },
                () = pump.shutdown.cancelled() => {
                    pump.encoder.on_failure(
                        &StreamFailure {
                            kind: "gateway_shutdown",
                            message: "the gateway is shutting down".to_owned(),
                        },
                        &mut out,
                    );
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
