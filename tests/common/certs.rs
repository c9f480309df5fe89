//! Certificates of the tests' own, made with rcgen: a CA, and a server certificate it signs for
//! `localhost` and `127.0.0.1`, written to a directory a server can read.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

/// A CA and the server certificate it signed, as PEM.
#[derive(Debug)]
pub(crate) struct ServerCerts {
    /// The CA's certificate: what a client must trust.
    pub(crate) ca: String,
    /// The server's certificate, signed by the CA, for `localhost` and `127.0.0.1`.
    pub(crate) cert: String,
    /// The server's private key.
    pub(crate) key: String,
}

/// A CA certificate, named `name`, and its key.
fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key")).expect("CA")
}

impl ServerCerts {
    /// A fresh CA and a server certificate it signed.
    pub(crate) fn new() -> Self {
        let ca = ca("tower-jwt-auth test CA");
        let key = KeyPair::generate().expect("server key");
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .expect("server parameters");
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let cert = params.signed_by(&key, &ca).expect("server certificate");
        Self {
            ca: ca.pem(),
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }

    /// The certificate of another CA, which signed nothing the server holds.
    pub(crate) fn other_ca() -> String {
        ca("another CA").pem()
    }

    /// Writes `ca.pem`, `server.crt` and `server.key` (mode 0600) into `dir`; returns their
    /// paths in that order.
    pub(crate) fn write(&self, dir: &Path) -> [PathBuf; 3] {
        let paths = [
            dir.join("ca.pem"),
            dir.join("server.crt"),
            dir.join("server.key"),
        ];
        for (path, text) in paths.iter().zip([&self.ca, &self.cert, &self.key]) {
            std::fs::write(path, text).expect("write a certificate file");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&paths[2], std::fs::Permissions::from_mode(0o600))
                .expect("key permissions");
        }
        paths
    }
}
