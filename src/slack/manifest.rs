//! The Slack app manifest `warroom slack-manifest` prints: paste it into "Create
//! an app → From a manifest", install, and the app has exactly what warroom uses.
//!
//! Owns: the list of scopes and events warroom needs, each there for a reason.
//! Must not: talk to Slack.

use serde_json::{Value, json};

/// Bot scopes, each for a call warroom makes or an event it receives.
pub const BOT_SCOPES: &[&str] = &[
    // The /incident slash command.
    "commands",
    // conversations.create, .invite, .setTopic, .setPurpose on public war rooms.
    "channels:manage",
    // conversations.list: find the room an interrupted attempt already created.
    "channels:read",
    // conversations.history and .replies: read a message marked with 📌 (in a thread too).
    "channels:history",
    // chat.postMessage, chat.update.
    "chat:write",
    // Announce in slack.announce_channel without inviting the bot there first.
    "chat:write.public",
    // files.getUploadURLExternal and files.completeUploadExternal: the postmortem
    // draft. Slack asks for files:read beside files:write for this upload flow.
    "files:write",
    "files:read",
    // pins.add for the summary; pins:read to receive pin_added.
    "pins:write",
    "pins:read",
    // reaction_added.
    "reactions:read",
    // Private war rooms: conversations.create with is_private, invite, topic and
    // purpose (groups:write), finding one again (groups:read), reading a message
    // marked with 📌 in one (groups:history).
    "groups:write",
    "groups:read",
    "groups:history",
];

/// Events warroom subscribes to: timeline capture.
pub const BOT_EVENTS: &[&str] = &["pin_added", "reaction_added"];

/// Where Slack reaches warroom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// HTTP endpoints under this public base URL (no trailing `/`).
    Http(String),
    /// Socket Mode: no request URLs.
    Socket,
}

/// The manifest as JSON.
pub fn manifest(delivery: &Delivery) -> Value {
    let url = |path: &str| match delivery {
        Delivery::Http(base) => Some(format!("{}{path}", base.trim_end_matches('/'))),
        Delivery::Socket => None,
    };
    let mut command = json!({
        "command": "/incident",
        "description": "Declare and run incidents: war rooms, roles, status, timeline",
        "usage_hint": "sev1 checkout is down | status identified | role comms @carol | help",
        "should_escape": true,
    });
    let mut events = json!({ "bot_events": BOT_EVENTS });
    let mut interactivity = json!({ "is_enabled": true });
    if let Some(commands) = url("/slack/commands") {
        command["url"] = json!(commands);
    }
    if let Some(events_url) = url("/slack/events") {
        events["request_url"] = json!(events_url);
    }
    if let Some(interactions) = url("/slack/interactions") {
        interactivity["request_url"] = json!(interactions);
    }
    json!({
        "display_information": {
            "name": "warroom",
            "description": "Incident response: war rooms, roles, status cadence and timelines",
            "background_color": "#8b1a1a",
        },
        "features": {
            "bot_user": { "display_name": "warroom", "always_online": true },
            "slash_commands": [command],
        },
        "oauth_config": { "scopes": { "bot": BOT_SCOPES } },
        "settings": {
            "event_subscriptions": events,
            "interactivity": interactivity,
            "org_deploy_enabled": false,
            "socket_mode_enabled": *delivery == Delivery::Socket,
            "token_rotation_enabled": false,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_manifest_points_at_the_endpoints() {
        let manifest = manifest(&Delivery::Http("https://warroom.example.com/".into()));
        let command = &manifest["features"]["slash_commands"][0];
        assert_eq!(command["command"], "/incident");
        assert_eq!(command["should_escape"], true);
        assert_eq!(command["url"], "https://warroom.example.com/slack/commands");
        let settings = &manifest["settings"];
        assert_eq!(
            settings["event_subscriptions"]["request_url"],
            "https://warroom.example.com/slack/events"
        );
        assert_eq!(
            settings["interactivity"]["request_url"],
            "https://warroom.example.com/slack/interactions"
        );
        assert_eq!(settings["socket_mode_enabled"], false);
        assert_eq!(
            settings["event_subscriptions"]["bot_events"],
            json!(["pin_added", "reaction_added"])
        );
        assert!(
            manifest["oauth_config"]["scopes"]["bot"]
                .as_array()
                .unwrap()
                .contains(&json!("pins:write"))
        );
    }

    #[test]
    fn socket_manifest_has_no_urls() {
        let manifest = manifest(&Delivery::Socket);
        assert_eq!(manifest["settings"]["socket_mode_enabled"], true);
        let text = manifest.to_string();
        assert!(
            !text.contains("request_url") && !text.contains("\"url\""),
            "{text}"
        );
    }
}
