//! `planrun jobs INSTANCE`: the instance's rollback tasks, one page or all (API 2.0:
//! GetCdbRollbackJob here; API 3.0: DescribeRollbackTaskDetail in `jobs_v3`).
#![allow(clippy::print_stdout)]

use serde_json::json;

use super::api_args::{ApiArgs, ApiVersion};
use super::jobs_v3;
use crate::api::credentials::Credentials;
use crate::api::v2::client::{Client, MAX_PAGE};
use crate::api::v2::tasks::{JobPage, RollbackTask};

/// Exit codes of this command (DESIGN §2: `jobs` exits 0 or 2).
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
    if args.api.api == ApiVersion::V3 {
        return run_v3(&args);
    }
    match fetch(&args) {
        Ok(page) => {
            match args.format {
                Format::Human => out!("{}", human(&args.instance, &page, args.offset)),
                Format::Json => outln!("{}", to_json(&page)),
            }
            EXIT_OK
        }
        Err(report) => {
            super::report_error(report.as_ref());
            EXIT_USAGE
        }
    }
}

fn run_v3(args: &JobsArgs) -> i32 {
    let result = connect(args).and_then(|credentials| {
        let client = crate::api::v3::Client::new(args.api.client_config(credentials))?;
        jobs_v3::fetch(args, &client)
    });
    match result {
        Ok(listing) => {
            match args.format {
                Format::Human => {
                    out!("{}", jobs_v3::human(&args.instance, &listing, args.offset))
                }
                Format::Json => outln!("{}", jobs_v3::to_json(&listing)),
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

fn fetch(args: &JobsArgs) -> Result<JobPage, miette::Report> {
    let credentials = connect(args)?;
    let client = Client::new(args.api.client_config(credentials))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            miette::miette!(
                code = "planrun::runtime",
                "cannot start the async runtime: {e}"
            )
        })?;
    let page = runtime.block_on(async {
        if args.all {
            client.all_rollback_jobs(&args.instance).await
        } else {
            client
                .rollback_jobs(&args.instance, args.offset, args.limit)
                .await
        }
    })?;
    Ok(page)
}

/// The table, then a line saying how many of how many tasks were shown.
pub fn human(instance: &str, page: &JobPage, offset: u32) -> String {
    if page.tasks.is_empty() {
        return format!(
            "no rollback tasks for {} (offset {offset}, {} in all)\n",
            clean(instance),
            page.task_count
        );
    }
    let header = [
        "JOB", "TASK", "STATUS", "PROGRESS", "START", "END", "NAME", "NEW NAME",
    ];
    let rows: Vec<[String; 8]> = page.tasks.iter().map(row).collect();
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
    let last = u64::from(offset) + page.tasks.len() as u64;
    out.push_str(&format!(
        "tasks {first}-{last} of {} for {}\n",
        page.task_count.max(last),
        clean(instance)
    ));
    out
}

fn row(t: &RollbackTask) -> [String; 8] {
    let opt = |v: &Option<String>| v.as_deref().map_or_else(|| "-".to_owned(), clean);
    [
        t.job_id
            .as_ref()
            .map_or_else(|| "-".to_owned(), |j| clean(j.as_str())),
        opt(&t.task_id),
        t.status.to_string(),
        t.progress
            .map_or_else(|| "-".to_owned(), |p| format!("{p}%")),
        opt(&t.start_time),
        opt(&t.end_time),
        opt(&t.name),
        opt(&t.new_name),
    ]
}

/// Server text is untrusted: no control character reaches the terminal raw.
fn clean(text: &str) -> String {
    crate::plan::text::visible(text).into_owned()
}

/// A JSON array, one object per task.
pub fn to_json(page: &JobPage) -> String {
    let tasks: Vec<serde_json::Value> = page
        .tasks
        .iter()
        .map(|t| {
            json!({
                "job_id": t.job_id,
                "task_id": t.task_id,
                "status": t.status.name(),
                "status_code": t.status.code(),
                "terminal": t.status.is_terminal(),
                "progress": t.progress,
                "start_time": t.start_time,
                "end_time": t.end_time,
                "name": t.name,
                "new_name": t.new_name,
                "message": t.message,
                "task_message": t.task_message,
                "type": t.kind,
                "rollback_time": t.rollback_time,
                "strategy": t.strategy,
                "dbs": t.dbs,
                "tables": t.tables,
            })
        })
        .collect();
    serde_json::to_string_pretty(&tasks).unwrap_or_else(|_| "[]".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::v2::tasks::TaskStatus;

    fn page() -> JobPage {
        let data = serde_json::json!({"taskCount": "3", "taskList": [
            {"jobId": "1343", "taskId": "429", "status": "2", "progress": "100",
             "startTime": "2016-01-25 17:32:59", "endTime": "2016-01-25 17:35:02",
             "name": "test", "newName": "test_bak\u{1b}[31m"},
            {"jobId": 1344, "status": 1, "progress": 40},
        ]});
        JobPage::from_data(&data)
    }

    #[test]
    fn human_table_has_status_names_and_counts() {
        let text = human("cdb-mo64xu70", &page(), 0);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("JOB "), "{text}");
        assert!(
            lines[1].contains("1343") && lines[1].contains("success") && lines[1].contains("100%")
        );
        assert!(
            lines[2].contains("1344") && lines[2].contains("running") && lines[2].contains("40%")
        );
        assert!(!text.contains('\u{1b}'), "control characters are stripped");
        assert_eq!(lines[3], "tasks 1-2 of 3 for cdb-mo64xu70");
        // Columns line up: STATUS starts at the same offset in every row.
        let col = lines[0].find("STATUS").unwrap();
        assert_eq!(&lines[1][col..col + 7], "success");
    }

    #[test]
    fn empty_page_says_so() {
        let text = human("cdb-mo64xu70", &JobPage::default(), 100);
        assert_eq!(
            text,
            "no rollback tasks for cdb-mo64xu70 (offset 100, 0 in all)\n"
        );
    }

    #[test]
    fn json_is_an_array_of_task_objects() {
        let v: serde_json::Value = serde_json::from_str(&to_json(&page())).unwrap();
        let arr = v.as_array().unwrap();
        assert_eq!(arr.len(), 2);
        assert_eq!(arr[0]["job_id"], "1343");
        assert_eq!(arr[0]["status"], "success");
        assert_eq!(arr[0]["status_code"], 2);
        assert_eq!(arr[0]["terminal"], true);
        assert_eq!(arr[1]["status"], TaskStatus::Running.name());
        assert_eq!(arr[1]["progress"], 40);
        assert!(arr[1]["start_time"].is_null());
    }
}
