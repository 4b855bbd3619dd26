//! GBNF grammars (llama.cpp's grammar format) that only admit valid tool calls.
//!
//! Once the model has opened `<tool_call>`, sampling follows a grammar built from the declared
//! tools: a JSON object `{"name": <one of the tools>, "arguments": <object valid for that tool's
//! schema>}`, then `</tool_call>`, then (when parallel calls are allowed) more calls. When the
//! grammar is complete llama.cpp only admits end-of-generation, so the turn ends with the calls.
//!
//! The schema subset: `type` (one or several), `properties` + `required` (required properties
//! always present; properties in declared order, required first), `items`, `enum`, `const`,
//! `anyOf`/`oneOf`, `minItems` >= 1. Anything else (`$ref`, `allOf`, patterns, bounds) is
//! admitted as any JSON value of the right kind, so the grammar never rejects what the schema
//! allows by more than property order and extra properties.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use crate::prompt::{ToolDecl, CALL_CLOSE, CALL_OPEN};

/// Schemas nested deeper than this are admitted as any JSON value (hostile schemas must not
/// make the grammar explode).
const MAX_DEPTH: usize = 12;

/// Basic JSON rules shared by every grammar.
const BASE_RULES: &str = r#"sp ::= " "?
value ::= object | array | string | number | boolean | null
object ::= "{" sp ( member ( "," sp member )* )? sp "}"
member ::= string sp ":" sp value
array ::= "[" sp ( value ( "," sp value )* )? sp "]"
string ::= "\"" char* "\""
char ::= [^"\\\x7F\x00-\x1F] | "\\" ( ["\\/bfnrt] | "u" [0-9a-fA-F]{4} )
number ::= integer ( "." [0-9]{1,16} )? ( [eE] [-+]? [0-9]{1,3} )?
integer ::= "-"? ( "0" | [1-9] [0-9]{0,15} )
boolean ::= "true" | "false"
null ::= "null"
"#;

/// The grammar for what follows `<tool_call>\n`: one call, or (with `parallel`) several.
pub(crate) fn tool_call_grammar(tools: &[ToolDecl], parallel: bool) -> String {
    let mut b = Builder::default();
    let mut alternatives = Vec::new();
    for (i, tool) in tools.iter().enumerate() {
        let args = b.object_rule(&tool.parameters, 0);
        let rule = format!("tool{i}");
        b.rules.insert(
            rule.clone(),
            format!(
                "{} sp \",\" sp \"\\\"arguments\\\"\" sp \":\" sp {args}",
                lit(&Value::String(tool.name.clone()).to_string())
            ),
        );
        alternatives.push(rule);
    }
    let mut out = String::new();
    let more = if parallel {
        format!(" ( \"\\n\"? {} \"\\n\"? call )*", lit(CALL_OPEN))
    } else {
        String::new()
    };
    let _ = writeln!(out, "root ::= call{more}");
    let _ = writeln!(
        out,
        "call ::= \"{{\" sp \"\\\"name\\\"\" sp \":\" sp ( {} ) sp \"}}\" \"\\n\"? {}",
        alternatives.join(" | "),
        lit(CALL_CLOSE)
    );
    for (name, body) in &b.rules {
        let _ = writeln!(out, "{name} ::= {body}");
    }
    out.push_str(BASE_RULES);
    out
}

#[derive(Default)]
struct Builder {
    rules: BTreeMap<String, String>,
    next: usize,
}

impl Builder {
    fn fresh(&mut self, body: String) -> String {
        // Identical bodies share a rule.
        if let Some((name, _)) = self.rules.iter().find(|(_, b)| **b == body) {
            return name.clone();
        }
        self.next += 1;
        let name = format!("r{}", self.next);
        self.rules.insert(name.clone(), body);
        name
    }

