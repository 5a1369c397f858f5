//! The grammar end to end: every subcommand, bad and tricky input, and help.

use super::*;
use crate::domain::{Role, RunId, Status, TextError, Title, UserText};
use chrono::{NaiveDate, NaiveTime};

/// Severities as a typical team configures them.
struct Severities;

const CONFIGURED: [(&str, [&str; 2]); 4] = [
    ("sev1", ["p0", "critical"]),
    ("sev2", ["p1", "major"]),
    ("sev3", ["p2", "minor"]),
    ("sev4", ["p3", "low"]),
];

impl SeverityWords for Severities {
    fn resolve(&self, word: &str) -> Option<Severity> {
        CONFIGURED
            .iter()
            .find(|(name, aliases)| {
                name.eq_ignore_ascii_case(word)
                    || aliases.iter().any(|a| a.eq_ignore_ascii_case(word))
            })
            .map(|(name, _)| Severity::new(*name))
    }

    fn words(&self) -> Vec<String> {
        CONFIGURED
            .iter()
            .flat_map(|(name, aliases)| std::iter::once(name).chain(aliases))
            .map(|word| word.to_string())
            .collect()
    }
}

fn parsed(text: &str) -> Result<Command, ParseError> {
    parse(text, &Severities)
}

fn title(text: &str) -> Title {
    Title::parse(text).unwrap()
}

fn user_text(text: &str) -> UserText {
    UserText::parse("text", text).unwrap()
}

fn sev(name: &str) -> Severity {
    Severity::new(name)
}

fn inc() -> Option<IncidentId> {
    Some("INC-20261123-001".parse().unwrap())
}

fn person(name: &str) -> UserRef {
    UserRef::Person(name.to_string())
}

fn slack_user(id: &str) -> UserRef {
    UserRef::Id(UserId::new(id))
}

fn params(pairs: &[(&str, &str)]) -> Params {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn declare(severity: Option<&str>, text: &str) -> Command {
    Command::Declare(Declare {
        severity: severity.map(sev),
        title: title(text),
        services: Vec::new(),
        drill: false,
        private: false,
    })
}

/// What a row expects: the exact command, or an error whose message has every fragment.
enum Expect {
    Is(Command),
    Fails(&'static [&'static str]),
}

use Expect::{Fails, Is};

fn check(rows: Vec<(String, Expect)>) {
    for (input, expect) in rows {
        match (parsed(&input), expect) {
            (Ok(got), Is(want)) => assert_eq!(got, want, "input {input:?}"),
            (Err(error), Fails(fragments)) => {
                let message = error.to_string();
                for fragment in fragments {
                    assert!(
                        message.contains(fragment),
                        "input {input:?}: message {message:?} lacks {fragment:?}"
                    );
                }
            }
            (Ok(got), Fails(_)) => panic!("input {input:?} should fail, parsed as {got:?}"),
            (Err(error), Is(want)) => panic!("input {input:?} should be {want:?}, failed: {error}"),
        }
    }
}

fn rows(rows: Vec<(&str, Expect)>) -> Vec<(String, Expect)> {
    rows.into_iter()
        .map(|(input, expect)| (input.to_string(), expect))
        .collect()
}

