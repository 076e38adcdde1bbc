//! The running server's introspection against the seed list of Kraken enums: every one of them, with
//! exactly its values, each described.

use crate::harness;

use std::collections::{BTreeMap, BTreeSet};

use harness::TestApp;
use serde_json::{Value, json};

const SEED: &str = include_str!("../../../../tests/data/seed-enums.json");

#[tokio::test]
async fn every_seed_enum_is_served_with_exactly_its_values() {
    let seed: Value = serde_json::from_str(SEED).unwrap();
    let expected: BTreeMap<String, BTreeSet<String>> = seed["enums"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let values = e["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect();
            (e["name"].as_str().unwrap().to_owned(), values)
        })
        .collect();
    assert_eq!(expected.len(), 92);
    assert_eq!(expected.values().map(BTreeSet::len).sum::<usize>(), 573);

    let app = TestApp::spawn().await;
    // As a client library fetching the schema would: no Authorization header.
    let body = app
        .graphql(
            "query { __schema { types { kind name description enumValues(includeDeprecated: true) { name description } } } }",
            json!({}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let served: BTreeMap<String, &Value> = body["data"]["__schema"]["types"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"] == "ENUM")
        .map(|t| (t["name"].as_str().unwrap().to_owned(), t))
        .collect();

    let mut values_seen = 0;
    for (name, values) in &expected {
        let served_type = served
            .get(name)
            .unwrap_or_else(|| panic!("enum {name} is missing"));
        let description = served_type["description"].as_str().unwrap_or_default();
        assert!(!description.trim().is_empty(), "{name} has no description");
        let served_values: BTreeSet<String> = served_type["enumValues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                let value = v["name"].as_str().unwrap();
                assert!(
                    v["description"]
                        .as_str()
                        .is_some_and(|d| !d.trim().is_empty()),
                    "{name}.{value} undescribed"
                );
                value.to_owned()
            })
            .collect();
        assert_eq!(&served_values, values, "values of {name}");
        values_seen += served_values.len();
    }
    assert_eq!(values_seen, 573);
}

#[tokio::test]
async fn enumerations_lists_every_value_in_schema_order() {
    let app = TestApp::spawn().await;
    let body = app.graphql("{ enumerations { accountStatus smartFlexDeviceState billingDocumentsOrderBy paymentFrequencyOptions } }", Value::Null).await;
    assert!(body["errors"].is_null(), "{body}");
    let e = &body["data"]["enumerations"];
    assert_eq!(
        e["accountStatus"],
        json!([
            "ACTIVE",
            "DORMANT",
            "ENROLMENT_ERROR",
            "ENROLMENT_REJECTED",
            "INCOMPLETE",
            "PENDING",
            "VOID",
            "WITHDRAWN"
        ])
    );
    assert_eq!(e["smartFlexDeviceState"].as_array().unwrap().len(), 14);
    assert_eq!(
        e["billingDocumentsOrderBy"],
        json!(["FINALIZED_AT_ASC", "FINALIZED_AT_DESC"])
    );
    assert_eq!(
        e["paymentFrequencyOptions"],
        json!(["Monthly", "Planned", "Weekly"])
    );
}
