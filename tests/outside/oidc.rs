//! Resource servers against a real OpenID provider: `oidc-provider` (npm, `tests/oidc`) on
//! 127.0.0.1, issuing client-credentials JWT access tokens for a resource audience. Discovery,
//! key rotation, a provider down at start, other issuers and audiences, scopes, a flood of
//! unknown `kid`s, and the example pointed at the demo's JWKS.
//!
//! Needs Node.js and `npm ci` in `tests/oidc`; without them the provider tests print `SKIPPED`,
//! unless `OIDC_TEST=required` (as in `.ci/run`).

#[expect(dead_code, reason = "the example's `main`, which the tests do not run")]
#[path = "../../examples/resource_server.rs"]
mod resource_server;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tower_jwt_auth::oidc::{
    AccessClaims, Issuer, KeySourceErrorKind, RemoteKeys, Requirement, ResourceServer, ScopeName,
    Scoped,
};
use tower_jwt_auth::{Algorithm, JwtKeys, JwtSessions};

use crate::{common, demo};

const API: &str = "https://api.example.com";
const OTHER_API: &str = "https://other.example.com";
/// A resource whose tokens the provider issues without `aud`.
const UNAUDIENCED: &str = "https://unaudienced.example.com";

fn harness_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc")
}

/// Whether Node.js and oidc-provider are there; skips the running test if not.
fn provider_available() -> bool {
    let node = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let installed = harness_dir().join("node_modules/oidc-provider").exists();
    if node && installed {
        return true;
    }
    let missing = if node {
        "no oidc-provider (npm ci --prefix tests/oidc)"
    } else {
        "no Node.js"
    };
    crate::skip_unless_required("OIDC_TEST", missing);
    false
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// One oidc-provider process.
struct Provider {
    port: u16,
    keys_file: PathBuf,
    /// `Cache-Control: max-age` of the JWKS, if any.
    jwks_max_age: Option<u32>,
    child: Option<Child>,
}

impl Provider {
    fn new() -> Self {
        let port = free_port();
        let keys_file = std::env::temp_dir().join(format!("tower-jwt-auth-oidc-{port}.json"));
        let _ = std::fs::remove_file(&keys_file);
        Self {
            port,
            keys_file,
            jwks_max_age: None,
            child: None,
        }
    }

    fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// (Re)starts the provider publishing `kids`, the first one signing.
    async fn start(&mut self, kids: &str) {
        self.stop().await;
        let mut command = Command::new("node");
        if let Some(max_age) = self.jwks_max_age {
            command.env("JWKS_MAX_AGE", max_age.to_string());
        }
        let mut child = command
            .arg("provider.mjs")
            .current_dir(harness_dir())
            .env("PORT", self.port.to_string())
            .env("KEYS_FILE", &self.keys_file)
            .env("KIDS", kids)
            .env("RESOURCES", format!("{API},{OTHER_API}"))
            .env("RESOURCES_WITHOUT_AUD", UNAUDIENCED)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("node starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let ready = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the provider starts within 30 s")
            .expect("its output");
        assert_eq!(ready, Some(format!("listening on {}", self.issuer())));
        self.child = Some(child);
    }

    async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// A client-credentials access token for `resource` with `scope`.
    async fn token(&self, scope: &str, resource: &str) -> String {
        let body = format!(
            "grant_type=client_credentials&scope={}&resource={}",
            scope.replace(' ', "%20"),
            resource.replace(':', "%3A").replace('/', "%2F")
        );
        let request = Request::post(format!("{}/token", self.issuer()))
            .header("authorization", "Basic c2VydmljZTpzZXJ2aWNlLXNlY3JldA==")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("request");
        let (status, body) = send(request).await;
        assert_eq!(status, 200, "{body}");
        let body: Value = serde_json::from_str(&body).expect("JSON");
        body["access_token"].as_str().expect("a token").to_owned()
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.keys_file);
    }
}

fn client() -> Client<HttpConnector, Body> {
    Client::builder(TokioExecutor::new()).build_http()
}

async fn send(request: Request<Body>) -> (StatusCode, String) {
    let response = client().request(request).await.expect("response");
    let (status, _, body) = read(response).await;
    (status, body)
}

async fn read(response: Response<hyper::body::Incoming>) -> (StatusCode, http::HeaderMap, String) {
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    let text = String::from_utf8(bytes.to_vec()).expect("UTF-8");
    (parts.status, parts.headers, text)
}

struct OrdersWrite;

impl ScopeName for OrdersWrite {
    const SCOPE: &'static str = "orders:write";
}

