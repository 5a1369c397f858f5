//! Alerts from monitoring: routing a group to an incident, one incident per
//! group, later alerts on its timeline, and the Declare and Dismiss buttons of a
//! proposed alert.
//!
//! A group's row is claimed (inserted or found, and locked) first thing in the
//! transaction, so deliveries of one group apply one after the other and only the
//! first one declares.

use super::session::Session;
use super::{Actor, Context, EngineError, Inner, Reply, SYSTEM_USER, Stop, declare, refuse};
use crate::alerts::{Alert, AlertGroup, AlertStatus};
use crate::command::{AlertDecision, ButtonAction, Declare};
use crate::config::{AlertMode, AlertRoute, render as fill};
use crate::domain::{
    AlertGroupRecord, AlertGroupState, EventKind, Incident, IncidentId, Platform, Status, Title,
    UserId,
};
use crate::outbox::{Destination, Operation};
use crate::render::{Block, Button, Inline, Message};
use crate::store::NewAlertGroup;
use crate::telemetry;

/// The alerts a proposal lists; a big group's others are counted, so the
/// message stays within every platform's limits.
const PROPOSAL_ALERTS: usize = 10;

/// What a delivery of an alert group did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertOutcome {
    /// No route took it: recorded and counted, nothing opened.
    Unrouted { group: i64 },
    /// Posted in the announce channel with Declare and Dismiss.
    Proposed { group: i64 },
    /// Its incident was opened.
    Declared { group: i64, incident: IncidentId },
    /// It belongs to an incident already; `changes` alerts fired or resolved since
    /// the last delivery and joined the timeline.
    Joined {
        group: i64,
        incident: IncidentId,
        changes: usize,
    },
    /// Known already, with no incident (proposed, dismissed or unrouted): kept as is.
    Kept { group: i64 },
}

impl AlertOutcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            AlertOutcome::Unrouted { .. } => "unrouted",
            AlertOutcome::Proposed { .. } => "proposed",
            AlertOutcome::Declared { .. } => "declared",
            AlertOutcome::Joined { .. } => "joined",
            AlertOutcome::Kept { .. } => "kept",
        }
    }
}

pub(super) async fn receive(
    inner: &Inner,
    group: &AlertGroup,
) -> Result<AlertOutcome, EngineError> {
    let route = inner.config.alert_route(&group.labels()).cloned();
    let title = title_of(route.as_ref(), group);
    let actor = Actor {
        // Any platform will do for a group no route takes: nothing is sent.
        platform: route
            .as_ref()
            .map_or(Platform::Slack, |route| route.platform),
        user: UserId::new(SYSTEM_USER),
    };
    let context = Context {
        channel: route
            .as_ref()
            .and_then(|route| inner.settings.announce_channels.get(&route.platform))
            .cloned()
            .unwrap_or_default(),
        request_id: None,
        room_name: None,
    };
    let mut session = Session::begin(inner, actor, context).await?;
    let now = session.now;
    let claim = NewAlertGroup {
        source: group.source.as_str(),
        key: &group.key,
        title: &title,
        started_at: group.started_at().unwrap_or(now),
    };
    let mut row = session.tx.claim_alert_group(&claim, now).await?;
    let outcome = match (row.state, &route) {
        (AlertGroupState::New, None) => {
            row.state = AlertGroupState::Unrouted;
            AlertOutcome::Unrouted { group: row.id }
        }
        (AlertGroupState::New, Some(route)) => {
            row.route = Some(route.name.clone());
            row.platform = Some(route.platform);
            match route.mode {
                AlertMode::Declare => declare_group(&mut session, &mut row, route, group).await?,
                AlertMode::Propose => propose(&mut session, &mut row, route, group).await?,
            }
        }
        (AlertGroupState::Declared, _) => join(&mut session, &mut row, group).await?,
        (AlertGroupState::Proposed | AlertGroupState::Dismissed | AlertGroupState::Unrouted, _) => {
            AlertOutcome::Kept { group: row.id }
        }
    };
    remember(&mut row, group);
    session.tx.update_alert_group(&row).await?;
    session.commit().await?;
    telemetry::alert_delivery(group.source.as_str(), outcome.as_str());
    Ok(outcome)
}

/// The incident's title: the route's template filled from the group's labels
/// and annotations, cut to a title's length; the route's name if that leaves nothing.
fn title_of(route: Option<&AlertRoute>, group: &AlertGroup) -> String {
    let template = route.map_or("{alertname}", |route| route.title.as_str());
    let filled = fill(template, |name| group.value(name));
    let cut: String = filled
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(Title::MAX_CHARS)
        .collect();
    if Title::parse(&cut).is_ok() {
        return cut;
    }
    route.map_or_else(|| "alert".to_string(), |route| route.name.clone())
}

