//! The words and the exit code for what stopped the engine.

use super::headline;
use crate::engine::EngineError;
use crate::error::Exit;

pub(super) fn describe(e: &EngineError) -> (Exit, String) {
    match e {
        EngineError::Drift { asked, dated } => (
            Exit::DataErr,
            format!(
                "fixer.io answered with rates dated {dated} when {asked} was asked for; nothing \
                 was stored"
            ),
        ),
        EngineError::UnusableDays { days, first } => {
            let dates: Vec<String> = days.iter().map(|d| d.to_string()).collect();
            (
                Exit::DataErr,
                format!(
                    "fixer.io sent an unusable answer for {} ({}); the other days were stored, \
                     and {} asked for again tomorrow",
                    dates.join(", "),
                    headline(first),
                    if dates.len() == 1 {
                        "it is"
                    } else {
                        "they are"
                    }
                ),
            )
        }
    }
}
