#!/usr/bin/env bash
# Times the whole `softtoken code` process against `oathtool --totp` over many
# runs and prints the medians side by side (both compute the same code).
# Usage: bench/cli.sh [RUNS]   (default 300)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-300}"
cargo build --release --locked -p softtoken-desktop >/dev/null 2>&1
command -v oathtool >/dev/null || { echo "oathtool is not installed (apt-get install oathtool)"; exit 1; }
secret=JBSWY3DPEHPK3PXP
ours=$(target/release/softtoken code --secret "$secret" --time 1700000000)
theirs=$(oathtool --totp -b "$secret" --now=@1700000000)
[ "$ours" = "$theirs" ] || { echo "codes differ: $ours vs $theirs"; exit 1; }
python3 - "$runs" "$secret" <<'PY'
import statistics, subprocess, sys, time
runs, secret = int(sys.argv[1]), sys.argv[2]
commands = {
    "softtoken code": ["target/release/softtoken", "code", "--secret", secret, "--time", "1700000000"],
    "oathtool --totp": ["oathtool", "--totp", "-b", secret, "--now=@1700000000"],
}
times = {name: [] for name in commands}
for _ in range(runs):
    for name, cmd in commands.items():  # alternate, so load hits both alike
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
        times[name].append((time.perf_counter() - t0) * 1000)
for name, t in times.items():
    print(f"cli: {name:<16} median {statistics.median(t):6.2f} ms  (p10 {statistics.quantiles(t, n=10)[0]:.2f}, p90 {statistics.quantiles(t, n=10)[-1]:.2f}) over {runs} runs")
PY