#[test]
fn every_subcommand_in_a_war_room() {
    check(rows(vec![
        (
            "sev1 checkout is down",
            Is(declare(Some("sev1"), "checkout is down")),
        ),
        (
            "/incident p0 checkout is down",
            Is(declare(Some("sev1"), "checkout is down")),
        ),
        (
            "declare search is empty",
            Is(declare(None, "search is empty")),
        ),
        (
            "declare major search is empty",
            Is(declare(Some("sev2"), "search is empty")),
        ),
        (
            "sev2 payments slow service=payments --drill service=checkout service=payments",
            Is(Command::Declare(Declare {
                severity: Some(sev("sev2")),
                title: title("payments slow"),
                services: vec!["payments".to_string(), "checkout".to_string()],
                drill: true,
                private: false,
            })),
        ),
        (
            "sev3 latency high region=eu",
            Is(declare(Some("sev3"), "latency high region=eu")),
        ),
        (
            "--drill sev4 game day",
            Is(Command::Declare(Declare {
                severity: Some(sev("sev4")),
                title: title("game day"),
                services: Vec::new(),
                drill: true,
                private: false,
            })),
        ),
        (
            "role commander @alice",
            Is(Command::AssignRole(AssignRole {
                incident: None,
                role: Role::Commander,
                user: person("alice"),
            })),
        ),
        (
            "role ic <@U024BE7LH|carol>",
            Is(Command::AssignRole(AssignRole {
                incident: None,
                role: Role::Commander,
                user: slack_user("U024BE7LH"),
            })),
        ),
        (
            "role tech <@!80351110224678912>",
            Is(Command::AssignRole(AssignRole {
                incident: None,
                role: Role::Technical,
                user: slack_user("80351110224678912"),
            })),
        ),
        (
            "role scribe <@U1|carol smith>",
            Is(Command::AssignRole(AssignRole {
                incident: None,
                role: Role::Scribe,
                user: slack_user("U1"),
            })),
        ),
        (
            "role comms dana",
            Is(Command::AssignRole(AssignRole {
                incident: None,
                role: Role::Comms,
                user: person("dana"),
            })),
        ),
        ("ack", Is(Command::Ack(OnIncident { incident: None }))),
        (
            "status identified bad deploy eta=15m of checkout-api",
            Is(Command::SetStatus(SetStatus {
                incident: None,
                status: Status::Identified,
                text: Some(user_text("bad deploy of checkout-api")),
                params: params(&[("eta", "15m")]),
            })),
        ),
        (
            "status mitigated",
            Is(Command::SetStatus(SetStatus {
                incident: None,
                status: Status::Monitoring,
                text: None,
                params: Vec::new(),
            })),
        ),
        (
            "update error rate < 1% https://grafana.example/d?x=1 region=eu",
            Is(Command::PostUpdate(PostUpdate {
                incident: None,
                text: user_text("error rate < 1% https://grafana.example/d?x=1"),
                params: params(&[("region", "eu")]),
            })),
        ),
        (
            "severity critical",
            Is(Command::ChangeSeverity(ChangeSeverity {
                incident: None,
                severity: sev("sev1"),
            })),
        ),
        (
            "note 14:05 rollback started",
            Is(Command::AddNote(AddNote {
                incident: None,
                at: NaiveTime::from_hms_opt(14, 5, 0),
                text: user_text("rollback started"),
            })),
        ),
        (
            "note 3:1 odds it is DNS",
            Is(Command::AddNote(AddNote {
                incident: None,
                at: None,
                text: user_text("3:1 odds it is DNS"),
            })),
        ),
        (
            "run scale-up service=checkout replicas=12",
            Is(Command::RunAction(RunAction {
                incident: None,
                name: "scale-up".to_string(),
                params: params(&[("service", "checkout"), ("replicas", "12")]),
            })),
        ),
        (
            "approve #7",
            Is(Command::Approve(RunRef {
                incident: None,
                run: RunId::new(7),
            })),
        ),
        (
            "cancel 7",
            Is(Command::Cancel(RunRef {
                incident: None,
                run: RunId::new(7),
            })),
        ),
        (
            "actions",
            Is(Command::ListActions(OnIncident { incident: None })),
        ),
        (
            "followup add a latency alert @alice due:2026-12-01",
            Is(Command::AddFollowUp(AddFollowUp {
                incident: None,
                text: user_text("add a latency alert"),
                owner: Some(person("alice")),
                due: NaiveDate::from_ymd_opt(2026, 12, 1),
            })),
        ),
        (
            "followup due:2026-12-01 ask @bob about the cache <@U9>",
            Is(Command::AddFollowUp(AddFollowUp {
                incident: None,
                text: user_text("ask @bob about the cache"),
                owner: Some(slack_user("U9")),
                due: NaiveDate::from_ymd_opt(2026, 12, 1),
            })),
        ),
        (
            "followup tell <!here> about the freeze",
            Is(Command::AddFollowUp(AddFollowUp {
                incident: None,
                text: user_text("tell <!here> about the freeze"),
                owner: None,
                due: None,
            })),
        ),
        (
            "followup done 2",
            Is(Command::CompleteFollowUp(CompleteFollowUp {
                incident: None,
                number: 2,
            })),
        ),
        (
            "followups",
            Is(Command::ListFollowUps(OnIncident { incident: None })),
        ),
        (
            "resolve",
            Is(Command::Resolve(Resolve {
                incident: None,
                summary: None,
            })),
        ),
        (
            "resolve config rolled back",
            Is(Command::Resolve(Resolve {
                incident: None,
                summary: Some(user_text("config rolled back")),
            })),
        ),
        (
            "postmortem",
            Is(Command::Postmortem(OnIncident { incident: None })),
        ),
        (
            "timeline",
            Is(Command::Timeline(OnIncident { incident: None })),
        ),
        ("list", Is(Command::List(List))),
        ("stats", Is(Command::Stats(Stats { days: 30 }))),
        ("stats 7D", Is(Command::Stats(Stats { days: 7 }))),
        ("stats 90d", Is(Command::Stats(Stats { days: 90 }))),
        ("help", Is(Command::Help(Help { topic: None }))),
        (
            "help FollowUp",
            Is(Command::Help(Help {
                topic: Some("followup".to_string()),
            })),
        ),
        (
            "  SEV1    Checkout \t  DOWN  ",
            Is(declare(Some("sev1"), "Checkout DOWN")),
        ),
        (
            "STATUS Identified",
            Is(Command::SetStatus(SetStatus {
                incident: None,
                status: Status::Identified,
                text: None,
                params: Vec::new(),
            })),
        ),
    ]));
}

