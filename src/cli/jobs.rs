//! `planrun jobs INSTANCE`: the instance's rollback tasks, one page or all, through the
//! engine's protocol ([`Protocol::jobs`]: GetCdbRollbackJob on API 2.0,
//! DescribeRollbackTaskDetail on API 3.0) and rendered the same way for both.
#![allow(clippy::print_stdout)]

use super::api_args::ApiArgs;
use crate::api::credentials::Credentials;
use crate::api::v2::MAX_PAGE;
use crate::engine::listing::{JobsQuery, Listing};
use crate::engine::protocol::Protocol;

/// Exit codes of this command (`docs/contract.md` §2: `jobs` exits 0 or 2).
const EXIT_OK: i32 = 0;
const EXIT_USAGE: i32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table.
    Human,
    /// A JSON array of tasks.
    Json,
}

/// List an instance's rollback tasks (API 3.0: DescribeRollbackTaskDetail, every request;
/// API 2.0 with --api v2: GetCdbRollbackJob).
#[derive(Debug, Clone, clap::Args)]
pub struct JobsArgs {
    /// The instance id, e.g. cdb-mo64xu70.
    #[arg(value_name = "INSTANCE")]
    pub instance: String,
    /// Every task, paging through all of them (100 per request).
    #[arg(long, conflicts_with_all = ["limit", "offset"])]
    pub all: bool,
    /// Tasks per page (at most 100).
    #[arg(long, value_name = "N", default_value_t = 50,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_PAGE)))]
    pub limit: u32,
    /// Tasks to skip.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub offset: u32,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    #[command(flatten)]
    pub api: ApiArgs,
}

/// Runs `planrun jobs`; returns the exit code (0, or 2 with a diagnostic on stderr).
pub fn run(args: JobsArgs) -> i32 {
    match fetch(&args) {
        Ok(listing) => {
            match args.format {
                Format::Human => out!("{}", human(&args.instance, &listing, args.offset)),
                Format::Json => outln!("{}", to_json(&listing)),
            }
            EXIT_OK
        }
        Err(report) => {
            super::report_error(report.as_ref());
            EXIT_USAGE
        }
    }
}

/// Credentials (environment, credential files) and a region, or why not.
fn connect(args: &JobsArgs) -> Result<Credentials, miette::Report> {
    let credentials = args.api.credentials()?.credentials;
    // The API answers an error without a Region; say so before sending anything.
    if args
        .api
        .region
        .as_deref()
        .is_none_or(|r| r.trim().is_empty())
    {
        return Err(miette::miette!(
            code = "planrun::missing_region",
            help = "pass --region (e.g. ap-guangzhou) or set TENCENTCLOUD_REGION",
            "no region given"
        ));
    }
    Ok(credentials)
}

fn fetch(args: &JobsArgs) -> Result<Listing, miette::Report> {
    let credentials = connect(args)?;
    let protocol = args.api.protocol(args.api.client_config(credentials))?;
    let query = if args.all {
        JobsQuery::All
    } else {
        JobsQuery::Page {
            offset: args.offset,
            limit: args.limit,
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            miette::miette!(
                code = "planrun::runtime",
                "cannot start the async runtime: {e}"
            )
        })?;
    Ok(runtime.block_on(protocol.jobs(None, &args.instance, query))?)
}

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
