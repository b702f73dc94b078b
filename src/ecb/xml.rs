//! The reference file `eurofxref-hist-90d.xml` (the fallback): a gesmes
//! envelope holding one `Cube time=".."` per day, each holding one
//! `Cube currency=".." rate=".."` per currency. Read with an XML parser, so
//! that either quote style, entities and any layout are handled.

use super::Days;
use crate::calendar::parse_date;
use crate::rates::{Currency, RateSet};
use crate::untrusted::one_line;

/// Reads the file's days, each with its rates exactly as sent (the files
/// keep trailing zeros: `0.83380`). `Err` says what is wrong.
pub(crate) fn parse(text: &str) -> Result<Days, String> {
    let doc = roxmltree::Document::parse(text).map_err(|e| format!("not XML ({e})"))?;
    let root = doc.root_element();
    if root.tag_name().name() != "Envelope" {
        return Err(format!(
            "the root element is <{}>, not the ECB's <gesmes:Envelope>",
            one_line(root.tag_name().name())
        ));
    }
    let mut days = Vec::new();
    let cube = |n: &roxmltree::Node<'_, '_>| n.is_element() && n.tag_name().name() == "Cube";
    for day in root
        .descendants()
        .filter(|n| cube(n) && n.has_attribute("time"))
    {
        let time = day.attribute("time").unwrap_or_default();
        let date =
            parse_date(time).ok_or_else(|| format!("time {:?} is not a date", one_line(time)))?;
        let mut rates = RateSet::with_capacity(32);
        for rate in day.children().filter(cube) {
            let (Some(code), Some(value)) = (rate.attribute("currency"), rate.attribute("rate"))
            else {
                return Err(format!("a rate of {date} without its currency or value"));
            };
            let currency = Currency::parse(code)
                .ok_or_else(|| format!("currency {:?} on {date} is not a code", one_line(code)))?;
            if !super::is_rate(value) {
                return Err(format!(
                    "rate {:?} for {currency} on {date} is not a positive decimal",
                    one_line(value)
                ));
            }
            rates.push(currency, value);
        }
        if rates.is_empty() {
            return Err(format!("{date} holds no rates"));
        }
        days.push((date, rates));
    }
    if days.is_empty() {
        return Err("it holds no day".into());
    }
    days.sort_by_key(|(d, _)| *d);
    super::checked(days).map_err(|(_, why)| why)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOUBLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
	<gesmes:subject>Reference rates</gesmes:subject>
	<gesmes:Sender>
		<gesmes:name>European Central Bank</gesmes:name>
	</gesmes:Sender>
	<Cube>
		<Cube time="2026-10-30">
			<Cube currency="USD" rate="1.1172"/>
			<Cube currency="GBP" rate="0.83380"/>
		</Cube>
		<Cube time="2026-10-29">
			<Cube currency="USD" rate="1.1150"/>
		</Cube>
	</Cube>
</gesmes:Envelope>"#;

    fn listed(days: &Days) -> Vec<(String, Vec<(String, String)>)> {
        days.iter()
            .map(|(d, r)| {
                (
                    d.to_string(),
                    r.iter()
                        .map(|(c, v)| (c.to_string(), v.to_string()))
                        .collect(),
                )
            })
            .collect()
    }

    #[test]
    fn both_quote_styles_give_the_same_days_oldest_first() {
        let single = DOUBLE.replace('"', "'");
        let want = vec![
            (
                "2026-10-29".to_string(),
                vec![("USD".into(), "1.1150".into())],
            ),
            (
                "2026-10-30".to_string(),
                vec![
                    ("GBP".into(), "0.83380".into()),
                    ("USD".into(), "1.1172".into()),
                ],
            ),
        ];
        assert_eq!(listed(&parse(DOUBLE).unwrap()), want);
        assert_eq!(listed(&parse(&single).unwrap()), want);
    }

    #[test]
    fn unusable_files_are_refused() {
        for (text, words) in [
            ("<html><body>Not found</body></html>", "not the ECB's"),
            ("<gesmes:Envelope xmlns:gesmes='x'><Cube>", "not XML"),
            ("", "not XML"),
            ("<Envelope><Cube/></Envelope>", "holds no day"),
            (
                "<Envelope><Cube><Cube time='2026-10-30'><Cube currency='USD' rate='-1'/></Cube></Cube></Envelope>",
                "not a positive decimal",
            ),
            (
                "<Envelope><Cube><Cube time='30.10.2026'><Cube currency='USD' rate='1'/></Cube></Cube></Envelope>",
                "not a date",
            ),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains(words), "{text}: {err}");
        }
    }
}
