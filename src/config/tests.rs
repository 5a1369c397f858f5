use super::*;

const SHIPPED: &str = include_str!("../../config/warroom.toml");

/// A small valid config; tests add or replace pieces to break one thing at a time.
const BASE: &str = r#"
[bot]
public_url = "https://warroom.test"

[[severity]]
name = "sev1"
aliases = ["p0"]
respond_within = "15m"
escalate = [{ after = "30m", to = "level2" }]

[[severity]]
name = "sev2"
respond_within = "30m"

[people.alice]
slack = "U0ALICE001"
discord = "100000000000000001"

[people.erin]
slack = "U0ERIN0005"

[levels]
level2 = ["erin"]

[phrases]
investigating = "Looking at {service}."
identified = "Found it: {cause}."
monitoring = "Watching."
resolved = "Fixed."
"#;

fn problems(text: &str) -> ConfigError {
    match Config::from_toml_str(text) {
        Ok(_) => panic!("expected problems"),
        Err(e) => e,
    }
}

/// Asserts a problem at `path` whose message contains `needle`.
fn assert_problem(error: &ConfigError, path: &str, needle: &str) {
    assert!(
        error
            .problems
            .iter()
            .any(|p| p.path == path && p.message.contains(needle)),
        "no problem at `{path}` containing `{needle}` in:\n{error}"
    );
}

/// Asserts that `text` is rejected with, among any others, a problem at each
/// path whose message contains the needle; returns the error for further checks.
fn assert_problems(text: &str, expected: &[(&str, &str)]) -> ConfigError {
    let error = problems(text);
    for (path, needle) in expected {
        assert_problem(&error, path, needle);
    }
    error
}

fn with(extra: &str) -> String {
    format!("{BASE}\n{extra}")
}

#[test]
fn base_config_is_valid() {
    Config::from_toml_str(BASE).unwrap();
}

#[test]
fn shipped_config_validates() {
    let config = Config::from_toml_str(SHIPPED).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = config
        .severities()
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(names, ["sev1", "sev2", "sev3", "sev4"]);
    let sev1 = config.severity(&Severity::new("sev1")).unwrap();
    assert_eq!(sev1.label, "Critical");
    assert_eq!(sev1.respond_within, std::time::Duration::from_secs(15 * 60));
    assert_eq!(
        sev1.update_every,
        Some(std::time::Duration::from_secs(15 * 60))
    );
    assert!(sev1.page);
    assert_eq!(sev1.escalate.len(), 2);
    assert_eq!(sev1.escalate[1].to, "level3");
    let sev4 = config.severity(&Severity::new("sev4")).unwrap();
    assert_eq!(sev4.update_every, None);
    assert!(!sev4.page);
    assert_eq!(config.default_severity(), Some(Severity::new("sev3")));
    assert_eq!(config.resolve("CRITICAL"), Some(Severity::new("sev1")));
    assert_eq!(config.resolve("p3"), Some(Severity::new("sev4")));
    assert_eq!(config.timezone(), chrono_tz::UTC);
    assert_eq!(config.public_url(), "https://warroom.example.com");
    for status in crate::domain::Status::ALL {
        assert!(config.phrase(status.as_str()).is_some());
    }
    let runbook = config.runbook("full-recovery").unwrap();
    let steps: Vec<&str> = runbook.steps.iter().map(|s| s.action.as_str()).collect();
    assert_eq!(steps, ["recover-database", "recover-auth", "recover-api"]);
    assert_eq!(
        runbook.steps[0].fallback.as_deref(),
        Some("database-read-only")
    );
    let restart = config.action("restart-api").unwrap();
    assert_eq!(restart.approval, Some(Role::Commander));
    assert!(matches!(restart.kind, ActionKind::Http(_)));
    assert!(matches!(
        config.action("failover-db").unwrap().kind,
        ActionKind::Program(_)
    ));
    assert!(matches!(
        config.action("page-level2").unwrap().kind,
        ActionKind::Page(_)
    ));
    assert!(matches!(
        config.action("status-api-degraded").unwrap().kind,
        ActionKind::Status(_)
    ));
    assert_eq!(
        config.service("Database").unwrap().rpo,
        Some(std::time::Duration::from_secs(3600))
    );
    assert_eq!(config.slack().unwrap().mode, SlackMode::Http);
    assert!(config.discord().is_some());
    assert_eq!(
        config.status_page().unwrap().components,
        ["API", "Database", "Auth"]
    );
}

#[test]
fn shipped_config_documents_every_key() {
    // Each key is named in a comment, or the line right above it is a comment.
    let comments: String = SHIPPED
        .lines()
        .filter(|l| l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let mut previous = "";
    for line in SHIPPED.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some((key, _)) = line
            .split_once('=')
            .filter(|_| !line.starts_with(['#', '[']))
        {
            let key = key.trim();
            assert!(
                comments.contains(key) || previous.starts_with('#'),
                "`{key}` is not explained in a comment"
            );
        }
        previous = line;
    }
}