/// The application under test, behind `server`: `/me`, `POST /orders` (scope `orders:write`, by
/// a layer) and `POST /orders/guarded` (the same, by an extractor guard).
async fn serve(server: &ResourceServer) -> String {
    let guarded = |Scoped(claims, ..): Scoped<OrdersWrite>| async move {
        format!("created by {}", claims.subject().unwrap_or_default())
    };
    let app = Router::new()
        .route("/orders/guarded", post(guarded))
        .route("/orders", post(|| async { "created" }))
        .route_layer(Requirement::scope("orders:write").layer())
        .route(
            "/me",
            get(|claims: AccessClaims| async move {
                axum::Json(json!({ "sub": claims.subject(), "scopes": claims.scopes() }))
            }),
        )
        .route_layer(server.layer());
    common::http::serve(app).await
}

async fn call(
    base: &str,
    method: &str,
    path: &str,
    token: &str,
    grpc: bool,
) -> (StatusCode, http::HeaderMap, String) {
    let mut request = Request::builder()
        .method(method)
        .uri(format!("{base}{path}"))
        .header("authorization", format!("Bearer {token}"));
    if grpc {
        request = request.header("content-type", "application/grpc");
    }
    let response = client()
        .request(request.body(Body::empty()).expect("request"))
        .await
        .expect("response");
    read(response).await
}

/// A token shaped like the provider's, naming `kid` and `iss`, with a signature of nothing.
fn unsigned(iss: &str, kid: &str) -> String {
    let header = json!({"alg": "RS256", "typ": "at+jwt", "kid": kid});
    let payload = json!({"iss": iss, "sub": "x", "aud": API, "exp": 4_000_000_000u64});
    let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.{}",
        part(&header),
        part(&payload),
        URL_SAFE_NO_PAD.encode([0u8; 256])
    )
}

async fn until_ready(keys: &RemoteKeys) {
    for _ in 0..300 {
        if keys.is_ready() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no key set within 15 s");
}

async fn keys_of(provider: &Provider) -> RemoteKeys {
    let keys = RemoteKeys::discover(provider.issuer())
        .build()
        .await
        .expect("key source");
    until_ready(&keys).await;
    keys
}

#[tokio::test]
async fn provider_tokens_verify_through_discovery_and_scopes_are_enforced() {
    if !provider_available() {
        return;
    }
    let mut provider = Provider::new();
    provider.start("k1").await;
    let mut other = Provider::new();
    other.start("k1").await;
    let server = ResourceServer::builder()
        .issuer(Issuer::new(provider.issuer(), keys_of(&provider).await).audience(API))
        .build()
        .expect("configuration");
    let base = serve(&server).await;

    let reader = provider.token("orders:read", API).await;
    let (status, _, body) = call(&base, "GET", "/me", &reader, false).await;
    assert_eq!(status, 200, "{body}");
    let me: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(me, json!({"sub": "service", "scopes": ["orders:read"]}));

    // A valid token without the scope: 403 naming it, and gRPC status 7 under gRPC.
    let (status, headers, _) = call(&base, "POST", "/orders", &reader, false).await;
    assert_eq!(status, 403);
    assert_eq!(
        headers["www-authenticate"],
        r#"Bearer error="insufficient_scope", error_description="the token lacks a required scope or role", scope="orders:write""#
    );
    let (status, headers, _) = call(&base, "POST", "/orders", &reader, true).await;
    assert_eq!(
        (status, &headers["grpc-status"]),
        (StatusCode::OK, &"7".parse().unwrap())
    );
    let writer = provider.token("orders:read orders:write", API).await;
    let (status, _, body) = call(&base, "POST", "/orders", &writer, false).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "created"));
    // The extractor guard answers the same.
    let (status, headers, _) = call(&base, "POST", "/orders/guarded", &reader, false).await;
    assert_eq!(status, 403);
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .ends_with(r#"scope="orders:write""#)
    );
    let (status, _, body) = call(&base, "POST", "/orders/guarded", &writer, false).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "created by service")
    );

    // Another audience of the same provider, and a provider not trusted at all.
    let elsewhere = provider.token("orders:read", OTHER_API).await;
    let (status, headers, _) = call(&base, "GET", "/me", &elsewhere, false).await;
    assert_eq!(status, 401);
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    let stranger = other.token("orders:read", API).await;
    let (status, _, _) = call(&base, "GET", "/me", &stranger, false).await;
    assert_eq!(status, 401);
    // A tampered token of the trusted provider.
    let mut forged = reader.clone();
    forged.push('A');
    assert_eq!(call(&base, "GET", "/me", &forged, false).await.0, 401);
}

