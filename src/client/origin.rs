//! [`Origin`]: the one origin a client layer sends the session's tokens to.

use std::fmt;
use std::str::FromStr;

use http::Uri;
use http::uri::{Authority, Scheme};

use super::error::InvalidOrigin;

/// The origin a session belongs to: a scheme (`http` or `https`), a host and a port.
/// [`JwtClientLayer`](super::JwtClientLayer) adds the tokens only to requests for it, and takes
/// tokens only from their responses.
///
/// Origins compare as browsers compare them: the host in any case, no port the same as the
/// scheme's default (`https://api.example.com` is `https://API.example.com:443`); any other
/// difference, even a trailing dot or another spelling of an IP address, is another origin.
///
/// ```
/// use tower_jwt_auth::client::{InvalidOrigin, Origin};
///
/// let origin: Origin = "https://API.example.com:443".parse()?;
/// assert_eq!(origin, "https://api.example.com".parse()?);
/// assert_eq!(origin.to_string(), "https://api.example.com");
/// assert_eq!("ftp://api.example.com".parse::<Origin>(), Err(InvalidOrigin::UnsupportedScheme));
///
/// // The origin of a URL, whatever its path: the login's, say.
/// let login: http::Uri = "https://api.example.com/login?next=/me".parse()?;
/// assert_eq!(Origin::of(&login)?, origin);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    protocol: Protocol,
    /// Lowercased.
    host: Box<str>,
    /// The scheme's default when the origin names none.
    port: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Protocol {
    Http,
    Https,
}

impl Protocol {
    fn of(scheme: &Scheme) -> Option<Self> {
        // `Scheme` compares case-insensitively.
        if *scheme == Scheme::HTTPS {
            Some(Self::Https)
        } else if *scheme == Scheme::HTTP {
            Some(Self::Http)
        } else {
            None
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Self::Http => 80,
            Self::Https => 443,
        }
    }
}

/// The port `authority` names, or `protocol`'s default if it names none (or an empty one, RFC
/// 3986 §6.2.3); `None` if what it names is not a port.
fn port_of(authority: &Authority, protocol: Protocol) -> Option<u16> {
    let host_and_port = authority
        .as_str()
        .rsplit_once('@')
        .map_or(authority.as_str(), |(_, after)| after);
    match host_and_port.strip_prefix(authority.host())? {
        "" | ":" => Some(protocol.default_port()),
        port => port.strip_prefix(':')?.parse().ok(),
    }
}

impl Origin {
    /// The origin of an absolute `http` or `https` URI: its scheme, host and port, whatever
    /// its path, query and user info.
    ///
    /// ```
    /// use tower_jwt_auth::client::{InvalidOrigin, Origin};
    ///
    /// let uri: http::Uri = "http://127.0.0.1:3000/login".parse()?;
    /// assert_eq!(Origin::of(&uri)?.to_string(), "http://127.0.0.1:3000");
    /// let relative: http::Uri = "/login".parse()?;
    /// assert_eq!(Origin::of(&relative), Err(InvalidOrigin::NotAbsolute));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn of(uri: &Uri) -> Result<Self, InvalidOrigin> {
        let (Some(scheme), Some(authority)) = (uri.scheme(), uri.authority()) else {
            return Err(InvalidOrigin::NotAbsolute);
        };
        let protocol = Protocol::of(scheme).ok_or(InvalidOrigin::UnsupportedScheme)?;
        let port = port_of(authority, protocol).ok_or(InvalidOrigin::Malformed)?;
        Ok(Self {
            protocol,
            host: authority.host().to_ascii_lowercase().into(),
            port,
        })
    }

    /// Whether a request for `uri` goes to this origin: an absolute URI of its scheme, host and
    /// port, or a relative one (a path alone, as a tonic `Channel` sends), which goes wherever
    /// the wrapped client is bound.
    pub(super) fn serves(&self, uri: &Uri) -> bool {
        let Some(authority) = uri.authority() else {
            return true;
        };
        uri.scheme().and_then(Protocol::of) == Some(self.protocol)
            && authority.host().eq_ignore_ascii_case(&self.host)
            && port_of(authority, self.protocol) == Some(self.port)
    }
}

/// An origin as written: `http` or `https`, a host and a port, and at most a trailing `/`.
impl FromStr for Origin {
    type Err = InvalidOrigin;

