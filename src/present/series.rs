//! A range of stored days as a reader asks for it: a JSON array of day
//! objects, CSV rows, a date-by-currency grid for a few currencies, or a long
//! list of rows. Days are written as they arrive; only the grid, which must
//! know its column widths, keeps its (few) cells until the end.

use crate::cli::Format;
use crate::error::{Exit, ResultExt};
use crate::present::view::{DayView, int_column, int_len};
use crate::rates::{Currency, EUR, Source};
use crate::store::StoredDay;
use chrono::NaiveDate;
use std::collections::BTreeSet;
use std::io::{self, Write};

/// Up to this many `--symbols`, a table is a grid with one column each.
pub(crate) const GRID_MAX_COLUMNS: usize = 6;

/// Writes a series of days to `out`, one [`SeriesWriter::day`] at a time.
pub(crate) struct SeriesWriter<W: Write> {
    out: W,
    format: Format,
    from: NaiveDate,
    to: NaiveDate,
    base: Option<Currency>,
    /// Sorted, without duplicates; empty means every stored currency.
    symbols: Vec<Currency>,
    /// The providers of the range's days: one is named in the title;
    /// several make a table name each day's in a column of its own.
    providers: BTreeSet<Source>,
    written: usize,
    without_base: usize,
    /// Long list: the widest integer part so far, for aligned points.
    int_width: usize,
    /// Grid: one row of cells per day.
    grid: Vec<(NaiveDate, Source, Vec<Option<String>>)>,
}

/// What a finished series held.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Written {
    /// Days written.
    pub days: usize,
    /// Stored days left out because the asked base had no rate on them.
    pub without_base: usize,
}

impl<W: Write> SeriesWriter<W> {
    pub(crate) fn new(
        out: W,
        format: Format,
        (from, to): (NaiveDate, NaiveDate),
        base: Option<Currency>,
        symbols: &[Currency],
        providers: BTreeSet<Source>,
    ) -> SeriesWriter<W> {
        let mut symbols = symbols.to_vec();
        symbols.sort_unstable();
        symbols.dedup();
        SeriesWriter {
            out,
            format,
            from,
            to,
            base,
            symbols,
            providers,
            written: 0,
            without_base: 0,
            int_width: 4,
            grid: Vec::new(),
        }
    }

    /// Whether a table names each day's provider: only when they differ.
    fn per_day_provider(&self) -> bool {
        self.providers.len() > 1
    }

    fn is_grid(&self) -> bool {
        self.format == Format::Table
            && !self.symbols.is_empty()
            && self.symbols.len() <= GRID_MAX_COLUMNS
    }

    /// Writes one stored day. A day without a rate for the base is left out
    /// and counted; a currency missing on a day is left out of that day.
    pub(crate) fn day(&mut self, day: StoredDay) -> anyhow::Result<()> {
        let base = self.base.unwrap_or(day.base);
        if base != day.base && day.rates.get(base).is_none() {
            self.without_base += 1;
            return Ok(());
        }
        let present: Vec<Currency> = self
            .symbols
            .iter()
            .copied()
            .filter(|&c| c == base || c == day.base || day.rates.get(c).is_some())
            .collect();
        if !self.symbols.is_empty() && present.is_empty() {
            return Ok(());
        }
        let date = day.date;
        let view = DayView::new(day, date, self.base, &present)?;
        let first = self.written == 0;
        self.written += 1;
        self.write_day(&view, first).exit(Exit::IoErr, write_error)
    }

    fn write_day(&mut self, view: &DayView, first: bool) -> io::Result<()> {
        match self.format {
            Format::Json => {
                let sep = if first { "[\n" } else { ",\n" };
                self.out.write_all(sep.as_bytes())?;
                serde_json::to_writer(&mut self.out, view).map_err(io::Error::from)
            }
            Format::Csv => view.write_csv(&mut self.out, first),
            Format::Table => {
                if first {
                    self.title(view)?;
                }
                if self.is_grid() {
                    let cells = self
                        .symbols
                        .iter()
                        .map(|&c| view.rates.get(c).map(str::to_string))
                        .collect();
                    self.grid.push((view.date, view.provider, cells));
                    Ok(())
                } else {
                    self.long_rows(view, first)
                }
            }
        }
    }

