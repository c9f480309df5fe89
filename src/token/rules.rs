//! The rules a token's claims are held to once its signature holds, whoever minted it: the text
//! of its payload, a configured `iss` and `aud`, and its time window.
//!
//! Each path reads claims its own way: this crate's sessions into [`Claims`](super::Claims)
//! (by hand where it can, see [`payload`](super::payload)), and, with the `oidc` feature, the
//! resource server into a map of every claim. Both judge what they read here, so a rule cannot
//! hold on one path and drift on the other.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::error::{AuthError, AuthErrorKind};

/// What is wrong with the text of a payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextDefect {
    /// Some of it is not UTF-8.
    NotUtf8,
    /// It is not JSON.
    NotJson,
    /// An object in it names a member twice.
    MemberTwice,
}

impl TextDefect {
    /// The defect in this crate's words, for [`AuthError::because`].
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Self::NotUtf8 => "the payload is not UTF-8",
            Self::NotJson => "the payload is not a JSON object",
            Self::MemberTwice => "a member named twice",
        }
    }
}

/// The payload is UTF-8 throughout (RFC 7519 §7.2): a parser checks only the strings it keeps,
/// not those it skips (an unknown claim, `cnf`).
pub(crate) fn utf8(json: &[u8]) -> Result<(), TextDefect> {
    match std::str::from_utf8(json) {
        Ok(_) => Ok(()),
        Err(_) => Err(TextDefect::NotUtf8),
    }
}

/// No object in the JSON text `json`, at any depth, names a member twice, so that no claim
/// means one thing here and another to a parser that keeps the other copy.
///
/// A reading of its own, which keeps nothing: serde_json's keeps the last copy of a member, and
/// a visitor that built the values itself would misread numbers wherever serde_json's
/// `arbitrary_precision` feature is on.
pub(crate) fn each_member_once(json: &[u8]) -> Result<(), TextDefect> {
    serde_json::from_slice::<EachMemberOnce>(json).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => TextDefect::MemberTwice,
        _ => TextDefect::NotJson,
    })?;
    Ok(())
}

/// A claim a service may pin: when it names accepted values, the claim is required.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pinned {
    /// `iss`.
    Issuer,
    /// `aud`.
    Audience,
}

/// A configured check is required, not merely compared: with `accepted` values configured, the
/// token must carry the claim and one of its values (`found`) must be accepted. Nothing
/// configured, nothing checked.
pub(crate) fn require<'v>(
    claim: Pinned,
    accepted: &[String],
    found: impl IntoIterator<Item = &'v str>,
) -> Result<(), AuthError> {
    if accepted.is_empty() {
        return Ok(());
    }
    let mut found = found.into_iter().peekable();
    let missing = found.peek().is_none();
    if found.any(|value| accepted.iter().any(|a| a == value)) {
        return Ok(());
    }
    let defect = match (claim, missing) {
        (Pinned::Issuer, true) => "no iss, where an issuer is required",
        (Pinned::Issuer, false) => "another issuer",
        (Pinned::Audience, true) => "no aud, where an audience is required",
        (Pinned::Audience, false) => "another audience",
    };
    Err(AuthError::new(AuthErrorKind::InvalidClaims).because(defect))
}

/// When a token may be used: until its `exp` and from its `nbf`, each widened by the leeway,
/// and never with an `exp` further off than the longest lifetime the service accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeWindow {
    leeway: u64,
    max_lifetime: u64,
}

impl TimeWindow {
    /// Clock-skew allowance of `leeway` seconds on `exp` and `nbf`, and no longest lifetime.
    pub(crate) fn new(leeway: u64) -> Self {
        Self {
            leeway,
            max_lifetime: u64::MAX,
        }
    }

    /// Refuses an `exp` more than `secs` (plus the leeway) after `now`: nothing this crate
    /// mints outlives a session, so such an `exp` was never issued by it.
    #[must_use]
    pub(crate) fn max_lifetime(self, secs: u64) -> Self {
        Self {
            max_lifetime: secs,
            ..self
        }
    }

    /// Whether a token expiring at `exp`, valid from `nbf` if given, may be used at `now`. An
    /// expired token is told first, whatever else is wrong with its times: it never becomes
    /// valid, and only an expiry lets a session refresh.
    pub(crate) fn check(&self, exp: u64, nbf: Option<u64>, now: u64) -> Result<(), AuthError> {
        if now >= exp.saturating_add(self.leeway) {
            return Err(AuthError::new(AuthErrorKind::Expired));
        }
        let latest = now
            .saturating_add(self.max_lifetime)
            .saturating_add(self.leeway);
        if exp > latest {
            return Err(AuthError::new(AuthErrorKind::InvalidClaims)
                .because("an exp beyond the longest lifetime"));
        }
        if nbf.is_some_and(|nbf| nbf > now.saturating_add(self.leeway)) {
            return Err(AuthError::new(AuthErrorKind::NotYetValid));
        }
        Ok(())
    }
}

