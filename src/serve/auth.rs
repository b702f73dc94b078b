//! The token every request must carry when one is configured, in any of
//! the forms clients already send: fixer's `access_key` query parameter,
//! APILayer's `apikey` header, or `Authorization: Bearer`.

use super::query::Params;
use crate::secret::Secret;
use hyper::header::{AUTHORIZATION, HeaderMap};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What a request's credentials come to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Allowed,
    Missing,
    Wrong,
}

/// The configured token, kept as its digest: comparing digests in constant
/// time tells a client nothing of the token, not even its length.
pub(crate) struct Token([u8; 32]);

impl Token {
    pub(crate) fn new(token: &Secret) -> Token {
        Token(Sha256::digest(token.expose().as_bytes()).into())
    }

    pub(crate) fn check(&self, headers: &HeaderMap, params: &Params) -> Verdict {
        let bearer = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            });
        let header = headers.get("apikey").and_then(|v| v.to_str().ok());
        let given = params.get("access_key").or(header).or(bearer);
        match given {
            None => Verdict::Missing,
            Some(given) => {
                let digest: [u8; 32] = Sha256::digest(given.as_bytes()).into();
                if bool::from(digest.ct_eq(&self.0)) {
                    Verdict::Allowed
                } else {
                    Verdict::Wrong
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    const TOKEN: &str = "0123456789abcdef-token";

    fn check(pairs: &[(&'static str, &str)], query: Option<&str>) -> Verdict {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        Token::new(&Secret::new(TOKEN.to_string())).check(&h, &Params::parse(query).unwrap())
    }

    #[test]
    fn every_form_is_accepted() {
        let bearer = format!("Bearer {TOKEN}");
        assert_eq!(check(&[("authorization", &bearer)], None), Verdict::Allowed);
        assert_eq!(check(&[("apikey", TOKEN)], None), Verdict::Allowed);
        let query = format!("base=USD&access_key={TOKEN}");
        assert_eq!(check(&[], Some(&query)), Verdict::Allowed);
    }

    #[test]
    fn missing_and_wrong_tokens_are_told_apart() {
        assert_eq!(check(&[], Some("base=USD")), Verdict::Missing);
        assert_eq!(check(&[("apikey", "nope")], None), Verdict::Wrong);
        assert_eq!(
            check(&[("authorization", "Basic abc")], None),
            Verdict::Missing
        );
    }
}
