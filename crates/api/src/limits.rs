//! Guards against expensive documents, checked once per request before any resolver runs:
//! nesting depth, complexity (one point per selected field) and the number of nodes a query could
//! return (object fields, multiplied by the page sizes above them). Introspection (`__schema`,
//! `__type`) is bounded by the schema itself and is not counted.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::ValidationResult;
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Name, Positioned, ServerError, ServerResult, Variables};
use async_graphql_value::{ConstValue, Value};

use crate::errors::{ErrorCode, KrakenError};

/// The configured limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueryLimits {
    /// Deepest nesting of fields.
    pub max_depth: usize,
    /// Most fields a document may select (KT-CT-1188).
    pub max_complexity: usize,
    /// Most nodes a document may ask for (KT-CT-1189).
    pub max_nodes: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        Self {
            max_depth: 15,
            max_complexity: 200,
            max_nodes: 10_000,
        }
    }
}

/// How far brackets may nest in the raw text. Checked before parsing, so that no document can exhaust
/// the parser's stack, however it is written.
pub const MAX_TEXT_NESTING: usize = 64;

/// The deepest nesting of `{`, `(` and `[` in a GraphQL document, outside strings and comments.
pub fn text_nesting(query: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut chars = query.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' || c == '\r' {
                        break;
                    }
                }
            }
            '"' => {
                // Strings, including block strings, may contain brackets: skip to the closing quote.
                let mut escaped = false;
                for c in chars.by_ref() {
                    match (escaped, c) {
                        (false, '\\') => escaped = true,
                        (false, '"') => break,
                        _ => escaped = false,
                    }
                }
            }
            '{' | '(' | '[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            '}' | ')' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

#[derive(Debug, Clone, Copy, Default)]
struct Cost {
    depth: usize,
    complexity: u64,
    /// Nodes for a multiplier of one; scale by the multiplier of the place it is used.
    nodes: f64,
}

struct Measure<'a> {
    doc: &'a ExecutableDocument,
    variables: &'a Variables,
    fragments: HashMap<Name, Cost>,
    visiting: Vec<Name>,
}

impl Measure<'_> {
    fn selection_set(&mut self, set: &SelectionSet) -> Cost {
        let mut total = Cost::default();
        for selection in &set.items {
            let cost = match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let name = field.name.node.as_str();
                    if name == "__typename" || name.starts_with("__") {
                        continue;
                    }
                    let children = self.selection_set(&field.selection_set.node);
                    let is_object = !field.selection_set.node.items.is_empty();
                    let page = self.page_size(&field.arguments);
                    Cost {
                        depth: children.depth + 1,
                        complexity: children.complexity + 1,
                        nodes: if is_object {
                            1.0 + page * children.nodes
                        } else {
                            0.0
                        },
                    }
                }
                Selection::InlineFragment(inline) => {
                    self.selection_set(&inline.node.selection_set.node)
                }
                Selection::FragmentSpread(spread) => self.fragment(&spread.node.fragment_name.node),
            };
            total.depth = total.depth.max(cost.depth);
            total.complexity = total.complexity.saturating_add(cost.complexity);
            total.nodes += cost.nodes;
        }
        total
    }

    fn fragment(&mut self, name: &Name) -> Cost {
        if let Some(cost) = self.fragments.get(name) {
            return *cost;
        }
        // A cycle is invalid GraphQL; validation reports it, so it costs nothing here.
        if self.visiting.contains(name) {
            return Cost::default();
        }
        let Some(fragment) = self.doc.fragments.get(name) else {
            return Cost::default();
        };
        self.visiting.push(name.clone());
        let cost = self.selection_set(&fragment.node.selection_set.node);
        self.visiting.pop();
        self.fragments.insert(name.clone(), cost);
        cost
    }

    fn page_size(&self, arguments: &[(Positioned<Name>, Positioned<Value>)]) -> f64 {
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
            .map(|n| n.clamp(1.0, crate::connection::MAX_PAGE as f64))
            .fold(1.0, f64::max)
    }
}

/// Checks every operation of a parsed document against the limits.
pub fn check(
    doc: &ExecutableDocument,
    variables: &Variables,
    limits: &QueryLimits,
) -> Result<(), KrakenError> {
    let mut measure = Measure {
        doc,
        variables,
        fragments: HashMap::new(),
        visiting: Vec::new(),
    };
    for (_, operation) in doc.operations.iter() {
        let cost = measure.selection_set(&operation.node.selection_set.node);
        if cost.depth > limits.max_depth {
            return Err(KrakenError::with_message(
                ErrorCode::QueryTooComplex,
                format!(
                    "The query is nested {} levels deep; at most {} are allowed.",
                    cost.depth, limits.max_depth
                ),
            ));
        }
        if cost.complexity > limits.max_complexity as u64 {
            return Err(KrakenError::with_message(
                ErrorCode::QueryTooComplex,
                format!(
                    "The query has a complexity of {}; at most {} is allowed per request.",
                    cost.complexity, limits.max_complexity
                ),
            ));
        }
        if cost.nodes > limits.max_nodes as f64 {
            return Err(KrakenError::with_message(
                ErrorCode::TooManyNodes,
                format!(
                    "The query could return {:.0} nodes; at most {} are allowed per request.",
                    cost.nodes, limits.max_nodes
                ),
            ));
        }
    }
    Ok(())
}

