#!/usr/bin/env bash
# README command 1: set everything up on a fresh machine and process the synthetic demo night
# (2020-01-27: one DRS4, one CALI and two DATA runs of two sub-runs) locally with the real tools.
#   bash scripts/demo.sh [extra snakemake arguments]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
date=2020-01-27
data=demo/data
models=demo/models

bash scripts/setup.sh

if [ ! -f "$data/monitoring/NightSummary/NightSummary_${date//-/}.txt" ]; then
    echo "[demo] generating the synthetic night $date into $data"
    # 400 events per DATA sub-run, a quarter interleaved pedestals and as many flat-field events (the
    # tail-cut finder and Cat-B need them), the second run brighter and with a gain drift: docs/dl1b.md
    # (benchmarks/demo_bench.py DEMO_NIGHT: keep equal)
    .venv-lst/bin/lstosa-make-night --date "$date" --output "$data" --no-progress --events-per-subrun 400 \
        --interleaved-fraction 0.25 --data-nsb-pe 0.3 2.5 --data-gain-drift 0 0.1
fi
echo "[demo] training (or reusing) the tiny random-forest models in $models"
.venv-lst/bin/lstosa-make-models --output-dir "$models" --config config/lstchain/lstchain_config.json

echo "[demo] processing the night (local executor, all cores)"
start=$(date +%s)
.venv/bin/snakemake --config date="$date" data_root="$data" models_dir="$models" "$@"
echo "[demo] night processed in $(( $(date +%s) - start )) s"

d=${date//-/}
cat <<MSG

Results of the night $date (below $root/$data):
  DL1a per sub-run                   : $data/DL1/$d/v0.12/
  DL1b per sub-run and merged per run: $data/DL1/$d/v0.12/tailcut*/   (each run's cleaning; LSTOSA's tree: docs/layout.md)
  DL2 merged per run                 : $data/DL2/$d/v0.12/tailcut*/nsb_tuning_*/
  DL2 per sub-run                    : $data/DL2/$d/v0.12/
  calibration (DRS4, charge, time)   : $data/monitoring/PixelCalibration/Cat-A/*/$d/pro/
  datacheck files and PDFs           : $data/DL1/$d/v0.12/tailcut*/datacheck/, links in $data/DL1/datacheck_files/$d/
  night-wise datacheck               : $data/DL1/datacheck_files/night_wise/v0.12/$d/
  night closed flag                  : $data/OSA/Closer/$d/v0.12/NightFinished.txt
  night report                       : $data/running_analysis/$d/v0.12/night_report.json
  logs and benchmarks                : $data/running_analysis/$d/v0.12/{log,benchmarks}/
Status: .venv/bin/lstosa-status --date $date --data-root $data
MSG