#[test]
fn every_subcommand_naming_its_incident() {
    check(rows(vec![
        (
            "role INC-20261123-001 commander @alice",
            Is(Command::AssignRole(AssignRole {
                incident: inc(),
                role: Role::Commander,
                user: person("alice"),
            })),
        ),
        (
            "ack inc-20261123-001",
            Is(Command::Ack(OnIncident { incident: inc() })),
        ),
        (
            "status INC-20261123-001 identified",
            Is(Command::SetStatus(SetStatus {
                incident: inc(),
                status: Status::Identified,
                text: None,
                params: Vec::new(),
            })),
        ),
        (
            "update INC-20261123-001 failover running",
            Is(Command::PostUpdate(PostUpdate {
                incident: inc(),
                text: user_text("failover running"),
                params: Vec::new(),
            })),
        ),
        (
            "severity INC-20261123-001 p1",
            Is(Command::ChangeSeverity(ChangeSeverity {
                incident: inc(),
                severity: sev("sev2"),
            })),
        ),
        (
            "note INC-20261123-001 09:30 vendor called",
            Is(Command::AddNote(AddNote {
                incident: inc(),
                at: NaiveTime::from_hms_opt(9, 30, 0),
                text: user_text("vendor called"),
            })),
        ),
        (
            "run INC-20261123-001 failover",
            Is(Command::RunAction(RunAction {
                incident: inc(),
                name: "failover".to_string(),
                params: Vec::new(),
            })),
        ),
        (
            "approve INC-20261123-001 12",
            Is(Command::Approve(RunRef {
                incident: inc(),
                run: RunId::new(12),
            })),
        ),
        (
            "cancel INC-20261123-001 12",
            Is(Command::Cancel(RunRef {
                incident: inc(),
                run: RunId::new(12),
            })),
        ),
        (
            "actions INC-20261123-001",
            Is(Command::ListActions(OnIncident { incident: inc() })),
        ),
        (
            "followup INC-20261123-001 rotate the keys",
            Is(Command::AddFollowUp(AddFollowUp {
                incident: inc(),
                text: user_text("rotate the keys"),
                owner: None,
                due: None,
            })),
        ),
        (
            "followup INC-20261123-001 done #3",
            Is(Command::CompleteFollowUp(CompleteFollowUp {
                incident: inc(),
                number: 3,
            })),
        ),
        (
            "followups INC-20261123-001",
            Is(Command::ListFollowUps(OnIncident { incident: inc() })),
        ),
        (
            "resolve INC-20261123-001",
            Is(Command::Resolve(Resolve {
                incident: inc(),
                summary: None,
            })),
        ),
        (
            "postmortem INC-20261123-001",
            Is(Command::Postmortem(OnIncident { incident: inc() })),
        ),
        (
            "timeline INC-20261123-001",
            Is(Command::Timeline(OnIncident { incident: inc() })),
        ),
        // A declared title may start with an id: it is text there.
        (
            "sev2 INC-20261123-001 is back",
            Is(declare(Some("sev2"), "INC-20261123-001 is back")),
        ),
    ]));
}

