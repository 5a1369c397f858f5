//! warroom on Slack end to end: the real application, started from its ordinary
//! settings with `SLACK_API_URL` pointing at a fake Slack on 127.0.0.1, driven by
//! signed, form-encoded requests exactly as Slack sends them (and by Socket Mode
//! envelopes), checked through the Web API calls the fake recorded.
//!
//! The end-to-end test runs on SQLite, and on Postgres too when
//! `WARROOM_TEST_POSTGRES_URL` is set.

use crate::common::app::{self, Serving};
use crate::common::harness::{DAVE, PEOPLE, SEV1, SEV1_ROLES, bot, service_phrases};
use crate::common::{Backend, test_backends};
use crate::slack_fake;
use crate::slack_fake::{BOT_USER, FakeSlack, SocketServer, send_envelope};
use ring::hmac;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use warroom::config::Config;
use warroom::domain::{EventKind, IncidentId, TimelineEvent};
use warroom::engine::Engine;
use warroom::store::IncidentFilter;

pub(crate) const SIGNING_SECRET: &str = "fake-signing-secret-0123456789";
const API_TOKEN: &str = "fake-api-token-0123456789";
const PRIVATE_API_TOKEN: &str = "fake-private-api-token-0123456789";
pub(crate) const OPS: &str = "C0OPS";

fn config(mode: &str, announce: &str) -> Config {
    Config::from_toml_str(&config_text(mode, announce)).expect("test config is valid")
}

/// The configuration of these tests, as a file would hold it.
pub(crate) fn config_text(mode: &str, announce: &str) -> String {
    // Goes on from `SEV1`.
    let sev1 = r#"
aliases = ["p0"]
description = "Complete outage"
update_every = "15m"
"#;
    let slack = format!(
        r#"
[slack]
mode = "{mode}"
channel_prefix = "inc"
announce_channel = "{announce}"
"#
    );
    [
        &bot("UTC"),
        SEV1,
        sev1,
        PEOPLE,
        DAVE,
        SEV1_ROLES,
        &service_phrases(),
        &slack,
    ]
    .concat()
}

/// warroom, running, with its address and a way to stop it.
struct Bot {
    addr: SocketAddr,
    engine: Engine,
    http: reqwest::Client,
    serving: Serving,
}

impl Bot {
    async fn start(backend: &Backend, fake: &FakeSlack, mode: &str, announce: &str) -> Self {
        let vars = [
            ("SLACK_API_URL", fake.api_url()),
            ("SLACK_BOT_TOKEN", slack_fake::BOT_TOKEN.to_string()),
            ("SLACK_SIGNING_SECRET", SIGNING_SECRET.to_string()),
            ("SLACK_APP_TOKEN", slack_fake::APP_TOKEN.to_string()),
            ("WARROOM_API_TOKEN", API_TOKEN.to_string()),
            ("WARROOM_API_PRIVATE_TOKEN", PRIVATE_API_TOKEN.to_string()),
        ];
        let builder = app::builder(backend, &vars, config(mode, announce));
        let serving = Serving::start(builder, backend.name).await;
        Self {
            addr: serving.address,
            engine: serving.engine.clone(),
            http: reqwest::Client::new(),
            serving,
        }
    }

    async fn stop(self) {
        self.serving.stop().await;
    }

    /// POSTs `body` to `path`, signed now with the signing secret.
    async fn post_signed(&self, path: &str, content_type: &str, body: &str) -> reqwest::Response {
        let timestamp = unix_now().to_string();
        let signature = sign(SIGNING_SECRET, &timestamp, body);
        self.post(
            path,
            content_type,
            body.to_string(),
            &[
                ("X-Slack-Request-Timestamp", &timestamp),
                ("X-Slack-Signature", &signature),
            ],
        )
        .await
    }

