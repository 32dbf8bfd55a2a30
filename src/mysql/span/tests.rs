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

/// The sample with its `analyze table shop.orders` statement replaced by `text`.
fn with_statement(text: &str) -> String {
    SAMPLE.replace("analyze table shop.orders", text)
}

#[test]
fn a_statement_wrapped_in_set_statement_is_judged_as_itself() {
    let r = reach(false);
    let (v, _) = judge(
        &r,
        &with_statement("SET STATEMENT lock_wait_timeout = 5 FOR TRUNCATE TABLE shop.orders"),
    );
    let refusal = v.expect_err("the TRUNCATE empties a restored table");
    assert!(refusal.reason.contains("schema change"), "{refusal}");
    assert_eq!(refusal.position, 2541);
    let (v, _) = judge(
        &r,
        &with_statement("SET STATEMENT max_statement_time=1 FOR alter table shop.p add c int"),
    );
    assert!(v.is_ok(), "{v:?}");
}

#[test]
fn lines_like_a_boundary_or_the_end_inside_a_statement_are_its_text() {
    let r = reach(false);
    for text in [
        "/* nightly */\n# at 03:00 the archive job empties the table\nTRUNCATE TABLE shop.orders",
        "# at 12\nTRUNCATE TABLE shop.orders",
        "/* x\nDELIMITER ;\n*/ TRUNCATE TABLE shop.orders",
    ] {
        let (v, _) = judge(&r, &with_statement(text));
        let refusal = v.expect_err(text);
        assert!(
            refusal.reason.contains("schema change"),
            "{text}: {refusal}"
        );
    }
    let (v, out) = judge(
        &r,
        &with_statement(
            "create table other.t (a int) comment 'x\nDELIMITER ;\nDROP TABLE shop.orders;'",
        ),
    );
    assert!(v.is_ok(), "{v:?}");
    assert!(!out.contains("DROP TABLE"), "{out}");
}

#[test]
fn a_statement_whose_text_holds_the_delimiter_line_is_refused() {
    let r = reach(false);
    // The text ends (for a reader of the output) inside a string.
    let (v, _) = judge(
        &r,
        &with_statement("create table other.t (a int) comment 'x\n/*!*/;\n# at 2629\ny'"),
    );
    assert!(
        v.expect_err("cut inside a string")
            .reason
            .contains("inside a quote")
    );
    // Text after the delimiter line that is not the next event.
    let (v, _) = judge(
        &r,
        &with_statement("create procedure other.p() begin select 1;\n/*!*/;\nselect 2; end"),
    );
    assert!(
        v.expect_err("text after the end")
            .reason
            .contains("delimiter")
    );
}

#[test]
fn a_boundary_that_does_not_follow_the_previous_event_is_refused() {
    let r = reach(false);
    let forged = "create procedure other.p() begin select 1;\n/*!*/;\n# at 9999\n#261205  2:06:25 server id 1  end_log_pos 2700 CRC32 0x5e570982 \tQuery\tthread_id=7\texec_time=0\terror_code=0\txid=0\nTRUNCATE TABLE shop.orders; end";
    let (v, _) = judge(&r, &with_statement(forged));
    let refusal = v.expect_err("the forged boundary is not where the event ends");
    assert!(refusal.reason.contains("`# at 9999`"), "{refusal}");
    assert_eq!(refusal.position, 2541, "the statement that holds it");
}

#[test]
fn a_table_map_cut_by_a_line_break_refuses_at_its_position() {
    let text = SAMPLE.replace(
        "Table_map: `shop`.`orders` mapped to number 19 (has triggers)\n# at 2398",
        "Table_map: `shop`.`line\nitems` mapped to number 19\n# at 2398",
    );
    assert_ne!(text, SAMPLE);
    let mut r = reach(false);
    r.whole.insert("shop".to_owned());
    let (v, _) = judge(&r, &text);
    let refusal = v.expect_err("the rows' table cannot be read");
    assert!(refusal.reason.contains("table map"), "{refusal}");
    assert_eq!(
        (refusal.file.as_str(), refusal.position),
        ("bin.000001", 2347)
    );
    // The same whatever the reach: the rows could be anyone's.
    let (v, _) = judge(&reach(false), &text);
    assert!(v.is_err());
}

#[test]
fn unreadable_headers_and_lines_refuse() {
    let r = reach(false);
    for (from, to) in [
        (
            "#261205  2:06:25 server id 1  end_log_pos 2499 CRC32 0xed42cbca \tXid = 127",
            "#261205  2:06:25 server id 1  end_log_pos x \tXid = 127",
        ),
        ("# at 2468\n#261205", "# at 2468\nsomething\n#261205"),
        (
            "COMMIT/*!*/;\n# at 2499",
            "COMMIT/*!*/;\nDELETE FROM shop.orders;\n# at 2499",
        ),
        ("# End of log file", "DELETE FROM shop.orders;"),
        (
            "/*M!100001 SET @@session.gtid_seq_no=10*//*!*/;",
            "XA START X'31',X'',1\n/*!*/;",
        ),
    ] {
        let text = SAMPLE.replacen(from, to, 1);
        assert_ne!(text, SAMPLE, "{from}");
        let (v, out) = judge(&r, &text);
        assert!(v.is_err(), "{to}: {out}");
    }
}

#[test]
fn headers_are_read_only_in_the_tools_exact_shape() {
    let h = header("#261205  2:06:25 server id 1  end_log_pos 2088 CRC32 0xb378c2bb \tTable_map: `a``b`.`c` mapped to number 19")
        .expect("a header");
    assert_eq!(h.end, 2088);
    assert_eq!(table_map(h.event), Some(("a`b".to_owned(), "c".to_owned())));
    assert!(
        header("#700101  0:00:00 server id 1  end_log_pos 0 \tRotate to bin.000001  pos: 4")
            .is_some()
    );
    for not in [
        "# at 12",
        "#261205  2:06:25 server id 1 end_log_pos 2088 Table_map: `a`.`b`",
        "#261205  2:06:25 server id x  end_log_pos 2088 \tXid = 1",
        "#261205  2:06:25 server id 1  end_log_pos 2088 CRC32 0xb3 junk \tXid = 1",
    ] {
        assert_eq!(header(not), None, "{not}");
    }
    for not in [
        "Table_map: `shop`.`line",
        "Table_map: `shop`.`t` mapped to number 19 and more",
        "Table_map: `shop`.`t`",
    ] {
        assert_eq!(table_map(not), None, "{not}");
    }
    assert_eq!(boundary("# at 03:00 the job"), None);
    assert_eq!(boundary("# at 12"), Some(12));
}
