//! How every test starts warroom: through `warroom::startup`'s builder, as
//! `warroom serve` does, from settings read the way `warroom serve` reads its
//! environment. [`Serving`] runs the whole application on a random port of
//! 127.0.0.1 for tests that speak HTTP to it; [`TestApp`] is that with the
//! status-page config. The engine-level [`super::harness::Harness`] builds
//! through the same builder and drives the workers' passes itself.

use super::Backend;
use super::harness::{PEOPLE, SEV1, SEV1_ROLES, service_phrases};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use warroom::command::{self, Command};
use warroom::config::{Config, Settings};
use warroom::domain::{IncidentId, Platform, UserId};
use warroom::engine::{Actor, Context, Engine, Reply};
use warroom::startup::{Application, ApplicationBuilder};
use warroom::store::Store;

/// Three severities (so impact runs major → partial → degraded), the people the
/// tests act as, and three status-page components.
pub fn config() -> String {
    // Goes on from `SEV1`.
    let world = r#"
aliases = ["p0"]
description = "Complete outage"
update_every = "15m"

[[severity]]
name = "sev2"
label = "Major"
description = "Partial outage"
respond_within = "30m"
update_every = "30m"

[[severity]]
name = "sev3"
label = "Minor"
description = "Degraded service"
respond_within = "2h"

[status_page]
title = "Example Status"
components = ["API", "Database", "Auth"]
"#;
    let bot = r#"
[bot]
public_url = "https://status.example.test"
timezone = "UTC"
"#;
    [bot, SEV1, world, PEOPLE, SEV1_ROLES, &service_phrases()].concat()
}

/// warroom as `warroom serve` builds it, through the same builder: `backend`'s
/// database, a free port on 127.0.0.1, the environment variables `vars`, and
/// `config`. Parts a test gives instead (clock, platform, pager, runner) go on
/// the builder.
pub fn builder(backend: &Backend, vars: &[(&str, String)], config: Config) -> ApplicationBuilder {
    let settings = Settings::from_lookup(|name| match name {
        "DATABASE_URL" => Some(backend.url.clone()),
        "WARROOM_LISTEN" => Some("127.0.0.1:0".to_string()),
        _ => vars
            .iter()
            .find(|(var, _)| *var == name)
            .map(|(_, value)| value.clone()),
    })
    .expect("test settings are valid");
    Application::builder(settings, config)
}

/// Long enough for a slow CI machine, short enough to fail a hung stop quickly.
const STOP_WITHIN: Duration = Duration::from_secs(20);

/// A built warroom, serving until stopped.
pub struct Serving {
    pub address: SocketAddr,
    pub engine: Engine,
    stop: Option<oneshot::Sender<()>>,
    served: Option<JoinHandle<()>>,
}

impl Serving {
    /// Builds warroom on the database of the backend named `backend` and serves it.
    pub async fn start(builder: ApplicationBuilder, backend: &str) -> Self {
        let app = builder
            .build()
            .await
            .unwrap_or_else(|e| panic!("[{backend}] warroom builds: {e}"));
        let address = app.local_addr();
        let engine = app.engine();
        let (stop, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            if let Err(error) = app.run_until_stopped(shutdown).await {
                panic!("server failed: {error}");
            }
        });
        Self {
            address,
            engine,
            stop: Some(stop),
            served: Some(served),
        }
    }

    /// Stops the server and waits for it, so the database is free again.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(served) = self.served.take() {
            tokio::time::timeout(STOP_WITHIN, served)
                .await
                .expect("warroom stops")
                .expect("server task");
        }
    }
}

pub struct TestApp {
    pub address: SocketAddr,
    pub engine: Engine,
    pub http: reqwest::Client,
    serving: Serving,
    // Dropped last: the database outlives the server using it.
    pub backend: Backend,
}

impl TestApp {
    /// Builds and serves warroom on `backend`, with `WARROOM_API_TOKEN` = `token`.
    pub async fn spawn(backend: Backend, token: Option<&str>) -> TestApp {
        let vars: Vec<(&str, String)> = token
            .map(|token| ("WARROOM_API_TOKEN", token.to_string()))
            .into_iter()
            .collect();
        let config = Config::from_toml_str(&config()).expect("test config is valid");
        let serving = Serving::start(builder(&backend, &vars, config), backend.name).await;
        TestApp {
            address: serving.address,
            engine: serving.engine.clone(),
            http: reqwest::Client::new(),
            serving,
            backend,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub fn store(&self) -> &Store {
        self.engine.store()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// GETs a page and returns its status and body.
    pub async fn page(&self, path: &str) -> (u16, String) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }

    /// Runs `/incident <text>` as `user` (a Slack id), typed in `channel`.
    pub async fn run(&self, user: &str, channel: &str, text: &str) -> Reply {
        let parsed = command::parse(text, self.engine.config())
            .unwrap_or_else(|e| panic!("`{text}` parses: {e}"));
        self.command(user, channel, parsed).await
    }

    pub async fn command(&self, user: &str, channel: &str, command: Command) -> Reply {
        let actor = Actor {
            platform: Platform::Slack,
            user: UserId::new(user),
        };
        let context = Context {
            channel: channel.to_string(),
            request_id: None,
            room_name: None,
        };
        self.engine
            .handle(&actor, &context, command)
            .await
            .unwrap_or_else(|e| panic!("[{}] engine: {e}", self.backend.name))
    }

    /// Declares an incident from `/incident <text>` and returns its id.
    pub async fn declare(&self, user: &str, text: &str) -> IncidentId {
        let parsed = command::parse(text, self.engine.config())
            .unwrap_or_else(|e| panic!("`{text}` parses: {e}"));
        self.declare_command(user, parsed).await
    }

    /// Runs a declare command and returns the new incident's id, read from the reply.
    pub async fn declare_command(&self, user: &str, declare: Command) -> IncidentId {
        let reply = self.command(user, "C-ops", declare).await;
        let shown = reply.text();
        shown
            .split_whitespace()
            .find_map(|word| {
                word.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '-')
                    .parse::<IncidentId>()
                    .ok()
            })
            .unwrap_or_else(|| panic!("declare answered without an id: {shown}"))
    }

    /// Stops the server and waits for it, so the database is free again.
    pub async fn stop(self) {
        self.serving.stop().await;
    }
}
