//! Guards against expensive documents. Everything here runs before async-graphql validates the
//! document (its validation expands fragments, so it must never see a document whose expansion is
//! unbounded), and in this order, cheapest first:
//!
//! 1. The raw text, before the parser runs: size in bytes, number of tokens and bracket nesting
//!    ([`precheck`]). A document that fails here is refused with KT-CT-1188 without being parsed.
//! 2. One walk over the parsed document, with each fragment measured once and its cost reused
//!    wherever it is spread ([`check`]). The walk
//!    - reports unknown fields and unknown arguments against the schema, on the field that has them
//!      and with its path (KT-CT-1605): a document that is both invalid and expensive is told what is
//!      invalid, because that is as cheap to tell as its cost;
//!    - refuses control characters in every string argument and variable (KT-CT-1605, naming the
//!      argument or variable path) — see [`control_character`];
//!    - measures depth, complexity, nodes (object fields multiplied by the page sizes above them),
//!      aliases and expanded fields as if every fragment were expanded, without expanding any.
//!      Introspection (`__schema`, `__type` and the fields of the `__` types) has its own depth and
//!      complexity budget, sized so that the standard introspection queries of GraphiQL and gql fit.
//!      Over a limit: KT-CT-1188 (depth, complexity, aliases, expanded fields) or KT-CT-1189 (nodes).
//!
//! **Complexity**, the Kraken budget of 200 per request, is scored per field and per connection page:
//! - every selected field costs one point, `__typename` included;
//! - what is selected below a connection (a field given `first` or `last`) costs once per started
//!   page of [`COMPLEXITY_PAGE`] items it asks for: `first: 100` once, `first: 1000` ten times, and a
//!   page inside a page multiplies;
//! - on an interface or union, type conditions are alternatives (one device is a vehicle or a
//!   charger, never both), so a selection costs what it costs on its costliest possible type, not
//!   the sum of every type condition written.
//!
//! Validation still walks every alternative, so the expanded field count (every fragment and type
//! condition counted) has its own bound, far above what a client writes.
//! 3. async-graphql's own validation, then execution. (Its parse step's recursion check, which
//!    follows every fragment spread, is not run: [`LimitsExtension`] parses the document itself.)

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::ValidationResult;
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use async_graphql::registry::{MetaType, MetaTypeName, Registry};
use async_graphql::{Name, PathSegment, Pos, Positioned, ServerError, ServerResult, Variables};
use async_graphql_value::{ConstValue, Value};

use crate::errors::{ErrorCode, KrakenError};

/// The configured limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueryLimits {
    /// Deepest nesting of fields (KT-CT-1188).
    pub max_depth: usize,
    /// The most complexity a document may have (KT-CT-1188): one point per field, once per started
    /// page of [`COMPLEXITY_PAGE`] items below a connection, type conditions scored by the costliest
    /// type they apply to.
    pub max_complexity: usize,
    /// Most nodes a document may ask for (KT-CT-1189).
    pub max_nodes: usize,
    /// Most aliased fields a document may select, counted as if expanded (KT-CT-1188).
    pub max_aliases: usize,
    /// Most fields a document may hold once every fragment is expanded and every type condition
    /// is counted, introspection included (KT-CT-1188). Complexity scores a selection on an
    /// interface by its costliest type; this bounds the work validating all of them takes.
    pub max_expanded_fields: usize,
    /// Deepest nesting of introspection fields (`__schema`, `__type` and below).
    pub max_introspection_depth: usize,
    /// Most introspection fields a document may select, counted as if expanded.
    pub max_introspection_complexity: usize,
    /// Largest document, in bytes, checked before parsing.
    pub max_document_bytes: usize,
    /// Most lexical tokens in a document, checked before parsing.
    pub max_tokens: usize,
    /// Deepest nesting of `{`, `(` and `[` in the raw text, checked before parsing.
    pub max_text_nesting: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        Self {
            max_depth: 15,
            max_complexity: 200,
            max_nodes: 10_000,
            max_aliases: 50,
            max_expanded_fields: 2_000,
            max_introspection_depth: 16,
            max_introspection_complexity: 500,
            max_document_bytes: 64 * 1024,
            max_tokens: 10_000,
            max_text_nesting: 64,
        }
    }
}

impl QueryLimits {
    /// The first setting that makes no sense, if any.
    pub fn problem(&self) -> Option<&'static str> {
        let zero = [
            (self.max_depth, "limits.max_depth"),
            (self.max_complexity, "limits.max_complexity"),
            (self.max_nodes, "limits.max_nodes"),
            (self.max_expanded_fields, "limits.max_expanded_fields"),
            (
                self.max_introspection_depth,
                "limits.max_introspection_depth",
            ),
            (
                self.max_introspection_complexity,
                "limits.max_introspection_complexity",
            ),
            (self.max_document_bytes, "limits.max_document_bytes"),
            (self.max_tokens, "limits.max_tokens"),
            (self.max_text_nesting, "limits.max_text_nesting"),
        ];
        zero.iter()
            .find(|(value, _)| *value == 0)
            .map(|(_, name)| *name)
    }
}

