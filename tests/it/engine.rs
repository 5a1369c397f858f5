//! The engine end to end on a real database: commands in, timeline events and
//! outbox rows out, delivered to the in-process testing platform.
//!
//! Every test runs on a fresh SQLite file, and on Postgres when
//! `WARROOM_TEST_POSTGRES_URL` is set.

use crate::common::harness::{DAVE, Harness, PEOPLE, SEV1_ROLES, bot, id_in, service_phrases};
use crate::common::store_reads::StoreReads;
use crate::common::{Backend, test_backends};
use std::collections::BTreeSet;
use std::sync::Arc;
use warroom::command;
use warroom::domain::{EventKind, Platform, Status, UserId};
use warroom::engine::{Actor, Context};
use warroom::outbox::Operation;
use warroom::outbox::testing::{Action, OperationKind};
use warroom::workers::{Dispatcher, DispatcherSettings};

fn config() -> String {
    let world = r#"
[[severity]]
name = "sev1"
aliases = ["p0", "critical"]
label = "Critical"
description = "Complete outage"
respond_within = "15m"
update_every = "15m"
page = true

[[severity]]
name = "sev2"
aliases = ["p1"]
label = "Major"
description = "Partial outage"
respond_within = "30m"
update_every = "30m"
page = true

[slack]
announce_channel = "CANNOUNCE"
"#;
    [
        &bot("UTC"),
        PEOPLE,
        DAVE,
        SEV1_ROLES,
        &service_phrases(),
        world,
    ]
    .concat()
}

const ANNOUNCE: &str = "CANNOUNCE";

async fn harness(backend: &Backend) -> Harness {
    Harness::builder(config()).build(backend).await
}

fn kinds(events: &[warroom::domain::TimelineEvent]) -> Vec<EventKind> {
    events.iter().map(|e| e.kind).collect()
}

fn op_name(op: &Operation) -> String {
    match op {
        Operation::CreateRoom(_) => "create_room".into(),
        Operation::Invite { .. } => "invite".into(),
        Operation::SetTopic { .. } => "set_topic".into(),
        Operation::Post {
            handle: Some(h), ..
        } => format!("post:{h}"),
        Operation::Post { to, .. } => format!("post:{to:?}"),
        Operation::Edit { handle, .. } => format!("edit:{handle}"),
        Operation::Pin { handle } => format!("pin:{handle}"),
        Operation::Upload { file, .. } => format!("upload:{}", file.filename),
        Operation::Page { event, .. } => format!("page:{}", event.action.as_str()),
        Operation::FileIssue { issue, .. } => format!("file_issue:{}", issue.marker),
    }
}

