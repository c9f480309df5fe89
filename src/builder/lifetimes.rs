//! The lifetimes, refresh policy and limits of a [`JwtSessionsBuilder`], checked against each
//! other; errors name the values involved and say which were defaults.

use std::fmt;
use std::time::Duration;

use super::{JwtSessionsBuilder, Settings};
use crate::error::{ConfigError, ConfigErrorKind};

/// Sessions end before stores' 32-bit clocks do (2106), however long they are configured to be.
const MAX_SESSION_LIFETIME: Duration = Duration::from_secs(50 * 365 * 24 * 60 * 60);
/// The grace window's default, unless the access lifetime is too short for it.
const DEFAULT_GRACE: Duration = Duration::from_secs(10);
pub(super) const DEFAULT_ACCESS_TTL: Duration = Duration::from_secs(15 * 60);
pub(super) const DEFAULT_REFRESH_TTL: Duration = Duration::from_secs(14 * 24 * 60 * 60);

impl<C> JwtSessionsBuilder<C> {
    /// Access-token lifetime, whole seconds, at least one (default 15 minutes).
    pub fn access_ttl(mut self, ttl: Duration) -> Self {
        self.settings.access_ttl = Chosen::set(ttl);
        self
    }

    /// Session (refresh-token) lifetime, longer than the access lifetime (default 14 days).
    /// Rotation never extends it.
    pub fn refresh_ttl(mut self, ttl: Duration) -> Self {
        self.settings.refresh_ttl = Chosen::set(ttl);
        self
    }

    /// Grace window for concurrent refreshes of one session: refreshes within it after a
    /// refresh get that refresh's tokens instead of tripping the theft rule. Zero turns it off;
    /// it must be shorter than the access lifetime.
    ///
    /// Unset, it is 10 s, or half the access lifetime (whole seconds) if that is less: a
    /// repeat inside the window is handed the access token the first refresh minted, and half
    /// its lifetime is left to it however late in the window the repeat comes. With an access
    /// lifetime of one second, the default is no window.
    pub fn refresh_grace(mut self, grace: Duration) -> Self {
        self.settings.refresh_grace = Some(grace);
        self
    }

    /// Clock-skew allowance on `exp`/`nbf` and in the theft rule (default zero).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.settings.leeway = Chosen::set(leeway);
        self
    }

    /// Issue a new refresh token on every refresh, with reuse detection (default off).
    pub fn refresh_rotation(mut self, on: bool) -> Self {
        self.settings.refresh_rotation = on;
        self
    }

    /// Require an access token to be its session's current one in the store (default on).
    pub fn pair_check(mut self, on: bool) -> Self {
        self.settings.pair_check = on;
        self
    }

    /// Revoke a session refreshed while its access token is still valid (default on).
    pub fn theft_detection(mut self, on: bool) -> Self {
        self.settings.theft_detection = on;
        self
    }

    /// The most live sessions one subject may have (default 1,000, at least 1; `u32::MAX` for
    /// no limit). A login past it ends (revokes) the subject's sessions that end first — with
    /// one session lifetime, the oldest — so a login always succeeds, and whoever can log in as
    /// a user cannot pile up sessions faster than "log out everywhere" ends them.
    pub fn max_sessions_per_subject(mut self, max: u32) -> Self {
        self.settings.max_sessions_per_subject = max;
        self
    }
}

/// A duration setting: its value, and whether the user chose it (errors say which were
/// defaults).
#[derive(Debug, Clone, Copy)]
pub(super) struct Chosen<T> {
    pub(super) value: T,
    explicit: bool,
}

impl<T> Chosen<T> {
    pub(super) fn default(value: T) -> Self {
        Self {
            value,
            explicit: false,
        }
    }

    pub(super) fn set(value: T) -> Self {
        Self {
            value,
            explicit: true,
        }
    }
}

/// `name (N s)` or `name (N s, the default)`, for error messages.
struct Named<'a>(&'a str, Chosen<Duration>);

impl fmt::Display for Named<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Named(name, chosen) = self;
        let value = chosen.value;
        match value.subsec_nanos() {
            0 => write!(f, "{name} ({} s", value.as_secs())?,
            _ => write!(f, "{name} ({} s", value.as_secs_f64())?,
        }
        if !chosen.explicit {
            f.write_str(", the default")?;
        }
        f.write_str(")")
    }
}

/// Checks the lifetimes against each other; returns the grace window, the default fitted to the
/// access lifetime.
pub(super) fn lifetimes(s: &Settings) -> Result<Duration, ConfigError> {
    let refuse = |detail: String| Err(ConfigError::new(ConfigErrorKind::InvalidLifetime, detail));
    let whole = |d: Duration| d.subsec_nanos() == 0;
    let access = Named("access_ttl", s.access_ttl);
    let refresh = Named("refresh_ttl", s.refresh_ttl);
    let leeway = Named("leeway", s.leeway);
    for named in [&access, &refresh, &leeway] {
        if !whole(named.1.value) {
            return refuse(format!("{named} must be a whole number of seconds"));
        }
    }
    if s.access_ttl.value < Duration::from_secs(1) {
        return refuse(format!("{access} must be at least one second"));
    }
    if s.refresh_ttl.value <= s.access_ttl.value {
        return refuse(format!("{refresh} must be longer than {access}"));
    }
    if s.refresh_ttl.value > MAX_SESSION_LIFETIME {
        return refuse(format!("{refresh} must be at most 50 years"));
    }
    if s.leeway.value >= s.access_ttl.value {
        return refuse(format!("{leeway} must be shorter than {access}"));
    }
    let grace = match s.refresh_grace {
        Some(grace) => grace,
        None => DEFAULT_GRACE.min(Duration::from_secs(s.access_ttl.value.as_secs() / 2)),
    };
    let named_grace = Named("refresh_grace", Chosen::set(grace));
    if !whole(grace) {
        return refuse(format!("{named_grace} must be a whole number of seconds"));
    }
    if grace >= s.access_ttl.value {
        return refuse(format!("{named_grace} must be shorter than {access}"));
    }
    Ok(grace)
}

/// Checks the counts and sizes.
pub(super) fn limits(s: &Settings) -> Result<(), ConfigError> {
    let refuse = |detail: String| Err(ConfigError::new(ConfigErrorKind::InvalidLimit, detail));
    if s.max_token_len < 256 {
        return refuse(format!(
            "max_token_len ({} bytes) must be at least 256 bytes",
            s.max_token_len
        ));
    }
    if s.max_sessions_per_subject == 0 {
        return refuse("max_sessions_per_subject must be at least 1".into());
    }
    Ok(())
}