/// What the raw text of a document looks like to the lexer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TextShape {
    /// Lexical tokens (punctuators, names, numbers, strings), counted up to the stop value.
    pub tokens: usize,
    /// The deepest nesting of `{`, `(` and `[`, outside strings and comments.
    pub nesting: usize,
}

/// Scans a document the way the GraphQL lexer would, without building anything: counts tokens (up
/// to `stop_after`, then stops) and measures bracket nesting. Strings, block strings and comments
/// are skipped, so brackets inside them do not count.
pub fn text_shape(query: &str, stop_after: usize) -> TextShape {
    let b = query.as_bytes();
    let n = b.len();
    let (mut i, mut depth) = (0usize, 0usize);
    let mut shape = TextShape::default();
    while i < n && shape.tokens <= stop_after {
        match b[i] {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => {
                i += 1;
                continue;
            }
            b'#' => {
                while i < n && b[i] != b'\n' && b[i] != b'\r' {
                    i += 1;
                }
                continue;
            }
            b'"' if b[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < n {
                    if b[i..].starts_with(b"\\\"\"\"") {
                        i += 4;
                    } else if b[i..].starts_with(b"\"\"\"") {
                        i += 3;
                        break;
                    } else {
                        i += 1;
                    }
                }
            }
            b'"' => {
                i += 1;
                while i < n {
                    match b[i] {
                        b'\\' => i += 2,
                        b'"' => {
                            i += 1;
                            break;
                        }
                        b'\n' | b'\r' => break,
                        _ => i += 1,
                    }
                }
            }
            b'{' | b'(' | b'[' => {
                depth += 1;
                shape.nesting = shape.nesting.max(depth);
                i += 1;
            }
            b'}' | b')' | b']' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'.' if b[i..].starts_with(b"...") => i += 3,
            c if c == b'_' || c == b'-' || c.is_ascii_alphanumeric() => {
                i += 1;
                while i < n {
                    let c = b[i];
                    let sign = (c == b'+' || c == b'-') && matches!(b[i - 1], b'e' | b'E');
                    if c == b'_' || c == b'.' || c.is_ascii_alphanumeric() || sign {
                        i += 1;
                    } else {
                        break;
                    }
                }
            }
            _ => i += 1,
        }
        shape.tokens += 1;
    }
    shape
}

fn too_complex(message: String) -> ServerError {
    KrakenError::with_message(ErrorCode::QueryTooComplex, message).into_server_error()
}

/// Refuses a document that is too large, has too many tokens or nests its brackets too deeply,
/// before it is parsed, so that no document can exhaust the parser's time, memory or stack.
pub fn precheck(query: &str, limits: &QueryLimits) -> Result<(), ServerError> {
    if query.len() > limits.max_document_bytes {
        return Err(too_complex(format!(
            "The document is {} bytes long; at most {} are allowed.",
            query.len(),
            limits.max_document_bytes
        )));
    }
    let shape = text_shape(query, limits.max_tokens);
    if shape.tokens > limits.max_tokens {
        return Err(too_complex(format!(
            "The document has more than {} tokens.",
            limits.max_tokens
        )));
    }
    if shape.nesting > limits.max_text_nesting {
        return Err(too_complex(format!(
            "The document nests {} levels deep; at most {} are allowed.",
            shape.nesting, limits.max_text_nesting
        )));
    }
    Ok(())
}

