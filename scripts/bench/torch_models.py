#!/usr/bin/env python3
"""PyTorch twins of MedSeg's UNeXt and U-Net, timed the way `medseg bench` times the TorchSharp models.

Run by `medseg bench` in a subprocess (Debian's /usr/bin/python3 with python3-torch), or by hand:

    /usr/bin/python3 scripts/bench/torch_models.py --threads 2 --batch 8 --size 256 --warmup 1 --iters 3

Prints one JSON object per line on stdout (anything else goes to stderr):
  {"kind": "env", ...}            torch version, threads, BLAS, oneDNN availability
  {"kind": "ceiling", ...}        a big 3x3 conv forward (GFLOP/s), per oneDNN setting and memory format
  {"kind": "model", ...}          per model and setting: params, MACs, forward ms, train-step ms, peak RSS delta,
                                  CPU use (share of --threads cores kept busy), whether loss and weights stayed finite
  {"kind": "skip", ...}           a model or setting that could not be measured, with the reason

Timing: medians over --iters after --warmup untimed repetitions. Forward = eval() + torch.inference_mode() (and
no_grad() with --ab-inference). Train step = zero_grad + forward (train mode) + BCE-with-logits + backward + AdamW
step. Peak memory = VmHWM - VmRSS before the model was built, after resetting the high-water mark through
/proc/self/clear_refs and trimming malloc's free lists (Linux only): weights, gradients, AdamW state (created before
the first train step, see Workload.prime), activations and allocator slack.

The models are written here from the papers and from MedSeg's C# definitions (MedSeg.Engine/Models), not copied.
"""

import argparse
import ctypes
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


# ---------------------------------------------------------------------------------------------------------------
# U-Net: 64-channel base, BN after each 3x3 conv, 2x2 max-pool down, 2x2 transposed-conv up, concat [skip, up].
# Mirrors MedSeg.Engine/Models/UNet/UNet.cs, variant "transposed" (31.04 M parameters at 3 in, 1 class).
# ---------------------------------------------------------------------------------------------------------------

class DoubleConv(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.double_conv = nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    def forward(self, x):
        return self.double_conv(x)


class Down(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), DoubleConv(cin, cout))

    def forward(self, x):
        return self.maxpool_conv(x)


class Up(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, cin // 2, 2, stride=2)
        self.conv = DoubleConv(cin, cout)

    def forward(self, deep, skip):
        return self.conv(torch.cat([skip, self.up(deep)], 1))


class UNet(nn.Module):
    def __init__(self, in_channels=3, classes=1, base=64):
        super().__init__()
        b = base
        self.inc = DoubleConv(in_channels, b)
        self.down1, self.down2 = Down(b, 2 * b), Down(2 * b, 4 * b)
        self.down3, self.down4 = Down(4 * b, 8 * b), Down(8 * b, 16 * b)
        self.up1, self.up2 = Up(16 * b, 8 * b), Up(8 * b, 4 * b)
        self.up3, self.up4 = Up(4 * b, 2 * b), Up(2 * b, b)
        self.outc = nn.Conv2d(b, classes, 1)

    def forward(self, x):
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x4 = self.down3(x3)
        x5 = self.down4(x4)
        x = self.up1(x5, x4)
        x = self.up2(x, x3)
        x = self.up3(x, x2)
        x = self.up4(x, x1)
        return self.outc(x)


# ---------------------------------------------------------------------------------------------------------------
# UNeXt (Valanarasu & Patel, MICCAI 2022): three conv stages (16, 32, 128 channels; conv-BN-maxpool-ReLU), two
# tokenized shifted-MLP stages (160, 256 channels; overlapping 3x3/2 patch embedding + LayerNorm, one shifted MLP
# block each: shift along H, fc, depthwise 3x3 conv, GELU, shift along W, fc; shift size 5), and a decoder of
# conv-BN-bilinear-up-ReLU stages with additive skips, two of them followed by a shifted-MLP block. 1.47 M params.
# ---------------------------------------------------------------------------------------------------------------

class ShiftMlp(nn.Module):
    def __init__(self, dim, shift_size=5):
        super().__init__()
        self.fc1 = nn.Linear(dim, dim)
        self.dwconv = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)
        self.fc2 = nn.Linear(dim, dim)
        self.shift_size = shift_size
        self.pad = shift_size // 2

    def _shift(self, tokens, h, w, axis):
        # tokens (B, N, C) -> map (B, C, H, W); channel group g rolls by g - pad along axis; back to (B, N, C).
        b, n, c = tokens.shape
        x = tokens.transpose(1, 2).reshape(b, c, h, w)
        x = F.pad(x, (self.pad, self.pad, self.pad, self.pad))
        groups = torch.chunk(x, self.shift_size, 1)
        x = torch.cat([torch.roll(g, s, axis) for g, s in zip(groups, range(-self.pad, self.pad + 1))], 1)
        x = x[:, :, self.pad:self.pad + h, self.pad:self.pad + w]
        return x.reshape(b, c, h * w).transpose(1, 2)

    def forward(self, x, h, w):
        b, n, c = x.shape
        x = self.fc1(self._shift(x, h, w, 2))
        x = self.dwconv(x.transpose(1, 2).reshape(b, c, h, w)).flatten(2).transpose(1, 2)
        x = F.gelu(x)
        return self.fc2(self._shift(x, h, w, 3))


class ShiftedBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = ShiftMlp(dim)

    def forward(self, x, h, w):
        return x + self.mlp(self.norm2(x), h, w)


class PatchEmbed(nn.Module):
    def __init__(self, cin, dim):
        super().__init__()
        self.proj = nn.Conv2d(cin, dim, 3, stride=2, padding=1)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        x = self.proj(x)
        _, _, h, w = x.shape
        return self.norm(x.flatten(2).transpose(1, 2)), h, w


class UNeXt(nn.Module):
    def __init__(self, in_channels=3, classes=1, c=(16, 32, 128), e=(160, 256)):
        super().__init__()
        self.encoder1 = nn.Conv2d(in_channels, c[0], 3, padding=1)
        self.encoder2 = nn.Conv2d(c[0], c[1], 3, padding=1)
        self.encoder3 = nn.Conv2d(c[1], c[2], 3, padding=1)
        self.ebn1, self.ebn2, self.ebn3 = nn.BatchNorm2d(c[0]), nn.BatchNorm2d(c[1]), nn.BatchNorm2d(c[2])
        self.patch_embed3 = PatchEmbed(c[2], e[0])
        self.patch_embed4 = PatchEmbed(e[0], e[1])
        self.block1, self.block2 = ShiftedBlock(e[0]), ShiftedBlock(e[1])
        self.dblock1, self.dblock2 = ShiftedBlock(e[0]), ShiftedBlock(c[2])
        self.norm3, self.norm4 = nn.LayerNorm(e[0]), nn.LayerNorm(e[1])
        self.dnorm3, self.dnorm4 = nn.LayerNorm(e[0]), nn.LayerNorm(c[2])
        self.decoder1 = nn.Conv2d(e[1], e[0], 3, padding=1)
        self.decoder2 = nn.Conv2d(e[0], c[2], 3, padding=1)
        self.decoder3 = nn.Conv2d(c[2], c[1], 3, padding=1)
        self.decoder4 = nn.Conv2d(c[1], c[0], 3, padding=1)
        self.decoder5 = nn.Conv2d(c[0], c[0], 3, padding=1)
        self.dbn1, self.dbn2 = nn.BatchNorm2d(e[0]), nn.BatchNorm2d(c[2])
        self.dbn3, self.dbn4 = nn.BatchNorm2d(c[1]), nn.BatchNorm2d(c[0])
        self.final = nn.Conv2d(c[0], classes, 1)

    @staticmethod
    def _to_map(tokens, b, h, w):
        return tokens.reshape(b, h, w, -1).permute(0, 3, 1, 2).contiguous()

    @staticmethod
    def _up(x):
        return F.relu(F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False))

    def forward(self, x):
        b = x.shape[0]
        t1 = out = F.relu(F.max_pool2d(self.ebn1(self.encoder1(x)), 2))
        t2 = out = F.relu(F.max_pool2d(self.ebn2(self.encoder2(out)), 2))
        t3 = out = F.relu(F.max_pool2d(self.ebn3(self.encoder3(out)), 2))
        out, h, w = self.patch_embed3(out)
        out = self.block1(out, h, w)
        t4 = out = self._to_map(self.norm3(out), b, h, w)
        out, h, w = self.patch_embed4(out)
        out = self.block2(out, h, w)
        out = self._to_map(self.norm4(out), b, h, w)
        out = self._up(self.dbn1(self.decoder1(out))) + t4
        _, _, h, w = out.shape
        out = self.dblock1(out.flatten(2).transpose(1, 2), h, w)
        out = self._to_map(self.dnorm3(out), b, h, w)
        out = self._up(self.dbn2(self.decoder2(out))) + t3
        _, _, h, w = out.shape
        out = self.dblock2(out.flatten(2).transpose(1, 2), h, w)
        out = self._to_map(self.dnorm4(out), b, h, w)
        out = self._up(self.dbn3(self.decoder3(out))) + t2
        out = self._up(self.dbn4(self.decoder4(out))) + t1
        out = self._up(self.decoder5(out))
        return self.final(out)


