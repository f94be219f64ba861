"""One initialization measurement, in a fresh process.

`measure(model, contender, size)` runs this file as a child process
(`subprocess.run([sys.executable, __file__, json_args])`) and returns its JSON result, so every
measurement starts from a clean interpreter: no warm jit cache, no allocator state, no pages
left over from an earlier model. Run by hand:

    .venv/bin/python benchmarks/measure.py \
        '{"model": "gpt2", "contender": "flax_jit", "size": "tiny"}'

What the child measures
-----------------------
1. Imports only what its contender needs (torch contenders never load jax and vice versa),
   defines the model (the Flax module and its example inputs, with the JAX backend already
   started; for torch, the class and its spec) and, for `jaxinit_*`, loads the policy.
2. `baseline_rss_bytes`: VmRSS from /proc/self/status right before initialization starts.
3. `wall_s`: `time.perf_counter()` from "model defined" to "every parameter ready":
   `jax.block_until_ready` on the whole variable tree, compilation included; for torch, the
   module's construction (which is its initialization).
4. `peak_rss_above_baseline_bytes`: VmHWM (the kernel's peak RSS) after initialization minus the
   baseline. The peak cannot be reset from Python's standard library, but Linux (>= 4.0) resets
   it when "5" is written to /proc/self/clear_refs; the child does that right before the timer
   starts (`hwm_reset: true`). Where that write fails, VmHWM still holds the import-time peak,
   which can exceed the baseline: then the figure is an upper bound (`hwm_reset: false`, and
   `hwm_before_bytes` says by how much the old peak was above the baseline).
   RSS counts everything the process touched: parameter buffers, XLA's temporaries, and the
   compiler's own memory while it compiles (LLVM), which is part of what a user pays.
5. `param_bytes` / `n_params`: bytes and elements of every array initialization produced (Flax:
   all collections, so ResNet's `batch_stats` too; torch: parameters and buffers).
   `n_trainable` counts the `params` collection / `parameters()` only.

Contenders
----------
- `torch`: `models_torch.build(model)`, torch's own default init.
- `flax_jit`: `jax.jit(module.init)(key, *inputs)`.
- `flax_jit_phases`: the same through the AOT API, timed per phase: `trace_lower_s`
  (`jax.jit(module.init).lower(...)`), `compile_s` (`.compile()`), `execute_s` (running it).
- `flax_eager`: `module.init(key, *inputs)`.
- `constant_floor`: fills the same shapes with zeros,
  `jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)`. Only the fill is timed: the
  `jax.eval_shape(module.init, ...)` that gives the shapes runs before the baseline. It is the
  floor for "writing this many bytes", not an initialization.
- `jaxinit_<preset>`: `jaxinit.init(module, key, *inputs, policy=jaxinit.load_policy(preset))`;
  the policy is loaded before the baseline. Reports `status: "unavailable"` when the installed
  jaxinit has no `init` / `load_policy` yet.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RESULT_PREFIX = "BENCH_RESULT "
# Imports and model definition (eval_shape of a large model, on a loaded machine) get this long.
_SETUP_ALLOWANCE_S = 300
JAXINIT_PRESETS = ("flax_default", "torch_like", "tf_like")
CONTENDERS = (
    "torch",
    "flax_jit",
    "flax_jit_phases",
    "flax_eager",
    "constant_floor",
    *(f"jaxinit_{p}" for p in JAXINIT_PRESETS),
)


def _status_bytes(field: str) -> int:
    """A `kB` field of /proc/self/status (VmRSS, VmHWM), in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not found in /proc/self/status (Linux only).")


def _reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where the kernel refuses."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def _define(model: str, contender: str, size: str):
    """Imports and model definition; returns `(init_fn, count_fn, extra)`, nothing sampled yet.

    `init_fn()` runs the initialization and returns once every value is ready;
    `count_fn(result)` gives `(n_params, n_trainable, param_bytes, n_arrays)`.
    """
    if contender == "torch":
        import torch

        import models_torch

        torch.manual_seed(0)

        def count(module):
            tensors = [*module.parameters(), *module.buffers()]
            return (
                sum(t.numel() for t in tensors),
                models_torch.param_count(module),
                sum(t.numel() * t.element_size() for t in tensors),
                len(tensors),
            )

        return (lambda: models_torch.build(model, size)[0]), count, {}

    import jax
    import jax.numpy as jnp

    import models_flax

    module, inputs = models_flax.build(model, size)
    key = jax.random.key(0)
    jax.block_until_ready((key, inputs))  # the backend is up before the baseline

    def count(variables):
        leaves = jax.tree.leaves(variables)
        return (
            sum(x.size for x in leaves),
            sum(x.size for x in jax.tree.leaves(variables.get("params", {}))),
            sum(x.nbytes for x in leaves),
            len(leaves),
        )

    extra = {}
    if contender == "flax_jit":

        def init():
            return jax.block_until_ready(jax.jit(module.init)(key, *inputs))

    elif contender == "flax_jit_phases":

        def init():
            t0 = time.perf_counter()
            lowered = jax.jit(module.init).lower(key, *inputs)
            t1 = time.perf_counter()
            compiled = lowered.compile()
            t2 = time.perf_counter()
            out = jax.block_until_ready(compiled(key, *inputs))
            t3 = time.perf_counter()
            extra.update(trace_lower_s=t1 - t0, compile_s=t2 - t1, execute_s=t3 - t2)
            return out

    elif contender == "flax_eager":

        def init():
            return jax.block_until_ready(module.init(key, *inputs))

    elif contender == "constant_floor":
        shapes = jax.eval_shape(module.init, key, *inputs)

        def init():
            return jax.block_until_ready(
                jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)
            )

    elif contender.startswith("jaxinit_"):
        import jaxinit

        missing = [n for n in ("init", "load_policy") if not hasattr(jaxinit, n)]
        if missing:
            raise _Unavailable(f"jaxinit {jaxinit.__version__} has no {', '.join(missing)}")
        policy = jaxinit.load_policy(contender.removeprefix("jaxinit_"))

        def init():
            return jax.block_until_ready(jaxinit.init(module, key, *inputs, policy=policy))

    else:
        raise ValueError(f"Unknown contender {contender!r}; choose one of {CONTENDERS}.")
    return init, count, extra


