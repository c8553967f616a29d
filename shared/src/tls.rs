//! The root certificates our HTTPS clients trust, compiled in (Mozilla's set, from `webpki-root-certs`).
//!
//! Left to their defaults, both the AWS SDK's client and reqwest read the system's certificate store on their first
//! connection; on Linux that parses every PEM file under `/etc/ssl/certs`, which was a third of a cold start's
//! instructions (docs/performance.md). A compiled-in set costs a fraction of that and is the same on every host.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Subjects of the roots that AWS service endpoints chain to (Amazon Trust Services; Starfield Services G2
/// cross-signs them for older clients).
const AWS_ROOT_SUBJECTS: [&[u8]; 2] = [b"Amazon Root CA", b"Starfield Services Root Certificate Authority - G2"];

/// The roots AWS endpoints chain to, as PEM: the AWS SDK's `TrustStore` takes PEM and parses it once per client,
/// so it gets the five roots it can meet rather than all of Mozilla's.
///
/// The subjects are found with `memchr`'s vectorised substring search: comparing every window of Mozilla's ~150 roots
/// with `==` was 4 M instructions, a third of a cold start (docs/performance.md, "Init").
pub fn aws_roots_pem() -> Vec<u8> {
    let subjects: Vec<memchr::memmem::Finder<'_>> = AWS_ROOT_SUBJECTS.iter().map(memchr::memmem::Finder::new).collect();
    let mut pem = Vec::new();
    for cert in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        let der: &[u8] = cert.as_ref();
        if subjects.iter().any(|subject| subject.find(der).is_some()) {
            pem.extend_from_slice(b"-----BEGIN CERTIFICATE-----\n");
            let encoded = STANDARD.encode(der);
            for line in encoded.as_bytes().chunks(64) {
                pem.extend_from_slice(line);
                pem.push(b'\n');
            }
            pem.extend_from_slice(b"-----END CERTIFICATE-----\n");
        }
    }
    pem
}

/// All of Mozilla's roots, for reqwest (the Graph API is not behind an AWS certificate).
pub fn mozilla_roots() -> Vec<reqwest::Certificate> {
    webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .filter_map(|cert| reqwest::Certificate::from_der(cert.as_ref()).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_roots_are_the_five_amazon_trust_services_roots_in_pem() {
        let pem = String::from_utf8(aws_roots_pem()).unwrap_or_default();
        assert_eq!(pem.matches("-----BEGIN CERTIFICATE-----").count(), 5, "Amazon Root CA 1-4 and Starfield G2");
        assert_eq!(pem.matches("-----END CERTIFICATE-----").count(), 5);
        for block in pem.split("-----END CERTIFICATE-----\n").filter(|b| !b.is_empty()) {
            let body: String = block.lines().skip(1).collect();
            let der = STANDARD.decode(body).unwrap_or_default();
            assert!(
                webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().any(|c| c.as_ref() == der.as_slice()),
                "each PEM block decodes to one of the compiled-in roots"
            );
        }
    }

    #[test]
    fn every_mozilla_root_is_usable_by_reqwest() {
        assert_eq!(mozilla_roots().len(), webpki_root_certs::TLS_SERVER_ROOT_CERTS.len());
    }
}