/// A JSON value whose objects, at every depth, name each member once; read, not kept.
struct EachMemberOnce;

impl<'de> Deserialize<'de> for EachMemberOnce {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(Self)
    }
}

impl<'de> Visitor<'de> for EachMemberOnce {
    type Value = Self;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON whose objects name each member once")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_unit<E>(self) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self, A::Error> {
        while seq.next_element::<Self>()?.is_some() {}
        Ok(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self, A::Error> {
        let mut names = BTreeSet::new();
        while let Some(Name(name)) = map.next_key()? {
            if !names.insert(name) {
                return Err(de::Error::custom("a member named twice"));
            }
            map.next_value::<Self>()?;
        }
        Ok(self)
    }
}

/// A member's name, borrowed from the payload unless it holds an escape.
struct Name<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;

        impl<'de> Visitor<'de> for NameVisitor {
            type Value = Name<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member's name")
            }

            fn visit_borrowed_str<E>(self, name: &'de str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Borrowed(name)))
            }

            fn visit_str<E>(self, name: &str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(name.to_owned())))
            }
        }

        deserializer.deserialize_str(NameVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_named_twice_at_any_depth_is_refused() {
        let refused: [&[u8]; 4] = [
            br#"{"exp":2000000000,"sub":"alice","sub":"admin"}"#,
            br#"{"exp":2000000000,"exp":4000000000}"#,
            br#"{"exp":2000000000,"realm_access":{"roles":["user"],"roles":["admin"]}}"#,
            br#"{"exp":2000000000,"groups":[{"name":"ops","name":"admin"}]}"#,
        ];
        for json in refused {
            let shown = String::from_utf8_lossy(json);
            assert_eq!(
                each_member_once(json),
                Err(TextDefect::MemberTwice),
                "{shown}"
            );
        }
        // The same name in two objects is no repetition; an escape spells the same name.
        let once = br#"{"a":{"roles":["x"]},"b":{"roles":["x"]},"big":1e300}"#;
        assert_eq!(each_member_once(once), Ok(()));
        let escaped = br#"{"role":"user","r\u006fle":"admin"}"#;
        assert_eq!(each_member_once(escaped), Err(TextDefect::MemberTwice));
        assert_eq!(each_member_once(b"{\"a\":"), Err(TextDefect::NotJson));
        assert_eq!(utf8(b"{\"note\":\"\xff\"}"), Err(TextDefect::NotUtf8));
    }

    #[test]
    fn a_configured_claim_is_required() {
        let accepted = ["api".to_owned(), "admin-api".to_owned()];
        let verdict = |found: &[&str]| {
            require(Pinned::Audience, &accepted, found.iter().copied()).map_err(|e| e.kind())
        };
        assert_eq!(verdict(&["api"]), Ok(()));
        assert_eq!(verdict(&["other", "admin-api"]), Ok(()));
        assert_eq!(verdict(&["other"]), Err(AuthErrorKind::InvalidClaims));
        assert_eq!(verdict(&[]), Err(AuthErrorKind::InvalidClaims));
        // Nothing configured: anything, or nothing, passes.
        assert!(require(Pinned::Issuer, &[], []).is_ok());
        assert!(require(Pinned::Issuer, &[], ["anyone"]).is_ok());
    }

    #[test]
    fn the_window_widens_by_the_leeway_and_tells_expiry_first() {
        let kind =
            |window: TimeWindow, exp, nbf, now| window.check(exp, nbf, now).map_err(|e| e.kind());
        let exact = TimeWindow::new(0);
        assert_eq!(kind(exact, 200, None, 199), Ok(()));
        assert_eq!(kind(exact, 200, None, 200), Err(AuthErrorKind::Expired));
        assert_eq!(
            kind(exact, 200, Some(150), 149),
            Err(AuthErrorKind::NotYetValid)
        );
        assert_eq!(kind(exact, 200, Some(150), 150), Ok(()));
        let lenient = TimeWindow::new(5);
        assert_eq!(kind(lenient, 200, None, 204), Ok(()));
        assert_eq!(kind(lenient, 200, None, 205), Err(AuthErrorKind::Expired));
        assert_eq!(kind(lenient, 200, Some(150), 145), Ok(()));
        assert_eq!(
            kind(lenient, 200, Some(150), 144),
            Err(AuthErrorKind::NotYetValid)
        );
        // A token that is both: expired.
        assert_eq!(
            kind(exact, 100, Some(150), 120),
            Err(AuthErrorKind::Expired)
        );
        let bounded = TimeWindow::new(5).max_lifetime(60);
        assert_eq!(kind(bounded, 165, None, 100), Ok(()));
        assert_eq!(
            kind(bounded, 166, None, 100),
            Err(AuthErrorKind::InvalidClaims)
        );
        assert_eq!(kind(exact, u64::MAX, None, 100), Ok(()));
    }
}
