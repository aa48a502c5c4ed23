//! OData v2 for one entity set: the entity model, values in their v2 JSON form (Int64 and
//! Decimal as strings), `$filter` (`eq`/`ne`, `and`/`or`, parentheses), `$orderby`, and the JSON
//! and Atom/XML renderings including `$metadata`.

use crate::config::BackendConfig;
use serde_json::{Map, Value};
use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdmType {
    String,
    Int32,
    Int64,
    Decimal,
    Boolean,
}

impl EdmType {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "Edm.String" => Self::String,
            "Edm.Int32" => Self::Int32,
            "Edm.Int64" => Self::Int64,
            "Edm.Decimal" => Self::Decimal,
            "Edm.Boolean" => Self::Boolean,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::String => "Edm.String",
            Self::Int32 => "Edm.Int32",
            Self::Int64 => "Edm.Int64",
            Self::Decimal => "Edm.Decimal",
            Self::Boolean => "Edm.Boolean",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Property {
    pub name: String,
    pub kind: EdmType,
    pub nullable: bool,
    pub max_length: Option<u32>,
}

pub type Entity = Map<String, Value>;

#[derive(Debug, Clone)]
pub struct EntityModel {
    pub service: String,
    pub entity_set: String,
    pub entity_type: String,
    pub properties: Vec<Property>,
    pub key: usize,
    pub data: Vec<Entity>,
}

impl EntityModel {
    /// Errors are (key below `backend.`, reason).
    pub fn from_config(config: &BackendConfig) -> Result<Self, (String, String)> {
        let ident = |s: &str| {
            !s.is_empty()
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !s.starts_with(|c: char| c.is_ascii_digit())
        };
        for (key, value) in [
            ("service", &config.service),
            ("entity_set", &config.entity_set),
            ("entity_type", &config.entity_type),
        ] {
            if !ident(value) {
                return Err((key.into(), format!("{value:?} must be an identifier")));
            }
        }
        let mut properties = Vec::new();
        for (i, p) in config.properties.iter().enumerate() {
            if !ident(&p.name) {
                return Err((
                    format!("properties[{i}].name"),
                    format!("{:?} must be an identifier", p.name),
                ));
            }
            if properties.iter().any(|q: &Property| q.name == p.name) {
                return Err((
                    format!("properties[{i}].name"),
                    format!("{:?} is defined twice", p.name),
                ));
            }
            let kind = EdmType::parse(&p.type_).ok_or_else(|| {
                (
                    format!("properties[{i}].type"),
                    format!("{:?} is not supported (Edm.String, Edm.Int32, Edm.Int64, Edm.Decimal, Edm.Boolean)", p.type_),
                )
            })?;
            properties.push(Property {
                name: p.name.clone(),
                kind,
                nullable: p.nullable && !p.key,
                max_length: p.max_length,
            });
        }
        let keys: Vec<usize> = config
            .properties
            .iter()
            .enumerate()
            .filter(|(_, p)| p.key)
            .map(|(i, _)| i)
            .collect();
        let [key] = keys.as_slice() else {
            return Err((
                "properties".into(),
                format!(
                    "exactly one property must have key: true (found {})",
                    keys.len()
                ),
            ));
        };
        if properties[*key].kind == EdmType::Decimal || properties[*key].kind == EdmType::Boolean {
            return Err((
                format!("properties[{key}].type"),
                "the key must be Edm.String, Edm.Int32 or Edm.Int64".into(),
            ));
        }
        let mut model = EntityModel {
            service: config.service.clone(),
            entity_set: config.entity_set.clone(),
            entity_type: config.entity_type.clone(),
            properties,
            key: *key,
            data: Vec::new(),
        };
        for (i, row) in config.data.iter().enumerate() {
            let entity = model
                .entity_from_json(row, false)
                .map_err(|e| (format!("data[{i}]"), e))?;
            let key_value = &entity[&model.key_property().name];
            if model
                .data
                .iter()
                .any(|e| &e[&model.key_property().name] == key_value)
            {
                return Err((format!("data[{i}]"), format!("duplicate key {key_value}")));
            }
            model.data.push(entity);
        }
        Ok(model)
    }

