#!/usr/bin/env bash
# Proves proto/ compiles for Python: generates messages + gRPC stubs with Debian's python3-grpc-tools
# (installed with apt-get when missing) into a temp dir, imports every module, and round-trips a VerifyRequest and a
# TrajectoryBatch (the trajectory streams' payload, with a trajectory's trace_context).
# Usage: scripts/python-protos.sh [OUT_DIR]   (default: a fresh temp dir, removed afterwards); PROTO_DIR=proto
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
PROTO_DIR="$(realpath "${PROTO_DIR:-proto}")"

if ! "$PY" -c 'import grpc_tools.protoc, grpc' >/dev/null 2>&1; then
  echo "python-protos: installing python3-grpc-tools from Debian" >&2
  if [ "$(id -u)" != 0 ]; then echo "python-protos: need root to apt-get install python3-grpc-tools" >&2; exit 2; fi
  if ! apt-cache show python3-grpc-tools >/dev/null 2>&1; then apt-get update -qq >&2; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-grpc-tools >&2
fi

if [ $# -ge 1 ]; then OUT="$1"; mkdir -p "$OUT"; else OUT="$(mktemp -d)"; trap 'rm -rf "$OUT"' EXIT; fi
mapfile -t PROTOS < <(cd "$PROTO_DIR" && find . -name '*.proto' | sed 's|^\./||' | sort)
"$PY" -m grpc_tools.protoc -I "$PROTO_DIR" --python_out="$OUT" --grpc_python_out="$OUT" "${PROTOS[@]}"
# Generated modules import as packages (rlmesh.v1.x_pb2): make the folders packages for older protoc.
find "$OUT" -type d -exec touch {}/__init__.py \;

PYTHONPATH="$OUT" "$PY" - "${PROTOS[@]}" <<'PYEOF'
import importlib, sys
services = []
for proto in sys.argv[1:]:
    mod = proto[:-len('.proto')].replace('/', '.')
    pb2 = importlib.import_module(mod + '_pb2')
    grpc_mod = importlib.import_module(mod + '_pb2_grpc')
    for name in pb2.DESCRIPTOR.services_by_name:
        assert hasattr(grpc_mod, name + 'Stub'), f'{mod}: no {name}Stub'
        assert hasattr(grpc_mod, name + 'Servicer'), f'{mod}: no {name}Servicer'
        services.append(pb2.DESCRIPTOR.package + '.' + name)
from rlmesh.v1 import verifier_pb2
req = verifier_pb2.VerifyRequest(items=[verifier_pb2.VerifyItem(task_id='add/1', completion='<answer>3</answer>')])
back = verifier_pb2.VerifyRequest.FromString(req.SerializeToString())
assert back.items[0].completion == '<answer>3</answer>', back
from rlmesh.v1 import common_pb2
tp = '00-' + 'a' * 32 + '-' + 'b' * 16 + '-01'
batch = common_pb2.TrajectoryBatch(trajectories=[common_pb2.Trajectory(trajectory_id='g/0', trace_context={'traceparent': tp}), common_pb2.Trajectory(trajectory_id='g/1')])
again = common_pb2.TrajectoryBatch.FromString(batch.SerializeToString())
assert [t.trajectory_id for t in again.trajectories] == ['g/0', 'g/1'] and again.trajectories[0].trace_context['traceparent'] == tp, again
print('python-protos: ok', len(sys.argv) - 1, 'files;', 'services:', ' '.join(sorted(services)))
PYEOF
