//! Application claims can never collide with the claims the crate writes: a type whose shape
//! shows a reserved field is refused at `build()`, and any value that would write one (a map,
//! a flattened struct) is refused at `issue`, before anything is signed or stored.

use std::collections::BTreeMap;
use std::error::Error as _;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tower_jwt_auth::store::MemoryStore;
use tower_jwt_auth::{
    AuthErrorKind, ClaimsError, ClaimsErrorKind, ConfigErrorKind, CustomClaims, JwtSessions,
};

const SECRET: &[u8] = b"claims test secret of 32 bytes!!";
const RESERVED: [&str; 9] = [
    "sub", "sid", "jti", "iat", "exp", "nbf", "iss", "aud", "cnf",
];

fn build<C: CustomClaims>(
    store: &MemoryStore,
) -> Result<JwtSessions<C>, tower_jwt_auth::ConfigError> {
    JwtSessions::builder()
        .claims::<C>()
        .hs256_secret(SECRET)
        .store(store.clone())
        .build()
}

/// Issues `custom` and returns the claims error it was refused with; nothing may be stored.
async fn refused_at_issue<C: CustomClaims>(custom: C) -> ClaimsError {
    let store = MemoryStore::new();
    let sessions = build::<C>(&store).expect("the type itself is fine");
    let error = sessions
        .issue("alice", custom)
        .await
        .expect_err("claims that collide");
    assert_eq!(error.kind(), AuthErrorKind::InvalidCustomClaims);
    assert_eq!(error.status(), 500);
    assert!(store.is_empty(), "nothing is stored for a refused login");
    error
        .source()
        .and_then(|e| e.downcast_ref::<ClaimsError>())
        .expect("the source names the field")
        .clone()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Role {
    role: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct WithExtras {
    role: String,
    #[serde(flatten)]
    extras: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Nested {
    #[serde(flatten)]
    inner: Role,
    level: u8,
}

macro_rules! struct_with_field {
    ($($name:ident => $field:ident),* $(,)?) => {
        $(
            #[derive(Debug, Clone, Serialize, Deserialize)]
            struct $name {
                role: String,
                $field: String,
            }
        )*
    };
}

struct_with_field!(
    HasSub => sub, HasSid => sid, HasJti => jti, HasIat => iat, HasExp => exp,
    HasNbf => nbf, HasIss => iss, HasAud => aud, HasCnf => cnf,
);

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Renamed {
    #[serde(rename = "sub")]
    subject_override: String,
}

fn refused_at_build<C: CustomClaims>() -> String {
    let error = build::<C>(&MemoryStore::new()).expect_err("a type that collides");
    assert_eq!(error.kind(), ConfigErrorKind::InvalidClaims);
    error.to_string()
}

#[test]
fn a_struct_with_a_reserved_field_is_refused_at_build_naming_it() {
    let messages = [
        refused_at_build::<HasSub>(),
        refused_at_build::<HasSid>(),
        refused_at_build::<HasJti>(),
        refused_at_build::<HasIat>(),
        refused_at_build::<HasExp>(),
        refused_at_build::<HasNbf>(),
        refused_at_build::<HasIss>(),
        refused_at_build::<HasAud>(),
        refused_at_build::<HasCnf>(),
    ];
    for (message, name) in messages.iter().zip(RESERVED) {
        assert!(message.contains(&format!("`{name}`")), "{message}");
    }
    assert!(refused_at_build::<Renamed>().contains("`sub`"));
    assert!(refused_at_build::<Option<HasSub>>().contains("`sub`"));
}

#[test]
fn claims_that_are_no_object_are_refused_at_build() {
    for (message, shape) in [
        (refused_at_build::<String>(), "a string"),
        (refused_at_build::<u64>(), "a number"),
        (refused_at_build::<Vec<String>>(), "an array"),
    ] {
        assert!(message.contains(shape), "{message}");
    }
    for good in [
        build::<()>(&MemoryStore::new()).is_ok(),
        build::<Role>(&MemoryStore::new()).is_ok(),
        build::<Nested>(&MemoryStore::new()).is_ok(),
        build::<BTreeMap<String, Value>>(&MemoryStore::new()).is_ok(),
    ] {
        assert!(good);
    }
}

#[tokio::test]
async fn a_map_with_any_reserved_key_is_refused_at_issue() {
    for name in RESERVED {
        let mut map = BTreeMap::new();
        map.insert("role".to_owned(), json!("admin"));
        map.insert(name.to_owned(), json!("mallory"));
        let error = refused_at_issue(map).await;
        assert_eq!(error.kind(), ClaimsErrorKind::Reserved);
        assert_eq!(error.field(), Some(name));
    }
}

#[tokio::test]
async fn a_flattened_map_with_a_reserved_or_repeated_key_is_refused_at_issue() {
    for name in RESERVED {
        let claims = WithExtras {
            role: "admin".into(),
            extras: [(name.to_owned(), json!("mallory"))].into(),
        };
        let error = refused_at_issue(claims).await;
        assert_eq!(error.field(), Some(name));
    }
    let claims = WithExtras {
        role: "admin".into(),
        extras: [("role".to_owned(), json!("root"))].into(),
    };
    let error = refused_at_issue(claims).await;
    assert_eq!(error.kind(), ClaimsErrorKind::Duplicate);
    assert_eq!(error.field(), Some("role"));
}

#[tokio::test]
async fn claims_whose_value_is_no_object_are_refused_at_issue() {
    // `Value` decides its shape at run time, so only the value can tell.
    let error = refused_at_issue(json!("just a string")).await;
    assert_eq!(error.kind(), ClaimsErrorKind::NotAnObject);
    assert!(error.to_string().contains("a string"));
}

#[tokio::test]
async fn good_claims_round_trip_and_never_carry_a_second_subject() {
    let store = MemoryStore::new();
    let sessions = build::<Nested>(&store).expect("configuration");
    let claims = Nested {
        inner: Role {
            role: "admin".into(),
        },
        level: 3,
    };
    let pair = sessions.issue("alice", claims).await.expect("issue");
    let verified = sessions
        .authenticate(pair.access_token())
        .await
        .expect("valid");
    assert_eq!(verified.subject(), "alice");
    assert_eq!(verified.custom().inner.role, "admin");
    assert_eq!(verified.custom().level, 3);
    let payload = pair.access_token().split('.').nth(1).expect("payload");
    let payload = String::from_utf8(
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .expect("base64url"),
    )
    .expect("UTF-8");
    assert_eq!(payload.matches("\"sub\"").count(), 1, "{payload}");
}
