#!/usr/bin/env python3
"""Print the training curve of a medseg run directory as a Markdown table (for docs/benchmarks.md and notes).

Usage: scripts/run_curve.py RUNDIR [--every N]

Reads RUNDIR/run.json and RUNDIR/checkpoints/last.json (written by the trainer after every epoch); prints the recipe,
the wall time, the best epoch, and one row every N epochs (plus the best and the last epoch). Standard library only.
"""
import argparse
import json
import os
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--every", type=int, default=5, help="one row every N epochs (default 5)")
    args = parser.parse_args()
    state_path = os.path.join(args.run, "checkpoints", "last.json")
    manifest_path = os.path.join(args.run, "run.json")
    if not os.path.exists(state_path):
        print(f"{state_path} does not exist: is {args.run} a medseg run directory with at least one finished epoch?",
              file=sys.stderr)
        return 1
    with open(state_path, encoding="utf-8") as f:
        state = json.load(f)
    manifest = {}
    if os.path.exists(manifest_path):
        with open(manifest_path, encoding="utf-8") as f:
            manifest = json.load(f)
    history = state["History"]
    recipe = manifest.get("Recipe") or {}
    total = sum(e["Seconds"] for e in history)
    print(f"- model {manifest.get('Model', '?')}, {manifest.get('ImageSize', '?')}², batch {manifest.get('BatchSize', '?')}, "
          f"lr {manifest.get('LearningRate', '?')}, {manifest.get('Schedule', '?')}, loss {recipe.get('Loss', '?')}, "
          f"augmentation {recipe.get('Augmentation', {}).get('Name', '?') if isinstance(recipe.get('Augmentation'), dict) else recipe.get('Augmentation', '?')}, "
          f"seed {manifest.get('Seed', '?')}; {recipe.get('TrainCases', '?')} training / {recipe.get('ValidationCases', '?')} validation cases")
    print(f"- {len(history)} epochs in {total / 60:.1f} min of training time (sum of epoch times; validation included); "
          f"best validation Dice **{state['BestValidationDice']:.4f}** at epoch {state['BestEpoch']}")
    print()
    print("| epoch | train loss | val loss | val Dice | val IoU | lr | s |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    keep = {e["Epoch"] for e in history if e["Epoch"] % args.every == 0 or e["Epoch"] == 1}
    keep |= {state["BestEpoch"], history[-1]["Epoch"]}
    for e in history:
        if e["Epoch"] not in keep:
            continue
        best = " (best)" if e["Epoch"] == state["BestEpoch"] else ""
        print(f"| {e['Epoch']}{best} | {e['TrainLoss']:.4f} | {e['ValidationLoss']:.4f} | {e['ValidationDice']:.4f} | "
              f"{e['ValidationIoU']:.4f} | {e['LearningRate']:.3g} | {e['Seconds']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
