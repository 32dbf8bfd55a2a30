//! `planrun jobs INSTANCE` with `--api v3`: the instance's rollback tasks as
//! DescribeRollbackTaskDetail lists them (every AsyncRequestId; one page or all).

use serde_json::json;

use super::jobs::JobsArgs;
use crate::api::v3::model::RollbackTask;
use crate::api::v3::{Client, client::MAX_PAGE};
use crate::engine::v3::state;

/// The tasks of one page (or all of them) and the total the API reports.
pub struct Listing {
    pub tasks: Vec<RollbackTask>,
    pub total: u64,
}

/// Calls the API as `args` say (credentials and region already checked by the caller).
pub fn fetch(args: &JobsArgs, client: &Client) -> Result<Listing, miette::Report> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            miette::miette!(
                code = "planrun::runtime",
                "cannot start the async runtime: {e}"
            )
        })?;
    let listing = runtime.block_on(async {
        if args.all {
            let tasks = client.all_rollback_tasks(&args.instance, None).await?;
            let total = tasks.len() as u64;
            Ok::<_, crate::api::Error>(Listing { tasks, total })
        } else {
            let page = client
                .rollback_tasks(&args.instance, None, args.offset, args.limit.min(MAX_PAGE))
                .await?;
            let shown = page.items.len() as u64;
            let total = u64::try_from(page.total_count.unwrap_or(0)).unwrap_or(0);
            Ok(Listing {
                tasks: page.items,
                total: total.max(u64::from(args.offset) + shown),
            })
        }
    })?;
    Ok(listing)
}

/// The table, then a line saying how many of how many tasks were shown.
pub fn human(instance: &str, listing: &Listing, offset: u32) -> String {
    let instance = clean(instance);
    if listing.tasks.is_empty() {
        return format!(
            "no rollback tasks for {instance} (offset {offset}, {} in all)\n",
            listing.total
        );
    }
    let header = [
        "STATUS",
        "PROGRESS",
        "START",
        "END",
        "ROLLBACK TIME",
        "STRATEGY",
        "INFO",
    ];
    let rows: Vec<[String; 7]> = listing.tasks.iter().map(|t| row(&instance, t)).collect();
    let mut widths = header.map(str::len);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let text: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(text.join("  ").trim_end());
        out.push('\n');
    };
    line(&header.map(String::from));
    for r in &rows {
        line(r);
    }
    let first = u64::from(offset) + 1;
    let last = u64::from(offset) + listing.tasks.len() as u64;
    out.push_str(&format!(
        "tasks {first}-{last} of {} for {instance}\n",
        listing.total.max(last)
    ));
    out
}

fn row(instance: &str, t: &RollbackTask) -> [String; 7] {
    let opt = |v: &Option<String>| v.as_deref().map_or_else(|| "-".to_owned(), clean);
    let detail = t.detail_of(instance);
    let field = |f: fn(&crate::api::v3::model::RollbackInstancesInfo) -> &str| {
        detail
            .map(f)
            .filter(|s| !s.is_empty())
            .map_or_else(|| "-".to_owned(), clean)
    };
    [
        state(t.status.as_deref()).name().to_owned(),
        t.percent()
            .map_or_else(|| "-".to_owned(), |p| format!("{p}%")),
        opt(&t.start_time),
        opt(&t.end_time),
        field(|d| &d.rollback_time),
        field(|d| &d.strategy),
        opt(&t.info),
    ]
}

/// Server text is untrusted: no control character reaches the terminal raw.
fn clean(text: &str) -> String {
    crate::plan::text::visible(text).into_owned()
}

/// A JSON array, one object per task (`detail` as the API sent it, nulls made empty).
pub fn to_json(listing: &Listing) -> String {
    let tasks: Vec<serde_json::Value> = listing
        .tasks
        .iter()
        .map(|t| {
            let s = state(t.status.as_deref());
            json!({
                "status": t.status,
                "state": s.name(),
                "terminal": s.is_terminal(),
                "progress": t.percent(),
                "start_time": t.start_time,
                "end_time": t.end_time,
                "info": t.info,
                "detail": t.detail,
            })
        })
        .collect();
    serde_json::to_string_pretty(&tasks).unwrap_or_else(|_| "[]".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing() -> Listing {
        let page: crate::api::v3::model::RollbackTaskPage =
            serde_json::from_value(serde_json::json!({"TotalCount": 3, "Items": [
                {"Status": "SUCCESS", "Progress": 100, "StartTime": "2026-11-23 10:00:00",
                 "EndTime": "2026-11-23 10:05:00", "Info": "done\u{1b}[31m",
                 "Detail": [{"InstanceId": "cdb-mo64xu70", "Strategy": "table",
                             "RollbackTime": "2026-11-20 03:15:00"}]},
                {"Status": "RUNNING", "Progress": 40, "Detail": null},
            ]}))
            .unwrap();
        Listing {
            tasks: page.items,
            total: 3,
        }
    }

    #[test]
    fn human_table_shows_states_times_and_counts() {
        let text = human("cdb-mo64xu70", &listing(), 0);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("STATUS "), "{text}");
        assert!(lines[1].starts_with("succeeded") && lines[1].contains("100%"));
        assert!(lines[1].contains("2026-11-20 03:15:00") && lines[1].contains("table"));
        assert!(lines[2].starts_with("running") && lines[2].contains("40%"));
        assert!(!text.contains('\u{1b}'), "control characters are stripped");
        assert_eq!(lines[3], "tasks 1-2 of 3 for cdb-mo64xu70");
        let empty = Listing {
            tasks: vec![],
            total: 0,
        };
        assert_eq!(
            human("cdb-mo64xu70", &empty, 5),
            "no rollback tasks for cdb-mo64xu70 (offset 5, 0 in all)\n"
        );
    }

    #[test]
    fn json_lists_raw_status_and_neutral_state() {
        let v: serde_json::Value = serde_json::from_str(&to_json(&listing())).unwrap();
        let arr = v.as_array().unwrap();
        assert_eq!(arr[0]["status"], "SUCCESS");
        assert_eq!(arr[0]["state"], "succeeded");
        assert_eq!(arr[0]["terminal"], true);
        assert_eq!(arr[0]["detail"][0]["RollbackTime"], "2026-11-20 03:15:00");
        assert_eq!(arr[1]["terminal"], false);
        assert_eq!(arr[1]["detail"], serde_json::json!([]));
    }
}
