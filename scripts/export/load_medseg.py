#!/usr/bin/env python3
"""Load a MedSeg export (the folder, or the export.zip the web app's "Download weights" gives) in PyTorch and predict.

    /usr/bin/python3 scripts/export/load_medseg.py --export export.zip --image case.png [--mask mask.pgm] [--probabilities p.f32]

Rebuilds the network with the PyTorch twins in scripts/bench/torch_models.py (UNeXt, U-Net), loads model.pt with
strict=True (MedSeg's state-dict names mapped onto the twins' where they differ), prepares the image exactly as model.json
says (channel conversion, bilinear antialiased resize, the run's normalization, letterbox padding), and turns the output
back into MedSeg's prediction: probabilities resized bilinearly to the original size, then threshold (binary) or argmax.

Prints one JSON line: architecture, image size, probability range, foreground pixels. --probabilities writes the
probabilities at the original size as raw little-endian float32, channel-major (C, H, W); --mask writes the mask as a PGM
(0/255 binary, label indices otherwise). Needs only torch (Debian's python3-torch): PNG is decoded here with zlib when
Pillow is absent. See docs/weights.md.
"""

import argparse
import io
import json
import os
import struct
import sys
import zipfile
import zlib

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
from torch_models import UNet, UNeXt  # noqa: E402  (the twins of MedSeg.Engine/Models)


# --------------------------------------------------------------------------------------------------------------------
# The export: model.json + model.pt, from a folder or a zip.
# --------------------------------------------------------------------------------------------------------------------

def read_export(path):
    """(meta, state_dict) of an export folder or zip."""
    if os.path.isdir(path):
        with open(os.path.join(path, "model.json"), encoding="utf-8") as f:
            meta = json.load(f)
        state = torch.load(os.path.join(path, "model.pt"), map_location="cpu")
    else:
        with zipfile.ZipFile(path) as z:
            meta = json.loads(z.read("model.json").decode("utf-8"))
            state = torch.load(io.BytesIO(z.read("model.pt")), map_location="cpu")
    if meta.get("Format") != "medseg-export/1":
        raise SystemExit(f"{path}: not a medseg-export/1 model.json (Format = {meta.get('Format')!r}).")
    return meta, state


def build_model(arch):
    """The twin of model.json's Architecture, and how MedSeg's state-dict keys map onto its keys."""
    name, variant = arch["Name"], arch["Variant"]
    cin, classes = arch["InChannels"], arch["Classes"]
    if name == "unext":
        sizes = {"default": ((16, 32, 128), (160, 256)), "s": ((8, 16, 32), (64, 128))}
        if variant not in sizes:
            raise SystemExit(f"UNeXt variant {variant!r} has no twin here; known: {', '.join(sizes)}.")
        c, e = sizes[variant]

        # MedSeg keeps the reference's ModuleList of one block (block1.0.*) and DWConv's inner conv (mlp.dwconv.dwconv.*);
        # the twin holds the block and the conv directly.
        def rename(key):
            for block in ("block1", "block2", "dblock1", "dblock2"):
                if key.startswith(block + ".0."):
                    key = block + "." + key[len(block) + 3:]
            return key.replace(".mlp.dwconv.dwconv.", ".mlp.dwconv.")
        return UNeXt(in_channels=cin, classes=classes, c=c, e=e), rename
    if name == "unet":
        bases = {"transposed": 64, "default": 64, "small": 16}
        if variant not in bases:
            raise SystemExit(f"U-Net variant {variant!r} has no twin here (the bilinear variant differs); known: transposed, small.")
        return UNet(in_channels=cin, classes=classes, base=bases[variant]), (lambda key: key)
    raise SystemExit(f"No PyTorch twin for {name!r} in scripts/bench/torch_models.py: build the reference named in "
                     f"model.json ({arch['Reference']}) and load model.pt into it.")


