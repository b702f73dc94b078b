//! A line chart of one rate over time, drawn with text: Unicode braille
//! (2 x 4 dots a character) where the terminal can show it, else ASCII.
//! Positions are computed in decimal too; labels are the exact rates.

use chrono::NaiveDate;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

/// One day's rate: its value, and the decimal text it is shown as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Point {
    pub date: NaiveDate,
    pub value: Decimal,
    pub text: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Charset {
    Unicode,
    Ascii,
}

/// The narrowest plot drawn, whatever the width asked.
const MIN_PLOT_COLUMNS: usize = 10;

impl Charset {
    /// (label tick, axis, corner, bottom axis)
    fn axis(self) -> (char, char, char, char) {
        match self {
            Charset::Unicode => ('┤', '│', '└', '─'),
            Charset::Ascii => ('+', '|', '+', '-'),
        }
    }

    /// Dots per character cell, across and down.
    fn cell(self) -> (usize, usize) {
        match self {
            Charset::Unicode => (2, 4),
            Charset::Ascii => (1, 1),
        }
    }
}

/// The chart: `title`, a plot `height` rows high whose lines are at most
/// `width` columns wide (labels included), the first and last dates, and a
/// summary. `None` when there are fewer than 2 points.
pub(crate) fn render(
    title: &str,
    points: &[Point],
    width: usize,
    height: usize,
    charset: Charset,
) -> Option<String> {
    if points.len() < 2 {
        return None;
    }
    let s = Summary::of(points)?;
    let label_w = s.max.text.chars().count().max(s.min.text.chars().count());
    let columns = width.saturating_sub(label_w + 2).max(MIN_PLOT_COLUMNS);
    let rows = height.max(1);
    let (cw, ch) = charset.cell();
    let mut dots = Dots::new(columns * cw, rows * ch);
    let ys: Vec<usize> = points
        .iter()
        .map(|p| scale(p.value, s.min.value, s.max.value, dots.h))
        .collect();
    let n = points.len();
    let xs: Vec<usize> = (0..n)
        .map(|i| (i * (dots.w - 1) + (n - 1) / 2) / (n - 1))
        .collect();
    for i in 1..n {
        dots.line((xs[i - 1], ys[i - 1]), (xs[i], ys[i]));
    }

    let (tick, axis, corner, bottom) = charset.axis();
    let mut out = String::new();
    out.push_str(title);
    out.push('\n');
    // A flat series has one value, labelled where its line runs.
    let flat_row = (s.max.value <= s.min.value).then(|| (dots.h - 1 - dots.h / 2) / ch);
    for row in 0..rows {
        let (label, mark) = match (row, flat_row) {
            (r, Some(f)) if r == f => (s.max.text.as_str(), tick),
            (_, Some(_)) => ("", axis),
            (0, None) => (s.max.text.as_str(), tick),
            (r, None) if r == rows - 1 => (s.min.text.as_str(), tick),
            _ => ("", axis),
        };
        let cells: String = (0..columns).map(|c| dots.cell(c, row, charset)).collect();
        out.push_str(format!("{label:>label_w$} {mark}{cells}").trim_end());
        out.push('\n');
    }
    let pad = " ".repeat(label_w + 1);
    out.push_str(&format!(
        "{pad}{corner}{}\n",
        bottom.to_string().repeat(columns)
    ));
    let (first, last) = (points[0].date.to_string(), points[n - 1].date.to_string());
    let gap = columns.saturating_sub(first.len() + last.len()).max(2);
    out.push_str(&format!("{pad} {first}{}{last}\n", " ".repeat(gap)));
    out.push_str(&format!(
        "first {} ({})  last {} ({})  change {}\n",
        s.first.text, s.first.date, s.last.text, s.last.date, s.change
    ));
    out.push_str(&format!(
        "min {} ({})  max {} ({})\n",
        s.min.text, s.min.date, s.max.text, s.max.date
    ));
    Some(out)
}

/// First, last, lowest and highest points (the earliest day of a tie), and
/// the change from first to last in percent, rounded to 2 decimals.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Summary<'a> {
    pub first: &'a Point,
    pub last: &'a Point,
    pub min: &'a Point,
    pub max: &'a Point,
    pub change: String,
}

