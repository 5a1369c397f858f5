//! `POST /discord/interactions`: Discord's "interactions endpoint URL", for teams
//! that receive interactions over HTTP instead of the gateway.
//!
//! Owns: refusing anything not signed by Discord within the last five minutes
//! (401, before the body is read as JSON), and carrying the first answer in the
//! HTTP response. Must not: answer differently from the gateway ([`Interactions`]
//! decides for both).

use super::interactions::{FirstAnswer, Interactions};
use super::verify::RequestVerifier;
use super::wire::Interaction;
use crate::clock::SharedClock;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use std::sync::Arc;

pub const PATH: &str = "/discord/interactions";

#[derive(Clone)]
struct Endpoint {
    interactions: Interactions,
    verifier: Arc<RequestVerifier>,
    clock: SharedClock,
}

/// The route, to merge into warroom's server.
pub fn router(interactions: Interactions, verifier: RequestVerifier, clock: SharedClock) -> Router {
    Router::new()
        .route(PATH, post(receive))
        .layer(DefaultBodyLimit::max(crate::web::BODY_LIMIT))
        .with_state(Endpoint {
            interactions,
            verifier: Arc::new(verifier),
            clock,
        })
}

async fn receive(State(endpoint): State<Endpoint>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    if let Err(error) = endpoint.verifier.verify(
        header("x-signature-ed25519"),
        header("x-signature-timestamp"),
        &body,
        endpoint.clock.now(),
    ) {
        tracing::info!(%error, "refused an unverified request to the Discord interactions endpoint");
        return (StatusCode::UNAUTHORIZED, "invalid request signature").into_response();
    }
    let interaction: Interaction = match serde_json::from_slice(&body) {
        Ok(interaction) => interaction,
        Err(error) => {
            tracing::warn!(%error, "a signed interaction was unreadable");
            return (StatusCode::BAD_REQUEST, "unreadable interaction").into_response();
        }
    };
    match endpoint.interactions.first_answer(interaction).await {
        FirstAnswer::Now(callback) => Json(callback).into_response(),
        FirstAnswer::Deferred {
            callback,
            token,
            later,
            kept,
        } => {
            let interactions = endpoint.interactions.clone();
            tokio::spawn(async move { interactions.finish(&token, later, kept).await });
            Json(callback).into_response()
        }
    }
}