/// The first control character in `text` that has no business in an argument: NUL, the other C0
/// controls except tab, line feed and carriage return (which multi-line text may hold), DEL and
/// the C1 controls. Such characters are never meaningful in an identifier, a name, an email address
/// or a reference, and some databases refuse them outright.
pub fn control_character(text: &str) -> Option<char> {
    text.chars()
        .find(|&c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// What a selection costs, as if its fragments were expanded.
#[derive(Debug, Clone, Copy, Default)]
struct Cost {
    /// Deepest chain of ordinary fields.
    depth: usize,
    /// Deepest chain of introspection fields.
    introspection_depth: usize,
    complexity: u64,
    introspection: u64,
    aliases: u64,
    /// Nodes for a multiplier of one; scale by the multiplier of the place it is used.
    nodes: f64,
    /// Fields of every kind as if every fragment were expanded, every type condition included:
    /// the work validation does, whatever the scoring counts.
    expanded: u64,
}

impl Cost {
    /// The larger of each measure: what the costlier of two alternatives (type conditions that
    /// cannot both apply to one object) can cost.
    /// (`expanded` is not one of them: validation walks every alternative.)
    fn max_with(&mut self, other: Cost) {
        self.depth = self.depth.max(other.depth);
        self.introspection_depth = self.introspection_depth.max(other.introspection_depth);
        self.complexity = self.complexity.max(other.complexity);
        self.introspection = self.introspection.max(other.introspection);
        self.aliases = self.aliases.max(other.aliases);
        self.nodes = self.nodes.max(other.nodes);
    }

    fn add(&mut self, other: Cost) {
        self.depth = self.depth.max(other.depth);
        self.introspection_depth = self.introspection_depth.max(other.introspection_depth);
        self.complexity = self.complexity.saturating_add(other.complexity);
        self.introspection = self.introspection.saturating_add(other.introspection);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.nodes += other.nodes;
        self.expanded = self.expanded.saturating_add(other.expanded);
    }
}

/// The items of one connection page as complexity counts them: a selection below a connection
/// costs once per started page of this many items it asks for (`first` or `last`).
pub const COMPLEXITY_PAGE: u64 = 100;

/// Fragments may spread fragments; a longer chain than this is refused rather than followed.
const MAX_FRAGMENT_CHAIN: usize = 32;
/// At most this many problems are reported for one document.
const MAX_REPORTED: usize = 20;

/// The type a selection set is read on.
#[derive(Clone, Copy)]
struct Scope<'a> {
    /// The type's name, when known.
    name: Option<&'a str>,
    /// Whether the selection is inside introspection.
    introspection: bool,
    /// Whether this is the query root (where `__schema` and `__type` live).
    query_root: bool,
}

struct Walk<'a> {
    doc: &'a ExecutableDocument,
    registry: Option<&'a Registry>,
    variables: &'a Variables,
    fragments: HashMap<&'a str, Cost>,
    visiting: Vec<&'a str>,
    problems: Vec<ServerError>,
    chain_too_long: bool,
}

fn path_text(path: &[PathSegment]) -> String {
    let mut text = String::new();
    for segment in path {
        match segment {
            PathSegment::Field(name) => {
                if !text.is_empty() {
                    text.push('.');
                }
                text.push_str(name);
            }
            PathSegment::Index(i) => text.push_str(&format!("[{i}]")),
        }
    }
    text
}

fn invalid_at(message: String, pos: Pos, path: &[PathSegment]) -> ServerError {
    let mut err = KrakenError::with_message(ErrorCode::InvalidInput, message).into_server_error();
    err.locations = vec![pos];
    err.path = path.to_vec();
    err
}

fn control_message(what: &str, c: char) -> String {
    format!(
        "{what} contains the control character U+{:04X}, which is not allowed.",
        u32::from(c)
    )
}

/// Every string in a literal value, with its path below the argument.
fn literal_controls(value: &Value, at: &mut String, found: &mut Vec<(String, char)>) {
    match value {
        Value::String(text) => {
            if let Some(c) = control_character(text) {
                found.push((at.clone(), c));
            }
        }
        Value::List(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = at.len();
                at.push_str(&format!("[{i}]"));
                literal_controls(item, at, found);
                at.truncate(len);
            }
        }
        Value::Object(fields) => {
            for (name, item) in fields {
                let len = at.len();
                at.push('.');
                at.push_str(name);
                literal_controls(item, at, found);
                at.truncate(len);
            }
        }
        _ => {}
    }
}

/// Every string (and object key) in a variable's value, with its path.
fn variable_controls(value: &ConstValue, at: &mut String, found: &mut Vec<(String, char)>) {
    match value {
        ConstValue::String(text) => {
            if let Some(c) = control_character(text) {
                found.push((at.clone(), c));
            }
        }
        ConstValue::List(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = at.len();
                at.push_str(&format!("[{i}]"));
                variable_controls(item, at, found);
                at.truncate(len);
            }
        }
        ConstValue::Object(fields) => {
            for (name, item) in fields {
                let len = at.len();
                at.push('.');
                at.push_str(name);
                if let Some(c) = control_character(name) {
                    found.push((at.clone(), c));
                }
                variable_controls(item, at, found);
                at.truncate(len);
            }
        }
        _ => {}
    }
}

impl<'a> Walk<'a> {
    fn report(&mut self, err: ServerError) {
        if self.problems.len() < MAX_REPORTED {
            self.problems.push(err);
        }
    }

