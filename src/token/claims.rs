//! [`Claims`]: what a verified token says, and the rule that keeps application claims apart from
//! the ones this crate writes.
//!
//! Application claims are merged into the token's payload beside the registered ones. A field
//! named like one of those (`sub`, `sid`, `jti`, `iat`, `exp`, `nbf`, `iss`, `aud`, `cnf`) would
//! put that key in the payload twice; this crate would refuse such a token, but a parser that
//! keeps the last key (another service, a browser) would read the application's value. So such
//! claims are refused before anything is signed: at [`build`](crate::JwtSessionsBuilder::build)
//! when the type alone shows it, and at the latest when a token is minted.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeOwned, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::probe::{Shape, probe};
use crate::id::{SessionId, TokenId};

/// The payload keys this crate writes or validates. Application claims may not use them, and
/// verification consumes them, so the application never receives them either.
pub(crate) const RESERVED_CLAIMS: [&str; 9] = [
    "sub", "sid", "jti", "iat", "exp", "nbf", "iss", "aud", "cnf",
];

/// Application claims carried in both tokens of a session, beside the registered ones.
///
/// Implemented for every type that can be (de)serialised, cloned and shared across threads; use
/// `()` for none. The claims must serialise as a JSON object (a struct, a map, or `()`), whose
/// keys are merged into the token's payload; none of them may be one of the claims this crate
/// writes or validates: `sub`, `sid`, `jti`, `iat`, `exp`, `nbf`, `iss`, `aud` or `cnf`. A type
/// that breaks the rule is refused by [`build`](crate::JwtSessionsBuilder::build) when its
/// shape shows it, and otherwise (a map, a flattened struct) when a token would be minted, with a
/// [`ClaimsError`] naming the field.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use tower_jwt_auth::{ConfigErrorKind, JwtSessions};
/// use tower_jwt_auth::store::MemoryStore;
///
/// #[derive(Clone, Serialize, Deserialize)]
/// struct Spoofing {
///     sub: String, // would collide with the subject
/// }
///
/// let error = JwtSessions::builder().claims::<Spoofing>()
///     .hs256_secret(b"an example secret of 32+ bytes!!")
///     .build()
///     .unwrap_err();
/// assert_eq!(error.kind(), ConfigErrorKind::InvalidClaims);
/// assert!(error.to_string().contains("`sub`"));
/// ```
pub trait CustomClaims: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {}

impl<T> CustomClaims for T where T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {}

/// The verified claims of a token. The layer puts `Claims<C>` of the access token in the request
/// extensions.
///
/// Serialises as the token's payload does, without `iss` and `aud`.
///
/// ```
/// use tower_jwt_auth::Claims;
///
/// async fn handler(request: http::Request<()>) -> String {
///     let claims = request.extensions().get::<Claims<()>>().expect("behind JwtAuthLayer");
///     format!("hello {}", claims.subject())
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claims<C = ()> {
    pub(super) sub: String,
    pub(super) sid: SessionId,
    pub(super) jti: TokenId,
    pub(super) iat: u64,
    pub(super) exp: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) nbf: Option<u64>,
    #[serde(flatten)]
    pub(super) custom: C,
}

impl<C> Claims<C> {
    pub(crate) fn new(
        subject: String,
        session: SessionId,
        stamp: crate::store::TokenStamp,
        custom: C,
    ) -> Self {
        Self {
            sub: subject,
            sid: session,
            jti: stamp.jti,
            iat: stamp.iat,
            exp: stamp.exp,
            nbf: None,
            custom,
        }
    }

    /// The subject (`sub`): whom the session belongs to.
    pub fn subject(&self) -> &str {
        &self.sub
    }

    /// The session (`sid`) this token belongs to.
    pub fn session_id(&self) -> SessionId {
        self.sid
    }

    /// This token's identifier (`jti`).
    pub fn token_id(&self) -> TokenId {
        self.jti
    }

    /// When the token was issued (`iat`), seconds since the Unix epoch.
    pub fn issued_at(&self) -> u64 {
        self.iat
    }

    /// When the token expires (`exp`), seconds since the Unix epoch.
    pub fn expires_at(&self) -> u64 {
        self.exp
    }

