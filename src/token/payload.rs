//! Reading a verified payload: the registered claims, every other reserved claim, and the
//! application's claims, in one pass.
//!
//! A payload laid out exactly as [`mint`](super::mint) writes it (the registered claims in
//! their order, no whitespace, no escapes, numbers as plain digits) is read by hand, which
//! costs a fraction of a serde parse; the application's claims after them still go through
//! serde. Anything else (another order, an escape, a number serde would read differently, a
//! reserved claim among the application's) goes to serde whole. The hand reader answers only
//! for inputs it reads exactly as serde does, so both give the same claims, or the same
//! refusal, for every payload.
//!
//! Both hold the payload's text to the rules every path shares ([`rules`](super::rules)): UTF-8
//! throughout, checked before either reads it, and each member once, which the hand reader
//! checks of the application's claims (its registered ones are unique as read) and serde's
//! reading of the whole.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use serde::de::value::MapDeserializer;
use serde::de::{DeserializeOwned, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::rules::{self, TextDefect};
use crate::id::{ENCODED_LEN, EncodedId, SessionId, TokenId};

/// Why a payload could not be read.
#[derive(Debug)]
pub(super) enum ReadError {
    /// Its text breaks a rule every path holds payloads to.
    Text(TextDefect),
    /// It is not the JSON object of a token's claims.
    Json(serde_json::Error),
}

/// The payload of a verified token, read by hand if it has the minted layout, else by serde.
/// `json` is borrowed mutably only to read the application's claims in place; it is left as
/// it was.
pub(super) fn read<C: DeserializeOwned>(json: &mut [u8]) -> Result<Payload<'_, C>, ReadError> {
    rules::utf8(json).map_err(ReadError::Text)?;
    let registered = Registered::scan(json);
    let custom = registered.as_ref().and_then(|r| r.custom::<C>(json));
    let json: &[u8] = json;
    if let Some((registered, custom)) = registered.zip(custom) {
        return Ok(registered.into_payload(json, custom));
    }
    let payload = serde_json::from_slice(json).map_err(ReadError::Json)?;
    rules::each_member_once(json).map_err(ReadError::Text)?;
    Ok(payload)
}

/// The registered claims of a payload with the minted layout, and where the rest begins.
struct Registered {
    sub: String,
    sid: SessionId,
    jti: TokenId,
    iat: u64,
    exp: u64,
    nbf: Option<u64>,
    iss: Option<Range<usize>>,
    aud: Option<Range<usize>>,
    /// The `,` before the application's claims, or the closing `}`.
    rest: usize,
}

impl Registered {
    /// The registered claims, if `json` (UTF-8) starts with them exactly as minted.
    fn scan(json: &[u8]) -> Option<Self> {
        let mut at = Scanner { json, at: 0 };
        at.literal(b"{\"sub\":")?;
        let sub = at.string()?;
        at.literal(b",\"sid\":")?;
        let sid = at.id()?;
        at.literal(b",\"jti\":")?;
        let jti = at.id()?;
        at.literal(b",\"iat\":")?;
        let iat = at.number()?;
        at.literal(b",\"exp\":")?;
        let exp = at.number()?;
        // The optional claims, each present only if its key comes next.
        let nbf = match at.literal(b",\"nbf\":") {
            Some(()) => Some(at.number()?),
            None => None,
        };
        let iss = match at.literal(b",\"iss\":") {
            Some(()) => Some(at.string()?),
            None => None,
        };
        let aud = match at.literal(b",\"aud\":") {
            Some(()) => Some(at.string()?),
            None => None,
        };
        Some(Self {
            // UTF-8 between two ASCII quotes of a UTF-8 payload: the check cannot fail.
            sub: std::str::from_utf8(&json[sub]).ok()?.to_owned(),
            sid,
            jti,
            iat,
            exp,
            nbf,
            iss,
            aud,
            rest: at.at,
        })
    }

