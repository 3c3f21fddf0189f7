/**
 * The dispatcher.any lexer and parser: comments, quotes, bare values, nested blocks, includes
 * (relative, wildcard, absolute AMS paths), and errors that name FILE:LINE and what to do.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { blockOf, DispatcherAnyError, listValues, prop, scalarOf, type Block } from '../../src/dispatcher-any/ast.js';
import { tokenize } from '../../src/dispatcher-any/lexer.js';
import { parseDispatcherAny } from '../../src/dispatcher-any/parser.js';

let dir: string;
before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'farmgate-any-'));
});
after(async () => fs.rm(dir, { recursive: true, force: true }));

async function write(files: Record<string, string>): Promise<string> {
  const root = await fs.mkdtemp(path.join(dir, 't-'));
  for (const [name, text] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await fs.writeFile(path.join(root, name), text);
  }
  return root;
}

function parseError(fn: () => unknown): { file: string; line: number; message: string } {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof DispatcherAnyError, String(err));
    assert.equal(err.problems.length, 1);
    return err.problems[0]!;
  }
  assert.fail('expected a DispatcherAnyError');
}

describe('tokenize', () => {
  it('names, blocks, quoted and bare values, comments outside quotes only', () => {
    const tokens = tokenize('/a { /b "x # not a comment" } # comment\n/c \'(css|js)\' /d 2 /e ${DOCROOT}/x', 'f.any');
    assert.deepEqual(
      tokens.map((t) => [t.type, 'text' in t ? t.text : '', 'quote' in t ? t.quote : '', t.line]),
      [
        ['name', 'a', '', 1],
        ['open', '', '', 1],
        ['name', 'b', '', 1],
        ['value', 'x # not a comment', '"', 1],
        ['close', '', '', 1],
        ['name', 'c', '', 2],
        ['value', '(css|js)', "'", 2],
        ['name', 'd', '', 2],
        ['value', '2', '', 2],
        ['name', 'e', '', 2],
        ['value', '${DOCROOT}/x', '', 2],
      ],
    );
  });

  it('keeps backslashes, and an escaped quote does not end the value', () => {
    const [t] = tokenize(String.raw`'.*(\\[|]).*' "a\"b"`, 'f.any');
    assert.deepEqual(t, { type: 'value', text: String.raw`.*(\\[|]).*`, quote: "'", line: 1 });
    assert.equal((tokenize(String.raw`"a\"b"`, 'f.any')[0] as { text: string }).text, String.raw`a\"b`);
  });

  it('a quoted value cannot span lines: FILE:LINE and what to do', () => {
    const p = parseError(() => tokenize('/a {\n  /b "open\n  }', 'farm.any'));
    assert.deepEqual([p.file, p.line], ['farm.any', 2]);
    assert.match(p.message, /unterminated double-quoted value.*add the closing "/);
  });

  it('refuses binary files', () => {
    assert.match(parseError(() => tokenize('/a\0', 'bin.any')).message, /not a text file/);
  });
});

describe('parseDispatcherAny', () => {
  it('nested blocks, list values, lines and files on every node', async () => {
    const root = await write({
      'dispatcher.any': '# header\n/name "x"\n/farms {\n  /one {\n    /virtualhosts { "a.com" b.com\n "*.c.com" }\n    /cache { /statfileslevel 2 }\n  }\n}\n',
    });
    const { root: tree, files } = parseDispatcherAny(path.join(root, 'dispatcher.any'));
    assert.deepEqual(files, [path.join(root, 'dispatcher.any')]);
    const one = blockOf(blockOf(tree, 'farms')!, 'one')!;
    assert.equal(one.loc.line, 4);
    const hosts = listValues(blockOf(one, 'virtualhosts')!);
    assert.deepEqual(hosts.map((h) => [h.text, h.quote, h.loc.line]), [['a.com', '"', 5], ['b.com', '', 5], ['*.c.com', '"', 6]]);
    assert.equal(scalarOf(blockOf(one, 'cache')!, 'statfileslevel')!.text, '2');
  });

  it('a later property of the same name wins; a block may open on the next line', async () => {
    const root = await write({ 'd.any': '/cache {\n  /gracePeriod "1"\n  /0002\n  {\n    /glob "*"\n  }\n  /gracePeriod "3"\n}\n' });
    const cache = blockOf(parseDispatcherAny(path.join(root, 'd.any')).root, 'cache')!;
    assert.equal(scalarOf(cache, 'gracePeriod')!.text, '3');
    assert.equal(prop(cache, '0002')!.value.kind, 'block');
  });

  it('$include with wildcards: relative to the including file, sorted, nodes keep their own file', async () => {
    const root = await write({
      'conf/dispatcher.any': '/farms {\n  $include "enabled_farms/*_farm.any"\n}\n',
      'conf/enabled_farms/20_b_farm.any': '/b {\n  /filter { $include "../filters/f.any" }\n}\n',
      'conf/enabled_farms/10_a_farm.any': '/a { /renders { /r { /hostname "h" } } }\n',
      'conf/enabled_farms/README': 'not a farm {',
      'conf/filters/f.any': '\n\n/0001 { /type "deny" /url "*" }\n',
    });
    const main = path.join(root, 'conf/dispatcher.any');
    const { root: tree, files } = parseDispatcherAny(main);
    const farms = blockOf(tree, 'farms')!;
    assert.deepEqual(farms.items.map((i) => (i.kind === 'property' ? i.name : '?')), ['a', 'b']);
    const rule = blockOf(blockOf(blockOf(farms, 'b')!, 'filter')!, '0001')!;
    assert.equal(rule.loc.file, path.join(root, 'conf/filters/f.any'));
    assert.equal(rule.loc.line, 3);
    assert.deepEqual(files.map((f) => path.relative(root, f)), [
      'conf/dispatcher.any',
      'conf/enabled_farms/10_a_farm.any',
      'conf/enabled_farms/20_b_farm.any',
      'conf/filters/f.any',
    ]);
  });

  it('a wildcard that matches nothing includes nothing, with a note', async () => {
    const root = await write({ 'd.any': '/farms {\n  $include "none/*.any"\n}\n' });
    const r = parseDispatcherAny(path.join(root, 'd.any'));
    assert.equal((blockOf(r.root, 'farms') as Block).items.length, 0);
    assert.match(r.notes[0]!.message, /matches no file/);
    assert.equal(r.notes[0]!.line, 2);
  });

  it('absolute AMS include paths are re-rooted onto the tree being imported, with a note', async () => {
    const root = await write({
      'conf.dispatcher.d/dispatcher.any': '/farms { /a { /clientheaders {\n $include "/etc/httpd/conf.dispatcher.d/clientheaders/ch.any"\n } } }\n',
      'conf.dispatcher.d/clientheaders/ch.any': '"Host"\n"Cookie"\n',
    });
    const r = parseDispatcherAny(path.join(root, 'conf.dispatcher.d/dispatcher.any'));
    const ch = blockOf(blockOf(blockOf(r.root, 'farms')!, 'a')!, 'clientheaders')!;
    assert.deepEqual(listValues(ch).map((s) => s.text), ['Host', 'Cookie']);
    assert.match(r.notes[0]!.message, /absolute \$include "\/etc\/httpd\/conf\.dispatcher\.d\/clientheaders\/ch\.any" read from .*clientheaders\/ch\.any/);
  });

  it('a missing include: error at the $include line, saying what to do', async () => {
    const root = await write({ 'd.any': '/farms {\n  /a {\n    $include "../missing.any"\n  }\n}\n' });
    const p = parseError(() => parseDispatcherAny(path.join(root, 'd.any')));
    assert.deepEqual([path.basename(p.file), p.line], ['d.any', 3]);
    assert.match(p.message, /\$include "\.\.\/missing\.any": no such file .*fix the path/);
  });

  it('an include loop is detected and named', async () => {
    const root = await write({
      'main.any': '/farms {\n  $include "a.any"\n}\n',
      'a.any': '/x { }\n$include "b.any"\n',
      'b.any': '\n\n$include "a.any"\n',
    });
    const p = parseError(() => parseDispatcherAny(path.join(root, 'main.any')));
    assert.deepEqual([path.basename(p.file), p.line], ['b.any', 3]);
    assert.match(p.message, /\$include loop: a\.any → b\.any → a\.any/);
  });

  it('a file that includes itself through a wildcard is a loop too', async () => {
    const root = await write({ 'farms/x.any': '/x { }\n$include "*.any"\n', 'main.any': '$include "farms/x.any"\n' });
    assert.match(parseError(() => parseDispatcherAny(path.join(root, 'main.any'))).message, /loop: x\.any → x\.any/);
  });

  it('unbalanced braces: an unclosed block is reported where it opened', async () => {
    const root = await write({ 'd.any': '/farms {\n  /a {\n    /virtualhosts { "x" }\n\n}\n' });
    const p = parseError(() => parseDispatcherAny(path.join(root, 'd.any')));
    assert.equal(p.line, 1);
    assert.match(p.message, /never closed: add the missing "}"/);
  });

  it('unbalanced braces: a stray "}" is reported at its line', async () => {
    const root = await write({ 'd.any': '/farms {\n  /a { }\n}\n}\n' });
    const p = parseError(() => parseDispatcherAny(path.join(root, 'd.any')));
    assert.equal(p.line, 4);
    assert.match(p.message, /unexpected "}"/);
  });

  it('a /name without a value, and an anonymous block, are errors', async () => {
    const root = await write({ 'a.any': '/cache {\n  /docroot\n}\n', 'b.any': '/farms {\n  { /x "1" }\n}\n' });
    assert.match(parseError(() => parseDispatcherAny(path.join(root, 'a.any'))).message, /\/docroot has no value/);
    const b = parseError(() => parseDispatcherAny(path.join(root, 'b.any')));
    assert.equal(b.line, 2);
    assert.match(b.message, /a block needs a \/name before it/);
  });

  it('a main file that does not exist', () => {
    const p = parseError(() => parseDispatcherAny(path.join(dir, 'nope.any')));
    assert.match(p.message, /cannot read .*nope\.any: no such file/);
  });
});
