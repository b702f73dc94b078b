//! Presentation: how stored rates and the history's health are written for
//! people and programs. Used only by the commands.

pub(crate) mod chart;
pub(crate) mod metrics;
pub(crate) mod series;
pub(crate) mod status;
pub(crate) mod view;
