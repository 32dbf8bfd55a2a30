//! `jobs`' output: a table of the columns the API fills (the same for both APIs), or a JSON
//! array of the tasks as their API reported them.

use crate::engine::listing::Listing;

/// The table of the columns the API fills, then a line saying how many of how many tasks
/// were shown.
pub fn human(instance: &str, listing: &Listing, offset: u32) -> String {
    let instance = clean(instance);
    if listing.tasks.is_empty() {
        return format!(
            "no rollback tasks for {instance} (offset {offset}, {} in all)\n",
            listing.total
        );
    }
    let header: Vec<String> = listing
        .columns
        .iter()
        .map(|c| c.header().to_owned())
        .collect();
    let rows: Vec<Vec<String>> = listing
        .tasks
        .iter()
        .map(|t| {
            listing
                .columns
                .iter()
                .map(|c| t.text(*c).map_or_else(|| "-".to_owned(), |s| clean(&s)))
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(String::len).collect();
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let text: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(text.join("  ").trim_end());
        out.push('\n');
    };
    line(&header);
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

/// Server text is untrusted: no control character reaches the terminal raw.
fn clean(text: &str) -> String {
    crate::plan::text::visible(text).into_owned()
}

/// A JSON array, one object per task, with the fields its API reported.
pub fn to_json(listing: &Listing) -> String {
    let tasks: Vec<&serde_json::Value> = listing.tasks.iter().map(|t| &t.record).collect();
    serde_json::to_string_pretty(&tasks).unwrap_or_else(|_| "[]".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::v2::{JobPage, TaskStatus};
    use crate::engine::{v2, v3};

    fn v2() -> Listing {
        let data = serde_json::json!({"taskCount": "3", "taskList": [
            {"jobId": "1343", "taskId": "429", "status": "2", "progress": "100",
             "startTime": "2016-01-25 17:32:59", "endTime": "2016-01-25 17:35:02",
             "name": "test", "newName": "test_bak\u{1b}[31m"},
            {"jobId": 1344, "status": 1, "progress": 40},
        ]});
        let page = JobPage::from_data(&data);
        Listing {
            columns: v2::COLUMNS,
            tasks: page.tasks.iter().map(v2::listed_task).collect(),
            total: page.task_count,
        }
    }

    fn v3() -> Listing {
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
            columns: v3::COLUMNS,
            tasks: page
                .items
                .iter()
                .map(|t| v3::listed_task("cdb-mo64xu70", t))
                .collect(),
            total: 3,
        }
    }

    #[test]
    fn v2_table_has_status_names_and_counts() {
        let text = human("cdb-mo64xu70", &v2(), 0);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("JOB "), "{text}");
        // The engine's word, as API 3.0's table says it (issue 24: not API 2.0's `success`).
        assert!(
            lines[1].contains("1343")
                && lines[1].contains("succeeded")
                && lines[1].contains("100%")
        );
        assert!(
            lines[2].contains("1344") && lines[2].contains("running") && lines[2].contains("40%")
        );
        assert!(!text.contains('\u{1b}'), "control characters are stripped");
        assert_eq!(lines[3], "tasks 1-2 of 3 for cdb-mo64xu70");
        // Columns line up: STATUS starts at the same offset in every row.
        let col = lines[0].find("STATUS").unwrap();
        assert_eq!(&lines[1][col..col + 9], "succeeded");
    }

    #[test]
    fn v3_table_shows_states_times_and_counts() {
        let text = human("cdb-mo64xu70", &v3(), 0);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("STATUS "), "{text}");
        assert!(lines[1].starts_with("succeeded") && lines[1].contains("100%"));
        assert!(lines[1].contains("2026-11-20 03:15:00") && lines[1].contains("table"));
        assert!(lines[2].starts_with("running") && lines[2].contains("40%"));
        assert!(!text.contains('\u{1b}'), "control characters are stripped");
        assert_eq!(lines[3], "tasks 1-2 of 3 for cdb-mo64xu70");
    }

    #[test]
    fn both_apis_name_a_task_state_with_the_engines_word() {
        let status = |listing: Listing| -> Vec<String> {
            listing.tasks.into_iter().map(|t| t.status).collect()
        };
        assert_eq!(status(v2()), ["succeeded", "running"]);
        assert_eq!(status(v3()), ["succeeded", "running"]);
    }

    #[test]
    fn empty_page_says_so() {
        for columns in [v2::COLUMNS, v3::COLUMNS] {
            let empty = Listing {
                columns,
                tasks: vec![],
                total: 0,
            };
            assert_eq!(
                human("cdb-mo64xu70", &empty, 100),
                "no rollback tasks for cdb-mo64xu70 (offset 100, 0 in all)\n"
            );
        }
    }

    #[test]
    fn v2_json_is_an_array_of_task_objects() {
        let v: serde_json::Value = serde_json::from_str(&to_json(&v2())).unwrap();
        let arr = v.as_array().unwrap();
        assert_eq!(arr.len(), 2);
        assert_eq!(arr[0]["job_id"], "1343");
        assert_eq!(arr[0]["status"], "success");
        assert_eq!(arr[0]["status_code"], 2);
        assert_eq!(arr[0]["state"], "succeeded");
        assert_eq!(arr[0]["terminal"], true);
        assert_eq!(arr[1]["status"], TaskStatus::Running.name());
        assert_eq!(arr[1]["progress"], 40);
        assert!(arr[1]["start_time"].is_null());
    }

    #[test]
    fn v3_json_lists_raw_status_and_neutral_state() {
        let v: serde_json::Value = serde_json::from_str(&to_json(&v3())).unwrap();
        let arr = v.as_array().unwrap();
        assert_eq!(arr[0]["status"], "SUCCESS");
        assert_eq!(arr[0]["state"], "succeeded");
        assert_eq!(arr[0]["terminal"], true);
        assert_eq!(arr[0]["detail"][0]["RollbackTime"], "2026-11-20 03:15:00");
        assert_eq!(arr[1]["terminal"], false);
        assert_eq!(arr[1]["detail"], serde_json::json!([]));
    }

    #[test]
    fn a_status_the_server_invents_is_shown_visibly() {
        let mut listing = v3();
        listing.tasks[0].status = "odd\u{1b}[2J".into();
        assert!(!human("cdb-mo64xu70", &listing, 0).contains('\u{1b}'));
    }
}
