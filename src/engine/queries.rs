//! Commands that only look: timeline, summary, lists, help. They read without a
//! write transaction, so a busy incident never waits behind someone reading it.
//! A private incident is shown outside its room only to the people staffed on it.

use super::{Actor, Context, Engine, EngineError, Reply, Stop, refuse, room_being_opened};
use crate::command::{self, Command};
use crate::domain::{Incident, IncidentId};
use crate::render::{self, Inline, Message};
use crate::store::IncidentFilter;

/// How many incidents `/incident list` shows.
const LIST_LIMIT: u32 = 20;

/// Answers a read-only command; `None` means the command changes something.
pub(super) async fn answer(
    engine: &Engine,
    actor: &Actor,
    context: &Context,
    command: &Command,
) -> Result<Option<Reply>, EngineError> {
    let config = engine.config();
    let reply = match command {
        Command::Help(command::Help { topic }) => match command::help(topic.as_deref(), config) {
            Ok(text) => Reply::ephemeral(text),
            Err(error) => Reply::ephemeral(error.to_string()),
        },
        Command::List(_) => {
            let mut open = engine
                .store()
                .incidents(IncidentFilter::Open, LIST_LIMIT)
                .await?;
            open.retain(|incident| may_see(incident, actor));
            Reply::ephemeral_message(render::incident_list(&open, config))
        }
        Command::Timeline(command::OnIncident { incident }) => {
            match find(engine, actor, context, incident).await? {
                Ok(incident) => {
                    let events = engine.store().timeline(&incident.id).await?;
                    Reply::ephemeral_message(render::timeline(&incident, &events, config))
                }
                Err(reply) => reply,
            }
        }
        Command::Summary(command::OnIncident { incident }) => {
            match find(engine, actor, context, incident).await? {
                Ok(incident) => Reply::ephemeral_message(state_now(engine, &incident).await?),
                Err(reply) => reply,
            }
        }
        Command::ListFollowUps(command::OnIncident { incident }) => {
            match find(engine, actor, context, incident).await? {
                Ok(incident) => {
                    let followups = engine.store().followups(&incident.id).await?;
                    Reply::ephemeral_message(render::followups(&incident, &followups))
                }
                Err(reply) => reply,
            }
        }
        Command::ListActions(_) => Reply::ephemeral_message(render::action_list(config)),
        Command::Stats(command::Stats { days }) => super::stats::answer(engine, *days).await?,
        Command::Declare(_)
        | Command::AssignRole(_)
        | Command::Ack(_)
        | Command::SetStatus(_)
        | Command::PostUpdate(_)
        | Command::ChangeSeverity(_)
        | Command::Snooze(_)
        | Command::AddNote(_)
        | Command::RunAction(_)
        | Command::Approve(_)
        | Command::Cancel(_)
        | Command::AddFollowUp(_)
        | Command::CompleteFollowUp(_)
        | Command::Resolve(_)
        | Command::Postmortem(_)
        | Command::AlertDecision(_) => return Ok(None),
    };
    Ok(Some(reply))
}

/// `/incident summary`: the incident as it stands, with what is still open.
async fn state_now(engine: &Engine, incident: &Incident) -> Result<Message, EngineError> {
    let store = engine.store();
    let last_update = store.status_updates(&incident.id).await?.pop();
    let open_runs: Vec<_> = store
        .action_runs_of(&incident.id)
        .await?
        .into_iter()
        .filter(|run| !run.status.is_final())
        .collect();
    let open_followups: Vec<_> = store
        .followups(&incident.id)
        .await?
        .into_iter()
        .filter(|followup| !followup.done)
        .collect();
    let next_update = store.next_update_due(&incident.id).await?;
    Ok(render::state_now(
        incident,
        &render::StillOpen {
            last_update,
            runs: open_runs,
            followups: open_followups,
            next_update,
        },
        engine.config(),
    ))
}

/// Whether `actor` may see `incident` outside its war room: any incident but a
/// private one, which only its declarer and role holders may.
fn may_see(incident: &Incident, actor: &Actor) -> bool {
    !incident.private
        || incident.declared_by == actor.user
        || incident.roles.values().any(|user| *user == actor.user)
}

/// Reached only if a read-only command slipped past [`answer`], which answers every
/// one of them: refuse rather than guess.
pub(super) fn not_a_change(command: &Command) -> Stop {
    refuse(format!(
        "warroom could not handle {command:?}; nothing was changed."
    ))
}

/// The incident a read-only command is about, without locking it.
async fn find(
    engine: &Engine,
    actor: &Actor,
    context: &Context,
    named: &Option<IncidentId>,
) -> Result<Result<Incident, Reply>, EngineError> {
    let store = engine.store();
    let found = match named {
        Some(id) => store.incident(id).await?,
        None => match store
            .incident_by_room(actor.platform, &context.channel)
            .await?
        {
            Some(incident) => Some(incident),
            None => match context.opening_room_of() {
                Some(id) => store
                    .incident(&id)
                    .await?
                    .filter(|incident| room_being_opened(incident, actor.platform)),
                None => None,
            },
        },
    };
    // Named from outside its room, a private incident is shown only to the
    // people it was staffed with; to anyone else it does not exist.
    let found = found.filter(|incident| named.is_none() || may_see(incident, actor));
    Ok(match (found, named) {
        (Some(incident), _) => Ok(incident),
        (None, Some(id)) => Err(Reply::ephemeral(format!(
            "There is no incident {id}. `/incident list` shows the open ones."
        ))),
        (None, None) => Err(Reply::ephemeral_message(Message::line(vec![Inline::Text(
            "This channel is not an incident war room; name the incident, e.g. `/incident timeline INC-20261123-001`."
                .into(),
        )]))),
    })
}