    pub fn key_property(&self) -> &Property {
        &self.properties[self.key]
    }

    pub fn property(&self, name: &str) -> Option<&Property> {
        self.properties.iter().find(|p| p.name == name)
    }

    pub fn qualified_type(&self) -> String {
        format!("{}.{}", self.service, self.entity_type)
    }

    /// A complete entity from JSON (`partial`: only the given properties, for MERGE).
    /// Values are checked against their types; `__metadata` is ignored.
    pub fn entity_from_json(
        &self,
        json: &Map<String, Value>,
        partial: bool,
    ) -> Result<Entity, String> {
        let mut out = Map::new();
        for (name, value) in json {
            if name == "__metadata" {
                continue;
            }
            let p = self.property(name).ok_or_else(|| {
                format!(
                    "property {name} does not exist on {}",
                    self.qualified_type()
                )
            })?;
            out.insert(name.clone(), normalize(p, value)?);
        }
        if !partial {
            for p in &self.properties {
                if !out.contains_key(&p.name) {
                    if !p.nullable && p.name != self.key_property().name {
                        return Err(format!("property {} is required", p.name));
                    }
                    if p.name != self.key_property().name {
                        out.insert(p.name.clone(), Value::Null);
                    }
                }
            }
        }
        Ok(out)
    }

    /// Parses the key predicate of `Products(<here>)`: `1`, `'a'`, `1L` or `ProductID=1`.
    pub fn parse_key(&self, predicate: &str) -> Result<Value, String> {
        let key = self.key_property();
        let literal = match predicate.split_once('=') {
            Some((name, literal)) if name.trim() == key.name => literal.trim(),
            Some((name, _)) => {
                return Err(format!(
                    "{} has no key property {}",
                    self.qualified_type(),
                    name.trim()
                ));
            }
            None => predicate.trim(),
        };
        let tokens = tokenize(literal)?;
        match tokens.as_slice() {
            [Token::Literal(v)] => coerce_literal(key, v)
                .ok_or_else(|| format!("invalid key value {literal} for {}", key.kind.name())),
            _ => Err(format!("invalid key predicate ({predicate})")),
        }
    }

    /// The key in URL form: `Products(1)`, `Products('a')`, `Products(1L)`.
    pub fn key_segment(&self, entity: &Entity) -> String {
        let value = entity
            .get(&self.key_property().name)
            .cloned()
            .unwrap_or(Value::Null);
        let literal = match (self.key_property().kind, &value) {
            (EdmType::String, Value::String(s)) => format!("'{}'", s.replace('\'', "''")),
            (EdmType::Int64, Value::String(s)) => format!("{s}L"),
            (_, Value::String(s)) => s.clone(),
            (_, v) => v.to_string(),
        };
        format!("{}({literal})", self.entity_set)
    }
}

/// A JSON value in the canonical stored form for `p` (as v2 JSON renders it).
fn normalize(p: &Property, value: &Value) -> Result<Value, String> {
    let bad = || {
        format!(
            "property {}: {value} is not a valid {}",
            p.name,
            p.kind.name()
        )
    };
    if value.is_null() {
        return if p.nullable {
            Ok(Value::Null)
        } else {
            Err(format!("property {} must not be null", p.name))
        };
    }
    Ok(match p.kind {
        EdmType::String => {
            let s = value.as_str().ok_or_else(bad)?;
            if let Some(max) = p.max_length
                && s.chars().count() > max as usize
            {
                return Err(format!("property {}: longer than {max} characters", p.name));
            }
            Value::String(s.to_string())
        }
        EdmType::Int32 => {
            let n = value
                .as_i64()
                .filter(|n| i32::try_from(*n).is_ok())
                .ok_or_else(bad)?;
            Value::from(n)
        }
        EdmType::Int64 => {
            let n = match value {
                Value::String(s) => s.parse::<i64>().map_err(|_| bad())?,
                v => v.as_i64().ok_or_else(bad)?,
            };
            Value::String(n.to_string())
        }
        EdmType::Decimal => {
            let s = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return Err(bad()),
            };
            decimal_key(&s).ok_or_else(bad)?;
            Value::String(s)
        }
        EdmType::Boolean => Value::Bool(value.as_bool().ok_or_else(bad)?),
    })
}

