import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../../../core/errors';
import { createTemplateRenderer, shellQuote } from '../../../core/templates/render';

function thrown(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected an AppError');
}

/** What bash sees when the quoted word(s) are passed to printf. */
function bashPrintf(format: string, quoted: string): string {
  return execFileSync('bash', ['-c', `printf ${format} ${quoted}`], { encoding: 'utf8' });
}

describe('templates/render', () => {
  let dir: string;
  const tpl = (name: string, source: string): string => {
    const path = join(dir, name);
    writeFileSync(path, source);
    return path;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'anneal-render-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe('shellQuote', () => {
    const pwned = join(tmpdir(), `pwned-${randomBytes(6).toString('hex')}`);
    const hostile = [
      `$(touch ${pwned})`,
      `\`touch ${pwned}\``,
      `'; touch ${pwned}; echo '`,
      `'; rm -rf ${pwned}-nonexistent #`,
      `it's "quoted" \\ back\\slash`,
      'line one\nline two\n',
      '$HOME ${PATH} * ? [a] ~ ; & | < > ( ) { } !',
      "''''",
      '',
      '-n',
      'ünïcödé ✓',
      `\t leading and trailing space \r `,
    ];

    after(() => rmSync(pwned, { force: true }));

    for (const value of hostile) {
      it(`round-trips ${JSON.stringify(value)} through bash exactly`, () => {
        expect(bashPrintf('%s', shellQuote(value))).to.equal(value);
        expect(existsSync(pwned), `${pwned} must not exist`).to.equal(false);
      });
    }

    it('(control) would have caught an unquoted value', () => {
      const control = join(dir, 'control');
      bashPrintf('%s', `$(touch ${control})`);
      expect(existsSync(control)).to.equal(true);
    });

    it('turns an array into one quoted word per item', () => {
      const items = ['a b', "c'd", '$(touch x)', ''];
      expect(bashPrintf("'<%s>\\n'", shellQuote(items))).to.equal(items.map((i) => `<${i}>\n`).join(''));
    });

    it('stringifies numbers, bigints and booleans', () => {
      expect(shellQuote(42)).to.equal("'42'");
      expect(shellQuote(10n)).to.equal("'10'");
      expect(shellQuote(false)).to.equal("'false'");
    });

    it('rejects missing values, objects and NUL bytes', () => {
      for (const bad of [undefined, null, { a: 1 }, 'a\0b']) {
        expect(thrown(() => shellQuote(bad)).code).to.equal('ERR_TEMPLATE_RENDER');
      }
    });
  });

  describe('renderFile', () => {
    it('renders without HTML escaping', () => {
      const r = createTemplateRenderer();
      expect(r.renderFile(tpl('a.hbs', '{{x}}'), { x: '<a href="&">' })).to.equal('<a href="&">');
    });

    it('throws ERR_TEMPLATE_RENDER naming the template and the missing value (strict mode)', () => {
      const path = tpl('strict.conf.hbs', 'server {{node.name}}\nport {{node.prot}}\n');
      const err = thrown(() => createTemplateRenderer().renderFile(path, { node: { name: 'n1', port: 1 } }));
      expect(err.code).to.equal('ERR_TEMPLATE_RENDER');
      expect(err.message).to.include(path).and.include('"prot"').and.include('line 2');
      expect(err.details).to.include({ template: path, missing: 'prot', line: 2 });
    });

    it('throws ERR_TEMPLATE_RENDER when shq gets a missing attrib', () => {
      const path = tpl('s.sh.hbs', 'echo {{shq (lookup attribs "ntp/servers")}}\n');
      const err = thrown(() => createTemplateRenderer().renderFile(path, { attribs: {} }));
      expect(err.code).to.equal('ERR_TEMPLATE_RENDER');
      expect(err.message).to.include(path).and.include('shq');
    });

    it('quotes through shq so a rendered script prints hostile values literally', () => {
      const pwned = join(dir, 'pwned');
      const path = tpl('p.sh.hbs', 'printf \'%s|\' {{shq (lookup attribs "x/list")}} {{shq node.name}}\n');
      const values = [`$(touch ${pwned})`, `'; touch ${pwned}; '`, 'a\nb'];
      const script = createTemplateRenderer().renderFile(path, {
        attribs: { 'x/list': values },
        node: { name: '`id`' },
      });
      expect(execFileSync('bash', ['-c', script], { encoding: 'utf8' })).to.equal([...values, '`id`'].join('|') + '|');
      expect(existsSync(pwned)).to.equal(false);
    });

    it('has json, yaml and join helpers', () => {
      const r = createTemplateRenderer();
      const data = { v: { a: [1, 'two'] }, list: ['x', 2, true] };
      expect(r.renderFile(tpl('j.hbs', '{{json v}}'), data)).to.equal('{"a":[1,"two"]}');
      expect(r.renderFile(tpl('j2.hbs', '{{json v 2}}'), data)).to.equal(JSON.stringify(data.v, null, 2));
      expect(r.renderFile(tpl('y.hbs', '{{yaml v}}'), data)).to.equal('a:\n  - 1\n  - two\n');
      expect(r.renderFile(tpl('l.hbs', '{{join list ", "}}|{{join list}}'), data)).to.equal('x, 2, true|x 2 true');
    });

    it('rejects missing values in json, yaml and join', () => {
      const r = createTemplateRenderer();
      for (const src of ['{{json (lookup v "nope")}}', '{{yaml (lookup v "nope")}}', '{{join (lookup v "nope")}}']) {
        expect(thrown(() => r.renderFile(tpl('m.hbs', src), { v: {} })).code, src).to.equal('ERR_TEMPLATE_RENDER');
        rmSync(join(dir, 'm.hbs'));
      }
    });

    it('caches compiled templates by path', () => {
      const r = createTemplateRenderer();
      const path = tpl('c.hbs', 'one');
      r.compileFile(path);
      writeFileSync(path, 'two');
      expect(r.renderFile(path, {})).to.equal('one');
      expect(createTemplateRenderer().renderFile(path, {})).to.equal('two');
    });
  });

  describe('compileFile', () => {
    it('throws ERR_PLUGIN_TEMPLATE naming a missing file', () => {
      const path = join(dir, 'nope.hbs');
      const err = thrown(() => createTemplateRenderer().compileFile(path));
      expect(err.code).to.equal('ERR_PLUGIN_TEMPLATE');
      expect(err.message).to.include(path).and.include('does not exist');
    });

    it('throws ERR_PLUGIN_TEMPLATE with the handlebars message for a syntax error', () => {
      const path = tpl('broken.hbs', '{{#if x}}\nunclosed\n');
      const err = thrown(() => createTemplateRenderer().compileFile(path));
      expect(err.code).to.equal('ERR_PLUGIN_TEMPLATE');
      expect(err.message).to.include(path).and.include('Parse error');
    });

    it('throws ERR_PLUGIN_TEMPLATE for an unknown helper at compile time', () => {
      const path = tpl('typo.hbs', 'echo {{shqq x}}');
      const err = thrown(() => createTemplateRenderer().compileFile(path));
      expect(err.code).to.equal('ERR_PLUGIN_TEMPLATE');
      expect(err.message).to.include(path).and.include('shqq');
    });

    it('requires an absolute path', () => {
      expect(thrown(() => createTemplateRenderer().compileFile('relative.hbs')).code).to.equal('ERR_PLUGIN_TEMPLATE');
    });
  });
});
