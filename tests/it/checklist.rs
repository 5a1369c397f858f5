//! The resolution checklist: resolving posts it in the war room with each step
//! ticked from what warroom recorded, and its "Draft postmortem" button does what
//! `/incident postmortem` does, once, however often the click is replayed.
//!
//! Every test runs on a fresh SQLite file, and on Postgres when
//! `WARROOM_TEST_POSTGRES_URL` is set.

use crate::common::harness::{Harness, PEOPLE, SEV1, bot, plain_phrases, start};
use crate::common::store_reads::StoreReads;
use crate::common::{Backend, test_backends};
use std::sync::Arc;
use warroom::clock::ManualClock;
use warroom::command::{self, Command};
use warroom::domain::{EventKind, IncidentId, PageState, UserId};
use warroom::outbox::testing::RecordingPager;
use warroom::outbox::{EventAction, Pager};
use warroom::render::{Block, Button};

fn config() -> String {
    // Goes on from `SEV1`: its update cadence, and it pages.
    let world = r#"
update_every = "15m"
page = true

[assign.sev1]
commander = "alice"
"#;
    [&bot("UTC"), SEV1, world, PEOPLE, &plain_phrases()].concat()
}

/// A harness that pages through a recording pager, and that pager.
async fn harness(backend: &Backend) -> (Harness, Arc<RecordingPager>) {
    let clock = ManualClock::starting_at(start());
    let pager = Arc::new(RecordingPager::new(Arc::new(clock.clone())));
    let h = Harness::builder(config())
        .clock(clock)
        .pager(Some(pager.clone() as Arc<dyn Pager>))
        .build(backend)
        .await;
    (h, pager)
}

impl Harness {
    /// The text of the newest message in the room that starts with `heading`.
    fn last_starting(&self, room: &str, heading: &str) -> String {
        self.platform
            .texts_in(room)
            .into_iter()
            .rev()
            .find(|text| text.starts_with(heading))
            .unwrap_or_else(|| panic!("no `{heading}` message in {room}"))
    }

    async fn postmortems_recorded(&self, id: &IncidentId) -> usize {
        self.store
            .timeline(id)
            .await
            .expect("timeline")
            .iter()
            .filter(|event| event.kind == EventKind::PostmortemPosted)
            .count()
    }
}

#[tokio::test]
async fn resolving_ticks_what_was_done_and_hints_at_the_rest() {
    for backend in test_backends().await {
        let name = backend.name;
        let (h, pager) = harness(&backend).await;

        // Paged, acknowledged, identified with a cause (a public update), then resolved
        // straight away: never monitored, no postmortem planned.
        let (id, room) = h.declare("sev1 checkout is down").await;
        h.minutes(2);
        h.run("UALICE", &room, "ack").await;
        h.minutes(8);
        h.run(
            "UALICE",
            &room,
            "status identified bad deploy of checkout-api",
        )
        .await;
        h.minutes(10);
        h.run("UALICE", &room, "resolve").await;
        h.deliver().await;
        assert_eq!(
            h.last_starting(&room, "Resolution checklist"),
            format!(
                "Resolution checklist · {id}\n\
                 ☐ Service restored and verified — check the service is healthy; next time, \
                 `/incident status monitoring` before resolving lets the fix prove itself\n\
                 ☑ Root cause identified\n\
                 ☑ Alerts cleared\n\
                 ☑ Status page updated\n\
                 ☑ Customers told\n\
                 ☐ Postmortem scheduled — draft it with the button below, or \
                 `/incident followup write the postmortem @\u{200B}owner due:YYYY-MM-DD`"
            ),
            "[{name}]"
        );
        let pages = h.store.pages_of(&id).await.expect("pages");
        assert!(
            !pages.is_empty() && pages.iter().all(|page| page.state == PageState::Resolved),
            "[{name}] the page was resolved, so alerts count as cleared: {pages:?}"
        );
        assert!(
            pager
                .sent()
                .iter()
                .any(|(_, event)| event.action == EventAction::Resolve),
            "[{name}] a resolve event went to PagerDuty"
        );

        // Monitored before resolving and a postmortem follow-up, but nothing said
        // publicly and no cause given.
        let (id, room) = h.declare("sev1 search is slow").await;
        h.minutes(5);
        h.run("UALICE", &room, "status monitoring").await;
        h.run("UALICE", &room, "followup hold the Post-Mortem on Friday")
            .await;
        h.minutes(30);
        h.run("UALICE", &room, "resolve").await;
        h.deliver().await;
        assert_eq!(
            h.last_starting(&room, "Resolution checklist"),
            format!(
                "Resolution checklist · {id}\n\
                 ☑ Service restored and verified\n\
                 ☐ Root cause identified — no cause was given when the incident was identified; \
                 write it in the postmortem\n\
                 ☑ Alerts cleared\n\
                 ☐ Status page updated — nothing was published; `/incident update &lt;text&gt;` \
                 posts to the status page\n\
                 ☐ Customers told — no public update was posted; `/incident update &lt;text&gt;` \
                 tells them\n\
                 ☑ Postmortem scheduled"
            ),
            "[{name}]"
        );
    }
}

