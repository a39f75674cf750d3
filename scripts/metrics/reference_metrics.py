#!/usr/bin/python3
"""Independent reference numbers for MedSeg's surface-distance metrics (MedSeg.Engine/Metrics).

Computes Dice, HD (max), HD95 and ASSD of a few fixed 2D masks with scipy.ndimage, following the conventions that
MedSeg implements and documents in docs/metrics.md:
  * surface = mask XOR binary_erosion(mask) with the 4-connected cross and border_value=0 (medpy / MONAI);
  * directed distances = distance_transform_edt(~other_surface, sampling=(sy, sx)) sampled on this surface;
  * medpy convention: HD95 = percentile(hstack(d_pt, d_tp), 95), ASSD = mean(mean(d_pt), mean(d_tp));
  * MONAI convention: HD95 = max(percentile(d_pt, 95), percentile(d_tp, 95)), ASSD = mean(concatenate(d_pt, d_tp)).
The C# test SurfaceDistanceMatchesScipyReference (MedSeg.Web.Tests/Engine/SurfaceDistanceTests.cs) holds the same masks
and the numbers this prints. Regenerate with Debian's scipy (apt-get install -y python3-scipy python3-numpy):

    /usr/bin/python3 scripts/metrics/reference_metrics.py
"""
import numpy as np
from scipy import ndimage

# (name, spacing (sy, sx) in mm, prediction rows, truth rows); '#' = foreground.
CASES = [
    ("blobs", (1.0, 1.0), [
        "..............",
        "...####.......",
        "..######......",
        "..#######.....",
        "...######.....",
        "....###.......",
        "..............",
        ".........##...",
        "........####..",
        "..............",
    ], [
        "..............",
        "..............",
        "....#####.....",
        "...########...",
        "...########...",
        "....######....",
        ".....####.....",
        "......##......",
        "..............",
        "..............",
    ]),
    ("blobs-anisotropic", (0.7, 1.3), None, None),  # same masks as "blobs"
    ("border-and-hole", (2.0, 0.5), [
        "#####.......",
        "#####.......",
        "##.##...###.",
        "#####...###.",
        "........###.",
        "............",
        "...........#",
    ], [
        "######......",
        "######......",
        "######......",
        "######....##",
        "..........##",
        "............",
        "............",
    ]),
]


def parse(rows):
    return np.array([[c == "#" for c in r] for r in rows], dtype=bool)


def surface(mask):
    cross = ndimage.generate_binary_structure(2, 1)
    return mask ^ ndimage.binary_erosion(mask, structure=cross, border_value=0)


def directed(from_mask, to_mask, spacing):
    edt = ndimage.distance_transform_edt(~surface(to_mask), sampling=spacing)
    return edt[surface(from_mask)]


def main():
    last = None
    for name, spacing, pred_rows, truth_rows in CASES:
        if pred_rows is None:
            pred_rows, truth_rows = last
        last = (pred_rows, truth_rows)
        p, t = parse(pred_rows), parse(truth_rows)
        d_pt, d_tp = directed(p, t, spacing), directed(t, p, spacing)
        both = np.hstack((d_pt, d_tp))
        dice = 2.0 * np.count_nonzero(p & t) / (np.count_nonzero(p) + np.count_nonzero(t))
        print(f"{name}: spacing={spacing}")
        print(f"  dice        = {dice!r}")
        print(f"  hd          = {both.max()!r}")
        print(f"  hd95_medpy  = {np.percentile(both, 95)!r}")
        print(f"  hd95_monai  = {max(np.percentile(d_pt, 95), np.percentile(d_tp, 95))!r}")
        print(f"  assd_medpy  = {np.mean((d_pt.mean(), d_tp.mean()))!r}")
        print(f"  assd_monai  = {both.mean()!r}")
        print(f"  surface pixels: prediction {d_pt.size}, truth {d_tp.size}")


if __name__ == "__main__":
    main()
