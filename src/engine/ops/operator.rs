//! Who runs planrun and where: the user and host an apply records in its journal, so that the
//! incident record can say who rolled back what. Read from the environment and the kernel's
//! hostname; never anything secret.

use crate::engine::journal::RunContext;
use crate::engine::prepare::Generation;

/// The context of an apply about to start: this user, this host, this planrun, the API
/// `generation` and the action that submits.
pub fn context(generation: Generation, sandbox: bool) -> RunContext {
    RunContext {
        user: user(),
        host: host(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        api: generation.name().to_owned(),
        action: generation.action().to_owned(),
        sandbox,
    }
}

/// `USER`, else `LOGNAME` (cron and su set one or the other), else `USERNAME` (Windows),
/// else (containers often set none) the name of this process's user id in `/etc/passwd`.
fn user() -> Option<String> {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|var| std::env::var(var).ok().and_then(non_empty))
        .or_else(|| {
            let status = std::fs::read_to_string("/proc/self/status").ok()?;
            let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
            passwd_name(&status, &passwd)
        })
}

/// The login name of the real user id of a `/proc/<pid>/status` text in a passwd file.
fn passwd_name(status: &str, passwd: &str) -> Option<String> {
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)? == uid)
            .then(|| name.to_owned())
            .and_then(non_empty)
    })
}

/// The kernel's hostname on Linux, else `/etc/hostname`, else what the shell exported.
fn host() -> Option<String> {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok().and_then(non_empty))
        .or_else(|| {
            ["HOSTNAME", "COMPUTERNAME"]
                .iter()
                .find_map(|var| std::env::var(var).ok().and_then(non_empty))
        })
}

/// Trimmed, and at most 255 characters (a hostname's limit): a stray file must not fill the
/// journal.
fn non_empty(text: String) -> Option<String> {
    let t: String = text.trim().chars().take(255).collect();
    (!t.is_empty()).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_context_names_this_planrun_and_the_api() {
        let c = context(Generation::V3, true);
        assert_eq!(c.version, env!("CARGO_PKG_VERSION"));
        assert_eq!((c.api.as_str(), c.sandbox), ("v3", true));
        assert_eq!(non_empty("  host-1\n".into()).as_deref(), Some("host-1"));
        assert_eq!(non_empty(" \n".into()), None);
    }

    #[test]
    fn a_user_without_environment_is_found_by_its_id() {
        let status = "Name:\tplanrun\nUid:\t1001\t1001\t1001\t1001\n";
        let passwd = "root:x:0:0:root:/root:/bin/sh\nalice:x:1001:1001::/home/alice:/bin/sh\n";
        assert_eq!(passwd_name(status, passwd).as_deref(), Some("alice"));
        assert_eq!(passwd_name("Uid:\t7\n", passwd), None);
    }
}
