#!/usr/bin/env bash
# The README's first command: install gomcu into .venv and check the bundled reference firmware.
# It exits with gomcu's status: 1, because the reference firmware fails three limits on purpose
# (its UART1 interrupt handler allocates; injected, it ends in a goroutine stack overflow); see
# the findings it prints.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bootstrap.sh
make_venv
"$GOMCU_VENV/bin/python" -m pip install --quiet --disable-pip-version-check .
"$GOMCU_VENV/bin/gomcu" --version
set +e
"$GOMCU_VENV/bin/gomcu" check examples/refmw/build/refmw-m3.elf --chip lm3s6965 --run
status=$?
set -e
if [ "$status" = 1 ]; then
    echo
    echo "exit status 1, as expected: the reference firmware fails the memory, GC and interrupt limits on"
    echo "purpose (UART1_IRQHandler allocates; with it injected, main.producer's goroutine stack overflows:"
    echo "see the 'error' findings above). gomcu is installed in $GOMCU_VENV/bin."
fi
exit "$status"
