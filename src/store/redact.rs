//! Connection strings as `Debug` may print them: every credential replaced by `***`.
//!
//! Covers what the Redis and PostgreSQL clients accept: a URL's user information
//! (`redis://user:password@host`, `postgres://user:password@host/db`), credentials in its query
//! (`redis+unix:///run/redis.sock?user=app&pass=…`, `postgres://host/db?password=…`), and
//! libpq's keyword form (`host=db password='…'`). It errs on the side of hiding: every query
//! value is hidden but a few known harmless ones.

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

/// `connection` with every credential replaced by `***`.
pub(crate) fn redact(connection: &str) -> String {
    match connection.find("://") {
        Some(scheme_end) => redact_url(connection, scheme_end + 3),
        None => redact_keywords(connection),
    }
}

fn redact_url(url: &str, authority_start: usize) -> String {
    let query_start = url.find(['?', '#']).unwrap_or(url.len());
    let (head, tail) = url.split_at(query_start);
    let mut out = String::with_capacity(url.len());
    // User information ends at the last `@` before the query, wherever a careless password put
    // a `/`: better to hide part of a path than to show part of a password.
    match head[authority_start..].rfind('@') {
        Some(at) => {
            out.push_str(&head[..authority_start]);
            out.push_str("***");
            out.push_str(&head[authority_start + at..]);
        }
        None => out.push_str(head),
    }
    let (query, fragment) = match tail.find('#') {
        Some(hash) => tail.split_at(hash),
        None => (tail, ""),
    };
    if let Some(query) = query.strip_prefix('?') {
        out.push('?');
        for (i, pair) in query.split('&').enumerate() {
            if i > 0 {
                out.push('&');
            }
            match pair.split_once('=') {
                Some((key, value)) if HARMLESS.iter().any(|h| h.eq_ignore_ascii_case(key)) => {
                    out.push_str(key);
                    out.push('=');
                    out.push_str(value);
                }
                Some((key, _)) => {
                    out.push_str(key);
                    out.push_str("=***");
                }
                None => out.push_str(pair),
            }
        }
    }
    out.push_str(fragment);
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
        ] {
            let redacted = redact(url);
            assert_eq!(redacted, shown, "{url}");
            assert!(!redacted.contains("s3"), "{url}");
        }
    }
}
