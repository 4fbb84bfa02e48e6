#!/usr/bin/env bash
# The bench on a real GPU, self-contained: synthetic weights made on the spot, nothing downloaded.
#
#   bash bench/gpu-check.sh prepare    # here (any x86-64 Linux with this checkout built): packs what the
#                                      # GPU machine needs into .gpu-check/ (git-ignored, ~35 MB): this
#                                      # Node binary, the compiled bench and library, the runtime npm
#                                      # packages with Dawn's linux-x64 build only, and Debian's Vulkan
#                                      # loader (libvulkan1) in case the machine has none.
#   bash bench/gpu-check.sh run        # there: unpacks into a temp folder, points Dawn at the NVIDIA
#                                      # Vulkan driver, runs the res50 bench once per precision the
#                                      # build has (f32, f16 weights, f16 compute, …; the kernel table
#                                      # with f32 only) and prints one JSON (also $OUT/gpu-check.json
#                                      # when $OUT is set). Under 5 minutes on an H100/H200.
#
# With the device tool: run `prepare` here, then `run` there with carry [".gpu-check"]:
#   bash bench/gpu-check.sh run
# GPU_CHECK_QUICK=1 runs res34, one encoder run, no kernel table (to check the script on lavapipe).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-run}
PACK=.gpu-check

prepare() {
  npm run -s build
  node scripts/gen-shaders.mjs
  npx tsc -p bench/tsconfig.json
  rm -rf "$PACK" && mkdir -p "$PACK/pkg/bench" "$PACK/pkg/node_modules" "$PACK/debs"
  cp -r bench/dist bench/*.mjs "$PACK/pkg/bench/"
  printf '{ "type": "module" }\n' > "$PACK/pkg/package.json"
  # The runtime dependencies (the bench imports the library's sources compiled into bench/dist).
  node -e '
    const fs = require("fs"), path = require("path");
    const deps = Object.keys(require("./package.json").dependencies ?? {}).concat(["webgpu"]);
    const seen = new Set();
    const copy = (name) => {
      if (seen.has(name)) return; seen.add(name);
      const src = path.join("node_modules", name);
      fs.cpSync(src, path.join(process.argv[1], name), { recursive: true, filter: (f) => !/[\\/]dist[\\/](win32|darwin|linux-arm64)/.test(f) });
      for (const d of Object.keys(require(path.resolve(src, "package.json")).dependencies ?? {})) copy(d);
    };
    deps.forEach(copy);
  ' "$PACK/pkg/node_modules"
  tar -C "$PACK" -cJf "$PACK/pkg.tar.xz" pkg && rm -rf "$PACK/pkg"
  xz -T0 -6 -c "$(command -v node)" > "$PACK/node.xz"
  (cd "$PACK/debs" && apt-get download -oAPT::Architecture=amd64 libvulkan1 >/dev/null 2>&1) || echo "gpu-check: no libvulkan1 .deb (apt-get download failed); the GPU machine must have a Vulkan loader" >&2
  du -sh "$PACK"
  echo "gpu-check: prepared $PACK; on the GPU machine: bash bench/gpu-check.sh run (carry $PACK)"
}

run() {
  [ -f "$PACK/pkg.tar.xz" ] || { echo "gpu-check: $PACK/pkg.tar.xz is missing: run 'bash bench/gpu-check.sh prepare' first" >&2; exit 2; }
  local t0=$SECONDS work
  work=$(mktemp -d /tmp/gpu-check.XXXXXX)
  tar -C "$work" -xJf "$PACK/pkg.tar.xz"
  local node=node
  if ! command -v node >/dev/null 2>&1 || [ "${GPU_CHECK_NODE:-}" = packed ]; then
    xz -dc "$PACK/node.xz" > "$work/node" && chmod +x "$work/node" && node="$work/node"
  fi
  # The Vulkan loader, where the machine has none (Dawn opens libvulkan.so.1).
  if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
    for d in "$PACK"/debs/*.deb; do [ -f "$d" ] && dpkg -x "$d" "$work/root"; done
    export LD_LIBRARY_PATH="$work/root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
  # NVIDIA's ICD where it is mounted (the device machines); else whatever the loader finds.
  for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
    if [ -z "${VK_ICD_FILENAMES:-}" ] && [ -f "$icd" ]; then export VK_ICD_FILENAMES=$icd VK_DRIVER_FILES=$icd; fi
  done
  local model=res50 runs=20 drs=50 kern=1
  if [ -n "${GPU_CHECK_QUICK:-}" ]; then model=res34 runs=1 drs=2 kern=0; fi
  local precisions
  precisions=$(cd "$work/pkg" && "$node" -e 'import("./bench/dist/src/weights/load.js").then((m) => console.log(m.PRECISIONS.join(" ")))')
  local reports=()
  for p in $precisions; do
    local extra=() out="$work/$p.json"
    [ "$p" = f32 ] && [ "$kern" = 1 ] || extra+=(--no-kernels)
    echo "gpu-check: $model, precision $p ($((SECONDS - t0)) s so far)" >&2
    if (cd "$work/pkg" && "$node" bench/run.mjs --runtime node --model "$model" --runs "$runs" --decode-runs "$drs" --precision "$p" "${extra[@]}" --json "$out" >&2); then
      reports+=("$p=$out")
    else
      echo "gpu-check: precision $p failed" >&2
    fi
  done
  local json
  json=$("$node" -e '
    const fs = require("fs");
    const runs = {};
    for (const a of process.argv.slice(1)) { const i = a.indexOf("="); runs[a.slice(0, i)] = JSON.parse(fs.readFileSync(a.slice(i + 1), "utf8")); }
    let gpu = null;
    try { gpu = require("child_process").execFileSync("nvidia-smi", ["--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"], { encoding: "utf8" }).trim(); } catch {}
    console.log(JSON.stringify({ script: "bench/gpu-check.sh", date: new Date().toISOString(), node: process.version, gpu, vk_icd: process.env.VK_ICD_FILENAMES ?? null, runs }, null, 2));
  ' "${reports[@]}")
  echo "$json"
  if [ -n "${OUT:-}" ]; then echo "$json" > "$OUT/gpu-check.json"; fi
  echo "gpu-check: done in $((SECONDS - t0)) s" >&2
  rm -rf "$work"
}

case "$mode" in
  prepare) prepare ;;
  run) run ;;
  *) echo "usage: bash bench/gpu-check.sh prepare|run" >&2; exit 2 ;;
esac
