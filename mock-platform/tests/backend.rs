//! The Backend API (OData v2 ProductService) over HTTP: token and scope checks, queries, and
//! writes with the CSRF handshake.

mod support;

use mock_platform::RunningPlatform;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;

fn root(p: &RunningPlatform) -> String {
    format!("{}/odata/v2/ProductService/", p.backend_url)
}

async fn get_json(p: &RunningPlatform, token: &str, path: &str) -> (StatusCode, Value) {
    let response = client()
        .get(format!("{}{path}", root(p)))
        .bearer_auth(token)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The OData error's message text.
fn error_message(body: &Value) -> &str {
    body["error"]["message"]["value"]
        .as_str()
        .unwrap_or_default()
}

fn names(body: &Value) -> Vec<String> {
    body["d"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["Name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn requests_without_a_valid_token_or_scope_are_refused_with_odata_errors() {
    let p = start().await;
    let products = format!("{}Products", root(&p));
    let none = client().get(&products).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    let body: Value = none.json().await.unwrap();
    assert!(
        body["error"]["message"]["value"].is_string(),
        "OData error JSON: {body}"
    );
    assert!(body["error"]["code"].is_string());

    let (status, _) = get_json(&p, "garbage", "Products").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let expired = mock_token(&p, json!({"user": "alice", "expires_in": -1})).await;
    let (status, body) = get_json(&p, &expired, "Products").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(error_message(&body).contains("expired"), "{body}");

    // bob's token for the Backend API's own client passes the audience check (`@sap/xssec` 4's,
    // which comes first) and lacks the scope: 403. (His token for the App Router's client names
    // no backend audience at all: 401, see tests/attacks.rs.)
    let required = &p.state().model.backend_required_scope;
    let backend_client = p
        .state()
        .model
        .apps
        .iter()
        .find(|a| a.scopes.contains(required))
        .map(|a| a.client_id.clone())
        .unwrap();
    let bob = mock_token(&p, json!({"user": "bob", "client_id": backend_client})).await;
    let (status, body) = get_json(&p, &bob, "Products").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        error_message(&body).contains("Backend-service!t6131.AllAccess"),
        "{body}"
    );

    // A token signed by a key this XSUAA does not know.
    let other = start().await;
    let foreign = user_token(&other, "alice").await;
    let (status, _) = get_json(&p, &foreign, "Products").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let stats = stats(&p.backend_url).await;
    assert_eq!(
        (stats["unauthorized"].as_u64(), stats["forbidden"].as_u64()),
        (Some(4), Some(1))
    );
}

#[tokio::test]
async fn reads_with_query_options() {
    let p = start().await;
    let alice = user_token(&p, "alice").await;
    let (status, all) = get_json(&p, &alice, "Products").await;
    assert_eq!(status, StatusCode::OK);
    let first = &all["d"]["results"][0];
    assert_eq!(first["ProductID"], 1);
    assert_eq!(
        first["Price"], "956.00",
        "Edm.Decimal as a string in v2 JSON"
    );
    assert_eq!(
        first["__metadata"]["uri"],
        format!("{}Products(1)", root(&p))
    );
    assert_eq!(first["__metadata"]["type"], "ProductService.Product");
    assert_eq!(names(&all).len(), 6);

    let (_, one) = get_json(&p, &alice, "Products(3)").await;
    assert_eq!(one["d"]["Name"], "Flat Screen 24");
    let (status, missing) = get_json(&p, &alice, "Products(99)").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(missing["error"]["message"]["value"].is_string());

    let (_, page) = get_json(
        &p,
        &alice,
        "Products?$orderby=Name%20desc&$top=2&$skip=1&$inlinecount=allpages",
    )
    .await;
    assert_eq!(names(&page), ["Notebook Pro 17", "Notebook Basic 15"]);
    assert_eq!(page["d"]["__count"], "6", "__count is a string");

    let (_, filtered) = get_json(
        &p,
        &alice,
        "Products?$filter=Category%20eq%20'Accessories'&$orderby=Price",
    )
    .await;
    assert_eq!(names(&filtered), ["Optical Mouse", "Ergo Keyboard"]);
    let (_, selected) = get_json(&p, &alice, "Products(1)?$select=Name").await;
    let keys: Vec<&String> = selected["d"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["Name", "ProductID", "__metadata"]);
    let (status, _) = get_json(&p, &alice, "Products?$filter=Price%20gt%205").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = get_json(&p, &alice, "Products?$top=-1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = get_json(&p, &alice, "Products?$expand=Supplier").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let count = client()
        .get(format!(
            "{}Products/$count?$filter=Category%20eq%20'Notebooks'",
            root(&p)
        ))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(count.text().await.unwrap(), "2");
    let json_by_format = client()
        .get(format!("{}Products?$format=json", root(&p)))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert!(
        json_by_format.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let atom = client()
        .get(format!("{}Products", root(&p)))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(atom.headers()["dataserviceversion"], "2.0");
    let atom = atom.text().await.unwrap();
    assert!(
        atom.contains("<feed")
            && atom.contains("<d:Name m:type=\"Edm.String\">Notebook Basic 15</d:Name>"),
        "{atom}"
    );
    let metadata = client()
        .get(format!("{}$metadata", root(&p)))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metadata.contains("<EntitySet Name=\"Products\" EntityType=\"ProductService.Product\"/>"),
        "{metadata}"
    );
    assert!(metadata.contains("<PropertyRef Name=\"ProductID\"/>"));
    let (_, service) = get_json(&p, &alice, "").await;
    assert_eq!(service["d"]["EntitySets"], json!(["Products"]));
}

#[tokio::test]
async fn writes_need_the_csrf_token_and_state_persists() {
    let p = start().await;
    let alice = user_token(&p, "alice").await;
    let http = client();
    let products = format!("{}Products", root(&p));
    let new = json!({"Name": "USB Hub", "Category": "Accessories", "Price": "19.90", "Currency": "EUR", "Stock": 10});

    let refused = http
        .post(&products)
        .bearer_auth(&alice)
        .json(&new)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(refused.headers()["x-csrf-token"], "Required");
    let wrong = http
        .post(&products)
        .bearer_auth(&alice)
        .header("x-csrf-token", "guess")
        .json(&new)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);

    let fetch = http
        .get(root(&p))
        .bearer_auth(&alice)
        .header("x-csrf-token", "Fetch")
        .send()
        .await
        .unwrap();
    let csrf = fetch.headers()["x-csrf-token"]
        .to_str()
        .unwrap()
        .to_string();
    assert_ne!(csrf, "Required");

    let created = http
        .post(&products)
        .bearer_auth(&alice)
        .header("x-csrf-token", &csrf)
        .header("accept", "application/json")
        .json(&new)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let location = created.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(location, format!("{products}(7)"));
    let body: Value = created.json().await.unwrap();
    assert_eq!(body["d"]["ProductID"], 7);

    let duplicate = http
        .post(&products)
        .bearer_auth(&alice)
        .header("x-csrf-token", &csrf)
        .json(&json!({"ProductID": 7, "Name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(duplicate.status(), StatusCode::CONFLICT);
    let invalid = http
        .post(&products)
        .bearer_auth(&alice)
        .header("x-csrf-token", &csrf)
        .json(&json!({"Name": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), StatusCode::BAD_REQUEST);

    // MERGE tunnelled through POST, as SAP clients do; then PATCH and PUT.
    let merge = http
        .post(&location)
        .bearer_auth(&alice)
        .header("x-csrf-token", &csrf)
        .header("x-http-method", "MERGE")
        .json(&json!({"Stock": 9}))
        .send()
        .await
        .unwrap();
    assert_eq!(merge.status(), StatusCode::NO_CONTENT);
    let (_, read) = get_json(&p, &alice, "Products(7)").await;
    assert_eq!(
        (read["d"]["Stock"].as_i64(), read["d"]["Name"].as_str()),
        (Some(9), Some("USB Hub"))
    );
    let put = http
        .put(&location)
        .bearer_auth(&alice)
        .header("x-csrf-token", &csrf)
        .json(&json!({"Name": "USB Hub 2"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::NO_CONTENT);
    let (_, read) = get_json(&p, &alice, "Products(7)").await;
    assert_eq!(
        (read["d"]["Name"].as_str(), read["d"]["Stock"].is_null()),
        (Some("USB Hub 2"), true),
        "PUT replaces"
    );

    let delete_without = http
        .delete(&location)
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(delete_without.status(), StatusCode::FORBIDDEN);
    let delete = http
        .delete(&location)
        .bearer_auth(&alice)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), StatusCode::NO_CONTENT);
    let (status, _) = get_json(&p, &alice, "Products(7)").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Another user's CSRF token is not valid for alice.
    let other = mock_token(
        &p,
        json!({"client_id": xsuaa_client(&p).id, "scopes": ["Backend-service!t6131.AllAccess"]}),
    )
    .await;
    let other_csrf = http
        .get(root(&p))
        .bearer_auth(&other)
        .header("x-csrf-token", "fetch")
        .send()
        .await
        .unwrap()
        .headers()["x-csrf-token"]
        .to_str()
        .unwrap()
        .to_string();
    assert_ne!(other_csrf, csrf);
    let cross = http
        .post(&products)
        .bearer_auth(&alice)
        .header("x-csrf-token", &other_csrf)
        .json(&new)
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    let stats = stats(&p.backend_url).await;
    assert_eq!(stats["csrf_rejected"], 4);
}

#[tokio::test]
async fn injected_backend_failures_then_recovery() {
    let p = start().await;
    let alice = user_token(&p, "alice").await;
    let http = client();
    http.post(format!("{}/__mock/fail", p.backend_url))
        .json(&json!({"status": 500, "count": 2}))
        .send()
        .await
        .unwrap();
    for _ in 0..2 {
        assert_eq!(
            get_json(&p, &alice, "Products").await.0,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
    assert_eq!(get_json(&p, &alice, "Products").await.0, StatusCode::OK);
    http.post(format!("{}/__mock/fail", p.backend_url))
        .json(&json!({"status": 503}))
        .send()
        .await
        .unwrap();
    for _ in 0..3 {
        assert_eq!(
            get_json(&p, &alice, "Products").await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
    let state: Value = http
        .get(format!("{}/__mock/fail", p.backend_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["fault"]["status"], 503);
    http.delete(format!("{}/__mock/fail", p.backend_url))
        .send()
        .await
        .unwrap();
    assert_eq!(get_json(&p, &alice, "Products").await.0, StatusCode::OK);
    let bad = http
        .post(format!("{}/__mock/fail", p.backend_url))
        .json(&json!({"status": 1000}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(p.stats(mock_platform::Service::Backend)["reads"], 2);
}

/// The Backend API remembers verified tokens (as services behind `@sap/xssec` 4 do), but a
/// remembered token still expires, still dies with its key, and only the exact token is remembered.
#[tokio::test]
async fn a_remembered_token_still_expires_and_still_needs_its_key() {
    let p = start().await;
    let short = mock_token(&p, json!({"user": "alice", "expires_in": 2})).await;
    for _ in 0..2 {
        let (status, _) = get_json(&p, &short, "Products").await;
        assert_eq!(status, StatusCode::OK, "valid, verified, then remembered");
    }
    // The same header and claims with another signature: not the remembered token.
    let (head, _) = short.rsplit_once('.').unwrap();
    let forged = format!("{head}.{}", "A".repeat(342));
    let (status, _) = get_json(&p, &forged, "Products").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a forged signature");

    // `exp` is in whole seconds and the Backend API allows no leeway. Real time on purpose, not an
    // injected clock: the token's `exp` is checked by jsonwebtoken against the system clock, as
    // `@sap/xssec` does, and a fake clock would leave that check untested (3 s, run in parallel).
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    let (status, body) = get_json(&p, &short, "Products").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(error_message(&body).contains("expired"), "{body}");

    let alice = user_token(&p, "alice").await;
    let (status, _) = get_json(&p, &alice, "Products").await;
    assert_eq!(status, StatusCode::OK);
    let rotated = client()
        .post(format!("{}/__mock/rotate-keys", p.xsuaa_url))
        .json(&json!({"keep_old": false}))
        .send()
        .await
        .unwrap();
    assert!(rotated.status().is_success());
    let (status, body) = get_json(&p, &alice, "Products").await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "its key is no longer published: {body}"
    );
}
