//! Currency names, for `/api/symbols`, `/currencies` and `fxrates
//! currencies`: the provider's own names where they are stored, else ISO
//! 4217's (current and historical, from `rusty-money`), else a small table
//! of the codes fixer publishes that ISO does not list (the currencies the
//! euro replaced, and a few non-ISO ones).

use crate::rates::Currency;
use crate::store::CurrencyNames;

/// Codes that neither ISO 4217's current nor its historical list names.
const OURS: [(&str, &str); 11] = [
    ("BTC", "Bitcoin"),
    ("CYP", "Cypriot Pound"),
    ("EEK", "Estonian Kroon"),
    ("GGP", "Guernsey Pound"),
    ("IMP", "Manx Pound"),
    ("JEP", "Jersey Pound"),
    ("LTL", "Lithuanian Litas"),
    ("LVL", "Latvian Lats"),
    ("MTL", "Maltese Lira"),
    ("SIT", "Slovenian Tolar"),
    ("VEF", "Venezuelan Bolívar Fuerte (old)"),
];

/// The compiled-in name of `code`, if it has one.
pub(crate) fn builtin(code: Currency) -> Option<&'static str> {
    rusty_money::iso::find(code.as_str())
        .map(|c| c.name)
        .or_else(|| {
            OURS.binary_search_by(|(c, _)| (*c).cmp(code.as_str()))
                .ok()
                .map(|i| OURS[i].1)
        })
}

/// The name of `code`: fixer's own when `stored` has it, else the
/// compiled-in one, else the code itself.
pub(crate) fn name(code: Currency, stored: Option<&CurrencyNames>) -> String {
    stored
        .and_then(|s| s.names.get(&code))
        .map(String::as_str)
        .or_else(|| builtin(code))
        .map_or_else(|| code.to_string(), str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(code: &str) -> Option<&'static str> {
        builtin(Currency::parse(code).unwrap())
    }

    #[test]
    fn iso_codes_ours_and_unknown_ones() {
        assert_eq!(name("USD"), Some("United States Dollar"));
        assert_eq!(name("EEK"), Some("Estonian Kroon"));
        assert_eq!(name("BTC"), Some("Bitcoin"));
        assert_eq!(name("QQQ"), None);
    }

    #[test]
    fn stored_names_come_first_then_ours_then_the_code() {
        let c = |s| Currency::parse(s).unwrap();
        let mut stored = CurrencyNames::default();
        stored.names.insert(c("USD"), "US Dollar".into());
        assert_eq!(super::name(c("USD"), Some(&stored)), "US Dollar");
        assert_eq!(super::name(c("GBP"), Some(&stored)), "British Pound");
        assert_eq!(super::name(c("QQQ"), None), "QQQ");
    }

    #[test]
    fn our_table_is_sorted_and_adds_only_what_iso_lacks() {
        assert!(OURS.windows(2).all(|w| w[0].0 < w[1].0));
        for (code, _) in OURS {
            assert!(rusty_money::iso::find(code).is_none(), "{code}");
        }
    }
}
