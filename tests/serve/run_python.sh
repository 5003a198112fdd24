#!/bin/sh
# Runs a test script with $MSFAQ_TEST_PYTHON (set by scripts/test.sh to a
# virtual environment with slack_sdk), or else with python3.
exec "${MSFAQ_TEST_PYTHON:-python3}" "$@"
