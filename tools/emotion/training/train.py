#!/usr/bin/env python3
"""facepipe's own emotion classifier: seeded, resumable training on the FER2013 train split (Debian python3-torch, CPU).

Run through tools/emotion/training/run.sh (train -> choose the logit bias on the validation split -> export ONNX);
re-running resumes from <run>/ckpt/last.pt and refuses a checkpoint whose recipe differs from the arguments.
Data: $FACEPIPE_DATA/emotion (default ../shared/data beside the repository); work files (decoded-image cache, runs):
$FACEPIPE_TRAIN_DIR (default .training/emotion in the repository, git-ignored).
Project class order (model output index 0..6): neutral, happy, sad, angry, fearful, disgusted, surprised.
"""
import argparse
import csv
import hashlib
import io
import json
import math
import os
import random
import sys
import time

# libgomp: do not spin-wait (the machine is shared; spinning threads starve each other)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
try:  # keep freed activation buffers in the heap (avoid a page fault storm on every step)
    import ctypes
    _libc = ctypes.CDLL("libc.so.6")
    _libc.mallopt(-3, 32 * 1024 * 1024)  # M_MMAP_THRESHOLD
    _libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD
except Exception:
    pass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
DATA = os.path.join(os.environ.get("FACEPIPE_DATA") or os.path.join(REPO, "..", "shared", "data"), "emotion")
WORK = os.environ.get("FACEPIPE_TRAIN_DIR") or os.path.join(REPO, ".training", "emotion")
CLASSES = ["neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised"]
FOLDER2IDX = {"neutral": 0, "happy": 1, "sad": 2, "angry": 3, "fear": 4, "disgust": 5, "surprise": 6}
# FER+ vote columns -> project index (contempt, unknown, NF dropped)
FERPLUS2IDX = {"neutral": 0, "happiness": 1, "sadness": 2, "anger": 3, "fear": 4, "disgust": 5, "surprise": 6}


