//! The public status page (`/`), one incident's public page (`/incidents/{id}`)
//! and the Atom feed of updates (`/feed.atom`), drawn with the askama templates in
//! `templates/status/`.
//!
//! Everything here reads only the store's public queries, which leave drills out,
//! and shows only an incident's title, timestamps, the components it touches and
//! its status updates: never roles, notes, the timeline, service names that are
//! not components, or anything about actions. User-written text reaches the
//! templates as plain strings, which askama escapes.

use super::WebState;
use crate::config::Config;
use crate::domain::{ComponentState, Incident, IncidentId, Status, StatusUpdate};
use crate::engine::public;
use crate::render;
use crate::store::StoreError;
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

/// How far back the page and the feed look for resolved incidents.
const HISTORY_DAYS: i64 = 90;

/// At most this many incidents on the page (open ones first, by being newest).
const PAGE_INCIDENTS: u32 = 200;

/// At most this many entries in the feed.
const FEED_ENTRIES: usize = 50;

const STYLESHEET: &str = include_str!("../../templates/status/status.css");

pub(super) fn router() -> Router<WebState> {
    Router::new()
        .route("/", get(index))
        .route("/incidents/{id}", get(incident))
        .route("/feed.atom", get(feed))
        .route("/assets/status.css", get(stylesheet))
        .fallback(not_found)
}

#[derive(Debug, thiserror::Error)]
enum PageError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("template: {0}")]
    Render(#[from] askama::Error),
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        tracing::error!(error = %self, "status page failed");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CACHE_CONTROL, "no-store")],
            Html("<!doctype html><title>Unavailable</title><p>The status page is unavailable right now; please try again shortly.</p>"),
        )
            .into_response()
    }
}

/// A moment, for `<time datetime=…>` and for people.
struct Stamp {
    iso: String,
    shown: String,
}

impl Stamp {
    fn new(at: DateTime<Utc>, config: &Config) -> Self {
        Self {
            iso: at.to_rfc3339_opts(SecondsFormat::Secs, true),
            shown: at
                .with_timezone(&config.timezone())
                .format("%d %b %Y, %H:%M %Z")
                .to_string(),
        }
    }
}

struct StateView {
    /// A CSS class suffix; from the enum, never from user input.
    class: &'static str,
    label: &'static str,
}

impl From<ComponentState> for StateView {
    fn from(state: ComponentState) -> Self {
        Self {
            class: state.as_str(),
            label: state.label(),
        }
    }
}

struct ComponentView {
    name: String,
    state: StateView,
}

struct UpdateView {
    status: &'static str,
    at: Stamp,
    text: String,
}

struct IncidentView {
    id: String,
    title: String,
    status: &'static str,
    open: bool,
    impact: StateView,
    components: Vec<String>,
    declared: Stamp,
    resolved: Option<Stamp>,
    duration: Option<String>,
    updates: Vec<UpdateView>,
}

impl IncidentView {
    fn new(incident: &Incident, updates: &[StatusUpdate], config: &Config) -> Self {
        let updates = public::history(incident, updates)
            .into_iter()
            .map(|update| UpdateView {
                status: status_label(update.status),
                at: Stamp::new(update.at, config),
                text: update.text,
            })
            .collect();
        Self {
            id: incident.id.to_string(),
            title: incident.title.clone(),
            status: status_label(incident.status),
            open: incident.status.is_open(),
            impact: public::impact(config, &incident.severity).into(),
            components: public::affected_components(config, incident)
                .into_iter()
                .map(str::to_string)
                .collect(),
            declared: Stamp::new(incident.declared_at, config),
            resolved: incident.resolved_at.map(|at| Stamp::new(at, config)),
            duration: incident
                .resolved_at
                .map(|at| render::duration(at - incident.declared_at)),
            updates,
        }
    }
}

#[derive(Template)]
#[template(path = "status/index.html")]
struct IndexPage {
    title: String,
    overall: StateView,
    components: Vec<ComponentView>,
    active: Vec<IncidentView>,
    past: Vec<IncidentView>,
    history_days: i64,
    timezone: String,
}

#[derive(Template)]
#[template(path = "status/incident.html")]
struct IncidentPage {
    title: String,
    incident: IncidentView,
    timezone: String,
}

