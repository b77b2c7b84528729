"""Drives one official SDK against a running Switchyard gateway whose only
member is an API-key upstream (a mock OpenAI-compatible, Anthropic, Gemini
API or Vertex server).

Run by tests/sdk_upstreams.rs with BASE_URL (the gateway's origin), API_KEY,
MODEL and SDK (`chat`, `responses`, `anthropic` or `genai`). The mock answers
`echo: LAST TEXT`, calls the first declared tool when offered tools, and
answers `tool said: RESULT` after a tool result. Exits non-zero on the first
failed check.
"""

import json
import os

from sdkcheck import Checks, expect

base_url = os.environ["BASE_URL"]
api_key = os.environ["API_KEY"]
model = os.environ["MODEL"]
sdk = os.environ["SDK"]
checks = Checks(f"{sdk} SDK on {os.environ.get('KIND', '?')}")
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def said(text):
    assert "tool said" in text and "22 C" in text, f"expected the tool's result in the answer: {text!r}"


if sdk in ("chat", "responses"):
    from openai import OpenAI

    client = OpenAI(base_url=base_url + "/v1", api_key=api_key, max_retries=0, timeout=30)

if sdk == "chat":
    TOOLS = [{"type": "function", "function": {"name": "weather", "parameters": SCHEMA}}]
    ASK = [{"role": "user", "content": "weather?"}]

    @checks.check("text")
    def _():
        answer = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hello"}])
        expect(answer.choices[0].message.content, "echo: hello", "answer")

    @checks.check("stream")
    def _():
        stream = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hello"}], stream=True)
        expect("".join(c.choices[0].delta.content or "" for c in stream if c.choices), "echo: hello", "streamed answer")

    @checks.check("tool round trip")
    def _():
        first = client.chat.completions.create(model=model, messages=ASK, tools=TOOLS)
        call = first.choices[0].message.tool_calls[0]
        expect(json.loads(call.function.arguments), {"city": "x"}, "arguments")
        history = ASK + [first.choices[0].message.model_dump(exclude_none=True), {"role": "tool", "tool_call_id": call.id, "content": "22 C"}]
        said(client.chat.completions.create(model=model, messages=history, tools=TOOLS).choices[0].message.content)

    @checks.check("streamed tool call")
    def _():
        stream = client.chat.completions.create(model=model, messages=ASK, tools=TOOLS, stream=True)
        arguments = "".join(
            t.function.arguments or "" for c in stream if c.choices for t in (c.choices[0].delta.tool_calls or [])
        )
        expect(json.loads(arguments), {"city": "x"}, "streamed arguments")

elif sdk == "responses":
    TOOLS = [{"type": "function", "name": "weather", "parameters": SCHEMA}]

    @checks.check("text")
    def _():
        expect(client.responses.create(model=model, input="hello").output_text, "echo: hello", "answer")

    @checks.check("stream")
    def _():
        stream = client.responses.create(model=model, input="hello", stream=True)
        text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        expect(text, "echo: hello", "streamed answer")

    @checks.check("tool round trip")
    def _():
        first = client.responses.create(model=model, input="weather?", tools=TOOLS)
        call = next(o for o in first.output if o.type == "function_call")
        expect(json.loads(call.arguments), {"city": "x"}, "arguments")
        history = [{"role": "user", "content": "weather?"}, call.model_dump(exclude_none=True), {"type": "function_call_output", "call_id": call.call_id, "output": "22 C"}]
        said(client.responses.create(model=model, input=history, tools=TOOLS).output_text)

    @checks.check("streamed tool call")
    def _():
        stream = client.responses.create(model=model, input="weather?", tools=TOOLS, stream=True)
        done = [e.item for e in stream if e.type == "response.output_item.done" and e.item.type == "function_call"]
        expect(json.loads(done[0].arguments), {"city": "x"}, "streamed arguments")

elif sdk == "anthropic":
    from anthropic import Anthropic

    client = Anthropic(base_url=base_url, api_key=api_key, max_retries=0, timeout=30)
    TOOLS = [{"name": "weather", "description": "Weather", "input_schema": SCHEMA}]
    ASK = [{"role": "user", "content": "weather?"}]

    @checks.check("text")
    def _():
        answer = client.messages.create(model=model, max_tokens=100, messages=[{"role": "user", "content": "hello"}])
        expect(answer.content[0].text, "echo: hello", "answer")

    @checks.check("stream")
    def _():
        with client.messages.stream(model=model, max_tokens=100, messages=[{"role": "user", "content": "hello"}]) as stream:
            expect("".join(stream.text_stream), "echo: hello", "streamed answer")

    @checks.check("tool round trip")
    def _():
        first = client.messages.create(model=model, max_tokens=100, messages=ASK, tools=TOOLS)
        use = next(b for b in first.content if b.type == "tool_use")
        expect(use.input, {"city": "x"}, "input")
        history = ASK + [
            {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "22 C"}]},
        ]
        answer = client.messages.create(model=model, max_tokens=100, messages=history, tools=TOOLS)
        said("".join(b.text for b in answer.content if b.type == "text"))

    @checks.check("streamed tool call")
    def _():
        with client.messages.stream(model=model, max_tokens=100, messages=ASK, tools=TOOLS) as stream:
            final = stream.get_final_message()
        use = next(b for b in final.content if b.type == "tool_use")
        expect(use.input, {"city": "x"}, "streamed input")

elif sdk == "genai":
    from google import genai
    from google.genai import types

    client = genai.Client(api_key=api_key, http_options={"base_url": base_url, "timeout": 30_000})
    TOOL = types.Tool(
        function_declarations=[
            types.FunctionDeclaration(
                name="weather",
                parameters=types.Schema(type=types.Type.OBJECT, properties={"city": types.Schema(type=types.Type.STRING)}, required=["city"]),
            )
        ]
    )
    ASK = types.Content(role="user", parts=[types.Part.from_text(text="weather?")])
    CONFIG = types.GenerateContentConfig(tools=[TOOL], automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True))

    @checks.check("text")
    def _():
        expect(client.models.generate_content(model=model, contents="hello").text, "echo: hello", "answer")

    @checks.check("stream")
    def _():
        chunks = client.models.generate_content_stream(model=model, contents="hello")
        expect("".join(c.text or "" for c in chunks), "echo: hello", "streamed answer")

    @checks.check("tool round trip")
    def _():
        first = client.models.generate_content(model=model, contents=[ASK], config=CONFIG)
        call = first.function_calls[0]
        expect(call.args, {"city": "x"}, "arguments")
        answer = types.Part.from_function_response(name=call.name, response={"output": "22 C"})
        history = [ASK, first.candidates[0].content, types.Content(role="user", parts=[answer])]
        said(client.models.generate_content(model=model, contents=history, config=CONFIG).text)

    @checks.check("streamed tool call")
    def _():
        chunks = list(client.models.generate_content_stream(model=model, contents=[ASK], config=CONFIG))
        calls = [c for chunk in chunks for c in (chunk.function_calls or [])]
        expect(calls[0].args, {"city": "x"}, "streamed arguments")

else:
    raise SystemExit(f"unknown SDK {sdk!r}")

checks.done()