def get_args(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--run", default="runs/main", help="run dir (checkpoints, log), relative to $FACEPIPE_TRAIN_DIR")
    p.add_argument("--seed", type=int, default=20240611)
    p.add_argument("--val-frac", type=float, default=0.10)
    p.add_argument("--epochs", type=int, default=28)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--optim", default="adamw", choices=["adamw", "sgd"])
    p.add_argument("--lr", type=float, default=1e-3, help="peak LR")
    p.add_argument("--wd", type=float, default=0.05, help="weight decay (decoupled for AdamW)")
    p.add_argument("--warmup", type=float, default=1.0, help="warm-up epochs (linear), then cosine")
    p.add_argument("--early-plan", default="35:16", metavar="EPOCHS:UNTIL",
                   help="the cosine was planned over EPOCHS epochs until epoch UNTIL, then over --epochs (the shipped "
                        "run was re-planned from 35 to 28 epochs after epoch 16 when the shared machine slowed down)")
    p.add_argument("--widths", default="32,64,128,256")
    p.add_argument("--convs", default="1,2,2,2", help="convs per stage")
    p.add_argument("--fc", type=int, default=256)
    p.add_argument("--dropout", type=float, default=0.25)
    p.add_argument("--alpha", type=float, default=0.75,
                   help="target = alpha*onehot(FER2013) + (1-alpha)*FER+ vote distribution")
    p.add_argument("--smooth", type=float, default=0.0, help="label smoothing (added on top)")
    p.add_argument("--cw-power", type=float, default=0.5, help="class loss weight ~ n_c^-power")
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--aug-rot", type=float, default=10.0)
    p.add_argument("--aug-scale", type=float, default=0.10)
    p.add_argument("--aug-shift", type=float, default=0.08)
    p.add_argument("--aug-bc", type=float, default=0.3, help="brightness/contrast jitter")
    p.add_argument("--aug-erase", type=float, default=0.25, help="random erasing prob")
    p.add_argument("--init-from", default="", help="stage-2 fine-tuning: start from this checkpoint's weights "
                   "(model + EMA; fresh optimiser and LR schedule)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--bf16", type=int, default=1, help="bf16 autocast for conv/linear in training (AVX512-BF16 CPU)")
    p.add_argument("--max-steps", type=int, default=0, help="debug: stop epoch after N steps")
    p.add_argument("--stop-after", type=int, default=0, help="pilot: exit after this many epochs of this invocation")
    return p.parse_args(argv)


# ----------------------------------------------------------------------------- data
def load_image(path):
    from PIL import Image
    with Image.open(path) as im:
        im = im.convert("L")
        if im.size != (48, 48):
            im = im.resize((48, 48), Image.BILINEAR)
        return np.asarray(im, dtype=np.uint8)


def build_cache(cache_path):
    """Decode train + dev images once; drop near-duplicates of test images; attach FER+ votes."""
    overlap = {}
    with open(os.path.join(DATA, "fer2013_train_test_overlap.csv")) as f:
        for r in csv.DictReader(f):
            overlap[r["train_path"]] = r["action"]
    votes = {}
    with open(os.path.join(DATA, "ferplus/derived_fer2013_train_ferplus_join.csv")) as f:
        for r in csv.DictReader(f):
            if r["neutral"] == "":
                continue
            v = np.zeros(7, np.float32)
            for k, i in FERPLUS2IDX.items():
                v[i] = float(r[k])
            votes[r["path"]] = v
    paths, labels, imgs, vts, hv, hashes = [], [], [], [], [], []
    n_drop_kept = n_drop_removed = 0
    with open(os.path.join(DATA, "fer2013_train_labels.csv")) as f:
        for r in csv.DictReader(f):
            pth = r["path"]
            act = overlap.get(pth)
            if act is not None:
                if act == "removed":
                    n_drop_removed += 1  # should not exist on disk any more
                else:
                    n_drop_kept += 1
                continue
            full = os.path.join(DATA, pth)
            with open(full, "rb") as fh:
                b = fh.read()
            hashes.append(hashlib.sha256(b).hexdigest())
            imgs.append(load_image(full))
            paths.append(pth)
            labels.append(FOLDER2IDX[r["label"]])
            v = votes.get(pth)
            if v is None or v.sum() == 0:
                vts.append(np.zeros(7, np.float32)); hv.append(False)
            else:
                vts.append(v); hv.append(True)
    dev_paths, dev_labels, dev_imgs = [], [], []
    with open(os.path.join(DATA, "fer2013_labels.csv")) as f:
        for r in csv.DictReader(f):
            dev_paths.append(r["path"])
            dev_labels.append(FOLDER2IDX[r["upstream_folder_label"]])
            dev_imgs.append(load_image(os.path.join(DATA, r["path"])))
    np.savez_compressed(cache_path, paths=np.array(paths), labels=np.array(labels, np.int64),
                        imgs=np.stack(imgs), votes=np.stack(vts), has_votes=np.array(hv),
                        hashes=np.array(hashes), dev_paths=np.array(dev_paths),
                        dev_labels=np.array(dev_labels, np.int64), dev_imgs=np.stack(dev_imgs))
    print(f"cache: {len(paths)} train images (dropped {n_drop_kept} kept near-duplicates, "
          f"{n_drop_removed} removed), {int(np.sum(hv))} with FER+ votes; {len(dev_paths)} dev", flush=True)


def load_data():
    cache = os.path.join(WORK, "cache", "data_v1.npz")
    if not os.path.exists(cache):
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        build_cache(cache)
    d = np.load(cache)
    return {k: d[k] for k in d.files}


def split_train_val(labels, hashes, frac, seed):
    """Seeded stratified split at the level of byte-identical groups (duplicates stay together)."""
    groups = {}
    for i, h in enumerate(hashes):
        groups.setdefault(h, []).append(i)
    by_class = {c: [] for c in range(7)}
    for h in sorted(groups):
        members = groups[h]
        by_class[int(labels[members[0]])].append(members)
    rng = random.Random(seed)
    tr, va = [], []
    for c in range(7):
        g = by_class[c]
        rng.shuffle(g)
        nimg = sum(len(m) for m in g)
        target = int(round(frac * nimg))
        cnt = 0
        for m in g:
            if cnt < target:
                va.extend(m); cnt += len(m)
            else:
                tr.extend(m)
    return np.array(sorted(tr)), np.array(sorted(va))


# ----------------------------------------------------------------------------- model
class Net(nn.Module):
    def __init__(self, widths=(32, 64, 128, 256), convs=(1, 2, 2, 2), fc=256, dropout=0.4, ncls=7):
        super().__init__()
        layers, cin = [], 1
        for si, (w, n) in enumerate(zip(widths, convs)):
            for _ in range(n):
                layers += [nn.Conv2d(cin, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
                cin = w
            layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(cin * 9, fc), nn.ReLU(inplace=True),
                                  nn.Dropout(dropout), nn.Linear(fc, ncls))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):  # x: [N,1,48,48] normalised grey
        return self.head(self.features(x))


def make_model(cfg):
    return Net(tuple(int(x) for x in cfg["widths"].split(",")), tuple(int(x) for x in cfg["convs"].split(",")),
               cfg["fc"], cfg["dropout"])


def count_flops(model, size=48):
    """Multiply-accumulates of conv/linear layers for one image (FLOPs ~ 2x MACs)."""
    macs = [0]

    def hook(m, i, o):
        if isinstance(m, nn.Conv2d):
            macs[0] += o.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Linear):
            macs[0] += m.in_features * m.out_features
    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    was = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 1, size, size))
    model.train(was)
    for h in hs:
        h.remove()
    return macs[0]