#[tokio::test]
async fn a_sev1_from_declaration_to_resolution_records_every_event_and_operation() {
    for backend in test_backends().await {
        let h = harness(&backend).await;
        let (id, room) = h
            .declare_by("UERIN", "sev1 checkout is down service=checkout")
            .await;
        assert_eq!(id.as_str(), "INC-20261123-001");

        h.clock.advance(std::time::Duration::from_secs(60));
        assert!(
            h.run("UALICE", &room, "ack")
                .await
                .text()
                .contains("Acknowledged")
        );
        h.run("UALICE", &room, "role comms <@UCAROL|carol>").await;
        h.run("UALICE", &room, "role scribe @dave").await;
        h.clock.advance(std::time::Duration::from_secs(600));
        h.run(
            "UBOB",
            &room,
            "status identified bad deploy of checkout-api",
        )
        .await;
        h.run("UCAROL", &room, "update rollback in progress").await;
        h.clock.advance(std::time::Duration::from_secs(600));
        h.run("UBOB", &room, "status monitoring").await;
        h.run("UDAVE", &room, "note error rate back to normal")
            .await;
        h.clock.advance(std::time::Duration::from_secs(1200));
        let resolved = h
            .run("UALICE", &room, "resolve rolled back checkout-api")
            .await;
        assert!(resolved.text().contains("after 41m"), "{}", resolved.text());
        h.deliver().await;

        let incident = h.store.incident(&id).await.unwrap().unwrap();
        assert_eq!(incident.status, Status::Resolved);
        assert_eq!(
            incident.summary.as_deref(),
            Some("rolled back checkout-api")
        );
        let declared = incident.declared_at;
        assert_eq!(
            incident
                .acknowledged_at
                .map(|t| (t - declared).num_seconds()),
            Some(60)
        );
        assert_eq!(
            incident.identified_at.map(|t| (t - declared).num_seconds()),
            Some(660)
        );
        assert_eq!(
            incident.mitigated_at.map(|t| (t - declared).num_seconds()),
            Some(1260)
        );
        assert_eq!(
            incident.resolved_at.map(|t| (t - declared).num_seconds()),
            Some(2460)
        );

        let events = h.store.timeline(&id).await.unwrap();
        use EventKind::*;
        assert_eq!(
            kinds(&events),
            vec![
                Declared,
                RoleAssigned,
                RoleAssigned,
                Acknowledged,
                RoleAssigned,
                RoleAssigned,
                StatusChanged,
                StatusUpdate,
                StatusChanged,
                Note,
                Resolved
            ]
        );
        let texts: Vec<&str> = events.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(texts[0], "Declared SEV1 Critical: checkout is down");
        assert_eq!(texts[1], "Incident commander → UALICE");
        assert_eq!(texts[2], "Technical lead → UBOB");
        assert_eq!(texts[4], "Communications lead → UCAROL");
        assert_eq!(texts[5], "Scribe → UDAVE");
        assert_eq!(
            texts[6],
            "Status investigating → identified: bad deploy of checkout-api"
        );
        assert_eq!(texts[8], "Status identified → monitoring");
        assert_eq!(texts[9], "error rate back to normal");
        assert_eq!(texts[10], "Resolved: rolled back checkout-api");
        assert_eq!(events[9].actor, "UDAVE");

        let rows = h.store.outbox_of(&id).await.unwrap();
        assert!(
            rows.iter().all(|r| r.delivered_at.is_some()),
            "every operation was delivered"
        );
        let names: Vec<String> = rows.iter().map(|r| op_name(&r.operation)).collect();
        let refresh = ["set_topic", "edit:summary"];
        // The announcement first, edited to link the room once it is open.
        let mut expected: Vec<String> = vec![
            "post:announcement",
            "create_room",
            "invite",
            "post:summary",
            "pin:summary",
            "edit:announcement",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        let room_post = "post:Room".to_string();
        // sev1 pages, and without a routing key the room is told paging is off.
        expected.push(room_post.clone());
        // ack
        expected.extend(refresh.iter().map(|s| s.to_string()));
        expected.push(room_post.clone());
        // two role changes: invite, refresh, post
        for _ in 0..2 {
            expected.push("invite".into());
            expected.extend(refresh.iter().map(|s| s.to_string()));
            expected.push(room_post.clone());
        }
        // identified with text is a status update: room + announce
        expected.extend(refresh.iter().map(|s| s.to_string()));
        expected.push(room_post.clone());
        expected.push(format!("post:Channel(\"{ANNOUNCE}\")"));
        // update: room + announce
        expected.push(room_post.clone());
        expected.push(format!("post:Channel(\"{ANNOUNCE}\")"));
        // monitoring
        expected.extend(refresh.iter().map(|s| s.to_string()));
        expected.push(room_post.clone());
        // resolve: refresh, room, announce, then the resolution checklist in the room
        expected.extend(refresh.iter().map(|s| s.to_string()));
        expected.push(room_post.clone());
        expected.push(format!("post:Channel(\"{ANNOUNCE}\")"));
        expected.push(room_post.clone());
        assert_eq!(names, expected);

        // What the platform saw: one room, the right people in it, the summary
        // pinned once and edited in place to the final state.
        assert_eq!(h.platform.rooms().len(), 1);
        let members = h.platform.members(&room);
        for user in ["UALICE", "UBOB", "UCAROL", "UDAVE", "UERIN"] {
            assert!(members.contains(&UserId::new(user)), "{user} was invited");
        }
        let summary = h
            .platform
            .current_text(&room, "summary")
            .expect("summary posted");
        assert!(summary.contains("Status: resolved"), "{summary}");
        assert!(
            summary.contains("Communications lead: @UCAROL"),
            "{summary}"
        );
        assert_eq!(h.platform.pins(&room), 1);
        assert_eq!(
            h.platform.topic(&room).as_deref(),
            Some("SEV1 · resolved · IC @UALICE")
        );
        let announced = h.platform.texts_in(ANNOUNCE);
        assert_eq!(
            announced.len(),
            4,
            "declared, identified, update, resolved: {announced:?}"
        );
        assert!(announced[0].contains("SEV1 declared"));
        assert_eq!(
            announced[1],
            "Status update 14:11 UTC · SEV1 · identified — bad deploy of checkout-api — next update by 14:26"
        );
        assert_eq!(
            announced[2],
            "Status update 14:11 UTC · SEV1 · identified — rollback in progress — next update by 14:26"
        );
    }
}

#[tokio::test]
async fn two_hundred_concurrent_declares_get_distinct_ids_and_lose_no_events() {
    for backend in test_backends().await {
        let h = Arc::new(harness(&backend).await);
        let mut tasks = tokio::task::JoinSet::new();
        for task in 0..50 {
            let h = h.clone();
            tasks.spawn(async move {
                let mut ids = Vec::new();
                for n in 0..4 {
                    let reply = h
                        .run("UERIN", "CGENERAL", &format!("sev2 outage {task}-{n}"))
                        .await;
                    ids.push(id_in(&reply.text()));
                }
                ids
            });
        }
        let mut ids = BTreeSet::new();
        while let Some(done) = tasks.join_next().await {
            ids.extend(done.expect("task finished"));
        }
        assert_eq!(ids.len(), 200, "200 distinct ids");
        let all = h
            .store
            .incidents(warroom::store::IncidentFilter::All, 1000)
            .await
            .unwrap();
        assert_eq!(all.len(), 200);
        for id in &ids {
            // sev2 has no assignments: declared + the declarer as commander.
            let events = h.store.timeline(id).await.unwrap();
            assert_eq!(
                kinds(&events),
                vec![EventKind::Declared, EventKind::RoleAssigned],
                "{id}"
            );
        }
        let numbers: BTreeSet<u32> = ids
            .iter()
            .map(|id| id.as_str()[13..].parse().unwrap())
            .collect();
        assert_eq!(
            numbers,
            (1..=200).collect(),
            "numbers 001..200 without gaps"
        );
    }
}

#[tokio::test]
async fn only_the_commander_or_declarer_steers_and_anyone_may_take_an_open_role() {
    for backend in test_backends().await {
        let h = harness(&backend).await;
        let (id, room) = h.declare_by("UERIN", "sev1 api latency").await;

        let refused = h.run("UDAVE", &room, "resolve").await;
        assert!(
            refused.text().contains("Only the commander"),
            "{}",
            refused.text()
        );
        let refused = h.run("UDAVE", &room, "severity sev2").await;
        assert!(
            refused.text().contains("Only the commander"),
            "{}",
            refused.text()
        );
        let refused = h.run("UDAVE", &room, "status identified").await;
        assert!(
            refused.text().contains("Only its role holders"),
            "{}",
            refused.text()
        );
        let refused = h.run("UDAVE", &room, "role commander @dave").await;
        assert!(
            refused.text().contains("Only the commander"),
            "{}",
            refused.text()
        );

        h.run("UDAVE", &room, "role scribe @dave").await;
        h.run("UDAVE", &room, "note anyone may add a note").await;
        h.run("UERIN", &room, "severity sev2").await;
        let incident = h.store.incident(&id).await.unwrap().unwrap();
        assert_eq!(incident.severity.as_str(), "sev2");
        assert_eq!(
            incident.holder(warroom::domain::Role::Scribe),
            Some(&UserId::new("UDAVE"))
        );
        assert_eq!(incident.status, Status::Investigating);
    }
}

#[tokio::test]
async fn a_replayed_request_changes_nothing_twice_and_gets_the_first_answer() {
    for backend in test_backends().await {
        let h = harness(&backend).await;
        let (id, room) = h.declare_by("UALICE", "sev1 payments failing").await;
        let command = command::parse("note retry storm from the mobile app", &*h.config).unwrap();
        let first = h
            .handle("UALICE", &room, command.clone(), Some("req-1"))
            .await;
        h.clock.advance(std::time::Duration::from_secs(5));
        let again = h.handle("UALICE", &room, command, Some("req-1")).await;
        assert_eq!(first, again);
        let notes = h
            .store
            .timeline(&id)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == EventKind::Note)
            .count();
        assert_eq!(notes, 1);
    }
}

