"""bbs.torch.convert: converted Linear, LSTM (every flag) and Conv2d layers give PyTorch's outputs
for dense settings and a masked-weights PyTorch model's for pruned ones; weights already
bank-balanced are taken as they are; the report names what was kept and what was left; the
original model is untouched; autograd is refused by name."""

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import bbs  # noqa: E402
import bbs.torch as bt  # noqa: E402


def masked(model, bank_size, keep):
    """model with every 2-D-able weight of its Linear / LSTM / Conv2d pruned as convert prunes it."""
    m = copy.deepcopy(model)
    with torch.no_grad():
        for module in m.modules():
            if not isinstance(module, (nn.Linear, nn.LSTM, nn.Conv2d)):
                continue
            for name, p in module.named_parameters():
                if not name.startswith("weight"):
                    continue
                w = p.detach().reshape(p.shape[0], -1).numpy()
                cols = w.shape[1]
                bank = bank_size if cols % bank_size == 0 else max(
                    d for d in range(1, bank_size + 1) if cols % d == 0)
                k = keep if bank == bank_size else max(1, round(keep * bank / bank_size))
                pruned = bbs.BbsMatrix.prune(np.ascontiguousarray(w), bank, keep=k, dtype="float32").to_dense()
                p.copy_(torch.from_numpy(pruned).reshape(p.shape))
    return m


def run(model, *inputs):
    with torch.inference_mode():
        return model(*inputs)


def assert_close(got, want, atol=2e-5):
    if isinstance(want, (tuple, list)):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert_close(g, w, atol)
        return
    assert got.shape == want.shape
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=atol, rtol=1e-5)


@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (33, 64), (130, 48)])
def test_linear_dense_and_pruned(shape):
    torch.manual_seed(1)
    out_features, in_features = shape
    model = nn.Linear(in_features, out_features)
    for x in [torch.randn(in_features), torch.randn(5, in_features), torch.randn(2, 3, in_features)]:
        assert_close(run(bt.convert(model), x), run(model, x))
    x = torch.randn(4, in_features)
    pruned = bt.convert(model, bank_size=16, keep=2)
    assert isinstance(pruned, bt.BbsLinear)
    assert_close(run(pruned, x), run(masked(model, 16, 2), x))
    no_bias = nn.Linear(in_features, out_features, bias=False)
    assert_close(run(bt.convert(no_bias), x), run(no_bias, x))


LSTM_FLAGS = [
    dict(num_layers=1, bidirectional=False, proj_size=0, batch_first=False, bias=True),
    dict(num_layers=2, bidirectional=False, proj_size=0, batch_first=True, bias=True),
    dict(num_layers=1, bidirectional=True, proj_size=0, batch_first=False, bias=False),
    dict(num_layers=2, bidirectional=True, proj_size=0, batch_first=True, bias=True),
    dict(num_layers=2, bidirectional=False, proj_size=5, batch_first=False, bias=True),
    dict(num_layers=3, bidirectional=True, proj_size=8, batch_first=True, bias=True),
]


@pytest.mark.parametrize("flags", LSTM_FLAGS, ids=lambda f: "-".join(f"{k}={v}" for k, v in f.items()))
def test_lstm_every_flag(flags):
    torch.manual_seed(2)
    model = nn.LSTM(12, 16, **flags).eval()
    converted = bt.convert(model)
    assert isinstance(converted, bt.BbsLSTM)
    steps, batch = 6, 3
    x = torch.randn(batch, steps, 12) if flags["batch_first"] else torch.randn(steps, batch, 12)
    assert_close(run(converted, x), run(model, x))
    cells = flags["num_layers"] * (2 if flags["bidirectional"] else 1)
    out = flags["proj_size"] or 16
    hx = (torch.randn(cells, batch, out), torch.randn(cells, batch, 16))
    assert_close(run(converted, x, hx), run(model, x, hx))
    # Unbatched (T, F), with and without an initial state.
    one = torch.randn(steps, 12)
    assert_close(run(converted, one), run(model, one))
    hx1 = (hx[0][:, 0], hx[1][:, 0])
    assert_close(run(converted, one, hx1), run(model, one, hx1))
    # Pruned: the masked-weights model's results.
    pruned = bt.convert(model, bank_size=4, sparsity=0.5)
    assert_close(run(pruned, x, hx), run(masked(model, 4, 2), x, hx))


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(kernel_size=1),
        dict(kernel_size=3, padding=1),
        dict(kernel_size=3, stride=2, padding=1, bias=False),
        dict(kernel_size=(3, 5), stride=(2, 1), padding=(0, 2), dilation=(1, 2)),
        dict(kernel_size=3, padding="same"),
        dict(kernel_size=1, stride=2),
    ],
    ids=str,
)
def test_conv2d(kwargs):
    torch.manual_seed(3)
    model = nn.Conv2d(6, 10, **kwargs)
    x = torch.randn(2, 6, 11, 9)
    assert_close(run(bt.convert(model), x), run(model, x))
    assert_close(run(bt.convert(model), x[0]), run(model, x[0]))  # unbatched
    pruned = bt.convert(model, bank_size=3, keep=1)
    assert_close(run(pruned, x), run(masked(model, 3, 1), x))