#[test]
fn many_problems_are_all_reported_with_their_paths() {
    let text = r#"
[bot]
public_url = "https://warroom.test"
timezone = "Mars/Olympus"
default_severity = "sev7"

[[severity]]
name = "sev1"
respond_within = "15 minutes-ish"
escalate = [{ after = "30m", to = "level9" }]

[[severity]]
name = "sev2"
aliases = ["SEV1"]
respond_within = "30m"

[[severity]]
name = "sev3"
respond_within = "2h"
update_evry = "2h"

[people.alice]
slack = "U0ALICE001"

[assign.sev9]
commander = "alice"

[assign.sev1]
commander = "zed"

[levels]
level2 = ["alice", "nobody"]

[phrases]
investigating = "Looking at {service}."
monitoring = "Watching { service }."
resolved = "Fixed."

[actions.restart-api]
kind = "http"
allowed_roles = ["commander", "captain"]

[slack]
mode = "websocket"
"#;
    let error = assert_problems(
        text,
        &[
            ("bot.timezone", "unknown time zone"),
            ("bot.default_severity", "unknown severity `sev7`"),
            (
                "severity[0].respond_within",
                "expected a duration like 90s, 15m, 2h",
            ),
            ("severity[0].escalate[0].to", "unknown level `level9`"),
            ("severity[1].aliases[0]", "already a name or alias of sev1"),
            (
                "severity[2].update_evry",
                "unknown key `update_evry` (did you mean `update_every`?)",
            ),
            ("assign.sev9", "unknown severity"),
            ("assign.sev1.commander", "unknown person `zed`"),
            ("levels.level2[1]", "unknown person `nobody`"),
            ("phrases.identified", "missing"),
            ("phrases.monitoring", "is not a placeholder"),
            ("actions.restart-api.url", "missing"),
            (
                "actions.restart-api.allowed_roles[1]",
                "unknown role `captain`",
            ),
            ("slack.mode", "expected http or socket"),
        ],
    );
    assert!(error.problems.len() >= 14, "{error}");

    let shown = error.to_string();
    let mut lines = shown.lines();
    assert_eq!(
        lines.next(),
        Some(format!("config: {} problems", error.problems.len()).as_str())
    );
    assert!(
        shown.contains("\nassign.sev9: unknown severity `sev9`"),
        "{shown}"
    );
    // Problems come in file order, each pointing at its line.
    let line_numbers: Vec<usize> = error.problems.iter().filter_map(|p| p.line).collect();
    assert_eq!(line_numbers.len(), error.problems.len(), "{shown}");
    assert!(line_numbers.windows(2).all(|w| w[0] <= w[1]), "{shown}");
    let timezone = error
        .problems
        .iter()
        .find(|p| p.path == "bot.timezone")
        .unwrap();
    assert_eq!(timezone.line, Some(4));
}

#[test]
fn syntax_errors_give_line_and_column() {
    let error = problems("[bot]\npublic_url = \"https://x\"\ntimezone = UTC\n");
    assert_eq!(error.problems.len(), 1);
    let message = &error.problems[0].message;
    assert!(message.contains("line 3, column"), "{message}");
}

#[test]
fn load_reads_a_file_and_names_it_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("warroom.toml");
    std::fs::write(&path, BASE.replace("\"15m\"", "\"15\"")).unwrap();
    let error = Config::load(&path).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with(&format!("{}: 1 problem\n", path.display())),
        "{error}"
    );
    assert_problem(&error, "severity[0].respond_within", "expected a duration");

    let missing = Config::load(&dir.path().join("nope.toml")).unwrap_err();
    assert!(
        missing.to_string().contains("cannot read the config file"),
        "{missing}"
    );

    std::fs::write(&path, BASE).unwrap();
    assert!(Config::load(&path).is_ok());
}

#[test]
fn unknown_sections_and_keys_are_errors() {
    assert_problems(
        &with("[bott]\nx = 1\n[people.bob]\nslak = \"U0BOB00002\"\n"),
        &[
            ("bott", "unknown section `bott` (did you mean `bot`?)"),
            ("people.bob.slak", "unknown key `slak`"),
        ],
    );
}

#[test]
fn durations_must_be_quoted_positive_humantime_strings() {
    assert_problems(
        &BASE.replace("respond_within = \"30m\"", "respond_within = 30"),
        &[("severity[1].respond_within", "(a quoted string)")],
    );
    assert_problems(
        &BASE.replace("respond_within = \"30m\"", "respond_within = \"0s\""),
        &[("severity[1].respond_within", "longer than zero")],
    );
    assert_problems(
        &BASE.replace("after = \"30m\"", "after = \"half an hour\""),
        &[(
            "severity[0].escalate[0].after",
            "expected a duration like 90s, 15m, 2h",
        )],
    );
}

