//! Tool schemas from real MCP servers (tests/fixtures/mcp_tools.json): what
//! Gemini is sent for each (golden: tests/fixtures/mcp_tools.gemini.json;
//! `SWITCHYARD_BLESS=1` rewrites it after a deliberate change — then read
//! the diff), that Gemini's rules accept all of it (the mock enforces them),
//! and that a free-form argument the model writes as JSON text reaches the
//! client as JSON.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

mod support;

use std::path::Path;

use serde_json::{Map, Value, json};
use support::{MockGoogle, Scripted, TestGateway};
use switchyard::protocol::schema::gemini_parameters_from_json_schema;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn mcp_tools() -> Vec<Value> {
    let text = std::fs::read_to_string(fixture("mcp_tools.json")).unwrap();
    let all: Value = serde_json::from_str(&text).unwrap();
    all["tools"].as_array().unwrap().clone()
}

#[test]
fn mcp_tool_schemas_match_their_golden_gemini_form_and_gemini_accepts_them() {
    let mut out = Map::new();
    for tool in mcp_tools() {
        let name = tool["name"].as_str().unwrap().to_owned();
        let parameters = gemini_parameters_from_json_schema(&tool["input_schema"])
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        if let Some(parameters) = &parameters {
            support::schema_problem(parameters, &name)
                .unwrap_or_else(|e| panic!("Gemini refuses {name}: {e}\n{parameters:#}"));
        }
        out.insert(name, parameters.unwrap_or(Value::Null));
    }
    let golden = fixture("mcp_tools.gemini.json");
    let produced = serde_json::to_string_pretty(&Value::Object(out)).unwrap() + "\n";
    if std::env::var_os("SWITCHYARD_BLESS").is_some() {
        std::fs::write(&golden, &produced).unwrap();
    }
    let expected = std::fs::read_to_string(&golden).unwrap();
    assert_eq!(
        produced,
        expected,
        "the Gemini form of the MCP tools changed (SWITCHYARD_BLESS=1 rewrites {})",
        golden.display()
    );
}

#[test]
fn the_mock_refuses_what_gemini_refuses() {
    for (schema, says) in [
        (
            json!({"type": "OBJECT", "properties": {"o": {"type": "OBJECT"}}}),
            "should be non-empty for OBJECT type",
        ),
        (
            json!({"type": "OBJECT", "properties": {"a": {"type": "ARRAY"}}}),
            "items: missing field",
        ),
        (
            json!({"type": "OBJECT", "properties": {"a": {"type": "STRING"}}, "additionalProperties": false}),
            "Unknown name \"additionalProperties\"",
        ),
        (
            json!({"type": "OBJECT", "properties": {"a": {"$ref": "#/x"}}}),
            "Unknown name \"$ref\"",
        ),
    ] {
        let refused = support::schema_problem(&schema, "p").unwrap_err();
        assert!(refused.contains(says), "{refused}");
    }
}

#[tokio::test]
async fn mcp_tools_go_through_and_free_form_arguments_come_back_as_json() {
    let mock = MockGoogle::start().await;
    let gateway = TestGateway::with_one_account(&mock).await;
    // The model fills the free-form `properties` and `cover` (and an
    // element of the untyped `children`) with JSON text, as the schema tells it.
    let answer = json!({"candidates": [{"content": {"role": "model", "parts": [
        {"functionCall": {"id": "fc-1", "name": "API-post-page", "args": {
            "parent": {"page_id": "p-1"},
            "properties": "{\"Name\": {\"title\": [{\"text\": {\"content\": \"Hi\"}}]}}",
            "children": ["{\"type\": \"paragraph\"}", "plain words"],
            "icon": "not json at all",
            "cover": "null"
        }}}
    ]}, "finishReason": "STOP"}]});
    for stream in [false, true] {
        mock.mock.script(Scripted::Answer(answer.clone()));
        let response = gateway
            .client
            .post(gateway.url("/v1/messages"))
            .header("anthropic-version", "2023-06-01")
            .json(&json!({
                "model": "claude-sonnet-4-5",
                "max_tokens": 100,
                "stream": stream,
                "tools": mcp_tools(),
                "messages": [{"role": "user", "content": "make a page"}]
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "stream {stream}");
        let input = if stream {
            let text = response.text().await.unwrap();
            let json: String = text
                .lines()
                .filter_map(|l| l.strip_prefix("data: "))
                .filter_map(|d| serde_json::from_str::<Value>(d).ok())
                .filter_map(|e| e["delta"]["partial_json"].as_str().map(str::to_owned))
                .collect();
            serde_json::from_str::<Value>(&json).unwrap()
        } else {
            let body: Value = response.json().await.unwrap();
            body["content"][0]["input"].clone()
        };
        assert_eq!(
            input["properties"],
            json!({"Name": {"title": [{"text": {"content": "Hi"}}]}}),
            "stream {stream}"
        );
        assert_eq!(
            input["children"],
            json!([{"type": "paragraph"}, "plain words"])
        );
        assert_eq!(input["icon"], "not json at all");
        assert_eq!(input["cover"], Value::Null);
        assert_eq!(input["parent"], json!({"page_id": "p-1"}));
    }
    // What Gemini was sent passed the mock's schema rules (else a 400
    // above), every tool declared (the one without parameters without them).
    let received = mock.mock.received();
    let sent = &received.last().unwrap().body["request"]["tools"][0]["functionDeclarations"];
    assert_eq!(sent.as_array().unwrap().len(), mcp_tools().len());
}
