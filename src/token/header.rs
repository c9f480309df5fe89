//! The header rules every verification path applies: this crate's own tokens (but for the header
//! it mints, which [`verify`](super::verify) compares byte for byte and needs no rule) and, with
//! the `oidc` feature, the tokens of an identity provider.
//!
//! [`Header::verify`] decides, in this order: no critical extension; the `typ`; the key the
//! `kid` picks; the algorithm pinned to that key; the signature, under that key; that the key
//! is the one the `kid` names. The cheap refusals come first, so a token of the wrong kind costs
//! no key lookup, let alone a fetch of keys. Members that name or carry a key (`jwk`, `jku`,
//! `x5u`, `x5c`) are never read: only the keys configured verify.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{Algorithm, TokenKind};
use crate::error::{AuthError, AuthErrorKind};

/// Which `typ` header a token may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TypRule {
    /// Exactly this kind's (`at+jwt`, `rt+jwt`).
    Kind(TokenKind),
    /// An access token's, `JWT`, or none: for issuers that do not type their access tokens.
    #[cfg(any(feature = "oidc", test))]
    AccessOrUntyped,
}

impl TypRule {
    /// The token a refusal under this rule concerns.
    fn token(self) -> TokenKind {
        match self {
            Self::Kind(kind) => kind,
            #[cfg(any(feature = "oidc", test))]
            Self::AccessOrUntyped => TokenKind::Access,
        }
    }

    fn admits(self, typ: Option<&str>) -> bool {
        match (self, typ) {
            (Self::Kind(kind), Some(typ)) => is_media_type(typ, kind.typ()),
            #[cfg(any(feature = "oidc", test))]
            (Self::AccessOrUntyped, Some(typ)) => {
                is_media_type(typ, TokenKind::Access.typ()) || is_media_type(typ, "jwt")
            }
            (Self::Kind(_), None) => false,
            #[cfg(any(feature = "oidc", test))]
            (Self::AccessOrUntyped, None) => true,
        }
    }
}

/// RFC 7515 §4.1.9: `typ` is a media type, whose `application/` prefix may be omitted, and media
/// types compare case-insensitively.
fn is_media_type(typ: &str, name: &str) -> bool {
    const PREFIX: &str = "application/";
    let typ = match typ.get(..PREFIX.len()) {
        Some(prefix) if prefix.eq_ignore_ascii_case(PREFIX) => &typ[PREFIX.len()..],
        _ => typ,
    };
    typ.eq_ignore_ascii_case(name)
}

/// A set of keys a header picks from by its `kid`.
pub(crate) trait KeyLookup {
    /// One key, pinned to one algorithm.
    type Key;

    /// The key a token naming `kid` (or none) is to be verified with, if any; never another key
    /// standing in for an unknown one. A set of a single key may offer it whatever the `kid`,
    /// so that its algorithm and signature speak first (a token of another key reads as a bad
    /// signature); [`is_named`](Self::is_named) decides after them.
    fn lookup(&self, kid: Option<&str>) -> Option<&Self::Key>;

    /// The one algorithm `key` verifies.
    fn algorithm(key: &Self::Key) -> Algorithm;

    /// Whether `key` is the key `kid` names.
    fn is_named(key: &Self::Key, kid: Option<&str>) -> bool;

    /// Whether `signature` (base64url) is `key`'s over `message` (`header.payload`), for a
    /// token of kind `token`.
    fn verify(
        key: &Self::Key,
        token: TokenKind,
        message: &str,
        signature: &str,
    ) -> Result<(), AuthError>;
}

/// A parsed JOSE header: the members [`verify`](Self::verify) decides on.
#[derive(Debug)]
pub(crate) struct Header {
    token: TokenKind,
    parsed: jsonwebtoken::Header,
}

impl Header {
    /// The header segment of a token of kind `token`, decoded. Refused as malformed: anything
    /// but base64url of a JSON object naming a signing algorithm (never `none`), and a member
    /// this crate reads (`alg`, `typ`, `kid`, `crit`) given twice.
    pub(crate) fn parse(segment: &str, token: TokenKind) -> Result<Self, AuthError> {
        let malformed = || {
            AuthError::token(AuthErrorKind::Malformed, token)
                .because("the header is not base64url JSON naming a known algorithm")
        };
        let json = URL_SAFE_NO_PAD.decode(segment).map_err(|_| malformed())?;
        let parsed = serde_json::from_slice(&json).map_err(|_| malformed())?;
        Ok(Self { token, parsed })
    }

