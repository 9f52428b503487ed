"""Recorder: a PyTorch training run recorded in the layout latdisp reads.

W (the parameter), and with an optimizer grad_W, momentum_W (exp_avg) and variance_W
(exp_avg_sq), one snapshot per optimizer step, with the learning rate each step used and
the optimizer's hyperparameters (docs/formats.md §15).
"""
from ._writer import TrajectoryWriter

# torch dtype name -> element type of the recording
_ELEMENT_TYPES = {"bfloat16": "bf16", "float16": "f16", "float32": "f32",
                  "float8_e4m3fn": "f8e4m3", "float8_e5m2": "f8e5m2"}
_STATES = (("momentum_W", "exp_avg"), ("variance_W", "exp_avg_sq"))


def _torch():
    try:
        import torch
    except ImportError as error:
        raise ImportError("latdisp.Recorder records PyTorch tensors and needs torch") from error
    return torch


def element_type_of(tensor):
    """The recording's element type of a torch tensor ('bf16', 'f16', 'f32', ...)."""
    name = str(tensor.dtype).replace("torch.", "")
    if name not in _ELEMENT_TYPES:
        raise TypeError(f"latdisp records bfloat16, float16, float32 and float8 tensors, not {name}")
    return _ELEMENT_TYPES[name]


def _matrix(tensor):
    """The tensor as a (rows, cols) matrix: 1-D -> (n, 1); more dims -> (first, rest)."""
    tensor = tensor.detach()
    if tensor.dim() == 0:
        raise ValueError("a scalar has no rows to record")
    return tensor.reshape(tensor.shape[0], -1) if tensor.dim() != 1 else tensor.reshape(-1, 1)


def storage_array(tensor):
    """A CPU numpy array of the tensor's stored values: bfloat16 as uint16 bit patterns
    (viewed as int16, which every torch version has, where uint16 came only in 2.3), FP8
    as uint8 bits, float16/float32 as they are. Never converts a value."""
    torch = _torch()
    element_type = element_type_of(tensor)
    tensor = _matrix(tensor).cpu().contiguous()
    if element_type == "bf16":
        try:
            return tensor.view(torch.int16).numpy().view("<u2")
        except (RuntimeError, TypeError):
            return bf16_bits_via_float32(tensor)
    if element_type.startswith("f8"):
        return tensor.view(torch.uint8).numpy()
    return tensor.numpy()


def bf16_bits_via_float32(tensor):
    """bfloat16 bits for a torch without Tensor.view(dtype): bfloat16 -> float32 is exact
    and the float32 pattern's top 16 bits are the bfloat16 pattern (NaN payloads aside)."""
    return (tensor.float().numpy().view("<u4") >> 16).astype("<u2")


def _resolve_parameter(param):
    torch = _torch()
    if isinstance(param, torch.nn.Module):
        if hasattr(param, "get_input_embeddings"):
            return param.get_input_embeddings().weight
        if isinstance(param, torch.nn.Embedding):
            return param.weight
        found = list(param.parameters())
        if len(found) != 1:
            raise TypeError(f"{type(param).__name__} has {len(found)} parameters: give the one to record, "
                            "e.g. model.embed.weight")
        return found[0]
    if not isinstance(param, torch.Tensor):
        raise TypeError(f"Recorder records a torch parameter, not {type(param).__name__}")
    return param


def _number(value):
    return float(value.item() if hasattr(value, "item") else value)


