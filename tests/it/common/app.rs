//! A whole warroom served on a random port of 127.0.0.1, the way `warroom serve`
//! runs it, for tests that speak HTTP to it.

use super::Backend;
use std::net::SocketAddr;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use warroom::command::{self, Command};
use warroom::config::{Config, Settings};
use warroom::domain::{IncidentId, Platform, UserId};
use warroom::engine::{Actor, Context, Engine, Reply};
use warroom::startup::Application;
use warroom::store::Store;

/// Three severities (so impact runs major → partial → degraded), the people the
/// tests act as, and three status-page components.
pub const CONFIG: &str = r#"
[bot]
public_url = "https://status.example.test"
timezone = "UTC"

[[severity]]
name = "sev1"
aliases = ["p0"]
label = "Critical"
description = "Complete outage"
respond_within = "15m"
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

[people.alice]
slack = "UALICE"
[people.bob]
slack = "UBOB"

[assign.sev1]
commander = "alice"
technical = "bob"

[phrases]
investigating = "We are investigating reports of issues with {service}."
identified = "We have identified the issue affecting {service}: {cause}."
monitoring = "A fix for {service} is in place; we are monitoring."
resolved = "The issue affecting {service} has been resolved."

[status_page]
title = "Example Status"
components = ["API", "Database", "Auth"]
"#;

pub struct TestApp {
    pub address: SocketAddr,
    pub engine: Engine,
    pub http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    served: Option<JoinHandle<()>>,
    // Dropped last: the database outlives the server using it.
    pub backend: Backend,
}

impl TestApp {
    /// Builds and serves warroom on `backend`, with `WARROOM_API_TOKEN` = `token`.
    pub async fn spawn(backend: Backend, token: Option<&str>) -> TestApp {
        let url = backend.url.clone();
        let token = token.map(str::to_string);
        let settings = Settings::from_lookup(|name| match name {
            "DATABASE_URL" => Some(url.clone()),
            "WARROOM_LISTEN" => Some("127.0.0.1:0".to_string()),
            "WARROOM_API_TOKEN" => token.clone(),
            _ => None,
        })
        .expect("test settings are valid");
        let config = Config::from_toml_str(CONFIG).expect("test config is valid");
        let app = Application::build(settings, config)
            .await
            .unwrap_or_else(|e| panic!("[{}] build: {e}", backend.name));
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
        TestApp {
            address,
            engine,
            http: reqwest::Client::new(),
            stop: Some(stop),
            served: Some(served),
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
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(served) = self.served.take() {
            served.await.expect("server task");
        }
    }
}