/// A configured audience is required, not merely compared: the provider's token for a resource
/// it issues without `aud` is refused where an audience is pinned, and accepted where none is,
/// so nothing else is wrong with it.
#[tokio::test]
async fn a_provider_token_without_aud_is_refused_where_an_audience_is_pinned() {
    if !provider_available() {
        return;
    }
    let mut provider = Provider::new();
    provider.start("k1").await;
    let keys = keys_of(&provider).await;
    let server = |issuer: Issuer| {
        ResourceServer::builder()
            .issuer(issuer)
            .build()
            .expect("configuration")
    };
    let pinned = serve(&server(
        Issuer::new(provider.issuer(), keys.clone()).audience(API),
    ))
    .await;
    let open = serve(&server(Issuer::new(provider.issuer(), keys))).await;

    let token = provider.token("orders:read", UNAUDIENCED).await;
    let payload = token.split('.').nth(1).expect("a payload");
    let claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON");
    assert_eq!(claims["iss"], provider.issuer());
    assert!(claims.get("aud").is_none(), "{claims}");
    let (status, headers, _) = call(&pinned, "GET", "/me", &token, false).await;
    assert_eq!(status, 401);
    assert_eq!(
        headers["www-authenticate"],
        r#"Bearer error="invalid_token", error_description="the token claims are invalid""#
    );
    assert_eq!(call(&open, "GET", "/me", &token, false).await.0, 200);
    // The provider's token for the pinned audience passes both.
    let audienced = provider.token("orders:read", API).await;
    for base in [&pinned, &open] {
        assert_eq!(call(base, "GET", "/me", &audienced, false).await.0, 200);
    }
}

/// Tokens made here, signed with a key the server was given: with an audience configured, `aud`
/// must be there and name it (alone or in a list), whatever the issuer setting; `iss` must be
/// there and be the issuer's. Needs no provider.
#[tokio::test]
async fn issuer_and_a_configured_audience_are_required_over_the_wire() {
    let jwks = eddsa_sessions().jwks();
    let token = |edit: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut claims = json!({"iss": IDP, "sub": "alice", "aud": API, "exp": 4_000_000_000u64});
        edit(claims.as_object_mut().expect("an object"));
        eddsa_token(&claims.to_string())
    };
    let keys = || RemoteKeys::from_jwk_set(&jwks).expect("keys");
    let server = |issuer: Issuer| {
        ResourceServer::builder()
            .issuer(issuer)
            .build()
            .expect("configuration")
    };
    let pinned = serve(&server(Issuer::new(IDP, keys()).audience(API))).await;
    let any_issuer = serve(&server(Issuer::any(keys()).audience(API))).await;

    let accepted: [(&str, &dyn Fn(&mut serde_json::Map<String, Value>)); 2] = [
        ("aud", &|_| {}),
        ("aud among others", &|c| {
            c.insert("aud".into(), json!([OTHER_API, API]));
        }),
    ];
    let refused: [(&str, &dyn Fn(&mut serde_json::Map<String, Value>)); 6] = [
        ("no aud", &|c| {
            c.remove("aud");
        }),
        ("another aud", &|c| {
            c.insert("aud".into(), json!(OTHER_API));
        }),
        ("an empty aud list", &|c| {
            c.insert("aud".into(), json!([]));
        }),
        ("a list of other auds", &|c| {
            c.insert("aud".into(), json!([OTHER_API]));
        }),
        ("no iss", &|c| {
            c.remove("iss");
        }),
        ("another iss", &|c| {
            c.insert(
                "iss".into(),
                json!("https://idp.example.com.attacker.example"),
            );
        }),
    ];
    for (what, edit) in accepted {
        let (status, _, body) = call(&pinned, "GET", "/me", &token(edit), false).await;
        assert_eq!(status, 200, "{what}: {body}");
    }
    for (what, edit) in refused {
        let (status, headers, _) = call(&pinned, "GET", "/me", &token(edit), false).await;
        assert_eq!(status, 401, "{what}");
        assert_eq!(
            headers["www-authenticate"],
            r#"Bearer error="invalid_token", error_description="the token claims are invalid""#,
            "{what}"
        );
    }
    // Any issuer, but still the audience.
    let no_aud = token(&|c| {
        c.remove("aud");
    });
    assert_eq!(call(&any_issuer, "GET", "/me", &no_aud, false).await.0, 401);
    assert_eq!(
        call(&any_issuer, "GET", "/me", &token(&|_| {}), false)
            .await
            .0,
        200
    );
}

