// Helpers for the protocol-sync test: where the Python side is, and what its protocol.py declares.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '../../..');
export const PYTHON = process.env.ANIMATEDIFF_TEST_PYTHON ?? path.join(ROOT, '.venv', 'bin', 'python');
export const SIDECAR_DIR = path.join(ROOT, 'python', 'sidecar');
export const BUNDLE_DIR = path.join(ROOT, 'python', 'tt-animatediff');

/** Why the live tests cannot run here, or '' when they can. */
export function skipReason(): string {
  if (!existsSync(PYTHON)) return `no Python at ${PYTHON} (run scripts/setup-python.sh, or set ANIMATEDIFF_TEST_PYTHON)`;
  if (!existsSync(path.join(SIDECAR_DIR, 'animatediff_sidecar', '__main__.py'))) return 'the sidecar package (python/sidecar/animatediff_sidecar/__main__.py) does not exist yet';
  if (!existsSync(path.join(SIDECAR_DIR, 'animatediff_sidecar', 'protocol.py'))) return 'python/sidecar/animatediff_sidecar/protocol.py does not exist yet';
  try {
    execFileSync(PYTHON, ['-c', 'import pygls, torch, diffusers'], { stdio: 'ignore' });
  } catch {
    return `${PYTHON} lacks pygls/torch/diffusers (run scripts/setup-python.sh)`;
  }
  return '';
}

export interface PythonProtocol {
  methods: string[]; // Method.* and Notify.* values
  errorCodes: Record<string, number>;
  enums: Record<string, string[]>;
  /** Message class (attrs) name → its wire (camelCase) field names, as to_wire writes them. */
  dataclasses: Record<string, string[]>;
  genParamFields: string[];
  /** animatediff_ttnn.params.describe(): the one parameter definition. */
  parameters: { name: string; wire: string; kind: string; group: string; choices?: string[] }[];
  protocolVersion: number;
}

const DUMP = `
import attrs, json
from animatediff_sidecar import protocol as p
from animatediff_ttnn import params as spec
def wire_fields(cls):
    return p.wire_fields(cls, spec.PARAMETERS)
def values(cls):
    return [v for k, v in vars(cls).items() if k.isupper() and isinstance(v, (str, int))]
out = {
    "methods": sorted(values(p.Method) + values(p.Notify)),
    "errorCodes": {k: v for k, v in vars(p.ErrorCode).items() if k.isupper()},
    "enums": {n: list(getattr(p, n)) for n in ("STAGES", "LOG_LEVELS", "ESTIMATE_BASES")},
    "dataclasses": {n: wire_fields(c) for n, c in vars(p).items()
                    if isinstance(c, type) and attrs.has(c) and c.__module__ == p.__name__},
    "genParamFields": sorted(x.wire for x in spec.GENERATION),
    "parameters": spec.describe(),
    "protocolVersion": p.PROTOCOL_VERSION,
}
print(json.dumps(out))
`;

export function dumpPythonProtocol(): PythonProtocol {
  const text = execFileSync(PYTHON, ['-c', DUMP], {
    env: { ...process.env, PYTHONPATH: [SIDECAR_DIR, BUNDLE_DIR].join(path.delimiter) },
    encoding: 'utf8',
  });
  return JSON.parse(text) as PythonProtocol;
}