class Speech(nn.Module):
    def __init__(self):
        super().__init__()
        self.front = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, groups=4, padding=1))
        self.lstm = nn.LSTM(4 * 8, 32, num_layers=2)
        self.head = nn.Linear(32, 10)

    def forward(self, spectrogram):  # (batch, 1, T, 8)
        a = self.front(spectrogram)  # (batch, 4, T, 8)
        seq = a.permute(2, 0, 1, 3).reshape(a.shape[2], a.shape[0], -1)
        y, _ = self.lstm(seq)
        return self.head(y)


def test_a_whole_model_its_report_and_the_original():
    torch.manual_seed(4)
    model = Speech().eval()
    before = copy.deepcopy(model.state_dict())
    x = torch.randn(2, 1, 7, 8)
    fast = bt.convert(model, bank_size=16, sparsity=0.875, config={"head": None})
    report = fast.bbs_conversion
    assert dict(report.left) == {
        "front.2": "groups=4 (depthwise and grouped convolutions have no rows to balance across channels)",
        "head": "config says None",
    }
    names = [f"{m.layer}.{m.tensor}" for m in report.matrices]
    assert names == ["front.0.weight", "lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.weight_ih_l1",
                     "lstm.weight_hh_l1"]
    first = report.matrices[0]
    assert (first.bank_size, first.keep) == (9, 1) and "9 columns are not a multiple of 16" in first.note
    assert all(0 < m.retained_magnitude < 1 for m in report.matrices)
    assert 0 < report.retained_magnitude < 1
    assert "left head: config says None" in str(report)
    assert isinstance(fast.head, nn.Linear) and isinstance(fast.lstm, bt.BbsLSTM)
    want = masked(model, 16, 2)
    want.head.load_state_dict(model.head.state_dict())  # left as PyTorch: not pruned
    want.front[2].load_state_dict(model.front[2].state_dict())
    assert_close(run(fast, x), run(want, x), atol=1e-4)
    for k, v in model.state_dict().items():  # the original is untouched
        assert torch.equal(v, before[k])


def test_weights_already_bank_balanced_are_taken_as_they_are():
    torch.manual_seed(5)
    model = nn.Sequential(nn.Linear(64, 32), nn.Tanh(), nn.LSTM(32, 16))
    pre = masked(model, 16, 3)  # what a GradualPruner leaves: 3 of every 16 in every bank
    fast = bt.convert(pre, bank_size=16)
    for m in fast.bbs_conversion.matrices:
        assert m.keep == 3 and m.retained_magnitude == pytest.approx(1.0)
    x = torch.randn(5, 64)
    lin = run(fast[0], x)
    assert_close(lin, run(pre[0], x))
    seq = torch.randn(4, 2, 32)
    assert_close(run(fast[2], seq), run(pre[2], seq))


def test_refusals_are_clear():
    model = nn.Sequential(nn.Linear(8, 4))
    with pytest.raises(ValueError, match="at most one of sparsity and keep"):
        bt.convert(model, sparsity=0.5, keep=2)
    with pytest.raises(ValueError, match=r"does not have: \['fc'\]"):
        bt.convert(model, config={"fc": None})
    fast = bt.convert(model)
    x = torch.randn(2, 8, requires_grad=True)
    with pytest.raises(RuntimeError, match="inference only"):
        fast(x)
    with pytest.raises(ValueError, match=r"expected \(\.\.\., 8\)"):
        run(fast, torch.randn(2, 7))
    lstm = bt.convert(nn.LSTM(4, 4))
    packed = nn.utils.rnn.pack_padded_sequence(torch.randn(3, 2, 4), [3, 2])
    with pytest.raises(TypeError, match="PackedSequence"):
        run(lstm, packed)
    with pytest.raises(bbs.ShapeError, match=r"h0 .* is \(1, 2, 3\), expected \(1, 2, 4\)"):
        run(lstm, torch.randn(3, 2, 4), (torch.randn(1, 2, 3), torch.randn(1, 2, 4)))
