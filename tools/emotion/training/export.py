#!/usr/bin/env python3
"""Export a trained checkpoint to ONNX with preprocessing (RGB 0..255 -> BT.601 grey -> normalise), flip-TTA and the
per-class logit bias inside the graph, and write PyTorch's outputs for the parity test
(tests/integration/models/emotionParity.test.ts).

  /usr/bin/python3 export.py --ckpt $FACEPIPE_TRAIN_DIR/final/final.pt --out models/facepipe_emotion_fer.onnx
"""
import argparse
import hashlib
import json
import os

import numpy as np
import torch
import torch.nn as nn

import train


class Deploy(nn.Module):
    """input [N,3,S,S] float32 RGB 0..255  ->  probs [N,7] (project class order)."""

    def __init__(self, net, mean, std, logit_bias, tta=True, size=48):
        super().__init__()
        self.net = net
        self.tta = tta
        # grey = 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601); then (grey/255 - mean)/std, as one 1x1 conv
        w = torch.tensor([0.299, 0.587, 0.114]) / (255.0 * std)
        self.pre = nn.Conv2d(3, 1, 1, bias=True)
        with torch.no_grad():
            self.pre.weight.copy_(w.view(1, 3, 1, 1))
            self.pre.bias.fill_(-mean / std)
        self.register_buffer("flip_idx", torch.arange(size - 1, -1, -1))
        self.register_buffer("logit_bias", torch.tensor(logit_bias, dtype=torch.float32).view(1, 7))

    def forward(self, x):
        g = self.pre(x)
        if self.tta:
            gg = torch.cat([g, torch.index_select(g, 3, self.flip_idx)], 0)
            lo = self.net(gg).reshape(2, -1, 7).mean(0)
        else:
            lo = self.net(g)
        return torch.softmax(lo + self.logit_bias, dim=1)


def load_deploy(ckpt_path, tau=None, use_ema=True, tta=True, bias=None):
    """bias: explicit per-class logit bias; else ckpt['logit_bias'] if present; else -tau*log(prior_eff)."""
    ck = torch.load(ckpt_path, map_location="cpu")
    net = train.make_model(ck["cfg"])
    net.load_state_dict(ck["ema"] if use_ema else ck["model"])
    net.eval()
    if bias is None and tau is None and "logit_bias" in ck:
        bias = np.array(ck["logit_bias"], np.float64)
    if bias is None:
        if tau is None:
            tau = ck.get("tau", 1.0)
        bias = -tau * np.log(np.array(ck["prior_eff"]))
    bias = np.asarray(bias, np.float64)
    bias = (bias - bias.mean()).astype(np.float32)
    dep = Deploy(net, ck["norm"]["mean"], ck["norm"]["std"], bias.tolist(), tta=tta).eval()
    return dep, ck, bias.tolist()


def export_onnx(dep, out, size=48, opset=13):
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    x = torch.rand(2, 3, size, size) * 255
    torch.onnx.export(dep, x, out, input_names=["input"], output_names=["probs"], opset_version=opset,
                      dynamic_axes={"input": {0: "N"}, "probs": {0: "N"}}, do_constant_folding=True)
    import onnx
    m = onnx.load(out)
    onnx.checker.check_model(m)
    m.doc_string = ("facepipe emotion classifier. input: float32 [N,3,48,48] RGB 0..255 (48x48 FER2013-style tight "
                    "face crop); output probs [N,7] softmax, order: " + ",".join(train.CLASSES))
    for k, v in (("classes", ",".join(train.CLASSES)), ("input_range", "0..255 RGB"), ("licence", "Apache-2.0 "
                 "(weights trained on FER2013, research-use data terms; FER+ votes MIT)")):
        p = m.metadata_props.add(); p.key = k; p.value = v
    onnx.save(m, out)


def colour_variant(grey):
    """A colour face made from a grey one (R = grey, G = mirrored grey, B = 255 - grey): exercises the RGB -> grey
    step of the graph with channels that differ. The parity test builds the same from the decoded image."""
    return np.stack([grey, grey[:, ::-1], 255 - grey]).astype(np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=os.path.join(train.WORK, "final", "final.pt"),
                    help="a checkpoint with its logit bias (select_bias.py's final.pt)")
    ap.add_argument("--out", default=os.path.join(train.REPO, "models", "facepipe_emotion_fer.onnx"))
    ap.add_argument("--tau", type=float, default=None, help="prior-correction strength (default: the ckpt's bias)")
    ap.add_argument("--no-tta", action="store_true")
    ap.add_argument("--random", action="store_true", help="latency bench: untrained net from --widths/--convs")
    ap.add_argument("--widths", default="32,64,128,256")
    ap.add_argument("--convs", default="1,2,2,2")
    ap.add_argument("--ref", default=os.path.join(train.REPO, "models", "facepipe_emotion_fer.reference.json"),
                    help="PyTorch's outputs on every 10th dev face (and a colour variant of each), for the parity test")
    a = ap.parse_args()
    torch.set_num_threads(2)
    if a.random:
        torch.manual_seed(0)
        net = train.make_model({"widths": a.widths, "convs": a.convs, "fc": 256, "dropout": 0.4}).eval()
        dep = Deploy(net, 0.5, 0.25, [0.0] * 7, tta=not a.no_tta).eval()
        export_onnx(dep, a.out)
        print("exported", a.out, f"{train.count_flops(net)/1e6:.1f} M MACs/pass")
        return
    dep, ck, _ = load_deploy(a.ckpt, a.tau, tta=not a.no_tta)
    export_onnx(dep, a.out)
    print(f"exported {a.out} (epoch {ck['state']['epoch']}, logit bias {dep.logit_bias.view(-1).tolist()}, "
          f"tta {not a.no_tta})")
    if a.ref:
        # Only file names, pixel hashes and outputs: the dataset's pixels are never written into the repository.
        d = train.load_data()
        picks = list(range(0, len(d["dev_paths"]), 10))
        greys = d["dev_imgs"][picks]
        grey_rgb = torch.from_numpy(greys).float().unsqueeze(1).repeat(1, 3, 1, 1)  # R = G = B = grey
        colour = torch.from_numpy(np.stack([colour_variant(g) for g in greys]))
        with torch.no_grad():
            p_grey, p_colour = dep(grey_rgb).numpy(), dep(colour).numpy()
        ref = {"model": os.path.basename(a.out), "framework": f"torch {torch.__version__}", "classes": train.CLASSES,
               "input": "float32 [N,3,48,48] RGB 0..255", "colourVariant": "R = grey, G = grey mirrored, B = 255 - grey",
               "faces": [{"path": str(d["dev_paths"][i]), "pixelsSha256": hashlib.sha256(g.tobytes()).hexdigest(),
                          "grey": [float(f"{v:.7g}") for v in pg], "colour": [float(f"{v:.7g}") for v in pc]}
                         for i, g, pg, pc in zip(picks, greys, p_grey, p_colour)]}
        os.makedirs(os.path.dirname(os.path.abspath(a.ref)), exist_ok=True)
        with open(a.ref, "w") as f:
            json.dump(ref, f, indent=1)
            f.write("\n")
        print("wrote", a.ref, len(picks), "faces")


if __name__ == "__main__":
    main()
