//! Lists a page at a time: what a caller asks for (`PageRequest`: a size and the cursor a previous
//! page handed out) and what it gets (`Page`: items and the next cursor). Model types, no I/O: the
//! store fills them, the HTTP edge reads a `PageRequest` from the query string
//! (`http::PageRequest::from_request`).

use serde::Serialize;

/// Paging parameters of a list request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub size: u32,
    pub cursor: Option<String>,
}

pub const DEFAULT_PAGE_SIZE: u32 = 20;
pub const MAX_PAGE_SIZE: u32 = 100;

/// A page of a list: `{"items": [...], "next": "<cursor>" | null}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The cursor of the next page; `null` on the last one.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub next: Option<String>,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
        }
    }
}
