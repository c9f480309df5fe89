//! Minting: the payload written by hand into one buffer, then signed.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::value::RawValue;

use super::claims::{ClaimsError, check_object};
use super::codec::{CompiledKey, Policy};
use super::{Claims, TokenKind};
use crate::error::{AuthError, AuthErrorKind};

/// Why a payload could not be written.
#[derive(Debug)]
pub(super) enum PayloadError {
    /// The application claims cannot be merged into the payload.
    Claims(ClaimsError),
    /// They failed to serialise at all.
    Serialize(serde_json::Error),
}

impl From<PayloadError> for AuthError {
    fn from(error: PayloadError) -> Self {
        let refused = Self::new(AuthErrorKind::InvalidCustomClaims);
        match error {
            PayloadError::Claims(e) => refused.with_source(e),
            PayloadError::Serialize(e) => refused.with_source(e),
        }
    }
}

/// The payload as minted: the registered claims, the configured `iss`/`aud`, then the
/// application claims merged in, after [`check_object`] made sure none of their keys is one of
/// the others. (Through `#[serde(flatten)]` serde serialises the whole payload as a map, a tenth
/// of the cost of a refresh; the unit tests hold this writer to exactly the bytes that derived
/// form produces.)
pub(super) fn payload_json<C: Serialize>(
    claims: &Claims<C>,
    issuer: Option<&str>,
    audience: Option<&str>,
) -> Result<Vec<u8>, PayloadError> {
    fn write<T: Serialize + ?Sized>(json: &mut Vec<u8>, value: &T) -> Result<(), PayloadError> {
        serde_json::to_writer(json, value).map_err(PayloadError::Serialize)
    }
    let mut json = Vec::with_capacity(256);
    json.extend_from_slice(b"{\"sub\":");
    write(&mut json, &claims.sub)?;
    json.extend_from_slice(b",\"sid\":");
    write(&mut json, &claims.sid)?;
    json.extend_from_slice(b",\"jti\":");
    write(&mut json, &claims.jti)?;
    json.extend_from_slice(b",\"iat\":");
    write(&mut json, &claims.iat)?;
    json.extend_from_slice(b",\"exp\":");
    write(&mut json, &claims.exp)?;
    if let Some(nbf) = claims.nbf {
        json.extend_from_slice(b",\"nbf\":");
        write(&mut json, &nbf)?;
    }
    if let Some(iss) = issuer {
        json.extend_from_slice(b",\"iss\":");
        write(&mut json, iss)?;
    }
    if let Some(aud) = audience {
        json.extend_from_slice(b",\"aud\":");
        write(&mut json, aud)?;
    }
    // The application claims as their own object, whose `{` becomes the separating comma and
    // whose `}` closes the payload; unit (or an empty map) adds nothing.
    let custom = json.len();
    write(&mut json, &claims.custom)?;
    check_object(&json[custom..]).map_err(PayloadError::Claims)?;
    match &json[custom..] {
        b"null" | b"{}" => {
            json.truncate(custom);
            json.push(b'}');
        }
        _ => json[custom] = b',',
    }
    Ok(json)
}

/// A signed token of `kind` carrying `claims`, under `key`.
pub(super) fn mint<C: Serialize>(
    key: &CompiledKey,
    policy: &Policy,
    kind: TokenKind,
    claims: &Claims<C>,
) -> Result<String, AuthError> {
    let json = payload_json(claims, policy.issuer.as_deref(), policy.audience.as_deref())?;
    if let Some((mac, absorbed)) = key.minted_mac(kind) {
        let segment = key.header_segment(kind);
        let mut token = String::with_capacity(segment.len() + json.len() * 4 / 3 + 92);
        token.push_str(segment);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&json, &mut token);
        // The key has absorbed the start of the header already.
        let tag = mac.sign(&token.as_bytes()[absorbed..]);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(tag.as_ref(), &mut token);
        return Ok(token);
    }
    let internal = |e: &dyn std::fmt::Display| {
        AuthError::new(AuthErrorKind::Internal).with_source(std::io::Error::other(e.to_string()))
    };
    let encoding = key
        .keys
        .encoding()
        .ok_or_else(|| internal(&"no signing key"))?;
    // The same bytes, serialised verbatim.
    let payload = String::from_utf8(json).map_err(|e| internal(&e))?;
    let payload = RawValue::from_string(payload).map_err(|e| internal(&e))?;
    jsonwebtoken::encode(key.header(kind), &payload, encoding).map_err(|e| internal(&e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::{SessionId, TokenId};
    use crate::store::TokenStamp;

    /// The payload as serde derives it: what [`payload_json`] must write, byte for byte.
    #[derive(Serialize)]
    struct Derived<'a, C> {
        sub: &'a str,
        sid: SessionId,
        jti: TokenId,
        iat: u64,
        exp: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        nbf: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        iss: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        aud: Option<&'a str>,
        #[serde(flatten)]
        custom: &'a C,
    }

    #[derive(Serialize, Clone)]
    struct Extra {
        role: &'static str,
        level: u32,
    }

    fn claims<C>(sub: &str, custom: C) -> Claims<C> {
        let stamp = TokenStamp {
            jti: TokenId::from_bytes([1; 16]),
            iat: 100,
            exp: 200,
        };
        Claims::new(
            sub.to_owned(),
            SessionId::from_bytes([2; 16]),
            stamp,
            custom,
        )
    }

    fn same_as_derived<C: Serialize + Clone>(custom: C) {
        let subjects = ["alice", "a \"quoted\" \\ name\n with ☃ and \u{1F600}", ""];
        for sub in subjects {
            for nbf in [None, Some(99)] {
                for (iss, aud) in [(None, None), (Some("https://i.example"), Some("api \"x\""))] {
                    let mut claims = claims(sub, custom.clone());
                    claims.nbf = nbf;
                    let derived = serde_json::to_vec(&Derived {
                        sub: &claims.sub,
                        sid: claims.sid,
                        jti: claims.jti,
                        iat: claims.iat,
                        exp: claims.exp,
                        nbf: claims.nbf,
                        iss,
                        aud,
                        custom: &claims.custom,
                    })
                    .unwrap();
                    let written = payload_json(&claims, iss, aud).unwrap();
                    assert_eq!(
                        String::from_utf8(written).unwrap(),
                        String::from_utf8(derived).unwrap()
                    );
                }
            }
        }
    }

    #[test]
    fn hand_written_payload_equals_the_derived_form() {
        same_as_derived(());
        same_as_derived(Extra {
            role: "admin",
            level: 3,
        });
        same_as_derived(None::<Extra>);
        same_as_derived(Some(Extra {
            role: "x",
            level: 0,
        }));
        same_as_derived(std::collections::BTreeMap::<String, u8>::new());
    }

    #[test]
    fn claims_that_would_collide_are_never_written() {
        // Anything that is not an object cannot be merged into the payload: an error, no panic.
        assert!(matches!(
            payload_json(&claims("a", 7u8), None, None),
            Err(PayloadError::Claims(_))
        ));
        let mut map = std::collections::BTreeMap::new();
        map.insert("sub", "mallory");
        match payload_json(&claims("alice", map), None, None) {
            Err(PayloadError::Claims(e)) => assert_eq!(e.field(), Some("sub")),
            other => panic!("expected a claims error, got {other:?}"),
        }
    }
}
