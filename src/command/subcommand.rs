//! The one list of subcommands: what the parser accepts as a first word, what help
//! lists, what config keeps out of severity names, what Discord registers and what
//! metrics count commands by. Every one of those reads [`Subcommand::ALL`].

use super::{
    Spec, ack, actions, approve, cancel, declare, followup, followups, help, list, note,
    postmortem, resolve, role, run, severity, snooze, stats, status, summary, timeline, update,
};

/// Every kind of command, in the order help lists them. `FollowUpDone` is typed as
/// `followup done`, a form of `followup`; every other one is a word of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subcommand {
    Declare,
    Role,
    Ack,
    Status,
    Update,
    Snooze,
    Severity,
    Note,
    Run,
    Approve,
    Cancel,
    Actions,
    FollowUp,
    FollowUpDone,
    FollowUps,
    Resolve,
    Postmortem,
    Timeline,
    Summary,
    List,
    Stats,
    Help,
}

impl Subcommand {
    pub const ALL: [Subcommand; 22] = [
        Subcommand::Declare,
        Subcommand::Role,
        Subcommand::Ack,
        Subcommand::Status,
        Subcommand::Update,
        Subcommand::Snooze,
        Subcommand::Severity,
        Subcommand::Note,
        Subcommand::Run,
        Subcommand::Approve,
        Subcommand::Cancel,
        Subcommand::Actions,
        Subcommand::FollowUp,
        Subcommand::FollowUpDone,
        Subcommand::FollowUps,
        Subcommand::Resolve,
        Subcommand::Postmortem,
        Subcommand::Timeline,
        Subcommand::Summary,
        Subcommand::List,
        Subcommand::Stats,
        Subcommand::Help,
    ];

    /// The word typed after `/incident`, and the `kind` label of metrics.
    pub fn name(self) -> &'static str {
        match self {
            Subcommand::Declare => "declare",
            Subcommand::Role => "role",
            Subcommand::Ack => "ack",
            Subcommand::Status => "status",
            Subcommand::Update => "update",
            Subcommand::Snooze => "snooze",
            Subcommand::Severity => "severity",
            Subcommand::Note => "note",
            Subcommand::Run => "run",
            Subcommand::Approve => "approve",
            Subcommand::Cancel => "cancel",
            Subcommand::Actions => "actions",
            Subcommand::FollowUp => "followup",
            Subcommand::FollowUpDone => "followup_done",
            Subcommand::FollowUps => "followups",
            Subcommand::Resolve => "resolve",
            Subcommand::Postmortem => "postmortem",
            Subcommand::Timeline => "timeline",
            Subcommand::Summary => "summary",
            Subcommand::List => "list",
            Subcommand::Stats => "stats",
            Subcommand::Help => "help",
        }
    }

    /// How it is typed and explained. A form of another subcommand shares that one's.
    pub(super) fn spec(self) -> &'static Spec {
        match self {
            Subcommand::Declare => &declare::DECLARE,
            Subcommand::Role => &role::ROLE,
            Subcommand::Ack => &ack::ACK,
            Subcommand::Status => &status::STATUS,
            Subcommand::Update => &update::UPDATE,
            Subcommand::Snooze => &snooze::SNOOZE,
            Subcommand::Severity => &severity::SEVERITY,
            Subcommand::Note => &note::NOTE,
            Subcommand::Run => &run::RUN,
            Subcommand::Approve => &approve::APPROVE,
            Subcommand::Cancel => &cancel::CANCEL,
            Subcommand::Actions => &actions::ACTIONS,
            Subcommand::FollowUp | Subcommand::FollowUpDone => &followup::FOLLOWUP,
            Subcommand::FollowUps => &followups::FOLLOWUPS,
            Subcommand::Resolve => &resolve::RESOLVE,
            Subcommand::Postmortem => &postmortem::POSTMORTEM,
            Subcommand::Timeline => &timeline::TIMELINE,
            Subcommand::Summary => &summary::SUMMARY,
            Subcommand::List => &list::LIST,
            Subcommand::Stats => &stats::STATS,
            Subcommand::Help => &help::HELP,
        }
    }

    /// Whether its name is a first word of its own rather than a form of another.
    fn is_typed(self) -> bool {
        self.spec().subcommand == self
    }

    /// The subcommands typed as a first word, in the order help lists them.
    pub fn typed() -> impl Iterator<Item = Subcommand> {
        Subcommand::ALL.into_iter().filter(|sub| sub.is_typed())
    }

    /// The subcommand a first word names, ignoring case.
    pub fn named(word: &str) -> Option<Subcommand> {
        Subcommand::typed().find(|sub| sub.name().eq_ignore_ascii_case(word))
    }

    /// Whether it acts on one incident, which may then be named right after it.
    pub fn names_incident(self) -> bool {
        self.spec().names_incident
    }
}
