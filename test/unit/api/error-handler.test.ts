import { expect } from 'chai';
import type { NextFunction, Request, Response } from 'express';
import pino from 'pino';
import { Writable } from 'node:stream';
import { errorHandler } from '../../../core/api/error-handler';
import { AppError } from '../../../core/errors';
import { translatePrismaError } from '../../../core/store/translate-error';

interface Captured {
  status?: number;
  body?: unknown;
}

function run(err: unknown): { sent: Captured; logged: Record<string, unknown>[] } {
  const logged: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logged.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const sent: Captured = {};
  const res = {
    headersSent: false,
    status(code: number) {
      sent.status = code;
      return this;
    },
    json(body: unknown) {
      sent.body = body;
      return this;
    },
  } as unknown as Response;
  const req = { method: 'POST', originalUrl: '/api/v2/nodes' } as Request;
  errorHandler(pino({ level: 'info' }, sink))(err, req, res, (() => undefined) as NextFunction);
  return { sent, logged };
}

describe('api/error-handler', () => {
  it('answers an AppError with its status and wire shape, without logging', () => {
    const { sent, logged } = run(new AppError('ERR_NODE_NOT_FOUND', 'node "x" not found', { details: { ref: 'x' } }));
    expect(sent).to.deep.equal({
      status: 404,
      body: { error: { code: 'ERR_NODE_NOT_FOUND', message: 'node "x" not found', details: { ref: 'x' } } },
    });
    expect(logged).to.deep.equal([]);
  });

  it('answers a Prisma unique violation (P2002), as the store translates it, with 409 ERR_CONFLICT', () => {
    const prismaError = Object.assign(new Error('Unique constraint failed on the fields: (`name`)'), {
      code: 'P2002',
      meta: { target: ['name'] },
    });
    const { sent, logged } = run(translatePrismaError(prismaError));
    expect(sent).to.deep.equal({
      status: 409,
      body: {
        error: {
          code: 'ERR_CONFLICT',
          message:
            'an object with the same unique key already exists or was created concurrently; reload and try again',
          details: { unique: true },
        },
      },
    });
    expect(logged.map((l) => l.msg)).to.deep.equal(['request hit a unique-constraint conflict']);
  });

  it('never sees a raw Prisma error: an untranslated one is a generic 500', () => {
    const { sent } = run(Object.assign(new Error('Unique constraint failed'), { code: 'P2002' }));
    expect(sent.status).to.equal(500);
  });

  it('answers anything else with a generic 500 and logs the real error only', () => {
    const { sent, logged } = run(new TypeError("Cannot read properties of undefined (reading 'secret-detail')"));
    expect(sent).to.deep.equal({
      status: 500,
      body: { error: { code: 'ERR_INTERNAL', message: 'internal error; the server log has the details' } },
    });
    expect(JSON.stringify(sent.body)).not.to.contain('secret-detail');
    expect(logged).to.have.length(1);
    expect(logged[0]).to.include({
      level: 50,
      msg: 'request failed with an unexpected error',
      method: 'POST',
      url: '/api/v2/nodes',
    });
    expect((logged[0]!.err as { message: string; stack: string }).message).to.equal(
      "Cannot read properties of undefined (reading 'secret-detail')",
    );
    expect((logged[0]!.err as { stack: string }).stack).to.contain('TypeError');
  });

  it('answers a thrown non-Error with a generic 500', () => {
    const { sent } = run('a string');
    expect(sent).to.deep.equal({
      status: 500,
      body: { error: { code: 'ERR_INTERNAL', message: 'internal error; the server log has the details' } },
    });
  });
});
