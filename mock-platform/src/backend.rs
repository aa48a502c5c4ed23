//! The Backend API: the tutorial's OData v2 `ProductService` with one entity set. Every request
//! needs a token of the mock XSUAA with the configured scope; writes need the `x-csrf-token`
//! fetched with `x-csrf-token: Fetch`. Data lives for the life of the process.

use crate::clock::now;
use crate::error::{Error, Result};
use crate::ids::random_id;
use crate::odata::{self, Entity, EntityModel, Filter};
use crate::state::{self, Service, Shared};
use crate::xsuaa::tokens::ClaimsExt;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Value, json};
use std::borrow::Cow;
use std::collections::HashMap;

pub(crate) mod store;

pub fn service_root_path(model: &EntityModel) -> String {
    format!("/odata/v2/{}/", model.service)
}

pub fn router(state: Shared) -> Router {
    let root = service_root_path(&state.model.backend);
    let routes = Router::new()
        .route(root.trim_end_matches('/'), any(dispatch))
        .route(&root, any(dispatch))
        .route(&format!("{root}{{*path}}"), any(dispatch));
    state::finish(routes, state, Service::Backend)
}

#[derive(Clone, Copy, PartialEq)]
enum Format {
    Json,
    Xml,
}

fn odata_error(status: StatusCode, code: &'static str, message: impl Into<String>) -> Error {
    Error::odata(status, code, message)
}

fn bad_request(message: impl Into<String>) -> Error {
    odata_error(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
}

/// Checks the token: 401 without or with an invalid one, 403 without the scope. Returns the
/// subject the CSRF token is bound to.
fn authorize(state: &Shared, headers: &HeaderMap) -> Result<String> {
    let stats = &state.stats.backend;
    let Some(token) = state::bearer(headers) else {
        stats.incr("unauthorized");
        return Err(odata_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "Authorization required: send Authorization: Bearer <token issued by XSUAA>",
        ));
    };
    let claims = state.verify(token, 0).map_err(|e| {
        stats.incr("unauthorized");
        odata_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            format!("Invalid token: {e}"),
        )
    })?;
    let scope = &state.model.backend_required_scope;
    if let Some(backend) = state.model.apps.iter().find(|a| a.scopes.contains(scope))
        && !accepts_audience(&claims, &backend.client_id, &backend.xsappname)
    {
        stats.incr("unauthorized");
        return Err(odata_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            format!(
                "Invalid token: it was issued for other audiences than this service ({})",
                backend.client_id
            ),
        ));
    }
    if !claims.has_scope(scope) {
        stats.incr("forbidden");
        return Err(odata_error(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            format!("Insufficient scope: the token lacks {scope}"),
        ));
    }
    Ok(claims
        .str_claim("user_id")
        .or_else(|| claims.client_id())
        .unwrap_or_default()
        .to_string())
}

/// `@sap/xssec` 4's `XsuaaService.acceptsTokenAudience`: the audiences are `aud` (or, when a
/// token has none, its scopes) plus `cid`; one of them must be the service's client id or
/// xsappname, or start with either followed by a dot; a broker-plan client (`!b`) also accepts
/// `...|xsappname`.
fn accepts_audience(
    claims: &serde_json::Map<String, Value>,
    client_id: &str,
    xsappname: &str,
) -> bool {
    let listed = |name: &str| -> Vec<&str> {
        match claims.get(name) {
            Some(Value::String(one)) => vec![one.as_str()],
            Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    };
    let mut audiences = listed("aud");
    if audiences.is_empty() {
        audiences = listed("scope");
    }
    audiences.extend(claims.str_claim("cid"));
    let names = |a: &str, name: &str| {
        a == name
            || a.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('.'))
    };
    audiences.iter().any(|a| {
        names(a, client_id)
            || names(a, xsappname)
            || (client_id.contains("!b") && a.ends_with(&format!("|{xsappname}")))
    })
}

async fn dispatch(
    State(state): State<Shared>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    odata_answer(handle(&state, method, &headers, &uri, &body))
}

/// The answer or the error as HTTP, with the OData V2 version header every answer carries.
pub(crate) fn odata_answer(result: Result<Response>) -> Response {
    let mut response = result.unwrap_or_else(IntoResponse::into_response);
    response
        .headers_mut()
        .insert("dataserviceversion", HeaderValue::from_static("2.0"));
    response
}

