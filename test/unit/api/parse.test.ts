import { expect } from 'chai';
import { z } from 'zod';
import {
  bmcAddress,
  hostAddress,
  macAddress,
  pageFrom,
  pageQuery,
  parseBody,
  parseId,
  parseQuery,
  parseRef,
} from '../../../core/api/parse';
import { AppError } from '../../../core/errors';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(AppError);
    return (err as AppError).toJSON();
  }
  throw new Error('expected a throw');
}

function invalid(field: string, message: string) {
  return { code: 'ERR_INPUT_INVALID', message: `${field}: ${message}`, details: { issues: [{ field, message }] } };
}

describe('api/parse', () => {
  describe('parseRef', () => {
    it('reads all digits as an id and anything else as a name', () => {
      expect(parseRef('42')).to.equal(42);
      expect(parseRef('n1.lab')).to.equal('n1.lab');
      expect(parseRef('2fast')).to.equal('2fast');
    });

    it('rejects empty, control characters, over 253 characters and ids beyond 32 bits, naming the field', () => {
      expect(thrown(() => parseRef('', 'node'))).to.deep.equal(
        invalid('node', 'expected an id or a name, got nothing'),
      );
      expect(thrown(() => parseRef('a\u0000b'))).to.deep.equal(
        invalid('ref', 'expected an id or a name without control characters'),
      );
      expect(thrown(() => parseRef('a\u0085b'))).to.deep.equal(
        invalid('ref', 'expected an id or a name without control characters'),
      );
      expect(thrown(() => parseRef('a'.repeat(254)))).to.deep.equal(
        invalid('ref', 'expected an id or a name of at most 253 characters'),
      );
      expect(parseRef('a'.repeat(253))).to.equal('a'.repeat(253));
      expect(thrown(() => parseRef('2147483648'))).to.deep.equal(
        invalid('ref', 'expected an id up to 2147483647 or a name'),
      );
    });
  });

  it('parseId accepts only digits', () => {
    expect(parseId('7')).to.equal(7);
    expect(thrown(() => parseId('7a'))).to.deep.equal(invalid('id', 'expected a numeric id between 0 and 2147483647'));
  });

  it('pageQuery and pageFrom default to offset 0, limit 100 and cap limit at 1000', () => {
    // What a route with `query: pageQuery` does: the route parses, the handler takes the page.
    const parsePage = (query: unknown) => pageFrom(parseQuery(pageQuery, query));
    expect(parsePage({})).to.deep.equal({ offset: 0, limit: 100 });
    expect(parsePage({ offset: '5', limit: '1000' })).to.deep.equal({ offset: 5, limit: 1000 });
    expect(thrown(() => parsePage({ limit: '1001' }))).to.deep.equal(
      invalid('limit', 'expected a whole number between 1 and 1000'),
    );
    expect(thrown(() => parsePage({ limit: ['1', '2'] }))).to.deep.equal(
      invalid('limit', 'expected a whole number between 1 and 1000'),
    );
  });

  it('macAddress normalises to lower case with colons and rejects mixed separators', () => {
    expect(macAddress.parse('52-54-00-AA-BB-CC')).to.equal('52:54:00:aa:bb:cc');
    expect(macAddress.safeParse('52:54-00:aa:bb:cc').success).to.equal(false);
  });

  it('parseBody names nested fields with dots and brackets', () => {
    const schema = z.strictObject({ nics: z.array(z.strictObject({ mac: macAddress })) });
    expect(thrown(() => parseBody(schema, { nics: [{ mac: '52:54:00:aa:bb:cc' }, { mac: 'x' }] }))).to.deep.equal(
      invalid('nics[1].mac', 'expected a MAC address like 52:54:00:12:34:56'),
    );
  });
});

describe('api/parse addresses', () => {
  it('accepts a BMC address with an optional port, and a management address without one', () => {
    for (const ok of [
      '10.0.0.5',
      '10.0.0.5:623',
      '127.0.0.1:9003',
      'bmc-1.example.com:623',
      '[fd00::5]:623',
      'fd00::5',
    ]) {
      expect(bmcAddress.safeParse(ok).success, ok).to.equal(true);
    }
    for (const bad of ['10.0.0.5:0', '10.0.0.5:70000', 'a b:623', ':623', '10.0.0.5:']) {
      expect(bmcAddress.safeParse(bad).success, bad).to.equal(false);
    }
    expect(hostAddress.safeParse('10.231.0.11').success).to.equal(true);
    expect(hostAddress.safeParse('10.231.0.11:22').success).to.equal(false);
  });
});