/// A decimal in a comparable canonical form ("-12.5" for "-012.50"), None if not a decimal.
fn decimal_key(s: &str) -> Option<String> {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() && frac.is_empty()
        || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let body = if frac.is_empty() {
        int.to_string()
    } else {
        format!("{int}.{frac}")
    };
    Some(if negative && body != "0" {
        format!("-{body}")
    } else {
        body
    })
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Orders two stored values of property `p` (nulls first).
pub fn compare(p: &Property, a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        _ => match p.kind {
            EdmType::String => a.as_str().cmp(&b.as_str()),
            EdmType::Boolean => a.as_bool().cmp(&b.as_bool()),
            _ => as_f64(a).partial_cmp(&as_f64(b)).unwrap_or(Ordering::Equal),
        },
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Literal {
    String(String),
    /// Number text with its type suffix removed.
    Number(String),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Literal(Literal),
    Open,
    Close,
}

fn tokenize(s: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            tokens.push(Token::Open);
            i += 1;
        } else if c == ')' {
            tokens.push(Token::Close);
            i += 1;
        } else if c == '\'' {
            let mut text = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err("unterminated string literal".into()),
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        text.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        text.push(*ch);
                        i += 1;
                    }
                }
            }
            tokens.push(Token::Literal(Literal::String(text)));
        } else if c.is_ascii_digit() || c == '-' || c == '+' {
            let start = i;
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let number: String = chars[start..i].iter().collect();
            if i < chars.len() && "MmLlDdFf".contains(chars[i]) {
                i += 1;
            }
            tokens.push(Token::Literal(Literal::Number(number)));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == '/')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            tokens.push(match word.as_str() {
                "true" => Token::Literal(Literal::Bool(true)),
                "false" => Token::Literal(Literal::Bool(false)),
                "null" => Token::Literal(Literal::Null),
                _ => Token::Ident(word),
            });
        } else {
            return Err(format!("unexpected character {c:?}"));
        }
    }
    Ok(tokens)
}

/// The literal as a stored value of `p`, None when it cannot be one.
fn coerce_literal(p: &Property, literal: &Literal) -> Option<Value> {
    match (p.kind, literal) {
        (_, Literal::Null) => Some(Value::Null),
        (EdmType::String, Literal::String(s)) => Some(Value::String(s.clone())),
        (EdmType::Int32, Literal::Number(n)) => n.parse::<i64>().ok().map(Value::from),
        (EdmType::Int64, Literal::Number(n)) => {
            n.parse::<i64>().ok().map(|n| Value::String(n.to_string()))
        }
        (EdmType::Decimal, Literal::Number(n)) => decimal_key(n).map(Value::String),
        (EdmType::Boolean, Literal::Bool(b)) => Some(Value::Bool(*b)),
        _ => None,
    }
}

fn equal(p: &Property, stored: &Value, literal: &Value) -> bool {
    match (p.kind, stored, literal) {
        (EdmType::Decimal, Value::String(a), Value::String(b)) => {
            decimal_key(a).as_deref() == Some(b.as_str())
        }
        _ => stored == literal,
    }
}

/// A parsed `$filter`.
#[derive(Debug, Clone)]
pub enum Filter {
    Compare {
        property: usize,
        negate: bool,
        value: Value,
    },
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
}

