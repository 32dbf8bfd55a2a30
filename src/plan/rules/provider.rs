//! Rules of `provider`: which fields belong to which provider, the form of a self-hosted
//! entry's `id`, `server` and `backups`.

use super::Rules;
use crate::plan::diagnostic::Diagnostic;
use crate::plan::load::child;
use crate::plan::model::{Entry, Provider};
use crate::plan::node::Span;
use crate::plan::resolved::SelfHosted;

/// 1–64 of `A-Z a-z 0-9 _ . -`: a name the user picks for a server (journal key, reports).
pub fn is_selfhosted_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// `HOST:PORT` with a port 1..=65535; IPv6 hosts in brackets.
pub fn parse_server(server: &str) -> Option<(&str, u16)> {
    let (host, port) = server.rsplit_once(':')?;
    let host = match host.strip_prefix('[') {
        Some(inner) => inner.strip_suffix(']').filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        })?,
        None => host,
    };
    let host_ok = !host.is_empty()
        && (host.contains(':')
            || host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')));
    // Digits only: `+80` parses as a u16 but is not what anyone means.
    let digits = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
    let port: u16 = port.parse().ok().filter(|p| *p > 0)?;
    (host_ok && digits).then_some((host, port))
}

/// Fields only one provider understands: (field, the provider it belongs to).
const TENCENTCLOUD_ONLY: [&str; 3] = ["ids", "region", "connect"];
const MYSQL_ONLY: [&str; 3] = ["server", "backups", "restore_server"];

