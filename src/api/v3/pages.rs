//! Paging through a list action (`Offset` / `Limit` → `TotalCount`, `Items`): every page
//! until the total is reached or a page comes back empty, with a bound on the number of
//! pages in case a server keeps promising more than it returns.

use std::future::Future;

use crate::api::error::Error;

/// At most this many pages of one listing (10 million names at 5,000 a page).
const MAX_PAGES: u32 = 2_000;

/// Calls `page(offset)` until done; each answer is `(items, TotalCount)`.
pub async fn all<T, F, Fut>(mut page: F) -> Result<Vec<T>, Error>
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<i64>), Error>>,
{
    let mut all = Vec::new();
    let mut offset = 0u64;
    for _ in 0..MAX_PAGES {
        let (items, total) = page(offset).await?;
        let got = items.len() as u64;
        all.extend(items);
        offset += got;
        let total = total.and_then(|t| u64::try_from(t).ok()).unwrap_or(0);
        if got == 0 || offset >= total {
            break;
        }
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pages_until_the_total_or_an_empty_page() {
        let names: Vec<u64> = (0..7).collect();
        let mut asked = Vec::new();
        let got = all(|offset| {
            asked.push(offset);
            let page: Vec<u64> = names
                .iter()
                .copied()
                .skip(offset as usize)
                .take(3)
                .collect();
            async move { Ok((page, Some(7))) }
        })
        .await
        .unwrap();
        assert_eq!(got, names);
        assert_eq!(asked, [0, 3, 6]);
        // A server that over-promises: the empty page ends it.
        let mut calls = 0;
        let got: Vec<u64> = all(|offset| {
            calls += 1;
            async move { Ok((if offset == 0 { vec![1] } else { vec![] }, Some(100))) }
        })
        .await
        .unwrap();
        assert_eq!((got, calls), (vec![1], 2));
    }
}
