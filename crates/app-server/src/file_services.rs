//! Per-server state of the file services that outlive one request: `fs/watch` watches and
//! `fuzzyFileSearch` searches in flight, both scoped to the connection that made them.

use crate::fs_watch::Watches;
use crate::fuzzy_search::Searches;

#[derive(Default)]
pub(crate) struct FileServices {
    pub(crate) watches: Watches,
    pub(crate) searches: Searches,
}

impl FileServices {
    /// Drops the connection's watches and stops its searches.
    pub(crate) fn connection_closed(&self, conn_id: u64) {
        self.watches.connection_closed(conn_id);
        self.searches.connection_closed(conn_id);
    }
}
