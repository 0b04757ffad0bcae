"""minijax.nn: flax.linen rebuilt from scratch. Use it as `import minijax.nn as nn`.

* `Module`, `compact`, `nowrap`, `merge_param`: the module
  system (`module.py`), on the variable store of `scope.py`.
* `initializers`, activations (`relu`, `gelu`, `softmax`, ...).
* Layers: `Dense`, `Embed`, `Dropout`, `Sequential`,
  `MLP`; `Conv` / `ConvTranspose`; `BatchNorm`, `LayerNorm`,
  `RMSNorm`, `GroupNorm`, `WeightNorm`, `SpectralNorm`; attention (`MultiHeadDotProductAttention`,
  `dot_product_attention`, masks); recurrent cells and `RNN`; pooling
  functions; and `tabulate` (`summary.py`).
"""

from minijax.nn import initializers
from minijax.nn.activation import (
    PReLU,
    celu,
    elu,
    gelu,
    glu,
    hard_sigmoid,
    hard_silu,
    hard_swish,
    hard_tanh,
    leaky_relu,
    log_sigmoid,
    log_softmax,
    logsumexp,
    normalize,
    one_hot,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    soft_sign,
    softmax,
    softplus,
    standardize,
    swish,
    tanh,
)
from minijax.nn.batch_norm import BatchNorm
from minijax.nn.combinators import MLP, Sequential
from minijax.nn.errors import (
    AssignSubModuleError,
    CollectionNotFoundError,
    DuplicateNameError,
    ImmutableCollectionError,
    MinijaxNNError,
    MissingParamError,
    MissingRngError,
    ParamShapeError,
    SetAttributeError,
    UnboundModuleError,
    VariableNestingError,
)
from minijax.nn.initializers import ones, ones_init, zeros, zeros_init
from minijax.nn.linear import Dense, Einsum, Embed
from minijax.nn.module import Module, compact, merge_param, nowrap
from minijax.nn.stochastic import Dropout
from minijax.nn.variable import Variable

__all__ = [
    "MLP",
    "AssignSubModuleError",
    "BatchNorm",
    "CollectionNotFoundError",
    "Dense",
    "Dropout",
    "DuplicateNameError",
    "Einsum",
    "Embed",
    "ImmutableCollectionError",
    "MinijaxNNError",
    "MissingParamError",
    "MissingRngError",
    "Module",
    "PReLU",
    "ParamShapeError",
    "Sequential",
    "SetAttributeError",
    "UnboundModuleError",
    "Variable",
    "VariableNestingError",
    "celu",
    "compact",
    "elu",
    "gelu",
    "glu",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "initializers",
    "leaky_relu",
    "log_sigmoid",
    "log_softmax",
    "logsumexp",
    "merge_param",
    "normalize",
    "nowrap",
    "one_hot",
    "ones",
    "ones_init",
    "relu",
    "relu6",
    "selu",
    "sigmoid",
    "silu",
    "soft_sign",
    "softmax",
    "softplus",
    "standardize",
    "swish",
    "tanh",
    "zeros",
    "zeros_init",
]

# --- layers from conv.py, pooling.py, normalization.py, attention.py, recurrent.py,
# --- the BatchApply wrapper and the dtype rules of dtypes.py ---
from minijax.nn import dtypes
from minijax.nn.attention import (
    DenseGeneral,
    MultiHeadAttention,
    MultiHeadDotProductAttention,
    SelfAttention,
    combine_masks,
    dot_product_attention,
    dot_product_attention_weights,
    make_attention_mask,
    make_causal_mask,
)
from minijax.nn.batch_apply import BatchApply
from minijax.nn.conv import Conv, ConvLocal, ConvTranspose
from minijax.nn.normalization import (
    GroupNorm,
    InstanceNorm,
    LayerNorm,
    RMSNorm,
    SpectralNorm,
    WeightNorm,
)
from minijax.nn.pooling import avg_pool, max_pool, min_pool, pool
from minijax.nn.recurrent import (
    RNN,
    Bidirectional,
    ConvLSTMCell,
    GRUCell,
    LSTMCell,
    MGUCell,
    OptimizedLSTMCell,
    RNNCellBase,
    SimpleCell,
)