fn handle(
    state: &Shared,
    method: Method,
    headers: &HeaderMap,
    uri: &Uri,
    body: &[u8],
) -> Result<Response> {
    let subject = authorize(state, headers)?;
    serve_authorized(state, subject, method, headers, uri, body)
}

/// The OData service for a request whose token the caller has validated itself (the production
/// Backend API, [`crate::backend_app`], validates real XSUAA tokens); `subject` keys the CSRF token.
pub fn serve_authorized(
    state: &Shared,
    subject: String,
    method: Method,
    headers: &HeaderMap,
    uri: &Uri,
    body: &[u8],
) -> Result<Response> {
    let model = &state.model.backend;
    let root_path = service_root_path(model);
    let rest = uri.path().strip_prefix(&root_path).unwrap_or("");
    let rest = percent_encoding::percent_decode_str(rest)
        .decode_utf8_lossy()
        .into_owned();
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let options: HashMap<&str, &str> = query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let root = format!("http://{host}{root_path}");
    let format = match options.get("$format").copied() {
        Some("json") => Format::Json,
        Some("atom") | Some("xml") => Format::Xml,
        Some(other) => {
            return Err(bad_request(format!(
                "Unsupported $format {other} (json, atom, xml)"
            )));
        }
        None => {
            let accept = headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if accept.contains("json") {
                Format::Json
            } else {
                Format::Xml
            }
        }
    };
    let method = match headers.get("x-http-method").and_then(|v| v.to_str().ok()) {
        Some(tunnelled) if method == Method::POST => {
            Method::from_bytes(tunnelled.to_ascii_uppercase().as_bytes())
                .map_err(|_| bad_request("invalid X-HTTP-Method"))?
        }
        _ => method,
    };
    let reading = method == Method::GET || method == Method::HEAD;
    let mut response = if reading {
        state.stats.backend.incr("reads");
        read(state, &rest, &options, &root, format)?
    } else {
        check_csrf(state, headers, &subject)?;
        state.stats.backend.incr("writes");
        write(state, &method, &rest, headers, body, &root, format)?
    };
    let fetch = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("fetch"));
    if reading && fetch {
        let token = state
            .backend
            .csrf()
            .entry(subject)
            .or_insert_with(|| random_id(24))
            .clone();
        if let Ok(value) = HeaderValue::from_str(&token) {
            response.headers_mut().insert("x-csrf-token", value);
        }
    }
    Ok(response)
}

fn check_csrf(state: &Shared, headers: &HeaderMap, subject: &str) -> Result<()> {
    let sent = headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
    let valid = match (sent, state.backend.csrf().get(subject)) {
        (Some(sent), Some(expected)) => sent == expected,
        _ => false,
    };
    if valid {
        return Ok(());
    }
    state.stats.backend.incr("csrf_rejected");
    Err(Error::OData {
        status: StatusCode::FORBIDDEN,
        code: "CSRF_TOKEN_VALIDATION_FAILED",
        message: "CSRF token validation failed: fetch a token with GET and x-csrf-token: Fetch, then send it in x-csrf-token".into(),
        csrf_required: true,
    })
}

/// Splits `Products(1)` / `Products` / `Products/$count` into (entity set, key predicate, rest).
fn parse_resource<'a>(model: &EntityModel, path: &'a str) -> Result<(Option<&'a str>, bool)> {
    let set = model.entity_set.as_str();
    let not_found = || {
        odata_error(
            StatusCode::NOT_FOUND,
            "RESOURCE_NOT_FOUND",
            format!("Resource not found for the segment '{path}'"),
        )
    };
    let Some(rest) = path.strip_prefix(set) else {
        return Err(not_found());
    };
    match rest {
        "" | "/" => Ok((None, false)),
        "/$count" => Ok((None, true)),
        _ if rest.starts_with('(') && rest.ends_with(')') => {
            Ok((Some(&rest[1..rest.len() - 1]), false))
        }
        _ if rest.starts_with('(') => Err(bad_request(format!(
            "Navigation or property paths are not supported by this service ({path})"
        ))),
        _ => Err(not_found()),
    }
}