class _Unavailable(Exception):
    """The contender cannot run with the installed software (reported, not an error)."""


def _watchdog(timeout_s: float) -> threading.Timer:
    """After `timeout_s`, report a timeout and end the process, even inside XLA's compiler.

    A signal handler would wait for the compiler to return to Python; `os._exit` from a thread
    does not. Started when the timer starts, so imports never count against the limit.
    """

    def expire() -> None:
        result = {"status": "timeout", "reason": f"stopped after {timeout_s:g} s"}
        print(RESULT_PREFIX + json.dumps({**result, "timeout_s": timeout_s}), flush=True)
        os._exit(0)

    timer = threading.Timer(timeout_s, expire)
    timer.daemon = True
    return timer


class _CompileCounter:
    """Counts XLA backend compilations (JAX's own monitoring event, one per compiled program:
    jaxinit's draw programs, Flax's eager ops, everything) while `active`."""

    EVENT = "/jax/core/compile/backend_compile_duration"

    def __init__(self):
        import jax

        self.n, self.active = 0, False
        jax.monitoring.register_event_duration_secs_listener(self._on_event)

    def _on_event(self, name, secs, **kwargs):
        if self.active and name == self.EVENT:
            self.n += 1


def _child(args: dict) -> dict:
    model, contender, size = args["model"], args["contender"], args["size"]
    watchdog = _watchdog(args.get("timeout_s", 150))
    t_start = time.perf_counter()
    try:
        init, count, extra = _define(model, contender, size)
    except _Unavailable as e:
        return {"status": "unavailable", "reason": str(e)}
    setup_s = time.perf_counter() - t_start
    counter = _CompileCounter() if contender != "torch" else None
    gc.collect()
    gc.disable()  # no collector pause lands inside the timed region
    baseline = _status_bytes("VmRSS")
    hwm_before = _status_bytes("VmHWM")
    hwm_reset = _reset_peak_rss()

    watchdog.start()
    if counter is not None:
        counter.active = True
    t0 = time.perf_counter()
    result = init()
    wall_s = time.perf_counter() - t0
    watchdog.cancel()
    if counter is not None:
        counter.active = False
        extra["xla_compiles"] = counter.n

    peak = _status_bytes("VmHWM")
    gc.enable()
    n_params, n_trainable, param_bytes, n_arrays = count(result)
    return {
        "status": "ok",
        "wall_s": wall_s,
        "peak_rss_above_baseline_bytes": peak - baseline,
        "param_bytes": param_bytes,
        "n_params": n_params,
        "n_trainable": n_trainable,
        "n_arrays": n_arrays,
        "baseline_rss_bytes": baseline,
        "peak_rss_bytes": peak,
        "hwm_reset": hwm_reset,
        "hwm_before_bytes": max(0, hwm_before - baseline),
        "setup_s": setup_s,
        **extra,
    }


def measure(model: str, contender: str, size: str = "full", *, timeout_s: float = 150) -> dict:
    """Run one measurement in a fresh interpreter and return its JSON result.

    Never raises for a failing contender, so a long benchmark run goes on: a crash or an
    unparsable output comes back as `{"status": "error", "reason": ...}`; an initialization
    still running `timeout_s` after its timer started is stopped and comes back as
    `{"status": "timeout", "timeout_s": ...}` (its time is a lower bound).
    """
    args = json.dumps(
        {"model": model, "contender": contender, "size": size, "timeout_s": timeout_s}
    )
    # The child stops itself; this outer limit only catches a child stuck before its timer.
    outer_s = timeout_s + _SETUP_ALLOWANCE_S
    try:
        proc = subprocess.run(
            [sys.executable, os.path.abspath(__file__), args],
            capture_output=True,
            text=True,
            timeout=outer_s,
            cwd=HERE,
        )
    except subprocess.TimeoutExpired:
        return {"status": "error", "reason": f"child killed after {outer_s:g} s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
    return {"status": "error", "reason": f"exit {proc.returncode}: " + " | ".join(tail)}


def main(argv: list[str]) -> None:
    sys.path.insert(0, HERE)  # models_flax / models_torch / specs, whatever the cwd
    args = json.loads(argv[1])
    print(RESULT_PREFIX + json.dumps(_child(args)), flush=True)


if __name__ == "__main__":
    main(sys.argv)
