"""torchvision `resnet18/34/50/101/152` (`ResNet.__init__`): every Conv2d
kaiming_normal_(mode="fan_out", nonlinearity="relu") (conv1, block convs, `downsample`);
BatchNorm weight 1, bias 0 (running stats 0 / 1); `fc` keeps torch's Linear default
U(+-1/sqrt(fan_in)) for kernel and bias. `zero_init_residual=True` zeroes the last BN of
each residual block, which depends on the block's kind: `bn2` (`basic_last_bn`) in a
BasicBlock, `bn3` (`bottleneck_last_bn`) in a Bottleneck. The kind is the class name of
the enclosing block module (`basic_block`, `bottleneck`: class-name regexes; the defaults
are torchvision's and Flax examples' names).

Options (`configs/torchvision_resnet.py:key=value,key=value`, values read as Python literals):
  zero_init_residual = False, basic_block = 'BasicBlock|ResNetBlock',
  bottleneck = 'Bottleneck|BottleneckResNetBlock', basic_last_bn = 'bn2',
  bottleneck_last_bn = 'bn3'

Use:
  python -m jaxinit explain --config configs/torchvision_resnet.py --model MODULE:FACTORY
"""

import jaxinit


def get_config(**options):
    return jaxinit.preset("torchvision_resnet", **options).to_config()