fn read(
    state: &Shared,
    path: &str,
    options: &HashMap<&str, &str>,
    root: &str,
    format: Format,
) -> Result<Response> {
    let model = &state.model.backend;
    for option in options.keys().filter(|k| k.starts_with('$')) {
        if ![
            "$format",
            "$top",
            "$skip",
            "$filter",
            "$orderby",
            "$inlinecount",
            "$select",
            "$count",
        ]
        .contains(option)
        {
            return Err(bad_request(format!(
                "System query option {option} is not supported by this service"
            )));
        }
    }
    match path {
        "" => {
            return Ok(match format {
                Format::Json => {
                    Json(json!({"d": {"EntitySets": [model.entity_set]}})).into_response()
                }
                Format::Xml => xml(odata::service_document_xml(model, root)),
            });
        }
        "$metadata" => return Ok(xml(odata::metadata_xml(model))),
        "$batch" => {
            return Err(odata_error(
                StatusCode::NOT_IMPLEMENTED,
                "NOT_IMPLEMENTED",
                "$batch is not supported by this service",
            ));
        }
        _ => {}
    }
    let (key, count_only) = parse_resource(model, path)?;
    // Read under the lock, by reference: a read copies no entity unless `$select` shapes it.
    let entities = state.backend.entities();
    if let Some(predicate) = key {
        let key = model.parse_key(predicate).map_err(bad_request)?;
        let entity = find(model, &entities, &key)?;
        let entity = select(
            model,
            Cow::Borrowed(entity),
            options.get("$select").copied(),
        )?;
        return Ok(render_entity(model, root, &entity, format, StatusCode::OK));
    }
    let mut selected: Vec<&Entity> = match options.get("$filter") {
        Some(text) => {
            let filter = Filter::parse(model, text)
                .map_err(|e| bad_request(format!("Invalid $filter: {e}")))?;
            entities
                .iter()
                .filter(|e| filter.matches(model, e))
                .collect()
        }
        None => entities.iter().collect(),
    };
    if count_only {
        return Ok((
            [(header::CONTENT_TYPE, "text/plain")],
            selected.len().to_string(),
        )
            .into_response());
    }
    if let Some(text) = options.get("$orderby") {
        let order = odata::parse_orderby(model, text)
            .map_err(|e| bad_request(format!("Invalid $orderby: {e}")))?;
        selected.sort_by(|a, b| {
            for (index, descending) in &order {
                let p = &model.properties[*index];
                let ordering = odata::compare(
                    p,
                    a.get(&p.name).unwrap_or(&Value::Null),
                    b.get(&p.name).unwrap_or(&Value::Null),
                );
                let ordering = if *descending {
                    ordering.reverse()
                } else {
                    ordering
                };
                if ordering.is_ne() {
                    return ordering;
                }
            }
            std::cmp::Ordering::Equal
        });
    }
    let count = match options.get("$inlinecount").copied() {
        Some("allpages") => Some(selected.len()),
        Some("none") | None => None,
        Some(other) => {
            return Err(bad_request(format!(
                "Invalid $inlinecount {other} (allpages or none)"
            )));
        }
    };
    let number = |name: &str| -> Result<Option<usize>> {
        options
            .get(name)
            .map(|v| {
                v.parse::<usize>().map_err(|_| {
                    bad_request(format!("{name} must be a non-negative integer, not {v:?}"))
                })
            })
            .transpose()
    };
    let skip = number("$skip")?.unwrap_or(0);
    let top = number("$top")?;
    let page: Vec<Cow<'_, Entity>> = selected
        .into_iter()
        .skip(skip)
        .take(top.unwrap_or(usize::MAX))
        .map(|e| select(model, Cow::Borrowed(e), options.get("$select").copied()))
        .collect::<Result<_>>()?;
    Ok(match format {
        Format::Json => json_response(
            StatusCode::OK,
            &JsonDocument {
                d: JsonFeed {
                    // OData v2 JSON renders the count as a string.
                    count: count.map(|c| c.to_string()),
                    results: JsonEntities {
                        writer: EntityWriter::new(model, root),
                        entities: &page,
                    },
                },
            },
        ),
        Format::Xml => xml(odata::atom_feed(
            model,
            root,
            &page,
            count,
            &odata::rfc3339(now()),
        )),
    })
}

fn find<'a>(model: &EntityModel, entities: &'a [Entity], key: &Value) -> Result<&'a Entity> {
    let name = &model.key_property().name;
    entities
        .iter()
        .find(|e| e.get(name) == Some(key))
        .ok_or_else(|| {
            odata_error(
                StatusCode::NOT_FOUND,
                "RESOURCE_NOT_FOUND",
                format!("Resource not found for segment '{}'", model.entity_type),
            )
        })
}

