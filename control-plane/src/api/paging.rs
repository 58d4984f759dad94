//! EMQX's paging of list endpoints: `page` (1-based) and `limit` in the query, `meta` in the
//! answer.

use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};

const MAX_PAGE: u32 = 1_000_000;
const MAX_LIMIT: u32 = 10_000;
const DEFAULT_LIMIT: u32 = 100;

/// A validated `page` and `limit`.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    page: u32,
    limit: u32,
}

impl Paging {
    /// Page 1 and 100 per page unless given; out of range is a 400 naming the field.
    pub fn from_query(page: Option<u32>, limit: Option<u32>) -> ApiResult<Self> {
        let page = page.unwrap_or(1);
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_PAGE).contains(&page) {
            return Err(ApiError::invalid("page", "between 1 and 1000000"));
        }
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::invalid("limit", "between 1 and 10000"));
        }
        Ok(Self { page, limit })
    }

    /// How many items come before this page.
    pub fn offset(self) -> usize {
        (self.page as usize - 1).saturating_mul(self.limit as usize)
    }

    pub fn limit(self) -> usize {
        self.limit as usize
    }

    /// The answer's `meta`: `count` items match in all, `shown` are on this page.
    pub fn meta(self, count: usize, shown: usize) -> PageMeta {
        PageMeta {
            page: self.page,
            limit: self.limit,
            count,
            hasnext: self.offset().saturating_add(shown) < count,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PageMeta {
    pub page: u32,
    pub limit: u32,
    /// Items matching the filters, on all pages.
    pub count: usize,
    pub hasnext: bool,
}
