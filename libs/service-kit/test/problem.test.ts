import t from 'tap';
import { AppError } from '../src/index';
import { buildKitApp } from './helper';

t.test('every 401 carries a WWW-Authenticate challenge (RFC 9110 §15.5.2)', async (t) => {
  const { app } = await buildKitApp(t);
  app.post('/sign-in', async () => {
    throw new AppError('AUTH_INVALID_CREDENTIALS');
  });
  app.get('/precise', async () => {
    throw new AppError('AUTH_TOKEN_INVALID', 'expired', { headers: { 'www-authenticate': 'Bearer error="invalid_token"' } });
  });
  const signIn = await app.inject({ method: 'POST', url: '/sign-in' });
  t.same([signIn.statusCode, signIn.headers['www-authenticate']], [401, 'Bearer realm="shop"'], 'a default challenge where the raiser set none');
  const precise = await app.inject({ method: 'GET', url: '/precise' });
  t.equal(precise.headers['www-authenticate'], 'Bearer error="invalid_token"', 'the raiser’s challenge is kept');
  const other = await app.inject({ method: 'GET', url: '/conflict' });
  t.same([other.statusCode, other.headers['www-authenticate']], [412, undefined], 'no challenge on other errors');
});
