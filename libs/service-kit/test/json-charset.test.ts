import t from 'tap';
import { buildKitApp, problemOf } from './helper';

t.test('only UTF-8 JSON is accepted: any other declared charset is 415', async (t) => {
  const { app } = await buildKitApp(t);
  const post = (contentType: string) => app.inject({ method: 'POST', url: '/widgets', payload: '{"name":"w","quantity":1}', headers: { 'content-type': contentType } });

  for (const contentType of ['application/json; charset=utf-16', 'application/json;charset="UTF-16LE"', 'application/json; charset=iso-8859-1', 'application/merge-patch+json; charset=utf-32', 'application/json; charset=']) {
    const response = await post(contentType);
    t.equal(response.statusCode, 415, contentType);
    t.equal(problemOf(response).code, 'UNSUPPORTED_MEDIA_TYPE', contentType);
  }
  for (const contentType of ['application/json', 'application/json; charset=utf-8', 'application/json; charset="UTF-8"', 'application/json;charset=utf8']) {
    t.equal((await post(contentType)).statusCode, 201, contentType);
  }
  const bodiless = await app.inject({ method: 'GET', url: '/widgets', headers: { 'content-type': 'application/json; charset=utf-16' } });
  t.equal(bodiless.statusCode, 200, 'a request without a body has nothing to decode');
});
