//! A refusal's reason as a plain-text body, for the body types that can hold one.

use std::any::Any;

use bytes::Bytes;
use http::HeaderValue;
use http_body_util::Full;

/// The `Content-Type` of a [`text_body`].
pub(crate) const TEXT_PLAIN: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");

/// `text` as a body of type `B`, if `B` can hold text: `String`, `Vec<u8>`, `Bytes`,
/// `Full<Bytes>`, or axum's `Body` with the `axum` feature; `None` for any other type.
///
/// The responders serve any `B: Default`, since a body type may offer nothing more (tonic's has
/// no `From<String>`); no bound that every body meets can write text into one, so the types
/// that can hold it are told apart at run time.
pub(crate) fn text_body<B: Default + 'static>(text: &'static str) -> Option<B> {
    let mut body = B::default();
    let slot: &mut dyn Any = &mut body;
    let bytes = || Bytes::from_static(text.as_bytes());
    let held = put(slot, || text.to_owned())
        || put(slot, || text.as_bytes().to_vec())
        || put(slot, bytes)
        || put(slot, || Full::new(bytes()))
        || put_axum(slot, text);
    held.then_some(body)
}

/// Puts `value()` in `slot` if `slot` holds a `T`; whether it did.
fn put<T: 'static>(slot: &mut dyn Any, value: impl FnOnce() -> T) -> bool {
    let Some(body) = slot.downcast_mut::<T>() else {
        return false;
    };
    *body = value();
    true
}

#[cfg(feature = "axum")]
fn put_axum(slot: &mut dyn Any, text: &'static str) -> bool {
    put(slot, || axum_core::body::Body::from(text))
}

#[cfg(not(feature = "axum"))]
fn put_axum(_: &mut dyn Any, _: &'static str) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    #[tokio::test]
    async fn text_goes_into_every_body_type_that_can_hold_it() {
        let text = "cross-site request refused";
        assert_eq!(text_body::<String>(text).unwrap(), text);
        assert_eq!(text_body::<Vec<u8>>(text).unwrap(), text.as_bytes());
        assert_eq!(text_body::<Bytes>(text).unwrap(), text);
        let full = text_body::<Full<Bytes>>(text).unwrap();
        assert_eq!(full.collect().await.unwrap().to_bytes(), text);
        #[cfg(feature = "axum")]
        {
            let body = text_body::<axum_core::body::Body>(text).unwrap();
            assert_eq!(body.collect().await.unwrap().to_bytes(), text);
        }
    }

    #[test]
    fn other_body_types_hold_none() {
        assert!(text_body::<()>("text").is_none());
        assert!(text_body::<http_body_util::Empty<Bytes>>("text").is_none());
    }
}