#[test]
fn bad_and_tricky_input() {
    let long_title = format!("sev1 {}", "checkout ".repeat(1200));
    let long_word = format!("{} down", "a".repeat(5000));
    let long_note = format!("note {}", "z".repeat(4000));
    let mut cases = vec![
        (
            long_title,
            Fails(&[
                "The title is too long",
                "at most 200",
                "Usage: `/incident <sevN>",
            ]),
        ),
        (
            long_word,
            Fails(&["Unknown subcommand `aaaa", "…`", "/incident help"]),
        ),
        (long_note, Fails(&["The note is too long", "at most 3000"])),
    ];
    cases.extend(rows(vec![
        ("", Fails(&["The command is empty.", "/incident help"])),
        ("     ", Fails(&["The command is empty."])),
        ("\t\n \u{200B}\u{FEFF} ", Fails(&["The command is empty."])),
        ("/incident", Fails(&["The command is empty."])),
        (
            "🔥🔥🔥",
            Fails(&["Unknown subcommand `🔥🔥🔥`.", "/incident help"]),
        ),
        (
            "sev1 🔥 checkout 🔥 down",
            Is(declare(Some("sev1"), "🔥 checkout 🔥 down")),
        ),
        (
            "sev2 👩‍💻 team paged",
            Is(declare(Some("sev2"), "👩‍💻 team paged")),
        ),
        (
            "sev2 \u{202E}nwod tuokcehc\u{202C} المدفوعات متوقفة",
            Is(declare(
                Some("sev2"),
                "\u{202E}nwod tuokcehc\u{202C} المدفوعات متوقفة",
            )),
        ),
        (
            "sev1\u{200B}checkout down",
            Is(declare(Some("sev1"), "checkout down")),
        ),
        (
            "ack\u{200D}",
            Fails(&["Unknown subcommand", "did you mean `ack`?"]),
        ),
        (
            "sev1 check\u{7}out",
            Fails(&["The title contains a control character", "Usage:"]),
        ),
        (
            "note a\u{0}b",
            Fails(&[
                "The note contains a control character",
                "Usage: `/incident note",
            ]),
        ),
        (
            "ack\u{1b}[31m",
            Fails(&["Unknown subcommand `ack\u{FFFD}[31m`"]),
        ),
        ("ack `x`", Fails(&["Unexpected `'x'`."])),
        (
            "sev9 x",
            Fails(&[
                "Unknown severity `sev9`.",
                "`sev1` (p0, critical), `sev2` (p1, major)",
            ]),
        ),
        (
            "sevv1 checkout down",
            Fails(&["Unknown severity `sevv1` — did you mean `sev1`?"]),
        ),
        ("P7 db down", Fails(&["Unknown severity `P7`."])),
        (
            "crtical db down",
            Fails(&["Unknown severity `crtical` — did you mean `critical`?"]),
        ),
        (
            "declare sev7 db down",
            Fails(&["Unknown severity `sev7`", "Usage: `/incident <sevN>"]),
        ),
        (
            "sev1 <!channel> checkout down",
            Is(declare(Some("sev1"), "<!channel> checkout down")),
        ),
        (
            "sev2 @everyone <!here> payments",
            Is(declare(Some("sev2"), "@everyone <!here> payments")),
        ),
        (
            "update <!channel> stop deploying @here",
            Is(Command::PostUpdate(PostUpdate {
                incident: None,
                text: user_text("<!channel> stop deploying @here"),
                params: Vec::new(),
            })),
        ),
        (
            "sev3 '; DROP TABLE incidents; --",
            Is(declare(Some("sev3"), "'; DROP TABLE incidents; --")),
        ),
        (
            "note Robert'); DROP TABLE students;-- \" OR 1=1",
            Is(Command::AddNote(AddNote {
                incident: None,
                at: None,
                text: user_text("Robert'); DROP TABLE students;-- \" OR 1=1"),
            })),
        ),
        (
            "sev1 &lt;@U123&gt; typed &amp;lt; literally AT&amp;T &copy;",
            Is(declare(
                Some("sev1"),
                "<@U123> typed &lt; literally AT&T &copy;",
            )),
        ),
        ("role commander &lt;@U123&gt;", Fails(&["is not a person"])),
        (
            "role comander @x",
            Fails(&[
                "Unknown role `comander` — did you mean `commander`?",
                "Usage: `/incident role",
            ]),
        ),
        (
            "role commander",
            Fails(&[
                "Missing the person to assign",
                "<commander|technical|comms|scribe> <@user>",
            ]),
        ),
        (
            "role",
            Fails(&["Missing the role.", "Usage: `/incident role"]),
        ),
        (
            "role commander @everyone",
            Fails(&["`@everyone` is not a person"]),
        ),
        (
            "role commander <!channel>",
            Fails(&["`<!channel>` is not a person"]),
        ),
        (
            "role commander <@&123>",
            Fails(&["`<@&123>` is not a person"]),
        ),
        (
            "role scribe @alice @bob",
            Fails(&["Unexpected `@bob`.", "Usage: `/incident role"]),
        ),
        (
            "status",
            Fails(&[
                "Missing the status.",
                "<investigating|identified|monitoring|resolved>",
            ]),
        ),
        (
            "status fixed",
            Fails(&["Unknown status `fixed`.", "Usage: `/incident status"]),
        ),
        (
            "status idnetified db",
            Fails(&["Unknown status `idnetified` — did you mean `identified`?"]),
        ),
        ("status identified eta=", Fails(&["`eta=` needs a value"])),
        (
            "note 25:99 x",
            Fails(&[
                "`25:99` is not a time of day",
                "HH:MM",
                "Usage: `/incident note",
            ]),
        ),
        ("note 14:05", Fails(&["Missing the text of the note."])),
        (
            "followup x due:2026-13-45",
            Fails(&["`due:2026-13-45` is not a due date", "due:YYYY-MM-DD"]),
        ),
        ("followup x due:2026-02-30", Fails(&["is not a due date"])),
        (
            "followup x due:tomorrow",
            Fails(&["`due:tomorrow` is not a due date"]),
        ),
        (
            "followup x due:2026-12-01 DUE:2026-12-02",
            Fails(&["The due date is given twice."]),
        ),
        (
            "followup @alice due:2026-12-01",
            Fails(&["Missing what needs to be done."]),
        ),
        (
            "followup fix it <@&123>",
            Fails(&["`<@&123>` is not a person"]),
        ),
        (
            "followup done",
            Fails(&["Missing the number of the follow-up", "followup done <N>"]),
        ),
        ("followup done 0", Fails(&["`0` is not a follow-up number"])),
        (
            "followup done -1",
            Fails(&["`-1` is not a follow-up number"]),
        ),
        (
            "followup done 99999999999",
            Fails(&["is not a follow-up number"]),
        ),
        (
            "stats 12x",
            Fails(&[
                "`12x` is not a window (expected 7d, 30d or 90d)",
                "Usage: `/incident stats",
            ]),
        ),
        ("stats 30d 90d", Fails(&["Unexpected `90d`."])),
        (
            "ack INC-2026-001",
            Fails(&["`INC-2026-001` is not an incident id", "INC-YYYYMMDD-NNN"]),
        ),
        (
            "status inc-20261399-001 identified",
            Fails(&["`inc-20261399-001` is not an incident id"]),
        ),
        (
            "update inc- rollback",
            Fails(&["`inc-` is not an incident id"]),
        ),
        ("ack ab€x", Fails(&["Unexpected `ab€x`."])),
        (
            "ack INC-20261123-001 INC-20261123-002",
            Fails(&["Unexpected `INC-20261123-002`."]),
        ),
        (
            "list INC-20261123-001",
            Fails(&["Unexpected `INC-20261123-001`.", "Usage: `/incident list`"]),
        ),
        (
            "approve",
            Fails(&[
                "Missing the run to approve.",
                "Usage: `/incident approve <run>`",
            ]),
        ),
        (
            "cancel",
            Fails(&[
                "Missing the run to cancel.",
                "Usage: `/incident cancel <run>`",
            ]),
        ),
        ("approve 7 8", Fails(&["Unexpected `8`."])),
        (
            "approve $(reboot)",
            Fails(&["`$(reboot)` is not a valid run"]),
        ),
        (
            "cancel seven",
            Fails(&[
                "`seven` is not a valid run (expected its number, e.g. 7 or #7).",
                "Usage: `/incident cancel <run>`",
            ]),
        ),
        ("approve ##7", Fails(&["`##7` is not a valid run"])),
        (
            "note rehearsal --drill",
            Fails(&["`--drill` only applies to `/incident declare`."]),
        ),
        (
            "status identified —drill",
            Fails(&["`--drill` only applies to `/incident declare`."]),
        ),
        (
            "sev1 checkout down --dril",
            Fails(&["Unknown flag `--dril` — did you mean `--drill`?"]),
        ),
        (
            "sev1 checkout down --force",
            Fails(&["Unknown flag `--force`.", "[--drill]"]),
        ),
        (
            "sev3 failover practice —drill",
            Is(Command::Declare(Declare {
                severity: Some(sev("sev3")),
                title: title("failover practice"),
                services: Vec::new(),
                drill: true,
                private: false,
            })),
        ),
        (
            "note ran kubectl rollout undo --to-revision=3",
            Is(Command::AddNote(AddNote {
                incident: None,
                at: None,
                text: user_text("ran kubectl rollout undo --to-revision=3"),
            })),
        ),
        (
            "--help",
            Fails(&["Unknown subcommand `--help` — did you mean `help`?"]),
        ),
        (
            "stauts identified",
            Fails(&["Unknown subcommand `stauts` — did you mean `status`?"]),
        ),
        (
            "checkout is down",
            Fails(&["Unknown subcommand `checkout`.", "See `/incident help`"]),
        ),
        ("run", Fails(&["Missing the action or runbook to run."])),
        (
            "run restart now",
            Fails(&["Unexpected `now`.", "[key=value ...]"]),
        ),
        ("run restart region=", Fails(&["`region=` needs a value"])),
        (
            "run ../../etc/passwd",
            Fails(&["is not a valid action name"]),
        ),
        (
            "sev1 db down service=",
            Fails(&["`service=` needs a value"]),
        ),
        (
            "sev1 db down service=check/out",
            Fails(&["`check/out` is not a valid service name"]),
        ),
        (
            "help stauts",
            Fails(&[
                "No help on `stauts` — did you mean `status`?",
                "Usage: `/incident help",
            ]),
        ),
        ("help status extra", Fails(&["Unexpected `extra`."])),
        ("list all", Fails(&["Unexpected `all`."])),
        (
            "sev1",
            Fails(&["Missing a title.", "Usage: `/incident <sevN> <title>"]),
        ),
        ("declare", Fails(&["Missing a title."])),
        (
            "sev1 service=checkout --drill",
            Fails(&["Missing a title."]),
        ),
        ("update", Fails(&["Missing the text of the update."])),
        ("update eta=5m", Fails(&["Missing the text of the update."])),
        (
            "severity",
            Fails(&[
                "Missing the new severity.",
                "Usage: `/incident severity <sevN>`",
            ]),
        ),
        (
            "severity sev5",
            Fails(&["Unknown severity `sev5`.", "Severities: `sev1`"]),
        ),
        ("severity crtical", Fails(&["did you mean `critical`?"])),
        ("severity sev1 now", Fails(&["Unexpected `now`."])),
    ]));
    assert!(cases.len() >= 45, "only {} cases", cases.len());
    check(cases);
}

