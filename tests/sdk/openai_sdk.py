"""Drives the official openai Python SDK against a running Switchyard gateway.

Run by tests/sdk_openai.rs, which starts the mock Google upstream and the real
`switchyard serve`, and passes BASE_URL and API_KEY. Exits non-zero on the
first failed check.
"""

import os

import openai
from openai import OpenAI

base_url = os.environ["BASE_URL"]
client = OpenAI(base_url=base_url, api_key=os.environ["API_KEY"], max_retries=0)

# Non-streaming, with a system prompt and history.
reply = client.chat.completions.create(
    model="gemini-2.5-flash",
    messages=[
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "Hello SDK"},
    ],
    temperature=0.2,
    max_tokens=50,
)
assert reply.object == "chat.completion", reply
assert reply.model == "gemini-2.5-flash", reply.model
assert reply.choices[0].message.content == "echo: Hello SDK", reply
assert reply.choices[0].finish_reason == "stop", reply
assert reply.usage.prompt_tokens == 11, reply.usage
assert reply.usage.completion_tokens == 5, reply.usage
assert reply.usage.total_tokens == 16, reply.usage

# Streaming, with usage.
stream = client.chat.completions.create(
    model="gpt-4o",
    messages=[{"role": "user", "content": "Stream SDK"}],
    stream=True,
    stream_options={"include_usage": True},
)
text, finish, usage = "", None, None
for chunk in stream:
    assert chunk.model == "gpt-4o", chunk
    if chunk.usage is not None:
        usage = chunk.usage
    for choice in chunk.choices:
        text += choice.delta.content or ""
        finish = choice.finish_reason or finish
assert text == "echo: Stream SDK", text
assert finish == "stop", finish
assert usage is not None and usage.total_tokens == 16, usage

# The raw response names the upstream model that answered.
raw = client.chat.completions.with_raw_response.create(
    model="gpt-4o", messages=[{"role": "user", "content": "x"}]
)
assert raw.headers["x-switchyard-model"] == "gemini-2.5-pro", raw.headers

# Models listing.
ids = [m.id for m in client.models.list()]
assert "gemini-2.5-pro" in ids, ids

# A wrong key is an AuthenticationError the SDK understands.
bad = OpenAI(base_url=base_url, api_key="sk-wrong-key-00000000", max_retries=0)
try:
    bad.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "x"}])
    raise AssertionError("a wrong key was accepted")
except openai.AuthenticationError as error:
    assert error.status_code == 401
    assert "API key" in error.message, error.message

# A bad request is a BadRequestError with the gateway's message.
try:
    client.chat.completions.create(model="gemini-2.5-flash", messages=[])
    raise AssertionError("empty messages were accepted")
except openai.BadRequestError as error:
    assert "messages" in error.message, error.message

print("openai SDK: 6 checks passed")
