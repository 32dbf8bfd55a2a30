//! A throwaway MariaDB server: its own data directory, a free loopback port, binary logging
//! in row format. Ready once a connection succeeds; killed and removed on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use mysql_async::prelude::Queryable;

use crate::support::wait_for_every;

pub const USER: &str = "planrun_test";
/// Given to the server in a test: it must never show up in planrun's output.
pub const PASSWORD: &str = "s3cret-\"pw\"";

pub struct Server {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Child,
}

pub fn tool(names: &[&str]) -> PathBuf {
    for name in names {
        for dir in ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"] {
            let p = Path::new(dir).join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "none of {names:?} is installed: run .ci/test (it installs mariadb-server and mariadb-client)"
    )
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Server {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// A server with `extra` options (`--gtid-strict-mode=1`, `--server-id=2`, ...; a later
    /// option wins over the defaults here).
    pub async fn start_with(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let root = running_as_root();
        let mut install = Command::new(tool(&["mariadb-install-db", "mysql_install_db"]));
        install.args([
            "--no-defaults".to_owned(),
            format!("--datadir={}", data.display()),
            "--auth-root-authentication-method=normal".to_owned(),
            "--skip-test-db".to_owned(),
        ]);
        if root {
            install.arg("--user=root");
        }
        // Its temporary tables are named by thread and pid: two installs at once in one /tmp
        // collide. Each server gets its own.
        let tmp = dir.path().join("tmp");
        std::fs::create_dir(&tmp).expect("tmp dir");
        install.env("TMPDIR", &tmp);
        let out = install.output().expect("mariadb-install-db runs");
        assert!(
            out.status.success(),
            "mariadb-install-db: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("error.log")).expect("log file");
        let mut server = Command::new(tool(&["mariadbd", "mysqld"]));
        server.args([
            "--no-defaults".to_owned(),
            format!("--datadir={}", data.display()),
            format!("--port={port}"),
            "--bind-address=127.0.0.1".to_owned(),
            format!("--socket={}", dir.path().join("sock").display()),
            format!("--pid-file={}", dir.path().join("pid").display()),
            format!("--log-bin={}", data.join("bin").display()),
            "--binlog-format=ROW".to_owned(),
            "--server-id=1".to_owned(),
            "--innodb-buffer-pool-size=16M".to_owned(),
            "--innodb-log-file-size=8M".to_owned(),
            "--skip-name-resolve".to_owned(),
            format!("--tmpdir={}", tmp.display()),
        ]);
        server.args(extra);
        if root {
            server.arg("--user=root");
        }
        let child = server
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("mariadbd starts");
        let mut s = Self { port, dir, child };
        s.wait_ready().await;
        s.admin(&format!(
            "CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY '{}'; GRANT ALL ON *.* TO '{USER}'@'127.0.0.1'",
            PASSWORD.replace('\'', "''").replace('"', "\\\"")
        ))
        .await;
        s
    }

    /// Connects until the server answers (it is ready then), failing early if it died.
    async fn wait_ready(&mut self) {
        wait_for_every(
            "mariadbd to be ready",
            Duration::from_secs(60),
            Duration::from_millis(50),
            async || {
                if let Ok(c) = mysql_async::Conn::new(self.root_opts()).await {
                    let _ = c.disconnect().await;
                    return Ok(());
                }
                if let Ok(Some(status)) = self.child.try_wait() {
                    panic!("mariadbd exited ({status}): {}", self.error_log());
                }
                Err(self.error_log())
            },
        )
        .await;
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    fn root_opts(&self) -> mysql_async::Opts {
        mysql_async::OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(self.port)
            .user(Some("root"))
            .prefer_socket(false)
            .into()
    }

    pub async fn conn(&self) -> mysql_async::Conn {
        mysql_async::Conn::new(self.root_opts())
            .await
            .expect("connect as root")
    }

    /// Runs statements as root (`;`-separated, one batch).
    pub async fn admin(&self, sql: &str) {
        let mut c = self.conn().await;
        c.query_drop(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let _ = c.disconnect().await;
    }

    /// A dump as the walkthrough makes it, written to `to` (gzip when it ends in `.gz`).
    pub fn dump(&self, dbs: &[&str], to: &Path) {
        self.dump_with(dbs, to, &[]);
    }

    /// The same with more options (`--add-drop-database`, `--gtid`, `--routines`).
    pub fn dump_with(&self, dbs: &[&str], to: &Path, extra: &[&str]) {
        let out = Command::new(tool(&["mariadb-dump", "mysqldump"]))
            .args([
                "--no-defaults".to_owned(),
                "--protocol=TCP".to_owned(),
                "--host=127.0.0.1".to_owned(),
                format!("--port={}", self.port),
                "--user=root".to_owned(),
                "--single-transaction".to_owned(),
                "--master-data=2".to_owned(),
            ])
            .args(extra)
            .arg("--databases")
            .args(dbs)
            .env("TZ", "UTC")
            .output()
            .expect("mariadb-dump runs");
        assert!(
            out.status.success(),
            "mariadb-dump: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if to.extension().is_some_and(|e| e == "gz") {
            use std::io::Write;
            let mut gz = flate2::write::GzEncoder::new(
                std::fs::File::create(to).expect("dump file"),
                flate2::Compression::fast(),
            );
            gz.write_all(&out.stdout).expect("gzip");
            gz.finish().expect("gzip");
        } else {
            std::fs::write(to, &out.stdout).expect("dump file");
        }
    }

    /// The client options that reach this server as root.
    pub fn client_args(&self) -> Vec<String> {
        vec![
            "--no-defaults".to_owned(),
            "--protocol=TCP".to_owned(),
            "--host=127.0.0.1".to_owned(),
            format!("--port={}", self.port),
            "--user=root".to_owned(),
        ]
    }

    /// Databases whose name starts with `prefix`.
    pub async fn databases_like(&self, prefix: &str) -> Vec<String> {
        let mut c = self.conn().await;
        let all: Vec<String> = c.query("SHOW DATABASES").await.expect("show databases");
        let _ = c.disconnect().await;
        all.into_iter().filter(|d| d.starts_with(prefix)).collect()
    }

    /// The number a `SELECT COUNT(*) ...` answers.
    pub async fn count(&self, sql: &str) -> i64 {
        let mut c = self.conn().await;
        let n: Option<i64> = c.query_first(sql).await.expect("count");
        let _ = c.disconnect().await;
        n.unwrap_or(-1)
    }

    /// Every statement event of the server's binary log, in the order the server wrote them
    /// (its own view of what ran when).
    pub async fn binlog_statements(&self) -> Vec<String> {
        let mut c = self.conn().await;
        let logs: Vec<mysql_async::Row> = c.query("SHOW BINARY LOGS").await.expect("logs");
        let mut out = Vec::new();
        for log in logs {
            let name: String = log.get(0).expect("log name");
            let events: Vec<mysql_async::Row> = c
                .query(format!("SHOW BINLOG EVENTS IN '{name}'"))
                .await
                .expect("binlog events");
            for e in events {
                let kind: String = e.get("Event_type").expect("type");
                if kind == "Query" {
                    out.push(e.get::<String, _>("Info").unwrap_or_default());
                }
            }
        }
        let _ = c.disconnect().await;
        out
    }

    /// `CHECKSUM TABLE` and the rows sorted by primary key, as text.
    pub async fn snapshot(&self, table: &str) -> (Option<i64>, Vec<String>) {
        let mut c = self.conn().await;
        let row: Option<(String, Option<i64>)> = c
            .query_first(format!("CHECKSUM TABLE {table}"))
            .await
            .expect("checksum");
        let rows: Vec<String> = c
            .query(format!(
                "SELECT CONCAT_WS('|', id, amount, IFNULL(note, 'NULL')) FROM {table} ORDER BY id"
            ))
            .await
            .expect("rows");
        let _ = c.disconnect().await;
        (row.and_then(|r| r.1), rows)
    }
}

impl Server {
    /// Kills the server at once (kill -9: a crash, a lost host).
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