#[test]
fn a_ten_kilobyte_title_is_too_long_for_the_title() {
    let error = parsed(&format!("sev1 {}", "x".repeat(10_000))).unwrap_err();
    assert_eq!(
        error.kind,
        ErrorKind::Text(TextError::TooLong {
            what: "the title",
            chars: 10_000,
            max: Title::MAX_CHARS
        })
    );
    assert!(
        error.to_string().len() < 400,
        "the error echoes too much: {error}"
    );
}

#[test]
fn errors_echo_long_words_only_in_part() {
    let error = parsed(&format!("ack {}", "y".repeat(10_000))).unwrap_err();
    assert!(error.to_string().len() < 300, "{error}");
}

#[test]
fn slack_entities_decode_in_one_pass() {
    assert_eq!(decode_slack_text("a &amp; b &lt;c&gt;"), "a & b <c>");
    assert_eq!(decode_slack_text("&amp;lt;"), "&lt;");
    assert_eq!(decode_slack_text("&&amp;&"), "&&&");
    assert_eq!(decode_slack_text("&quot; &lt"), "&quot; &lt");
    assert_eq!(decode_slack_text("€&gt;€"), "€>€");
    assert_eq!(decode_slack_text(""), "");
}

#[test]
fn params_are_decoded_and_keys_must_be_lowercase_words() {
    check(rows(vec![(
        "update all good note=a&amp;b Region=eu 9x=1",
        Is(Command::PostUpdate(PostUpdate {
            incident: None,
            text: user_text("all good Region=eu 9x=1"),
            params: params(&[("note", "a&b")]),
        })),
    )]));
}

