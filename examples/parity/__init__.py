"""A torch model and its Flax port, trained alike under each init: do they learn alike?

Run `python -m examples.parity.main --config=examples/parity/configs/default.py --workdir=out`.
"""