    /// Ends the output (closes the JSON array, writes the grid).
    pub(crate) fn finish(mut self) -> anyhow::Result<Written> {
        let end = match self.format {
            _ if self.written == 0 => Ok(()),
            Format::Json => writeln!(self.out, "\n]"),
            Format::Table if self.is_grid() => self.write_grid(),
            _ => Ok(()),
        };
        end.and_then(|()| self.out.flush())
            .exit(Exit::IoErr, write_error)?;
        Ok(Written {
            days: self.written,
            without_base: self.without_base,
        })
    }

    fn title(&mut self, view: &DayView) -> io::Result<()> {
        let base = if view.derived {
            format!("{} (derived from {EUR})", view.base)
        } else {
            view.base.to_string()
        };
        let names: Vec<&str> = self.providers.iter().map(|p| p.name()).collect();
        let by_day = if self.per_day_provider() {
            " (each day's in the Provider column)"
        } else {
            ""
        };
        writeln!(
            self.out,
            "Rates from {} to {}, base {base}, from {}{by_day}",
            self.from,
            self.to,
            names.join(" and ")
        )
    }

    fn long_rows(&mut self, view: &DayView, first: bool) -> io::Result<()> {
        // The widest integer part of the first day sets the column; a wider
        // one later only widens the rows from there on.
        self.int_width = self.int_width.max(int_column(&view.rates));
        let w = self.int_width;
        let per_day = self.per_day_provider();
        if first {
            let provider = if per_day { "Provider  " } else { "" };
            writeln!(
                self.out,
                "{:<10}  {provider}{:<8}  {:>w$}",
                "Date", "Currency", "Rate"
            )?;
        }
        let provider = if per_day {
            format!("{:<8}  ", view.provider.as_str())
        } else {
            String::new()
        };
        for (c, r) in view.rates.iter() {
            let (int, frac) = r.split_at(int_len(r));
            writeln!(
                self.out,
                "{}  {provider}{:<8}  {int:>w$}{frac}",
                view.date,
                c.as_str()
            )?;
        }
        Ok(())
    }

    fn write_grid(&mut self) -> io::Result<()> {
        // Per column: the widest integer part and the widest fraction (with
        // its point), so that the points line up.
        let widths: Vec<(usize, usize)> = (0..self.symbols.len())
            .map(|i| {
                let cells = self.grid.iter().filter_map(|(_, _, row)| row[i].as_deref());
                cells.fold((1, 0), |(iw, fw), r| {
                    (iw.max(int_len(r)), fw.max(r.len() - int_len(r)))
                })
            })
            .collect();
        let per_day = self.per_day_provider();
        let mut line = format!("{:<10}", "Date");
        if per_day {
            line.push_str(&format!("  {:<8}", "Provider"));
        }
        for (c, (iw, fw)) in self.symbols.iter().zip(&widths) {
            line.push_str(&format!("  {:<w$}", c.as_str(), w = iw + fw));
        }
        writeln!(self.out, "{}", line.trim_end())?;
        for (date, provider, row) in &self.grid {
            let mut line = date.to_string();
            if per_day {
                line.push_str(&format!("  {:<8}", provider.as_str()));
            }
            for (cell, &(iw, fw)) in row.iter().zip(&widths) {
                let (int, frac) = match cell {
                    Some(r) => r.split_at(int_len(r)),
                    None => ("-", ""),
                };
                line.push_str(&format!("  {int:>iw$}{frac:<fw$}"));
            }
            writeln!(self.out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

fn write_error() -> String {
    "cannot write to stdout".into()
}
