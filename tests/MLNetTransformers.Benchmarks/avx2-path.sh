#!/usr/bin/env bash
# The engine on its 256-bit path, as on CPUs without full-width AVX-512, beside OpenBLAS's AVX2 kernel and PyTorch.
# The runtime's AVX-512 is turned off (DOTNET_EnableAVX512=0), so every kernel takes its Vector256 form; PyTorch runs
# as installed and again limited to AVX2 (ATen, oneDNN and MKL dispatch). Prints one JSON object.
# Usage: tests/MLNetTransformers.Benchmarks/avx2-path.sh ../shared/peers   (from the repository's root)
set -euo pipefail
if [ $# -ne 1 ] || [ ! -f "$1/torch_ref.py" ] || [ ! -f "$1/sgemm.py" ]; then
  echo "usage: avx2-path.sh PEERS_DIR (a directory with torch_ref.py and sgemm.py, e.g. ../shared/peers)" >&2
  exit 2
fi
peers=$1
bench=(dotnet run -c Release --no-build --project tests/MLNetTransformers.Benchmarks --)
dotnet build -c Release tests/MLNetTransformers.Benchmarks >/dev/null
gemm=$(DOTNET_EnableAVX512=0 "${bench[@]}" gemm --peers "$peers" | tail -n 1)
encoder=$(DOTNET_EnableAVX512=0 "${bench[@]}" throughput-model encoder 8 | tail -n 1)
decoder=$(DOTNET_EnableAVX512=0 "${bench[@]}" throughput-model decoder 8 | tail -n 1)
torch=$(/usr/bin/python3 "$peers/torch_ref.py" --steps 8)
torch_avx2=$(ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 DNNL_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2 /usr/bin/python3 "$peers/torch_ref.py" --steps 8)
GEMM=$gemm ENCODER=$encoder DECODER=$decoder TORCH=$torch TORCH_AVX2=$torch_avx2 /usr/bin/python3 - <<'PY'
import json, os
g, enc, dec = (json.loads(os.environ[k]) for k in ("GEMM", "ENCODER", "DECODER"))
t, t2 = (json.loads(os.environ[k])["results"] for k in ("TORCH", "TORCH_AVX2"))
def ratios(ours, peer):
    return {k: round(ours[k] / peer[k], 2) for k in ("train_tokens_per_s", "infer_tokens_per_s")}
out = {
    "machine": g["machine"], "gemm_gflops": g["gemm_gflops"], "openblas": g["openblas"], "gemm_ratios": g["ratios"],
    "encoder": enc, "decoder": dec, "torch": t, "torch_avx2": t2,
    "ratios": {
        "encoder_vs_torch": ratios(enc, t[0]), "decoder_vs_torch": ratios(dec, t[1]),
        "encoder_vs_torch_avx2": ratios(enc, t2[0]), "decoder_vs_torch_avx2": ratios(dec, t2[1]),
    },
}
print(json.dumps(out))
PY
