#!/usr/bin/env bash
# Issue 15, GPU part: the default `mmg` on one GPU, alone and as many fits at once.
#
# 1. two single fits, one at a time (seconds per fit with the GPU to itself);
# 2. the whole bmi40 suite, 3 seeds (120 runs), as JOBS worker processes sharing the GPU
#    (`mmgap bench --jobs`), under NVIDIA's multi-process service (MPS) when it starts, so
#    that the small kernels of different fits run side by side instead of time-sliced.
#
# Usage (run from the repository root on the GPU machine; results go to $OUT):
#   OUT=/tmp/gpu JOBS=16 SUITE_LIMIT=400 MPS=1 bash benchmarks/gpu_bmi40.sh
# Then, here: python benchmarks/bmi40_summary.py $OUT/bmi40.jsonl
set -u
OUT=${OUT:-/tmp/gpu_bmi40}
WORK=${WORK:-/tmp/gpu_bmi40_work}
JOBS=${JOBS:-16}
SUITE_LIMIT=${SUITE_LIMIT:-400}
MPS=${MPS:-1}
SUITE=${SUITE:---suite bmi40}   # e.g. SUITE='--tasks 1v1-normal-0.75' for a dry run
STEPS=${STEPS:-}                # e.g. STEPS=200 for a dry run (default: the method's own)
SEEDS=${SEEDS:-0 1 2}
SINGLE=${SINGLE:-1v1-normal-0.75,multinormal-dense-50-50-0.5}
PY=${PY:-python3}
mkdir -p "$OUT" "$WORK"
export PYTHONPATH="$PWD/src" PYTHONUNBUFFERED=1
log="$OUT/env.txt"
{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  echo "cpus $(nproc)"
  $PY -c "import torch, numpy, scipy; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'numpy', numpy.__version__, 'scipy', scipy.__version__)"
} 2>&1 | tee "$log"

if [ "$MPS" = 1 ] && command -v nvidia-cuda-mps-control >/dev/null; then
  export CUDA_MPS_PIPE_DIRECTORY=/tmp/mps-pipe CUDA_MPS_LOG_DIRECTORY=/tmp/mps-log
  mkdir -p $CUDA_MPS_PIPE_DIRECTORY $CUDA_MPS_LOG_DIRECTORY
  if nvidia-cuda-mps-control -d && timeout 60 $PY -c "import torch; torch.zeros(1, device='cuda').sum().item()"; then
    echo "MPS on" | tee -a "$log"
  else
    echo quit | nvidia-cuda-mps-control 2>/dev/null
    unset CUDA_MPS_PIPE_DIRECTORY CUDA_MPS_LOG_DIRECTORY
    echo "MPS failed to start: off" | tee -a "$log"
  fi
else
  echo "MPS off" | tee -a "$log"
fi

# 0. the CUDA tests (skipped where no GPU is seen)
$PY -m pytest -q -x -p no:cacheprovider tests/test_cuda.py >"$OUT/pytest_cuda.log" 2>&1
rc=$?
tail -3 "$OUT/pytest_cuda.log" | tee -a "$log"
[ $rc = 0 ] || { echo "CUDA tests failed: stop" | tee -a "$log"; tail -c 4000 "$OUT/pytest_cuda.log"; exit 1; }

# 1. single fits, one at a time (the first also pays CUDA's start-up)
t0=$SECONDS
$PY -m mmgap bench --tasks "$SINGLE" --seeds 0 ${STEPS:+--steps $STEPS} \
  --n-samples 10000 --jobs 1 --out "$WORK/single" >"$OUT/single.log" 2>&1
echo "single fits wall $((SECONDS - t0)) s" | tee -a "$log"
cp "$WORK/single/results.jsonl" "$OUT/single.jsonl"
$PY - "$OUT/single.jsonl" >"$WORK/single.txt" <<'EOF'
import json, sys
ok = True
for line in open(sys.argv[1]):
    r = json.loads(line)
    ok &= r["success"]
    print(r["task"], r.get("device"), "est", r["estimate"], "truth", round(r["truth"], 4),
          "s", round(r["seconds"], 2), "train s", r.get("train_seconds"), "steps", r.get("steps"),
          r.get("error") or "", r.get("traceback") or "")
sys.exit(0 if ok else 1)
EOF
rc=$?
tee -a "$log" <"$WORK/single.txt"
[ $rc = 0 ] || { echo "single fits failed: suite not run" | tee -a "$log"; exit 1; }

# 2. the suite, JOBS fits at once
t0=$SECONDS
timeout "$SUITE_LIMIT" $PY -m mmgap bench $SUITE --methods mmg --seeds $SEEDS ${STEPS:+--steps $STEPS} \
  --n-samples 10000 --jobs "$JOBS" --out "$WORK/bmi40" >"$OUT/bmi40.log" 2>&1
rc=$?
wall=$((SECONDS - t0))
$PY -m mmgap export "$WORK/bmi40" "$OUT/bmi40.jsonl" >/dev/null 2>&1
echo "$SUITE seeds $SEEDS, jobs $JOBS: rc $rc, wall $wall s, runs $(wc -l <"$OUT/bmi40.jsonl")" | tee -a "$log"
[ -n "${CUDA_MPS_PIPE_DIRECTORY:-}" ] && echo quit | nvidia-cuda-mps-control
tail -c 2000 "$OUT/bmi40.log"