    /// An expression for a value valid for `schema`.
    fn value(&mut self, schema: &Value, depth: usize) -> String {
        let Some(obj) = schema.as_object() else {
            return "value".into();
        };
        if depth > MAX_DEPTH {
            return "value".into();
        }
        if let Some(c) = obj.get("const") {
            return lit(&c.to_string());
        }
        if let Some(Value::Array(options)) = obj.get("enum") {
            if !options.is_empty() {
                let alts: Vec<String> = options.iter().map(|o| lit(&o.to_string())).collect();
                return self.fresh(alts.join(" | "));
            }
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(Value::Array(options)) = obj.get(key) {
                if !options.is_empty() {
                    let alts: Vec<String> =
                        options.iter().map(|o| self.value(o, depth + 1)).collect();
                    return self.fresh(alts.join(" | "));
                }
            }
        }
        match obj.get("type") {
            Some(Value::String(t)) => self.typed(t, schema, depth),
            Some(Value::Array(types)) => {
                let alts: Vec<String> = types
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|t| self.typed(t, schema, depth))
                    .collect();
                if alts.is_empty() {
                    "value".into()
                } else {
                    self.fresh(alts.join(" | "))
                }
            }
            _ if obj.contains_key("properties") => self.object_rule(schema, depth),
            _ if obj.contains_key("items") => self.typed("array", schema, depth),
            _ => "value".into(),
        }
    }

    fn typed(&mut self, t: &str, schema: &Value, depth: usize) -> String {
        match t {
            "string" => "string".into(),
            "integer" => "integer".into(),
            "number" => "number".into(),
            "boolean" => "boolean".into(),
            "null" => "null".into(),
            "object" => self.object_rule(schema, depth),
            "array" => {
                let item = match schema.get("items") {
                    Some(items) => self.value(items, depth + 1),
                    None => "value".into(),
                };
                let min = schema.get("minItems").and_then(Value::as_u64).unwrap_or(0);
                let list = format!("{item} ( \",\" sp {item} )*");
                if min >= 1 {
                    self.fresh(format!("\"[\" sp {list} sp \"]\""))
                } else {
                    self.fresh(format!("\"[\" sp ( {list} )? sp \"]\""))
                }
            }
            _ => "value".into(),
        }
    }

    /// An object with the schema's properties: required ones always, in declared order, then
    /// optional ones, each optional. A schema without properties admits any object (a tool's
    /// arguments are an object even when its schema says nothing).
    fn object_rule(&mut self, schema: &Value, depth: usize) -> String {
        let props = schema.get("properties").and_then(Value::as_object);
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let Some(props) = props.filter(|p| !p.is_empty()) else {
            if required.is_empty() {
                return "object".into();
            }
            // Required names without declared schemas: any value each.
            let kvs: Vec<String> = required.iter().map(|r| member(r, "value")).collect();
            return self.fresh(format!("\"{{\" sp {} sp \"}}\"", kvs.join(" \",\" sp ")));
        };
        let mut req = Vec::new();
        let mut opt = Vec::new();
        for (name, sub) in props {
            let v = self.value(sub, depth + 1);
            if required.contains(&name.as_str()) {
                req.push(member(name, &v));
            } else {
                opt.push(member(name, &v));
            }
        }
        for r in &required {
            if !props.contains_key(*r) {
                req.push(member(r, "value"));
            }
        }
        let body = if !req.is_empty() {
            let mut body = format!("\"{{\" sp {}", req.join(" \",\" sp "));
            for o in &opt {
                let _ = write!(body, " ( \",\" sp {o} )?");
            }
            body.push_str(" sp \"}\"");
            body
        } else {
            // No required property: any ordered subset of the optional ones, possibly empty.
            // rest_i = ("," o_i)? rest_{i+1}; start = o_0 rest_1 | o_1 rest_2 | ...
            let mut rest = String::new();
            let mut starts = Vec::new();
            for o in opt.iter().rev() {
                let start = if rest.is_empty() {
                    o.clone()
                } else {
                    format!("{o} {rest}")
                };
                starts.push(start);
                let tail = if rest.is_empty() {
                    format!("( \",\" sp {o} )?")
                } else {
                    format!("( \",\" sp {o} )? {rest}")
                };
                rest = self.fresh(tail);
            }
            starts.reverse();
            let alts = self.fresh(starts.join(" | "));
            format!("\"{{\" sp ( {alts} )? sp \"}}\"")
        };
        self.fresh(body)
    }
}

fn member(name: &str, value: &str) -> String {
    format!(
        "{} sp \":\" sp {value}",
        lit(&Value::String(name.to_string()).to_string())
    )
}

