//! The floor: the least an HS256 access check can do, written by hand. It splits the token,
//! checks the tag with a pre-keyed HMAC, decodes the payload, parses it borrowed with serde,
//! looks the session up in one concurrent map, and inserts the claims into the extensions. It
//! checks `exp` and the pair, and nothing else: no `typ`, `kid`, `nbf`, `iss`/`aud`, no input
//! limits, no error detail.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use http::header::AUTHORIZATION;
use http::{Request, Response, StatusCode};
use serde::Deserialize;
use sha2::Sha256;
use tower::{Service, service_fn};

/// What the floor puts in the extensions.
#[derive(Clone)]
#[expect(
    dead_code,
    reason = "handed to the service, as the layer hands its claims, not read"
)]
pub(crate) struct FloorClaims {
    sub: String,
    exp: u64,
}

#[derive(Deserialize)]
struct Payload<'a> {
    sub: &'a str,
    sid: &'a str,
    jti: &'a str,
    exp: u64,
}

/// Sessions by `sid`, holding the current access `jti`, in 64 shards as any concurrent map.
pub(crate) struct Sessions {
    shards: Vec<RwLock<HashMap<String, String>>>,
}

impl Sessions {
    pub(crate) fn new() -> Self {
        Self {
            shards: (0..64).map(|_| RwLock::default()).collect(),
        }
    }

    fn shard(&self, sid: &str) -> &RwLock<HashMap<String, String>> {
        let byte = sid.as_bytes().first().copied().unwrap_or(0);
        &self.shards[usize::from(byte) % self.shards.len()]
    }

    pub(crate) fn insert(&self, sid: &str, jti: &str) {
        self.shard(sid)
            .write()
            .expect("lock")
            .insert(sid.to_owned(), jti.to_owned());
    }

    fn is_current(&self, sid: &str, jti: &str) -> bool {
        self.shard(sid)
            .read()
            .expect("lock")
            .get(sid)
            .is_some_and(|current| current == jti)
    }
}

/// The hand-written layer around a service answering `200`.
pub(crate) fn layer(
    secret: &[u8],
    sessions: Arc<Sessions>,
) -> impl Service<Request<()>, Response = Response<()>, Error = Infallible> + 'static {
    let keyed = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
    service_fn(move |mut request: Request<()>| {
        let claims = check(&keyed, &sessions, &request);
        let mut response = Response::new(());
        match claims {
            Some(claims) => {
                request.extensions_mut().insert(claims);
                drop(request);
            }
            None => *response.status_mut() = StatusCode::UNAUTHORIZED,
        }
        std::future::ready(Ok(response))
    })
}

fn check(keyed: &Hmac<Sha256>, sessions: &Sessions, request: &Request<()>) -> Option<FloorClaims> {
    let token = request
        .headers()
        .get(AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    let (signing_input, signature) = token.rsplit_once('.')?;
    let (_, payload) = signing_input.split_once('.')?;
    let tag = URL_SAFE_NO_PAD.decode(signature).ok()?;
    let mut mac = keyed.clone();
    mac.update(signing_input.as_bytes());
    mac.verify_slice(&tag).ok()?;
    let json = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let payload: Payload<'_> = serde_json::from_slice(&json).ok()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    if now >= payload.exp || !sessions.is_current(payload.sid, payload.jti) {
        return None;
    }
    Some(FloorClaims {
        sub: payload.sub.to_owned(),
        exp: payload.exp,
    })
}
