//! The XML face of Open311: one JSON tree (what the `.json` endpoints answer) written as
//! the GeoReport v2 specification's XML, through quick-xml's event writer (escaping and
//! well-formedness are the crate's, not string concatenation's).
//!
//! The two formats differ in one way only: a JSON array is an XML element holding one
//! child per item, named by the singular of the array (`services` → `service`,
//! `endpoints` → `endpoint`, `values` → `value`). `null` is an empty element.

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use serde_json::Value;

/// Why a document could not be written (only an I/O error of the in-memory buffer).
#[derive(Debug, thiserror::Error)]
#[error("xml writer: {0}")]
pub(crate) struct XmlError(#[from] std::io::Error);

/// The element name of one item of the array called `array` (the specification's).
fn item_name(array: &str) -> &str {
    match array {
        "services" => "service",
        "service_requests" => "request",
        "endpoints" => "endpoint",
        "formats" => "format",
        "attributes" => "attribute",
        "values" => "value",
        "errors" => "error",
        "service_request_updates" => "request_update",
        other => other.strip_suffix('s').unwrap_or(other),
    }
}

/// `value` as an XML document whose root element is `root`, with `attributes` on it (a
/// paged list's `total`, `page` and `page_size`).
pub(crate) fn document_with(
    root: &str,
    attributes: &[(&str, String)],
    value: &Value,
) -> Result<String, XmlError> {
    let mut writer = Writer::new(Vec::new());
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))?;
    if attributes.is_empty() {
        element(&mut writer, root, value)?;
    } else {
        let mut start = BytesStart::new(root);
        for (name, value) in attributes {
            start.push_attribute((*name, value.as_str()));
        }
        writer.write_event(Event::Start(start))?;
        match value {
            Value::Array(items) => {
                let item = item_name(root);
                for child in items {
                    element(&mut writer, item, child)?;
                }
            }
            Value::Object(fields) => {
                for (key, child) in fields {
                    element(&mut writer, key, child)?;
                }
            }
            other => element(&mut writer, "value", other)?,
        }
        writer.write_event(Event::End(BytesEnd::new(root)))?;
    }
    // The writer only ever received `&str` text, so the bytes are UTF-8.
    Ok(String::from_utf8_lossy(&writer.into_inner()).into_owned())
}

fn element(writer: &mut Writer<Vec<u8>>, name: &str, value: &Value) -> Result<(), XmlError> {
    match value {
        Value::Null => writer.write_event(Event::Empty(BytesStart::new(name)))?,
        Value::Object(fields) => {
            writer.write_event(Event::Start(BytesStart::new(name)))?;
            for (key, child) in fields {
                element(writer, key, child)?;
            }
            writer.write_event(Event::End(BytesEnd::new(name)))?;
        }
        Value::Array(items) => {
            writer.write_event(Event::Start(BytesStart::new(name)))?;
            let item = item_name(name);
            for child in items {
                element(writer, item, child)?;
            }
            writer.write_event(Event::End(BytesEnd::new(name)))?;
        }
        Value::String(text) => text_element(writer, name, text)?,
        Value::Bool(b) => text_element(writer, name, if *b { "true" } else { "false" })?,
        Value::Number(n) => text_element(writer, name, &n.to_string())?,
    }
    Ok(())
}

fn text_element(writer: &mut Writer<Vec<u8>>, name: &str, text: &str) -> Result<(), XmlError> {
    writer.write_event(Event::Start(BytesStart::new(name)))?;
    writer.write_event(Event::Text(BytesText::new(text)))?;
    writer.write_event(Event::End(BytesEnd::new(name)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arrays_become_singular_children_and_text_is_escaped() {
        let xml = document_with(
            "services",
            &[],
            &json!([{"service_code": "roads", "description": "a < b & \"c\"", "metadata": true, "x": null}]),
        )
        .expect("xml");
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><services><service><service_code>roads</service_code>\
             <description>a &lt; b &amp; &quot;c&quot;</description><metadata>true</metadata><x/></service></services>"
        );
    }

    #[test]
    fn a_paged_list_carries_its_total_on_the_root() {
        let xml = document_with(
            "service_request_updates",
            &[("total", "3".to_owned()), ("page", "2".to_owned())],
            &json!([{"update_id": "1-0"}]),
        )
        .expect("xml");
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><service_request_updates total=\"3\" page=\"2\">\
             <request_update><update_id>1-0</update_id></request_update></service_request_updates>"
        );
    }
}
