"""Files written by NumPy and by the safetensors Python package, for tests/interop.rs to read:
one array of every cranax dtype, in .npz (np.savez and np.savez_compressed) and .safetensors,
with the same values as JSON (bits for floats, so the comparison is exact).

Run from the repository root: python3 tests/data/gen_interop_files.py
(numpy 2.x, safetensors 0.6+)."""
import json
import numpy as np
from safetensors.numpy import save_file

arrays = {
    "b": np.array([[True, False, True], [False, False, True]]),
    "i": np.array([-2147483648, -1, 0, 7, 2147483647], dtype=np.int32),
    "u": np.array([[0, 1], [4294967295, 12345]], dtype=np.uint32),
    "f": np.array([[0.1, -0.0, np.inf], [-np.inf, np.nan, 1e-40]], dtype=np.float32),
    "d": np.array([np.pi, -1e300, 5e-324], dtype=np.float64),
    "scalar": np.array(2.5, dtype=np.float32),
    "empty": np.zeros((0, 3), dtype=np.float64),
}

np.savez("tests/data/interop/numpy.npz", **arrays)
np.savez_compressed("tests/data/interop/numpy_compressed.npz", **arrays)
save_file(arrays, "tests/data/interop/python.safetensors")

def bits(a):
    if a.dtype == np.float32:
        return a.view(np.uint32).reshape(-1).tolist()
    if a.dtype == np.float64:
        return [str(v) for v in a.view(np.uint64).reshape(-1).tolist()]  # JSON-safe u64
    return a.reshape(-1).tolist()

ref = {k: {"shape": list(a.shape), "dtype": str(a.dtype), "bits": bits(a)} for k, a in arrays.items()}
with open("tests/data/interop/arrays.json", "w") as f:
    json.dump(ref, f, indent=1)
    f.write("\n")
