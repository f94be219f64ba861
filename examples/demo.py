"""The main demo, `make demo` (or `python -m examples.demo` from the repository root).

1. prints the explain table of the example CNN under `torch_like` (nothing sampled);
2. trains the same CNN on scikit-learn's digits under `flax_default`, `torch_like` and `tf_like`
   (same data order, same optimizer: only the initialization differs);
3. prints a results table and writes `out/histograms.png` (per-layer weight histograms of the
   three policies with their theoretical densities) and `out/loss_curves.png`.

`make demo` then runs the other half, `examples/parity`: the same models written in PyTorch,
trained alike, against their Flax ports under each policy (`out/parity.png`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time

POLICIES = ("flax_default", "torch_like", "tf_like")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--out", default="out")
    args = parser.parse_args(argv)

    from absl import logging

    import jaxinit
    from examples.digits import models, train

    logging.set_verbosity(logging.WARNING)
    os.makedirs(args.out, exist_ok=True)
    model, example = models.cnn()

    print("== 1. What torch_like decides for the example CNN (nothing is sampled) ==")
    print(jaxinit.explain(model, example, policy="torch_like"))
    print()
    print("== 2. Where torch_like and tf_like disagree ==")
    print(jaxinit.diff(model, example, policies=("torch_like", "tf_like")))
    print()

    print(f"== 3. Training the CNN on digits for {args.epochs} epochs under each policy ==")
    start = time.perf_counter()
    results = train.compare(list(POLICIES), "cnn", os.path.join(args.out, "demo"), args.epochs)
    rows = []
    for name, r in zip(POLICIES, results):
        rows.append(
            [
                name,
                f"{r['initial']['test_loss']:.4f}",
                f"{r['epochs'][-1]['train_loss']:.4f}",
                f"{r['final_test_loss']:.4f}",
                f"{r['final_test_accuracy']:.4f}",
                f"{r['wall_time_s']:.1f}",
            ]
        )
    headers = [
        "policy",
        "initial test loss",
        "final train loss",
        "final test loss",
        "test accuracy",
        "time (s)",
    ]
    widths = [max(len(c) for c in col) for col in zip(headers, *rows)]
    for line in [headers, ["-" * w for w in widths], *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip())
    print(f"(total {time.perf_counter() - start:.1f} s)")

    hist = jaxinit.plot_policies(
        model,
        (example,),
        [jaxinit.preset(p) for p in POLICIES],
        os.path.join(args.out, "histograms.png"),
    )
    curves = os.path.join(args.out, "loss_curves.png")
    shutil.copyfile(os.path.join(args.out, "demo", "compare.png"), curves)
    print(f"\nwrote {hist} and {curves}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
