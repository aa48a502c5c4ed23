//! Property tests ("fuzzing" on the stable toolchain) for the mock's parsers of request input:
//! the OData `$filter`, `$orderby` and key predicates of the Backend API, and the mock XSUAA's
//! login-session cookie. Any input gives `Ok` or an error, never a panic or a stack overflow; an
//! accepted `$filter` means what OData says (`and` binds tighter than `or`, `ne` is not `eq`).
//! `PROPTEST_CASES` raises the case count.

use axum::http::{HeaderMap, HeaderValue, header};
use mock_platform::MockConfig;
use mock_platform::odata::{EntityModel, Filter, parse_orderby};
use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::Value;
use testkit::properties::{any_text, config};

fn model() -> EntityModel {
    EntityModel::from_config(&MockConfig::builtin().backend).expect("the built-in model loads")
}

/// Token soup: every word the grammar knows, literals of every type, stray quotes and parens.
fn filter_soup() -> BoxedStrategy<String> {
    let token = prop_oneof![
        4 => prop::sample::select(vec![
            "(", ")", "ProductID", "Name", "Price", "Stock", "Currency", "Nope", "eq", "ne", "gt", "and", "or",
            "not", "'x'", "'it''s'", "'", "''", "'unterminated", "1", "-1", "+", "-", "1.5", "1L", "12.50M", "1e5",
            "99999999999999999999", "true", "false", "null", "ü", "substringof(", ",", "/", "$",
        ]).prop_map(str::to_string),
        1 => "[A-Za-z0-9' ()._-]{0,8}",
        1 => any::<String>(),
    ];
    prop_oneof![
        4 => vec(token, 0..16).prop_map(|t| t.join(" ")),
        1 => any_text(),
        // Deep nesting, balanced or not, and long chains: what recursion cannot take.
        1 => (prop_oneof![0usize..64, 0usize..20_000], 0usize..64).prop_map(|(open, close)| {
            format!("{}ProductID eq 1{}", "(".repeat(open), ")".repeat(close))
        }),
        1 => (1usize..5_000).prop_map(|n| vec!["ProductID eq 1"; n].join(" and ")),
    ]
    .boxed()
}

/// A `$filter` expression with a known meaning.
#[derive(Debug, Clone)]
enum Expr {
    IdIs(bool, i64),
    NameIs(bool, String),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

impl Expr {
    /// Rendered with the fewest parentheses OData's precedence allows (plus some redundant ones).
    fn render(&self, extra_parens: &mut impl Iterator<Item = bool>) -> String {
        let op = |negate: bool| if negate { "ne" } else { "eq" };
        let text = match self {
            Expr::IdIs(n, v) => format!("ProductID {} {v}", op(*n)),
            Expr::NameIs(n, v) => format!("Name {} '{}'", op(*n), v.replace('\'', "''")),
            Expr::And(a, b) => {
                let side = |e: &Expr, parens: &mut dyn FnMut(&Expr) -> String| match e {
                    Expr::Or(..) => format!("({})", parens(e)),
                    _ => parens(e),
                };
                let l = side(a, &mut |e| e.render(extra_parens));
                let r = side(b, &mut |e| e.render(extra_parens));
                format!("{l} and {r}")
            }
            Expr::Or(a, b) => {
                let l = a.render(extra_parens);
                // Right-nested `or` needs no parentheses for the meaning, `and` never does.
                let r = b.render(extra_parens);
                format!("{l} or {r}")
            }
        };
        if extra_parens.next().unwrap_or(false) {
            format!("({text})")
        } else {
            text
        }
    }

    fn eval(&self, entity: &serde_json::Map<String, Value>) -> bool {
        match self {
            Expr::IdIs(negate, v) => (entity["ProductID"].as_i64() == Some(*v)) != *negate,
            Expr::NameIs(negate, v) => (entity["Name"].as_str() == Some(v.as_str())) != *negate,
            Expr::And(a, b) => a.eval(entity) && b.eval(entity),
            Expr::Or(a, b) => a.eval(entity) || b.eval(entity),
        }
    }
}

fn expr() -> BoxedStrategy<Expr> {
    let names: Vec<String> = model()
        .data
        .iter()
        .filter_map(|e| e["Name"].as_str().map(str::to_string))
        .collect();
    let leaf = prop_oneof![
        (any::<bool>(), -2i64..12).prop_map(|(n, v)| Expr::IdIs(n, v)),
        (
            any::<bool>(),
            prop_oneof![prop::sample::select(names), "[a-z' ]{0,6}"]
        )
            .prop_map(|(n, v)| Expr::NameIs(n, v)),
    ];
    leaf.prop_recursive(4, 16, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| Expr::Or(Box::new(a), Box::new(b))),
        ]
    })
    .boxed()
}