    fn meta_type(&self, name: Option<&str>) -> Option<&'a MetaType> {
        self.registry?.concrete_type_by_name(name?)
    }

    fn scope_of(&self, type_name: &'a str) -> Scope<'a> {
        Scope {
            name: Some(type_name),
            introspection: type_name.starts_with("__"),
            query_root: self.registry.map_or(type_name == "Query", |registry| {
                registry.query_type == type_name
            }),
        }
    }

    /// The possible object types of an interface or union, when the schema is known.
    fn possible_types(&self, name: Option<&str>) -> Option<Vec<&'a str>> {
        let ty = self.meta_type(name)?;
        let types = ty.possible_types()?;
        Some(types.iter().map(String::as_str).collect())
    }

    /// Whether a selection on `condition` applies to an object of type `object`.
    fn applies(&self, condition: &str, object: &str) -> bool {
        condition == object
            || self
                .meta_type(Some(condition))
                .is_some_and(|ty| ty.is_possible_type(object))
    }

    fn selection_set(
        &mut self,
        set: &'a SelectionSet,
        scope: Scope<'a>,
        path: &mut Vec<PathSegment>,
    ) -> Cost {
        // On an interface or union, type conditions are alternatives: one object has one type, so
        // the selection costs what it costs on its costliest possible type, not the sum of every
        // type condition written.
        let possible = self.possible_types(scope.name);
        let mut total = Cost::default();
        let mut conditional: Vec<(&'a str, Cost)> = Vec::new();
        for selection in &set.items {
            let (condition, cost) = match &selection.node {
                Selection::Field(field) => (None, self.field(&field.node, scope, path)),
                Selection::InlineFragment(inline) => {
                    let condition = inline
                        .node
                        .type_condition
                        .as_ref()
                        .map(|c| c.node.on.node.as_str());
                    let inner = match condition {
                        Some(name) => self.scope_of(name),
                        None => scope,
                    };
                    let cost = self.selection_set(&inline.node.selection_set.node, inner, path);
                    (condition, cost)
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    let condition = self
                        .doc
                        .fragments
                        .get(name)
                        .map(|f| f.node.type_condition.node.on.node.as_str());
                    (condition, self.fragment(name, path))
                }
            };
            match condition {
                Some(on) if possible.is_some() && Some(on) != scope.name => {
                    conditional.push((on, cost));
                }
                _ => total.add(cost),
            }
        }
        if let Some(types) = possible.filter(|_| !conditional.is_empty()) {
            let mut costliest = Cost::default();
            for (_, cost) in &conditional {
                total.expanded = total.expanded.saturating_add(cost.expanded);
            }
            for object in types {
                let mut on_object = Cost::default();
                for (condition, cost) in &conditional {
                    if self.applies(condition, object) {
                        on_object.add(*cost);
                    }
                }
                costliest.max_with(on_object);
            }
            costliest.expanded = 0;
            total.add(costliest);
        }
        total
    }

    fn field(
        &mut self,
        field: &'a async_graphql::parser::types::Field,
        scope: Scope<'a>,
        path: &mut Vec<PathSegment>,
    ) -> Cost {
        let name = field.name.node.as_str();
        path.push(PathSegment::Field(
            field.response_key().node.as_str().to_owned(),
        ));
        let introspection =
            scope.introspection || (scope.query_root && matches!(name, "__schema" | "__type"));
        let parent = self.meta_type(scope.name);
        let child: Option<&'a str> = match name {
            "__typename" => None,
            "__schema" if scope.query_root => Some("__Schema"),
            "__type" if scope.query_root => Some("__Type"),
            _ => match parent {
                Some(ty) if ty.is_composite() => match ty.field_by_name(name) {
                    Some(meta) => {
                        for (arg, _) in &field.arguments {
                            if !meta.args.contains_key(arg.node.as_str()) {
                                self.report(invalid_at(
                                    format!(
                                        "Unknown argument \"{}\" on field \"{}\" of type \"{}\".",
                                        arg.node,
                                        name,
                                        ty.name()
                                    ),
                                    arg.pos,
                                    path,
                                ));
                            }
                        }
                        Some(MetaTypeName::concrete_typename(&meta.ty))
                    }
                    None => {
                        self.report(invalid_at(
                            format!("Unknown field \"{name}\" on type \"{}\".", ty.name()),
                            field.name.pos,
                            path,
                        ));
                        None
                    }
                },
                _ => None,
            },
        };
        let mut found = Vec::new();
        for (arg, value) in &field.arguments {
            let mut at = arg.node.as_str().to_owned();
            literal_controls(&value.node, &mut at, &mut found);
            for (at, c) in found.drain(..) {
                self.report(invalid_at(
                    control_message(
                        &format!("The argument `{at}` of field `{}`", path_text(path)),
                        c,
                    ),
                    value.pos,
                    path,
                ));
            }
        }
        let inner = Scope {
            name: child,
            introspection,
            query_root: false,
        };
        let children = self.selection_set(&field.selection_set.node, inner, path);
        path.pop();
        let is_object = !field.selection_set.node.items.is_empty();
        let nodes = if is_object {
            1.0 + self.page_size(field.name.node.as_str(), &field.arguments) * children.nodes
        } else {
            0.0
        };
        let mut cost = Cost {
            nodes,
            aliases: children
                .aliases
                .saturating_add(u64::from(field.alias.is_some())),
            expanded: children.expanded.saturating_add(1),
            ..children
        };
        if introspection {
            cost.introspection_depth = children.introspection_depth + 1;
            cost.introspection = children.introspection.saturating_add(1);
        } else {
            let pages = self.complexity_pages(&field.arguments);
            cost.depth = children.depth + 1;
            cost.complexity = children.complexity.saturating_mul(pages).saturating_add(1);
        }
        cost
    }

    fn fragment(&mut self, name: &'a str, path: &mut Vec<PathSegment>) -> Cost {
        if let Some(cost) = self.fragments.get(name) {
            return *cost;
        }
        // A cycle is invalid GraphQL; validation reports it, so it costs nothing here.
        if self.visiting.contains(&name) {
            return Cost::default();
        }
        if self.visiting.len() >= MAX_FRAGMENT_CHAIN {
            self.chain_too_long = true;
            return Cost::default();
        }
        let Some((key, fragment)) = self.doc.fragments.get_key_value(name) else {
            return Cost::default();
        };
        let scope = self.scope_of(fragment.node.type_condition.node.on.node.as_str());
        self.visiting.push(key.as_str());
        let cost = self.selection_set(&fragment.node.selection_set.node, scope, path);
        self.visiting.pop();
        self.fragments.insert(key.as_str(), cost);
        cost
    }

    /// How many pages of [`COMPLEXITY_PAGE`] items a connection field asks for (`first` or
    /// `last`, as written or as a variable, at least one); one for every other field.
    fn complexity_pages(&self, arguments: &[(Positioned<Name>, Positioned<Value>)]) -> u64 {
        arguments
            .iter()
            .filter(|(name, _)| matches!(name.node.as_str(), "first" | "last"))
            .filter_map(|(_, value)| match &value.node {
                Value::Number(n) => n.as_f64(),
                Value::Variable(var) => match self.variables.get(var) {
                    Some(ConstValue::Number(n)) => n.as_f64(),
                    _ => None,
                },
                _ => None,
            })
            .filter(|n| n.is_finite())
            // Whole pages, bounded so that the product stays meaningful: far past any limit.
            .map(|n| (n.clamp(1.0, 1e12) / COMPLEXITY_PAGE as f64).ceil() as u64)
            .fold(1, u64::max)
    }

    /// The most items a connection field may return: what it is asked for, capped at its own
    /// largest page.
    fn page_size(&self, field: &str, arguments: &[(Positioned<Name>, Positioned<Value>)]) -> f64 {
        let max = match field {
            "measurements" => crate::ops::measurements::MAX_MEASUREMENT_PAGE,
            _ => crate::connection::MAX_PAGE,
        };
        arguments
            .iter()
            .filter(|(name, _)| matches!(name.node.as_str(), "first" | "last"))
            .filter_map(|(_, value)| match &value.node {
                Value::Number(n) => n.as_f64(),
                Value::Variable(var) => match self.variables.get(var) {
                    Some(ConstValue::Number(n)) => n.as_f64(),
                    _ => None,
                },
                _ => None,
            })
            .map(|n| n.clamp(1.0, max as f64))
            .fold(1.0, f64::max)
    }
}

