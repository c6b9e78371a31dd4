"""bbs.nn: model files loaded from Python run as the C++ library runs them (PyTorch's fixture
outputs, the bbs tool's outputs), stream frame by frame with an explicit state, save and load
again bit for bit, and refuse bad input by name."""

import os
import subprocess

import numpy as np
import pytest

import bbs
import bbs.nn

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODELS = os.path.join(ROOT, "test", "data", "models")
SPEECH = os.path.join(ROOT, "models", "speech_bbs.bbsm")


def fixture(name):
    """A tiny model and its PyTorch inputs and outputs (tools/fixtures/make_model_fixtures.py)."""
    io = np.load(os.path.join(MODELS, f"{name}_io.npz"))
    return os.path.join(MODELS, f"{name}.bbsm"), io["x"], io["out"]


def as_sequence(x):
    """The fixtures' (N, T, F) as bbs.nn's (T, batch, F)."""
    return np.ascontiguousarray(x.transpose(1, 0, 2))


@pytest.mark.parametrize("name", ["tiny_lstm", "tiny_gru", "tiny_cnn"])
def test_forward_matches_pytorch(name):
    path, x, want = fixture(name)
    model = bbs.nn.load_model(path)
    inputs = x if name == "tiny_cnn" else as_sequence(x)
    got = model.forward(inputs)
    assert got.dtype == np.float32
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=2e-5)
    # Without the batch dimension: one sample at a time gives the batch's rows.
    one = x[1]
    np.testing.assert_allclose(model(one), got[1], atol=1e-6)
    # float64 input is converted; the result is the same.
    np.testing.assert_array_equal(model.forward(inputs.astype(np.float64)), got)


@pytest.mark.parametrize("name", ["tiny_lstm", "tiny_cnn"])
def test_fixed16_runs_close_to_float(name):
    path, x, want = fixture(name)
    inputs = x if name == "tiny_cnn" else as_sequence(x)
    model = bbs.nn.load_model(path, type="fixed16<12>")
    assert model.type == "fixed16<12>"
    got = model.forward(inputs)
    np.testing.assert_allclose(got, want, atol=2e-2)
    assert not np.array_equal(got, bbs.nn.load_model(path).forward(inputs))  # really fixed point


def test_shapes_and_layers_describe_the_model():
    model = bbs.nn.load_model(SPEECH)
    assert model.input_shape == {"kind": "sequence", "features": 160}
    assert model.output_shape == {"kind": "sequence", "features": 39}
    keyword, name, keys = model.layers[0]
    assert (keyword, name) == ("lstm", "rnn")
    assert keys["hidden"] == "128" and keys["bank"] == "16" and keys["nnz"] == "2"
    assert "formats" in keys
    cnn = bbs.nn.load_model(fixture("tiny_cnn")[0])
    assert cnn.input_shape == {"kind": "image", "channels": 3, "height": 13, "width": 11}
    assert "Model(float32" in repr(cnn)


@pytest.mark.parametrize("type", ["float32", "fixed16<10>"])
def test_a_stream_computes_the_whole_sequence_and_its_state_round_trips(type, rng):
    model = bbs.nn.load_model(SPEECH, type=type)
    frames = rng.standard_normal((12, 2, 160)).astype(np.float32) * 0.5
    whole = model.forward(frames)
    stream = model.stream()
    assert stream.frames == 0
    stepped = np.stack([stream.step(f) for f in frames])
    if type == "float32":
        np.testing.assert_allclose(stepped, whole, atol=1e-5)
    else:
        np.testing.assert_array_equal(stepped, whole)  # fixed point: bit for bit
    assert stream.frames == 12

    stream.reset()
    for f in frames[:5]:
        stream.step(f)
    saved = stream.state
    assert (saved.frames, saved.batch, saved.type) == (5, 2, type)
    rest = [stream.step(f) for f in frames[5:]]
    stream.state = saved
    assert stream.frames == 5
    again = [stream.step(f) for f in frames[5:]]
    other = model.stream()
    other.state = saved
    elsewhere = [other(f) for f in frames[5:]]
    for a, b, c in zip(rest, again, elsewhere):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)

    layers = saved.arrays()
    assert len(layers) == 2 and layers[1] is None  # the LSTM, then the frame-wise linear
    assert len(layers[0]) == 2  # two stacked cells
    for cell in layers[0]:
        assert cell["h"].shape == (2, 128) and cell["c"].shape == (2, 128)
        assert np.abs(cell["h"]).max() > 0 and np.abs(cell["h"]).max() <= 1  # h = o * tanh(c)
    # The state is a copy: running on does not change it.
    stream.step(frames[0])
    np.testing.assert_array_equal(saved.arrays()[0][0]["h"], layers[0][0]["h"])


