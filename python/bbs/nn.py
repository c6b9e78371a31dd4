"""bbs.nn: bbs model files (.bbsm) from Python.

    >>> import bbs.nn
    >>> model = bbs.nn.load_model("models/speech_bbs.bbsm", type="fixed16<10>")
    >>> logits = model.forward(features)           # (T, F) or (T, batch, F)
    >>> stream = model.stream()                    # frame by frame, as audio arrives
    >>> y = stream.step(frame)                     # (F,) or (batch, F)
    >>> saved = stream.state                       # a copy of every recurrent state
    >>> stream.state = saved                       # ... and back: branch, pause, resume

Layouts follow PyTorch's: images (N, C, H, W), sequences (T, batch, features), feature
batches (batch, features), each also without the batch dimension. Inputs of any real dtype are
converted to float32 (a copy where they are not float32 in C order); outputs are float32.
Models run on the process's backend (bbs.set_backend). docs/PYTHON.md has the details.
"""

from bbs._bbs import Lstm, Model, Stream, StreamState, load_model, save_model

__all__ = ["Lstm", "Model", "Stream", "StreamState", "load_model", "save_model"]