fn over_limits(cost: &Cost, limits: &QueryLimits) -> Option<ServerError> {
    let refuse =
        |code, message: String| Some(KrakenError::with_message(code, message).into_server_error());
    if cost.depth > limits.max_depth {
        return refuse(
            ErrorCode::QueryTooComplex,
            format!(
                "The query is nested {} levels deep; at most {} are allowed.",
                cost.depth, limits.max_depth
            ),
        );
    }
    if cost.introspection_depth > limits.max_introspection_depth {
        return refuse(
            ErrorCode::QueryTooComplex,
            format!(
                "The introspection query is nested {} levels deep; at most {} are allowed.",
                cost.introspection_depth, limits.max_introspection_depth
            ),
        );
    }
    if cost.complexity > limits.max_complexity as u64 {
        return refuse(
            ErrorCode::QueryTooComplex,
            format!(
                "The query has a complexity of {}; at most {} is allowed per request.",
                cost.complexity, limits.max_complexity
            ),
        );
    }
    if cost.introspection > limits.max_introspection_complexity as u64 {
        return refuse(
            ErrorCode::QueryTooComplex,
            format!(
                "The introspection query selects {} fields; at most {} are allowed per request.",
                cost.introspection, limits.max_introspection_complexity
            ),
        );
    }
    if cost.aliases > limits.max_aliases as u64 {
        return refuse(
            ErrorCode::QueryTooComplex,
            format!(
                "The query uses {} aliases; at most {} are allowed per request.",
                cost.aliases, limits.max_aliases
            ),
        );
    }
    if cost.expanded > limits.max_expanded_fields as u64 {
        return refuse(
            ErrorCode::QueryTooComplex,
            format!(
                "The query selects {} fields once its fragments are expanded; at most {} are allowed.",
                cost.expanded, limits.max_expanded_fields
            ),
        );
    }
    if cost.nodes > limits.max_nodes as f64 {
        return refuse(
            ErrorCode::TooManyNodes,
            format!(
                "The query could return {:.0} nodes; at most {} are allowed per request.",
                cost.nodes, limits.max_nodes
            ),
        );
    }
    None
}