fn select<'a>(
    model: &EntityModel,
    entity: Cow<'a, Entity>,
    select: Option<&str>,
) -> Result<Cow<'a, Entity>> {
    let Some(select) = select.filter(|s| !s.trim().is_empty() && s.trim() != "*") else {
        return Ok(entity);
    };
    let names: Vec<&str> = select.split(',').map(str::trim).collect();
    for name in &names {
        if model.property(name).is_none() {
            return Err(bad_request(format!(
                "Invalid $select: property {name} does not exist on {}",
                model.qualified_type()
            )));
        }
    }
    // The key stays: __metadata.uri is built from it.
    let key = &model.key_property().name;
    Ok(Cow::Owned(
        entity
            .iter()
            .filter(|(k, _)| names.contains(&k.as_str()) || *k == key)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    ))
}

/// What every entity's `__metadata` needs, worked out once per response.
struct EntityWriter<'a> {
    model: &'a EntityModel,
    root: &'a str,
    qualified_type: String,
}

impl<'a> EntityWriter<'a> {
    fn new(model: &'a EntityModel, root: &'a str) -> Self {
        EntityWriter {
            model,
            root,
            qualified_type: model.qualified_type(),
        }
    }
}

/// One entity as OData v2 JSON, written straight from the store: its properties plus
/// `__metadata`, with the keys in `serde_json::Map`'s (sorted) order, as a `Value` would give them.
struct JsonEntity<'a> {
    writer: &'a EntityWriter<'a>,
    entity: &'a Entity,
}

const METADATA: &str = "__metadata";

#[derive(serde::Serialize)]
struct Metadata<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    uri: &'a str,
}

impl Serialize for JsonEntity<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let w = self.writer;
        let uri = format!("{}{}", w.root, w.model.key_segment(self.entity));
        let metadata = Metadata {
            id: &uri,
            kind: &w.qualified_type,
            uri: &uri,
        };
        let mut map = serializer.serialize_map(Some(self.entity.len() + 1))?;
        let mut metadata_written = false;
        for (k, v) in self.entity {
            if k == METADATA {
                continue;
            }
            if !metadata_written && k.as_str() > METADATA {
                map.serialize_entry(METADATA, &metadata)?;
                metadata_written = true;
            }
            map.serialize_entry(k, v)?;
        }
        if !metadata_written {
            map.serialize_entry(METADATA, &metadata)?;
        }
        map.end()
    }
}

struct JsonEntities<'a> {
    writer: EntityWriter<'a>,
    entities: &'a [Cow<'a, Entity>],
}

impl Serialize for JsonEntities<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_seq(self.entities.iter().map(|entity| JsonEntity {
            writer: &self.writer,
            entity,
        }))
    }
}

#[derive(serde::Serialize)]
struct JsonFeed<'a> {
    #[serde(rename = "__count", skip_serializing_if = "Option::is_none")]
    count: Option<String>,
    results: JsonEntities<'a>,
}

#[derive(serde::Serialize)]
struct JsonDocument<T> {
    d: T,
}

fn json_response(status: StatusCode, document: &impl Serialize) -> Response {
    match serde_json::to_vec(document) {
        Ok(body) => (status, [(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => odata_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            format!("cannot render JSON: {e}"),
        )
        .into_response(),
    }
}

fn render_entity(
    model: &EntityModel,
    root: &str,
    entity: &Entity,
    format: Format,
    status: StatusCode,
) -> Response {
    match format {
        Format::Json => {
            let writer = EntityWriter::new(model, root);
            json_response(
                status,
                &JsonDocument {
                    d: JsonEntity {
                        writer: &writer,
                        entity,
                    },
                },
            )
        }
        Format::Xml => {
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>{}",
                odata::atom_entry(model, root, entity, &odata::rfc3339(now()), true)
            );
            (
                status,
                [(
                    header::CONTENT_TYPE,
                    "application/atom+xml;type=entry;charset=utf-8",
                )],
                body,
            )
                .into_response()
        }
    }
}

fn xml(body: String) -> Response {
    (
        [(header::CONTENT_TYPE, "application/xml;charset=utf-8")],
        body,
    )
        .into_response()
}

fn json_body(headers: &HeaderMap, body: &[u8]) -> Result<serde_json::Map<String, Value>> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.contains("json") {
        return Err(odata_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "This service accepts JSON bodies (Content-Type: application/json)",
        ));
    }
    let value: Value =
        serde_json::from_slice(body).map_err(|e| bad_request(format!("Invalid JSON body: {e}")))?;
    match value {
        Value::Object(mut map) => {
            // Clients may send the verbose wrapper {"d": {...}}.
            if map.len() == 1
                && let Some(Value::Object(inner)) = map.remove("d")
            {
                return Ok(inner);
            }
            Ok(map)
        }
        _ => Err(bad_request("The body must be a JSON object")),
    }
}

