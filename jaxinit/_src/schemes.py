"""Every scheme module, imported once to fill the registry, and the names that mean something
else in another framework.

Where the schemes are:

* `schemes_basic.py`: constants (zeros, ones, constant, eye, dirac), JAX's uniform, normal and
  truncated_normal, orthogonal, delta_orthogonal;
* `variance_scaling.py`: the general primitive, JAX's variance_scaling and glorot/he/lecun;
* `schemes_torch.py`: `torch.nn.init` (uniform_, normal_, trunc_normal_, xavier_*_,
  kaiming_*_, sparse_) and torch's layer defaults (torch_kernel, torch_bias, torch_rnn,
  torch_embedding);
* `schemes_keras.py`: Keras/TF (VarianceScaling, GlorotUniform, HeNormal, ..., RandomUniform,
  RandomNormal, TruncatedNormal, the Embedding default, unit_forget_bias,
  keras_conv_glorot_uniform, uniform_unit_scaling);
* `ported_schemes.py`: what the ported-model presets add (padded_normal).

The unprefixed names keep their JAX/Flax meaning; a hyperparameter error on one of them names
the other frameworks' schemes (torch's deprecated `kaiming_uniform(tensor, a=...)` is
`kaiming_uniform_`, Keras's `"normal"` string is `RandomNormal`). The README's naming table
lists them all.
"""

from __future__ import annotations

from jaxinit._src import ported_schemes as ported_schemes
from jaxinit._src import schemes_basic as schemes_basic
from jaxinit._src import schemes_keras as schemes_keras
from jaxinit._src import schemes_torch as schemes_torch
from jaxinit._src import variance_scaling as variance_scaling
from jaxinit._src.registry import note_other_meanings

note_other_meanings("normal", ("normal_", "torch"), ("RandomNormal", "Keras 3"))
note_other_meanings("uniform", ("uniform_", "torch"), ("RandomUniform", "Keras 3"))
note_other_meanings("truncated_normal", ("trunc_normal_", "torch"), ("TruncatedNormal", "Keras 3"))
note_other_meanings("variance_scaling", ("VarianceScaling", "Keras 3"))
note_other_meanings("xavier_uniform", ("xavier_uniform_", "torch"))
note_other_meanings("xavier_normal", ("xavier_normal_", "torch"))
note_other_meanings("kaiming_uniform", ("kaiming_uniform_", "torch"))
note_other_meanings("kaiming_normal", ("kaiming_normal_", "torch"))
note_other_meanings("glorot_uniform", ("GlorotUniform", "Keras 3"), ("xavier_uniform_", "torch"))
note_other_meanings("glorot_normal", ("GlorotNormal", "Keras 3"), ("xavier_normal_", "torch"))
note_other_meanings("he_uniform", ("HeUniform", "Keras 3"), ("kaiming_uniform_", "torch"))
note_other_meanings("he_normal", ("HeNormal", "Keras 3"), ("kaiming_normal_", "torch"))
note_other_meanings("lecun_uniform", ("LecunUniform", "Keras 3"))
note_other_meanings("lecun_normal", ("LecunNormal", "Keras 3"))
