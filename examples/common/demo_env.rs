//! The demo's environment, shared by every demo server (`server.rs` on axum, and the others):
//! the keys, lifetimes, refresh policy, cookie mode and pair store that the variables listed in
//! `server.rs` choose. Included by each demo with `#[path]`, so all of them read one set of
//! variables the same way.

use std::env;
use std::error::Error;
use std::time::Duration;

use tower_jwt_auth::cookie::CookieSettings;
use tower_jwt_auth::{Algorithm, JwtKeys, JwtSessions, JwtSessionsBuilder};

pub(crate) type BoxError = Box<dyn Error + Send + Sync>;

/// The sessions the environment describes, on the store `PAIR_STORE` names.
pub(crate) async fn sessions() -> Result<JwtSessions, BoxError> {
    let sessions = with_store(configure(JwtSessions::builder())?)
        .await?
        .build()?;
    let config = sessions.config();
    println!(
        "access tokens live {} s, sessions {} s, grace window {} s{}",
        config.access_ttl().as_secs(),
        config.refresh_ttl().as_secs(),
        config.refresh_grace().as_secs(),
        match env::var("REFRESH_GRACE_SECS") {
            Ok(_) => "",
            Err(_) => " (the default, fitted to the access lifetime)",
        }
    );
    Ok(sessions)
}

/// The address to listen on: `ADDR`, default `127.0.0.1:3000`.
pub(crate) fn addr() -> String {
    env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned())
}

fn env_secs(name: &str) -> Result<Option<Duration>, BoxError> {
    match env::var(name) {
        Ok(value) => {
            let secs = value
                .parse()
                .map_err(|_| format!("{name} must be a whole number of seconds, got {value:?}"))?;
            Ok(Some(Duration::from_secs(secs)))
        }
        Err(_) => Ok(None),
    }
}

pub(crate) fn env_flag(name: &str, default: bool) -> Result<bool, BoxError> {
    match env::var(name).as_deref() {
        Err(_) => Ok(default),
        Ok("1") => Ok(true),
        Ok("0") => Ok(false),
        Ok(other) => Err(format!("{name} must be 0 or 1, got {other:?}").into()),
    }
}

fn secret() -> Result<Vec<u8>, BoxError> {
    if let Ok(secret) = env::var("JWT_SECRET") {
        return Ok(secret.into_bytes());
    }
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| format!("no random source: {e}"))?;
    eprintln!(
        "warning: JWT_SECRET is not set; using a random secret (tokens die with the process)"
    );
    Ok(secret.to_vec())
}

/// Signing keys: an EdDSA/ES256/RS256 PEM pair when `JWT_ALG` and `JWT_PRIVATE_KEY` /
/// `JWT_PUBLIC_KEY` (file paths) are set, else HS256 with `JWT_SECRET`.
fn keys() -> Result<JwtKeys, BoxError> {
    let Ok(alg) = env::var("JWT_ALG") else {
        return Ok(JwtKeys::hs256(&secret()?)?);
    };
    let algorithm = match alg.as_str() {
        "HS256" => return Ok(JwtKeys::hs256(&secret()?)?),
        "EdDSA" => Algorithm::EdDSA,
        "ES256" => Algorithm::ES256,
        "RS256" => Algorithm::RS256,
        other => {
            return Err(
                format!("JWT_ALG must be HS256, EdDSA, ES256 or RS256, got {other:?}").into(),
            );
        }
    };
    let read = |name: &str| -> Result<Vec<u8>, BoxError> {
        let path =
            env::var(name).map_err(|_| format!("JWT_ALG={alg} needs {name} (a PEM file)"))?;
        std::fs::read(&path).map_err(|e| format!("cannot read {name}={path}: {e}").into())
    };
    Ok(JwtKeys::from_pem(
        algorithm,
        &read("JWT_PRIVATE_KEY")?,
        &read("JWT_PUBLIC_KEY")?,
    )?)
}

/// Applies the environment to a builder of any store.
fn configure(mut builder: JwtSessionsBuilder) -> Result<JwtSessionsBuilder, BoxError> {
    builder = builder
        .keys(keys()?)
        .refresh_rotation(env_flag("REFRESH_ROTATION", false)?)
        .pair_check(env_flag("PAIR_CHECK", true)?)
        .cookies(CookieSettings::new().secure(env_flag("COOKIE_SECURE", true)?));
    if let Some(ttl) = env_secs("ACCESS_TTL_SECS")? {
        builder = builder.access_ttl(ttl);
    }
    if let Some(ttl) = env_secs("REFRESH_TTL_SECS")? {
        builder = builder.refresh_ttl(ttl);
    }
    if let Some(grace) = env_secs("REFRESH_GRACE_SECS")? {
        builder = builder.refresh_grace(grace);
    }
    Ok(builder)
}

/// The store `PAIR_STORE` names: `memory` (the default), a `redis://` (`rediss://`) URL or a
/// `postgres://` URL (each with its cargo feature), TLS trusting `PAIR_STORE_CA` if set.
/// Processes on one Redis or one database share their sessions.
async fn with_store(builder: JwtSessionsBuilder) -> Result<JwtSessionsBuilder, BoxError> {
    let Some(url) = env::var("PAIR_STORE").ok().filter(|s| s != "memory") else {
        return Ok(builder);
    };
    #[cfg_attr(
        not(any(feature = "redis", feature = "postgres")),
        expect(
            unused_variables,
            reason = "read by the stores' arms, each behind its feature"
        )
    )]
    let ca = match env::var("PAIR_STORE_CA") {
        Ok(path) => Some(
            std::fs::read(&path).map_err(|e| format!("cannot read PAIR_STORE_CA {path:?}: {e}"))?,
        ),
        Err(_) => None,
    };
    // Only the scheme is ever repeated: the URL may hold a password.
    let scheme = url.split("://").next().unwrap_or_default().to_owned();
    match scheme.as_str() {
        #[cfg(feature = "redis")]
        "redis" | "rediss" | "redis+unix" => {
            let mut store = tower_jwt_auth::store::RedisStore::builder(url);
            if env_flag("NEAR_CACHE", false)? {
                store = store.near_cache(100_000);
            }
            if let Some(ca) = ca {
                store = store.ca_certificate(ca);
            }
            let store = store
                .build()
                .await
                .map_err(|e| format!("cannot use the Redis of PAIR_STORE: {e}"))?;
            Ok(builder.store(store))
        }
        #[cfg(feature = "postgres")]
        "postgres" | "postgresql" => {
            let mut store = tower_jwt_auth::store::PostgresStore::builder(url);
            if env_flag("NEAR_CACHE", false)? {
                store = store.near_cache(100_000);
            }
            if let Some(ca) = ca {
                store = store.ca_certificate(ca);
            }
            let store = store
                .build()
                .await
                .map_err(|e| format!("cannot use the database of PAIR_STORE: {e}"))?;
            store
                .migrate()
                .await
                .map_err(|e| format!("cannot create the sessions table: {e}"))?;
            Ok(builder.store(store))
        }
        _ => Err(format!(
            "PAIR_STORE must be `memory`, a redis:// URL (with --features redis) or a \
             postgres:// URL (with --features postgres); got a {scheme:?} URL"
        )
        .into()),
    }
}
