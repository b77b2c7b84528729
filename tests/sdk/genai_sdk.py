"""Drives the official google-genai Python SDK against a running Switchyard gateway.

Run by tests/sdk_genai.rs, which starts the mock Google upstream and the real
`switchyard serve`, and passes BASE_URL (the gateway's origin), API_KEY and
API_VERSION (`v1beta` or `v1`: the SDK puts it in every path). Exits non-zero
on the first failed check.

The mock upstream answers `echo: LAST TEXT`, calls the first declared tool when
offered tools, answers `tool NAME said: RESULT` after a tool result, describes
an image, and thinks (a signed thought) when asked to; usage is always 11 / 5 / 16.
google-genai reads thought signatures as base64 bytes, as Google sends them
(the Rust test puts a relay in front of the mock that makes its signatures so).
"""

import base64
import os

from google import genai
from google.genai import errors, types

from sdkcheck import Checks, expect, tiny_png

api_version = os.environ["API_VERSION"]
http_options = {"base_url": os.environ["BASE_URL"], "api_version": api_version, "timeout": 30_000}
client = genai.Client(api_key=os.environ["API_KEY"], http_options=http_options)
checks = Checks(f"genai SDK ({api_version})")
MODEL = "gemini-2.5-flash"
WEATHER = types.Tool(
    function_declarations=[
        types.FunctionDeclaration(
            name="get_weather",
            description="Current weather for a city",
            parameters=types.Schema(
                type=types.Type.OBJECT, properties={"city": types.Schema(type=types.Type.STRING)}, required=["city"]
            ),
        )
    ]
)
QUESTION = types.Content(role="user", parts=[types.Part.from_text(text="What is the weather in Oslo?")])
THINKING = types.ThinkingConfig(include_thoughts=True, thinking_budget=1024)


def expect_usage(usage):
    expect(
        (usage.prompt_token_count, usage.candidates_token_count, usage.total_token_count), (11, 5, 16), "usage"
    )


def expect_weather_call(response):
    calls = response.function_calls or []
    assert len(calls) == 1, f"expected one function call: {response.candidates[0].content}"
    expect(calls[0].name, "get_weather", "tool name")
    expect(calls[0].args, {"city": "x"}, "tool arguments")
    part = next(p for p in response.candidates[0].content.parts if p.function_call)
    assert part.thought_signature, f"function call part without thought_signature: {part}"
    return calls[0]


def tool_result(call, result):
    part = types.Part.from_function_response(name=call.name, response={"result": result})
    part.function_response.id = call.id
    return types.Content(role="user", parts=[part])


def expect_tool_answer(response, result):
    expect(response.text, f'tool get_weather said: {{"result":"{result}"}}', "answer after the tool result")
    expect(response.candidates[0].finish_reason, types.FinishReason.STOP, "finish_reason")


def expect_signed_thought(content):
    thoughts = [p for p in content.parts if p.thought]
    assert thoughts, f"no thought part: {content}"
    expect(thoughts[0].text, "Thinking it over.", "thought text")
    assert thoughts[0].thought_signature, f"thought part without signature: {thoughts[0]}"


def stream_content(**params):
    """Streams, checks the last chunk ends the answer; returns the model turn
    (all parts of all chunks, as the SDK returned them) and the last chunk."""
    chunks = list(client.models.generate_content_stream(**params))
    assert chunks, "no chunks"
    last = chunks[-1]
    expect(last.candidates[0].finish_reason, types.FinishReason.STOP, "finish_reason of the last chunk")
    for chunk in chunks[:-1]:
        assert not chunk.candidates[0].finish_reason, f"finish_reason before the last chunk: {chunk}"
    parts = [part for chunk in chunks for part in (chunk.candidates[0].content.parts or [])]
    return types.Content(role="model", parts=parts), last


@checks.check("plain generate_content with system instruction and config")
def _():
    response = client.models.generate_content(
        model=MODEL,
        contents="Hello SDK",
        config=types.GenerateContentConfig(system_instruction="Be brief.", temperature=0.2, max_output_tokens=50),
    )
    expect(response.text, "echo: Hello SDK", "text")
    expect(response.candidates[0].finish_reason, types.FinishReason.STOP, "finish_reason")
    expect_usage(response.usage_metadata)


@checks.check("history")
def _():
    response = client.models.generate_content(
        model=MODEL,
        contents=[
            types.Content(role="user", parts=[types.Part.from_text(text="Hi")]),
            types.Content(role="model", parts=[types.Part.from_text(text="Hello")]),
            types.Content(role="user", parts=[types.Part.from_text(text="Hello again")]),
        ],
    )
    expect(response.text, "echo: Hello again", "text")