#[tokio::test]
async fn a_channel_is_known_as_a_war_room_by_its_name_only_until_the_room_is_recorded() {
    for backend in test_backends().await {
        let h = harness(&backend).await;
        let reply = h.run("UALICE", "CGENERAL", "sev1 search is down").await;
        let id = id_in(&reply.text());
        let note = |text: &str| command::parse(&format!("note {text}"), &*h.config).unwrap();
        let typed_in = |channel: &str, name: &str| Context {
            channel: channel.into(),
            request_id: None,
            room_name: Some(name.into()),
        };
        let alice = Actor {
            platform: Platform::Slack,
            user: UserId::new("UALICE"),
        };
        let name = format!("{}-search-is-down", id.as_str().to_lowercase());

        // Not delivered yet: the room's id is unknown, its name is enough.
        let reply = h
            .engine
            .handle(&alice, &typed_in("CNEW", &name), note("in the new room"))
            .await
            .unwrap();
        assert!(
            reply.text().contains("Added to the timeline"),
            "{}",
            reply.text()
        );

        // Once the room is recorded, only that room is the war room.
        h.deliver().await;
        let room = h.store.incident(&id).await.unwrap().unwrap().room.unwrap();
        assert_ne!(room, "CNEW");
        let reply = h
            .engine
            .handle(&alice, &typed_in("CCOPY", &name), note("from a lookalike"))
            .await
            .unwrap();
        assert!(
            reply.text().contains("not an incident war room"),
            "{}",
            reply.text()
        );
        let notes: Vec<String> = h
            .store
            .timeline(&id)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == EventKind::Note)
            .map(|e| e.text)
            .collect();
        assert_eq!(notes, ["in the new room"]);
    }
}