    /// The application's claims: the members after the registered ones, read by serde as one
    /// object. `None` if serde would read the whole payload differently: a syntax error, a
    /// reserved claim among them (serde refuses a repeated one, and consumes `cnf` itself),
    /// claims that do not fit `C` or name a member twice (serde is then asked again, and the
    /// rule after it, for the error).
    fn custom<C: DeserializeOwned>(&self, json: &mut [u8]) -> Option<C> {
        let rest: Rest<C> = match json[self.rest..] {
            // No members: what serde hands the claims is the same for any empty map.
            [b'}'] => {
                let empty = std::iter::empty::<(&str, ())>();
                Rest::deserialize(MapDeserializer::<_, serde::de::value::Error>::new(empty)).ok()?
            }
            // A member must follow the comma: `{}` would read where `,}` does not.
            [b',', b'"', ..] => {
                // `,"role":"admin"}` read in place as `{"role":"admin"}`.
                json[self.rest] = b'{';
                let rest = serde_json::from_slice(&json[self.rest..]);
                let once = rules::each_member_once(&json[self.rest..]);
                json[self.rest] = b',';
                once.ok()?;
                rest.ok()?
            }
            _ => return None,
        };
        (!rest.has_reserved()).then_some(rest.custom)
    }

    /// The payload, borrowing `iss` and `aud` from `json`, the payload scanned.
    fn into_payload<C>(self, json: &[u8], custom: C) -> Payload<'_, C> {
        let claim = |range: Option<Range<usize>>| match range {
            // UTF-8 between two ASCII quotes of a UTF-8 payload: the fallback is never taken.
            Some(range) => Lenient::Present(OneOrMany::One(Cow::Borrowed(
                std::str::from_utf8(&json[range]).unwrap_or_default(),
            ))),
            None => Lenient::Absent,
        };
        Payload {
            sub: self.sub,
            sid: self.sid,
            jti: self.jti,
            iat: self.iat,
            exp: self.exp,
            nbf: self.nbf,
            iss: claim(self.iss),
            aud: claim(self.aud),
            cnf: IgnoredAny,
            custom,
        }
    }
}

/// A position in a payload, moving forward only over what the minted layout allows.
struct Scanner<'a> {
    json: &'a [u8],
    at: usize,
}

impl Scanner<'_> {
    /// Steps over `expected` if it comes next. A fixed length, so the comparison is a few loads
    /// rather than a call.
    fn literal<const N: usize>(&mut self, expected: &[u8; N]) -> Option<()> {
        let next: &[u8; N] = self.json.get(self.at..self.at + N)?.try_into().ok()?;
        (next == expected).then(|| self.at += N)
    }

    /// A string with nothing serde would unescape or refuse: no backslash escape, no control
    /// character (the payload is UTF-8 throughout).
    fn string(&mut self) -> Option<Range<usize>> {
        self.literal(b"\"")?;
        let start = self.at;
        // Claims are short: a plain scan finds the quote sooner than setting up `memchr`.
        let len = self.json[start..].iter().position(|&b| b == b'"')?;
        let body = &self.json[start..start + len];
        if body.iter().fold(false, |serde_only, &b| {
            serde_only | (b == b'\\') | (b < 0x20)
        }) {
            return None;
        }
        self.at = start + len + 1;
        Some(start..start + len)
    }

    /// An identifier: exactly its 22 base64url characters between quotes, so nothing in it
    /// could be an escape.
    fn id<T: EncodedId>(&mut self) -> Option<T> {
        self.literal(b"\"")?;
        let id = T::from_encoded(self.json.get(self.at..self.at + ENCODED_LEN)?)?;
        self.at += ENCODED_LEN;
        self.literal(b"\"")?;
        Some(id)
    }

    /// A `u64` in plain digits, without the leading zero JSON forbids. A fraction or exponent
    /// is left unread, so the next literal fails on it.
    fn number(&mut self) -> Option<u64> {
        let rest = &self.json[self.at..];
        let digits = rest
            .iter()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(rest.len());
        let text = &rest[..digits];
        let digit = |d: &u8| u64::from(d - b'0');
        let value = match text {
            // Nothing, or a leading zero JSON forbids.
            [] | [b'0', _, ..] => return None,
            // Below 10^19, so no overflow.
            _ if digits < 20 => text.iter().fold(0, |n, d| n * 10 + digit(d)),
            _ => text
                .iter()
                .try_fold(0u64, |n, d| n.checked_mul(10)?.checked_add(digit(d)))?,
        };
        self.at += digits;
        Some(value)
    }
}

