//! Checking that a request to `POST /discord/interactions` comes from Discord.
//!
//! Owns: the Ed25519 signature over `timestamp ‖ body` with `DISCORD_PUBLIC_KEY`
//! (serenity's verifier), and the age of the timestamp, which that verifier does
//! not check: a request older than five minutes is refused, so a captured request
//! cannot be replayed later. Must not: look inside the body.

use chrono::{DateTime, Utc};
use serenity::interactions_endpoint::Verifier;

/// How far a request's timestamp may be from now, either way.
pub const MAX_AGE_SECONDS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the public key is not 64 hex digits of a valid Ed25519 key")]
    BadKey,
    #[error("the signature or timestamp header is missing")]
    Missing,
    #[error("the timestamp is not a number of seconds")]
    BadTimestamp,
    #[error("the timestamp is more than five minutes from now")]
    Stale,
    #[error("the signature does not match")]
    BadSignature,
}

/// Verifies interaction requests against the application's public key.
pub struct RequestVerifier {
    verifier: Verifier,
}

impl RequestVerifier {
    pub fn new(public_key_hex: &str) -> Result<Self, VerifyError> {
        let bytes = hex::<32>(public_key_hex).ok_or(VerifyError::BadKey)?;
        let verifier = Verifier::try_new(bytes).map_err(|_| VerifyError::BadKey)?;
        Ok(Self { verifier })
    }

    /// `signature` and `timestamp` are the `X-Signature-Ed25519` and
    /// `X-Signature-Timestamp` headers.
    pub fn verify(
        &self,
        signature: Option<&str>,
        timestamp: Option<&str>,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), VerifyError> {
        let (Some(signature), Some(timestamp)) = (signature, timestamp) else {
            return Err(VerifyError::Missing);
        };
        let seconds: i64 = timestamp
            .trim()
            .parse()
            .map_err(|_| VerifyError::BadTimestamp)?;
        if (now.timestamp() - seconds).abs() > MAX_AGE_SECONDS {
            return Err(VerifyError::Stale);
        }
        // Checked here because serenity's verifier reads a short or odd hex string
        // as an error only after slicing it.
        if hex::<64>(signature).is_none() {
            return Err(VerifyError::BadSignature);
        }
        self.verifier
            .verify(signature, timestamp, body)
            .map_err(|()| VerifyError::BadSignature)
    }
}

/// Exactly `N` bytes from `2N` hex digits.
fn hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let text = text.as_bytes();
    if text.len() != N * 2 {
        return None;
    }
    let mut out = [0u8; N];
    let digit = |b: u8| char::from(b).to_digit(16);
    for (byte, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        let (high, low) = (digit(*pair.first()?)?, digit(*pair.get(1)?)?);
        *byte = u8::try_from(high * 16 + low).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_needs_exact_length_and_digits() {
        assert_eq!(hex::<2>("0aff"), Some([0x0a, 0xff]));
        assert_eq!(hex::<2>("0af"), None);
        assert_eq!(hex::<2>("0afg"), None);
        assert_eq!(hex::<2>("+a+f"), None);
        assert!(RequestVerifier::new("xyz").is_err());
    }
}
