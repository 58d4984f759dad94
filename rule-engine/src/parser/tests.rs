//! Parser unit tests, after EMQX's `t_sqlparse_*` cases.

use super::{MAX_DEPTH, parse_statement};
use crate::ast::{AliasSegment, BinaryOp, Expr, Field, LogicalOp, Segment};
use crate::value::Value;

fn field_exprs(sql: &str) -> Vec<Field> {
    parse_statement(sql).unwrap().fields
}

fn error(sql: &str) -> (usize, usize, String) {
    let e = parse_statement(sql).unwrap_err();
    (e.line, e.column, e.message)
}

#[test]
fn select_star_and_from_list() {
    let st = parse_statement(r#"SELECT * FROM "t/#", 'x/+'"#).unwrap();
    assert_eq!(st.fields, vec![Field::Star]);
    let from: Vec<&str> = st.from.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(from, ["t/#", "x/+"]);
    assert!(st.condition.is_none());
}

#[test]
fn keywords_are_case_insensitive() {
    let st = parse_statement(r#"sElEcT a As b fRoM "t" wHeRe a = 1 AnD b = 2"#).unwrap();
    assert!(matches!(
        st.condition,
        Some(Expr::Logical {
            op: LogicalOp::And,
            ..
        })
    ));
}

#[test]
fn aliases_with_and_without_as_and_paths() {
    let fields = field_exprs(r#"SELECT a AS x, b y, c AS p.q, d AS l[2].z, e AS c[-0] FROM "t""#);
    let aliases: Vec<_> = fields
        .iter()
        .map(|f| match f {
            Field::Expr { alias: Some(a), .. } => (a.root.clone(), a.segments.clone()),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(aliases[0], ("x".into(), vec![]));
    assert_eq!(aliases[1], ("y".into(), vec![]));
    assert_eq!(
        aliases[2],
        ("c".into(), vec![AliasSegment::Key("q".into())])
            .clone()
            .with_root("p")
    );
    assert_eq!(
        aliases[3],
        (
            "l".into(),
            vec![AliasSegment::Index(2), AliasSegment::Key("z".into())]
        )
    );
    assert_eq!(aliases[4], ("c".into(), vec![AliasSegment::Append]));
}

trait WithRoot {
    fn with_root(self, root: &str) -> Self;
}

impl WithRoot for (String, Vec<AliasSegment>) {
    fn with_root(self, root: &str) -> Self {
        (root.to_owned(), self.1)
    }
}

#[test]
fn paths_with_quoted_keys_indexes_and_ranges() {
    let fields =
        field_exprs(r#"SELECT pub_props.'User-Property'.foo, a[-1], a[1..4], "a b" FROM "t""#);
    let Field::Expr {
        expr: Expr::Var(var),
        ..
    } = &fields[0]
    else {
        panic!()
    };
    assert_eq!(var.root, "pub_props");
    assert_eq!(
        var.segments,
        vec![
            Segment::Key("User-Property".into()),
            Segment::Key("foo".into())
        ]
    );
    let Field::Expr {
        expr: Expr::Var(var),
        ..
    } = &fields[1]
    else {
        panic!()
    };
    assert_eq!(
        var.segments,
        vec![Segment::Index(Box::new(Expr::Const(Value::Int(-1))))]
    );
    assert!(matches!(
        &fields[2],
        Field::Expr {
            expr: Expr::GetRange {
                begin: 1,
                end: 4,
                ..
            },
            ..
        }
    ));
    let Field::Expr {
        expr: Expr::Var(var),
        ..
    } = &fields[3]
    else {
        panic!()
    };
    assert_eq!(var.root, "a b");
}

#[test]
fn precedence() {
    // 1 + 2 * 3 parses as 1 + (2 * 3)
    let fields = field_exprs(r#"SELECT 1 + 2 * 3 FROM "t""#);
    let Field::Expr {
        expr:
            Expr::Binary {
                op: BinaryOp::Add,
                rhs,
                ..
            },
        ..
    } = &fields[0]
    else {
        panic!()
    };
    assert!(matches!(
        rhs.as_ref(),
        Expr::Binary {
            op: BinaryOp::Mul,
            ..
        }
    ));
    // a OR b AND c parses as a OR (b AND c)
    let st = parse_statement(r#"SELECT 1 FROM "t" WHERE a = 1 OR b = 2 AND c = 3"#).unwrap();
    let Some(Expr::Logical {
        op: LogicalOp::Or,
        rhs,
        ..
    }) = st.condition
    else {
        panic!()
    };
    assert!(matches!(
        rhs.as_ref(),
        Expr::Logical {
            op: LogicalOp::And,
            ..
        }
    ));
    // div and mod bind like *
    let fields = field_exprs(r#"SELECT 1 + 7 div 2 FROM "t""#);
    let Field::Expr {
        expr:
            Expr::Binary {
                op: BinaryOp::Add,
                rhs,
                ..
            },
        ..
    } = &fields[0]
    else {
        panic!()
    };
    assert!(matches!(
        rhs.as_ref(),
        Expr::Binary {
            op: BinaryOp::IntDiv,
            ..
        }
    ));
}

#[test]
fn case_expressions_lists_and_in() {
    parse_statement(r#"SELECT CASE WHEN a > 1 THEN 'x' ELSE 'y' END AS c FROM "t""#).unwrap();
    parse_statement(r#"SELECT CASE a WHEN 1 THEN 'x' END AS c FROM "t""#).unwrap();
    parse_statement(
        r#"SELECT [1, 'a', b] AS l, [1..3] AS r FROM "t" WHERE x IN (1, 2) AND y NOT IN ('a')"#,
    )
    .unwrap();
}

#[test]
fn foreach_with_do_and_incase() {
    let st = parse_statement(
        r#"FOREACH payload.sensors AS s DO s.id AS id, clientid INCASE s.v > 1 FROM "t/#" WHERE qos = 1"#,
    )
    .unwrap();
    let foreach = st.foreach.unwrap();
    assert_eq!(foreach.do_fields.len(), 2);
    assert!(foreach.incase.is_some());
    assert!(st.condition.is_some());
}

#[test]
fn comments_and_newlines() {
    parse_statement("SELECT a -- the a\n, b\nFROM \"t\" -- done").unwrap();
}

#[test]
fn errors_name_position_and_expectation() {
    assert_eq!(
        error("SELECT FROM"),
        (1, 8, "expected an expression, found `FROM`".into())
    );
    let (line, column, message) = error("SELECT a\nWHERE b");
    assert_eq!((line, column), (2, 1));
    assert!(message.starts_with("expected FROM"), "{message}");
    assert!(error("SELECT a FROM").2.contains("topic filter"));
    assert!(
        error(r#"SELECT a FROM "t" garbage"#)
            .2
            .contains("end of statement")
    );
    assert!(error("UPDATE x").2.contains("SELECT or FOREACH"));
    assert!(
        error(r#"SELECT .5 FROM "t""#)
            .2
            .contains("expected an expression")
    );
    assert!(error(r#"SELECT `a` FROM "t""#).2.contains("backticks"));
    assert!(error(r#"SELECT CASE a END FROM "t""#).2.contains("WHEN"));
    assert!(
        error(r#"SELECT f(1, FROM "t""#)
            .2
            .contains("expected an expression")
    );
}

#[test]
fn only_lowercase_true_false_are_booleans() {
    let fields = field_exprs(r#"SELECT true, TRUE FROM "t""#);
    assert!(matches!(
        &fields[0],
        Field::Expr {
            expr: Expr::Const(Value::Bool(true)),
            ..
        }
    ));
    assert!(matches!(
        &fields[1],
        Field::Expr {
            expr: Expr::Var(_),
            ..
        }
    ));
}

#[test]
fn nesting_is_capped() {
    let deep_parens = format!(
        "SELECT {}1{} FROM \"t\"",
        "(".repeat(MAX_DEPTH + 5),
        ")".repeat(MAX_DEPTH + 5)
    );
    assert!(error(&deep_parens).2.contains("nested too deeply"));
    let long_chain = format!("SELECT 1{} FROM \"t\"", " + 1".repeat(MAX_DEPTH * 2));
    assert!(error(&long_chain).2.contains("nested too deeply"));
    let negations = format!("SELECT {}1 FROM \"t\"", "- ".repeat(10_000));
    assert!(error(&negations).2.contains("nested too deeply"));
    let fine = format!("SELECT {}1{} FROM \"t\"", "(".repeat(20), ")".repeat(20));
    parse_statement(&fine).unwrap();
}
