//! `region` against the regions TencentDB for MySQL is sold in: an unknown one would be refused
//! by the cloud mid-run (after other instances were submitted), so it is an error here, with
//! the nearest names. A region newer than this list is allowed by name (`--allow-region`).

use super::{Diagnostic, Rules};
use crate::plan::diagnostic::closest;

/// The regions TencentDB for MySQL's API serves, as its documentation lists them (the `Region`
/// parameter of DescribeCdbZoneConfig, "This API only supports: ...",
/// <https://www.tencentcloud.com/document/product/236/50285>, updated 2025-10-28).
pub const REGIONS: &[&str] = &[
    "ap-bangkok",
    "ap-beijing",
    "ap-chengdu",
    "ap-chongqing",
    "ap-guangzhou",
    "ap-hongkong",
    "ap-jakarta",
    "ap-nanjing",
    "ap-seoul",
    "ap-shanghai",
    "ap-shanghai-fsi",
    "ap-shenzhen-fsi",
    "ap-singapore",
    "ap-tokyo",
    "eu-frankfurt",
    "na-ashburn",
    "na-siliconvalley",
    "sa-saopaulo",
];

/// `Ok` when `region` is known or allowed; else the nearest known names (possibly none).
pub fn check(region: &str, allowed: &[String]) -> Result<(), Vec<&'static str>> {
    if REGIONS.contains(&region) || allowed.iter().any(|a| a == region) {
        return Ok(());
    }
    let mut near: Vec<&'static str> = closest(region, REGIONS).into_iter().collect();
    // Same area or same city: `ap-shangai` → ap-shanghai, `shanghai` → ap-shanghai and
    // ap-shanghai-fsi.
    let city = region.rsplit_once('-').map_or(region, |(_, c)| c);
    for r in REGIONS {
        let same_city = r.split('-').nth(1) == Some(city) || r.ends_with(&format!("-{city}"));
        if same_city && !near.contains(r) {
            near.push(r);
        }
    }
    near.truncate(3);
    Err(near)
}

/// The help line for an unknown region: the nearest names, and how to allow a newer one.
pub fn help(region: &str, near: &[&str]) -> String {
    let allow =
        format!("a region newer than planrun's list can be allowed with --allow-region {region}");
    match near {
        [] => format!(
            "TencentDB for MySQL regions are {}; {allow}",
            REGIONS.join(", ")
        ),
        [one] => format!("did you mean `{one}`? ({allow})"),
        more => format!(
            "did you mean one of {}? ({allow})",
            more.iter()
                .map(|r| format!("`{r}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

impl Rules<'_> {
    /// The `region` at `path` (the plan's or an entry's), when it is set and unknown.
    pub(super) fn region(&mut self, path: &str, region: Option<&str>) {
        let Some(region) = region else { return };
        if self.reported_at(path) {
            return;
        }
        if let Err(near) = check(region, self.allowed_regions) {
            self.push(
                Diagnostic::error(
                    "planrun::unknown_region",
                    format!("`{region}` is not a TencentDB for MySQL region"),
                )
                .at(path.to_owned(), self.span(path), "unknown region")
                .help(help(region, &near)),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_regions_pass_and_allowed_ones_too() {
        assert_eq!(check("ap-guangzhou", &[]), Ok(()));
        assert!(check("ap-newcity", &[]).is_err());
        assert_eq!(check("ap-newcity", &["ap-newcity".to_owned()]), Ok(()));
    }

    #[test]
    fn an_unknown_region_gets_the_nearest_names() {
        assert_eq!(check("ap-shangai", &[]), Err(vec!["ap-shanghai"]));
        assert_eq!(
            check("shanghai", &[]),
            Err(vec!["ap-shanghai", "ap-shanghai-fsi"])
        );
        assert_eq!(check("xx-nowhere", &[]), Err(vec![]));
        assert!(help("xx-nowhere", &[]).contains("ap-guangzhou"));
        assert!(help("ap-shangai", &["ap-shanghai"]).starts_with("did you mean `ap-shanghai`?"));
    }
}