/// Each alert's last status, so the next delivery can tell what changed.
fn remember(row: &mut AlertGroupRecord, group: &AlertGroup) {
    for alert in &group.alerts {
        row.alerts
            .insert(alert.fingerprint.clone(), alert.status.as_str().to_string());
    }
}

async fn declare_group(
    session: &mut Session<'_>,
    row: &mut AlertGroupRecord,
    route: &AlertRoute,
    group: &AlertGroup,
) -> Result<AlertOutcome, EngineError> {
    let Some(incident) = open(session, row, route).await? else {
        return Ok(AlertOutcome::Kept { group: row.id });
    };
    for alert in &group.alerts {
        record_alert(session, &incident.id, group, alert).await?;
    }
    Ok(AlertOutcome::Declared {
        group: row.id,
        incident: incident.id,
    })
}

/// Declares the row's incident as the session's actor, by the route's rules;
/// `None` (and nothing written) if the declaration was refused.
async fn open(
    session: &mut Session<'_>,
    row: &mut AlertGroupRecord,
    route: &AlertRoute,
) -> Result<Option<Incident>, EngineError> {
    let Ok(title) = Title::parse(&row.title) else {
        return Ok(None);
    };
    let command = Declare {
        severity: Some(route.severity.clone()),
        title,
        services: route.services.clone(),
        drill: false,
        private: false,
    };
    // An alert stamped later than now (a skewed clock) was detected no later than now.
    let detected_at = Some(row.started_at.min(session.now));
    let incident = match declare::open(session, command, detected_at).await {
        Ok((_, incident)) => incident,
        Err(Stop::Failed(error)) => return Err(error),
        Err(Stop::Refused(reply)) => {
            tracing::warn!(group = row.id, reason = %reply.text(), "an alert route could not declare");
            return Ok(None);
        }
    };
    session
        .record(
            &incident.id,
            EventKind::Alert,
            format!(
                "Declared from {} alert group #{} (route {}); the alerts began {}",
                row.source,
                row.id,
                route.name,
                row.started_at.format("%Y-%m-%d %H:%M:%S UTC")
            ),
        )
        .await?;
    row.state = AlertGroupState::Declared;
    row.incident = Some(incident.id.clone());
    Ok(Some(incident))
}

/// Puts an alert's change on the timeline, at the moment it began when it fires.
async fn record_alert(
    session: &mut Session<'_>,
    incident: &IncidentId,
    group: &AlertGroup,
    alert: &Alert,
) -> Result<(), EngineError> {
    let text = format!(
        "Alert {} ({}): {}",
        alert.status.as_str(),
        group.source,
        alert.describe()
    );
    let at = match alert.status {
        AlertStatus::Firing => alert.starts_at.min(session.now),
        AlertStatus::Resolved => session.now,
    };
    session
        .record_at(incident, EventKind::Alert, text, at)
        .await
}

async fn propose(
    session: &mut Session<'_>,
    row: &mut AlertGroupRecord,
    route: &AlertRoute,
    group: &AlertGroup,
) -> Result<AlertOutcome, EngineError> {
    row.state = AlertGroupState::Proposed;
    let Some(channel) = session.announce_channel(route.platform) else {
        tracing::warn!(group = row.id, platform = %route.platform, "no announce channel to propose an alert in");
        return Ok(AlertOutcome::Proposed { group: row.id });
    };
    let button = |action: ButtonAction, label: &str| Button {
        action: action.to_string(),
        value: row.id.to_string(),
        label: label.to_string(),
    };
    let mut blocks = vec![Block::Paragraph(vec![
        Inline::Strong(format!("Alert: {}", row.title)),
        Inline::Text(format!(
            " — {} from {}; declare it as {}?",
            plural(group.alerts.len(), "alert firing", "alerts firing"),
            group.source,
            route.severity
        )),
    ])];
    blocks.extend(
        group
            .alerts
            .iter()
            .take(PROPOSAL_ALERTS)
            .map(|alert| Block::Paragraph(vec![Inline::Text(alert.describe())])),
    );
    if let Some(more) = group
        .alerts
        .len()
        .checked_sub(PROPOSAL_ALERTS)
        .filter(|n| *n > 0)
    {
        blocks.push(Block::Paragraph(vec![Inline::Text(format!(
            "… and {}.",
            plural(more, "more alert", "more alerts")
        ))]));
    }
    blocks.push(Block::Buttons(vec![
        button(ButtonAction::DeclareAlert(row.id), "Declare"),
        button(ButtonAction::DismissAlert(row.id), "Dismiss"),
    ]));
    let post = Operation::Post {
        to: Destination::Channel(channel),
        message: Message { blocks },
        handle: None,
    };
    session
        .tx
        .enqueue(None, route.platform, &post, session.now)
        .await?;
    session.wake.outbox = true;
    Ok(AlertOutcome::Proposed { group: row.id })
}

