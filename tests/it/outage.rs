//! warroom in an outage of its own: the real `warroom serve` binary, killed with
//! SIGKILL mid-incident, against the fake Slack, on SQLite and Postgres.
//!
//! A platform call in flight when the process dies is simulated by a fake Slack
//! that swallows it (never answers, never applies it), so the dead process still
//! held the lease on that outbox row when it died.

use crate::common::served::Served;
use crate::common::{Backend, test_backends};
use crate::slack::{
    FORM, OPS, SIGNING_SECRET, click_payload, config_text, declared_id, sign, slash_form, unix_now,
};
use crate::slack_fake::{self, FakeSlack};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use warroom::domain::{EventKind, IncidentId, TimelineEvent};
use warroom::store::Store;
use warroom::workers::SHORT_LEASE;

/// How long after a replica dies its work must be going again elsewhere.
const TAKEN_OVER_WITHIN: Duration = Duration::from_secs(15);

/// A directory with the configuration file the binaries serve, announcing in a
/// channel of the fake Slack.
pub(crate) struct Setup {
    dir: tempfile::TempDir,
    config: PathBuf,
    pub(crate) announce: String,
}

impl Setup {
    pub(crate) fn new(fake: &FakeSlack) -> Setup {
        Setup::with_config(fake, |announce, _| config_text("http", announce))
    }

    /// The configuration `text(announce channel, directory)` says.
    pub(crate) fn with_config(
        fake: &FakeSlack,
        text: impl FnOnce(&str, &std::path::Path) -> String,
    ) -> Setup {
        let announce = fake.add_channel("incidents", "UADMIN", "", false);
        let dir = tempfile::tempdir().expect("temporary directory");
        let config = dir.path().join("warroom.toml");
        std::fs::write(&config, text(&announce, dir.path())).expect("config written");
        Setup {
            dir,
            config,
            announce,
        }
    }

    pub(crate) fn serve(&self, db: &Backend, fake: &FakeSlack) -> Served {
        self.serve_with(db, fake, &[])
    }

    fn serve_with(&self, db: &Backend, fake: &FakeSlack, extra: &[(&str, String)]) -> Served {
        self.serve_on(&db.url, fake, extra)
    }

    /// `warroom serve` on the database at `url`, against `fake`, with `extra` in its environment.
    pub(crate) fn serve_on(&self, url: &str, fake: &FakeSlack, extra: &[(&str, String)]) -> Served {
        let mut vars = vec![
            ("SLACK_API_URL", fake.api_url()),
            ("SLACK_BOT_TOKEN", slack_fake::BOT_TOKEN.to_string()),
            ("SLACK_SIGNING_SECRET", SIGNING_SECRET.to_string()),
        ];
        vars.extend_from_slice(extra);
        Served::start(self.dir.path(), &self.config, url, &vars)
    }
}

/// POSTs a form to `path`, signed now as Slack signs it.
pub(crate) async fn post_signed(
    address: SocketAddr,
    path: &str,
    body: String,
) -> reqwest::Response {
    post_signed_with(&reqwest::Client::new(), address, path, body).await
}

/// [`post_signed`] through `client`, for a test that times the answer (a new
/// client takes a while to set up).
pub(crate) async fn post_signed_with(
    client: &reqwest::Client,
    address: SocketAddr,
    path: &str,
    body: String,
) -> reqwest::Response {
    send_signed(client, address, path, body)
        .await
        .expect("warroom answers")
}

/// [`post_signed_with`], or the error if warroom did not answer.
pub(crate) async fn send_signed(
    client: &reqwest::Client,
    address: SocketAddr,
    path: &str,
    body: String,
) -> reqwest::Result<reqwest::Response> {
    let timestamp = unix_now().to_string();
    client
        .post(format!("http://{address}{path}"))
        .header("Content-Type", FORM)
        .header("X-Slack-Request-Timestamp", &timestamp)
        .header("X-Slack-Signature", sign(SIGNING_SECRET, &timestamp, &body))
        .body(body)
        .send()
        .await
}

