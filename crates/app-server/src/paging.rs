//! Codex's paging of short server-side lists (`model/list`, `permissionProfile/list`, ...):
//! the cursor is the index to go on from, as returned in `nextCursor`.

use crate::rpc::RpcError;

/// The page of `items` at `cursor` (default 0) of at most `limit` items (default: all, at
/// least 1), and the cursor of the next page.
pub(crate) fn page<T: Clone>(
    items: &[T],
    cursor: Option<&str>,
    limit: Option<u32>,
) -> Result<(Vec<T>, Option<String>), RpcError> {
    let total = items.len();
    let start = match cursor {
        None => 0,
        Some(c) => c
            .parse::<usize>()
            .map_err(|_| RpcError::invalid_request(format!("invalid cursor: {c}")))?,
    };
    if start > total {
        return Err(RpcError::invalid_request(format!(
            "cursor {start} exceeds total items {total}"
        )));
    }
    let limit = limit.map_or(total, |l| l as usize).max(1);
    let end = start.saturating_add(limit).min(total);
    let next = (end < total).then(|| end.to_string());
    Ok((items[start..end].to_vec(), next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_by_index() {
        let items = [1, 2, 3, 4, 5];
        assert_eq!(page(&items, None, None).ok(), Some((items.to_vec(), None)));
        let (first, next) = page(&items, None, Some(2)).ok().unwrap();
        assert_eq!((first, next.as_deref()), (vec![1, 2], Some("2")));
        let (last, next) = page(&items, Some("4"), Some(2)).ok().unwrap();
        assert_eq!((last, next), (vec![5], None));
        assert_eq!(page(&items, Some("5"), None).ok(), Some((vec![], None)));
        assert_eq!(page(&items, None, Some(0)).ok().unwrap().0, vec![1]);
        assert!(page(&items, Some("6"), None).is_err());
        assert!(page(&items, Some("x"), None).is_err());
        let empty: [u8; 0] = [];
        assert_eq!(page(&empty, None, None).ok(), Some((vec![], None)));
    }
}