/// The members after the registered claims, as serde reads them into [`Payload`]: unknown keys
/// go to the application's claims, and every reserved claim that turns up among them is marked.
#[derive(Deserialize)]
#[serde(bound(deserialize = "C: DeserializeOwned"))]
struct Rest<C> {
    #[serde(default, deserialize_with = "seen")]
    sub: bool,
    #[serde(default, deserialize_with = "seen")]
    sid: bool,
    #[serde(default, deserialize_with = "seen")]
    jti: bool,
    #[serde(default, deserialize_with = "seen")]
    iat: bool,
    #[serde(default, deserialize_with = "seen")]
    exp: bool,
    #[serde(default, deserialize_with = "seen")]
    nbf: bool,
    #[serde(default, deserialize_with = "seen")]
    iss: bool,
    #[serde(default, deserialize_with = "seen")]
    aud: bool,
    #[serde(default, deserialize_with = "seen")]
    cnf: bool,
    #[serde(flatten)]
    custom: C,
}

impl<C> Rest<C> {
    fn has_reserved(&self) -> bool {
        self.sub
            | self.sid
            | self.jti
            | self.iat
            | self.exp
            | self.nbf
            | self.iss
            | self.aud
            | self.cnf
    }
}

/// Any value, `null` included, marks its key as present.
fn seen<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(deserializer).map(|_| true)
}

/// The payload as verification reads it: [`Claims`] plus every other reserved claim (see
/// [`RESERVED_CLAIMS`](super::claims::RESERVED_CLAIMS)), in one pass.
#[derive(Deserialize)]
#[serde(bound(deserialize = "C: DeserializeOwned"))]
pub(super) struct Payload<'a, C> {
    pub(super) sub: String,
    pub(super) sid: SessionId,
    pub(super) jti: TokenId,
    pub(super) iat: u64,
    pub(super) exp: u64,
    #[serde(default)]
    pub(super) nbf: Option<u64>,
    #[serde(default, borrow)]
    pub(super) iss: Lenient<'a>,
    #[serde(default, borrow)]
    pub(super) aud: Lenient<'a>,
    #[serde(default)]
    #[expect(
        dead_code,
        reason = "read to be consumed: the application's claims never see it"
    )]
    cnf: IgnoredAny,
    #[serde(flatten)]
    pub(super) custom: C,
}

/// A claim read the way `jsonwebtoken` validates `iss` and `aud`: `null` counts as absent and a
/// value of the wrong type as present-but-unusable, never as a parse failure of the whole token.
/// A *syntax* error (a lone surrogate, invalid UTF-8, an out-of-range number) still fails the
/// whole token, as a strict parse of the same bytes does.
#[derive(Debug, Default)]
pub(super) enum Lenient<'a> {
    #[default]
    Absent,
    Unusable,
    Present(OneOrMany<'a>),
}

/// A string, or an array of strings (RFC 7519 allows both for `aud`; `jsonwebtoken` for `iss`).
#[derive(Debug)]
pub(super) enum OneOrMany<'a> {
    One(Cow<'a, str>),
    Many(Vec<Cow<'a, str>>),
}

impl Lenient<'_> {
    /// The values a configured check may accept: none unless the claim is a string or strings.
    pub(super) fn values(&self) -> impl Iterator<Item = &str> {
        let values: &[Cow<'_, str>] = match self {
            Lenient::Present(OneOrMany::One(value)) => std::slice::from_ref(value),
            Lenient::Present(OneOrMany::Many(values)) => values,
            Lenient::Absent | Lenient::Unusable => &[],
        };
        values.iter().map(|value| &**value)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Lenient<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LenientVisitor)
    }
}

/// Reads any JSON value strictly (every string checked, every number in range) and keeps it
/// only if it is a string or an array of strings.
struct LenientVisitor;