/// `/incident sev1 checkout is down` from alice in #ops; returns the incident id
/// of the acknowledgement.
pub(crate) async fn declare(address: SocketAddr, fake: &FakeSlack, trigger: &str) -> IncidentId {
    let body = slash_form(fake, "UALICE", OPS, "sev1 checkout is down", trigger);
    let answer: Value = post_signed(address, "/slack/commands", body)
        .await
        .json()
        .await
        .expect("the answer is JSON");
    declared_id(&answer)
}

/// Waits until the war room of `id` is complete: created, summary posted and
/// pinned, announcement posted. Returns when the last of those calls was made.
pub(crate) async fn war_room_complete(fake: &FakeSlack, setup: &Setup, id: &IncidentId) -> Instant {
    let name = id.to_string().to_lowercase();
    fake.wait_for(
        "the war room, its pinned summary and the announcement",
        |f| {
            f.channels().iter().any(|c| c.name.contains(&name))
                && !f.done("pins.add").is_empty()
                && !f.messages_in(&setup.announce).is_empty()
        },
    )
    .await;
    fake.calls()
        .iter()
        .map(|call| call.at)
        .max()
        .expect("calls were made")
}

/// One room, one pinned summary, one announcement: nothing done twice.
fn assert_exactly_once(fake: &FakeSlack, setup: &Setup, id: &IncidentId, backend: &str) {
    let name = id.to_string().to_lowercase();
    let rooms: Vec<_> = fake
        .channels()
        .into_iter()
        .filter(|c| c.name.contains(&name))
        .collect();
    assert_eq!(rooms.len(), 1, "{backend}: one war room");
    // Every call, not only the successful ones: a repeat answers `name_taken`.
    let creations: Vec<_> = fake
        .calls()
        .into_iter()
        .filter(|call| call.method == "conversations.create")
        .collect();
    assert_eq!(
        creations.len(),
        1,
        "{backend}: one room created: {creations:?}"
    );
    assert_eq!(fake.done("pins.add").len(), 1, "{backend}: one pin");
    let announcements = fake.messages_in(&setup.announce).len();
    assert_eq!(announcements, 1, "{backend}: one announcement");
    let summaries = fake
        .messages_in(&rooms[0].id)
        .iter()
        .filter(|m| m.pinned)
        .count();
    assert_eq!(summaries, 1, "{backend}: one pinned summary");
}

/// Declares through a `serve` and kills it while the war room's creation is in
/// flight, with `survivor` (if any) started beside it first. Returns the incident
/// and when the creation was known to be in flight.
async fn kill_mid_declare(
    setup: &Setup,
    db: &Backend,
    fake: &FakeSlack,
    survivor: impl FnOnce() -> Option<Served>,
) -> (IncidentId, Instant, Option<Served>) {
    fake.swallow_calls("conversations.create", true);
    let mut dying = setup.serve(db, fake);
    let id = declare(dying.address().await, fake, "declare-before-crash").await;
    fake.wait_for("the room's creation in flight", |f| {
        f.swallowed("conversations.create") == 1
    })
    .await;
    let in_flight_since = Instant::now();
    let survivor = survivor();
    if let Some(survivor) = &survivor {
        survivor.address().await;
    }
    fake.swallow_calls("conversations.create", false);
    dying.kill();
    (id, in_flight_since, survivor)
}

#[tokio::test]
async fn on_sqlite_a_restart_takes_over_the_dead_process_leases_at_once() {
    let db = test_backends().await.remove(0);
    assert_eq!(db.name, "sqlite");
    let fake = FakeSlack::start().await;
    let setup = Setup::new(&fake);
    let (id, in_flight_since, _) = kill_mid_declare(&setup, &db, &fake, || None).await;

    let restarted_at = Instant::now();
    let second = setup.serve(&db, &fake);
    second.address().await;
    let complete = war_room_complete(&fake, &setup, &id).await;
    // The dead process's lease on the room's creation ran until SHORT_LEASE after
    // the call went out; finishing before that is only possible by taking it over.
    let after_claim = complete - in_flight_since;
    assert!(
        after_claim < SHORT_LEASE,
        "the war room waited {after_claim:?} for the dead process's lease; warroom said:\n{}",
        second.log()
    );
    println!(
        "sqlite: war room complete {:?} after the restart",
        complete - restarted_at
    );
    assert_exactly_once(&fake, &setup, &id, db.name);
}

