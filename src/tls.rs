//! The certificate authorities fxrates trusts, for fixer.io's HTTPS and for
//! PostgreSQL: the system's store, or what `SSL_CERT_FILE` and
//! `SSL_CERT_DIR` name instead (OpenSSL's and curl's convention, so a
//! TLS-inspecting proxy's or a private CA is trusted the way other tools on
//! the machine trust it). The variables are read by the settings layer;
//! this module is handed their values.

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use std::path::PathBuf;

/// Where trusted CA certificates come from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaSources {
    /// `SSL_CERT_FILE`: a PEM file of CA certificates.
    pub file: Option<PathBuf>,
    /// `SSL_CERT_DIR`: directories of PEM files (`:`-separated).
    pub dirs: Vec<PathBuf>,
}

impl CaSources {
    /// Whether a variable replaces the system's store.
    pub(crate) fn is_set(&self) -> bool {
        self.file.is_some() || !self.dirs.is_empty()
    }
}

/// The trusted CA certificates: from `SSL_CERT_FILE`/`SSL_CERT_DIR` when
/// either is set (and then only from them, as OpenSSL does), else the
/// system's store. `Ok(None)` when the system has none. Errors are one line
/// naming the variable to fix.
pub(crate) fn trusted(sources: &CaSources) -> Result<Option<Vec<CertificateDer<'static>>>, String> {
    if !sources.is_set() {
        // `load_native_certs` reads `SSL_CERT_FILE` and `SSL_CERT_DIR` itself
        // and, when either is set, loads only from it: the one read of the
        // environment below settings. Settings found both unset or empty to
        // get here, but rustls-native-certs takes an empty `SSL_CERT_FILE`
        // for a path, finds nothing there, and we answer "no certificates".
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            log::debug!("reading the system's CA certificates: {e}");
        }
        return Ok((!found.certs.is_empty()).then_some(found.certs));
    }
    let mut certs = Vec::new();
    if let Some(file) = &sources.file {
        if !file.is_file() {
            return Err(format!(
                "SSL_CERT_FILE={} is not a readable file of CA certificates; point it at a PEM \
                 file or unset it",
                file.display()
            ));
        }
        let found = rustls_native_certs::load_certs_from_paths(Some(file), None);
        if let Some(e) = found.errors.first() {
            return Err(format!(
                "cannot read SSL_CERT_FILE={}: {e}; point it at a PEM file of CA certificates \
                 or unset it",
                file.display()
            ));
        }
        if found.certs.is_empty() {
            return Err(format!(
                "SSL_CERT_FILE={} holds no PEM certificate; point it at a PEM file of CA \
                 certificates or unset it",
                file.display()
            ));
        }
        certs.extend(found.certs);
    }
    for dir in &sources.dirs {
        let found = rustls_native_certs::load_certs_from_paths(None, Some(dir));
        if let Some(e) = found.errors.first() {
            return Err(format!(
                "cannot read SSL_CERT_DIR directory {}: {e}; fix or unset SSL_CERT_DIR",
                dir.display()
            ));
        }
        // Each directory is named to be trusted: one without certificates
        // is a mistake even when another variable supplies some, and would
        // otherwise surface as a refused certificate after the database was
        // opened and a request counted.
        if found.certs.is_empty() {
            return Err(format!(
                "SSL_CERT_DIR names {}, which holds no PEM certificate; put the CA certificates                  there, or remove it from SSL_CERT_DIR",
                dir.display()
            ));
        }
        certs.extend(found.certs);
    }
    Ok(Some(certs))
}

/// [`trusted`] as a rustls store, for clients that need the system's CAs.
pub(crate) fn root_store(sources: &CaSources) -> Result<RootCertStore, String> {
    let certs = trusted(sources)?.ok_or(
        "TLS verification needs root certificates and the system has none; install \
         ca-certificates, or set SSL_CERT_FILE to a PEM file of CA certificates",
    )?;
    let mut store = RootCertStore::empty();
    let (added, _) = store.add_parsable_certificates(certs);
    if added == 0 {
        return Err("none of the CA certificates found can be used".into());
    }
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_file_that_is_missing_or_empty_is_an_error_naming_the_variable() {
        let dir = tempfile::tempdir().unwrap();
        let missing = CaSources {
            file: Some(dir.path().join("nope.pem")),
            dirs: Vec::new(),
        };
        let err = trusted(&missing).unwrap_err();
        assert!(err.starts_with("SSL_CERT_FILE="), "{err}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = trusted(&CaSources {
            file: Some(empty),
            dirs: Vec::new(),
        })
        .unwrap_err();
        assert!(err.contains("holds no PEM certificate"), "{err}");
        let err = trusted(&CaSources {
            file: None,
            dirs: vec![dir.path().to_path_buf()],
        })
        .unwrap_err();
        assert!(err.contains("SSL_CERT_DIR"), "{err}");
    }
}
