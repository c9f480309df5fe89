//! [`RequestHead`]: what a decision reads of a request.

use std::fmt;

use http::request::Parts;
use http::{HeaderMap, Method, Request, Uri};

/// The parts of a request a decision reads: its method, URI and headers, borrowed.
///
/// An adapter of a framework built on `http` 1 makes one for free, from its request or the
/// request's [`Parts`]; an adapter of any other framework builds the three once per request
/// (a [`HeaderMap`] of the request's headers is the one copy that costs anything: one
/// allocation and the headers' bytes).
///
/// The method and URI matter beyond the cookies' cross-site check: they are what a
/// proof-of-possession proof (DPoP, RFC 9449) is bound to, so an adapter that passes the real
/// ones stays complete as decisions come to read more of them.
///
/// ```
/// use http::{Method, Request};
/// use tower_jwt_auth::decision::RequestHead;
///
/// let request = Request::post("/logout").header("authorization", "Bearer a.b.c").body(())?;
/// let head = RequestHead::from(&request);
/// assert_eq!(head.method(), Method::POST);
/// assert_eq!(head.uri().path(), "/logout");
///
/// // From a framework's own types: its method, URI and headers, converted once.
/// let (method, uri, headers) = (Method::GET, "/me".parse()?, http::HeaderMap::new());
/// let head = RequestHead::new(&method, &uri, &headers);
/// assert!(head.headers().is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy)]
pub struct RequestHead<'a> {
    method: &'a Method,
    uri: &'a Uri,
    headers: &'a HeaderMap,
}

impl<'a> RequestHead<'a> {
    /// The head of a request with these method, URI and headers.
    #[must_use]
    pub fn new(method: &'a Method, uri: &'a Uri, headers: &'a HeaderMap) -> Self {
        Self {
            method,
            uri,
            headers,
        }
    }

    /// The request's method.
    #[must_use]
    pub fn method(&self) -> &'a Method {
        self.method
    }

    /// The request's URI: a path, or an absolute URI (as HTTP/2 requests have).
    #[must_use]
    pub fn uri(&self) -> &'a Uri {
        self.uri
    }

    /// The request's headers.
    #[must_use]
    pub fn headers(&self) -> &'a HeaderMap {
        self.headers
    }
}

impl<'a> From<&'a Parts> for RequestHead<'a> {
    fn from(parts: &'a Parts) -> Self {
        Self::new(&parts.method, &parts.uri, &parts.headers)
    }
}

impl<'a, B> From<&'a Request<B>> for RequestHead<'a> {
    fn from(request: &'a Request<B>) -> Self {
        Self::new(request.method(), request.uri(), request.headers())
    }
}

/// The method and URI; the headers by name only, since they carry the credentials.
impl fmt::Debug for RequestHead<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.keys().map(http::HeaderName::as_str).collect();
        f.debug_struct("RequestHead")
            .field("method", self.method)
            .field("uri", self.uri)
            .field("headers", &names)
            .finish()
    }
}
