//! The Relay connection every paginated list uses: `edges {cursor node}`, `pageInfo`, `totalCount` and
//! `edgeCount`, paged with `first`/`last`/`before`/`after`. Cursors are opaque offsets, as in Kraken
//! (`base64("arrayconnection:N")`), so clients that store them keep working.

use async_graphql::connection::{Connection, ConnectionNameType, Edge, EdgeNameType};
use async_graphql::{OutputType, SimpleObject};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::errors::{ErrorCode, KrakenError};

/// The largest page a client may ask for.
pub const MAX_PAGE: usize = 100;

/// The pagination arguments of a connection field, as the client sent them.
#[derive(Debug, Clone, Default)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub last: Option<i32>,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Which slice of the full list to load: rows `offset .. offset + limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub offset: usize,
    pub limit: usize,
    pub has_previous_page: bool,
    pub has_next_page: bool,
}

/// Extra fields on every connection.
#[derive(SimpleObject, Debug, Clone, Copy)]
pub struct ConnectionTotals {
    /// How many items the whole list holds.
    pub total_count: i32,
    /// How many items this page holds.
    pub edge_count: i32,
}

/// Names connections the Kraken way: `<Node>ConnectionTypeConnection` and `<Node>ConnectionTypeEdge`.
pub struct KrakenNames;

impl ConnectionNameType for KrakenNames {
    fn type_name<T: OutputType>() -> String {
        format!("{}ConnectionTypeConnection", T::type_name())
    }
}

impl EdgeNameType for KrakenNames {
    fn type_name<T: OutputType>() -> String {
        format!("{}ConnectionTypeEdge", T::type_name())
    }
}

pub type KrakenConnection<N> = NamedConnection<N, KrakenNames>;

/// A connection whose type names `Names` gives, for nodes that are interfaces (the Kraken schema
/// names `TransactionConnectionTypeConnection` after the concept, not after `TransactionType`).
pub type NamedConnection<N, Names> =
    Connection<String, N, ConnectionTotals, async_graphql::connection::EmptyFields, Names, Names>;

/// Declares the type names of a [`NamedConnection`]: `connection_names!(Names, "XConnectionTypeConnection",
/// "XConnectionTypeEdge")`.
#[macro_export]
macro_rules! connection_names {
    ($name:ident, $connection:literal, $edge:literal) => {
        pub struct $name;

        impl async_graphql::connection::ConnectionNameType for $name {
            fn type_name<T: async_graphql::OutputType>() -> String {
                $connection.to_owned()
            }
        }

        impl async_graphql::connection::EdgeNameType for $name {
            fn type_name<T: async_graphql::OutputType>() -> String {
                $edge.to_owned()
            }
        }
    };
}

pub fn encode_cursor(offset: usize) -> String {
    STANDARD.encode(format!("arrayconnection:{offset}"))
}

pub fn decode_cursor(cursor: &str) -> Result<usize, KrakenError> {
    STANDARD
        .decode(cursor.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| {
            text.strip_prefix("arrayconnection:")
                .and_then(|n| n.parse().ok())
        })
        .ok_or_else(|| {
            KrakenError::with_message(
                ErrorCode::InvalidInput,
                format!("{cursor:?} is not a valid cursor"),
            )
        })
}

fn page_size(value: Option<i32>, name: &str, max: usize) -> Result<Option<usize>, KrakenError> {
    match value {
        None => Ok(None),
        Some(n) if n < 0 => Err(KrakenError::with_message(
            ErrorCode::InvalidInput,
            format!("`{name}` must not be negative"),
        )),
        Some(n) => Ok(Some(usize::try_from(n).unwrap_or(max).min(max))),
    }
}

impl PageArgs {
    /// Works out the slice of a list of `total` items these arguments select. `first` and `last` are
    /// capped at [`MAX_PAGE`]; without either, the first [`MAX_PAGE`] items are returned.
    pub fn window(&self, total: usize) -> Result<Window, KrakenError> {
        self.window_up_to(total, MAX_PAGE)
    }