#[test]
fn severity_words_must_be_unique_and_usable() {
    assert_problems(
        &BASE.replace("name = \"sev2\"", "name = \"P0\""),
        &[("severity[1].name", "already a name or alias of sev1")],
    );
    assert_problems(
        &BASE.replace("name = \"sev2\"", "name = \"status\""),
        &[("severity[1].name", "subcommand")],
    );
    assert_problems(
        &BASE.replace("aliases = [\"p0\"]", "aliases = [\"p 0\"]"),
        &[("severity[0].aliases[0]", "cannot be a severity word")],
    );
    assert_problems(
        &BASE.replace("aliases = [\"p0\"]", "aliases = [\"p0\", \"P0\"]"),
        &[("severity[0].aliases[1]", "listed twice")],
    );
    assert_problems(
        "[bot]\npublic_url = \"https://x\"\n[phrases]\n",
        &[("severity", "at least one")],
    );
}

#[test]
fn escalation_steps_go_forward_in_time() {
    let text = BASE.replace(
        "escalate = [{ after = \"30m\", to = \"level2\" }]",
        "escalate = [{ after = \"30m\", to = \"level2\" }, { after = \"10m\", to = \"level2\" }]",
    );
    assert_problems(
        &text,
        &[("severity[0].escalate[1].after", "increasing order")],
    );
}

#[test]
fn severity_that_failed_to_read_still_counts_as_known() {
    // A bad key in sev2 must not also make `assign.sev2` an unknown severity.
    let text = with("[assign.sev2]\ncommander = \"alice\"\n").replace(
        "respond_within = \"30m\"",
        "respond_within = \"30m\"\nlabl = \"Major\"",
    );
    let error = assert_problems(&text, &[("severity[1].labl", "unknown key")]);
    assert_eq!(error.problems.len(), 1, "{error}");
}

#[test]
fn assignments_resolve_aliases_and_order_by_role() {
    let config = Config::from_toml_str(&with(
        "[assign.P0]\nscribe = \"erin\"\ncommander = \"alice\"\n",
    ))
    .unwrap();
    assert_eq!(
        config.assignment(&Severity::new("sev1")),
        [(Role::Commander, "alice"), (Role::Scribe, "erin")]
    );
    assert!(config.assignment(&Severity::new("sev2")).is_empty());

    assert_problems(
        &with("[assign.sev1]\ncaptain = \"alice\"\n[assign.p0]\ncomms = \"erin\"\n"),
        &[
            ("assign.sev1.captain", "unknown role `captain`"),
            ("assign.sev1", "already assigned under assign.p0"),
        ],
    );
}

#[test]
fn people_ids_are_checked_and_unique() {
    assert_problems(
        &with("[people.bob]\nslack = \"U0ALICE001\"\ndiscord = \"bob#1234\"\nemail = \"bob\"\n"),
        &[
            ("people.bob.slack", "also the id of people.alice"),
            ("people.bob.discord", "not a Discord user id"),
            ("people.bob.email", "email"),
        ],
    );
    assert_problems(
        &with("[people.carol]\nslack = \"carol\"\n"),
        &[("people.carol.slack", "not a Slack user id")],
    );
    assert_problems(
        &with("[people.\"carol smith\"]\n"),
        &[("people.carol smith", "cannot be a person name")],
    );
}

#[test]
fn people_are_found_by_platform_id() {
    let config = Config::from_toml_str(BASE).unwrap();
    assert_eq!(
        config.person_id("alice", Platform::Slack),
        Some(UserId::new("U0ALICE001"))
    );
    assert_eq!(config.person_id("erin", Platform::Discord), None);
    assert_eq!(
        config.person_id("alice", Platform::Testing),
        Some(UserId::new("alice"))
    );
    assert_eq!(config.person_id("nobody", Platform::Slack), None);
    assert_eq!(
        config.person_by_id(Platform::Discord, &UserId::new("100000000000000001")),
        Some("alice")
    );
    assert_eq!(
        config.person_by_id(Platform::Slack, &UserId::new("U0NOBODY")),
        None
    );
    assert_eq!(
        config.person_by_id(Platform::Testing, &UserId::new("erin")),
        Some("erin")
    );
    assert_eq!(config.person("alice").unwrap().display_name(), "alice");
    assert_eq!(config.level("level2"), Some(&["erin".to_string()][..]));
    assert_eq!(config.level("level9"), None);
}

#[test]
fn levels_need_known_people() {
    assert_problems(
        &BASE.replace("level2 = [\"erin\"]", "level2 = [\"erni\"]\nlevel3 = []"),
        &[
            (
                "levels.level2[0]",
                "unknown person `erni` (did you mean `erin`?)",
            ),
            ("levels.level3", "at least one person"),
        ],
    );
}

