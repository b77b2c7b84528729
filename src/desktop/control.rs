//! The resident's control socket: how the window process (and a second
//! `switchyard` launch) talk to the running app. One JSON request per line,
//! one JSON answer per line. Each `SWITCHYARD_HOME` has its own channel, and
//! only the user can reach it:
//! - Unix: a socket next to the database, mode 0600, inside the user's
//!   private data folder;
//! - Windows: a named pipe `\\.\pipe\switchyard-<hash of the database
//!   path>` whose DACL grants access to its owner only (no remote clients),
//!   and which refuses to open when another process already made it.
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
    /// Starts a browser sign-in hosted by the resident (it outlives the
    /// window); answered with [`ControlResponse::Login`].
    StartLogin {
        client: String,
        project: Option<String>,
    },
    /// The address the browser ended on, or the code, for that sign-in.
    SubmitLoginCode(String),
    CancelLogin,
}

/// What the resident knows that the window cannot read from disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResidentStatus {
    pub gateway: GatewayStatus,
    /// Newest first.
    pub recent: Vec<RequestRecord>,
    /// Increases each time the window is asked to come forward.
    pub focus_requests: u64,
    /// The sign-in the resident hosts, and how its last step ended.
    #[serde(default)]
    pub login: Option<super::model::LoginView>,
    #[serde(default)]
    pub login_result: Option<super::login_host::LoginResult>,
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
    Login(super::model::LoginView),
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
pub async fn send(
    socket: &Path,
    request: &ControlRequest,
) -> Result<ControlResponse, ControlError> {
    let Ok(Some(stream)) = tokio::time::timeout(Duration::from_secs(2), connect(socket)).await
    else {
        return Err(ControlError::NotRunning(socket.to_owned()));
    };
    exchange(stream, request).await
}

#[cfg(unix)]
async fn connect(socket: &Path) -> Option<tokio::net::UnixStream> {
    tokio::net::UnixStream::connect(socket).await.ok()
}

#[cfg(windows)]
async fn connect(socket: &Path) -> Option<tokio::net::windows::named_pipe::NamedPipeClient> {
    use tokio::net::windows::named_pipe::ClientOptions;
    // ERROR_PIPE_BUSY: every instance is taken for a moment; the server
    // makes a new one after each connection.
    const ERROR_PIPE_BUSY: i32 = 231;
    let name = pipe_name(socket);
    loop {
        match ClientOptions::new().open(&name) {
            Ok(client) => return Some(client),
            Err(e) if e.raw_os_error() == Some(ERROR_PIPE_BUSY) => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(_) => return None,
        }
    }
}

/// The pipe that stands for `socket` on Windows (named pipes live in their
/// own namespace, not in the file system).
#[cfg(any(windows, test))]
pub fn pipe_name(socket: &Path) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    socket.hash(&mut hasher);
    format!(r"\\.\pipe\switchyard-{:016x}", hasher.finish())
}

/// One request out, one answer back, on a connected stream.
async fn exchange<S>(stream: S, request: &ControlRequest) -> Result<ControlResponse, ControlError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let (read, mut write) = tokio::io::split(stream);
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
    if socket.exists() {
        if send(&socket, &ControlRequest::Status).await.is_ok() {
            return Err(already_answered(&socket));
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
        tokio::spawn(answer(stream, handler.clone()));
    }
    let _ = std::fs::remove_file(&socket);
    Ok(())
}

/// Listens on the pipe for `socket` until `shutdown` fires. The first
/// instance is made with `FILE_FLAG_FIRST_PIPE_INSTANCE`: if another process
/// (another Switchyard, or anyone squatting the name) made the pipe first,
/// this fails instead of sharing it.
#[cfg(windows)]
pub async fn serve<H: ControlHandler>(
    socket: PathBuf,
    handler: std::sync::Arc<H>,
    shutdown: tokio_util::sync::CancellationToken,
) -> Result<(), ControlError> {
    let name = pipe_name(&socket);
    // Asked first, as on Unix (and because Wine does not enforce the
    // first-instance flag).
    if send(&socket, &ControlRequest::Status).await.is_ok() {
        return Err(already_answered(&socket));
    }
    let mut server = match owner_only_pipe(&name, true) {
        Ok(server) => server,
        Err(error) => {
            if send(&socket, &ControlRequest::Status).await.is_ok() {
                return Err(already_answered(&socket));
            }
            return Err(ControlError::Io(error));
        }
    };
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            connected = server.connect() => connected?,
        };
        // The next client gets a new instance; this one is answered.
        let next = owner_only_pipe(&name, false)?;
        tokio::spawn(answer(
            std::mem::replace(&mut server, next),
            handler.clone(),
        ));
    }
    Ok(())
}

#[cfg(windows)]
fn owner_only_pipe(
    name: &str,
    first: bool,
) -> std::io::Result<tokio::net::windows::named_pipe::NamedPipeServer> {
    let mut options = tokio::net::windows::named_pipe::ServerOptions::new();
    options
        .first_pipe_instance(first)
        .reject_remote_clients(true);
    super::win32::create_owner_only_pipe(&options, name)
}

fn already_answered(socket: &Path) -> ControlError {
    ControlError::Refused(format!(
        "another Switchyard already answers on {}",
        socket.display()
    ))
}

/// Answers one connection's requests, a line each, until it closes.
async fn answer<S, H>(stream: S, handler: std::sync::Arc<H>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + 'static,
    H: ControlHandler,
{
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let (read, mut write) = tokio::io::split(stream);
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
}

#[cfg(test)]
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
                    login: None,
                    login_result: None,
                }),
                ControlRequest::StartLogin { client, .. } => {
                    ControlResponse::Login(crate::desktop::model::LoginView {
                        url: format!("https://accounts.google.com/?client={client}"),
                        accepts_paste: true,
                        port: 1,
                    })
                }
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
            if send(&socket, &ControlRequest::Status).await.is_ok() {
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
        // A sign-in's view comes back as itself (not as another answer).
        let start = ControlRequest::StartLogin {
            client: "gemini-cli".into(),
            project: None,
        };
        match send(&socket, &start).await.unwrap() {
            ControlResponse::Login(view) => assert!(view.url.ends_with("client=gemini-cli")),
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
        assert!(!socket.exists(), "no socket file is left on exit");
        assert!(matches!(
            send(&socket, &ControlRequest::Status).await,
            Err(ControlError::NotRunning(_))
        ));
    }
}
