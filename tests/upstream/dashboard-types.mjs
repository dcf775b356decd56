// Type-checks Grafana dashboard JSON files against Grafana's own dashboard types
// (@grafana/schema, the release the stack runs): each file becomes the object literal of a
// `Dashboard`, so TypeScript reports a missing field, a wrong type or an unknown field at any
// depth. Usage: node dashboard-types.mjs FILE.json...; prints one line per problem and exits 1
// when there is one.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import ts from "typescript";

// JSON has no TypeScript enums: a string enum member is written as its value ("value" for
// MappingType.ValueToText). Json<T> is T with every string enum widened to its values' union;
// everything else, unknown fields included, is checked as Grafana declares it.
const JSONIFY = `type Json<T> = T extends string ? \`\${T}\` : T extends number | boolean | null | undefined ? T
  : T extends Array<infer U> ? Array<Json<U>> : T extends object ? { [K in keyof T]: Json<T[K]> } : T;`;

const PREFIX = `import type { Dashboard } from "@grafana/schema";\n${JSONIFY}\nexport const d: Json<Dashboard> = `;
// The JSON's first line is this line of the TypeScript file (counted from 0).
const FIRST = PREFIX.split("\n").length - 1;

const files = process.argv.slice(2);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashboard-types-"));
const sources = files.map((file, i) => {
  const out = path.join(dir, `d${i}.ts`);
  const json = fs.readFileSync(file, "utf8");
  fs.writeFileSync(out, `${PREFIX}${json};\n`);
  return { file, out };
});
const program = ts.createProgram(
  sources.map((s) => s.out),
  {
    noEmit: true,
    strict: true,
    skipLibCheck: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    typeRoots: [],
    baseUrl: process.cwd(),
    paths: { "@grafana/schema": [path.join(process.cwd(), "node_modules/@grafana/schema/dist/types/index.d.ts")] },
  },
);
let problems = 0;
for (const d of ts.getPreEmitDiagnostics(program)) {
  const src = sources.find((s) => d.file && path.resolve(d.file.fileName) === path.resolve(s.out));
  const line = src && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line - FIRST + 1 : 0;
  const where = src ? `${src.file}:${Math.max(line, 1)}` : "(setup)";
  console.log(`${where}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n  ")}`);
  problems++;
}
fs.rmSync(dir, { recursive: true, force: true });
process.exit(problems ? 1 : 0);