#[tokio::test]
async fn a_severity_private_by_config_makes_every_incident_of_it_private() {
    for backend in test_backends().await {
        let config = config().replace(
            "update_every = \"30m\"\npage = true\n",
            "update_every = \"30m\"\npage = true\nprivate = true\n",
        );
        assert!(config.contains("private = true"));
        let h = Harness::builder(config).build(&backend).await;
        let (sev2, _) = h
            .declare_by("UALICE", "sev2 badge reader tampered with")
            .await;
        let (sev1, _) = h.declare_by("UALICE", "sev1 checkout is down").await;
        for (id, private) in [(sev2, true), (sev1, false)] {
            let incident = h.store.incident(&id).await.unwrap().unwrap();
            assert_eq!(incident.private, private, "{}: {id}", backend.name);
        }
        let announced = h.platform.texts_in(ANNOUNCE);
        assert!(
            announced.iter().all(|text| !text.contains("badge reader")),
            "{announced:?}"
        );
        assert!(
            announced
                .iter()
                .any(|text| text == "A private incident was declared by @UALICE."),
            "{announced:?}"
        );
    }
}

#[tokio::test]
async fn a_resolved_incident_reopens_only_as_investigating() {
    for backend in test_backends().await {
        let h = harness(&backend).await;
        let (id, room) = h.declare_by("UALICE", "sev1 login broken").await;
        h.run("UALICE", &room, "resolve false alarm").await;
        let refused = h.run("UALICE", &room, "status monitoring").await;
        assert!(refused.text().contains("reopen"), "{}", refused.text());
        h.run("UALICE", &room, "status investigating it came back")
            .await;
        let incident = h.store.incident(&id).await.unwrap().unwrap();
        assert_eq!(incident.status, Status::Investigating);
        assert_eq!(incident.resolved_at, None);
        let last = h.store.timeline(&id).await.unwrap().pop().unwrap();
        assert_eq!(last.kind, EventKind::Reopened);
    }
}