/// A Postgres database, a fake Slack and the setup, when Postgres is available.
async fn on_postgres() -> Option<(Backend, FakeSlack, Setup)> {
    let db = test_backends()
        .await
        .into_iter()
        .find(|b| b.name == "postgres")?;
    let fake = FakeSlack::start().await;
    let setup = Setup::new(&fake);
    Some((db, fake, setup))
}

#[tokio::test]
async fn on_postgres_a_dead_replicas_work_is_taken_over_by_the_others() {
    let Some((db, fake, setup)) = on_postgres().await else {
        return;
    };
    // The survivor runs beside the dying replica: while that one lives, it keeps its lease.
    let (id, _, survivor) =
        kill_mid_declare(&setup, &db, &fake, || Some(setup.serve(&db, &fake))).await;
    let survivor = survivor.expect("a survivor");
    let killed_at = Instant::now();

    let complete = war_room_complete(&fake, &setup, &id).await;
    let taken_over = complete - killed_at;
    assert!(
        taken_over < TAKEN_OVER_WITHIN,
        "the dead replica's war room waited {taken_over:?}; the survivor said:\n{}",
        survivor.log()
    );
    println!("postgres: war room complete {taken_over:?} after the replica died");
    assert_exactly_once(&fake, &setup, &id, db.name);
}

#[tokio::test]
async fn on_postgres_a_platform_call_slower_than_the_lease_is_never_repeated() {
    let Some((db, fake, setup)) = on_postgres().await else {
        return;
    };
    let (first, second) = (setup.serve(&db, &fake), setup.serve(&db, &fake));
    second.address().await;
    fake.delay_next("conversations.create", SHORT_LEASE + SHORT_LEASE / 2);
    let id = declare(first.address().await, &fake, "declare-slowly").await;
    war_room_complete(&fake, &setup, &id).await;
    // A repeat would come while the slow call is still being answered.
    fake.wait_for("the slow call answered", |f| f.in_flight() == 0)
        .await;
    assert_exactly_once(&fake, &setup, &id, db.name);
}

#[tokio::test]
async fn a_post_slack_carried_out_just_before_a_crash_is_not_posted_again() {
    for db in test_backends().await {
        let fake = FakeSlack::start().await;
        let setup = Setup::new(&fake);
        // The first post (the announcement) reaches Slack, and warroom dies
        // before it hears back; the lane is delivered in order, so a repeat would
        // come before the summary's pin.
        fake.apply_then_swallow("chat.postMessage", true);
        let mut dying = setup.serve(&db, &fake);
        let id = declare(dying.address().await, &fake, "declare-post-crash").await;
        fake.wait_for("a post carried out, its answer in flight", |f| {
            f.swallowed("chat.postMessage") == 1
        })
        .await;
        fake.apply_then_swallow("chat.postMessage", false);
        dying.kill();

        let restarted = setup.serve(&db, &fake);
        restarted.address().await;
        war_room_complete(&fake, &setup, &id).await;
        assert_exactly_once(&fake, &setup, &id, db.name);
        assert_eq!(
            fake.repeated_posts(),
            [],
            "{}: nothing posted twice; warroom said:\n{}",
            db.name,
            restarted.log()
        );
        assert!(
            !fake.done("conversations.history").is_empty(),
            "{}: the restart looked for the post before posting it again",
            db.name
        );
    }
}

