#!/usr/bin/env bash
# Build the Coq proofs (Coq 8.16 from Debian: apt-get install -y coq libcoq-interval libcoq-coquelicot).
# Writes every .vo next to its .v, then assumptions.txt (Print Assumptions of the main theorems) and BUILT, a stamp
# holding the sha256 of every source, which typicality verify compares with the sources to report `proved`.
set -euo pipefail
cd "$(dirname "$0")"
# no Admitted/admit, and no Hypothesis, Variable(s), Context, Parameter, Axiom or Conjecture outside a Section (one
# at top level is an assumption every later theorem may use unstated); typicality.ledger.coq also checks what Coq
# prints with Print Assumptions, so a cheat this misses still cannot pass as `proved`
PYTHON="${PYTHON:-$(command -v python3 || command -v python)}"
if ! PYTHONPATH="$(cd ../.. && pwd)${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" -m typicality.ledger.coq check-sources .; then
  echo "proofs/coq: a proof is admitted or an assumption is added at top level" >&2
  exit 1
fi
rm -f BUILT
files=$(grep -v '^-' _CoqProject)
for f in $files; do
  if [ "$f" = Assumptions.v ]; then
    coqc -R . Typicality "$f" > assumptions.txt
  else
    coqc -R . Typicality "$f"
  fi
done
sha256sum $files > BUILT
echo "proofs/coq: built $(echo $files | wc -w) files"
