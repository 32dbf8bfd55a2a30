//! The judge on a real `mariadb-binlog` output (MariaDB 10.11): a row insert into
//! `shop.orders` whose trigger wrote `other.log`, a row update of `shop.orders`, an `ANALYZE
//! TABLE`, and a statement-logged insert through view `other.vo` (over `shop.orders`).

use super::*;

const SAMPLE: &str = include_str!("sample.txt");

fn reach(reaching_view: bool) -> Reach {
    let n = |d: &str, t: &str| (d.to_owned(), t.to_owned());
    let mut r = Reach {
        relevant: [n("shop", "orders")].into(),
        databases: ["shop".to_owned()].into(),
        on_scratch: [n("shop", "orders"), n("shop", "p"), n("other", "log")].into(),
        ..Reach::default()
    };
    r.reaching = r.relevant.clone();
    if reaching_view {
        r.reaching.insert(n("other", "vo"));
    }
    r
}

fn judge(r: &Reach, text: &str) -> (Result<Judged, Refusal>, String) {
    let mut out = Vec::new();
    let verdict = Judge::new(r, "bin.000001")
        .run(&mut text.as_bytes(), &mut out)
        .expect("in memory");
    (verdict, String::from_utf8(out).expect("utf-8"))
}

#[test]
fn a_write_through_a_view_is_refused_at_its_event() {
    let (verdict, _) = judge(&reach(true), SAMPLE);
    let refusal = verdict.expect_err("the view reaches shop.orders");
    assert_eq!(
        (refusal.file.as_str(), refusal.position),
        ("bin.000001", 2703)
    );
    assert!(refusal.reason.contains("`other`.`vo`"), "{refusal}");
    assert_eq!(refusal.statement, "insert into other.vo values (9,9,null)");
    assert_eq!(
        refusal.time.map(|t| t.to_string()).as_deref(),
        Some("2026-12-05 02:06:25")
    );
}

#[test]
fn rows_of_relevant_tables_and_control_pass_and_the_rest_is_left_out() {
    let (verdict, out) = judge(&reach(false), SAMPLE);
    let found = verdict.expect("nothing reaches shop.orders but its rows");
    assert_eq!(found.row_groups, 2);
    assert_eq!(
        out.matches("BINLOG '").count(),
        3,
        "format description and two groups"
    );
    assert!(out.contains("START TRANSACTION\n/*!*/;"));
    assert!(out.contains("COMMIT/*!*/;"));
    for gone in [
        "analyze",
        "insert into other.vo",
        "gtid_seq_no",
        "SET INSERT_ID",
    ] {
        assert!(!out.contains(gone), "{gone} replayed:\n{out}");
    }
    assert!(
        out.trim_end()
            .ends_with("/*!50530 SET @@SESSION.PSEUDO_SLAVE_MODE=0*/;")
    );
}

#[test]
fn a_group_with_a_table_missing_on_scratch_is_refused() {
    let mut r = reach(false);
    r.on_scratch.remove(&("other".to_owned(), "log".to_owned()));
    let (verdict, _) = judge(&r, SAMPLE);
    let refusal = verdict.expect_err("other.log is not on the scratch server");
    assert_eq!(refusal.position, 2037, "the first table map of the group");
    assert!(refusal.reason.contains("`other`.`log`"), "{refusal}");
}

#[test]
fn ddl_of_a_restored_table_refuses_and_other_ddl_passes() {
    let ddl = |stmt: &str| SAMPLE.replace("analyze table shop.orders", stmt);
    let r = reach(false);
    let (v, _) = judge(&r, &ddl("alter table shop.orders add c int"));
    assert!(v.expect_err("ddl").reason.contains("schema change"));
    for fine in [
        "alter table shop.p add c int",
        "create table other.t (orders int)",
        "drop view other.vo",
    ] {
        let (v, _) = judge(&r, &ddl(fine));
        assert!(v.is_ok(), "{fine}: {v:?}");
    }
    let (v, _) = judge(&r, &ddl("drop database shop"));
    assert!(v.is_err());
}

#[test]
fn the_latest_time_ignores_the_fake_rotate() {
    let t = latest_time(&mut SAMPLE.as_bytes()).expect("read");
    assert_eq!(
        t.map(|t| t.to_string()).as_deref(),
        Some("2026-12-05 02:06:25")
    );
}

#[test]
fn any_text_is_judged_without_a_panic() {
    let r = reach(true);
    proptest::proptest!(|(lines in proptest::collection::vec("(# at [0-9]{1,5}|#2612[0-9]{2} [0-9:]{7} server id 1 .{0,20}|BINLOG '|'/\\*!\\*/;|use `[a-z]{1,3}`/\\*!\\*/;|.{0,30})", 0..40))| {
        let text = lines.join("\n");
        let _ = Judge::new(&r, "bin.000001").run(&mut text.as_bytes(), &mut Vec::new());
    });
}
