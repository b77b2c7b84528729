//! A browser sign-in in progress, owned by whoever hosts it: the resident
//! (so closing the window mid-sign-in does not cancel it: the local server
//! the browser comes back to lives on), or the window process itself when
//! no resident runs.
//!
//! The host starts the flow, takes a pasted address or code, can cancel,
//! and keeps what the window shows of it ([`LoginView`]) and how it ended
//! ([`LoginResult`], numbered so the window says each result once).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::model::LoginView;
use crate::accounts::login::LoginFlow;
use crate::accounts::{self, AddAccountError, AddedAccount};
use crate::config::Config;
use crate::store::Store;
use crate::upstream::google::GoogleClient;

/// What a sign-in said last: an account added, a wrong paste, a failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginResult {
    /// Grows with every result.
    pub seq: u64,
    pub error: bool,
    pub text: String,
    /// About a pasted address or code (shown next to that field).
    pub about_paste: bool,
}

enum LoginInput {
    /// The address the browser ended on, or the bare code.
    Paste(String),
    Cancel,
}

pub struct LoginHost {
    store: Store,
    google: GoogleClient,
    /// Reads the config when a sign-in finishes.
    config: Box<dyn Fn() -> Result<Config, String> + Send + Sync>,
    /// The sign-in in progress: its task owns the flow; a pasted address or
    /// a cancel reaches it here.
    input: Mutex<Option<mpsc::Sender<LoginInput>>>,
    view: Mutex<Option<LoginView>>,
    project: Mutex<Option<String>>,
    result: Mutex<Option<LoginResult>>,
    seq: AtomicU64,
    /// Called when the view or the result changed (to wake a window).
    changed: Box<dyn Fn() + Send + Sync>,
}

impl LoginHost {
    pub fn new(
        store: Store,
        google: GoogleClient,
        config: impl Fn() -> Result<Config, String> + Send + Sync + 'static,
        changed: impl Fn() + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            google,
            config: Box::new(config),
            input: Mutex::new(None),
            view: Mutex::new(None),
            project: Mutex::new(None),
            result: Mutex::new(None),
            seq: AtomicU64::new(0),
            changed: Box::new(changed),
        })
    }

    /// What the window shows of the sign-in in progress.
    pub fn view(&self) -> Option<LoginView> {
        self.view.lock().clone()
    }

    /// How the last sign-in step ended.
    pub fn result(&self) -> Option<LoginResult> {
        self.result.lock().clone()
    }

    fn say(&self, error: bool, text: impl Into<String>, about_paste: bool) {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        *self.result.lock() = Some(LoginResult {
            seq,
            error,
            text: text.into(),
            about_paste,
        });
        (self.changed)();
    }

    /// Starts a sign-in with the OAuth client profile `client` (replacing
    /// one in progress); its view says where the browser goes.
    pub async fn start(
        self: &Arc<Self>,
        client: &str,
        project: Option<String>,
    ) -> Result<LoginView, String> {
        let config = (self.config)()?;
        let flow = accounts::login::start(&config, Some(client))
            .await
            .map_err(|e| e.to_string())?;
        let view = LoginView {
            url: flow.url.clone(),
            accepts_paste: flow.accepts_paste(),
            port: flow.port(),
        };
        *self.view.lock() = Some(view.clone());
        *self.project.lock() = project;
        let (input, inputs) = mpsc::channel(4);
        let own = input.downgrade();
        if let Some(previous) = self.input.lock().replace(input) {
            let _ = previous.try_send(LoginInput::Cancel);
        }
        tokio::spawn(self.clone().wait_for_browser(flow, own, inputs));
        (self.changed)();
        Ok(view)
    }

    /// Hands a pasted address or code to the sign-in in progress.
    pub async fn paste(&self, pasted: String) -> Result<(), String> {
        let input = self.input.lock().clone();
        match input {
            Some(input) if input.send(LoginInput::Paste(pasted)).await.is_ok() => Ok(()),
            _ => Err("no sign-in is in progress".to_owned()),
        }
    }

    /// Stops the sign-in in progress (its local server stops).
    pub fn cancel(&self) {
        if let Some(input) = self.input.lock().take() {
            let _ = input.try_send(LoginInput::Cancel);
        }
        *self.view.lock() = None;
        *self.project.lock() = None;
        (self.changed)();
    }

    /// Owns a sign-in until the browser comes back, an address is pasted
    /// (a wrong one is said, and the wait goes on), or it is cancelled.
    async fn wait_for_browser(
        self: Arc<Self>,
        mut flow: LoginFlow,
        own: mpsc::WeakSender<LoginInput>,
        mut inputs: mpsc::Receiver<LoginInput>,
    ) {
        // Done with this sign-in: forget its input, unless a newer one took
        // its place.
        let forget = |host: &Self| {
            let mut input = host.input.lock();
            if input
                .as_ref()
                .zip(own.upgrade())
                .is_some_and(|(current, own)| current.same_channel(&own))
            {
                input.take();
            }
        };
        let code = loop {
            tokio::select! {
                code = flow.wait() => break Some(code),
                input = inputs.recv() => match input {
                    Some(LoginInput::Paste(pasted)) => match flow.code_from_paste(&pasted) {
                        Ok(code) => break Some(Ok(code)),
                        Err(error) => self.say(true, error.to_string(), true),
                    },
                    // Cancelled (or replaced): the flow's local server stops.
                    Some(LoginInput::Cancel) | None => break None,
                },
            }
        };
        match code {
            Some(Ok(code)) => {
                forget(&self);
                self.finish(flow, code).await;
            }
            Some(Err(error)) => {
                forget(&self);
                if self.view.lock().is_some() {
                    self.say(true, error.to_string(), false);
                }
                *self.view.lock() = None;
                (self.changed)();
            }
            None => flow.cancel(),
        }
    }

    async fn finish(&self, flow: LoginFlow, code: String) {
        *self.view.lock() = None;
        let project = self.project.lock().take();
        let config = match (self.config)() {
            Ok(config) => config,
            Err(error) => return self.say(true, error, false),
        };
        let added = flow
            .finish(
                &self.google,
                &config,
                &self.store,
                &code,
                project.as_deref(),
            )
            .await;
        self.say_added(added);
    }

    fn say_added(&self, result: Result<AddedAccount, AddAccountError>) {
        let (error, text) = added_text(result);
        self.say(error, text, false);
    }
}

/// What adding or signing in an account did: (is_error, text).
pub fn added_text(result: Result<AddedAccount, AddAccountError>) -> (bool, String) {
    match result {
        Ok(added) => (
            false,
            format!(
                "{} {}",
                if added.created { "added" } else { "updated" },
                added.email
            ),
        ),
        Err(error) => (true, error.to_string()),
    }
}
