//! Paging through a list action (`Offset` / `Limit` → `TotalCount`, `Items`). With a
//! `TotalCount`, every page until the total is reached or a page comes back empty; without
//! one (the SDK allows `null` for any field), every page while pages come back full, until a
//! short one. Both are bounded: a server that keeps promising more, or keeps answering full
//! pages, ends in [`Error::Incomplete`], never in a listing that looks whole.

use std::future::Future;

use crate::api::error::Error;

/// The usual bound of a listing (10 million names at 5,000 a page).
pub const MAX_PAGES: u32 = 2_000;

/// One list action's paging: its name (for the error), the `Limit` each page asks for, and
/// the most pages read before the listing is called incomplete.
#[derive(Debug, Clone, Copy)]
pub struct Listing {
    pub action: &'static str,
    pub limit: u64,
    pub max_pages: u32,
}

/// Whether to ask for the page at `offset`, after a page of `got` items asked with `limit`
/// and answering `total`: with a total, while it is not reached; without one, while a page
/// is full (a short page is the last). An empty page always ends the listing.
pub fn more(offset: u64, got: u64, limit: u64, total: Option<i64>) -> bool {
    if got == 0 {
        return false;
    }
    match total.and_then(|t| u64::try_from(t).ok()) {
        Some(total) => offset < total,
        None => got >= limit,
    }
}

/// Calls `page(offset)` until done; each answer is `(items, TotalCount)`.
pub async fn all<T, F, Fut>(listing: Listing, mut page: F) -> Result<Vec<T>, Error>
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<i64>), Error>>,
{
    let mut all = Vec::new();
    let mut offset = 0u64;
    for _ in 0..listing.max_pages {
        let (items, total) = page(offset).await?;
        let got = items.len() as u64;
        all.extend(items);
        offset += got;
        if !more(offset, got, listing.limit, total) {
            return Ok(all);
        }
    }
    Err(Error::Incomplete {
        action: listing.action.to_owned(),
        pages: listing.max_pages,
        items: all.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTING: Listing = Listing {
        action: "DescribeThings",
        limit: 3,
        max_pages: 10,
    };

    /// `names` served `limit` at a time, each page answering `total`; the offsets asked.
    async fn served(
        listing: Listing,
        names: &[u64],
        total: Option<i64>,
    ) -> (Result<Vec<u64>, Error>, Vec<u64>) {
        let mut asked = Vec::new();
        let got = all(listing, |offset| {
            asked.push(offset);
            let page: Vec<u64> = names
                .iter()
                .copied()
                .skip(usize::try_from(offset).unwrap())
                .take(usize::try_from(listing.limit).unwrap())
                .collect();
            async move { Ok((page, total)) }
        })
        .await;
        (got, asked)
    }

    #[tokio::test]
    async fn pages_until_the_total_or_an_empty_page() {
        let names: Vec<u64> = (0..7).collect();
        let (got, asked) = served(LISTING, &names, Some(7)).await;
        assert_eq!(got.unwrap(), names);
        assert_eq!(asked, [0, 3, 6]);
        // A server that over-promises: the empty page ends it.
        let mut calls = 0;
        let got: Vec<u64> = all(LISTING, |offset| {
            calls += 1;
            async move { Ok((if offset == 0 { vec![1] } else { vec![] }, Some(100))) }
        })
        .await
        .unwrap();
        assert_eq!((got, calls), (vec![1], 2));
    }

    #[tokio::test]
    async fn without_a_total_a_full_page_is_not_the_end() {
        // 7 names, 3 a page: full, full, short.
        let names: Vec<u64> = (0..7).collect();
        let (got, asked) = served(LISTING, &names, None).await;
        assert_eq!(got.unwrap(), names);
        assert_eq!(asked, [0, 3, 6]);
        // 6 names: the third page is empty, and ends it.
        let names: Vec<u64> = (0..6).collect();
        let (got, asked) = served(LISTING, &names, None).await;
        assert_eq!(got.unwrap(), names);
        assert_eq!(asked, [0, 3, 6]);
        // A negative total is no total.
        let (got, asked) = served(LISTING, &names, Some(-1)).await;
        assert_eq!(got.unwrap(), names);
        assert_eq!(asked, [0, 3, 6]);
        // A short first page is the whole listing.
        let (got, asked) = served(LISTING, &[1, 2], None).await;
        assert_eq!(got.unwrap(), [1, 2]);
        assert_eq!(asked, [0]);
    }

    #[test]
    fn the_decision_after_each_page() {
        // (offset after the page, items on it, limit, total) → ask again?
        assert!(more(100, 100, 100, None));
        assert!(!more(150, 50, 100, None));
        assert!(!more(100, 0, 100, None));
        assert!(more(100, 100, 100, Some(250)));
        assert!(!more(100, 100, 100, Some(100)));
        // With a total, as before: a short page below it asks again, a full one at it stops.
        assert!(more(50, 50, 100, Some(120)));
        assert!(!more(100, 100, 100, Some(0)));
        assert!(!more(100, 0, 100, Some(250)));
    }

    #[tokio::test]
    async fn a_listing_that_never_ends_is_incomplete_not_whole() {
        // Full pages without a total, forever.
        let endless: Vec<u64> = (0..1000).collect();
        let (got, asked) = served(LISTING, &endless, None).await;
        let err = got.unwrap_err();
        assert!(
            matches!(&err, Error::Incomplete { action, pages: 10, items: 30 } if action == "DescribeThings"),
            "{err:?}"
        );
        assert_eq!(asked.len(), 10);
        // A total the pages never reach, likewise.
        let (got, _) = served(LISTING, &endless, Some(1_000_000)).await;
        assert!(matches!(got, Err(Error::Incomplete { .. })));
        // Ending exactly at the bound is complete.
        let thirty: Vec<u64> = (0..30).collect();
        let (got, _) = served(LISTING, &thirty, Some(30)).await;
        assert_eq!(got.unwrap(), thirty);
    }
}
