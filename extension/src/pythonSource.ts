// Finds a module-level constant in Python source, to open ttnn_pipeline.py right at it. Pure.

export interface ConstantLocation {
  line: number; // 0-based
  valueStart: number; // column where the value starts
  valueEnd: number; // column after the value
  value: string;
}

export function findConstant(source: string, name: string): ConstantLocation | undefined {
  const lines = source.split(/\r?\n/);
  const pattern = new RegExp(`^${name}\\s*(?::[^=]*)?=\\s*`);
  for (let i = 0; i < lines.length; i++) {
    const m = pattern.exec(lines[i]);
    if (!m) continue;
    const rest = lines[i].slice(m[0].length);
    const value = rest.replace(/\s*#.*$/, '').trimEnd();
    return { line: i, valueStart: m[0].length, valueEnd: m[0].length + value.length, value };
  }
  return undefined;
}

export const TTNN_PIPELINE_REL = ['animatediff_ttnn', 'ttnn_pipeline.py'];
export const PERTURBATION_CONSTANT = 'PERTURBATION_STRENGTH';