/// A claim named twice, at any depth, makes a token malformed: whichever copy a parser would
/// keep, a role could be granted by one and refused by the other. Needs no provider.
#[tokio::test]
async fn a_claim_named_twice_at_any_depth_is_malformed_over_the_wire() {
    let keys = RemoteKeys::from_jwk_set(&eddsa_sessions().jwks()).expect("keys");
    let server = ResourceServer::builder()
        .issuer(Issuer::new(IDP, keys).audience(API))
        .build()
        .expect("configuration");
    let app = Router::new()
        .route("/admin", get(|| async { "admin" }))
        .route_layer(Requirement::role("realm_access.roles", "admin").layer())
        .route_layer(server.layer());
    let base = common::http::serve(app).await;
    let claims = |extra: &str| {
        format!(r#"{{"iss":"{IDP}","sub":"alice","aud":"{API}","exp":4000000000,{extra}}}"#)
    };
    let admin = eddsa_token(&claims(r#""realm_access":{"roles":["admin"]}"#));
    assert_eq!(call(&base, "GET", "/admin", &admin, false).await.0, 200);
    for twice in [
        r#""realm_access":{"roles":["user"],"roles":["admin"]}"#,
        r#""realm_access":{"roles":["admin"]},"realm_access":{"roles":["user"]}"#,
        r#""groups":[{"name":"ops","name":"admin"}],"realm_access":{"roles":["admin"]}"#,
        r#""sub":"admin","realm_access":{"roles":["admin"]}"#,
    ] {
        let (status, headers, _) =
            call(&base, "GET", "/admin", &eddsa_token(&claims(twice)), false).await;
        assert_eq!(status, 401, "{twice}");
        assert_eq!(
            headers["www-authenticate"],
            r#"Bearer error="invalid_token", error_description="the access token is malformed""#,
            "{twice}"
        );
    }
}

/// The issuer of the tokens made here.
const IDP: &str = "https://idp.example.com";

/// An access token made here: `payload`, as written, under an `at+jwt` header naming the test
/// EdDSA key, signed with it.
fn eddsa_token(payload: &str) -> String {
    let kid = eddsa_sessions().jwks().keys[0]
        .common
        .key_id
        .clone()
        .expect("a kid");
    let header = json!({"typ": "at+jwt", "alg": "EdDSA", "kid": kid}).to_string();
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let pem = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/keys/ed25519.pem"))
        .expect("test key");
    let key = jsonwebtoken::EncodingKey::from_ed_pem(&pem).expect("EdDSA key");
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), &key, jsonwebtoken::Algorithm::EdDSA)
            .expect("signed");
    format!("{message}.{signature}")
}

#[tokio::test]
async fn a_rotated_key_is_fetched_once_and_a_withdrawn_one_refused() {
    if !provider_available() {
        return;
    }
    let mut provider = Provider::new();
    provider.start("k1").await;
    let keys = keys_of(&provider).await;
    let server = ResourceServer::builder()
        .issuer(Issuer::new(provider.issuer(), keys.clone()).audience(API))
        .build()
        .expect("configuration");
    let base = serve(&server).await;
    let old = provider.token("orders:read", API).await;
    assert_eq!(call(&base, "GET", "/me", &old, false).await.0, 200);
    assert_eq!(keys.fetches(), 1);

    // The provider rotates: k2 signs, k1 is still published.
    provider.start("k2,k1").await;
    let new = provider.token("orders:read", API).await;
    assert_eq!(call(&base, "GET", "/me", &new, false).await.0, 200);
    assert_eq!(keys.fetches(), 2, "one refetch for the new kid");
    assert_eq!(keys.kids(), ["k1", "k2"]);
    assert_eq!(call(&base, "GET", "/me", &old, false).await.0, 200);
    assert_eq!(call(&base, "GET", "/me", &new, false).await.0, 200);
    assert_eq!(keys.fetches(), 2, "known kids cost no fetch");

    // k1 withdrawn: once the key set is fetched again, its tokens are refused.
    provider.start("k2").await;
    keys.refresh().await.expect("refresh");
    assert_eq!(keys.kids(), ["k2"]);
    let (status, headers, _) = call(&base, "GET", "/me", &old, false).await;
    assert_eq!(status, 401);
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("unknown key")
    );
    assert_eq!(call(&base, "GET", "/me", &new, false).await.0, 200);
}