#[tokio::test]
async fn a_post_whose_answer_was_lost_is_not_posted_again() {
    for db in test_backends().await {
        let fake = FakeSlack::start().await;
        let setup = Setup::new(&fake);
        // The first post (the announcement) reaches Slack, and its answer is
        // lost; the lane is delivered in order, so a repeat would come before
        // the summary's pin.
        fake.lose_answers("chat.postMessage", 1);
        let served = setup.serve(&db, &fake);
        let id = declare(served.address().await, &fake, "declare-lost-answers").await;
        war_room_complete(&fake, &setup, &id).await;
        assert_exactly_once(&fake, &setup, &id, db.name);
        let lost = fake
            .calls()
            .into_iter()
            .filter(|c| c.method == "chat.postMessage" && c.status == 500)
            .count();
        assert_eq!(lost, 1, "{}: the announcement's answer was lost", db.name);
        assert_eq!(
            fake.repeated_posts(),
            [],
            "{}: nothing posted twice",
            db.name
        );
    }
}

#[tokio::test]
async fn a_click_acknowledged_just_before_a_crash_is_applied_once_after_the_restart() {
    for db in test_backends().await {
        let fake = FakeSlack::start().await;
        let setup = Setup::new(&fake);
        let fault = [("WARROOM_FAULT", "hang-before-handling".to_string())];
        let mut crashing = setup.serve_with(&db, &fake, &fault);
        let address = crashing.address().await;
        let id = declare(address, &fake, "declare-then-click").await;
        war_room_complete(&fake, &setup, &id).await;

        // Dave takes the scribe role; the click is acknowledged, then warroom dies.
        let action_ts = "1790000001.000100";
        let acknowledged = click_take_scribe(address, &fake, &id, action_ts).await;
        assert_eq!(
            acknowledged.status(),
            200,
            "{}: the click is acknowledged",
            db.name
        );
        crashing.wait_for_log("fault point").await;
        crashing.kill();
        assert!(
            fake.responses(&format!("click-{action_ts}")).is_empty(),
            "{}: the crashed process never answered the click",
            db.name
        );

        let restarted = setup.serve(&db, &fake);
        restarted.address().await;
        fake.wait_for("the click answered after the restart", |f| {
            !f.responses(&format!("click-{action_ts}")).is_empty()
        })
        .await;
        drop(restarted);

        let scribe_taken = scribe_taken(&db.url, &id).await;
        assert_eq!(
            scribe_taken.len(),
            1,
            "{}: the click applied once: {scribe_taken:?}",
            db.name
        );
        assert_eq!(
            fake.responses(&format!("click-{action_ts}")).len(),
            1,
            "{}: one answer to the click",
            db.name
        );
    }
}

/// Dave's click on "take scribe" under the pinned summary in `id`'s war room,
/// stamped `action_ts` and answered at `click-<action_ts>`: warroom's answer to
/// the delivery.
pub(crate) async fn click_take_scribe(
    address: SocketAddr,
    fake: &FakeSlack,
    id: &IncidentId,
    action_ts: &str,
) -> reqwest::Response {
    let name = id.to_string().to_lowercase();
    let room = fake
        .channels()
        .into_iter()
        .find(|c| c.name.contains(&name))
        .expect("the war room");
    let summary = fake
        .messages_in(&room.id)
        .into_iter()
        .find(|m| m.pinned)
        .expect("the pinned summary");
    let click = click_payload(
        fake,
        "UDAVE",
        &room.id,
        &summary.ts,
        "take:scribe",
        &id.to_string(),
        action_ts,
    );
    let form = serde_urlencoded::to_string([("payload", click.to_string())]).expect("form");
    post_signed(address, "/slack/interactions", form).await
}

/// The scribe role's assignments on `id`'s timeline, read from the database at `url`.
pub(crate) async fn scribe_taken(url: &str, id: &IncidentId) -> Vec<TimelineEvent> {
    let store = Store::connect(url).await.expect("the database opens");
    let taken = store
        .timeline(id)
        .await
        .expect("the timeline reads")
        .into_iter()
        .filter(|event| event.kind == EventKind::RoleAssigned && event.text.starts_with("Scribe →"))
        .collect();
    store.close().await;
    taken
}

