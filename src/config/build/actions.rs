//! Actions and runbooks: kinds, params, templates, targets and steps.

use super::{Builder, is_http_url, suggestion, unknown};
use crate::config::env::SECRET_VARS;
use crate::config::model::{
    ActionConfig, ActionKind, BUILTIN_PLACEHOLDERS, ComponentState, HttpAction, PageAction,
    PageTarget, ParamSpec, ProgramAction, RunbookConfig, RunbookStep, StatusAction,
    StatusPageConfig,
};
use crate::config::problem::join;
use crate::config::raw::{RawAction, RawRunbook, RawStep};
use crate::config::template::{Braces, placeholders};
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;
use toml::{Table, Value};

const DEFAULT_ACTION_TIMEOUT: Duration = Duration::from_secs(30);

/// Long enough for a busy commander to read the request; short enough that a
/// forgotten request cannot be approved hours later, when it no longer fits.
const DEFAULT_APPROVAL_EXPIRY: Duration = Duration::from_secs(30 * 60);

const HTTP_METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

const SHELLS: [&str; 7] = ["sh", "bash", "zsh", "dash", "ksh", "fish", "csh"];

impl Builder<'_> {
    fn template(&mut self, path: &str, text: &str, braces: Braces, allowed: &BTreeSet<&str>) {
        match placeholders(text, braces) {
            Err(message) => self.problem(path, message),
            Ok(names) => {
                for name in names.into_iter().filter(|n| !allowed.contains(n)) {
                    let mut known: Vec<&str> = allowed.iter().copied().collect();
                    known.sort_unstable();
                    self.problem(
                        path,
                        format!(
                            "unknown placeholder `{{{name}}}`{}: declare it under params, or use one of {}",
                            suggestion(name, known.iter().copied()),
                            known.join(", ")
                        ),
                    );
                }
            }
        }
    }

    pub(super) fn actions(
        &mut self,
        items: Table,
        status_page: Option<&StatusPageConfig>,
    ) -> BTreeMap<String, ActionConfig> {
        let mut out = BTreeMap::new();
        for (name, value) in items {
            let path = join("actions", &name);
            self.check_name(&path, &name, "action");
            let Some(raw) = self.read::<RawAction>(value, &path) else {
                continue;
            };
            if let Some(action) = self.action(name.clone(), raw, &path, status_page) {
                out.insert(name, action);
            }
        }
        out
    }

    fn action(
        &mut self,
        name: String,
        raw: RawAction,
        path: &str,
        status_page: Option<&StatusPageConfig>,
    ) -> Option<ActionConfig> {
        let params = self.params(&raw, path);
        let mut allowed: BTreeSet<&str> = BUILTIN_PLACEHOLDERS.into_iter().collect();
        allowed.extend(raw.params.keys().map(String::as_str));
        self.stray_keys(&raw, path);
        let kind = match raw.kind.as_str() {
            "http" => self.http(&raw, path, &allowed).map(ActionKind::Http),
            "program" => self.program(&raw, path, &allowed).map(ActionKind::Program),
            "page" => self.page(&raw, path).map(ActionKind::Page),
            "status" => self.status(&raw, path, status_page).map(ActionKind::Status),
            other => {
                self.problem(
                    join(path, "kind"),
                    format!("unknown kind `{other}` (expected http, program, page or status)"),
                );
                None
            }
        };
        let timeout = match &raw.timeout {
            Some(v) => self.duration(v, &join(path, "timeout")),
            None => Some(DEFAULT_ACTION_TIMEOUT),
        };
        let approval = match raw.approval.as_deref() {
            None | Some("none") => None,
            Some(word) => self.role(&join(path, "approval"), word),
        };
        let expiry_path = join(path, "approval_expires_after");
        let approval_expires_after = match &raw.approval_expires_after {
            Some(_) if approval.is_none() => {
                self.problem(
                    &expiry_path,
                    "only actions that need an approval can have it expire",
                );
                None
            }
            Some(value) => self.duration(value, &expiry_path),
            None => Some(DEFAULT_APPROVAL_EXPIRY),
        };
        let mut allowed_roles = Vec::new();
        for (i, word) in raw.allowed_roles.iter().flatten().enumerate() {
            if let Some(role) = self.role(&format!("{path}.allowed_roles[{i}]"), word) {
                allowed_roles.push(role);
            }
        }
        Some(ActionConfig {
            name,
            description: raw.description.unwrap_or_default(),
            kind: kind?,
            params: params?,
            timeout: timeout?,
            retries: raw.retries.unwrap_or(0),
            approval,
            approval_expires_after: approval_expires_after?,
            allowed_roles,
            rerun_on_restart: raw.rerun_on_restart.unwrap_or(false),
        })
    }

    fn params(&mut self, raw: &RawAction, path: &str) -> Option<BTreeMap<String, ParamSpec>> {
        let mut out = BTreeMap::new();
        let mut ok = true;
        for (name, spec) in &raw.params {
            let param_path = format!("{path}.params.{name}");
            let mut valid = self.check_name(&param_path, name, "param");
            if BUILTIN_PLACEHOLDERS.contains(&name.as_str()) {
                self.problem(
                    &param_path,
                    format!("`{name}` is built in; choose another name"),
                );
                valid = false;
            }
            let pattern = match &spec.pattern {
                None => None,
                Some(p) => match Regex::new(&format!("^(?:{p})$")) {
                    Ok(re) => Some(re),
                    Err(e) => {
                        self.problem(
                            join(&param_path, "pattern"),
                            format!("invalid regex: {}", regex_message(&e)),
                        );
                        valid = false;
                        None
                    }
                },
            };
            if spec.required && spec.default.is_some() {
                self.problem(
                    join(&param_path, "required"),
                    "a param with a default cannot be required",
                );
                valid = false;
            }
            if let (Some(re), Some(default)) = (&pattern, &spec.default)
                && !re.is_match(default)
            {
                self.problem(
                    join(&param_path, "default"),
                    format!("`{default}` does not match the param's pattern"),
                );
                valid = false;
            }
            ok &= valid;
            out.insert(
                name.clone(),
                ParamSpec {
                    description: spec.description.clone().unwrap_or_default(),
                    required: spec.required,
                    default: spec.default.clone(),
                    pattern,
                },
            );
        }
        ok.then_some(out)
    }

    /// Keys of one kind written on an action of another are almost always a mistake.
    fn stray_keys(&mut self, raw: &RawAction, path: &str) {
        let keys = [
            ("method", "http", raw.method.is_some()),
            ("url", "http", raw.url.is_some()),
            ("headers", "http", raw.headers.is_some()),
            ("header_env", "http", raw.header_env.is_some()),
            ("body", "http", raw.body.is_some()),
            ("success_status", "http", raw.success_status.is_some()),
            ("program", "program", raw.program.is_some()),
            ("args", "program", raw.args.is_some()),
            ("env", "program", raw.env.is_some()),
            ("target", "page", raw.target.is_some()),
            ("component", "status", raw.component.is_some()),
            ("state", "status", raw.state.is_some()),
        ];
        let known_kind = ["http", "program", "page", "status"].contains(&raw.kind.as_str());
        for (key, kind, set) in keys {
            if set && known_kind && kind != raw.kind {
                self.problem(
                    join(path, key),
                    format!(
                        "`{key}` belongs to {kind} actions, not {} actions",
                        raw.kind
                    ),
                );
            }
        }
    }

    fn http(
        &mut self,
        raw: &RawAction,
        path: &str,
        allowed: &BTreeSet<&str>,
    ) -> Option<HttpAction> {
        let method = raw.method.as_deref().unwrap_or("POST").to_ascii_uppercase();
        if !HTTP_METHODS.contains(&method.as_str()) {
            self.problem(
                join(path, "method"),
                format!(
                    "unknown method `{method}` (expected {})",
                    HTTP_METHODS.join(", ")
                ),
            );
        }
        let url = match &raw.url {
            None => {
                self.problem(join(path, "url"), "missing: http actions need a url");
                None
            }
            Some(url) => {
                if !is_http_url(url) {
                    self.problem(join(path, "url"), "expected an http:// or https:// URL");
                }
                self.template(&join(path, "url"), url, Braces::PlaceholdersOnly, allowed);
                Some(url.clone())
            }
        };
        let headers = raw.headers.clone().unwrap_or_default();
        for (header, value) in &headers {
            let header_path = format!("{path}.headers.{header}");
            self.header_name(&header_path, header);
            self.template(&header_path, value, Braces::PlaceholdersOnly, allowed);
        }
        let header_env = raw.header_env.clone().unwrap_or_default();
        for (header, var) in &header_env {
            let header_path = format!("{path}.header_env.{header}");
            self.header_name(&header_path, header);
            self.env_var(&header_path, var);
            if headers.keys().any(|h| h.eq_ignore_ascii_case(header)) {
                self.problem(
                    &header_path,
                    format!("header `{header}` is also set under headers"),
                );
            }
        }
        if let Some(body) = &raw.body {
            self.template(&join(path, "body"), body, Braces::Balanced, allowed);
        }
        let success_status = raw.success_status.clone().unwrap_or_default();
        for (i, status) in success_status.iter().enumerate() {
            if !(100..=599).contains(status) {
                self.problem(
                    format!("{path}.success_status[{i}]"),
                    format!("{status} is not an HTTP status"),
                );
            }
        }
        Some(HttpAction {
            method,
            url: url?,
            headers,
            header_env,
            body: raw.body.clone(),
            success_status,
        })
    }

    fn header_name(&mut self, path: &str, name: &str) {
        let ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            self.problem(path, format!("`{name}` is not a valid header name"));
        }
    }

    /// An environment variable an action may read; never one of warroom's own secrets.
    fn env_var(&mut self, path: &str, name: &str) {
        let well_formed = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !well_formed {
            self.problem(
                path,
                format!("`{name}` is not an environment variable name"),
            );
        } else if SECRET_VARS.contains(&name) {
            self.problem(
                path,
                format!("`{name}` is one of warroom's own secrets; actions cannot read it"),
            );
        }
    }

    fn program(
        &mut self,
        raw: &RawAction,
        path: &str,
        allowed: &BTreeSet<&str>,
    ) -> Option<ProgramAction> {
        let program_path = join(path, "program");
        let program = match raw.program.as_deref().map(PathBuf::from) {
            None => {
                self.problem(
                    &program_path,
                    "missing: program actions need an absolute program path",
                );
                None
            }
            Some(p) if !p.is_absolute() => {
                self.problem(
                    &program_path,
                    format!("`{}` is not an absolute path", p.display()),
                );
                None
            }
            Some(p) => {
                let file = p.file_name().and_then(|f| f.to_str()).unwrap_or_default();
                if SHELLS.contains(&file) {
                    self.problem(
                        &program_path,
                        "actions never run a shell: point `program` at a script instead",
                    );
                }
                if p.to_string_lossy().contains(['{', '}']) {
                    self.problem(&program_path, "the program path cannot hold placeholders");
                }
                Some(p)
            }
        };
        let args = raw.args.clone().unwrap_or_default();
        for (i, arg) in args.iter().enumerate() {
            self.template(
                &format!("{path}.args[{i}]"),
                arg,
                Braces::PlaceholdersOnly,
                allowed,
            );
        }
        let env = raw.env.clone().unwrap_or_default();
        for (i, var) in env.iter().enumerate() {
            self.env_var(&format!("{path}.env[{i}]"), var);
        }
        Some(ProgramAction {
            program: program?,
            args,
            env,
        })
    }

    fn page(&mut self, raw: &RawAction, path: &str) -> Option<PageAction> {
        let target_path = join(path, "target");
        let Some(target) = &raw.target else {
            self.problem(
                &target_path,
                "missing: page actions need a target person or level",
            );
            return None;
        };
        let is_person = self.people.contains(target);
        let is_level = self.levels.contains(target);
        let target = match (is_person, is_level) {
            (true, true) => {
                self.problem(
                    &target_path,
                    format!("`{target}` names both a person and a level"),
                );
                return None;
            }
            (true, false) => PageTarget::Person(target.clone()),
            (false, true) => PageTarget::Level(target.clone()),
            (false, false) => {
                let known = self.people.iter().chain(&self.levels).map(String::as_str);
                let message = unknown("person or level", target, known);
                self.problem(&target_path, message);
                return None;
            }
        };
        Some(PageAction { target })
    }

    fn status(
        &mut self,
        raw: &RawAction,
        path: &str,
        status_page: Option<&StatusPageConfig>,
    ) -> Option<StatusAction> {
        let component = match (&raw.component, status_page) {
            (None, _) => {
                self.problem(
                    join(path, "component"),
                    "missing: status actions need a component",
                );
                None
            }
            (Some(_), None) => {
                self.problem(
                    join(path, "component"),
                    "status actions need a [status_page] section",
                );
                None
            }
            (Some(c), Some(page)) if !page.components.contains(c) => {
                let message = unknown("component", c, page.components.iter().map(String::as_str));
                self.problem(join(path, "component"), message);
                None
            }
            (Some(c), Some(_)) => Some(c.clone()),
        };
        let state = match raw.state.as_deref() {
            None => {
                self.problem(join(path, "state"), "missing: status actions need a state");
                None
            }
            Some(word) => {
                let state = ComponentState::ALL.into_iter().find(|s| s.as_str() == word);
                if state.is_none() {
                    let names = ComponentState::ALL.map(ComponentState::as_str);
                    self.problem(
                        join(path, "state"),
                        unknown("state", word, names.into_iter()),
                    );
                }
                state
            }
        };
        Some(StatusAction {
            component: component?,
            state: state?,
        })
    }

    pub(super) fn runbooks(
        &mut self,
        value: Option<Value>,
        actions: &BTreeMap<String, ActionConfig>,
    ) -> BTreeMap<String, RunbookConfig> {
        let mut out = BTreeMap::new();
        let items = self.table(value, "runbooks");
        let runbook_names: BTreeSet<String> = items.keys().cloned().collect();
        for (name, value) in items {
            let path = join("runbooks", &name);
            self.check_name(&path, &name, "runbook");
            if self.actions.contains(&name) {
                self.problem(
                    &path,
                    format!("an action is also called `{name}`, so `/incident run {name}` would be ambiguous"),
                );
            }
            let Some(raw) = self.read::<RawRunbook>(value, &path) else {
                continue;
            };
            if let Some(runbook) = self.runbook(name.clone(), raw, &path, actions, &runbook_names) {
                out.insert(name, runbook);
            }
        }
        out
    }

    fn runbook(
        &mut self,
        name: String,
        raw: RawRunbook,
        path: &str,
        actions: &BTreeMap<String, ActionConfig>,
        runbooks: &BTreeSet<String>,
    ) -> Option<RunbookConfig> {
        if raw.steps.is_empty() {
            self.problem(join(path, "steps"), "a runbook needs at least one step");
        }
        let mut steps = Vec::new();
        for (i, value) in raw.steps.into_iter().enumerate() {
            let step_path = format!("{path}.steps[{i}]");
            let step = match value {
                Value::String(action) => RawStep {
                    action,
                    params: BTreeMap::new(),
                    continue_on_failure: false,
                },
                table @ Value::Table(_) => {
                    let Some(step) = self.read::<RawStep>(table, &step_path) else {
                        continue;
                    };
                    step
                }
                _ => {
                    self.problem(
                        &step_path,
                        "expected an action name or { action = \"name\", params = { … } }",
                    );
                    continue;
                }
            };
            let action_path = if step.params.is_empty() && !step.continue_on_failure {
                step_path.clone()
            } else {
                join(&step_path, "action")
            };
            self.action_ref(&action_path, &step.action, runbooks);
            if let Some(action) = actions.get(&step.action) {
                for (param, value) in &step.params {
                    let param_path = format!("{step_path}.params.{param}");
                    match action.params.get(param) {
                        None => self.problem(
                            &param_path,
                            format!("action `{}` has no param `{param}`", step.action),
                        ),
                        Some(spec) if !spec.accepts(value) => self.problem(
                            &param_path,
                            format!("`{value}` does not match the param's pattern"),
                        ),
                        Some(_) => {}
                    }
                }
            }
            steps.push(RunbookStep {
                fallback: raw.on_failure.get(&step.action).cloned(),
                action: step.action,
                params: step.params,
                continue_on_failure: step.continue_on_failure,
            });
        }
        for (step, fallback) in &raw.on_failure {
            let fallback_path = format!("{path}.on_failure.{step}");
            if !steps.iter().any(|s| &s.action == step) {
                self.problem(
                    &fallback_path,
                    format!("`{step}` is not a step of this runbook"),
                );
            }
            self.action_ref(&fallback_path, fallback, runbooks);
        }
        Some(RunbookConfig {
            name,
            description: raw.description.unwrap_or_default(),
            steps,
        })
    }

    fn action_ref(&mut self, path: &str, name: &str, runbooks: &BTreeSet<String>) {
        if runbooks.contains(name) && !self.actions.contains(name) {
            self.problem(
                path,
                format!("`{name}` is a runbook; a runbook's steps must be actions"),
            );
        } else if !self.actions.contains(name) {
            let message = unknown("action", name, self.actions.iter().map(String::as_str));
            self.problem(path, message);
        }
    }
}

/// The regex crate's errors span several lines with a caret diagram; keep the last line.
pub(super) fn regex_message(error: &regex::Error) -> String {
    let text = error.to_string();
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().trim_start_matches("error: ").to_string())
        .unwrap_or(text)
}