#[test]
fn bot_section_is_checked() {
    assert_problems(
        &BASE.replace(
            "public_url = \"https://warroom.test\"",
            "public_url = \"warroom.test\"",
        ),
        &[("bot.public_url", "http")],
    );
    assert_problems(
        &BASE.replace("[bot]\npublic_url = \"https://warroom.test\"\n", ""),
        &[("bot", "missing section")],
    );
    let config = Config::from_toml_str(&BASE.replace(
        "public_url = \"https://warroom.test\"",
        "public_url = \"https://warroom.test/\"\ntimezone = \"Europe/Berlin\"\ndefault_severity = \"P0\"",
    ))
    .unwrap();
    assert_eq!(config.public_url(), "https://warroom.test");
    assert_eq!(config.timezone(), chrono_tz::Europe::Berlin);
    assert_eq!(config.default_severity(), Some(Severity::new("sev1")));
    assert_eq!(
        Config::from_toml_str(BASE).unwrap().default_severity(),
        None
    );
}

#[test]
fn services_are_unique() {
    let config =
        Config::from_toml_str(&with("[[service]]\nname = \"api\"\nrto = \"15m\"\n")).unwrap();
    assert_eq!(
        config.service("API").unwrap().rto,
        Some(std::time::Duration::from_secs(900))
    );
    assert_eq!(config.service("api").unwrap().rpo, None);
    assert_problems(
        &with("[[service]]\nname = \"api\"\n[[service]]\nname = \"API\"\nrpo = \"soon\"\n"),
        &[
            ("service[1].name", "defined twice"),
            ("service[1].rpo", "expected a duration"),
        ],
    );
}

#[test]
fn phrases_need_every_status_and_clean_placeholders() {
    assert_problems(
        &BASE.replace(
            "resolved = \"Fixed.\"",
            "resolved = \"Fixed {service.\"\nextra = \"}\"",
        ),
        &[
            ("phrases.resolved", "never closed"),
            ("phrases.extra", "without a matching"),
        ],
    );
    assert_problems(
        &BASE.replace("monitoring = \"Watching.\"\n", ""),
        &[("phrases.monitoring", "missing")],
    );
    let config = Config::from_toml_str(BASE).unwrap();
    assert_eq!(config.phrase("identified"), Some("Found it: {cause}."));
}

const ACTIONS_BASE: &str = r#"
[status_page]
title = "Status"
components = ["API"]

[actions.restart]
kind = "http"
url = "https://deploy.test/{region}/restart"
params = { region = { required = true, pattern = "[a-z]+-[0-9]" } }
"#;

