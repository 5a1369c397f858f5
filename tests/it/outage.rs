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
use warroom::domain::{EventKind, IncidentId};
use warroom::store::Store;
use warroom::workers::SHORT_LEASE;

/// How long after a replica dies its work must be going again elsewhere.
const TAKEN_OVER_WITHIN: Duration = Duration::from_secs(15);

/// A directory with the configuration file the binaries serve, announcing in a
/// channel of the fake Slack.
pub(crate) struct Setup {
    dir: tempfile::TempDir,
    config: PathBuf,
    pub announce: String,
}

impl Setup {
    fn new(fake: &FakeSlack) -> Setup {
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
        let mut vars = vec![
            ("SLACK_API_URL", fake.api_url()),
            ("SLACK_BOT_TOKEN", slack_fake::BOT_TOKEN.to_string()),
            ("SLACK_SIGNING_SECRET", SIGNING_SECRET.to_string()),
        ];
        vars.extend_from_slice(extra);
        Served::start(self.dir.path(), &self.config, &db.url, &vars)
    }
}

/// POSTs a form to `path`, signed now as Slack signs it.
async fn post_signed(address: SocketAddr, path: &str, body: String) -> reqwest::Response {
    send_signed(&reqwest::Client::new(), address, path, body)
        .await
        .expect("warroom answers")
}

/// POSTs a form to `path` with `client`, signed now as Slack signs it; the
/// error if warroom did not answer.
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
async fn declare(address: SocketAddr, fake: &FakeSlack, trigger: &str) -> IncidentId {
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
async fn war_room_complete(fake: &FakeSlack, setup: &Setup, id: &IncidentId) -> Instant {
    let name = id.to_string().to_lowercase();
    fake.wait_for(
        "the war room, its pinned summary and the announcement",
        |f| {
            f.channels().iter().any(|c| c.name.contains(&name))
                && !f.done("pins.add").is_empty()
                && f.done("chat.postMessage")
                    .iter()
                    .any(|c| c.arg("channel") == setup.announce)
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
    let announcements = fake
        .done("chat.postMessage")
        .iter()
        .filter(|c| c.arg("channel") == setup.announce)
        .count();
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

#[tokio::test]
async fn on_postgres_a_dead_replicas_work_is_taken_over_by_the_others() {
    let Some(db) = test_backends()
        .await
        .into_iter()
        .find(|b| b.name == "postgres")
    else {
        return;
    };
    let fake = FakeSlack::start().await;
    let setup = Setup::new(&fake);
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
    let Some(db) = test_backends()
        .await
        .into_iter()
        .find(|b| b.name == "postgres")
    else {
        return;
    };
    let fake = FakeSlack::start().await;
    let setup = Setup::new(&fake);
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
async fn a_click_acknowledged_just_before_a_crash_is_applied_once_after_the_restart() {
    for db in test_backends().await {
        let fake = FakeSlack::start().await;
        let setup = Setup::new(&fake);
        let fault = [("WARROOM_FAULT", "hang-before-handling".to_string())];
        let mut crashing = setup.serve_with(&db, &fake, &fault);
        let address = crashing.address().await;
        let id = declare(address, &fake, "declare-then-click").await;
        war_room_complete(&fake, &setup, &id).await;
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

        // Dave takes the scribe role; the click is acknowledged, then warroom dies.
        let action_ts = "1790000001.000100";
        let click = click_payload(
            &fake,
            "UDAVE",
            &room.id,
            &summary.ts,
            "take:scribe",
            &id.to_string(),
            action_ts,
        );
        let form = serde_urlencoded::to_string([("payload", click.to_string())]).expect("form");
        let acknowledged = post_signed(address, "/slack/interactions", form).await;
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

        let store = Store::connect(&db.url).await.expect("the database opens");
        let scribe_taken: Vec<_> = store
            .timeline(&id)
            .await
            .expect("the timeline reads")
            .into_iter()
            .filter(|event| {
                event.kind == EventKind::RoleAssigned && event.text.starts_with("Scribe →")
            })
            .collect();
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
        store.close().await;
    }
}