/// Checks a parsed document and its variables, without expanding fragments: unknown fields and
/// arguments (when a schema registry is given), control characters, then the limits. Problems of
/// the document itself are reported before its cost, all of them (up to a bound) at once.
pub fn check(
    doc: &ExecutableDocument,
    variables: &Variables,
    registry: Option<&Registry>,
    limits: &QueryLimits,
) -> Result<(), Vec<ServerError>> {
    let mut walk = Walk {
        doc,
        registry,
        variables,
        fragments: HashMap::new(),
        visiting: Vec::new(),
        problems: Vec::new(),
        chain_too_long: false,
    };
    let mut found = Vec::new();
    for (name, value) in variables.iter() {
        let mut at = format!("${name}");
        variable_controls(value, &mut at, &mut found);
    }
    for (_, operation) in doc.operations.iter() {
        for definition in &operation.node.variable_definitions {
            if let Some(default) = &definition.node.default_value {
                let mut at = format!("${}", definition.node.name.node);
                variable_controls(&default.node, &mut at, &mut found);
            }
        }
    }
    for (at, c) in found {
        walk.report(
            KrakenError::with_message(
                ErrorCode::InvalidInput,
                control_message(&format!("The variable `{at}`"), c),
            )
            .into_server_error(),
        );
    }
    let mut costs = Vec::new();
    for (_, operation) in doc.operations.iter() {
        let root = match (operation.node.ty, registry) {
            (_, None) => None,
            (OperationType::Query, Some(r)) => Some(r.query_type.as_str()),
            (OperationType::Mutation, Some(r)) => r.mutation_type.as_deref(),
            (OperationType::Subscription, Some(r)) => r.subscription_type.as_deref(),
        };
        let scope = match root {
            Some(name) => walk.scope_of(name),
            None => Scope {
                name: None,
                introspection: false,
                query_root: registry.is_none() && operation.node.ty == OperationType::Query,
            },
        };
        let mut path = Vec::new();
        costs.push(walk.selection_set(&operation.node.selection_set.node, scope, &mut path));
    }
    if !walk.problems.is_empty() {
        return Err(walk.problems);
    }
    if walk.chain_too_long {
        return Err(vec![too_complex(format!(
            "Fragments spread each other more than {MAX_FRAGMENT_CHAIN} deep."
        ))]);
    }
    match costs.iter().find_map(|cost| over_limits(cost, limits)) {
        Some(err) => Err(vec![err]),
        None => Ok(()),
    }
}

/// The schema extension that applies [`precheck`] before parsing and [`check`] before validation.
pub struct LimitsExtension(pub QueryLimits);

impl ExtensionFactory for LimitsExtension {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(LimitsChecker {
            limits: self.0,
            state: Mutex::new(Checked::default()),
        })
    }
}

#[derive(Default)]
struct Checked {
    /// The root fields the document selects, for metrics.
    root_fields: Option<String>,
    /// What [`check`] found, reported in place of validation.
    problems: Vec<ServerError>,
}

/// Created for each request: checks the limits, and once the document is valid, names the request
/// for metrics after the root fields it selects.
struct LimitsChecker {
    limits: QueryLimits,
    state: Mutex<Checked>,
}

