//! A follow-up filed as an issue in a tracker: what the issue says, and what
//! the war room is told about it.

use super::{Inline, Message};
use crate::config::Config;
use crate::domain::{Incident, Tracker};
use chrono::NaiveDate;

/// GitHub's limit, the tightest of the trackers'.
const TITLE_LIMIT: usize = 256;

/// A follow-up as the issue shows it.
pub struct FollowUpIssue<'a> {
    pub number: i64,
    pub text: &'a str,
    /// How the owner is shown (their name), when there is one.
    pub owner: Option<&'a str>,
    pub due: Option<NaiveDate>,
}

/// The issue's title and Markdown body, which links back to the incident.
pub fn followup_issue(
    incident: &Incident,
    followup: &FollowUpIssue<'_>,
    config: &Config,
) -> (String, String) {
    let drill = if incident.drill { "[DRILL] " } else { "" };
    let title: String = format!("{drill}{}", followup.text)
        .chars()
        .take(TITLE_LIMIT)
        .collect();
    let url = format!(
        "{}/incidents/{}",
        config.public_url().trim_end_matches('/'),
        incident.id
    );
    let mut body = format!(
        "Follow-up #{} of [{}]({url}): {} ({}).\n\n{}\n",
        followup.number,
        incident.id,
        quiet(&incident.title),
        incident.severity.as_str().to_uppercase(),
        quiet(followup.text),
    );
    let mut details = Vec::new();
    if let Some(owner) = followup.owner {
        details.push(format!("Owner: {}", quiet(owner)));
    }
    if let Some(due) = followup.due {
        details.push(format!("Due: {due}"));
    }
    if !details.is_empty() {
        body.push_str(&format!("\n{}\n", details.join(" · ")));
    }
    body.push_str("\nFiled by warroom.");
    (title, body)
}

/// What the room is told once the issue exists; its link follows.
pub fn followup_filed(number: i64, tracker: Tracker) -> Message {
    Message::line(vec![Inline::Text(format!(
        "Follow-up #{number} is filed in {tracker}:"
    ))])
}

/// What the room is told when the tracker refuses the issue; its reason follows.
pub fn followup_not_filed(number: i64, tracker: Tracker) -> Message {
    Message::text(format!(
        "Follow-up #{number} could not be filed in {tracker}; it stays in warroom \
         (`/incident followups`)."
    ))
}

/// What the room is told when the issue is closed in the tracker.
pub fn followup_closed(number: i64, tracker: Tracker) -> Message {
    Message::text(format!(
        "Follow-up #{number} is done: its issue was closed in {tracker}."
    ))
}

/// User text in Markdown that cannot mention anyone: `@` as an entity, which
/// trackers show as `@` without resolving a user or team from it.
fn quiet(text: &str) -> String {
    text.replace('@', "&#64;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_mentions_nobody() {
        assert_eq!(quiet("ping @acme/oncall"), "ping &#64;acme/oncall");
    }
}
