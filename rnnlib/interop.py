r"""Moving weights between rnnlib and PyTorch's ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU``.

PyTorch stores ``weight_ih`` of shape (G*H, D) and ``weight_hh`` of shape (G*H, H) for the
column-vector form :math:`W x + b`; rnnlib uses the row-vector form :math:`x W + b` of the
primer, so every matrix is transposed. Two more differences:

* gate order: PyTorch's LSTM stacks i, f, g, o; rnnlib stacks i, f, o, g. The GRU order
  r, z, n is the same in both.
* biases: PyTorch has ``bias_ih`` and ``bias_hh``. Where they simply add (RNN, LSTM and
  the r, z blocks of the GRU) rnnlib keeps their sum ``b``; the GRU's recurrent candidate
  bias sits inside the reset product and stays separate as ``bhn``.

Whole models move with :func:`model_from_torch` and :func:`model_to_torch`: a stacked
(``num_layers > 1``) and/or bidirectional module corresponds to a
:class:`rnnlib.layers.Sequential` of one layer per torch layer (wrapped in
:class:`~rnnlib.layers.Bidirectional` for bidirectional modules) with
``return_sequences=True``.

The array functions here need only NumPy; the functions that take or return a torch
module import torch when called.
"""
import numpy as np

from ._validation import ArgumentTypeError, check_array, check_bool, check_int
from .cells import CELLS, get_cell


def reorder_gates(a, kind, axis=0, to_torch=False):
    """Permute the gate blocks of ``a`` along ``axis`` from torch's order to rnnlib's
    (or back, ``to_torch=True``), as the registry's ``torch_gate_order`` says."""
    order = get_cell(kind, "kind").torch_gate_order
    check_array("a", a)
    axis = check_int("axis", axis, low=-a.ndim, high=a.ndim - 1) if a.ndim else 0
    to_torch = check_bool("to_torch", to_torch)
    if a.ndim == 0 or a.shape[axis] % len(order):
        raise ValueError(f"a must have {len(order)} gate blocks of equal size along axis "
                         f"{axis}; got shape {a.shape}")
    if order == tuple(range(len(order))):
        return a
    if to_torch:
        order = tuple(int(k) for k in np.argsort(order))
    blocks = np.split(a, len(order), axis=axis)
    return np.concatenate([blocks[k] for k in order], axis=axis)


def weights_from_torch(kind, weight_ih, weight_hh, bias_ih, bias_hh):
    r"""Convert one layer's PyTorch weights (as NumPy arrays) to rnnlib parameters.

    Parameters
    ----------
    kind : {"rnn", "lstm", "gru"}
        A cell of :data:`rnnlib.cells.CELLS`.
    weight_ih : ndarray, shape (G*H, D)
    weight_hh : ndarray, shape (G*H, H)
    bias_ih, bias_hh : ndarray, shape (G*H,)

    Returns
    -------
    params : dict
        ``Wx`` (D, G*H), ``Wh`` (H, G*H), ``b`` (G*H,) and, for the GRU, ``bhn`` (H,).
    """
    cell = get_cell(kind, "kind")
    G = cell.n_gates
    check_array("weight_hh", weight_hh, ndim=2)
    GH, H = weight_hh.shape
    if GH != G * H:
        raise ValueError(f"weight_hh of a torch {cell.torch_module} must have shape "
                         f"({G}*H, H); got {weight_hh.shape}")
    check_array("weight_ih", weight_ih, ndim=2, shape=(G * H, None), dtype=weight_hh.dtype)
    check_array("bias_ih", bias_ih, shape=(G * H,), dtype=weight_hh.dtype)
    check_array("bias_hh", bias_hh, shape=(G * H,), dtype=weight_hh.dtype)
    params = {"Wx": reorder_gates(weight_ih, kind).T.copy(),
              "Wh": reorder_gates(weight_hh, kind).T.copy()}
    summed = bias_hh.copy()
    for name, k in cell.torch_recurrent_biases.items():
        params[name] = bias_hh[k * H:(k + 1) * H].copy()
        summed[k * H:(k + 1) * H] = 0
    params["b"] = reorder_gates(bias_ih + summed, kind)
    return {k: params[k] for k in cell.params}