    /// When the token becomes valid (`nbf`), if it says: this crate mints none, but a token
    /// minted elsewhere with the same keys may carry one.
    pub(crate) fn not_before(&self) -> Option<u64> {
        self.nbf
    }

    /// The application claims.
    pub fn custom(&self) -> &C {
        &self.custom
    }

    /// Takes the application claims out.
    pub fn into_custom(self) -> C {
        self.custom
    }
}

/// What is wrong with a type of application claims. New kinds may be added.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClaimsErrorKind {
    /// A field is named like a claim this crate writes or validates.
    Reserved,
    /// A field appears twice (say, a struct field and a key of a flattened map).
    Duplicate,
    /// The claims do not serialise as a JSON object.
    NotAnObject,
}

/// Application claims that cannot be merged into a token's payload; see [`CustomClaims`].
#[derive(Clone, PartialEq, Eq)]
pub struct ClaimsError {
    kind: ClaimsErrorKind,
    /// The field concerned, or for [`ClaimsErrorKind::NotAnObject`] what the claims serialise as.
    what: Cow<'static, str>,
}

/// Longest field name an error repeats; application claims may hold keys from user input.
const MAX_FIELD_LEN: usize = 64;

impl ClaimsError {
    fn reserved(name: &'static str) -> Self {
        Self {
            kind: ClaimsErrorKind::Reserved,
            what: Cow::Borrowed(name),
        }
    }

    fn not_an_object(shape: &'static str) -> Self {
        Self {
            kind: ClaimsErrorKind::NotAnObject,
            what: Cow::Borrowed(shape),
        }
    }

    fn duplicate(name: &str) -> Self {
        // Escaped and bounded: the name may come from a map filled with user input.
        let mut what: String = name.chars().take(MAX_FIELD_LEN).collect();
        if what.len() < name.len() {
            what.push('…');
        }
        Self {
            kind: ClaimsErrorKind::Duplicate,
            what: Cow::Owned(what.escape_debug().to_string()),
        }
    }

    /// What is wrong.
    #[must_use]
    pub fn kind(&self) -> ClaimsErrorKind {
        self.kind
    }

    /// The field concerned (escaped, and cut at 64 characters), if the error is about one.
    #[must_use]
    pub fn field(&self) -> Option<&str> {
        match self.kind {
            ClaimsErrorKind::NotAnObject => None,
            _ => Some(&self.what),
        }
    }
}

impl fmt::Debug for ClaimsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClaimsError")
            .field("kind", &self.kind)
            .field("what", &self.what)
            .finish()
    }
}

impl fmt::Display for ClaimsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ClaimsErrorKind::Reserved => write!(
                f,
                "the application claims have a field `{}`, a claim this crate writes itself \
                 (reserved: {})",
                self.what,
                RESERVED_CLAIMS.join(", ")
            ),
            ClaimsErrorKind::Duplicate => {
                write!(
                    f,
                    "the application claims have the field `{}` twice",
                    self.what
                )
            }
            ClaimsErrorKind::NotAnObject => write!(
                f,
                "the application claims must serialise as a JSON object (a struct, a map or ()), \
                 not as {}",
                self.what
            ),
        }
    }
}

impl std::error::Error for ClaimsError {}

fn reserved(name: &str) -> Option<&'static str> {
    RESERVED_CLAIMS.iter().copied().find(|r| *r == name)
}

/// Checks what the type of the claims shows without a value: the field names of a struct, or
/// a shape that is no object at all. Maps and flattened structs only show their keys in a value;
/// [`check_object`] checks those when a token is minted.
pub(crate) fn check_type<C: DeserializeOwned>() -> Result<(), ClaimsError> {
    match probe::<C>() {
        Ok(_) | Err(Shape::Unknown) => Ok(()),
        Err(Shape::Fields(fields)) => fields
            .iter()
            .find_map(|field| reserved(field))
            .map_or(Ok(()), |name| Err(ClaimsError::reserved(name))),
        Err(Shape::Other(shape)) => Err(ClaimsError::not_an_object(shape)),
    }
}