__all__ += [
    "RNN",
    "BatchApply",
    "Bidirectional",
    "Conv",
    "ConvLSTMCell",
    "ConvLocal",
    "ConvTranspose",
    "DenseGeneral",
    "GRUCell",
    "GroupNorm",
    "InstanceNorm",
    "LSTMCell",
    "LayerNorm",
    "MGUCell",
    "MultiHeadAttention",
    "MultiHeadDotProductAttention",
    "OptimizedLSTMCell",
    "RMSNorm",
    "RNNCellBase",
    "SelfAttention",
    "SimpleCell",
    "SpectralNorm",
    "WeightNorm",
    "avg_pool",
    "combine_masks",
    "dot_product_attention",
    "dot_product_attention_weights",
    "dtypes",
    "make_attention_mask",
    "make_causal_mask",
    "max_pool",
    "min_pool",
    "pool",
]

# --- the module system: scopes, entry points, interceptors, errors (flax.linen.module) ---
from minijax.nn import errors, summary  # noqa: E402
from minijax.nn.compact_name_scope import compact_name_scope  # noqa: E402
from minijax.nn.functional import apply, init, init_with_output  # noqa: E402
from minijax.nn.intercept import InterceptorContext, intercept_methods  # noqa: E402
from minijax.nn.share_scope import share_scope  # noqa: E402
from minijax.nn.summary import tabulate  # noqa: E402

__all__ += [
    "InterceptorContext",
    "apply",
    "compact_name_scope",
    "errors",
    "init",
    "init_with_output",
    "intercept_methods",
    "share_scope",
    "summary",
    "tabulate",
]

# --- partitioning: metadata boxes (meta.py), logical axis names (spmd.py) and the
# --- side-collection API of flax.linen.partitioning (partitioning.py) ---
from minijax.nn import meta, partitioning, spmd  # noqa: E402
from minijax.nn.meta import (  # noqa: E402
    PARTITION_NAME,
    Partitioned,
    get_partition_spec,
    get_sharding,
    unbox,
    with_partitioning,
)
from minijax.nn.spmd import (  # noqa: E402
    LogicallyPartitioned,
    get_logical_axis_rules,
    logical_axis_rules,
    logical_to_mesh,
    logical_to_mesh_axes,
    logical_to_mesh_sharding,
    set_logical_axis_rules,
    with_logical_constraint,
    with_logical_partitioning,
)

__all__ += [
    "PARTITION_NAME",
    "LogicallyPartitioned",
    "Partitioned",
    "get_logical_axis_rules",
    "get_partition_spec",
    "get_sharding",
    "logical_axis_rules",
    "logical_to_mesh",
    "logical_to_mesh_axes",
    "logical_to_mesh_sharding",
    "meta",
    "partitioning",
    "set_logical_axis_rules",
    "spmd",
    "unbox",
    "with_logical_constraint",
    "with_logical_partitioning",
    "with_partitioning",
]

# --- lifted transforms (transforms.py, on the scope-level core lift.py), and the
# --- filter and dict types flax.linen re-exports for them ---
from minijax.core import FrozenDict  # noqa: E402
from minijax.nn import lift, transforms  # noqa: E402
from minijax.nn.filters import DenyList  # noqa: E402
from minijax.nn.transforms import (  # noqa: E402
    add_metadata_axis,
    broadcast,
    checkpoint,
    cond,
    custom_vjp,
    fold_rngs,
    grad,
    jit,
    jvp,
    map_variables,
    named_call,
    remat,
    remat_scan,
    scan,
    switch,
    value_and_grad,
    vjp,
    vmap,
    while_loop,
)

__all__ += [
    "DenyList",
    "FrozenDict",
    "add_metadata_axis",
    "broadcast",
    "checkpoint",
    "cond",
    "custom_vjp",
    "fold_rngs",
    "grad",
    "jit",
    "jvp",
    "lift",
    "map_variables",
    "named_call",
    "remat",
    "remat_scan",
    "scan",
    "switch",
    "transforms",
    "value_and_grad",
    "vjp",
    "vmap",
    "while_loop",
]
