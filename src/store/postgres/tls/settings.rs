//! The TLS settings of a connection string, which tokio-postgres does not read (libpq's
//! `sslmode` in full, `sslrootcert`), taken out of it.

use tokio_postgres::config::SslMode;

/// libpq's `sslmode`, all five that a client can mean (`allow` aside).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// No TLS.
    Disable,
    /// TLS if the server offers it, else plain; the certificate unverified (unless a CA is
    /// given, as libpq does).
    Prefer,
    /// TLS or no connection; the certificate unverified (unless a CA is given).
    Require,
    /// TLS, the certificate signed by a trusted CA, whatever name it is for.
    VerifyCa,
    /// TLS, the certificate signed by a trusted CA and for the host connected to.
    VerifyFull,
}

impl Mode {
    fn parse(value: &str) -> Result<Self, String> {
        Ok(match value {
            "disable" => Self::Disable,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            other => {
                return Err(format!(
                    "sslmode {other:?} is not one of disable, prefer, require, verify-ca, \
                     verify-full"
                ));
            }
        })
    }

    /// What tokio-postgres itself is told: whether TLS is tried, and required.
    pub(crate) fn ssl_mode(self) -> SslMode {
        match self {
            Self::Disable => SslMode::Disable,
            Self::Prefer => SslMode::Prefer,
            Self::Require | Self::VerifyCa | Self::VerifyFull => SslMode::Require,
        }
    }
}

/// A connection string with its TLS settings taken out: what tokio-postgres reads, the
/// `sslmode` (default `prefer`, as libpq's) and `sslrootcert`, a PEM file of trusted CAs.
#[derive(Debug)]
pub(crate) struct Split {
    pub(crate) rest: String,
    pub(crate) mode: Mode,
    pub(crate) root_cert: Option<String>,
}

/// Takes `sslmode` and `sslrootcert` out of a URL's query or a `key=value` string. A string
/// this cannot read is left whole, for tokio-postgres to refuse.
pub(crate) fn split(conn: &str) -> Result<Split, String> {
    let mut mode = None;
    let mut root_cert = None;
    let mut take = |key: &str, value: String| match key {
        "sslmode" => {
            mode = Some(value);
            true
        }
        "sslrootcert" => {
            root_cert = Some(value);
            true
        }
        _ => false,
    };
    let rest = if conn.starts_with("postgres://") || conn.starts_with("postgresql://") {
        split_url(conn, &mut take)
    } else {
        split_pairs(conn, &mut take)
    };
    let mode = match mode {
        Some(value) => Mode::parse(&value)?,
        None => Mode::Prefer,
    };
    Ok(Split {
        rest,
        mode,
        root_cert,
    })
}

fn split_url(url: &str, take: &mut impl FnMut(&str, String) -> bool) -> String {
    // The query starts at the first `?` after the last `@`: a password may hold either.
    let host_part = url.rfind('@').unwrap_or(0);
    let Some(query_start) = url[host_part..].find('?').map(|i| host_part + i) else {
        return url.to_owned();
    };
    let kept: Vec<&str> = url[query_start + 1..]
        .split('&')
        .filter(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            !take(key, percent_decode(value))
        })
        .collect();
    let base = &url[..query_start];
    match kept.is_empty() {
        true => base.to_owned(),
        false => format!("{base}?{}", kept.join("&")),
    }
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// libpq's `key = value` form: values bare or single-quoted, `\` escaping the next character.
fn split_pairs(conn: &str, take: &mut impl FnMut(&str, String) -> bool) -> String {
    let chars: Vec<char> = conn.chars().collect();
    let mut kept = String::with_capacity(conn.len());
    let mut i = 0;
    let skip_space = |i: &mut usize| {
        while chars.get(*i).is_some_and(|c| c.is_whitespace()) {
            *i += 1;
        }
    };
    loop {
        skip_space(&mut i);
        if i >= chars.len() {
            return kept;
        }
        let start = i;
        while chars
            .get(i)
            .is_some_and(|&c| c != '=' && !c.is_whitespace())
        {
            i += 1;
        }
        let key: String = chars[start..i].iter().collect();
        skip_space(&mut i);
        if chars.get(i) != Some(&'=') {
            return conn.to_owned();
        }
        i += 1;
        skip_space(&mut i);
        let mut value = String::new();
        let quoted = chars.get(i) == Some(&'\'');
        if quoted {
            i += 1;
        }
        loop {
            match chars.get(i) {
                None if quoted => return conn.to_owned(),
                None => break,
                Some('\'') if quoted => {
                    i += 1;
                    break;
                }
                Some(c) if c.is_whitespace() && !quoted => break,
                Some('\\') => {
                    let Some(&next) = chars.get(i + 1) else {
                        return conn.to_owned();
                    };
                    value.push(next);
                    i += 2;
                }
                Some(&c) => {
                    value.push(c);
                    i += 1;
                }
            }
        }
        if !take(&key, value) {
            kept.push_str(&chars[start..i].iter().collect::<String>());
            kept.push(' ');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taken(conn: &str) -> (String, Mode, Option<String>) {
        let split = split(conn).expect("readable");
        (split.rest, split.mode, split.root_cert)
    }

    #[test]
    fn sslmode_and_root_cert_leave_a_url() {
        assert_eq!(
            taken("postgres://u@h/db?sslmode=verify-full&sslrootcert=%2Fca.pem&application_name=a"),
            (
                "postgres://u@h/db?application_name=a".to_owned(),
                Mode::VerifyFull,
                Some("/ca.pem".to_owned())
            )
        );
        assert_eq!(
            taken("postgres://u:p?w@h/db?sslmode=require"),
            ("postgres://u:p?w@h/db".to_owned(), Mode::Require, None)
        );
        assert_eq!(
            taken("postgres://u@h/db"),
            ("postgres://u@h/db".to_owned(), Mode::Prefer, None)
        );
    }

    #[test]
    fn sslmode_and_root_cert_leave_key_value_pairs() {
        let (rest, mode, root) =
            taken("host=h sslmode = verify-ca sslrootcert='/a b\\'.pem' dbname=x");
        assert_eq!(rest.trim(), "host=h dbname=x");
        assert_eq!(mode, Mode::VerifyCa);
        assert_eq!(root.as_deref(), Some("/a b'.pem"));
    }

    #[test]
    fn an_unknown_sslmode_is_named() {
        let error = split("postgres://h/db?sslmode=verify").expect_err("no such mode");
        assert!(error.contains("\"verify\""), "{error}");
    }
}