proptest! {
    #![proptest_config(config(3000))]

    /// Any `$filter` text parses or is refused; a parsed one can be applied to every entity.
    #[test]
    fn odata_filter_never_panics(text in filter_soup()) {
        thread_local!(static M: EntityModel = model());
        M.with(|m| {
            if let Ok(filter) = Filter::parse(m, &text) {
                for entity in &m.data {
                    let _ = filter.matches(m, entity);
                }
            }
        });
    }

    /// `$orderby` and key predicates (`Products(<here>)`) likewise.
    #[test]
    fn odata_orderby_and_key_never_panic(text in filter_soup()) {
        thread_local!(static M: EntityModel = model());
        M.with(|m| {
            let _ = parse_orderby(m, &text);
            let _ = m.parse_key(&text);
        });
    }
}

proptest! {
    #![proptest_config(config(2000))]

    /// A well-formed `$filter` selects exactly the entities its meaning selects.
    #[test]
    fn odata_filter_means_what_it_says(e in expr(), parens in vec(any::<bool>(), 64)) {
        thread_local!(static M: EntityModel = model());
        let mut extra = parens.into_iter();
        let text = e.render(&mut extra);
        M.with(|m| -> Result<(), TestCaseError> {
            let filter = Filter::parse(m, &text)
                .map_err(|err| TestCaseError::fail(format!("{text:?} refused: {err}")))?;
            for entity in &m.data {
                prop_assert_eq!(filter.matches(m, entity), e.eval(entity), "{} on {:?}", text, entity["ProductID"]);
            }
            Ok(())
        })?;
    }

    /// The mock XSUAA's login-session cookie: any `Cookie` header, no panic; the value found is
    /// the one sent under that name.
    #[test]
    fn xsuaa_session_cookie_never_panics(raw in vec(vec(any::<u8>(), 0..96), 0..3), value in "[a-zA-Z0-9_-]{1,20}") {
        let mut headers = HeaderMap::new();
        for bytes in raw {
            if let Ok(v) = HeaderValue::from_bytes(&bytes) {
                headers.append(header::COOKIE, v);
            }
        }
        let before = mock_platform::xsuaa::authorize::session_cookie(&headers);
        headers.append(
            header::COOKIE,
            HeaderValue::from_str(&format!("other=1; mock_xsuaa_session={value}")).unwrap(),
        );
        let found = mock_platform::xsuaa::authorize::session_cookie(&headers);
        // An earlier header may carry the cookie already (the first one wins); else ours is found.
        prop_assert_eq!(found, before.or(Some(value)));
    }
}

/// Found by `odata_filter_never_panics`: nested parentheses recursed once per level, so a
/// `$filter` of some ten thousand `(` overflowed the stack and aborted the whole mock.
#[test]
fn deeply_nested_filter_is_refused_not_a_stack_overflow() {
    let m = model();
    for depth in [100_000, 200] {
        let text = format!("{}ProductID eq 1{}", "(".repeat(depth), ")".repeat(depth));
        let err = Filter::parse(&m, &text).unwrap_err();
        assert!(err.contains("nest"), "{err}");
    }
    // Moderate nesting still works.
    let text = format!("{}ProductID eq 1{}", "(".repeat(10), ")".repeat(10));
    assert!(Filter::parse(&m, &text).is_ok());
}

/// A chain of thousands of `and`s built a tree that `matches` (and dropping it) walked
/// recursively: a stack overflow too. The number of comparisons is bounded.
#[test]
fn a_filter_with_too_many_comparisons_is_refused() {
    let m = model();
    let text = vec!["ProductID eq 1"; 50_000].join(" and ");
    let err = Filter::parse(&m, &text).unwrap_err();
    assert!(err.contains("comparisons"), "{err}");
    let text = vec!["ProductID ne 1"; 50].join(" and ");
    let filter = Filter::parse(&m, &text).unwrap();
    assert!(m.data.iter().any(|e| filter.matches(&m, e)));
}
