#!/bin/sh
# A stand-in program for scripts/check_docs.py --self-test: its --help names two flags.
echo "Usage: tool [OPTIONS]"
echo "  --alpha INT   the first"
echo "  --beta        the second"
