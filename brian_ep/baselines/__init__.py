"""Baselines that run behind the engine interface, so that :func:`brian_ep.train` trains them
and writes ordinary run directories (torch and snntorch are imported only when one is built):
``bp`` (feed-forward backprop), ``bptt_crnn`` (backprop through EP's recurrent network) and
``bptt_snn`` (snntorch LIF network, surrogate gradient). Their spec options are in
:mod:`brian_ep.baselines.options`."""

from .backprop import BackpropEngine, BackpropResult, train_backprop

__all__ = ["BackpropEngine", "BackpropResult", "train_backprop"]