    /// Like [`PageArgs::window`], for a connection whose pages may hold up to `max` items.
    pub fn window_up_to(&self, total: usize, max: usize) -> Result<Window, KrakenError> {
        let first = page_size(self.first, "first", max)?;
        let last = page_size(self.last, "last", max)?;
        let mut start = match &self.after {
            Some(cursor) => (decode_cursor(cursor)? + 1).min(total),
            None => 0,
        };
        let mut end = match &self.before {
            Some(cursor) => decode_cursor(cursor)?.min(total),
            None => total,
        };
        end = end.max(start);
        match (first, last) {
            (Some(first), _) => end = end.min(start + first),
            (None, Some(last)) => start = start.max(end.saturating_sub(last)),
            (None, None) => end = end.min(start + max),
        }
        if let (Some(_), Some(last)) = (first, last) {
            start = start.max(end.saturating_sub(last));
        }
        Ok(Window {
            offset: start,
            limit: end - start,
            has_previous_page: start > 0,
            has_next_page: end < total,
        })
    }
}

/// Builds the connection for one page. `nodes` are the items of `window`, in order.
pub fn connection<N: OutputType>(
    window: Window,
    total: usize,
    nodes: Vec<N>,
) -> KrakenConnection<N> {
    named_connection(window, total, nodes)
}

/// [`connection`] with the type names of `Names`.
pub fn named_connection<N: OutputType, Names: ConnectionNameType + EdgeNameType>(
    window: Window,
    total: usize,
    nodes: Vec<N>,
) -> NamedConnection<N, Names> {
    let totals = ConnectionTotals {
        total_count: i32::try_from(total).unwrap_or(i32::MAX),
        edge_count: i32::try_from(nodes.len()).unwrap_or(i32::MAX),
    };
    let mut connection =
        Connection::with_additional_fields(window.has_previous_page, window.has_next_page, totals);
    connection.edges.extend(
        nodes
            .into_iter()
            .enumerate()
            .map(|(i, node)| Edge::new(encode_cursor(window.offset + i), node)),
    );
    connection
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(
        first: Option<i32>,
        last: Option<i32>,
        after: Option<usize>,
        before: Option<usize>,
    ) -> PageArgs {
        PageArgs {
            first,
            last,
            after: after.map(encode_cursor),
            before: before.map(encode_cursor),
        }
    }

    #[test]
    fn windows_follow_relay_slicing() {
        let w = args(Some(10), None, None, None).window(25).unwrap();
        assert_eq!(
            (w.offset, w.limit, w.has_previous_page, w.has_next_page),
            (0, 10, false, true)
        );
        let w = args(Some(10), None, Some(19), None).window(25).unwrap();
        assert_eq!(
            (w.offset, w.limit, w.has_previous_page, w.has_next_page),
            (20, 5, true, false)
        );
        let w = args(None, Some(3), None, Some(10)).window(25).unwrap();
        assert_eq!((w.offset, w.limit), (7, 3));
        let w = args(None, None, None, None).window(250).unwrap();
        assert_eq!((w.offset, w.limit, w.has_next_page), (0, MAX_PAGE, true));
        let w = args(Some(1000), None, None, None).window(250).unwrap();
        assert_eq!(w.limit, MAX_PAGE, "first is capped");
        let w = args(Some(5), None, Some(400), None).window(25).unwrap();
        assert_eq!(
            (w.offset, w.limit),
            (25, 0),
            "a cursor past the end gives an empty page"
        );
    }

    #[test]
    fn bad_arguments_are_invalid_input() {
        assert_eq!(
            args(Some(-1), None, None, None).window(5).unwrap_err().code,
            ErrorCode::InvalidInput
        );
        let bad = PageArgs {
            after: Some("not-a-cursor".into()),
            ..PageArgs::default()
        };
        assert_eq!(bad.window(5).unwrap_err().code, ErrorCode::InvalidInput);
    }

    #[test]
    fn cursors_round_trip() {
        assert_eq!(encode_cursor(0), "YXJyYXljb25uZWN0aW9uOjA=");
        assert_eq!(decode_cursor(&encode_cursor(42)).unwrap(), 42);
    }
}