fn plural(count: usize, one: &str, many: &str) -> String {
    if count == 1 {
        format!("1 {one}")
    } else {
        format!("{count} {many}")
    }
}

/// A later delivery of a declared group: what changed joins the timeline, and
/// the room hears when every alert has resolved.
async fn join(
    session: &mut Session<'_>,
    row: &mut AlertGroupRecord,
    group: &AlertGroup,
) -> Result<AlertOutcome, EngineError> {
    let Some(id) = row.incident.clone() else {
        return Ok(AlertOutcome::Kept { group: row.id });
    };
    let Some(incident) = session.tx.lock_incident(&id).await? else {
        return Ok(AlertOutcome::Kept { group: row.id });
    };
    let mut changes = 0;
    for alert in &group.alerts {
        let known = row.alerts.get(&alert.fingerprint).map(String::as_str);
        if known != Some(alert.status.as_str()) {
            record_alert(session, &id, group, alert).await?;
            changes += 1;
        }
    }
    match group.status {
        AlertStatus::Resolved if !row.resolved => {
            row.resolved = true;
            tell_resolved(session, &incident, group).await?;
        }
        AlertStatus::Firing => row.resolved = false,
        AlertStatus::Resolved => {}
    }
    Ok(AlertOutcome::Joined {
        group: row.id,
        incident: id,
        changes,
    })
}

/// Tells the room that its alerts have all resolved, with a Resolve button
/// while the incident is open.
async fn tell_resolved(
    session: &mut Session<'_>,
    incident: &Incident,
    group: &AlertGroup,
) -> Result<(), EngineError> {
    let mut blocks = vec![Block::Paragraph(vec![Inline::Text(format!(
        "All alerts of this incident's {} group have resolved ({}).",
        group.source,
        plural(group.alerts.len(), "alert", "alerts")
    ))])];
    if incident.status != Status::Resolved {
        blocks.push(Block::Paragraph(vec![Inline::Text(
            "If the service is back, resolve the incident.".to_string(),
        )]));
        blocks.push(Block::Buttons(vec![Button {
            action: ButtonAction::Resolve.to_string(),
            value: incident.id.to_string(),
            label: "Resolve".to_string(),
        }]));
    }
    session.post_in_room(incident, Message { blocks }).await
}

/// Declare or Dismiss pressed on a proposed alert group.
pub(super) async fn decide(
    session: &mut Session<'_>,
    decision: AlertDecision,
) -> Result<Reply, Stop> {
    let Some(mut row) = session.tx.lock_alert_group(decision.group).await? else {
        return Err(refuse(format!("There is no alert #{}.", decision.group)));
    };
    match (row.state, &row.incident) {
        (AlertGroupState::Proposed, _) => {}
        (AlertGroupState::Declared, Some(incident)) => {
            return Err(refuse(format!(
                "This alert was already declared: {incident}."
            )));
        }
        (AlertGroupState::Dismissed, _) => {
            return Err(refuse("This alert was already dismissed."));
        }
        _ => return Err(refuse("This alert is not waiting for a decision.")),
    }
    if !decision.declare {
        row.state = AlertGroupState::Dismissed;
        session.tx.update_alert_group(&row).await?;
        return Ok(Reply {
            visibility: super::Visibility::InChannel,
            declared: None,
            message: Message::line(vec![
                Inline::Text(format!("Alert “{}” dismissed by ", row.title)),
                super::mention(session.me()),
                Inline::Text(".".to_string()),
            ]),
        });
    }
    let route_name = row.route.clone().unwrap_or_default();
    let Some(route) = session
        .config()
        .alert_routes()
        .iter()
        .find(|route| route.name == route_name)
        .cloned()
    else {
        return Err(refuse(format!(
            "The alert route `{route_name}` is no longer configured; declare with `/incident` instead."
        )));
    };
    let Some(incident) = open(session, &mut row, &route).await? else {
        return Err(refuse(
            "This alert could not be declared; declare with `/incident` instead.",
        ));
    };
    session.tx.update_alert_group(&row).await?;
    Ok(Reply::ephemeral(format!(
        "Declaring {} ({} · {}). The war room opens in a moment.",
        incident.id, incident.severity, incident.title
    )))
}
