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

/// A day's rates, sorted by currency, with all decimals in one buffer so that
/// a day of 170 rates costs two allocations, not 170.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RateSet {
    entries: Vec<(Currency, u32, u32)>,
    text: String,
}

impl RateSet {
    pub fn with_capacity(n: usize) -> RateSet {
        RateSet {
            entries: Vec::with_capacity(n),
            text: String::with_capacity(n * 9),
        }
    }

    pub fn push(&mut self, currency: Currency, decimal: &str) {
        let start = self.text.len() as u32;
        self.text.push_str(decimal);
        self.entries.push((currency, start, self.text.len() as u32));
    }

    /// Sorts by currency; returns the first code that appears twice, if any.
    pub fn sort_and_find_duplicate(&mut self) -> Option<Currency> {
        self.entries.sort_unstable_by_key(|e| e.0);
        self.entries
            .windows(2)
            .find(|w| w[0].0 == w[1].0)
            .map(|w| w[0].0)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = (Currency, &str)> + '_ {
        self.entries
            .iter()
            .map(|&(c, s, e)| (c, &self.text[s as usize..e as usize]))
    }

    pub fn get(&self, currency: Currency) -> Option<&str> {
        self.entries
            .binary_search_by_key(&currency, |e| e.0)
            .ok()
            .map(|i| {
                let (_, s, e) = self.entries[i];
                &self.text[s as usize..e as usize]
            })
    }
}

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
