//! The page: escaping, its Content-Security-Policy, one row per instance when small, groups
//! and the size bound at 10,000 instances, snapshots.

use super::*;
use crate::record::Incident;
use crate::record::fixture::{self, journal};

fn page(records: &[crate::engine::journal::Record]) -> String {
    html(&Incident::build(records, None, None))
}

#[test]
fn every_value_is_escaped_and_a_script_in_the_description_is_text() {
    let mut records = journal(3, 3, false);
    records[1] = fixture::planned(3, r#"<script>alert("x")</script><img src=x>"#);
    let text = page(&records);
    assert!(
        text.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x&gt;"),
        "{text}"
    );
    // The only script is the page's own print helper; the refusal's `<cdb>` is text too.
    assert_eq!(text.matches("<script").count(), 1);
    assert!(!text.contains("<img"));
    assert!(text.contains("instance &lt;cdb&gt; is not"));
}

#[test]
fn the_page_allows_only_its_own_style_and_script() {
    let text = page(&journal(3, 3, false));
    assert!(text.contains(&format!("style-src 'sha256-{}'", sha256(STYLE))));
    assert!(text.contains(&format!("script-src 'sha256-{}'", sha256(SCRIPT))));
    assert!(text.contains("default-src 'none'"));
    for external in ["http://", "https://", "<link", " src="] {
        assert!(!text.contains(external), "{external}");
    }
}

#[test]
fn a_small_run_has_one_timeline_row_and_one_table_row_per_instance() {
    let text = page(&journal(10, 3, false));
    assert_eq!(text.matches("<g class=\"st ").count(), 10);
    assert_eq!(text.matches("<td class=\"st st-").count(), 10);
    assert!(!text.contains("<details class=\"group"));
    // Times on the plan's clock (03:20 at +08:00) above, UTC (19:20) below.
    assert!(
        text.contains(">03:20:30</text>") && text.contains(">19:20:30</text>"),
        "axis"
    );
    assert!(text.contains("orders.payments → orders.payments_bak"));
    assert!(text.contains("RequestId req-0001"));
    assert!(text.contains("alice@ops-1 (planrun 0.1.0)"));
}

#[test]
fn ten_thousand_instances_are_grouped_and_stay_under_five_megabytes() {
    let text = page(&journal(10_000, 10, false));
    assert!(text.len() < 5_000_000, "{} bytes", text.len());
    assert_eq!(text.matches("<details class=\"group").count(), 100);
    assert_eq!(text.matches("<td class=\"st st-").count(), 10_000);
    assert!(text.contains("svg class=\"timeline overview\""));
    // Printing opens the rest of the "not restored" list, not the 100 groups.
    assert_eq!(text.matches("<details class=\"print\">").count(), 1);
    // The first group holds the refused call's instances: marked.
    assert!(text.contains("<details class=\"group bad\">"));
}

#[test]
fn a_snapshot_says_it_is_not_finished_and_draws_open_bars() {
    let text = page(&journal(4, 2, true));
    assert!(text.contains("<strong>not yet</strong>: a snapshot as of"));
    assert!(text.contains("<g class=\"st st-running open\">"));
}

#[test]
fn a_resumed_run_is_marked_on_the_timeline() {
    let mut records = journal(4, 2, false);
    records.insert(5, fixture::start(fixture::t(30)));
    let text = page(&records);
    assert_eq!(text.matches("<line class=\"resume\"").count(), 1);
    assert!(
        text.contains("<title>resumed at 03:20:30 by alice@ops-1</title>"),
        "{text}"
    );
}

#[test]
fn every_status_has_a_colour_of_its_own() {
    let mut colours = std::collections::HashMap::new();
    for status in crate::engine::state::Status::ALL {
        let class = crate::record::text::status_class(status);
        let rule = format!(".{class}{{color:");
        let at = STYLE
            .find(&rule)
            .unwrap_or_else(|| panic!("no colour for {class} in record.css"));
        let colour = STYLE[at + rule.len()..].split('}').next().unwrap_or("");
        if let Some(other) = colours.insert(colour.to_owned(), class.clone()) {
            panic!("{class} and {other} are both {colour}");
        }
    }
    // The fallback of `.st` is none of them.
    let fallback = STYLE
        .split(".st{color:")
        .nth(1)
        .and_then(|r| r.split('}').next())
        .unwrap_or("");
    assert!(!colours.contains_key(fallback), "{fallback}");
}