#[test]
fn valid_actions_of_every_kind() {
    let text = with(&format!(
        "{ACTIONS_BASE}
[actions.failover]
kind = \"program\"
program = \"/opt/failover.sh\"
args = [\"--incident\", \"{{incident}}\"]
env = [\"AWS_REGION\"]
[actions.page-erin]
kind = \"page\"
target = \"erin\"
[actions.page-l2]
kind = \"page\"
target = \"level2\"
[actions.api-down]
kind = \"status\"
component = \"API\"
state = \"major_outage\"
"
    ));
    let config = Config::from_toml_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let restart = config.action("restart").unwrap();
    assert_eq!(restart.timeout, std::time::Duration::from_secs(30));
    assert_eq!(restart.approval, None);
    assert!(restart.allowed_roles.is_empty());
    let ActionKind::Http(http) = &restart.kind else {
        panic!("not http")
    };
    assert_eq!(http.method, "POST");
    let region = &restart.params["region"];
    assert!(region.accepts("eu-1"));
    assert!(
        !region.accepts("eu-1; rm -rf /"),
        "patterns match the whole value"
    );
    let ActionKind::Page(page) = &config.action("page-l2").unwrap().kind else {
        panic!("not page")
    };
    assert_eq!(page.target, PageTarget::Level("level2".into()));
    let ActionKind::Page(page) = &config.action("page-erin").unwrap().kind else {
        panic!("not page")
    };
    assert_eq!(page.target, PageTarget::Person("erin".into()));
    let ActionKind::Status(status) = &config.action("api-down").unwrap().kind else {
        panic!("not status")
    };
    assert_eq!(status.state, ComponentState::MajorOutage);
}

#[test]
fn action_roles_and_kinds_are_checked() {
    assert_problems(
        &with(&format!(
            "{ACTIONS_BASE}approval = \"boss\"\nallowed_roles = [\"commander\", \"ceo\"]\n[actions.x]\nkind = \"shell\"\n"
        )),
        &[
            ("actions.restart.approval", "unknown role `boss`"),
            ("actions.restart.allowed_roles[1]", "unknown role `ceo`"),
            ("actions.x.kind", "unknown kind `shell`"),
        ],
    );
    let config =
        Config::from_toml_str(&with(&format!("{ACTIONS_BASE}approval = \"technical\"\n"))).unwrap();
    assert_eq!(
        config.action("restart").unwrap().approval,
        Some(Role::Technical)
    );
}

#[test]
fn an_approval_expires_after_thirty_minutes_unless_the_action_says_otherwise() {
    let config =
        Config::from_toml_str(&with(&format!("{ACTIONS_BASE}approval = \"commander\"\n"))).unwrap();
    assert_eq!(
        config.action("restart").unwrap().approval_expires_after,
        std::time::Duration::from_secs(30 * 60)
    );
    let config = Config::from_toml_str(&with(&format!(
        "{ACTIONS_BASE}approval = \"commander\"\napproval_expires_after = \"2h\"\n"
    )))
    .unwrap();
    assert_eq!(
        config.action("restart").unwrap().approval_expires_after,
        std::time::Duration::from_secs(2 * 3600)
    );
    assert_problems(
        &with(&format!("{ACTIONS_BASE}approval_expires_after = \"10m\"\n")),
        &[(
            "actions.restart.approval_expires_after",
            "only actions that need an approval",
        )],
    );
    assert_problems(
        &with(&format!(
            "{ACTIONS_BASE}approval = \"commander\"\napproval_expires_after = \"soon\"\n"
        )),
        &[("actions.restart.approval_expires_after", "not a duration")],
    );
}

#[test]
fn http_actions_are_checked() {
    assert_problems(
        &with(
            "[actions.a]\nkind = \"http\"\nmethod = \"FETCH\"\nprogram = \"/bin/true\"\nsuccess_status = [200, 700]\n\
             header_env = { Authorization = \"SLACK_BOT_TOKEN\" }\n",
        ),
        &[
            ("actions.a.url", "missing"),
            ("actions.a.method", "unknown method `FETCH`"),
            ("actions.a.program", "belongs to program actions"),
            ("actions.a.success_status[1]", "not an HTTP status"),
            (
                "actions.a.header_env.Authorization",
                "warroom's own secrets",
            ),
        ],
    );
    assert_problems(
        &with("[actions.a]\nkind = \"http\"\nurl = \"ftp://x\"\n"),
        &[("actions.a.url", "http:// or https://")],
    );
}

#[test]
fn action_placeholders_must_be_declared_or_built_in() {
    assert_problems(
        &with(
            "[actions.a]\nkind = \"http\"\nurl = \"https://x/{regoin}\"\nparams = { region = {} }\n\
             headers = { X-Incident = \"{incident\" }\nbody = '{\"s\": \"{service}\", \"t\": \"{tilte}\"'\n",
        ),
        &[
            (
                "actions.a.url",
                "unknown placeholder `{regoin}` (did you mean `region`?)",
            ),
            ("actions.a.headers.X-Incident", "never closed"),
            ("actions.a.body", "never closed"),
        ],
    );
    assert_problems(
        &with("[actions.a]\nkind = \"http\"\nurl = \"https://x\"\nbody = '{\"t\": \"{tilte}\"}'\n"),
        &[(
            "actions.a.body",
            "unknown placeholder `{tilte}` (did you mean `title`?)",
        )],
    );
    assert_problems(
        &with(
            "[actions.a]\nkind = \"program\"\nprogram = \"/x\"\nargs = [\"{zone}\"]\nparams = { incident = {} }\n",
        ),
        &[
            ("actions.a.args[0]", "unknown placeholder `{zone}`"),
            ("actions.a.params.incident", "built in"),
        ],
    );
}

#[test]
fn params_are_checked() {
    assert_problems(
        &with(
            "[actions.a]\nkind = \"http\"\nurl = \"https://x\"\n\
             params = { r = { pattern = \"[a-\" }, s = { required = true, default = \"x\" }, t = { pattern = \"[0-9]+\", default = \"abc\" } }\n",
        ),
        &[
            ("actions.a.params.r.pattern", "invalid regex"),
            ("actions.a.params.s.required", "cannot be required"),
            ("actions.a.params.t.default", "does not match"),
        ],
    );
}

#[test]
fn program_actions_are_checked() {
    assert_problems(
        &with("[actions.a]\nkind = \"program\"\nurl = \"https://x\"\n"),
        &[
            ("actions.a.program", "missing"),
            ("actions.a.url", "belongs to http actions"),
        ],
    );
    assert_problems(
        &with("[actions.a]\nkind = \"program\"\nprogram = \"scripts/failover.sh\"\n"),
        &[("actions.a.program", "not an absolute path")],
    );
    assert_problems(
        &with(
            "[actions.a]\nkind = \"program\"\nprogram = \"/bin/bash\"\nargs = [\"-c\", \"x\"]\nenv = [\"DISCORD_TOKEN\", \"9BAD\"]\n",
        ),
        &[
            ("actions.a.program", "never run a shell"),
            ("actions.a.env[0]", "warroom's own secrets"),
            ("actions.a.env[1]", "not an environment variable name"),
        ],
    );
}

#[test]
fn page_and_status_actions_need_known_targets() {
    assert_problems(
        &with(
            "[actions.p]\nkind = \"page\"\ntarget = \"levl2\"\n[actions.q]\nkind = \"page\"\n\
             [actions.s]\nkind = \"status\"\ncomponent = \"API\"\nstate = \"down\"\n",
        ),
        &[
            (
                "actions.p.target",
                "unknown person or level `levl2` (did you mean `level2`?)",
            ),
            ("actions.q.target", "missing"),
            ("actions.s.component", "[status_page]"),
            ("actions.s.state", "unknown state `down`"),
        ],
    );
    assert_problems(
        &with(&format!(
            "{ACTIONS_BASE}[actions.s]\nkind = \"status\"\ncomponent = \"Billing\"\nstate = \"degraded\"\n"
        )),
        &[("actions.s.component", "unknown component `Billing`")],
    );
    let text = with("[actions.p]\nkind = \"page\"\ntarget = \"erin\"\n").replace(
        "level2 = [\"erin\"]",
        "level2 = [\"erin\"]\nerin = [\"alice\"]",
    );
    assert_problems(&text, &[("actions.p.target", "both a person and a level")]);
}

#[test]
fn runbooks_are_checked() {
    let text = with(&format!(
        "{ACTIONS_BASE}
[runbooks.recover]
steps = [\"restart\", {{ action = \"restart\", params = {{ region = \"eu-1\", zone = \"a\" }} }}, \"restrat\", \"other\", 7]
on_failure = {{ restart = \"nothing\", missing-step = \"restart\" }}
[runbooks.other]
steps = []
[runbooks.restart]
steps = [\"restart\"]
"
    ));
    assert_problems(
        &text,
        &[
            (
                "runbooks.recover.steps[1].params.zone",
                "has no param `zone`",
            ),
            (
                "runbooks.recover.steps[2]",
                "unknown action `restrat` (did you mean `restart`?)",
            ),
            ("runbooks.recover.steps[3]", "is a runbook"),
            ("runbooks.recover.steps[4]", "expected an action name"),
            (
                "runbooks.recover.on_failure.restart",
                "unknown action `nothing`",
            ),
            (
                "runbooks.recover.on_failure.missing-step",
                "not a step of this runbook",
            ),
            ("runbooks.other.steps", "at least one step"),
            ("runbooks.restart", "ambiguous"),
        ],
    );

    assert_problems(
        &with(&format!(
            "{ACTIONS_BASE}[runbooks.r]\nsteps = [{{ action = \"restart\", params = {{ region = \"EU\" }} }}]\n"
        )),
        &[("runbooks.r.steps[0].params.region", "does not match")],
    );

    let config = Config::from_toml_str(&with(&format!(
        "{ACTIONS_BASE}[runbooks.r]\nsteps = [{{ action = \"restart\", params = {{ region = \"eu-1\" }}, continue_on_failure = true }}]\n"
    )))
    .unwrap();
    let step = &config.runbook("r").unwrap().steps[0];
    assert!(step.continue_on_failure);
    assert_eq!(step.params["region"], "eu-1");
}

#[test]
fn platform_sections_are_checked() {
    assert_problems(
        &with(
            "[slack]\nmode = \"sockets\"\nchannel_prefix = \"INC!\"\n[discord]\nguild_id = \"abc\"\nincidents_channel = \"1\"\n",
        ),
        &[
            ("slack.mode", "unknown mode `sockets`"),
            ("slack.channel_prefix", "lower-case"),
            ("discord.guild_id", "not a Discord id"),
        ],
    );
    assert_problems(
        &with("[discord]\nguild_id = \"1\"\n"),
        &[("discord", "missing field `incidents_channel`")],
    );
    let config = Config::from_toml_str(&with("[slack]\n")).unwrap();
    let slack = config.slack().unwrap();
    assert_eq!(
        (slack.mode, slack.channel_prefix.as_str()),
        (SlackMode::Http, "inc")
    );
    assert!(config.discord().is_none());
}

#[test]
fn status_page_components_are_unique() {
    assert_problems(
        &with("[status_page]\ntitle = \"S\"\ncomponents = [\"API\", \"api\", \"\"]\n"),
        &[
            ("status_page.components[1]", "listed twice"),
            ("status_page.components[2]", "must not be empty"),
        ],
    );
}

#[test]
fn severity_words_come_from_config() {
    let config = Config::from_toml_str(BASE).unwrap();
    assert_eq!(config.words(), ["sev1", "p0", "sev2"]);
    assert_eq!(config.resolve("SEV2"), Some(Severity::new("sev2")));
    assert_eq!(config.resolve("p1"), None);
}

#[test]
fn an_unusable_severity_word_is_reported_once() {
    let text = with("[assign.status]\ncommander = \"alice\"\n")
        .replace("name = \"sev2\"", "name = \"status\"");
    let error = assert_problems(&text, &[("severity[1].name", "subcommand")]);
    assert_eq!(error.problems.len(), 1, "{error}");
}

#[test]
fn retention_defaults_when_left_out_and_reads_what_is_given() {
    use std::time::Duration;
    const DAY: u64 = 24 * 60 * 60;
    let config = Config::from_toml_str(BASE).unwrap();
    assert_eq!(config.retention(), RetentionConfig::default());
    assert_eq!(
        config.retention().processed_requests,
        Duration::from_secs(7 * DAY)
    );
    assert_eq!(
        config.retention().delivered_operations,
        Duration::from_secs(30 * DAY)
    );
    let config =
        Config::from_toml_str(&with("[retention]\nprocessed_requests = \"2d\"\n")).unwrap();
    assert_eq!(
        config.retention(),
        RetentionConfig {
            processed_requests: Duration::from_secs(2 * DAY),
            delivered_operations: Duration::from_secs(30 * DAY),
        }
    );
    let shipped = Config::from_toml_str(SHIPPED).unwrap();
    assert_eq!(shipped.retention(), RetentionConfig::default());
}

#[test]
fn retention_windows_are_checked() {
    let error = problems(&with(
        r#"
[retention]
processed_requests = "10m"
delivered_operations = "a month"
"#,
    ));
    assert_problem(
        &error,
        "retention.processed_requests",
        "must be at least 1h",
    );
    assert_problem(
        &error,
        "retention.delivered_operations",
        "`a month` is not a duration",
    );
    assert_eq!(error.problems.len(), 2, "{error}");
    let error = problems(&with("[retention]\ndelivered_operations = \"0s\"\n"));
    assert_problem(
        &error,
        "retention.delivered_operations",
        "must be longer than zero",
    );
    let error = problems(&with("[retention]\nprocesed_requests = \"7d\"\n"));
    assert_problem(
        &error,
        "retention.procesed_requests",
        "unknown key `procesed_requests`",
    );
}

const SLACK_WITH_ANNOUNCE: &str = r##"
[slack]
announce_channel = "#incidents"
"##;

#[test]
fn alert_routes_match_labels_by_equality_and_anchored_regex_in_file_order() {
    let config = Config::from_toml_str(&with(&format!(
        r#"{SLACK_WITH_ANNOUNCE}
[[alert_route]]
name = "checkout"
match = {{ severity = "critical" }}
match_re = {{ service = "checkout|payments" }}
severity = "p0"
services = ["checkout"]
title = "{{alertname}}: {{summary}}"
platform = "slack"
mode = "declare"

[[alert_route]]
name = "everything-else"
severity = "sev2"
platform = "slack"
mode = "propose"
"#
    )))
    .unwrap();
    let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let checkout = config
        .alert_route(&labels(&[
            ("severity", "critical"),
            ("service", "payments"),
        ]))
        .unwrap();
    assert_eq!(checkout.name, "checkout");
    assert_eq!(checkout.severity, Severity::new("sev1"));
    assert_eq!(checkout.mode, AlertMode::Declare);
    assert_eq!(checkout.platform, Platform::Slack);
    assert_eq!(checkout.title, "{alertname}: {summary}");
    // Anchored: `checkout-eu` is not `checkout|payments`.
    let other = config
        .alert_route(&labels(&[
            ("severity", "critical"),
            ("service", "checkout-eu"),
        ]))
        .unwrap();
    assert_eq!(other.name, "everything-else");
    assert_eq!(other.title, "{alertname}");
    assert_eq!(other.mode, AlertMode::Propose);
    let no_service = config
        .alert_route(&labels(&[("severity", "critical")]))
        .unwrap();
    assert_eq!(no_service.name, "everything-else");
}

#[test]
fn check_config_reports_every_problem_of_every_alert_route() {
    assert_problems(
        &with(
            r#"
[discord]
guild_id = "100000000000000009"
incidents_channel = "100000000000000010"

[[alert_route]]
name = "bad route"
match_re = { service = "(" }
severity = "sev9"
services = ["check out"]
title = "{ alertname }"
platform = "teams"
mode = "maybe"

[[alert_route]]
name = "no-announce"
severity = "sev1"
platform = "discord"
mode = "propose"

[[alert_route]]
name = "no-section"
severity = "sev1"
platform = "slack"
mode = "declare"
surprise = true
"#,
        ),
        &[
            ("alert_route[0].name", "cannot be a route name"),
            ("alert_route[0].match_re.service", "invalid regex"),
            ("alert_route[0].severity", "unknown severity `sev9`"),
            ("alert_route[0].services[0]", "cannot be a service name"),
            ("alert_route[0].title", "is not a placeholder"),
            ("alert_route[0].platform", "unknown platform `teams`"),
            ("alert_route[0].mode", "unknown mode `maybe`"),
            ("alert_route[1].mode", "set discord.announce_channel"),
            ("alert_route[2].surprise", "unknown key `surprise`"),
        ],
    );
    assert_problems(
        &with(
            r#"
[[alert_route]]
name = "no-section"
severity = "sev1"
platform = "slack"
mode = "declare"

[[alert_route]]
name = "no-section"
severity = "sev1"
platform = "slack"
mode = "declare"
"#,
        ),
        &[
            (
                "alert_route[0].platform",
                "the config has no [slack] section",
            ),
            ("alert_route[1].name", "route `no-section` is defined twice"),
        ],
    );
}

#[test]
fn the_shipped_example_alert_routes_validate_once_uncommented() {
    let example: String = SHIPPED
        .lines()
        .skip_while(|line| !line.starts_with("# [[alert_route]]"))
        .take_while(|line| !line.starts_with("# Keys:"))
        .map(|line| {
            line.strip_prefix("# ")
                .unwrap_or(line.trim_start_matches('#'))
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(example.contains("[[alert_route]]"), "{example}");
    let config = Config::from_toml_str(&format!("{SHIPPED}\n{example}")).unwrap();
    let names: Vec<&str> = config
        .alert_routes()
        .iter()
        .map(|route| route.name.as_str())
        .collect();
    assert_eq!(names, ["checkout-down", "payments-other"]);
}

#[test]
fn an_action_knows_which_of_the_incidents_values_it_uses() {
    let config = Config::from_toml_str(&with(
        r#"
[actions.restart-api]
kind = "http"
description = "Restart the API"
method = "POST"
url = "https://deploy.test/{service}/restart?by={incident}"
body = '{"title": "{title}", "service": "{service}"}'
"#,
    ))
    .expect("valid");
    let used = |name: &str| {
        config
            .action(name)
            .expect("configured")
            .filled_from_incident()
    };
    assert_eq!(used("restart-api"), ["incident", "title", "service"]);
}

#[test]
fn a_bad_value_is_reported_even_in_a_table_missing_a_required_key() {
    let error = assert_problems(
        &with(
            r#"
[[severity]]
name = "sev3"
update_every = "fifteen minutes"
"#,
        ),
        &[
            ("severity[2]", "missing field `respond_within`"),
            ("severity[2].update_every", "fifteen minutes"),
        ],
    );
    assert!(
        !error
            .problems
            .iter()
            .any(|p| p.path == "severity[2].respond_within"),
        "the stand-in for the missing key is not judged: {error}"
    );
}

#[test]
fn trackers_are_optional_and_the_only_one_files_follow_ups() {
    let config = Config::from_toml_str(BASE).unwrap();
    assert_eq!(config.trackers(), &TrackersConfig::default());
    let config = Config::from_toml_str(&with(
        "[trackers.github]\nrepository = \"acme/ops-followups\"\nlabels = [\"incident\", \"follow-up\"]\n",
    ))
    .unwrap();
    let trackers = config.trackers();
    assert_eq!(trackers.followups, Some(crate::domain::Tracker::GitHub));
    assert_eq!(
        trackers.github,
        Some(GitHubTracker {
            repository: "acme/ops-followups".into(),
            labels: vec!["incident".into(), "follow-up".into()],
        })
    );
    let config = Config::from_toml_str(&with(
        "[trackers]\nfollowups = \"jira\"\n[trackers.github]\nrepository = \"acme/ops\"\n\
         [trackers.jira]\nsite = \"https://acme.atlassian.net/\"\nproject = \"OPS\"\n\
         [trackers.linear]\nteam = \"9cfb482a-81e3-4154-b5b9-2c805e70a02d\"\n",
    ))
    .unwrap();
    let trackers = config.trackers();
    assert_eq!(trackers.followups, Some(crate::domain::Tracker::Jira));
    assert_eq!(
        trackers.jira,
        Some(JiraTracker {
            site: "https://acme.atlassian.net".into(),
            project: "OPS".into(),
            issue_type: "Task".into(),
        })
    );
    assert!(trackers.linear.is_some());
}

#[test]
fn trackers_report_what_is_wrong_with_them() {
    assert_problems(
        &with(
            "[people.bob]\ngithub = \"-bob\"\njira = \"not an id\"\n\
             [trackers.github]\nrepository = \"acme\"\nlabels = [\"\"]\n\
             [trackers.jira]\nsite = \"acme.atlassian.net\"\nproject = \"ops\"\nissue_type = \" \"\n\
             [trackers.linear]\nteam = \"\"\n",
        ),
        &[
            ("people.bob.github", "not a GitHub login"),
            ("people.bob.jira", "Atlassian account id"),
            (
                "trackers.github.repository",
                "not a repository like `acme/ops`",
            ),
            ("trackers.github.labels[0]", "1 to 50 characters"),
            ("trackers.jira.site", "https:// URL"),
            ("trackers.jira.project", "not a project key"),
            ("trackers.jira.issue_type", "must not be empty"),
            ("trackers.linear.team", "must not be empty"),
            ("trackers.followups", "several trackers are configured"),
        ],
    );
    assert_problems(
        &with("[trackers]\nfollowups = \"jira\"\n[trackers.github]\nrepository = \"a/b\"\n"),
        &[("trackers.followups", "no [trackers.jira] table")],
    );
    assert_problems(
        &with("[trackers]\nfollowups = \"gitlab\"\n[trackers.github]\nrepository = \"a/b\"\n"),
        &[("trackers.followups", "unknown tracker `gitlab`")],
    );
    assert_problems(
        &with("[trackers.github]\nrepository = \"a/b\"\ntoken = \"ghp_x\"\n"),
        &[("trackers.github.token", "unknown key `token`")],
    );
}