#[test]
fn a_quoted_value_keeps_its_words() {
    check(rows(vec![
        (
            "status identified cause=\"bad deploy\" rolled back eta=15m",
            Is(Command::SetStatus(SetStatus {
                incident: None,
                status: Status::Identified,
                text: Some(user_text("rolled back")),
                params: params(&[("cause", "bad deploy"), ("eta", "15m")]),
            })),
        ),
        (
            "update cause=\u{201c}a b c\u{201d} done",
            Is(Command::PostUpdate(PostUpdate {
                incident: None,
                text: user_text("done"),
                params: params(&[("cause", "a b c")]),
            })),
        ),
        (
            "update note=\"never closed all good",
            Is(Command::PostUpdate(PostUpdate {
                incident: None,
                text: user_text("closed all good"),
                params: params(&[("note", "\"never")]),
            })),
        ),
    ]));
}

#[test]
fn every_help_example_parses() {
    for sub in specs() {
        assert!(!sub.examples.is_empty(), "{} has no examples", sub.name());
        assert!(!sub.usage.is_empty(), "{} has no usage", sub.name());
        assert!(!sub.summary.is_empty(), "{} has no summary", sub.name());
        assert!(!sub.help.is_empty(), "{} has no help", sub.name());
        for example in sub.examples {
            if let Err(error) = parsed(example) {
                panic!("example {example:?} of {} fails: {error}", sub.name());
            }
        }
        for usage in sub.usage {
            assert!(usage.starts_with("/incident "), "{usage}");
        }
    }
}

