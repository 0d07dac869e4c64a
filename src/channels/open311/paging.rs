//! `page` and `page_size` on `GET requests` and `GET servicerequestupdates` (issue 32,
//! point 2): the paging extension the GeoReport v2 Extensions page calls the most
//! widely implemented (Chicago, Boston, Toronto). Pages count from 1; `page_size` is 1
//! to [`MAX_PAGE_SIZE`], by default [`MAX_PAGE_SIZE`] (the specification's default
//! limit of 1,000, so a client that never pages reads what it read before). Every list
//! tells its total — header `X-Total-Count`, and the XML root's `total`, `page` and
//! `page_size` attributes — so a client knows when it has read everything.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use serde::Serialize;

use super::ask::Ask;
use super::text::Open311Error;

/// The most items one page holds, and the default.
pub(super) const MAX_PAGE_SIZE: usize = 1000;
/// The header that tells a list's total.
pub(super) const TOTAL_HEADER: &str = "x-total-count";

/// Which page of a list a client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Page {
    /// From 1.
    pub(super) number: usize,
    pub(super) size: usize,
}

impl Page {
    /// `page` and `page_size` of the query; 400 naming the parameter when either is not
    /// a whole number in its range.
    pub(super) fn of(ask: &Ask) -> Result<Page, Open311Error> {
        let read = |name: &'static str, max: usize, default: usize| {
            ask.params.get(name).map_or(Ok(default), |raw| {
                raw.parse::<usize>()
                    .ok()
                    .filter(|n| (1..=max).contains(n))
                    .ok_or_else(|| Open311Error::Invalid(name.into()))
            })
        };
        Ok(Page {
            // A page beyond the last is empty, not an error; the bound keeps the offset
            // arithmetic far from overflow.
            number: read("page", 1_000_000, 1)?,
            size: read("page_size", MAX_PAGE_SIZE, MAX_PAGE_SIZE)?,
        })
    }

    /// How many items come before this page.
    pub(super) fn offset(self) -> usize {
        (self.number - 1).saturating_mul(self.size)
    }

    /// This page of `items` (the whole list, in its order).
    pub(super) fn of_list<T>(self, items: Vec<T>) -> Vec<T> {
        items
            .into_iter()
            .skip(self.offset())
            .take(self.size)
            .collect()
    }

    /// The answer: `items` (this page) under `root`, with the list's `total`.
    pub(super) fn answer<T: Serialize>(
        self,
        ask: &Ask,
        root: &str,
        items: &[T],
        total: usize,
    ) -> HttpResponse {
        let attributes = [
            ("total", total.to_string()),
            ("page", self.number.to_string()),
            ("page_size", self.size.to_string()),
        ];
        let mut response = ask.document_with(StatusCode::OK, root, &attributes, &items);
        if let Ok(value) = HeaderValue::from_str(&total.to_string()) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(TOTAL_HEADER), value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_a_window_of_the_list() {
        let page = Page { number: 3, size: 4 };
        assert_eq!(page.offset(), 8);
        assert_eq!(page.of_list((0..10).collect()), vec![8, 9]);
        assert!(
            Page { number: 4, size: 4 }
                .of_list((0..10).collect::<Vec<_>>())
                .is_empty()
        );
    }
}
