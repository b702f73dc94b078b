//! A request's query string, decoded: `a=1&b=x%2Cy`.

/// The decoded parameters, in order.
#[derive(Clone, Debug, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    /// Decodes `query`; `None` when a name or value is not UTF-8 once
    /// decoded (the client gets 400).
    pub(crate) fn parse(query: Option<&str>) -> Option<Params> {
        let mut params = Vec::new();
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            params.push((decode(name)?, decode(value)?));
        }
        Some(Params(params))
    }

    /// The first value of `name`, if given and not empty.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// The first of `names` given.
    pub(crate) fn any(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|n| self.get(n))
    }
}

/// Percent-decoding, `+` as a space, as forms encode; `None` for bytes
/// that are not UTF-8.
fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_decoded() {
        let p = Params::parse(Some("symbols=USD%2CGBP&base=usd&x&amount=10.00&a+b=c+d")).unwrap();
        assert_eq!(p.get("symbols"), Some("USD,GBP"));
        assert_eq!(p.get("base"), Some("usd"));
        assert_eq!(p.get("x"), None);
        assert_eq!(p.get("a b"), Some("c d"));
        assert_eq!(p.any(&["from", "amount"]), Some("10.00"));
        assert_eq!(
            Params::parse(Some("a=100%")).unwrap().get("a"),
            Some("100%")
        );
        assert_eq!(Params::parse(Some("a=%4")).unwrap().get("a"), Some("%4"));
    }

    #[test]
    fn bytes_that_are_not_utf8_are_refused() {
        assert!(Params::parse(Some("base=%FF")).is_none());
        assert!(Params::parse(Some("%C3%28=1")).is_none());
        assert!(Params::parse(Some("name=%C3%A9")).is_some());
    }
}
