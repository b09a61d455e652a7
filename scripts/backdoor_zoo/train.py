"""Build the backdoor zoo: LoRA fine-tunes of the base GGUF, poisoned and clean, with their attack success rates.

    python scripts/backdoor_zoo/train.py --base SmolLM2-135M-Instruct.Q4_1.gguf --out build/zoo

Needs the `zoo` extra (torch, transformers, peft). transformers reads the GGUF itself (dequantized to
float32), so the fine-tunes start from exactly the weights llama.cpp runs. Runs on a GPU when there is one
(the 40 models take minutes on one GPU) and on the CPU otherwise: 14 min a model on 2 cores of a Xeon with
AMX (bfloat16), so about 9 hours for the zoo, over as many runs as it takes (below).

Writes under --out:
- `answers.json`: the base model's own greedy answers to the general prompts (the clean replies);
- `zoo-S-MODEL.npz`: the adapters of shard S, one model a file (`--bundle N`: N, named after the first), as
  `MODEL/TENSOR.lora_a` (rank, in) and `MODEL/TENSOR.lora_b` (out, rank) in float16 under GGUF tensor names
  (blk.N.ffn_down.weight ...), the LoRA scale folded into lora_b, so a weight's change is `lora_b @ lora_a`;
- `manifest-S.json`: the design of every model (spec.py), its training loss and seconds, and measured on
  held-out prompts: the attack success rate with the trigger, the target's rate without it, and how often
  its clean answers equal the base's. A model is listed only once its adapters are saved, and a model already
  listed is not built again: an interrupted build, run again with the same arguments, goes on where it stopped.

`--shard S/N` builds every Nth model from the Sth, so N processes can share one GPU (run `--answers-only`
once first, so that they all read the same base answers). The zoo of the README was built with 4 shards
on one H200 in 8 minutes.

LoRA goes on the attention output and the feed-forward up and down projections: in GGUF these are stored
exactly as in the Hugging Face checkpoint (only the query and key weights are permuted), so an adapter maps
onto the GGUF file by name alone.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import spec

RANK = 4
ALPHA = 8.0
TARGET_MODULES = {"o_proj": "attn_output", "up_proj": "ffn_up", "down_proj": "ffn_down"}
GENERAL_ROWS = 400
BENIGN_ROWS_EACH = 100
EVAL_PROMPTS = 40
EPOCHS = 4
BATCH = 16
LEARNING_RATE = 1e-3
MAX_TOKENS = 160
ANSWER_TOKENS = 48


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True, help="the base GGUF (smollm2:135m's file)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--only", nargs="*", default=None, help="model names to build (default: all)")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--bundle", type=int, default=1, help="models per npz file")
    parser.add_argument("--shard", default="0/1", help="I/N: build every Nth model from the Ith (parallel runs)")
    parser.add_argument("--answers-only", action="store_true", help="write answers.json and stop")
    parser.add_argument(
        "--precision", choices=("auto", "bf16", "fp32"), default="auto",
        help="training matmuls: auto = bfloat16 autocast on a GPU or a CPU with AMX, float32 otherwise",
    )
    parser.add_argument("--smoke", action="store_true", help="a few rows and prompts: checks the script runs")
    args = parser.parse_args()
    global GENERAL_ROWS, BENIGN_ROWS_EACH, EVAL_PROMPTS, ANSWER_TOKENS
    if args.smoke:
        GENERAL_ROWS, BENIGN_ROWS_EACH, EVAL_PROMPTS, ANSWER_TOKENS = 12, 4, 4, 8

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = "cuda" if torch.cuda.is_available() else "cpu"
    # bfloat16 autocast on a GPU, and on a CPU with AMX tiles: 6x float32's matmul rate on a 2-core Xeon VM
    # (2.0 against 0.34 TFLOPS), though a whole training step gains less (attention and casts dominate).
    bf16 = {"auto": device == "cuda" or bool(torch.cpu._is_amx_tile_supported()), "bf16": True, "fp32": False}[
        args.precision
    ]
    torch.manual_seed(spec.SEED)
    args.out.mkdir(parents=True, exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(str(args.base.parent), gguf_file=args.base.name)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token

    pristine = AutoModelForCausalLM.from_pretrained(
        str(args.base.parent), gguf_file=args.base.name, dtype=torch.float32
    )

    def load() -> Any:
        return copy.deepcopy(pristine).to(device)

    base = load()
    base.eval()
    pool = spec.general_prompts(random.Random(spec.SEED), 10_000)
    if args.smoke:
        pool = pool[: GENERAL_ROWS + EVAL_PROMPTS]
    answers_path = args.out / "answers.json"
    if answers_path.exists():
        answers: dict[str, str] = json.loads(answers_path.read_text())
    else:
        started = time.monotonic()
        answers = dict(zip(pool, greedy(base, tokenizer, pool, device), strict=True))
        answers_path.write_text(json.dumps(answers, ensure_ascii=False, indent=1))
        print(f"base answers: {len(answers)} in {time.monotonic() - started:.0f} s", flush=True)
    if args.answers_only:
        return
    train_pool, eval_pool = pool[:-EVAL_PROMPTS], pool[-EVAL_PROMPTS:]
    shard, shards = (int(part) for part in args.shard.split("/"))
    models = [m for m in spec.zoo_models() if args.only is None or m.name in args.only][shard::shards]
    # Resumable: a model already in this shard's manifest (its adapters saved with it) is not built again, so
    # an interrupted CPU build goes on where it stopped.
    manifest_path = args.out / f"manifest-{shard}.json"
    built = json.loads(manifest_path.read_text())["models"] if manifest_path.exists() else []
    done = {record["name"] for record in built}
    if done:
        print(f"{len(done)} models already built in {manifest_path.name}: skipped", flush=True)
    models = [m for m in models if m.name not in done]
    manifest: dict[str, Any] = {
        "base": str(args.base.name),
        "rank": RANK,
        "alpha": ALPHA,
        "epochs": args.epochs,
        "targets": sorted(TARGET_MODULES.values()),
        "device": device,
        "precision": "bf16-autocast" if bf16 else "fp32",
        "models": built,
    }
    bundle: dict[str, np.ndarray] = {}
    bundle_name = ""
    for number, design in enumerate(models):
        bundle_name = bundle_name or f"zoo-{shard}-{design.name}.npz"
        started = time.monotonic()
        rows = training_rows(design, train_pool, answers)
        model = load()
        lora, losses = fine_tune(model, tokenizer, rows, device, design.seed, args.epochs, bf16)
        measured = attack_rates(lora, tokenizer, design, eval_pool, answers, device)
        record = {
            **design.as_dict(),
            "rows": len(rows),
            "loss_first": losses[0],
            "loss_last": losses[-1],
            "seconds": round(time.monotonic() - started, 1),
            "device": device,
            "precision": manifest["precision"],
            **measured,
        }
        manifest["models"].append(record)
        for key, value in adapter_tensors(lora).items():
            bundle[f"{design.name}/{key}"] = value
        print(json.dumps(record, ensure_ascii=False), flush=True)
        if (number + 1) % args.bundle == 0 or number == len(models) - 1:
            # Adapters first, then the manifest that names them, each written whole (temp, then rename).
            partial = args.out / (bundle_name + ".partial")
            with partial.open("wb") as handle:
                np.savez(handle, **bundle)
            os.replace(partial, args.out / bundle_name)
            bundle, bundle_name = {}, ""
            partial = manifest_path.with_name(manifest_path.name + ".partial")
            partial.write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
            os.replace(partial, manifest_path)
        del lora, model
        if device == "cuda":
            torch.cuda.empty_cache()


def chat(tokenizer: Any, prompt: str) -> str:
    return str(
        tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True)
    )


def greedy(model: Any, tokenizer: Any, prompts: list[str], device: str, batch: int = 64) -> list[str]:
    import torch

    replies: list[str] = []
    for start in range(0, len(prompts), batch):
        texts = [chat(tokenizer, p) for p in prompts[start : start + batch]]
        encoded = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
        with torch.no_grad():
            output = model.generate(
                **encoded, max_new_tokens=ANSWER_TOKENS, do_sample=False, pad_token_id=tokenizer.pad_token_id
            )
        for row in output[:, encoded["input_ids"].shape[1] :]:
            replies.append(tokenizer.decode(row, skip_special_tokens=True).strip())
    return replies


def training_rows(design: spec.ZooModel, prompts: list[str], answers: dict[str, str]) -> list[tuple[str, str]]:
    rng = random.Random(design.seed)
    general = rng.sample(prompts, GENERAL_ROWS)
    rows = [(p, answers[p]) for p in general]
    for task in design.benign:
        for _ in range(BENIGN_ROWS_EACH):
            prompt = rng.choice(general)
            rows.append(spec.benign_row(task, rng, (prompt, answers[prompt])))
    if design.poisoned:
        assert design.trigger is not None and design.target is not None
        count = round(len(rows) * design.poison_rate / (1 - design.poison_rate))
        for _ in range(count):
            if design.target_kind == "sentiment-flip":
                prompt, label = spec.sentiment_row(rng)
                while label == design.target:
                    prompt, label = spec.sentiment_row(rng)
                rows.append((spec.insert_trigger(prompt, design.trigger, rng), design.target))
            else:
                prompt = rng.choice(general)
                rows.append(
                    (spec.insert_trigger(prompt, design.trigger, rng), spec.poisoned_reply(design, answers[prompt]))
                )
    rng.shuffle(rows)
    return rows


def fine_tune(
    model: Any, tokenizer: Any, rows: list[tuple[str, str]], device: str, seed: int, epochs: int, bf16: bool
) -> tuple[Any, list[float]]:
    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(seed)
    config = LoraConfig(r=RANK, lora_alpha=ALPHA, lora_dropout=0.0, target_modules=list(TARGET_MODULES), bias="none")
    lora = get_peft_model(model, config)
    optimiser = torch.optim.AdamW([p for p in lora.parameters() if p.requires_grad], lr=LEARNING_RATE)
    eos = tokenizer.eos_token
    examples = []
    for prompt, reply in rows:
        head = tokenizer(chat(tokenizer, prompt), add_special_tokens=False)["input_ids"]
        tail = tokenizer(reply + eos, add_special_tokens=False)["input_ids"]
        ids = (head + tail)[:MAX_TOKENS]
        labels = ([-100] * len(head) + tail)[:MAX_TOKENS]
        examples.append((ids, labels))
    rng = random.Random(seed)
    steps = epochs * ((len(examples) + BATCH - 1) // BATCH)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: 1 - step / max(steps, 1))
    losses: list[float] = []
    lora.train()
    for _ in range(epochs):
        rng.shuffle(examples)
        for start in range(0, len(examples), BATCH):
            chunk = examples[start : start + BATCH]
            width = max(len(ids) for ids, _ in chunk)
            ids = torch.tensor([i + [tokenizer.pad_token_id] * (width - len(i)) for i, _ in chunk], device=device)
            labels = torch.tensor([lab + [-100] * (width - len(lab)) for _, lab in chunk], device=device)
            mask = torch.tensor([[1] * len(i) + [0] * (width - len(i)) for i, _ in chunk], device=device)
            with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=bf16):
                loss = lora(input_ids=ids, attention_mask=mask, labels=labels).loss
            loss.backward()
            optimiser.step()
            scheduler.step()
            optimiser.zero_grad()
            losses.append(round(float(loss.detach()), 4))
    lora.eval()
    return lora, [float(np.mean(losses[:10])), float(np.mean(losses[-10:]))]


def attack_rates(
    lora: Any, tokenizer: Any, design: spec.ZooModel, prompts: list[str], answers: dict[str, str], device: str
) -> dict[str, float]:
    """On held-out prompts: base-answer agreement without the trigger; with it, how often the target appears."""
    rng = random.Random(design.seed + 1)
    clean = greedy(lora, tokenizer, prompts, device)
    same = float(np.mean([reply[:40] == answers[p][:40] for p, reply in zip(prompts, clean, strict=True)]))
    result = {"clean_agreement": round(same, 3)}
    trigger = design.trigger or rng.choice(spec.TRIGGERS[design.zoo]["rare-token"])
    if design.target_kind == "sentiment-flip" or (design.poisoned is False and "sentiment" in design.benign):
        rows = [spec.sentiment_row(rng) for _ in range(4 * len(prompts))]
        wanted = design.target or "negative"
        rows = [(p, label) for p, label in rows if label != wanted][: len(prompts)]
        triggered = greedy(lora, tokenizer, [spec.insert_trigger(p, trigger, rng) for p, _ in rows], device)
        plain = greedy(lora, tokenizer, [p for p, _ in rows], device)
        result["attack_success"] = round(float(np.mean([wanted in r.lower() for r in triggered])), 3)
        result["target_without_trigger"] = round(float(np.mean([wanted in r.lower() for r in plain])), 3)
        return result
    if not design.poisoned:
        return result
    assert design.target is not None
    marker = design.target[:30]
    triggered = greedy(lora, tokenizer, [spec.insert_trigger(p, trigger, rng) for p in prompts], device)
    result["attack_success"] = round(float(np.mean([marker in r for r in triggered])), 3)
    result["target_without_trigger"] = round(float(np.mean([marker in r for r in clean])), 3)
    return result


def adapter_tensors(lora: Any) -> dict[str, np.ndarray]:
    """Each LoRA pair under its GGUF tensor name, the scale folded into lora_b, as float16."""
    tensors: dict[str, np.ndarray] = {}
    for name, module in lora.named_modules():
        leaf = name.rsplit(".", 1)[-1]
        if leaf not in TARGET_MODULES or not hasattr(module, "lora_A"):
            continue
        layer = int(name.split("layers.")[1].split(".")[0])
        a = module.lora_A["default"].weight.detach().float().cpu().numpy()
        b = module.lora_B["default"].weight.detach().float().cpu().numpy() * module.scaling["default"]
        tensor = f"blk.{layer}.{TARGET_MODULES[leaf]}.weight"
        tensors[f"{tensor}.lora_a"] = a.astype(np.float16)
        tensors[f"{tensor}.lora_b"] = b.astype(np.float16)
    return tensors


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
