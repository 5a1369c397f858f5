//! Slack's request signing: every request Slack sends over HTTP carries
//! `X-Slack-Request-Timestamp` and `X-Slack-Signature: v0=hex(HMAC-SHA256(secret,
//! "v0:{timestamp}:{body}"))`. A request that does not verify is refused before
//! anything reads its body.

use crate::config::Secret;
use ring::hmac;

/// How far a request's timestamp may be from our clock, either way: Slack's
/// guidance, and what makes a captured request useless for replay soon after.
pub const MAX_SKEW_SECONDS: i64 = 5 * 60;

pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";
pub const SIGNATURE_HEADER: &str = "x-slack-signature";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the request has no X-Slack-Request-Timestamp header")]
    MissingTimestamp,
    #[error("the request has no X-Slack-Signature header")]
    MissingSignature,
    #[error("the request timestamp is not a number")]
    BadTimestamp,
    #[error("the request timestamp is more than five minutes away from now")]
    Stale,
    #[error("the request signature does not match")]
    BadSignature,
}

/// Checks signatures with the app's signing secret.
#[derive(Clone)]
pub struct Verifier {
    key: hmac::Key,
}

impl Verifier {
    pub fn new(signing_secret: &Secret) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, signing_secret.expose().as_bytes()),
        }
    }

    /// Verifies a request received at `now` (unix seconds). The comparison of the
    /// MAC runs in constant time (`ring::hmac::verify`).
    pub fn verify(
        &self,
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
        now: i64,
    ) -> Result<(), VerifyError> {
        let timestamp = timestamp.ok_or(VerifyError::MissingTimestamp)?;
        let signature = signature.ok_or(VerifyError::MissingSignature)?;
        let sent: i64 = timestamp
            .trim()
            .parse()
            .map_err(|_| VerifyError::BadTimestamp)?;
        if now.abs_diff(sent) > MAX_SKEW_SECONDS.unsigned_abs() {
            return Err(VerifyError::Stale);
        }
        let mac = signature
            .trim()
            .strip_prefix("v0=")
            .and_then(decode_hex)
            .ok_or(VerifyError::BadSignature)?;
        let mut signed = Vec::with_capacity(body.len() + timestamp.len() + 4);
        signed.extend_from_slice(b"v0:");
        signed.extend_from_slice(timestamp.as_bytes());
        signed.push(b':');
        signed.extend_from_slice(body);
        hmac::verify(&self.key, &signed, &mac).map_err(|_| VerifyError::BadSignature)
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Slack's published example (docs: "Verifying requests from Slack").
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TIMESTAMP: &str = "1531420618";
    const SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const NOW: i64 = 1_531_420_618 + 60;

    fn verifier() -> Verifier {
        Verifier::new(&Secret::new(SECRET))
    }

    #[test]
    fn slacks_published_example_verifies() {
        assert_eq!(
            verifier().verify(Some(TIMESTAMP), Some(SIGNATURE), BODY.as_bytes(), NOW),
            Ok(())
        );
    }

    #[test]
    fn anything_else_is_refused() {
        let v = verifier();
        let body = BODY.as_bytes();
        assert_eq!(
            v.verify(None, Some(SIGNATURE), body, NOW),
            Err(VerifyError::MissingTimestamp)
        );
        assert_eq!(
            v.verify(Some(TIMESTAMP), None, body, NOW),
            Err(VerifyError::MissingSignature)
        );
        assert_eq!(
            v.verify(Some("soon"), Some(SIGNATURE), body, NOW),
            Err(VerifyError::BadTimestamp)
        );
        assert_eq!(
            v.verify(Some(TIMESTAMP), Some(SIGNATURE), body, NOW + 300),
            Err(VerifyError::Stale)
        );
        assert_eq!(
            v.verify(Some(TIMESTAMP), Some(SIGNATURE), body, 1_531_420_618 - 301),
            Err(VerifyError::Stale)
        );
        let tampered = BODY.replace("roadrunner", "coyote");
        assert_eq!(
            v.verify(Some(TIMESTAMP), Some(SIGNATURE), tampered.as_bytes(), NOW),
            Err(VerifyError::BadSignature)
        );
        let flipped = SIGNATURE.replace("b503", "b504");
        assert_eq!(
            v.verify(Some(TIMESTAMP), Some(&flipped), body, NOW),
            Err(VerifyError::BadSignature)
        );
        for bad in ["a2114d", "v0=zz", "v0=abc", "v1=a2114d57"] {
            assert_eq!(
                v.verify(Some(TIMESTAMP), Some(bad), body, NOW),
                Err(VerifyError::BadSignature),
                "{bad}"
            );
        }
        let other = Verifier::new(&Secret::new("another secret"));
        assert_eq!(
            other.verify(Some(TIMESTAMP), Some(SIGNATURE), body, NOW),
            Err(VerifyError::BadSignature)
        );
    }
}
