/**
 * Which repository files and packages code can reach at run time: value imports only, since type imports vanish.
 * The image's consistency test (test/contract/terraform-build.test.ts) checks the Dockerfile copies and installs
 * what functions/index.ts reaches. (What a function may do is declared, not read from here: shared/runtime/needs.ts.)
 */
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import ts from 'typescript';

export const repoRoot = path.resolve(import.meta.dirname, '..', '..');

interface SourceFile {
  /** Repository-relative, forward slashes. */
  readonly file: string;
  readonly ast: ts.SourceFile;
}

const cache = new Map<string, SourceFile>();

function readSource(relative: string): SourceFile {
  const file = relative.split(path.sep).join('/');
  let source = cache.get(file);
  if (!source) {
    const text = readFileSync(path.join(repoRoot, file), 'utf8');
    source = { file, ast: ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS) };
    cache.set(file, source);
  }
  return source;
}

/** Where a node is, for error messages: `shared/runtime/handler.ts:42`. */
function where(source: SourceFile, node: ts.Node): string {
  return `${source.file}:${source.ast.getLineAndCharacterOfPosition(node.getStart(source.ast)).line + 1}`;
}

export interface ModuleImports {
  /** Repository-relative files imported for their values. */
  readonly local: string[];
  /** Bare specifiers imported for their values (`@google-cloud/storage`, `sharp`), without node builtins. */
  readonly packages: string[];
  /** Packages only import()ed at run time, which the code treats as optional extras (`ffmpeg-static`). */
  readonly optionalPackages: string[];
}

function isTypeOnlyImport(node: ts.ImportDeclaration): boolean {
  const clause = node.importClause;
  if (!clause) return false; // `import 'x'` runs x
  if (clause.isTypeOnly) return true;
  if (clause.name) return false;
  const bindings = clause.namedBindings;
  if (!bindings) return false;
  if (ts.isNamespaceImport(bindings)) return false;
  return bindings.elements.length > 0 && bindings.elements.every((element) => element.isTypeOnly);
}

function isBuiltin(specifier: string): boolean {
  return specifier.startsWith('node:') || builtinModules.includes(specifier);
}

/** The package name of a bare specifier: `@scope/name` or `name`. */
export function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** Value imports of one file: static imports and re-exports that are not type-only, and dynamic import()s (of a literal or a same-file const). */
export function importsOf(relative: string): ModuleImports {
  const source = readSource(relative);
  const specifiers: string[] = [];
  const dynamic = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      if (!isTypeOnlyImport(node)) specifiers.push(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      if (!node.isTypeOnly) specifiers.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [argument] = node.arguments;
      const value = argument && ts.isIdentifier(argument) ? resolveConst(source, argument.text, argument) : argument;
      if (!value || !ts.isStringLiteralLike(value)) throw new Error(`${where(source, node)}: import() of a computed path cannot be followed`);
      dynamic.add(value.text);
      specifiers.push(value.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source.ast);
  const local: string[] = [];
  const packages: string[] = [];
  const optionalPackages: string[] = [];
  for (const specifier of specifiers) {
    if (specifier.startsWith('.')) {
      const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(source.file), specifier));
      if (resolved.endsWith('.ts') && existsSync(path.join(repoRoot, resolved))) local.push(resolved);
      else if (!resolved.endsWith('.json')) throw new Error(`${source.file}: cannot resolve '${specifier}'`);
    } else if (!isBuiltin(specifier)) {
      (dynamic.has(specifier) ? optionalPackages : packages).push(packageName(specifier));
    }
  }
  return { local, packages, optionalPackages };
}

/** Every repository file reachable from the entry files through value imports, and the packages they use. */
export function reachable(entries: readonly string[]): { files: string[]; packages: string[] } {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const queue = [...entries];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const imports = importsOf(file);
    imports.packages.forEach((name) => packages.add(name));
    queue.push(...imports.local);
  }
  return { files: [...seen].sort(), packages: [...packages].sort() };
}

/** The initializer of a `const` declared in the same file and visible from `from` (closest enclosing scope first). */
function resolveConst(source: SourceFile, name: string, from: ts.Node): ts.Expression | undefined {
  for (let scope: ts.Node | undefined = from.parent; scope; scope = scope.parent) {
    let found: ts.Expression | undefined;
    const visit = (node: ts.Node): void => {
      if (found) return;
      if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.name.text === name && node.initializer) {
        found = node.initializer;
        return;
      }
      // Do not look into nested functions: their consts are not in scope here.
      if (node !== scope && (ts.isFunctionLike(node) || ts.isClassLike(node))) return;
      ts.forEachChild(node, visit);
    };
    ts.forEachChild(scope, visit);
    if (found) return found;
  }
  return undefined;
}
