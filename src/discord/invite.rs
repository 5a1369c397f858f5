//! `warroom discord-invite`: the URL that adds the bot to a server, with exactly
//! the scopes and permissions it uses.
//!
//! Owns: the permission bits and why each is needed. Must not: call Discord.

/// `bot` joins the server as a member; `applications.commands` lets it register `/incident`.
pub const SCOPES: &str = "bot applications.commands";

/// Each permission the bot uses, with its bit and what needs it.
pub const PERMISSIONS: [(&str, u64, &str); 9] = [
    (
        "VIEW_CHANNEL",
        1 << 10,
        "see the incidents and announce channels",
    ),
    ("SEND_MESSAGES", 1 << 11, "post announcements"),
    (
        "EMBED_LINKS",
        1 << 14,
        "show the incident summary as an embed",
    ),
    (
        "ATTACH_FILES",
        1 << 15,
        "attach text too long for one message",
    ),
    (
        "READ_MESSAGE_HISTORY",
        1 << 16,
        "read a message given 📌 or pinned, for the timeline",
    ),
    (
        "CREATE_PUBLIC_THREADS",
        1 << 35,
        "open each war room as a thread",
    ),
    (
        "CREATE_PRIVATE_THREADS",
        1 << 36,
        "open a private incident's war room as a private thread",
    ),
    (
        "SEND_MESSAGES_IN_THREADS",
        1 << 38,
        "post in war rooms and add people to them",
    ),
    ("PIN_MESSAGES", 1 << 51, "pin the incident summary"),
];

/// The permission integer: every bit in [`PERMISSIONS`].
pub fn permissions() -> u64 {
    PERMISSIONS.iter().fold(0, |all, (_, bit, _)| all | bit)
}

/// The OAuth2 authorisation URL for `application_id`, on Discord's own site
/// (`DISCORD_API_URL` is where the bot calls the API, not where people sign in).
pub fn url(application_id: &str) -> String {
    format!(
        "https://discord.com/oauth2/authorize?client_id={application_id}&scope={}&permissions={}",
        SCOPES.replace(' ', "%20"),
        permissions()
    )
}

/// What `warroom discord-invite` prints: the URL, then what each permission is for.
pub fn explained(application_id: &str) -> String {
    let mut out = format!(
        "{}\n\nScopes: {SCOPES}\nPermissions ({}):",
        url(application_id),
        permissions()
    );
    for (name, _, why) in PERMISSIONS {
        out.push_str(&format!("\n  {name}: {why}"));
    }
    out.push_str(
        "\nAlso switch on the Message Content intent (Bot → Privileged Gateway Intents): \
         without it, messages given 📌 reach the timeline empty.",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_carries_exactly_these_bits() {
        assert_eq!(permissions(), 2_252_177_770_925_056);
        assert_eq!(
            url("42"),
            "https://discord.com/oauth2/authorize?client_id=42&scope=bot%20applications.commands&permissions=2252177770925056"
        );
        assert!(explained("42").contains("PIN_MESSAGES"));
    }
}