#[tokio::test]
async fn keys_are_refreshed_in_the_background_as_max_age_says() {
    if !provider_available() {
        return;
    }
    let mut provider = Provider::new();
    provider.jwks_max_age = Some(1);
    provider.start("k1").await;
    let keys = RemoteKeys::discover(provider.issuer())
        .refresh_bounds(Duration::from_secs(1), Duration::from_secs(60))
        .build()
        .await
        .expect("key source");
    until_ready(&keys).await;
    assert_eq!(keys.kids(), ["k1"]);
    // No request names k2: only the schedule (three quarters of max-age) can find it.
    provider.start("k2,k1").await;
    for _ in 0..100 {
        if keys.kids() == ["k1", "k2"] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(keys.kids(), ["k1", "k2"]);
    assert!(keys.fetches() >= 2);
}

#[tokio::test]
async fn a_provider_down_at_start_means_503_until_its_keys_arrive() {
    if !provider_available() {
        return;
    }
    let mut provider = Provider::new();
    // Start-up can be made to fail instead.
    let required = RemoteKeys::discover(provider.issuer())
        .require_at_start(true)
        .build()
        .await
        .unwrap_err();
    assert_eq!(required.kind(), KeySourceErrorKind::Unreachable);

    let keys = RemoteKeys::discover(provider.issuer())
        .retry_interval(Duration::from_millis(100))
        .build()
        .await
        .expect("the service starts without its provider");
    let server = ResourceServer::builder()
        .issuer(Issuer::new(provider.issuer(), keys.clone()).audience(API))
        .build()
        .expect("configuration");
    let base = serve(&server).await;
    let waiting = unsigned(&provider.issuer(), "k1");
    let (status, headers, _) = call(&base, "GET", "/me", &waiting, false).await;
    assert_eq!(status, 503);
    assert_eq!(headers["retry-after"], "1");

    provider.start("k1").await;
    until_ready(&keys).await;
    let token = provider.token("orders:read", API).await;
    assert_eq!(call(&base, "GET", "/me", &token, false).await.0, 200);
}

#[tokio::test]
async fn a_flood_of_unknown_kids_causes_at_most_one_fetch_per_interval() {
    if !provider_available() {
        return;
    }
    let mut provider = Provider::new();
    provider.start("k1").await;
    let keys = RemoteKeys::discover(provider.issuer())
        .unknown_kid_interval(Duration::from_secs(600))
        .build()
        .await
        .expect("key source");
    until_ready(&keys).await;
    let server = ResourceServer::builder()
        .issuer(Issuer::new(provider.issuer(), keys.clone()).audience(API))
        .build()
        .expect("configuration");
    let base = serve(&server).await;
    let before = keys.fetches();

    let mut requests = tokio::task::JoinSet::new();
    for i in 0..1_000 {
        let (base, token) = (
            base.clone(),
            unsigned(&provider.issuer(), &format!("made-up-{i}")),
        );
        requests.spawn(async move { call(&base, "GET", "/me", &token, false).await.0 });
        if requests.len() >= 50 {
            assert_eq!(
                requests
                    .join_next()
                    .await
                    .expect("a request")
                    .expect("no panic"),
                401
            );
        }
    }
    while let Some(status) = requests.join_next().await {
        assert_eq!(status.expect("no panic"), 401);
    }
    assert!(
        keys.fetches() - before <= 1,
        "{} fetches for 1,000 unknown kids",
        keys.fetches() - before
    );
}

/// Sessions signing with the test EdDSA key, as a demo started with `JWT_ALG=EdDSA` does.
fn eddsa_sessions() -> JwtSessions {
    let pem = |name: &str| {
        std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/keys")
                .join(name),
        )
        .expect("test key")
    };
    let keys = JwtKeys::from_pem(
        Algorithm::EdDSA,
        &pem("ed25519.pem"),
        &pem("ed25519.pub.pem"),
    )
    .expect("keys");
    JwtSessions::builder()
        .keys(keys)
        .build()
        .expect("configuration")
}

/// The example, pointed at the demo's JWKS (EdDSA), accepts the demo's access tokens: the fleet
/// case with no shared secret. Needs no provider.
#[tokio::test]
async fn the_example_accepts_the_demos_tokens_through_its_jwks() {
    let sessions = eddsa_sessions();
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .build_recorder()
        .handle();
    let demo_url = common::http::serve(demo::app(sessions.clone(), metrics).await).await;

    let keys = RemoteKeys::jwks(format!("{demo_url}/.well-known/jwks.json"))
        .build()
        .await
        .expect("key source");
    until_ready(&keys).await;
    let server = ResourceServer::builder()
        .issuer(Issuer::any(keys))
        .build()
        .expect("configuration");
    let base = common::http::serve(resource_server::app(&server, None)).await;

    let pair = sessions.issue("alice", ()).await.expect("issued");
    let (status, _, body) = call(&base, "GET", "/me", pair.access_token(), false).await;
    assert_eq!(status, 200, "{body}");
    let me: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(me["sub"], "alice");
    // A refresh token of the demo is no access token here either.
    let (status, _, _) = call(&base, "GET", "/me", pair.refresh_token(), false).await;
    assert_eq!(status, 401);
    assert_eq!(call(&base, "GET", "/health", "", false).await.0, 200);
}

