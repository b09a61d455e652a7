"""Tool calling on the default model through the in-process server and the official openai client.

    .venv/bin/python benchmarks/tool_calls.py [--model NAME] [--parallel 4]

Forced calls: 50 varied requests, each with `tool_choice` naming a function (30) or `required` over all
five (20), sampled at temperature 0.7; counted are the calls whose arguments parse and are valid against
the function's JSON schema. `auto`: 30 labelled requests (8 per function among three offered, 6 needing
none), greedy; counted are those whose first call names the labelled function, or that call nothing when
none is wanted, with a 95% Wilson interval. Every request and function here is synthetic, written for this
benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import httpx
import jsonschema
import openai
from _common import save

from uptake.audit.censorship.stats import wilson_interval
from uptake.models.resolve import resolve_model
from uptake.serve.app import create_app
from uptake.serve.registry import ModelRegistry, ModelSpec
from uptake.serve.runner import ServeOptions, load_served_model
from uptake.settings import get_settings


def tool(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    parameters = {"type": "object", "properties": properties, "required": required}
    return {"type": "function", "function": {"name": name, "description": description, "parameters": parameters}}


STRING = {"type": "string"}
TOOLS = {
    "get_weather": tool(
        "get_weather",
        "The current weather in a city.",
        {"city": STRING, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        ["city"],
    ),
    "convert_currency": tool(
        "convert_currency",
        "Convert an amount of money from one currency to another.",
        {"amount": {"type": "number"}, "from_currency": STRING, "to_currency": STRING},
        ["amount", "from_currency", "to_currency"],
    ),
    "search_products": tool(
        "search_products",
        "Search the shop's catalogue.",
        {
            "query": STRING,
            "max_price": {"type": "number"},
            "in_stock": {"type": "boolean"},
            "category": {"type": "string", "enum": ["books", "electronics", "garden", "toys"]},
        },
        ["query"],
    ),
    "create_event": tool(
        "create_event",
        "Add an event to the user's calendar.",
        {
            "title": STRING,
            "date": {"type": "string", "description": "YYYY-MM-DD"},
            "duration_minutes": {"type": "integer"},
            "attendees": {"type": "array", "items": STRING},
        },
        ["title", "date"],
    ),
    "send_email": tool(
        "send_email",
        "Send an email.",
        {"to": STRING, "subject": STRING, "body": STRING, "cc": {"type": "array", "items": STRING}},
        ["to", "subject", "body"],
    ),
}

# (function forced by name, or None for `required` over all five; the user's request)
FORCED: list[tuple[str | None, str]] = [
    ("get_weather", "Is it raining in Lisbon?"),
    ("get_weather", "How hot is it in Phoenix today, in fahrenheit?"),
    ("get_weather", "Tell me the weather for Reykjavik."),
    ("get_weather", "Do I need an umbrella in Tokyo?"),
    ("get_weather", "What's the temperature in São Paulo in celsius?"),
    ("get_weather", "weather berlin pls"),
    ("convert_currency", "How many yen is 250 US dollars?"),
    ("convert_currency", "Convert 19.99 EUR to GBP."),
    ("convert_currency", "I have 1200 Swiss francs; what is that in euros?"),
    ("convert_currency", "What are 3 million Korean won in USD?"),
    ("convert_currency", "Turn fifty Canadian dollars into Mexican pesos."),
    ("convert_currency", "0.5 bitcoin in dollars?"),
    ("search_products", "Find me a cheap electric kettle under 30 dollars."),
    ("search_products", "Are there any gardening gloves in stock?"),
    ("search_products", "Show me science fiction books."),
    ("search_products", "I want a wooden toy train for my nephew, at most 40."),
    ("search_products", "noise cancelling headphones"),
    ("search_products", "Do you sell tomato seeds?"),
    ("create_event", "Put a dentist appointment on 2025-03-14 for 45 minutes."),
    ("create_event", "Schedule a team retro next Friday, 2025-06-06, with Ana and Bo."),
    ("create_event", "Add 'Mum's birthday dinner' on 2025-09-21."),
    ("create_event", "Book two hours on 2025-01-30 for deep work."),
    ("create_event", "Create an event: quarterly review, 2025-04-01, 90 minutes, attendees: cfo@example.com."),
    ("create_event", "Remind me of the marathon on 2025-10-12."),
    ("send_email", "Email alice@example.com that the report is late."),
    ("send_email", "Send Bob (bob@example.org) a thank-you note for the flowers."),
    ("send_email", "Write to support@shop.test asking where my order 4411 is, cc me at me@home.test."),
    ("send_email", "Tell the landlord at landlord@flat.test the heating is broken."),
    ("send_email", "Mail the team list team@corp.test: meeting moved to 3pm."),
    ("send_email", "Send my CV to jobs@startup.test with a short cover letter."),
    (None, "What's the weather in Nairobi?"),
    (None, "Convert 75 pounds to dollars."),
    (None, "Find board games for kids."),
    (None, "Schedule lunch with Kim on 2025-05-05."),
    (None, "Email hr@corp.test that I will be off on Monday."),
    (None, "Is it snowing in Montreal?"),
    (None, "How much is 10,000 rupees in euros?"),
    (None, "Look for a garden hose under 25."),
    (None, "Put 'pay rent' on 2025-02-01."),
    (None, "Let ops@corp.test know the deploy finished."),
    (None, "Hello!"),
    (None, "What is the capital of Australia?"),
    (None, "Write a haiku about rain."),
    (None, "Weather in Cape Town and convert 100 ZAR to USD."),
    (None, "Any laptops in stock below 800?"),
    (None, "Book a 30 minute call on 2025-07-07 with dev@partner.test."),
    (None, "Send a note to tom@example.com: see you at 8."),
    (None, "Is Madrid warm right now?"),
    (None, "Convert 42 AUD to NZD."),
    (None, "I need a present for a 6 year old who likes dinosaurs."),
]

AUTO_TOOLS = ["get_weather", "convert_currency", "search_products"]
# (the function a correct answer calls, or None when none fits; the user's request)
AUTO: list[tuple[str | None, str]] = [
    ("get_weather", "What's the weather like in Madrid right now?"),
    ("get_weather", "Is it going to be cold in Oslo today?"),
    ("get_weather", "Check the temperature in Cairo, please."),
    ("get_weather", "How windy is it in Wellington?"),
    ("get_weather", "Is it sunny in Rome?"),
    ("get_weather", "Current weather for Chicago in fahrenheit."),
    ("get_weather", "Should I wear a coat in Dublin today?"),
    ("get_weather", "Is it humid in Singapore at the moment?"),
    ("convert_currency", "How much is 100 euros in dollars?"),
    ("convert_currency", "Convert 5000 yen to British pounds."),
    ("convert_currency", "What are 20 Swiss francs worth in euros?"),
    ("convert_currency", "I need 300 USD in Thai baht, how much is that?"),
    ("convert_currency", "Exchange 45.50 GBP into Canadian dollars."),
    ("convert_currency", "What's 1,000 Indian rupees in US dollars?"),
    ("convert_currency", "Convert 60 Australian dollars to euros."),
    ("convert_currency", "How many Mexican pesos do I get for 80 dollars?"),
    ("search_products", "Find me a bluetooth speaker under 50 dollars."),
    ("search_products", "Do you have any books about gardening?"),
    ("search_products", "Search the shop for LEGO sets."),
    ("search_products", "I'm looking for a USB-C charger that is in stock."),
    ("search_products", "Show me toys for a two year old."),
    ("search_products", "Find a lawn mower below 300."),
    ("search_products", "Are there e-readers in the catalogue?"),
    ("search_products", "Look for a cookbook on Italian food."),
    (None, "Write a short poem about the sea."),
    (None, "What is 17 times 23?"),
    (None, "Who wrote Pride and Prejudice?"),
    (None, "Explain what a hash function is in one sentence."),
    (None, "Say hello in French."),
    (None, "Give me a synonym for 'happy'."),
]


async def forced_call(client: openai.AsyncOpenAI, name: str | None, prompt: str, seed: int) -> dict[str, Any]:
    tools = [TOOLS[name]] if name is not None else list(TOOLS.values())
    choice: Any = {"type": "function", "function": {"name": name}} if name is not None else "required"
    reply = await client.chat.completions.create(
        model="model", messages=[{"role": "user", "content": prompt}], tools=tools,  # type: ignore[arg-type]
        tool_choice=choice, temperature=0.7, seed=seed, max_tokens=256,
    )
    calls = reply.choices[0].message.tool_calls or []
    valid = False
    if len(calls) == 1 and calls[0].function.name in TOOLS:
        function = TOOLS[calls[0].function.name]["function"]
        try:
            jsonschema.validate(json.loads(calls[0].function.arguments), function["parameters"])
            valid = name is None or calls[0].function.name == name
        except (ValueError, jsonschema.ValidationError):
            valid = False
    called = [(c.function.name, c.function.arguments) for c in calls]
    return {"forced": name, "prompt": prompt, "calls": called, "content": reply.choices[0].message.content,
            "valid": valid}


async def auto_call(client: openai.AsyncOpenAI, label: str | None, prompt: str) -> dict[str, Any]:
    reply = await client.chat.completions.create(
        model="model", messages=[{"role": "user", "content": prompt}],
        tools=[TOOLS[name] for name in AUTO_TOOLS], temperature=0.0, seed=0, max_tokens=256,  # type: ignore[misc]
    )
    calls = reply.choices[0].message.tool_calls or []
    chosen = calls[0].function.name if calls else None
    return {"label": label, "prompt": prompt, "chosen": chosen, "correct": chosen == label,
            "content": reply.choices[0].message.content}


async def run(models: ModelRegistry, parallel: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    limit = asyncio.Semaphore(parallel)

    async def bounded(work: Any) -> dict[str, Any]:
        async with limit:
            result: dict[str, Any] = await work
            return result

    transport = httpx.ASGITransport(app=create_app(models))
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
        client = openai.AsyncOpenAI(api_key="unused", base_url="http://bench/v1", http_client=http, max_retries=0)
        forced = await asyncio.gather(
            *(bounded(forced_call(client, name, prompt, seed)) for seed, (name, prompt) in enumerate(FORCED))
        )
        auto = await asyncio.gather(*(bounded(auto_call(client, label, prompt)) for label, prompt in AUTO))
    return list(forced), list(auto)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder:0.5b")
    parser.add_argument("--parallel", type=int, default=4)
    args = parser.parse_args()
    settings = get_settings()
    models = ModelRegistry()
    options = ServeOptions(parallel=args.parallel, context_per_sequence=2048)
    model = resolve_model(args.model, settings, pull=False)
    served = load_served_model(ModelSpec(source=model, name="model"), options, settings)
    models.add(served)
    models.mark_ready()
    started = time.perf_counter()
    try:
        forced, auto = asyncio.run(run(models, args.parallel))
    finally:
        models.close()
    elapsed = time.perf_counter() - started
    valid = sum(row["valid"] for row in forced)
    correct = sum(row["correct"] for row in auto)
    low, high = wilson_interval(correct, len(auto))
    print(f"model {args.model}, {len(forced) + len(auto)} requests in {elapsed:.0f} s")
    print(f"{'set':<34}{'n':>5}{'ok':>5}{'rate':>8}{'95% Wilson':>18}")
    forced_low, forced_high = wilson_interval(valid, len(forced))
    print(f"{'forced: valid arguments':<34}{len(forced):>5}{valid:>5}{valid / len(forced):>8.0%}"
          f"{f'{forced_low:.0%}-{forced_high:.0%}':>18}")
    print(f"{'auto: correct function choice':<34}{len(auto):>5}{correct:>5}{correct / len(auto):>8.0%}"
          f"{f'{low:.0%}-{high:.0%}':>18}")
    for label in [*AUTO_TOOLS, None]:
        rows = [row for row in auto if row["label"] == label]
        print(f"  {label or 'no call':<32}{len(rows):>5}{sum(row['correct'] for row in rows):>5}")
    path = save("tool_calls", {
        "model": args.model, "model_sha256": model.sha256, "parallel": args.parallel, "seconds": round(elapsed, 1),
        "forced": {"n": len(forced), "valid": valid, "wilson_95": [forced_low, forced_high], "rows": forced},
        "auto": {"n": len(auto), "correct": correct, "rate": correct / len(auto), "wilson_95": [low, high],
                 "rows": auto},
    })
    print(f"saved {path}")


if __name__ == "__main__":
    main()
