//! A server certificate refused by rustls, in words an operator acts on, for the stores' errors.

use std::error::Error as StdError;

use rustls::CertificateError;

const UNTRUSTED: &str =
    "the server's certificate is not trusted: no CA this store trusts signed it";
const MISNAMED: &str = "the server's certificate is not for the host connected to";
const EXPIRED: &str = "the server's certificate has expired";

/// The same, read from an error's text: the redis crate keeps an I/O error's words but not the
/// error itself (its `source` ends there).
pub(crate) fn certificate_refusal_in(text: &str) -> Option<&'static str> {
    if !text.contains("invalid peer certificate") {
        return None;
    }
    Some(if text.contains("UnknownIssuer") {
        UNTRUSTED
    } else if text.contains("not valid for name") || text.contains("NotValidForName") {
        MISNAMED
    } else if text.contains("expired") || text.contains("Expired") {
        EXPIRED
    } else {
        "the server's certificate was refused"
    })
}

/// Why `error` (or any cause beneath it, an I/O error's inner one included) is a refused server
/// certificate, if it is one.
pub(crate) fn certificate_refusal(error: &(dyn StdError + 'static)) -> Option<&'static str> {
    let mut cause = Some(error);
    while let Some(error) = cause {
        let inner = error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|inner| inner as &(dyn StdError + 'static));
        for candidate in [Some(error), inner].into_iter().flatten() {
            if let Some(rustls::Error::InvalidCertificate(refusal)) =
                candidate.downcast_ref::<rustls::Error>()
            {
                return Some(match refusal {
                    CertificateError::UnknownIssuer => UNTRUSTED,
                    CertificateError::NotValidForName
                    | CertificateError::NotValidForNameContext { .. } => MISNAMED,
                    CertificateError::Expired | CertificateError::ExpiredContext { .. } => EXPIRED,
                    _ => "the server's certificate was refused",
                });
            }
        }
        cause = error.source();
    }
    None
}
