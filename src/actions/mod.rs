//! Running actions: the `program` and `http` kinds of `[actions.NAME]`, each
//! attempt under its timeout, retried with backoff, with the output captured
//! (first and last lines, capped), hashed and stripped of secrets.
//!
//! A program is exec'd directly with its arguments, never through a shell: each
//! rendered argument template is one argument, whatever a parameter's value holds.
//!
//! Owns: executing one run and describing its result; `workers::ActionWorker`
//! feeds it the queued runs. Must not: write SQL, decide who may run what, or post
//! anything (the store and the engine do).

mod http;
mod output;
mod params;
mod program;
mod spawner;

pub use output::{Capture, Redactor};
pub use params::{ParamError, resolve};

use crate::config::{ActionConfig, ActionKind, SECRET_VARS};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Set to `true` to stop a run: a program gets SIGTERM, then SIGKILL after the
/// grace period; a request is dropped; no further attempt starts.
pub type Cancel = watch::Receiver<bool>;

/// Resolves once `cancel` is set; never if its sender is gone unset.
async fn cancelled(cancel: &mut Cancel) {
    if cancel.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunResult {
    Succeeded,
    Failed,
    TimedOut,
    /// Stopped on request (`/incident cancel`).
    Cancelled,
}

impl RunResult {
    pub fn as_str(self) -> &'static str {
        match self {
            RunResult::Succeeded => "succeeded",
            RunResult::Failed => "failed",
            RunResult::TimedOut => "timed_out",
            RunResult::Cancelled => "cancelled",
        }
    }
}

/// What a run produced: the result of its last attempt, why it ended that way,
/// and that attempt's output, capped and redacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub result: RunResult,
    /// One line, e.g. `exit status 3` or `HTTP 503`.
    pub detail: String,
    pub output: String,
    /// Hex SHA-256 of the whole output, before capping and redaction.
    pub output_hash: String,
    pub attempts: u32,
}

/// Reads an environment variable; the process environment in production, a map in tests.
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Executes actions. Cheap to clone.
#[derive(Clone)]
pub struct Runner {
    env: EnvLookup,
    redactor: Redactor,
    http: reqwest::Client,
    /// Between SIGTERM and SIGKILL for a program past its timeout.
    grace: Duration,
    /// Before the first retry; doubled for each further one.
    backoff: Duration,
    /// Runs nothing and reports what it would have run (`warroom console --dry-run`).
    dry_run: bool,
}

impl Runner {
    /// A runner whose output redaction covers warroom's secrets and every
    /// `header_env` value of `actions`.
    pub fn new<'a>(env: EnvLookup, actions: impl IntoIterator<Item = &'a ActionConfig>) -> Self {
        let mut secret_vars: Vec<&str> = SECRET_VARS.to_vec();
        let actions: Vec<&ActionConfig> = actions.into_iter().collect();
        for action in &actions {
            if let ActionKind::Http(http) = &action.kind {
                secret_vars.extend(http.header_env.values().map(String::as_str));
            }
        }
        let redactor = Redactor::new(secret_vars.iter().filter_map(|name| env(name)));
        Self {
            env,
            redactor,
            http: reqwest::Client::new(),
            grace: Duration::from_secs(5),
            backoff: Duration::from_secs(1),
            dry_run: false,
        }
    }

    /// A runner that executes nothing: every run succeeds at once, its output
    /// saying what would have been executed, so a try-out or a simulation of the
    /// process never touches real systems.
    pub fn dry_run(mut self) -> Self {
        self.dry_run = true;
        self
    }

    /// Shortens the SIGTERM grace period and the retry backoff (tests).
    pub fn with_timings(mut self, grace: Duration, backoff: Duration) -> Self {
        self.grace = grace;
        self.backoff = backoff;
        self
    }

    /// Runs `action` with resolved `params` (see [`resolve`]), retrying a failed
    /// or timed-out attempt up to `action.retries` times, until done or `cancel`.
    pub async fn run(
        &self,
        action: &ActionConfig,
        params: &BTreeMap<String, String>,
        mut cancel: Cancel,
    ) -> Result<Outcome, RunError> {
        if self.dry_run {
            let would = format!("would execute: {}", describe(action, params));
            return Ok(Outcome {
                result: RunResult::Succeeded,
                detail: "dry run, nothing was executed".to_owned(),
                output_hash: Capture::new().hash(),
                output: self.redactor.redact(&would),
                attempts: 1,
            });
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut outcome = self.attempt(action, params, &mut cancel).await?;
            outcome.attempts = attempt;
            if matches!(outcome.result, RunResult::Succeeded | RunResult::Cancelled)
                || attempt > action.retries
            {
                return Ok(outcome);
            }
            let shift = (attempt - 1).min(10);
            tokio::select! {
                () = tokio::time::sleep(self.backoff.saturating_mul(1 << shift)) => {}
                () = cancelled(&mut cancel) => {
                    outcome.result = RunResult::Cancelled;
                    outcome.detail = format!("cancelled after attempt {attempt}: {}", outcome.detail);
                    return Ok(outcome);
                }
            }
        }
    }

    async fn attempt(
        &self,
        action: &ActionConfig,
        params: &BTreeMap<String, String>,
        cancel: &mut Cancel,
    ) -> Result<Outcome, RunError> {
        let mut capture = Capture::new();
        let (result, detail) = match &action.kind {
            ActionKind::Program(program) => {
                let env = program
                    .env
                    .iter()
                    .filter(|name| !SECRET_VARS.contains(&name.as_str()))
                    .filter_map(|name| (self.env)(name).map(|value| (name.clone(), value)))
                    .collect();
                program::run(
                    program,
                    params,
                    env,
                    (action.timeout, self.grace),
                    cancel,
                    &mut capture,
                )
                .await?
            }
            ActionKind::Http(http) => {
                http::run(
                    &self.http,
                    http,
                    params,
                    &self.env,
                    action.timeout,
                    cancel,
                    &mut capture,
                )
                .await
            }
            ActionKind::Page(_) | ActionKind::Status(_) => {
                return Err(RunError::NotExecutable(action.kind.as_str()));
            }
        };
        Ok(Outcome {
            result,
            detail: self.redactor.redact(&detail),
            output: self.redactor.redact(&capture.render()),
            output_hash: capture.hash(),
            attempts: 1,
        })
    }
}

/// What running `action` with `params` would execute, in one line: the program
/// and its arguments (each quoted, as the program receives them), or the
/// request's method and URL. Shown instead of running in a drill.
pub fn describe(action: &ActionConfig, params: &BTreeMap<String, String>) -> String {
    let fill = |text: &str| {
        crate::config::render(text, |name| {
            Some(params.get(name).cloned().unwrap_or_default())
        })
    };
    match &action.kind {
        ActionKind::Program(program) => {
            let args: Vec<String> = program
                .args
                .iter()
                .map(|arg| format!("{:?}", fill(arg)))
                .collect();
            format!("{} {}", program.program.display(), args.join(" "))
                .trim_end()
                .to_owned()
        }
        ActionKind::Http(http) => format!("{} {}", http.method, fill(&http.url)),
        ActionKind::Page(_) | ActionKind::Status(_) => action.kind.as_str().to_owned(),
    }
}

/// Why a run could not be attempted at all (as opposed to an attempt failing).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("could not start {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("a {0} action is not run by a program or a request")]
    NotExecutable(&'static str),
}
