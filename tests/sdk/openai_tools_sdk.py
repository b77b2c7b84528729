"""Drives the official openai Python SDK's chat completions against a running
Switchyard gateway: tool calls, thinking (`reasoning_effort`) and images, which
openai_sdk.py does not cover.

Run by tests/sdk_openai_more.rs, which starts the mock Google upstream and the
real `switchyard serve`, and passes BASE_URL (ending in /v1) and API_KEY.
Exits non-zero on the first failed check.

The mock upstream calls the first declared tool when offered tools, answers
`tool NAME said: RESULT` after a tool result, describes an image, and thinks
(a signed thought) when asked to; usage is always 11 / 5 / 16.
"""

import json
import os

import pydantic
from openai import OpenAI, pydantic_function_tool

from sdkcheck import Checks, expect, tiny_png

client = OpenAI(base_url=os.environ["BASE_URL"], api_key=os.environ["API_KEY"], max_retries=0, timeout=30)
checks = Checks("openai SDK chat tools")
MODEL = "gpt-4o"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
QUESTION = {"role": "user", "content": "What is the weather in Oslo?"}


class GetWeather(pydantic.BaseModel):
    """Current weather for a city"""

    city: str


def expect_weather_call(choice):
    expect(choice.finish_reason, "tool_calls", "finish_reason")
    message = choice.message
    expect(message.role, "assistant", "role")
    assert message.tool_calls and len(message.tool_calls) == 1, f"expected one tool call: {message}"
    call = message.tool_calls[0]
    expect(call.type, "function", "tool call type")
    expect(call.function.name, "get_weather", "tool name")
    expect(json.loads(call.function.arguments), {"city": "x"}, "tool arguments")
    assert call.id, f"tool call without id: {call}"
    return call


def tool_result(call, result):
    return {"role": "tool", "tool_call_id": call.id, "content": result}


def expect_tool_answer(choice, result):
    expect(choice.finish_reason, "stop", "finish_reason after the tool result")
    text = choice.message.content or ""
    assert text.startswith("tool get_weather said: ") and result in text, f"answer after the tool result: {text!r}"


def expect_usage(usage):
    expect((usage.prompt_tokens, usage.completion_tokens, usage.total_tokens), (11, 5, 16), "usage")


@checks.check("tool call round trip")
def _():
    reply = client.chat.completions.create(model=MODEL, tools=[WEATHER], messages=[QUESTION])
    call = expect_weather_call(reply.choices[0])
    expect_usage(reply.usage)
    answer = client.chat.completions.create(
        model=MODEL, tools=[WEATHER], messages=[QUESTION, reply.choices[0].message, tool_result(call, "sunny")]
    )
    expect_tool_answer(answer.choices[0], "sunny")


@checks.check("streamed tool call round trip: raw deltas, the call rebuilt from them")
def _():
    stream = client.chat.completions.create(
        model=MODEL, tools=[WEATHER], messages=[QUESTION], stream=True, stream_options={"include_usage": True}
    )
    calls, finish, usage = {}, None, None
    for chunk in stream:
        usage = chunk.usage or usage
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
            for delta in choice.delta.tool_calls or []:
                slot = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
                slot["id"] += delta.id or ""
                if delta.function:
                    slot["name"] += delta.function.name or ""
                    slot["arguments"] += delta.function.arguments or ""
    expect(finish, "tool_calls", "finish_reason")
    expect(len(calls), 1, "tool calls")
    expect(calls[0]["name"], "get_weather", "tool name")
    expect(json.loads(calls[0]["arguments"]), {"city": "x"}, "tool arguments")
    assert calls[0]["id"], calls
    assert usage is not None, "no usage chunk"
    expect_usage(usage)
    call = calls[0]
    assistant = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": call["id"], "type": "function", "function": {"name": call["name"], "arguments": call["arguments"]}}
        ],
    }
    stream = client.chat.completions.create(
        model=MODEL,
        tools=[WEATHER],
        messages=[QUESTION, assistant, {"role": "tool", "tool_call_id": call["id"], "content": "snowy"}],
        stream=True,
    )
    text, finish = "", None
    for chunk in stream:
        for choice in chunk.choices:
            text += choice.delta.content or ""
            finish = choice.finish_reason or finish
    assert text.startswith("tool get_weather said: ") and "snowy" in text, text
    expect(finish, "stop", "finish_reason after the tool result")


@checks.check("streamed tool call round trip (stream helper, strict pydantic tool)")
def _():
    tools = [pydantic_function_tool(GetWeather, name="get_weather")]
    with client.chat.completions.stream(model=MODEL, tools=tools, messages=[QUESTION]) as stream:
        for _event in stream:
            pass
        reply = stream.get_final_completion()
    call = expect_weather_call(reply.choices[0])
    expect(call.function.parsed_arguments, GetWeather(city="x"), "parsed arguments")
    with client.chat.completions.stream(
        model=MODEL, tools=tools, messages=[QUESTION, reply.choices[0].message, tool_result(call, "rainy")]
    ) as stream:
        answer = stream.get_final_completion()
    expect_tool_answer(answer.choices[0], "rainy")


@checks.check("reasoning_effort with a tool call: the whole message goes back")
def _():
    params = dict(model=MODEL, reasoning_effort="low", tools=[WEATHER])
    reply = client.chat.completions.create(messages=[QUESTION], **params)
    call = expect_weather_call(reply.choices[0])
    expect(reply.choices[0].message.reasoning_content, "Thinking it over.", "reasoning_content")
    answer = client.chat.completions.create(
        messages=[QUESTION, reply.choices[0].message, tool_result(call, "cloudy")], **params
    )
    expect_tool_answer(answer.choices[0], "cloudy")


@checks.check("streamed reasoning with a tool call: the whole message goes back")
def _():
    params = dict(model=MODEL, reasoning_effort="low", tools=[WEATHER])
    reasoning = ""
    with client.chat.completions.stream(messages=[QUESTION], **params) as stream:
        for event in stream:
            if event.type == "chunk":
                for choice in event.chunk.choices:
                    reasoning += getattr(choice.delta, "reasoning_content", None) or ""
        reply = stream.get_final_completion()
    expect(reasoning, "Thinking it over.", "streamed reasoning_content")
    call = expect_weather_call(reply.choices[0])
    with client.chat.completions.stream(
        messages=[QUESTION, reply.choices[0].message, tool_result(call, "windy")], **params
    ) as stream:
        answer = stream.get_final_completion()
    expect_tool_answer(answer.choices[0], "windy")


@checks.check("image input (data: URL)")
def _():
    png = tiny_png()
    reply = client.chat.completions.create(
        model=MODEL,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in this picture?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}},
                ],
            }
        ],
    )
    expect(reply.choices[0].message.content, f"image: image/png, {len(png)} base64 chars", "answer about the image")
    expect_usage(reply.usage)


checks.done()
