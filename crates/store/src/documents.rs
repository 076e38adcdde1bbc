//! Structured values the store keeps as JSON documents (preferences, test-charge progress, readings,
//! wizards, commands), each with the version of its shape.
//!
//! A document is written as `{"version": N, "data": ...}`. Reading accepts the current version and
//! a bare value written before documents carried a version (read as version 1), so old rows stay
//! readable; a document of a version this build does not know, or that does not decode, is
//! [`StoreError::Corrupt`] rather than a guess.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::StoreError;

/// A type kept as a versioned JSON document.
pub trait Document: Serialize + DeserializeOwned {
    /// What the document is, for error messages.
    const NAME: &'static str;
    /// The version of the shape this build writes and reads.
    const VERSION: u64 = 1;
}

/// The document as stored.
pub(crate) fn encode<T: Document>(value: &T) -> Result<Value, StoreError> {
    let data = serde_json::to_value(value)
        .map_err(|err| StoreError::Corrupt(format!("{} cannot be written: {err}", T::NAME)))?;
    Ok(serde_json::json!({ "version": T::VERSION, "data": data }))
}

/// The stored document as a value of `T`.
pub(crate) fn decode<T: Document>(stored: Value) -> Result<T, StoreError> {
    let corrupt = |why: String| StoreError::Corrupt(format!("stored {}: {why}", T::NAME));
    let (version, data) = match stored {
        Value::Object(mut map) if map.len() == 2 && map.contains_key("data") => {
            let version = map.get("version").and_then(Value::as_u64);
            match (version, map.remove("data")) {
                (Some(version), Some(data)) => (version, data),
                _ => return Err(corrupt("the envelope has no version".to_owned())),
            }
        }
        bare => (1, bare),
    };
    if version != T::VERSION {
        return Err(corrupt(format!("version {version} is not known here")));
    }
    serde_json::from_value(data).map_err(|err| corrupt(err.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Note {
        text: String,
    }

    impl Document for Note {
        const NAME: &'static str = "note";
    }

    #[test]
    fn a_document_round_trips_with_its_version() {
        let note = Note { text: "hi".into() };
        let stored = encode(&note).unwrap();
        assert_eq!(stored["version"], 1);
        assert_eq!(decode::<Note>(stored).unwrap(), note);
    }

    #[test]
    fn a_bare_value_from_before_versions_is_version_one() {
        let old = serde_json::json!({ "text": "old" });
        assert_eq!(decode::<Note>(old).unwrap().text, "old");
    }

    #[test]
    fn an_unknown_version_or_shape_is_corrupt_not_guessed() {
        let future = serde_json::json!({ "version": 7, "data": { "text": "x" } });
        assert!(matches!(
            decode::<Note>(future),
            Err(StoreError::Corrupt(_))
        ));
        let wrong = serde_json::json!({ "words": 3 });
        assert!(matches!(decode::<Note>(wrong), Err(StoreError::Corrupt(_))));
    }
}
