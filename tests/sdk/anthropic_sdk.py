"""Drives the official anthropic Python SDK against a running Switchyard gateway.

Run by tests/sdk_anthropic.rs, which starts the mock Google upstream and the
real `switchyard serve`, and passes BASE_URL (the gateway's origin, no /v1),
API_KEY and AUTH_STYLE:
- `api_key`: `Anthropic(api_key=...)` (anthropic >= 2 sends it as `Authorization: Bearer`);
- `auth_token`: `Anthropic(auth_token=...)` (`Authorization: Bearer`);
- `x-api-key`: the key in `X-Api-Key` and no `Authorization` (what anthropic 1.x,
  litellm and Claude Code send).
Exits non-zero on the first failed check.

The mock upstream answers `echo: LAST TEXT`, calls the first declared tool when
offered tools, answers `tool NAME said: RESULT` after a tool result, describes
an image, and thinks (a signed thought) when asked to; usage is always 11 / 5.
"""

import os
import warnings

import anthropic
from anthropic import Anthropic

from sdkcheck import Checks, expect, tiny_png

base_url = os.environ["BASE_URL"]
api_key = os.environ["API_KEY"]
auth_style = os.environ.get("AUTH_STYLE", "api_key")
checks = Checks(f"anthropic SDK ({auth_style})")
warnings.simplefilter("error", DeprecationWarning)  # a model name the SDK calls deprecated is a script bug

sent_headers = []


def remember(request):
    sent_headers.append({k.lower(): v for k, v in request.headers.items()})


def make_client(key):
    http_client = anthropic.DefaultHttpxClient(event_hooks={"request": [remember]})
    common = dict(base_url=base_url, max_retries=0, timeout=30, http_client=http_client)
    if auth_style == "api_key":
        return Anthropic(api_key=key, **common)
    if auth_style == "auth_token":
        return Anthropic(auth_token=key, **common)
    if auth_style == "x-api-key":
        return Anthropic(api_key=key, default_headers={"X-Api-Key": key, "Authorization": anthropic.Omit()}, **common)
    raise SystemExit(f"unknown AUTH_STYLE {auth_style}")


client = make_client(api_key)
# The model asked for; MODEL lets a test run the suite on another (say Google's
# Claude models behind the Antigravity client).
MODEL = os.environ.get("MODEL", "claude-sonnet-4-6")
WEATHER = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
THINKING = {"type": "enabled", "budget_tokens": 1024}
QUESTION = {"role": "user", "content": "What is the weather in Oslo?"}


def text_of(message):
    return "".join(block.text for block in message.content if block.type == "text")


def tool_use_of(message):
    uses = [block for block in message.content if block.type == "tool_use"]
    assert len(uses) == 1, f"expected one tool_use block: {message.content}"
    return uses[0]


def expect_usage(usage):
    expect(usage.input_tokens, 11, "usage.input_tokens")
    expect(usage.output_tokens, 5, "usage.output_tokens")


def expect_weather_call(message):
    expect(message.stop_reason, "tool_use", "stop_reason")
    use = tool_use_of(message)
    expect(use.name, "get_weather", "tool name")
    expect(use.input, {"city": "x"}, "tool input")
    assert use.id, f"tool_use without id: {use}"
    return use


