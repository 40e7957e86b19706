import { createVerify, generateKeyPairSync } from 'node:crypto';
import { cookieDomain, grantCloudFront, wantsHtml } from '../../../src/recordings/cloudfront';
import { objectHeaders, resourceSegments } from '../../../src/recordings/storage';

/*
 * CloudFront playback decisions, as Scalelite makes them (docs/scalelite-behaviour.md
 * §4.5), and the object headers of an upload (§4.2).
 */

const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

describe('wantsHtml: Rails request.format.html? on a format: false route', () => {
  test.each([
    ['a browser opening the player', BROWSER, '/presentation/abc-1', false, true],
    ['a browser opening an index.html', BROWSER, '/presentation/abc-1/index.html', false, true],
    ['a browser image request: the .png decides', 'image/avif,image/webp,*/*;q=0.8', '/presentation/abc-1/slide-1.png', false, false],
    ['a browser loading a script', '*/*, text/javascript', '/presentation/abc-1/app.js', false, false],
    ['an unknown extension falls back to HTML', BROWSER, '/video/abc-1/video-0.m4x', false, true],
    ['curl: */* alone is any type, HTML included', '*/*', '/presentation/abc-1/metadata.xml', false, true],
    ['an explicit JSON client', 'application/json', '/presentation/abc-1/metadata.xml', false, false],
    ['q values order the list', 'application/json;q=0.5, text/html', '/presentation/abc-1/data', false, true],
    ['no Accept, no extension', undefined, '/presentation/abc-1', false, true],
    ['no Accept, an XHR: JavaScript', undefined, '/presentation/abc-1', true, false],
  ])('%s', (_what, accept, path, xhr, expected) => {
    expect(wantsHtml({ accept, path, xhr })).toBe(expected);
  });
});

describe('CloudFront signed cookies', () => {
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const signer = { url: 'https://d1.cloudfront.net', keyPairId: 'K2JCJMDEHXQW5F', privateKeyPem: keys.privateKey };
  const now = new Date('2026-11-28T12:00:00Z');
  const decode = (s: string) => Buffer.from(s.replace(/-/g, '+').replace(/_/g, '=').replace(/~/g, '/'), 'base64');

  test('given an unpublished recording: the policy covers its unpublished prefix for five minutes, signed with the key', () => {
    const grant = grantCloudFront(signer, { published: false, format: 'video', recordId: 'r-1', hostname: 'lb.example.org', now });
    expect(grant.location).toBe('https://d1.cloudfront.net/unpublished/video/r-1/index.html');
    expect(grant.policy).toBe('{"Statement":[{"Resource":"https://d1.cloudfront.net/unpublished/video/r-1/*","Condition":{"DateLessThan":{"AWS:EpochTime":1795867500}}}]}');
    const value = (name: string) =>
      grant.cookies
        .find((c) => c.startsWith(`${name}=`))!
        .split(';')[0]
        .slice(name.length + 1);
    expect(decode(value('CloudFront-Policy')).toString('utf8')).toBe(grant.policy);
    expect(value('CloudFront-Key-Pair-Id')).toBe('K2JCJMDEHXQW5F');
    const verifier = createVerify('RSA-SHA1').update(grant.policy);
    expect(verifier.verify(keys.publicKey, decode(value('CloudFront-Signature')))).toBe(true);
    expect(grant.cookies.every((c) => c.endsWith('; Domain=.example.org; Path=/; Expires=Sat, 28 Nov 2026 12:05:00 GMT; Secure; HttpOnly; SameSite=None'))).toBe(true);
  });

  test('cookie domain: the parent domain, none for an address', () => {
    expect(cookieDomain('play.lb.example.com')).toBe('.example.com');
    expect(cookieDomain('localhost')).toBe('.localhost');
    expect(cookieDomain('127.0.0.1')).toBeNull();
    expect(cookieDomain('[::1]')).toBeNull();
  });
});

describe('uploaded objects and resource paths', () => {
  test.each([
    ['notes.pdf', 'application/pdf', 'attachment'],
    ['audio/audio.ogg', 'audio/ogg', 'attachment'],
    ['slides/slide-1.PNG', 'image/png', undefined],
    ['metadata.xml', 'application/xml', undefined],
    ['video/webcams.webm', 'video/webm', undefined],
    ['captions', 'application/octet-stream', undefined],
    ['weird.unknownext', 'application/octet-stream', undefined],
  ])('%s: %s, %s', (file, contentType, contentDisposition) => {
    expect(objectHeaders(file)).toEqual({ contentType, contentDisposition });
  });

  test.each([
    ['', []],
    ['a/b.png', ['a', 'b.png']],
    ['dir/', ['dir']],
    ['../x', null],
    ['a//b', null],
    ['/etc/passwd', null],
    ['a\\b', null],
    ['a/./b', null],
  ])('resource path %j', (rest, segments) => {
    expect(resourceSegments(rest)).toEqual(segments);
  });
});
