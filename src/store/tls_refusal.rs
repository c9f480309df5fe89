//! A server certificate refused by rustls, in words an operator acts on, for the stores' errors.

use std::error::Error as StdError;

use rustls::CertificateError;

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
                    CertificateError::UnknownIssuer => {
                        "the server's certificate is not trusted: no CA this store trusts signed it"
                    }
                    CertificateError::NotValidForName
                    | CertificateError::NotValidForNameContext { .. } => {
                        "the server's certificate is not for the host connected to"
                    }
                    CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                        "the server's certificate has expired"
                    }
                    _ => "the server's certificate was refused",
                });
            }
        }
        cause = error.source();
    }
    None
}