impl<'de> Visitor<'de> for LenientVisitor {
    type Value = Lenient<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Lenient::Present(OneOrMany::One(Cow::Borrowed(value))))
    }

    fn visit_str<E>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Lenient::Present(OneOrMany::One(Cow::Owned(
            value.to_owned(),
        ))))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Lenient::Absent)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Lenient::Absent)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Lenient::Unusable)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Lenient::Unusable)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Lenient::Unusable)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Lenient::Unusable)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut values = Vec::new();
        let mut usable = true;
        while let Some(item) = seq.next_element::<Lenient<'de>>()? {
            match item {
                Lenient::Present(OneOrMany::One(value)) if usable => values.push(value),
                _ => usable = false,
            }
        }
        Ok(if usable {
            Lenient::Present(OneOrMany::Many(values))
        } else {
            Lenient::Unusable
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<Lenient<'de>, Lenient<'de>>()?.is_some() {}
        Ok(Lenient::Unusable)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use serde::Serialize;

    use super::*;

    const SID: &str = "AAECAwQFBgcICQoLDA0ODw";
    const JTI: &str = "EBESExQVFhcYGRobHB0eHw";

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Extra {
        #[serde(default)]
        role: Option<String>,
    }

    type Map = BTreeMap<String, serde_json::Value>;

    /// What a reading yields, comparable.
    fn seen<C: std::fmt::Debug>(payload: &Payload<'_, C>) -> String {
        format!(
            "{} {:?} {:?} {} {} {:?} {:?} {:?} {:?}",
            payload.sub,
            payload.sid,
            payload.jti,
            payload.iat,
            payload.exp,
            payload.nbf,
            payload.iss,
            payload.aud,
            payload.custom
        )
    }

    /// The hand reader and serde agree on `json` for claims `C`; returns whether the hand
    /// reader answered.
    fn agree<C: DeserializeOwned + std::fmt::Debug>(json: &[u8]) -> Result<bool, TestCaseError> {
        let mut copy = json.to_vec();
        let utf8 = std::str::from_utf8(json).is_ok();
        let fast =
            utf8 && Registered::scan(&copy).is_some_and(|m| m.custom::<C>(&mut copy).is_some());
        prop_assert_eq!(&copy, json, "the payload is left as it was");
        let read = read::<C>(&mut copy).map(|p| seen(&p)).map_err(|e| match e {
            ReadError::Text(defect) => defect.describe().to_owned(),
            ReadError::Json(e) => e.to_string(),
        });
        // serde, and the rules it does not apply: to the strings it skips, to the members its
        // map keeps the last copy of.
        let serde = match utf8 {
            false => Err(TextDefect::NotUtf8.describe().to_owned()),
            true => serde_json::from_slice::<Payload<'_, C>>(json)
                .map_err(|e| e.to_string())
                .and_then(|p| match rules::each_member_once(json) {
                    Ok(()) => Ok(seen(&p)),
                    Err(defect) => Err(defect.describe().to_owned()),
                }),
        };
        prop_assert_eq!(read, serde, "{}", String::from_utf8_lossy(json));
        Ok(fast)
    }

    /// `good` nine times in ten, else one of `odd`.
    fn mostly(
        good: &'static str,
        odd: &[&'static str],
    ) -> impl Strategy<Value = &'static str> + use<> {
        prop_oneof![9 => Just(good), 1 => proptest::sample::select(odd.to_vec())]
    }

    /// Members laid out as minted, with each part now and then spelled in a way the hand
    /// reader must leave to serde (or that serde refuses).
    fn payload() -> impl Strategy<Value = Vec<u8>> {
        let number = || {
            mostly(
                "1700000000",
                &[
                    "0",
                    "01",
                    "00",
                    "-1",
                    "1.5",
                    "1e3",
                    "1E3",
                    "null",
                    "\"5\"",
                    "18446744073709551615",
                    "18446744073709551616",
                    "99999999999999999999",
                    "",
                ],
            )
        };
        let id = |good: &'static str| {
            mostly(
                good,
                &[
                    "AAECAwQFBgcICQoLDA0OD",
                    "AAECAwQFBgcICQoLDA0ODwA",
                    "AAECAwQFBgcICQoLDA0OD+",
                    "AAECAwQFBgcICQoLDA0OD\\u0077",
                    "AAECAwQFBgcICQoLDA0ODx",
                    "AAECAwQFBgcICQoLDA0OD\\",
                ],
            )
        };
        let sub = mostly(
            "alice",
            &[
                "",
                "al\\\"ice",
                "al\\u0069ce",
                "\u{e9}t\u{e9}",
                "a\u{1}b",
                "a\\nb",
                "a\u{7f}b",
                "al@ce",
                "al\\",
            ],
        );
        let string = || {
            mostly(
                "",
                &[
                    "\"api\"",
                    "\"a@\"",
                    "[\"api\"]",
                    "[\"a@\"]",
                    "null",
                    "\"a\\\"b\"",
                    "\"a\\u0062\"",
                    "7",
                ],
            )
        };
        let tail = mostly(
            "",
            &[
                ",\"role\":\"admin\"",
                ",\"sub\":\"x\"",
                ",\"cnf\":{}",
                ",\"nbf\":5",
                ",\"x\":7",
                ",\"aud\":null",
                ",\"role\":7",
                ",\"x\":}",
                ",\"role\":\"a\",\"role\":\"b\"",
                ",",
                ", \"x\":1",
            ],
        );
        let end = mostly("}", &["} ", "}x", "", " }", "}}"]);
        (
            (sub, id(SID), id(JTI), number(), number()),
            (
                prop::option::weighted(0.3, number()),
                string(),
                string(),
                tail,
                end,
            ),
            prop::bool::weighted(0.1),
        )
            .prop_map(
                |((sub, sid, jti, iat, exp), (nbf, iss, aud, tail, end), spaced)| {
                    let mut members = vec![
                        format!("\"sub\":\"{sub}\""),
                        format!("\"sid\":\"{sid}\""),
                        format!("\"jti\":\"{jti}\""),
                        format!("\"iat\":{iat}"),
                        format!("\"exp\":{exp}"),
                    ];
                    members.extend(nbf.map(|nbf| format!("\"nbf\":{nbf}")));
                    if !iss.is_empty() {
                        members.push(format!("\"iss\":{iss}"));
                    }
                    if !aud.is_empty() {
                        members.push(format!("\"aud\":{aud}"));
                    }
                    let separator = if spaced { ", " } else { "," };
                    let mut json = format!("{{{}{tail}{end}", members.join(separator)).into_bytes();
                    // `@` stands for a byte that is not UTF-8.
                    for byte in json.iter_mut().filter(|b| **b == b'@') {
                        *byte = 0xff;
                    }
                    json
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn the_hand_reader_and_serde_agree(json in payload()) {
            agree::<()>(&json)?;
            agree::<Extra>(&json)?;
            agree::<Map>(&json)?;
        }
    }

    /// The property above would prove little if the hand reader seldom answered: of the
    /// payloads it is given, a good share must be read by hand.
    #[test]
    fn the_property_reaches_the_hand_reader() {
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let strategy = payload();
        let mut by_hand = 0;
        for _ in 0..2000 {
            let json = strategy.new_tree(&mut runner).unwrap().current();
            by_hand += usize::from(agree::<()>(&json).unwrap());
        }
        assert!(by_hand > 400, "{by_hand} of 2000 read by hand");
    }

    #[test]
    fn the_minted_layout_is_read_by_hand() {
        let minted = format!(
            r#"{{"sub":"alice","sid":"{SID}","jti":"{JTI}","iat":1700000000,"exp":1700000900,"nbf":1,"iss":"i","aud":"a"}}"#
        );
        let with_claims = minted.replace('}', r#","role":"admin"}"#);
        for json in [&minted, &with_claims] {
            assert!(agree::<()>(json.as_bytes()).unwrap());
            assert!(agree::<Extra>(json.as_bytes()).unwrap());
            assert!(agree::<Map>(json.as_bytes()).unwrap());
        }
        let mut json = with_claims.into_bytes();
        let payload = read::<Extra>(&mut json).unwrap();
        assert_eq!(payload.custom.role.as_deref(), Some("admin"));
        assert_eq!(
            (payload.iat, payload.exp, payload.nbf),
            (1_700_000_000, 1_700_000_900, Some(1))
        );
        // A reserved claim among the application's: serde refuses the repeated key.
        let mut repeated = minted.replace('}', r#","exp":5}"#).into_bytes();
        assert!(read::<Map>(&mut repeated).is_err());
    }
}