    async fn post(
        &self,
        path: &str,
        content_type: &str,
        body: String,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self
            .http
            .post(format!("http://{}{path}", self.addr))
            .header("Content-Type", content_type)
            .header("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("warroom answers")
    }

    /// A slash command as Slack sends it; returns warroom's JSON answer.
    async fn command(
        &self,
        fake: &FakeSlack,
        user: &str,
        channel: &str,
        text: &str,
        trigger: &str,
    ) -> Value {
        let response = self
            .post_signed(
                "/slack/commands",
                FORM,
                &slash_form(fake, user, channel, text, trigger),
            )
            .await;
        assert_eq!(response.status(), 200, "slash command `{text}`");
        response.json().await.expect("the answer is JSON")
    }

    /// A button click as Slack sends it.
    async fn click(&self, payload: &Value) -> reqwest::Response {
        let body = serde_urlencoded::to_string([("payload", payload.to_string())]).expect("form");
        self.post_signed("/slack/interactions", FORM, &body).await
    }

    async fn open_incidents(&self) -> usize {
        self.engine
            .store()
            .incidents(IncidentFilter::All, 100)
            .await
            .expect("store answers")
            .len()
    }
}

pub(crate) const FORM: &str = "application/x-www-form-urlencoded";

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

/// Slack's signature, computed here independently of warroom's code.
pub(crate) fn sign(secret: &str, timestamp: &str, body: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let tag = hmac::sign(&key, format!("v0:{timestamp}:{body}").as_bytes());
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("v0={hex}")
}

/// The form Slack posts for `/incident {text}` (fields as in Slack's payload sample).
pub(crate) fn slash_form(
    fake: &FakeSlack,
    user: &str,
    channel: &str,
    text: &str,
    trigger: &str,
) -> String {
    slash_form_in(fake, user, (channel, "ops"), text, trigger)
}

/// [`slash_form`] typed in the channel `(id, name)`.
fn slash_form_in(
    fake: &FakeSlack,
    user: &str,
    (channel, channel_name): (&str, &str),
    text: &str,
    trigger: &str,
) -> String {
    serde_urlencoded::to_string([
        ("token", "gIkuvaNzQIHg97ATvDxqgjtO"),
        ("team_id", slack_fake::TEAM),
        ("team_domain", "fake"),
        ("enterprise_id", ""),
        ("enterprise_name", ""),
        ("channel_id", channel),
        ("channel_name", channel_name),
        ("user_id", user),
        ("user_name", &user.to_lowercase()),
        ("command", "/incident"),
        ("text", text),
        ("api_app_id", "A0WARROOM"),
        ("is_enterprise_install", "false"),
        ("response_url", &fake.response_url(trigger)),
        ("trigger_id", trigger),
    ])
    .expect("form")
}

/// A `block_actions` payload for a click on `action` with `value`.
pub(crate) fn click_payload(
    fake: &FakeSlack,
    user: &str,
    channel: &str,
    message_ts: &str,
    action: &str,
    value: &str,
    action_ts: &str,
) -> Value {
    json!({
        "type": "block_actions",
        "user": { "id": user, "username": user.to_lowercase(), "team_id": slack_fake::TEAM },
        "api_app_id": "A0WARROOM",
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "container": { "type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": false },
        "trigger_id": format!("trigger-{action_ts}"),
        "team": { "id": slack_fake::TEAM, "domain": "fake" },
        "channel": { "id": channel, "name": "war-room" },
        "message": { "type": "message", "ts": message_ts, "user": BOT_USER },
        "response_url": fake.response_url(&format!("click-{action_ts}")),
        "actions": [{
            "type": "button",
            "action_id": action,
            "block_id": "b1",
            "text": { "type": "plain_text", "text": "I'll take scribe", "emoji": true },
            "value": value,
            "action_ts": action_ts,
        }],
    })
}

fn text_of(answer: &Value) -> String {
    answer["text"].as_str().unwrap_or_default().to_string()
}

/// The incident id in "Declaring INC-20261123-001 …".
pub(crate) fn declared_id(answer: &Value) -> IncidentId {
    let text = text_of(answer);
    let start = text
        .find("INC-")
        .unwrap_or_else(|| panic!("no incident id in {text}"));
    text[start..start + 16].parse().expect("an incident id")
}

/// `inc-20261123-001` for `INC-20261123-001`.
fn channel_stem(id: &IncidentId) -> String {
    id.to_string().to_lowercase()
}

/// Declares `sev1 checkout is down` from alice in #ops and waits for the room,
/// its pinned summary and the announcement, edited to link the room.
async fn declare(
    bot: &Bot,
    fake: &FakeSlack,
    announce: &str,
    trigger: &str,
) -> (IncidentId, Value) {
    let answer = bot
        .command(fake, "UALICE", OPS, "sev1 checkout is down", trigger)
        .await;
    let id = declared_id(&answer);
    fake.wait_for(
        "the summary pinned and the announcement linking the room",
        |f| {
            !f.done("pins.add").is_empty()
                && f.done("chat.update")
                    .iter()
                    .any(|c| c.arg("channel") == announce)
        },
    )
    .await;
    (id, answer)
}

#[tokio::test]
async fn slash_commands_open_a_war_room_and_keep_its_summary_in_place() {
    for backend in test_backends().await {
        let fake = FakeSlack::start().await;
        let announce = fake.add_channel("incidents", "UADMIN", "", false);
        let bot = Bot::start(&backend, &fake, "http", &announce).await;
        let name = backend.name;

        let started = Instant::now();
        let answer = bot
            .command(&fake, "UALICE", OPS, "sev1 checkout is down", "trigger-1")
            .await;
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "[{name}] answered within 3 s"
        );
        assert_eq!(answer["response_type"], "ephemeral", "[{name}] {answer}");
        let id = declared_id(&answer);
        assert!(
            text_of(&answer).starts_with(&format!("Declaring {id}")),
            "[{name}] {answer}"
        );
        let first_answer = answer.clone();
        fake.wait_for("the announcement, edited once the room is open", |f| {
            f.done("chat.update")
                .iter()
                .any(|c| c.arg("channel") == announce)
        })
        .await;

        // The room: slugged name, purpose, topic, invites.
        let room_name = format!("{}-checkout-is-down", channel_stem(&id));
        let room = fake
            .channel_named(&room_name)
            .unwrap_or_else(|| panic!("[{name}] #{room_name} exists"));
        assert_eq!(room.purpose, "checkout is down", "[{name}]");
        assert_eq!(
            room.topic, "SEV1 · investigating · IC <@UALICE>",
            "[{name}]"
        );
        for user in ["UALICE", "UBOB"] {
            assert!(
                room.members.iter().any(|m| m == user),
                "[{name}] {user} invited: {:?}",
                room.members
            );
        }

        // The summary: posted once in the room, pinned, with buttons.
        let posts_in_room: Vec<_> = fake
            .done("chat.postMessage")
            .into_iter()
            .filter(|c| c.arg("channel") == room.id)
            .collect();
        assert_eq!(posts_in_room.len(), 1, "[{name}] only the summary so far");
        let summary = fake.messages_in(&room.id).remove(0);
        assert!(summary.pinned, "[{name}] the summary is pinned");
        let pin = &fake.done("pins.add")[0];
        assert_eq!(
            (pin.arg("channel"), pin.arg("timestamp")),
            (room.id.as_str(), summary.ts.as_str())
        );
        assert!(
            summary.text.contains("investigating"),
            "[{name}] {}",
            summary.text
        );
        let blocks = summary.blocks.to_string();
        assert!(
            blocks.contains("\"action_id\":\"ack\"") && blocks.contains("take:comms"),
            "[{name}] {blocks}"
        );

        // The announcement names the incident and, edited once the room is open,
        // links it.
        let announcement = fake.messages_in(&announce).remove(0);
        assert!(
            announcement.text.contains(&id.to_string()),
            "[{name}] {}",
            announcement.text
        );
        let room_link = format!("<#{}>", room.id);
        fake.wait_for("the announcement linking the room", |f| {
            f.messages_in(&announce)
                .iter()
                .any(|m| m.text.contains(&room_link))
        })
        .await;
        let announcement = fake.messages_in(&announce).remove(0);
        assert!(
            !announcement.text.contains("status page"),
            "[{name}] {}",
            announcement.text
        );
        let edits = fake.done("chat.update");
        assert_eq!(
            (edits[0].arg("channel"), fake.messages_in(&announce).len()),
            (announce.as_str(), 1),
            "[{name}] the announcement is edited in place"
        );

        // In the war room the incident is implied; the summary is edited in place.
        let answer = bot
            .command(&fake, "UALICE", &room.id, "status identified", "trigger-2")
            .await;
        assert_eq!(answer["response_type"], "ephemeral");
        assert_eq!(
            text_of(&answer),
            format!("{id} is now identified."),
            "[{name}]"
        );
        fake.wait_for("the summary edited to identified", |f| {
            f.messages_in(&room.id)
                .first()
                .is_some_and(|m| m.text.contains("identified"))
        })
        .await;

        let answer = bot
            .command(
                &fake,
                "UALICE",
                &room.id,
                "role comms <@UCAROL|carol>",
                "trigger-3",
            )
            .await;
        assert!(
            text_of(&answer).contains("UCAROL is now the communications lead"),
            "[{name}] {answer}"
        );
        fake.wait_for("the summary edited with carol as comms", |f| {
            f.messages_in(&room.id)
                .first()
                .is_some_and(|m| m.blocks.to_string().contains("<@UCAROL>"))
        })
        .await;
        fake.wait_for("carol invited", |f| {
            f.channel(&room.id)
                .is_some_and(|c| c.members.iter().any(|m| m == "UCAROL"))
        })
        .await;
        let updates: Vec<_> = fake
            .done("chat.update")
            .into_iter()
            .filter(|update| update.arg("channel") != announce)
            .collect();
        assert!(updates.len() >= 2, "[{name}] {} updates", updates.len());
        for update in &updates {
            assert_eq!(
                (update.arg("channel"), update.arg("ts")),
                (room.id.as_str(), summary.ts.as_str()),
                "[{name}] edited in place"
            );
        }
        let summary_now = fake.messages_in(&room.id).remove(0);
        assert!(
            summary_now.text.contains("identified") && summary_now.text.contains("<@UCAROL>"),
            "[{name}] {}",
            summary_now.text
        );
        assert_eq!(fake.done("pins.add").len(), 1, "[{name}] pinned once");

        // Errors are ephemeral and say how to fix the command.
        let answer = bot
            .command(&fake, "UALICE", &room.id, "stauts identified", "trigger-4")
            .await;
        assert_eq!(answer["response_type"], "ephemeral", "[{name}]");
        assert!(
            text_of(&answer).contains("status"),
            "[{name}] did-you-mean: {answer}"
        );
        let answer = bot
            .command(&fake, "UALICE", OPS, "status monitoring", "trigger-5")
            .await;
        assert_eq!(answer["response_type"], "ephemeral", "[{name}]");
        assert!(
            text_of(&answer).contains("not an incident war room"),
            "[{name}] {answer}"
        );
        let answer = bot
            .command(
                &fake,
                "UBOB",
                OPS,
                &format!("status {id} monitoring"),
                "trigger-6",
            )
            .await;
        assert_eq!(
            text_of(&answer),
            format!("{id} is now monitoring."),
            "[{name}] named from elsewhere"
        );

        // A retried delivery (same trigger id) changes nothing twice.
        let creates = fake.done("conversations.create").len();
        let response = bot
            .post_signed_with_retry(
                "/slack/commands",
                &slash_form(&fake, "UALICE", OPS, "sev1 checkout is down", "trigger-1"),
            )
            .await;
        assert_eq!(response.status(), 200);
        let again: Value = response.json().await.expect("JSON");
        assert_eq!(again, first_answer, "[{name}] the first answer, replayed");
        assert_eq!(bot.open_incidents().await, 1, "[{name}] one incident");

        // Buttons: "I'll take scribe", double-clicked and redelivered.
        let click = click_payload(
            &fake,
            "UDAVE",
            &room.id,
            &summary.ts,
            "take:scribe",
            &id.to_string(),
            "1790000001.000100",
        );
        assert_eq!(bot.click(&click).await.status(), 200);
        assert_eq!(
            bot.click(&click).await.status(),
            200,
            "Slack redelivers the same click"
        );
        fake.wait_for("the click answered", |f| {
            f.responses("click-1790000001.000100").len() == 2
        })
        .await;
        let second = click_payload(
            &fake,
            "UDAVE",
            &room.id,
            &summary.ts,
            "take:scribe",
            &id.to_string(),
            "1790000001.000200",
        );
        assert_eq!(bot.click(&second).await.status(), 200, "a double click");
        fake.wait_for("the double click answered", |f| {
            !f.responses("click-1790000001.000200").is_empty()
        })
        .await;
        let replies = fake.responses("click-1790000001.000100");
        assert_eq!(
            replies[0], replies[1],
            "[{name}] the redelivery got the first answer"
        );
        assert_eq!(replies[0]["response_type"], "ephemeral");
        assert_eq!(replies[0]["replace_original"], false);
        assert!(
            replies[0]["text"]
                .as_str()
                .unwrap_or_default()
                .contains("UDAVE is now the scribe"),
            "[{name}] {}",
            replies[0]
        );
        let double = &fake.responses("click-1790000001.000200")[0];
        assert!(
            double["text"]
                .as_str()
                .unwrap_or_default()
                .contains("Scribe currently: UDAVE"),
            "[{name}] refused: {double}"
        );
        fake.wait_for("the summary shows dave as scribe", |f| {
            f.messages_in(&room.id)
                .first()
                .is_some_and(|m| m.blocks.to_string().contains("<@UDAVE>"))
        })
        .await;
        let timeline = bot.engine.store().timeline(&id).await.expect("timeline");
        let scribes = timeline
            .iter()
            .filter(|e| e.kind == EventKind::RoleAssigned && e.text.contains("UDAVE"))
            .count();
        assert_eq!(scribes, 1, "[{name}] dave became scribe once: {timeline:?}");
        assert_eq!(
            creates,
            fake.done("conversations.create").len(),
            "[{name}] no second room"
        );

        bot.stop().await;
    }
}