def tool_result_turn(use, result):
    return {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": result}]}


def expect_tool_answer(message, result):
    expect(message.stop_reason, "end_turn", "stop_reason after the tool result")
    text = text_of(message)
    assert text.startswith("tool get_weather said: ") and result in text, f"answer after the tool result: {text!r}"


def expect_signed_thought(message):
    thoughts = [block for block in message.content if block.type == "thinking" and block.thinking]
    assert thoughts, f"no thinking block: {message.content}"
    expect(thoughts[0].thinking, "Thinking it over.", "thinking text")
    assert thoughts[0].signature, f"thinking block without signature: {thoughts[0]}"
    assert message.content[0].type == "thinking", f"thinking must come first: {message.content}"


def raw_event_types(**params):
    """Event types of a raw `stream=True` response, in order."""
    types = []
    with client.messages.create(stream=True, **params) as stream:
        for event in stream:
            types.append(event.type)
    return types


@checks.check("plain message with a system prompt and history")
def _():
    reply = client.messages.create(
        model=MODEL,
        max_tokens=100,
        system="Be brief.",
        messages=[
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello"},
            {"role": "user", "content": "Hello SDK"},
        ],
        stop_sequences=["END"],
    )
    expect(reply.type, "message", "type")
    expect(reply.role, "assistant", "role")
    expect(reply.model, MODEL, "model")
    assert reply.id.startswith("msg_"), reply.id
    expect(text_of(reply), "echo: Hello SDK", "text")
    expect(reply.stop_reason, "end_turn", "stop_reason")
    expect_usage(reply.usage)


@checks.check("streamed message (stream helper and raw events)")
def _():
    with client.messages.stream(
        model="claude-haiku-4-5", max_tokens=100, messages=[{"role": "user", "content": "Stream SDK"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    expect(text, "echo: Stream SDK", "streamed text")
    expect(text_of(final), "echo: Stream SDK", "final message text")
    expect(final.stop_reason, "end_turn", "stop_reason")
    expect_usage(final.usage)
    types = raw_event_types(model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "Raw stream"}])
    expect(types[0], "message_start", "first event")
    expect(types[-1], "message_stop", "last event")
    for needed in ("content_block_start", "content_block_delta", "content_block_stop", "message_delta"):
        assert needed in types, f"no {needed} in {types}"


@checks.check("tool call round trip")
def _():
    reply = client.messages.create(model=MODEL, max_tokens=500, tools=[WEATHER], messages=[QUESTION])
    use = expect_weather_call(reply)
    expect_usage(reply.usage)
    answer = client.messages.create(
        model=MODEL,
        max_tokens=500,
        tools=[WEATHER],
        messages=[QUESTION, {"role": "assistant", "content": reply.content}, tool_result_turn(use, "sunny")],
    )
    expect_tool_answer(answer, "sunny")


@checks.check("streamed tool call round trip")
def _():
    with client.messages.stream(model=MODEL, max_tokens=500, tools=[WEATHER], messages=[QUESTION]) as stream:
        reply = stream.get_final_message()
    use = expect_weather_call(reply)
    with client.messages.stream(
        model=MODEL,
        max_tokens=500,
        tools=[WEATHER],
        messages=[QUESTION, {"role": "assistant", "content": reply.content}, tool_result_turn(use, "rainy")],
    ) as stream:
        answer = stream.get_final_message()
    expect_tool_answer(answer, "rainy")


@checks.check("thinking with a tool call: the whole turn goes back with its signatures")
def _():
    params = dict(model=MODEL, max_tokens=2048, thinking=THINKING, tools=[WEATHER])
    reply = client.messages.create(messages=[QUESTION], **params)
    expect_signed_thought(reply)
    use = expect_weather_call(reply)
    answer = client.messages.create(
        messages=[QUESTION, {"role": "assistant", "content": reply.content}, tool_result_turn(use, "cloudy")],
        **params,
    )
    expect_tool_answer(answer, "cloudy")
    expect_signed_thought(answer)


@checks.check("streamed thinking with a tool call: signature deltas, and the turn goes back")
def _():
    params = dict(model=MODEL, max_tokens=2048, thinking=THINKING, tools=[WEATHER])
    deltas = []
    with client.messages.stream(messages=[QUESTION], **params) as stream:
        for event in stream:
            if event.type == "content_block_delta":
                deltas.append(event.delta.type)
        reply = stream.get_final_message()
    for needed in ("thinking_delta", "signature_delta", "input_json_delta"):
        assert needed in deltas, f"no {needed} in {deltas}"
    expect_signed_thought(reply)
    use = expect_weather_call(reply)
    with client.messages.stream(
        messages=[QUESTION, {"role": "assistant", "content": reply.content}, tool_result_turn(use, "windy")],
        **params,
    ) as stream:
        answer = stream.get_final_message()
    expect_tool_answer(answer, "windy")
    expect_signed_thought(answer)


@checks.check("image input (base64 PNG)")
def _():
    png = tiny_png()
    reply = client.messages.create(
        model=MODEL,
        max_tokens=100,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in this picture?"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png}},
                ],
            }
        ],
    )
    expect(text_of(reply), f"image: image/png, {len(png)} base64 chars", "answer about the image")


@checks.check("count_tokens")
def _():
    counted = client.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "one two three four"}])
    expect(counted.input_tokens, 4, "input_tokens")
    counted = client.messages.count_tokens(
        model=MODEL, system="Be brief", messages=[{"role": "user", "content": "one two three four"}]
    )
    expect(counted.input_tokens, 6, "input_tokens with a two-word system prompt")


@checks.check("models list")
def _():
    ids = [model.id for model in client.models.list()]
    assert ids, "no models"


@checks.check("a wrong key is an AuthenticationError")
def _():
    bad = make_client("sk-wrong-key-00000000")
    try:
        bad.messages.create(model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "x"}])
    except anthropic.AuthenticationError as error:
        expect(error.status_code, 401, "status")
        expect(error.body.get("type"), "error", "error body type")
        assert "API key" in str(error), str(error)
    else:
        raise AssertionError("a wrong key was accepted")


@checks.check("a bad request is a BadRequestError")
def _():
    try:
        client.messages.create(model=MODEL, max_tokens=10, messages=[])
    except anthropic.BadRequestError as error:
        expect(error.body.get("type"), "error", "error body type")
        assert "messages" in str(error), str(error)
    else:
        raise AssertionError("empty messages were accepted")


@checks.check(f"every request carried the key as {auth_style}")
def _():
    assert sent_headers, "no requests recorded"
    for headers in sent_headers:
        if auth_style == "x-api-key":
            assert "authorization" not in headers and "x-api-key" in headers, headers
        else:
            assert headers.get("authorization", "").startswith("Bearer ") and "x-api-key" not in headers, headers
        assert headers.get("anthropic-version"), headers


checks.done()
