//! `[server] tls`: the rustls server configuration (ring provider, TLS 1.2 and
//! 1.3) built from the PEM files of the certificate chain and the private key.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::TlsConfig;

/// Why the TLS files cannot be used; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("TLS certificate {path}: {reason}")]
    Cert { path: PathBuf, reason: String },
    #[error("TLS private key {path}: {reason}")]
    Key { path: PathBuf, reason: String },
    #[error("TLS certificate {cert} and key {key} cannot be used together: {reason}")]
    Pair {
        cert: PathBuf,
        key: PathBuf,
        reason: String,
    },
}

/// What a PEM reading error means to an operator.
fn pem_reason(e: rustls::pki_types::pem::Error, what: &str) -> String {
    use rustls::pki_types::pem::Error;
    match e {
        Error::Io(e) => format!("cannot read it ({e})"),
        Error::NoItemsFound => format!("no {what} in it (expected a PEM file)"),
        other => format!("not a valid PEM file ({other})"),
    }
}

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let error = |reason| TlsError::Cert {
        path: path.to_path_buf(),
        reason,
    };
    let what = "certificate (BEGIN CERTIFICATE)";
    let iter = CertificateDer::pem_file_iter(path).map_err(|e| error(pem_reason(e, what)))?;
    let chain = iter
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| error(pem_reason(e, what)))?;
    match chain.is_empty() {
        true => Err(error(pem_reason(
            rustls::pki_types::pem::Error::NoItemsFound,
            what,
        ))),
        false => Ok(chain),
    }
}

fn key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| TlsError::Key {
        path: path.to_path_buf(),
        reason: pem_reason(e, "private key (BEGIN PRIVATE KEY, RSA or EC PRIVATE KEY)"),
    })
}

/// Reads both files and checks that the key belongs to the certificate.
pub fn server_config(tls: &TlsConfig) -> Result<rustls::ServerConfig, TlsError> {
    let (chain, key) = (certs(&tls.cert)?, key(&tls.key)?);
    let pair = |reason: String| TlsError::Pair {
        cert: tls.cert.clone(),
        key: tls.key.clone(),
        reason,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| pair(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| pair(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &Path, cert: &str, key: &str) -> Result<rustls::ServerConfig, TlsError> {
        let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&c, cert).unwrap();
        std::fs::write(&k, key).unwrap();
        server_config(&TlsConfig { cert: c, key: k })
    }

    #[test]
    fn missing_and_empty_files_name_the_file_and_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let gone = TlsConfig {
            cert: dir.path().join("none.pem"),
            key: dir.path().join("none.key"),
        };
        let e = server_config(&gone).unwrap_err().to_string();
        assert!(e.contains("none.pem: cannot read it"), "{e}");
        let e = config(dir.path(), "hello\n", "").unwrap_err().to_string();
        assert!(e.contains("cert.pem: no certificate"), "{e}");
    }

    #[test]
    fn a_certificate_without_a_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        // A syntactically valid PEM block whose content is not a certificate.
        let cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let e = config(dir.path(), cert, "no key here\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("key.pem: no private key"), "{e}");
    }
}