/// The schema extension that applies [`check`] right after parsing.
pub struct LimitsExtension(pub QueryLimits);

impl ExtensionFactory for LimitsExtension {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(LimitsChecker {
            limits: self.0,
            root_fields: std::sync::Mutex::new(None),
        })
    }
}

/// Created for each request: checks the limits, and once the document is valid, names the request
/// for metrics after the root fields it selects.
struct LimitsChecker {
    limits: QueryLimits,
    root_fields: std::sync::Mutex<Option<String>>,
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
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        check(&doc, variables, &self.limits).map_err(KrakenError::into_server_error)?;
        *self
            .root_fields
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(root_fields(&doc));
        Ok(doc)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        let names = self
            .root_fields
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let (Some(names), Some(label)) = (
            names,
            ctx.data_opt::<crate::http::observe::OperationLabel>(),
        ) {
            label.set(names);
        }
        Ok(result)
    }
}

/// Rejects a document whose brackets nest too deeply, before it is parsed.
pub fn precheck(query: &str) -> Result<(), ServerError> {
    let nesting = text_nesting(query);
    if nesting > MAX_TEXT_NESTING {
        return Err(KrakenError::with_message(
            ErrorCode::QueryTooComplex,
            format!(
                "The document nests {nesting} levels deep; at most {MAX_TEXT_NESTING} are allowed."
            ),
        )
        .into_server_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    fn cost_of(query: &str, variables: serde_json::Value) -> Result<(), KrakenError> {
        let doc = parse_query(query).unwrap();
        check(
            &doc,
            &Variables::from_json(variables),
            &QueryLimits::default(),
        )
    }

    #[test]
    fn text_nesting_ignores_strings_and_comments() {
        assert_eq!(text_nesting("{ a { b } }"), 2);
        assert_eq!(text_nesting("{ a(x: \"{{{{\") # {{{{\n }"), 2);
        assert_eq!(text_nesting(&"{".repeat(100_000)), 100_000);
        assert!(precheck(&"{a".repeat(1000)).is_err());
    }

    #[test]
    fn ordinary_queries_pass() {
        let query = "query { devices(accountNumber: \"A-1\") { id status { current currentState } ... on SmartFlexVehicle { make model } } }";
        assert!(cost_of(query, serde_json::json!({})).is_ok());
    }

    #[test]
    fn deep_documents_are_refused() {
        let query = format!("{{ {} x {} }}", "a {".repeat(20), "}".repeat(20));
        assert_eq!(
            cost_of(&query, serde_json::json!({})).unwrap_err().code,
            ErrorCode::QueryTooComplex
        );
    }

    #[test]
    fn wide_documents_are_refused() {
        let fields: String = (0..250).map(|i| format!("f{i} ")).collect();
        let query = format!("{{ {fields} }}");
        assert_eq!(
            cost_of(&query, serde_json::json!({})).unwrap_err().code,
            ErrorCode::QueryTooComplex
        );
    }

    #[test]
    fn pages_multiply_nodes() {
        let query = "query($n: Int) { a(first: 100) { edges { node { b(first: $n) { edges { node { id } } } } } } }";
        assert!(cost_of(query, serde_json::json!({"n": 1})).is_ok());
        assert_eq!(
            cost_of(query, serde_json::json!({"n": 100}))
                .unwrap_err()
                .code,
            ErrorCode::TooManyNodes
        );
    }

    #[test]
    fn fragment_bombs_are_measured_without_expanding_them() {
        let mut query = String::from("{ ...F0 }\n");
        for i in 0..40 {
            query.push_str(&format!(
                "fragment F{i} on Query {{ a {{ ...F{n} }} b {{ ...F{n} }} }}\n",
                n = i + 1
            ));
        }
        query.push_str("fragment F40 on Query { x }\n");
        assert!(cost_of(&query, serde_json::json!({})).is_err());
    }

    #[test]
    fn introspection_is_not_counted() {
        let type_ref = format!("{} name {}", "ofType { ".repeat(14), "} ".repeat(14));
        let query = format!(
            "{{ __schema {{ types {{ name fields {{ name type {{ {type_ref} }} }} }} }} }}"
        );
        assert!(cost_of(&query, serde_json::json!({})).is_ok());
    }
}
