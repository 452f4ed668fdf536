"""Network specs: YAML files in ``network_specs/`` parsed into immutable, validated objects.

>>> from brian_ep.spec import load_spec
>>> spec = load_spec("network_specs/digits.yaml")   # doctest: +SKIP
>>> spec.ep.beta                                       # doctest: +SKIP
0.5
"""

from ..errors import BrianEPError, DataError, DivergenceError, SpecError
from .load import (
    REMOVED_KEYS,
    apply_overrides,
    dump_spec,
    is_spec_key,
    load_spec,
    register_spec_check,
    section_keys,
    spec_from_dict,
    spec_to_dict,
)
from .quantities import parse_time
from .schema import (
    ChainSpec,
    AugmentSpec,
    ConvSpec,
    EventsSpec,
    DataSpec,
    EPSpec,
    HiddenStack,
    InitSpec,
    InputSpec,
    LayerSpec,
    ModelSpec,
    NeuronSpec,
    OptimSpec,
    ProjectionSpec,
    ReadoutSpec,
    ResidualSpec,
    RunSpec,
    Spec,
)

__all__ = [
    "BrianEPError",
    "DataError",
    "DivergenceError",
    "SpecError",
    "load_spec",
    "spec_from_dict",
    "spec_to_dict",
    "dump_spec",
    "apply_overrides",
    "register_spec_check",
    "REMOVED_KEYS",
    "section_keys",
    "is_spec_key",
    "parse_time",
    "Spec",
    "ModelSpec",
    "EPSpec",
    "OptimSpec",
    "AugmentSpec",
    "EventsSpec",
    "DataSpec",
    "RunSpec",
    "LayerSpec",
    "InputSpec",
    "HiddenStack",
    "NeuronSpec",
    "InitSpec",
    "ChainSpec",
    "ProjectionSpec",
    "ConvSpec",
    "ResidualSpec",
    "ReadoutSpec",
]