fn root_fields(doc: &ExecutableDocument) -> String {
    let mut names: Vec<&str> = Vec::new();
    for (_, operation) in doc.operations.iter() {
        for selection in &operation.node.selection_set.node.items {
            if let Selection::Field(field) = &selection.node {
                names.push(field.node.name.node.as_str());
            }
        }
    }
    names.sort_unstable();
    names.dedup();
    if names.is_empty() {
        "fragments".to_owned()
    } else {
        names.join(",")
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for LimitsChecker {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        _next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        precheck(query, &self.limits)?;
        // The document is parsed here rather than by `next`: async-graphql's own parse step also
        // measures recursion by following every fragment spread, which takes exponential time on a
        // fragment bomb. The text precheck and `check` bound the same things without expanding.
        let doc = async_graphql::parser::parse_query(query).map_err(ServerError::from)?;
        let checked = check(
            &doc,
            variables,
            Some(&ctx.schema_env.registry),
            &self.limits,
        );
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.root_fields = Some(root_fields(&doc));
        if let Err(problems) = checked {
            state.problems = problems;
        }
        Ok(doc)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let (names, problems) = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            (
                state.root_fields.take(),
                std::mem::take(&mut state.problems),
            )
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        let result = next.run(ctx).await?;
        if let (Some(names), Some(label)) = (
            names,
            ctx.data_opt::<crate::http::observe::OperationLabel>(),
        ) {
            label.set(names);
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    fn cost_of(query: &str, variables: serde_json::Value) -> Result<(), ServerError> {
        let doc = parse_query(query).unwrap();
        check(
            &doc,
            &Variables::from_json(variables),
            None,
            &QueryLimits::default(),
        )
        .map_err(|mut errors| errors.remove(0))
    }

    fn code(err: &ServerError) -> Option<&str> {
        crate::errors::code_of(err)
    }

    #[test]
    fn text_shape_ignores_strings_and_comments() {
        assert_eq!(text_shape("{ a { b } }", 100).nesting, 2);
        assert_eq!(text_shape("{ a(x: \"{{{{\") # {{{{\n }", 100).nesting, 2);
        assert_eq!(
            text_shape("{ a(x: \"\"\" {{ \\\"\"\" {{ \"\"\") }", 100).nesting,
            2
        );
        assert_eq!(
            text_shape(&"{".repeat(100_000), usize::MAX).nesting,
            100_000
        );
        // { a ( x : 1.5e+3 , y : "s" ) ...F }
        assert_eq!(
            text_shape("{ a(x: 1.5e+3, y: \"s\") ...F }", 100).tokens,
            13
        );
        assert_eq!(text_shape(&"a ".repeat(1000), 10).tokens, 11);
    }

    #[test]
    fn the_text_is_refused_before_parsing() {
        let limits = QueryLimits::default();
        let nested = precheck(&"{a".repeat(1000), &limits).unwrap_err();
        assert_eq!(code(&nested), Some("KT-CT-1188"));
        let long = format!(
            "{{ __typename }} #{}",
            "x".repeat(limits.max_document_bytes)
        );
        assert_eq!(
            code(&precheck(&long, &limits).unwrap_err()),
            Some("KT-CT-1188")
        );
        let tokens = format!("{{ a(x: [{}]) }}", "1 ".repeat(limits.max_tokens));
        assert_eq!(
            code(&precheck(&tokens, &limits).unwrap_err()),
            Some("KT-CT-1188")
        );
        assert!(precheck("{ __typename }", &limits).is_ok());
    }

    #[test]
    fn ordinary_queries_pass() {
        let query = "query { devices(accountNumber: \"A-1\") { id status { current currentState } ... on SmartFlexVehicle { make model } } }";
        assert!(cost_of(query, serde_json::json!({})).is_ok());
    }

    #[test]
    fn deep_documents_are_refused() {
        let query = format!("{{ {} x {} }}", "a {".repeat(20), "}".repeat(20));
        let err = cost_of(&query, serde_json::json!({})).unwrap_err();
        assert_eq!(code(&err), Some("KT-CT-1188"));
    }

    #[test]
    fn wide_documents_are_refused() {
        let fields: String = (0..250).map(|i| format!("f{i} ")).collect();
        let query = format!("{{ {fields} }}");
        let err = cost_of(&query, serde_json::json!({})).unwrap_err();
        assert_eq!(code(&err), Some("KT-CT-1188"));
    }

    #[test]
    fn typename_counts() {
        let query = format!("{{ {} }}", "__typename ".repeat(201));
        let err = cost_of(&query, serde_json::json!({})).unwrap_err();
        assert_eq!(code(&err), Some("KT-CT-1188"));
    }

    #[test]
    fn aliases_are_counted() {
        let fields: String = (0..60).map(|i| format!("a{i}: __typename ")).collect();
        let err = cost_of(&format!("{{ {fields} }}"), serde_json::json!({})).unwrap_err();
        assert!(err.message.contains("aliases"), "{}", err.message);
        assert_eq!(code(&err), Some("KT-CT-1188"));
    }

    fn complexity_of(query: &str, variables: serde_json::Value) -> String {
        let limits = QueryLimits {
            max_complexity: 1,
            ..QueryLimits::default()
        };
        let doc = parse_query(query).unwrap();
        let err = check(&doc, &Variables::from_json(variables), None, &limits)
            .map_err(|mut errors| errors.remove(0))
            .unwrap_err();
        err.message
    }

    #[test]
    fn pages_multiply_complexity() {
        let query = "query($n: Int) { a(first: $n) { edges { node { id name } } } }";
        // a + (edges node id name) once per started page of a hundred.
        for (n, expected) in [(1, 5), (100, 5), (101, 9), (1000, 41)] {
            let message = complexity_of(query, serde_json::json!({ "n": n }));
            assert!(
                message.contains(&format!("complexity of {expected};")),
                "{n}: {message}"
            );
        }
        let nested =
            "{ a(first: 1000) { edges { node { b(first: 1000) { edges { node { id } } } } } } }";
        let message = complexity_of(nested, serde_json::json!({}));
        // b: 1 + 3 * 10 = 31; a: 1 + (1 + 1 + 31) * 10 = 331.
        assert!(message.contains("complexity of 331;"), "{message}");
        let huge = "{ a(first: 1e300) { edges { node { id } } } }";
        let err = cost_of(huge, serde_json::json!({})).unwrap_err();
        assert_eq!(code(&err), Some("KT-CT-1188"));
    }

    #[test]
    fn expanded_fields_are_bounded_whatever_the_score() {
        let limits = QueryLimits {
            max_expanded_fields: 10,
            ..QueryLimits::default()
        };
        let doc = parse_query("{ a { b c d e f } g { h i j k l } }").unwrap();
        let err = check(&doc, &Variables::default(), None, &limits)
            .map_err(|mut errors| errors.remove(0))
            .unwrap_err();
        assert_eq!(code(&err), Some("KT-CT-1188"));
        assert!(err.message.contains("expanded"), "{}", err.message);
    }

    #[test]
    fn pages_multiply_nodes() {
        let query = "query($n: Int) { a(first: 100) { edges { node { b(first: $n) { edges { node { id } } } } } } }";
        assert!(cost_of(query, serde_json::json!({"n": 1})).is_ok());
        let err = cost_of(query, serde_json::json!({"n": 100})).unwrap_err();
        assert_eq!(code(&err), Some("KT-CT-1189"));
    }

    fn bomb(levels: usize, leaf: &str) -> String {
        let mut query = format!("{{ ...F{levels} }}\nfragment F0 on Query {{ {leaf} }}\n");
        for i in 1..=levels {
            query.push_str(&format!(
                "fragment F{i} on Query {{ ...F{p} ...F{p} }}\n",
                p = i - 1
            ));
        }
        query
    }

    #[test]
    fn fragment_bombs_are_measured_without_expanding_them() {
        for leaf in ["__typename", "x"] {
            let err = cost_of(&bomb(60, leaf), serde_json::json!({})).unwrap_err();
            assert_eq!(code(&err), Some("KT-CT-1188"), "{leaf}");
        }
        let mut nested = String::from("{ ...F0 }\n");
        for i in 0..40 {
            nested.push_str(&format!(
                "fragment F{i} on Query {{ a {{ ...F{n} }} b {{ ...F{n} }} }}\n",
                n = i + 1
            ));
        }
        nested.push_str("fragment F40 on Query { x }\n");
        assert!(cost_of(&nested, serde_json::json!({})).is_err());
    }

    #[test]
    fn long_fragment_chains_are_refused() {
        let mut query = String::from("{ ...F0 }\n");
        for i in 0..200 {
            query.push_str(&format!("fragment F{i} on Query {{ ...F{} }}\n", i + 1));
        }
        query.push_str("fragment F200 on Query { __typename }\n");
        let err = cost_of(&query, serde_json::json!({})).unwrap_err();
        assert_eq!(code(&err), Some("KT-CT-1188"));
    }

    #[test]
    fn introspection_has_its_own_bounded_budget() {
        let type_ref = format!("{} name {}", "ofType { ".repeat(9), "} ".repeat(9));
        let query = format!(
            "{{ __schema {{ types {{ name fields {{ name args {{ type {{ {type_ref} }} }} type {{ {type_ref} }} }} }} }} }}"
        );
        assert!(cost_of(&query, serde_json::json!({})).is_ok());
        let deep = format!(
            "{{ __type(name: \"Query\") {{ {} name {} }} }}",
            "fields { type { ".repeat(22),
            "} } ".repeat(22)
        );
        let err = cost_of(&deep, serde_json::json!({})).unwrap_err();
        assert_eq!(code(&err), Some("KT-CT-1188"));
    }

    #[test]
    fn control_characters_are_refused_with_their_path() {
        let err = cost_of(
            "query($i: In) { a(value: \"x\\u0000y\") { b } }",
            serde_json::json!({}),
        )
        .unwrap_err();
        assert_eq!(code(&err), Some("KT-CT-1605"));
        assert!(err.message.contains("`value`"), "{}", err.message);
        assert_eq!(err.path, vec![PathSegment::Field("a".into())]);
        let err = cost_of(
            "query($i: In) { a(input: $i) { b } }",
            serde_json::json!({"i": {"list": ["ok", "bad\u{0}"]}}),
        )
        .unwrap_err();
        assert!(err.message.contains("`$i.list[1]`"), "{}", err.message);
        // Tab, line feed and carriage return are text; DEL and C1 controls are not.
        assert_eq!(control_character("a\tb\r\nc"), None);
        assert_eq!(control_character("a\u{7f}"), Some('\u{7f}'));
        assert_eq!(control_character("a\u{85}"), Some('\u{85}'));
        assert_eq!(control_character("a\u{1b}[0m"), Some('\u{1b}'));
        assert_eq!(control_character("Zoë ☀"), None);
    }
}
