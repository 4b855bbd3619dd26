//! A strict mock checks each scripted tool call against the tools the request declared, as a
//! real model's calls would fit them: the tool must be declared, and a function call's
//! arguments must fit its parameter schema (required members, no undeclared members where
//! `additionalProperties` is false, types, enums, nested objects and arrays). A test that
//! scripts a call the client never offered, or offered in another shape, fails loudly.

use serde_json::Value;

use crate::OutputItem;

/// `Err` names the first call that does not fit.
pub(crate) fn check(request: &Value, items: &[OutputItem]) -> Result<(), String> {
    let tools = request.get("tools").and_then(Value::as_array);
    for item in items {
        match item {
            OutputItem::FunctionCall {
                name, arguments, ..
            } => {
                let tool = declared(tools, name)
                    .ok_or_else(|| format!("the call to `{name}` names no declared tool"))?;
                if tool.kind != "function" {
                    return Err(format!(
                        "`{name}` is declared as {}, not a function",
                        tool.kind
                    ));
                }
                let args: Value = serde_json::from_str(arguments)
                    .map_err(|e| format!("`{name}`'s arguments are not JSON: {e}"))?;
                if let Some(schema) = tool.parameters {
                    fits(&args, schema, name)?;
                }
            }
            OutputItem::CustomToolCall { name, .. } => {
                let tool = declared(tools, name)
                    .ok_or_else(|| format!("the call to `{name}` names no declared tool"))?;
                if tool.kind != "custom" {
                    return Err(format!(
                        "`{name}` is declared as {}, not a custom tool",
                        tool.kind
                    ));
                }
            }
            OutputItem::Message { .. } | OutputItem::Reasoning { .. } | OutputItem::Raw { .. } => {}
        }
    }
    Ok(())
}

struct Declared<'a> {
    kind: &'a str,
    parameters: Option<&'a Value>,
}

/// The declaration of `name`, in Responses (`{type, name, parameters}`) or Chat Completions
/// (`{type: "function", function: {name, parameters}}`) form.
fn declared<'a>(tools: Option<&'a Vec<Value>>, name: &str) -> Option<Declared<'a>> {
    tools?.iter().find_map(|tool| {
        let kind = tool.get("type").and_then(Value::as_str)?;
        let body = tool.get("function").unwrap_or(tool);
        (body.get("name").and_then(Value::as_str) == Some(name)).then(|| Declared {
            kind,
            parameters: body.get("parameters"),
        })
    })
}

fn fits(value: &Value, schema: &Value, path: &str) -> Result<(), String> {
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            return Err(format!("{path} = {value} is not one of {allowed:?}"));
        }
    }
    let Some(kind) = schema.get("type").and_then(Value::as_str) else {
        return Ok(());
    };
    let ok = match kind {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => true,
    };
    if !ok {
        return Err(format!("{path} should be {kind}, got {value}"));
    }
    if let Some(object) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !object.contains_key(required) {
                return Err(format!("{path} lacks the required `{required}`"));
            }
        }
        let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
        for (key, member) in object {
            match properties.and_then(|p| p.get(key)) {
                Some(sub) => fits(member, sub, &format!("{path}.{key}"))?,
                None if closed => return Err(format!("{path} has the undeclared `{key}`")),
                None => {}
            }
        }
    }
    if let (Some(array), Some(items)) = (value.as_array(), schema.get("items")) {
        for (i, member) in array.iter().enumerate() {
            fits(member, items, &format!("{path}[{i}]"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request() -> Value {
        json!({"tools": [
            {"type": "function", "name": "write_stdin", "parameters": {
                "type": "object",
                "properties": {"session_id": {"type": "number"}, "chars": {"type": "string"}},
                "required": ["session_id"], "additionalProperties": false}},
            {"type": "custom", "name": "apply_patch"}
        ]})
    }

    fn call(name: &str, args: Value) -> OutputItem {
        OutputItem::function(name, args)
    }

    #[test]
    fn a_call_that_fits_passes_and_each_misfit_is_named() {
        let r = request();
        assert!(check(
            &r,
            &[call("write_stdin", json!({"session_id": 3, "chars": "x"}))]
        )
        .is_ok());
        let cases = [
            (call("shell", json!({})), "names no declared tool"),
            (
                call("write_stdin", json!({"chars": "x"})),
                "lacks the required `session_id`",
            ),
            (
                call("write_stdin", json!({"session_id": "3"})),
                "should be number",
            ),
            (
                call("write_stdin", json!({"session_id": 3, "tty": true})),
                "undeclared `tty`",
            ),
            (call("apply_patch", json!({})), "not a function"),
        ];
        for (item, why) in cases {
            let err = check(&r, &[item]).unwrap_err();
            assert!(err.contains(why), "{err}");
        }
    }
}