fn write(
    state: &Shared,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
    root: &str,
    format: Format,
) -> Result<Response> {
    let model = &state.model.backend;
    let (key, count_only) = parse_resource(model, path)?;
    if count_only {
        return Err(odata_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "$count is read-only",
        ));
    }
    let key_name = model.key_property().name.clone();
    let method_name = method.as_str();
    match (method_name, key) {
        ("POST", None) => {
            let data = json_body(headers, body)?;
            let mut entity = model.entity_from_json(&data, false).map_err(bad_request)?;
            let mut entities = state.backend.entities_mut();
            if !entity.contains_key(&key_name) {
                match model.key_property().kind {
                    odata::EdmType::Int32 | odata::EdmType::Int64 => {
                        let next = entities
                            .iter()
                            .filter_map(|e| {
                                e.get(&key_name)
                                    .and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()))
                            })
                            .max()
                            .unwrap_or(0)
                            + 1;
                        let value = if model.key_property().kind == odata::EdmType::Int32 {
                            json!(next)
                        } else {
                            json!(next.to_string())
                        };
                        entity.insert(key_name.clone(), value);
                    }
                    _ => {
                        return Err(bad_request(format!(
                            "property {key_name} (the key) is required"
                        )));
                    }
                }
            }
            if entities
                .iter()
                .any(|e| e.get(&key_name) == entity.get(&key_name))
            {
                return Err(odata_error(
                    StatusCode::CONFLICT,
                    "ENTITY_EXISTS",
                    format!("An entity with key {} exists already", entity[&key_name]),
                ));
            }
            entities.push(entity.clone());
            drop(entities);
            let mut response = render_entity(model, root, &entity, format, StatusCode::CREATED);
            if let Ok(location) =
                HeaderValue::from_str(&format!("{root}{}", model.key_segment(&entity)))
            {
                response.headers_mut().insert(header::LOCATION, location);
            }
            Ok(response)
        }
        ("PUT" | "MERGE" | "PATCH", Some(predicate)) => {
            let key = model.parse_key(predicate).map_err(bad_request)?;
            let data = json_body(headers, body)?;
            let replace = method_name == "PUT";
            let update = model
                .entity_from_json(&data, !replace)
                .map_err(bad_request)?;
            if update.get(&key_name).is_some_and(|k| *k != key) {
                return Err(bad_request(
                    "The key in the body differs from the key in the URL",
                ));
            }
            let mut entities = state.backend.entities_mut();
            let index = entities
                .iter()
                .position(|e| e.get(&key_name) == Some(&key))
                .ok_or_else(|| {
                    odata_error(
                        StatusCode::NOT_FOUND,
                        "RESOURCE_NOT_FOUND",
                        format!("Resource not found for segment '{}'", model.entity_type),
                    )
                })?;
            let entity = &mut entities[index];
            if replace {
                let mut replaced = update;
                replaced.insert(key_name.clone(), key);
                *entity = replaced;
            } else {
                entity.extend(update);
            }
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        ("DELETE", Some(predicate)) => {
            let key = model.parse_key(predicate).map_err(bad_request)?;
            let mut entities = state.backend.entities_mut();
            let before = entities.len();
            entities.retain(|e| e.get(&key_name) != Some(&key));
            if entities.len() == before {
                return Err(odata_error(
                    StatusCode::NOT_FOUND,
                    "RESOURCE_NOT_FOUND",
                    format!("Resource not found for segment '{}'", model.entity_type),
                ));
            }
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        _ => Err(odata_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            format!("{method_name} is not allowed on this resource"),
        )),
    }
}
