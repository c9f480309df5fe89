//! [`redact`]: connection strings as a store's `Debug` output and errors may show them.

use std::ops::Range;

/// Query parameters shown as they are: none of them can hold a secret.
const HARMLESS: [&str; 8] = [
    "db",
    "protocol",
    "dbname",
    "host",
    "port",
    "sslmode",
    "connect_timeout",
    "application_name",
];

/// `connection`, a store's connection string, with every credential replaced by `***`: for a
/// store's `Debug` output and errors, which end up in logs.
///
/// Covers what the Redis and PostgreSQL clients accept: a URL's user information
/// (`redis://user:password@host`, `postgres://user:password@host/db`), credentials in its query
/// (`redis+unix:///run/redis.sock?user=app&pass=…`, `postgres://host/db?password=…`), and
/// libpq's keyword form (`host=db password='…'`). It errs on the side of hiding: every query
/// value is hidden but a few known harmless ones (`db`, `dbname`, `host`, `port`, `sslmode`, …),
/// and a URL is read every way a client or a careless author could read it: everything before
/// its last `@` is hidden.
///
/// ```
/// use tower_jwt_auth::store::redact;
///
/// assert_eq!(redact("redis://app:s3cret@cache:6379/0"), "redis://***@cache:6379/0");
/// assert_eq!(redact("postgres://db/app?user=app&sslmode=require"), "postgres://db/app?user=***&sslmode=require");
/// assert_eq!(redact("host=db password='s3 cret' dbname=app"), "host=db password=*** dbname=app");
/// ```
#[must_use]
pub fn redact(connection: &str) -> String {
    match authority_start(connection) {
        Some(start) => redact_url(connection, start),
        None => redact_keywords(connection),
    }
}

/// Where the authority of a URL (`scheme://…`) starts; none for libpq's keyword form, whose
/// values may hold `://` too.
fn authority_start(text: &str) -> Option<usize> {
    let scheme_end = text.find("://")?;
    let scheme = &text[..scheme_end];
    let is_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    is_scheme.then_some(scheme_end + 3)
}

/// A URL with its user information and its query's values hidden, as any client could read them.
///
/// The clients disagree on where user information ends: the redis crate (through `url`) at the
/// last `@` before the first `/`, `?` or `#`; tokio-postgres at the first `@` anywhere. A
/// password holding one of those characters unescaped ends where its author meant it to, at
/// most at the last `@`. So everything before the last `@` is hidden. The query starts at the
/// first `?` for `url` and later for tokio-postgres; its values are hidden from the first `?`
/// on, each up to the next `&` (a `#` is part of it: tokio-postgres reads no fragment), with
/// any `&`-separated part without `=` after a hidden value taken for more of it.
fn redact_url(url: &str, authority: usize) -> String {
    let mut hidden = Vec::new();
    if let Some(at) = url[authority..].rfind('@') {
        hidden.push(authority..authority + at);
    }
    if let Some(query) = url[authority..].find('?') {
        hide_values(url, authority + query + 1, &mut hidden);
    }
    render(url, hidden)
}

/// Adds the values of the `&`-separated `key=value` parts of `url[start..]` to `hidden`.
fn hide_values(url: &str, start: usize, hidden: &mut Vec<Range<usize>>) {
    let mut part_start = start;
    let mut in_secret = false;
    for part in url[start..].split('&') {
        let end = part_start + part.len();
        match part.split_once('=') {
            Some((key, _)) => {
                // Harmless under the reading whose query starts at the key's last `?`; the
                // other readings see a longer key, which no client reads a secret from.
                let name = key.rsplit('?').next().unwrap_or(key);
                in_secret = !HARMLESS.iter().any(|h| h.eq_ignore_ascii_case(name));
                if in_secret {
                    hidden.push(part_start + key.len() + 1..end);
                }
            }
            None if in_secret => hidden.push(part_start..end),
            None => {}
        }
        part_start = end + 1;
    }
}

/// `text` with each of the `hidden` ranges (merged where they overlap or touch) shown as `***`.
fn render(text: &str, mut hidden: Vec<Range<usize>>) -> String {
    hidden.retain(|range| !range.is_empty());
    hidden.sort_by_key(|range| range.start);
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(hidden.len());
    for range in hidden {
        match merged.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut shown = 0;
    for range in merged {
        out.push_str(&text[shown..range.start]);
        out.push_str("***");
        shown = range.end;
    }
    out.push_str(&text[shown..]);
    out
}

/// libpq's `key=value` form, where a value may be quoted (`'…'`, with `\'` inside).
fn redact_keywords(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let Some(at) = find_ignore_case(rest, "password") else {
            out.push_str(rest);
            return out;
        };
        let after_key = &rest[at + "password".len()..];
        let trimmed = after_key.trim_start();
        let Some(value) = trimmed.strip_prefix('=') else {
            out.push_str(&rest[..at + "password".len()]);
            rest = after_key;
            continue;
        };
        out.push_str(&rest[..at]);
        out.push_str("password=***");
        let value = value.trim_start();
        rest = &value[value_len(value)..];
    }
}

