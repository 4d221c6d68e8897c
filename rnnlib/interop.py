r"""Moving weights between rnnlib and PyTorch's ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU``.

PyTorch stores ``weight_ih`` of shape (G*H, D) and ``weight_hh`` of shape (G*H, H) for the
column-vector form :math:`W x + b`; rnnlib uses the row-vector form :math:`x W + b` of the
primer, so every matrix is transposed. Two more differences:

* gate order: PyTorch's LSTM stacks i, f, g, o; rnnlib stacks i, f, o, g. The GRU order
  r, z, n is the same in both.
* biases: PyTorch has ``bias_ih`` and ``bias_hh``. Where they simply add (RNN, LSTM and
  the r, z blocks of the GRU) rnnlib keeps their sum ``b``; the GRU's recurrent candidate
  bias sits inside the reset product and stays separate as ``bhn``.

The array functions here need only NumPy; :func:`params_from_torch` and
:func:`params_to_torch` import torch when called.
"""
import numpy as np

GATES = {"rnn": 1, "lstm": 4, "gru": 3}
# rnnlib block k takes torch block _LSTM_ORDER[k]: (i, f, o, g) <- (i, f, g, o)
_LSTM_ORDER = (0, 1, 3, 2)


def _kind(kind):
    if kind not in GATES:
        raise ValueError(f"kind must be one of {sorted(GATES)}; got {kind!r}")
    return kind


def _reorder(a, kind, axis=0):
    """Permute the gate blocks of ``a`` along ``axis`` between the two orders
    (the LSTM permutation is its own inverse)."""
    if kind != "lstm":
        return a
    blocks = np.split(a, 4, axis=axis)
    return np.concatenate([blocks[k] for k in _LSTM_ORDER], axis=axis)


def weights_from_torch(kind, weight_ih, weight_hh, bias_ih, bias_hh):
    r"""Convert one layer's PyTorch weights (as NumPy arrays) to rnnlib parameters.

    Parameters
    ----------
    kind : {"rnn", "lstm", "gru"}
    weight_ih : ndarray, shape (G*H, D)
    weight_hh : ndarray, shape (G*H, H)
    bias_ih, bias_hh : ndarray, shape (G*H,)

    Returns
    -------
    params : dict
        ``Wx`` (D, G*H), ``Wh`` (H, G*H), ``b`` (G*H,) and, for the GRU, ``bhn`` (H,).
    """
    _kind(kind)
    H = weight_hh.shape[1]
    params = {"Wx": _reorder(weight_ih, kind).T.copy(),
              "Wh": _reorder(weight_hh, kind).T.copy()}
    if kind == "gru":
        params["b"] = bias_ih + np.concatenate([bias_hh[:2 * H], np.zeros_like(bias_hh[2 * H:])])
        params["bhn"] = bias_hh[2 * H:].copy()
    else:
        params["b"] = _reorder(bias_ih + bias_hh, kind)
    return params


def weights_to_torch(kind, params):
    r"""Convert rnnlib parameters of one layer to PyTorch's four arrays.

    Returns ``(weight_ih, weight_hh, bias_ih, bias_hh)`` as NumPy arrays; the summed
    bias goes to ``bias_ih`` and ``bias_hh`` holds zeros (and, for the GRU, ``bhn``).
    """
    _kind(kind)
    weight_ih = _reorder(params["Wx"].T, kind, axis=0).copy()
    weight_hh = _reorder(params["Wh"].T, kind, axis=0).copy()
    bias_ih = _reorder(params["b"], kind).copy()
    bias_hh = np.zeros_like(bias_ih)
    if kind == "gru":
        H = params["Wh"].shape[0]
        bias_hh[2 * H:] = params["bhn"]
    return weight_ih, weight_hh, bias_ih, bias_hh


def _module_kind(module):
    import torch.nn as nn
    for cls, kind in ((nn.LSTM, "lstm"), (nn.GRU, "gru"), (nn.RNN, "rnn")):
        if isinstance(module, cls):
            return kind
    raise ValueError(f"module must be torch.nn.RNN, LSTM or GRU; got {type(module).__name__}")


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
    if not 0 <= layer < module.num_layers:
        raise ValueError(f"layer must be in [0, {module.num_layers}); got {layer}")
    if reverse and not module.bidirectional:
        raise ValueError("reverse=True needs a bidirectional module")
    sfx = f"_l{layer}" + ("_reverse" if reverse else "")
    get = lambda name: getattr(module, name + sfx).detach().cpu().numpy()
    H = module.hidden_size
    zeros = np.zeros(GATES[kind] * H, dtype=get("weight_hh").dtype)
    b_ih = get("bias_ih") if module.bias else zeros
    b_hh = get("bias_hh") if module.bias else zeros
    return weights_from_torch(kind, get("weight_ih"), get("weight_hh"), b_ih, b_hh)


def params_to_torch(params, module, layer=0, reverse=False):
    """Copy rnnlib parameters into one layer (and direction) of a PyTorch module, in place."""
    import torch
    kind = _module_kind(module)
    if not module.bias:
        raise ValueError("the module must have bias=True to hold rnnlib's biases")
    sfx = f"_l{layer}" + ("_reverse" if reverse else "")
    arrays = weights_to_torch(kind, params)
    with torch.no_grad():
        for name, a in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), arrays):
            target = getattr(module, name + sfx)
            if tuple(target.shape) != a.shape:
                raise ValueError(f"{name + sfx} has shape {tuple(target.shape)} in the module "
                                 f"but the parameters give {a.shape}")
            target.copy_(torch.from_numpy(np.ascontiguousarray(a)))