    /// Verifies a token with this header under `typ`: the header is acceptable, and `signature`
    /// is the signature of `message` (`header.payload`) by the key of `keys` it picks.
    pub(crate) fn verify<K: KeyLookup>(
        &self,
        typ: TypRule,
        keys: &K,
        message: &str,
        signature: &str,
    ) -> Result<(), AuthError> {
        let refuse = |kind| AuthError::token(kind, self.token);
        let header = &self.parsed;
        // RFC 7515 §4.1.11: extensions the recipient must understand, and this crate
        // understands none (RFC 7797's `b64: false` included).
        if header.crit.is_some() {
            return Err(
                refuse(AuthErrorKind::Malformed).because("the header names a critical extension")
            );
        }
        if !typ.admits(header.typ.as_deref()) {
            return Err(AuthError::token(AuthErrorKind::WrongTokenType, typ.token()));
        }
        let kid = header.kid.as_deref();
        let key = keys
            .lookup(kid)
            .ok_or_else(|| refuse(AuthErrorKind::UnknownKey))?;
        // RFC 8725 §3.1: each key accepts exactly its algorithm.
        if header.alg != K::algorithm(key) {
            return Err(refuse(AuthErrorKind::InvalidSignature)
                .because("an alg other than the one pinned to the key"));
        }
        K::verify(key, self.token, message, signature)?;
        if !K::is_named(key, kid) {
            return Err(refuse(AuthErrorKind::UnknownKey));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys by id, each with its algorithm; the single key of a set of one is offered whatever
    /// the `kid`, as the crate's own key sets do. A key's signature is its id.
    struct Keys(Vec<(&'static str, Algorithm)>);

    impl KeyLookup for Keys {
        type Key = (&'static str, Algorithm);

        fn lookup(&self, kid: Option<&str>) -> Option<&Self::Key> {
            match self.0.as_slice() {
                [only] => Some(only),
                keys => keys.iter().find(|key| Some(key.0) == kid),
            }
        }

        fn algorithm(key: &Self::Key) -> Algorithm {
            key.1
        }

        fn is_named(key: &Self::Key, kid: Option<&str>) -> bool {
            Some(key.0) == kid
        }

        fn verify(
            key: &Self::Key,
            token: TokenKind,
            _: &str,
            signature: &str,
        ) -> Result<(), AuthError> {
            match signature == key.0 {
                true => Ok(()),
                false => Err(AuthError::token(AuthErrorKind::InvalidSignature, token)),
            }
        }
    }

    /// The verdict on a token with `header`, signed by the key `signer`.
    fn signed(header: &str, signer: &str, typ: TypRule, keys: &Keys) -> Result<(), AuthErrorKind> {
        let segment = URL_SAFE_NO_PAD.encode(header);
        let header = Header::parse(&segment, typ.token()).map_err(|e| e.kind())?;
        let message = format!("{segment}.e30");
        header
            .verify(typ, keys, &message, signer)
            .map_err(|e| e.kind())
    }

    /// The verdict on a token with `header`, signed by the key `k`.
    fn verdict(header: &str, typ: TypRule, keys: &Keys) -> Result<(), AuthErrorKind> {
        signed(header, "k", typ, keys)
    }

    const ACCESS: TypRule = TypRule::Kind(TokenKind::Access);

    #[test]
    fn every_member_read_is_refused_when_repeated() {
        let keys = Keys(vec![("k", Algorithm::EdDSA)]);
        let good = r#"{"typ":"at+jwt","alg":"EdDSA","kid":"k"}"#;
        assert_eq!(verdict(good, ACCESS, &keys), Ok(()));
        for repeated in [
            r#"{"typ":"at+jwt","alg":"EdDSA","alg":"EdDSA","kid":"k"}"#,
            r#"{"typ":"at+jwt","alg":"EdDSA","kid":"k","kid":"k"}"#,
            r#"{"typ":"at+jwt","typ":"at+jwt","alg":"EdDSA","kid":"k"}"#,
            r#"{"typ":"at+jwt","alg":"EdDSA","kid":"k","crit":[],"crit":[]}"#,
        ] {
            assert_eq!(
                verdict(repeated, ACCESS, &keys),
                Err(AuthErrorKind::Malformed),
                "{repeated}"
            );
        }
    }

    #[test]
    fn the_checks_come_in_order_cheapest_first() {
        use AuthErrorKind::{InvalidSignature, Malformed, UnknownKey, WrongTokenType};
        let one = Keys(vec![("k", Algorithm::EdDSA)]);
        let two = Keys(vec![("k", Algorithm::EdDSA), ("j", Algorithm::ES256)]);
        let cases = [
            // A critical extension, whatever else is wrong.
            (
                r#"{"typ":"JWT","alg":"HS256","kid":"x","crit":["b64"]}"#,
                "x",
                &one,
                Err(Malformed),
            ),
            // The typ before any key is looked at.
            (
                r#"{"typ":"JWT","alg":"HS256","kid":"x"}"#,
                "x",
                &two,
                Err(WrongTokenType),
            ),
            (
                r#"{"typ":"at+jwt","alg":"EdDSA","kid":"x"}"#,
                "x",
                &two,
                Err(UnknownKey),
            ),
            (
                r#"{"typ":"at+jwt","alg":"EdDSA","kid":"j"}"#,
                "j",
                &two,
                Err(InvalidSignature),
            ),
            (
                r#"{"typ":"at+jwt","alg":"ES256","kid":"j"}"#,
                "k",
                &two,
                Err(InvalidSignature),
            ),
            (
                r#"{"typ":"at+jwt","alg":"ES256","kid":"j"}"#,
                "j",
                &two,
                Ok(()),
            ),
            // A single key: its algorithm and signature speak before its id.
            (
                r#"{"typ":"at+jwt","alg":"HS256"}"#,
                "k",
                &one,
                Err(InvalidSignature),
            ),
            (
                r#"{"typ":"at+jwt","alg":"EdDSA","kid":"x"}"#,
                "x",
                &one,
                Err(InvalidSignature),
            ),
            (
                r#"{"typ":"at+jwt","alg":"EdDSA","kid":"x"}"#,
                "k",
                &one,
                Err(UnknownKey),
            ),
            (
                r#"{"typ":"at+jwt","alg":"EdDSA"}"#,
                "k",
                &one,
                Err(UnknownKey),
            ),
            (
                r#"{"typ":"at+jwt","alg":"EdDSA","kid":"k"}"#,
                "k",
                &one,
                Ok(()),
            ),
        ];
        for (header, signer, keys, expected) in cases {
            let verdict = signed(header, signer, ACCESS, keys);
            assert_eq!(verdict, expected, "{header} signed by {signer}");
        }
    }

    #[test]
    fn typ_compares_as_a_media_type_under_each_rule() {
        let keys = Keys(vec![("k", Algorithm::EdDSA)]);
        let header = |typ: Option<&str>| match typ {
            Some(typ) => format!(r#"{{"typ":"{typ}","alg":"EdDSA","kid":"k"}}"#),
            None => r#"{"alg":"EdDSA","kid":"k"}"#.to_owned(),
        };
        let refresh = TypRule::Kind(TokenKind::Refresh);
        let untyped = TypRule::AccessOrUntyped;
        let cases: [(Option<&str>, [bool; 3]); 10] = [
            // typ: [access, refresh, access or untyped]
            (Some("at+jwt"), [true, false, true]),
            (Some("Application/AT+JWT"), [true, false, true]),
            (Some("rt+jwt"), [false, true, false]),
            (Some("application/rt+jwt"), [false, true, false]),
            (Some("JWT"), [false, false, true]),
            (Some("application/jwt"), [false, false, true]),
            (None, [false, false, true]),
            (Some("application/"), [false, false, false]),
            (
                Some("application/application/at+jwt"),
                [false, false, false],
            ),
            (Some("at+jwt+rt+jwt"), [false, false, false]),
        ];
        for (typ, admitted) in cases {
            for (rule, admitted) in [ACCESS, refresh, untyped].into_iter().zip(admitted) {
                let expected = if admitted {
                    Ok(())
                } else {
                    Err(AuthErrorKind::WrongTokenType)
                };
                assert_eq!(
                    verdict(&header(typ), rule, &keys),
                    expected,
                    "{typ:?} {rule:?}"
                );
            }
        }
    }

    #[test]
    fn embedded_keys_are_never_read() {
        let keys = Keys(vec![("k", Algorithm::EdDSA)]);
        for member in [
            r#""jku":"http://127.0.0.1:1/jwks""#,
            r#""x5u":"http://127.0.0.1:1/cert""#,
            r#""x5c":["bm90IGEgY2VydGlmaWNhdGU"]"#,
            r#""jwk":{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
        ] {
            let header = format!(r#"{{"typ":"at+jwt","alg":"EdDSA","kid":"k",{member}}}"#);
            assert_eq!(verdict(&header, ACCESS, &keys), Ok(()), "{header}");
        }
    }
}