impl Rules<'_> {
    /// True when the entry's or the plan's `provider` was unreadable: its other fields
    /// cannot be judged, and one error says so.
    pub(super) fn provider_unknown(&self, path: &str) -> bool {
        self.reported_under("/provider") || self.reported_under(&child(path, "provider"))
    }

    pub(super) fn provider_of(&self, entry: &Entry) -> Provider {
        entry
            .provider
            .or(self.loaded.plan.provider)
            .unwrap_or_default()
    }

    /// A plan-level `region` means nothing when every entry is self-hosted by default.
    pub(super) fn plan_provider(&mut self) {
        let plan = &self.loaded.plan;
        if plan.provider == Some(Provider::Mysql) && plan.region.is_some() {
            self.push(
                Diagnostic::error(
                    "planrun::tencentcloud_field_on_mysql",
                    "`region` is a TencentDB field, but the plan's provider is `mysql`",
                )
                .at("/region", self.key("/region"), "TencentDB only")
                .help("remove `region`, or set `provider: mysql` only on the self-hosted entries"),
            );
        }
    }

    pub(super) fn invalid_selfhosted_id(&mut self, id: &str, path: &str) {
        self.push(
            Diagnostic::error(
                "planrun::invalid_mysql_id",
                format!("`{id}` is not a valid id for a self-hosted server"),
            )
            .at(path, self.span(path), "not a server id")
            .help(
                "name the server with 1 to 64 letters, digits, `_`, `.` or `-`, e.g. orders-db-1",
            ),
        );
    }

    /// Checks the provider-specific fields of an entry. `None`: a problem was reported;
    /// `Some(None)`: a TencentDB entry; `Some(Some(..))`: a self-hosted one.
    pub(super) fn provider_fields(
        &mut self,
        entry: &Entry,
        path: &str,
        who: &str,
    ) -> Option<Option<SelfHosted>> {
        if self.provider_unknown(path) {
            return None;
        }
        let provider = self.provider_of(entry);
        let (foreign, code, owner): (&[&str], &'static str, &str) = match provider {
            Provider::Tencentcloud => {
                (&MYSQL_ONLY, "planrun::mysql_field_on_tencentcloud", "mysql")
            }
            Provider::Mysql => (
                &TENCENTCLOUD_ONLY,
                "planrun::tencentcloud_field_on_mysql",
                "tencentcloud",
            ),
        };
        let mut ok = true;
        for field in foreign {
            let p = child(path, field);
            if self.has(&p) {
                ok = false;
                let help = match provider {
                    Provider::Tencentcloud => "add `provider: mysql` to the entry (or the plan) for a self-hosted server, or remove the field".to_owned(),
                    Provider::Mysql => format!("`{field}` is for TencentDB entries: remove it (a self-hosted entry names one server with `id` and `server`)"),
                };
                self.push(
                    Diagnostic::error(
                        code,
                        format!(
                            "{who}: `{field}` belongs to provider `{owner}`, but this entry's provider is `{}`",
                            provider.as_str()
                        ),
                    )
                    .at(&p, self.key(&p), format!("`{owner}` only"))
                    .help(help),
                );
            }
        }
        if provider == Provider::Tencentcloud {
            return ok.then_some(None);
        }
        let server = self.server(entry, path, who);
        let backups = self.backups(entry, path, who);
        let restore_server = self.restore_server(entry, path);
        let (server, backups, restore_server) = (server?, backups?, restore_server?);
        ok.then_some(Some(SelfHosted {
            server,
            backups,
            restore_server,
        }))
    }

    /// `connect: HOST:PORT` names one instance's address: with `ids` it would name many.
    pub(super) fn connect(&mut self, entry: &Entry, path: &str) -> Option<String> {
        let p = child(path, "connect");
        let address = entry.connect.as_ref()?;
        if self.provider_of(entry) != Provider::Tencentcloud {
            return None;
        }
        if parse_server(address).is_none() {
            self.push(
                Diagnostic::error(
                    "planrun::invalid_connect",
                    format!("`{address}` is not a MySQL address"),
                )
                .at(&p, self.span(&p), "expected HOST:PORT")
                .help("write the instance's MySQL address as HOST:PORT, e.g. 10.0.0.12:3306"),
            );
            return None;
        }
        if entry.ids.is_some() {
            self.push(
                Diagnostic::error(
                    "planrun::connect_with_ids",
                    "`connect` names one instance's address, but this entry lists `ids`",
                )
                .at(&p, self.key(&p), "one address")
                .help("give the instance its own entry with `id` and `connect`, or leave `connect` out to use DescribeDBInstances' address"),
            );
            return None;
        }
        Some(address.clone())
    }

    fn server(&mut self, entry: &Entry, path: &str, who: &str) -> Option<String> {
        let p = child(path, "server");
        match &entry.server {
            Some(server) if parse_server(server).is_some() => Some(server.clone()),
            Some(server) => {
                self.push(
                    Diagnostic::error(
                        "planrun::invalid_server",
                        format!("`{server}` is not a server address"),
                    )
                    .at(&p, self.span(&p), "expected HOST:PORT")
                    .help("write the server as HOST:PORT, e.g. db1.internal:3306 or [::1]:3306"),
                );
                None
            }
            None => {
                if !self.has(&p) && !self.loaded.misspelt(path, "server") {
                    self.push(
                        Diagnostic::error(
                            "planrun::missing_server",
                            format!("{who} is self-hosted but has no `server`"),
                        )
                        .at(
                            path.to_owned(),
                            Span::new(self.span(path).offset, 0),
                            "`server` missing",
                        )
                        .help("add `server: HOST:PORT` (the MySQL/MariaDB server to roll back)"),
                    );
                }
                None
            }
        }
    }

    /// `Some(None)`: none named; `None`: named, and not an address.
    fn restore_server(&mut self, entry: &Entry, path: &str) -> Option<Option<String>> {
        let p = child(path, "restore_server");
        match &entry.restore_server {
            None => Some(None),
            Some(server) if parse_server(server).is_some() => Some(Some(server.clone())),
            Some(server) => {
                self.push(
                    Diagnostic::error(
                        "planrun::invalid_server",
                        format!("`{server}` is not a server address"),
                    )
                    .at(&p, self.span(&p), "expected HOST:PORT")
                    .help("write the staging server as HOST:PORT, or leave `restore_server` out to restore on a throwaway server planrun starts"),
                );
                None
            }
        }
    }

    fn backups(&mut self, entry: &Entry, path: &str, who: &str) -> Option<String> {
        let p = child(path, "backups");
        match &entry.backups {
            Some(dir) if !dir.trim().is_empty() => Some(dir.clone()),
            other => {
                if other.is_some() || (!self.has(&p) && !self.loaded.misspelt(path, "backups")) {
                    let (at, span) = if other.is_some() {
                        (p.clone(), self.span(&p))
                    } else {
                        (path.to_owned(), Span::new(self.span(path).offset, 0))
                    };
                    self.push(
                        Diagnostic::error(
                            "planrun::missing_backups",
                            format!("{who} is self-hosted but names no `backups` directory"),
                        )
                        .at(at, span, "`backups` missing")
                        .help("add `backups: DIR`, the directory of the server's dumps (mariadb-dump/mysqldump --single-transaction --master-data=2)"),
                    );
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_addresses_are_host_and_port() {
        assert_eq!(
            parse_server("db1.internal:3306"),
            Some(("db1.internal", 3306))
        );
        assert_eq!(parse_server("127.0.0.1:1"), Some(("127.0.0.1", 1)));
        assert_eq!(parse_server("[::1]:3306"), Some(("::1", 3306)));
        for bad in [
            "db1",
            ":3306",
            "db1:0",
            "db1:65536",
            "db1:+80",
            "db 1:3306",
            "[]:1",
            "db1:",
        ] {
            assert_eq!(parse_server(bad), None, "{bad}");
        }
    }

    #[test]
    fn selfhosted_ids_are_short_plain_names() {
        assert!(is_selfhosted_id("orders-db.1_a"));
        assert!(!is_selfhosted_id(""));
        assert!(!is_selfhosted_id(&"a".repeat(65)));
        assert!(!is_selfhosted_id("a b"));
    }
}
