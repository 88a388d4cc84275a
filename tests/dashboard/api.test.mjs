// How the dashboard reads the collector and says what went wrong (dashboard/api.js).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, NEEDS_KEY, WRONG_KEY, createApi, query } from '../../dashboard/api.js';

const answer = (status, body, headers = {}) => async () =>
  new Response(typeof body === 'string' ? body : JSON.stringify(body), { status, headers });

describe('dashboard API reads', () => {
  it('sends the key as a bearer token, and none when there is no usable key', async () => {
    const seen = [];
    const fetchImpl = async (url, init) => {
      seen.push(init.headers.authorization ?? null);
      return new Response('[]');
    };
    await createApi({ getKey: () => 'abcdefghijklmnop', fetchImpl }).get('/v1/sites');
    await createApi({ getKey: () => null, fetchImpl }).get('/v1/sites');
    await createApi({ getKey: () => 'with space', fetchImpl }).get('/v1/sites');
    assert.deepEqual(seen, ['Bearer abcdefghijklmnop', null, null]);
  });

  it('a 401 says to open the URL npm start printed', async () => {
    const err = (key) => createApi({ getKey: () => key, fetchImpl: answer(401, { error: 'x' }) }).get('/v1/metrics').catch((e) => e);
    assert.equal((await err(null)).message, NEEDS_KEY);
    assert.equal((await err('abcdefghijklmnop')).message, WRONG_KEY);
    assert.equal((await err(null)).status, 401);
  });

  it('other failures name the route and the collector\'s reason', async () => {
    const fail = async (fetchImpl) => createApi({ fetchImpl }).get('/v1/metrics?from=1').catch((e) => e);
    assert.match((await fail(answer(400, { error: 'from must be a number' }))).message, /refused the request: from must be a number/);
    assert.match((await fail(answer(404, { error: 'no such route' }))).message, /no \/v1\/metrics route/);
    assert.match((await fail(answer(500, 'oops'))).message, /answered 500 for \/v1\/metrics/);
    assert.match((await fail(answer(200, 'not json'))).message, /not JSON/);
    const down = await fail(async () => {
      throw new TypeError('Failed to fetch');
    });
    assert.ok(down instanceof ApiError);
    assert.match(down.message, /cannot reach the collector/);
  });

  it('a paged read gives the next cursor', async () => {
    const api = createApi({ fetchImpl: answer(200, [{ a: 1 }], { 'x-next-cursor': 'abc' }) });
    assert.deepEqual(await api.getPage('/v1/events'), { body: [{ a: 1 }], next: 'abc' });
  });

  it('query strings carry only the parameters that are set', () => {
    assert.equal(query({ client_id: undefined, from: 1, to: 2, x: '' }), '?from=1&to=2');
    assert.equal(query({}), '');
  });
});