/// A JWKS served over TLS with a certificate of a private authority: fetched with
/// `HttpClient::with_root_certificates`, refused by the default client, which does not trust
/// that authority. Needs no provider.
#[tokio::test]
async fn keys_are_fetched_over_https_from_a_private_authority() {
    use tower_jwt_auth::oidc::HttpClient;

    let sessions = eddsa_sessions();
    let jwks = sessions.jwks();
    let (base, certificate) = serve_over_tls(|_| {
        Router::new().route("/jwks", get(move || std::future::ready(axum::Json(jwks))))
    })
    .await;
    let url = format!("{base}/jwks");

    let trusted = RemoteKeys::jwks(&url)
        .http_client(HttpClient::with_root_certificates(certificate.as_bytes()).expect("roots"))
        .require_at_start(true)
        .build()
        .await
        .expect("keys over https");
    let server = ResourceServer::builder()
        .issuer(Issuer::any(trusted))
        .build()
        .expect("configuration");
    let pair = sessions.issue("alice", ()).await.expect("issued");
    let claims = server.verify(pair.access_token()).await.expect("verified");
    assert_eq!(claims.subject(), Some("alice"));

    let untrusted = RemoteKeys::jwks(&url)
        .require_at_start(true)
        .build()
        .await
        .unwrap_err();
    assert_eq!(untrusted.kind(), KeySourceErrorKind::Unreachable);
    // The default client speaks TLS: it is the certificate it refuses.
    assert!(untrusted.to_string().contains("certificate"), "{untrusted}");
    assert!(
        HttpClient::with_root_certificates(b"not a certificate").is_err(),
        "a PEM without certificates is refused"
    );
}

/// A provider played by the test: a JWK Set at `/jwks` and a discovery document naming it.
/// Stalled, it takes every request and never answers, as a provider hung behind its load
/// balancer does.
struct KeyServer {
    url: String,
    jwks: std::sync::Arc<std::sync::Mutex<Value>>,
    stalled: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// When each request for the key set came, on tokio's clock.
    fetched_at: std::sync::Arc<std::sync::Mutex<Vec<tokio::time::Instant>>>,
}

impl KeyServer {
    async fn start(sessions: &JwtSessions) -> Self {
        use std::sync::atomic::Ordering;

        let jwks = std::sync::Arc::new(std::sync::Mutex::new(
            serde_json::to_value(sessions.jwks()).expect("JWKS"),
        ));
        let stalled = std::sync::Arc::<std::sync::atomic::AtomicBool>::default();
        let fetched_at = std::sync::Arc::<std::sync::Mutex<Vec<_>>>::default();
        let key_set = {
            let (jwks, stalled, fetched_at) = (jwks.clone(), stalled.clone(), fetched_at.clone());
            move || async move {
                fetched_at.lock().unwrap().push(tokio::time::Instant::now());
                if stalled.load(Ordering::SeqCst) {
                    std::future::pending::<()>().await;
                }
                axum::Json(jwks.lock().unwrap().clone())
            }
        };
        let discovery = {
            let stalled = stalled.clone();
            move |headers: http::HeaderMap| async move {
                if stalled.load(Ordering::SeqCst) {
                    std::future::pending::<()>().await;
                }
                let url = format!("http://{}", headers["host"].to_str().expect("host"));
                axum::Json(json!({"issuer": url, "jwks_uri": format!("{url}/jwks")}))
            }
        };
        let app = Router::new()
            .route("/jwks", get(key_set))
            .route("/.well-known/openid-configuration", get(discovery));
        Self {
            url: common::http::serve(app).await,
            jwks,
            stalled,
            fetched_at,
        }
    }

    fn jwks_url(&self) -> String {
        format!("{}/jwks", self.url)
    }

    fn stall(&self, stalled: bool) {
        self.stalled
            .store(stalled, std::sync::atomic::Ordering::SeqCst);
    }

    fn fetched_at(&self) -> Vec<tokio::time::Instant> {
        self.fetched_at.lock().unwrap().clone()
    }

    /// Publishes the first key once more, as `kid`.
    fn add_key(&self, kid: &str) {
        let mut jwks = self.jwks.lock().unwrap();
        let mut key = jwks["keys"][0].clone();
        key["kid"] = kid.into();
        jwks["keys"].as_array_mut().expect("keys").push(key);
    }

    /// Waits, on tokio's clock, until the provider has had `count` requests for its key set.
    async fn until_fetched(&self, count: usize) {
        for _ in 0..10_000 {
            if self.fetched_at().len() >= count {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        panic!("{} fetches, not {count}", self.fetched_at().len());
    }
}

/// `future`, or a failed test if it has not ended within a minute (at once on paused time):
/// what used to hang must fail, not hang the suite.
async fn bounded<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), future)
        .await
        .expect("an answer within a minute, never a hang")
}

