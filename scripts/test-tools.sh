#!/usr/bin/env bash
# Tools the tests use besides Python packages: emulators and renderers from npm and Debian.
# Each step is skipped when the tool is already there, so a second run costs nothing. When CI is set, a test
# that skips because one of these is missing FAILS (tests/conftest.py): install here what a test needs.
# Not installed, on purpose: the pulumi CLI (no package in the registries CI reaches; its tests are the one
# accepted skip) and the gcloud Firestore/Pub/Sub emulators (Google's apt repository only; the GCP client
# tests use in-process gRPC fakes instead, tests/fixtures/gcp_fakes.py).
set -euo pipefail
cd "$(dirname "$0")/.."

# Azurite (Azure Storage emulator) for the Azure store clients and the Azure leg of the portable shim tests
# (tests/test_runtime_clients.py, tests/test_shim_portable.py).
if [ ! -x .tools/node_modules/.bin/azurite ]; then
    npm install --no-audit --no-fund --prefix .tools azurite@3
fi

# Diagram renderers for tests/test_graph*.py: Graphviz (`dot`) and Chromium from Debian, and the Mermaid
# CLI (mmdc) from npm, told to use the system's Chromium instead of downloading its own browser.
if ! command -v dot >/dev/null || ! command -v chromium >/dev/null; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    if [ -z "$SUDO" ] || command -v sudo >/dev/null; then
        $SUDO apt-get update -q
        $SUDO apt-get install -y -q graphviz chromium
    else
        echo "test-tools: not root and no sudo: install graphviz and chromium yourself (diagram tests skip, and fail when CI is set)" >&2
    fi
fi
if [ ! -x .tools/node_modules/.bin/mmdc ]; then
    PUPPETEER_SKIP_DOWNLOAD=1 npm install --no-audit --no-fund --prefix .tools @mermaid-js/mermaid-cli@11
fi
