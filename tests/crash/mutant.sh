#!/usr/bin/env bash
# Mutation check of the crash harness: can it fail? Builds a scratch copy of HEAD whose executor
# re-signs instead of reconciling — a leg whose payload is stored but not known to be sent (its
# worker may have died after `send` executed) is prepared again, with the next nonce, and the new
# payload replaces the stored one, instead of the stored one being looked up on its layer with
# `status` — and runs the harness on SQLite against it. The harness must fail; this script exits
# 0 when it does ("caught") and 1 when the mutant survives.
#
#   bash tests/crash/mutant.sh        # about 10 minutes on 2 cores with a cold target dir
#
# The scratch copy is a detached git worktree in a temporary directory, removed at exit; it
# builds into target/mutant (its own target dir, so the real worker binary is not replaced).
set -euo pipefail
root=$(git rev-parse --show-toplevel)
scratch=$(mktemp -d)
git -C "$root" worktree add --quiet --detach "$scratch" HEAD
trap 'git -C "$root" worktree remove --force "$scratch"' EXIT

python3 - "$scratch" <<'PY'
import sys, pathlib
root = pathlib.Path(sys.argv[1])
drive = root / "crates/executor/src/drive.rs"
s = drive.read_text()
anchor = "            Action::Reconcile(i) if self.fresh == Some(i) => self.send(i).await?,\n"
assert anchor in s, "drive.rs changed: update the mutation"
# A leg whose payload is stored but not known to be sent (the worker may have died after `send`
# executed) is prepared again instead of being looked up on its layer...
s = s.replace(anchor,
    "            // MUTANT: re-sign instead of reconciling with the layer.\n"
    "            Action::Reconcile(i) if self.fresh != Some(i) => self.prepare(i).await?,\n" + anchor)
# ...and the state machine's refusal to prepare a prepared leg is bypassed, so the new payload
# replaces the stored one and is sent.
guard = """        let Transition::To(to) = on_event(leg.status, &LegEvent::Prepared { needs_signature })?
        else {"""
assert guard in s, "drive.rs changed: update the mutation"
s = s.replace(guard,
    """        let Transition::To(to) = on_event(LegStatus::Planned, &LegEvent::Prepared { needs_signature })?
        else {""")
drive.write_text(s)
# A mutant that wedges routes should fail in minutes, not at the 15-minute deadline.
harness = root / "tests/crash/harness.rs"
h = harness.read_text()
assert "Duration::from_secs(900)" in h
harness.write_text(h.replace("Duration::from_secs(900)", "Duration::from_secs(240)"))
PY

cd "$scratch"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target/mutant}"
if cargo test --test crash sqlite -- --nocapture 2>&1 | tee "$CARGO_TARGET_DIR/mutant.log" | grep -E 'panicked|test result'; then :; fi
if grep -q 'test result: ok' "$CARGO_TARGET_DIR/mutant.log"; then
  echo "MUTANT SURVIVED: the harness passed against an executor that re-signs instead of reconciling"
  exit 1
fi
echo "caught: the harness fails against an executor that re-signs instead of reconciling"
