// MedSeg browser helpers (upload with progress).
