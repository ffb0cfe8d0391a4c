//! HTTPS in the lab: a certificate authority made fresh for each run (rcgen), a
//! certificate it signs for the course's names, and the course server's TLS setup
//! (rustls: TLS 1.3 and 1.2), which logs every session's secrets into wirelab's key
//! log so that the capture can be decrypted, live and in the saved file.
//!
//! The CA's private key lives in this process only and is gone when the run ends; a
//! program trusts the CA through the bundle the lab mounts for it, nothing else does.

use crate::tls::KeyLog;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::sync::Arc;

/// The lab's certificate authority and the server certificate it signed.
pub struct LabCa {
    /// The CA's certificate, PEM (what a program is told to trust).
    pub ca_pem: String,
    ca_der: CertificateDer<'static>,
    server_der: CertificateDer<'static>,
    server_key: Vec<u8>,
    /// The SHA-256 of the server certificate's public key (its SubjectPublicKeyInfo),
    /// base64: what Chromium's `--ignore-certificate-errors-spki-list` names.
    pub server_spki_sha256: String,
}

/// The CA's name, as a browser or `openssl s_client` shows it.
pub const CA_NAME: &str = "wirelab lab CA (made for one run)";

/// Why the lab's HTTPS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("making the lab's certificates: {0}")]
    Certificates(#[source] rcgen::Error),
    #[error("the lab's TLS setup: {0}")]
    Config(#[source] rustls::Error),
}

impl LabCa {
    /// A new CA, and a server certificate for `names` (the course's host names, and
    /// the server's address as an IP name).
    pub fn new(names: &[&str], ips: &[std::net::IpAddr]) -> Result<LabCa, TlsSetupError> {
        let err = TlsSetupError::Certificates;
        let ca_key = KeyPair::generate().map_err(err)?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca_params
            .distinguished_name
            .push(DnType::CommonName, CA_NAME);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = CertifiedIssuer::self_signed(ca_params, ca_key).map_err(err)?;
        let server_key = KeyPair::generate().map_err(err)?;
        let mut sans: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        sans.extend(ips.iter().map(|ip| ip.to_string()));
        let mut params = CertificateParams::new(sans).map_err(err)?;
        params
            .distinguished_name
            .push(DnType::CommonName, names.first().copied().unwrap_or("lab"));
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let server = params.signed_by(&server_key, &ca).map_err(err)?;
        Ok(LabCa {
            ca_pem: ca.pem(),
            ca_der: ca.der().clone(),
            server_der: server.der().clone(),
            server_key: server_key.serialize_der(),
            server_spki_sha256: {
                use base64::Engine;
                let digest = ring::digest::digest(
                    &ring::digest::SHA256,
                    &rcgen::PublicKeyData::subject_public_key_info(&server_key),
                );
                base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
            },
        })
    }

    /// The server's TLS setup: TLS 1.3 and 1.2 (rustls's ring suites: AES-GCM and
    /// ChaCha20-Poly1305, ECDHE), HTTP/1.1 and 1.0 offered by ALPN as "http/1.1",
    /// every session's secrets written into `keys`.
    pub fn server_config(
        &self,
        keys: Arc<KeyLog>,
    ) -> Result<Arc<rustls::ServerConfig>, TlsSetupError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(TlsSetupError::Config)?
            .with_no_client_auth()
            .with_single_cert(
                vec![self.server_der.clone(), self.ca_der.clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.server_key.clone())),
            )
            .map_err(TlsSetupError::Config)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        config.key_log = Arc::new(Secrets(keys));
        Ok(Arc::new(config))
    }
}

/// rustls's key log, written into wirelab's.
struct Secrets(Arc<KeyLog>);

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl rustls::KeyLog for Secrets {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        if let Ok(random) = client_random.try_into() {
            self.0.add(label, random, secret);
        }
    }
}
