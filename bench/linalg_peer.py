"""The numpy peer of bench/linalgBench.mjs: a long-lived process that times numpy on request, so that
the Node side can alternate its own runs with numpy's on the same data (one JSON request per line on
stdin, one JSON answer per line on stdout).

Requests:
  {"op": "eigh", "path": P, "sizes": [n1, n2, ...]}   the float64 matrices stored back to back in P
      (row-major); times numpy.linalg.eigh on each, in order, and answers {"seconds": total,
      "each": [...], "residual": max relative residual}
  {"op": "rsvd", "path": P, "rows": m, "cols": n, "rank": k, "oversamples": p, "power": q,
   "seed": s}   a float32 matrix; times randomized_svd below and answers {"seconds": t, "sigma": [...]}
  {"op": "info"}   numpy's version and BLAS
  {"op": "quit"}
"""
import json
import sys
import time

import numpy as np


def randomized_svd(m, rank, oversamples, power, seed):
    """sklearn.utils.extmath.randomized_svd with power_iteration_normalizer='QR' and transpose='auto'
    (sklearn's code, without the sign flip): Halko, Martinsson and Tropp, Algorithms 4.4 and 5.1."""
    transpose = m.shape[0] < m.shape[1]
    if transpose:
        m = m.T
    size = rank + oversamples
    rng = np.random.default_rng(seed)
    q = rng.normal(size=(m.shape[1], size)).astype(m.dtype, copy=False)
    for _ in range(power):
        q, _ = np.linalg.qr(m @ q, mode="reduced")
        q, _ = np.linalg.qr(m.T @ q, mode="reduced")
    q, _ = np.linalg.qr(m @ q, mode="reduced")
    b = q.T @ m
    uhat, s, vt = np.linalg.svd(b, full_matrices=False)
    u = q @ uhat
    if transpose:
        return vt[:rank].T, s[:rank], u[:, :rank].T
    return u[:, :rank], s[:rank], vt[:rank]


def eigh_request(req):
    data = np.fromfile(req["path"], dtype=np.float64)
    mats = []
    offset = 0
    for n in req["sizes"]:
        mats.append(data[offset:offset + n * n].reshape(n, n))
        offset += n * n
    each = []
    residual = 0.0
    for a in mats:
        start = time.perf_counter()
        w, v = np.linalg.eigh(a)
        each.append(time.perf_counter() - start)
        if req.get("check"):
            r = np.linalg.norm(a @ v - v * w) / max(np.linalg.norm(a), 1e-300)
            residual = max(residual, float(r))
    return {"seconds": sum(each), "each": each, "residual": residual}


def rsvd_request(req):
    m = np.fromfile(req["path"], dtype=np.float32).reshape(req["rows"], req["cols"])
    start = time.perf_counter()
    _, s, _ = randomized_svd(m, req["rank"], req["oversamples"], req["power"], req["seed"])
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "sigma": [float(x) for x in s]}


def info_request(_req):
    config = np.show_config(mode="dicts") if hasattr(np, "show_config") else {}
    blas = config.get("Build Dependencies", {}).get("blas", {}) if isinstance(config, dict) else {}
    return {"numpy": np.__version__, "blas": f"{blas.get('name', '?')} {blas.get('version', '')}".strip()}


def main():
    handlers = {"eigh": eigh_request, "rsvd": rsvd_request, "info": info_request}
    for line in sys.stdin:
        req = json.loads(line)
        if req["op"] == "quit":
            break
        try:
            answer = handlers[req["op"]](req)
        except Exception as error:  # reported to the Node side, which fails the bench
            answer = {"error": repr(error)}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