@checks.check("generate_content_stream ends with finish_reason and usage")
def _():
    content, last = stream_content(model=MODEL, contents="Stream SDK")
    expect("".join(p.text or "" for p in content.parts), "echo: Stream SDK", "streamed text")
    expect_usage(last.usage_metadata)


@checks.check("chat session")
def _():
    chat = client.chats.create(model=MODEL)
    expect(chat.send_message("Hello chat").text, "echo: Hello chat", "first answer")
    streamed = "".join(chunk.text or "" for chunk in chat.send_message_stream("More chat"))
    expect(streamed, "echo: More chat", "streamed answer")
    # The SDK keeps a streamed answer as one model turn per chunk, and sends them so.
    expect(chat.send_message("Third chat").text, "echo: Third chat", "answer after a streamed one")


@checks.check("tool call round trip")
def _():
    config = types.GenerateContentConfig(tools=[WEATHER])
    reply = client.models.generate_content(model=MODEL, contents=[QUESTION], config=config)
    call = expect_weather_call(reply)
    expect_usage(reply.usage_metadata)
    answer = client.models.generate_content(
        model=MODEL, contents=[QUESTION, reply.candidates[0].content, tool_result(call, "sunny")], config=config
    )
    expect_tool_answer(answer, "sunny")


@checks.check("streamed tool call round trip")
def _():
    config = types.GenerateContentConfig(tools=[WEATHER])
    content, _last = stream_content(model=MODEL, contents=[QUESTION], config=config)
    call = next(p.function_call for p in content.parts if p.function_call)
    expect((call.name, call.args), ("get_weather", {"city": "x"}), "streamed function call")
    answer, _last = stream_content(model=MODEL, contents=[QUESTION, content, tool_result(call, "rainy")], config=config)
    expect("".join(p.text or "" for p in answer.parts), 'tool get_weather said: {"result":"rainy"}', "answer")


@checks.check("tool call round trip in a chat session (the SDK keeps the turn)")
def _():
    chat = client.chats.create(model=MODEL, config=types.GenerateContentConfig(tools=[WEATHER]))
    call = expect_weather_call(chat.send_message("What is the weather in Oslo?"))
    answer = chat.send_message(tool_result(call, "foggy").parts)
    expect_tool_answer(answer, "foggy")


@checks.check("thinking with a tool call: the whole turn goes back with its signatures")
def _():
    config = types.GenerateContentConfig(tools=[WEATHER], thinking_config=THINKING)
    reply = client.models.generate_content(model=MODEL, contents=[QUESTION], config=config)
    call = expect_weather_call(reply)
    answer = client.models.generate_content(
        model=MODEL, contents=[QUESTION, reply.candidates[0].content, tool_result(call, "cloudy")], config=config
    )
    expect_tool_answer(answer, "cloudy")
    expect_signed_thought(reply.candidates[0].content)
    expect_signed_thought(answer.candidates[0].content)


@checks.check("streamed thinking with a tool call: the whole turn goes back")
def _():
    config = types.GenerateContentConfig(tools=[WEATHER], thinking_config=THINKING)
    content, _last = stream_content(model=MODEL, contents=[QUESTION], config=config)
    call = next(p.function_call for p in content.parts if p.function_call)
    answer, _last = stream_content(model=MODEL, contents=[QUESTION, content, tool_result(call, "windy")], config=config)
    expect("".join(p.text or "" for p in answer.parts if not p.thought), 'tool get_weather said: {"result":"windy"}', "answer")
    expect_signed_thought(content)
    expect_signed_thought(answer)


@checks.check("image input (inline PNG)")
def _():
    png = tiny_png()
    response = client.models.generate_content(
        model=MODEL,
        contents=[
            types.Part.from_text(text="What is in this picture?"),
            types.Part.from_bytes(data=base64.b64decode(png), mime_type="image/png"),
        ],
    )
    expect(response.text, f"image: image/png, {len(png)} base64 chars", "answer about the image")


@checks.check("count_tokens")
def _():
    counted = client.models.count_tokens(model=MODEL, contents="one two three four")
    expect(counted.total_tokens, 4, "total_tokens")


@checks.check("models get")
def _():
    model = client.models.get(model=MODEL)
    expect(model.name, f"models/{MODEL}", "model name")


@checks.check("models list")
def _():
    names = [m.name for m in client.models.list()]
    assert f"models/{MODEL}" in names, f"models/{MODEL} not listed: {names}"


@checks.check("a wrong key is a ClientError 401")
def _():
    bad = genai.Client(api_key="sk-wrong-key-00000000", http_options=http_options)
    try:
        bad.models.generate_content(model=MODEL, contents="x")
    except errors.ClientError as error:
        expect(error.code, 401, "code")
        assert "API key" in (error.message or ""), error.message
    else:
        raise AssertionError("a wrong key was accepted")


checks.done()
