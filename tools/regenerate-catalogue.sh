#!/bin/sh
# Regenerate rubric/catalogue.tsv (the embedded activity catalogue) from the official DSOMM
# model.yaml, with the project's own loader. Not needed at build time; run it when the model
# version changes, then review `git diff rubric/catalogue.tsv` and `dsomm-audit model`.
#
# Usage: tools/regenerate-catalogue.sh [path/to/model.yaml]
#   default model: ../shared/fixtures/dsomm/default/model.yaml (relative to the workspace root)
set -eu
cd "$(dirname "$0")/.."
if [ "$#" -ge 1 ]; then
    DSOMM_AUDIT_MODEL=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
    export DSOMM_AUDIT_MODEL
fi
DSOMM_AUDIT_REGENERATE_CATALOGUE=1 exec cargo test -p dsomm-audit-model --test corpus_dsomm \
    -- --exact regenerate_catalogue_when_asked --nocapture
