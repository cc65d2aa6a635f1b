#!/usr/bin/env bash
# Regenerate the CRI protobuf/gRPC Python modules from src/kybernetes/kubelet/cri/api.proto.
# Needs grpcio-tools (in the test extra). The generated files are committed; ruff and mypy skip them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-.venv/bin/python}
# -I src makes the generated grpc module import "kybernetes.kubelet.cri.api_pb2" (a package-absolute import).
"$PYTHON" -m grpc_tools.protoc -I src \
    --python_out=src --pyi_out=src --grpc_python_out=src \
    src/kybernetes/kubelet/cri/api.proto
echo "gen_cri.sh: regenerated src/kybernetes/kubelet/cri/api_pb2{,_grpc}.py and api_pb2.pyi" >&2