#[test]
fn every_command_is_reachable_from_help_and_help_names_only_commands() {
    let overview = help(None, &Severities).unwrap();
    for sub in Subcommand::ALL {
        let entry = sub.spec();
        assert!(
            Subcommand::typed().any(|typed| typed == entry.subcommand),
            "{}'s help entry is not listed",
            sub.name()
        );
        assert!(
            overview.contains(&format!("`/incident {}", entry.name())),
            "the overview does not show {}",
            entry.name()
        );
        assert!(
            help(Some(entry.name()), &Severities).is_ok(),
            "{}",
            sub.name()
        );
        let shown = entry
            .examples
            .iter()
            .filter_map(|example| parsed(example).ok())
            .any(|command| command.subcommand() == sub);
        assert!(shown, "no example in help produces {}", sub.name());
    }
    for entry in specs() {
        assert_eq!(Subcommand::named(entry.name()), Some(entry.subcommand));
        for example in entry.examples {
            let command = parsed(example).unwrap();
            assert!(
                std::ptr::eq(command.subcommand().spec(), entry),
                "{example:?} under `{}` is a {} command",
                entry.name(),
                command.name()
            );
        }
    }
}

#[test]
fn usage_lists_every_role_and_status() {
    for role in Role::ALL {
        assert!(
            role::ROLE.usage.iter().any(|u| u.contains(role.as_str())),
            "{role}"
        );
    }
    for status in Status::ALL {
        assert!(
            status::STATUS
                .usage
                .iter()
                .any(|u| u.contains(status.as_str())),
            "{status}"
        );
    }
}

