//! HTML output. Every value that reaches a page (backend data, error texts) goes through [`escape_into`].

use axum::http::StatusCode;
use serde_json::Value;
use std::fmt::Write;

/// Upstream texts shown to users are cut here: enough to explain, not a whole error page.
const CLIP_CHARS: usize = 300;

use common::html::escape_into;

/// One line of at most [`CLIP_CHARS`] characters from an upstream body.
pub fn clip(text: &str) -> String {
    let flat: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(CLIP_CHARS + 1)
        .collect();
    if flat.chars().count() > CLIP_CHARS {
        let cut: String = flat.chars().take(CLIP_CHARS).collect();
        format!("{cut}…")
    } else if flat.is_empty() {
        "(empty answer)".to_owned()
    } else {
        flat
    }
}

fn page_start(out: &mut String, title: &str) {
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
    escape_into(out, title);
    out.push_str(
        "</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}\
         th,td{border:1px solid #999;padding:.3em .6em;text-align:left}th{background:#eee}</style>\
         </head><body>\n",
    );
}

pub fn error_page(status: StatusCode, message: &str) -> String {
    let mut out = String::with_capacity(512 + message.len());
    let title = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    );
    page_start(&mut out, &title);
    out.push_str("<h1>");
    escape_into(&mut out, &title);
    out.push_str("</h1>\n<p class=\"error\">");
    escape_into(&mut out, message);
    out.push_str("</p>\n</body></html>\n");
    out
}

/// The rows of an OData answer: v2 `{"d":{"results":[..]}}`, v2 single `{"d":{..}}`, v4 `{"value":[..]}`.
fn rows(odata: &Value) -> Option<Vec<&serde_json::Map<String, Value>>> {
    let list = match odata.get("d") {
        Some(d) => match d.get("results") {
            Some(Value::Array(items)) => items.iter().collect::<Vec<_>>(),
            _ if d.is_object() => vec![d],
            _ => return None,
        },
        None => match odata.get("value") {
            Some(Value::Array(items)) => items.iter().collect(),
            _ => return None,
        },
    };
    Some(list.into_iter().filter_map(Value::as_object).collect())
}

/// Columns without OData bookkeeping (`__metadata`, deferred navigation): identifiers (`...ID`)
/// first, then `Name`, then the rest in the order the JSON gives them.
fn columns<'a>(rows: &[&'a serde_json::Map<String, Value>]) -> Vec<&'a str> {
    let mut cols: Vec<&str> = Vec::new();
    for row in rows {
        for (key, value) in row.iter() {
            let deferred = value.get("__deferred").is_some();
            if !key.starts_with("__") && !deferred && !cols.contains(&key.as_str()) {
                cols.push(key);
            }
        }
    }
    let rank = |c: &str| {
        if c.ends_with("ID") || c.ends_with("Id") {
            0
        } else if c == "Name" {
            1
        } else {
            2
        }
    };
    // Stable: equal ranks keep their order.
    cols.sort_by_key(|c| rank(c));
    cols
}

fn cell(out: &mut String, value: Option<&Value>) {
    match value {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => escape_into(out, s),
        Some(Value::Bool(b)) => {
            let _ = write!(out, "{b}");
        }
        Some(Value::Number(n)) => {
            let _ = write!(out, "{n}");
        }
        Some(other) => escape_into(out, &other.to_string()),
    }
}

/// The products page: the OData result as a table. `None` when the body is not an OData result.
pub fn products_page(destination: &str, odata: &Value) -> Option<String> {
    let rows = rows(odata)?;
    let cols = columns(&rows);
    let mut out = String::with_capacity(1024 + rows.len() * cols.len() * 24);
    page_start(&mut out, "Products");
    out.push_str("<h1>Products</h1>\n<p>From the Backend API through destination <code>");
    escape_into(&mut out, destination);
    let _ = writeln!(out, "</code>: {} entries.</p>", rows.len());
    out.push_str("<table>\n<thead><tr>");
    for col in &cols {
        out.push_str("<th>");
        escape_into(&mut out, col);
        out.push_str("</th>");
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &rows {
        out.push_str("<tr>");
        for col in &cols {
            out.push_str("<td>");
            cell(&mut out, row.get(*col));
            out.push_str("</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</body></html>\n");
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_pages_escape_the_message() {
        let page = error_page(StatusCode::BAD_GATEWAY, r#"<script>alert("x&'y")</script>"#);
        assert!(page.contains("&lt;script&gt;alert(&quot;x&amp;&#39;y&quot;)&lt;/script&gt;"));
        assert!(!page.contains("<script>"));
    }

    #[test]
    fn table_from_odata_v2_collection_escapes_values() {
        let body = json!({"d": {"results": [
            {"__metadata": {"uri": "x"}, "ID": 1, "Name": "<b>Pen</b>", "Price": 1.5, "Cat": {"__deferred": {}}},
            {"ID": 2, "Name": "Ink & Paper", "Extra": null}
        ]}});
        let page = products_page("BackendServiceAPI", &body).unwrap();
        assert!(page.contains("<th>ID</th><th>Name</th><th>Price</th><th>Extra</th>"));
        let order = products_page(
            "d",
            &json!({"d": {"results": [{"A": 1, "Name": "n", "ProductID": 2}]}}),
        )
        .unwrap();
        assert!(order.contains("<th>ProductID</th><th>Name</th><th>A</th>"));
        assert!(page.contains("<td>&lt;b&gt;Pen&lt;/b&gt;</td>"));
        assert!(page.contains("<td>Ink &amp; Paper</td>"));
        assert!(!page.contains("__metadata"));
        assert!(!page.contains("<b>"));
        assert!(page.contains("2 entries"));
    }

    #[test]
    fn single_entity_and_v4_and_garbage() {
        assert!(
            products_page("d", &json!({"d": {"ID": 7}}))
                .unwrap()
                .contains("<td>7</td>")
        );
        assert!(
            products_page("d", &json!({"value": [{"ID": 8}]}))
                .unwrap()
                .contains("<td>8</td>")
        );
        assert!(products_page("d", &json!({"foo": 1})).is_none());
        assert!(products_page("d", &json!([1, 2])).is_none());
    }

    #[test]
    fn error_page_escapes_the_message() {
        let page = error_page(StatusCode::BAD_GATEWAY, "bad <thing>");
        assert!(page.contains("502 Bad Gateway"));
        assert!(page.contains("bad &lt;thing&gt;"));
    }

    #[test]
    fn clip_flattens_and_cuts() {
        assert_eq!(clip("a\n  b"), "a b");
        assert_eq!(clip(""), "(empty answer)");
        let long = "x".repeat(1000);
        assert_eq!(clip(&long).chars().count(), CLIP_CHARS + 1);
    }
}