def weights_to_torch(kind, params):
    r"""Convert rnnlib parameters of one layer to PyTorch's four arrays.

    Returns ``(weight_ih, weight_hh, bias_ih, bias_hh)`` as NumPy arrays; the summed
    bias goes to ``bias_ih`` and ``bias_hh`` holds zeros (and, for the GRU, ``bhn``).
    """
    cell = get_cell(kind, "kind")
    args = cell.param_args(params)
    Wx = check_array("params['Wx']", args[0], ndim=2)
    D, GH = Wx.shape
    H = GH // cell.n_gates
    for name, a in zip(cell.params, args):
        check_array(f"params[{name!r}]", a, shape=cell.shapes(D, H)[name], dtype=Wx.dtype)
    weight_ih = reorder_gates(params["Wx"].T, kind, to_torch=True).copy()
    weight_hh = reorder_gates(params["Wh"].T, kind, to_torch=True).copy()
    bias_ih = reorder_gates(params["b"], kind, to_torch=True).copy()
    bias_hh = np.zeros_like(bias_ih)
    for name, k in cell.torch_recurrent_biases.items():
        bias_hh[k * H:(k + 1) * H] = params[name]
    return weight_ih, weight_hh, bias_ih, bias_hh


def _module_kind(module):
    import torch.nn as nn
    for kind, cell in CELLS.items():
        if type(module) is getattr(nn, cell.torch_module):
            return kind
    known = ", ".join(f"torch.nn.{c.torch_module}" for c in CELLS.values())
    raise ArgumentTypeError(f"module must be one of {known}; got {type(module).__name__}")


def params_from_torch(module, layer=0, reverse=False):
    """Read one layer (and direction) of a PyTorch recurrent module as rnnlib parameters.

    Parameters
    ----------
    module : torch.nn.RNN, torch.nn.LSTM or torch.nn.GRU
    layer : int
        Layer index for stacked modules.
    reverse : bool
        The backward direction of a bidirectional module.

    Returns
    -------
    params : dict of ndarray
        As :func:`weights_from_torch`, in the module's dtype.
    """
    kind = _module_kind(module)
    check_int("layer", layer, low=0, high=module.num_layers - 1)
    if check_bool("reverse", reverse) and not module.bidirectional:
        raise ValueError("reverse=True needs a bidirectional module")
    sfx = f"_l{layer}" + ("_reverse" if reverse else "")
    get = lambda name: getattr(module, name + sfx).detach().cpu().numpy()
    H = module.hidden_size
    zeros = np.zeros(get_cell(kind).n_gates * H, dtype=get("weight_hh").dtype)
    b_ih = get("bias_ih") if module.bias else zeros
    b_hh = get("bias_hh") if module.bias else zeros
    return weights_from_torch(kind, get("weight_ih"), get("weight_hh"), b_ih, b_hh)


def params_to_torch(params, module, layer=0, reverse=False):
    """Copy rnnlib parameters into one layer (and direction) of a PyTorch module, in place."""
    import torch
    kind = _module_kind(module)
    if not module.bias:
        raise ValueError("the module must have bias=True to hold rnnlib's biases")
    check_int("layer", layer, low=0, high=module.num_layers - 1)
    if check_bool("reverse", reverse) and not module.bidirectional:
        raise ValueError("reverse=True needs a bidirectional module")
    sfx = f"_l{layer}" + ("_reverse" if reverse else "")
    arrays = weights_to_torch(kind, params)
    with torch.no_grad():
        for name, a in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), arrays):
            target = getattr(module, name + sfx)
            if tuple(target.shape) != a.shape:
                raise ValueError(f"{name + sfx} has shape {tuple(target.shape)} in the module "
                                 f"but the parameters give {a.shape}")
            target.copy_(torch.from_numpy(np.ascontiguousarray(a)))


# Whole models: a (stacked, bidirectional) torch module <-> a Sequential of layers.

def _layer_classes():
    from .layers import recurrent_layer_classes
    return recurrent_layer_classes()


