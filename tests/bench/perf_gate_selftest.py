#!/usr/bin/env python3
"""perf_gate_selftest: ci/perf-gate's arithmetic and exit codes on synthetic Google Benchmark
results (no timing involved): a ratio at its floor passes, one below fails with exit 1, an
errored or missing benchmark is exit 2, `compare` finds a 20 % slowdown over 8 repetitions and
ignores noise, and the checked-in bench/floors.json parses and names only benchmarks that
ibdcrypt-bench registers (when the binary is given).

  perf_gate_selftest.py PERF_GATE [IBDCRYPT_BENCH]
"""
import json
import os
import random
import re
import subprocess
import sys
import tempfile

GATE = sys.argv[1]
BENCH = sys.argv[2] if len(sys.argv) > 2 else None
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("perf_gate_selftest: FAIL: " + what, file=sys.stderr)


def gate(*args):
    r = subprocess.run([sys.executable, GATE] + list(args), capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def result(values, errors=()):
    """Google Benchmark JSON: name -> list of per-repetition bytes_per_second."""
    out = []
    for name, reps in values.items():
        for v in reps:
            b = {"name": name, "run_name": name, "run_type": "iteration", "bytes_per_second": v}
            if name in errors:
                b["error_occurred"] = True
                b["error_message"] = "set-up check failed"
            out.append(b)
    return {"context": {"ibdcrypt_tier_selected": "aesni", "cpu_family_model": "family 26 model 2"},
            "benchmarks": out}


with tempfile.TemporaryDirectory() as d:
    floors = os.path.join(d, "floors.json")
    with open(floors, "w") as f:
        json.dump({"ratios": [
            {"name": "ctr", "numerator": "kernel/aes128_ctr/ibdcrypt.{tier}/16384",
             "denominator": "kernel/aes128_ctr/openssl/16384", "floor": 1.5, "target": 2.0,
             "why": "test"},
            {"name": "limit", "numerator": "page/rekey_cbc/ibdcrypt.{tier}/16384",
             "denominator": "probe/aes_round_limit/{probe}/16384", "floor": None,
             "why": "informational"}]}, f)

    def write(name, doc):
        path = os.path.join(d, name)
        with open(path, "w") as f:
            json.dump(doc, f)
        return path

    ours, peer = "kernel/aes128_ctr/ibdcrypt.aesni/16384", "kernel/aes128_ctr/openssl/16384"
    # medians 3.0 and 2.0 (outliers do not move them): ratio 1.5, exactly the floor
    at = write("at.json", result({ours: [3.0, 3.0, 9.0, 3.0, 0.1], peer: [2.0, 2.0, 2.0, 50, 2.0]}))
    rc, out = gate("ratios", at, "--floors", floors)
    check(rc == 0 and re.search(r"^ctr\s+1\.500\s+1\.50\s+2\.00\s+\S+\s+ok \(below target\)", out,
                                re.M), "ratio at the floor: rc %d\n%s" % (rc, out))
    check("limit" not in out, "informational ratio shown without --all")
    rc, out = gate("ratios", at, "--floors", floors, "--all")
    check(rc == 0 and re.search(r"^limit .*NOT MEASURED", out, re.M),
          "--all: missing informational benchmarks reported, not fatal: rc %d\n%s" % (rc, out))

    below = write("below.json", result({ours: [2.9] * 5, peer: [2.0] * 5}))
    rc, out = gate("ratios", below, "--floors", floors)
    check(rc == 1 and "FAIL (below floor)" in out, "ratio 1.45 < 1.5 must fail: rc %d\n%s"
          % (rc, out))

    # a floor for the selected tier (aesni here) replaces the common one; another tier's does not
    tiered = os.path.join(d, "tiered.json")
    with open(tiered, "w") as f:
        json.dump({"ratios": [
            {"name": "ctr", "numerator": "kernel/aes128_ctr/ibdcrypt.{tier}/16384",
             "denominator": "kernel/aes128_ctr/openssl/16384", "floor": 1.5, "target": 2.0,
             "tier_floors": {"aesni": 1.6, "vaes512": 1.0}, "why": "test"}]}, f)
    rc, out = gate("ratios", at, "--floors", tiered)
    check(rc == 1 and re.search(r"^ctr\s+1\.500\s+1\.60\s.*FAIL", out, re.M),
          "ratio 1.5 < the aesni floor 1.6 must fail: rc %d\n%s" % (rc, out))
    with open(tiered, "w") as f:
        json.dump({"ratios": [
            {"name": "ctr", "numerator": "kernel/aes128_ctr/ibdcrypt.{tier}/16384",
             "denominator": "kernel/aes128_ctr/openssl/16384", "floor": 1.5, "target": 2.0,
             "tier_floors": {"vaes512": 1.9}, "why": "test"}]}, f)
    rc, out = gate("ratios", at, "--floors", tiered)
    check(rc == 0, "another tier's floor must not apply: rc %d\n%s" % (rc, out))
    # a floor for the tier on this CPU family wins over the tier's; another family's does not
    for tf, want in (({"aesni": 1.0, "aesni@26": 1.6}, 1), ({"aesni@25": 1.6}, 0)):
        with open(tiered, "w") as f:
            json.dump({"ratios": [
                {"name": "ctr", "numerator": "kernel/aes128_ctr/ibdcrypt.{tier}/16384",
                 "denominator": "kernel/aes128_ctr/openssl/16384", "floor": 1.5, "target": 2.0,
                 "tier_floors": tf, "why": "test"}]}, f)
        rc, out = gate("ratios", at, "--floors", tiered)
        check(rc == want, "tier_floors %s: rc %d, want %d\n%s" % (tf, rc, want, out))

    err = write("err.json", result({ours: [3.0] * 5, peer: [2.0] * 5}, errors=(ours,)))
    rc, out = gate("ratios", err, "--floors", floors)
    check(rc == 2 and "set-up check failed" in out, "errored benchmark: rc %d\n%s" % (rc, out))
    missing = write("missing.json", result({peer: [2.0] * 5}))
    rc, out = gate("ratios", missing, "--floors", floors)
    check(rc == 2 and "missing" in out, "missing benchmark: rc %d\n%s" % (rc, out))

    rng = random.Random(7)
    base = {ours: [100 * (1 + rng.uniform(-0.02, 0.02)) for _ in range(8)],
            peer: [50 * (1 + rng.uniform(-0.02, 0.02)) for _ in range(8)]}
    slower = {ours: [80 * (1 + rng.uniform(-0.02, 0.02)) for _ in range(8)],
              peer: [50 * (1 + rng.uniform(-0.02, 0.02)) for _ in range(8)]}
    a, b = write("base.json", result(base)), write("slow.json", result(slower))
    rc, out = gate("compare", a, b)
    check(rc == 1 and ours in out and peer not in out.split("unchanged")[0],
          "compare must flag the 20%% slowdown of %s only: rc %d\n%s" % (ours, rc, out))
    rc, out = gate("compare", a, a)
    check(rc == 0, "compare of a result with itself: rc %d\n%s" % (rc, out))

    # the checked-in floors: valid, and every gated benchmark exists in this build
    real = os.path.join(ROOT, "bench", "floors.json")
    doc = json.load(open(real))
    gated = [r for r in doc["ratios"] if r.get("floor") is not None]
    check(len(gated) >= 10 and all(r.get("why") for r in doc["ratios"]),
          "bench/floors.json: gated ratios with reasons")
    if BENCH:
        names = set(subprocess.run([BENCH, "--benchmark_list_tests=true"], capture_output=True,
                                   text=True, check=True).stdout.split())
        tiers = {m.group(1) for n in names for m in [re.search(r"/ibdcrypt\.(\w+)/", n)] if m}
        probe = {"aesni": "aesenc.xmm", "vaes256": "vaesenc.ymm", "vaes512": "vaesenc.zmm"}
        for t in tiers - {"portable", "armce"}:
            for r in gated:
                for side in ("numerator", "denominator"):
                    n = r[side].replace("{tier}", t).replace("{probe}", probe[t])
                    check(n in names, "floors.json %s needs %s, not registered" % (r["name"], n))

if failures:
    sys.exit(1)
print("perf_gate_selftest: ok")