/// Nesting of parentheses, and comparisons, a `$filter` may have. The parser and `matches` recurse
/// once per level and per `and`/`or`: without a bound a long enough `$filter` overflows the
/// stack and aborts the process (found by the property tests).
pub const MAX_FILTER_NESTING: usize = 32;
pub const MAX_FILTER_COMPARISONS: usize = 100;

impl Filter {
    pub fn parse(model: &EntityModel, text: &str) -> Result<Self, String> {
        let tokens = tokenize(text)?;
        let mut depth = 0usize;
        for token in &tokens {
            match token {
                Token::Open => {
                    depth += 1;
                    if depth > MAX_FILTER_NESTING {
                        return Err(format!(
                            "$filter nests parentheses deeper than {MAX_FILTER_NESTING} levels"
                        ));
                    }
                }
                Token::Close => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        let joins = tokens
            .iter()
            .filter(|t| matches!(t, Token::Ident(w) if w == "and" || w == "or"))
            .count();
        if joins >= MAX_FILTER_COMPARISONS {
            return Err(format!(
                "$filter has more than {MAX_FILTER_COMPARISONS} comparisons"
            ));
        }
        let mut pos = 0;
        let filter = parse_or(model, &tokens, &mut pos)?;
        if pos != tokens.len() {
            return Err(format!("unexpected {:?} in $filter", tokens[pos]));
        }
        Ok(filter)
    }

    pub fn matches(&self, model: &EntityModel, entity: &Entity) -> bool {
        match self {
            Filter::Compare {
                property,
                negate,
                value,
            } => {
                let p = &model.properties[*property];
                let stored = entity.get(&p.name).unwrap_or(&Value::Null);
                equal(p, stored, value) != *negate
            }
            Filter::And(a, b) => a.matches(model, entity) && b.matches(model, entity),
            Filter::Or(a, b) => a.matches(model, entity) || b.matches(model, entity),
        }
    }
}

fn parse_or(model: &EntityModel, tokens: &[Token], pos: &mut usize) -> Result<Filter, String> {
    let mut left = parse_and(model, tokens, pos)?;
    while matches!(tokens.get(*pos), Some(Token::Ident(w)) if w == "or") {
        *pos += 1;
        left = Filter::Or(Box::new(left), Box::new(parse_and(model, tokens, pos)?));
    }
    Ok(left)
}

fn parse_and(model: &EntityModel, tokens: &[Token], pos: &mut usize) -> Result<Filter, String> {
    let mut left = parse_primary(model, tokens, pos)?;
    while matches!(tokens.get(*pos), Some(Token::Ident(w)) if w == "and") {
        *pos += 1;
        left = Filter::And(Box::new(left), Box::new(parse_primary(model, tokens, pos)?));
    }
    Ok(left)
}

fn parse_primary(model: &EntityModel, tokens: &[Token], pos: &mut usize) -> Result<Filter, String> {
    if tokens.get(*pos) == Some(&Token::Open) {
        *pos += 1;
        let inner = parse_or(model, tokens, pos)?;
        if tokens.get(*pos) != Some(&Token::Close) {
            return Err("missing ')' in $filter".into());
        }
        *pos += 1;
        return Ok(inner);
    }
    let (Some(Token::Ident(name)), Some(Token::Ident(op)), Some(Token::Literal(literal))) =
        (tokens.get(*pos), tokens.get(*pos + 1), tokens.get(*pos + 2))
    else {
        return Err("$filter supports <property> eq|ne <literal>, combined with and/or".into());
    };
    let index = model
        .properties
        .iter()
        .position(|p| &p.name == name)
        .ok_or_else(|| {
            format!(
                "property {name} does not exist on {}",
                model.qualified_type()
            )
        })?;
    let negate = match op.as_str() {
        "eq" => false,
        "ne" => true,
        other => {
            return Err(format!(
                "operator {other} is not supported by this service (eq, ne)"
            ));
        }
    };
    let p = &model.properties[index];
    let value = coerce_literal(p, literal)
        .ok_or_else(|| format!("the literal for {name} is not a valid {}", p.kind.name()))?;
    *pos += 3;
    Ok(Filter::Compare {
        property: index,
        negate,
        value,
    })
}

/// `$orderby=Name desc,Price`: (property index, descending).
pub fn parse_orderby(model: &EntityModel, text: &str) -> Result<Vec<(usize, bool)>, String> {
    let mut out = Vec::new();
    for part in text.split(',') {
        let mut words = part.split_whitespace();
        let name = words.next().ok_or("empty $orderby item")?;
        let index = model
            .properties
            .iter()
            .position(|p| p.name == name)
            .ok_or_else(|| {
                format!(
                    "property {name} does not exist on {}",
                    model.qualified_type()
                )
            })?;
        let descending = match words.next() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => return Err(format!("invalid $orderby direction {other}")),
        };
        if words.next().is_some() {
            return Err(format!("invalid $orderby item {part:?}"));
        }
        out.push((index, descending));
    }
    Ok(out)
}

pub fn xml_escape(s: &str) -> String {
    common::html::escape(s)
}

/// The EDMX document for `$metadata`.
pub fn metadata_xml(model: &EntityModel) -> String {
    let mut props = String::new();
    for p in &model.properties {
        props.push_str(&format!(
            "<Property Name=\"{}\" Type=\"{}\" Nullable=\"{}\"{}/>",
            p.name,
            p.kind.name(),
            p.nullable,
            p.max_length
                .map(|m| format!(" MaxLength=\"{m}\""))
                .unwrap_or_default()
        ));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
<edmx:Edmx Version=\"1.0\" xmlns:edmx=\"http://schemas.microsoft.com/ado/2007/06/edmx\" xmlns:m=\"http://schemas.microsoft.com/ado/2007/08/dataservices/metadata\">\
<edmx:DataServices m:DataServiceVersion=\"2.0\">\
<Schema Namespace=\"{ns}\" xmlns=\"http://schemas.microsoft.com/ado/2008/09/edm\">\
<EntityType Name=\"{ty}\"><Key><PropertyRef Name=\"{key}\"/></Key>{props}</EntityType>\
<EntityContainer Name=\"{ns}Container\" m:IsDefaultEntityContainer=\"true\">\
<EntitySet Name=\"{set}\" EntityType=\"{ns}.{ty}\"/></EntityContainer>\
</Schema></edmx:DataServices></edmx:Edmx>",
        ns = model.service,
        ty = model.entity_type,
        key = model.key_property().name,
        set = model.entity_set,
    )
}

/// An Atom `<entry>` for one entity.
pub fn atom_entry(
    model: &EntityModel,
    root: &str,
    entity: &Entity,
    updated: &str,
    standalone: bool,
) -> String {
    let segment = model.key_segment(entity);
    let mut props = String::new();
    for p in &model.properties {
        let Some(value) = entity.get(&p.name) else {
            continue;
        };
        match value {
            Value::Null => props.push_str(&format!(
                "<d:{0} m:type=\"{1}\" m:null=\"true\"/>",
                p.name,
                p.kind.name()
            )),
            Value::String(s) => props.push_str(&format!(
                "<d:{0} m:type=\"{1}\">{2}</d:{0}>",
                p.name,
                p.kind.name(),
                xml_escape(s)
            )),
            other => props.push_str(&format!(
                "<d:{0} m:type=\"{1}\">{2}</d:{0}>",
                p.name,
                p.kind.name(),
                other
            )),
        }
    }
    let namespaces = if standalone { NAMESPACES } else { "" };
    let base = if standalone {
        format!(" xml:base=\"{}\"", xml_escape(root))
    } else {
        String::new()
    };
    format!(
        "<entry{base}{namespaces}><id>{root}{segment}</id><title type=\"text\"/><updated>{updated}</updated><author><name/></author>\
<link href=\"{segment}\" rel=\"edit\" title=\"{ty}\"/>\
<category term=\"{qt}\" scheme=\"http://schemas.microsoft.com/ado/2007/08/dataservices/scheme\"/>\
<content type=\"application/xml\"><m:properties>{props}</m:properties></content></entry>",
        root = xml_escape(root),
        segment = xml_escape(&segment),
        ty = model.entity_type,
        qt = model.qualified_type(),
    )
}

const NAMESPACES: &str = " xmlns=\"http://www.w3.org/2005/Atom\" xmlns:d=\"http://schemas.microsoft.com/ado/2007/08/dataservices\" xmlns:m=\"http://schemas.microsoft.com/ado/2007/08/dataservices/metadata\"";

pub fn atom_feed<E: std::borrow::Borrow<Entity>>(
    model: &EntityModel,
    root: &str,
    entities: &[E],
    count: Option<usize>,
    updated: &str,
) -> String {
    let entries: String = entities
        .iter()
        .map(|e| atom_entry(model, root, e.borrow(), updated, false))
        .collect();
    let count = count
        .map(|c| format!("<m:count>{c}</m:count>"))
        .unwrap_or_default();
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><feed xml:base=\"{root}\"{NAMESPACES}>\
<id>{root}{set}</id><title type=\"text\">{set}</title><updated>{updated}</updated><author><name/></author>\
<link href=\"{set}\" rel=\"self\" title=\"{set}\"/>{count}{entries}</feed>",
        root = xml_escape(root),
        set = model.entity_set,
    )
}

