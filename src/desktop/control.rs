//! The resident's control socket: how the window process (and a second
//! `switchyard` launch) talk to the running app. One JSON request per line,
//! one JSON answer per line, over a Unix socket next to the database (so each
//! `SWITCHYARD_HOME` has its own). Only the user can reach it: the socket
//! file is created inside the user's private data folder.
//!
//! A second launch that finds the socket answering asks it to show the window
//! and exits: that is the single-instance rule.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::gateway::recent::RequestRecord;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum ControlRequest {
    Status,
    /// Forgets the live list of recent requests.
    ClearRecent,
    StartGateway,
    StopGateway,
    ShowWindow,
    Quit,
}

/// What the resident knows that the window cannot read from disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResidentStatus {
    pub gateway: GatewayStatus,
    /// Newest first.
    pub recent: Vec<RequestRecord>,
    /// Increases each time the window is asked to come forward.
    pub focus_requests: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum GatewayStatus {
    Running { addr: String },
    Stopped,
    Failed { message: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ControlResponse {
    Status(ResidentStatus),
    Done { ok: bool },
    Error { error: String },
}

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("Switchyard is not running (no answer on {0})")]
    NotRunning(PathBuf),
    #[error("control socket: {0}")]
    Io(#[from] std::io::Error),
    #[error("control socket sent something unreadable: {0}")]
    Decode(String),
    #[error("{0}")]
    Refused(String),
    #[error("the control socket is only available on Unix-like systems in this version")]
    Unsupported,
}

/// Where the resident listens for this home.
pub fn socket_path(db_file: &Path) -> PathBuf {
    let beside = db_file.with_file_name("switchyard.sock");
    // Unix socket paths are limited to about 100 bytes; a deep home gets a
    // short name in the temp folder instead, unique per database path.
    if beside.as_os_str().len() < 100 {
        return beside;
    }
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    db_file.hash(&mut hasher);
    std::env::temp_dir().join(format!("switchyard-{:016x}.sock", hasher.finish()))
}

/// Sends one request to the resident and reads its answer.
#[cfg(unix)]
pub async fn send(
    socket: &Path,
    request: &ControlRequest,
) -> Result<ControlResponse, ControlError> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let stream = match tokio::time::timeout(
        Duration::from_secs(2),
        tokio::net::UnixStream::connect(socket),
    )
    .await
    {
        Ok(Ok(stream)) => stream,
        Ok(Err(_)) | Err(_) => return Err(ControlError::NotRunning(socket.to_owned())),
    };
    let (read, mut write) = stream.into_split();
    let mut line =
        serde_json::to_string(request).map_err(|e| ControlError::Decode(e.to_string()))?;
    line.push('\n');
    write.write_all(line.as_bytes()).await?;
    let mut answer = String::new();
    tokio::time::timeout(
        Duration::from_secs(5),
        BufReader::new(read).read_line(&mut answer),
    )
    .await
    .map_err(|_| {
        ControlError::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "no answer",
        ))
    })??;
    let response: ControlResponse =
        serde_json::from_str(answer.trim()).map_err(|e| ControlError::Decode(e.to_string()))?;
    match response {
        ControlResponse::Error { error } => Err(ControlError::Refused(error)),
        other => Ok(other),
    }
}

#[cfg(not(unix))]
pub async fn send(
    _socket: &Path,
    _request: &ControlRequest,
) -> Result<ControlResponse, ControlError> {
    Err(ControlError::Unsupported)
}

/// The resident's side: something that answers control requests.
pub trait ControlHandler: Send + Sync + 'static {
    fn handle(
        &self,
        request: ControlRequest,
    ) -> impl std::future::Future<Output = ControlResponse> + Send;
}

/// Listens on `socket` until `shutdown` fires. A stale socket file left by a
/// crashed run is replaced; a live one means another instance owns this home.
#[cfg(unix)]
pub async fn serve<H: ControlHandler>(
    socket: PathBuf,
    handler: std::sync::Arc<H>,
    shutdown: tokio_util::sync::CancellationToken,
) -> Result<(), ControlError> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    if socket.exists() {
        if send(&socket, &ControlRequest::Status).await.is_ok() {
            return Err(ControlError::Refused(format!(
                "another Switchyard already answers on {}",
                socket.display()
            )));
        }
        let _ = std::fs::remove_file(&socket);
    }
    let listener = tokio::net::UnixListener::bind(&socket)?;
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600));
    }
    loop {
        let (stream, _) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted?,
        };
        let handler = handler.clone();
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let response = match serde_json::from_str::<ControlRequest>(&line) {
                    Ok(request) => handler.handle(request).await,
                    Err(e) => ControlResponse::Error {
                        error: format!("unknown request: {e}"),
                    },
                };
                let mut text = serde_json::to_string(&response).unwrap_or_else(|_| "{}".to_owned());
                text.push('\n');
                if write.write_all(text.as_bytes()).await.is_err() {
                    break;
                }
            }
        });
    }
    let _ = std::fs::remove_file(&socket);
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    struct Counter(AtomicU64);

    impl ControlHandler for Counter {
        async fn handle(&self, request: ControlRequest) -> ControlResponse {
            match request {
                ControlRequest::ShowWindow => {
                    self.0.fetch_add(1, Ordering::SeqCst);
                    ControlResponse::Done { ok: true }
                }
                ControlRequest::Status => ControlResponse::Status(ResidentStatus {
                    gateway: GatewayStatus::Running {
                        addr: "127.0.0.1:8045".into(),
                    },
                    recent: Vec::new(),
                    focus_requests: self.0.load(Ordering::SeqCst),
                }),
                _ => ControlResponse::Error { error: "no".into() },
            }
        }
    }

    #[tokio::test]
    async fn requests_round_trip_and_a_second_server_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let socket = socket_path(&dir.path().join("switchyard.db"));
        assert!(matches!(
            send(&socket, &ControlRequest::Status).await,
            Err(ControlError::NotRunning(_))
        ));
        let shutdown = tokio_util::sync::CancellationToken::new();
        let handler = Arc::new(Counter(AtomicU64::new(0)));
        let server = tokio::spawn(serve(socket.clone(), handler.clone(), shutdown.clone()));
        for _ in 0..100 {
            if socket.exists() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(
            send(&socket, &ControlRequest::ShowWindow).await.unwrap(),
            ControlResponse::Done { ok: true }
        );
        match send(&socket, &ControlRequest::Status).await.unwrap() {
            ControlResponse::Status(status) => assert_eq!(status.focus_requests, 1),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            send(&socket, &ControlRequest::Quit).await,
            Err(ControlError::Refused(_))
        ));
        let second = serve(
            socket.clone(),
            handler,
            tokio_util::sync::CancellationToken::new(),
        )
        .await;
        assert!(matches!(second, Err(ControlError::Refused(_))));
        shutdown.cancel();
        server.await.unwrap().unwrap();
        assert!(!socket.exists(), "the socket file is removed on exit");
    }
}