/// A GBNF string literal for `text`.
fn lit(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A call the model made, read back from the text the grammar admitted.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParsedCall {
    pub name: String,
    pub arguments: Value,
}

/// Reads the calls out of the constrained text (what followed the first `<tool_call>\n`).
pub(crate) fn parse_calls(text: &str) -> Result<Vec<ParsedCall>, String> {
    let mut calls = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
        let value = match stream.next() {
            Some(Ok(v)) => v,
            Some(Err(e)) => return Err(format!("the tool call is not valid JSON: {e}")),
            None => return Err("the tool call is empty".into()),
        };
        rest = &rest[stream.byte_offset()..];
        let name = value
            .get("name")
            .and_then(Value::as_str)
            .ok_or("the tool call names no function")?
            .to_string();
        let arguments = value
            .get("arguments")
            .cloned()
            .ok_or("the tool call has no arguments")?;
        calls.push(ParsedCall { name, arguments });
        rest = rest.trim_start();
        rest = rest
            .strip_prefix(CALL_CLOSE)
            .ok_or("the tool call is not closed")?
            .trim_start();
        if rest.is_empty() {
            return Ok(calls);
        }
        rest = rest
            .strip_prefix(CALL_OPEN)
            .ok_or_else(|| format!("unexpected text after a tool call: {rest:?}"))?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tool(name: &str, parameters: Value) -> ToolDecl {
        ToolDecl {
            name: name.into(),
            description: String::new(),
            parameters,
            custom: false,
        }
    }

    #[test]
    fn grammar_names_every_tool_and_required_property() {
        let g = tool_call_grammar(
            &[
                tool(
                    "shell",
                    json!({"type":"object","properties":{
                        "command":{"type":"array","items":{"type":"string"}},
                        "timeout_ms":{"type":"number"},
                        "mode":{"type":"string","enum":["a","b\"c"]}},
                        "required":["command"]}),
                ),
                tool("ping", json!({"type":"object","properties":{}})),
            ],
            false,
        );
        assert!(g.starts_with("root ::= call\n"), "{g}");
        assert!(g.contains(r#""\"shell\"" sp "," sp "\"arguments\"" sp ":" sp"#));
        assert!(g.contains(r#""\"ping\"" sp "," sp "\"arguments\"" sp ":" sp object"#));
        assert!(g.contains(r#""\"command\"" sp ":" sp r"#), "{g}");
        assert!(g.contains(r#"( "," sp "\"timeout_ms\"" sp ":" sp number )?"#));
        assert!(g.contains(r#""\"a\"" | "\"b\\\"c\"""#), "{g}");
        assert!(g.contains(r#""[" sp ( string ( "," sp string )* )? sp "]""#));
    }

    #[test]
    fn parallel_calls_repeat() {
        let g = tool_call_grammar(&[tool("t", json!({}))], true);
        assert!(g.starts_with(r#"root ::= call ( "\n"? "<tool_call>" "\n"? call )*"#));
    }

    #[test]
    fn hostile_schemas_stay_bounded() {
        let mut schema = json!({"type":"string"});
        for _ in 0..200 {
            schema = json!({"type":"object","properties":{"x":schema},"required":["x"]});
        }
        let g = tool_call_grammar(&[tool("deep", schema)], false);
        assert!(g.len() < 20_000, "{}", g.len());
        assert!(g.contains("value"));
    }

    #[test]
    fn only_optional_properties_allow_any_ordered_subset() {
        let g = tool_call_grammar(
            &[tool(
                "f",
                json!({"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"boolean"}}}),
            )],
            false,
        );
        assert!(g.contains(r#""\"a\"" sp ":" sp integer r"#), "{g}");
        assert!(g.contains(r#"| "\"b\"" sp ":" sp boolean"#), "{g}");
    }

    #[test]
    fn calls_parse_back() {
        let calls = parse_calls(
            "{\"name\": \"shell\", \"arguments\": {\"command\": [\"ls\"]}}\n</tool_call>\n<tool_call>\n{\"name\":\"ping\",\"arguments\":{}}</tool_call>",
        )
        .unwrap();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].name, "shell");
        assert_eq!(calls[0].arguments, json!({"command": ["ls"]}));
        assert_eq!(calls[1].arguments, json!({}));
        assert!(parse_calls("{\"name\": \"x\"}</tool_call>").is_err());
        assert!(parse_calls("{\"name\": \"x\", \"arguments\": {}}").is_err());
    }
}