impl<'a> Summary<'a> {
    pub(crate) fn of(points: &'a [Point]) -> Option<Summary<'a>> {
        let (first, last) = (points.first()?, points.last()?);
        let mut min = first;
        let mut max = first;
        for p in points {
            if p.value < min.value {
                min = p;
            }
            if p.value > max.value {
                max = p;
            }
        }
        Some(Summary {
            first,
            last,
            min,
            max,
            change: change_percent(first.value, last.value),
        })
    }
}

/// `+1.05%`, `-0.40%`, `0.00%`; `n/a` from zero.
pub(crate) fn change_percent(first: Decimal, last: Decimal) -> String {
    let Some(ratio) = last
        .checked_sub(first)
        .and_then(|d| d.checked_mul(Decimal::ONE_HUNDRED))
        .and_then(|d| d.checked_div(first))
    else {
        return "n/a".into();
    };
    let mut pct = ratio.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    pct.rescale(2);
    if pct.is_zero() {
        "0.00%".into()
    } else if pct.is_sign_positive() {
        format!("+{pct}%")
    } else {
        format!("{pct}%")
    }
}

/// The dot row (0 at the bottom) of `value` on a plot `h` dots high; a flat
/// series runs through the middle.
fn scale(value: Decimal, min: Decimal, max: Decimal, h: usize) -> usize {
    if max <= min {
        return h / 2;
    }
    // The fraction of the way up first: it is at most 1, so multiplying it
    // by the height cannot overflow, whatever the rates.
    let y = value
        .checked_sub(min)
        .and_then(|d| d.checked_div(max.checked_sub(min)?))
        .and_then(|f| f.checked_mul(Decimal::from(h - 1)))
        .unwrap_or(Decimal::ZERO);
    y.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
        .to_usize()
        .unwrap_or(0)
        .min(h - 1)
}

/// A grid of dots, row 0 at the bottom.
struct Dots {
    w: usize,
    h: usize,
    on: Vec<bool>,
}

impl Dots {
    fn new(w: usize, h: usize) -> Dots {
        Dots {
            w,
            h,
            on: vec![false; w * h],
        }
    }

    /// Sets the dots of column `x` from row `a` to row `b`.
    fn run(&mut self, x: usize, a: usize, b: usize) {
        for y in a.min(b)..=a.max(b) {
            self.on[y * self.w + x] = true;
        }
    }

    /// A connected line: each column gets the rows between the line's height
    /// at the previous column and at this one, so steep moves leave no gaps
    /// and many points in one column keep their whole range.
    fn line(&mut self, (x0, y0): (usize, usize), (x1, y1): (usize, usize)) {
        if x0 == x1 {
            self.run(x0, y0, y1);
            return;
        }
        let (dx, dy) = ((x1 - x0) as i64, y1 as i64 - y0 as i64);
        let mut prev = y0;
        for x in x0..=x1 {
            let step = (x - x0) as i64;
            // Rounded integer interpolation, half away from zero.
            let num = 2 * dy * step;
            let off = (num + num.signum() * dx) / (2 * dx);
            let y = (y0 as i64 + off) as usize;
            self.run(x, prev, y);
            prev = y;
        }
    }

    fn get(&self, x: usize, y_from_top: usize) -> bool {
        self.on[(self.h - 1 - y_from_top) * self.w + x]
    }

