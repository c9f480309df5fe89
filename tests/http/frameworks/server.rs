//! The demo app of each framework, served on a free loopback port with the test's sessions, and
//! a client that talks to it over the socket.

use std::time::Duration;

use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use metrics_exporter_prometheus::PrometheusBuilder;
use serde_json::Value;
use tower_jwt_auth::cookie::CookieSettings;
use tower_jwt_auth::{JwtSessions, JwtSessionsBuilder, ManualClock};

use crate::common::http as support_http;

/// Where every test's clock starts.
pub(crate) const T0: u64 = 1_700_000_000;
/// The access-token lifetime of every test's sessions.
pub(crate) const ACCESS_TTL: u64 = 15 * 60;
/// The default grace window (it fits the access lifetime above).
pub(crate) const GRACE: u64 = 10;
const SECRET: &[u8] = b"frameworks test secret, 32 bytes";

/// A framework whose demo app the suite runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Server {
    /// `examples/server.rs`: axum, the tower layer.
    Axum,
    /// `examples/actix.rs`: actix-web, the crate's actix middleware.
    #[cfg(feature = "actix")]
    Actix,
}

/// Sessions as the demos run them (cookie mode, so both logins work) on a clock the test
/// moves, with `tune` applied.
pub(crate) fn sessions(
    clock: &ManualClock,
    tune: impl FnOnce(JwtSessionsBuilder) -> JwtSessionsBuilder,
) -> JwtSessions {
    let builder = JwtSessions::builder()
        .hs256_secret(SECRET)
        .clock(clock.clone())
        .access_ttl(Duration::from_secs(ACCESS_TTL))
        .cookies(CookieSettings::new());
    tune(builder).build().expect("configuration")
}

impl Server {
    /// Serves this framework's demo app with `sessions` on `127.0.0.1:0`; stopped when the
    /// returned server is dropped.
    pub(crate) async fn start(self, sessions: JwtSessions) -> Running {
        let metrics = PrometheusBuilder::new().build_recorder().handle();
        let (url, actix) = match self {
            Self::Axum => {
                let app = crate::demo::app(sessions, metrics).await;
                (support_http::serve(app).await, None)
            }
            #[cfg(feature = "actix")]
            Self::Actix => {
                let actix = actix::start(sessions, metrics);
                (actix.url.clone(), Some(actix))
            }
        };
        Running {
            url,
            client: Client::builder(TokioExecutor::new()).build_http(),
            _actix: actix,
        }
    }
}

#[cfg(feature = "actix")]
mod actix {
    use std::thread::JoinHandle;

    use actix_web::dev::ServerHandle;
    use actix_web::{App, HttpServer};
    use metrics_exporter_prometheus::PrometheusHandle;
    use tower_jwt_auth::JwtSessions;

    /// The actix demo on a thread of its own running an actix system: actix-web runs on its
    /// own runtime, not the test's.
    pub(super) struct Actix {
        pub(super) url: String,
        handle: ServerHandle,
        thread: Option<JoinHandle<()>>,
    }

    pub(super) fn start(sessions: JwtSessions, metrics: PrometheusHandle) -> Actix {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let (sender, receiver) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let app = move || {
                    App::new().configure(crate::actix_demo::app(sessions.clone(), metrics.clone()))
                };
                let server = HttpServer::new(app)
                    .workers(1)
                    .disable_signals()
                    .shutdown_timeout(0)
                    .listen(listener)
                    .expect("listen")
                    .run();
                sender.send(server.handle()).expect("the test waits");
                server.await.expect("actix server");
            });
        });
        let handle = receiver.recv().expect("the actix server started");
        Actix {
            url,
            handle,
            thread: Some(thread),
        }
    }

    impl Drop for Actix {
        fn drop(&mut self) {
            // The command is sent at once; the returned future only waits for the stop.
            drop(self.handle.stop(false));
            if let Some(thread) = self.thread.take() {
                thread.join().expect("the actix server thread");
            }
        }
    }
}

/// A demo app being served.
pub(crate) struct Running {
    pub(crate) url: String,
    client: Client<HttpConnector, Full<Bytes>>,
    #[cfg(feature = "actix")]
    _actix: Option<actix::Actix>,
    #[cfg(not(feature = "actix"))]
    _actix: Option<()>,
}

/// What came back from one request.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Reply {
    /// A response header as text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("text header"))
    }

    /// The body as JSON.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    /// The `Set-Cookie` headers, as text.
    pub(crate) fn set_cookies(&self) -> Vec<&str> {
        let values = self.headers.get_all("set-cookie").iter();
        values.map(|v| v.to_str().expect("text header")).collect()
    }

    /// The value a `Set-Cookie` header gives cookie `name`.
    pub(crate) fn cookie(&self, name: &str) -> Option<&str> {
        self.set_cookies().into_iter().find_map(|cookie| {
            let pair = cookie.split(';').next()?;
            pair.strip_prefix(name)?.strip_prefix('=')
        })
    }
}

impl Running {
    /// `method path` with `headers`, and a JSON `body` if any.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, String)],
        body: Option<Value>,
    ) -> Reply {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.url));
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let body = match body {
            Some(json) => {
                request = request.header("content-type", "application/json");
                Full::from(serde_json::to_vec(&json).expect("JSON"))
            }
            None => Full::default(),
        };
        let response = self
            .client
            .request(request.body(body).expect("request"))
            .await
            .expect("response");
        let (parts, body) = response.into_parts();
        let body = body.collect().await.expect("body").to_bytes();
        Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    /// `GET path` with `headers`.
    pub(crate) async fn get(&self, path: &str, headers: &[(&str, String)]) -> Reply {
        self.send(Method::GET, path, headers, None).await
    }

    /// `POST /login` for `username` with the demo's password: the pair it answers.
    pub(crate) async fn login(&self, username: &str) -> Tokens {
        let form = serde_json::json!({ "username": username, "password": "demo" });
        let reply = self.send(Method::POST, "/login", &[], Some(form)).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        assert_eq!(reply.header("content-type"), Some("application/json"));
        assert_eq!(reply.header("cache-control"), Some("no-store"));
        let json = reply.json();
        assert_eq!(json["token_type"], "Bearer");
        assert_eq!(json["expires_in"], ACCESS_TTL);
        let text = |name: &str| json[name].as_str().expect("a token").to_owned();
        Tokens {
            access: text("access_token"),
            refresh: text("refresh_token"),
        }
    }
}

/// The tokens of a login's answer.
#[derive(Debug, Clone)]
pub(crate) struct Tokens {
    pub(crate) access: String,
    pub(crate) refresh: String,
}

/// `Authorization: Bearer <access>`.
pub(crate) fn bearer(access: &str) -> (&'static str, String) {
    ("authorization", format!("Bearer {access}"))
}

/// `x-refresh-token: <refresh>`.
pub(crate) fn refresh(token: &str) -> (&'static str, String) {
    ("x-refresh-token", token.to_owned())
}
