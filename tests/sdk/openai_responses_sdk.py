"""Drives the official openai Python SDK's Responses API against a running
Switchyard gateway.

Run by tests/sdk_openai_more.rs, which starts the mock Google upstream and the
real `switchyard serve`, and passes BASE_URL (ending in /v1) and API_KEY.
Exits non-zero on the first failed check.

The mock upstream answers `echo: LAST TEXT`, calls the first declared tool when
offered tools, answers `tool NAME said: RESULT` after a tool result, describes
an image, and thinks (a signed thought) when asked to; usage is always 11 / 5 / 16.
Conversations are sent whole (no previous_response_id): the output items of a
response go back in the next `input` exactly as the SDK returned them.
"""

import json
import os

from openai import OpenAI

from sdkcheck import Checks, expect, tiny_png

client = OpenAI(base_url=os.environ["BASE_URL"], api_key=os.environ["API_KEY"], max_retries=0, timeout=30)
checks = Checks("openai SDK responses")
MODEL = "gpt-5"
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "strict": False,
}
QUESTION = {"role": "user", "content": "What is the weather in Oslo?"}
REASONING = dict(reasoning={"effort": "low", "summary": "auto"}, include=["reasoning.encrypted_content"])


def expect_usage(usage):
    expect((usage.input_tokens, usage.output_tokens, usage.total_tokens), (11, 5, 16), "usage")


def expect_weather_call(response):
    expect(response.status, "completed", "status")
    calls = [item for item in response.output if item.type == "function_call"]
    assert len(calls) == 1, f"expected one function_call item: {response.output}"
    call = calls[0]
    expect(call.name, "get_weather", "tool name")
    expect(json.loads(call.arguments), {"city": "x"}, "tool arguments")
    assert call.call_id, f"function_call without call_id: {call}"
    return call


def tool_output(call, result):
    return {"type": "function_call_output", "call_id": call.call_id, "output": result}


def expect_tool_answer(response, result):
    expect(response.status, "completed", "status after the tool result")
    text = response.output_text
    assert text.startswith("tool get_weather said: ") and result in text, f"answer after the tool result: {text!r}"


def expect_signed_reasoning(response):
    items = [item for item in response.output if item.type == "reasoning"]
    assert len(items) == 1, f"expected one reasoning item: {response.output}"
    assert response.output[0].type == "reasoning", f"reasoning must come first: {response.output}"
    summary = "".join(part.text for part in items[0].summary)
    expect(summary, "Thinking it over.", "reasoning summary")
    assert items[0].encrypted_content, f"reasoning item without encrypted_content: {items[0]}"


def stream_final(**params):
    """Runs the `responses.stream()` helper; returns (event types, final response)."""
    types = []
    with client.responses.stream(**params) as stream:
        for event in stream:
            types.append(event.type)
        final = stream.get_final_response()
    expect(types[0], "response.created", "first event")
    expect(types[-1], "response.completed", "last event")
    return types, final


@checks.check("plain response with instructions")
def _():
    response = client.responses.create(model=MODEL, instructions="Be brief.", input="Hello SDK")
    expect(response.object, "response", "object")
    expect(response.status, "completed", "status")
    expect(response.model, MODEL, "model")
    expect(response.output_text, "echo: Hello SDK", "output_text")
    message = response.output[-1]
    expect((message.type, message.role), ("message", "assistant"), "output item")
    expect_usage(response.usage)


@checks.check("history with developer and assistant items")
def _():
    response = client.responses.create(
        model=MODEL,
        input=[
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": [{"type": "input_text", "text": "Hi"}]},
            {"role": "assistant", "content": [{"type": "output_text", "text": "Hello"}]},
            {"role": "user", "content": "Hello again"},
        ],
    )
    expect(response.output_text, "echo: Hello again", "output_text")


@checks.check("raw stream: response.created ... response.completed")
def _():
    types, text, completed = [], "", None
    for event in client.responses.create(model=MODEL, input="Stream SDK", stream=True):
        types.append(event.type)
        if event.type == "response.output_text.delta":
            text += event.delta
        if event.type == "response.completed":
            completed = event.response
    expect(types[0], "response.created", "first event")
    expect(types[-1], "response.completed", "last event")
    for needed in ("response.output_item.added", "response.output_text.done", "response.output_item.done"):
        assert needed in types, f"no {needed} in {types}"
    expect(text, "echo: Stream SDK", "streamed text")
    expect(completed.output_text, "echo: Stream SDK", "completed response text")
    expect_usage(completed.usage)


@checks.check("stream helper")
def _():
    _types, final = stream_final(model=MODEL, input="Helper SDK")
    expect(final.output_text, "echo: Helper SDK", "final text")
    expect_usage(final.usage)


@checks.check("tool call round trip")
def _():
    reply = client.responses.create(model=MODEL, tools=[WEATHER], input=[QUESTION])
    call = expect_weather_call(reply)
    expect_usage(reply.usage)
    answer = client.responses.create(
        model=MODEL, tools=[WEATHER], input=[QUESTION, *reply.output, tool_output(call, "sunny")]
    )
    expect_tool_answer(answer, "sunny")


@checks.check("streamed tool call round trip")
def _():
    types, reply = stream_final(model=MODEL, tools=[WEATHER], input=[QUESTION])
    assert "response.function_call_arguments.delta" in types, types
    call = expect_weather_call(reply)
    _types, answer = stream_final(
        model=MODEL, tools=[WEATHER], input=[QUESTION, *reply.output, tool_output(call, "rainy")]
    )
    expect_tool_answer(answer, "rainy")


@checks.check("reasoning with a tool call: the output items go back with encrypted_content")
def _():
    reply = client.responses.create(model=MODEL, tools=[WEATHER], input=[QUESTION], **REASONING)
    expect_signed_reasoning(reply)
    call = expect_weather_call(reply)
    answer = client.responses.create(
        model=MODEL, tools=[WEATHER], input=[QUESTION, *reply.output, tool_output(call, "cloudy")], **REASONING
    )
    expect_tool_answer(answer, "cloudy")
    expect_signed_reasoning(answer)


@checks.check("streamed reasoning with a tool call: the output items go back")
def _():
    types, reply = stream_final(model=MODEL, tools=[WEATHER], input=[QUESTION], **REASONING)
    assert "response.reasoning_summary_text.delta" in types, types
    expect_signed_reasoning(reply)
    call = expect_weather_call(reply)
    _types, answer = stream_final(
        model=MODEL, tools=[WEATHER], input=[QUESTION, *reply.output, tool_output(call, "windy")], **REASONING
    )
    expect_tool_answer(answer, "windy")
    expect_signed_reasoning(answer)


@checks.check("image input (data: URL)")
def _():
    png = tiny_png()
    response = client.responses.create(
        model=MODEL,
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "What is in this picture?"},
                    {"type": "input_image", "image_url": f"data:image/png;base64,{png}", "detail": "auto"},
                ],
            }
        ],
    )
    expect(response.output_text, f"image: image/png, {len(png)} base64 chars", "answer about the image")


checks.done()
