//! Interactions as Discord sends them, read leniently: only the fields warroom
//! uses, every one optional where Discord may leave it out, so a new field or a
//! missing one never loses a command. (A missing `Option` field reads as `None`
//! without being told; a missing list needs `#[serde(default)]`.)
//!
//! Owns: these wire shapes, shared by the gateway and the HTTP endpoint (the
//! gateway's typed interaction is written back to its JSON and read through them
//! too, so both ways in take one path). Must not: interpret them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Interaction types.
pub const PING: u8 = 1;
pub const APPLICATION_COMMAND: u8 = 2;
pub const MESSAGE_COMPONENT: u8 = 3;
pub const AUTOCOMPLETE: u8 = 4;

/// Option types used by the `/incident` command.
pub const SUB_COMMAND: u8 = 1;
pub const STRING: u8 = 3;
pub const INTEGER: u8 = 4;
pub const BOOLEAN: u8 = 5;
pub const USER: u8 = 6;

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Interaction {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: u8,
    pub token: String,
    pub data: Option<InteractionData>,
    pub channel_id: Option<String>,
    pub channel: Option<Channel>,
    /// In a guild.
    pub member: Option<Member>,
    /// In a DM.
    pub user: Option<User>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct InteractionData {
    pub name: Option<String>,
    #[serde(default)]
    pub options: Vec<CommandOption>,
    /// Message components.
    pub custom_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct CommandOption {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: u8,
    pub value: Option<Value>,
    #[serde(default)]
    pub options: Vec<CommandOption>,
    /// The option being typed, in an autocomplete request.
    #[serde(default)]
    pub focused: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Channel {
    pub id: String,
    /// Interactions carry the channel's (or thread's) name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Member {
    pub user: Option<User>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct User {
    pub id: String,
}

impl Interaction {
    /// Who clicked or typed.
    pub fn user_id(&self) -> Option<&str> {
        self.member
            .as_ref()
            .and_then(|member| member.user.as_ref())
            .or(self.user.as_ref())
            .map(|user| user.id.as_str())
    }

    /// The channel (or thread) it happened in.
    pub fn channel_id(&self) -> Option<&str> {
        self.channel_id
            .as_deref()
            .or(self.channel.as_ref().map(|channel| channel.id.as_str()))
    }
}

impl CommandOption {
    /// A string value; numbers and booleans as written.
    pub fn text(&self) -> Option<String> {
        match self.value.as_ref()? {
            Value::String(text) => Some(text.clone()),
            Value::Number(number) => Some(number.to_string()),
            Value::Bool(flag) => Some(flag.to_string()),
            _ => None,
        }
    }
}