#[tokio::test(start_paused = true)]
async fn a_required_start_times_out_when_the_provider_never_answers() {
    use http_body_util::Empty;
    use hyper::body::Bytes;
    use tower_jwt_auth::oidc::HttpClient;

    let provider = KeyServer::start(&eddsa_sessions()).await;
    provider.stall(true);
    let started = tokio::time::Instant::now();
    let error = bounded(
        RemoteKeys::discover(&provider.url)
            .require_at_start(true)
            .build(),
    )
    .await
    .unwrap_err();
    assert_eq!(error.kind(), KeySourceErrorKind::TimedOut, "{error}");
    assert!(
        error
            .to_string()
            .contains("/.well-known/openid-configuration timed out"),
        "{error}"
    );
    // The default timeout, on tokio's paused clock: no real time waited.
    let waited = started.elapsed();
    assert!(
        (Duration::from_secs(10)..Duration::from_secs(11)).contains(&waited),
        "{waited:?}"
    );

    // A client of one's own is held to the timeout too.
    let own = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let error = bounded(
        RemoteKeys::jwks(provider.jwks_url())
            .http_client(HttpClient::new(own))
            .timeout(Duration::from_secs(3))
            .require_at_start(true)
            .build(),
    )
    .await
    .unwrap_err();
    assert_eq!(error.kind(), KeySourceErrorKind::TimedOut, "{error}");
    assert_eq!(provider.fetched_at().len(), 1);

    let error = RemoteKeys::jwks(provider.jwks_url())
        .timeout(Duration::ZERO)
        .build()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), KeySourceErrorKind::InvalidSettings);
}

#[tokio::test(start_paused = true)]
async fn connecting_to_a_provider_that_takes_no_connection_times_out() {
    // A listener whose queue is full: the system drops every further connection attempt.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.bind("127.0.0.1:0".parse().unwrap()).expect("bind");
    let listener = socket.listen(0).expect("listen");
    let address = listener.local_addr().expect("address");
    let mut queued = Vec::new();
    while let Ok(Ok(connection)) = tokio::time::timeout(
        Duration::from_secs(1),
        tokio::net::TcpStream::connect(address),
    )
    .await
    {
        queued.push(connection);
    }

    let started = tokio::time::Instant::now();
    let error = bounded(
        RemoteKeys::jwks(format!("http://{address}/jwks"))
            .connect_timeout(Duration::from_secs(2))
            .require_at_start(true)
            .build(),
    )
    .await
    .unwrap_err();
    assert_eq!(error.kind(), KeySourceErrorKind::TimedOut, "{error}");
    assert!(
        error
            .to_string()
            .contains("timed out: client error (Connect)"),
        "{error}"
    );
    // The connect timeout, not the whole request's (10 s).
    let waited = started.elapsed();
    assert!(
        (Duration::from_secs(2)..Duration::from_secs(3)).contains(&waited),
        "{waited:?}"
    );
    drop((listener, queued));
}

