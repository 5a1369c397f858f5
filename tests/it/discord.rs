//! The Discord adapter end to end: warroom started through its ordinary settings
//! and config, with `DISCORD_API_URL` pointing at a fake Discord (REST and gateway
//! on 127.0.0.1, see `discord_fake`), on SQLite and, when configured, Postgres.
//!
//! Nothing sleeps for a fixed time: every wait is for a condition, with a deadline.

use crate::common::app::{self, Serving};
use crate::common::harness::{SEV1, SEV1_ROLES, bot, people, service_phrases};
use crate::common::store_reads::StoreReads;
use crate::common::{Backend, test_backends};
use crate::discord_fake::*;
use chrono::{TimeDelta, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use warroom::config::Config;
use warroom::domain::{EventKind, Incident, IncidentId, Role, Status, TimelineEvent, UserId};
use warroom::engine::Engine;
use warroom::render::clock_time;
use warroom::schedule::{Reminder, ReminderKind};
use warroom::store::IncidentFilter;

const API_TOKEN: &str = "fake-api-token-0123456789";
pub(crate) const ALICE: &str = "110000000000000001";
const BOB: &str = "110000000000000002";
pub(crate) const CAROL: &str = "110000000000000003";
const DAVE: &str = "110000000000000004";

/// Long enough for a slow CI machine, short enough to fail a hung test quickly.
const WAIT: Duration = Duration::from_secs(20);

pub(crate) fn config() -> String {
    config_with("15m")
}

/// The test config with SEV1 asking for a status update every `update_every`.
fn config_with(update_every: &str) -> String {
    // Goes on from `SEV1`.
    let world = format!(
        r#"
aliases = ["p0"]
update_every = "{update_every}"

[[severity]]
name = "sev2"
label = "Major"
respond_within = "30m"

[actions.restart-api]
kind = "http"
method = "POST"
url = "http://127.0.0.1:9/restart"

[discord]
guild_id = "{GUILD_ID}"
incidents_channel = "{INCIDENTS_CHANNEL}"
announce_channel = "{ANNOUNCE_CHANNEL}"
"#
    );
    [
        &bot("UTC"),
        SEV1,
        &world,
        &people("discord", &[("alice", ALICE), ("bob", BOB)]),
        SEV1_ROLES,
        &service_phrases(),
    ]
    .concat()
}

/// Whether no process holds the SQLite file of `url` (its `.lock` beside it);
/// a Postgres database is always free to connect to.
fn database_free(url: &str) -> bool {
    let Some(path) = url.strip_prefix("sqlite://") else {
        return true;
    };
    std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(format!("{path}.lock"))
        .is_ok_and(|lock| lock.try_lock().is_ok())
}

/// warroom running against a fresh fake Discord.
pub(crate) struct Running {
    pub(crate) fake: FakeDiscord,
    pub(crate) engine: Engine,
    interactions_url: String,
    key: TestKey,
    serving: Serving,
    backend: &'static str,
    next_interaction: u64,
}

impl Running {
    async fn start(backend: &Backend) -> Self {
        Self::start_with(backend, &config()).await
    }

    pub(crate) async fn start_with(backend: &Backend, config: &str) -> Self {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        Self::start_on(backend, config, FakeDiscord::start().await).await
    }

    /// Stops warroom and starts it again on the same database and the same
    /// Discord, as after a crash or a deploy; returns once the new one is serving.
    async fn restarted(self, backend: &Backend) -> Self {
        let Running {
            fake,
            engine,
            serving,
            ..
        } = self;
        // The engine holds the database; on SQLite, only one process may.
        drop(engine);
        serving.stop().await;
        // The gateway client's own tasks let go of the database a moment after
        // the server has stopped; a new process starts once they have.
        eventually("the database free again", WAIT, || {
            database_free(&backend.url).then_some(())
        })
        .await;
        Self::start_on(backend, &config(), fake).await
    }

    async fn start_on(backend: &Backend, config: &str, fake: FakeDiscord) -> Self {
        let key = TestKey::new(7);
        let vars = [
            ("DISCORD_TOKEN", TOKEN.to_string()),
            ("DISCORD_APPLICATION_ID", APPLICATION_ID.to_string()),
            ("DISCORD_PUBLIC_KEY", key.public_hex()),
            ("DISCORD_API_URL", fake.api_url.clone()),
            ("WARROOM_API_TOKEN", API_TOKEN.to_string()),
        ];
        let config = Config::from_toml_str(config).expect("config");
        let serving = Serving::start(app::builder(backend, &vars, config), backend.name).await;
        let interactions_url = format!("http://{}/discord/interactions", serving.address);
        Self {
            fake,
            engine: serving.engine.clone(),
            interactions_url,
            key,
            serving,
            backend: backend.name,
            next_interaction: 600_000_000_000_000_000,
        }
    }

    pub(crate) async fn stop(self) {
        self.serving.stop().await;
    }

    fn interaction_id(&mut self) -> String {
        self.next_interaction += 1;
        self.next_interaction.to_string()
    }

    pub(crate) async fn connected(&self) {
        let gateway = &self.fake.gateway;
        eventually("the gateway session", WAIT, || {
            gateway.is_live().then_some(())
        })
        .await;
    }

    /// Uses `/incident <subcommand>` over the gateway and waits for the final reply.
    async fn command(
        &mut self,
        user: &str,
        channel: &str,
        subcommand: &str,
        options: Value,
    ) -> Value {
        let id = self.interaction_id();
        let payload = command_interaction(&id, user, channel, subcommand, options);
        self.fake.gateway.dispatch("INTERACTION_CREATE", payload);
        let fake = &self.fake;
        eventually(&format!("the reply to {subcommand}"), WAIT, || {
            fake.reply(&id, &token_of(&id))
        })
        .await
    }

    /// `user` clicks the button labelled `label` on `message` as it stands in the
    /// fake now (its `custom_id` read from what warroom posted); waits for the
    /// answer. Gives the interaction id, the callback type and what the user sees.
    pub(crate) async fn click(&mut self, user: &str, message: &FakeMessage, label: &str) -> Click {
        let custom_id = custom_id_of(&message.body, label).unwrap_or_else(|| {
            panic!("[{}] no {label} button on {:?}", self.backend, message.body)
        });
        self.click_custom(user, message, &custom_id).await
    }

    /// A click on a button whose `custom_id` is `custom_id`.
    async fn click_custom(&mut self, user: &str, message: &FakeMessage, custom_id: &str) -> Click {
        let id = self.interaction_id();
        let payload = component_interaction(&id, user, custom_id, &posted_object(message));
        self.answered(id, payload).await
    }

    /// Dispatches an interaction and waits for its answer.
    async fn answered(&self, id: String, payload: Value) -> Click {
        self.fake
            .gateway
            .dispatch("INTERACTION_CREATE", payload.clone());
        let fake = &self.fake;
        let kind = eventually("the answer to a click", WAIT, || {
            fake.callback(&id).and_then(|c| c["type"].as_u64())
        })
        .await;
        let reply = eventually("the reply to a click", WAIT, || {
            fake.reply(&id, &token_of(&id))
        })
        .await;
        Click {
            id,
            kind,
            reply,
            payload,
        }
    }

    /// How many answers the interaction `id` got.
    fn callbacks(&self, id: &str) -> usize {
        self.fake
            .requests_to(&Method::POST, &format!("/api/v10/interactions/{id}/"))
            .len()
    }

    async fn declare(&mut self, title: &str) -> (Incident, String) {
        let reply = self
            .command(
                CAROL,
                INCIDENTS_CHANNEL,
                "declare",
                json!([
                    option("severity", 3, json!("sev1")),
                    option("title", 3, json!(title))
                ]),
            )
            .await;
        assert!(
            reply["content"]
                .as_str()
                .unwrap_or("")
                .contains("Declaring INC-"),
            "[{}] {reply}",
            self.backend
        );
        let incident = self.only_incident().await;
        let fake = &self.fake;
        let thread = eventually("the war room thread", WAIT, || {
            fake.threads()
                .first()
                .and_then(|t| t["id"].as_str().map(str::to_string))
        })
        .await;
        // Discord has the thread a moment before warroom records it as the war
        // room; a command sent in it before then would find no incident.
        let deadline = Instant::now() + WAIT;
        while self.only_incident().await.room.as_deref() != Some(thread.as_str()) {
            assert!(
                Instant::now() < deadline,
                "[{}] the war room thread is recorded",
                self.backend
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        (incident, thread)
    }

    async fn only_incident(&self) -> Incident {
        let open = self
            .engine
            .store()
            .incidents(IncidentFilter::All, 10)
            .await
            .expect("incidents");
        assert_eq!(open.len(), 1, "[{}] {open:?}", self.backend);
        open.into_iter().next().expect("one incident")
    }

    async fn incident_count(&self) -> usize {
        self.engine
            .store()
            .incidents(IncidentFilter::All, 100)
            .await
            .expect("incidents")
            .len()
    }

    /// Declares, and waits until every message of the declaration is out: the
    /// pinned summary in the thread and the announcement.
    async fn declared_and_announced(&mut self, title: &str) -> (Incident, String) {
        let (incident, thread) = self.declare(title).await;
        self.summary(&thread).await;
        let fake = &self.fake;
        eventually("the announcement", WAIT, || {
            fake.messages_in(ANNOUNCE_CHANNEL).into_iter().next()
        })
        .await;
        (incident, thread)
    }

    /// The summary message in the thread once it is posted and pinned.
    async fn summary(&self, thread: &str) -> FakeMessage {
        let fake = &self.fake;
        eventually("the pinned summary", WAIT, || {
            fake.messages_in(thread)
                .into_iter()
                .find(|m| m.pinned && !m.body["embeds"].as_array().is_none_or(Vec::is_empty))
        })
        .await
    }
}

/// A click and its answer.
pub(crate) struct Click {
    id: String,
    /// The callback type: 4 (message), 5 (deferred), 6 or 7 (update the message).
    kind: u64,
    /// What the user sees: the callback's data, or the deferred reply.
    reply: Value,
    /// The interaction as sent, to deliver again.
    payload: Value,
}

impl Click {
    pub(crate) fn text(&self) -> &str {
        self.reply["content"].as_str().unwrap_or_default()
    }
}

/// The labels of the buttons on a message body.
fn button_labels(body: &Value) -> Vec<String> {
    buttons(body)
        .filter_map(|b| b["label"].as_str().map(str::to_string))
        .collect()
}

/// The `custom_id` of the button labelled `label`.
fn custom_id_of(body: &Value, label: &str) -> Option<String> {
    buttons(body)
        .find(|b| b["label"] == label)
        .and_then(|b| b["custom_id"].as_str().map(str::to_string))
}

fn buttons(body: &Value) -> impl Iterator<Item = &Value> {
    body["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().into_iter().flatten())
}

/// The embed field `name` of a message body.
fn field(body: &Value, name: &str) -> String {
    body["embeds"][0]["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["name"] == name)
        .and_then(|f| f["value"].as_str())
        .unwrap_or_default()
        .to_string()
}

fn sub_names(definition: &Value) -> Vec<String> {
    definition[0]["options"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o["name"].as_str().map(str::to_string))
        .collect()
}

fn sub<'a>(definition: &'a Value, name: &str) -> &'a Value {
    definition[0]["options"]
        .as_array()
        .and_then(|subs| subs.iter().find(|s| s["name"] == name))
        .expect("subcommand")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_incident_runs_on_discord_from_declare_to_captured_pin() {
    for backend in test_backends().await {
        let mut warroom = Running::start(&backend).await;
        let name = backend.name;

        // /incident is registered in the guild by bulk overwrite, with typed options.
        let fake = &warroom.fake;
        let registered = eventually("command registration", WAIT, || {
            fake.requests_to(
                &Method::PUT,
                &format!("/applications/{APPLICATION_ID}/guilds/{GUILD_ID}/commands"),
            )
            .first()
            .map(|r| r.body.clone())
        })
        .await;
        assert_eq!(registered[0]["name"], "incident");
        let names = sub_names(&registered);
        for expected in [
            "declare",
            "role",
            "status",
            "update",
            "severity",
            "note",
            "run",
            "approve",
            "cancel",
            "followup",
            "ack",
            "resolve",
            "postmortem",
            "timeline",
            "list",
            "stats",
            "help",
        ] {
            assert!(
                names.iter().any(|n| n == expected),
                "[{name}] no {expected} in {names:?}"
            );
        }
        let severity = &sub(&registered, "declare")["options"][0];
        assert_eq!(severity["name"], "severity");
        let choices: Vec<&str> = severity["choices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["value"].as_str().unwrap())
            .collect();
        assert_eq!(choices, ["sev1", "sev2"]);
        assert_eq!(sub(&registered, "run")["options"][0]["autocomplete"], true);
        assert_eq!(sub(&registered, "role")["options"][1]["type"], 6);

        // The gateway session: identified with the bot token and the intents needed.
        warroom.connected().await;
        let identify = warroom.fake.gateway.identifies()[0].clone();
        let token = identify["token"].as_str().unwrap_or_default();
        assert_eq!(token.trim_start_matches("Bot "), TOKEN, "[{name}]");
        let intents = identify["intents"].as_u64().unwrap();
        assert_eq!(intents, 1 | (1 << 9) | (1 << 10) | (1 << 15), "[{name}]");

        // Declare: the war room thread, its members, the summary, the announcement.
        let (incident, thread) = warroom.declare("checkout is down").await;
        let created = warroom.fake.threads()[0].clone();
        assert_eq!(
            created["name"],
            format!("{} · checkout is down", incident.id)
        );
        assert_eq!(created["parent_id"], INCIDENTS_CHANNEL);
        assert_eq!(created["type"], 11);
        assert_eq!(created["thread_metadata"]["auto_archive_duration"], 10080);
        let fake = &warroom.fake;
        let mut members = eventually("thread members", WAIT, || {
            let members = fake.members(&thread);
            (members.len() == 3).then_some(members)
        })
        .await;
        members.sort();
        assert_eq!(members, [ALICE, BOB, CAROL], "[{name}]");
        let summary = warroom.summary(&thread).await;
        assert_eq!(
            summary.body["embeds"][0]["color"], 0xE0_2B_2B,
            "sev1 is red"
        );
        assert_eq!(field(&summary.body, "Status"), "investigating");
        assert_eq!(
            field(&summary.body, "Incident commander"),
            format!("<@{ALICE}>")
        );
        let mut mentioned: Vec<String> =
            serde_json::from_value(summary.body["allowed_mentions"]["users"].clone()).unwrap();
        mentioned.sort();
        assert_eq!(mentioned, [ALICE, BOB, CAROL]);
        assert_eq!(summary.body["allowed_mentions"]["parse"], json!([]));
        let announced = eventually("the announcement", WAIT, || {
            fake.messages_in(ANNOUNCE_CHANNEL).into_iter().next()
        })
        .await;
        let announcement = announced.body["content"].as_str().unwrap();
        assert!(
            announcement.contains(&incident.id.to_string()),
            "{announcement}"
        );
        // Edited in place once the thread is open, to link it.
        let announced = eventually("the announcement linking the thread", WAIT, || {
            fake.messages_in(ANNOUNCE_CHANNEL)
                .into_iter()
                .find(|m| m.edits == 1)
        })
        .await;
        let announcement = announced.body["content"].as_str().unwrap();
        assert!(
            announcement.contains(&format!("War room: <#{thread}>")),
            "{announcement}"
        );
        assert_eq!(fake.messages_in(ANNOUNCE_CHANNEL).len(), 1, "[{name}]");

        // Status and role changes edit the same summary message in place.
        let reply = warroom
            .command(
                CAROL,
                &thread,
                "status",
                json!([option("status", 3, json!("identified"))]),
            )
            .await;
        assert_eq!(reply["flags"], 64, "[{name}] {reply}");
        let reply = warroom
            .command(
                CAROL,
                &thread,
                "role",
                json!([
                    option("role", 3, json!("comms")),
                    option("user", 6, json!(DAVE))
                ]),
            )
            .await;
        assert!(
            reply["content"]
                .as_str()
                .unwrap()
                .contains("communications lead"),
            "{reply}"
        );
        let fake = &warroom.fake;
        let edited = eventually("the edited summary", WAIT, || {
            fake.messages_in(&thread).into_iter().find(|m| {
                m.id == summary.id
                    && field(&m.body, "Status") == "identified"
                    && field(&m.body, "Communications lead") == format!("<@{DAVE}>")
            })
        })
        .await;
        assert!(edited.edits >= 2, "[{name}] {} edits", edited.edits);
        let patches = fake.requests_to(&Method::PATCH, &format!("/channels/{thread}/messages/"));
        assert!(
            patches.iter().all(|p| p.path.ends_with(&summary.id)),
            "[{name}] every edit is of the summary"
        );
        let stored = warroom.only_incident().await;
        assert_eq!(stored.status, Status::Identified);

        // A mistake is answered to its author only, with how to fix it.
        let reply = warroom
            .command(
                CAROL,
                ANNOUNCE_CHANNEL,
                "status",
                json!([option("status", 3, json!("monitoring"))]),
            )
            .await;
        assert_eq!(reply["flags"], 64, "[{name}] {reply}");
        assert!(
            reply["content"].as_str().unwrap().contains("war room"),
            "{reply}"
        );

        // 📌 on a message in the thread puts it on the timeline; other emoji do not.
        warroom.fake.author_message(
            &thread,
            "700000000000000001",
            BOB,
            "rolled back checkout-api",
        );
        warroom
            .fake
            .author_message(&thread, "700000000000000002", BOB, "lunch?");
        let gateway = &warroom.fake.gateway;
        gateway.dispatch(
            "MESSAGE_REACTION_ADD",
            reaction_add(ALICE, &thread, "700000000000000002", "👍"),
        );
        gateway.dispatch(
            "MESSAGE_REACTION_ADD",
            reaction_add(ALICE, &thread, "700000000000000001", "📌"),
        );
        let store = warroom.engine.store().clone();
        let deadline = Instant::now() + WAIT;
        let captured = loop {
            let events = store.timeline(&incident.id).await.expect("timeline");
            let captured: Vec<_> = events
                .into_iter()
                .filter(|e| e.kind == EventKind::Captured)
                .collect();
            if !captured.is_empty() {
                break captured;
            }
            assert!(Instant::now() < deadline, "[{name}] no captured event");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(captured.len(), 1, "[{name}] {captured:?}");
        assert_eq!(captured[0].actor, BOB, "the author, not who pinned it");
        assert_eq!(captured[0].text, "rolled back checkout-api");

        // The session is kept alive: heartbeats at the interval HELLO asked for, acked.
        let gateway = &warroom.fake.gateway;
        eventually("a heartbeat", WAIT, || {
            (gateway.heartbeats() >= 1).then_some(())
        })
        .await;
        warroom.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_message_whose_answer_was_lost_is_not_posted_again() {
    for backend in test_backends().await {
        let mut warroom = Running::start(&backend).await;
        let name = backend.name;
        warroom.connected().await;
        warroom.fake.lose_message_answers(1);
        let (_, thread) = warroom.declared_and_announced("payments slow").await;
        let fake = &warroom.fake;

        // The announcement (the declaration's first message) was created but its
        // answer lost; the retry sends the same nonce with `enforce_nonce`, and
        // Discord hands back the first message.
        let posts = fake.requests_to(
            &Method::POST,
            &format!("/channels/{ANNOUNCE_CHANNEL}/messages"),
        );
        let statuses: Vec<u16> = posts.iter().map(|r| r.status).collect();
        assert_eq!(statuses, [500, 200], "[{name}] {posts:?}");
        assert_eq!(posts[0].body["nonce"], posts[1].body["nonce"], "[{name}]");
        assert!(
            posts[0].body["nonce"]
                .as_str()
                .is_some_and(|n| !n.is_empty() && n.len() <= 25)
        );
        assert_eq!(posts[1].body["enforce_nonce"], true, "[{name}]");
        assert_eq!(
            fake.messages_in(ANNOUNCE_CHANNEL).len(),
            1,
            "[{name}] one announcement"
        );
        let summary = fake.requests_to(&Method::POST, &format!("/channels/{thread}/messages"));
        assert_ne!(
            summary[0].body["nonce"], posts[0].body["nonce"],
            "[{name}] every post has a nonce of its own"
        );
        warroom.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_private_incident_opens_a_private_thread_members_cannot_invite_to() {
    const TITLE: &str = "Harassment report in the ops team";
    for backend in test_backends().await {
        let mut warroom = Running::start(&backend).await;
        let name = backend.name;
        warroom.connected().await;
        let reply = warroom
            .command(
                CAROL,
                INCIDENTS_CHANNEL,
                "declare",
                json!([
                    option("severity", 3, json!("sev1")),
                    option("title", 3, json!(TITLE)),
                    option("private", 5, json!(true)),
                ]),
            )
            .await;
        assert!(
            reply["content"]
                .as_str()
                .unwrap_or("")
                .contains("It is private"),
            "[{name}] {reply}"
        );
        let fake = &warroom.fake;
        let thread = eventually("the private thread", WAIT, || {
            fake.threads().first().cloned()
        })
        .await;
        assert_eq!(thread["type"], 12, "[{name}] {thread}");
        assert_eq!(
            thread["thread_metadata"]["invitable"], false,
            "[{name}] {thread}"
        );
        let created = fake.requests_to(&Method::POST, "/threads");
        assert_eq!(created[0].body["invitable"], false, "[{name}]");
        let thread_id = thread["id"].as_str().expect("an id").to_owned();
        let members = eventually("thread members", WAIT, || {
            let members = fake.members(&thread_id);
            (members.len() == 3).then_some(members)
        })
        .await;
        assert!(members.iter().any(|m| m == ALICE), "[{name}] {members:?}");

        let announced = eventually("the announcement", WAIT, || {
            fake.messages_in(ANNOUNCE_CHANNEL).into_iter().next()
        })
        .await;
        let announcement = announced.body["content"].as_str().unwrap_or_default();
        assert_eq!(
            announcement,
            format!("**A private incident was declared** by <@{CAROL}>."),
            "[{name}]"
        );
        assert!(warroom.only_incident().await.private, "[{name}]");
        warroom.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn global_commands_register_incident_for_every_server() {
    let backend = test_backends().await.remove(0);
    let config = config().replace(
        &format!("guild_id = \"{GUILD_ID}\"\n"),
        &format!("guild_id = \"{GUILD_ID}\"\nglobal_commands = true\n"),
    );
    assert!(config.contains("global_commands = true"), "{config}");
    let warroom = Running::start_with(&backend, &config).await;
    let fake = &warroom.fake;
    let global = format!("/api/v10/applications/{APPLICATION_ID}/commands");
    let registered = eventually("global command registration", WAIT, || {
        fake.requests()
            .into_iter()
            .find(|r| r.method == Method::PUT && r.path == global)
    })
    .await;
    assert_eq!(registered.status, 200, "{registered:?}");
    assert_eq!(registered.body[0]["name"], "incident");
    assert!(
        sub_names(&registered.body).contains(&"summary".to_owned()),
        "{:?}",
        registered.body
    );
    assert!(
        fake.requests_to(&Method::PUT, "/guilds/").is_empty(),
        "not registered in the guild as well"
    );
    warroom.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rate_limited_message_is_delivered_once_after_retry_after_and_order_is_kept() {
    for backend in test_backends().await {
        let mut warroom = Running::start(&backend).await;
        let name = backend.name;
        warroom.connected().await;
        warroom.fake.rate_limit_next_message(1.0);
        let (_, thread) = warroom.declared_and_announced("payments slow").await;
        let fake = &warroom.fake;

        let posts: Vec<Recorded> = fake
            .requests()
            .into_iter()
            .filter(|r| {
                (r.method == Method::POST && r.path.ends_with("/messages"))
                    || (r.method == Method::PUT && r.path.contains("/messages/pins/"))
            })
            .collect();
        let outcome: Vec<(u16, bool)> = posts
            .iter()
            .map(|r| (r.status, r.path.contains(&thread)))
            .collect();
        // The announcement first: refused once, then delivered once; then the
        // summary and its pin.
        assert_eq!(
            outcome,
            [(429, false), (200, false), (200, true), (204, true)],
            "[{name}] {posts:?}"
        );
        let waited = posts[1].at - posts[0].at;
        assert!(
            waited >= Duration::from_secs(1),
            "[{name}] retried after {waited:?}"
        );
        assert_eq!(
            warroom.fake.messages_in(&thread).len(),
            1,
            "[{name}] one summary"
        );
        assert_eq!(
            warroom.fake.messages_in(ANNOUNCE_CHANNEL).len(),
            1,
            "[{name}] one announcement"
        );
        warroom.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_gateway_disconnect_during_an_incident_loses_no_command() {
    for backend in test_backends().await {
        let mut warroom = Running::start(&backend).await;
        let name = backend.name;
        warroom.connected().await;
        let (_, thread) = warroom.declare("search is empty").await;

        // The connection drops (1006); the command sent meanwhile waits in Discord.
        warroom.fake.gateway.drop_connection();
        let reply = warroom
            .command(
                CAROL,
                &thread,
                "status",
                json!([option("status", 3, json!("identified"))]),
            )
            .await;
        assert_eq!(reply["flags"], 64, "[{name}] {reply}");
        let gateway = &warroom.fake.gateway;
        let resumes = gateway.resumes();
        assert_eq!(resumes.len(), 1, "[{name}] the client resumed");
        assert_eq!(resumes[0]["session_id"], "session-1");
        assert_eq!(gateway.identifies().len(), 1, "[{name}] no second IDENTIFY");
        let answered = warroom
            .fake
            .requests()
            .into_iter()
            .filter(|r| r.path.starts_with("/api/v10/interactions/"))
            .count();
        assert_eq!(
            answered, 2,
            "[{name}] declare and status, each answered once"
        );
        assert_eq!(
            warroom.only_incident().await.status,
            Status::Identified,
            "[{name}]"
        );

        // And the session goes on.
        warroom
            .command(
                CAROL,
                &thread,
                "status",
                json!([option("status", 3, json!("monitoring"))]),
            )
            .await;
        assert_eq!(
            warroom.only_incident().await.status,
            Status::Monitoring,
            "[{name}]"
        );
        warroom.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn http_interactions_are_verified_before_anything_happens() {
    for backend in test_backends().await {
        let mut warroom = Running::start(&backend).await;
        let name = backend.name;
        let client = reqwest::Client::new();
        let url = warroom.interactions_url.clone();

        let (status, pong) = post_signed(
            &client,
            &url,
            &warroom.key,
            unix_now(),
            &ping_interaction("1"),
        )
        .await;
        assert_eq!(
            (status, pong),
            (200, json!({ "type": 1 })),
            "[{name}] PING → PONG"
        );

        let declare = |id: &str| {
            command_interaction(
                id,
                CAROL,
                INCIDENTS_CHANNEL,
                "declare",
                json!([
                    option("severity", 3, json!("sev2")),
                    option("title", 3, json!("api errors"))
                ]),
            )
        };

        // Refused: another key, a stale timestamp, a tampered body, a malformed signature.
        let intruder = TestKey::new(9);
        let body = declare(&warroom.interaction_id());
        let (status, _) = post_signed(&client, &url, &intruder, unix_now(), &body).await;
        assert_eq!(status, 401, "[{name}] bad signature");
        let (status, _) = post_signed(&client, &url, &warroom.key, unix_now() - 600, &body).await;
        assert_eq!(status, 401, "[{name}] stale timestamp");
        let timestamp = unix_now().to_string();
        let signature = warroom.key.sign(&timestamp, body.to_string().as_bytes());
        let tampered = body.to_string().replace("api errors", "api errors!!");
        let (status, _) = post_raw(&client, &url, &signature, &timestamp, tampered).await;
        assert_eq!(status, 401, "[{name}] tampered body");
        let (status, _) = post_raw(&client, &url, "zz", &timestamp, body.to_string()).await;
        assert_eq!(status, 401, "[{name}] malformed signature");
        assert_eq!(
            warroom.incident_count().await,
            0,
            "[{name}] nothing changed"
        );

        // Accepted: the command is handled and answered in the response.
        let id = warroom.interaction_id();
        let (status, answer) =
            post_signed(&client, &url, &warroom.key, unix_now(), &declare(&id)).await;
        assert_eq!(status, 200, "[{name}] {answer}");
        let reply = match answer["type"].as_u64() {
            Some(4) => answer["data"].clone(),
            Some(5) => {
                let fake = &warroom.fake;
                eventually("the deferred reply", WAIT, || {
                    fake.reply(&id, &token_of(&id))
                })
                .await
            }
            other => panic!("[{name}] unexpected answer type {other:?}"),
        };
        assert_eq!(reply["flags"], 64);
        assert!(
            reply["content"]
                .as_str()
                .unwrap()
                .contains("Declaring INC-"),
            "{reply}"
        );
        assert_eq!(warroom.incident_count().await, 1, "[{name}]");

        // The same interaction again (a retry) changes nothing more.
        let (status, _) = post_signed(&client, &url, &warroom.key, unix_now(), &declare(&id)).await;
        assert_eq!(status, 200);
        assert_eq!(
            warroom.incident_count().await,
            1,
            "[{name}] replay is idempotent"
        );

        // Autocomplete offers the configured actions.
        let mut typing = command_interaction(
            &warroom.interaction_id(),
            CAROL,
            INCIDENTS_CHANNEL,
            "run",
            json!([{ "name": "action", "type": 3, "value": "rest", "focused": true }]),
        );
        typing["type"] = json!(4);
        let (status, choices) = post_signed(&client, &url, &warroom.key, unix_now(), &typing).await;
        assert_eq!(status, 200);
        assert_eq!(
            choices,
            json!({ "type": 8, "data": { "choices": [{ "name": "restart-api", "value": "restart-api" }] } })
        );
        warroom.stop().await;
    }
}

/// The fake's gateway payloads must be what a Discord client library reads, or the
/// tests above would prove nothing.
#[test]
fn the_fake_gateway_speaks_what_serenity_reads() {
    use serenity::all::{Event, GatewayEvent};
    let frame = |t: &str, d: Value| json!({ "op": 0, "s": 1, "t": t, "d": d });
    let interaction = command_interaction(
        "600000000000000001",
        CAROL,
        INCIDENTS_CHANNEL,
        "declare",
        json!([option("title", 3, json!("x"))]),
    );
    let reaction = reaction_add(ALICE, INCIDENTS_CHANNEL, "700000000000000001", "📌");
    let summary = FakeMessage {
        id: "500000000000000009".into(),
        channel: "500000000000000008".into(),
        body: json!({
            "content": format!("<@{ALICE}>"),
            "embeds": [{ "title": "INC-20261123-001 · checkout is down", "color": 0xE0_2B_2B,
                "description": "x", "fields": [{ "name": "Status", "value": "investigating", "inline": true }] }],
            "components": [{ "type": 1, "components": [
                { "type": 2, "style": 2, "label": "Acknowledge", "custom_id": "ack|INC-20261123-001" }
            ] }],
            "allowed_mentions": { "parse": [], "users": [ALICE] }
        }),
        files: Vec::new(),
        edits: 0,
        pinned: true,
    };
    let click = component_interaction(
        "600000000000000002",
        BOB,
        "ack|INC-20261123-001",
        &posted_object(&summary),
    );
    let notice = pin_notice(
        "500000000000000010",
        &summary.channel,
        "700000000000000001",
        ALICE,
        false,
    );
    let own_notice = pin_notice(
        "500000000000000011",
        &summary.channel,
        &summary.id,
        BOT_ID,
        true,
    );
    for (t, d) in [
        ("READY", ready_event("session-1", "ws://127.0.0.1:1")),
        ("GUILD_CREATE", guild_create_event()),
        ("INTERACTION_CREATE", interaction),
        ("INTERACTION_CREATE", click),
        ("MESSAGE_REACTION_ADD", reaction),
        ("MESSAGE_CREATE", notice),
        ("MESSAGE_CREATE", own_notice),
        ("CHANNEL_PINS_UPDATE", pins_update(&summary.channel)),
    ] {
        let parsed: GatewayEvent = serde_json::from_value(frame(t, d)).expect(t);
        let GatewayEvent::Dispatch(_, event) = parsed else {
            panic!("{t} is not a dispatch");
        };
        assert!(!matches!(event, Event::Unknown(_)), "{t}");
    }
}

/// Timeline events of `kind`.
async fn events_of(warroom: &Running, incident: &Incident, kind: EventKind) -> Vec<TimelineEvent> {
    warroom
        .engine
        .store()
        .timeline(&incident.id)
        .await
        .expect("timeline")
        .into_iter()
        .filter(|e| e.kind == kind)
        .collect()
}

/// The messages captured on the incident's timeline once there are at least
/// `count`, in timeline order; fails naming `what` if they never come.
async fn captured_events(
    warroom: &Running,
    incident: &Incident,
    count: usize,
    what: &str,
) -> Vec<TimelineEvent> {
    let deadline = Instant::now() + WAIT;
    loop {
        let captured = events_of(warroom, incident, EventKind::Captured).await;
        if captured.len() >= count {
            return captured;
        }
        assert!(
            Instant::now() < deadline,
            "[{}] {what}: {captured:?}",
            warroom.backend
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Messages in `channel` whose content contains `text`.
fn posts_saying(fake: &FakeDiscord, channel: &str, text: &str) -> usize {
    fake.messages_in(channel)
        .iter()
        .filter(|m| m.body["content"].as_str().unwrap_or("").contains(text))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn summary_buttons_acknowledge_and_take_a_role_each_once() {
    for backend in test_backends().await {
        let mut warroom = Running::start(&backend).await;
        let name = backend.name;
        warroom.connected().await;
        let (incident, thread) = warroom.declare("checkout is down").await;
        let summary = warroom.summary(&thread).await;
        assert_eq!(
            button_labels(&summary.body),
            ["Acknowledge", "I'll take comms", "I'll take scribe"],
            "[{name}]"
        );
        let ack_id = custom_id_of(&summary.body, "Acknowledge").unwrap();
        assert!(ack_id.contains(incident.id.as_str()), "[{name}] {ack_id}");

        // Acknowledge: answered to the clicker alone, recorded, the summary edited
        // in place without the button, and the room told.
        let edits_before = summary.edits;
        let ack = warroom.click(ALICE, &summary, "Acknowledge").await;
        assert_eq!(ack.kind, 4, "[{name}] {:?}", ack.reply);
        assert_eq!(ack.reply["flags"], 64, "[{name}] {}", ack.reply);
        assert_eq!(
            ack.text(),
            format!("Acknowledged {}.", incident.id),
            "[{name}]"
        );
        let acknowledged = warroom.only_incident().await;
        assert!(acknowledged.acknowledged_at.is_some(), "[{name}]");
        let fake = &warroom.fake;
        let edited = eventually("the summary without Acknowledge", WAIT, || {
            fake.messages_in(&thread).into_iter().find(|m| {
                m.id == summary.id
                    && m.edits > edits_before
                    && !button_labels(&m.body).iter().any(|l| l == "Acknowledge")
            })
        })
        .await;
        assert!(!field(&edited.body, "Acknowledged").is_empty(), "[{name}]");
        assert_eq!(
            button_labels(&edited.body),
            ["I'll take comms", "I'll take scribe"],
            "[{name}]"
        );
        eventually("the acknowledgement in the room", WAIT, || {
            (posts_saying(fake, &thread, "acknowledged the incident") == 1).then_some(())
        })
        .await;

        // I'll take comms, clicked by someone else on the summary as it is now.
        let comms = warroom.click(DAVE, &edited, "I'll take comms").await;
        assert_eq!(comms.kind, 4, "[{name}] {:?}", comms.reply);
        assert_eq!(comms.reply["flags"], 64, "[{name}] {}", comms.reply);
        assert!(
            comms.text().contains("communications lead"),
            "[{name}] {}",
            comms.reply
        );
        let taken = warroom.only_incident().await;
        assert_eq!(
            taken.holder(Role::Comms),
            Some(&UserId::new(DAVE)),
            "[{name}]"
        );
        let fake = &warroom.fake;
        let edited = eventually("the summary with the comms lead", WAIT, || {
            fake.messages_in(&thread).into_iter().find(|m| {
                m.id == summary.id && field(&m.body, "Communications lead") == format!("<@{DAVE}>")
            })
        })
        .await;
        assert_eq!(
            button_labels(&edited.body),
            ["I'll take scribe"],
            "[{name}]"
        );
        eventually("the comms lead in the thread", WAIT, || {
            fake.members(&thread)
                .iter()
                .any(|m| m == DAVE)
                .then_some(())
        })
        .await;

        // The same click delivered again (one interaction id): the same answer,
        // nothing done twice.
        warroom
            .fake
            .gateway
            .dispatch("INTERACTION_CREATE", ack.payload.clone());
        let fake = &warroom.fake;
        let id = ack.id.clone();
        eventually("the answer to the replayed click", WAIT, || {
            (fake
                .requests_to(&Method::POST, &format!("/api/v10/interactions/{id}/"))
                .len()
                == 2)
                .then_some(())
        })
        .await;
        let again = fake.requests_to(&Method::POST, &format!("/api/v10/interactions/{id}/"))[1]
            .body
            .clone();
        assert_eq!(again["data"]["content"], ack.reply["content"], "[{name}]");
        // A second person clicking a stale Acknowledge is told it is done already.
        let late = warroom.click_custom(BOB, &summary, &ack_id).await;
        assert_eq!(late.reply["flags"], 64, "[{name}] {}", late.reply);
        assert!(
            late.text().contains("already acknowledged"),
            "[{name}] {}",
            late.reply
        );

        // A button warroom never made: explained to the clicker, nothing changes.
        let before = warroom.only_incident().await;
        let timeline = warroom.engine.store().timeline(&incident.id).await.unwrap();
        let odd = warroom
            .click_custom(BOB, &summary, &format!("launch|{}", incident.id))
            .await;
        assert_eq!(odd.kind, 4, "[{name}]");
        assert_eq!(odd.reply["flags"], 64, "[{name}] {}", odd.reply);
        assert!(
            odd.text().contains("not one warroom knows"),
            "[{name}] {}",
            odd.reply
        );
        assert_eq!(warroom.only_incident().await, before, "[{name}]");
        assert_eq!(
            warroom.engine.store().timeline(&incident.id).await.unwrap(),
            timeline,
            "[{name}]"
        );

        // Everything above reached the room before this status change does (the
        // outbox keeps an incident's order): one acknowledgement, one comms post.
        warroom
            .command(
                CAROL,
                &thread,
                "status",
                json!([option("status", 3, json!("identified"))]),
            )
            .await;
        let fake = &warroom.fake;
        eventually("the summary showing identified", WAIT, || {
            fake.messages_in(&thread)
                .into_iter()
                .find(|m| m.id == summary.id && field(&m.body, "Status") == "identified")
        })
        .await;
        assert_eq!(
            posts_saying(fake, &thread, "acknowledged the incident"),
            1,
            "[{name}]"
        );
        assert_eq!(
            posts_saying(fake, &thread, "is now **communications lead**"),
            1,
            "[{name}]"
        );
        assert_eq!(
            events_of(&warroom, &incident, EventKind::Acknowledged)
                .await
                .len(),
            1,
            "[{name}]"
        );
        assert_eq!(warroom.callbacks(&ack.id), 2, "[{name}]");
        warroom.stop().await;
    }
}

/// A message with a button whose `custom_id` starts with `prefix`.
pub(crate) fn with_button(fake: &FakeDiscord, channel: &str, prefix: &str) -> Option<FakeMessage> {
    fake.messages_in(channel).into_iter().find(|m| {
        buttons(&m.body).any(|b| b["custom_id"].as_str().unwrap_or("").starts_with(prefix))
    })
}

/// The incident's status-update reminders still to fire.
async fn pending_updates(warroom: &Running, incident: &Incident) -> Vec<Reminder> {
    warroom
        .engine
        .store()
        .reminders_of(&incident.id)
        .await
        .expect("reminders")
        .into_iter()
        .filter(|r| r.kind == ReminderKind::Update && r.done_at.is_none())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_snooze_button_on_a_due_reminder_moves_the_next_one() {
    for backend in test_backends().await {
        // SEV1 wants an update every 2 s, so the app's own scheduler, on the
        // system clock, sends a reminder soon after the declaration.
        let settings = config_with("2s");
        let mut warroom = Running::start_with(&backend, &settings).await;
        let name = backend.name;
        warroom.connected().await;
        let (incident, thread) = warroom.declare("checkout is down").await;
        let fake = &warroom.fake;
        let reminder = eventually("the update reminder", WAIT, || {
            with_button(fake, &thread, "snooze:")
        })
        .await;
        let content = reminder.body["content"].as_str().unwrap_or_default();
        assert!(
            content.contains(&format!("<@{ALICE}>")),
            "[{name}] {content}"
        );
        assert_eq!(button_labels(&reminder.body), ["Snooze 30 m"], "[{name}]");
        let custom_id = custom_id_of(&reminder.body, "Snooze 30 m").unwrap();
        assert_eq!(custom_id, format!("snooze:30|{}", incident.id), "[{name}]");

        // The commander snoozes it: the next reminder is half an hour away.
        // Reminder times are kept to the millisecond.
        let clicked = Utc::now() - TimeDelta::milliseconds(1);
        let snooze = warroom.click(ALICE, &reminder, "Snooze 30 m").await;
        assert_eq!(snooze.kind, 4, "[{name}] {:?}", snooze.reply);
        assert_eq!(snooze.reply["flags"], 64, "[{name}] {}", snooze.reply);
        let pending = pending_updates(&warroom, &incident).await;
        assert_eq!(pending.len(), 1, "[{name}] {pending:?}");
        let due = pending[0].due_at;
        assert!(
            due >= clicked + TimeDelta::minutes(30) && due <= Utc::now() + TimeDelta::minutes(30),
            "[{name}] next reminder at {due}, clicked at {clicked}"
        );
        let config = Config::from_toml_str(&settings).unwrap();
        assert_eq!(
            snooze.text(),
            format!(
                "Snoozed the status-update reminder of {} until {}.",
                incident.id,
                clock_time(due, &config)
            ),
            "[{name}]"
        );
        let fake = &warroom.fake;
        eventually("the snooze told in the room", WAIT, || {
            fake.messages_in(&thread).into_iter().find(|m| {
                let text = m.body["content"].as_str().unwrap_or("");
                text.contains(&format!("<@{ALICE}>")) && text.contains("snoozed")
            })
        })
        .await;

        // Someone without a role cannot snooze; the reminder stays where it is.
        let refused = warroom.click(DAVE, &reminder, "Snooze 30 m").await;
        assert_eq!(refused.reply["flags"], 64, "[{name}] {}", refused.reply);
        assert!(
            refused.text().contains("role holders"),
            "[{name}] {}",
            refused.reply
        );
        assert_eq!(
            pending_updates(&warroom, &incident).await,
            pending,
            "[{name}]"
        );
        warroom.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn marks_made_while_warroom_was_away_are_captured_when_it_connects_again() {
    for backend in test_backends().await {
        let mut warroom = Running::start(&backend).await;
        let name = backend.name;
        warroom.connected().await;
        let (incident, thread) = warroom.declare("checkout is down").await;
        warroom.summary(&thread).await;

        // Alice pins Bob's message and Dave gives Carol's a 📌, and the gateway
        // events never reach warroom (it was down, or died before handling them).
        let fake = &warroom.fake;
        let (pinned, marked) = ("700000000000000021", "700000000000000022");
        fake.author_message(&thread, pinned, BOB, "rolled back checkout-api to v41");
        fake.author_message(&thread, marked, CAROL, "error rate back to normal");
        fake.pin_unseen(ALICE, &thread, pinned);
        fake.react_unseen(DAVE, marked, "📌");
        let warroom = warroom.restarted(&backend).await;
        warroom.connected().await;

        let captured = captured_events(&warroom, &incident, 2, "the marks made meanwhile").await;
        let mut texts: Vec<(&str, &str)> = captured
            .iter()
            .map(|e| (e.actor.as_str(), e.text.as_str()))
            .collect();
        texts.sort();
        assert_eq!(
            texts,
            [
                (BOB, "rolled back checkout-api to v41"),
                (CAROL, "error rate back to normal")
            ],
            "[{name}]"
        );
        warroom.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_message_pinned_in_the_war_room_is_captured_once() {
    for backend in test_backends().await {
        let mut warroom = Running::start(&backend).await;
        let name = backend.name;
        warroom.connected().await;
        let (incident, thread) = warroom.declare("checkout is down").await;
        // warroom's own summary is pinned too, and Discord announces that pin as well.
        warroom.summary(&thread).await;

        let pinned = "700000000000000011";
        warroom
            .fake
            .author_message(&thread, pinned, BOB, "rolled back checkout-api to v41");
        let notice = warroom.fake.pin_by(ALICE, &thread, pinned);
        let captured = captured_events(&warroom, &incident, 1, "nothing captured").await;
        assert_eq!(captured.len(), 1, "[{name}] {captured:?}");
        assert_eq!(
            captured[0].actor, BOB,
            "[{name}] the author, not who pinned it"
        );
        assert_eq!(captured[0].text, "rolled back checkout-api to v41");

        // The notice delivered twice, the message unpinned and pinned again by
        // someone else, and a 📌 on it: each read, none recorded again.
        let gateway = &warroom.fake.gateway;
        gateway.dispatch("MESSAGE_CREATE", notice);
        warroom.fake.pin_by(CAROL, &thread, pinned);
        gateway.dispatch(
            "MESSAGE_REACTION_ADD",
            reaction_add(CAROL, &thread, pinned, "📌"),
        );
        let fake = &warroom.fake;
        let read = format!("/channels/{thread}/messages/{pinned}");
        eventually("every marking read", WAIT, || {
            (fake.requests_to(&Method::GET, &read).len() == 4).then_some(())
        })
        .await;
        // Another pin after them, to know the markings above were handled.
        let later = "700000000000000012";
        fake.author_message(&thread, later, CAROL, "error rate back to normal");
        fake.pin_by(ALICE, &thread, later);
        let captured =
            captured_events(&warroom, &incident, 2, "the later pin was not captured").await;
        let texts: Vec<(&str, &str)> = captured
            .iter()
            .map(|e| (e.actor.as_str(), e.text.as_str()))
            .collect();
        assert_eq!(
            texts,
            [
                (BOB, "rolled back checkout-api to v41"),
                (CAROL, "error rate back to normal")
            ],
            "[{name}]"
        );
        // The summary's pin was read and left out: it is the bot's own message.
        let summary = warroom.summary(&thread).await;
        let read = format!("/channels/{thread}/messages/{}", summary.id);
        assert_eq!(
            warroom.fake.requests_to(&Method::GET, &read).len(),
            1,
            "[{name}]"
        );
        warroom.stop().await;
    }
}

/// Characters of the text in a message body's embeds, as Discord counts them
/// against the 6000 limit.
fn embed_chars(body: &Value) -> usize {
    let chars = |v: &Value| v.as_str().map_or(0, |s| s.chars().count());
    body["embeds"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|embed| {
            let fields: usize = embed["fields"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| chars(&f["name"]) + chars(&f["value"]))
                .sum();
            chars(&embed["title"])
                + chars(&embed["description"])
                + chars(&embed["footer"]["text"])
                + chars(&embed["author"]["name"])
                + fields
        })
        .sum()
}

/// Every message body sent to the fake, wherever it went: channels, interaction
/// callbacks (under `data`), webhook edits and follow-ups.
fn sent_messages(fake: &FakeDiscord) -> Vec<Recorded> {
    fake.requests()
        .into_iter()
        .filter(|r| {
            (r.path.contains("/messages") && !r.path.contains("/pins/") && r.method != Method::GET)
                || r.path.starts_with("/api/v10/interactions/")
                || r.path.starts_with("/api/v10/webhooks/")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_long_update_is_cut_to_discords_limits_and_attached_whole() {
    for backend in test_backends().await {
        let mut warroom = Running::start(&backend).await;
        let name = backend.name;
        warroom.connected().await;
        let (incident, thread) = warroom.declare("checkout is down").await;
        warroom.summary(&thread).await;

        let mut text = String::new();
        let mut step = 0;
        while text.chars().count() < 2880 {
            step += 1;
            text.push_str(&format!("step {step} rolled back; "));
        }
        let text = format!("{} END OF UPDATE", &text[..2880]);
        assert_eq!(text.chars().count(), 2894);
        let reply = warroom
            .command(
                CAROL,
                &thread,
                "update",
                json!([option("text", 3, json!(text))]),
            )
            .await;
        assert_eq!(
            reply["content"],
            format!("Status update posted for {}.", incident.id),
            "[{name}] {reply}"
        );

        // In the war room and the announce channel: the content cut to 2000
        // characters, the whole message attached as message.txt in the same request.
        for channel in [thread.as_str(), ANNOUNCE_CHANNEL] {
            let fake = &warroom.fake;
            let posted = eventually("the long update", WAIT, || {
                fake.requests_to(&Method::POST, &format!("/channels/{channel}/messages"))
                    .into_iter()
                    .find(|r| r.status == 200 && !r.files.is_empty())
            })
            .await;
            let content = posted.body["content"].as_str().unwrap_or_default();
            assert_eq!(content.chars().count(), 2000, "[{name}] {channel}");
            assert!(content.ends_with('…'), "[{name}] {content}");
            assert!(!content.contains("END OF UPDATE"), "[{name}]");
            assert_eq!(
                posted.body["attachments"],
                json!([{ "id": 0, "filename": "message.txt" }]),
                "[{name}]"
            );
            assert_eq!(posted.files.len(), 1, "[{name}]");
            let (file, whole) = &posted.files[0];
            assert_eq!(file, "message.txt", "[{name}]");
            assert!(whole.contains(&text), "[{name}] {whole}");
            let kept = fake
                .messages_in(channel)
                .into_iter()
                .find(|m| m.body["content"] == content);
            assert!(kept.is_some(), "[{name}] the message was kept as sent");
        }

        // The timeline now holds the long update too. A first answer cannot carry
        // a file, so the reply is deferred (ephemeral "thinking…") and `@original`
        // is edited with the cut text and the whole timeline attached.
        let id = warroom.interaction_id();
        warroom.fake.gateway.dispatch(
            "INTERACTION_CREATE",
            command_interaction(&id, CAROL, &thread, "timeline", json!([])),
        );
        let fake = &warroom.fake;
        let reply = eventually("the timeline", WAIT, || fake.reply(&id, &token_of(&id))).await;
        assert_eq!(
            fake.callback(&id),
            Some(json!({ "type": 5, "data": { "flags": 64 } })),
            "[{name}]"
        );
        let content = reply["content"].as_str().unwrap_or_default();
        assert_eq!(content.chars().count(), 2000, "[{name}]");
        assert!(content.ends_with('…'), "[{name}] {content}");
        assert_eq!(
            reply["attachments"],
            json!([{ "id": 0, "filename": "message.txt" }]),
            "[{name}]"
        );
        let original = format!(
            "/webhooks/{APPLICATION_ID}/{}/messages/@original",
            token_of(&id)
        );
        let edits = fake.requests_to(&Method::PATCH, &original);
        assert_eq!(edits.len(), 1, "[{name}]");
        assert_eq!(edits[0].status, 200, "[{name}]");
        let (file, whole) = &edits[0].files[0];
        assert_eq!(file, "message.txt", "[{name}]");
        assert!(whole.contains("Declared SEV1"), "[{name}] {whole}");
        assert!(
            whole.contains(&format!("Status update: {text}")),
            "[{name}] {whole}"
        );

        // Nothing sent anywhere broke a limit.
        for sent in sent_messages(&warroom.fake) {
            let body = if sent.path.starts_with("/api/v10/interactions/") {
                &sent.body["data"]
            } else {
                &sent.body
            };
            let content = body["content"].as_str().map_or(0, |s| s.chars().count());
            assert!(content <= 2000, "[{name}] {} {content}", sent.path);
            assert!(embed_chars(body) <= 6000, "[{name}] {}", sent.path);
        }
        warroom.stop().await;
    }
}

impl Running {
    /// Adds `count` notes of `text` to an incident's timeline, a second apart.
    async fn add_notes(&self, incident: &Incident, count: i64, text: &str) {
        let mut tx = self.engine.store().begin().await.expect("begin");
        for n in 0..count {
            let event = TimelineEvent {
                at: incident.declared_at + TimeDelta::seconds(n),
                kind: EventKind::Note,
                actor: BOB.into(),
                text: format!("{n:05} {text}"),
            };
            tx.record_event(&incident.id, &event).await.expect("record");
        }
        tx.commit().await.expect("commit");
    }

    /// The draft as `GET /api/incidents/{id}/postmortem.md` serves it now.
    async fn api_draft(&self, id: &IncidentId) -> String {
        let base = self
            .interactions_url
            .trim_end_matches("/discord/interactions");
        let response = reqwest::Client::new()
            .get(format!("{base}/api/incidents/{id}/postmortem.md"))
            .bearer_auth(API_TOKEN)
            .send()
            .await
            .expect("the API answers");
        assert_eq!(response.status(), 200);
        response.text().await.expect("a body")
    }

    /// Asks for the postmortem in the war room and waits for the message that
    /// carries the draft.
    async fn postmortem(&mut self, incident: &Incident, thread: &str) -> FakeMessage {
        let reply = self.command(ALICE, thread, "postmortem", json!([])).await;
        assert_eq!(
            reply["content"],
            format!(
                "The postmortem draft of {} is posted in its war room.",
                incident.id
            ),
            "[{}] {reply}",
            self.backend
        );
        let fake = &self.fake;
        eventually("the draft in the war room", WAIT, || {
            fake.messages_in(thread)
                .into_iter()
                .find(|m| !m.files.is_empty())
        })
        .await
    }

    /// Every message body sent was accepted, and none broke a limit.
    fn assert_nothing_refused(&self) {
        let name = self.backend;
        for sent in sent_messages(&self.fake) {
            assert!(
                sent.status < 300 || sent.status == 429,
                "[{name}] {} {}",
                sent.path,
                sent.status
            );
            let body = if sent.path.starts_with("/api/v10/interactions/") {
                &sent.body["data"]
            } else {
                &sent.body
            };
            let content = body["content"].as_str().map_or(0, |s| s.chars().count());
            assert!(content <= CONTENT_MAX, "[{name}] {} {content}", sent.path);
            assert!(embed_chars(body) <= 6000, "[{name}] {}", sent.path);
            for (file, text) in &sent.files {
                assert!(
                    text.len() <= ATTACHMENT_MAX,
                    "[{name}] {file}: {} bytes",
                    text.len()
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_postmortem_of_a_10000_event_incident_is_attached_whole_with_a_summary_embed() {
    for backend in test_backends().await {
        let mut warroom = Running::start(&backend).await;
        let name = backend.name;
        warroom.connected().await;
        let (incident, thread) = warroom.declare("checkout is down").await;
        warroom.summary(&thread).await;
        warroom
            .add_notes(
                &incident,
                10_000,
                "checked shard | p99 *high* <see dashboards> @everyone",
            )
            .await;

        // `/incident timeline` stays within the limits: the content cut, the whole attached.
        let timeline = warroom.command(CAROL, &thread, "timeline", json!([])).await;
        let content = timeline["content"].as_str().unwrap_or_default();
        assert_eq!(content.chars().count(), CONTENT_MAX, "[{name}]");
        assert_eq!(
            timeline["attachments"],
            json!([{ "id": 0, "filename": "message.txt" }]),
            "[{name}]"
        );

        let posted = warroom.postmortem(&incident, &thread).await;
        let id = &incident.id;
        let draft = warroom.api_draft(id).await;
        assert!(draft.len() > 500_000, "[{name}] {} bytes", draft.len());
        assert_eq!(posted.files.len(), 1, "[{name}]");
        let (file, content) = &posted.files[0];
        assert_eq!(file, &format!("postmortem-{id}.md"), "[{name}]");
        assert!(
            content == &draft,
            "[{name}] the file is the API's draft, byte for byte"
        );
        assert_eq!(
            posted.body["attachments"],
            json!([{
                "id": 0,
                "filename": format!("postmortem-{id}.md"),
                "description": format!("Postmortem draft · {id} · checkout is down"),
            }]),
            "[{name}]"
        );
        let embed = &posted.body["embeds"][0];
        assert_eq!(
            embed["title"],
            format!("Postmortem draft · {id} · SEV1 · checkout is down"),
            "[{name}]"
        );
        let fields: Vec<(&str, &str)> = embed["fields"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| {
                (
                    f["name"].as_str().unwrap_or(""),
                    f["value"].as_str().unwrap_or(""),
                )
            })
            .collect();
        let declared = clock_time(incident.declared_at, warroom.engine.config());
        assert_eq!(
            fields,
            [
                ("Severity", "SEV1 (Critical)"),
                (
                    "Duration",
                    format!("still open (declared {declared})").as_str()
                ),
                ("Time to acknowledge", "not reached"),
                ("Time to mitigate", "not reached"),
                ("Time to resolve", "not reached"),
            ],
            "[{name}]"
        );
        assert!(
            embed["description"]
                .as_str()
                .unwrap_or_default()
                .contains(&format!(
                    "(<https://warroom.test/api/incidents/{id}/postmortem.md>)"
                )),
            "[{name}] {embed}"
        );
        assert_eq!(posted.body["enforce_nonce"], true, "[{name}]");
        warroom.assert_nothing_refused();
        warroom.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_draft_over_10_mib_is_cut_to_fit_and_says_where_the_whole_is() {
    let backend = test_backends().await.remove(0);
    let mut warroom = Running::start(&backend).await;
    warroom.connected().await;
    let (incident, thread) = warroom.declare("checkout is down").await;
    warroom.summary(&thread).await;
    warroom
        .add_notes(
            &incident,
            1_100,
            &"the same long log line again ".repeat(350),
        )
        .await;
    let posted = warroom.postmortem(&incident, &thread).await;
    let draft = warroom.api_draft(&incident.id).await;
    assert!(
        draft.len() > ATTACHMENT_MAX,
        "the whole draft is {} bytes",
        draft.len()
    );

    let (_, content) = &posted.files[0];
    assert!(
        content.len() <= ATTACHMENT_MAX,
        "{} bytes attached",
        content.len()
    );
    let notice = format!(
        "timeline events are left out here to keep this file within the chat platform's \
         size limit. The whole draft is at \
         <https://warroom.test/api/incidents/{}/postmortem.md> (needs the API token).",
        incident.id
    );
    let said = content
        .lines()
        .find(|line| line.contains(&notice))
        .unwrap_or_else(|| panic!("no notice in the attached draft"));
    let events = |text: &str| {
        let start = text.find("\n## Timeline\n").expect("a timeline");
        let end = text.find("\n## Root cause").expect("a root cause");
        text[start..end]
            .lines()
            .filter(|line| line.starts_with("- ") && !line.starts_with("- _…"))
            .count()
    };
    let (total, kept) = (events(&draft), events(content));
    assert!(
        total > 1_100 && kept > 0 && kept < total,
        "{kept} of {total}"
    );
    assert!(
        said.starts_with(&format!("- _… {} of {total} ", total - kept)),
        "{said}"
    );
    let metrics = &draft[draft.find("\n## Metrics").expect("metrics")..];
    assert!(
        content.ends_with(metrics),
        "the sections after the timeline are whole"
    );
    warroom.assert_nothing_refused();
    warroom.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rate_limited_draft_is_posted_once_after_retry_after() {
    let backend = test_backends().await.remove(0);
    let mut warroom = Running::start(&backend).await;
    warroom.connected().await;
    // Every message of the declaration is out, so the next one is the draft.
    let (incident, thread) = warroom.declared_and_announced("checkout is down").await;
    warroom.fake.rate_limit_next_message(1.0);
    let posted = warroom.postmortem(&incident, &thread).await;

    let attempts: Vec<Recorded> = warroom
        .fake
        .requests_to(&Method::POST, &format!("/channels/{thread}/messages"))
        .into_iter()
        .filter(|r| !r.files.is_empty())
        .collect();
    let statuses: Vec<u16> = attempts.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 200], "refused once, then posted");
    let waited = attempts[1].at - attempts[0].at;
    assert!(waited >= Duration::from_secs(1), "retried after {waited:?}");
    let with_files = warroom
        .fake
        .messages_in(&thread)
        .into_iter()
        .filter(|m| !m.files.is_empty())
        .count();
    assert_eq!(with_files, 1, "one draft in the room");
    assert!(posted.files[0].1 == warroom.api_draft(&incident.id).await);
    warroom.stop().await;
}
