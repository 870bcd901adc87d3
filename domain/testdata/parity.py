"""Runs the reference executor (seed_executor.py) over dry-run scenarios, for parity_test.go.

Reads {"scenarios": [{"name", "request": <dry-run request>, "ref_config": {...}}]} on stdin and
writes one evaluate_and_plan result per scenario, as a JSON list, on stdout.

seed_executor is imported from $RESURGE_SEED_BASELINE, or else from shared/seed-baseline beside
the repository (<repo>/../shared/seed-baseline, this file being <repo>/domain/testdata/parity.py).
"""
import json
import os
import sys
import tempfile
from datetime import datetime
from pathlib import Path

seed_dir = os.environ.get("RESURGE_SEED_BASELINE") or str(
    Path(__file__).resolve().parents[2] / ".." / "shared" / "seed-baseline")
sys.path.insert(0, seed_dir)

from seed_executor import (  # noqa: E402
    ActionType, EvaluationConfig, PostMetricsPoint, SelfHealingExecutor)


def run(scenario, workdir):
    req, rc = scenario["request"], scenario["ref_config"]
    config = EvaluationConfig(
        per_post_window_minutes=rc["per_post_window_minutes"],
        min_samples_required=rc["min_samples_required"],
        cooldown_by_action_seconds={ActionType(k): v for k, v in rc["cooldown_by_action_seconds"].items()},
        max_actions_per_window=rc["max_actions_per_window"],
    )
    history = Path(workdir) / (scenario["name"].replace("/", "_") + ".json")
    history.write_text(json.dumps(req.get("log") or []), encoding="utf-8")
    ex = SelfHealingExecutor(config=config, persistence_path=str(history))
    # _load_history swallows errors and starts empty: make sure the whole log was read.
    if len(ex._history) != len(req.get("log") or []):
        raise SystemExit(f"{scenario['name']}: the reference loaded {len(ex._history)} records "
                         f"of {len(req.get('log') or [])}")
    metrics = [PostMetricsPoint(datetime.fromisoformat(s["at"]), s["impressions"], s["engagements"])
               for s in req.get("samples") or []]
    now = datetime.fromisoformat(req["now"])
    result = ex.evaluate_and_plan(req["post_id"], metrics, now=now)
    # The reference reports score, tier and action only for eligible plans; add what it would
    # have computed for the others too (same private helpers evaluate_and_plan uses).
    window = ex._filter_window(metrics, now)
    if len(window) >= config.min_samples_required:
        score, tier = ex._evaluate_stagnation(window)
        result["computed"] = {"stagnation_score": score, "tier": tier.value,
                              "action_type": ex._choose_action_type(tier).value}
    return result


def main():
    scenarios = json.load(sys.stdin)["scenarios"]
    with tempfile.TemporaryDirectory() as workdir:
        results = [run(s, workdir) for s in scenarios]
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