/// The length of the value at the start of `text`: quoted, or up to the next whitespace.
fn value_len(text: &str) -> usize {
    let bytes = text.as_bytes();
    if bytes.first() != Some(&b'\'') {
        return text.find(char::is_whitespace).unwrap_or(text.len());
    }
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'\'' => return i + 1,
            _ => i += 1,
        }
    }
    text.len()
}

fn find_ignore_case(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_credential_form_is_hidden() {
        for (url, shown) in [
            ("redis://user:s3cret@host:6379/0", "redis://***@host:6379/0"),
            ("redis://:s3cret@127.0.0.1", "redis://***@127.0.0.1"),
            (
                "rediss://u:s3cret@h:6380/#insecure",
                "rediss://***@h:6380/#insecure",
            ),
            ("redis://u:pa/s3cret@h/1", "redis://***@h/1"),
            ("redis://host:6379", "redis://host:6379"),
            (
                "redis+unix:///run/redis.sock?db=1&user=app&pass=s3cret",
                "redis+unix:///run/redis.sock?db=1&user=***&pass=***",
            ),
            (
                "unix:///tmp/r.sock?pass=s3cret",
                "unix:///tmp/r.sock?pass=***",
            ),
            (
                "redis://h?protocol=3&password=s3cret",
                "redis://h?protocol=3&password=***",
            ),
            (
                "postgres://app:s3cret@db:5432/test?sslmode=require",
                "postgres://***@db:5432/test?sslmode=require",
            ),
            (
                "postgresql://db/test?user=app&password=s3cret",
                "postgresql://db/test?user=***&password=***",
            ),
            (
                "host=db user=app password=s3cret dbname=test",
                "host=db user=app password=*** dbname=test",
            ),
            (
                "host=db password = 's3 \\' cret' dbname=test",
                "host=db password=*** dbname=test",
            ),
            ("PASSWORD=s3cret", "password=***"),
            ("host=db password=s3://cret", "host=db password=***"),
        ] {
            let redacted = redact(url);
            assert_eq!(redacted, shown, "{url}");
            assert!(!redacted.contains("s3"), "{url}");
        }
    }

    /// Passwords holding the characters that end user information or start a query, unescaped.
    const TRICKY: [&str; 8] = [
        "s3?cr",
        "s3#cr",
        "s3/cr",
        "s3@cr",
        "s3?c@r#",
        "s3&cr",
        "s3=c?r",
        "s3@c/r?x=#",
    ];

    #[test]
    fn raw_delimiters_in_a_password_are_hidden_with_it() {
        for password in TRICKY {
            for url in [
                format!("postgres://app:{password}@db:5432/test"),
                format!("postgresql://app:{password}@db/test?sslmode=require"),
                format!("postgres://db/test?user=app&password={password}"),
                format!("postgres://db/test?password={password}&application_name=x"),
                format!("postgres://app:pw@db/test?application_name=a@b&password={password}"),
                format!("redis://:{password}@127.0.0.1:6379/0"),
                format!("rediss://app:{password}@h:6380/#insecure"),
                format!("redis+unix:///run/redis.sock?db=1&user=app&pass={password}"),
                format!("redis+unix:///run/redis.sock?user=a@b&pass={password}"),
            ] {
                let redacted = redact(&url);
                assert!(!redacted.contains("s3"), "{url} became {redacted}");
                assert!(!redacted.contains("cr"), "{url} became {redacted}");
                assert!(!redacted.contains(password), "{url} became {redacted}");
            }
        }
        // What is not secret stays readable.
        assert_eq!(
            redact("postgres://app:s3?cr@db/test?sslmode=require"),
            "postgres://***@db/test?sslmode=require"
        );
        assert_eq!(redact("redis://:s3#cr@h:6379/1"), "redis://***@h:6379/1");
        assert_eq!(redact("redis://:s3@cr@h"), "redis://***@h");
    }

    /// Whatever the clients themselves read as credentials from such a URL (only part of the
    /// password, at times, and the rest as a host) is hidden too.
    #[cfg(all(feature = "postgres", feature = "redis"))]
    #[test]
    fn what_the_clients_read_as_credentials_is_hidden() {
        use ::redis::IntoConnectionInfo;
        let hides = |url: &str, credentials: [Option<&str>; 2]| {
            let redacted = redact(url);
            for read in credentials.into_iter().flatten() {
                assert!(
                    read.is_empty() || !redacted.contains(read),
                    "{url} became {redacted}, which shows {read:?}"
                );
            }
        };
        for password in TRICKY {
            for url in [
                format!("postgres://app:{password}@db:5432/test"),
                format!("postgres://db/test?user=app&password={password}"),
                format!("postgres://app:pw{password}@db/test?password=s3{password}"),
            ] {
                if let Ok(config) = url.parse::<tokio_postgres::Config>() {
                    let password = config.get_password().map(String::from_utf8_lossy);
                    hides(&url, [config.get_user(), password.as_deref()]);
                }
            }
            for url in [
                format!("redis://app:{password}@h:6379/0"),
                format!("redis://:pw{password}@h"),
                format!("redis+unix:///run/r.sock?user=app&pass={password}"),
            ] {
                if let Ok(info) = url.as_str().into_connection_info() {
                    let settings = info.redis_settings();
                    hides(&url, [settings.username(), settings.password()]);
                }
            }
        }
    }
}
