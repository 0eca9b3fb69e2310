import ts from 'typescript';

/** A text edit: replace [start, end) with text. Applied from the end so positions stay valid. */
interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

function applyEdits(text: string, edits: Edit[]): string {
  return [...edits].sort((a, b) => b.start - a.start).reduce((result, edit) => result.slice(0, edit.start) + edit.text + result.slice(edit.end), text);
}

function parse(fileName: string, text: string): ts.SourceFile {
  return ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
}

function calls(source: ts.SourceFile, name: string): ts.CallExpression[] {
  const found: ts.CallExpression[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === name) found.push(node);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Adds `import { names } from 'module'`, merging into an existing import of that module. */
export function ensureImports(fileName: string, text: string, module: string, names: string[]): string {
  const source = parse(fileName, text);
  const imports = source.statements.filter(ts.isImportDeclaration);
  // A type-only import cannot carry the values we add (they would be erased at runtime).
  const existing = imports.find(
    (declaration) =>
      ts.isStringLiteral(declaration.moduleSpecifier) && declaration.moduleSpecifier.text === module && !declaration.importClause?.isTypeOnly,
  );
  const bindings = existing?.importClause?.namedBindings;
  if (existing && bindings && ts.isNamedImports(bindings)) {
    const present = new Set(bindings.elements.filter((element) => !element.isTypeOnly).map((element) => element.name.text));
    const missing = names.filter((name) => !present.has(name));
    if (missing.length === 0) return text;
    const last = bindings.elements[bindings.elements.length - 1];
    const at = last ? last.getEnd() : bindings.getStart() + 1;
    return applyEdits(text, [{ start: at, end: at, text: `${last ? ', ' : ' '}${missing.join(', ')}` }]);
  }
  const line = `import { ${names.join(', ')} } from '${module}';\n`;
  const after = imports.length ? imports[imports.length - 1].getEnd() : 0;
  return applyEdits(text, [{ start: after, end: after, text: after ? `\n${line.trimEnd()}` : line }]);
}

export type HttpMerge =
  | { readonly kind: 'merged'; readonly text: string }
  | { readonly kind: 'already' }
  | { readonly kind: 'absent' }
  | { readonly kind: 'unsupported'; readonly reason: string };

/**
 * Wires the interceptor into an existing `provideHttpClient(...)` call instead of adding a
 * second one: `functional` adds `authInterceptor` to `withInterceptors([...])` (or adds that
 * feature); `di` makes sure `withInterceptorsFromDi()` is there for a class interceptor.
 */
export function mergeIntoProvideHttpClient(fileName: string, text: string, mode: 'functional' | 'di'): HttpMerge {
  const source = parse(fileName, text);
  const found = calls(source, 'provideHttpClient');
  if (found.length === 0) return { kind: 'absent' };
  if (found.length > 1) return { kind: 'unsupported', reason: `${fileName} calls provideHttpClient() more than once` };
  const call = found[0];
  const feature = (name: string) =>
    call.arguments.find(
      (argument): argument is ts.CallExpression =>
        ts.isCallExpression(argument) && ts.isIdentifier(argument.expression) && argument.expression.text === name,
    );
  const append = (code: string): Edit => {
    const last = call.arguments[call.arguments.length - 1];
    const at = last ? last.getEnd() : call.arguments.pos;
    return { start: at, end: at, text: last ? `, ${code}` : code };
  };

  if (mode === 'di') {
    if (feature('withInterceptorsFromDi')) return { kind: 'already' };
    const edited = applyEdits(text, [append('withInterceptorsFromDi()')]);
    return { kind: 'merged', text: ensureImports(fileName, edited, '@angular/common/http', ['withInterceptorsFromDi']) };
  }

  const interceptors = feature('withInterceptors');
  if (!interceptors) {
    const edited = applyEdits(text, [append('withInterceptors([authInterceptor])')]);
    return { kind: 'merged', text: addInterceptorImports(fileName, edited) };
  }
  const list = interceptors.arguments[0];
  if (!list || !ts.isArrayLiteralExpression(list)) {
    return { kind: 'unsupported', reason: `withInterceptors() in ${fileName} does not take an array literal` };
  }
  if (list.elements.some((element) => ts.isIdentifier(element) && element.text === 'authInterceptor')) return { kind: 'already' };
  const last = list.elements[list.elements.length - 1];
  // Ours goes last: it then sees the requests after the app's own interceptors changed them.
  const edit: Edit = last ? { start: last.getEnd(), end: last.getEnd(), text: ', authInterceptor' } : { start: list.getStart() + 1, end: list.getStart() + 1, text: 'authInterceptor' };
  return { kind: 'merged', text: addInterceptorImports(fileName, applyEdits(text, [edit])) };
}

function addInterceptorImports(fileName: string, text: string): string {
  return ensureImports(fileName, ensureImports(fileName, text, '@angular/common/http', ['withInterceptors']), 'ngx-oidc-session', ['authInterceptor']);
}

/** The local modules a file imports (relative specifiers), resolved to workspace paths. */
export function localImports(fileName: string, text: string): string[] {
  const source = parse(fileName, text);
  const dir = fileName.slice(0, fileName.lastIndexOf('/'));
  return source.statements
    .filter(ts.isImportDeclaration)
    .map((declaration) => (ts.isStringLiteral(declaration.moduleSpecifier) ? declaration.moduleSpecifier.text : ''))
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => normalize(`${dir}/${specifier}.ts`));
}

function normalize(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '..') parts.pop();
    else if (part !== '.' && part !== '') parts.push(part);
  }
  return `/${parts.join('/')}`;
}

/** Whether the app bootstraps a standalone component (bootstrapApplication) or an NgModule. */
export function bootstrapKind(fileName: string, text: string): 'standalone' | 'ngmodule' | null {
  const source = parse(fileName, text);
  if (calls(source, 'bootstrapApplication').length) return 'standalone';
  let module = false;
  const visit = (node: ts.Node) => {
    if (ts.isPropertyAccessExpression(node) && node.name.text === 'bootstrapModule') module = true;
    ts.forEachChild(node, visit);
  };
  visit(source);
  return module ? 'ngmodule' : null;
}