def test_streams_refuse_what_they_cannot_run():
    model = bbs.nn.load_model(SPEECH)
    stream = model.stream()
    with pytest.raises(bbs.ShapeError, match=r"the frame is \(7,\), expected \(160,\)"):
        stream.step(np.zeros(7, np.float32))
    stream.step(np.zeros((2, 160), np.float32))
    with pytest.raises(bbs.ShapeError, match="the batch of its first frame"):
        stream.step(np.zeros((3, 160), np.float32))
    fixed = bbs.nn.load_model(SPEECH, type="fixed16<10>").stream()
    with pytest.raises(bbs.ConfigError, match="the state is of a float32 model, this stream runs fixed16<10>"):
        fixed.state = stream.state
    gru_state = bbs.nn.load_model(fixture("tiny_gru")[0]).stream
    with pytest.raises(bbs.ConfigError, match="last_step"):
        gru_state()  # the tiny models end in last_step: no streaming
    dense = bbs.nn.load_model(os.path.join(ROOT, "models", "speech_dense.bbsm")).stream()
    dense.step(np.zeros(160, np.float32))
    stream.state = dense.state  # the same architecture: a state of the dense model fits
    assert stream.frames == 1


def test_save_model_round_trips_bit_for_bit(tmp_path):
    speech_x = np.random.default_rng(1).standard_normal((6, 160)).astype(np.float32)
    lstm_path, lstm_x, _ = fixture("tiny_lstm")
    for source, type, x in [(SPEECH, "float32", speech_x), (lstm_path, "fixed16<12>", as_sequence(lstm_x))]:
        model = bbs.nn.load_model(source, type=type)
        path = str(tmp_path / f"copy_{type[:5]}.bbsm")
        bbs.nn.save_model(model, path)
        np.testing.assert_array_equal(bbs.nn.load_model(path, type=type).forward(x), model.forward(x))
    # An LSTM with per-tensor formats is saved from its float model (the formats travel with it).
    with pytest.raises(bbs.ConfigError, match="per-tensor fixed-point formats"):
        bbs.nn.save_model(bbs.nn.load_model(SPEECH, type="fixed16<10>"), str(tmp_path / "formats.bbsm"))
    assert not os.path.exists(str(tmp_path / "formats.bbsm"))
    with pytest.raises(bbs.FileError):
        model.save(str(tmp_path / "no" / "such" / "dir.bbsm"))
    assert not os.path.exists(str(tmp_path / "no"))


def test_bad_files_types_and_inputs_raise_by_name(tmp_path):
    with pytest.raises(bbs.FileError, match="missing.bbsm"):
        bbs.nn.load_model(str(tmp_path / "missing.bbsm"))
    truncated = tmp_path / "truncated.bbsm"
    truncated.write_bytes(open(SPEECH, "rb").read()[:1000])
    with pytest.raises(bbs.FileError):
        bbs.nn.load_model(str(truncated))
    with pytest.raises(bbs.ConfigError, match="F from 8 to 13"):
        bbs.nn.load_model(SPEECH, type="fixed16<3>")
    with pytest.raises(bbs.ConfigError, match="float32 or fixed16"):
        bbs.nn.load_model(SPEECH, type="bfloat16")
    with pytest.raises(bbs.ConfigError, match="value type \"int7\": expected float32"):
        bbs.nn.load_model(SPEECH, type="int7")
    model = bbs.nn.load_model(SPEECH)
    with pytest.raises(bbs.ShapeError, match=r"the input is \(5, 2, 40\).*expected \(T, batch, 160\)"):
        model.forward(np.zeros((5, 2, 40), np.float32))
    cnn = bbs.nn.load_model(fixture("tiny_cnn")[0])
    with pytest.raises(bbs.ShapeError, match=r"expected \(N, 3, 13, 11\)"):
        cnn.forward(np.zeros((2, 3, 11, 13), np.float32))
    with pytest.raises(TypeError):
        model.forward(np.array(["a", "b"]))
    model.check_finite = True
    bad = np.zeros((3, 160), np.float32)
    bad[1, 7] = np.nan
    with pytest.raises(bbs.InvalidValueError, match="NaN"):
        model.forward(bad)
    with pytest.raises(bbs.InvalidValueError):
        bbs.nn.load_model(SPEECH, type="fixed16<10>").forward(bad)  # NaN cannot become fixed point


@pytest.mark.skipif("BBS_CLI" not in os.environ, reason="BBS_CLI (the bbs tool) is set by CTest")
def test_outputs_equal_the_bbs_tools(tmp_path, restore_backend):
    path, x, _ = fixture("tiny_lstm")
    data = str(tmp_path / "data.npz")
    np.savez(data, x=x, y=np.zeros(len(x), np.int64))
    for type in ["float32", "fixed16<12>"]:
        out = str(tmp_path / "out.npy")
        subprocess.run(
            [os.environ["BBS_CLI"], "eval", path, data, "--type", type, "--backend", "reference", "--outputs", out,
             "--quiet", "--latency-samples", "0"],
            check=True, capture_output=True)
        bbs.set_backend("reference")
        mine = bbs.nn.load_model(path, type=type).forward(as_sequence(x))
        np.testing.assert_array_equal(mine, np.load(out))