def model_from_torch(module):
    """Build an rnnlib model with the weights of a PyTorch ``nn.RNN``, ``nn.LSTM`` or
    ``nn.GRU``, including stacked (``num_layers > 1``) and bidirectional modules.

    Parameters
    ----------
    module : torch.nn.RNN, torch.nn.LSTM or torch.nn.GRU
        Without ``proj_size``. Dropout between layers acts only in training and is not
        carried over.

    Returns
    -------
    model : rnnlib.layers.Sequential
        ``num_layers`` layers (:class:`~rnnlib.layers.Bidirectional` with
        ``merge="concat"`` for bidirectional modules), all with ``return_sequences=True``,
        built for inputs ``(None, None, input_size)`` in the module's dtype. On
        batch-first inputs and zero initial states, ``model.forward(x)`` equals the first
        output of ``module(x)``.
    """
    from .layers import Bidirectional, Sequential
    kind = _module_kind(module)
    if getattr(module, "proj_size", 0):
        raise ValueError("LSTM modules with proj_size > 0 have no rnnlib counterpart")
    cls = _layer_classes()[kind]
    H = module.hidden_size
    dtype = module.weight_hh_l0.detach().cpu().numpy().dtype
    if dtype.type not in (np.float32, np.float64):
        raise ValueError(f"module must hold float32 or float64 weights; got {dtype}")
    kw = {"activation": module.nonlinearity} if "activation" in get_cell(kind).options else {}
    layers = []
    for _ in range(module.num_layers):
        layer = cls(H, return_sequences=True, dtype=dtype, **kw)
        layers.append(Bidirectional(layer) if module.bidirectional else layer)
    model = Sequential(layers).build((None, None, module.input_size),
                                     np.random.default_rng(0))
    for layer_index, layer in enumerate(model.layers):
        pairs = ([(layer.forward_layer, False), (layer.backward_layer, True)]
                 if module.bidirectional else [(layer, False)])
        for target, reverse in pairs:
            for k, v in params_from_torch(module, layer_index, reverse).items():
                target.params[k][...] = v
    return model


def _stack_spec(model):
    """(kind, hidden size, bidirectional, activation) of a convertible model, or ValueError."""
    from .layers import Bidirectional, Sequential
    classes = _layer_classes()
    layers = model.layers if isinstance(model, Sequential) else [model]
    specs = []
    for i, layer in enumerate(layers):
        bidir = isinstance(layer, Bidirectional)
        if bidir and layer.merge != "concat":
            raise ValueError(f"layer {i}: torch's bidirectional modules concatenate the two "
                             f"directions; got merge={layer.merge!r}")
        cell = layer.forward_layer if bidir else layer
        kind = next((k for k, c in classes.items() if type(cell) is c), None)
        if kind is None:
            raise ValueError(f"layer {i} ({layer.name}) has no place in a torch recurrent "
                             "module; only SimpleRNN, LSTM, GRU and Bidirectional stacks convert")
        if not cell.built:
            raise ValueError(f"layer {i} ({layer.name}) is not built; build the model first")
        specs.append((kind, cell.units, bidir, tuple(sorted(cell.options.items()))))
    if len(set(specs)) > 1:
        raise ValueError("a torch module needs every layer of one kind, size, direction and "
                         f"activation; got {[s[:3] for s in specs]}")
    return specs[0], len(layers), layers


def model_to_torch(model):
    """Create a PyTorch module with the weights of an rnnlib model.

    Parameters
    ----------
    model : rnnlib.layers.Sequential, or a single built layer
        A stack of built layers of one kind (:class:`~rnnlib.layers.SimpleRNN`,
        :class:`~rnnlib.layers.LSTM` or :class:`~rnnlib.layers.GRU`), all of one size,
        either all plain or all :class:`~rnnlib.layers.Bidirectional` with
        ``merge="concat"``.

    Returns
    -------
    module : torch.nn.RNN, torch.nn.LSTM or torch.nn.GRU
        With ``batch_first=True``, ``num_layers`` = the number of layers, in the model's
        dtype; its first output equals the model's all-states output (take step -1 or the
        last valid step where the model's last layer has ``return_sequences=False``).
    """
    import torch
    from .layers import Bidirectional
    (kind, H, bidir, options), num_layers, layers = _stack_spec(model)
    first = layers[0].forward_layer if bidir else layers[0]
    D = first.params["Wx"].shape[0]
    cell = get_cell(kind, "kind")
    cls = getattr(torch.nn, cell.torch_module)
    kw = cell.torch_options(**dict(options))
    dtype = {np.float32: torch.float32, np.float64: torch.float64}[first.dtype.type]
    module = cls(D, H, num_layers=num_layers, bidirectional=bidir, batch_first=True,
                 dtype=dtype, **kw)
    for i, layer in enumerate(layers):
        pairs = ([(layer.forward_layer, False), (layer.backward_layer, True)]
                 if isinstance(layer, Bidirectional) else [(layer, False)])
        for source, reverse in pairs:
            params_to_torch(source.params, module, i, reverse)
    return module
