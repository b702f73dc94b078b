//! What a timeseries answer leaves out: of the weekdays asked for and not
//! in the answer, which fixer has no rates for and which may only be cut
//! off. Pure, so that the rule is a table test.

use chrono::NaiveDate;
use std::collections::BTreeSet;

/// Why a weekday asked for is not in the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Missing {
    /// Between days the answer has: a day fixer has no rates for (a
    /// holiday), recorded so that it is not asked again.
    Unavailable,
    /// Before the answer's first day or after its last: perhaps not
    /// published yet, or a partial answer; it stays missing, to be asked
    /// again.
    CutOff,
}

/// The weekdays of `wanted` not in `got`, in date order, each with why;
/// `answered` is the first and last day of the answer (`None` when it has
/// none).
pub(super) fn classify(
    wanted: &BTreeSet<NaiveDate>,
    got: &BTreeSet<NaiveDate>,
    answered: Option<(NaiveDate, NaiveDate)>,
) -> Vec<(NaiveDate, Missing)> {
    wanted
        .iter()
        .filter(|d| !got.contains(d))
        .map(|&date| {
            let between = answered.is_some_and(|(first, last)| first < date && date < last);
            let why = if between {
                Missing::Unavailable
            } else {
                Missing::CutOff
            };
            (date, why)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::Missing::{CutOff, Unavailable};
    use super::*;

    fn days(list: &[u32]) -> BTreeSet<NaiveDate> {
        list.iter()
            .map(|d| NaiveDate::from_ymd_opt(2024, 9, *d).unwrap())
            .collect()
    }

    #[test]
    fn a_missing_day_is_a_gap_only_between_days_the_answer_has() {
        type Row = (
            &'static [u32],
            &'static [u32],
            Option<(u32, u32)>,
            &'static [(u32, Missing)],
        );
        let table: &[Row] = &[
            // Everything asked for came.
            (&[2, 3, 4], &[2, 3, 4], Some((2, 4)), &[]),
            // A holiday inside the answer.
            (&[2, 3, 4], &[2, 4], Some((2, 4)), &[(3, Unavailable)]),
            // The answer stops early, or starts late: cut off.
            (&[2, 3, 4], &[2, 3], Some((2, 3)), &[(4, CutOff)]),
            (&[2, 3, 4], &[3, 4], Some((3, 4)), &[(2, CutOff)]),
            // Its first and last days are not gaps even if not wanted.
            (&[3, 9], &[], Some((2, 4)), &[(3, Unavailable), (9, CutOff)]),
            // An empty answer cuts everything off.
            (&[2, 3], &[], None, &[(2, CutOff), (3, CutOff)]),
            // The answer's ends themselves are never between.
            (&[2, 4], &[], Some((2, 4)), &[(2, CutOff), (4, CutOff)]),
        ];
        for (wanted, got, answered, expected) in table {
            let date = |d: u32| NaiveDate::from_ymd_opt(2024, 9, d).unwrap();
            let answered = answered.map(|(f, l)| (date(f), date(l)));
            let expected: Vec<_> = expected.iter().map(|&(d, why)| (date(d), why)).collect();
            assert_eq!(
                classify(&days(wanted), &days(got), answered),
                expected,
                "wanted {wanted:?}, got {got:?}, answered {answered:?}"
            );
        }
    }
}