#[test]
fn overview_lists_every_subcommand_and_the_severities() {
    let overview = help(None, &Severities).unwrap();
    for sub in specs() {
        for usage in sub.usage {
            assert!(overview.contains(usage), "overview lacks {usage}");
        }
        assert!(
            overview.contains(sub.summary),
            "overview lacks {}",
            sub.summary
        );
    }
    assert!(overview.contains(
        "`sev1` (p0, critical), `sev2` (p1, major), `sev3` (p2, minor), `sev4` (p3, low)"
    ));
    assert_eq!(help(Some("   "), &Severities).unwrap(), overview);
}

#[test]
fn each_topic_explains_its_subcommand() {
    for sub in specs() {
        let text = help(Some(&sub.name().to_uppercase()), &Severities).unwrap();
        assert!(text.contains(sub.help), "{}", sub.name());
        for example in sub.examples {
            assert!(text.contains(example), "{} lacks {example}", sub.name());
        }
        assert_eq!(
            text.contains("INC-20261123-001 …"),
            sub.names_incident,
            "{}",
            sub.name()
        );
    }
    assert!(
        help(Some("declare"), &Severities)
            .unwrap()
            .contains("`sev4` (p3, low)")
    );
    assert!(
        help(Some("severity"), &Severities)
            .unwrap()
            .contains("`sev4` (p3, low)")
    );
}

#[test]
fn an_unknown_topic_suggests_the_nearest() {
    let error = help(Some("folowups"), &Severities).unwrap_err().to_string();
    assert!(
        error.contains("No help on `folowups` — did you mean `followups`?"),
        "{error}"
    );
    assert!(error.contains("Usage: `/incident help [topic]`"), "{error}");
    let error = help(Some("zzzzzz"), &Severities).unwrap_err().to_string();
    assert!(error.starts_with("No help on `zzzzzz`."), "{error}");
}

/// xorshift64*: deterministic, good enough to wander the grammar.
struct Prng(u64);

impl Prng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        let at = usize::try_from(self.next() % items.len() as u64).unwrap();
        items[at]
    }
}

#[test]
fn random_input_never_panics() {
    let fragments: Vec<&str> = Subcommand::typed()
        .map(Subcommand::name)
        .chain([
            "sev1",
            "p0",
            "critical",
            "sev9",
            "declare",
            "done",
            "INC-",
            "INC-20261123-001",
            "inc-2026",
            "<@",
            "<@!",
            "<@U1|",
            ">",
            "<",
            "<!here>",
            "@",
            "@alice",
            "&amp;",
            "&lt;",
            "&gt;",
            "&",
            "=",
            "k=",
            "service=",
            "due:",
            "due:2026-12-01",
            "--",
            "--drill",
            "—",
            "14:05",
            "25:99",
            ":",
            "#",
            "7d",
            "0",
            "4294967296",
            " ",
            "  ",
            "\t",
            "\n",
            "\u{200B}",
            "\u{200D}",
            "\u{202E}",
            "\u{FEFF}",
            "\u{0}",
            "\u{7f}",
            "é",
            "€",
            "🔥",
            "👩‍💻",
            "ß",
            "İ",
            "ﬃ",
            "\u{10FFFF}",
            "'",
            "\"",
            "`",
            "\\",
            "|",
            "x",
        ])
        .collect();
    let mut rng = Prng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..5000 {
        let len = rng.next() % 12;
        let text: String = (0..len).map(|_| rng.pick(&fragments)).collect();
        let _ = parsed(&text);
        let _ = help(Some(&text), &Severities);
        let _ = decode_slack_text(&text);
    }
}
