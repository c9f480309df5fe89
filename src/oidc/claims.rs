//! [`AccessClaims`]: what a verified token of an identity provider says.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::error::{AuthError, AuthErrorKind};
use crate::token::rules;

/// The claims of an access token verified by a [`ResourceServer`](super::ResourceServer), put in
/// the request's extensions by its layer (and an axum extractor with the `axum` feature).
///
/// The registered claims have accessors; every other claim is reachable by
/// [`claim`](Self::claim), with a dotted path for nested ones (Keycloak's
/// `realm_access.roles`).
///
/// ```
/// use tower_jwt_auth::oidc::AccessClaims;
///
/// let claims = AccessClaims::from_json(serde_json::json!({
///     "iss": "https://idp.example.com", "sub": "service-a", "aud": ["api"], "exp": 2000000000,
///     "scope": "orders:read orders:write", "realm_access": {"roles": ["admin"]}
/// }))?;
/// assert!(claims.has_scope("orders:write"));
/// assert_eq!(claims.values_at("realm_access.roles"), ["admin"]);
/// # Ok::<(), tower_jwt_auth::AuthError>(())
/// ```
#[derive(Debug, Clone)]
pub struct AccessClaims {
    // Behind one `Arc`: a request served from the verified-token cache clones the claims, and a
    // clone must cost no allocation.
    inner: Arc<Parts>,
}

#[derive(Debug)]
struct Parts {
    expires_at: u64,
    audiences: Vec<String>,
    scopes: Vec<String>,
    all: Map<String, Value>,
}

impl AccessClaims {
    /// The claims of a payload; `exp` must be a number.
    pub fn from_json(value: Value) -> Result<Self, AuthError> {
        match value {
            Value::Object(map) => Self::from_map(map),
            _ => Err(AuthError::new(AuthErrorKind::Malformed)),
        }
    }

    /// The claims of a verified payload, its JSON text, held to the rules of every payload:
    /// UTF-8 throughout, and no object in it, at any depth, names a member twice.
    pub(crate) fn from_payload(json: &[u8]) -> Result<Self, AuthError> {
        let malformed = |defect| AuthError::new(AuthErrorKind::Malformed).because(defect);
        rules::utf8(json)
            .and_then(|()| rules::each_member_once(json))
            .map_err(|defect| malformed(defect.describe()))?;
        let all = serde_json::from_slice(json)
            .map_err(|_| malformed("the payload is not a JSON object"))?;
        Self::from_map(all)
    }

    fn from_map(all: Map<String, Value>) -> Result<Self, AuthError> {
        let invalid = || AuthError::new(AuthErrorKind::InvalidClaims);
        // A numeric date that is missing or no number is a malformed token, as on the crate's
        // own path.
        let expires_at = all.get("exp").and_then(Value::as_u64).ok_or_else(|| {
            AuthError::new(AuthErrorKind::Malformed).because("no exp, or one that is not a number")
        })?;
        let audiences = match all.get("aud") {
            None => Vec::new(),
            Some(Value::String(one)) => vec![one.clone()],
            Some(Value::Array(many)) => many
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or_else(|| invalid().because("an aud that is not strings"))?,
            Some(_) => return Err(invalid().because("an aud that is not strings")),
        };
        // RFC 9068 §2.2.3 / RFC 8693 §4.2: `scope`, space-separated; Microsoft and others send
        // `scp`, as an array or a string.
        let scopes = match all.get("scope").or_else(|| all.get("scp")) {
            None => Vec::new(),
            Some(Value::String(list)) => list.split_ascii_whitespace().map(str::to_owned).collect(),
            Some(Value::Array(list)) => list
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            Some(_) => return Err(invalid().because("a scope that is not a string or strings")),
        };
        Ok(Self {
            inner: Arc::new(Parts {
                expires_at,
                audiences,
                scopes,
                all,
            }),
        })
    }

    /// `iss`.
    #[must_use]
    pub fn issuer(&self) -> Option<&str> {
        self.inner.all.get("iss").and_then(Value::as_str)
    }

