#!/usr/bin/python3
"""Exports a PyTorch state_dict to an .npz archive that bbs reads (bbs::nn::StateDict::load_npz).

    /usr/bin/python3 tools/python/export_state_dict.py model.pt weights.npz

model.pt holds a state_dict (torch.save(model.state_dict(), ...)) or a whole module. Every tensor
is written under its state_dict name as float32 (numpy.savez, uncompressed: bbs reads stored ZIP
entries only); integer buffers such as BatchNorm's num_batches_tracked are skipped. Needs Debian's
python3-torch (/usr/bin/python3), not the python3 first on PATH.
"""
import sys

import numpy as np
import torch


def export(state_dict, path):
    arrays = {name: t.detach().cpu().float().numpy() for name, t in state_dict.items() if t.is_floating_point()}
    np.savez(path, **arrays)
    return sorted(arrays)


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: export_state_dict.py MODEL.pt OUT.npz")
    loaded = torch.load(argv[1], map_location="cpu")
    state_dict = loaded.state_dict() if isinstance(loaded, torch.nn.Module) else loaded
    for name in export(state_dict, argv[2]):
        print(name, tuple(state_dict[name].shape))


if __name__ == "__main__":
    main(sys.argv)