class Recorder:
    """Records one parameter of a PyTorch training loop, and its optimizer's state, for latdisp.

    Args:
        path: an HDF5 file (``.h5``) or a folder (a safetensors checkpoint series, one
            ``step-K.safetensors`` per snapshot).
        param: the parameter (a tensor, e.g. ``model.embed.weight``), or a module: its input
            embeddings (Hugging Face models), an ``nn.Embedding``'s weight, or its only
            parameter. bfloat16 is stored as 16-bit integers holding the bits, float32 as
            float32, float16 as float16, FP8 as 8-bit integers; 1-D parameters as (n, 1).
        optimizer: with an Adam or AdamW optimizer, also records ``grad_W`` (the gradient
            each step used), ``momentum_W`` (exp_avg), ``variance_W`` (exp_avg_sq), the
            ``lr`` each step used, and the hyperparameters as attributes (``learning_rate``,
            ``adam_beta1``, ``adam_beta2``, ``adam_epsilon``, ``weight_decay``).
        steps: how many training steps you will record, if known: the free disk space is
            checked for them now (more or fewer are fine).
        lr_schedule: the learning rate of each recorded step when the optimizer's param
            group does not show it at record() time: a number, a sequence (entry i for the
            i-th record() call, from 0), or a callable taking i. Default: the param group's
            ``lr`` read in record().
        overwrite: replace an existing path (default: refuse, before anything is written).

    Index 0 is recorded at construction (the initial state; its gradient is zeros). Call
    ``record()`` right after every ``optimizer.step()``, before ``optimizer.zero_grad()``
    and before ``scheduler.step()``: index t then holds the gradient step t used and W,
    exp_avg, exp_avg_sq after step t, and ``steps`` the optimizer's step count, which is
    what ``latdisp optimizer`` reads. The file is written under a temporary name and
    renamed when closed (``close()`` or the end of a ``with`` block). ::

        with latdisp.Recorder("run.h5", model.embed.weight, optimizer, steps=200) as rec:
            for batch in loader:
                loss = model(batch).loss
                loss.backward()
                optimizer.step()
                rec.record()
                optimizer.zero_grad()
        report = latdisp.run("analyze", ranks=2, input="run.h5")
    """

    def __init__(self, path, param, optimizer=None, steps=None, lr_schedule=None, *, overwrite=False):
        torch = _torch()
        self.param = _resolve_parameter(param)
        self.optimizer = optimizer
        self.lr_schedule = lr_schedule
        self.records = 0
        rows, cols = _matrix(self.param).shape
        element_type = element_type_of(self.param)
        tensors = {"W": (rows, cols, element_type)}
        self._group = self._param_group() if optimizer is not None else None
        if self._group is not None and "betas" not in self._group:
            raise TypeError(f"Recorder records Adam/AdamW states (exp_avg, exp_avg_sq); {type(optimizer).__name__} "
                            "keeps none: record without the optimizer")
        state = optimizer.state.get(self.param, {}) if optimizer is not None else {}
        self._first_step = int(_number(state["step"])) if "step" in state else 0
        if optimizer is not None:
            tensors["grad_W"] = (rows, cols, element_type)
            for name, key in _STATES:
                tensors[name] = (rows, cols, element_type_of(state[key]) if key in state else element_type)
        self._writer = TrajectoryWriter(path, tensors, overwrite=overwrite,
                                        expected_snapshots=None if steps is None else int(steps) + 1)
        try:
            self._writer.set_attributes(self._attributes(torch))
            initial = {name: None for name in tensors if name != "W"}          # None: zeros
            for name, key in _STATES:
                if optimizer is not None and key in state:
                    initial[name] = state[key]
            lr = self._scheduled_lr(0)
            self._write(self._first_step, initial, self._lr_now() if lr is None and optimizer is not None else lr)
        except BaseException:
            self._writer.abort()
            raise

    @property
    def path(self):
        return str(self._writer.target)

    @property
    def snapshots(self):
        """Snapshots written so far (1 + the record() calls)."""
        return self._writer.snapshots

    # ------------------------------------------------------------------ optimizer
    def _param_group(self):
        for group in self.optimizer.param_groups:
            if any(p is self.param for p in group["params"]):
                return group
        raise ValueError("the optimizer does not hold this parameter")

    def _attributes(self, torch):
        attributes = {"recorder": "latdisp.Recorder", "torch_version": torch.__version__,
                      "element_type": element_type_of(self.param)}
        if self.optimizer is None:
            return attributes
        group = self._group
        attributes["optimizer"] = type(self.optimizer).__name__
        attributes["learning_rate"] = _number(group["lr"])
        if "betas" in group:
            attributes["adam_beta1"], attributes["adam_beta2"] = (_number(b) for b in group["betas"])
        if "eps" in group:
            attributes["adam_epsilon"] = _number(group["eps"])
        if "weight_decay" in group:
            attributes["weight_decay"] = _number(group["weight_decay"])
        for flag in ("amsgrad", "maximize"):
            if group.get(flag):
                attributes[flag] = 1
        return attributes

    def _scheduled_lr(self, i):
        schedule = self.lr_schedule
        if schedule is None:
            return None
        if callable(schedule):
            return float(schedule(i))
        if isinstance(schedule, (int, float)):
            return float(schedule)
        if i >= len(schedule):
            raise IndexError(f"lr_schedule has {len(schedule)} entries; record() call {i} needs one more")
        return float(schedule[i])

    def _lr_now(self):
        return _number(self._group["lr"])

    # ------------------------------------------------------------------ recording
    def _write(self, step, states, lr):
        arrays = {"W": storage_array(self.param)}
        for name, tensor in states.items():
            arrays[name] = storage_array(tensor) if tensor is not None else _zeros_like(arrays["W"], self._writer,
                                                                                        name)
        self._writer.append(arrays, step, lr)

    def record(self, step=None):
        """Records the state after the optimizer step just taken; returns its index.

        With an optimizer, checks that exactly one optimizer step happened since the
        previous snapshot and that the gradient is still there. Without one, ``step``
        may give the training step number (default: the previous one plus 1)."""
        index = self.records + 1
        if self.optimizer is None:
            self._write(self._writer.last_step + 1 if step is None else int(step), {},
                        self._scheduled_lr(self.records))
            self.records += 1
            return index
        state = self.optimizer.state.get(self.param, {})
        stepped = int(_number(state["step"])) - self._first_step if "step" in state else 0
        if stepped != index:
            raise RuntimeError(f"record() must follow every optimizer.step() once: the optimizer has taken {stepped} "
                               f"steps since the recording started, and this is record() number {index}")
        if self.param.grad is None:
            raise RuntimeError("the parameter has no gradient: call record() after optimizer.step() and before "
                               "optimizer.zero_grad()")
        if step is not None and int(step) != self._first_step + index:
            raise ValueError(f"step={step}, but the optimizer is at step {self._first_step + index}")
        states = {"grad_W": self.param.grad}
        for name, key in _STATES:
            if key not in state:
                raise RuntimeError(f"the optimizer keeps no {key} for this parameter ({type(self.optimizer).__name__}"
                                   " is not Adam-like): record without the optimizer")
            states[name] = state[key]
        lr = self._scheduled_lr(self.records)
        self._write(self._first_step + index, states, self._lr_now() if lr is None else lr)
        self.records += 1
        return index

    def set_dead_mask(self, mask):
        """Marks dead tokens (one bool per row, True: dead), e.g. tokens never seen in training."""
        if hasattr(mask, "detach"):
            mask = mask.detach().cpu().numpy()
        self._writer.set_dead_mask(mask)

    def close(self):
        """Finishes the recording and renames it into place."""
        self._writer.close()

    def __enter__(self):
        return self

    def __exit__(self, kind, error, trace):
        return self._writer.__exit__(kind, error, trace)


def _zeros_like(w_array, writer, name):
    import numpy as np
    from ._writer import ELEMENT_TYPES
    return np.zeros(w_array.shape, dtype=ELEMENT_TYPES[writer.tensors[name][2]][0])