#[tokio::test]
async fn a_crash_between_sending_and_recording_delivers_again_after_restart() {
    for backend in test_backends().await {
        let h = harness(&backend).await;
        let reply = h.run("UERIN", "CGENERAL", "sev1 search is down").await;
        let id = id_in(&reply.text());

        // The announcement goes out first. Then the platform creates the room, and
        // the process dies before the outbox row is marked delivered.
        let dispatcher = Dispatcher::new(
            h.store.clone(),
            vec![h.platform.clone() as Arc<dyn warroom::outbox::ChatPlatform>],
            Arc::new(h.clock.clone()),
            DispatcherSettings::default(),
            Arc::new(tokio::sync::Notify::new()),
        );
        assert_eq!(
            dispatcher.deliver_due().await.unwrap(),
            1,
            "the announcement"
        );
        let crashed = h.platform.crash_after_next(OperationKind::CreateRoom);
        let running = tokio::spawn(async move { dispatcher.deliver_due().await });
        crashed
            .await
            .expect("the room was created before the crash");
        running.abort();
        assert!(running.await.expect_err("aborted").is_cancelled());
        assert_eq!(h.platform.rooms().len(), 1);

        // A new process on the same database, once the dead one's lease has run out.
        let h = h.restart(&backend).await;
        let before = h.store.outbox_of(&id).await.unwrap();
        assert!(
            before[1..].iter().all(|row| row.delivered_at.is_none()),
            "nothing after the announcement was marked delivered"
        );
        h.clock.advance(std::time::Duration::from_secs(61));
        h.deliver().await;

        let rooms = h.platform.rooms();
        assert_eq!(
            rooms.len(),
            1,
            "the retried create room reused the first room"
        );
        let room = rooms[0].id.clone();
        let incident = h.store.incident(&id).await.unwrap().unwrap();
        assert_eq!(incident.room.as_deref(), Some(room.as_str()));
        let after = h.store.outbox_of(&id).await.unwrap();
        assert!(
            after.iter().all(|row| row.delivered_at.is_some()),
            "everything delivered"
        );
        let order: Vec<String> = h
            .platform
            .operations()
            .iter()
            .map(|performed| match &performed.action {
                Action::CreateRoom { reused: false, .. } => "create room".to_string(),
                Action::CreateRoom { reused: true, .. } => "create room (reused)".to_string(),
                Action::Invite { .. } => "invite".to_string(),
                Action::SetTopic { .. } => "set topic".to_string(),
                Action::Post { posted, .. } => format!("post in {}", posted.channel),
                Action::Edit { .. } => "edit".to_string(),
                Action::Pin { .. } => "pin".to_string(),
                Action::Upload { posted, .. } => format!("upload in {}", posted.channel),
            })
            .collect();
        let in_room = format!("post in {room}");
        let announced = format!("post in {ANNOUNCE}");
        assert_eq!(
            order,
            [
                &announced,
                "create room",
                "create room (reused)",
                "invite",
                &in_room,
                "pin",
                "edit",
                &in_room
            ],
            "delivered again, then the rest in queue order"
        );
        assert_eq!(h.platform.pins(&room), 1);
        assert!(h.platform.current_text(&room, "summary").is_some());
        assert_eq!(h.platform.texts_in(ANNOUNCE).len(), 1);
        // Commands in the room work after the restart.
        assert!(
            h.run("UALICE", &room, "ack")
                .await
                .text()
                .contains("Acknowledged")
        );
    }
}