#[tokio::test]
async fn a_deferred_discord_answer_cut_off_by_a_crash_is_sent_after_the_restart() {
    use crate::discord::{ALICE, CAROL};
    use crate::discord_fake::{
        APPLICATION_ID, FakeDiscord, INCIDENTS_CHANNEL, TOKEN, TestKey, command_interaction,
        eventually, option, post_signed, token_of, unix_now,
    };
    use reqwest::Method;
    use serde_json::json;

    const WAIT: Duration = Duration::from_secs(20);
    for db in test_backends().await {
        let fake = FakeDiscord::start().await;
        let key = TestKey::new(7);
        let dir = tempfile::tempdir().expect("temporary directory");
        let config = dir.path().join("warroom.toml");
        std::fs::write(&config, crate::discord::config()).expect("config written");
        let vars = |fault: bool| {
            let mut vars = vec![
                ("DISCORD_TOKEN", TOKEN.to_string()),
                ("DISCORD_APPLICATION_ID", APPLICATION_ID.to_string()),
                ("DISCORD_PUBLIC_KEY", key.public_hex()),
                ("DISCORD_API_URL", fake.api_url.clone()),
            ];
            if fault {
                vars.push(("WARROOM_FAULT", "hang-before-handling".to_string()));
            }
            vars
        };
        let mut crashing = Served::start(dir.path(), &config, &db.url, &vars(true));
        let url = format!("http://{}/discord/interactions", crashing.address().await);
        let http = reqwest::Client::new();
        let interact = |id: &str, user: &str, channel: &str, sub: &str, options| {
            let body = command_interaction(id, user, channel, sub, options);
            let (http, url, key) = (&http, &url, &key);
            async move { post_signed(http, url, key, unix_now(), &body).await }
        };

        let (status, declared) = interact(
            "610000000000000001",
            CAROL,
            INCIDENTS_CHANNEL,
            "declare",
            json!([
                option("severity", 3, json!("sev1")),
                option("title", 3, json!("checkout is down"))
            ]),
        )
        .await;
        assert_eq!(status, 200, "{}: {declared}", db.name);
        let thread = eventually("the war room's pinned summary", WAIT, || {
            let thread = fake.threads().first()?["id"].as_str()?.to_string();
            fake.messages_in(&thread)
                .iter()
                .any(|m| m.pinned)
                .then_some(thread)
        })
        .await;
        // A long note makes the timeline too long for a first answer: it is deferred.
        let (status, _) = interact(
            "610000000000000002",
            ALICE,
            &thread,
            "note",
            json!([option("text", 3, json!("x".repeat(1900)))]),
        )
        .await;
        assert_eq!(status, 200, "{}", db.name);
        let asked = "610000000000000003";
        let (status, first) = interact(asked, ALICE, &thread, "timeline", json!([])).await;
        assert_eq!(
            (status, first["type"].as_u64()),
            (200, Some(5)),
            "{}: deferred: {first}",
            db.name
        );
        crashing.wait_for_log("fault point").await;
        crashing.kill();
        let original = format!(
            "/webhooks/{APPLICATION_ID}/{}/messages/@original",
            token_of(asked)
        );
        assert!(
            fake.requests_to(&Method::PATCH, &original).is_empty(),
            "{}",
            db.name
        );

        let restarted = Served::start(dir.path(), &config, &db.url, &vars(false));
        restarted.address().await;
        let edit = eventually("the deferred answer after the restart", WAIT, || {
            fake.requests_to(&Method::PATCH, &original)
                .into_iter()
                .next()
        })
        .await;
        assert_eq!(edit.status, 200, "{}", db.name);
        let (file, whole) = &edit.files[0];
        assert_eq!(file, "message.txt", "{}", db.name);
        assert!(
            whole.contains(&"x".repeat(1900)),
            "{}: the whole timeline",
            db.name
        );
        drop(restarted);
        assert_eq!(
            fake.requests_to(&Method::PATCH, &original).len(),
            1,
            "{}: answered once",
            db.name
        );
    }
}