    /// The character for cell (`col`, `row`), `row` counted from the top.
    fn cell(&self, col: usize, row: usize, charset: Charset) -> char {
        match charset {
            Charset::Ascii => {
                if self.get(col, row) {
                    '*'
                } else {
                    ' '
                }
            }
            Charset::Unicode => {
                // Braille dots 1-8 by (row in cell, column in cell).
                const BITS: [[u32; 2]; 4] =
                    [[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]];
                let mut bits = 0;
                for (dy, pair) in BITS.iter().enumerate() {
                    for (dx, bit) in pair.iter().enumerate() {
                        if self.get(col * 2 + dx, row * 4 + dy) {
                            bits |= bit;
                        }
                    }
                }
                if bits == 0 {
                    ' '
                } else {
                    char::from_u32(0x2800 + bits).unwrap_or('?')
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn points(values: &[&str]) -> Vec<Point> {
        let start = NaiveDate::from_ymd_opt(2024, 9, 2).unwrap();
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Point {
                date: start + chrono::Days::new(i as u64),
                value: Decimal::from_str(v).unwrap(),
                text: v.to_string(),
            })
            .collect()
    }

    #[test]
    fn too_few_points_draw_nothing() {
        assert_eq!(render("t", &points(&["1.1"]), 40, 3, Charset::Ascii), None);
        assert_eq!(render("t", &[], 40, 3, Charset::Unicode), None);
    }

    #[test]
    fn a_rising_line_in_ascii() {
        let p = points(&["1", "2", "3"]);
        let chart = render("T", &p, 14, 3, Charset::Ascii).unwrap();
        let expected = "\
T
3 +        ***
  |   ******
1 +****
  +-----------
   2024-09-02  2024-09-04
first 1 (2024-09-02)  last 3 (2024-09-04)  change +200.00%
min 1 (2024-09-02)  max 3 (2024-09-04)
";
        assert_eq!(chart, expected);
    }

    #[test]
    fn a_falling_line_in_braille() {
        let p = points(&["0.9", "0.8"]);
        let chart = render("T", &p, 14, 2, Charset::Unicode).unwrap();
        let lines: Vec<&str> = chart.lines().collect();
        // 20 dots across (the narrowest plot), 8 down: the line falls from
        // the top left to the bottom right without a gap.
        assert_eq!(lines[1], "0.9 ┤⠉⠓⠲⢤⣀⡀");
        assert_eq!(lines[2], "0.8 ┤     ⠉⠙⠲⠤⣄");
        assert_eq!(lines[3], "    └──────────");
    }

    #[test]
    fn a_flat_series_runs_through_the_middle() {
        let p = points(&["1.5", "1.5", "1.5"]);
        let chart = render("T", &p, 20, 5, Charset::Ascii).unwrap();
        let rows: Vec<&str> = chart.lines().skip(1).take(5).collect();
        assert_eq!(rows[2], format!("1.5 +{}", "*".repeat(15)), "{chart}");
        for r in [0, 1, 3, 4] {
            assert_eq!(rows[r], "    |", "{chart}");
        }
        assert!(chart.contains("change 0.00%"));
    }

    #[test]
    fn every_line_of_the_plot_fits_the_width() {
        let values: Vec<String> = (0..300)
            .map(|i| format!("1.{:03}", (i * 37) % 1000))
            .collect();
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let p = points(&refs);
        for width in [40, 57, 80, 132] {
            for charset in [Charset::Unicode, Charset::Ascii] {
                let chart = render("T", &p, width, 8, charset).unwrap();
                for line in chart.lines().take(10) {
                    assert!(line.chars().count() <= width, "{width}: {line:?}");
                }
                let axis = chart.lines().nth(9).unwrap();
                assert_eq!(axis.chars().count(), width, "{axis:?}");
            }
        }
    }

    #[test]
    fn many_points_in_a_column_keep_their_spikes() {
        // 200 points into 10 columns: one spike up and one down must show.
        let mut values = vec!["1.5"; 200];
        values[77] = "2";
        values[151] = "1";
        let p = points(&values);
        let chart = render("T", &p, 14, 5, Charset::Ascii).unwrap();
        let rows: Vec<&str> = chart.lines().skip(1).take(5).collect();
        assert_eq!(rows[0].matches('*').count(), 1, "{chart}");
        assert_eq!(rows[4].matches('*').count(), 1, "{chart}");
        assert!(chart.contains("min 1 (2025-01-31)  max 2 (2024-11-18)"));
    }

    #[test]
    fn ascii_charts_are_ascii() {
        let p = points(&["0.83578", "0.84", "0.831", "0.85"]);
        let chart = render("T", &p, 60, 6, Charset::Ascii).unwrap();
        assert!(chart.is_ascii());
    }

    #[test]
    fn change_is_rounded_to_two_decimals_with_a_sign() {
        let d = |s| Decimal::from_str(s).unwrap();
        assert_eq!(change_percent(d("0.8"), d("0.84")), "+5.00%");
        assert_eq!(change_percent(d("1.23396"), d("1.2")), "-2.75%");
        assert_eq!(change_percent(d("3"), d("3.00001")), "0.00%");
        assert_eq!(change_percent(d("2"), d("2.0001")), "+0.01%");
        assert_eq!(change_percent(d("0.83578"), d("0.83578")), "0.00%");
    }
}
