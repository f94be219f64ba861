"""jaxinit: explicit, named, config-driven and faithful initialization for JAX/Flax."""

from jaxinit import presets as presets
from jaxinit._src import ported_schemes as _ported_schemes  # noqa: F401  (padded_normal)
from jaxinit._src import schemes as _schemes  # noqa: F401  (fills the registry)
from jaxinit._src.api import apply as apply
from jaxinit._src.api import diff as diff
from jaxinit._src.api import explain as explain
from jaxinit._src.api import init as init
from jaxinit._src.api import resolve as resolve
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
from jaxinit._src.policy import Decision as Decision
from jaxinit._src.policy import ModuleInfo as ModuleInfo
from jaxinit._src.policy import ParamSpec as ParamSpec
from jaxinit._src.policy import Policy as Policy
from jaxinit._src.policy import Rule as Rule
from jaxinit._src.policy import UnusedRuleWarning as UnusedRuleWarning
from jaxinit._src.registry import SchemeInfo as SchemeInfo
from jaxinit._src.registry import all_names as all_names
from jaxinit._src.registry import describe as describe
from jaxinit._src.registry import get as get
from jaxinit._src.registry import names as names
from jaxinit._src.registry import register as register
from jaxinit._src.sampling import TRUNCATED_STD_FACTOR as TRUNCATED_STD_FACTOR
from jaxinit._src.types import Initializer as Initializer
from jaxinit._src.types import Stats as Stats

__version__ = "0.1.0"

__all__ = (
    "Decision",
    "DrawStats",
    "ModuleInfo",
    "ParamSpec",
    "Policy",
    "Rule",
    "UnusedRuleWarning",
    "apply",
    "diff",
    "draw_stats",
    "explain",
    "init",
    "load_config_file",
    "load_policy",
    "path_key",
    "presets",
    "reset_draw_stats",
    "resolve",
    "save_policy",
    "ConfigError",
    "HyperparameterError",
    "Initializer",
    "JaxinitError",
    "PolicyError",
    "SchemeInfo",
    "ShapeError",
    "Stats",
    "TRUNCATED_STD_FACTOR",
    "UnknownNameError",
    "all_names",
    "calculate_gain",
    "compute_fans",
    "describe",
    "get",
    "keras_fans",
    "names",
    "register",
    "torch_fans",
)
