//! HTTPS to fixer with the CAs the machine trusts: `SSL_CERT_FILE` names a
//! private CA (a TLS-inspecting proxy's, a company's), and without it the
//! same server is refused with a line that names TLS.

use crate::common::*;

const NOW: &str = "2024-09-20T09:00:00Z";
const TODAY: &str = "2024-09-20";

#[test]
fn a_private_ca_is_trusted_through_ssl_cert_file_and_only_then() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::make(dir.path());
    let fixer = FakeFixer::free_plan(TODAY);
    let front = TlsFront::start(&ca, &fixer);

    // Without the CA: refused as TLS, a person must act, nothing stored.
    let env = TestEnv::new(&front.url, NOW);
    let err = env.fails(&["ingest", "--no-heal"], 78);
    assert!(
        err.starts_with("TLS refused the certificate of 127.0.0.1: "),
        "{err}"
    );
    assert!(err.contains("a CA fxrates does not trust"), "{err}");
    assert!(err.contains("SSL_CERT_FILE"), "{err}");
    assert_eq!(fixer.count(), 0, "nothing got through");
    assert!(env.stored_dates().is_empty());

    // With it, in a file or in a directory.
    let env = TestEnv::new(&front.url, NOW).env("SSL_CERT_FILE", ca.ca_cert.to_str().unwrap());
    let (code, _, err) = env.run(&["ingest", "--no-heal"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(env.stored_dates(), [TODAY]);
    let certs = dir.path().join("certs");
    std::fs::create_dir(&certs).unwrap();
    std::fs::copy(&ca.ca_cert, certs.join("test-ca.pem")).unwrap();
    let env = TestEnv::new(&front.url, NOW).env("SSL_CERT_DIR", certs.to_str().unwrap());
    let (code, _, err) = env.run(&["ingest", "--no-heal"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(fixer.count(), 2);
}

#[test]
fn a_ca_variable_naming_nothing_usable_is_refused_before_anything() {
    let fixer = FakeFixer::free_plan(TODAY);
    let env = TestEnv::new(&fixer.url, NOW);
    let missing = env.path().join("no-such-ca.pem");
    let env = env.env("SSL_CERT_FILE", missing.to_str().unwrap());
    let err = env.fails(&["ingest", "--no-heal"], 78);
    assert!(err.starts_with("SSL_CERT_FILE="), "{err}");
    assert!(env.tree().is_empty(), "{:?}", env.tree());
    assert_eq!(fixer.count(), 0);
}

#[test]
fn a_ca_directory_without_certificates_is_refused_even_beside_a_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::make(dir.path());
    let fixer = FakeFixer::free_plan(TODAY);
    let front = TlsFront::start(&ca, &fixer);
    let empty = dir.path().join("empty-certs");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("README"), "the CA goes here\n").unwrap();
    for dirs in [
        empty.display().to_string(),
        format!("{}:{}", dir.path().display(), empty.display()),
    ] {
        let env = TestEnv::new(&front.url, NOW)
            .env("SSL_CERT_FILE", ca.ca_cert.to_str().unwrap())
            .env("SSL_CERT_DIR", &dirs);
        let err = env.fails(&["ingest", "--no-heal"], 78);
        assert!(
            err.starts_with(&format!(
                "SSL_CERT_DIR names {}, which holds no PEM certificate",
                empty.display()
            )),
            "{err}"
        );
        assert!(env.tree().is_empty(), "{:?}", env.tree());
    }
    assert_eq!(fixer.count(), 0);
}