    /// `sub`: the user, or for a client-credentials token usually the client.
    #[must_use]
    pub fn subject(&self) -> Option<&str> {
        self.inner.all.get("sub").and_then(Value::as_str)
    }

    /// `aud`, as a list.
    #[must_use]
    pub fn audiences(&self) -> &[String] {
        &self.inner.audiences
    }

    /// `exp`, seconds since the Unix epoch.
    #[must_use]
    pub fn expires_at(&self) -> u64 {
        self.inner.expires_at
    }

    /// The scopes granted: `scope` split at spaces, or `scp`.
    #[must_use]
    pub fn scopes(&self) -> &[String] {
        &self.inner.scopes
    }

    /// Whether `scope` was granted.
    #[must_use]
    pub fn has_scope(&self, scope: &str) -> bool {
        self.inner.scopes.iter().any(|s| s == scope)
    }

    /// The claim at a dotted `path` (`realm_access.roles`), if present.
    #[must_use]
    pub fn claim(&self, path: &str) -> Option<&Value> {
        let mut parts = path.split('.');
        let first = self.inner.all.get(parts.next()?)?;
        parts.try_fold(first, |value, part| value.get(part))
    }

    /// The string values at a dotted `path`, each whole: an array's strings, or a string as one
    /// value. Never split at spaces: only `scope` is a space-separated list (see
    /// [`scopes`](Self::scopes)), so a role claim `"not admin"` is the one role `not admin`.
    ///
    /// ```
    /// use tower_jwt_auth::oidc::AccessClaims;
    ///
    /// let claims = AccessClaims::from_json(serde_json::json!({
    ///     "exp": 2000000000, "role": "not admin", "groups": ["admin", "ops team", 7]
    /// }))?;
    /// assert_eq!(claims.values_at("role"), ["not admin"]);
    /// assert_eq!(claims.values_at("groups"), ["admin", "ops team"]);
    /// assert!(claims.values_at("missing").is_empty());
    /// # Ok::<(), tower_jwt_auth::AuthError>(())
    /// ```
    #[must_use]
    pub fn values_at(&self, path: &str) -> Vec<&str> {
        match self.claim(path) {
            Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
            Some(Value::String(value)) => vec![value],
            _ => Vec::new(),
        }
    }

    /// Every claim of the token.
    #[must_use]
    pub fn all(&self) -> &Map<String, Value> {
        &self.inner.all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_naming_a_member_twice_at_any_depth_is_malformed() {
        let refused: [&[u8]; 5] = [
            br#"{"exp":2000000000,"sub":"alice","sub":"admin"}"#,
            br#"{"exp":2000000000,"exp":4000000000}"#,
            br#"{"exp":2000000000,"realm_access":{"roles":["user"],"roles":["admin"]}}"#,
            br#"{"exp":2000000000,"groups":[{"name":"ops","name":"admin"}]}"#,
            // Not UTF-8, in a claim nothing reads.
            b"{\"exp\":2000000000,\"note\":\"\xff\"}",
        ];
        for json in refused {
            let error = AccessClaims::from_payload(json).unwrap_err();
            let shown = String::from_utf8_lossy(json);
            assert_eq!(error.kind(), AuthErrorKind::Malformed, "{shown}");
        }
        // The same name in two objects is no repetition.
        let claims = AccessClaims::from_payload(
            br#"{"exp":2000000000,"a":{"roles":["x"]},"b":{"roles":["x"]},"big":1e300}"#,
        )
        .expect("claims");
        assert_eq!(claims.values_at("b.roles"), ["x"]);
    }

    #[test]
    fn a_missing_or_non_numeric_exp_is_malformed() {
        for json in [
            r#"{"sub":"alice"}"#,
            r#"{"exp":"2000000000"}"#,
            r#"{"exp":-1}"#,
            r#"{"exp":2e9}"#,
        ] {
            let error = AccessClaims::from_payload(json.as_bytes()).unwrap_err();
            assert_eq!(error.kind(), AuthErrorKind::Malformed, "{json}");
        }
    }
}
