//! What a rate source delivers, independent of the provider: one day's rates
//! against a base, each kept as exact decimal text.

use chrono::NaiveDate;
use std::fmt;

/// A three-letter upper-case currency code (fixer also uses non-ISO ones such
/// as BTC or XAU).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    pub fn parse(text: &str) -> Option<Currency> {
        let b = text.as_bytes();
        (b.len() == 3 && b.iter().all(u8::is_ascii_uppercase)).then(|| Currency([b[0], b[1], b[2]]))
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII upper-case letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A day's rates, sorted by currency, with all decimals in one buffer so
/// that a day of 170 rates costs two allocations, not 170.
/// [`RateSet::push`] keeps the order whatever order rates come in, so
/// [`RateSet::get`] can always search; a currency pushed twice is kept twice
/// (a store refuses such a day) and reported by [`RateSet::duplicate`].
#[derive(Clone, Debug, Default)]
pub struct RateSet {
    entries: Vec<(Currency, u32, u32)>,
    text: String,
    /// The first currency pushed twice.
    duplicate: Option<Currency>,
}

impl RateSet {
    pub fn with_capacity(n: usize) -> RateSet {
        RateSet {
            entries: Vec::with_capacity(n),
            text: String::with_capacity(n * 9),
            duplicate: None,
        }
    }

    /// Adds `currency` at `decimal`, in its place. Rates usually come in
    /// currency order, which costs nothing more than an append.
    pub fn push(&mut self, currency: Currency, decimal: &str) {
        let at = match self.entries.last() {
            Some(last) if last.0 >= currency => {
                // After any rate of the same currency: `get` finds the first.
                let at = self.entries.partition_point(|e| e.0 <= currency);
                if at > 0 && self.entries[at - 1].0 == currency {
                    self.duplicate.get_or_insert(currency);
                }
                at
            }
            _ => self.entries.len(),
        };
        let start = self.text.len() as u32;
        self.text.push_str(decimal);
        self.entries
            .insert(at, (currency, start, self.text.len() as u32));
    }

    /// The first currency that was pushed twice, if any.
    pub fn duplicate(&self) -> Option<Currency> {
        self.duplicate
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The rates in currency order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (Currency, &str)> + '_ {
        self.entries
            .iter()
            .map(|&(c, s, e)| (c, &self.text[s as usize..e as usize]))
    }

    /// The rate of `currency` (its first, if it was pushed twice).
    pub fn get(&self, currency: Currency) -> Option<&str> {
        let i = self.entries.partition_point(|e| e.0 < currency);
        self.entries
            .get(i)
            .filter(|e| e.0 == currency)
            .map(|&(_, s, e)| &self.text[s as usize..e as usize])
    }
}

/// Equal when they hold the same rates, however they were pushed.
impl PartialEq for RateSet {
    fn eq(&self, other: &RateSet) -> bool {
        self.duplicate == other.duplicate && self.iter().eq(other.iter())
    }
}

impl Eq for RateSet {}

/// One day of rates as a provider sent it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The date the provider put on the answer (provenance, may differ from
    /// the business date it is stored under).
    pub source_date: NaiveDate,
    /// The provider's Unix timestamp of the snapshot, if it sent one.
    pub source_timestamp: Option<i64>,
    pub base: Currency,
    pub rates: RateSet,
}

pub const EUR: Currency = Currency(*b"EUR");

/// Where a stored day's rates came from. A day has one provider: rates of
/// two providers are never mixed within a day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// fixer.io (or APILayer), with a key.
    Fixer,
    /// The European Central Bank's euro reference rates, keyless.
    Ecb,
}

impl Source {
    pub const ALL: [Source; 2] = [Source::Fixer, Source::Ecb];

    /// The name stored with each day and shown in every format.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Fixer => "fixer",
            Source::Ecb => "ecb",
        }
    }

    pub fn parse(text: &str) -> Option<Source> {
        Source::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// How messages name it.
    pub fn name(self) -> &'static str {
        match self {
            Source::Fixer => "fixer.io",
            Source::Ecb => "the ECB",
        }
    }
}

impl serde::Serialize for Source {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    #[test]
    fn rates_pushed_in_any_order_are_found_and_listed_in_order() {
        let mut set = RateSet::with_capacity(4);
        for (code, rate) in [
            ("USD", "1.1"),
            ("AUD", "1.6"),
            ("JPY", "159"),
            ("CHF", "0.9"),
        ] {
            set.push(c(code), rate);
        }
        let codes: Vec<String> = set.iter().map(|(cur, _)| cur.to_string()).collect();
        assert_eq!(codes, ["AUD", "CHF", "JPY", "USD"]);
        assert_eq!(set.get(c("JPY")), Some("159"));
        assert_eq!(set.get(c("AUD")), Some("1.6"));
        assert_eq!(set.get(c("GBP")), None);
        assert_eq!(set.duplicate(), None);
    }

    #[test]
    fn a_currency_pushed_twice_is_reported() {
        let mut set = RateSet::with_capacity(3);
        set.push(c("USD"), "1.1");
        set.push(c("AUD"), "1.6");
        set.push(c("USD"), "9.9");
        assert_eq!(set.len(), 3);
        assert_eq!(set.get(c("USD")), Some("1.1"));
        assert_eq!(set.duplicate(), Some(c("USD")));
    }
}