pub fn service_document_xml(model: &EntityModel, root: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><app:service xml:base=\"{root}\" xmlns:app=\"http://www.w3.org/2007/app\" xmlns:atom=\"http://www.w3.org/2005/Atom\">\
<app:workspace><atom:title>Default</atom:title><app:collection href=\"{set}\"><atom:title>{set}</atom:title></app:collection></app:workspace></app:service>",
        root = xml_escape(root),
        set = model.entity_set,
    )
}

/// RFC 3339 UTC timestamp for Atom `<updated>`; the epoch for a time `time` cannot represent.
pub fn rfc3339(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MockConfig;

    fn model() -> EntityModel {
        EntityModel::from_config(&MockConfig::builtin().backend).unwrap()
    }

    #[test]
    fn filters_by_equality() {
        let m = model();
        let count = |f: &str| {
            let filter = Filter::parse(&m, f).unwrap();
            m.data.iter().filter(|e| filter.matches(&m, e)).count()
        };
        assert_eq!(count("Category eq 'Accessories'"), 2);
        assert_eq!(count("ProductID eq 3"), 1);
        assert_eq!(count("Price eq 956M"), 1);
        assert_eq!(count("Category eq 'Notebooks' and Stock eq 8"), 1);
        assert_eq!(
            count("(Category eq 'Printers' or Category eq 'Monitors')"),
            2
        );
        assert_eq!(count("Category ne 'Accessories'"), 4);
        assert!(
            Filter::parse(&m, "Price gt 5")
                .unwrap_err()
                .contains("gt is not supported")
        );
        assert!(
            Filter::parse(&m, "Colour eq 'x'")
                .unwrap_err()
                .contains("does not exist")
        );
    }

    #[test]
    fn keys_and_decimals() {
        let m = model();
        assert_eq!(m.parse_key("3").unwrap(), Value::from(3));
        assert_eq!(m.parse_key("ProductID=3").unwrap(), Value::from(3));
        assert!(m.parse_key("'x'").is_err());
        assert_eq!(decimal_key("0956.50").as_deref(), Some("956.5"));
        assert_eq!(decimal_key("-0.0").as_deref(), Some("0"));
        assert_eq!(decimal_key("abc"), None);
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }
}
