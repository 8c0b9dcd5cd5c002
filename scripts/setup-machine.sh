#!/usr/bin/env bash
# Installs the system packages the tests and benchmarks need, when missing (Debian, as root):
#   python3-onnx  the independent peer for MAC counts and parsing benchmarks (/usr/bin/python3 + onnx)
#   chromium      drives code-server for the VS Code integration tests
#   libkrb5-dev   headers for one of code-server's native modules
#   python3-pil   decodes JPEGs for the independent accuracy check in bench/
# Without root or apt-get it only reports what is missing; the tests that need a package then skip
# with a message.
set -uo pipefail
missing=()
for pkg in python3-onnx chromium libkrb5-dev python3-pil; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "setup-machine: missing system packages: ${missing[*]} (install them with apt-get as root)" >&2
  exit 0
fi
echo "setup-machine: installing ${missing[*]}"
apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null || {
  echo "setup-machine: could not install ${missing[*]}" >&2
  exit 1
}