#[derive(Template)]
#[template(path = "status/not_found.html")]
struct NotFoundPage {
    title: String,
}

struct FeedEntry {
    id: String,
    link: String,
    title: String,
    updated: String,
    text: String,
}

#[derive(Template)]
#[template(path = "status/feed.xml")]
struct Feed {
    id: String,
    title: String,
    home: String,
    link: String,
    updated: String,
    entries: Vec<FeedEntry>,
}

fn page_title(config: &Config) -> String {
    config
        .status_page()
        .map(|page| page.title.clone())
        .unwrap_or_else(|| "Status".to_string())
}

fn status_label(status: Status) -> &'static str {
    match status {
        Status::Investigating => "Investigating",
        Status::Identified => "Identified",
        Status::Monitoring => "Monitoring",
        Status::Resolved => "Resolved",
    }
}

async fn index(State(state): State<WebState>) -> Result<Response, PageError> {
    let config = &state.config;
    let since = state.clock.now() - TimeDelta::days(HISTORY_DAYS);
    let listed = state.store.public_incidents(since, PAGE_INCIDENTS).await?;
    let settings = state.store.component_settings().await?;
    let incidents: Vec<&Incident> = listed.iter().map(|(incident, _)| incident).collect();
    let summary = public::summary(config, &incidents, &settings);
    let (active, past): (Vec<IncidentView>, Vec<IncidentView>) = listed
        .iter()
        .map(|(incident, updates)| IncidentView::new(incident, updates, config))
        .partition(|view| view.open);
    let page = IndexPage {
        title: page_title(config),
        overall: summary.overall.into(),
        components: summary
            .components
            .into_iter()
            .map(|component| ComponentView {
                name: component.name,
                state: component.state.into(),
            })
            .collect(),
        active,
        past,
        history_days: HISTORY_DAYS,
        timezone: config.timezone().to_string(),
    };
    Ok(Html(page.render()?).into_response())
}

async fn incident(
    State(state): State<WebState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let Ok(id) = id.parse::<IncidentId>() else {
        return not_found(State(state)).await;
    };
    let Some((incident, updates)) = state.store.public_incident(&id).await? else {
        return not_found(State(state)).await;
    };
    let config = &state.config;
    let page = IncidentPage {
        title: page_title(config),
        incident: IncidentView::new(&incident, &updates, config),
        timezone: config.timezone().to_string(),
    };
    Ok(Html(page.render()?).into_response())
}

async fn not_found(State(state): State<WebState>) -> Result<Response, PageError> {
    let page = NotFoundPage {
        title: page_title(&state.config),
    };
    Ok((StatusCode::NOT_FOUND, Html(page.render()?)).into_response())
}

async fn feed(State(state): State<WebState>) -> Result<Response, PageError> {
    let config = &state.config;
    let now = state.clock.now();
    let listed = state
        .store
        .public_incidents(now - TimeDelta::days(HISTORY_DAYS), PAGE_INCIDENTS)
        .await?;
    let base = config.public_url();
    let mut entries: Vec<(DateTime<Utc>, FeedEntry)> = listed
        .iter()
        .flat_map(|(incident, updates)| {
            let link = format!("{base}/incidents/{}", incident.id);
            public::history(incident, updates)
                .into_iter()
                .map(move |update| {
                    let entry = FeedEntry {
                        id: format!("{link}#{}-{}", update.status, update.at.timestamp_millis()),
                        link: link.clone(),
                        title: format!("{} — {}", status_label(update.status), incident.title),
                        updated: update.at.to_rfc3339_opts(SecondsFormat::Secs, true),
                        text: update.text,
                    };
                    (update.at, entry)
                })
        })
        .collect();
    entries.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
    entries.truncate(FEED_ENTRIES);
    let updated = entries.first().map_or(now, |(at, _)| *at);
    let feed = Feed {
        id: format!("{base}/"),
        title: page_title(config),
        home: format!("{base}/"),
        link: format!("{base}/feed.atom"),
        updated: updated.to_rfc3339_opts(SecondsFormat::Secs, true),
        entries: entries.into_iter().map(|(_, entry)| entry).collect(),
    };
    Ok((
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        feed.render()?,
    )
        .into_response())
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
}
