// Trims wasm-bindgen's JS glue to what the module and embed.js use.
//
// - Classes whose wasm exports are gone: scripts/wasm-link.sh drops the
//   exports of wasm-streams' classes (Leptos links them; the overlay never
//   uses them), and wasm-bindgen still writes their JS classes. Such a class
//   is removed; if any other line of the glue names it, the build fails (it
//   would call into exports that are not there).
// - Imports the wasm does not import (their glue functions only cost bytes).
// - Exports embed.js does not call: kept as plain declarations (terser then
//   drops what nothing uses, e.g. `initSync`).
//
// Usage: node scripts/trim-glue.mjs <glue.js> <module_bg.wasm> <export>...
//   e.g. node scripts/trim-glue.mjs dist/chyron.js dist/chyron_bg.wasm mount
// Runs before terser (scripts/build.sh); needs tests/e2e's node_modules.
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';

const acorn = createRequire(new URL('../tests/e2e/package.json', import.meta.url))('acorn');

const [jsPath, wasmPath, ...keep] = process.argv.slice(2);
if (!jsPath || !wasmPath || keep.length === 0) {
  console.error('usage: node scripts/trim-glue.mjs <glue.js> <module_bg.wasm> <export>...');
  process.exit(2);
}
const fail = (why) => {
  console.error(`[trim] ${jsPath}: ${why}`);
  process.exit(1);
};
const js = readFileSync(jsPath, 'utf8');
const parse = (src) => acorn.parse(src, { ecmaVersion: 'latest', sourceType: 'module' });
const ast = parse(js);
const wasm = new WebAssembly.Module(readFileSync(wasmPath));
const wasmExports = new Set(WebAssembly.Module.exports(wasm).map((e) => e.name));
const wasmImports = new Set(WebAssembly.Module.imports(wasm).map((e) => e.name));

/** [start, end, replacement?] source ranges to cut. */
const cut = [];

// Classes without their wasm half.
for (const node of ast.body) {
  const cls = node.type === 'ExportNamedDeclaration' ? node.declaration : node;
  if (cls?.type !== 'ClassDeclaration') continue;
  const name = cls.id.name;
  if (wasmExports.has(`__wbg_${name.toLowerCase()}_free`)) continue;
  const own = [[node.start, node.end]];
  for (const other of ast.body) {
    const text = js.slice(other.start, other.end);
    // `if (Symbol.dispose) Name.prototype[Symbol.dispose] = …;`
    const dispose = other.type === 'IfStatement' && text.includes(`${name}.prototype[Symbol.dispose]`);
    // `const NameFinalization = … new FinalizationRegistry(…);`
    const registry = other.type === 'VariableDeclaration' && other.declarations.every((d) => d.id.name === `${name}Finalization`);
    if (dispose || registry) own.push([other.start, other.end]);
  }
  let rest = js;
  for (const [s, e] of [...own].sort((a, b) => b[0] - a[0])) rest = rest.slice(0, s) + rest.slice(e);
  if (new RegExp(`\\b${name}\\b`).test(rest)) fail(`${name} has no wasm exports, yet the glue uses it`);
  cut.push(...own);
}

// The import table: `function __wbg_get_imports() { const import0 = { … }; … }`.
const getImports = ast.body.find((n) => n.type === 'FunctionDeclaration' && n.id.name === '__wbg_get_imports');
const table = getImports?.body.body[0]?.declarations?.[0]?.init;
if (table?.type !== 'ObjectExpression') fail("no __wbg_get_imports import table: wasm-bindgen's glue changed; fix scripts/trim-glue.mjs");
for (const p of table.properties) {
  const key = p.key?.name ?? p.key?.value;
  if (p.type === 'Property' && key !== '__proto__' && !wasmImports.has(key)) {
    cut.push([p.start, js[p.end] === ',' ? p.end + 1 : p.end]);
  }
}

// Exports.
keep.push('default');
const exported = new Set();
for (const node of ast.body) {
  if (node.type !== 'ExportNamedDeclaration') continue;
  if (node.declaration) {
    const name = node.declaration.id?.name;
    exported.add(name);
    const gone = cut.some(([s, e]) => s <= node.start && node.end <= e);
    if (!keep.includes(name) && !gone) cut.push([node.start, node.declaration.start]);
  } else {
    node.specifiers.forEach((s) => exported.add(s.exported.name));
    const kept = node.specifiers.filter((s) => keep.includes(s.exported.name));
    const list = kept.map((s) => js.slice(s.start, s.end)).join(', ');
    cut.push([node.start, node.end, kept.length ? `export { ${list} };` : '']);
  }
}
const missing = keep.filter((k) => !exported.has(k));
if (missing.length) fail(`exports no ${missing.join(', ')}`);

let out = js;
// From the end, so earlier offsets still hold.
for (const [s, e, text = ''] of cut.sort((a, b) => b[0] - a[0])) out = out.slice(0, s) + text + out.slice(e);
parse(out);
writeFileSync(jsPath, out);
console.log(`[trim] ${jsPath}: ${js.length} → ${out.length} B`);