#[tokio::test]
async fn the_draft_postmortem_button_posts_the_draft_once() {
    for backend in test_backends().await {
        let name = backend.name;
        let (h, _pager) = harness(&backend).await;
        let (id, room) = h.declare("sev1 checkout is down").await;
        h.minutes(3);
        h.run("UALICE", &room, "ack").await;
        h.minutes(7);
        h.run("UALICE", &room, "status monitoring").await;
        h.minutes(20);
        h.run("UALICE", &room, "resolve rolled back").await;
        h.deliver().await;

        let checklist = h
            .platform
            .messages_in(&room)
            .into_iter()
            .rev()
            .find(|posted| {
                posted
                    .message
                    .plain_text()
                    .starts_with("Resolution checklist")
            })
            .expect("the checklist was posted");
        let button = checklist
            .message
            .blocks
            .iter()
            .find_map(|block| match block {
                Block::Buttons(buttons) => buttons.first().cloned(),
                _ => None,
            })
            .expect("the checklist has a button");
        assert_eq!(
            button,
            Button {
                action: "postmortem".into(),
                value: id.to_string(),
                label: "Draft postmortem".into(),
            },
            "[{name}]"
        );

        // The click comes back as the button's action id and value, like a platform sends it.
        let click = command::from_button(&button.action, &button.value, &UserId::new("UDAVE"))
            .expect("the button is one warroom knows");
        assert_eq!(
            click,
            Command::Postmortem(command::OnIncident {
                incident: Some(id.clone())
            })
        );
        let posted_before = h.platform.texts_in(&room).len();
        let first = h
            .handle("UDAVE", &room, click.clone(), Some("click-1"))
            .await;
        assert_eq!(
            first.text(),
            format!("The postmortem draft of {id} is posted in its war room."),
            "[{name}]"
        );
        h.deliver().await;
        let after_click = h.platform.texts_in(&room);
        assert_eq!(after_click.len(), posted_before + 1, "[{name}]");
        assert!(
            after_click[posted_before].starts_with(&format!("Postmortem draft · {id} · SEV1")),
            "[{name}] {}",
            after_click[posted_before]
        );
        assert_eq!(h.postmortems_recorded(&id).await, 1, "[{name}]");

        // The platform delivers the same click again: same answer, nothing more happens.
        let replayed = h.handle("UDAVE", &room, click, Some("click-1")).await;
        assert_eq!(replayed, first, "[{name}]");
        h.deliver().await;
        assert_eq!(h.platform.texts_in(&room), after_click, "[{name}]");
        assert_eq!(h.postmortems_recorded(&id).await, 1, "[{name}]");

        // And it is the same as the command: typing it posts the draft again.
        h.run("UDAVE", &room, "postmortem").await;
        assert_eq!(h.postmortems_recorded(&id).await, 2, "[{name}]");
    }
}