def load(path):
    """(model in eval mode, meta)."""
    meta, state = read_export(path)
    model, rename = build_model(meta["Architecture"])
    model.load_state_dict({rename(k): v for k, v in state.items()}, strict=True)
    model.eval()
    return model, meta


# --------------------------------------------------------------------------------------------------------------------
# Images: (H, W, bands) float32 of the stored sample values, alpha dropped (MedSeg's ImageDecoder).
# --------------------------------------------------------------------------------------------------------------------

def _png(data):
    """8/16-bit grey, grey+alpha, RGB, RGBA and palette PNG (not interlaced) → (H, W, bands) float32 tensor."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, palette = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"PLTE":
            palette = chunk
        elif kind == b"IDAT":
            idat += chunk
        elif kind == b"IEND":
            break
    if interlace:
        raise ValueError("interlaced PNG: install Pillow (python3-pil)")
    samples = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
    bpp = max(1, samples * depth // 8)
    stride = (width * samples * depth + 7) // 8
    raw = zlib.decompress(idat)
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    buf = b"".join(rows)
    if depth == 16:
        x = torch.tensor(struct.unpack(f">{len(buf) // 2}H", buf), dtype=torch.float32)
    elif depth == 8:
        x = torch.frombuffer(bytearray(buf), dtype=torch.uint8).float()
    else:  # 1/2/4-bit grey or palette: unpack the bits
        bits = torch.frombuffer(bytearray(buf), dtype=torch.uint8).reshape(height, stride)
        per = 8 // depth
        shifts = torch.tensor([8 - depth * (k + 1) for k in range(per)], dtype=torch.uint8)
        x = ((bits[:, :, None] >> shifts) & ((1 << depth) - 1)).reshape(height, -1)[:, :width].float()
        if colour == 0:
            x = x * (255 // ((1 << depth) - 1))
    x = x.reshape(height, width, samples)
    if colour == 3:
        pal = torch.frombuffer(bytearray(palette), dtype=torch.uint8).reshape(-1, 3).float()
        x = pal[x[:, :, 0].long()]
    if samples in (2, 4):
        x = x[:, :, :samples - 1]  # alpha dropped
    return x.contiguous()


def read_image(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return _png(data)
    try:
        from PIL import Image
        import numpy as np
    except ImportError:
        raise SystemExit(f"{path}: only PNG is decoded without Pillow; install python3-pil or convert the image to PNG.")
    img = Image.open(path)
    if img.mode in ("RGBA", "LA", "P"):
        img = img.convert("RGB" if img.mode != "LA" else "L")
    a = np.asarray(img).astype("float32")
    return torch.from_numpy(a if a.ndim == 3 else a[:, :, None])


# --------------------------------------------------------------------------------------------------------------------
# Preprocessing (Preprocessing.Prepare) and the way back (ToOriginalSize / ToOriginalLabels).
# --------------------------------------------------------------------------------------------------------------------

def _per_channel(values, channels):
    v = [values[0]] * channels if len(values) == 1 else values[:channels]
    return torch.tensor(v, dtype=torch.float32).reshape(1, channels, 1, 1)


def normalize(x, n):
    mode, channels = (n or {}).get("Mode", "PerImageZScore"), x.shape[1]
    floor = lambda s: torch.where(s < 1e-6, torch.ones_like(s), s)  # noqa: E731
    if mode == "PerImageZScore":
        return (x - x.mean((2, 3), keepdim=True)) / floor(x.std((2, 3), unbiased=False, keepdim=True))
    if mode == "DatasetZScore":
        return (x - _per_channel(n["Mean"], channels)) / floor(_per_channel(n["Std"], channels))
    if mode == "CtWindow":
        low, high = _per_channel(n["Low"], channels), _per_channel(n["High"], channels)
        x = torch.maximum(torch.minimum(x, high), low)
        if n.get("Mean") is None:
            return (x - low) / (high - low)
        return (x - _per_channel(n["Mean"], channels)) / floor(_per_channel(n["Std"], channels))
    return x


def geometry(width, height, size, letterbox):
    """(scaled width, scaled height, offset x, offset y) as LetterboxGeometry (round half to even, as .NET's Math.Round)."""
    if not letterbox:
        return size, size, 0, 0
    scale = size / max(width, height)
    w = min(max(round(width * scale), 1), size)
    h = min(max(round(height * scale), 1), size)
    return w, h, (size - w) // 2, (size - h) // 2


def prepare(img, meta):
    """(H, W, bands) → (1, C, S, S) model input, and the geometry to undo."""
    size, channels = meta["Input"]["Height"], meta["Architecture"]["InChannels"]
    options = meta.get("PreprocessingOptions") or {}
    letterbox = options.get("Resize", "Stretch") in ("Letterbox", 1)
    h, w = img.shape[0], img.shape[1]
    x = img.permute(2, 0, 1)[None]
    if x.shape[1] != channels:
        if x.shape[1] == 1:
            x = x.expand(1, channels, h, w)
        elif x.shape[1] == 3 and channels == 1:
            x = x[:, 0:1] * 0.299 + x[:, 1:2] * 0.587 + x[:, 2:3] * 0.114
        else:
            raise SystemExit(f"the image has {x.shape[1]} channel(s) but the model takes {channels}.")
    x = x.contiguous()
    sw, sh, ox, oy = geometry(w, h, size, letterbox)
    if (h, w) != (sh, sw):
        x = F.interpolate(x, size=(sh, sw), mode="bilinear", align_corners=False, antialias=True)
    x = normalize(x, options.get("Normalization"))
    if (sw, sh) != (size, size):
        x = F.pad(x, (ox, size - sw - ox, oy, size - sh - oy))
    return x.contiguous(), (w, h, sw, sh, ox, oy)


def predict(model, meta, img):
    """Probabilities (C, H, W) at the original size and the mask (H, W) as MedSeg computes them."""
    x, (w, h, sw, sh, ox, oy) = prepare(img, meta)
    with torch.no_grad():
        logits = model(x)
    classes = meta["Architecture"]["Classes"]
    p = torch.sigmoid(logits) if classes == 1 else torch.softmax(logits, 1)
    p = p[:, :, oy:oy + sh, ox:ox + sw]
    if tuple(p.shape[2:]) != (h, w):
        p = F.interpolate(p, size=(h, w), mode="bilinear", align_corners=False)
    p = p[0]
    mask = (p[0] >= meta["Output"]["Threshold"]).to(torch.uint8) if classes == 1 else p.argmax(0).to(torch.uint8)
    return p, mask


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--export", required=True, help="export folder or export.zip")
    ap.add_argument("--image", required=True)
    ap.add_argument("--probabilities", help="write (C, H, W) float32 little-endian here")
    ap.add_argument("--mask", help="write the mask as PGM here")
    args = ap.parse_args()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    model, meta = load(args.export)
    p, mask = predict(model, meta, read_image(args.image))
    if args.probabilities:
        with open(args.probabilities, "wb") as f:
            f.write(struct.pack(f"<{p.numel()}f", *p.flatten().tolist()))
    if args.mask:
        out = mask * 255 if meta["Architecture"]["Classes"] == 1 else mask
        with open(args.mask, "wb") as f:
            f.write(f"P5 {mask.shape[1]} {mask.shape[0]} 255\n".encode() + bytes(out.flatten().tolist()))
    print(json.dumps({
        "architecture": meta["Architecture"]["Name"], "variant": meta["Architecture"]["Variant"],
        "width": int(mask.shape[1]), "height": int(mask.shape[0]), "channels": int(p.shape[0]),
        "min": float(p.min()), "max": float(p.max()), "foreground": int((mask > 0).sum()),
    }))


if __name__ == "__main__":
    main()