MODELS = {"unet": UNet, "unext": UNeXt}


# ---------------------------------------------------------------------------------------------------------------
# Measurement helpers, the same conventions as MedSeg.Engine.Models.Complexity and `medseg bench`.
# ---------------------------------------------------------------------------------------------------------------

def count_macs(model, in_channels, size):
    """thop/ptflops convention, as Complexity.Measure: conv and transposed conv = output elements x (in / groups) x
    kernel area; linear = output elements x in features. Batch 1, eval, no grad."""
    total = [0]

    def conv_hook(m, _inp, out):
        total[0] += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def linear_hook(m, _inp, out):
        total[0] += out.numel() * m.in_features

    handles = []
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            handles.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            handles.append(m.register_forward_hook(linear_hook))
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, in_channels, size, size))
    model.train(was_training)
    for h in handles:
        h.remove()
    return total[0]


_libc = None


def _trim():
    global _libc
    try:
        if _libc is None:
            _libc = ctypes.CDLL("libc.so.6")
        _libc.malloc_trim(0)
    except OSError:
        pass


def _status_kb(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def reset_peak():
    """Trims malloc, resets VmHWM to the current RSS; returns the RSS in kB the phase starts from."""
    _trim()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    return _status_kb("VmRSS")


def peak_delta_mb(start_kb):
    return (_status_kb("VmHWM") - start_kb) / 1024.0


def emit(obj):
    print(json.dumps(obj), flush=True)


def blas_library():
    """The BLAS/LAPACK libraries this process loaded (Debian's alternatives pick OpenBLAS when libopenblas0-pthread is
    installed, the reference BLAS otherwise)."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
        return sorted(os.path.realpath(p) for p in libs)
    except OSError:
        return []


CEILING = (8, 256, 64)  # batch, channels in = out, height = width: 19.3 GMACs


class Workload:
    """A model, or the ceiling convolution, with its input and optimizer, run one step at a time.
    Each step returns (wall ms, process CPU ms)."""

    def __init__(self, name, batch, size, channels_last, mkldnn):
        self.name, self.channels_last, self.mkldnn = name, channels_last, mkldnn
        torch.backends.mkldnn.enabled = mkldnn
        torch.manual_seed(1)
        if name == "ceiling":
            n, c, hw = CEILING
            self.model = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.macs = n * c * hw * hw * c * 9  # the whole batch
            self.x, self.y = torch.randn(n, c, hw, hw), None
        else:
            self.model = MODELS[name](in_channels=3, classes=1)
            self.macs = count_macs(self.model, 3, size)  # per image
            self.x = torch.randn(batch, 3, size, size)
            self.y = (torch.rand(batch, 1, size, size) > 0.5).float()
        self.params = sum(p.numel() for p in self.model.parameters())
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
            self.x = self.x.contiguous(memory_format=torch.channels_last)
            if self.y is not None:
                self.y = self.y.contiguous(memory_format=torch.channels_last)
        self.opt = None
        self.losses = []

    def _timed(self, fn):
        torch.backends.mkldnn.enabled = self.mkldnn
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        return (time.perf_counter() - t0) * 1000.0, (time.process_time() - c0) * 1000.0

    def forward(self, mode="inference_mode"):
        """eval + inference_mode (or no_grad) forward."""
        self.model.eval()
        guard = torch.inference_mode if mode == "inference_mode" else torch.no_grad

        def fn():
            with guard():
                self.model(self.x)

        return self._timed(fn)

    def train(self):
        """zero_grad + forward + BCE-with-logits + backward + AdamW step. zero_grad zeroes the gradients in place
        (set_to_none=False), as TorchSharp's Optimizer.zero_grad does."""
        self.model.train()
        if self.opt is None:
            self.opt = torch.optim.AdamW(self.model.parameters(), lr=1e-3)

        def fn():
            self.opt.zero_grad(set_to_none=False)
            loss = F.binary_cross_entropy_with_logits(self.model(self.x), self.y)
            loss.backward()
            self.opt.step()
            self.losses.append(loss.item())

        return self._timed(fn)

    def prime(self):
        """Zero gradients and one AdamW step on them: gradients and optimizer state then exist, as in the steady
        state of training (the weights only see AdamW's tiny weight decay)."""
        if self.opt is None:
            self.opt = torch.optim.AdamW(self.model.parameters(), lr=1e-3)
        for p in self.model.parameters():
            p.grad = torch.zeros_like(p)
        self.opt.step()
        self.opt.zero_grad(set_to_none=False)

    def finite(self):
        return all(math.isfinite(v) for v in self.losses) and all(
            torch.isfinite(p).all().item() for p in self.model.parameters())


def run_phase(step, warmup, iters, threads):
    """Median ms over iters after warmup steps, every time, and the share of `threads` cores kept busy."""
    for _ in range(warmup):
        step()
    times, cpu = [], 0.0
    for _ in range(iters):
        ms, cpu_ms = step()
        times.append(ms)
        cpu += cpu_ms
    return statistics.median(times), times, 100.0 * cpu / (sum(times) * max(1, threads))


def standalone(args):
    threads = torch.get_num_threads()
    if parse_flags(args.ceiling)[0]:
        runs = [(mk, cl, args.threads) for mk in (True, False) for cl in (False, True)]
        runs += [(True, True, int(t)) for t in args.ceiling_threads.split(",") if t.strip()]
        for mkldnn, cl, t in runs:
            torch.set_num_threads(t)
            w = Workload("ceiling", args.batch, args.size, cl, mkldnn)
            ms, _, _ = run_phase(w.forward, max(1, args.warmup), max(3, args.iters), t)
            emit({"kind": "ceiling", "shape": "{}x{}x{}x{} -> {}, 3x3".format(CEILING[0], CEILING[1], CEILING[2],
                                                                            CEILING[2], CEILING[1]),
                  "macs": w.macs, "ms": ms, "gflops": 2.0 * w.macs / (ms / 1000.0) / 1e9, "channels_last": cl,
                  "mkldnn": mkldnn, "threads": t})
            torch.set_num_threads(args.threads)

    for name in [m.strip().lower() for m in args.models.split(",") if m.strip()]:
        if name not in MODELS:
            emit({"kind": "skip", "model": name, "reason": "no PyTorch twin"})
            continue
        settings = [(mk, cl) for mk in parse_flags(args.mkldnn) for cl in parse_flags(args.channels_last)]
        done = set()
        while settings:
            mkldnn, cl = settings.pop(0)
            if (mkldnn, cl) in done:
                continue
            done.add((mkldnn, cl))
            try:
                start = reset_peak()
                w = Workload(name, args.batch, args.size, cl, mkldnn)
                result = {"kind": "model", "model": name, "params": w.params, "macs": w.macs, "batch": args.batch,
                          "size": args.size, "fwd_mode": "inference_mode", "channels_last": cl, "mkldnn": mkldnn,
                          "threads": threads}
                phases = [("fwd", lambda: w.forward("inference_mode"))]
                if args.ab_inference:
                    phases.append(("fwd_nograd", lambda: w.forward("no_grad")))
                phases.append(("train", w.train))
                for key, step in phases:
                    if key == "train":
                        w.prime()
                    ms, all_ms, cpu = run_phase(step, args.warmup, args.iters, threads)
                    # Peak RSS growth since before the model was built (weights, gradients, optimizer state,
                    # activations): the forward's, then the whole run's, which the train step sets.
                    result.update({key + "_ms": ms, key + "_ms_all": all_ms, key + "_peak_mb": peak_delta_mb(start),
                                   key + "_cpu_pct": cpu})
                finite = w.finite()
                result.update({"finite": finite, "losses": w.losses})
                emit(result)
                del w
            except Exception as e:  # report and go on with the next setting
                emit({"kind": "skip", "model": name, "channels_last": cl, "mkldnn": mkldnn,
                      "reason": f"{type(e).__name__}: {e}"})
                continue
            if not finite and mkldnn and parse_flags(args.nan_fallback)[0]:
                settings.append((False, cl))
    torch.backends.mkldnn.enabled = True


def serve(args):
    """Line protocol for `medseg bench`, which interleaves our steps with these so that both sides see the same load
    on a shared machine. One JSON command per stdin line, one JSON reply per stdout line; "id" names a workload
    (several can be loaded at once and are run in turn):
      {"op": "load", "id": k, "model": "unet"|"unext"|"ceiling", "channels_last": b, "mkldnn": b, "threads": n}
          -> {"params", "macs"}
      {"op": "fwd", "id": k, "mode": "inference_mode"|"no_grad"}, {"op": "train", "id": k} -> {"ms", "cpu_ms"}
      {"op": "prime", "id": k}: zero gradients and one AdamW step on them, so the optimizer state exists before
          the first measured train step (the memory figure then covers the steady state) -> {"ok"}
      {"op": "reset_peak"} -> {"rss_kb"};  {"op": "peak", "start_kb": k} -> {"peak_mb"}
      {"op": "finite", "id": k} -> {"finite", "losses"};  {"op": "unload", "id": k};  {"op": "quit"}
    Errors come back as {"error": "..."}."""
    loaded = {}
    threads = {}
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            cmd = json.loads(line)
            op = cmd.get("op")
            key = cmd.get("id", 0)
            if op in ("fwd", "train", "prime", "finite"):
                w = loaded[key]
                torch.set_num_threads(threads[key])
            if op == "quit":
                emit({"ok": True})
                break
            if op == "load":
                loaded.pop(key, None)
                threads[key] = int(cmd.get("threads", args.threads))
                torch.set_num_threads(threads[key])
                w = Workload(cmd["model"], args.batch, args.size, bool(cmd.get("channels_last")),
                             bool(cmd.get("mkldnn", True)))
                loaded[key] = w
                emit({"params": w.params, "macs": w.macs, "threads": torch.get_num_threads()})
            elif op == "unload":
                loaded.pop(key, None)
                _trim()
                emit({"ok": True})
            elif op == "fwd":
                ms, cpu_ms = w.forward(cmd.get("mode", "inference_mode"))
                emit({"ms": ms, "cpu_ms": cpu_ms})
            elif op == "train":
                ms, cpu_ms = w.train()
                emit({"ms": ms, "cpu_ms": cpu_ms, "loss": w.losses[-1]})
            elif op == "prime":
                w.prime()
                emit({"ok": True})
            elif op == "reset_peak":
                emit({"rss_kb": reset_peak()})
            elif op == "peak":
                emit({"peak_mb": peak_delta_mb(int(cmd["start_kb"]))})
            elif op == "finite":
                emit({"finite": w.finite(), "losses": w.losses})
            else:
                emit({"error": f"unknown op {op!r}"})
        except Exception as e:  # the caller decides what to do
            emit({"error": f"{type(e).__name__}: {e}"})


def parse_flags(text):
    out = []
    for part in text.split(","):
        part = part.strip().lower()
        if part in ("on", "1", "true"):
            out.append(True)
        elif part in ("off", "0", "false"):
            out.append(False)
        elif part:
            raise SystemExit(f"expected on/off, got {part!r}")
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--iters", type=int, default=3)
    p.add_argument("--models", default="unext,unet", help="comma-separated: " + ", ".join(MODELS))
    p.add_argument("--mkldnn", default="on", help="oneDNN settings to run models with: on, off or on,off")
    p.add_argument("--channels-last", default="off,on", help="memory formats to run models with: off, on or off,on")
    p.add_argument("--ab-inference", action="store_true", help="also time the forward under no_grad")
    p.add_argument("--nan-fallback", default="on",
                   help="on: when a train step with oneDNN gives non-finite values, rerun that model with oneDNN off")
    p.add_argument("--ceiling", default="on", help="measure the conv ceiling: on/off")
    p.add_argument("--ceiling-threads", default="", help="extra thread counts to measure the ceiling at, e.g. 1")
    p.add_argument("--serve", action="store_true", help="read commands from stdin (used by medseg bench)")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    emit({"kind": "env", "torch": torch.__version__, "python": sys.version.split()[0],
          "threads": torch.get_num_threads(), "interop_threads": torch.get_num_interop_threads(),
          "mkldnn_available": torch.backends.mkldnn.is_available(), "blas": blas_library()})
    if args.serve:
        serve(args)
    else:
        standalone(args)


if __name__ == "__main__":
    main()