impl Bot {
    async fn post_signed_with_retry(&self, path: &str, body: &str) -> reqwest::Response {
        let timestamp = unix_now().to_string();
        let signature = sign(SIGNING_SECRET, &timestamp, body);
        self.post(
            path,
            FORM,
            body.to_string(),
            &[
                ("X-Slack-Request-Timestamp", &timestamp),
                ("X-Slack-Signature", &signature),
                ("X-Slack-Retry-Num", "1"),
                ("X-Slack-Retry-Reason", "http_timeout"),
            ],
        )
        .await
    }
}

/// Header name and value pairs.
type Headers<'a> = Vec<(&'a str, &'a str)>;

#[tokio::test]
async fn a_command_in_a_war_room_opened_a_moment_ago_is_that_incidents() {
    let backend = test_backends().await.remove(0);
    let fake = FakeSlack::start().await;
    let announce = fake.add_channel("incidents", "UADMIN", "", false);
    // The channel is created, but setting its topic is refused for a while, so
    // warroom has not recorded the room yet when someone types in it.
    fake.rate_limit_next("conversations.setTopic", 60);
    let bot = Bot::start(&backend, &fake, "http", &announce).await;
    let answer = bot
        .command(
            &fake,
            "UALICE",
            OPS,
            "sev1 checkout is down",
            "trigger-new-1",
        )
        .await;
    let id = declared_id(&answer);
    fake.wait_for("the topic refused", |f| {
        f.calls()
            .iter()
            .any(|c| c.method == "conversations.setTopic" && c.status == 429)
    })
    .await;
    let room_name = format!("{}-checkout-is-down", channel_stem(&id));
    let room = fake.channel_named(&room_name).expect("the channel exists");
    let recorded = bot.engine.store().incident(&id).await.expect("store");
    assert_eq!(recorded.and_then(|i| i.room), None, "not recorded yet");

    let form = slash_form_in(
        &fake,
        "UALICE",
        (&room.id, &room_name),
        "note first responders paged",
        "trigger-new-2",
    );
    let response = bot.post_signed("/slack/commands", FORM, &form).await;
    let answer: Value = response.json().await.expect("JSON");
    assert!(
        !text_of(&answer).contains("not an incident war room"),
        "{answer}"
    );
    let timeline = bot.engine.store().timeline(&id).await.expect("timeline");
    assert!(
        timeline
            .iter()
            .any(|e| e.kind == EventKind::Note && e.text == "first responders paged"),
        "{timeline:?}"
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_private_incident_keeps_to_its_private_channel_and_out_of_every_public_output() {
    const TITLE: &str = "Payroll export leaked";
    for backend in test_backends().await {
        let fake = FakeSlack::start().await;
        let announce = fake.add_channel("incidents", "UADMIN", "", false);
        let bot = Bot::start(&backend, &fake, "http", &announce).await;
        let name = backend.name;
        let answer = bot
            .command(
                &fake,
                "UALICE",
                OPS,
                &format!("sev1 {TITLE} service=api --private"),
                "trigger-private-1",
            )
            .await;
        let id = declared_id(&answer);
        assert!(
            text_of(&answer).contains("It is private"),
            "[{name}] {answer}"
        );
        fake.wait_for("the summary pinned", |f| !f.done("pins.add").is_empty())
            .await;

        // A private channel, for the people staffed on it.
        let create = &fake.done("conversations.create")[0];
        assert_eq!(create.arg("is_private"), "true", "[{name}]");
        let room = fake
            .channel(&room_of(&bot, &id).await)
            .expect("the room exists");
        assert!(room.is_private, "[{name}]");
        let mut members = room.members.clone();
        members.sort();
        assert_eq!(members, ["UALICE", "UBOB", BOT_USER], "[{name}]");

        // Updates and the resolution stay in the room.
        for (text, trigger) in [
            ("update rotating the leaked keys", "trigger-private-2"),
            ("resolve keys rotated", "trigger-private-3"),
            ("postmortem", "trigger-private-4"),
        ] {
            bot.command(&fake, "UALICE", &room.id, text, trigger).await;
        }
        fake.wait_for("the postmortem shared in the room", |f| {
            !f.done("files.completeUploadExternal").is_empty()
        })
        .await;
        let shared = &fake.done("files.completeUploadExternal")[0];
        assert_eq!(shared.arg("channel_id"), room.id, "[{name}] in its room");

        // The announce channel hears only that one was declared, and by whom.
        let announced = fake.messages_in(&announce);
        assert_eq!(announced.len(), 1, "[{name}] {announced:?}");
        assert_eq!(
            announced[0].text, "*A private incident was declared* by <@UALICE>.",
            "[{name}]"
        );
        assert!(
            fake.done("chat.update")
                .iter()
                .all(|c| c.arg("channel") == room.id)
        );

        // Every public output, searched for the title: every call to Slack but
        // those about the private room (creating it names it), and every page.
        let mut outputs = Vec::new();
        for call in fake.calls() {
            let about_room = call.method == "conversations.create"
                || call.arg("channel") == room.id
                || call.arg("channel_id") == room.id;
            if !about_room {
                outputs.push(format!("{} {:?}", call.method, call.args));
            }
        }
        let get = |path: String, token: Option<&str>| {
            let mut request = bot.http.get(format!("http://{}{path}", bot.addr));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            request
        };
        for path in [
            "/".to_owned(),
            "/feed.atom".to_owned(),
            format!("/incidents/{id}"),
            "/metrics".to_owned(),
        ] {
            let body = get(path.clone(), None)
                .send()
                .await
                .expect("GET")
                .text()
                .await;
            outputs.push(format!("{path}: {}", body.expect("body")));
        }
        for path in [
            "/api/incidents".to_owned(),
            format!("/api/incidents/{id}"),
            format!("/api/incidents/{id}/postmortem.md"),
        ] {
            let response = get(path.clone(), Some(API_TOKEN))
                .send()
                .await
                .expect("GET");
            let status = response.status();
            outputs.push(format!(
                "{path}: {status} {}",
                response.text().await.expect("body")
            ));
        }
        for output in &outputs {
            assert!(
                !output.contains(TITLE),
                "[{name}] the title leaked: {output}"
            );
            assert!(
                !output.to_lowercase().contains("payroll"),
                "[{name}] the room's name leaked: {output}"
            );
        }
        let hidden = get(format!("/api/incidents/{id}"), Some(API_TOKEN))
            .send()
            .await
            .expect("GET");
        assert_eq!(hidden.status(), 404, "[{name}] not even its existence");

        // A token whose scope allows private incidents sees it.
        let seen: Value = get(format!("/api/incidents/{id}"), Some(PRIVATE_API_TOKEN))
            .send()
            .await
            .expect("GET")
            .json()
            .await
            .expect("JSON");
        assert_eq!(seen["title"], TITLE, "[{name}] {seen}");
        let listed: Value = get("/api/incidents".to_owned(), Some(PRIVATE_API_TOKEN))
            .send()
            .await
            .expect("GET")
            .json()
            .await
            .expect("JSON");
        assert_eq!(listed["incidents"][0]["title"], TITLE, "[{name}] {listed}");

        // Elsewhere, only the people staffed on it see it listed.
        let carol = bot
            .command(
                &fake,
                "UCAROL",
                OPS,
                &format!("timeline {id}"),
                "trigger-private-5",
            )
            .await;
        assert!(!text_of(&carol).contains(TITLE), "[{name}] {carol}");
        bot.stop().await;
    }
}

#[tokio::test]
async fn unsigned_stale_or_tampered_requests_are_refused_and_change_nothing() {
    let backend = test_backends().await.remove(0);
    let fake = FakeSlack::start().await;
    let announce = fake.add_channel("incidents", "UADMIN", "", false);
    let bot = Bot::start(&backend, &fake, "http", &announce).await;
    let body = slash_form(&fake, "UALICE", OPS, "sev1 checkout is down", "trigger-x");
    let now = unix_now().to_string();
    let good = sign(SIGNING_SECRET, &now, &body);
    let stale_time = (unix_now() - 6 * 60).to_string();
    let stale = sign(SIGNING_SECRET, &stale_time, &body);
    let forged = sign("not-the-secret", &now, &body);
    let tampered = body.replace("checkout", "payments");

    let cases: Vec<(&str, String, Headers)> = vec![
        (
            "forged signature",
            body.clone(),
            vec![
                ("X-Slack-Request-Timestamp", &now),
                ("X-Slack-Signature", &forged),
            ],
        ),
        (
            "stale timestamp",
            body.clone(),
            vec![
                ("X-Slack-Request-Timestamp", &stale_time),
                ("X-Slack-Signature", &stale),
            ],
        ),
        (
            "no timestamp header",
            body.clone(),
            vec![("X-Slack-Signature", &good)],
        ),
        (
            "no signature header",
            body.clone(),
            vec![("X-Slack-Request-Timestamp", &now)],
        ),
        ("no headers", body.clone(), vec![]),
        (
            "body tampered after signing",
            tampered,
            vec![
                ("X-Slack-Request-Timestamp", &now),
                ("X-Slack-Signature", &good),
            ],
        ),
    ];
    for path in ["/slack/commands", "/slack/interactions", "/slack/events"] {
        for (what, body, headers) in &cases {
            let response = bot.post(path, FORM, body.clone(), headers).await;
            assert_eq!(response.status(), 401, "{path}: {what}");
        }
    }
    assert_eq!(bot.open_incidents().await, 0, "nothing was declared");
    assert!(
        fake.calls().is_empty(),
        "nothing reached Slack: {:?}",
        fake.calls()
    );

    // The same request, properly signed, goes through.
    let response = bot
        .post(
            "/slack/commands",
            FORM,
            body.clone(),
            &[
                ("X-Slack-Request-Timestamp", &now),
                ("X-Slack-Signature", &good),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(bot.open_incidents().await, 1);
    bot.stop().await;
}

#[tokio::test]
async fn a_rate_limited_post_waits_retry_after_and_keeps_the_order() {
    let backend = test_backends().await.remove(0);
    let fake = FakeSlack::start().await;
    let announce = fake.add_channel("incidents", "UADMIN", "", false);
    fake.rate_limit_next("chat.postMessage", 1);
    let bot = Bot::start(&backend, &fake, "http", &announce).await;
    let (_, _) = declare(&bot, &fake, &announce, "trigger-rl").await;

    let calls = fake.calls();
    let posts: Vec<_> = calls
        .iter()
        .filter(|c| c.method == "chat.postMessage")
        .collect();
    assert_eq!(posts[0].status, 429, "the first post was refused");
    assert_eq!(
        posts[0].arg("channel"),
        announce,
        "the announcement is first"
    );
    let first_text = posts[0].arg("text");
    let delivered: Vec<_> = posts
        .iter()
        .filter(|c| c.ok && c.arg("text") == first_text)
        .collect();
    assert_eq!(delivered.len(), 1, "the announcement arrived once");
    let waited = delivered[0].at.duration_since(posts[0].at);
    assert!(
        waited >= Duration::from_secs(1),
        "waited {waited:?} ≥ Retry-After"
    );

    // Later operations kept their order behind it: the room, the summary, its
    // pin, and the announcement's edit linking the room.
    let order: Vec<String> = calls
        .iter()
        .filter(|c| c.ok)
        .map(|c| match c.method.as_str() {
            "chat.postMessage" if c.arg("channel") == announce => "announce".to_string(),
            "chat.postMessage" => "summary".to_string(),
            "chat.update" if c.arg("channel") == announce => "announce edited".to_string(),
            other => other.to_string(),
        })
        .filter(|m| m != "conversations.list" && m != "auth.test")
        .collect();
    assert_eq!(
        order,
        [
            "announce",
            "conversations.create",
            "conversations.setPurpose",
            "conversations.setTopic",
            "conversations.invite",
            "summary",
            "pins.add",
            "announce edited"
        ],
        "{calls:#?}"
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_taken_name_is_reused_only_for_the_same_incident() {
    let backend = test_backends().await.remove(0);
    let fake = FakeSlack::start().await;
    let announce = fake.add_channel("incidents", "UADMIN", "", false);
    let bot = Bot::start(&backend, &fake, "http", &announce).await;
    // Today's first incident will be INC-<today>-001: someone already has a
    // channel with its room's name, and an interrupted earlier attempt of the
    // same incident created `-2` (no purpose set yet).
    let stem = format!(
        "inc-{}-001-checkout-is-down",
        chrono::Utc::now().format("%Y%m%d")
    );
    let foreign = fake.add_channel(&stem, "UOTHER", "a different thing", false);
    let earlier = fake.add_channel(&format!("{stem}-2"), BOT_USER, "", false);

    let (id, _) = declare(&bot, &fake, &announce, "trigger-collide").await;
    assert_eq!(
        channel_stem(&id),
        stem[..16],
        "the incident got the expected number"
    );
    let room = bot
        .engine
        .store()
        .incident(&id)
        .await
        .expect("store")
        .expect("incident")
        .room;
    assert_eq!(
        room.as_deref(),
        Some(earlier.as_str()),
        "the earlier attempt's room is reused"
    );
    assert!(
        fake.channel_named(&format!("{stem}-3")).is_none(),
        "no third room"
    );
    let foreign_now = fake.channel(&foreign).expect("still there");
    assert_eq!(
        foreign_now.purpose, "a different thing",
        "someone else's channel is untouched"
    );
    assert_eq!(
        fake.channel(&earlier).expect("room").purpose,
        "checkout is down"
    );
    bot.stop().await;
}

#[tokio::test]
async fn pinned_and_pushpinned_messages_join_the_timeline_once() {
    for backend in test_backends().await {
        let fake = FakeSlack::start().await;
        let announce = fake.add_channel("incidents", "UADMIN", "", false);
        let bot = Bot::start(&backend, &fake, "http", &announce).await;
        let (id, _) = declare(&bot, &fake, &announce, "trigger-capture").await;
        let room = bot
            .engine
            .store()
            .incident(&id)
            .await
            .expect("store")
            .expect("incident")
            .room
            .expect("room");

        // Slack's handshake for the events URL.
        let challenge = json!({ "token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification" });
        let response = bot
            .post_signed("/slack/events", "application/json", &challenge.to_string())
            .await;
        assert_eq!(response.status(), 200);
        let echoed: Value = response.json().await.expect("JSON");
        assert_eq!(echoed["challenge"], challenge["challenge"]);

        // 📌 on bob's message: warroom reads it with conversations.history.
        let ts = fake.add_message(
            &room,
            "UBOB",
            "rolled back <@UCAROL|carol>'s deploy &amp; restarted",
        );
        let reaction = event_callback(
            "Ev01",
            json!({
                "type": "reaction_added", "user": "UALICE", "reaction": "pushpin", "item_user": "UBOB",
                "item": { "type": "message", "channel": room, "ts": ts }, "event_ts": "1790000100.000100"
            }),
        );
        assert_eq!(
            bot.post_signed("/slack/events", "application/json", &reaction.to_string())
                .await
                .status(),
            200
        );
        notes_of(&bot, &id, 1).await;
        // The same message pinned too, and that event delivered twice.
        let pin = event_callback(
            "Ev02",
            json!({
                "type": "pin_added", "user": "UDAVE", "channel_id": room,
                "item": { "type": "message", "channel": room, "created_by": "UDAVE",
                          "message": { "type": "message", "user": "UBOB", "text": "rolled back <@UCAROL|carol>'s deploy &amp; restarted", "ts": ts } },
                "event_ts": "1790000101.000100"
            }),
        );
        assert_eq!(
            bot.post_signed("/slack/events", "application/json", &pin.to_string())
                .await
                .status(),
            200
        );
        assert_eq!(
            bot.post_signed_with_retry("/slack/events", &pin.to_string())
                .await
                .status(),
            200
        );
        // The bot's own pin of the summary is not a moment of the incident.
        let own = event_callback(
            "Ev03",
            json!({
                "type": "pin_added", "user": BOT_USER, "channel_id": room,
                "item": { "type": "message", "channel": room, "message": { "type": "message", "user": BOT_USER, "text": "summary", "ts": "1790000000.000300" } },
                "event_ts": "1790000102.000100"
            }),
        );
        assert_eq!(
            bot.post_signed("/slack/events", "application/json", &own.to_string())
                .await
                .status(),
            200
        );
        // Another message pinned: captured from the event's own copy.
        let second_ts = fake.add_message(&room, "UCAROL", "customers notified");
        let second = event_callback(
            "Ev04",
            json!({
                "type": "pin_added", "user": "UCAROL", "channel_id": room,
                "item": { "type": "message", "channel": room, "message": { "type": "message", "user": "UCAROL", "text": "customers notified", "ts": second_ts } },
                "event_ts": "1790000103.000100"
            }),
        );
        assert_eq!(
            bot.post_signed("/slack/events", "application/json", &second.to_string())
                .await
                .status(),
            200
        );
        let notes = notes_of(&bot, &id, 2).await;
        assert_eq!(notes.len(), 2, "{notes:?}");
        let bob = notes
            .iter()
            .find(|n| n.actor == "UBOB")
            .expect("bob's message captured");
        assert_eq!(bob.text, "rolled back @carol's deploy & restarted");
        assert_eq!(
            bob.at.timestamp().to_string(),
            ts.split('.').next().unwrap()
        );
        assert!(
            notes
                .iter()
                .any(|n| n.actor == "UCAROL" && n.text == "customers notified")
        );
        let history = fake.done("conversations.history");
        assert_eq!(history.len(), 1, "only the reaction needed a lookup");
        assert_eq!(
            (
                history[0].arg("latest"),
                history[0].arg("inclusive"),
                history[0].arg("limit")
            ),
            (ts.as_str(), "true", "1")
        );

        // 📌 on a reply in a thread, which history leaves out: read from the thread.
        let reply_ts = fake.add_reply(&room, &ts, "UCAROL", "status page updated");
        let reaction = event_callback(
            "Ev05",
            json!({
                "type": "reaction_added", "user": "UALICE", "reaction": "pushpin", "item_user": "UCAROL",
                "item": { "type": "message", "channel": room, "ts": reply_ts }, "event_ts": "1790000104.000100"
            }),
        );
        assert_eq!(
            bot.post_signed("/slack/events", "application/json", &reaction.to_string())
                .await
                .status(),
            200
        );
        let notes = notes_of(&bot, &id, 3).await;
        assert!(
            notes
                .iter()
                .any(|n| n.actor == "UCAROL" && n.text == "status page updated"),
            "{notes:?}"
        );
        let replies = fake.done("conversations.replies");
        assert_eq!(replies.len(), 1, "{replies:?}");
        assert_eq!(replies[0].arg("ts"), reply_ts);
        bot.stop().await;
    }
}

/// The incident's notes, once there are at least `count` (bounded wait).
async fn notes_of(bot: &Bot, id: &IncidentId, count: usize) -> Vec<warroom::domain::TimelineEvent> {
    let deadline = Instant::now() + slack_fake::PATIENCE;
    loop {
        let timeline = bot.engine.store().timeline(id).await.expect("timeline");
        let notes: Vec<_> = timeline
            .into_iter()
            .filter(|e| e.kind == EventKind::Captured)
            .collect();
        if notes.len() >= count {
            return notes;
        }
        assert!(
            Instant::now() < deadline,
            "gave up waiting for {count} notes: {notes:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn event_callback(event_id: &str, event: Value) -> Value {
    json!({
        "token": "x",
        "team_id": slack_fake::TEAM,
        "api_app_id": "A0WARROOM",
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": 1_790_000_100,
        "authorizations": [{ "team_id": slack_fake::TEAM, "user_id": BOT_USER, "is_bot": true }],
    })
}

#[tokio::test]
async fn socket_mode_acks_envelopes_and_opens_the_war_room() {
    let backend = test_backends().await.remove(0);
    let fake = FakeSlack::start().await;
    let announce = fake.add_channel("incidents", "UADMIN", "", false);
    let server = SocketServer::start().await;
    fake.set_socket_url(&server.url);
    let bot = Bot::start(&backend, &fake, "socket", &announce).await;

    let mut link = server.accept().await;
    let open = fake.done("apps.connections.open");
    assert_eq!(open.len(), 1, "connected through apps.connections.open");
    let envelope = json!({
        "envelope_id": "57d6a792-4d35-4d0b-b6aa-3361493e1caf",
        "type": "slash_commands",
        "accepts_response_payload": true,
        "retry_attempt": 0,
        "retry_reason": "",
        "payload": {
            "token": "x", "team_id": slack_fake::TEAM, "team_domain": "fake",
            "channel_id": OPS, "channel_name": "ops", "user_id": "UALICE", "user_name": "alice",
            "command": "/incident", "text": "sev1 checkout is down", "api_app_id": "A0WARROOM",
            "is_enterprise_install": "false", "response_url": fake.response_url("socket-1"),
            "trigger_id": "socket-trigger-1"
        }
    });
    let ack = send_envelope(&mut link, &envelope).await;
    assert_eq!(ack["envelope_id"], envelope["envelope_id"], "{ack}");
    assert_eq!(ack["payload"]["response_type"], "ephemeral");
    let id = declared_id(&ack["payload"]);
    fake.wait_for("the war room", |f| !f.done("pins.add").is_empty())
        .await;
    let room_name = format!("{}-checkout-is-down", channel_stem(&id));
    assert!(
        fake.channel_named(&room_name).is_some(),
        "#{room_name} exists"
    );

    // Slack asks for a reconnect: warroom opens a new connection.
    let disconnect = json!({ "type": "disconnect", "reason": "refresh_requested", "debug_info": { "host": "fake" } });
    futures_util::SinkExt::send(
        &mut link,
        tokio_tungstenite::tungstenite::Message::text(disconnect.to_string()),
    )
    .await
    .expect("send disconnect");
    let mut relink = server.accept().await;
    assert_eq!(fake.done("apps.connections.open").len(), 2, "reconnected");
    // Clicks arrive over the new link and are acked by envelope id.
    let room = bot
        .engine
        .store()
        .incident(&id)
        .await
        .unwrap()
        .unwrap()
        .room
        .unwrap();
    let summary_ts = fake.messages_in(&room)[0].ts.clone();
    let click = json!({
        "envelope_id": "e2", "type": "interactive", "accepts_response_payload": false,
        "payload": click_payload(&fake, "UALICE", &room, &summary_ts, "ack", &id.to_string(), "1790000200.000100"),
    });
    let ack = send_envelope(&mut relink, &click).await;
    assert_eq!(ack, json!({ "envelope_id": "e2" }));
    fake.wait_for("the incident acknowledged", |f| {
        !f.responses("click-1790000200.000100").is_empty()
    })
    .await;
    let incident = bot.engine.store().incident(&id).await.unwrap().unwrap();
    assert!(incident.acknowledged_at.is_some());
    bot.stop().await;
}

#[test]
fn slack_manifest_prints_an_installable_manifest() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_warroom"))
        .current_dir(dir.path())
        .env_clear()
        .args(["slack-manifest", "--url", "https://warroom.example.com"])
        .output()
        .expect("the binary runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let manifest: Value = serde_json::from_slice(&output.stdout).expect("stdout is JSON");
    assert_eq!(
        manifest["features"]["slash_commands"][0]["url"],
        "https://warroom.example.com/slack/commands"
    );
    assert_eq!(manifest["settings"]["socket_mode_enabled"], false);

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_warroom"))
        .current_dir(dir.path())
        .env_clear()
        .args(["slack-manifest", "--url", "warroom.example.com"])
        .output()
        .expect("the binary runs");
    assert!(!output.status.success(), "a URL without scheme is refused");
}

#[tokio::test]
async fn user_text_reaches_slack_escaped_and_cannot_ping_anyone() {
    let backend = test_backends().await.remove(0);
    let fake = FakeSlack::start().await;
    let announce = fake.add_channel("incidents", "UADMIN", "", false);
    let bot = Bot::start(&backend, &fake, "http", &announce).await;
    // With should_escape, Slack sends a typed @channel as <!channel> and a typed
    // `&` as `&amp;`.
    let answer = bot
        .command(
            &fake,
            "UALICE",
            OPS,
            "sev1 <!channel> checkout &amp; <@UBOB|bob> down",
            "trigger-esc",
        )
        .await;
    let id = declared_id(&answer);
    fake.wait_for(
        "the summary pinned and the announcement linking the room",
        |f| {
            !f.done("pins.add").is_empty()
                && f.done("chat.update")
                    .iter()
                    .any(|c| c.arg("channel") == announce)
        },
    )
    .await;
    for post in fake.done("chat.postMessage") {
        for sent in [post.arg("text"), post.arg("blocks")] {
            assert!(!sent.contains("<!channel>"), "{sent}");
            assert!(
                !sent.contains("<@UBOB|"),
                "the title cannot mention bob: {sent}"
            );
        }
    }
    let summary = &fake.done("chat.postMessage")[0];
    assert!(
        summary
            .arg("blocks")
            .contains("&lt;!channel&gt; checkout &amp; &lt;@UBOB|bob&gt; down"),
        "the title shows as typed: {}",
        summary.arg("blocks")
    );
    let room = bot
        .engine
        .store()
        .incident(&id)
        .await
        .unwrap()
        .unwrap()
        .room
        .unwrap();
    let channel = fake.channel(&room).expect("room");
    assert!(
        channel.name.starts_with(&channel_stem(&id)),
        "{}",
        channel.name
    );
    assert!(
        channel
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    );
    assert!(
        !channel.purpose.contains('<'),
        "purpose escaped: {}",
        channel.purpose
    );
    bot.stop().await;
}

#[tokio::test]
async fn the_resolution_checklist_reaches_slack_as_blocks_and_its_button_drafts_the_postmortem() {
    let backend = test_backends().await.remove(0);
    let fake = FakeSlack::start().await;
    let announce = fake.add_channel("incidents", "UADMIN", "", false);
    let bot = Bot::start(&backend, &fake, "http", &announce).await;
    let (id, _) = declare(&bot, &fake, &announce, "trigger-1").await;
    let room = fake
        .channel_named(&format!("{}-checkout-is-down", channel_stem(&id)))
        .expect("the war room exists");
    bot.command(&fake, "UALICE", &room.id, "resolve", "trigger-2")
        .await;
    fake.wait_for("the checklist posted", |f| {
        f.messages_in(&room.id)
            .iter()
            .any(|m| m.text.starts_with("Resolution checklist"))
    })
    .await;
    let checklist = fake
        .messages_in(&room.id)
        .into_iter()
        .find(|m| m.text.starts_with("Resolution checklist"))
        .expect("posted");
    let blocks = checklist.blocks.as_array().expect("blocks are a list");
    assert_eq!(
        blocks[0],
        json!({
            "type": "header",
            "text": { "type": "plain_text", "text": format!("Resolution checklist · {id}"), "emoji": true }
        })
    );
    let sections: String = blocks
        .iter()
        .filter(|block| block["type"] == "section")
        .map(|block| block["text"]["text"].as_str().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    for line in [
        "☐ Service restored and verified — check the service is healthy; next time, \
         `/incident status monitoring` before resolving lets the fix prove itself",
        "☐ Root cause identified — no cause was given when the incident was identified; \
         write it in the postmortem",
        "☑ Alerts cleared",
        "☐ Status page updated — nothing was published; `/incident update &lt;text&gt;` \
         posts to the status page",
        "☐ Postmortem scheduled — draft it with the button below",
    ] {
        assert!(sections.contains(line), "missing `{line}` in {sections}");
    }
    assert_eq!(
        blocks.last(),
        Some(&json!({
            "type": "actions",
            "elements": [{
                "type": "button",
                "text": { "type": "plain_text", "text": "Draft postmortem", "emoji": true },
                "action_id": "postmortem",
                "value": id.to_string(),
            }]
        }))
    );

    let click = click_payload(
        &fake,
        "UDAVE",
        &room.id,
        &checklist.ts,
        "postmortem",
        &id.to_string(),
        "1790000300.000100",
    );
    assert_eq!(bot.click(&click).await.status(), 200);
    fake.wait_for("the postmortem draft shared", |f| {
        !f.files_in(&room.id).is_empty()
    })
    .await;
    let files = fake.files_in(&room.id);
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].filename, format!("postmortem-{id}.md"));
    assert!(
        files[0]
            .initial_comment
            .starts_with(&format!("Postmortem draft · {id}")),
        "{}",
        files[0].initial_comment
    );
    let timeline = bot.engine.store().timeline(&id).await.expect("timeline");
    assert_eq!(
        timeline
            .iter()
            .filter(|event| event.kind == EventKind::PostmortemPosted)
            .count(),
        1
    );
    bot.stop().await;
}

/// The war room of an incident.
async fn room_of(bot: &Bot, id: &IncidentId) -> String {
    bot.engine
        .store()
        .incident(id)
        .await
        .expect("store answers")
        .and_then(|incident| incident.room)
        .expect("the war room exists")
}

/// Adds `count` notes to an incident's timeline, one a second after it was declared.
async fn add_notes(bot: &Bot, id: &IncidentId, count: i64) {
    let store = bot.engine.store();
    let declared = store
        .incident(id)
        .await
        .expect("store answers")
        .expect("the incident exists")
        .declared_at;
    let mut tx = store.begin().await.expect("begin");
    for n in 0..count {
        let event = TimelineEvent {
            at: declared + chrono::TimeDelta::seconds(n),
            kind: EventKind::Note,
            actor: "UBOB".into(),
            text: format!("checked shard {} | p99 *{n}ms* <see dashboards>", n % 16),
        };
        tx.record_event(id, &event).await.expect("record");
    }
    tx.commit().await.expect("commit");
}

/// The draft as `GET /api/incidents/{id}/postmortem.md` serves it now.
async fn api_draft(bot: &Bot, id: &IncidentId) -> Vec<u8> {
    let response = bot
        .http
        .get(format!(
            "http://{}/api/incidents/{id}/postmortem.md",
            bot.addr
        ))
        .bearer_auth(API_TOKEN)
        .send()
        .await
        .expect("the API answers");
    assert_eq!(response.status(), 200);
    response.bytes().await.expect("a body").to_vec()
}

/// Slack's limits on a message: text, blocks, and each block's text.
fn assert_within_slack_limits(what: &str, text: &str, blocks: &Value) {
    assert!(text.chars().count() <= 40_000, "{what}: text too long");
    let blocks = blocks.as_array().map(Vec::as_slice).unwrap_or_default();
    assert!(blocks.len() <= 50, "{what}: {} blocks", blocks.len());
    for block in blocks {
        let limit = if block["type"] == "header" { 150 } else { 3000 };
        let length = block["text"]["text"]
            .as_str()
            .unwrap_or_default()
            .chars()
            .count();
        assert!(length <= limit, "{what}: a block of {length} characters");
    }
}

#[tokio::test]
async fn the_postmortem_of_a_10000_event_incident_is_shared_whole_within_slacks_limits() {
    for backend in test_backends().await {
        let name = backend.name;
        let fake = FakeSlack::start().await;
        let announce = fake.add_channel("incidents", "UADMIN", "", false);
        let bot = Bot::start(&backend, &fake, "http", &announce).await;
        let (id, _) = declare(&bot, &fake, &announce, "trigger-pm-1").await;
        let room = room_of(&bot, &id).await;
        add_notes(&bot, &id, 10_000).await;

        // `/incident timeline` answers within the limits, however long the timeline.
        let timeline = bot
            .command(&fake, "UALICE", &room, "timeline", "trigger-pm-2")
            .await;
        assert_within_slack_limits("timeline", &text_of(&timeline), &timeline["blocks"]);
        assert!(
            timeline.to_string().contains("more block(s) not shown"),
            "[{name}] the cut is said"
        );

        let answer = bot
            .command(&fake, "UALICE", &room, "postmortem", "trigger-pm-3")
            .await;
        assert_eq!(
            text_of(&answer),
            format!("The postmortem draft of {id} is posted in its war room."),
            "[{name}]"
        );
        fake.wait_for("the draft shared", |f| {
            !f.done("files.completeUploadExternal").is_empty()
        })
        .await;

        let files = fake.files_in(&room);
        assert_eq!(files.len(), 1, "[{name}] one file in the room");
        let file = &files[0];
        assert_eq!(file.filename, format!("postmortem-{id}.md"), "[{name}]");
        assert_eq!(
            file.title,
            format!("Postmortem draft · {id} · checkout is down"),
            "[{name}]"
        );
        let draft = api_draft(&bot, &id).await;
        assert!(draft.len() > 500_000, "[{name}] {} bytes", draft.len());
        assert!(
            file.content == draft,
            "[{name}] the file is the API's draft, byte for byte"
        );
        assert!(
            file.initial_comment.starts_with(&format!(
                "Postmortem draft · {id} · SEV1 · checkout is down\n\
                 Severity: SEV1 (Critical)\n\
                 Duration: still open (declared "
            )),
            "[{name}] {}",
            file.initial_comment
        );
        assert!(
            file.initial_comment.contains(&format!(
                "<https://warroom.test/api/incidents/{id}/postmortem.md|postmortem.md>"
            )),
            "[{name}] {}",
            file.initial_comment
        );

        // The fake refuses what Slack refuses, limits included: nothing was refused.
        let refused: Vec<String> = fake
            .calls()
            .iter()
            .filter(|call| !call.ok)
            .map(|call| format!("{} {}", call.method, call.status))
            .collect();
        assert!(refused.is_empty(), "[{name}] refused: {refused:?}");
        assert!(
            fake.sent_files()
                .iter()
                .all(|(_, _, status)| *status == 200),
            "[{name}] {:?}",
            fake.sent_files()
        );
        for post in fake.done("chat.postMessage") {
            let blocks: Value = serde_json::from_str(post.arg("blocks")).unwrap_or(Value::Null);
            assert_within_slack_limits("a post", post.arg("text"), &blocks);
        }
        bot.stop().await;
    }
}

#[tokio::test]
async fn a_rate_limited_upload_completion_waits_retry_after_and_shares_one_file() {
    let backend = test_backends().await.remove(0);
    let fake = FakeSlack::start().await;
    let announce = fake.add_channel("incidents", "UADMIN", "", false);
    let bot = Bot::start(&backend, &fake, "http", &announce).await;
    let (id, _) = declare(&bot, &fake, &announce, "trigger-up-1").await;
    let room = room_of(&bot, &id).await;
    fake.rate_limit_next("files.completeUploadExternal", 1);
    bot.command(&fake, "UALICE", &room, "postmortem", "trigger-up-2")
        .await;
    fake.wait_for("the draft shared", |f| {
        !f.done("files.completeUploadExternal").is_empty()
    })
    .await;

    let completions: Vec<_> = fake
        .calls()
        .into_iter()
        .filter(|call| call.method == "files.completeUploadExternal")
        .collect();
    assert_eq!(completions.len(), 2, "refused once, then done");
    assert_eq!((completions[0].status, completions[1].ok), (429, true));
    let waited = completions[1].at.duration_since(completions[0].at);
    assert!(
        waited >= Duration::from_secs(1),
        "waited {waited:?} ≥ Retry-After"
    );
    // The retry started a new upload; the refused one was never shared.
    assert_eq!(fake.done("files.getUploadURLExternal").len(), 2);
    let files = fake.files_in(&room);
    assert_eq!(files.len(), 1, "one file visible");
    assert!(files[0].content == api_draft(&bot, &id).await);
    bot.stop().await;
}

#[tokio::test]
async fn an_upload_whose_completion_answer_was_lost_is_shared_once() {
    for backend in test_backends().await {
        let name = backend.name;
        let fake = FakeSlack::start().await;
        let announce = fake.add_channel("incidents", "UADMIN", "", false);
        let bot = Bot::start(&backend, &fake, "http", &announce).await;
        let (id, _) = declare(&bot, &fake, &announce, "trigger-lost-1").await;
        let room = room_of(&bot, &id).await;
        // Slack shares the draft, and its answer is lost on the way back.
        fake.lose_answers("files.completeUploadExternal", 1);
        bot.command(&fake, "UALICE", &room, "postmortem", "trigger-lost-2")
            .await;
        let draft = api_draft(&bot, &id).await;
        // The room's lane is delivered in order: once this update is out, the
        // draft's retry is over.
        bot.command(
            &fake,
            "UALICE",
            &room,
            "update customers notified",
            "trigger-lost-3",
        )
        .await;
        fake.wait_for("the update after the draft", |f| {
            f.done("chat.postMessage")
                .iter()
                .any(|c| c.arg("channel") == room && c.arg("text").contains("customers notified"))
        })
        .await;

        let files = fake.files_in(&room);
        assert_eq!(files.len(), 1, "[{name}] one draft visible");
        assert!(files[0].content == draft, "[{name}]");
        let completions = fake
            .calls()
            .into_iter()
            .filter(|call| call.method == "files.completeUploadExternal")
            .count();
        assert_eq!(completions, 1, "[{name}] the retry found the draft shared");
        assert!(
            !fake.done("conversations.history").is_empty(),
            "[{name}] the retry looked before uploading again"
        );
        bot.stop().await;
    }
}
