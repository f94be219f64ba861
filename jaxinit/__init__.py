"""jaxinit: explicit, named, config-driven and faithful initialization for JAX/Flax.

A tour, verbs first (target first, then the key, then example inputs, `policy=` by keyword):

* `init(model, key, *inputs, policy=...)`: the variables of a Linen module (an NNX module is
  re-initialized in place, a pytree is returned re-initialized where the rules cover it);
* `explain(model, *inputs, policy=...)`: every decision, before anything is drawn;
* `diff(model, *inputs, policies=(a, b))`: where two policies disagree;
* policies: `preset(name)`, `preset_names()`, `Policy([Rule(regex, scheme), ...])`, and
  `load_policy(path)` / `save_policy(policy, path)` for files;
* schemes: `get(name, **hyperparameters)` is a `jax.nn.initializers`-style initializer;
  `names()`, `describe(name)`, `register(name)`, `unregister(name)` manage the registry.

>>> import jax, jax.numpy as jnp, flax.linen as nn, jaxinit
>>> variables = jaxinit.init(nn.Dense(3), jax.random.key(0), jnp.ones((1, 4)), policy="tf_like")
>>> variables["params"]["kernel"].shape, variables["params"]["bias"].tolist()
((4, 3), [0.0, 0.0, 0.0])
>>> print(jaxinit.explain(nn.Dense(3), jnp.ones((1, 4)), policy="tf_like").rows[1].scheme)
glorot_uniform
"""

from jaxinit._src import schemes as _schemes  # noqa: F401  (fills the registry)
from jaxinit._src.api import diff as diff
from jaxinit._src.api import explain as explain
from jaxinit._src.api import init as init
from jaxinit._src.api import preset as preset
from jaxinit._src.api import preset_names as preset_names
from jaxinit._src.config import load_config_file as load_config_file
from jaxinit._src.config import load_policy as load_policy
from jaxinit._src.config import save_policy as save_policy
from jaxinit._src.draw import DrawStats as DrawStats
from jaxinit._src.draw import reset_stats as reset_draw_stats
from jaxinit._src.draw import stats as draw_stats
from jaxinit._src.errors import ConfigError as ConfigError
from jaxinit._src.errors import HyperparameterError as HyperparameterError
from jaxinit._src.errors import JaxinitError as JaxinitError
from jaxinit._src.errors import PolicyError as PolicyError
from jaxinit._src.errors import ShapeError as ShapeError
from jaxinit._src.errors import UnknownNameError as UnknownNameError
from jaxinit._src.fans import compute_fans as compute_fans
from jaxinit._src.fans import keras_fans as keras_fans
from jaxinit._src.fans import torch_fans as torch_fans
from jaxinit._src.gain import calculate_gain as calculate_gain
from jaxinit._src.paths import path_key as path_key
from jaxinit._src.plot import plot_policies as plot_policies
from jaxinit._src.policy import Decision as Decision
from jaxinit._src.policy import Policy as Policy
from jaxinit._src.policy import Resolution as Resolution
from jaxinit._src.policy import UnusedRuleWarning as UnusedRuleWarning
from jaxinit._src.registry import SchemeInfo as SchemeInfo
from jaxinit._src.registry import all_names as all_names
from jaxinit._src.registry import describe as describe
from jaxinit._src.registry import get as get
from jaxinit._src.registry import names as names
from jaxinit._src.registry import register as register
from jaxinit._src.registry import unregister as unregister
from jaxinit._src.report import DiffRow as DiffRow
from jaxinit._src.report import ExplainRow as ExplainRow
from jaxinit._src.report import Explanation as Explanation
from jaxinit._src.report import PolicyDiff as PolicyDiff
from jaxinit._src.rules import Rule as Rule
from jaxinit._src.sampling import TRUNCATED_STD_FACTOR as TRUNCATED_STD_FACTOR
from jaxinit._src.specs import ModuleInfo as ModuleInfo
from jaxinit._src.specs import ParamSpec as ParamSpec
from jaxinit._src.types import Initializer as Initializer
from jaxinit._src.types import Stats as Stats

__version__ = "0.1.0"

__all__ = (
    # The verbs.
    "diff",
    "explain",
    "init",
    # Policies and presets.
    "Policy",
    "Rule",
    "load_config_file",
    "load_policy",
    "preset",
    "preset_names",
    "save_policy",
    # The registry of schemes.
    "all_names",
    "describe",
    "get",
    "names",
    "register",
    "unregister",
    # Fans, gains, keys.
    "TRUNCATED_STD_FACTOR",
    "calculate_gain",
    "compute_fans",
    "keras_fans",
    "path_key",
    "torch_fans",
    # Types users hold.
    "Decision",
    "DiffRow",
    "DrawStats",
    "ExplainRow",
    "Explanation",
    "Initializer",
    "ModuleInfo",
    "ParamSpec",
    "PolicyDiff",
    "Resolution",
    "SchemeInfo",
    "Stats",
    # Draw-engine statistics.
    "draw_stats",
    "reset_draw_stats",
    # Histograms of the drawn parameters under several policies (needs matplotlib).
    "plot_policies",
    # Errors and warnings.
    "ConfigError",
    "HyperparameterError",
    "JaxinitError",
    "PolicyError",
    "ShapeError",
    "UnknownNameError",
    "UnusedRuleWarning",
)