#[tokio::test(start_paused = true)]
async fn refresh_times_out_and_keeps_the_keys_while_the_provider_stalls() {
    let sessions = eddsa_sessions();
    let provider = KeyServer::start(&sessions).await;
    // An http issuer naming an http key set: plain http as configured, never a downgrade.
    let keys = RemoteKeys::discover(&provider.url)
        .require_at_start(true)
        .build()
        .await
        .expect("keys");
    let kids = keys.kids();
    provider.stall(true);

    let started = tokio::time::Instant::now();
    let error = bounded(keys.refresh()).await.unwrap_err();
    assert_eq!(error.kind(), KeySourceErrorKind::TimedOut, "{error}");
    assert!(error.to_string().contains("/jwks timed out"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(11));
    assert_eq!(keys.kids(), kids, "the keys in use stay");
    let server = ResourceServer::builder()
        .issuer(Issuer::any(keys))
        .build()
        .expect("configuration");
    let pair = sessions.issue("alice", ()).await.expect("issued");
    assert!(server.verify(pair.access_token()).await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn an_unknown_kid_is_refused_within_the_wait_while_its_fetch_stalls() {
    let sessions = eddsa_sessions();
    let provider = KeyServer::start(&sessions).await;
    let keys = RemoteKeys::jwks(provider.jwks_url())
        .require_at_start(true)
        .build()
        .await
        .expect("keys");
    let server = ResourceServer::builder()
        .issuer(Issuer::any(keys.clone()))
        .build()
        .expect("configuration");
    let base = serve(&server).await;
    let known = sessions.issue("alice", ()).await.expect("issued");
    provider.stall(true);

    let started = tokio::time::Instant::now();
    let first = tokio::spawn({
        let base = base.clone();
        async move { call(&base, "GET", "/me", &unsigned("", "rotated"), false).await }
    });
    provider.until_fetched(2).await;
    // While that fetch stalls, no lock holds anyone: a known key answers, and a second unknown
    // kid waits for the same fetch, no longer than the first.
    let (status, _, body) = bounded(call(&base, "GET", "/me", known.access_token(), false)).await;
    assert_eq!(status, 200, "{body}");
    let second = bounded(call(&base, "GET", "/me", &unsigned("", "other"), false)).await;
    let first = bounded(first).await.expect("no panic");
    for (status, headers, _) in [first, second] {
        assert_eq!(status, 401);
        let challenge = headers["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.contains("invalid_token") && challenge.contains("unknown key"),
            "{challenge}"
        );
    }
    // The default wait (2 s), well before the fetch's own timeout (10 s).
    let waited = started.elapsed();
    assert!(
        (Duration::from_secs(2)..Duration::from_secs(5)).contains(&waited),
        "{waited:?}"
    );
    assert_eq!(provider.fetched_at().len(), 2, "one fetch for both kids");
    assert_eq!(keys.fetches(), 2);
}

#[tokio::test(start_paused = true)]
async fn the_background_refresh_keeps_the_keys_through_a_stall_backs_off_and_recovers() {
    let sessions = eddsa_sessions();
    let provider = KeyServer::start(&sessions).await;
    let keys = RemoteKeys::jwks(provider.jwks_url())
        .require_at_start(true)
        .build()
        .await
        .expect("keys");
    let server = ResourceServer::builder()
        .issuer(Issuer::any(keys.clone()))
        .build()
        .expect("configuration");
    let pair = sessions.issue("alice", ()).await.expect("issued");
    provider.stall(true);

    // The schedule's fetch (after three quarters of the default 5 minutes) and three retries
    // all stall; the keys in use serve throughout.
    for _ in 0..600 {
        if provider.fetched_at().len() >= 5 {
            break;
        }
        assert!(server.verify(pair.access_token()).await.is_ok());
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let at = provider.fetched_at();
    assert_eq!(
        at.len(),
        5,
        "the background refresh went on after a stalled fetch"
    );
    // Each attempt: the timeout (10 s), then a wait of 1 s, doubled after each failure.
    let gaps: Vec<Duration> = at.windows(2).map(|w| w[1] - w[0]).collect();
    for (gap, expected) in gaps.iter().zip([225, 11, 12, 14]) {
        let expected = Duration::from_secs(expected);
        assert!(
            (expected..expected + Duration::from_millis(50)).contains(gap),
            "gaps {gaps:?}"
        );
    }

    // The provider answers again, with a new key: the next attempt finds it.
    provider.add_key("k2");
    provider.stall(false);
    for _ in 0..60 {
        if keys.kids().contains(&"k2".to_owned()) {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert!(keys.kids().contains(&"k2".to_owned()), "{:?}", keys.kids());
    assert!(server.verify(pair.access_token()).await.is_ok());
}

/// `app(base URL)` served over TLS on `127.0.0.1` with a certificate of its own: its base URL
/// (`https://127.0.0.1:PORT`) and that certificate in PEM, for a client to trust.
async fn serve_over_tls(app: impl FnOnce(&str) -> Router) -> (String, String) {
    use tokio_rustls::rustls;

    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).expect("certificate");
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .expect("server certificate");
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("https://{}", listener.local_addr().expect("address"));
    let app = app(&base);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(
                        hyper_util::rt::TokioIo::new(tls),
                        hyper_util::service::TowerToHyperService::new(app),
                    )
                    .await;
            });
        }
    });
    (base, certified.cert.pem())
}

#[tokio::test]
async fn an_https_issuer_naming_an_http_key_set_is_refused_unless_allowed() {
    use tower_jwt_auth::oidc::HttpClient;

    let sessions = eddsa_sessions();
    let plain = KeyServer::start(&sessions).await;
    let jwks_uri = plain.jwks_url();
    let (issuer, certificate) = serve_over_tls(|issuer| {
        let document = json!({"issuer": issuer, "jwks_uri": jwks_uri});
        let discovery = move || std::future::ready(axum::Json(document));
        Router::new().route("/.well-known/openid-configuration", get(discovery))
    })
    .await;
    let discover = || {
        let roots = HttpClient::with_root_certificates(certificate.as_bytes()).expect("roots");
        RemoteKeys::discover(&issuer)
            .http_client(roots)
            .require_at_start(true)
    };

    let error = discover().build().await.unwrap_err();
    assert_eq!(error.kind(), KeySourceErrorKind::InvalidDocument, "{error}");
    assert!(
        error
            .to_string()
            .contains("names a key set over plain http"),
        "{error}"
    );
    assert!(
        plain.fetched_at().is_empty(),
        "nothing fetched in the clear"
    );

    // A provider on the same host may be let through, knowingly.
    let keys = discover()
        .allow_insecure_jwks_uri(true)
        .build()
        .await
        .expect("allowed");
    let kids: Vec<String> = sessions
        .jwks()
        .keys
        .iter()
        .filter_map(|k| k.common.key_id.clone())
        .collect();
    assert_eq!(keys.kids(), kids);
}