/// Checks the claims as serialised: a JSON object none of whose keys is reserved or repeated.
/// `json` is what `serde_json` wrote for them; `null` (from `()`) stands for no claims.
pub(crate) fn check_object(json: &[u8]) -> Result<(), ClaimsError> {
    let shape = match json.first() {
        Some(b'{') => return check_keys(json),
        Some(b'n') => return Ok(()),
        Some(b'"') => "a string",
        Some(b'[') => "an array",
        Some(b't' | b'f') => "a boolean",
        _ => "a number",
    };
    Err(ClaimsError::not_an_object(shape))
}

fn check_keys(json: &[u8]) -> Result<(), ClaimsError> {
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    match deserializer.deserialize_map(KeyCheck) {
        Ok(result) => result,
        // serde_json wrote these bytes itself a moment ago: an object it cannot read back is
        // not one this crate will put in a token.
        Err(_) => Err(ClaimsError::not_an_object("an unreadable object")),
    }
}

/// Walks an object's keys, borrowing them where they need no unescaping.
struct KeyCheck;

impl<'de> Visitor<'de> for KeyCheck {
    type Value = Result<(), ClaimsError>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // A handful of keys: a linear scan beats hashing. The whole object is read even after
        // a finding, as the deserializer expects.
        let mut seen: Vec<Key<'de>> = Vec::new();
        let mut verdict = Ok(());
        while let Some(key) = map.next_key::<Key<'de>>()? {
            map.next_value::<IgnoredAny>()?;
            if verdict.is_err() {
                continue;
            }
            if let Some(name) = reserved(&key.0) {
                verdict = Err(ClaimsError::reserved(name));
            } else if seen.iter().any(|k| k.0 == key.0) {
                verdict = Err(ClaimsError::duplicate(&key.0));
            }
            seen.push(key);
        }
        Ok(verdict)
    }
}

struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, HashMap};

    #[derive(Clone, Serialize, Deserialize)]
    struct Role {
        role: String,
    }

    #[test]
    fn the_type_shows_struct_fields_and_non_objects() {
        assert_eq!(check_type::<()>(), Ok(()));
        assert_eq!(check_type::<Role>(), Ok(()));
        assert_eq!(check_type::<Option<Role>>(), Ok(()));
        assert_eq!(
            check_type::<HashMap<String, u8>>(),
            Ok(()),
            "keys show in values only"
        );
        for (error, shape) in [
            (check_type::<String>(), "a string"),
            (check_type::<u32>(), "a number"),
            (check_type::<Vec<u8>>(), "an array"),
            (check_type::<(u8, u8)>(), "an array"),
            (check_type::<bool>(), "a boolean"),
            (check_type::<Option<String>>(), "a string"),
        ] {
            let error = error.unwrap_err();
            assert_eq!(error.kind(), ClaimsErrorKind::NotAnObject);
            assert!(error.to_string().ends_with(shape), "{error}");
        }
    }

    #[test]
    fn every_reserved_name_is_refused_by_type_and_by_value() {
        for name in RESERVED_CLAIMS {
            let json = format!(r#"{{"role":"x","{name}":1}}"#);
            let error = check_object(json.as_bytes()).unwrap_err();
            assert_eq!(error.kind(), ClaimsErrorKind::Reserved);
            assert_eq!(error.field(), Some(name));
            let mut map = BTreeMap::new();
            map.insert(name.to_owned(), 1);
            let json = serde_json::to_vec(&map).unwrap();
            assert_eq!(check_object(&json).unwrap_err().field(), Some(name));
        }
    }

    #[test]
    fn repeated_keys_and_non_objects_are_refused_by_value() {
        let error = check_object(br#"{"role":1,"role":2}"#).unwrap_err();
        assert_eq!(error.kind(), ClaimsErrorKind::Duplicate);
        assert_eq!(error.field(), Some("role"));
        let error = check_object(br#"{"a\nb":1,"a\nb":2}"#).unwrap_err();
        assert!(!error.to_string().contains('\n'), "{error}");
        for json in [&b"\"x\""[..], b"[1]", b"12", b"true"] {
            assert_eq!(
                check_object(json).unwrap_err().kind(),
                ClaimsErrorKind::NotAnObject
            );
        }
        assert_eq!(check_object(b"null"), Ok(()));
        assert_eq!(check_object(b"{}"), Ok(()));
        assert_eq!(check_object(br#"{"role":"admin","level":3}"#), Ok(()));
    }
}
