//! A saved plan as `show` renders it (after its diff, which [`crate::diff`] draws): the line
//! that says what it is, or its JSON document.

use std::path::Path;

use crate::diff::{self, Call};
use crate::engine::saved::SavedPlan;
use crate::plan::ResolvedPlan;
use crate::plan::text::visible;

/// What the saved plan at `path` is: its plan, when and by what it was made, for which API.
pub fn header(saved: &SavedPlan, path: &Path) -> String {
    format!(
        "Saved plan {} of {}, made {} UTC by planrun {} for API {} (plan hash {})",
        visible(&path.display().to_string()),
        visible(&saved.path),
        saved.made_at.format(crate::contract::TIME_FORMAT),
        visible(&saved.planrun),
        &saved.api.name()[1..],
        &saved.plan_hash[..12.min(saved.plan_hash.len())],
    )
}

/// The diff's JSON of its plan and `calls`, with what the saved plan records.
pub fn json(saved: &SavedPlan, plan: &ResolvedPlan, calls: &[Call]) -> serde_json::Value {
    let mut doc = diff::json(plan, calls);
    doc["saved"] = serde_json::json!({
        "path": saved.path,
        "made_at": saved.made_at,
        "planrun": saved.planrun,
        "api": saved.api,
        "plan_hash": saved.plan_hash,
        "journal": saved.journal,
    });
    doc
}