    fn from_str(origin: &str) -> Result<Self, Self::Err> {
        let uri: Uri = origin.parse().map_err(|_| InvalidOrigin::Malformed)?;
        let parsed = Self::of(&uri)?;
        // `Uri` drops a fragment without a word, and reads no path as `/`.
        if origin.contains('#') || uri.path_and_query().is_some_and(|p| p.as_str() != "/") {
            return Err(InvalidOrigin::HasPath);
        }
        if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
            return Err(InvalidOrigin::HasUserInfo);
        }
        Ok(parsed)
    }
}

/// `scheme://host`, then `:port` unless it is the scheme's default.
impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.protocol.name(), self.host)?;
        if self.port != self.protocol.default_port() {
            write!(f, ":{}", self.port)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Origin")
            .field(&format_args!("{self}"))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(text: &str) -> Origin {
        text.parse().expect(text)
    }

    fn serves(origin_text: &str, uri: &str) -> bool {
        origin(origin_text).serves(&uri.parse().expect(uri))
    }

    #[test]
    fn default_ports_and_the_hosts_case_are_normalised() {
        assert_eq!(origin("https://a.example"), origin("https://a.example:443"));
        assert_eq!(origin("http://a.example:80/"), origin("HTTP://A.Example"));
        assert_eq!(origin("https://a.example:"), origin("https://a.example"));
        assert_eq!(
            origin("HTTPS://A.example:443").to_string(),
            "https://a.example"
        );
        assert_eq!(origin("http://[::1]:8080").to_string(), "http://[::1]:8080");
        assert_ne!(origin("https://a.example"), origin("http://a.example"));
        assert_ne!(origin("https://a.example"), origin("https://a.example:80"));
        assert_ne!(origin("https://a.example"), origin("https://a.example."));
    }

    #[test]
    fn requests_are_this_origins_by_the_same_rule() {
        let ours = "https://API.example.com";
        for uri in [
            "https://api.example.com/me",
            "https://api.example.com:443/me?x=1",
            "HTTPS://Api.Example.COM/me",
            "https://user@api.example.com/me",
            "/grpc.health.v1.Health/Check",
        ] {
            assert!(serves(ours, uri), "{uri}");
        }
        for uri in [
            "http://api.example.com/me",
            "https://api.example.com:8443/me",
            "https://api.example.com:abc/me",
            "https://api.example.com.evil.example/me",
            "https://evil.example/avatar.png",
            "https://api.example.com@evil.example/me",
            "api.example.com:443",
        ] {
            assert!(!serves(ours, uri), "{uri}");
        }
        assert!(serves("http://127.0.0.1:3000", "http://127.0.0.1:3000/me"));
        assert!(!serves("http://127.0.0.1:3000", "http://127.0.0.1:3001/me"));
        assert!(!serves("http://127.0.0.1:3000", "http://localhost:3000/me"));
    }

    #[test]
    fn what_is_not_an_origin_is_refused_with_why() {
        for (text, error) in [
            ("", InvalidOrigin::Malformed),
            ("https://", InvalidOrigin::Malformed),
            ("https://a.example:https", InvalidOrigin::Malformed),
            ("https://a.example:65536", InvalidOrigin::Malformed),
            ("api.example.com", InvalidOrigin::NotAbsolute),
            ("api.example.com:443", InvalidOrigin::NotAbsolute),
            ("/login", InvalidOrigin::NotAbsolute),
            ("ftp://a.example", InvalidOrigin::UnsupportedScheme),
            ("wss://a.example", InvalidOrigin::UnsupportedScheme),
            ("https://a.example/v1", InvalidOrigin::HasPath),
            ("https://a.example?x", InvalidOrigin::HasPath),
            ("https://a.example/#top", InvalidOrigin::HasPath),
            ("https://user:secret@a.example", InvalidOrigin::HasUserInfo),
        ] {
            assert_eq!(text.parse::<Origin>(), Err(error), "{text:?}");
        }
        let error = "https://user:secret@a.example"
            .parse::<Origin>()
            .unwrap_err();
        assert!(!error.to_string().contains("secret"));
    }

    #[test]
    fn the_origin_of_a_url_ignores_its_path_query_and_user_info() {
        let uri: Uri = "https://user@A.example:443/login?next=/".parse().unwrap();
        assert_eq!(Origin::of(&uri), Ok(origin("https://a.example")));
    }
}
