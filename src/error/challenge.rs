//! The `WWW-Authenticate` challenges of RFC 6750 §3, one per refusal, each written once as a
//! `static` header value.

use http::HeaderValue;

/// A `WWW-Authenticate` challenge, as text and as a header value built (and validated) at
/// compile time, so that refusing a request neither formats nor checks anything.
#[derive(Clone, Copy)]
pub(crate) struct Challenge {
    pub(crate) text: &'static str,
    pub(crate) header: &'static HeaderValue,
}

/// A description and, when the response carries one, its challenge.
pub(crate) type Text = (&'static str, Option<Challenge>);

macro_rules! challenge {
    ($code:literal, $description:literal) => {
        $crate::error::challenge!(concat!(
            "Bearer error=\"",
            $code,
            "\", error_description=\"",
            $description,
            "\""
        ) => $description)
    };
    ($challenge:expr => $description:expr) => {{
        const TEXT: &str = $challenge;
        static HEADER: http::HeaderValue = http::HeaderValue::from_static(TEXT);
        (
            $description,
            Some($crate::error::Challenge {
                text: TEXT,
                header: &HEADER,
            }),
        )
    }};
}

/// An `invalid_request` description with its challenge.
macro_rules! invalid_request {
    ($description:literal) => {
        $crate::error::challenge!("invalid_request", $description)
    };
}

/// An `invalid_token` description with its challenge.
macro_rules! invalid_token {
    ($description:literal) => {
        $crate::error::challenge!("invalid_token", $description)
    };
}

pub(crate) use {challenge, invalid_request, invalid_token};
