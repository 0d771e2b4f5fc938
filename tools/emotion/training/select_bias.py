#!/usr/bin/env python3
"""Choose the per-class logit bias on the VALIDATION split only (the dev faces are scored, never used to choose), then
evaluate the deploy model (preprocessing + flip-TTA + bias, exactly as exported) on val and on the 700-face dev set.

  /usr/bin/python3 select_bias.py --ckpt $FACEPIPE_TRAIN_DIR/runs/main/ckpt/best.pt --out $FACEPIPE_TRAIN_DIR/final
writes <out>/final.pt (slim checkpoint with the bias), <out>/metrics.json, <out>/metrics.md
"""
import argparse, json, os
import numpy as np
import torch
import train
from export import load_deploy



def deploy_probs(dep, greys_u8, bs=50):
    x = torch.from_numpy(greys_u8).float().unsqueeze(1)
    out = []
    with torch.no_grad():
        for i in range(0, len(x), bs):
            out.append(dep(x[i:i + bs].repeat(1, 3, 1, 1)))  # RGB with R=G=B=grey, 0..255
    return torch.cat(out).numpy()


def fmt(m, title):
    C = train.CLASSES
    s = [f"### {title}", "", f"accuracy {m['acc']:.4f} | balanced acc (mean recall) {m['bal_acc']:.4f} | "
         f"macro-F1 {m['macro_f1']:.4f}", "", "| class | recall |", "|---|---|"]
    s += [f"| {c} | {m['recall'][c]:.2f} |" for c in C]
    s += ["", "Confusion matrix (rows = true, cols = predicted):", "",
          "| true \\ pred | " + " | ".join(C) + " |", "|---" * (len(C) + 1) + "|"]
    s += [f"| {C[i]} | " + " | ".join(str(v) for v in row) + " |" for i, row in enumerate(m["confusion"])]
    return "\n".join(s) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=os.path.join(train.WORK, "runs/main/ckpt/best.pt"))
    ap.add_argument("--out", default=os.path.join(train.WORK, "final"))
    ap.add_argument("--mode", default="perclass", choices=["perclass", "tau"])
    ap.add_argument("--min-recall", type=float, default=0.42,
                    help="val recall below which a class is penalised while choosing the bias (0.40 target + margin)")
    a = ap.parse_args()
    torch.set_num_threads(2)
    os.makedirs(a.out, exist_ok=True)
    d = train.load_data()
    ck = torch.load(a.ckpt, map_location="cpu")
    cfg = ck["cfg"]
    tr_idx, va_idx = train.split_train_val(d["labels"], d["hashes"], cfg["val_frac"], cfg["seed"])
    yv = d["labels"][va_idx]
    # The validation split's files, for choosing ensemble weights elsewhere (tools/emotion/compare.ts) on the same faces.
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "validation_split.csv"), "w") as f:
        f.write("path,upstream_folder_label\n")
        folder = {v: k for k, v in train.FOLDER2IDX.items()}
        for i in va_idx:
            f.write(f"{d['paths'][i]},{folder[int(d['labels'][i])]}\n")
    # Decision rule, chosen on VALIDATION only. The training prior (class-weighted, FER+-softened) differs from the
    # class-balanced use case, so a per-class logit bias is added inside the graph:
    #  A) tau grid: bias = -tau * log(prior_eff)  (classic logit adjustment, 1 parameter)
    #  B) per-class: coordinate ascent from A on val balanced accuracy, penalising any class recall < min_recall.
    dep0, _, _ = load_deploy(a.ckpt, bias=np.zeros(7))
    lv = np.log(np.clip(deploy_probs(dep0, d["imgs"][va_idx]), 1e-30, 1))
    ld = np.log(np.clip(deploy_probs(dep0, d["dev_imgs"]), 1e-30, 1))
    logp = np.log(np.array(ck["prior_eff"]))
    grid = [round(t, 2) for t in np.arange(0, 2.01, 0.1)]
    scores = {t: train.metrics((lv - t * logp).argmax(1), yv) for t in grid}
    tau = max(grid, key=lambda t: (round(scores[t]["bal_acc"], 4), -abs(t - 1)))
    print("val bal_acc by tau:", {t: round(scores[t]["bal_acc"], 4) for t in grid}, "-> tau", tau)
    bias_tau = -tau * logp

    def objective(b):
        m = train.metrics((lv + b).argmax(1), yv)
        rec = np.array([m["recall"][c] for c in train.CLASSES])
        return m["bal_acc"] - 2.0 * np.clip(a.min_recall - rec, 0, None).sum()

    b = bias_tau.copy()
    if a.mode == "perclass":
        for _ in range(3):
            for c in range(7):
                cur, best_v = objective(b), b[c]
                for delta in np.arange(-1.5, 1.5001, 0.05):
                    bb = b.copy(); bb[c] = bias_tau[c] + delta
                    o = objective(bb)
                    if o > cur + 1e-9:
                        cur, best_v = o, bb[c]
                b[c] = best_v
    b = b - b.mean()
    print("logit bias", np.round(b, 3).tolist())
    dep, _, _ = load_deploy(a.ckpt, bias=b)
    pv = deploy_probs(dep, d["imgs"][va_idx])
    pd = deploy_probs(dep, d["dev_imgs"])
    mv = train.metrics(pv.argmax(1), yv)
    md = train.metrics(pd.argmax(1), d["dev_labels"])
    md0 = train.metrics(ld.argmax(1), d["dev_labels"])
    md_tau = train.metrics((ld + bias_tau).argmax(1), d["dev_labels"])
    mv_tau = train.metrics((lv + bias_tau).argmax(1), yv)
    slim = {k: ck[k] for k in ("cfg", "norm", "prior_eff", "classes", "macs", "params")}
    slim["ema"] = ck["ema"]; slim["tau"] = tau; slim["logit_bias"] = b.tolist()
    slim["state"] = {k: ck["state"][k] for k in ("epoch", "step", "best", "train_time_s")}
    slim["source_ckpt"] = os.path.abspath(a.ckpt)
    torch.save(slim, os.path.join(a.out, "final.pt"))
    res = {"ckpt": os.path.abspath(a.ckpt), "epoch": ck["state"]["epoch"], "mode": a.mode, "tau": tau,
           "logit_bias": b.tolist(), "min_recall": a.min_recall,
           "val_bal_acc_by_tau": {str(t): scores[t]["bal_acc"] for t in grid},
           "val": mv, "dev": md, "dev_without_prior_correction": md0, "dev_tau_only": md_tau, "val_tau_only": mv_tau,
           "train_time_s": ck["state"]["train_time_s"], "epochs_total": cfg["epochs"]}
    with open(os.path.join(a.out, "metrics.json"), "w") as f:
        json.dump(res, f, indent=1)
    txt = fmt(md, f"Dev set (700 faces, 100/class), epoch {res['epoch']}, decision rule '{a.mode}'") + "\n" + \
        fmt(mv, f"Validation split ({len(va_idx)} faces, natural class mix)") + "\n" + \
        fmt(md_tau, f"Dev set, tau-only prior correction (tau = {tau}), for reference") + "\n" + \
        fmt(md0, "Dev set without any prior correction, for reference")
    with open(os.path.join(a.out, "metrics.md"), "w") as f:
        f.write(txt)
    print(txt)


if __name__ == "__main__":
    main()
