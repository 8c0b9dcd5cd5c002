// Finds the layer definitions of PyTorch modules in Python source: `self.<attr> = nn.Conv2d(...)` (or
// Conv1d/Conv3d/Linear, written `nn.X`, `torch.nn.X`, or `X` when imported from torch.nn) inside a
// class, with where the call ends (where the hint goes). A line scanner, not a Python parser: it
// follows classes by indentation and skips strings and comments when matching the call's parentheses.

/** One `self.<attribute> = nn.<Layer>(...)` assignment. */
export interface ModuleAssignment {
  readonly className: string | undefined;
  readonly attribute: string;
  readonly layerType: string;
  /** 0-based line and column of `self`. */
  readonly line: number;
  readonly column: number;
  /** 0-based line and column just after the call's closing parenthesis (end of the line when unclosed). */
  readonly endLine: number;
  readonly endColumn: number;
}

const layerTypes = ['Conv1d', 'Conv2d', 'Conv3d', 'Linear'];
const assignment = /^(\s*)self\.([A-Za-z_]\w*)\s*(?::[^=]+)?=\s*((?:torch\.)?nn\.)?(Conv[123]d|Linear)\s*\(/;
const classLine = /^(\s*)class\s+([A-Za-z_]\w*)/;

/** Every layer assignment of a Python source, in order. */
export function findModuleAssignments(source: string): ModuleAssignment[] {
  const lines = source.split(/\r?\n/);
  const imported = importedLayerTypes(source);
  const classes: { indent: number; name: string }[] = [];
  const found: ModuleAssignment[] = [];
  for (const [index, text] of lines.entries()) {
    if (/^\s*(#|$)/.test(text)) continue;
    const indent = (/^\s*/.exec(text)?.[0] ?? '').length;
    while (classes.length > 0 && (classes[classes.length - 1]?.indent ?? 0) >= indent) classes.pop();
    const cls = classLine.exec(text);
    if (cls) {
      classes.push({ indent, name: cls[2] ?? '' });
      continue;
    }
    const match = assignment.exec(text);
    if (!match) continue;
    const [whole, lead = '', attribute = '', prefix, layerType = ''] = match;
    if (!prefix && !imported.has(layerType)) continue;
    const end = closingParen(lines, index, whole.length);
    found.push({ className: classes[classes.length - 1]?.name, attribute, layerType, line: index, column: lead.length, endLine: end.line, endColumn: end.column });
  }
  return found;
}

/** Layer types imported by name from torch.nn (`from torch.nn import Conv2d, Linear`). */
function importedLayerTypes(source: string): Set<string> {
  const names = new Set<string>();
  for (const match of source.matchAll(/^\s*from\s+torch\.nn\s+import\s+\(?([^)\n]+)\)?/gm)) {
    for (const part of (match[1] ?? '').split(',')) {
      const name = part.trim().split(/\s+/)[0] ?? '';
      if (layerTypes.includes(name)) names.add(name);
    }
  }
  return names;
}

/** The position after the parenthesis that closes the one just before `column` on `line`. */
function closingParen(lines: readonly string[], line: number, column: number): { line: number; column: number } {
  let depth = 1;
  let quote: string | undefined;
  for (let l = line; l < lines.length && l < line + 200; l++) {
    const text = lines[l] ?? '';
    for (let c = l === line ? column : 0; c < text.length; c++) {
      const ch = text[c];
      if (quote) {
        if (ch === '\\') c++;
        else if (ch === quote) quote = undefined;
      } else if (ch === '"' || ch === "'") quote = ch;
      else if (ch === '#') break;
      else if (ch === '(') depth++;
      else if (ch === ')' && --depth === 0) return { line: l, column: c + 1 };
    }
    quote = undefined;
  }
  return { line, column: (lines[line] ?? '').length };
}
