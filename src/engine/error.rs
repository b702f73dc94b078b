//! What can stop the engine besides the store and the provider: an answer
//! dated far from the day asked for, and days skipped for unusable answers.
//! Like the layers below, it knows no exit code and leaves the words to the
//! boundary (`crate::report`).

use chrono::NaiveDate;

#[derive(Debug, thiserror::Error)]
pub(crate) enum EngineError {
    /// The provider dated its answer `dated`, too far from `asked` to be
    /// stored under it.
    #[error("the answer for {asked} is dated {dated}")]
    Drift { asked: NaiveDate, dated: NaiveDate },

    /// The run went on past days whose answers were unusable, and stored the
    /// others; `first` is why the first one was.
    #[error("unusable answers for {} days", days.len())]
    UnusableDays {
        days: Vec<NaiveDate>,
        first: anyhow::Error,
    },
}

impl EngineError {
    /// Whether `e` is an answer that cannot be used for its day, which a
    /// run may skip to go on with the others.
    pub(crate) fn is_unusable(e: &anyhow::Error) -> bool {
        e.downcast_ref::<crate::fixer::FetchError>()
            .is_some_and(|f| f.is_unusable())
            || matches!(e.downcast_ref(), Some(EngineError::Drift { .. }))
    }
}