# ----------------------------------------------------------------------------- augmentation
def augment(x, cfg, g):
    """x: [B,1,H,W] float in 0..1. All randomness from generator g (deterministic)."""
    B = x.shape[0]
    u = lambda *s: torch.rand(*s, generator=g)
    flip = (u(B) < 0.5).float() * 2 - 1  # -1 -> mirrored
    ang = (u(B) * 2 - 1) * math.radians(cfg["aug_rot"])
    sc = 1 + (u(B) * 2 - 1) * cfg["aug_scale"]
    tx = (u(B) * 2 - 1) * cfg["aug_shift"] * 2
    ty = (u(B) * 2 - 1) * cfg["aug_shift"] * 2
    cos, sin = torch.cos(ang) / sc, torch.sin(ang) / sc
    theta = torch.stack([torch.stack([cos * flip, -sin, tx], 1), torch.stack([sin * flip, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, x.shape, align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    bc = cfg["aug_bc"]
    if bc > 0:
        c = 1 + (u(B, 1, 1, 1) * 2 - 1) * bc
        b = (u(B, 1, 1, 1) * 2 - 1) * bc * 0.5
        m = x.mean(dim=(2, 3), keepdim=True)
        x = ((x - m) * c + m + b).clamp(0, 1)
    pe = cfg["aug_erase"]
    if pe > 0:
        H, W = x.shape[2:]
        do = u(B) < pe
        area = 0.02 + u(B) * 0.13
        ar = torch.exp((u(B) * 2 - 1) * math.log(2.0))
        eh = (torch.sqrt(area * ar) * H).clamp(2, H - 1).long()
        ew = (torch.sqrt(area / ar) * W).clamp(2, W - 1).long()
        y0 = (u(B) * (H - eh + 1).float()).long()
        x0 = (u(B) * (W - ew + 1).float()).long()
        val = u(B)
        yy = torch.arange(H).view(1, H, 1)
        xx = torch.arange(W).view(1, 1, W)
        mask = (yy >= y0.view(B, 1, 1)) & (yy < (y0 + eh).view(B, 1, 1)) & (xx >= x0.view(B, 1, 1)) & \
               (xx < (x0 + ew).view(B, 1, 1)) & do.view(B, 1, 1)
        x = torch.where(mask.unsqueeze(1), val.view(B, 1, 1, 1).expand_as(x), x)
    return x


# ----------------------------------------------------------------------------- eval helpers
def to_input(imgs_u8, mean, std):
    return ((torch.from_numpy(imgs_u8).float().unsqueeze(1) / 255.0) - mean) / std


@torch.no_grad()
def predict_logits(model, imgs_u8, mean, std, tta=True, bs=64):
    model.eval()
    out = []
    for i in range(0, len(imgs_u8), bs):
        x = to_input(imgs_u8[i:i + bs], mean, std)
        lo = model(x)
        if tta:
            lo = (lo + model(torch.flip(x, dims=[3]))) / 2
        out.append(lo)
    return torch.cat(out).numpy()


def metrics(pred, y):
    cm = np.zeros((7, 7), np.int64)
    for t, p in zip(y, pred):
        cm[t, p] += 1
    rec = cm.diagonal() / np.maximum(cm.sum(1), 1)
    prec = cm.diagonal() / np.maximum(cm.sum(0), 1)
    f1 = np.where(rec + prec > 0, 2 * rec * prec / np.maximum(rec + prec, 1e-12), 0)
    return {"acc": float((pred == y).mean()), "bal_acc": float(rec.mean()), "macro_f1": float(f1.mean()),
            "recall": {c: float(r) for c, r in zip(CLASSES, rec)}, "confusion": cm.tolist()}


# ----------------------------------------------------------------------------- training
def main():
    args = get_args()
    cfg = vars(args).copy()
    run = os.path.join(WORK, args.run) if not os.path.isabs(args.run) else args.run
    ckdir = os.path.join(run, "ckpt")
    os.makedirs(ckdir, exist_ok=True)
    torch.set_num_threads(args.threads)
    random.seed(args.seed); np.random.seed(args.seed); torch.manual_seed(args.seed)

    d = load_data()
    tr_idx, va_idx = split_train_val(d["labels"], d["hashes"], args.val_frac, args.seed)
    imgs, labels = d["imgs"], d["labels"]
    mean, std = float(imgs[tr_idx].mean() / 255.0), float(imgs[tr_idx].std() / 255.0)
    mean, std = round(mean, 4), round(std, 4)
    counts = np.bincount(labels[tr_idx], minlength=7)
    # soft targets
    onehot = np.eye(7, dtype=np.float32)[labels]
    vt = d["votes"].copy()
    hv = d["has_votes"]
    vt[hv] = vt[hv] / vt[hv].sum(1, keepdims=True)
    vt[~hv] = onehot[~hv]
    target = args.alpha * onehot + (1 - args.alpha) * vt
    if args.smooth > 0:
        target = (1 - args.smooth) * target + args.smooth / 7
    cw = counts.astype(np.float64) ** (-args.cw_power)
    cw = cw / (cw[labels[tr_idx]].mean())
    cw_t = torch.tensor(cw, dtype=torch.float32)
    prior_eff = counts * cw  # effective training prior after loss weighting
    prior_eff = prior_eff / prior_eff.sum()

    model = make_model(cfg)
    macs = count_flops(model)
    nparam = sum(p.numel() for p in model.parameters())
    ema = make_model(cfg)
    ema.load_state_dict(model.state_dict())
    for p in ema.parameters():
        p.requires_grad_(False)
    decay, no_decay = [], []
    for n_, p in model.named_parameters():
        (no_decay if p.ndim == 1 else decay).append(p)
    groups = [{"params": decay, "weight_decay": args.wd}, {"params": no_decay, "weight_decay": 0}]
    if args.optim == "adamw":
        opt = torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.999))
    else:
        opt = torch.optim.SGD(groups, lr=args.lr, momentum=0.9, nesterov=True)
    steps_per_epoch = len(tr_idx) // args.batch
    total_steps = steps_per_epoch * args.epochs
    warm = int(args.warmup * steps_per_epoch)

    early_epochs, early_until = (int(v) for v in args.early_plan.split(":")) if args.early_plan else (0, 0)

    def lr_at(s):
        if s < warm:
            return args.lr * (s + 1) / warm
        total = early_epochs * steps_per_epoch if s < early_until * steps_per_epoch else total_steps
        return args.lr * 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, total - warm)))

    log_path = os.path.join(run, "log.json")
    state = {"epoch": 0, "step": 0, "history": [], "best": None, "train_time_s": 0.0}
    last = os.path.join(ckdir, "last.pt")
    if os.path.exists(last):
        ck = torch.load(last, map_location="cpu")
        diff = {k: (ck["cfg"].get(k), v) for k, v in cfg.items() if k not in ("run", "stop_after", "threads", "max_steps")
                and ck["cfg"].get(k, v) != v}
        if set(diff) - {"epochs"}:
            sys.exit(f"refusing to resume: recipe differs from the checkpoint's: {diff}")
        model.load_state_dict(ck["model"]); ema.load_state_dict(ck["ema"]); opt.load_state_dict(ck["opt"])
        state = ck["state"]
        if "epochs" in diff:  # schedule re-planned (e.g. the shared machine got slower): recorded in the log
            state.setdefault("schedule_changes", []).append(
                {"after_epoch": state["epoch"], "epochs_from": diff["epochs"][0], "epochs_to": args.epochs})
            print(f"NOTE: total epochs changed {diff['epochs'][0]} -> {args.epochs} after epoch {state['epoch']} "
                  f"(cosine LR re-planned from here)", flush=True)
        torch.set_rng_state(ck["torch_rng"])
        print(f"resumed from epoch {state['epoch']} (step {state['step']})", flush=True)
    elif args.init_from:
        ck0 = torch.load(args.init_from, map_location="cpu")
        model.load_state_dict(ck0["model"]); ema.load_state_dict(ck0["ema"])
        state["init_from"] = {"path": os.path.abspath(args.init_from), "epoch": ck0["state"]["epoch"],
                              "cfg": ck0["cfg"], "train_time_s": ck0["state"]["train_time_s"]}
        print(f"initialised from {args.init_from} (epoch {ck0['state']['epoch']})", flush=True)
    print(f"train {len(tr_idx)} / val {len(va_idx)}; class counts (project order) {counts.tolist()}; "
          f"mean {mean} std {std}; model {nparam/1e6:.3f} M params, {macs/1e6:.1f} M MACs/pass "
          f"({2*macs/1e6:.0f} MFLOPs); {steps_per_epoch} steps/epoch", flush=True)
    print(f"class weights {np.round(cw, 3).tolist()}", flush=True)

    X = torch.from_numpy(imgs).float().unsqueeze(1) / 255.0
    T = torch.from_numpy(target)
    Y = torch.from_numpy(labels)
    ycls_va = labels[va_idx]
    epochs_this_call = 0
    while state["epoch"] < args.epochs:
        ep = state["epoch"]
        g = torch.Generator().manual_seed(args.seed * 1000 + ep)
        perm = torch.from_numpy(tr_idx)[torch.randperm(len(tr_idx), generator=g)]
        model.train()
        t0 = time.time()
        tot_loss, tot_n, correct = 0.0, 0, 0
        for bi in range(steps_per_epoch):
            if args.max_steps and bi >= args.max_steps:
                break
            idx = perm[bi * args.batch:(bi + 1) * args.batch]
            x = augment(X[idx], cfg, g)
            x = (x - mean) / std
            t = T[idx]
            y = Y[idx]
            for gr in opt.param_groups:
                gr["lr"] = lr_at(state["step"])
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(args.bf16)):
                logits = model(x)
            logits = logits.float()
            w = cw_t[y]
            loss = (-(t * F.log_softmax(logits, 1)).sum(1) * w).sum() / w.sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            state["step"] += 1
            with torch.no_grad():
                dcy = min(args.ema, (1 + state["step"]) / (10 + state["step"]))
                for pe, pm in zip(ema.state_dict().values(), model.state_dict().values()):
                    if pe.dtype.is_floating_point:
                        pe.mul_(dcy).add_(pm.detach(), alpha=1 - dcy)
                    else:
                        pe.copy_(pm)
            tot_loss += loss.item() * len(idx); tot_n += len(idx)
            correct += (logits.argmax(1) == y).sum().item()
            if bi % 100 == 0:
                print(f"  ep {ep+1} step {bi}/{steps_per_epoch} loss {tot_loss/tot_n:.4f} "
                      f"lr {lr_at(state['step']):.4f} {time.time()-t0:.0f}s", flush=True)
        t_train = time.time() - t0
        # validation (EMA and raw; flip TTA)
        res = {}
        lo = predict_logits(ema, imgs[va_idx], mean, std, tta=True)
        res["ema"] = metrics(lo.argmax(1), ycls_va)
        res["ema_adj"] = metrics((lo - np.log(prior_eff)).argmax(1), ycls_va)
        dev_lo = predict_logits(ema, d["dev_imgs"], mean, std, tta=True)
        dev_m = metrics((dev_lo - np.log(prior_eff)).argmax(1), d["dev_labels"])
        state["train_time_s"] += time.time() - t0
        state["epoch"] += 1
        rec = {"epoch": ep + 1, "loss": tot_loss / max(tot_n, 1), "train_acc": correct / max(tot_n, 1),
               "lr_end": lr_at(state["step"] - 1), "epoch_time_s": time.time() - t0, "train_step_time_s": t_train,
               "val_ema_acc": res["ema"]["acc"], "val_ema_bal_acc": res["ema"]["bal_acc"],
               "val_ema_adj_bal_acc": res["ema_adj"]["bal_acc"], "val_ema_adj_macro_f1": res["ema_adj"]["macro_f1"],
               "val_ema_adj_recall": res["ema_adj"]["recall"],
               "dev_ema_adj_acc": dev_m["acc"], "dev_ema_adj_recall": dev_m["recall"]}
        state["history"].append(rec)
        sel = res["ema_adj"]["bal_acc"]
        is_best = state["best"] is None or sel > state["best"]["val_ema_adj_bal_acc"]
        if is_best:
            state["best"] = {"epoch": ep + 1, "val_ema_adj_bal_acc": sel}
        print(f"epoch {ep+1}/{args.epochs} loss {rec['loss']:.4f} train_acc {rec['train_acc']:.3f} | "
              f"val acc {res['ema']['acc']:.4f} bal_acc {res['ema']['bal_acc']:.4f} adj {sel:.4f} | dev acc ema(adj) {dev_m['acc']:.4f} "
              f"fear {dev_m['recall']['fearful']:.2f} min {min(dev_m['recall'].values()):.2f} | "
              f"{rec['epoch_time_s']:.0f}s{' *' if is_best else ''}", flush=True)
        ck = {"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(), "state": state,
              "cfg": cfg, "norm": {"mean": mean, "std": std}, "prior_eff": prior_eff.tolist(),
              "classes": CLASSES, "torch_rng": torch.get_rng_state(), "macs": macs, "params": nparam}
        torch.save(ck, last + ".tmp")
        os.replace(last + ".tmp", last)
        if is_best:
            torch.save(ck, os.path.join(ckdir, "best.pt"))
        with open(log_path, "w") as f:
            json.dump({"cfg": cfg, "n_train": int(len(tr_idx)), "n_val": int(len(va_idx)),
                       "train_counts": counts.tolist(), "norm": {"mean": mean, "std": std}, "macs": macs,
                       "params": nparam, "state": state}, f, indent=1)
        epochs_this_call += 1
        if args.stop_after and epochs_this_call >= args.stop_after:
            print("stop-after reached", flush=True)
            break
    print(f"done: {state['epoch']} epochs, {state['train_time_s']/60:.1f} min; best {state['best']}", flush=True)


if __name__ == "__main__":
    main()
